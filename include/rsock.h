/*
 * rsock.h — raw socket devices for C.
 *
 * A socket device (rsock_t) is a socket that is always non-blocking and
 * close-on-exec.  Where the kernel would block, an operation returns -EAGAIN
 * (-EINPROGRESS for a pending connect) and the caller waits for the device
 * with rsock_wait_in / rsock_wait_out, which parks only the calling fiber.
 *
 * Conventions, for every function below unless its comment says otherwise:
 *   - a return value >= 0 is success; a negative value is -errno;
 *   - every failure also records a line naming the operation and its
 *     arguments, read back with rsock_error_message();
 *   - NULL where an object is required is -EINVAL;
 *   - deadlines are absolute milliseconds on rsock_now()'s clock;
 *     -1 is "no deadline", 0 is "do not wait".
 *
 * Sections: errors; addresses; sockets; options; constants; waiting and
 * fibers; stream helpers.  Each entry has a page under doc/ and a man page.
 *
 * "The reference" below is the module rsock implements, entry by entry:
 * Gerbil Scheme's :std/os/socket ("raw socket devices"; doc/reference.md
 * says what it is and where it lives upstream).
 */
#ifndef RSOCK_H
#define RSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#ifdef __linux__
#include <linux/netlink.h>
#include <netpacket/packet.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GLIBC__) && !defined(__USE_GNU)
/* glibc declares struct ucred only under _GNU_SOURCE; SO_PEERCRED's value
 * needs it, so programs built without that macro get the same layout here. */
struct ucred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};
#endif

#if defined(RSOCK_BUILDING) && defined(__GNUC__)
#define RSOCK_API __attribute__((visibility("default")))
#else
#define RSOCK_API
#endif

#define RSOCK_VERSION_MAJOR 0
#define RSOCK_VERSION_MINOR 2
#define RSOCK_VERSION_PATCH 0
#define RSOCK_VERSION_STRING "0.2.0"

/* The library's version, "MAJOR.MINOR.PATCH".  Never fails. */
RSOCK_API const char *rsock_version(void);

/* ======================================================================
 * Errors
 * ====================================================================== */

/* The last failure of this thread: one line naming the operation, its
 * arguments and the reason, e.g.
 *   rsock_addr_parse "1.2.3.999:80": bad IPv4 address
 *   rsock_connect [::1]:9: Connection refused
 * Returns "" when nothing has failed yet on this thread.  The text stays
 * valid until the next rsock call on this thread fails. */
RSOCK_API const char *rsock_error_message(void);

/* The system's text for an error code; accepts -errno or errno.
 * Thread-safe; never returns NULL ("Unknown error N" for unknown codes). */
RSOCK_API const char *rsock_strerror(int code);

/* ======================================================================
 * Socket addresses  (reference: make-socket-address, socket-address, ...)
 * ====================================================================== */

#ifndef UNIX_MAX_PATH
/* The size of sun_path, the Linux kernel's name for it. */
#define UNIX_MAX_PATH ((int)sizeof(((struct sockaddr_un *)0)->sun_path))
#endif

/* Longest text rsock_addr_format writes, with its terminating NUL:
 * "unix:" + a path of UNIX_MAX_PATH bytes, each written "\xHH". */
#define RSOCK_ADDRSTRLEN (4 * UNIX_MAX_PATH + 6)

/* A socket address: a value type you may keep on the stack or copy.
 * `len` is the number of meaningful bytes of the sockaddr, as the kernel
 * takes and returns it. */
typedef struct {
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
#ifdef __linux__
        struct sockaddr_nl nl;
        struct sockaddr_ll ll;
#endif
        struct sockaddr_storage ss;
    };
    socklen_t len;
} rsock_addr;

/* make-socket-address: a zeroed address of `family` (AF_INET, AF_INET6,
 * AF_UNIX, AF_NETLINK or AF_PACKET) with its full length.
 * Errors: -EINVAL (a NULL), -EAFNOSUPPORT (another family). */
RSOCK_API int rsock_addr_init(rsock_addr *a, int family);

/* socket-address-in: IPv4 `host` as exactly four decimal parts
 * ("127.0.0.1"; no "127.1", no octal, no leading zeros) and `port` 0..65535.
 * Errors: -EINVAL (a NULL, bad address text, port out of range). */
RSOCK_API int rsock_addr_in(rsock_addr *a, const char *host, int port);

/* socket-address-in6: IPv6 `host` in RFC 4291 text (an embedded dotted
 * quad allowed), with an optional "%scope" (interface name or number), and
 * `port` 0..65535.  Errors: -EINVAL (a NULL, bad text, port out of range),
 * -ENODEV (a scope name that names no interface). */
RSOCK_API int rsock_addr_in6(rsock_addr *a, const char *host, int port);

/* socket-address-un: a Unix address.  A leading '@' names Linux's abstract
 * namespace ("@name": at most UNIX_MAX_PATH - 1 bytes after the '@', length
 * counts no padding; "@" alone is the empty name).  A pathname's length
 * counts its NUL, as getsockname reports it.  Errors: -EINVAL (a NULL or an
 * empty path), -ENAMETOOLONG (a path of UNIX_MAX_PATH bytes or more). */
RSOCK_API int rsock_addr_un(rsock_addr *a, const char *path);

/* socket-address: parse address text.  The grammar, tried in this order:
 *   unix:p            a Unix path p taken as is ("unix:" alone: unnamed)
 *   @name             an abstract Unix name
 *   scheme://...      refused: a URL is not address text
 *   /path, ./p, a/b   a Unix path (any text containing '/')
 *   netlink:PID:GROUPS  AF_NETLINK, two unsigned decimals
 *   packet:IFINDEX:PROTO  AF_PACKET; PROTO decimal or 0x-hex (ethertype),
 *                     then optional ",hatype=N,pkttype=N,addr=HH:HH:..."
 *   1.2.3.4:80        IPv4 (exactly four decimal parts) and port
 *   [::1]:80          IPv6 in brackets, optional %scope inside them (all
 *                     digits: an index, else a name), then an optional
 *                     ",flowinfo=0xHEX" (sin6_flowinfo)
 *   ::1:80            bare IPv6, split at its last colon (as the reference)
 *   :80               the wildcard 0.0.0.0:80
 *   name:80           a host name (letters, digits, '-', '.', '_'),
 *                     resolved (first IPv4 or IPv6 address); called in a
 *                     fiber, the resolver runs off the loop
 * In Unix names "\xHH" is a byte and "\\" a backslash; a path may fill
 * sun_path (UNIX_MAX_PATH bytes, no NUL).
 * Nothing else is taken as a path.  Hex-looking names ("db:5432") are names;
 * numeric-looking hosts ("127.1", "0x7f.0.0.1") are refused, never resolved.
 * Ports are 1 to 5 decimal digits, 0..65535.  `a` is written only on success.
 * Errors: -EINVAL (a NULL, bad text: the message says which part),
 * -ENAMETOOLONG (a Unix path too long), -ENODEV (a scope naming no
 * interface), -ENOENT (the name does not resolve; the message carries the
 * resolver's text), -EHOSTUNREACH (the resolver said "try again"), -ENOMEM. */
RSOCK_API int rsock_addr_parse(rsock_addr *a, const char *text);

/* socket-address?: true when `a` is not NULL, its family is one this
 * library knows and its length fits that family: at least the whole
 * sockaddr_in / sockaddr_in6 / sockaddr_nl, at least up to sll_addr for
 * AF_PACKET (with room for sll_halen bytes of hardware address), from
 * sun_path's offset to sizeof(struct sockaddr_un) + 1 (a full sun_path and
 * the kernel's NUL) for
 * AF_UNIX, and never more than sizeof(struct sockaddr_storage). */
