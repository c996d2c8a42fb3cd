/* rsock-proxy's metrics (tools/rsock-proxy/metrics*.c): the counters, the
 * exposition text, and the HTTP endpoint over real loopback sockets.
 *
 *   test_proxy_metrics                  the tests
 *   test_proxy_metrics --bench THREADS  the per-connection calls' cost
 *   test_proxy_metrics --serve S [ADDR] fill counters with sample traffic
 *                                       (odd names included), serve them on
 *                                       ADDR (127.0.0.1:0) for S seconds; the
 *                                       first line says "serving ADDR"
 *                                       (for promtool and prometheus:
 *                                       tests/test_proxy_metrics_prom.sh) */
#include "check.h"
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>

/* The value of the series written exactly `series` (name and labels), NAN
 * when the text has no such line. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line; line = strchr(line, '\n') + 1) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        if (!strchr(line, '\n'))
            break;
    }
    return NAN;
}

static char *render(void)
{
    char *text = NULL;
    size_t len = metrics_render(&text);
    REQUIRE(text != NULL);
    CHECK_EQ(strlen(text), len);
    return text;
}

/* Check that `series` has `want` in the current exposition. */
#define CHECK_SERIES(text, series, want)                                                           \
    do {                                                                                           \
        double got_ = value_of((text), (series));                                                  \
        if (!(fabs(got_ - (double)(want)) < 1e-9))                                                 \
            CHECK_FAIL_("%s: got %.9g, want %.9g", (series), got_, (double)(want));                \
    } while (0)

/* The format wants each family's samples in one group: a family seen
 * again after another one began is an error. */
static void check_families_grouped(const char *text)
{
    char seen[4096] = " ", family[128] = "";
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (line[0] == '#')
            continue;
        size_t n = strcspn(line, "{ ");
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)n, line);
        for (const char *suffix = "_bucket\0_sum\0_count\0"; *suffix;
             suffix += strlen(suffix) + 1) {
            size_t k = strlen(suffix);
            char type[160];
            snprintf(type, sizeof type, "# TYPE %.*s histogram\n", (int)(n - k), name);
            if (n > k && strcmp(name + n - k, suffix) == 0 && strstr(text, type))
                name[n - k] = '\0';
        }
        if (strcmp(name, family) == 0)
            continue;
        char key[132];
        snprintf(key, sizeof key, " %s ", name);
        if (strstr(seen, key))
            CHECK_FAIL_("family %s comes back after %s", name, family);
        snprintf(family, sizeof family, "%s", name);
        strncat(seen, key + 1, sizeof seen - strlen(seen) - 1);
    }
}

static void test_kind_names_and_results(void)
{
    const char *names[] = {"eof",        "reset",       "idle",     "timeout",
                           "refused",    "unreachable", "shutdown", "proxy_header",
                           "no_backend", "limit",       "error"};
    CHECK_EQ(sizeof names / sizeof *names, END_KINDS);
    for (int k = 0; k < END_KINDS; k++)
        CHECK_STR(end_kind_name((enum end_kind)k), names[k]);
    CHECK_STR(end_kind_name(END_KINDS), "error");
    CHECK_STR(end_kind_name((enum end_kind)(-1)), "error");
    CHECK_EQ(end_kind_of(0), END_EOF);
    CHECK_EQ(end_kind_of(-ECONNRESET), END_RESET);
    CHECK_EQ(end_kind_of(-EPIPE), END_RESET);
    CHECK_EQ(end_kind_of(-ETIMEDOUT), END_IDLE);
    CHECK_EQ(end_kind_of(-ECONNREFUSED), END_REFUSED);
    CHECK_EQ(end_kind_of(-EHOSTUNREACH), END_UNREACHABLE);
    CHECK_EQ(end_kind_of(-ENETUNREACH), END_UNREACHABLE);
    CHECK_EQ(end_kind_of(-ECANCELED), END_SHUTDOWN);
    CHECK_EQ(end_kind_of(-ENOMEM), END_ERROR);
    CHECK_EQ(end_kind_of(-EMFILE), END_ERROR);
    CHECK_EQ(end_kind_of_connect(-ETIMEDOUT), END_TIMEOUT);
    CHECK_EQ(end_kind_of_connect(-ECONNREFUSED), END_REFUSED);
    CHECK_EQ(end_kind_of_connect(0), END_EOF);
}

