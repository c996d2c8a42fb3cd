/* systemd's notify protocol: one datagram per message, on a socket made
 * for it and closed at once (messages are few: start, reloads, stop), so
 * no device is shared between threads. */
#include "notify.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_MAX 512

static int told; /* a failure was logged (atomic) */

static void tell_once(const char *what)
{
    if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
        log_line(0, "notify: %s (further notify errors are not logged)", what);
}

/* $NOTIFY_SOCKET's address: 1, or 0 when unset or unusable (said once). */
static int notify_address(rsock_addr *a)
{
    const char *where = getenv("NOTIFY_SOCKET");
    char why[RSOCK_ADDRSTRLEN + 96];
    if (!where || !*where)
        return 0;
    if (where[0] != '/' && where[0] != '@') {
        snprintf(why, sizeof why, "NOTIFY_SOCKET=%.64s is neither a path nor @name: not used",
                 where);
        tell_once(why);
        return 0;
    }
    if (rsock_addr_un(a, where) < 0) {
        tell_once(rsock_error_message());
        return 0;
    }
    return 1;
}

static void notify_send(const char *msg)
{
    rsock_addr a;
    rsock_t *s = NULL;
    if (!notify_address(&a))
        return;
    if (rsock_socket(AF_UNIX, SOCK_DGRAM, 0, &s) < 0 ||
        rsock_sendto(s, msg, strlen(msg), 0, &a) < 0)
        tell_once(rsock_error_message());
    rsock_close(s);
}

void notify_ready(void)
{
    notify_send("READY=1");
}

void notify_reloading(void)
{
    struct timespec now;
    char msg[64];
    clock_gettime(CLOCK_MONOTONIC, &now);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000);
    notify_send(msg);
}

void notify_stopping(void)
{
    notify_send("STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
    char msg[sizeof "STATUS=" + STATUS_MAX];
    va_list ap;
    va_start(ap, fmt);
    strcpy(msg, "STATUS=");
    vsnprintf(msg + strlen("STATUS="), STATUS_MAX + 1, fmt, ap);
    va_end(ap);
    /* One line: a newline would start another assignment (READY=1...). */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    notify_send(msg);
}