RSOCK_API bool rsock_addr_valid(const rsock_addr *a);

/* socket-address-family: the family (AF_INET, ...), or -EINVAL for NULL. */
RSOCK_API int rsock_addr_family(const rsock_addr *a);

/* socket-address->string: write `a` as text, snprintf-style: returns the
 * length the whole text needs (without the NUL); when that is >= `size`,
 * writes a NUL-terminated prefix (nothing when size is 0; buf may be NULL
 * then, to ask for the length).  Forms: "1.2.3.4:80", "[2001:db8::1]:80"
 * (RFC 5952), "[::ffff:1.2.3.4]:80", "[fe80::1%eth0]:80" (the interface's
 * name, or its number when no interface has it), "/abs/path",
 * "unix:rel.sock", "unix:" (unnamed), "@abstract", "netlink:PID:GROUPS",
 * "packet:IFINDEX:0xPROTO"; a flow label as "[::1]:80,flowinfo=0x12345",
 * other sockaddr_ll fields as ",hatype=N,pkttype=N,addr=HH:HH:...".  Unix
 * names are escaped: printable ASCII as is, '\' as "\\", other bytes as
 * "\xHH" (the text is one printable line).  A scope name that would not
 * read back (all digits, not printable ASCII) is written as its index.
 * rsock_addr_parse reads every form back to the same address.
 * Errors: -EINVAL (NULL `a`, NULL buf
 * with size > 0, an invalid address; buf gets "" when it has room). */
RSOCK_API int rsock_addr_format(const rsock_addr *a, char *buf, size_t size);

/* socket-address->address: the IP and port of an AF_INET or AF_INET6
 * address.  Copies 4 or 16 bytes to `ip` (if not NULL) and the port to
 * `*port` (if not NULL); returns the IP length, 4 or 16.
 * Errors: -EINVAL (NULL `a`), -EAFNOSUPPORT (not an IP address). */
RSOCK_API int rsock_addr_ip(const rsock_addr *a, uint8_t ip[16], int *port);

/* The path of a pathname Unix address (NUL-terminated, inside `a`);
 * NULL for an abstract or unnamed Unix address, any other family, or NULL. */
RSOCK_API const char *rsock_addr_path(const rsock_addr *a);

/* ======================================================================
 * Socket devices  (reference: socket, server-socket, socket-bind, ...)
 * ====================================================================== */

/* Opaque socket device. */
typedef struct rsock rsock_t;

/* The reference's default listen backlog. */
#define RSOCK_BACKLOG 10

/* socket: make a socket of (domain, type, proto), non-blocking and
 * close-on-exec, open for input and output, and registered with this
 * thread's loop.  Errors: -EINVAL (NULL out), and the kernel's
 * (-EAFNOSUPPORT, -EPROTONOSUPPORT, -EMFILE, -EPERM for raw sockets, ...). */
RSOCK_API int rsock_socket(int domain, int type, int proto, rsock_t **out);

/* server-socket: as rsock_socket, but open for input only: bind, listen
 * and accept work; every output operation fails with -EBADF. */
RSOCK_API int rsock_server_socket(int domain, int type, int proto, rsock_t **out);

/* socket?: true when `fd` is an open socket descriptor. */
RSOCK_API bool rsock_is_socket(int fd);

/* Adopt an open socket descriptor: it is made non-blocking and close-on-exec
 * and from then on belongs to the device (rsock_close closes it).
 * Errors: -EINVAL (NULL out), -EBADF (not open), -ENOTSOCK (not a socket);
 * on any error the descriptor is left open and untouched. */
RSOCK_API int rsock_fdopen(int fd, rsock_t **out);

/* socket-bind.  Errors: -EINVAL (a NULL, an invalid address),
 * -EAFNOSUPPORT (address family differs from the socket's), the kernel's. */
RSOCK_API int rsock_bind(rsock_t *s, const rsock_addr *a);

/* socket-listen; backlog < 0 means RSOCK_BACKLOG.  Errors: the kernel's. */
RSOCK_API int rsock_listen(rsock_t *s, int backlog);

/* socket-accept: the next pending connection as a new device (non-blocking,
 * close-on-exec, open both ways); its peer address to `peer` if not NULL.
 * Errors: -EAGAIN (none pending), -EINVAL (NULL s or out), -EMFILE, ... */
RSOCK_API int rsock_accept(rsock_t *s, rsock_addr *peer, rsock_t **out);

/* socket-connect: 0 when connected, -EINPROGRESS when pending (wait for
 * output, then read SO_ERROR), or the kernel's error (-ECONNREFUSED, ...). */
RSOCK_API int rsock_connect(rsock_t *s, const rsock_addr *a);

/* socket-shutdown: shut down SHUT_RD, SHUT_WR or SHUT_RDWR, and close that
 * direction of the device: later operations in a closed direction fail with
 * -EBADF (as output on a server socket does), with a message saying so.
 * Errors: -EINVAL (bad how), -ENOTCONN, the kernel's. */
RSOCK_API int rsock_shutdown(rsock_t *s, int how);

/* socket-close: close the descriptor, wake every fiber waiting on the
 * device with -ECANCELED, free the device.  rsock_close(NULL) is 0.
 * Returns 0, or the kernel's close error (the device is freed anyway). */
RSOCK_API int rsock_close(rsock_t *s);

/* socket-send: send `len` bytes; returns the bytes taken (maybe fewer).
 * Never raises SIGPIPE.  Errors: -EAGAIN (buffer full), -EBADF (a server
 * socket, or output shut down), -EPIPE (peer gone), -EINVAL (NULL buf with
 * len > 0). */
RSOCK_API ssize_t rsock_send(rsock_t *s, const void *buf, size_t len, int flags);

/* socket-sendto: as rsock_send, to address `to` (NULL: the connected peer). */
RSOCK_API ssize_t rsock_sendto(rsock_t *s, const void *buf, size_t len, int flags,
                               const rsock_addr *to);

/* socket-sendmsg: gather-send `iovcnt` buffers with control data `ctl`
 * (cmsg-formatted, `ctllen` bytes) to `to`; each of to, iov, ctl may be NULL.
 * Errors: as rsock_send, and -EINVAL (iovcnt > IOV_MAX, NULL iov with
 * iovcnt > 0, ctllen shorter than one cmsghdr). */
RSOCK_API ssize_t rsock_sendmsg(rsock_t *s, const rsock_addr *to, const struct iovec *iov,
                                size_t iovcnt, const void *ctl, size_t ctllen, int flags);

/* socket-recvmsg* (send side): send a caller-owned msghdr as is
 * (MSG_NOSIGNAL added).  Errors: as rsock_sendmsg. */
RSOCK_API ssize_t rsock_sendmsg_raw(rsock_t *s, const struct msghdr *msg, int flags);

/* socket-recv: receive up to `len` bytes; 0 at end of stream.
 * Errors: -EAGAIN (nothing yet), -EBADF (input shut down), -EINVAL. */
RSOCK_API ssize_t rsock_recv(rsock_t *s, void *buf, size_t len, int flags);

/* socket-recvfrom: as rsock_recv; the sender's address to `from` if not
 * NULL (from->len 0 when the socket has no sender address, e.g. a stream). */
RSOCK_API ssize_t rsock_recvfrom(rsock_t *s, void *buf, size_t len, int flags,
                                 rsock_addr *from);