static void test_one_pointer_per_pair(void)
{
    struct traffic *a = metrics_for("web", "10.0.0.1:80");
    REQUIRE(a != NULL);
    CHECK(metrics_for("web", "10.0.0.1:80") == a);
    CHECK(metrics_for("web", "10.0.0.2:80") != a);
    CHECK(metrics_for("api", "10.0.0.1:80") != a);
    CHECK(metrics_for("web", NULL) == metrics_for("web", ""));
    /* NULL counters are accepted and ignored */
    metrics_opened(NULL);
    metrics_connected(NULL, 1);
    metrics_closed(NULL, 1, 1, 1, END_RESET);
    metrics_end();
}

#define PER_THREAD 200000

static void *connections(void *t)
{
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_opened(t);
        metrics_connected(t, 0.0004);
        metrics_closed(t, 0.02, 3, 5, i % 10 == 0 ? END_RESET : END_EOF);
    }
    return NULL;
}

/* Two threads on one pair while the main one renders: no count lost, and
 * the open gauge back at 0. */
static void test_two_threads_sum(void)
{
    struct traffic *t = metrics_for("web", "b1");
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&th[i], NULL, connections, t) == 0);
    const char *l = "{listener=\"web\",backend=\"b1\"";
    double seen = 0; /* scrapes meanwhile: a counter never goes back */
    for (int i = 0; i < 20; i++) {
        char *text = render();
        double now =
            value_of(text, "rsock_proxy_connections_total{listener=\"web\",backend=\"b1\"}");
        CHECK(now >= seen && now <= 2 * PER_THREAD);
        seen = now;
        free(text);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    char *text = render();
    char s[256];
#define SERIES(fmt) (snprintf(s, sizeof s, fmt, l), s)
    CHECK_SERIES(text, SERIES("rsock_proxy_connections_total%s}"), 2 * PER_THREAD);
    CHECK_SERIES(text, SERIES("rsock_proxy_connections_open%s}"), 0);
    CHECK_SERIES(text, SERIES("rsock_proxy_bytes_total%s,direction=\"up\"}"), 6 * PER_THREAD);
    CHECK_SERIES(text, SERIES("rsock_proxy_bytes_total%s,direction=\"down\"}"), 10 * PER_THREAD);
    CHECK_SERIES(text, SERIES("rsock_proxy_connect_seconds_count%s}"), 2 * PER_THREAD);
    CHECK_SERIES(text, SERIES("rsock_proxy_connect_seconds_sum%s}"), 0.0004 * 2 * PER_THREAD);
    CHECK_SERIES(text, SERIES("rsock_proxy_connection_duration_seconds_sum%s}"),
                 0.02 * 2 * PER_THREAD);
    CHECK_SERIES(text, "rsock_proxy_errors_total{listener=\"web\",kind=\"reset\"}",
                 2 * PER_THREAD / 10);
    CHECK_SERIES(text, "rsock_proxy_errors_total{listener=\"web\",kind=\"idle\"}", 0);
    CHECK(isnan(value_of(text, "rsock_proxy_errors_total{listener=\"web\",kind=\"eof\"}")));
#undef SERIES
    free(text);
    metrics_end();
}

/* Each bucket line of `name` for the pair, in order: cumulative counts,
 * the +Inf one equal to _count. */
static void check_cumulative(const char *text, const char *name, const char *labels)
{
    char prefix[256];
    int n = snprintf(prefix, sizeof prefix, "%s_bucket{%s,le=\"", name, labels);
    double last = 0, inf = NAN;
    int buckets = 0;
    for (const char *line = strstr(text, prefix); line; line = strstr(line + 1, prefix)) {
        const char *value = strchr(line, ' ');
        double v = strtod(value + 1, NULL);
        CHECK(v >= last);
        last = v;
        buckets++;
        if (strncmp(line + n, "+Inf\"", 5) == 0)
            inf = v;
    }
    CHECK(buckets > 5);
    char count[256];
    snprintf(count, sizeof count, "%s_count{%s}", name, labels);
    CHECK_SERIES(text, count, inf);
}

