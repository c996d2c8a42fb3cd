/* Listening sockets the proxy inherits instead of binding: LOCAL
 *   systemd        every socket a service manager passed (LISTEN_FDS, read
 *                  through rsock_listen_fds) that no other LOCAL took;
 *   systemd:NAME   those of them named NAME (FileDescriptorName= in the
 *                  .socket unit; LISTEN_FDNAMES);
 *   fd:N           descriptor N, inherited from whoever started the proxy.
 * Each must be a listening stream socket.
 *
 * Threads: rsock waits on a device with one thread's loop only, and an
 * inherited socket cannot be bound again per thread (SO_REUSEPORT), so the
 * thread that opened the inherited sockets owns them, and every other
 * thread that should accept on one makes its own device on a duplicate of
 * its descriptor (inherited_dup): the same kernel socket in several epoll
 * sets.  Each pending connection then wakes every such thread and one of
 * them accepts it (the others' accept says "would block" and they wait
 * again): connections spread over the threads, at the price of a wasted
 * wake per thread per connection; SO_REUSEPORT's hashing does not apply.
 * Accepting on thread 0 alone wastes nothing but serves every connection
 * of that LOCAL on one core. */
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

/* A device of the calling thread on a duplicate of s's descriptor: the
 * same listening socket, waited on by this thread's loop (see above).
 * 0, or -errno (said on standard error). */
int inherited_dup(rsock_t *s, rsock_t **out);

#endif