/* socket-recvmsg: scatter-receive into `iov`, control data into `ctl`.
 * Returns the reference's four values: the byte count (returned; with
 * MSG_TRUNC the datagram's full length), the name length (from->len),
 * the control length (*ctllen in: buffer size, out: bytes written) and the
 * message flags (*rflags: MSG_TRUNC, MSG_CTRUNC, ...).  from, ctl, ctllen
 * and rflags may be NULL.  Errors: as rsock_recv, and -EINVAL (iovcnt >
 * IOV_MAX, a control buffer smaller than one cmsghdr). */
RSOCK_API ssize_t rsock_recvmsg(rsock_t *s, rsock_addr *from, const struct iovec *iov,
                                size_t iovcnt, void *ctl, size_t *ctllen, int flags,
                                int *rflags);

/* socket-recvmsg*: receive into a caller-owned msghdr (all its fields are
 * the caller's: name, iov, control and flags are written by the kernel). */
RSOCK_API ssize_t rsock_recvmsg_raw(rsock_t *s, struct msghdr *msg, int flags);

/* socket-getpeername / socket-getsockname.  Errors: -EINVAL (a NULL),
 * -ENOTCONN (no peer), the kernel's. */
RSOCK_API int rsock_getpeername(rsock_t *s, rsock_addr *out);
RSOCK_API int rsock_getsockname(rsock_t *s, rsock_addr *out);

/* socket-domain and friends: the socket's domain (AF_*), type (SOCK_*,
 * without SOCK_NONBLOCK/SOCK_CLOEXEC) and descriptor; -EINVAL for NULL. */
RSOCK_API int rsock_domain(const rsock_t *s);
RSOCK_API int rsock_type(const rsock_t *s);
RSOCK_API int rsock_fd(const rsock_t *s);

/* ======================================================================
 * Socket options  (reference: socket-getsockopt, socket-setsockopt)
 * ====================================================================== */

/* The value types of the option table. */
typedef enum {
    RSOCK_OPT_NONE,     /* not allowed in this direction */
    RSOCK_OPT_INT,      /* v.i */
    RSOCK_OPT_BYTES,    /* v.bytes: caller's buffer, len in/out */
    RSOCK_OPT_LINGER,   /* v.linger: off, or on with seconds */
    RSOCK_OPT_TIMEVAL,  /* v.timeval: seconds as a double */
    RSOCK_OPT_MREQ,     /* v.mreq: IPv4 group and interface address */
    RSOCK_OPT_MREQ_SRC, /* v.mreq_src: group, interface, source */
    RSOCK_OPT_MREQ6,    /* v.mreq6: IPv6 group, interface index */
    RSOCK_OPT_UCRED,    /* v.ucred: SO_PEERCRED */
    RSOCK_OPT_ADDR      /* v.addr: the caller's rsock_addr, filled by a get */
} rsock_opttype;

/* A tagged option value; `type` says which member is meaningful. */
typedef struct {
    rsock_opttype type;
    union {
        int i;
        struct { void *buf; size_t len; } bytes;             /* len is in/out */
        struct { bool on; int seconds; } linger;
        double timeval;                                      /* seconds */
        struct { struct in_addr group, iface; } mreq;
        struct { struct in_addr group, iface, source; } mreq_src;
        struct { struct in6_addr group; unsigned ifindex; } mreq6;
        struct ucred ucred;                                  /* SO_PEERCRED */
        rsock_addr *addr; /* SO_ORIGINAL_DST: set it (and type) before a get */
    };
} rsock_optval;

/* The original destination of a connection that netfilter redirected
 * (nftables `redirect`, `dnat`): a get-only row of type addr, read on the
 * accepted socket.  The kernel's headers name them (<linux/netfilter_ipv4.h>,
 * <linux/netfilter_ipv6/ip6_tables.h>); libc's do not. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* level IPPROTO_IP */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* level IPPROTO_IPV6 */
#endif

/* One row of the option table: the types its get and set take
 * (RSOCK_OPT_NONE: that direction is not allowed).  One row per defsockopt
 * line of the reference; every row and each deviation from it (get-only
 * rows the kernel only reports, SO_PEERCRED as ucred, IP_PKTINFO as int,
 * readable TCP_CONGESTION and IP_MULTICAST_IF, ...) is listed in
 * doc/sockopt-table.md, man page rsock-sockopts(7). */
typedef struct {
    int level, opt;
    const char *name;
    rsock_opttype get, set;
} rsock_sockopt;

/* The row for (level, opt), or NULL when the table has none. */
RSOCK_API const rsock_sockopt *rsock_sockopt_find(int level, int opt);
/* The row named `name` ("TCP_NODELAY", also "SO_OOBLINE"), or NULL. */
RSOCK_API const rsock_sockopt *rsock_sockopt_by_name(const char *name);
/* Every row this platform has; their number to *count (if not NULL). */
RSOCK_API const rsock_sockopt *rsock_sockopt_table(size_t *count);
/* The name of an option type: "int", "bytes", "linger", ... */
RSOCK_API const char *rsock_opttype_name(rsock_opttype t);

/* socket-getsockopt: read option (level, opt) into `v`, typed by its row
 * (v->type is set; for bytes, set v->bytes.buf/len first: len is in/out).
 * Errors: -EINVAL (a NULL), -ENOPROTOOPT (no such row, or the row cannot be
 * read), the kernel's. */
RSOCK_API int rsock_getsockopt(rsock_t *s, int level, int opt, rsock_optval *v);

/* socket-setsockopt: set option (level, opt) from `v`, whose type must be
 * the row's set type.  Errors: -EINVAL (a NULL, a value of another type:
 * "SO_LINGER takes linger, not int"), -ENOPROTOOPT (no such row, or the row
 * cannot be set), the kernel's. */
RSOCK_API int rsock_setsockopt(rsock_t *s, int level, int opt, const rsock_optval *v);

/* Typed shortcuts: each refuses a row of another type with -EINVAL
 * ("SO_LINGER takes linger, not int"), and a direction the row lacks with
 * -ENOPROTOOPT. */
RSOCK_API int rsock_getsockopt_int(rsock_t *s, int level, int opt, int *out);
RSOCK_API int rsock_setsockopt_int(rsock_t *s, int level, int opt, int value);
RSOCK_API int rsock_getsockopt_timeval(rsock_t *s, int level, int opt, double *seconds);
RSOCK_API int rsock_setsockopt_timeval(rsock_t *s, int level, int opt, double seconds);
RSOCK_API int rsock_getsockopt_linger(rsock_t *s, bool *on, int *seconds);
RSOCK_API int rsock_setsockopt_linger(rsock_t *s, bool on, int seconds);
/* Returns the bytes written to buf. */
RSOCK_API ssize_t rsock_getsockopt_bytes(rsock_t *s, int level, int opt, void *buf, size_t len);
RSOCK_API int rsock_setsockopt_bytes(rsock_t *s, int level, int opt, const void *buf,
                                     size_t len);
/* An address option (SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST) into *out, its
 * len that of the family the kernel wrote.  Errors as above: -EINVAL (NULL
 * out), and the kernel's: -ENOENT (no conntrack entry: the connection was
 * not tracked), -ENOPROTOOPT (not TCP, or the kernel has no conntrack). */
RSOCK_API int rsock_getsockopt_addr(rsock_t *s, int level, int opt, rsock_addr *out);

/* ======================================================================
 * Constants  (reference: the Constants list)
 * ====================================================================== */

/* One named constant of the reference. */
typedef struct {
    const char *name;
    int value;
    bool available; /* false: this platform lacks it (value is 0) */
} rsock_const;

/* The value of the reference's constant `name` ("AF_INET", "SO_OOBLINE").
 * Errors: -EINVAL (a NULL), -ENOENT (not a constant of the reference),
 * -ENOTSUP (this platform lacks it: the reference's #f). */