static void test_histogram_buckets(void)
{
    struct traffic *t = metrics_for("h", "b");
    metrics_connected(t, 0.00005); /* le 0.0001 */
    metrics_connected(t, 0.001);   /* exactly on a bound: le 0.001 */
    metrics_connected(t, 0.003);   /* le 0.005 */
    metrics_connected(t, 20);      /* over every bound */
    metrics_opened(t);
    metrics_closed(t, -1, 0, 0, END_EOF); /* a clock step back counts as 0 */
    metrics_opened(t);
    metrics_closed(t, NAN, 0, 0, END_EOF); /* so does nonsense */
    char *text = render();
    const char *b = "rsock_proxy_connect_seconds_bucket{listener=\"h\",backend=\"b\",le=";
    char s[256];
#define BUCKET(le) (snprintf(s, sizeof s, "%s\"%s\"}", b, le), s)
    CHECK_SERIES(text, BUCKET("0.0001"), 1);
    CHECK_SERIES(text, BUCKET("0.00025"), 1);
    CHECK_SERIES(text, BUCKET("0.0005"), 1);
    CHECK_SERIES(text, BUCKET("0.001"), 2);
    CHECK_SERIES(text, BUCKET("0.0025"), 2);
    CHECK_SERIES(text, BUCKET("0.005"), 3);
    CHECK_SERIES(text, BUCKET("10"), 3);
    CHECK_SERIES(text, BUCKET("+Inf"), 4);
#undef BUCKET
    CHECK_SERIES(text, "rsock_proxy_connect_seconds_count{listener=\"h\",backend=\"b\"}", 4);
    CHECK_SERIES(text, "rsock_proxy_connect_seconds_sum{listener=\"h\",backend=\"b\"}", 20.00405);
    CHECK_SERIES(text,
                 "rsock_proxy_connection_duration_seconds_bucket{listener=\"h\",backend=\"b\","
                 "le=\"0.001\"}",
                 2);
    CHECK_SERIES(text, "rsock_proxy_connection_duration_seconds_sum{listener=\"h\",backend=\"b\"}",
                 0);
    check_cumulative(text, "rsock_proxy_connect_seconds", "listener=\"h\",backend=\"b\"");
    check_cumulative(text, "rsock_proxy_connection_duration_seconds",
                     "listener=\"h\",backend=\"b\"");
    CHECK(strstr(text, "# TYPE rsock_proxy_connect_seconds histogram\n") != NULL);
    free(text);
    metrics_end();
}

/* Names come from config files: backslash, quote and newline escaped,
 * bytes that are not UTF-8 replaced, and every line still one sample or
 * one comment. */
static void test_label_escaping(void)
{
    metrics_opened(metrics_for("a\"b\\c\nd", "x\xffy\xc3\xa9"));
    metrics_opened(metrics_for("s\xed\xa0\x80o\xc0\xaf", "b")); /* a surrogate, an overlong '/' */
    char *text = render();
    CHECK_SERIES(text,
                 "rsock_proxy_connections_total{listener=\"s\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdo"
                 "\xef\xbf\xbd\xef\xbf\xbd\",backend=\"b\"}",
                 1);
    CHECK_SERIES(text,
                 "rsock_proxy_connections_total{listener=\"a\\\"b\\\\c\\nd\","
                 "backend=\"x\xef\xbf\xbdy\xc3\xa9\"}",
                 1);
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        bool known = line[0] == '#' || strncmp(line, "rsock_proxy_", 12) == 0 ||
                     strncmp(line, "process_start_time_seconds ", 27) == 0;
        if (!known)
            CHECK_FAIL_("a line that is neither sample nor comment: %.40s", line);
    }
    CHECK(text[strlen(text) - 1] == '\n');
    check_families_grouped(text);
    free(text);
    metrics_end();
}

