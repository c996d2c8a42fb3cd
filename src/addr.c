/* TEMPORARY stub: replaced by the addresses work. */
#include "internal.h"
#include <errno.h>
int rsock_addr_format(const rsock_addr *a, char *buf, size_t size) { (void)a; (void)buf; (void)size; return -EINVAL; }
