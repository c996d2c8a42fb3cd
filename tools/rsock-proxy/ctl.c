/* The control socket: --control PATH, a Unix stream socket only its owner
 * may use (made 0600 under a umask, then checked), served by fibers of
 * thread 0 in one group: an acceptor and one fiber per client, each line
 * waited for with a deadline, so a silent client parks only its own fiber
 * and is closed in the end.  Commands and answers: ctl.h.
 * The file is removed at the end through a handle on its directory opened
 * at the bind (after --chroot the path names nothing).  It stays the
 * starting user's under --user (given to the user, any process of the
 * user could control the proxy): where the user may not remove it, it is
 * left, and the next start replaces it, as nobody answers there. */
#include "ctl.h"
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_IDLE_MS 30000 /* a client's wait for its next command */
#define CTL_LINE_MAX 1024
#define CTL_MAX_CLIENTS 16 /* more at once are told "busy" and closed */

static struct {
    rsock_t *listener;
    rsock_group *fibers;
    rsock_addr addr;
    struct stat st; /* the socket file as bound: removed at the end only if still it */
    int dir;        /* its directory (O_PATH), opened at the bind */
    char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* its last component */
    int clients;
} ctl;

/* `s` as a JSON string (quotes, backslashes and control bytes escaped). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The totals, and the connections each thread has served (accepted, or
 * taken over): how evenly the threads share the clients. */
static void answer_stats(FILE *f)
{
    struct totals t;
    stats_total(&t);
    fprintf(f, "{\"connections\":%lld,\"active\":%lld,\"bytes_up\":%lld,\"bytes_down\":%lld,"
            "\"errors\":%lld,\"thread_connections\":[",
            (long long)t.conns, (long long)t.active, (long long)t.up, (long long)t.down,
            (long long)t.errors);
    for (int i = 0; i < nworkers; i++)
        fprintf(f, "%s%lld", i ? "," : "", (long long)STAT_GET(workers[i].conns_total));
    fputs("]}", f);
}

static void answer_servers(FILE *f, struct pool *p)
{
    struct server **servers = NULL;
    int n = pool_servers(p, &servers);
    for (int i = 0; i < n; i++) {
        struct server *s = servers[i];
        fprintf(f, "%s{\"address\":", i ? "," : "");
        json_string(f, s->text);
        fputs(",\"from\":", f);
        json_string(f, s->from ? s->from : "");
        fprintf(f, ",\"up\":%s,\"active\":%lld}",
                __atomic_load_n(&s->up, __ATOMIC_RELAXED) ? "true" : "false",
                (long long)__atomic_load_n(&s->active, __ATOMIC_RELAXED));
        server_put(s);
    }
    free(servers);
}

static void answer_backends(FILE *f)
{
    fputs("{\"listeners\":[", f);
    for (int i = 0; i < current->nlisteners; i++) {
        const struct listener *l = &current->listeners[i];
        fprintf(f, "%s{\"name\":", i ? "," : "");
        json_string(f, l->lc->name);
        fputs(",\"local\":", f);
        json_string(f, l->local_text);
        fputs(",\"servers\":[", f);
        answer_servers(f, l->pool);
        fputs("]}", f);
    }
    fputs("]}", f);
}

static void answer_reload(FILE *f)
{
    if (control_stopping()) {
        fputs("error: the proxy is stopping", f);
        return;
    }
    int rc = service_reload();
    if (rc == 0)
        fputs("ok", f);
    else
        fprintf(f, "error: reload refused (the errors are in the log): %s", rsock_strerror(rc));
}

/* The answer to one command line (without its '\n') into f; false for
 * `takeover`, which answers itself. */
static bool answer(FILE *f, const char *cmd)
{
    if (!strcmp(cmd, "stats"))
        answer_stats(f);
    else if (!strcmp(cmd, "backends"))
        answer_backends(f);
    else if (!strcmp(cmd, "reload"))
        answer_reload(f);
    else if (!strcmp(cmd, "drain")) {
        log_event("drain", "draining: no new connections; exit when the open ones end");
        control_stop(true);
        fputs("ok", f);
    } else if (!strcmp(cmd, "takeover"))
        return false;
    else {
        fputs("error: unknown command \"", f);
        for (const char *c = cmd; *c && c - cmd < 64; c++)
            fputc(*c >= 0x20 && *c < 0x7f ? *c : '?', f);
        fputs("\" (stats, backends, reload, drain, takeover)", f);
    }
    return true;
}

/* Build the answer to `cmd` and write it with its '\n': 0, 1 after a
 * takeover (the connection is done), or the write's error. */
static int serve_command(rsock_t *c, rsock_reader *r, const char *cmd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    bool answered = answer(f, cmd);
    fputc('\n', f);
    fclose(f);
    ssize_t rc = answered ? rsock_write_all(c, text, len, rsock_after(CTL_IDLE_MS)) : 1;
    free(text);
    if (!answered)
        takeover_give(c, r);
    return rc < 0 ? (int)rc : answered ? 0 : 1;
}

