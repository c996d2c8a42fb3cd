/* systemd's notify protocol (sd_notify(3)) without libsystemd: one
 * datagram of KEY=VALUE lines to the Unix socket $NOTIFY_SOCKET names (a
 * path, or '@' for the abstract namespace).  Nothing is sent when the
 * variable is unset (not run by systemd, or Type= is not notify).
 *
 * A send never blocks: the socket is non-blocking, and a datagram the
 * manager's queue has no room for is dropped.  The first failure is logged
 * (once for the process: a service manager that is gone would otherwise
 * fill the log); the proxy goes on either way.  Callable from any thread. */
#ifndef RSOCK_PROXY_NOTIFY_H
#define RSOCK_PROXY_NOTIFY_H

/* READY=1: the listeners are up (at start, and when a reload is done). */
void notify_ready(void);

/* RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC, which systemd 253 and
 * later want, for Type=notify-reload), at the start of a reload; the
 * proxy says notify_ready() when it is done, applied or refused. */
void notify_reloading(void);

/* STOPPING=1: the proxy stops accepting and drains its connections. */
void notify_stopping(void);

/* STATUS=<text>: one line for `systemctl status` (a newline or control
 * character in the text is sent as a space; at most 512 bytes). */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
