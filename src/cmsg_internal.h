/* Shared by the control-data sources (cmsg.c, cmsg_types.c, dgram.c). */
#ifndef RSOCK_CMSG_INTERNAL_H
#define RSOCK_CMSG_INTERNAL_H

#include "internal.h"

/* `c` is a message of (level, type) with data where it says, or -EINVAL
 * naming `op` and both pairs. */
int rsock__cmsg_expect(const char *op, const rsock_cmsg *c, int level, int type);
/* `c` carries exactly `want` bytes of data, or -EINVAL naming `op`. */
int rsock__cmsg_size(const char *op, const rsock_cmsg *c, size_t want);

#endif
