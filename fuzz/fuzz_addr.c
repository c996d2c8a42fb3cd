/* libFuzzer target: the address text round trip.  Any text that
 * rsock__addr_parse_numeric accepts must format (snprintf-style, also into
 * short buffers), parse back to the same bytes and format the same again.
 * Names are never resolved here: the numeric parser refuses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_addr: " __VA_ARGS__);                                                \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

/* Formatting into a buffer of each short size writes a terminated prefix
 * and nothing past the buffer. */
static void check_short(const rsock_addr *a, const char *full, int n)
{
    char buf[RSOCK_ADDRSTRLEN + 1];
    for (int size = 0; size <= n; size += 1 + size / 4) {
        memset(buf, '#', sizeof buf);
        if (rsock_addr_format(a, buf, (size_t)size) != n)
            FAIL("short format of \"%s\" into %d bytes changed the length", full, size);
        if (buf[size] != '#')
            FAIL("format of \"%s\" wrote past %d bytes", full, size);
        if (size > 0 && (buf[size - 1] != '\0' || memcmp(buf, full, (size_t)size - 1) != 0))
            FAIL("format of \"%s\" into %d bytes is not its terminated prefix", full, size);
    }
}

/* Undefined behaviour is a finding too: stop at the first report. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rsock_addr a;
    if (rsock__addr_parse_numeric(&a, text) != 0) {
        free(text);
        return 0;
    }
    if (!rsock_addr_valid(&a))
        FAIL("\"%s\" parsed to an invalid address", text);
    int n = rsock_addr_format(&a, NULL, 0);
    if (n < 0 || n >= RSOCK_ADDRSTRLEN)
        FAIL("\"%s\": format length %d", text, n);
    char *out = malloc((size_t)n + 1); /* exact size: ASan sees any overflow */
    if (!out)
        abort();
    if (rsock_addr_format(&a, out, (size_t)n + 1) != n || strlen(out) != (size_t)n)
        FAIL("\"%s\": exact-size format differs", text);
    check_short(&a, out, n);
    rsock_addr b;
    if (rsock__addr_parse_numeric(&b, out) != 0)
        FAIL("\"%s\" formats as \"%s\", which does not parse", text, out);
    if (a.len != b.len || memcmp(&a.ss, &b.ss, a.len) != 0)
        FAIL("\"%s\" -> \"%s\" parses to other bytes", text, out);
    char again[RSOCK_ADDRSTRLEN];
    if (rsock_addr_format(&b, again, sizeof again) != n || strcmp(again, out) != 0)
        FAIL("\"%s\" -> \"%s\" -> \"%s\"", text, out, again);
    free(out);
    free(text);
    return 0;
}
