/* The listening socket of a thread, and a Unix LOCAL's file: replaced only
 * when it is a socket nobody accepts on, removed at exit only while it is
 * still the one we bound.  The file is found at exit through its
 * directory, opened when it was bound: after --chroot its path names
 * nothing (or something else), and a relative one is relative to the old
 * working directory.  With --user the file becomes the user's before the
 * drop (in a sticky directory such as /tmp only its owner may remove it),
 * and a directory the user could not remove it from is refused then. */
#include "proxy.h"
#include "transparent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BACKLOG 4096

/* The Unix LOCALs' files as we bound them: removed at exit if still ours. */
static struct bound_path {
    rsock_addr addr;
    struct stat st;
    int dir; /* the directory it is in (O_PATH), opened when it was bound */
    char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* its last component */
} bound_paths[MAX_LISTENERS];
static int nbound_paths;
static char in_the_way[512]; /* why LOCAL's path cannot be ours, or "" */

/* What a path that is in the way is, for the message; NULL for a socket. */
static const char *non_socket_kind(const struct stat *st)
{
    return S_ISSOCK(st->st_mode)  ? NULL
           : S_ISREG(st->st_mode) ? "a regular file"
           : S_ISDIR(st->st_mode) ? "a directory"
           : S_ISLNK(st->st_mode) ? "a symbolic link"
                                  : "not a socket";
}

/* A Unix socket left by a proxy that died: lstat says it is a socket (a
 * file, a directory or a symlink is never removed: connect(2) says
 * "refused" for any of them) and nobody accepts on it any more. */