RSOCK_API int rsock_const_lookup(const char *name, int *value);
/* Every constant of the reference, available or not; count to *count. */
RSOCK_API const rsock_const *rsock_const_table(size_t *count);

/* ======================================================================
 * Waiting and fibers  (reference: wait, fd-io-in, fd-io-out, spawn)
 * ====================================================================== */

/* Opaque fiber handle. */
typedef struct rsock_fiber rsock_fiber;

/* Now, in milliseconds on the monotonic clock: the clock of deadlines. */
RSOCK_API int64_t rsock_now(void);

/* The deadline `ms` milliseconds from now, for every call that takes a
 * deadline: rsock_read(s, buf, n, rsock_after(5000)).  A negative `ms` is
 * -1 (no deadline); 0 is now (do not wait); saturates instead of
 * overflowing.  Never fails. */
RSOCK_API int64_t rsock_after(int64_t ms);

/* fd-io-in / fd-io-out: wait until `s` is readable / writable (or has an
 * error or hang-up to report), parking only the calling fiber; outside a
 * fiber, runs this thread's loop until then.  Returns 0 when ready.
 * Errors: -EINVAL (NULL), -ETIMEDOUT (deadline passed; deadline 0 on a
 * device that is not ready), -ECANCELED (another fiber closed `s`). */
RSOCK_API int rsock_wait_in(rsock_t *s, int64_t deadline);
RSOCK_API int rsock_wait_out(rsock_t *s, int64_t deadline);

/* spawn: start fn(arg) in a new fiber of this thread; it first runs when
 * the caller waits, yields or runs the loop.  With `out` NULL the fiber is
 * detached; otherwise it must be joined.  Errors: -EINVAL (NULL fn),
 * -ENOMEM (no memory for a stack). */
RSOCK_API int rsock_spawn(void (*fn)(void *), void *arg, rsock_fiber **out);

/* Wait until fiber `f` has returned, then free it: 0.  Errors: -EINVAL
 * (NULL, or a fiber that is not joinable from here: detached, already
 * joined, or the caller itself), -ETIMEDOUT (deadline passed; `f` is still
 * joinable). */
RSOCK_API int rsock_join(rsock_fiber *f, int64_t deadline);

/* Let the other ready fibers run, then continue.  Returns 0. */
RSOCK_API int rsock_yield(void);

/* Park the calling fiber until `deadline`: 0.  -ECANCELED when the fiber
 * was woken early by rsock_cancel. */
RSOCK_API int rsock_sleep(int64_t deadline);

/* Run this thread's loop until no fiber other than the caller is left.
 * Returns 0. */
RSOCK_API int rsock_run(void);

/* Stack size for fibers spawned from now on by this thread, rounded up to
 * whole pages (a guard page is added below).  Errors: -EINVAL (under
 * 16 KiB).  Returns 0. */
RSOCK_API int rsock_set_stack_size(size_t bytes);

/* Busy-polling for this thread's loop: when no fiber is ready, poll the
 * kernel without blocking for up to `usec` microseconds before sleeping.
 * Saves the sleep and wake-up when events come that close together (a
 * proxied round trip); the spin yields the CPU between polls to any other
 * runnable thread, and adapts, halving after a spin that found nothing, so
 * sparse events cost little CPU.  0 (the default) turns it
 * off.  Errors: -EINVAL (negative or over RSOCK_BUSY_POLL_MAX_US).
 * Returns 0. */
#define RSOCK_BUSY_POLL_MAX_US 1000000 /* one second */
RSOCK_API int rsock_set_busy_poll(int64_t usec);

/* Wake fiber `f` if it is parked (waiting, sleeping or joining): its wait
 * returns -ECANCELED; if it is running or ready, its next wait does.
 * One-shot (a group's cancel is sticky: rsock_group_cancel).  Errors:
 * -EINVAL (NULL, finished, or a fiber of another thread: only a fiber's
 * own thread may cancel or join it). */
RSOCK_API int rsock_cancel(rsock_fiber *f);

/* ======================================================================
 * Fiber groups: structured concurrency
 * ====================================================================== */

/* A set of fibers of one thread that is cancelled and waited for as one
 * (libdill's bundles, Python's TaskGroup). */
typedef struct rsock_group rsock_group;

/* A new, empty group of this thread.  Errors: -EINVAL (NULL out),
 * -ENOMEM. */
RSOCK_API int rsock_group_new(rsock_group **out);

/* Start fn(arg) as a member of `g` (a fiber of this thread, freed when it
 * returns; not joinable).  A member spawned after rsock_group_cancel
 * starts cancelled.  Errors: -EINVAL (NULL, a group of another thread),
 * -ENOMEM. */
RSOCK_API int rsock_group_spawn(rsock_group *g, void (*fn)(void *), void *arg);

/* Wait until no member of `g` is left: 0 (at once for an empty group).
 * Errors: -ETIMEDOUT (deadline passed; 0 with members running),
 * -EDEADLK (called by a member of `g`), -ECANCELED (the caller's own group
 * was cancelled), -EBUSY (another fiber waits on `g`), -EINVAL. */
RSOCK_API int rsock_group_wait(rsock_group *g, int64_t deadline);

/* Cancel every member, sticky: each wait of a member (socket waits,
 * sleep, join, channels, the stream helpers, group waits), the one it is
 * parked in and every later one, returns -ECANCELED at once until the
 * member returns.  Returns 0.  Errors: -EINVAL (NULL, another thread's). */
RSOCK_API int rsock_group_cancel(rsock_group *g);

/* Cancel, wait for every member to return, and free `g`: 0; NULL is 0.
 * Errors: -EDEADLK (called by a member of `g`), -EBUSY (another fiber is
 * in rsock_group_wait on `g`: nothing done), -EINVAL. */
RSOCK_API int rsock_group_close(rsock_group *g);

/* Members still running (0 for NULL). */
RSOCK_API size_t rsock_group_count(const rsock_group *g);

/* ======================================================================
 * Channels: messages between fibers of this thread or any other
 * ====================================================================== */

typedef struct rsock_chan rsock_chan;

/* A channel of messages of `elem_size` bytes (0: signals, no payload)
 * holding up to `capacity` messages (0: rendezvous, a send returns once a
 * receiver has the message).  Errors: -EINVAL (NULL out, elem_size over
 * 1 MiB or a ring too large), -ENOMEM. */
RSOCK_API int rsock_chan_new(size_t elem_size, size_t capacity, rsock_chan **out);

/* Send a copy of elem_size bytes at `elem` (NULL allowed for signals),
 * waiting for room or a receiver: 0.  Messages arrive in the order sent.
 * Errors: -EPIPE (the channel is done, also when it becomes done while
 * waiting), -ETIMEDOUT (nothing sent), -ECANCELED, -EINVAL, -ENOMEM /
 * -EMFILE (this thread's loop or its wake-up eventfd could not be made). */
RSOCK_API int rsock_chan_send(rsock_chan *c, const void *elem, int64_t deadline);

/* Receive the oldest message into `elem`, waiting for one: 0.  Errors:
 * -EPIPE (done and empty: the messages queued before rsock_chan_done are
 * delivered first), -ETIMEDOUT (nothing taken), -ECANCELED, -EINVAL,
 * -ENOMEM / -EMFILE (as rsock_chan_send). */
RSOCK_API int rsock_chan_recv(rsock_chan *c, void *elem, int64_t deadline);

/* No more sends: later sends and parked senders get -EPIPE; receivers get
 * what is queued, then -EPIPE.  Returns 0.  Errors: -EINVAL (NULL). */
