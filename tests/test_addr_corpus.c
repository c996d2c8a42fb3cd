/* parse(format(a)) == a and format(parse(format(a))) == format(a) on a
 * generated corpus: CORPUS_EACH addresses of every kind (IPv4, IPv6 with
 * zero runs, IPv4-mapped, scoped by lo's index and by unknown numbers,
 * Unix absolute, relative and abstract, netlink, packet), from a fixed
 * seed so that a failure repeats. */
#include "check.h"
#include "internal.h"

#include <net/if.h>
#include <stddef.h>

#define CORPUS_EACH 10000
#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static uint64_t rng_state = 0x5eed0fa11c0ffeeULL;

static uint64_t rnd(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }

static unsigned lo_index;
static long checked;

static void gen_in(rsock_addr *a)
{
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons((uint16_t)rnd());
    a->in.sin_addr.s_addr = (uint32_t)rnd();
    a->len = sizeof a->in;
}

/* Random groups, with a run of zeros of random place and length, often. */
static void gen_in6(rsock_addr *a)
{
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = htons((uint16_t)rnd());
    uint8_t *b = a->in6.sin6_addr.s6_addr;
    for (int k = 0; k < 16; k++)
        b[k] = below(4) == 0 ? 0 : (uint8_t)rnd();
    if (below(4) != 0) {
        unsigned start = below(8), len = 1 + below(8 - start);
        memset(b + 2 * start, 0, 2 * len);
    }
    if (below(8) == 0) /* a second run, making ties */
        memset(b + 2 * below(7), 0, 4);
    a->len = sizeof a->in6;
}

static void gen_mapped(rsock_addr *a)
{
    gen_in6(a);
    uint8_t *b = a->in6.sin6_addr.s6_addr;
    memset(b, 0, 10);
    b[10] = b[11] = 0xff;
}

static void gen_scoped(rsock_addr *a)
{
    gen_in6(a);
    uint8_t *b = a->in6.sin6_addr.s6_addr;
    b[0] = 0xfe;
    b[1] = 0x80;
    /* lo by name, or a number no interface has (written as a number) */
    a->in6.sin6_scope_id = below(2) ? lo_index : 100000 + (uint32_t)below(1u << 30);
}

static void random_text(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(' ' + below(95)); /* printable ASCII: no NUL */
}

static void gen_un_path(rsock_addr *a, bool absolute)
{
    size_t n = 1 + below(UNIX_MAX_PATH - 1); /* 1..107 bytes and the NUL */
    a->un.sun_family = AF_UNIX;
    random_text(a->un.sun_path, n);
    a->un.sun_path[0] = absolute ? '/' : (a->un.sun_path[0] == '/' ? 'r' : a->un.sun_path[0]);
    a->len = (socklen_t)(SUN_OFF + n + 1);
}

static void gen_un_abs(rsock_addr *a) { gen_un_path(a, true); }
static void gen_un_rel(rsock_addr *a) { gen_un_path(a, false); }

static void gen_un_abstract(rsock_addr *a)
{
    size_t n = below(UNIX_MAX_PATH); /* 0..107 bytes after the NUL */
    a->un.sun_family = AF_UNIX;
    random_text(a->un.sun_path + 1, n);
    a->len = (socklen_t)(SUN_OFF + 1 + n);
}

static void gen_netlink(rsock_addr *a)
{
    a->nl.nl_family = AF_NETLINK;
    a->nl.nl_pid = (uint32_t)rnd();
    a->nl.nl_groups = below(2) ? (uint32_t)rnd() : 0;
    a->len = sizeof a->nl;
}

static void gen_packet(rsock_addr *a)
{
    a->ll.sll_family = AF_PACKET;
    a->ll.sll_ifindex = (int)(rnd() & 0x7fffffff);
    a->ll.sll_protocol = htons((uint16_t)rnd());
    a->len = sizeof a->ll;
}

/* One address: format, parse back, compare bytes, format again. */
static void check_one(const rsock_addr *a, const char *kind)
{
    char text[RSOCK_ADDRSTRLEN], again[RSOCK_ADDRSTRLEN];
    int n = rsock_addr_format(a, text, sizeof text);
    if (n < 0 || n >= (int)sizeof text) {
        CHECK_FAIL_("%s: format gave %d", kind, n);
        return;
    }
    rsock_addr b;
    memset(&b, 0x5a, sizeof b);
    if (rsock__addr_parse_numeric(&b, text) != 0) {
        CHECK_FAIL_("%s: \"%s\" does not parse", kind, text);
        return;
    }
    if (b.len != a->len || memcmp(&a->ss, &b.ss, a->len) != 0)
        CHECK_FAIL_("%s: \"%s\" parses to other bytes (len %u, want %u)", kind, text,
                    (unsigned)b.len, (unsigned)a->len);
    CHECK_EQ(rsock_addr_format(&b, again, sizeof again), n);
    if (strcmp(text, again) != 0)
        CHECK_FAIL_("%s: \"%s\" formats back as \"%s\"", kind, text, again);
    checked++;
}

static void run_kind(void (*gen)(rsock_addr *), const char *kind)
{
    int before = check_failures;
    for (int i = 0; i < CORPUS_EACH && check_failures - before < 10; i++) {
        rsock_addr a;
        memset(&a, 0, sizeof a);
        gen(&a);
        check_one(&a, kind);
    }
}

static void test_corpus(void)
{
    run_kind(gen_in, "IPv4");
    run_kind(gen_in6, "IPv6");
    run_kind(gen_mapped, "IPv4-mapped");
    run_kind(gen_scoped, "IPv6 scoped");
    run_kind(gen_un_abs, "Unix absolute");
    run_kind(gen_un_rel, "Unix relative");
    run_kind(gen_un_abstract, "Unix abstract");
    run_kind(gen_netlink, "netlink");
    run_kind(gen_packet, "packet");
    CHECK_EQ(checked, 9L * CORPUS_EACH);
}

/* A few fixed texts of each form: text -> parse -> format is stable. */
static void test_fixed_texts(void)
{
    static const char *texts[] = {"0.0.0.0:0", "255.255.255.255:65535", "[::]:0", "[::1]:1",
                                  "[fe80::1%lo]:80", "[::ffff:10.0.0.1]:2", "/a", "unix:a",
                                  "@a", "unix:", "netlink:0:1", "packet:1:0x0003"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        rsock_addr a;
        char out[RSOCK_ADDRSTRLEN];
        CHECK_EQ(rsock__addr_parse_numeric(&a, texts[i]), 0);
        CHECK_EQ(rsock_addr_format(&a, out, sizeof out), (int)strlen(texts[i]));
        CHECK_STR(out, texts[i]);
    }
}

int main(void)
{
    int fds = check_fd_count();
    lo_index = if_nametoindex("lo");
    REQUIRE(lo_index > 0);
    RUN(test_fixed_texts);
    RUN(test_corpus);
    printf("corpus: %ld addresses round-tripped\n", checked);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
