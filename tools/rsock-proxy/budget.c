/* --buffer-budget BYTES: a cap on the memory the relays hold.
 *
 * What a relaying connection holds, read from the library (src/io_copy.c,
 * src/io_pool.c; rsock_copy(3)): rsock_relay is one rsock_copy per
 * direction, and a copy holds bytes only while they are in flight, in ONE
 * of: a pipe (splice: 1 MiB asked with F_SETPIPE_SZ, at most
 * /proc/sys/fs/pipe-max-size, 1 MiB by default), or a block of its own when
 * its writer is blocked (16 KiB for a small leftover, else the 256 KiB
 * scratch block).  Worst case per connection:
 *     splice or adaptive:  2 directions x 1 MiB   = 2 MiB
 *     --no-splice:         2 directions x 256 KiB = 512 KiB
 * Per thread, whatever the connections, the copies' pool: the scratch
 * buffer (256 KiB) and the free blocks it keeps for reuse (4 x 256 KiB and
 * 32 x 16 KiB): 1.75 MiB.  (Its pooled pipes are empty: no pages.)
 *
 * The public API does not say what a copy holds at a given moment, so the
 * proxy counts at its level: each relaying connection is charged its worst
 * case, and
 *     (BYTES - threads x 1.75 MiB) / worst case   (at least 1)
 * connections relay at once.  The next ones wait before reaching a backend
 * (nothing read from them: their bytes stay in the kernel's socket buffer
 * and TCP's flow control slows their sender; nothing is dropped), on a
 * gate (gate.h), as slots.c does for --max-conns.  Kernel socket buffers are not counted (they are
 * the kernel's, sized by net.ipv4.tcp_rmem/wmem). */
#include "gate.h"
#include "proxy.h"

#include <errno.h>
#include <stdio.h>

#define MIB (1024L * 1024L)
#define PER_THREAD (7 * MIB / 4)

static struct gate budget; /* limit: connections that may relay at once; 0: no budget */

/* What one relaying connection may hold at most. */
static long per_connection(void)
{
    return cfg.copy_flags == RSOCK_COPY_BUFFER ? 2 * 256 * 1024L : 2 * MIB;
}

int budget_init(void)
{
    if (cfg.buffer_budget <= 0)
        return 0;
    long left = cfg.buffer_budget - (long)nworkers * PER_THREAD;
    long units = left / per_connection();
    if (units < 1)
        units = 1;
    log_line(0, "buffer budget %ld bytes: %ld connection%s relay at once (%ld KiB each at "
                "most, %ld KiB per thread)",
             cfg.buffer_budget, units, units == 1 ? "" : "s", per_connection() / 1024,
             PER_THREAD / 1024);
    int rc = gate_init(&budget, units, (size_t)nworkers + 64);
    if (rc < 0)
        fprintf(stderr, "rsock-proxy: --buffer-budget: %s\n", rsock_error_message());
    return rc;
}

int budget_take(void)
{
    if (budget.limit <= 0 || gate_try(&budget))
        return 0;
    log_line(0, "buffer budget full (%ld connections relaying): new connections wait",
             budget.limit);
    return gate_take(&budget);
}

void budget_release(void)
{
    if (budget.limit > 0)
        gate_give(&budget);
}
