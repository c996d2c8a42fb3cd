/* rsock-proxy's log.  Two defences, both in proxy_log():
 * - every byte of a line that is not printable ASCII is written as \xNN: a
 *   client-chosen Unix socket name or any other untrusted text can neither
 *   forge a line nor send an escape sequence to a terminal ('\\' stays, as
 *   in rsock_addr_format's escapes, which then read the same);
 * - a message (one call site) prints at most LOG_BURST lines per window of
 *   LOG_WINDOW_MS; the rest are counted and summarized when the window ends:
 *   "repeated 4312 times in 5 s: <the last one>".  A dead REMOTE under load
 *   otherwise writes tens of thousands of lines a second.  (Lines asked for
 *   one by one, -v's, are not limited.)
 * A header, not a .c file, because every .c file under tools/ is a program. */
#ifndef RSOCK_PROXY_LOG_H
#define RSOCK_PROXY_LOG_H

#include "rsock.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    int64_t next_due;      /* earliest end of a window with repeats; -1: none */
    void (*on_hold)(void); /* told when a window first holds a line back */
} proxy_logs = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_due = -1};

/* `in` with every byte outside printable ASCII as \xNN. */
static void log_escape(const char *in, char *out, size_t size)
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

static struct log_site *log_site_of(const char *fmt)
{
    for (int i = 0; i < proxy_logs.nsites; i++)
        if (proxy_logs.sites[i].fmt == fmt)
            return &proxy_logs.sites[i];
    if (proxy_logs.nsites == LOG_SITES)
        return NULL; /* more call sites than the table: not rate-limited */
    struct log_site *s = &proxy_logs.sites[proxy_logs.nsites++];
    s->fmt = fmt;
    return s;
}

/* Print the summary of a window that held lines back; start a new one. */
static void log_close_window(struct log_site *s, int64_t now)
{
    if (s->repeats > 0) {
        int64_t end = now < s->window_start + LOG_WINDOW_MS ? now : s->window_start + LOG_WINDOW_MS;
        fprintf(stderr, "rsock-proxy: repeated %ld times in %lld s: %s\n", s->repeats,
                (long long)((end - s->window_start + 999) / 1000), s->last);
    }
    s->window_start = now;
    s->printed = s->repeats = 0;
}

static void log_update_due(void)
{
    proxy_logs.next_due = -1;
    for (int i = 0; i < proxy_logs.nsites; i++) {
        struct log_site *s = &proxy_logs.sites[i];
        int64_t due = s->window_start + LOG_WINDOW_MS;
        if (s->repeats > 0 && (proxy_logs.next_due < 0 || due < proxy_logs.next_due))
            proxy_logs.next_due = due;
    }
}

/* Summarize every window that has ended (all of them with `all`).  Returns
 * when the next one ends (a deadline for rsock_read), or -1. */
static int64_t proxy_log_flush(bool all)
{
    int64_t now = rsock_now();
    pthread_mutex_lock(&proxy_logs.lock);
    for (int i = 0; i < proxy_logs.nsites; i++) {
        struct log_site *s = &proxy_logs.sites[i];
        if (s->repeats > 0 && (all || now >= s->window_start + LOG_WINDOW_MS))
            log_close_window(s, now);
    }
    log_update_due();
    int64_t due = proxy_logs.next_due;
    pthread_mutex_unlock(&proxy_logs.lock);
    fflush(stderr);
    return due;
}

/* Print `line` (escaped) for call site `fmt`, or hold it back; true when
 * this is the first line held back in its window.  `fmt` NULL: no limit. */
static bool log_line(const char *fmt, const char *line)
{
    int64_t now = rsock_now();
    bool first_held = false;
    pthread_mutex_lock(&proxy_logs.lock);
    struct log_site *s = fmt ? log_site_of(fmt) : NULL;
    if (s && now >= s->window_start + LOG_WINDOW_MS)
        log_close_window(s, now);
    if (!s || s->printed < LOG_BURST) {
        fprintf(stderr, "rsock-proxy: %s\n", line);
        if (s)
            s->printed++;
    } else {
        first_held = s->repeats++ == 0;
        snprintf(s->last, sizeof s->last, "%s", line);
        if (first_held)
            log_update_due();
    }
    pthread_mutex_unlock(&proxy_logs.lock);
    return first_held;
}

/* Log one line; `limited`: summarize its repeats. */
static void proxy_vlog(bool limited, const char *fmt, va_list ap)
{
    char raw[LOG_LINE], line[LOG_LINE];
    vsnprintf(raw, sizeof raw, fmt, ap);
    log_escape(raw, line, sizeof line);
    if (log_line(limited ? fmt : NULL, line) && proxy_logs.on_hold)
        proxy_logs.on_hold();
}

#endif
