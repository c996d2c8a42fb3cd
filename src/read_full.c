/* rsock_read_full: exactly `len` bytes or an error, as asyncio's
 * readexactly and Go's io.ReadFull.  An early end of stream is -EPIPE (the
 * other end finished, as a channel's end is -EPIPE), so a caller tells it
 * from a reset (-ECONNRESET); the count read so far is reported either way. */
#include "internal.h"

#include <errno.h>
#include <limits.h>

ssize_t rsock_read_full(rsock_t *s, void *buf, size_t len, size_t *got, int64_t deadline)
{
    if (got)
        *got = 0;
    if (!s || (!buf && len))
        return rsock__fail(EINVAL, "rsock_read_full: NULL %s", s ? "buffer" : "socket");
    if (len > SSIZE_MAX)
        return rsock__fail(EINVAL, "rsock_read_full fd %d: length %zu over SSIZE_MAX", s->fd, len);
    size_t done = 0;
    while (done < len) {
        ssize_t n = rsock_read(s, (char *)buf + done, len - done, deadline);
        if (n == 0)
            n = rsock__fail(EPIPE, "rsock_read_full fd %d: end of stream after %zu of %zu bytes",
                            s->fd, done, len);
        if (n < 0) {
            if (got)
                *got = done;
            return n;
        }
        done += (size_t)n;
    }
    if (got)
        *got = done;
    return (ssize_t)len;
}