RSOCK_API int rsock_chan_done(rsock_chan *c);

/* Free a channel no fiber is parked on: 0; NULL is 0.  Errors: -EBUSY (a
 * fiber is parked on it; nothing freed). */
RSOCK_API int rsock_chan_free(rsock_chan *c);

enum { RSOCK_CHAN_SEND = 1, RSOCK_CHAN_RECV = 2 };
typedef struct {
    rsock_chan *chan;
    int op;     /* RSOCK_CHAN_SEND or RSOCK_CHAN_RECV */
    void *elem; /* the message to send, or where to receive */
} rsock_chan_clause;

/* Do the first of `n` clauses that can proceed (the lowest index when
 * several can), else park until one can: returns that clause's index.
 * Errors: -EPIPE (the clause chosen is on a done channel), -ETIMEDOUT
 * (none done), -ECANCELED, -EINVAL (NULL, n 0, a bad op, a NULL elem
 * where messages have bytes), -ENOMEM / -EMFILE (as rsock_chan_send). */
RSOCK_API int rsock_chan_choose(rsock_chan_clause *cl, size_t n, int64_t deadline);

/* ======================================================================
 * Threads and blocking work
 * ====================================================================== */

/* Before handing `s` to another thread: this thread's loop stops waiting
 * on it (so no event of it is still in flight here when the other thread
 * attaches it).  Until attached again, waits on it fail with -EINVAL.
 * Returns 0.  Errors: -EINVAL (NULL, or not this thread's loop's),
 * -EBUSY (a fiber is parked on it), -EBADF (closed). */
RSOCK_API int rsock_detach(rsock_t *s);

/* Make this thread's loop the one that waits on `s`, a device handed over
 * by another thread: 0.  The other thread calls rsock_detach first; a
 * device still attached elsewhere is taken over best-effort (an event the
 * old loop has already collected may still reach it there).  Errors:
 * -EBUSY (a fiber of another thread is parked on `s`), -EINVAL (NULL),
 * -EBADF (closed), the kernel's (epoll_ctl). */
RSOCK_API int rsock_attach(rsock_t *s);

/* Run fn(arg) on a pooled helper thread (for calls that block: file I/O,
 * a library without a non-blocking form) and park the calling fiber until
 * it returns; this thread's other fibers run meanwhile.  Returns 0 once
 * fn has returned (a cancel while it runs is not honoured: `arg` must
 * outlive the call).  The pool holds at most RSOCK_OFFLOAD_THREADS threads,
 * reused, ended when idle and at exit.  Errors: -EINVAL (NULL fn),
 * -ECANCELED (cancelled before fn started: fn does not run), -ENOMEM /
 * -EAGAIN (no helper thread could be made). */
#define RSOCK_OFFLOAD_THREADS 8
RSOCK_API int rsock_offload(void (*fn)(void *), void *arg);

/* ======================================================================
 * Sockets from a service manager  (systemd's socket activation)
 * ====================================================================== */

/* Adopt the sockets a service manager passed (systemd's LISTEN_FDS
 * protocol, sd_listen_fds(3) without libsystemd): when LISTEN_PID is this
 * process, descriptors 3 .. 3+LISTEN_FDS-1 become devices out[0..], in
 * that order, at most `max` of them (made non-blocking and close-on-exec,
 * as rsock_fdopen does), and LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
 * are unset, so a second call and the children see none.  Descriptors
 * past `max` are left open and untouched (the caller may close them).
 * Returns how many were adopted: 0 when LISTEN_PID is unset or names
 * another process (the variables are then left as they are).  Not
 * thread-safe (it changes the environment): call it at start.  Errors
 * (nothing adopted, the variables kept): -EINVAL (NULL out; LISTEN_PID or
 * LISTEN_FDS not a plain decimal number), -EBADF (a passed descriptor is
 * not open), -ENOTSOCK (one is not a socket; the message names it),
 * -ENOMEM. */
RSOCK_API int rsock_listen_fds(rsock_t **out, size_t max);

/* ======================================================================
 * Stream helpers  (the reference tutorial's higher-level proxy)
 * ====================================================================== */

/* rsock_listen_on flags. */
#define RSOCK_REUSEPORT 1 /* set SO_REUSEPORT before bind */

/* Connect a stream socket to address text (rsock_addr_parse's grammar,
 * parsed once).  A host name is resolved once and its addresses raced
 * (Happy Eyeballs, RFC 8305): IPv6 and IPv4 alternate, IPv6 first; the next
 * attempt starts RSOCK_DIAL_DELAY_MS after the previous one began, or at
 * once when it failed; the first to connect wins and the others are
 * closed; `deadline` bounds the whole dial.  Errors: -EINVAL (a NULL, bad
 * text), -ENOENT / -EHOSTUNREACH (the name does not resolve), -ETIMEDOUT,
 * -ECANCELED, and when every address failed the FIRST attempt's error
 * (-ECONNREFUSED, -ENETUNREACH, ...). */
RSOCK_API int rsock_dial(const char *text, int64_t deadline, rsock_t **out);

/* A listening stream server socket on address text, with SO_REUSEADDR
 * (and SO_REUSEPORT with RSOCK_REUSEPORT in `flags`); backlog < 0 means
 * SOMAXCONN (a server's default; rsock_listen keeps the reference's 10).  A pathname Unix socket file left behind is not removed.
 * Errors: -EINVAL (a NULL, bad text), the kernel's (-EADDRINUSE, ...). */
RSOCK_API int rsock_listen_on(const char *text, int backlog, rsock_t **out);
RSOCK_API int rsock_listen_on_flags(const char *text, int backlog, int flags, rsock_t **out);

/* Accept, waiting until a connection comes or `deadline` passes.
 * Errors: as rsock_accept (never -EAGAIN), -ETIMEDOUT, -ECANCELED. */
RSOCK_API int rsock_accept_wait(rsock_t *s, rsock_addr *peer, rsock_t **out, int64_t deadline);

/* Connect, waiting for a pending connection to finish (SO_ERROR read).
 * Errors: as rsock_connect (never -EINPROGRESS), -ETIMEDOUT, -ECANCELED. */
RSOCK_API int rsock_connect_wait(rsock_t *s, const rsock_addr *a, int64_t deadline);

/* Read at least one byte, waiting for input: bytes read, 0 at end of stream.
 * Errors: as rsock_recv (never -EAGAIN), -ETIMEDOUT, -ECANCELED. */
RSOCK_API ssize_t rsock_read(rsock_t *s, void *buf, size_t len, int64_t deadline);

/* Write all `len` bytes, waiting for room: returns len.  Errors: as
 * rsock_send (never -EAGAIN), -ETIMEDOUT, -ECANCELED; on an error some
 * bytes may have been written. */
RSOCK_API ssize_t rsock_write_all(rsock_t *s, const void *buf, size_t len, int64_t deadline);

/* rsock_copy_with flags. */
#define RSOCK_COPY_SPLICE 1 /* move through splice(2) and a pooled pipe */
#define RSOCK_COPY_BUFFER 2 /* move through a pooled user-space buffer */
/* Both, chosen as the bytes come (the default): the buffer for messages,
 * splice once a single read brings more than 16 KiB, the buffer again
 * after a spell between two waits that moved 16 KiB or less. */
#define RSOCK_COPY_ADAPTIVE (RSOCK_COPY_SPLICE | RSOCK_COPY_BUFFER)
/* Empty pipes each thread keeps for its splice copies to reuse (two
 * descriptors each): a program that budgets its descriptors counts them. */
#define RSOCK_COPY_POOLED_PIPES 64

