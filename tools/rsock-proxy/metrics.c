/* The metrics' registry and counters, and their exposition text.
 *
 * A `struct traffic` per (listener, backend) pair, made once and kept to
 * the end: its counters are added to with relaxed atomics by whichever
 * thread serves the connection, and read the same way by the renderer (a
 * scrape sees each counter's latest value, not one instant of all).  The
 * registry's lock guards only the list (metrics_for, metrics_render).
 * Histograms keep one count per bucket (not cumulative, so an observation
 * is one addition) and their sum in microseconds (an integer, exact). */
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <rsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

/* A histogram's upper bounds, in microseconds and as the `le` label. */
struct bound {
    int64_t us;
    const char *le;
};

/* Connects: a loopback connect takes tens of microseconds, a distant
 * backend tens of milliseconds; past 10 s the connect timeout has struck. */
static const struct bound connect_bounds[] = {
    {100, "0.0001"},  {250, "0.00025"}, {500, "0.0005"},  {1000, "0.001"},
    {2500, "0.0025"}, {5000, "0.005"},  {10000, "0.01"},  {25000, "0.025"},
    {50000, "0.05"},  {100000, "0.1"},  {250000, "0.25"}, {500000, "0.5"},
    {1000000, "1"},   {2500000, "2.5"}, {5000000, "5"},   {10000000, "10"},
};
/* Durations: from one request (a millisecond) to a long-lived stream
 * (hours). */
static const struct bound duration_bounds[] = {
    {1000, "0.001"},        {10000, "0.01"},    {100000, "0.1"},    {500000, "0.5"},
    {1000000, "1"},         {5000000, "5"},     {10000000, "10"},   {30000000, "30"},
    {60000000, "60"},       {300000000, "300"}, {900000000, "900"}, {3600000000, "3600"},
    {14400000000, "14400"},
};
#define NBOUNDS(b) ((int)(sizeof(b) / sizeof(b)[0]))
#define MAX_BOUNDS 16
_Static_assert(NBOUNDS(connect_bounds) <= MAX_BOUNDS && NBOUNDS(duration_bounds) <= MAX_BOUNDS,
               "a histogram has more bounds than struct histogram holds");

struct histogram {
    int64_t count[MAX_BOUNDS + 1]; /* the last: over every bound (+Inf) */
    int64_t sum_us;
};

struct traffic {
    int64_t opened, open, up, down;
    int64_t errors[END_KINDS];
    struct histogram connect, duration;
    int backend_up; /* -1: never reported */
    char *listener, *backend;
    struct traffic *next;
} __attribute__((aligned(64))); /* pairs on cache lines of their own */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct traffic *pairs, **pairs_end = &pairs; /* in the order made */
static int64_t reloads_ok, reloads_failed;
static double start_time; /* seconds since the epoch */

__attribute__((constructor)) static void note_start_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    start_time = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const kind_names[END_KINDS] = {
    [END_EOF] = "eof",
    [END_RESET] = "reset",
    [END_IDLE] = "idle",
    [END_TIMEOUT] = "timeout",
    [END_REFUSED] = "refused",
    [END_UNREACHABLE] = "unreachable",
    [END_SHUTDOWN] = "shutdown",
    [END_PROXY_HEADER] = "proxy_header",
    [END_NO_BACKEND] = "no_backend",
    [END_LIMIT] = "limit",
    [END_ERROR] = "error",
};

const char *end_kind_name(enum end_kind k)
{
    return (unsigned)k < END_KINDS ? kind_names[k] : "error";
}

enum end_kind end_kind_of(int rc)
{
    switch (rc) {
    case -ECONNRESET:
    case -EPIPE:
    case -ECONNABORTED:
        return END_RESET;
    case -ETIMEDOUT:
        return END_IDLE;
    case -ECONNREFUSED:
        return END_REFUSED;
    case -EHOSTUNREACH:
    case -ENETUNREACH:
    case -EHOSTDOWN:
    case -ENETDOWN:
    case -EADDRNOTAVAIL:
    case -ENOENT: /* rsock_dial: the name does not resolve */
        return END_UNREACHABLE;
    case -ECANCELED:
        return END_SHUTDOWN;
    default:
        return rc >= 0 ? END_EOF : END_ERROR;
    }
}

enum end_kind end_kind_of_connect(int rc)
{
    return rc == -ETIMEDOUT ? END_TIMEOUT : end_kind_of(rc);
}

/* ---- the registry ---- */

static struct traffic *find_pair(const char *listener, const char *backend)
{
    for (struct traffic *t = pairs; t; t = t->next)
        if (strcmp(t->listener, listener) == 0 && strcmp(t->backend, backend) == 0)
            return t;
    return NULL;
}

static struct traffic *new_pair(const char *listener, const char *backend)
{
    struct traffic *t = aligned_alloc(64, (sizeof *t + 63) / 64 * 64);
    if (!t)
        return NULL;
    *t = (struct traffic){
        .backend_up = -1, .listener = strdup(listener), .backend = strdup(backend)};
    if (!t->listener || !t->backend) {
        free(t->listener);
        free(t->backend);
        free(t);
        return NULL;
    }
    return t;
}

