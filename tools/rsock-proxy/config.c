/* rsock-proxy's options and their parsing.  Every refusal names the option
 * and what it takes (tests/test_proxy_cli.sh). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
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

/* clang-format off: one line of the usage per line here */
static const char usage[] =
    "usage: rsock-proxy [options] LOCAL REMOTE\n"
    "Accept stream connections on LOCAL and relay each to REMOTE, both ways.\n"
    "Addresses: :9999  127.0.0.1:8080  [::1]:80  host:80  /run/app.sock  @name\n"
    "  -v, --verbose            log each connection with both addresses, and when\n"
    "                           it closes: duration, bytes each way, rtt\n"
    "  -q, --quiet              log nothing but fatal errors\n"
    "  --threads N              N threads, each with its own loop and listener\n"
    "                           (default: one per core; 1 for a Unix LOCAL)\n"
    "  --max-conns N            at most N open connections; more wait in the backlog\n"
    "  --connect-timeout S      give up reaching REMOTE after S seconds (default 10)\n"
    "  --idle-timeout S         close a connection idle both ways for S seconds\n"
    "                           (default " STRINGIFY(
        IDLE_TIMEOUT_DEFAULT_S) ", 0: never)\n"
                                "  --keepalive S            TCP keepalive on both sides, first "
                                "probe after S\n"
                                "                           idle seconds (default " STRINGIFY(
                                    KEEPALIVE_DEFAULT_S) ", 0: off)\n"
                                                         "  --splice, --no-splice    move bytes "
                                                         "only with splice(2), or only through a\n"
                                                         "                           buffer "
                                                         "(default: the buffer for messages, "
                                                         "splice\n"
                                                         "                           for bulk)\n"
                                                         "  --busy-poll US           poll up to US "
                                                         "microseconds before each sleep\n"
                                                         "                           (adaptive; "
                                                         "default " STRINGIFY(
                                                             BUSY_POLL_DEFAULT_US) ", 0: off)\n"
                                                                                   "  --sockopt "
                                                                                   "[listen|client|"
                                                                                   "server:]NAME="
                                                                                   "VALUE\n"
                                                                                   "               "
                                                                                   "            "
                                                                                   "set an int "
                                                                                   "socket option, "
                                                                                   "e.g. "
                                                                                   "client:TCP_"
                                                                                   "NODELAY=1\n"
                                                                                   "  --grace S    "
                                                                                   "            on "
                                                                                   "SIGINT/"
                                                                                   "SIGTERM, let "
                                                                                   "connections "
                                                                                   "finish for S\n"
                                                                                   "               "
                                                                                   "            "
                                                                                   "seconds "
                                                                                   "(default 5), "
                                                                                   "then exit\n"
                                                                                   "  -h, --help, "
                                                                                   "--version\n"
                                                                                   "Signals: "
                                                                                   "SIGUSR1 prints "
                                                                                   "the summary "
                                                                                   "line; "
                                                                                   "SIGINT/SIGTERM "
                                                                                   "stop.\n";
/* clang-format on */

static int refuse(const char *fmt, const char *arg)
{
    fprintf(stderr, "rsock-proxy: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'rsock-proxy --help'.\n");
    return -EINVAL;
}

static int parse_seconds(const char *arg, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < 0 || v > 1e7)
        return refuse("bad number of seconds: \"%s\"", arg);
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

static int parse_micros(const char *arg, long *out)
{
    static const char bad[] =
        "bad number of microseconds (0.." STRINGIFY(RSOCK_BUSY_POLL_MAX_US) "): \"%s\"";
    return parse_long_in(arg, 0, RSOCK_BUSY_POLL_MAX_US, out) ? 0 : refuse(bad, arg);
}

/* A whole number in min..max for `option`; the refusal names both. */
static int parse_option_long(const char *option, const char *arg, long min, long max, long *out)
{
    if (parse_long_in(arg, min, max, out))
        return 0;
    char fmt[128];
    snprintf(fmt, sizeof fmt, "%s: \"%%s\" is not in %ld..%ld", option, min, max);
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

enum {
    O_THREADS = 256,
    O_MAX,
    O_CT,
    O_IT,
    O_SPLICE,
    O_NOSPLICE,
    O_SOCKOPT,
    O_GRACE,
    O_VER,
    O_BUSY,
    O_KEEPALIVE
};

static const struct option long_options[] = {{"verbose", no_argument, 0, 'v'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"threads", required_argument, 0, O_THREADS},
                                             {"max-conns", required_argument, 0, O_MAX},
                                             {"connect-timeout", required_argument, 0, O_CT},
                                             {"idle-timeout", required_argument, 0, O_IT},
                                             {"splice", no_argument, 0, O_SPLICE},
                                             {"no-splice", no_argument, 0, O_NOSPLICE},
                                             {"sockopt", required_argument, 0, O_SOCKOPT},
                                             {"grace", required_argument, 0, O_GRACE},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, O_VER},
                                             {"busy-poll", required_argument, 0, O_BUSY},
                                             {"keepalive", required_argument, 0, O_KEEPALIVE},
                                             {0, 0, 0, 0}};

/* One option with its argument: 0, or -EINVAL (said). */
static int parse_option(struct proxy_config *c, int opt, const char *arg)
{
    long n = 0;
    int rc = 0;
    switch (opt) {
    case 'v':
        c->verbose = 1;
        break;
    case 'q':
        c->verbose = -1;
        break;
    case O_THREADS:
        rc = parse_option_long("--threads", arg, 1, 1024, &n);
        c->threads = (int)n;
        break;
    case O_MAX:
        rc = parse_option_long("--max-conns", arg, 1, LONG_MAX, &c->max_conns);
        break;
    case O_KEEPALIVE:
        rc = parse_option_long("--keepalive", arg, 0, KEEPALIVE_MAX_S, &c->keepalive_s);
        break;
    case O_CT:
        rc = parse_seconds(arg, &c->connect_timeout);
        break;
    case O_IT:
        rc = parse_seconds(arg, &c->idle_timeout);
        break;
    case O_GRACE:
        rc = parse_seconds(arg, &c->grace);
        break;
    case O_SPLICE:
        c->copy_flags = RSOCK_COPY_SPLICE;
        break;
    case O_NOSPLICE:
        c->copy_flags = RSOCK_COPY_BUFFER;
        break;
    case O_SOCKOPT:
        rc = parse_sockopt(c, arg);
        break;
    case O_BUSY:
        rc = parse_micros(arg, &c->busy_poll_us);
        break;
    default:
        fputs(usage, stderr);
        return -EINVAL;
    }
    return rc;
}

int parse_config(struct proxy_config *c, int argc, char **argv)
{
    *c = (struct proxy_config){.connect_timeout = 10,
                               .idle_timeout = IDLE_TIMEOUT_DEFAULT_S,
                               .grace = 5,
                               .busy_poll_us = BUSY_POLL_DEFAULT_US,
                               .keepalive_s = KEEPALIVE_DEFAULT_S};
    int opt, rc = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "vqh", long_options, NULL)) != -1) {
        if (opt == 'h')
            return fputs(usage, stdout), 1;
        if (opt == O_VER)
            return printf("rsock-proxy %s\n", rsock_version()), 1;
        rc = parse_option(c, opt, optarg);
    }
    if (rc < 0)
        return rc;
    if (argc - optind != 2)
        return refuse("%s",
                      argc - optind < 2 ? "LOCAL and REMOTE are required" : "too many arguments");
    c->local = argv[optind];
    c->remote = argv[optind + 1];
    return 0;
}