/* Move bytes from `from` to `to` until end of stream, then shut down the
 * writing side of `to`.  Returns the bytes moved, or the error that stopped
 * the copy, even after some bytes moved (-ETIMEDOUT at the deadline,
 * -ECONNRESET, -EPIPE, -ECANCELED, ...), -EBADF if `from` is shut down
 * for reading or `to` for writing.  Moves by RSOCK_COPY_ADAPTIVE between
 * stream sockets while SIGPIPE is ignored, by the buffer otherwise
 * (figures in doc/rsock_copy.md). */
RSOCK_API int64_t rsock_copy(rsock_t *from, rsock_t *to, int64_t deadline);

/* As rsock_copy with the method chosen by `flags` (0: the default;
 * -EINVAL for any other bit than RSOCK_COPY_ADAPTIVE's), and an
 * idle limit: with idle_ms > 0, the copy stops with -ETIMEDOUT when no byte
 * moved for idle_ms milliseconds. */
RSOCK_API int64_t rsock_copy_with(rsock_t *from, rsock_t *to, int64_t deadline, int64_t idle_ms,
                                  int flags);

/* ---- relay, dial, readers ---- */

/* rsock_dial's delay between two attempts (RFC 8305 "Connection Attempt
 * Delay"), in milliseconds. */
#define RSOCK_DIAL_DELAY_MS 250

/* rsock_relay / rsock_relay_stop flag, with the RSOCK_COPY_* ones: the
 * caller closes both sockets once the relay returns 0, so the direction
 * that reaches its end of stream last does not shut down its writing side
 * (the close sends the end of stream; one syscall fewer per connection). */
#define RSOCK_RELAY_CLOSING 4

/* Bytes a relay moved, per direction. */
typedef struct { int64_t a_to_b, b_to_a; } rsock_relay_stats;

/* Both directions of a connection at once: the tutorial's two copies as one
 * call.  Copies a -> b in the calling fiber and b -> a in a helper fiber
 * (each as rsock_copy_with with `flags`: 0 or RSOCK_COPY_*, plus
 * RSOCK_RELAY_CLOSING), until both directions reached end of stream; each
 * shuts down its writing side when its reader ends (but the last with
 * RSOCK_RELAY_CLOSING).  An error in either direction stops the other at once.
 * With idle_ms > 0 the relay stops when no byte moved EITHER way for
 * idle_ms.  Closes neither socket.  `st` (may be NULL) gets the byte counts,
 * whatever the result.  Returns 0.  Errors: -EINVAL (a NULL socket, a == b,
 * bad flags), -ETIMEDOUT (deadline or idle limit), -ECANCELED, the first
 * error of either direction (-ECONNRESET, -EPIPE, ...), -ENOMEM. */
RSOCK_API int rsock_relay(rsock_t *a, rsock_t *b, int64_t deadline, int64_t idle_ms, int flags,
                          rsock_relay_stats *st);

/* rsock_relay that can be stopped mid-stream without losing a byte (to hand
 * a live connection to another thread or process): when channel `stop` is
 * done (rsock_chan_done; or a signal is sent on it: elem_size 0), each
 * direction stops reading and writes out what it has read and holds, then
 * the relay returns -EINTR with `st` filled, shutting nothing down: the
 * next relay on the same two sockets continues exactly where this one
 * stopped.  A direction that ended before the stop stays ended (its
 * shutdown was sent).  A direction blocked writing finishes that write
 * first: bound it with `deadline` or `idle_ms`.  Returns 0 (both ended
 * before any stop).  Errors: -EINTR (stopped), -EINVAL (a NULL stop), as
 * rsock_relay. */
RSOCK_API int rsock_relay_stop(rsock_t *a, rsock_t *b, int64_t deadline, int64_t idle_ms,
                               int flags, rsock_chan *stop, rsock_relay_stats *st);

/* Read exactly `len` bytes, waiting for input: returns len.  `got` (may be
 * NULL) gets the bytes read, on failure too.  Errors: -EPIPE (the stream
 * ended first: a clean end, as against -ECONNRESET), -EINVAL (NULL s, NULL
 * buf with len > 0), as rsock_read (-ETIMEDOUT, -ECANCELED, ...). */
RSOCK_API ssize_t rsock_read_full(rsock_t *s, void *buf, size_t len, size_t *got,
                                  int64_t deadline);

/* A buffered reader on a stream device, for line- or length-framed
 * protocols (Go's bufio.Reader, asyncio's readline / readexactly).  A value
 * type: keep it on the stack.  Its fields are private. */
#define RSOCK_READER_SIZE 4096 /* the buffer rsock_reader_init allocates by default */
typedef struct {
    rsock_t *s;
    char *buf;
    size_t size, start, end; /* bytes buf[start..end) are read, not yet taken */
    size_t scanned;          /* rsock_reader_line: bytes after start with no '\n' */
    bool owned, eof;
} rsock_reader;

/* Read `s` through `buf` (`size` bytes, the caller's, kept until the reader
 * is done), or with `buf` NULL through a buffer allocated here (`size` 0:
 * RSOCK_READER_SIZE).  Errors: -EINVAL (NULL r or s, a buffer of size 0),
 * -ENOMEM.  The reader never closes `s`. */
RSOCK_API int rsock_reader_init(rsock_reader *r, rsock_t *s, void *buf, size_t size);

/* Free an allocated buffer (not the caller's, not the device).  NULL-safe;
 * returns 0. */
RSOCK_API int rsock_reader_free(rsock_reader *r);

/* The next line: *line points to it in the reader's buffer (valid until the
 * next call on r), '\n' included; returns its length.  A last line without
 * '\n' before the end of stream is returned as it is; 0 at the end of
 * stream.  `limit` caps the line (0: the buffer's size).  Errors:
 * -EMSGSIZE (no '\n' in `limit` bytes; they stay buffered), -EINVAL (NULL
 * r or line, limit over the buffer's size), as rsock_read. */
RSOCK_API ssize_t rsock_reader_line(rsock_reader *r, const char **line, size_t limit,
                                    int64_t deadline);

/* Exactly `len` bytes, buffered first: returns len.  `got` (may be NULL)
 * gets the bytes taken, on failure too.  Errors: as rsock_read_full. */
RSOCK_API ssize_t rsock_reader_read(rsock_reader *r, void *buf, size_t len, size_t *got,
                                    int64_t deadline);

/* Look at the next bytes without taking them: waits until at least `n` are
 * buffered or the stream ended, sets *data to them and returns how many are
 * buffered (n or more; fewer only at the end of stream; n 0 never waits).
 * Errors: -EINVAL (NULL r or data, n over the buffer's size), as rsock_read. */
RSOCK_API ssize_t rsock_reader_peek(rsock_reader *r, const void **data, size_t n,
                                    int64_t deadline);

/* Bytes read from the device and not yet taken (0 for NULL): what a proxy
 * forwards before relaying the rest. */
RSOCK_API size_t rsock_reader_buffered(const rsock_reader *r);

/* ---- messages: batches, control data, GSO/GRO, TCP_INFO ---- */

/* One message of a batch (rsock_sendmmsg / rsock_recvmmsg). */
typedef struct {
    rsock_addr *addr;           /* send: destination or NULL; recv: filled if not NULL */
    const struct iovec *iov; size_t iovcnt;
    void *ctl; size_t ctllen;   /* recv: capacity in, length out */
    size_t len;                 /* out: bytes sent / received */
    int flags;                  /* recv out: MSG_TRUNC, MSG_CTRUNC, ... */
} rsock_mmsg;

