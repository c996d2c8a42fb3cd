/* Unix address text in: the escapes that let every Unix name read back.
 * rsock_addr_format writes a name's printable ASCII bytes as they are and
 * every other byte, and the backslash, as \xHH (addr_format.c), so that an
 * abstract name holding NUL bytes, or a path holding a newline, is one
 * printable line that reads back to the same bytes. */
#include "addr_priv.h"

#include <errno.h>
#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The bytes text stands for, into out (room for cap); their count, or -1
 * on a bad escape, or -2 when there are more than cap. */
static long unescape(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = text; *p; n++) {
        char byte = *p++;
        if (byte == '\\') {
            if (*p == '\\') {
                p++;
            } else if (*p == 'x' && hex_digit(p[1]) >= 0 && hex_digit(p[2]) >= 0) {
                byte = (char)(hex_digit(p[1]) << 4 | hex_digit(p[2]));
                p += 3;
            } else {
                return -1;
            }
        }
        if (n == cap)
            return -2;
        out[n] = byte;
    }
    return (long)n;
}

int rsock__unix_from_text(rsock_addr *a, const char *text, bool abstract, const char **why)
{
    /* A path may fill sun_path without its NUL, as the kernel allows; an
     * abstract name leaves room for its leading NUL. */
    size_t cap = (size_t)UNIX_MAX_PATH - abstract;
    char name[UNIX_MAX_PATH];
    long n = unescape(text, name, cap);
    if (n == -1) {
        *why = "bad escape (write \\xHH, or \\\\ for a backslash)";
        return -EINVAL;
    }
    if (n == -2) {
        *why = abstract ? "abstract name too long" : "Unix path too long";
        return -ENAMETOOLONG;
    }
    if (!abstract && n == 0) {
        *why = "empty Unix path";
        return -EINVAL;
    }
    if (!abstract && memchr(name, '\0', (size_t)n)) {
        *why = "NUL byte in Unix path";
        return -EINVAL;
    }
    a->un.sun_family = AF_UNIX;
    memcpy(a->un.sun_path + abstract, name, (size_t)n);
    size_t bytes = (size_t)n + abstract;
    /* A path's length counts its NUL when sun_path has room for one. */
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + bytes +
                         (!abstract && bytes < (size_t)UNIX_MAX_PATH));
    return 0;
}
