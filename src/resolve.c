/* TEMPORARY: plain getaddrinfo until the fiber loop can run it off-thread. */
#include "internal.h"

int rsock__getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    return getaddrinfo(node, service, hints, res);
}