static void test_refusals_states_reloads(void)
{
    metrics_refused("edge", END_LIMIT);
    metrics_refused("edge", END_LIMIT);
    metrics_refused("edge", END_PROXY_HEADER);
    metrics_refused("edge", END_EOF); /* not an error: counted as one of unknown kind */
    metrics_refused_at(metrics_for("edge", ""), END_PROXY_HEADER);
    metrics_refused_at(NULL, END_LIMIT);
    struct traffic *b1 = metrics_for("edge", "b1");
    metrics_opened(b1);
    metrics_closed(b1, 1, 10, 20, END_IDLE);
    metrics_opened(metrics_for("edge", "b2"));
    metrics_closed(metrics_for("edge", "b2"), 1, 10, 20, END_IDLE);
    metrics_backend_up("edge", "b1", true);
    metrics_backend_up("edge", "b2", false);
    metrics_backend_up("edge", "b3", true);
    metrics_backend_gone("edge", "b3"); /* left the pool */
    metrics_reloaded(true);
    metrics_reloaded(false);
    metrics_reloaded(false);
    char *text = render();
    CHECK_SERIES(text, "rsock_proxy_errors_total{listener=\"edge\",kind=\"limit\"}", 2);
    CHECK_SERIES(text, "rsock_proxy_errors_total{listener=\"edge\",kind=\"proxy_header\"}", 2);
    CHECK_SERIES(text, "rsock_proxy_errors_total{listener=\"edge\",kind=\"error\"}", 1);
    CHECK_SERIES(text, "rsock_proxy_errors_total{listener=\"edge\",kind=\"idle\"}", 2);
    CHECK_SERIES(text, "rsock_proxy_errors_total{listener=\"edge\",kind=\"no_backend\"}", 0);
    CHECK_SERIES(text, "rsock_proxy_backend_up{listener=\"edge\",backend=\"b1\"}", 1);
    CHECK_SERIES(text, "rsock_proxy_backend_up{listener=\"edge\",backend=\"b2\"}", 0);
    CHECK(isnan(value_of(text, "rsock_proxy_backend_up{listener=\"edge\",backend=\"b3\"}")));
    CHECK_SERIES(text, "rsock_proxy_connections_total{listener=\"edge\",backend=\"b3\"}", 0);
    CHECK_SERIES(text, "rsock_proxy_reloads_total{result=\"ok\"}", 1);
    CHECK_SERIES(text, "rsock_proxy_reloads_total{result=\"failed\"}", 2);
    /* the listener's own pair holds errors, no traffic series */
    CHECK(isnan(value_of(text, "rsock_proxy_connections_total{listener=\"edge\",backend=\"\"}")));
    CHECK(isnan(value_of(text, "rsock_proxy_backend_up{listener=\"edge\",backend=\"\"}")));
    CHECK(value_of(text, "process_start_time_seconds") > 1.7e9);
    check_families_grouped(text);
    free(text);
    metrics_end();
    text = render();
    CHECK_SERIES(text, "rsock_proxy_reloads_total{result=\"ok\"}", 0);
    CHECK(!strstr(text, "edge"));
    free(text);
}

/* ---- the endpoint ---- */

struct reply {
    int status;
    char *text; /* the whole answer, head and body */
    const char *body;
    int64_t done; /* rsock_now() when the connection ended */
};

/* Send `request` to the endpoint and read the answer to the end. */
static struct reply http(const char *request)
{
    struct reply r = {0};
    rsock_t *s;
    if (rsock_dial(metrics_address(), rsock_after(5000), &s) < 0) {
        CHECK_FAIL_("dial %s", metrics_address());
        return r;
    }
    CHECK_EQ(rsock_write_all(s, request, strlen(request), rsock_after(5000)), strlen(request));
    size_t len = 0, cap = 1 << 16;
    r.text = malloc(cap + 1);
    for (ssize_t n; (n = rsock_read(s, r.text + len, cap - len, rsock_after(5000))) > 0;) {
        len += (size_t)n;
        if (len == cap)
            r.text = realloc(r.text, (cap *= 2) + 1);
    }
    r.text[len] = '\0';
    r.done = rsock_now();
    rsock_close(s);
    sscanf(r.text, "HTTP/1.1 %d", &r.status);
    char *end = strstr(r.text, "\r\n\r\n");
    r.body = end ? end + 4 : "";
    return r;
}