static bool stale_unix_socket(const rsock_addr *a)
{
    const char *path = rsock_addr_path(a);
    struct stat st;
    rsock_t *probe;
    if (!path || lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    if (rsock_socket(AF_UNIX, SOCK_STREAM, 0, &probe) < 0)
        return false;
    bool stale = rsock_connect(probe, a) == -ECONNREFUSED;
    rsock_close(probe);
    return stale && unlink(path) == 0;
}

/* LOCAL's path exists and is no socket: refuse, naming what it is. */
static int path_in_the_way(const rsock_addr *a)
{
    const char *path = rsock_addr_path(a);
    struct stat st;
    const char *kind = path && lstat(path, &st) == 0 ? non_socket_kind(&st) : NULL;
    if (!kind)
        return -EADDRINUSE;
    snprintf(in_the_way, sizeof in_the_way, "%s is %s, not a socket: not removed", path, kind);
    return -EEXIST;
}

int open_parent(const char *path, char *name, size_t size)
{
    const char *slash = strrchr(path, '/');
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    snprintf(name, size, "%s", slash ? slash + 1 : path);
    snprintf(dir, sizeof dir, "%.*s", !slash ? 1 : slash == path ? 1 : (int)(slash - path),
             !slash ? "." : path);
    return open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Remember the socket file we bound, to remove only that one at exit. */
static void note_bound_path(const rsock_addr *a)
{
    const char *path = rsock_addr_path(a);
    struct bound_path *b = &bound_paths[nbound_paths];
    if (!path || nbound_paths == MAX_LISTENERS)
        return;
    b->dir = open_parent(path, b->name, sizeof b->name);
    if (b->dir < 0 || fstatat(b->dir, b->name, &b->st, AT_SYMLINK_NOFOLLOW) != 0) {
        log_line(0, "%s: %s: it will not be removed at exit", path, strerror(errno));
        if (b->dir >= 0)
            close(b->dir);
        return;
    }
    b->addr = *a;
    nbound_paths++;
}

static int bind_unix(rsock_t *s, const rsock_addr *a)
{
    int rc = rsock_bind(s, a);
    if (rc == -EADDRINUSE && stale_unix_socket(a))
        rc = rsock_bind(s, a);
    if (rc == -EADDRINUSE)
        rc = path_in_the_way(a);
    if (rc == 0)
        note_bound_path(a);
    return rc;
}

static int bind_listener(const struct listener *l, rsock_t *s, const rsock_addr *a,
                         bool reuseport)
{
    const struct proxy_config *c = l->gen->config;
    bool is_unix = rsock_addr_family(a) == AF_UNIX;
    int rc = is_unix ? 0 : rsock_setsockopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && !is_unix && reuseport)
        rc = rsock_setsockopt_int(s, SOL_SOCKET, SO_REUSEPORT, 1);
    if (rc < 0)
        return rc;
    if (l->lc->transparent && (rc = transparent_listener(s)) < 0)
        return rc; /* before the bind: tproxy hands it any destination */
    set_stream_options(c, s);
    apply_sockopts(c, s, ON_LISTEN);
    rc = is_unix ? bind_unix(s, a) : rsock_bind(s, a);
    return rc < 0 ? rc : rsock_listen(s, BACKLOG);
}

int open_listener(const struct listener *l, const rsock_addr *at, bool reuseport, rsock_t **out)
{
    rsock_t *s = NULL;
    in_the_way[0] = 0;
    int rc = rsock_server_socket(rsock_addr_family(at), SOCK_STREAM, 0, &s);
    if (rc == 0)
        rc = bind_listener(l, s, at, reuseport);
    if (rc < 0) {
        log_line(-1, "cannot listen on %s: %s", l->lc->local,
                 in_the_way[0] ? in_the_way : rsock_error_message());
        privs_note_bind_failure(rc);
        rsock_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* A takeover: the new process serves (and removes) our Unix LOCALs. */
void forget_local_paths(void)
{
    for (int i = 0; i < nbound_paths; i++)
        close(bound_paths[i].dir);
    nbound_paths = 0;
}

/* A takeover: a Unix LOCAL the old process bound is ours to remove now. */
void keep_local_path(const rsock_addr *a)
{
    note_bound_path(a);
}

/* A pathname Unix LOCAL is ours: remove it on the way out, but only while
 * it is still the socket we bound (device and inode): a replacement proxy
 * started during our grace period has bound a new one there. */
void remove_local_paths(void)
{
    for (int i = 0; i < nbound_paths; i++) {
        const struct bound_path *b = &bound_paths[i];
        struct stat now;
        if (fstatat(b->dir, b->name, &now, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(now.st_mode) &&
            now.st_dev == b->st.st_dev && now.st_ino == b->st.st_ino &&
            unlinkat(b->dir, b->name, 0) != 0)
            log_line(0, "cannot remove %s at exit: %s", rsock_addr_path(&b->addr), strerror(errno));
    }
}

/* --user, before the drop: our socket files become the user's. */
void give_local_paths(uid_t uid, gid_t gid)
{
    for (int i = 0; i < nbound_paths; i++)
        if (fchownat(bound_paths[i].dir, bound_paths[i].name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
            log_line(0, "%s: chown to uid %u: %s", rsock_addr_path(&bound_paths[i].addr),
                     (unsigned)uid, strerror(errno));
}

static bool in_groups(gid_t g, const gid_t *groups, int ngroups)
{
    for (int i = 0; i < ngroups; i++)
        if (groups[i] == g)
            return true;
    return false;
}

/* --user, before the drop: the path of a socket file whose directory the
 * user may not write and search (so could not remove it at exit), NULL
 * when there is none.  The mode bits of the class the user falls in, as
 * the kernel checks them (ACLs are not read: the kernel's answer at exit is
 * then logged). */
const char *local_path_kept_from(uid_t uid, const gid_t *groups, int ngroups)
{
    for (int i = 0; uid != 0 && i < nbound_paths; i++) {
        struct stat d;
        if (fstat(bound_paths[i].dir, &d) != 0)
            return rsock_addr_path(&bound_paths[i].addr);
        mode_t need = d.st_uid == uid                       ? S_IWUSR | S_IXUSR
                      : in_groups(d.st_gid, groups, ngroups) ? S_IWGRP | S_IXGRP
                                                             : S_IWOTH | S_IXOTH;
        if ((d.st_mode & need) != need)
            return rsock_addr_path(&bound_paths[i].addr);
    }
    return NULL;
}
