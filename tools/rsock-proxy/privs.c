/* Privileges: --chroot, --user and --keep-cap net_admin, once every socket
 * is bound and before any is served.
 *
 * Every thread's listening sockets must be bound first: a thread binds its
 * own SO_REUSEPORT socket, and the kernel lets a socket join a reuseport
 * group only when it has the same owner as the first one (root's), besides
 * the privileged-port check.  So main starts the threads, each binds and
 * parks at the gate (privs_thread_gate) before its loop runs; main then
 * drops (privs_drop) and opens the gate.
 *
 * The uid, gid and groups are process-wide through glibc: its setgroups,
 * setgid and setuid change every thread (a signal to each; the process
 * aborts if one thread fails), so main's calls suffice.  Capabilities are
 * per thread in the kernel, so each thread sets its own: at the gate, still
 * root, it empties its bounding set (all but CAP_NET_ADMIN with
 * --keep-cap) and sets PR_SET_KEEPCAPS; once through, it capsets exactly
 * CAP_NET_ADMIN, permitted and effective.  Helper threads of the library
 * (rsock_offload, names resolution) lose every capability at the setuid:
 * they never set PR_SET_KEEPCAPS.
 *
 * The result is read back from /proc/self/status (opened before the
 * chroot, read after): real, effective, saved and filesystem ids, the
 * groups and the capabilities; anything else and the proxy exits. */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_GROUPS 256
#define NET_ADMIN_MASK (1ull << CAP_NET_ADMIN)

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int arrived;   /* threads parked at the gate */
static bool gate_open;

static bool dropping(void)
{
    return cfg.user || cfg.chroot_dir || cfg.keep_net_admin;
}

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "rsock-proxy: %s\n", what);
    exit(1);
}

static _Noreturn void die_sys(const char *call, const char *arg)
{
    fprintf(stderr, "rsock-proxy: %s%s%s: %s\n", call, arg ? " " : "", arg ? arg : "",
            strerror(errno));
    exit(1);
}

/* ---- capabilities (this thread's: the kernel keeps them per thread) ---- */

/* Empty the bounding set but `keep`: no execve could give more back.
 * Without CAP_SETPCAP (started unprivileged, e.g. by a service manager's
 * User=) it stays: such a process has nothing to gain it from anyway. */
static void bound_caps(uint64_t keep)
{
    for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
        if (keep & (1ull << cap) || prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
            continue;
        if (errno != EPERM)
            die_sys("prctl", "PR_CAPBSET_DROP");
        return;
    }
}

/* Permitted and effective become exactly `caps`, inheritable and ambient
 * nothing (the raw capset: no libcap). */
static void set_caps(uint64_t caps)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {{0}};
    d[0].permitted = d[0].effective = (uint32_t)caps;
    d[1].permitted = d[1].effective = (uint32_t)(caps >> 32);
    if (syscall(SYS_capset, &h, d) < 0)
        die_sys("capset", caps ? "CAP_NET_ADMIN" : "(none)");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); /* old kernels: none to clear */
}

static uint64_t effective_caps(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {{0}};
    if (syscall(SYS_capget, &h, d) < 0)
        die_sys("capget", NULL);
    return (uint64_t)d[1].effective << 32 | d[0].effective;
}

