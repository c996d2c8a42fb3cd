/* The per-thread error record: negative errno plus a line naming the call. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RSOCK__MSG_MAX 512

/* Thread-local storage is freed with the thread: no destructor needed. */
static __thread char last_message[RSOCK__MSG_MAX];
static __thread char strerror_buf[64];

const char *rsock_version(void) { return RSOCK_VERSION_STRING; }

const char *rsock_error_message(void) { return last_message; }

const char *rsock_strerror(int code)
{
    if (code < 0)
        code = code == INT_MIN ? INT_MAX : -code; /* -INT_MIN overflows: no such errno anyway */
    const char *text = strerrordesc_np(code);
    if (text)
        return text;
    snprintf(strerror_buf, sizeof strerror_buf, "Unknown error %d", code);
    return strerror_buf;
}

static void record(const char *fmt, va_list ap)
{
    vsnprintf(last_message, sizeof last_message, fmt, ap);
}

int rsock__fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(fmt, ap);
    va_end(ap);
    return -err;
}

int rsock__fail_sys(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(fmt, ap);
    va_end(ap);
    size_t used = strlen(last_message);
    snprintf(last_message + used, sizeof last_message - used, ": %s", rsock_strerror(err));
    return -err;
}
