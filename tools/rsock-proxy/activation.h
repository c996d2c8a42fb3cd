/* Listening sockets the proxy inherits instead of binding: LOCAL
 *   systemd        every socket a service manager passed (LISTEN_FDS, read
 *                  through rsock_listen_fds) that no other LOCAL took;
 *   systemd:NAME   those of them named NAME (FileDescriptorName= in the
 *                  .socket unit; LISTEN_FDNAMES);
 *   fd:N           descriptor N, inherited from whoever started the proxy.
 * Each must be a listening stream socket.
 *
 * Threads: rsock waits on a device with one thread's loop only, and an
 * inherited socket cannot be bound again per thread (SO_REUSEPORT joins
 * only sockets of one owner that all set it before binding, and systemd's
 * socket is root's, without it).  So thread 0, which opens the listeners, owns
 * an inherited socket and alone accepts on it; its connections are served
 * there.  (Duplicating the descriptor into every thread's loop would work
 * too, but each connection would then wake every thread, one accepting and
 * the others finding nothing, and with no SO_REUSEPORT hashing the spread
 * is whoever wakes first.  A LOCAL that needs every core binds an address.) */
#ifndef RSOCK_PROXY_ACTIVATION_H
#define RSOCK_PROXY_ACTIVATION_H

#include <rsock.h>
#include <stdbool.h>

/* Whether LOCAL names an inherited socket ("systemd", "systemd:NAME",
 * "fd:...") rather than an address to bind. */
bool is_inherited_local(const char *local);

/* The inherited listening sockets LOCAL names, as devices of this thread,
 * into out[0..max): returns how many (at least 1), each taken once for the
 * process.  -errno with a line on standard error naming LOCAL: -EINVAL
 * (bad LOCAL text, LISTEN_* variables that are not numbers, a socket that
 * is not a listening stream socket), -ENOENT (no socket passed, or none
 * left, or none of that name), -EBADF (fd:N not open, or already taken),
 * -ENOTSOCK, -ENOMEM.  Call it from one thread (the one that opens the
 * listeners). */
int inherited_listeners(const char *local, rsock_t **out, size_t max);

#endif
