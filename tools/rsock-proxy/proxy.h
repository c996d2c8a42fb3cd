/* rsock-proxy: what its files share.  The proxy is built on the public
 * header alone (rsock.h): it is an example of a complete server on rsock.
 *
 *   main.c        start: options, threads, the start line, the end
 *   config.c      the options (command line and file), config_file.c the file
 *   service.c     a generation: the listeners and pools of one config; reload
 *   pool.c        a listener's backends: balance, health state; resolve.c names
 *   health.c      active checks and re-resolution (fibers of thread 0)
 *   log.c         log lines: escaped, repeats summarized, text or JSON
 *   limits.c      the descriptor budget: how many connections fit
 *   slots.c       --max-conns: connection slots over all threads
 *   privs.c       --user, --chroot, --keep-cap: the drop after binding
 *   admit.c       --max-per-client, --rate-limit: a new connection's limits
 *   budget.c      --buffer-budget: connections that relay at once
 *   sockets.c     socket options of listeners and connections
 *   listener.c    a listening socket, and a Unix LOCAL's file
 *   acceptor.c    one thread's accept loop for one listener
 *   conn.c        one connection: pick a backend, reach it, relay, close
 *   worker.c      one thread: its loop, its listeners, its connections
 *   control.c     signals, reload and stopping
 *   stats.c       the counters and the summary line
 *   metrics.c     Prometheus metrics */
#ifndef RSOCK_PROXY_H
#define RSOCK_PROXY_H

#include "config.h"
#include "log.h"
#include "pool.h"

#include <pthread.h>
#include <rsock.h>
#include <sys/types.h>

struct generation;

/* One listener of a config, as running: its LOCAL and its pool. */
struct listener {
    struct generation *gen;
    const struct listener_config *lc;
    rsock_addr local;                  /* as bound by thread 0 (the real port) */
    char local_text[RSOCK_ADDRSTRLEN];
    struct pool *pool;
    struct traffic *traffic; /* metrics of connections refused before a backend */
    rsock_t *first;          /* thread 0's socket, bound when the generation was made */
    bool inherited;          /* systemd or fd:N: one socket, every thread accepts */
    int *copies;  /* inherited: thread i's descriptor of it (i > 0), -1 once taken */
};

/* The listeners and pools of one config.  Connections hold a reference
 * (through their listener), so a reload frees an old generation only when
 * its last connection ends. */
struct generation {
    struct proxy_config *config;
    bool owns_config;
    struct listener listeners[MAX_LISTENERS];
    int nlisteners;
    int refs;              /* atomic */
    rsock_group *checks;   /* thread 0: health checks and re-resolution */
    rsock_chan *adopted;   /* a reload's: a signal from each thread that serves it */
};

/* One listener on one thread. */
struct acceptor_slot {
    struct listener *l; /* replaced by a reload that keeps the LOCAL */
    rsock_t *sock;
    rsock_t *spare;     /* an upstream socket made before each accept */
    rsock_group *group; /* the acceptor */
    struct worker *w;
};

/* A connection whose socket to REMOTE waits for its TCP keepalive
 * (sockets.c): on its worker's list until armed or closed. */
struct keepalive_wait {
    struct keepalive_wait *prev, *next;
    rsock_t *sock;
    const struct proxy_config *config;
    bool listed;
};

/* One thread: a loop, its listeners, its connections. */
struct worker {
    int index;
    struct acceptor_slot slots[MAX_LISTENERS]; /* l NULL: a free one */
    struct generation *gen; /* the one its slots serve (a reference) */
    rsock_group *conns;     /* one member per connection */
    rsock_chan *reloads;    /* struct generation *: a new one to serve */
    struct keepalive_wait *unarmed; /* sockets.c: REMOTE sockets to arm */
    rsock_fiber *arming;            /* sockets.c: the fiber that arms them */
    bool arming_idle, arming_stop;  /* it sleeps with none listed; it ends */
    pthread_t thread;
    /* statistics, read by the summary from another thread; each worker's
     * on cache lines of its own (they change on every connection) */
    int64_t conns_total, active, up, down, errors;
} __attribute__((aligned(64)));

extern struct proxy_config cfg; /* the startup config: process-wide settings */
extern struct worker *workers;
extern int nworkers;
extern long max_conns_asked; /* --max-conns as said (fit_fd_limit may lower cfg's) */
extern int saved_argc;
extern char **saved_argv;

#define STAT_ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* limits.c: cap cfg.max_conns to what the descriptor limit holds (and copy
 * through the buffer only if pooled pipes would crowd connections out). */
void fit_fd_limit(void);

/* slots.c: --max-conns over all threads. */
int slots_init(void);
void slots_end(void);
int slot_wait(void);     /* 0: a slot is ours; -ECANCELED (the proxy stops) */
void slot_release(void); /* give one back, waking an acceptor parked for it */

/* privs.c: main calls privs_drop once the threads are started (every one
 * parks in privs_thread_gate, between binding and serving): --chroot,
 * --user, --keep-cap, checked in /proc/self/status; exits (said) when
 * anything is not as asked.  A root without --user is warned. */
int privs_drop(void);
void privs_thread_gate(void);         /* a worker thread, before its loop */
void privs_note_bind_failure(int rc); /* after a bind's failure: -EACCES explained */

/* admit.c: true to serve a client of l (peer: its address, the PROXY
 * header's if any); false with *why when over --max-per-client or
 * --rate-limit.  Each true is followed by one admit_done at the end. */
