/* rsock_read_full and rsock_reader: exact reads, lines up to a limit,
 * peeks, the end of stream in the middle of each, deadlines, a reset told
 * apart from an early end, bad input.  Real socketpairs and TCP loopback. */
#include "check.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static void unix_pair(rsock_t **x, rsock_t **y)
{
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(rsock_fdopen(fds[0], x) == 0);
    REQUIRE(rsock_fdopen(fds[1], y) == 0);
}

static void put(rsock_t *s, const char *text)
{
    REQUIRE(rsock_write_all(s, text, strlen(text), rsock_now() + 5000) == (ssize_t)strlen(text));
}

/* Writes its pieces one at a time, each after the reader has parked. */
struct pieces {
    rsock_t *s;
    const char *const *parts;
    bool end; /* shut down for writing after the last */
};

static void write_pieces(void *arg)
{
    struct pieces *p = arg;
    for (const char *const *part = p->parts; *part; part++) {
        rsock_yield(); /* the reader drains what came and parks */
        put(p->s, *part);
    }
    if (p->end)
        REQUIRE(rsock_shutdown(p->s, SHUT_WR) == 0);
}

static rsock_fiber *start_pieces(struct pieces *p)
{
    rsock_fiber *f;
    REQUIRE(rsock_spawn(write_pieces, p, &f) == 0);
    return f;
}

/* ---- rsock_read_full ---- */

