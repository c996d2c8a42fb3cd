/* The summary line: counters summed over every thread.  A connection adds
 * its bytes when it ends (rsock_relay reports them then), so bytes_up and
 * bytes_down count finished connections; connections and active are live. */
#include "proxy.h"
#include "notify.h"

#include <stdio.h>

void print_summary(const char *when)
{
    int64_t conns = 0, active = 0, up = 0, down = 0, errors = 0;
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        conns += STAT_GET(w->conns_total);
        active += STAT_GET(w->active);
        up += STAT_GET(w->up);
        down += STAT_GET(w->down);
        errors += STAT_GET(w->errors);
    }
    notify_status("%s: connections=%lld active=%lld bytes_up=%lld bytes_down=%lld errors=%lld",
                  when, (long long)conns, (long long)active, (long long)up, (long long)down,
                  (long long)errors);
    log_flush(true);
    if (cfg.verbose >= 0)
        fprintf(stderr,
                "rsock-proxy: %s: connections=%lld active=%lld bytes_up=%lld bytes_down=%lld "
                "errors=%lld\n",
                when, (long long)conns, (long long)active, (long long)up, (long long)down,
                (long long)errors);
    fflush(stderr);
}
