/* The summary line: counters summed over every thread.  A connection adds
 * its bytes when it ends (rsock_relay reports them then), so bytes_up and
 * bytes_down count finished connections; connections and active are live.
 * Under systemd the same counters are the service's STATUS= line. */
#include "proxy.h"
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>

#define STATUS_EVERY_MS 10000

void stats_total(struct totals *t)
{
    *t = (struct totals){0};
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        t->conns += STAT_GET(w->conns_total);
        t->active += STAT_GET(w->active);
        t->up += STAT_GET(w->up);
        t->down += STAT_GET(w->down);
        t->errors += STAT_GET(w->errors);
    }
}

#define TOTALS_FMT "connections=%lld active=%lld bytes_up=%lld bytes_down=%lld errors=%lld"
#define TOTALS_ARGS(t)                                                                             \
    (long long)(t).conns, (long long)(t).active, (long long)(t).up, (long long)(t).down,          \
        (long long)(t).errors

void print_summary(const char *when)
{
    struct totals t;
    stats_total(&t);
    notify_status("%s: " TOTALS_FMT, when, TOTALS_ARGS(t));
    log_flush(true);
    log_event("summary", "%s: " TOTALS_FMT, when, TOTALS_ARGS(t)); /* not under -q */
    fflush(stderr);
}

void status_reporter(void *unused)
{
    (void)unused;
    if (!getenv("NOTIFY_SOCKET"))
        return; /* no service manager listens */
    struct totals t;
    while (rsock_sleep(rsock_after(STATUS_EVERY_MS)) == 0) {
        stats_total(&t);
        notify_status(TOTALS_FMT, TOTALS_ARGS(t));
    }
}
