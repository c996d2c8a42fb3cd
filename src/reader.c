/* rsock_reader: a buffer in front of a stream device, for line- and
 * length-framed protocols (Go's bufio.Reader, asyncio's StreamReader).
 * Bytes buf[start..end) are read and not yet taken; a fill first moves them
 * to the front when the room after them runs out.  Reads larger than the
 * buffer bypass it. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int rsock_reader_init(rsock_reader *r, rsock_t *s, void *buf, size_t size)
{
    if (!r || !s)
        return rsock__fail(EINVAL, "rsock_reader_init: NULL %s", r ? "socket" : "reader");
    if (buf && size == 0)
        return rsock__fail(EINVAL, "rsock_reader_init fd %d: a buffer of 0 bytes", s->fd);
    bool owned = !buf;
    if (owned) {
        size = size ? size : RSOCK_READER_SIZE;
        if (!(buf = malloc(size)))
            return rsock__fail(ENOMEM, "rsock_reader_init fd %d: no memory for %zu bytes", s->fd,
                               size);
    }
    *r = (rsock_reader){.s = s, .buf = buf, .size = size, .owned = owned};
    return 0;
}

int rsock_reader_free(rsock_reader *r)
{
    if (r && r->owned)
        free(r->buf);
    if (r)
        *r = (rsock_reader){0};
    return 0;
}

size_t rsock_reader_buffered(const rsock_reader *r)
{
    return r ? r->end - r->start : 0;
}

/* Read once more into the room after the buffered bytes (moved to the
 * front first if there is none): 0, or -errno.  Sets eof at the end. */
static int fill(rsock_reader *r, int64_t deadline)
{
    if (r->end == r->size) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    ssize_t n = rsock_read(r->s, r->buf + r->end, r->size - r->end, deadline);
    if (n < 0)
        return (int)n;
    if (n == 0)
        r->eof = true;
    r->end += (size_t)n;
    return 0;
}

/* Make room for `n` bytes from start (n <= size). */
static void room_for(rsock_reader *r, size_t n)
{
    if (r->start + n > r->size) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
}

static const char *take(rsock_reader *r, size_t n)
{
    const char *p = r->buf + r->start;
    r->start += n;
    r->scanned = 0;
    if (r->start == r->end)
        r->start = r->end = 0;
    return p;
}

ssize_t rsock_reader_line(rsock_reader *r, const char **line, size_t limit, int64_t deadline)
{
    if (!r || !r->buf || !line)
        return rsock__fail(EINVAL, "rsock_reader_line: NULL %s", r && r->buf ? "line" : "reader");
    if (limit == 0)
        limit = r->size;
    if (limit > r->size)
        return rsock__fail(EINVAL, "rsock_reader_line fd %d: limit %zu over the buffer's %zu bytes",
                           r->s->fd, limit, r->size);
    for (;;) {
        size_t have = r->end - r->start;
        size_t look = have < limit ? have : limit;
        size_t from = r->scanned < look ? r->scanned : look; /* no '\n' before */
        const char *nl = memchr(r->buf + r->start + from, '\n', look - from);
        if (nl) {
            *line = take(r, (size_t)(nl - (r->buf + r->start)) + 1);
            return nl - *line + 1;
        }
        r->scanned = look;
        if (have >= limit)
            return rsock__fail(EMSGSIZE, "rsock_reader_line fd %d: no end of line in %zu bytes",
                               r->s->fd, limit);
        if (r->eof) {
            *line = take(r, have);
            return (ssize_t)have;
        }
        room_for(r, limit);
        int rc = fill(r, deadline);
        if (rc < 0)
            return rc;
    }
}

ssize_t rsock_reader_read(rsock_reader *r, void *buf, size_t len, size_t *got, int64_t deadline)
{
    if (got)
        *got = 0;
    if (!r || !r->buf || (!buf && len))
        return rsock__fail(EINVAL, "rsock_reader_read: NULL %s", r && r->buf ? "buffer" : "reader");
    if (len > SSIZE_MAX)
        return rsock__fail(EINVAL, "rsock_reader_read: length %zu over SSIZE_MAX", len);
    size_t done = 0;
    while (done < len) {
        size_t have = r->end - r->start, want = len - done;
        if (have) {
            size_t n = have < want ? have : want;
            memcpy((char *)buf + done, take(r, n), n);
            done += n;
            continue;
        }
        ssize_t rc = 0;
        if (r->eof)
            rc = rsock__fail(EPIPE, "rsock_reader_read fd %d: end of stream after %zu of %zu bytes",
                             r->s->fd, done, len);
        else if (want >= r->size) { /* too big to buffer: straight into the caller's */
            size_t n = 0;
            rc = rsock_read_full(r->s, (char *)buf + done, want, &n, deadline);
            done += n;
            if (rc == -EPIPE) { /* said again above, with the whole count */
                r->eof = true;
                continue;
            }
        } else
            rc = fill(r, deadline);
        if (rc < 0) {
            if (got)
                *got = done;
            return rc;
        }
    }
    if (got)
        *got = done;
    return (ssize_t)len;
}

ssize_t rsock_reader_peek(rsock_reader *r, const void **data, size_t n, int64_t deadline)
{
    if (!r || !r->buf || !data)
        return rsock__fail(EINVAL, "rsock_reader_peek: NULL %s", r && r->buf ? "data" : "reader");
    if (n > r->size)
        return rsock__fail(EINVAL, "rsock_reader_peek fd %d: %zu bytes over the buffer's %zu",
                           r->s->fd, n, r->size);
    room_for(r, n);
    while (r->end - r->start < n && !r->eof) {
        int rc = fill(r, deadline);
        if (rc < 0)
            return rc;
    }
    *data = r->buf + r->start;
    return (ssize_t)(r->end - r->start);
}
