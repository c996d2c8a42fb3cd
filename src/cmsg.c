/* Control data: the walker and the builder.  Every header is copied out with
 * memcpy (the caller's buffer need not be aligned) and every length is
 * checked against the buffer before a byte behind it is read or written. */
#include "cmsg_internal.h"

#include <errno.h>
#include <string.h>

#define HDR CMSG_LEN(0) /* the header with its padding: where data starts */

int rsock_cmsg_next(const void *ctl, size_t ctllen, size_t *pos, rsock_cmsg *out)
{
    if (!pos || !out)
        return rsock__fail(EINVAL, "rsock_cmsg_next: NULL %s", pos ? "out" : "pos");
    if (!ctl && ctllen)
        return rsock__fail(EINVAL, "rsock_cmsg_next: NULL buffer of %zu bytes", ctllen);
    size_t at = *pos;
    if (at > ctllen)
        return rsock__fail(EINVAL, "rsock_cmsg_next: position %zu past the buffer's %zu bytes",
                           at, ctllen);
    if (at == ctllen)
        return 0;
    if (ctllen - at < HDR)
        return rsock__fail(EINVAL, "rsock_cmsg_next: %zu bytes at %zu, a partial header",
                           ctllen - at, at);
    struct cmsghdr h;
    memcpy(&h, (const char *)ctl + at, sizeof h);
    if (h.cmsg_len < HDR || h.cmsg_len > ctllen - at)
        return rsock__fail(EINVAL,
                           "rsock_cmsg_next: header at %zu says %zu bytes (%zu left, at least "
                           "%zu needed)",
                           at, (size_t)h.cmsg_len, ctllen - at, (size_t)HDR);
    out->level = h.cmsg_level;
    out->type = h.cmsg_type;
    out->data = (const char *)ctl + at + HDR;
    out->len = h.cmsg_len - HDR;
    size_t room = ctllen - at, step = CMSG_ALIGN(h.cmsg_len);
    *pos = at + (step < room ? step : room); /* the last one's padding may be cut */
    return 1;
}

int rsock_cmsg_add(void *ctl, size_t cap, size_t *ctllen, int level, int type, const void *data,
                   size_t len)
{
    if (!ctl || !ctllen)
        return rsock__fail(EINVAL, "rsock_cmsg_add: NULL %s", ctl ? "ctllen" : "buffer");
    if (!data && len)
        return rsock__fail(EINVAL, "rsock_cmsg_add: NULL data of %zu bytes", len);
    size_t at = *ctllen;
    if (at > cap)
        return rsock__fail(EINVAL, "rsock_cmsg_add: length %zu past the capacity %zu", at, cap);
    size_t start = CMSG_ALIGN(at); /* a previous message may end unpadded */
    if (start < at || start > cap || len > cap || cap - start < HDR ||
        CMSG_ALIGN(len) > cap - start - HDR)
        return rsock__fail(ENOSPC,
                           "rsock_cmsg_add level %d type %d: %zu bytes of data do not fit (%zu "
                           "of %zu used)",
                           level, type, len, at, cap);
    char *p = ctl;
    struct cmsghdr h;
    memset(&h, 0, sizeof h);
    h.cmsg_len = CMSG_LEN(len);
    h.cmsg_level = level;
    h.cmsg_type = type;
    memset(p + at, 0, start - at);
    memcpy(p + start, &h, sizeof h);
    memset(p + start + sizeof h, 0, HDR - sizeof h);
    if (len)
        memcpy(p + start + HDR, data, len);
    memset(p + start + HDR + len, 0, CMSG_ALIGN(len) - len);
    *ctllen = start + HDR + CMSG_ALIGN(len);
    return 0;
}

/* ---- shared by the typed decoders (cmsg_internal.h) ---- */

int rsock__cmsg_expect(const char *op, const rsock_cmsg *c, int level, int type)
{
    if (!c)
        return rsock__fail(EINVAL, "%s: NULL message", op);
    if (!c->data && c->len)
        return rsock__fail(EINVAL, "%s: NULL data of %zu bytes", op, c->len);
    if (c->level != level || c->type != type)
        return rsock__fail(EINVAL, "%s: level %d type %d is not level %d type %d", op, c->level,
                           c->type, level, type);
    return 0;
}

int rsock__cmsg_size(const char *op, const rsock_cmsg *c, size_t want)
{
    if (c->len != want)
        return rsock__fail(EINVAL, "%s: %zu bytes of data, not %zu", op, c->len, want);
    return 0;
}
