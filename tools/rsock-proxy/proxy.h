/* rsock-proxy: what its files share.  The proxy is built on the public
 * header alone (rsock.h): it is an example of a complete server on rsock.
 *
 *   main.c      start: options, addresses, threads, the start line, the end
 *   config.c    the command line
 *   log.c       log lines: escaped, repeats summarized
 *   limits.c    the descriptor budget: how many connections fit
 *   slots.c     --max-conns: connection slots over all threads
 *   sockets.c   socket options of listeners and connections
 *   listener.c  the listening socket, and a Unix LOCAL's file
 *   acceptor.c  one thread's accept loop
 *   conn.c      one connection: reach REMOTE, relay both ways, close
 *   worker.c    one thread: its loop, its groups, its steward
 *   control.c   signals, and stopping: a channel every thread waits on
 *   stats.c     the counters and the summary line */
#ifndef RSOCK_PROXY_H
#define RSOCK_PROXY_H

#include "config.h"
#include "log.h"

#include <pthread.h>
#include <rsock.h>

/* One thread: a loop, a listener, its fibers in two groups. */
struct worker {
    int index;
    rsock_t *listener;
    rsock_t *spare;         /* an upstream socket made before each accept */
    rsock_group *accepting; /* the acceptor */
    rsock_group *conns;     /* one member per connection */
    pthread_t thread;
    /* statistics, read by the summary from another thread; each worker's
     * on cache lines of its own (they change on every connection) */
    int64_t conns_total, active, up, down, errors;
} __attribute__((aligned(64)));

extern struct proxy_config cfg;
extern rsock_addr remote_addr, local_addr;
extern char local_text[RSOCK_ADDRSTRLEN]; /* LOCAL as bound (the real port) */
extern struct worker *workers;
extern int nworkers;

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

/* sockets.c */
void apply_sockopts(rsock_t *s, int where); /* the --sockopt for ON_* */
void set_stream_options(rsock_t *s);        /* TCP_NODELAY and keepalive */
int upstream_socket(rsock_t **out);         /* a socket for REMOTE, options set */
void reset_on_close(rsock_t *s);            /* SO_LINGER 0: the close sends a reset */

/* listener.c */
int open_listener(struct worker *w, bool reuseport); /* 0, or -errno (said) */
void remove_local_path(void);                        /* at exit: our Unix socket */

/* acceptor.c: a member of w->accepting. */
void acceptor(void *worker);

/* conn.c: serve client (accepted, with the prepared upstream socket) as a
 * member of w->conns; on failure closes both and frees the slot. */
void conn_start(struct worker *w, rsock_t *client, const rsock_addr *peer, rsock_t *server);

/* worker.c */
int worker_start(struct worker *w); /* this thread: groups, acceptor, steward */
void *worker_thread(void *worker);  /* another thread: listener, then as above */
void worker_stop(struct worker *w); /* the steward's shutdown of one thread */
void worker_end(struct worker *w);  /* free what worker_start made */

/* control.c */
int control_init(void);      /* signal handlers, the stop and drained channels */
int control_start(void);     /* thread 0: the fibers reading signals and flushing the log */
int control_wait_stop(void); /* park until the proxy stops: -EPIPE */
void control_drained(void);  /* a thread's connections have all ended */
void control_wait_end(void); /* main: park until every thread drained */
void control_end(void);
_Noreturn void exit_now(void);

/* stats.c */
void print_summary(const char *when);

#endif
