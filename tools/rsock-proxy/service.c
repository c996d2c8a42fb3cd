/* Generations: the listeners and pools one config makes, and reload.
 *
 * A reload (SIGHUP) reads the config again into a new generation: its
 * pools are resolved and a LOCAL it adds is bound on thread 0 before
 * anything changes, so a bad file or an address in use is refused whole
 * and the old generation keeps serving.  Then every thread is sent the new
 * generation: its acceptors of a LOCAL that stays keep their sockets and
 * take the new listener; a LOCAL that went is closed; a new one opened.
 * The reload is said done ("reloaded", READY=1, the metric, the control
 * socket's "ok") once every thread has taken it: from then on, no new
 * connection is served by the old config.
 * Open connections keep the generation they started in, to their end. */
#include "proxy.h"
#include "ctl.h"
#include "metrics.h"
#include "activation.h"
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct generation *current;

void generation_get(struct generation *g)
{
    __atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
}

static void generation_free(struct generation *g)
{
    for (int i = 0; i < g->nlisteners; i++) {
        pool_free(g->listeners[i].pool);
        rsock_close(g->listeners[i].first); /* still here when no thread took it */
        for (int k = 0; g->listeners[i].copies && k < nworkers; k++)
            if (g->listeners[i].copies[k] >= 0)
                close(g->listeners[i].copies[k]); /* a thread that never took it */
        free(g->listeners[i].copies);
    }
    rsock_chan_free(g->adopted);
    if (g->owns_config) {
        config_free(g->config);
        free(g->config);
    }
    free(g);
}

/* The last reference may go on any thread; the checks group is closed by
 * thread 0 when the generation is replaced (generation_retire). */
void generation_put(struct generation *g)
{
    if (g && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0)
        generation_free(g);
}

struct listener *generation_find(const struct generation *g, const struct listener_config *lc)
{
    struct listener *found = NULL;
    int same_local = 0;
    for (int i = 0; g && i < g->nlisteners; i++) {
        struct listener *l = (struct listener *)&g->listeners[i];
        if (strcmp(l->lc->local, lc->local))
            continue;
        if (!strcmp(l->lc->name, lc->name))
            return l;
        found = l, same_local++;
    }
    return same_local == 1 ? found : NULL;
}

/* An inherited socket is one socket for every thread: thread 0 accepts
 * on `first`, each other thread on a duplicate made here for it (and
 * taken by it: none is left over to hold the socket open once the
 * threads have closed theirs). */
static int share_inherited(struct listener *l)
{
    l->copies = malloc(sizeof(int) * (size_t)nworkers);
    int err = l->copies ? 0 : ENOMEM;
    for (int i = 0; l->copies && i < nworkers; i++)
        l->copies[i] = -1;
    for (int i = 1; !err && i < nworkers; i++)
        if ((l->copies[i] = fcntl(rsock_fd(l->first), F_DUPFD_CLOEXEC, 3)) < 0)
            err = errno;
    if (err)
        log_line(-1, "listener %s: LOCAL %s: a descriptor for each thread: %s", l->lc->name,
                 l->lc->local, strerror(err));
    return -err;
}

int generation_share(struct generation *g)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < g->nlisteners; i++)
        if (g->listeners[i].inherited && g->listeners[i].first && !g->listeners[i].copies)
            rc = share_inherited(&g->listeners[i]);
    return rc;
}

/* A LOCAL the old generation had keeps its address (the real port, when
 * it said port 0); a new one is parsed and bound here, on thread 0. */
static int place_listener(struct listener *l, const struct generation *old)
{
    const struct listener *kept = generation_find(old, l->lc);
    if (kept) {
        l->local = kept->local;
        l->inherited = kept->inherited;
    } else if (takeover_count(l->lc->local) > 0) { /* the old process's sockets */
        int rc = takeover_take(l->lc->local, 0, &l->first);
        if (rc <= 0)
            return rc < 0 ? rc : -EBADF;
        l->inherited = is_inherited_local(l->lc->local);
        rsock_getsockname(l->first, &l->local);
    } else if (is_inherited_local(l->lc->local)) {
        int rc = inherited_listeners(l->lc->local, &l->first, 1); /* said */
        if (rc < 0)
            return rc;
        l->inherited = true;
        rsock_getsockname(l->first, &l->local);
    } else {
        if (rsock_addr_parse(&l->local, l->lc->local) < 0) {
            log_line(-1, "listener %s: LOCAL %s: %s", l->lc->name, l->lc->local,
                     rsock_error_message());
            return -EINVAL;
        }
        int rc = open_listener(l, &l->local, true, &l->first);
        if (rc < 0)
            return rc;
        rsock_getsockname(l->first, &l->local);
    }
    rsock_addr_format(&l->local, l->local_text, sizeof l->local_text);
    return 0;
}