static void test_read_full_in_pieces(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    const char *parts[] = {"abc", "defg", "hij", NULL};
    struct pieces p = {x, parts, false};
    rsock_fiber *f = start_pieces(&p);
    char buf[11] = {0};
    size_t got = 99;
    CHECK_EQ(rsock_read_full(y, buf, 10, &got, rsock_now() + 5000), 10);
    CHECK_EQ(got, 10);
    CHECK_STR(buf, "abcdefghij");
    CHECK_EQ(rsock_read_full(y, buf, 0, &got, 0), 0);
    CHECK_EQ(got, 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_close(x);
    rsock_close(y);
}

static void test_read_full_early_end(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    const char *parts[] = {"ab", "c", NULL};
    struct pieces p = {x, parts, true};
    rsock_fiber *f = start_pieces(&p);
    char buf[10];
    size_t got = 99;
    CHECK_ERR(rsock_read_full(y, buf, 10, &got, rsock_now() + 5000), EPIPE,
              "end of stream after 3 of 10 bytes");
    CHECK_EQ(got, 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_close(x);
    rsock_close(y);
}

static void test_read_full_deadline(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    put(x, "12");
    char buf[4];
    size_t got = 99;
    int64_t t0 = rsock_now();
    CHECK_ERR(rsock_read_full(y, buf, 4, &got, t0 + 100), ETIMEDOUT, "timed out");
    CHECK(rsock_now() - t0 >= 99);
    CHECK_EQ(got, 2);
    rsock_close(x);
    rsock_close(y);
}

/* A reset is -ECONNRESET, never the early end's -EPIPE. */
static void test_read_full_reset(void)
{
    rsock_t *l, *c, *a;
    rsock_addr addr;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    REQUIRE(rsock_getsockname(l, &addr) == 0);
    REQUIRE(rsock_addr_format(&addr, text, sizeof text) > 0);
    REQUIRE(rsock_dial(text, rsock_now() + 5000, &c) == 0);
    REQUIRE(rsock_accept_wait(l, NULL, &a, rsock_now() + 5000) == 0);
    put(a, "xy");
    REQUIRE(rsock_setsockopt_linger(a, true, 0) == 0);
    rsock_close(a);
    char buf[8];
    size_t got = 99;
    ssize_t rc = rsock_read_full(c, buf, 8, &got, rsock_now() + 5000);
    CHECK_EQ(rc, -ECONNRESET);
    CHECK(got <= 2);
    rsock_close(c);
    rsock_close(l);
}

static void test_read_full_refusals(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    char buf[4];
    size_t got = 99;
    CHECK_ERR(rsock_read_full(NULL, buf, 4, &got, -1), EINVAL, "rsock_read_full: NULL socket");
    CHECK_EQ(got, 0);
    CHECK_ERR(rsock_read_full(y, NULL, 4, NULL, -1), EINVAL, "rsock_read_full: NULL buffer");
    CHECK_ERR(rsock_read_full(y, buf, (size_t)-1, NULL, -1), EINVAL, "over SSIZE_MAX");
    rsock_close(x);
    rsock_close(y);
}

/* ---- rsock_reader ---- */

static void test_reader_init(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    rsock_reader r;
    char mine[16];
    CHECK_EQ(rsock_reader_init(&r, y, mine, sizeof mine), 0);
    CHECK_EQ(rsock_reader_buffered(&r), 0);
    CHECK_EQ(rsock_reader_free(&r), 0); /* the caller's buffer is not freed */
    CHECK_EQ(rsock_reader_init(&r, y, NULL, 0), 0);
    CHECK_EQ(r.size, RSOCK_READER_SIZE);
    CHECK_EQ(rsock_reader_free(&r), 0);
    CHECK_EQ(rsock_reader_init(&r, y, NULL, 100), 0);
    CHECK_EQ(r.size, 100);
    CHECK_EQ(rsock_reader_free(&r), 0);
    CHECK_EQ(rsock_reader_free(&r), 0); /* twice: the first left nothing */
    CHECK_EQ(rsock_reader_free(NULL), 0);
    CHECK_EQ(rsock_reader_buffered(NULL), 0);
    CHECK_ERR(rsock_reader_init(NULL, y, NULL, 0), EINVAL, "rsock_reader_init: NULL reader");
    CHECK_ERR(rsock_reader_init(&r, NULL, NULL, 0), EINVAL, "rsock_reader_init: NULL socket");
    CHECK_ERR(rsock_reader_init(&r, y, mine, 0), EINVAL, "a buffer of 0 bytes");
    rsock_close(x);
    rsock_close(y);
}

/* Lines in pieces, a last line without '\n', then the end: 0, and 0 again. */
static void test_lines(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    const char *parts[] = {"a\nb", "b\n", "cc", "c", NULL};
    struct pieces p = {x, parts, true};
    rsock_fiber *f = start_pieces(&p);
    rsock_reader r;
    REQUIRE(rsock_reader_init(&r, y, NULL, 0) == 0);
    const char *line;
    int64_t dl = rsock_now() + 5000;
    CHECK_EQ(rsock_reader_line(&r, &line, 0, dl), 2);
    CHECK(memcmp(line, "a\n", 2) == 0);
    CHECK_EQ(rsock_reader_line(&r, &line, 0, dl), 3);
    CHECK(memcmp(line, "bb\n", 3) == 0);
    CHECK_EQ(rsock_reader_line(&r, &line, 0, dl), 3);
    CHECK(memcmp(line, "ccc", 3) == 0);
    CHECK_EQ(rsock_reader_line(&r, &line, 0, dl), 0);
    CHECK_EQ(rsock_reader_line(&r, &line, 0, dl), 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_reader_free(&r);
    rsock_close(x);
    rsock_close(y);
}

/* A buffer of 8 bytes: lines that wrap past its end are moved to its front. */
static void test_lines_small_buffer(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    put(x, "ab\ncde\nfghijk\nl\n");
    REQUIRE(rsock_shutdown(x, SHUT_WR) == 0);
    char buf[8];
    rsock_reader r;
    REQUIRE(rsock_reader_init(&r, y, buf, sizeof buf) == 0);
    const char *want[] = {"ab\n", "cde\n", "fghijk\n", "l\n"};
    const char *line;
    for (int i = 0; i < 4; i++) {
        ssize_t n = rsock_reader_line(&r, &line, 0, rsock_now() + 5000);
        CHECK_EQ(n, (ssize_t)strlen(want[i]));
        CHECK(n > 0 && memcmp(line, want[i], (size_t)n) == 0);
    }
    CHECK_EQ(rsock_reader_line(&r, &line, 0, rsock_now() + 5000), 0);
    rsock_close(x);
    rsock_close(y);
}

/* No '\n' within the limit: -EMSGSIZE, and the bytes stay to be read. */
static void test_line_limit(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    put(x, "toolongline\nok\n");
    rsock_reader r;
    REQUIRE(rsock_reader_init(&r, y, NULL, 64) == 0);
    const char *line;
    CHECK_ERR(rsock_reader_line(&r, &line, 5, rsock_now() + 5000), EMSGSIZE,
              "no end of line in 5 bytes");
    CHECK_ERR(rsock_reader_line(&r, &line, 3, rsock_now() + 5000), EMSGSIZE, "in 3 bytes");
    char buf[13] = {0};
    CHECK_EQ(rsock_reader_read(&r, buf, 12, NULL, rsock_now() + 5000), 12);
    CHECK_STR(buf, "toolongline\n");
    CHECK_EQ(rsock_reader_line(&r, &line, 3, rsock_now() + 5000), 3); /* exactly the limit */
    CHECK(memcmp(line, "ok\n", 3) == 0);
    CHECK_ERR(rsock_reader_line(&r, &line, 65, -1), EINVAL, "over the buffer's 64 bytes");
    rsock_reader_free(&r);
    /* limit 0 is the buffer's size */
    char small[4];
    put(x, "abcdef\n");
    REQUIRE(rsock_reader_init(&r, y, small, sizeof small) == 0);
    CHECK_ERR(rsock_reader_line(&r, &line, 0, rsock_now() + 5000), EMSGSIZE, "in 4 bytes");
    rsock_close(x);
    rsock_close(y);
}

/* A deadline in the middle of a line keeps what came; the line completes later. */
static void test_line_deadline(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    put(x, "par");
    rsock_reader r;
    REQUIRE(rsock_reader_init(&r, y, NULL, 0) == 0);
    const char *line;
    int64_t t0 = rsock_now();
    CHECK_ERR(rsock_reader_line(&r, &line, 0, t0 + 100), ETIMEDOUT, "timed out");
    CHECK(rsock_now() - t0 >= 99);
    CHECK_EQ(rsock_reader_buffered(&r), 3);
    put(x, "tial\n");
    CHECK_EQ(rsock_reader_line(&r, &line, 0, rsock_now() + 5000), 8);
    CHECK(memcmp(line, "partial\n", 8) == 0);
    rsock_reader_free(&r);
    rsock_close(x);
    rsock_close(y);
}

/* A length-framed protocol: a header line, then exactly that many bytes. */
static void test_framed(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    const char *parts[] = {"LEN 5\nhel", "loNEXT", "\n", NULL};
    struct pieces p = {x, parts, true};
    rsock_fiber *f = start_pieces(&p);
    rsock_reader r;
    REQUIRE(rsock_reader_init(&r, y, NULL, 0) == 0);
    const char *line;
    int64_t dl = rsock_now() + 5000;
    CHECK_EQ(rsock_reader_line(&r, &line, 16, dl), 6);
    CHECK(memcmp(line, "LEN 5\n", 6) == 0);
    char body[6] = {0};
    size_t got = 99;
    CHECK_EQ(rsock_reader_read(&r, body, 5, &got, dl), 5);
    CHECK_EQ(got, 5);
    CHECK_STR(body, "hello");
    CHECK_EQ(rsock_reader_line(&r, &line, 16, dl), 5);
    CHECK(memcmp(line, "NEXT\n", 5) == 0);
    CHECK_ERR(rsock_reader_read(&r, body, 1, &got, dl), EPIPE, "end of stream after 0 of 1");
    CHECK_EQ(got, 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_reader_free(&r);
    rsock_close(x);
    rsock_close(y);
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 9));
}

struct big {
    rsock_t *s;
    size_t len;
};

static void write_big(void *arg)
{
    struct big *b = arg;
    static uint8_t data[100000];
    for (size_t i = 0; i < b->len; i++)
        data[i] = pattern(i);
    REQUIRE(rsock_write_all(b->s, "head\n", 5, rsock_now() + 5000) == 5);
    REQUIRE(rsock_write_all(b->s, data, b->len, rsock_now() + 5000) == (ssize_t)b->len);
    REQUIRE(rsock_shutdown(b->s, SHUT_WR) == 0);
}

/* A read larger than the buffer goes straight to the caller's; an early
 * end in it reports how far it got. */
static void test_read_bigger_than_buffer(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    struct big b = {x, 100000};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(write_big, &b, &f) == 0);
    rsock_reader r;
    REQUIRE(rsock_reader_init(&r, y, NULL, 4096) == 0);
    const char *line;
    CHECK_EQ(rsock_reader_line(&r, &line, 0, rsock_now() + 5000), 5);
    static uint8_t got_data[100001];
    size_t got = 0;
    CHECK_ERR(rsock_reader_read(&r, got_data, sizeof got_data, &got, rsock_now() + 5000), EPIPE,
              "end of stream after 100000 of 100001 bytes");
    CHECK_EQ(got, 100000);
    size_t bad = 0;
    for (size_t i = 0; i < 100000; i++)
        bad += got_data[i] != pattern(i);
    CHECK_EQ(bad, 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_reader_free(&r);
    rsock_close(x);
    rsock_close(y);
}

static void test_peek(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    const char *parts[] = {"G", "ET / HTTP/1.1\r\n", NULL};
    struct pieces p = {x, parts, true};
    rsock_fiber *f = start_pieces(&p);
    rsock_reader r;
    char buf[32];
    REQUIRE(rsock_reader_init(&r, y, buf, sizeof buf) == 0);
    const void *data;
    int64_t dl = rsock_now() + 5000;
    ssize_t n = rsock_reader_peek(&r, &data, 3, dl);
    CHECK(n >= 3);
    CHECK(memcmp(data, "GET", 3) == 0);
    CHECK_EQ(rsock_reader_buffered(&r), (size_t)n); /* peeked, not taken */
    const char *line;
    CHECK_EQ(rsock_reader_line(&r, &line, 0, dl), 16);
    CHECK(memcmp(line, "GET / HTTP/1.1\r\n", 16) == 0);
    CHECK_EQ(rsock_reader_peek(&r, &data, 0, 0), 0);  /* n 0 never waits */
    CHECK_EQ(rsock_reader_peek(&r, &data, 4, dl), 0); /* the end: fewer */
    CHECK_ERR(rsock_reader_peek(&r, &data, 33, dl), EINVAL, "over the buffer's 32");
    CHECK_ERR(rsock_reader_peek(&r, NULL, 1, dl), EINVAL, "rsock_reader_peek: NULL data");
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_close(x);
    rsock_close(y);
}

static void test_reader_refusals(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    rsock_reader r, none = {0};
    REQUIRE(rsock_reader_init(&r, y, NULL, 0) == 0);
    const char *line;
    const void *data;
    char buf[4];
    CHECK_ERR(rsock_reader_line(NULL, &line, 0, -1), EINVAL, "rsock_reader_line: NULL reader");
    CHECK_ERR(rsock_reader_line(&none, &line, 0, -1), EINVAL, "NULL reader");
    CHECK_ERR(rsock_reader_line(&r, NULL, 0, -1), EINVAL, "rsock_reader_line: NULL line");
    CHECK_ERR(rsock_reader_read(NULL, buf, 1, NULL, -1), EINVAL, "rsock_reader_read: NULL reader");
    CHECK_ERR(rsock_reader_read(&r, NULL, 1, NULL, -1), EINVAL, "rsock_reader_read: NULL buffer");
    CHECK_ERR(rsock_reader_read(&r, buf, (size_t)-1, NULL, -1), EINVAL, "over SSIZE_MAX");
    CHECK_ERR(rsock_reader_peek(NULL, &data, 1, -1), EINVAL, "rsock_reader_peek: NULL reader");
    CHECK_EQ(rsock_reader_read(&r, buf, 0, NULL, 0), 0);
    rsock_reader_free(&r);
    rsock_close(x);
    rsock_close(y);
}

int main(void)
{
    int fds = check_fd_count();
    RUN(test_read_full_in_pieces);
    RUN(test_read_full_early_end);
    RUN(test_read_full_deadline);
    RUN(test_read_full_reset);
    RUN(test_read_full_refusals);
    RUN(test_reader_init);
    RUN(test_lines);
    RUN(test_lines_small_buffer);
    RUN(test_line_limit);
    RUN(test_line_deadline);
    RUN(test_framed);
    RUN(test_read_bigger_than_buffer);
    RUN(test_peek);
    RUN(test_reader_refusals);
    CHECK_EQ(check_fd_count(), fds + 1); /* + this thread's epoll: the readers closed nothing */
    return check_done();
}
