/* rsock-proxy's transparent mode (rsock-proxy(1), "Transparent mode").
 *
 * REDIRECT: an nftables `redirect` sends connections for any destination to
 * the listener; each is relayed to where its client was going, read from
 * the kernel (SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST).  TPROXY (--transparent):
 * an IP_TRANSPARENT listener takes connections an nftables `tproxy` rule
 * hands it, each with the original destination as its own local address;
 * with --spoof-source the backend sees the client's address, not ours. */
#ifndef RSOCK_PROXY_TRANSPARENT_H
#define RSOCK_PROXY_TRANSPARENT_H

#include "proxy.h"

/* IP_TRANSPARENT (IPV6_TRANSPARENT) on a listener, before its bind:
 * 0, or -errno (-EPERM without CAP_NET_ADMIN; rsock's message says). */
int transparent_listener(rsock_t *s);

/* The original destination of `client`, accepted on `l` from `peer`, as a
 * server of its own (in no pool; server_release frees it): the redirect's
 * SO_ORIGINAL_DST, or for a --transparent listener the connection's own
 * local address.  0, or -errno with a line logged: -ELOOP when that is
 * l's own address (a client that came straight to the proxy: relaying it
 * would connect the proxy to itself), the kernel's when it has none. */
int original_server(const struct listener *l, rsock_t *client, const rsock_addr *peer,
                    struct server **out);

/* --spoof-source: `s`, a socket not yet connected, binds to the client's
 * address (port 0: the kernel picks, so two connections of one client to
 * one destination never clash) with IP_TRANSPARENT.  0, or -errno
 * (the family mismatch logged; rsock's message says the rest). */
int spoof_source(rsock_t *s, const rsock_addr *peer);

#endif
