/* The constants of the reference: its Constants list, then every level and
 * option name of its defsockopt table, in the reference's order, made from
 * the one list src/consts.def.  A name whose macro this platform lacks stays
 * listed, marked unavailable: the reference's #f. */
#include "internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>

static const rsock_const constants[] = {
#define RSOCK_CONST(name, macro) {#name, macro, true},
#define RSOCK_CONST_LACKING(name) {#name, 0, false},
#include "consts.def"
#undef RSOCK_CONST
#undef RSOCK_CONST_LACKING
};

const rsock_const *rsock_const_table(size_t *count)
{
    if (count)
        *count = sizeof constants / sizeof constants[0];
    return constants;
}

int rsock_const_lookup(const char *name, int *value)
{
    if (!name || !value)
        return rsock__fail(EINVAL, "rsock_const_lookup: NULL %s", name ? "value" : "name");
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
        if (strcmp(constants[i].name, name) != 0)
            continue;
        if (!constants[i].available)
            return rsock__fail(ENOTSUP, "rsock_const_lookup \"%s\": not on this platform", name);
        *value = constants[i].value;
        return 0;
    }
    return rsock__fail(ENOENT, "rsock_const_lookup \"%s\": not a constant of the reference", name);
}