/* Send the `n` messages of `m` in as few system calls as the kernel allows
 * (sendmmsg(2), 64 messages a call), on any datagram socket (UDP v4/v6,
 * Unix datagram, raw ...).  Each sent message's `len` is set.  Returns the
 * number of messages sent (at least 1; 0 when n is 0); never raises SIGPIPE.
 * Errors: -EAGAIN (none could be sent), -EINVAL (NULL s or m with n > 0; a
 * message with more than IOV_MAX buffers, a NULL iov with iovcnt > 0, a NULL
 * ctl with ctllen > 0, a ctllen shorter than one cmsghdr, an invalid addr:
 * the message names its index), -EBADF (output shut down), the kernel's. */
RSOCK_API int rsock_sendmmsg(rsock_t *s, rsock_mmsg *m, size_t n, int flags);

/* Receive up to `n` messages (recvmmsg(2)); each received message's len,
 * ctllen (capacity in, length out), flags (MSG_TRUNC, MSG_CTRUNC, ...) and,
 * when addr is not NULL, the sender are set.  Descriptors received with
 * SCM_RIGHTS are close-on-exec; those the control buffer could not hold are
 * closed by the kernel (MSG_CTRUNC).  Returns the number received (at least
 * 1; 0 when n is 0).  Errors: as rsock_sendmmsg, with -EBADF for input. */
RSOCK_API int rsock_recvmmsg(rsock_t *s, rsock_mmsg *m, size_t n, int flags);

/* The waiting forms.  rsock_sendmmsg_wait sends all `n` messages, parking
 * while the socket has no room: returns n.  rsock_recvmmsg_wait parks until
 * at least one message came: returns how many (1..n).  Errors: as above
 * (never -EAGAIN), -ETIMEDOUT (deadline passed; a send's message says how
 * many were sent), -ECANCELED. */
RSOCK_API int rsock_sendmmsg_wait(rsock_t *s, rsock_mmsg *m, size_t n, int flags,
                                  int64_t deadline);
RSOCK_API int rsock_recvmmsg_wait(rsock_t *s, rsock_mmsg *m, size_t n, int flags,
                                  int64_t deadline);

/* One control message, as rsock_cmsg_next finds it: `data` points into the
 * walked buffer, `len` bytes (the header's cmsg_len less the header). */
typedef struct { int level, type; const void *data; size_t len; } rsock_cmsg;

/* Walk a control buffer: returns 1 and the message at *pos in `out`,
 * advancing *pos (start at 0) past it and its padding; 0 at the end.  Never
 * reads outside ctl[0..ctllen); the buffer need not be aligned.
 * Errors: -EINVAL (a NULL pos or out, NULL ctl with ctllen > 0, *pos past
 * ctllen, a header that lies: a cmsg_len under the header's size or past
 * the end, a partial header at the end). */
RSOCK_API int rsock_cmsg_next(const void *ctl, size_t ctllen, size_t *pos, rsock_cmsg *out);

/* Append one control message (level, type, `len` bytes of data) at
 * *ctllen, padded as CMSG_SPACE(len); *ctllen grows by it.  Returns 0.
 * Errors: -ENOSPC (it does not fit in `cap`: nothing is written), -EINVAL
 * (a NULL ctl or ctllen, NULL data with len > 0, *ctllen past cap). */
RSOCK_API int rsock_cmsg_add(void *ctl, size_t cap, size_t *ctllen, int level, int type,
                             const void *data, size_t len);

/* Typed control data.  Each rsock_cmsg_add_X appends as rsock_cmsg_add
 * (-ENOSPC: nothing written); each rsock_cmsg_get_X decodes a message found
 * by rsock_cmsg_next and refuses one of another level/type or a payload of
 * the wrong size with -EINVAL (the message names both). */

/* SCM_RIGHTS: pass descriptors over a Unix socket (1..253 of them). */
RSOCK_API int rsock_cmsg_add_fds(void *ctl, size_t cap, size_t *ctllen, const int *fds,
                                 size_t n);
/* The received descriptors: stores the first `max` in fds[] (they are the
 * caller's to close), CLOSES the rest, and returns how many the message
 * carried (so a return over `max` says some were closed).  Call it once
 * per received message.  Errors: -EINVAL. */
RSOCK_API int rsock_cmsg_get_fds(const rsock_cmsg *c, int *fds, size_t max);
/* Close every descriptor of every SCM_RIGHTS message of a received control
 * buffer (one that will not be decoded): returns how many were closed.
 * Errors: -EINVAL (a lying buffer: nothing is closed). */
RSOCK_API int rsock_cmsg_close_fds(const void *ctl, size_t ctllen);

/* SCM_CREDENTIALS (the receiver sets SO_PASSCRED): `cred` NULL sends this
 * process's own pid, uid and gid. */
RSOCK_API int rsock_cmsg_add_creds(void *ctl, size_t cap, size_t *ctllen,
                                   const struct ucred *cred);
RSOCK_API int rsock_cmsg_get_creds(const rsock_cmsg *c, struct ucred *out);

/* IP_PKTINFO / IPV6_PKTINFO (enable with IP_PKTINFO / IPV6_RECVPKTINFO).
 * Received: `addr` is the local address the datagram was sent to (port 0)
 * and `ifindex` the interface it came in on.  Sent: `addr` is the source
 * address to use (AF_INET or AF_INET6 picks the message; 0.0.0.0 / :: lets
 * the kernel choose) and `ifindex` the interface (0: by route). */
typedef struct {
    rsock_addr addr;
    unsigned ifindex;
} rsock_pktinfo;
RSOCK_API int rsock_cmsg_add_pktinfo(void *ctl, size_t cap, size_t *ctllen,
                                     const rsock_pktinfo *p);
RSOCK_API int rsock_cmsg_get_pktinfo(const rsock_cmsg *c, rsock_pktinfo *out);

/* Integer control data: IP_TTL, IP_TOS, IPV6_HOPLIMIT, IPV6_TCLASS (both
 * ways; received when IP_RECVTTL, IP_RECVTOS, IPV6_RECVHOPLIMIT,
 * IPV6_RECVTCLASS are set), SO_RXQ_OVFL (received: datagrams dropped so
 * far), UDP_SEGMENT (sent: the GSO segment size, 1..65535), UDP_GRO
 * (received: the segment size of a coalesced datagram).  The width is the
 * kernel's for each (IP_TOS arrives as one byte, UDP_SEGMENT is 16 bits).
 * Errors: -EINVAL (another level/type, a value out of the type's range). */
RSOCK_API int rsock_cmsg_add_int(void *ctl, size_t cap, size_t *ctllen, int level, int type,
                                 int value);
RSOCK_API int rsock_cmsg_get_int(const rsock_cmsg *c, int64_t *out);

/* A receive or transmit timestamp: SCM_TIMESTAMP (SO_TIMESTAMP),
 * SCM_TIMESTAMPNS (SO_TIMESTAMPNS) or SCM_TIMESTAMPING (SO_TIMESTAMPING:
 * the software stamp, or the hardware one when only that is set), as
 * nanoseconds since the epoch (CLOCK_REALTIME).  Errors: -EINVAL (another
 * message; SCM_TIMESTAMPING with no stamp set). */
RSOCK_API int rsock_cmsg_get_timestamp(const rsock_cmsg *c, int64_t *ns);

/* A report from the error queue (IP_RECVERR / IPV6_RECVERR set): an ICMP
 * error about a datagram sent, or a transmit timestamp. */
