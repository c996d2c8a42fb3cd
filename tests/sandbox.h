/* Run test code where no packet can leave the machine and name lookups
 * read only a fixed /etc/hosts.  Include after check.h.
 *
 *   int check_sandboxed(void (*fn)(void));
 *
 * Forks a child that enters new network and mount namespaces (so its only
 * interface is a fresh `lo`, brought up here), replaces, for itself only,
 *   /etc/hosts          127.0.0.1 localhost rsock-test-v4 rsock-test-both
 *                       ::1       localhost rsock-test-v6 rsock-test-both
 *                       127.0.0.2 db     127.0.0.3 cafe
 *   /etc/nsswitch.conf  hosts: files
 *   /etc/resolv.conf    nameserver 127.0.0.1
 * then runs fn() there (CHECKs as usual) and exits.  Returns the number of
 * the child's failed checks (0: all passed), or -1 when the sandbox cannot
 * be made (not root, no namespaces): the reason is printed as "SKIP ...".
 *
 *   CHECK_SANDBOXED(fn);
 *
 * does the usual thing: adds the child's failures to this program's, counts
 * a skip as a skip (never a pass), and turns a skip into a failure when $CI
 * is set (CI must run these tests).
 * fn runs in a child process: what it changes does not reach the parent.
 *
 *   int sandbox_replace_file(const char *target, const char *text);
 *
 * (inside fn) puts `text` over file `target` for the rest of the child,
 * e.g. another /etc/hosts; 0, or -1 with the reason printed. */
#ifndef RSOCK_SANDBOX_H
#define RSOCK_SANDBOX_H

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define SANDBOX_SETUP_FAILED 255 /* exit status: the child could not set up */

static const char sandbox_hosts_[] = "127.0.0.1 localhost rsock-test-v4 rsock-test-both\n"
                                     "::1 localhost rsock-test-v6 rsock-test-both\n"
                                     "127.0.0.2 db\n"
                                     "127.0.0.3 cafe\n";

static int sandbox_fail_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "SKIP sandbox: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\n", strerror(errno));
    va_end(ap);
    return -1;
}

static int sandbox_lo_up_(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int rc = fd < 0 ? -1 : ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (fd >= 0)
        close(fd);
    return rc < 0 ? sandbox_fail_("bringing lo up") : 0;
}

/* Bind-mount a temporary file holding `text` over `target`. */
static int sandbox_replace_file(const char *target, const char *text)
{
    char tmp[256];
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/rsock-sandbox-XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return sandbox_fail_("mkstemp %s", tmp);
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    int rc = ok ? mount(tmp, target, "none", MS_BIND, NULL) : -1;
    if (rc < 0 && errno == ENOENT && umount2(target, MNT_DETACH) == 0) /* replaced before */
        rc = mount(tmp, target, "none", MS_BIND, NULL);
    unlink(tmp); /* the mount keeps the file alive */
    return rc < 0 ? sandbox_fail_("bind-mounting over %s", target) : 0;
}

static int sandbox_enter_(void)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
        return sandbox_fail_("unshare(CLONE_NEWNET|CLONE_NEWNS)");
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
        return sandbox_fail_("making mounts private");
    if (sandbox_lo_up_() < 0 || sandbox_replace_file("/etc/hosts", sandbox_hosts_) < 0 ||
        sandbox_replace_file("/etc/nsswitch.conf", "hosts: files\n") < 0 ||
        sandbox_replace_file("/etc/resolv.conf", "nameserver 127.0.0.1\n") < 0)
        return -1;
    return 0;
}

static inline int check_sandboxed(void (*fn)(void))
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP sandbox: needs root for network and mount namespaces "
                        "(run the tests as root, e.g. in CI)\n");
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return sandbox_fail_("fork");
    if (pid == 0) {
        if (sandbox_enter_() < 0) {
            fflush(NULL);
            _exit(SANDBOX_SETUP_FAILED);
        }
        check_failures = 0;
        fn();
        fflush(NULL);
        _exit(check_failures > 250 ? 250 : check_failures);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return sandbox_fail_("waitpid");
    if (!WIFEXITED(status)) {
        fprintf(stderr, "sandboxed child died (status 0x%x)\n", status);
        return 1;
    }
    return WEXITSTATUS(status) == SANDBOX_SETUP_FAILED ? -1 : WEXITSTATUS(status);
}

#define CHECK_SANDBOXED(fn)                                                                        \
    do {                                                                                           \
        int r_ = check_sandboxed(fn);                                                              \
        if (r_ > 0) {                                                                              \
            fprintf(stderr, "%s:%d: %d check(s) failed in sandboxed %s\n", __FILE__, __LINE__, r_, \
                    #fn);                                                                          \
            check_failures += r_;                                                                  \
        } else if (r_ < 0 && getenv("CI")) {                                                       \
            CHECK_FAIL_("sandboxed %s skipped, but CI is set: it must run", #fn);                  \
        } else if (r_ < 0) {                                                                       \
            check_note_skip();                                                                     \
        }                                                                                          \
    } while (0)

#endif
