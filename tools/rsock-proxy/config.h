/* rsock-proxy's configuration: what the command line or a file (-c) says.
 * The command line makes one listener; a file may make several.  Both go
 * through config_set, option by option, so a file says exactly what the
 * command line can, with the same names and the same refusals. */
#ifndef RSOCK_PROXY_CONFIG_H
#define RSOCK_PROXY_CONFIG_H

#include <rsock.h>
#include <stdbool.h>

enum { ON_LISTEN, ON_CLIENT, ON_SERVER }; /* where a --sockopt applies */
#define MAX_SOCKOPTS 32
#define MAX_REMOTES 64
#define MAX_LISTENERS 64

enum balance { BALANCE_RR, BALANCE_LEASTCONN, BALANCE_HASH };
enum log_format { LOG_TEXT, LOG_JSON };

struct proxy_sockopt {
    int where, level, opt, value;
    const char *name; /* rsock's table's, static */
};

/* One LOCAL and what its connections go to.  Strings are the config's own
 * (config_free frees them). */
struct listener_config {
    char *name;  /* the file's `listen NAME`, else LOCAL's text */
    char *local; /* an address, "systemd" or "fd:N" */
    int nremotes;
    char *remotes[MAX_REMOTES]; /* none: transparent (the original destination) */
    enum balance balance;
    double health_interval; /* seconds between active checks; 0: none */
    int fall, rise;         /* checks to go down, to come up */
    int send_proxy;         /* PROXY protocol header to backends: 0, 1 or 2 */
    bool accept_proxy;      /* a header from a front load balancer */
    double proxy_timeout;   /* seconds to wait for that header */
    long max_per_client;    /* open connections per client address; 0: any */
    double rate_limit;      /* new connections per second; 0: any */
    bool transparent;       /* IP_TRANSPARENT listener (TPROXY) */
    bool spoof_source;      /* connect from the client's own address */
    bool original;          /* REMOTE `original`: the original destination (REDIRECT) */
    const char *file;       /* where it was defined, for messages */
    int line;
};

struct proxy_config {
    int verbose;                                 /* -v: 1, -q: -1 */
    int threads;                                 /* 0: one per core */
    long max_conns;                              /* 0: no limit */
    double connect_timeout, idle_timeout, grace; /* seconds; 0: none */
    long keepalive_s;                            /* TCP keepalive idle time; 0: off */
    int copy_flags;                              /* RSOCK_COPY_SPLICE / _BUFFER / 0 */
    long busy_poll_us;                           /* rsock_set_busy_poll per loop; 0: off */
    int nsockopts;
    struct proxy_sockopt sockopts[MAX_SOCKOPTS];
    enum log_format log_format;
    long resolve_interval_s; /* re-resolve backends given by name; 0: never */
    char *config_file;       /* -c FILE, or NULL */
    bool check_only;         /* --check: validate and exit */
    char *metrics;           /* --metrics ADDR, or NULL */
    char *control;           /* --control PATH, or NULL */
    char *takeover;          /* --takeover PATH, or NULL */
    char *user, *chroot_dir; /* --user, --chroot, or NULL */
    bool keep_net_admin;     /* --keep-cap net_admin */
    long buffer_budget;      /* bytes of relay buffers in all; 0: no cap */
    struct listener_config listener_defaults; /* per-listener options said globally */
    int nlisteners;
    struct listener_config listeners[MAX_LISTENERS];
};

/* Fill `c` from the command line (and the file -c names): 0 to run; 1 to
 * exit 0 (--help and --version printed); -EINVAL to exit 2 (the message
 * printed). */
int parse_config(struct proxy_config *c, int argc, char **argv);

/* The defaults, before any option. */
void config_defaults(struct proxy_config *c);
/* A new listener of `c` for LOCAL with the defaults (or the command line's
 * per-listener options): NULL (said) when there are MAX_LISTENERS. */
struct listener_config *config_add_listener(struct proxy_config *c, const char *local);
/* Add REMOTE to l's pool: 0, or -EINVAL (said: too many).  The word
 * `original` (never address text: it has no port) adds no server: each
 * connection goes to its client's original destination (transparent.c);
 * it cannot share a pool with other REMOTEs. */
int config_add_remote(struct listener_config *l, const char *remote);

/* Set option `name` (a long option's name without "--") to `value` (NULL
 * for a flag): per-listener options go to `l` when it is not NULL, else to
 * c's defaults for listeners; global options go to `c`.  0, or -EINVAL
 * with the refusal printed, prefixed by `where` ("file:line: ") if given. */
int config_set(struct proxy_config *c, struct listener_config *l, const char *name,
               const char *value, const char *where);

/* Whether `name` is a per-listener option (a file may say it in a section). */
bool config_is_listener_option(const char *name);

/* Where refusals go: NULL (the default) prints "rsock-proxy: TEXT" on
 * stderr; a reload points it at the log, so that with --log-format json
 * every line stays a JSON object. */
extern void (*config_reporter)(const char *text);
/* One refusal, printf-style, to config_reporter. */
__attribute__((format(printf, 1, 2))) void config_report(const char *fmt, ...);

/* Free what `c` holds (not `c`). */
void config_free(struct proxy_config *c);

/* Validate: every listener has a LOCAL and (unless transparent) a REMOTE,
 * and options agree.  0, or -EINVAL (said). */
int config_check(const struct proxy_config *c);

/* A config file: parse_config_file reads FILE into `c` (its globals and
 * listeners): 0, or -EINVAL with every error printed as "FILE:LINE: ...". */
int parse_config_file(struct proxy_config *c, const char *file);

#endif
