/* sha256-alg: hash standard input with the kernel's crypto API through an
 * AF_ALG socket, and print the digest as sha256sum does ("HEX  -").
 * The pattern: bind a socket to the algorithm, accept an operation socket,
 * send the data (MSG_MORE while more follows), recv the digest.
 * rsock_addr has no member for struct sockaddr_alg, so the bind is done on
 * the descriptor with bind(2); the devices and the I/O are rsock's. */
#include <rsock.h>

#include <errno.h>
#include <linux/if_alg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIE(what) (fprintf(stderr, "sha256-alg: %s: %s\n", what, rsock_error_message()), exit(1))

/* Send all of buf to the operation socket, waiting when it is full. */
static void send_all(rsock_t *op, const char *buf, size_t len, int flags)
{
    while (len > 0) {
        ssize_t n = rsock_send(op, buf, len, flags);
        if (n == -EAGAIN) {
            if (rsock_wait_out(op, rsock_after(5000)) < 0)
                DIE("wait");
            continue;
        }
        if (n < 0)
            DIE("send");
        buf += n, len -= (size_t)n;
    }
}

int main(void)
{
    rsock_t *alg, *op;
    int rc = rsock_socket(AF_ALG, SOCK_SEQPACKET, 0, &alg);
    if (rc == -EAFNOSUPPORT) { /* a kernel built without CONFIG_CRYPTO_USER_API_HASH */
        fprintf(stderr, "sha256-alg: this kernel has no AF_ALG sockets\n");
        return 77;
    }
    if (rc < 0)
        DIE("socket");
    struct sockaddr_alg sa = {.salg_family = AF_ALG, .salg_type = "hash", .salg_name = "sha256"};
    if (bind(rsock_fd(alg), (struct sockaddr *)&sa, sizeof sa) < 0)
        return perror("sha256-alg: bind"), 1;
    if (rsock_accept(alg, NULL, &op) < 0)
        DIE("accept");
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, stdin);
    while (n > 0) { /* MSG_MORE: the hash goes on over the next send */
        char next[sizeof buf];
        size_t m = fread(next, 1, sizeof next, stdin);
        send_all(op, buf, n, m > 0 ? MSG_MORE : 0);
        memcpy(buf, next, m);
        n = m;
    }
    if (ferror(stdin))
        return perror("sha256-alg: stdin"), 1;
    unsigned char digest[32];
    ssize_t got;
    while ((got = rsock_recv(op, digest, sizeof digest, 0)) == -EAGAIN)
        if (rsock_wait_in(op, rsock_after(5000)) < 0)
            DIE("wait for the digest");
    if (got != sizeof digest) /* nothing sent: recv alone yields the empty input's hash */
        DIE("recv");
    for (int i = 0; i < 32; i++)
        printf("%02x", digest[i]);
    printf("  -\n");
    rsock_close(op);
    rsock_close(alg);
    return 0;
}