struct traffic *metrics_for(const char *listener, const char *backend)
{
    listener = listener ? listener : "";
    backend = backend ? backend : "";
    pthread_mutex_lock(&registry_lock);
    struct traffic *t = find_pair(listener, backend);
    if (!t && (t = new_pair(listener, backend))) {
        *pairs_end = t;
        pairs_end = &t->next;
    }
    pthread_mutex_unlock(&registry_lock);
    return t;
}

/* ---- the per-connection counters: no lock ---- */

static void observe(struct histogram *h, const struct bound *b, int n, double seconds)
{
    /* NaN and negative times count as 0; absurd ones as over every bound */
    int64_t us = !(seconds > 0)  ? 0
                 : seconds < 1e9 ? (int64_t)(seconds * 1e6 + 0.5)
                                 : (int64_t)1e15;
    int i = 0;
    while (i < n && us > b[i].us)
        i++;
    ADD(h->count[i], 1);
    ADD(h->sum_us, us);
}

void metrics_opened(struct traffic *t)
{
    if (!t)
        return;
    ADD(t->opened, 1);
    ADD(t->open, 1);
}

void metrics_connected(struct traffic *t, double seconds)
{
    if (t)
        observe(&t->connect, connect_bounds, NBOUNDS(connect_bounds), seconds);
}

void metrics_closed(struct traffic *t, double seconds, int64_t up, int64_t down, enum end_kind how)
{
    if (!t)
        return;
    ADD(t->open, -1);
    observe(&t->duration, duration_bounds, NBOUNDS(duration_bounds), seconds);
    ADD(t->up, up > 0 ? up : 0);
    ADD(t->down, down > 0 ? down : 0);
    if (how != END_EOF)
        ADD(t->errors[(unsigned)how < END_KINDS ? how : END_ERROR], 1);
}

void metrics_refused_at(struct traffic *own, enum end_kind why)
{
    if (own)
        ADD(own->errors[(unsigned)why < END_KINDS && why != END_EOF ? why : END_ERROR], 1);
}

void metrics_refused(const char *listener, enum end_kind why)
{
    metrics_refused_at(metrics_for(listener, ""), why);
}

void metrics_backend_up(const char *listener, const char *backend, bool up)
{
    struct traffic *t = metrics_for(listener, backend);
    if (t)
        SET(t->backend_up, up ? 1 : 0);
}

void metrics_backend_gone(const char *listener, const char *backend)
{
    struct traffic *t = metrics_for(listener, backend);
    if (t)
        SET(t->backend_up, -1);
}

void metrics_reloaded(bool ok)
{
    ADD(*(ok ? &reloads_ok : &reloads_failed), 1);
}

/* ---- the exposition text ---- */

/* The length of the valid UTF-8 sequence at s, 0 if it is not one (the
 * format wants UTF-8; names from a config file may be any bytes). */
