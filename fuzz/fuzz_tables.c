/* libFuzzer target: the name and number tables.  The input is read as
 * ints and as a name: rsock_strerror on ints (INT_MIN and INT_MAX among
 * the seeds), rsock_const_lookup, rsock_sockopt_by_name and
 * rsock_sockopt_find on the name and ints, rsock_opttype_name on any value.
 * Each answer must agree with the public tables (rsock_const_table,
 * rsock_sockopt_table), every text must be a terminated string, and a
 * failure must leave a message naming the call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsock.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_tables: " __VA_ARGS__);                                              \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

static void check_text(const char *what, const char *text)
{
    if (!text || strnlen(text, 4096) == 4096)
        FAIL("%s: no terminated text", what);
}

static void check_strerror(int code)
{
    const char *text = rsock_strerror(code);
    check_text("rsock_strerror", text);
    /* -errno and errno read the same (INT_MIN has no positive twin). */
    if (code != (int)0x80000000 && code != 0) {
        char copy[256];
        snprintf(copy, sizeof copy, "%s", text);
        if (strcmp(copy, rsock_strerror(-code)) != 0)
            FAIL("rsock_strerror(%d) \"%s\" differs from rsock_strerror(%d)", code, copy, -code);
    }
}

static void check_const(const char *name)
{
    size_t count = 0;
    const rsock_const *table = rsock_const_table(&count);
    const rsock_const *row = NULL;
    for (size_t i = 0; i < count && !row; i++)
        if (strcmp(table[i].name, name) == 0)
            row = &table[i];
    int value = 0x5eed;
    int rc = rsock_const_lookup(name, &value);
    int want = !row ? -ENOENT : row->available ? 0 : -ENOTSUP;
    if (rc != want || (rc == 0 && value != row->value))
        FAIL("rsock_const_lookup(\"%s\") = %d (value %d), table says %d", name, rc, value, want);
    if (rc < 0 && strstr(rsock_error_message(), "rsock_const_lookup") == NULL)
        FAIL("rsock_const_lookup(\"%s\") failed without its message", name);
}

static void check_sockopt(const char *name, int level, int opt)
{
    size_t count = 0;
    const rsock_sockopt *table = rsock_sockopt_table(&count);
    const rsock_sockopt *by_name = rsock_sockopt_by_name(name);
    if (by_name && (by_name < table || by_name >= table + count))
        FAIL("rsock_sockopt_by_name(\"%s\") is not a table row", name);
    if (by_name && strcmp(by_name->name, name) != 0 && strcmp(name, "SO_OOBLINE") != 0)
        FAIL("rsock_sockopt_by_name(\"%s\") found %s", name, by_name->name);
    const rsock_sockopt *found = rsock_sockopt_find(level, opt);
    if (found && (found->level != level || found->opt != opt))
        FAIL("rsock_sockopt_find(%d, %d) found %s", level, opt, found->name);
    bool in_table = false;
    for (size_t i = 0; i < count; i++)
        in_table = in_table || (table[i].level == level && table[i].opt == opt);
    if (in_table != (found != NULL))
        FAIL("rsock_sockopt_find(%d, %d) disagrees with the table", level, opt);
    check_text("rsock_opttype_name", rsock_opttype_name((rsock_opttype)opt));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int ints[3] = {0, 0, 0};
    memcpy(ints, data, size < sizeof ints ? size : sizeof ints);
    char *name = malloc(size + 1); /* the whole input as a name, cut at a NUL */
    if (!name)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    const char *tail = size > sizeof ints ? name + sizeof ints : "";
    for (int i = 0; i < 3; i++)
        check_strerror(ints[i]);
    check_const(name);
    check_const(tail);
    check_sockopt(name, ints[0], ints[1]);
    check_sockopt(tail, ints[1], ints[2]);
    free(name);
    return 0;
}
