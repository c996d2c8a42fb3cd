/* rsock-proxy's log.  Two defences:
 * - every byte of a line that is not printable ASCII is written as \xNN: a
 *   client-chosen Unix socket name or any other untrusted text can neither
 *   forge a line nor send an escape sequence to a terminal ('\\' stays, as
 *   in rsock_addr_format's escapes, which then read the same);
 * - a message (one call site) prints at most LOG_BURST lines per window of
 *   LOG_WINDOW_MS; the rest are counted and summarized when the window ends:
 *   "repeated 4312 times in 5 s: <the last one>".  A dead REMOTE under load
 *   otherwise writes tens of thousands of lines a second.  (Lines asked for
 *   one by one, -v's, are not limited.)
 * Lines come from every thread; the summaries are printed by one fiber,
 * log_flusher, which sleeps on a channel until a window holds a line back. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_LINE 1024
#define LOG_BURST 5
#define LOG_WINDOW_MS 5000
#define LOG_SITES 32

struct log_site {
    const char *fmt; /* the message's format: one per call site */
    int64_t window_start;
    long printed, repeats; /* lines in this window: printed, held back */
    char last[LOG_LINE];   /* the last line held back, escaped */
};

static struct {
    pthread_mutex_t lock; /* lines come from every thread */
    struct log_site sites[LOG_SITES];
    int nsites;
    int64_t next_due; /* earliest end of a window with repeats; -1: none */
} logs = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_due = -1};

static int verbosity;
static bool json_lines;
static rsock_chan *held_back; /* signals: a window has started holding lines back */

void log_set_verbosity(int verbose)
{
    verbosity = verbose;
}

void log_set_json(bool json)
{
    json_lines = json;
}

/* `in` with every byte outside printable ASCII as \xNN. */
static void escape(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < size; p++) {
        if (*p >= 0x20 && *p < 0x7f) {
            out[o++] = (char)*p;
            continue;
        }
        out[o++] = '\\', out[o++] = 'x', out[o++] = hex[*p >> 4], out[o++] = hex[*p & 15];
    }
    out[o] = 0;
}

/* `in` (escaped already: printable ASCII) as a JSON string's contents. */
static void json_escape(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (; *in && o + 3 < size; in++) {
        if (*in == '"' || *in == '\\')
            out[o++] = '\\';
        out[o++] = *in;
    }
    out[o] = 0;
}

