/* libFuzzer target: control data from anyone.  The input, in an exact-size
 * heap buffer (ASan sees any read past it), is walked with rsock_cmsg_next
 * and every message it yields goes through every typed decoder; a walk
 * that succeeds is rebuilt with rsock_cmsg_add and must walk the same, and
 * a rebuild into a buffer one byte too small must write nothing.
 *
 * rsock_cmsg_get_fds closes descriptors past its array: here the array
 * holds the most a message can carry (253), so none is ever closed, and the
 * "descriptors" it stores are only numbers, never used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_cmsg: " __VA_ARGS__);                                                \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#define MAX_MSGS 64

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

/* Every decoder on one message: each either refuses it or fills its out. */
static void decode_all(const rsock_cmsg *c)
{
    int fds[253];
    int n = rsock_cmsg_get_fds(c, fds, sizeof fds / sizeof fds[0]);
    if (n > 253)
        FAIL("get_fds returned %d", n);
    struct ucred cr;
    rsock_cmsg_get_creds(c, &cr);
    rsock_pktinfo pi;
    if (rsock_cmsg_get_pktinfo(c, &pi) == 0 && !rsock_addr_valid(&pi.addr))
        FAIL("pktinfo decoded to an invalid address");
    int64_t v;
    rsock_cmsg_get_int(c, &v);
    if (rsock_cmsg_get_timestamp(c, &v) == 0 && v < 0)
        FAIL("negative timestamp %lld", (long long)v);
    rsock_sockerr e;
    if (rsock_cmsg_get_sockerr(c, &e) == 0 && e.offender.len && !rsock_addr_valid(&e.offender))
        FAIL("offender decoded to an invalid address");
}

/* Rebuild the walked messages into `cap` bytes: 0, or -ENOSPC with the
 * buffer untouched. */
static int rebuild(const rsock_cmsg *m, size_t count, size_t cap, size_t *len, char **out)
{
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        abort();
    memset(buf, 0xA5, cap);
    *len = 0;
    for (size_t i = 0; i < count; i++) {
        size_t before = *len;
        int rc = rsock_cmsg_add(buf, cap, len, m[i].level, m[i].type, m[i].data, m[i].len);
        if (rc == -ENOSPC) {
            if (*len != before)
                FAIL("a refused add moved the length");
            for (size_t k = before; k < cap; k++)
                if ((unsigned char)buf[k] != 0xA5)
                    FAIL("a refused add wrote byte %zu", k);
            free(buf);
            return rc;
        }
        if (rc != 0)
            FAIL("add of a walked message failed: %d", rc);
    }
    *out = buf;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ctl = malloc(size ? size : 1);
    if (!ctl)
        return 0;
    if (size)
        memcpy(ctl, data, size);
    rsock_cmsg m[MAX_MSGS];
    size_t count = 0, pos = 0, space = 0;
    int rc;
    while (count < MAX_MSGS && (rc = rsock_cmsg_next(ctl, size, &pos, &m[count])) == 1) {
        const char *p = m[count].data;
        if (p < ctl || p + m[count].len > ctl + size || pos > size)
            FAIL("message %zu outside the buffer", count);
        decode_all(&m[count]);
        space += CMSG_SPACE(m[count].len);
        count++;
    }
    if (rc < 0 || count == MAX_MSGS) {
        free(ctl);
        return 0;
    }
    /* a whole walk: rebuild exactly, walk again, compare */
    size_t len;
    char *again = NULL;
    if (rebuild(m, count, space, &len, &again) != 0 || len != space)
        FAIL("rebuilding %zu messages into %zu bytes failed", count, space);
    pos = 0;
    for (size_t i = 0; i < count; i++) {
        rsock_cmsg c;
        if (rsock_cmsg_next(again, len, &pos, &c) != 1 || c.level != m[i].level ||
            c.type != m[i].type || c.len != m[i].len || memcmp(c.data, m[i].data, c.len) != 0)
            FAIL("message %zu differs after a rebuild", i);
    }
    rsock_cmsg c;
    if (rsock_cmsg_next(again, len, &pos, &c) != 0)
        FAIL("a rebuild has more messages");
    free(again);
    if (space && rebuild(m, count, space - 1, &len, &again) != -ENOSPC)
        FAIL("a rebuild into %zu bytes did not run out of room", space - 1);
    free(ctl);
    return 0;
}
