/* libFuzzer target: socket options with random rows, types, values and
 * lengths on real sockets (made once: a connected TCP pair over IPv4, UDP
 * over IPv4 and IPv6, TCP over IPv6, a Unix stream pair).  Each input is
 * one call: generic or typed, get or set, on a random table row or a random
 * (level, option).  The library must not crash, read or write outside the
 * caller's buffers (ASan), return anything but 0 or a negative errno, or
 * report more bytes than the buffer held.
 * Left out: IPV6_ADDRFORM (it turns the socket into IPv4 for the rest of
 * the run) and TCP_CONGESTION set to a random name (as root the kernel
 * would run modprobe for it): that row is set to "reno" or "cubic" only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_sockopt: " __VA_ARGS__);                                             \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

enum { NSOCKS = 5 };
static rsock_t *socks[NSOCKS];
static const rsock_sockopt *rows;
static size_t nrows;

/* The input, read front to back; zeros once it runs out. */
typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static void take(input *in, void *out, size_t n)
{
    size_t k = n < in->n ? n : in->n;
    memcpy(out, in->p, k);
    memset((char *)out + k, 0, n - k);
    in->p += k;
    in->n -= k;
}

static unsigned take_u8(input *in)
{
    uint8_t v;
    take(in, &v, 1);
    return v;
}

static int take_int(input *in)
{
    int v;
    take(in, &v, sizeof v);
    return v;
}

static rsock_t *adopt(int fd)
{
    rsock_t *s = NULL;
    if (fd < 0 || rsock_fdopen(fd, &s) < 0)
        FAIL("cannot make the sockets: %s", rsock_error_message());
    return s;
}

