/* Internal interfaces shared by the library's sources; not installed. */
#ifndef RSOCK_INTERNAL_H
#define RSOCK_INTERNAL_H

#include "rsock.h"

#include <errno.h>
#include <netdb.h>

#define RSOCK__IN 1u  /* input direction */
#define RSOCK__OUT 2u /* output direction */
#define RSOCK__HUP 4u /* in `ready`: the peer hung up or an error is pending */
#define RSOCK__ERR 8u /* in `ready`: an error or a hang-up both ways (not the
                       * peer's end of stream alone) */

struct rsock__waiter; /* a fiber parked on a device (wait.c, loop.c) */

/* The socket device.  `ready` caches edge-triggered readiness; ready.h
 * alone reads and changes it. */
/* `magic` of a device: open, or closed and in quarantine (socket.c). */
#define RSOCK__LIVE 0x6b636f73u
#define RSOCK__DEAD 0x64616564u

struct rsock {
    unsigned magic;                     /* RSOCK__LIVE until rsock_close */
    int fd;
    int domain, type, protocol;
    unsigned open;                      /* directions still open */
    unsigned ready;                     /* ready.h: no -EAGAIN since the last edge */
    struct rsock__waiter *waiters[2];   /* parked for input [0], output [1] */
    void *loop;                         /* the loop it is registered with, or NULL */
    struct rsock *loop_prev, *loop_next; /* the loop's devices, re-registered after fork */
    unsigned long forks;                /* the process's fork count when it was made */
    bool shared;                        /* its descriptor may have other holders:
                                         * adopted (rsock_fdopen) or handed out (rsock_fd) */
};

/* ---- error record (error.c) ----
 * Record "fmt..." as this thread's last failure and return -err (err > 0). */
int rsock__fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As rsock__fail, with ": <strerror(err)>" appended. */
int rsock__fail_sys(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* -EINVAL for NULL, -EBADF for a device already closed (its memory is
 * kept, marked dead, for the next RSOCK__QUARANTINE closes of the thread,
 * so a use after close is caught instead of reading freed memory); both
 * recorded naming `op`.  Else 0. */
static inline int rsock__check_dev(const char *op, const struct rsock *s)
{
    if (!s)
        return rsock__fail(EINVAL, "%s: NULL socket", op);
    if (__builtin_expect(s->magic != RSOCK__LIVE, 0))
        return rsock__fail(EBADF, "%s: use of a closed socket (after rsock_close)", op);
    return 0;
}

/* Free this thread's closed devices kept for use-after-close checks
 * (socket.c); at thread exit. */
void rsock__quarantine_free(void);

/* "AF_INET6" for 10, "family 99" for what has no name (buf for the latter). */
const char *rsock__family_name(int family, char buf[16]);

/* Address text for messages: never fails ("(null)", "(invalid)"); addr_format.c. */
const char *rsock__addr_str(const rsock_addr *a, char buf[RSOCK_ADDRSTRLEN]);

/* rsock_addr_parse's grammar without name resolution (addr_parse.c): a host
 * name is -EINVAL "... name resolution disabled".  For the fuzzer and for
 * tests that must send nothing. */
int rsock__addr_parse_numeric(rsock_addr *a, const char *text);

/* A host name and its port, cut out of address text and not resolved. */
struct rsock__host_port {
    char host[256];
    int port;
};
/* rsock_addr_parse's grammar, resolving nothing (addr_parse.c): 0 and `a`
 * for text that spells its address out (IP, Unix, netlink, packet); 1 and
 * `name` for name:port (`a` untouched); -errno with the parser's message
 * for bad text.  rsock_dial parses with it, then resolves the name once. */
int rsock__addr_parse_split(rsock_addr *a, const char *text, struct rsock__host_port *name);

/* ---- the loop (loop.c, over the poller of poller.h) ---- */
/* Register `s` with this thread's loop, edge-triggered, for input and
 * output; sets s->loop and marks it ready for output (input readiness comes
 * from the kernel: the poller reports a device readable at registration).
 * 0 or -errno. */
int rsock__loop_add(struct rsock *s);
/* Deregister `s` (before its descriptor is closed) and wake its waiters
 * with -ECANCELED. */
void rsock__loop_remove(struct rsock *s);
/* As rsock__loop_remove, but the poller is not told: for a descriptor
 * about to be closed that no one else holds, whose close(2) deregisters
 * it (socket.c decides). */
void rsock__loop_forget(struct rsock *s);

/* Record a timeout of `op` on fd, saying so when `deadline` had passed
 * long before the call `began` (a duration passed as a deadline). */
int rsock__timeout_msg(const char *op, int fd, int64_t deadline, int64_t began);
/* -ECANCELED (recorded) when the current fiber's group was cancelled. */
int rsock__check_cancelled(const char *op);

/* ---- name resolution (resolve.c) ----
 * getaddrinfo that, called in a fiber, runs on a helper thread and parks
 * only the calling fiber.  Returns getaddrinfo's code (0 or EAI_*). */
/* Tests set this to make the resolver's helper thread slow (milliseconds). */
extern int rsock__resolve_test_delay_ms;
int rsock__getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
/* getaddrinfo's failure `code` as an errno (addr_parse.c): "try again" is
 * EHOSTUNREACH, never EAGAIN (DESIGN.md), EAI_MEMORY is ENOMEM, EAI_SYSTEM
 * errno (call it at once after getaddrinfo), the rest ENOENT. */
int rsock__gai_errno(int code);

#endif