/* Before the uid changes: what survives it. */
static void thread_before(void)
{
    if (!cfg.user && !cfg.keep_net_admin)
        return;
    bound_caps(cfg.keep_net_admin ? NET_ADMIN_MASK : 0);
    if (cfg.keep_net_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        die_sys("prctl", "PR_SET_KEEPCAPS");
}

/* After: exactly CAP_NET_ADMIN (--keep-cap), else nothing. */
static void thread_after(void)
{
    if (cfg.keep_net_admin) {
        set_caps(NET_ADMIN_MASK);
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    } else if (cfg.user && effective_caps() != 0)
        set_caps(0); /* --user NAME was our own uid: setuid changed nothing */
    uint64_t want = cfg.keep_net_admin ? NET_ADMIN_MASK : 0;
    if ((cfg.user || cfg.keep_net_admin) && effective_caps() != want)
        die("capabilities: not what --user/--keep-cap ask after the drop");
}

void privs_thread_gate(void)
{
    if (!dropping())
        return;
    thread_before();
    pthread_mutex_lock(&gate_lock);
    arrived++;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    thread_after();
}

/* Main: park until every other thread has bound its sockets. */
static void wait_for_threads(void)
{
    pthread_mutex_lock(&gate_lock);
    while (arrived < nworkers - 1)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

static void open_gate(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

/* ---- the user ---- */

struct target {
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;
};

/* --user NAME: its ids and groups, read before the chroot hides /etc. */
static void look_up(const char *name, struct target *t)
{
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        if (errno)
            die_sys("getpwnam", name);
        fprintf(stderr, "rsock-proxy: --user %s: no such user\n", name);
        exit(1);
    }
    t->uid = pw->pw_uid, t->gid = pw->pw_gid;
    t->ngroups = MAX_GROUPS;
    if (getgrouplist(name, pw->pw_gid, t->groups, &t->ngroups) < 0) {
        fprintf(stderr, "rsock-proxy: --user %s: more than %d groups\n", name, MAX_GROUPS);
        exit(1);
    }
}

/* --user: a Unix LOCAL's file is removed at exit as the user (listener.c),
 * so it becomes the user's now, and a directory the user may not write is
 * refused before anything is dropped (the file is removed as root then):
 * else the proxy would serve and leave the file behind at every exit. */
static void hand_local_paths(const struct target *t)
{
    const char *kept = local_path_kept_from(t->uid, t->groups, t->ngroups);
    if (kept) {
        fprintf(stderr,
                "rsock-proxy: --user %s: %s could not be removed at exit: %s may not write "
                "its directory (make the directory %s's, or put LOCAL in one it may write)\n",
                cfg.user, kept, cfg.user, cfg.user);
        remove_local_paths();
        exit(1);
    }
    give_local_paths(t->uid, t->gid);
}

/* setgroups, setgid, setuid: in this order (each needs the privilege the
 * next one takes away).  glibc applies each to every thread. */
static void become(const struct target *t)
{
    if (getuid() == t->uid && geteuid() == t->uid && t->uid != 0)
        return; /* that user already (a service manager dropped for us) */
    if (setgroups((size_t)t->ngroups, t->groups) < 0)
        die_sys("setgroups", cfg.user);
    if (setgid(t->gid) < 0)
        die_sys("setgid", cfg.user);
    if (setuid(t->uid) < 0)
        die_sys("setuid", cfg.user);
}

/* ---- the check: /proc/self/status ---- */

/* The numbers after "Field:\t" in `status` (at most max): how many. */
static int status_numbers(const char *status, const char *field, unsigned long long *out,
                          int max, int base)
{
    const char *p = strstr(status, field);
    if (!p)
        return -1;
    p += strlen(field);
    int n = 0;
    for (char *end; n < max; p = end) {
        unsigned long long v = strtoull(p, &end, base);
        if (end == p || (*end != ' ' && *end != '\t' && *end != '\n' && *end))
            break;
        out[n++] = v;
        if (*end == '\n' || !*end)
            break;
    }
    return n;
}

static bool all_equal(const unsigned long long *v, int n, unsigned long long want)
{
    for (int i = 0; i < n; i++)
        if (v[i] != want)
            return false;
    return n == 4;
}

static bool has_group(const struct target *t, unsigned long long g)
{
    for (int i = 0; i < t->ngroups; i++)
        if (t->groups[i] == g)
            return true;
    return false;
}

/* Exactly the user's groups: each listed one is theirs and each of theirs
 * is listed. */
static bool groups_match(const char *status, const struct target *t)
{
    unsigned long long g[MAX_GROUPS];
    int n = status_numbers(status, "\nGroups:\t", g, MAX_GROUPS, 10);
    if (n < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (!has_group(t, g[i]))
            return false;
    for (int i = 0; i < t->ngroups; i++) {
        bool listed = false;
        for (int k = 0; k < n; k++)
            listed |= g[k] == t->groups[i];
        if (!listed)
            return false;
    }
    return true;
}

static void verify(int fd, const struct target *t)
{
    char status[8192];
    ssize_t n = pread(fd, status, sizeof status - 1, 0);
    if (n <= 0)
        die_sys("reading", "/proc/self/status");
    status[n] = 0;
    unsigned long long ids[4], caps[1];
    if (cfg.user) {
        if (status_numbers(status, "\nUid:\t", ids, 4, 10) != 4 || !all_equal(ids, 4, t->uid))
            die("/proc/self/status: Uid is not --user's in all of real, effective, saved, fs");
        if (status_numbers(status, "\nGid:\t", ids, 4, 10) != 4 || !all_equal(ids, 4, t->gid))
            die("/proc/self/status: Gid is not --user's in all of real, effective, saved, fs");
        if (!groups_match(status, t))
            die("/proc/self/status: Groups are not exactly --user's");
    }
    uint64_t want = cfg.keep_net_admin ? NET_ADMIN_MASK : 0;
    if ((cfg.user || cfg.keep_net_admin) &&
        (status_numbers(status, "\nCapEff:\t", caps, 1, 16) != 1 || caps[0] != want))
        die("/proc/self/status: CapEff is not what --user/--keep-cap ask");
}

static void enter_chroot(const char *dir)
{
    if (chroot(dir) < 0)
        die_sys("chroot", dir);
    if (chdir("/") < 0)
        die_sys("chdir", "/ (in the chroot)");
}

static void say_dropped(const struct target *t)
{
    char caps[32] = "";
    if (cfg.keep_net_admin)
        snprintf(caps, sizeof caps, ", kept CAP_NET_ADMIN");
    if (cfg.user)
        log_line(0, "running as %s (uid %u, gid %u, %d group%s)%s%s%s", cfg.user,
                 (unsigned)t->uid, (unsigned)t->gid, t->ngroups, t->ngroups == 1 ? "" : "s",
                 cfg.chroot_dir ? ", chroot " : "", cfg.chroot_dir ? cfg.chroot_dir : "", caps);
    else if (cfg.chroot_dir || cfg.keep_net_admin)
        log_line(0, "running as uid %u%s%s%s", (unsigned)getuid(),
                 cfg.chroot_dir ? ", chroot " : "", cfg.chroot_dir ? cfg.chroot_dir : "", caps);
}

/* A bind that failed for want of the privilege we gave up: say why. */
void privs_note_bind_failure(int rc)
{
    if (rc == -EACCES && (cfg.user || cfg.keep_net_admin))
        log_line(-1, "(privileges were dropped at the start%s%s: a new LOCAL on a port "
                     "below 1024 needs a restart)",
                 cfg.user ? " to " : "", cfg.user ? cfg.user : "");
}

int privs_drop(void)
{
    if (!cfg.user && geteuid() == 0)
        log_line(0, "warning: running as root without --user: a flaw in the proxy would be "
                    "root's (--user NAME drops to NAME once the sockets are bound)");
    if (!dropping())
        return 0;
    struct target t = {0};
    if (cfg.user)
        look_up(cfg.user, &t);
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC); /* before the chroot hides it */
    if (fd < 0)
        die_sys("open", "/proc/self/status (needed to check the drop)");
    wait_for_threads();
    thread_before();
    if (cfg.user && geteuid() != t.uid)
        hand_local_paths(&t);
    if (cfg.chroot_dir)
        enter_chroot(cfg.chroot_dir);
    if (cfg.user)
        become(&t);
    thread_after();
    verify(fd, &t);
    close(fd);
    open_gate();
    say_dropped(&t);
    return 0;
}