typedef struct {
    int err;             /* ee_errno: ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ENOMSG
                            (a timestamp), ... */
    int origin;          /* SO_EE_ORIGIN_ICMP, _ICMP6, _LOCAL, _TIMESTAMPING, ... */
    int type, code;      /* ICMP / ICMPv6 type and code (ICMP origins) */
    uint32_t info, data; /* ee_info: the MTU for EMSGSIZE, SCM_TSTAMP_SND/_SCHED/
                            _ACK for a timestamp; ee_data: the timestamp key */
    rsock_addr offender; /* the node that reported it (a router, the peer);
                            offender.len 0 when there is none */
} rsock_sockerr;
/* Decode an IP_RECVERR / IPV6_RECVERR message (sock_extended_err and the
 * offender's address).  Errors: -EINVAL. */
RSOCK_API int rsock_cmsg_get_sockerr(const rsock_cmsg *c, rsock_sockerr *out);

/* Read one report of the error queue (recvmsg with MSG_ERRQUEUE), parking
 * until one comes: the bytes of the datagram it is about go to buf (up to
 * len; for a timestamp with SOF_TIMESTAMPING_OPT_TSONLY, none), the report
 * to *e, its timestamp (ns since the epoch, 0 if none) to *stamp_ns (e and
 * stamp_ns may be NULL).  Returns the bytes stored in buf.  Errors:
 * -EINVAL (NULL s), -ETIMEDOUT, -ECANCELED, the kernel's. */
RSOCK_API ssize_t rsock_recv_err(rsock_t *s, void *buf, size_t len, rsock_sockerr *e,
                                 int64_t *stamp_ns, int64_t deadline);

/* UDP GSO: send `len` bytes of `buf` to `to` (NULL: the connected peer) as
 * datagrams of `seg` bytes each (the last one may be shorter), with one
 * sendmsg and a UDP_SEGMENT control message per 64 segments (or 64 KiB).
 * Where the kernel refuses GSO (a device without checksum offload: -EIO; a
 * socket that is not UDP; a kernel before 4.18), it falls back to
 * rsock_sendmmsg of the segments, unless RSOCK_GSO_STRICT is in `flags`.
 * Returns the bytes sent: all of them, or fewer (a multiple of seg) when
 * the socket's buffer filled.  `len` 0 sends nothing.  Errors: -EAGAIN
 * (nothing sent), -EINVAL (a NULL, seg 0 or over 65507, an unknown flag),
 * -EMSGSIZE or -EINVAL as the kernel says (seg over the path MTU),
 * -EOPNOTSUPP (RSOCK_GSO_STRICT on a socket that is not UDP), the kernel's
 * refusal with RSOCK_GSO_STRICT (-EIO: UDP-Lite, a device that cannot
 * checksum on kernels before 6.x), the kernel's. */
#define RSOCK_GSO_STRICT 1 /* no fallback: report the kernel's refusal */
RSOCK_API ssize_t rsock_send_gso(rsock_t *s, const rsock_addr *to, const void *buf, size_t len,
                                 size_t seg, int flags);

/* UDP GRO: receive one datagram, maybe several coalesced by the kernel
 * (UDP_GRO set on the socket: rsock_setsockopt_int(s, SOL_UDP, UDP_GRO, 1)).
 * The segment size goes to *seg (the byte count when nothing was
 * coalesced); the sender to `from` if not NULL.  `len` should be 65535 to
 * hold a whole coalesced datagram.  Returns the bytes received.  Errors: as
 * rsock_recvfrom (-EAGAIN: nothing yet), -EINVAL (NULL seg). */
RSOCK_API ssize_t rsock_recv_gro(rsock_t *s, void *buf, size_t len, size_t *seg,
                                 rsock_addr *from);

/* TCP_INFO, decoded.  Times in microseconds unless named _ms; fields the
 * running kernel does not fill stay 0 (`kernel_len` says how many bytes of
 * its struct tcp_info it filled). */
typedef struct {
    int state;                      /* TCP_ESTABLISHED, ... (netinet/tcp.h) */
    int ca_state;                   /* congestion: 0 open, 1 disorder, 2 cwr, 3 recovery, 4 loss */
    int retransmits, probes, backoff;
    int options;                    /* TCPI_OPT_* */
    int snd_wscale, rcv_wscale;
    uint32_t rto, ato, snd_mss, rcv_mss;
    uint32_t unacked, sacked, lost, retrans;
    uint32_t last_data_sent_ms, last_ack_recv_ms, last_data_recv_ms;
    uint32_t pmtu, rcv_ssthresh;
    uint32_t rtt, rttvar;           /* smoothed rtt and its variance, us */
    uint32_t snd_ssthresh, snd_cwnd; /* segments */
    uint32_t advmss, reordering;
    uint32_t rcv_rtt, rcv_space;
    uint32_t total_retrans;
    uint64_t pacing_rate, max_pacing_rate; /* bytes/s */
    uint64_t bytes_acked, bytes_received;
    uint32_t segs_out, segs_in;
    uint32_t notsent_bytes;
    uint32_t min_rtt;
    uint32_t data_segs_in, data_segs_out;
    uint64_t delivery_rate;         /* bytes/s */
    uint64_t busy_time, rwnd_limited, sndbuf_limited; /* us */
    uint32_t delivered, delivered_ce;
    uint64_t bytes_sent, bytes_retrans;
    uint32_t dsack_dups, reord_seen;
    uint32_t rcv_ooopack, snd_wnd;
    size_t kernel_len;
} rsock_tcp_info;
/* Read TCP_INFO of a TCP socket into *out.  Errors: -EINVAL (a NULL),
 * -EOPNOTSUPP (not a TCP socket), the kernel's. */
RSOCK_API int rsock_get_tcp_info(rsock_t *s, rsock_tcp_info *out);

/* Datagram helpers, as the stream helpers are for streams. */
/* A datagram socket of the address's family bound to address text
 * (rsock_addr_parse's grammar: "127.0.0.1:0", "[::]:5353", "/tmp/d.sock",
 * "@name").  Errors: -EINVAL (a NULL, bad text), the kernel's. */
RSOCK_API int rsock_dgram_bind(const char *text, rsock_t **out);
/* A datagram socket connected to address text (the local end ephemeral;
 * a Unix one unnamed).  Errors: as rsock_dgram_bind. */
RSOCK_API int rsock_dgram_dial(const char *text, rsock_t **out);
/* Join / leave multicast `group` (IPv4 or IPv6 address text, no port) on
 * interface `iface` (a name such as "eth0", an index as text, or NULL /
 * "" for the kernel's choice).  Errors: -EINVAL (a NULL, bad text, not a
 * multicast address), -ENODEV (no such interface), the kernel's
 * (-EADDRINUSE: already joined; -EADDRNOTAVAIL: not joined). */
RSOCK_API int rsock_mcast_join(rsock_t *s, const char *group, const char *iface);
RSOCK_API int rsock_mcast_leave(rsock_t *s, const char *group, const char *iface);
/* Receive one datagram, parking until one comes: bytes received (the
 * datagram's, cut to len), its sender to `from` if not NULL.  Errors: as
 * rsock_recvfrom (never -EAGAIN), -ETIMEDOUT, -ECANCELED. */
RSOCK_API ssize_t rsock_recvfrom_wait(rsock_t *s, void *buf, size_t len, rsock_addr *from,
                                      int64_t deadline);
/* Send one datagram to `to` (NULL: the connected peer), parking while the
 * socket has no room (a Unix datagram peer's queue is full): returns len.
 * Errors: as rsock_sendto (never -EAGAIN), -ETIMEDOUT, -ECANCELED. */
RSOCK_API ssize_t rsock_sendto_wait(rsock_t *s, const void *buf, size_t len,
                                    const rsock_addr *to, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif /* RSOCK_H */