static void serve_client(void *arg)
{
    rsock_t *c = arg;
    rsock_reader r;
    const char *line;
    ssize_t n;
    if (rsock_reader_init(&r, c, NULL, 0) == 0) {
        while ((n = rsock_reader_line(&r, &line, CTL_LINE_MAX, rsock_after(CTL_IDLE_MS))) > 0) {
            char cmd[CTL_LINE_MAX + 1];
            size_t len = (size_t)n;
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
                len--;
            memcpy(cmd, line, len);
            cmd[len] = 0;
            if (len && serve_command(c, &r, cmd) != 0)
                break;
        }
        if (n == -EMSGSIZE)
            rsock_write_all(c, "error: line too long\n", 21, rsock_after(CTL_IDLE_MS));
        rsock_reader_free(&r);
    }
    rsock_close(c);
    ctl.clients--;
}

static void accept_clients(void *unused)
{
    (void)unused;
    rsock_t *c;
    int rc;
    while ((rc = rsock_accept_wait(ctl.listener, NULL, &c, -1)) != -ECANCELED) {
        if (rc < 0) {
            log_line(0, "control socket: accept: %s", rsock_error_message());
            if (rsock_sleep(rsock_after(100)) < 0)
                return;
            continue;
        }
        if (ctl.clients >= CTL_MAX_CLIENTS) {
            rsock_write_all(c, "error: busy\n", 12, rsock_after(100));
            rsock_close(c);
            continue;
        }
        ctl.clients++;
        if (rsock_group_spawn(ctl.fibers, serve_client, c) < 0) {
            ctl.clients--;
            rsock_close(c);
        }
    }
}

/* A socket file left at `path`: replaced when nobody answers on it (a proxy
 * that died) or when we take over from the one that does; else refused. */
static int clear_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "rsock-proxy: --control %s: exists and is not a socket: not removed\n",
                path);
        return -1;
    }
    rsock_t *probe = NULL;
    int rc = rsock_socket(AF_UNIX, SOCK_STREAM, 0, &probe);
    if (rc == 0)
        rc = rsock_connect(probe, &ctl.addr); /* -EAGAIN: a full backlog, alive */
    rsock_close(probe);
    if (rc != -ECONNREFUSED && !cfg.takeover) {
        if (rc == 0 || rc == -EAGAIN)
            fprintf(stderr, "rsock-proxy: --control %s: another proxy answers there (stop it, "
                            "or replace it with --takeover %s)\n", path, path);
        else
            fprintf(stderr, "rsock-proxy: --control %s: cannot tell whether a proxy answers "
                            "there: %s\n", path, rsock_strerror(rc));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "rsock-proxy: --control %s: a socket nobody answers on is there and "
                        "cannot be removed: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Bind under umask 0177 (no moment where others may connect), then check
 * the file really is 0600 and ours. */
static int bind_private(const char *path)
{
    mode_t old = umask(0177);
    int rc = rsock_bind(ctl.listener, &ctl.addr);
    umask(old);
    if (rc < 0) {
        fprintf(stderr, "rsock-proxy: --control %s: %s\n", path, rsock_error_message());
        return -1;
    }
    ctl.dir = open_parent(path, ctl.name, sizeof ctl.name);
    if (ctl.dir < 0) {
        fprintf(stderr, "rsock-proxy: --control %s: its directory: %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }
    if (fstatat(ctl.dir, ctl.name, &ctl.st, AT_SYMLINK_NOFOLLOW) != 0 ||
        (ctl.st.st_mode & 0777) != 0600 || ctl.st.st_uid != geteuid()) {
        fprintf(stderr, "rsock-proxy: --control %s: the socket file is not mode 0600 and ours\n",
                path);
        unlink(path);
        return -1;
    }
    return 0;
}

int ctl_start(const char *path)
{
    char text[sizeof "unix:" + 4096];
    snprintf(text, sizeof text, "unix:%s", path);
    if (rsock_addr_parse(&ctl.addr, text) < 0) {
        fprintf(stderr, "rsock-proxy: --control %s: %s\n", path, rsock_error_message());
        return -1;
    }
    if (clear_path(path) < 0)
        return -1;
    if (rsock_server_socket(AF_UNIX, SOCK_STREAM, 0, &ctl.listener) < 0) {
        fprintf(stderr, "rsock-proxy: --control %s: %s\n", path, rsock_error_message());
        return -1;
    }
    if (bind_private(path) < 0)
        return -1;
    if (rsock_listen(ctl.listener, 16) < 0 || rsock_group_new(&ctl.fibers) < 0 ||
        rsock_group_spawn(ctl.fibers, accept_clients, NULL) < 0) {
        fprintf(stderr, "rsock-proxy: --control %s: %s\n", path, rsock_error_message());
        unlink(path);
        return -1;
    }
    return 0;
}

/* The socket file, while it is still the one we bound (not a successor's:
 * a takeover binds its own there). */
static void remove_socket_file(void)
{
    struct stat now;
    if (fstatat(ctl.dir, ctl.name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
        now.st_dev == ctl.st.st_dev && now.st_ino == ctl.st.st_ino &&
        unlinkat(ctl.dir, ctl.name, 0) != 0)
        log_line(0, "control socket %s left at exit: %s (the next start replaces it)",
                 rsock_addr_path(&ctl.addr), strerror(errno));
    close(ctl.dir);
}

void ctl_end(void)
{
    if (!ctl.listener)
        return;
    rsock_group_close(ctl.fibers);
    rsock_close(ctl.listener);
    ctl.listener = NULL;
    remove_socket_file();
}