static size_t utf8_length(const unsigned char *s)
{
    size_t n = 0; /* the lead byte says how long the sequence is */
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    uint32_t cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* a NUL ends the loop here too */
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* A label value, escaped as the format says (\\, \", \n); a byte that is
 * not UTF-8 becomes U+FFFD. */
static void put_value(FILE *f, const char *value)
{
    for (const unsigned char *s = (const unsigned char *)value; *s;) {
        size_t n = utf8_length(s);
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (n == 0)
            fputs("\xef\xbf\xbd", f);
        else
            fwrite(s, 1, n, f);
        s += n ? n : 1;
    }
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP rsock_proxy_%s %s\n# TYPE rsock_proxy_%s %s\n", name, help, name, type);
}

/* name{listener="..",backend=".." (no closing brace: a caller may add) */
static void pair_series(FILE *f, const char *name, const struct traffic *t)
{
    fprintf(f, "rsock_proxy_%s{listener=\"", name);
    put_value(f, t->listener);
    fputs("\",backend=\"", f);
    put_value(f, t->backend);
    fputc('"', f);
}

/* The listener's own pair ("") counts only errors, unless it was used. */
static bool has_traffic(const struct traffic *t)
{
    return t->backend[0] || GET(t->opened) > 0;
}

static void render_counter(FILE *f, const char *name, const char *type, const char *help,
                           size_t offset)
{
    family(f, name, type, help);
    for (const struct traffic *t = pairs; t; t = t->next)
        if (has_traffic(t)) {
            pair_series(f, name, t);
            fprintf(f, "} %lld\n", (long long)GET(*(const int64_t *)((const char *)t + offset)));
        }
}

static void render_bytes(FILE *f)
{
    family(f, "bytes_total", "counter",
           "Bytes relayed, up (client to backend) and down (backend to client), counted "
           "when a connection closes.");
    for (const struct traffic *t = pairs; t; t = t->next)
        if (has_traffic(t)) {
            pair_series(f, "bytes_total", t);
            fprintf(f, ",direction=\"up\"} %lld\n", (long long)GET(t->up));
            pair_series(f, "bytes_total", t);
            fprintf(f, ",direction=\"down\"} %lld\n", (long long)GET(t->down));
        }
}

static void render_histogram(FILE *f, const char *name, const char *help, size_t offset,
                             const struct bound *b, int n)
{
    char bucket[64], sum[64], count[64];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    snprintf(sum, sizeof sum, "%s_sum", name);
    snprintf(count, sizeof count, "%s_count", name);
    family(f, name, "histogram", help);
    for (const struct traffic *t = pairs; t; t = t->next) {
        if (!has_traffic(t))
            continue;
        const struct histogram *h = (const struct histogram *)((const char *)t + offset);
        int64_t total = 0; /* cumulative, from one read of each bucket */
        for (int i = 0; i <= n; i++) {
            total += GET(h->count[i]);
            pair_series(f, bucket, t);
            fprintf(f, ",le=\"%s\"} %lld\n", i < n ? b[i].le : "+Inf", (long long)total);
        }
        int64_t us = GET(h->sum_us);
        pair_series(f, sum, t);
        fprintf(f, "} %lld.%06lld\n", (long long)(us / 1000000), (long long)(us % 1000000));
        pair_series(f, count, t);
        fprintf(f, "} %lld\n", (long long)total);
    }
}

static bool first_of_listener(const struct traffic *t)
{
    for (const struct traffic *o = pairs; o != t; o = o->next)
        if (strcmp(o->listener, t->listener) == 0)
            return false;
    return true;
}

/* errors_total per listener: every kind but eof, zeros included (so a
 * rate() has a series from the start), summed over the listener's pairs. */
static void render_errors(FILE *f)
{
    family(f, "errors_total", "counter",
           "Connections that ended in error or were refused, by listener and kind.");
    for (const struct traffic *t = pairs; t; t = t->next) {
        if (!first_of_listener(t))
            continue;
        for (int k = END_EOF + 1; k < END_KINDS; k++) {
            int64_t n = 0;
            for (const struct traffic *o = t; o; o = o->next)
                if (strcmp(o->listener, t->listener) == 0)
                    n += GET(o->errors[k]);
            fputs("rsock_proxy_errors_total{listener=\"", f);
            put_value(f, t->listener);
            fprintf(f, "\",kind=\"%s\"} %lld\n", kind_names[k], (long long)n);
        }
    }
}

static void render_backend_up(FILE *f)
{
    family(f, "backend_up", "gauge", "1 when the health checks say the backend is up, else 0.");
    for (const struct traffic *t = pairs; t; t = t->next) {
        int up = GET(t->backend_up);
        if (up >= 0) {
            pair_series(f, "backend_up", t);
            fprintf(f, "} %d\n", up);
        }
    }
}

static void render_process(FILE *f)
{
    family(f, "reloads_total", "counter", "Config reloads (SIGHUP), applied or refused.");
    fprintf(f, "rsock_proxy_reloads_total{result=\"ok\"} %lld\n", (long long)GET(reloads_ok));
    fprintf(f, "rsock_proxy_reloads_total{result=\"failed\"} %lld\n",
            (long long)GET(reloads_failed));
    family(f, "build_info", "gauge", "The rsock library the proxy runs on.");
    fputs("rsock_proxy_build_info{version=\"", f);
    put_value(f, rsock_version());
    fputs("\"} 1\n", f);
    /* the name every Prometheus client library gives it, so the usual
     * uptime queries work unchanged */
    fputs("# HELP process_start_time_seconds Start time of the process since unix epoch in "
          "seconds.\n# TYPE process_start_time_seconds gauge\n",
          f);
    fprintf(f, "process_start_time_seconds %.3f\n", start_time);
}

static void render_all(FILE *f)
{
    render_counter(f, "connections_total", "counter", "Connections made to a backend.",
                   offsetof(struct traffic, opened));
    render_counter(f, "connections_open", "gauge", "Connections to a backend open now.",
                   offsetof(struct traffic, open));
    render_bytes(f);
    render_errors(f);
    render_backend_up(f);
    render_histogram(f, "connect_seconds", "Time to connect to a backend.",
                     offsetof(struct traffic, connect), connect_bounds, NBOUNDS(connect_bounds));
    render_histogram(f, "connection_duration_seconds",
                     "Time from a backend connection's start to its close.",
                     offsetof(struct traffic, duration), duration_bounds, NBOUNDS(duration_bounds));
    render_process(f);
}

size_t metrics_render(char **out)
{
    size_t len = 0;
    *out = NULL;
    FILE *f = open_memstream(out, &len);
    if (!f)
        return 0;
    pthread_mutex_lock(&registry_lock);
    render_all(f);
    pthread_mutex_unlock(&registry_lock);
    if (ferror(f) | fclose(f)) {
        free(*out);
        *out = NULL;
        return 0;
    }
    return len;
}

void metrics_end(void)
{
    metrics_serve_end();
    pthread_mutex_lock(&registry_lock);
    for (struct traffic *t = pairs, *next; t; t = next) {
        next = t->next;
        free(t->listener);
        free(t->backend);
        free(t);
    }
    pairs = NULL;
    pairs_end = &pairs;
    SET(reloads_ok, 0);
    SET(reloads_failed, 0);
    pthread_mutex_unlock(&registry_lock);
}