static int make_listener(struct generation *g, int i, const struct generation *old)
{
    struct listener *l = &g->listeners[i];
    l->gen = g;
    l->lc = &g->config->listeners[i];
    l->traffic = metrics_for(l->lc->name, "");
    int rc = pool_new(l->lc, &l->pool);
    return rc < 0 ? rc : place_listener(l, old);
}

int generation_new(struct proxy_config *c, bool owns, const struct generation *old,
                   struct generation **out)
{
    struct generation *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->config = c;
    g->owns_config = owns;
    g->refs = 1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < c->nlisteners; i++, g->nlisteners++)
        rc = make_listener(g, i, old);
    if (rc == 0 && nworkers > 0) /* a reload (at the start: once the threads are counted) */
        rc = generation_share(g);
    if (rc == 0)
        rc = checks_start(g);
    if (rc < 0) {
        g->owns_config = false; /* the caller's still */
        generation_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Options that only a restart changes: said when a reload would change them. */
static void note_restart_only(const struct proxy_config *now, const struct proxy_config *next)
{
    if (now->threads != next->threads || max_conns_asked != next->max_conns ||
        now->busy_poll_us != next->busy_poll_us)
        log_event("reload", "threads, max-conns and busy-poll change only at a restart");
}

#define ADOPT_MS 5000 /* a thread takes a generation in microseconds; signals wait meanwhile */

/* The threads that serve g (each steward adopted it), waited for: until
 * then a thread may still accept a connection for the old config, so the
 * reload is not said done before.  Fewer than all when the proxy stops
 * first (a stopping thread adopts nothing), after ADOPT_MS, or without the
 * channel (no memory). */
static int await_adoption(struct generation *g)
{
    rsock_chan_clause wait[2] = {{control_stop_chan(), RSOCK_CHAN_RECV, NULL},
                                 {g->adopted, RSOCK_CHAN_RECV, NULL}};
    int64_t deadline = rsock_after(ADOPT_MS);
    int n = 0;
    while (g->adopted && n < nworkers && rsock_chan_choose(wait, 2, deadline) == 1)
        n++;
    return n;
}

static void say_reloaded(const struct generation *g, int adopted)
{
    const char *s = g->nlisteners == 1 ? "" : "s";
    if (adopted == nworkers)
        log_event("reload", "reloaded: %d listener%s", g->nlisteners, s);
    else
        log_event("reload", "reloaded: %d listener%s (%d of %d threads took it%s)", g->nlisteners,
                  s, adopted, nworkers,
                  control_stopping() ? ": the proxy is stopping"
                  : g->adopted       ? " in 5 s"
                                     : ": no memory to wait for them");
}

/* A refusal of the file read again: a log line (JSON with --log-format json). */
static void reload_report(const char *text)
{
    log_event("reload", "%s", text);
}

int service_reload(void)
{
    struct proxy_config *next = malloc(sizeof *next);
    if (!next)
        return -ENOMEM;
    notify_reloading();
    config_reporter = reload_report;
    int rc = parse_config(next, saved_argc, saved_argv);
    config_reporter = NULL;
    struct generation *g = NULL;
    if (rc == 0)
        rc = generation_new(next, true, current, &g);
    if (rc != 0) {
        config_free(next);
        free(next);
        log_event("reload", "reload refused (the errors above): the old config keeps serving");
        metrics_reloaded(false);
        notify_ready();
        return rc < 0 ? rc : -EINVAL;
    }
    note_restart_only(current->config, next);
    rsock_group_close(current->checks); /* the old pools' checks end here */
    current->checks = NULL;
    rsock_chan_new(0, (size_t)nworkers, &g->adopted); /* NULL: said in the reload's line */
    generation_get(g); /* ours while we wait: a next reload may replace it meanwhile */
    worker_publish(g);
    generation_put(current);
    current = g;
    say_reloaded(g, await_adoption(g));
    generation_put(g);
    metrics_reloaded(true);
    notify_ready();
    return 0;
}