bool admit(struct listener *l, const rsock_addr *peer, const char **why);
void admit_done(struct listener *l, const rsock_addr *peer);
/* A connection taken over live (admitted by the old process): counted in
 * --max-per-client as an admitted one, never refused (it is mid-stream);
 * followed by one admit_done too.  No --rate-limit token: it is not new. */
void admit_count(struct listener *l, const rsock_addr *peer);

/* budget.c: --buffer-budget, connections that relay at once. */
int budget_init(void);     /* after fit_fd_limit: 0, or -errno (said) */
int budget_take(void);     /* 0: may relay (waits for it); -ECANCELED */
void budget_release(void); /* after the relay */

/* sockets.c */
void apply_sockopts(const struct proxy_config *c, rsock_t *s, int where);
void set_stream_options(const struct proxy_config *c, rsock_t *s); /* NODELAY, keepalive */
int upstream_socket(const struct proxy_config *c, int family, rsock_t **out); /* NODELAY */
/* --keepalive on a connected socket to REMOTE, armed by the worker within
 * KEEPALIVE_ARM_MS unless dropped first (a short connection never pays
 * the four setsockopt(2)); drop it before closing the socket. */
#define KEEPALIVE_ARM_MS 500
void keepalive_later(struct worker *w, struct keepalive_wait *k, rsock_t *s,
                     const struct proxy_config *c);
void keepalive_drop(struct worker *w, struct keepalive_wait *k);
int keepalive_start(struct worker *w); /* its fiber; 0 or -errno */
void keepalive_end(struct worker *w);  /* when no connection is left */
void reset_on_close(rsock_t *s); /* SO_LINGER 0: the close sends a reset */

/* listener.c */
int open_listener(const struct listener *l, const rsock_addr *at, bool reuseport,
                  rsock_t **out);     /* 0, or -errno (said) */
void remove_local_paths(void);        /* at exit: our Unix sockets */
void forget_local_paths(void);        /* a takeover: the new process's now */
void keep_local_path(const rsock_addr *a); /* a takeover: a Unix LOCAL now ours */
/* The directory `path` is in, opened as a handle (O_PATH) that still
 * finds it after a chroot, and the last component to `name`: -1 (errno)
 * when the directory cannot be opened. */
int open_parent(const char *path, char *name, size_t size);
/* --user, before the drop: the socket files become the user's; the path of
 * one the user could not remove at exit (its directory), or NULL. */
void give_local_paths(uid_t uid, gid_t gid);
const char *local_path_kept_from(uid_t uid, const gid_t *groups, int ngroups);

/* service.c */
extern struct generation *current; /* thread 0's: the newest */
int generation_new(struct proxy_config *c, bool owns, const struct generation *old,
                   struct generation **out);
/* The inherited sockets of g's new listeners: a descriptor for each thread
 * but 0 (which takes `first`); 0, or -errno (said). */
int generation_share(struct generation *g);
void generation_get(struct generation *g);
void generation_put(struct generation *g);
/* g's listener that continues `lc` of another generation: the same LOCAL
 * text and, when several of g's listeners have that text (port 0 said
 * twice), the same name.  NULL: none. */
struct listener *generation_find(const struct generation *g, const struct listener_config *lc);
int service_reload(void); /* thread 0: re-read the config; 0 or -errno (logged) */

/* health.c: thread 0's fibers for g's pools (in g->checks). */
int checks_start(struct generation *g);

/* acceptor.c: a member of slot->group. */
void acceptor(void *slot);

/* conn.c: serve client (accepted on l, with the prepared upstream socket)
 * as a member of w->conns; on failure closes both and frees the slot. */
void conn_start(struct worker *w, struct listener *l, rsock_t *client, const rsock_addr *peer,
                rsock_t *server);
/* A connection taken over live (takeover.c), relayed by w from here; peer:
 * the client the old process counted (its PROXY header's), NULL for the
 * socket's own peer.  0, or -errno (the caller closes both). */
int conn_resume(struct worker *w, struct listener *l, rsock_t *client, rsock_t *server,
                const rsock_addr *peer, const rsock_relay_stats *before);

/* worker.c */
int worker_start(struct worker *w); /* this thread: listeners, acceptors, steward */
void *worker_thread(void *worker);  /* another thread: as above, then its loop */
void worker_publish(struct generation *g); /* every thread serves g from now on */

/* control.c */
int control_init(void);      /* signal handlers, the stop and drained channels */
int control_start(void);     /* thread 0: the fibers reading signals and flushing the log */
rsock_chan *control_stop_chan(void); /* done when the proxy stops */
/* Thread 0: stop accepting everywhere; with `drain`, the open connections
 * have no grace limit (the control socket's drain, a takeover). */
void control_stop(bool drain);
bool control_stopping(void);
bool control_draining(void);
void control_drained(void);  /* a thread's connections have all ended */
void control_wait_end(void); /* main: park until every thread drained */
void control_end(void);
_Noreturn void exit_now(void);

/* stats.c */
struct totals {
    int64_t conns, active, up, down, errors;
};
void stats_total(struct totals *t); /* summed over every thread, now */
void print_summary(const char *when);
/* A fiber of thread 0: STATUS= with the counters every 10 s while
 * NOTIFY_SOCKET is set (systemctl status shows it); returns when cancelled. */
void status_reporter(void *unused);

#endif
