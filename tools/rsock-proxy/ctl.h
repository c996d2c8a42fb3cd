/* The control socket (--control PATH) and the takeover (--takeover PATH)
 * that talks to it.
 *
 * Protocol: one command per line, one answer line each:
 *   stats     {"connections":N,"active":N,"bytes_up":N,"bytes_down":N,"errors":N,
 *             "thread_connections":[N,..]} (one count per thread)
 *   backends  {"listeners":[{"name":..,"local":..,"servers":[{"address":..,
 *             "from":..,"up":true,"active":N},..]},..]}
 *   reload    ok | error: ...
 *   drain     ok (stop accepting; exit once the open connections have ended)
 *   takeover  the listening sockets, then the handover (takeover.c)
 * Anything else: "error: ..." and the connection stays open. */
#ifndef RSOCK_PROXY_CTL_H
#define RSOCK_PROXY_CTL_H

#include <rsock.h>

/* Thread 0, before serving: bind the control socket at `path` (mode 0600,
 * checked) and start its fibers.  0, or -1 (said on stderr). */
int ctl_start(const char *path);
/* At the end: stop the fibers, close, remove the path while it is ours. */
void ctl_end(void);

/* takeover.c, the old process: the `takeover` command on `client` (its
 * reader holds what the client sent after the command). */
void takeover_give(rsock_t *client, rsock_reader *r);

/* takeover.c, the new process.  takeover_fetch (before the listeners are
 * made): connect to `path`, receive the old proxy's listening sockets.  0,
 * or -1 (said).  Then listeners whose LOCAL text the old one had adopt its
 * sockets: takeover_take gives socket `index` of LOCAL `local` (1; 0: none
 * left; -errno), takeover_count how many it passed for it.
 * takeover_ready (serving): tell the old one, which stops accepting. */
int takeover_fetch(const char *path);
/* The old process's live connections: the channel every relay stops on
 * (done once the new process is ready; NULL without --control: no relay
 * needs to stop); takeover_pass hands a stopped
 * connection's descriptors and counters, and the client it was counted as
 * (peer: its PROXY header's, if any), to the new process (0), or
 * -EPIPE when it cannot (the caller closes it as usual).  takeover_end
 * (main, once every thread has drained): send what is left, then "end". */
int takeover_init(void);
rsock_chan *takeover_handover_chan(void);
int takeover_pass(const char *local, rsock_t *client, rsock_t *server, const rsock_addr *peer,
                  const rsock_relay_stats *moved);
void takeover_end(void);
int takeover_take(const char *local, int index, rsock_t **out);
int takeover_count(const char *local);
void takeover_ready(void);

#endif
