/* libFuzzer target: every address, from raw bytes, survives the text round
 * trip.  The input picks a family (AF_INET, AF_INET6, AF_UNIX with paths,
 * abstract and unnamed names, AF_NETLINK, AF_PACKET) and a length, and its
 * bytes fill the sockaddr.  An address rsock_addr_valid refuses must be
 * refused by rsock_addr_format too; any other must format, parse back
 * (numerically: nothing is resolved) to the same address as the kernel
 * sees it (rsock__addr_same) and format to the same text again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr_priv.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_addr_bytes: " __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

static const int families[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, AF_PACKET};

/* The address the input describes: byte 0 the family, byte 1 the length
 * (its low bits: any length up to the storage, the family's usual size
 * most often), the rest the bytes after the family. */
static void build(rsock_addr *a, const uint8_t *data, size_t size)
{
    memset(a, 0, sizeof *a);
    int family = families[data[0] % 5];
    rsock_addr_init(a, family);
    if (data[1] < 128)
        a->len = data[1]; /* any length, valid or not */
    if (family == AF_UNIX && data[1] >= 128)
        a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size - 2 < 109 ? size - 2 : 109));
    size_t room = sizeof a->ss - sizeof(sa_family_t);
    size_t n = size - 2 < room ? size - 2 : room;
    memcpy((char *)&a->ss + sizeof(sa_family_t), data + 2, n);
    if (family == AF_PACKET && data[1] >= 128 && a->ll.sll_halen > a->len - RSOCK__LL_ADDR_OFF)
        a->ll.sll_halen = (unsigned char)(a->len - RSOCK__LL_ADDR_OFF); /* mostly valid */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    rsock_addr a;
    build(&a, data, size);
    char text[RSOCK_ADDRSTRLEN];
    memset(text, '#', sizeof text);
    int n = rsock_addr_format(&a, text, sizeof text);
    if (!rsock_addr_valid(&a)) {
        if (n != -EINVAL || text[0] != '\0')
            FAIL("an invalid address (family %d, length %u) formatted: %d", a.sa.sa_family,
                 (unsigned)a.len, n);
        return 0;
    }
    if (n < 0 || n >= RSOCK_ADDRSTRLEN || strlen(text) != (size_t)n)
        FAIL("family %d, length %u: format gave %d", a.sa.sa_family, (unsigned)a.len, n);
    for (int i = 0; i < n; i++)
        if (text[i] < 0x20 || text[i] >= 0x7f)
            FAIL("\"%s\": byte %d is not printable ASCII", text, i);
    rsock_addr b;
    if (rsock__addr_parse_numeric(&b, text) != 0)
        FAIL("\"%s\" does not parse: %s", text, rsock_error_message());
    if (!rsock_addr_valid(&b) || !rsock__addr_same(&a, &b))
        FAIL("\"%s\" parses to another address", text);
    char again[RSOCK_ADDRSTRLEN];
    if (rsock_addr_format(&b, again, sizeof again) != n || strcmp(again, text) != 0)
        FAIL("\"%s\" formats again as \"%s\"", text, again);
    return 0;
}