static void test_serve_answers(void)
{
    metrics_opened(metrics_for("served", "b"));
    CHECK_STR(metrics_address(), "");
    REQUIRE(metrics_serve("127.0.0.1:0") == 0);
    CHECK(strncmp(metrics_address(), "127.0.0.1:", 10) == 0);
    CHECK(strcmp(metrics_address(), "127.0.0.1:0") != 0);
    CHECK_EQ(metrics_serve("127.0.0.1:0"), -EBUSY);

    struct reply r = http("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.text, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    CHECK(strstr(r.text, "\r\nConnection: close\r\n"));
    char want[64];
    snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", strlen(r.body));
    CHECK(strstr(r.text, want));
    CHECK_SERIES(r.body, "rsock_proxy_connections_open{listener=\"served\",backend=\"b\"}", 1);
    free(r.text);

    r = http("GET /metrics?name[]=up HTTP/1.0\n\n"); /* a query, bare newlines, HTTP/1.0 */
    CHECK_EQ(r.status, 200);
    free(r.text);
    r = http("GET / HTTP/1.1\r\n\r\n");
    CHECK_EQ(r.status, 404);
    free(r.text);
    r = http("GET /metricsX HTTP/1.1\r\n\r\n");
    CHECK_EQ(r.status, 404);
    free(r.text);
    r = http("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    CHECK_EQ(r.status, 405);
    CHECK(strstr(r.text, "\r\nAllow: GET\r\n"));
    free(r.text);
    r = http("HEAD /metrics HTTP/1.1\r\n\r\n");
    CHECK_EQ(r.status, 405);
    free(r.text);
    const char *bad[] = {"hello\r\n\r\n",
                         "GET /metrics\r\n\r\n",
                         "GET /metrics HTTP/2.0\r\n\r\n",
                         "get /metrics HTTP/1.1\r\n\r\n",
                         "GET  /metrics HTTP/1.1\r\n\r\n",
                         "GET /metrics HTTP/1.1 x\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = http(bad[i]);
        if (r.status != 400)
            CHECK_FAIL_("\"%.20s\": status %d, want 400", bad[i], r.status);
        free(r.text);
    }
    /* a head that never ends within the limit */
    char *huge = malloc(20000);
    memset(huge, 'a', 19999);
    memcpy(huge, "GET /metrics HTTP/1.1\r\nX: ", 26);
    huge[19999] = '\0';
    r = http(huge);
    CHECK_EQ(r.status, 400);
    free(r.text);
    free(huge);
    metrics_end();
    CHECK_STR(metrics_address(), "");
}

static void test_serve_refusals(void)
{
    CHECK_ERR(metrics_serve(NULL), EINVAL, "rsock_listen_on");
    CHECK_ERR(metrics_serve("not an address"), EINVAL, "not an address");
    REQUIRE(metrics_serve("127.0.0.1:0") == 0);
    char taken[RSOCK_ADDRSTRLEN];
    snprintf(taken, sizeof taken, "%s", metrics_address());
    metrics_end();
    rsock_t *holder;
    REQUIRE(rsock_listen_on(taken, -1, &holder) == 0);
    CHECK_ERR(metrics_serve(taken), EADDRINUSE, taken);
    CHECK_STR(metrics_address(), "");
    rsock_close(holder);
}

/* A client that sends nothing holds only its own fiber: a second client
 * is answered meanwhile, and the silent one is closed at its deadline. */
static void test_slow_client_blocks_nobody(void)
{
    metrics_set_client_timeout(1000);
    REQUIRE(metrics_serve("127.0.0.1:0") == 0);
    rsock_t *slow;
    REQUIRE(rsock_dial(metrics_address(), rsock_after(5000), &slow) == 0);
    int64_t began = rsock_now();
    struct reply r = http("GET /metrics HTTP/1.1\r\n\r\n");
    CHECK_EQ(r.status, 200);
    char byte;
    CHECK_EQ(rsock_read(slow, &byte, 1, rsock_after(10000)), 0); /* closed, unanswered */
    int64_t closed = rsock_now();
    CHECK(r.done < closed);
    CHECK(closed - began >= 900);
    CHECK(closed - began < 5000);
    free(r.text);
    rsock_close(slow);
    metrics_end();
    metrics_set_client_timeout(5000);
}

/* Past METRICS_MAX_CLIENTS at once, a new client is closed unanswered (the
 * endpoint's descriptors stay bounded); metrics_end closes the silent
 * ones at once, long before their deadline. */
static void test_client_cap_and_end(void)
{
    metrics_set_client_timeout(20000);
    REQUIRE(metrics_serve("127.0.0.1:0") == 0);
    rsock_t *idle[METRICS_MAX_CLIENTS];
    for (int i = 0; i < METRICS_MAX_CLIENTS; i++)
        REQUIRE(rsock_dial(metrics_address(), rsock_after(5000), &idle[i]) == 0);
    struct reply r = http("GET /metrics HTTP/1.1\r\n\r\n");
    CHECK_EQ(r.status, 0);
    CHECK_STR(r.text, "");
    free(r.text);
    int64_t began = rsock_now();
    metrics_end();
    char byte;
    for (int i = 0; i < METRICS_MAX_CLIENTS; i++) {
        CHECK_EQ(rsock_read(idle[i], &byte, 1, rsock_after(5000)), 0);
        rsock_close(idle[i]);
    }
    CHECK(rsock_now() - began < 5000);
    metrics_set_client_timeout(5000);
}

/* ---- --serve: sample traffic for promtool and prometheus ---- */

static void fill_sample(void)
{
    const char *backends[] = {"127.0.0.1:8080", "[::1]:8081", "db.example:5432"};
    for (int i = 0; i < 3; i++) {
        struct traffic *t = metrics_for("web", backends[i]);
        for (int c = 0; c < 10 * (i + 1); c++) {
            metrics_opened(t);
            metrics_connected(t, 0.0001 * (c + 1));
            if (c % 4)
                metrics_closed(t, 0.5 * c, 1000 * c, 5000 * c, c % 8 == 1 ? END_RESET : END_EOF);
        }
        metrics_backend_up("web", backends[i], i != 2);
    }
    metrics_opened(metrics_for("odd \"name\" \\ with\nnewline \xff", "/run/app.sock"));
    metrics_refused("web", END_LIMIT);
    metrics_refused("web", END_NO_BACKEND);
    metrics_reloaded(true);
    metrics_reloaded(false);
}

static int serve_for(int seconds, const char *addr)
{
    fill_sample();
    if (metrics_serve(addr) < 0) {
        fprintf(stderr, "metrics_serve %s: %s\n", addr, rsock_error_message());
        return 1;
    }
    printf("serving %s\n", metrics_address());
    fflush(stdout);
    rsock_sleep(rsock_after((int64_t)seconds * 1000)); /* the loop serves meanwhile */
    metrics_end();
    return 0;
}

/* ---- --bench: what the per-connection calls cost ---- */

#define BENCH_ROUNDS 10

static void *bench_thread(void *t)
{
    for (int i = 0; i < BENCH_ROUNDS; i++)
        connections(t);
    return NULL;
}

/* THREADS threads each make the calls of 2 million connections on one pair (the
 * worst case: every thread on the same cache lines). */
static int bench(int threads)
{
    pthread_t th[64];
    threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    struct traffic *t = metrics_for("bench", "b");
    int64_t began = rsock_now();
    for (int i = 0; i < threads; i++)
        REQUIRE(pthread_create(&th[i], NULL, bench_thread, t) == 0);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double ns = (double)(rsock_now() - began) * 1e6 / (BENCH_ROUNDS * PER_THREAD);
    printf("%d thread%s on one pair: %.0f ns of metrics calls per connection (opened, connected, "
           "closed), per thread\n",
           threads, threads > 1 ? "s" : "", ns);
    metrics_end();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--serve") == 0)
        return serve_for(atoi(argv[2]), argc > 3 ? argv[3] : "127.0.0.1:0");
    if (argc >= 3 && strcmp(argv[1], "--bench") == 0)
        return bench(atoi(argv[2]));
    rsock_now();
    rsock_yield(); /* make the thread's loop before counting descriptors */
    int fds = check_fd_count();
    RUN(test_kind_names_and_results);
    RUN(test_one_pointer_per_pair);
    RUN(test_two_threads_sum);
    RUN(test_histogram_buckets);
    RUN(test_label_escaping);
    RUN(test_refusals_states_reloads);
    RUN(test_serve_answers);
    RUN(test_serve_refusals);
    RUN(test_slow_client_blocks_nobody);
    RUN(test_client_cap_and_end);
    metrics_end();
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
