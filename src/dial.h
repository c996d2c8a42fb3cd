/* rsock_dial's race (dial.c), open to the tests: they hand it address
 * lists that no resolver would give, to see the timing rules at work. */
#ifndef RSOCK_DIAL_H
#define RSOCK_DIAL_H

#include "internal.h"

/* Connect to addrs[0..n) as rsock_dial does to a name's addresses, in the
 * order given (RFC 8305 timing: the next attempt RSOCK_DIAL_DELAY_MS after
 * the previous began, or at once when it failed; the first connected wins).
 * Messages name `text`.  0 and *out, or -errno (recorded). */
int rsock__dial_addrs(const char *text, const rsock_addr *addrs, size_t n, int64_t deadline,
                      rsock_t **out);

/* Happy Eyeballs order: IPv6 and IPv4 alternate, IPv6 first, each family
 * keeping the order of `in`; the rest of the longer family at the end. */
void rsock__dial_order(const rsock_addr *in, size_t n, rsock_addr *out);

#endif
