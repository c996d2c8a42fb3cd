/* libFuzzer target: rsock-proxy's PROXY protocol parser (pp_parse), on
 * any bytes.  It must answer within the input: a header's length no longer
 * than the input, 0 (more needed) or -EPROTO with a reason.  A header it
 * takes is taken again with bytes after it, and no shorter prefix of it is
 * taken.  Its addresses survive a round trip: pp_build writes them again in
 * either version, and pp_parse reads back the same IPs and ports (a LOCAL
 * or UNKNOWN header, or Unix addresses, come back as local). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_proxy_proto: " __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_ip(const rsock_addr *a)
{
    return a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6;
}

static void check_same_ip(const rsock_addr *a, const rsock_addr *b, const char *which)
{
    uint8_t ia[16], ib[16];
    int pa, pb;
    int la = rsock_addr_ip(a, ia, &pa), lb = rsock_addr_ip(b, ib, &pb);
    if (la < 0 || la != lb || memcmp(ia, ib, (size_t)la) != 0 || pa != pb)
        FAIL("%s address changed in the round trip", which);
}

/* Build the parsed header again in `version` and parse that. */
static void round_trip(const struct pp_header *h, int version)
{
    char buf[PP_BUILD_MAX];
    bool ip = !h->local && is_ip(&h->src) && is_ip(&h->dst);
    int n = pp_build(version, ip ? &h->src : NULL, ip ? &h->dst : NULL, !ip, buf, sizeof buf);
    if (n <= 0)
        FAIL("pp_build v%d of a parsed header: %d", version, n);
    struct pp_header back;
    int m = pp_parse(buf, (size_t)n, &back);
    if (m != n)
        FAIL("pp_parse of pp_build's v%d header: %d of %d (%s)", version, m, n,
             back.reason ? back.reason : "");
    if (back.local != !ip)
        FAIL("v%d round trip: local %d, want %d", version, back.local, !ip);
    if (ip) {
        check_same_ip(&h->src, &back.src, "source");
        check_same_ip(&h->dst, &back.dst, "destination");
    }
}

static void check_taken(const uint8_t *data, size_t size, int n, const struct pp_header *h)
{
    if ((size_t)n > size)
        FAIL("took %d bytes of %zu", n, size);
    if (h->version != 1 && h->version != 2)
        FAIL("version %d", h->version);
    if (h->reason)
        FAIL("a reason for a header taken: %s", h->reason);
    if (!h->local && (!rsock_addr_valid(&h->src) || !rsock_addr_valid(&h->dst)))
        FAIL("an invalid address in a header taken");
    struct pp_header again;
    if (pp_parse(data, (size_t)n, &again) != n)
        FAIL("the header alone is not taken the same");
    size_t cuts[] = {(size_t)n - 1, (size_t)n / 2, size ? data[size - 1] % (size_t)n : 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        if (pp_parse(data, cuts[i], &again) != 0)
            FAIL("a prefix of %zu bytes of a %d-byte header is not 'more needed'", cuts[i], n);
    round_trip(h, 1);
    round_trip(h, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pp_header h;
    int n = pp_parse(data, size, &h);
    if (n > 0)
        check_taken(data, size, n, &h);
    else if (n < 0 && (n != -EPROTO || !h.reason))
        FAIL("refused with %d, reason %s", n, h.reason ? h.reason : "(none)");
    return 0;
}
