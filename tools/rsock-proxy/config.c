/* rsock-proxy's options and their parsing.  Every option is one row of
 * `options` (its name, what it takes, whether it is per listener); the
 * command line and a config file both set options through config_set.
 * Every refusal names the option and what it takes (test_proxy_cli.sh). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_POLL_DEFAULT_US 200
/* Slowloris and half-open peers must not hold slots for ever. */
#define IDLE_TIMEOUT_DEFAULT_S 300
#define KEEPALIVE_DEFAULT_S 60 /* TCP keepalive: idle seconds before the first probe */
#define KEEPALIVE_MAX_S 32767  /* the kernel's limit for TCP_KEEPIDLE */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* clang-format off */
static const char usage[] =
"usage: rsock-proxy [options] LOCAL REMOTE [REMOTE...]\n"
"       rsock-proxy [options] -c FILE [--check]\n"
"       rsock-proxy [options] LOCAL original        (behind an nftables redirect)\n"
"       rsock-proxy [options] --transparent LOCAL   (behind an nftables tproxy)\n"
"Accept stream connections on LOCAL and relay each to a REMOTE, both ways.\n"
"Several REMOTEs make a pool.  Addresses: :9999  127.0.0.1:8080  [::1]:80\n"
"host:80  /run/app.sock  @name; LOCAL may also be `systemd` or fd:N.\n"
"REMOTE `original`: where each client was going (the original destination).\n"
"  -c, --config FILE        read listeners and options from FILE (rsock-proxy.conf(5))\n"
"  --check                  validate the configuration and exit (0, or 2 with errors)\n"
"  -v, --verbose            log each connection with both addresses, and when\n"
"                           it closes: duration, bytes each way, rtt\n"
"  -q, --quiet              log nothing but fatal errors\n"
"  --log-format text|json   the form of log lines (default text)\n"
"  --threads N              N threads, each with its own loop and listeners\n"
"                           (default: one per core; 1 for a Unix LOCAL)\n"
"  --max-conns N            at most N open connections; more wait in the backlog\n"
"  --connect-timeout S      give up reaching a REMOTE after S seconds (default 10)\n"
"  --idle-timeout S         close a connection idle both ways for S seconds\n"
"                           (default " STRINGIFY(IDLE_TIMEOUT_DEFAULT_S) ", 0: never)\n"
"  --keepalive S            TCP keepalive on both sides, first probe after S\n"
"                           idle seconds (default " STRINGIFY(KEEPALIVE_DEFAULT_S) ", 0: off)\n"
"  --splice, --no-splice    move bytes only with splice(2), or only through a\n"
"                           buffer (default: the buffer for messages, splice for bulk)\n"
"  --busy-poll US           poll up to US microseconds before each sleep\n"
"                           (adaptive; default " STRINGIFY(BUSY_POLL_DEFAULT_US) ", 0: off)\n"
"  --sockopt [listen|client|server:]NAME=VALUE\n"
"                           set an int socket option, e.g. client:TCP_NODELAY=1\n"
"  --grace S                on SIGINT/SIGTERM, let connections finish for S\n"
"                           seconds (default 5), then exit\n"
"Pools and health:\n"
"  --balance rr|leastconn|hash  round robin (default), fewest open connections,\n"
"                           or a consistent hash of the client address\n"
"  --health-interval S      a TCP connect to each backend every S seconds (default 2, 0: off)\n"
"  --fall N, --rise N       failed checks to mark a backend down (default 3),\n"
"                           passed checks to mark it up (default 2)\n"
"  --resolve-interval S     re-resolve backends given by name (default 30, 0: never)\n"
"PROXY protocol:\n"
"  --send-proxy v1|v2       send a PROXY header to each backend\n"
"  --accept-proxy           read a PROXY header (v1 or v2) from each client\n"
"  --proxy-timeout S        time for that header (default 5)\n"
"Operations:\n"
"  --metrics ADDR           serve Prometheus metrics at http://ADDR/metrics\n"
"  --control PATH           a Unix control socket (stats, backends, reload, drain)\n"
"  --takeover PATH          take listeners and connections over from the proxy\n"
"                           whose control socket is PATH\n"
"  --user NAME              drop to user NAME (and its groups) after binding\n"
"  --chroot DIR             chroot to DIR after binding\n"
"  --keep-cap net_admin     keep CAP_NET_ADMIN after dropping privileges\n"
"  --transparent            an IP_TRANSPARENT listener (nftables tproxy); with\n"
"                           LOCAL alone, each client goes where it was going\n"
"  --spoof-source           connect to backends from the client's own address\n"
"                           (needs --transparent and tproxy's routing)\n"
"  --max-per-client N       open connections per client address (default: any)\n"
"  --rate-limit R           new connections per second per listener (default: any)\n"
"  --buffer-budget BYTES    cap on the memory of relay buffers (default: none)\n"
"  -h, --help, --version\n"
"Signals: SIGHUP reloads the file; SIGUSR1 prints the summary line;\n"
"SIGINT/SIGTERM stop.\n";
/* clang-format on */

