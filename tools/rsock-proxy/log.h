/* rsock-proxy's log: lines on standard error, escaped, repeats summarized. */
#ifndef RSOCK_PROXY_LOG_H
#define RSOCK_PROXY_LOG_H

#include <rsock.h>

/* Lines of a level above this are not printed: -1 (-q) fatal errors only,
 * 0 the default, 1 (-v) each connection. */
void log_set_verbosity(int verbose);

/* Lines as text ("rsock-proxy: ...") or as one JSON object each. */
void log_set_json(bool json);

/* Print one line at `level` (-1: even under -q; 0: unless -q; 1: with -v).
 * Lines of levels below 1 are rate-limited per call site (per `fmt`). */
void log_line(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A state change (a backend up or down, a reload): always printed (unless
 * -q), never rate-limited; JSON lines carry "event": kind. */
void log_event(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The line when a connection closes (-v). */
struct access_record {
    const char *listener, *client, *backend; /* backend "-": none reached */
    int64_t ms;                              /* from accept to close */
    int64_t up, down;                        /* bytes client -> backend, back */
    long rtt_client_us, rtt_server_us;       /* TCP_INFO's; -1: not TCP */
    const char *end;                         /* how it ended: "eof", "reset", ... */
};
void log_access(const struct access_record *r);

/* Print the summary of every window that has ended (of all of them with
 * `all`); returns when the next one ends, a deadline, or -1. */
int64_t log_flush(bool all);

/* A fiber's body: prints each summary when its window ends, woken by the
 * first line a window holds back.  Returns when cancelled. */
void log_flusher(void *unused);

/* The channel log_flusher waits on: 0, or -ENOMEM. */
int log_init(void);
/* Free it (log_flusher has returned). */
void log_end(void);

#endif
