/* The control socket (--control PATH) and the takeover (--takeover PATH)
 * that talks to it.
 *
 * Protocol: one command per line, one answer line each:
 *   stats     {"connections":N,"active":N,"bytes_up":N,"bytes_down":N,"errors":N}
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
int takeover_take(const char *local, int index, rsock_t **out);
int takeover_count(const char *local);
void takeover_ready(void);

#endif
