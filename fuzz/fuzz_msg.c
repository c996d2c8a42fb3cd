/* libFuzzer target: rsock_sendmsg with fuzzed control data and
 * rsock_recvmsg with fuzzed control capacities, over real sockets made
 * once: a Unix datagram pair, a Unix stream pair, and a UDP socket on
 * 127.0.0.1 (and one on ::1) connected to itself.  Nothing is ever sent to
 * an address the input chooses.  Each input is one send and one receive;
 * then the queues are drained and every descriptor that arrived (the
 * control data may well be a valid SCM_RIGHTS) is closed.  The library must
 * not crash, touch bytes outside the caller's buffers (each is malloc'd at
 * its exact size), report more control bytes than the capacity, or leak a
 * descriptor. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rsock.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_msg: " __VA_ARGS__);                                                 \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

enum { NPAIRS = 4, MAX_LEN = 512 };
static rsock_t *tx[NPAIRS], *rx[NPAIRS];
static int fds_at_start;
static unsigned long runs;

static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static rsock_t *adopt(int fd)
{
    rsock_t *s = NULL;
    if (fd < 0 || rsock_fdopen(fd, &s) < 0)
        FAIL("cannot make the sockets: %s", rsock_error_message());
    return s;
}

static void unix_pair(int type, int i)
{
    int sv[2];
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
        FAIL("socketpair: %s", strerror(errno));
    tx[i] = adopt(sv[0]);
    rx[i] = adopt(sv[1]);
}

/* A UDP socket on loopback connected to itself. */
static void udp_self(const char *text, int i)
{
    rsock_addr a;
    if (rsock_addr_parse(&a, text) < 0)
        FAIL("%s", rsock_error_message());
    int fd = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, &a.sa, a.len) < 0)
        FAIL("udp: %s", strerror(errno));
    a.len = sizeof a.ss;
    if (getsockname(fd, &a.sa, &a.len) < 0 || connect(fd, &a.sa, a.len) < 0)
        FAIL("udp: %s", strerror(errno));
    tx[i] = rx[i] = adopt(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unix_pair(SOCK_DGRAM, 0);
    unix_pair(SOCK_STREAM, 1);
    udp_self("127.0.0.1:0", 2);
    udp_self("[::1]:0", 3);
    fds_at_start = fd_count();
    return 0;
}

/* Close every descriptor the control data of a received message holds. */
static void close_passed(void *ctl, size_t len)
{
    struct msghdr m = {.msg_control = ctl, .msg_controllen = len};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
            close(fd);
        }
    }
}

/* Empty a socket's queue, closing what was passed. */
static void drain(rsock_t *s)
{
    for (int i = 0; i < 64; i++) {
        char buf[MAX_LEN];
        union {
            struct cmsghdr align;
            char bytes[4096];
        } ctl;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.bytes,
                           .msg_controllen = sizeof ctl.bytes};
        if (recvmsg(rsock_fd(s), &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
            return;
        close_passed(ctl.bytes, m.msg_controllen);
    }
}

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static size_t take(input *in, void *out, size_t n)
{
    size_t k = n < in->n ? n : in->n;
    memcpy(out, in->p, k);
    memset((char *)out + k, 0, n - k);
    in->p += k;
    in->n -= k;
    return k;
}

static unsigned take_u16(input *in)
{
    uint16_t v;
    take(in, &v, sizeof v);
    return v;
}

/* Flags: none, the common ones, or any bits at all. */
static int flags_from(unsigned pick, int random_bits)
{
    static const int common[] = {0, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, MSG_CMSG_CLOEXEC,
                                 MSG_WAITALL, MSG_OOB, MSG_MORE};
    return pick < 8 ? common[pick] : random_bits;
}

static void send_one(input *in, rsock_t *s, unsigned pick)
{
    size_t ctllen = take_u16(in) % MAX_LEN, paylen = take_u16(in) % MAX_LEN;
    int bits;
    take(in, &bits, sizeof bits);
    uint8_t *ctl = malloc(ctllen ? ctllen : 1), *pay = malloc(paylen ? paylen : 1);
    if (!ctl || !pay)
        abort();
    take(in, ctl, ctllen);
    take(in, pay, paylen);
    size_t cut = paylen / 3; /* up to three buffers, some empty */
    struct iovec iov[3] = {{pay, cut}, {pay + cut, 0}, {pay + cut, paylen - cut}};
    size_t iovcnt = pick % 4;
    ssize_t n = rsock_sendmsg(s, NULL, iovcnt ? iov : NULL, iovcnt, ctllen ? ctl : NULL, ctllen,
                              flags_from((pick >> 2) % 16, bits));
    if (n < -4095 || n > (ssize_t)paylen)
        FAIL("rsock_sendmsg returned %zd for %zu bytes", n, paylen);
    free(ctl);
    free(pay);
}

static void recv_one(input *in, rsock_t *s, unsigned pick)
{
    size_t cap = take_u16(in) % MAX_LEN, buflen = take_u16(in) % MAX_LEN;
    int bits;
    take(in, &bits, sizeof bits);
    uint8_t *ctl = malloc(cap ? cap : 1), *buf = malloc(buflen ? buflen : 1);
    if (!ctl || !buf)
        abort();
    struct iovec iov = {buf, buflen};
    size_t ctllen = cap;
    int rflags = 0;
    rsock_addr from;
    int flags = flags_from((pick >> 1) % 16, bits);
    ssize_t n = rsock_recvmsg(s, pick & 1 ? &from : NULL, &iov, 1, cap ? ctl : NULL,
                              pick & 32 ? NULL : &ctllen, flags, &rflags);
    /* MSG_TRUNC returns a datagram's whole length; MSG_OOB on a Unix
     * stream returns 1 even into no buffer (the kernel's count). */
    if (n < -4095 || (n > (ssize_t)buflen && !(flags & (MSG_TRUNC | MSG_OOB))))
        FAIL("rsock_recvmsg returned %zd into %zu bytes (flags %#x, got %#x, socket type %d)", n,
             buflen, flags, rflags, rsock_type(s));
    if (ctllen > cap)
        FAIL("rsock_recvmsg: %zu control bytes into %zu", ctllen, cap);
    if (n >= 0 && (pick & 1) && from.len > sizeof from.ss)
        FAIL("rsock_recvmsg: sender length %u", (unsigned)from.len);
    if (n >= 0 && cap && !(pick & 32))
        close_passed(ctl, ctllen);
    free(ctl);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    unsigned pick = take_u16(&in);
    int i = (int)(pick % NPAIRS);
    send_one(&in, tx[i], pick >> 2);
    recv_one(&in, rx[i], pick >> 8);
    drain(rx[i]);
    if (++runs % 1024 == 0 && fd_count() > fds_at_start + 8)
        FAIL("descriptors leak: %d open, %d at the start", fd_count(), fds_at_start);
    return 0;
}
