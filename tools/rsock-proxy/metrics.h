/* rsock-proxy's metrics: counters per (listener, backend) pair, rendered
 * in Prometheus' text exposition format (version 0.0.4) and served at
 * GET /metrics by a fiber of the thread that calls metrics_serve.
 *
 * The per-connection calls (metrics_opened, _connected, _closed) take no
 * lock: each is a few relaxed atomic additions on the pair's counters, so
 * a connection's thread keeps the `struct traffic *` that metrics_for gave
 * (one lookup per backend when the config is loaded, not per connection).
 *
 *   metrics.c        the registry, the counters, the exposition text
 *   metrics_serve.c  the HTTP endpoint */
#ifndef RSOCK_PROXY_METRICS_H
#define RSOCK_PROXY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a connection ended, or why it was refused: the `kind` label of
 * rsock_proxy_errors_total and the word the close log line says. */
enum end_kind {
    END_EOF,          /* both streams ended cleanly: not an error */
    END_RESET,        /* a side reset or went away (-ECONNRESET, -EPIPE) */
    END_IDLE,         /* no byte either way for the idle timeout */
    END_TIMEOUT,      /* the backend did not answer the connect in time */
    END_REFUSED,      /* the backend refused the connect */
    END_UNREACHABLE,  /* no route to the backend, or its name does not resolve */
    END_SHUTDOWN,     /* cut by the proxy's own stop (grace period over) */
    END_PROXY_HEADER, /* a missing, malformed or late PROXY protocol header */
    END_NO_BACKEND,   /* every backend of the pool is down */
    END_LIMIT,        /* --max-conns or a rate limit */
    END_ERROR,        /* anything else (no memory, out of descriptors, ...) */
    END_KINDS
};

/* "eof", "reset", "idle", "timeout", "refused", "unreachable", "shutdown",
 * "proxy_header", "no_backend", "limit", "error"; "error" for a value out
 * of range.  Never NULL. */
const char *end_kind_name(enum end_kind k);

/* The kind of a relay's result (rsock_relay's return): 0 (or more) eof,
 * -ECONNRESET / -EPIPE reset, -ETIMEDOUT idle, -ECONNREFUSED refused,
 * -EHOSTUNREACH / -ENETUNREACH / -ENOENT ... unreachable, -ECANCELED
 * shutdown, anything else error. */
enum end_kind end_kind_of(int rc);

/* As end_kind_of, for a connect's result: -ETIMEDOUT is timeout (the
 * backend did not answer), not idle. */
enum end_kind end_kind_of_connect(int rc);

/* The counters of one (listener, backend) pair; opaque. */
struct traffic;

/* The pair's counters, made on the first call: a pointer that stays valid
 * until metrics_end (the same one for the same names).  Backend "" is the
 * listener's own: errors before a backend is chosen.  Thread-safe (takes
 * the registry's lock: call it when a config is loaded, not per
 * connection).  NULL only when out of memory (then every metrics_* call
 * taking a `struct traffic *` accepts NULL and does nothing). */
struct traffic *metrics_for(const char *listener, const char *backend);

/* A connection to this backend began: connections_total and
 * connections_open go up. */
void metrics_opened(struct traffic *t);

/* Its connect took `seconds`: an observation of connect_seconds. */
void metrics_connected(struct traffic *t, double seconds);

/* It closed after `seconds` with `up` bytes relayed client -> backend and
 * `down` backend -> client: connections_open goes down, an observation of
 * connection_duration_seconds, bytes_total, and errors_total{kind} when
 * `how` is not END_EOF.  One call per metrics_opened. */
void metrics_closed(struct traffic *t, double seconds, int64_t up, int64_t down, enum end_kind how);

/* A connection refused before any backend was chosen (limit, rate, no
 * backend up, a bad PROXY header): errors_total{listener, kind=why}.
 * Looks the listener up (the registry's lock). */
void metrics_refused(const char *listener, enum end_kind why);

/* As metrics_refused, on the counters metrics_for(listener, "") gave,
 * without the registry's lock: for the per-connection path.  NULL: no-op. */
void metrics_refused_at(struct traffic *own, enum end_kind why);

/* A backend's state from the health checks: backend_up 1 or 0.  A backend
 * never reported has no backend_up series. */
void metrics_backend_up(const char *listener, const char *backend, bool up);

/* The backend left the listener's pool (a reload, a name that now
 * resolves elsewhere): its backend_up series goes away (its counters stay,
 * as counters must).  Reporting it again brings the series back. */
void metrics_backend_gone(const char *listener, const char *backend);

/* A reload (SIGHUP) was applied (`ok`) or refused: reloads_total. */
void metrics_reloaded(bool ok);

/* The whole exposition text, NUL-terminated, in a malloc'd buffer to
 * *out (the caller frees it): returns its length.  0 and *out NULL when
 * out of memory. */
size_t metrics_render(char **out);

/* Serve GET /metrics on `addr_text` (rsock address text such as
 * "127.0.0.1:9100"; port 0: the kernel picks, metrics_address says which)
 * from fibers of the calling thread's loop: 200 with the exposition, 404
 * for another path, 405 for another method, 400 for a request that is
 * not HTTP/1.x; each answer closes its connection.  Each client is served
 * by a fiber of its own within a deadline (metrics_set_client_timeout), so
 * a slow client never holds up another.  Returns 0.  Errors: -EINVAL (NULL
 * or bad address text), -EBUSY (already serving), -ENOMEM, the kernel's
 * (-EADDRINUSE, ...); rsock_error_message() says which call failed. */
int metrics_serve(const char *addr_text);

/* Clients served at once; more are closed unanswered. */
#define METRICS_MAX_CLIENTS 64

/* How long a client may take to send its request and read the answer, in
 * milliseconds (default 5000; values under 1 are 1).  For the clients
 * accepted from now on. */
void metrics_set_client_timeout(int64_t ms);

/* The address being served, with the real port ("127.0.0.1:41235"); ""
 * when not serving. */
const char *metrics_address(void);

/* Stop serving (from the thread that called metrics_serve: its fibers are
 * cancelled and waited for) and free every counter: later metrics_for
 * calls start a new registry. */
void metrics_end(void);

/* metrics_serve.c's half of metrics_end. */
void metrics_serve_end(void);

#endif
