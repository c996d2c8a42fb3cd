/* rsock-push: send N bytes of deterministic data to an echo server (through
 * a proxy, typically) and check that every byte comes back, in order.
 * A writer fiber and a reader fiber per connection; prints the throughput. */
#include "rsock.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (256 * 1024)

static const char usage[] =
    "usage: rsock-push [-n BYTES] [-c CONNECTIONS] [-t SECONDS] ADDRESS\n"
    "Send BYTES (default 256M; suffixes K, M, G) on each connection to the echo\n"
    "server at ADDRESS, check that the same bytes come back, print the rate.\n"
    "-t: give up after SECONDS (default 120).  Exit 0 only if every byte matched.\n";

struct stream {
    rsock_t *s;
    int64_t bytes, deadline;
    int64_t sent, received;
    int error;      /* -errno, or 1 for a mismatch */
    uint64_t seed;
};

/* The data: 8-byte words, a mix of the word's index and the seed. */
static void fill(char *buf, int64_t offset, size_t len, uint64_t seed)
{
    uint64_t *w = (uint64_t *)(void *)buf;
    uint64_t i = (uint64_t)offset / 8;
    for (size_t k = 0; k < len / 8; k++, i++) {
        uint64_t z = (i + seed) * 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ull;
        w[k] = z ^ (z >> 29);
    }
}

static void writer(void *arg)
{
    struct stream *st = arg;
    char *buf = malloc(CHUNK);
    while (buf && st->sent < st->bytes && !st->error) {
        size_t n = st->bytes - st->sent < CHUNK ? (size_t)(st->bytes - st->sent) : CHUNK;
        fill(buf, st->sent, CHUNK, st->seed);
        ssize_t rc = rsock_write_all(st->s, buf, n, st->deadline);
        if (rc < 0) {
            st->error = (int)rc;
            fprintf(stderr, "rsock-push: write: %s\n", rsock_error_message());
            break;
        }
        st->sent += (int64_t)n;
    }
    if (!st->error)
        rsock_shutdown(st->s, SHUT_WR);
    free(buf);
}

/* Compare what came back with what was sent, CHUNK-aligned blocks. */
static void reader(void *arg)
{
    struct stream *st = arg;
    char *got = malloc(CHUNK), *want = malloc(CHUNK);
    while (got && want && !st->error) {
        size_t room = CHUNK - (size_t)(st->received % CHUNK);
        ssize_t n = rsock_read(st->s, got + st->received % CHUNK, room, st->deadline);
        if (n < 0) {
            st->error = (int)n;
            fprintf(stderr, "rsock-push: read: %s\n", rsock_error_message());
        }
        if (n <= 0)
            break;
        int64_t start = st->received - st->received % CHUNK;
        st->received += n;
        if (st->received % CHUNK && st->received < st->bytes)
            continue;
        size_t len = (size_t)(st->received - start);
        fill(want, start, CHUNK, st->seed);
        if (memcmp(got, want, len) != 0) {
            fprintf(stderr, "rsock-push: data differs in bytes %lld..%lld\n", (long long)start,
                    (long long)st->received);
            st->error = 1;
        }
    }
    free(got);
    free(want);
}

static int64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    int64_t mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1 << 10, end++;
    else if (*end == 'M' || *end == 'm') mul = 1 << 20, end++;
    else if (*end == 'G' || *end == 'g') mul = 1 << 30, end++;
    if (end == s || *end || v < 0)
        return -1;
    return (int64_t)(v * (double)mul);
}

static int run(const char *addr, int64_t bytes, int conns, double seconds)
{
    struct stream *st = calloc((size_t)conns, sizeof *st);
    rsock_fiber **f = calloc((size_t)conns * 2, sizeof *f);
    int64_t t0 = rsock_now(), deadline = t0 + (int64_t)(seconds * 1000);
    int bad = 0;
    for (int i = 0; i < conns; i++) {
        st[i] = (struct stream){.bytes = bytes, .deadline = deadline, .seed = (uint64_t)i};
        if (rsock_dial(addr, deadline, &st[i].s) < 0) {
            fprintf(stderr, "rsock-push: %s\n", rsock_error_message());
            return 1;
        }
        rsock_spawn(writer, &st[i], &f[2 * i]);
        rsock_spawn(reader, &st[i], &f[2 * i + 1]);
    }
    for (int i = 0; i < conns * 2; i++)
        rsock_join(f[i], -1);
    double secs = (double)(rsock_now() - t0) / 1000;
    int64_t total = 0;
    for (int i = 0; i < conns; i++) {
        total += st[i].received;
        if (st[i].error || st[i].received != bytes) {
            fprintf(stderr, "rsock-push: connection %d: %lld of %lld bytes back%s\n", i,
                    (long long)st[i].received, (long long)bytes,
                    st[i].error == 1 ? ", data differs" : "");
            bad++;
        }
        rsock_close(st[i].s);
    }
    printf("rsock-push: %lld bytes echoed over %d connection%s in %.2f s: %.1f MiB/s "
           "(%.2f Gbit/s each way), %s\n",
           (long long)total, conns, conns > 1 ? "s" : "", secs,
           (double)total / (1 << 20) / (secs > 0 ? secs : 1e-3),
           (double)total * 8 / 1e9 / (secs > 0 ? secs : 1e-3),
           bad ? "CHECK FAILED" : "checksum ok");
    free(st);
    free(f);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    int64_t bytes = 256 << 20;
    int conns = 1, opt;
    double seconds = 120;
    while ((opt = getopt(argc, argv, "n:c:t:h")) != -1) {
        switch (opt) {
        case 'n': bytes = parse_size(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind != 1 || bytes < 0 || conns < 1 || conns > 100000 || seconds <= 0) {
        fputs(usage, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    return run(argv[optind], bytes, conns, seconds);
}