static const char *refusal_where = ""; /* "file:line: " while a file is read */

void (*config_reporter)(const char *text);

void config_report(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (config_reporter)
        config_reporter(text);
    else
        fprintf(stderr, "rsock-proxy: %s\n", text);
}

static int refuse(const char *fmt, const char *arg)
{
    char what[768];
    snprintf(what, sizeof what, fmt, arg);
    config_report("%s%s", refusal_where, what);
    if (!refusal_where[0] && !config_reporter)
        fputs("Try 'rsock-proxy --help'.\n", stderr);
    return -EINVAL;
}

/* A number (of seconds, or per second) for `option`, 0..1e7. */
static int parse_number(const char *option, const char *what, const char *arg, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < 0 || v > 1e7) {
        char fmt[128];
        snprintf(fmt, sizeof fmt, "%s: bad %s: \"%%s\"", option, what);
        return refuse(fmt, arg);
    }
    *out = v;
    return 0;
}

/* A whole decimal number in min..max, or false. */
static bool parse_long_in(const char *arg, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A whole number in min..max for `option`; the refusal names both. */
static int parse_option_long(const char *option, const char *arg, long min, long max, long *out)
{
    if (parse_long_in(arg, min, max, out))
        return 0;
    char fmt[128];
    if (max == LONG_MAX)
        snprintf(fmt, sizeof fmt, "%s: \"%%s\" is not in %ld..", option, min);
    else
        snprintf(fmt, sizeof fmt, "%s: \"%%s\" is not in %ld..%ld", option, min, max);
    return refuse(fmt, arg);
}

/* One of `words` (NULL-ended) for `option`: its index, or -EINVAL (said). */
static int parse_word(const char *option, const char *arg, const char *const *words,
                      const char *choices)
{
    for (int i = 0; words[i]; i++)
        if (!strcmp(arg, words[i]))
            return i;
    char fmt[128];
    snprintf(fmt, sizeof fmt, "%s wants %s, not \"%%s\"", option, choices);
    return refuse(fmt, arg);
}

/* The [listen|client|server:] prefix: its place, or -1 (client and server). */
static int sockopt_where(const char **p)
{
    static const char *wheres[] = {"listen:", "client:", "server:"};
    for (int i = 0; i < 3; i++)
        if (!strncmp(*p, wheres[i], strlen(wheres[i]))) {
            *p += strlen(wheres[i]);
            return i;
        }
    return -1;
}

/* The option NAME names in rsock's table, taking an int; NULL: refused. */
static const rsock_sockopt *sockopt_row(const char *arg, const char *p, const char *eq)
{
    char name[64];
    if (!eq || eq == p || (size_t)(eq - p) >= sizeof name) {
        refuse("--sockopt wants [listen|client|server:]NAME=VALUE, not \"%s\"", arg);
        return NULL;
    }
    memcpy(name, p, (size_t)(eq - p));
    name[eq - p] = 0;
    const rsock_sockopt *row = rsock_sockopt_by_name(name);
    if (!row)
        refuse("--sockopt: no socket option named \"%s\"", name);
    else if (row->set != RSOCK_OPT_INT)
        refuse("--sockopt: %s does not take an int", name);
    return row && row->set == RSOCK_OPT_INT ? row : NULL;
}

/* [listen|client|server:]NAME=VALUE; without a prefix: client and server. */
static int parse_sockopt(struct proxy_config *c, const char *arg)
{
    const char *p = arg;
    int where = sockopt_where(&p);
    const char *eq = strchr(p, '=');
    const rsock_sockopt *row = sockopt_row(arg, p, eq);
    if (!row)
        return -EINVAL;
    char *end;
    errno = 0;
    long v = strtol(eq + 1, &end, 0);
    if (errno || end == eq + 1 || *end || v < INT_MIN || v > INT_MAX)
        return refuse("--sockopt: bad int value in \"%s\"", arg);
    for (int i = where < 0 ? ON_CLIENT : where; i <= (where < 0 ? ON_SERVER : where); i++) {
        if (c->nsockopts == MAX_SOCKOPTS)
            return refuse("too many --sockopt (at most %s)", STRINGIFY(MAX_SOCKOPTS));
        c->sockopts[c->nsockopts++] =
            (struct proxy_sockopt){i, row->level, row->opt, (int)v, row->name};
    }
    return 0;
}

/* What an option's value is, and where it goes. */
enum kind { K_FLAG, K_SECONDS, K_RATE, K_LONG, K_INT, K_STRING, K_SPECIAL };
enum scope { GLOBAL, LISTENER };

struct option_row {
    const char *name;
    enum kind kind;
    enum scope scope;
    size_t offset; /* in proxy_config (GLOBAL) or listener_config (LISTENER) */
    long min, max; /* K_LONG and K_INT */
};

#define G(field) GLOBAL, offsetof(struct proxy_config, field)
#define L(field) LISTENER, offsetof(struct listener_config, field)

static const struct option_row options[] = {
    {"verbose", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"quiet", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"log-format", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"threads", K_INT, G(threads), 1, 1024},
    {"max-conns", K_LONG, G(max_conns), 1, LONG_MAX},
    {"connect-timeout", K_SECONDS, G(connect_timeout), 0, 0},
    {"idle-timeout", K_SECONDS, G(idle_timeout), 0, 0},
    {"keepalive", K_LONG, G(keepalive_s), 0, KEEPALIVE_MAX_S},
    {"splice", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"no-splice", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"busy-poll", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"sockopt", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"grace", K_SECONDS, G(grace), 0, 0},
    {"resolve-interval", K_LONG, G(resolve_interval_s), 0, 86400},
    {"metrics", K_STRING, G(metrics), 0, 0},
    {"control", K_STRING, G(control), 0, 0},
    {"takeover", K_STRING, G(takeover), 0, 0},
    {"user", K_STRING, G(user), 0, 0},
    {"chroot", K_STRING, G(chroot_dir), 0, 0},
    {"keep-cap", K_SPECIAL, GLOBAL, 0, 0, 0},
    {"buffer-budget", K_LONG, G(buffer_budget), 0, LONG_MAX},
    {"check", K_FLAG, G(check_only), 0, 0},
    {"config", K_STRING, G(config_file), 0, 0},
    {"balance", K_SPECIAL, LISTENER, 0, 0, 0},
    {"health-interval", K_SECONDS, L(health_interval), 0, 0},
    {"fall", K_INT, L(fall), 1, 1000},
    {"rise", K_INT, L(rise), 1, 1000},
    {"send-proxy", K_SPECIAL, LISTENER, 0, 0, 0},
    {"accept-proxy", K_FLAG, L(accept_proxy), 0, 0},
    {"proxy-timeout", K_SECONDS, L(proxy_timeout), 0, 0},
    {"max-per-client", K_LONG, L(max_per_client), 1, LONG_MAX},
    {"rate-limit", K_RATE, L(rate_limit), 0, 0},
    {"transparent", K_FLAG, L(transparent), 0, 0},
    {"spoof-source", K_FLAG, L(spoof_source), 0, 0},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static const struct option_row *option_named(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (!strcmp(options[i].name, name))
            return &options[i];
    return NULL;
}

bool config_is_listener_option(const char *name)
{
    const struct option_row *o = option_named(name);
    return o && o->scope == LISTENER;
}

static int set_special(struct proxy_config *c, struct listener_config *l, const char *name,
                       const char *value)
{
    static const char *const balances[] = {"rr", "leastconn", "hash", NULL};
    static const char *const formats[] = {"text", "json", NULL};
    static const char *const versions[] = {"none", "v1", "v2", NULL};
    static const char *const caps[] = {"net_admin", NULL};
    long n = 0;
    int i;
    if (!strcmp(name, "verbose") || !strcmp(name, "quiet"))
        c->verbose = name[0] == 'v' ? 1 : -1;
    else if (!strcmp(name, "splice") || !strcmp(name, "no-splice"))
        c->copy_flags = name[0] == 's' ? RSOCK_COPY_SPLICE : RSOCK_COPY_BUFFER;
    else if (!strcmp(name, "sockopt"))
        return parse_sockopt(c, value);
    else if (!strcmp(name, "busy-poll")) {
        if (!parse_long_in(value, 0, RSOCK_BUSY_POLL_MAX_US, &n))
            return refuse("bad number of microseconds (0.." STRINGIFY(
                              RSOCK_BUSY_POLL_MAX_US) "): \"%s\"",
                          value);
        c->busy_poll_us = n;
    } else if (!strcmp(name, "log-format")) {
        if ((i = parse_word("--log-format", value, formats, "text or json")) < 0)
            return i;
        c->log_format = (enum log_format)i;
    } else if (!strcmp(name, "keep-cap")) {
        if ((i = parse_word("--keep-cap", value, caps, "net_admin")) < 0)
            return i;
        c->keep_net_admin = true;
    } else if (!strcmp(name, "balance")) {
        if ((i = parse_word("--balance", value, balances, "rr, leastconn or hash")) < 0)
            return i;
        l->balance = (enum balance)i;
    } else if (!strcmp(name, "send-proxy")) {
        if ((i = parse_word("--send-proxy", value, versions, "v1, v2 or none")) < 0)
            return i;
        l->send_proxy = i;
    }
    return 0;
}

static int set_value(const struct option_row *o, void *base, const char *value)
{
    char option[64];
    snprintf(option, sizeof option, "--%s", o->name);
    char *field = (char *)base + o->offset;
    long n = 0;
    switch (o->kind) {
    case K_FLAG:
        *(bool *)field = true;
        return 0;
    case K_SECONDS:
        return parse_number(option, "number of seconds", value, (double *)field);
    case K_RATE:
        return parse_number(option, "rate (connections per second)", value, (double *)field);
    case K_LONG:
        return parse_option_long(option, value, o->min, o->max, (long *)field);
    case K_INT:
        if (parse_option_long(option, value, o->min, o->max, &n) < 0)
            return -EINVAL;
        *(int *)field = (int)n;
        return 0;
    case K_STRING:
        if (!value[0])
            return refuse("%s wants a value", option);
        free(*(char **)field);
        *(char **)field = strdup(value);
        return *(char **)field ? 0 : -ENOMEM;
    default:
        return -EINVAL;
    }
}

static bool takes_value(const struct option_row *o)
{
    return o->kind != K_FLAG && strcmp(o->name, "verbose") && strcmp(o->name, "quiet") &&
           strcmp(o->name, "splice") && strcmp(o->name, "no-splice");
}

int config_set(struct proxy_config *c, struct listener_config *l, const char *name,
               const char *value, const char *where)
{
    refusal_where = where ? where : "";
    const struct option_row *o = option_named(name);
    int rc;
    if (!o)
        rc = refuse("no option named \"%s\"", name);
    else if (takes_value(o) && !value)
        rc = refuse("--%s wants a value", name);
    else if (!takes_value(o) && value)
        rc = refuse("--%s takes no value", name);
    else {
        struct listener_config *target = l ? l : &c->listener_defaults;
        if (o->kind == K_SPECIAL)
            rc = set_special(c, target, name, value);
        else
            rc = set_value(o, o->scope == LISTENER ? (void *)target : (void *)c, value);
    }
    refusal_where = "";
    return rc;
}

void config_defaults(struct proxy_config *c)
{
    *c = (struct proxy_config){.connect_timeout = 10,
                               .idle_timeout = IDLE_TIMEOUT_DEFAULT_S,
                               .grace = 5,
                               .busy_poll_us = BUSY_POLL_DEFAULT_US,
                               .keepalive_s = KEEPALIVE_DEFAULT_S,
                               .resolve_interval_s = 30};
    c->listener_defaults =
        (struct listener_config){.health_interval = 2, .fall = 3, .rise = 2, .proxy_timeout = 5};
}

struct listener_config *config_add_listener(struct proxy_config *c, const char *local)
{
    if (c->nlisteners == MAX_LISTENERS) {
        refuse("too many listeners (at most %s)", STRINGIFY(MAX_LISTENERS));
        return NULL;
    }
    struct listener_config *l = &c->listeners[c->nlisteners];
    *l = c->listener_defaults;
    l->local = strdup(local);
    l->name = strdup(local);
    if (!l->local || !l->name) {
        free(l->local), free(l->name);
        return NULL;
    }
    c->nlisteners++;
    return l;
}

int config_add_remote(struct listener_config *l, const char *remote)
{
    bool original = !strcmp(remote, "original");
    if (l->original || (original && l->nremotes))
        return refuse("listener %s: `original` cannot share a pool with other REMOTEs", l->name);
    if (original)
        return l->original = true, 0;
    if (l->nremotes == MAX_REMOTES)
        return refuse("too many backends (at most %s)", STRINGIFY(MAX_REMOTES));
    if (!(l->remotes[l->nremotes] = strdup(remote)))
        return -ENOMEM;
    l->nremotes++;
    return 0;
}

void config_free(struct proxy_config *c)
{
    for (int i = 0; i < c->nlisteners; i++) {
        struct listener_config *l = &c->listeners[i];
        free(l->name), free(l->local);
        for (int r = 0; r < l->nremotes; r++)
            free(l->remotes[r]);
    }
    char **strings[] = {&c->config_file, &c->metrics,    &c->control,
                        &c->takeover,    &c->user,       &c->chroot_dir};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        free(*strings[i]), *strings[i] = NULL;
    c->nlisteners = 0;
}

static int check_listener(const struct listener_config *l)
{
    refusal_where = "";
    if (!l->nremotes && !l->transparent && !l->original)
        return refuse("listener %s has no backend", l->name);
    if (l->spoof_source && !l->transparent)
        return refuse("listener %s: spoof-source needs transparent", l->name);
    return 0;
}

int config_check(const struct proxy_config *c)
{
    if (!c->nlisteners)
        return refuse("%s", "no listener");
    int rc = 0;
    for (int i = 0; i < c->nlisteners; i++)
        if (check_listener(&c->listeners[i]) < 0)
            rc = -EINVAL;
    return rc;
}

/* getopt's table, from `options`. */
static void getopt_table(struct option *out)
{
    size_t n = 0;
    for (size_t i = 0; i < NOPTIONS; i++)
        out[n++] = (struct option){options[i].name,
                                   takes_value(&options[i]) ? required_argument : no_argument,
                                   NULL, (int)(256 + i)};
    out[n++] = (struct option){"help", no_argument, NULL, 'h'};
    out[n++] = (struct option){"version", no_argument, NULL, 'V'};
    out[n] = (struct option){0, 0, 0, 0};
}

static int short_option_name(int opt, const char **name)
{
    *name = opt == 'v' ? "verbose" : opt == 'q' ? "quiet" : opt == 'c' ? "config" : NULL;
    if (*name)
        return 0;
    if (opt >= 256 && opt < 256 + (int)NOPTIONS) {
        *name = options[opt - 256].name;
        return 0;
    }
    fputs(usage, stderr);
    return -EINVAL;
}

/* LOCAL REMOTE [REMOTE...] after the options: one listener. */
static int command_line_listener(struct proxy_config *c, int argc, char **argv)
{
    if (c->config_file) {
        if (argc > 0)
            return refuse("%s", "-c FILE takes no LOCAL or REMOTE");
        return 0;
    }
    /* LOCAL alone: a tproxy listener's connections go where they were going */
    if (argc < 2 && !(argc == 1 && c->listener_defaults.transparent))
        return refuse("%s", "LOCAL and REMOTE are required (REMOTE `original`: where each "
                            "client was going, behind an nftables redirect)");
    struct listener_config *l = config_add_listener(c, argv[0]);
    if (!l)
        return -EINVAL;
    for (int i = 1; i < argc; i++)
        if (config_add_remote(l, argv[i]) < 0)
            return -EINVAL;
    return 0;
}

/* The command line's options once more, over what the file said: the
 * command line wins (rsock-proxy.conf(5), PRECEDENCE).  Globals are set
 * again; listener options on every listener of the file.  --sockopt is not
 * repeated: its rows add up, and the command line's are in already. */
static int command_line_wins(struct proxy_config *c, int argc, char **argv,
                             const struct option *table)
{
    int opt, rc = 0;
    const char *name;
    optind = 1;
    while (rc == 0 && (opt = getopt_long(argc, argv, "vqhc:", table, NULL)) != -1) {
        if (short_option_name(opt, &name) < 0)
            return -EINVAL;
        if (!config_is_listener_option(name)) {
            if (strcmp(name, "sockopt"))
                rc = config_set(c, NULL, name, optarg, NULL);
            continue;
        }
        for (int i = 0; rc == 0 && i < c->nlisteners; i++)
            rc = config_set(c, &c->listeners[i], name, optarg, NULL);
    }
    return rc;
}

int parse_config(struct proxy_config *c, int argc, char **argv)
{
    config_defaults(c);
    struct option table[NOPTIONS + 3];
    getopt_table(table);
    int opt, rc = 0;
    const char *name;
    optind = 1;
    while (rc == 0 && (opt = getopt_long(argc, argv, "vqhc:", table, NULL)) != -1) {
        if (opt == 'h')
            return fputs(usage, stdout), 1;
        if (opt == 'V')
            return printf("rsock-proxy %s\n", rsock_version()), 1;
        rc = short_option_name(opt, &name);
        if (rc == 0)
            rc = config_set(c, NULL, name, optarg, NULL);
    }
    if (rc == 0)
        rc = command_line_listener(c, argc - optind, argv + optind);
    if (rc == 0 && c->config_file)
        rc = parse_config_file(c, c->config_file);
    if (rc == 0 && c->config_file)
        rc = command_line_wins(c, argc, argv, table);
    return rc < 0 ? rc : config_check(c);
}