/* The time now, ISO 8601 UTC with milliseconds. */
static void timestamp(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* One line out (the lock held): text, or {"time", "event", "message"}. */
static void emit(const char *event, const char *line)
{
    if (!json_lines) {
        fprintf(stderr, "rsock-proxy: %s\n", line);
        return;
    }
    char when[40], message[2 * LOG_LINE];
    timestamp(when, sizeof when);
    json_escape(line, message, sizeof message);
    fprintf(stderr, "{\"time\":\"%s\",\"event\":\"%s\",\"message\":\"%s\"}\n", when,
            event, message);
}

static struct log_site *site_of(const char *fmt)
{
    for (int i = 0; i < logs.nsites; i++)
        if (logs.sites[i].fmt == fmt)
            return &logs.sites[i];
    if (logs.nsites == LOG_SITES)
        return NULL; /* more call sites than the table: not rate-limited */
    struct log_site *s = &logs.sites[logs.nsites++];
    s->fmt = fmt;
    return s;
}

/* Print the summary of a window that held lines back; start a new one. */
static void close_window(struct log_site *s, int64_t now)
{
    if (s->repeats > 0) {
        int64_t end = now < s->window_start + LOG_WINDOW_MS ? now : s->window_start + LOG_WINDOW_MS;
        char line[LOG_LINE + 64];
        snprintf(line, sizeof line, "repeated %ld times in %lld s: %s", s->repeats,
                 (long long)((end - s->window_start + 999) / 1000), s->last);
        emit("log", line);
    }
    s->window_start = now;
    s->printed = s->repeats = 0;
}

static void update_due(void)
{
    logs.next_due = -1;
    for (int i = 0; i < logs.nsites; i++) {
        struct log_site *s = &logs.sites[i];
        int64_t due = s->window_start + LOG_WINDOW_MS;
        if (s->repeats > 0 && (logs.next_due < 0 || due < logs.next_due))
            logs.next_due = due;
    }
}

int64_t log_flush(bool all)
{
    int64_t now = rsock_now();
    pthread_mutex_lock(&logs.lock);
    for (int i = 0; i < logs.nsites; i++) {
        struct log_site *s = &logs.sites[i];
        if (s->repeats > 0 && (all || now >= s->window_start + LOG_WINDOW_MS))
            close_window(s, now);
    }
    update_due();
    int64_t due = logs.next_due;
    pthread_mutex_unlock(&logs.lock);
    fflush(stderr);
    return due;
}

/* Print `line` (escaped) for call site `fmt`, or hold it back; true when
 * this is the first line held back in its window.  `fmt` NULL: no limit. */
static bool print_or_hold(const char *fmt, const char *line)
{
    int64_t now = rsock_now();
    bool first_held = false;
    pthread_mutex_lock(&logs.lock);
    struct log_site *s = fmt ? site_of(fmt) : NULL;
    if (s && now >= s->window_start + LOG_WINDOW_MS)
        close_window(s, now);
    if (!s || s->printed < LOG_BURST) {
        emit("log", line);
        if (s)
            s->printed++;
    } else {
        first_held = s->repeats++ == 0;
        snprintf(s->last, sizeof s->last, "%s", line);
        if (first_held)
            update_due();
    }
    pthread_mutex_unlock(&logs.lock);
    return first_held;
}

/* The line fmt makes, escaped, into line[LOG_LINE]. */
static void format_escaped(char *line, const char *fmt, va_list ap)
{
    char raw[LOG_LINE];
    vsnprintf(raw, sizeof raw, fmt, ap);
    escape(raw, line, LOG_LINE);
}

void log_line(int level, const char *fmt, ...)
{
    if (verbosity < level)
        return;
    char line[LOG_LINE];
    va_list ap;
    va_start(ap, fmt);
    format_escaped(line, fmt, ap);
    va_end(ap);
    /* The flusher learns of a new due time; when a signal is queued
     * already (the send times out) it will see this one too. */
    if (print_or_hold(level < 1 ? fmt : NULL, line) && held_back)
        rsock_chan_send(held_back, NULL, 0);
}

void log_event(const char *kind, const char *fmt, ...)
{
    if (verbosity < 0)
        return;
    char line[LOG_LINE];
    va_list ap;
    va_start(ap, fmt);
    format_escaped(line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&logs.lock);
    emit(kind, line);
    pthread_mutex_unlock(&logs.lock);
}

static void access_text(const struct access_record *r, char *out, size_t size)
{
    char rc[24] = "-", rs[24] = "-";
    if (r->rtt_client_us >= 0)
        snprintf(rc, sizeof rc, "%ld us", r->rtt_client_us);
    if (r->rtt_server_us >= 0)
        snprintf(rs, sizeof rs, "%ld us", r->rtt_server_us);
    snprintf(out, size,
             "%s closed after %lld.%03lld s: %lld bytes up, %lld down, rtt client %s, server %s, "
             "ended by %s (listener %s, backend %s)",
             r->client, (long long)(r->ms / 1000), (long long)(r->ms % 1000), (long long)r->up,
             (long long)r->down, rc, rs, r->end, r->listener, r->backend);
}

static void access_json(const struct access_record *r, char *out, size_t size)
{
    char when[40], l[LOG_LINE], c[LOG_LINE], b[LOG_LINE], el[LOG_LINE], ec[LOG_LINE],
        eb[LOG_LINE];
    timestamp(when, sizeof when);
    escape(r->listener, el, sizeof el), json_escape(el, l, sizeof l);
    escape(r->client, ec, sizeof ec), json_escape(ec, c, sizeof c);
    escape(r->backend, eb, sizeof eb), json_escape(eb, b, sizeof b);
    snprintf(out, size,
             "{\"time\":\"%s\",\"event\":\"close\",\"listener\":\"%s\",\"client\":\"%s\","
             "\"backend\":\"%s\",\"duration_ms\":%lld,\"bytes_up\":%lld,\"bytes_down\":%lld,"
             "\"rtt_client_us\":%ld,\"rtt_server_us\":%ld,\"end\":\"%s\"}",
             when, l, c, b, (long long)r->ms, (long long)r->up, (long long)r->down,
             r->rtt_client_us, r->rtt_server_us, r->end);
}

void log_access(const struct access_record *r)
{
    char line[4 * LOG_LINE], safe[4 * LOG_LINE];
    if (json_lines) {
        access_json(r, line, sizeof line);
        pthread_mutex_lock(&logs.lock);
        fprintf(stderr, "%s\n", line);
        pthread_mutex_unlock(&logs.lock);
        return;
    }
    access_text(r, line, sizeof line);
    escape(line, safe, sizeof safe);
    pthread_mutex_lock(&logs.lock);
    emit("close", safe);
    pthread_mutex_unlock(&logs.lock);
}

void log_flusher(void *unused)
{
    (void)unused;
    for (;;) {
        int rc = rsock_chan_recv(held_back, NULL, log_flush(false));
        if (rc < 0 && rc != -ETIMEDOUT)
            return; /* cancelled: the proxy is stopping */
    }
}

int log_init(void)
{
    return rsock_chan_new(0, 1, &held_back);
}

void log_end(void)
{
    rsock_chan_free(held_back);
    held_back = NULL;
}