/* A connected TCP pair on loopback: the client end is fuzzed. */
static rsock_t *tcp_client(int family)
{
    rsock_addr a;
    if (rsock_addr_parse(&a, family == AF_INET ? "127.0.0.1:0" : "[::1]:0") < 0)
        FAIL("%s", rsock_error_message());
    int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, &a.sa, a.len) < 0 || listen(l, 1) < 0)
        FAIL("listen: %s", strerror(errno));
    a.len = sizeof a.ss;
    getsockname(l, &a.sa, &a.len);
    int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, &a.sa, a.len) < 0)
        FAIL("connect: %s", strerror(errno));
    int peer = accept4(l, NULL, NULL, SOCK_CLOEXEC); /* kept open for the run */
    if (peer < 0)
        FAIL("accept: %s", strerror(errno));
    close(l);
    return adopt(c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        FAIL("socketpair: %s", strerror(errno));
    socks[0] = tcp_client(AF_INET);
    socks[1] = adopt(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    socks[2] = adopt(pair[0]);
    socks[3] = tcp_client(AF_INET6);
    socks[4] = adopt(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    rows = rsock_sockopt_table(&nrows);
    if (!rows || nrows == 0)
        FAIL("empty option table");
    return 0;
}

static void check_rc(const char *what, const rsock_sockopt *r, long long rc)
{
    if (rc > 0 || rc < -4095)
        FAIL("%s %s returned %lld", what, r ? r->name : "(random)", rc);
}

static rsock_addr fuzz_addr; /* where an addr get writes */

/* A value of type t from the input (a bool only ever 0 or 1). */
static void fill(input *in, rsock_optval *v, rsock_opttype t, void *buf, size_t len)
{
    memset(v, 0, sizeof *v);
    v->type = t;
    switch (t) {
    case RSOCK_OPT_BYTES:
        take(in, buf, len);
        v->bytes.buf = buf;
        v->bytes.len = len;
        break;
    case RSOCK_OPT_LINGER:
        v->linger.on = take_u8(in) & 1;
        v->linger.seconds = take_int(in);
        break;
    case RSOCK_OPT_TIMEVAL: take(in, &v->timeval, sizeof v->timeval); break;
    case RSOCK_OPT_MREQ: take(in, &v->mreq, sizeof v->mreq); break;
    case RSOCK_OPT_MREQ_SRC: take(in, &v->mreq_src, sizeof v->mreq_src); break;
    case RSOCK_OPT_MREQ6: take(in, &v->mreq6, sizeof v->mreq6); break;
    case RSOCK_OPT_UCRED: take(in, &v->ucred, sizeof v->ucred); break;
    case RSOCK_OPT_ADDR: v->addr = &fuzz_addr; break; /* the caller's, as for bytes */
    default: v->i = take_int(in); break;
    }
}

static bool harmful(const rsock_sockopt *r, bool set)
{
    return (r->level == IPPROTO_IPV6 && r->opt == IPV6_ADDRFORM) ||
           (set && r->level == IPPROTO_TCP && r->opt == TCP_CONGESTION);
}

static void congestion(rsock_t *s, unsigned pick)
{
    const char *name = pick & 1 ? "reno" : "cubic";
    check_rc("TCP_CONGESTION", NULL, rsock_setsockopt_bytes(s, IPPROTO_TCP, TCP_CONGESTION, name,
                                                            strlen(name)));
}

/* The generic calls: the row's type; a set now and then another type (a
 * get takes the row's: its bytes buffer is the caller's to give). */
static void generic(input *in, rsock_t *s, const rsock_sockopt *r, bool set, uint8_t *buf,
                    size_t len)
{
    rsock_opttype t = set ? r->set : r->get;
    unsigned pick = take_u8(in);
    if (set && pick < 16)
        t = (rsock_opttype)(pick % (RSOCK_OPT_ADDR + 1));
    rsock_optval v;
    fill(in, &v, t, buf, len);
    if (set) {
        check_rc("rsock_setsockopt", r, rsock_setsockopt(s, r->level, r->opt, &v));
        return;
    }
    int rc = rsock_getsockopt(s, r->level, r->opt, &v);
    check_rc("rsock_getsockopt", r, rc);
    if (rc == 0 && v.type == RSOCK_OPT_BYTES && v.bytes.len > len)
        FAIL("rsock_getsockopt %s: %zu bytes into %zu", r->name, v.bytes.len, len);
}

/* The typed shortcuts, whatever the row's type. */
static void typed(input *in, rsock_t *s, const rsock_sockopt *r, unsigned which, uint8_t *buf,
                  size_t len)
{
    int i = take_int(in);
    double d;
    bool on;
    ssize_t n;
    rsock_addr a;
    switch (which % 9) {
    case 0: check_rc("get_int", r, rsock_getsockopt_int(s, r->level, r->opt, &i)); break;
    case 1: check_rc("set_int", r, rsock_setsockopt_int(s, r->level, r->opt, i)); break;
    case 2: check_rc("get_timeval", r, rsock_getsockopt_timeval(s, r->level, r->opt, &d)); break;
    case 3:
        take(in, &d, sizeof d);
        check_rc("set_timeval", r, rsock_setsockopt_timeval(s, r->level, r->opt, d));
        break;
    case 4: check_rc("get_linger", r, rsock_getsockopt_linger(s, &on, &i)); break;
    case 5: check_rc("set_linger", r, rsock_setsockopt_linger(s, i & 1, i >> 1)); break;
    case 6:
        n = rsock_getsockopt_bytes(s, r->level, r->opt, len ? buf : NULL, len);
        check_rc("get_bytes", r, n < 0 ? n : 0);
        if (n > (ssize_t)len)
            FAIL("rsock_getsockopt_bytes %s: %zd bytes into %zu", r->name, n, len);
        break;
    case 8: check_rc("get_addr", r, rsock_getsockopt_addr(s, r->level, r->opt, &a)); break;
    default:
        take(in, buf, len);
        check_rc("set_bytes", r, rsock_setsockopt_bytes(s, r->level, r->opt, len ? buf : NULL, len));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    rsock_t *s = socks[take_u8(&in) % NSOCKS];
    unsigned op = take_u8(&in);
    unsigned row_pick = take_u8(&in) | take_u8(&in) << 8;
    size_t len = take_u8(&in) | (take_u8(&in) & 1) << 8; /* 0..511 bytes */
    uint8_t *buf = malloc(len ? len : 1); /* exact size: ASan sees any overflow */
    if (!buf)
        return 0;
    const rsock_sockopt *r = &rows[row_pick % nrows];
    bool set = op & 1;
    if (op >> 1 == 0x7f) { /* a random (level, option), maybe in no row */
        int level = take_int(&in), opt = take_int(&in);
        rsock_optval v;
        fill(&in, &v, RSOCK_OPT_INT, buf, len);
        check_rc("random option", NULL,
                 set ? rsock_setsockopt(s, level, opt, &v) : rsock_getsockopt(s, level, opt, &v));
    } else if (harmful(r, set)) {
        if (r->opt == TCP_CONGESTION)
            congestion(s, op >> 1);
    } else if (op & 2) {
        typed(&in, s, r, op >> 2, buf, len);
    } else {
        generic(&in, s, r, set, buf, len);
    }
    free(buf);
    return 0;
}
