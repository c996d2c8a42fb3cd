/* Test harness: each test program is its own process, run by ctest with a
 * timeout.  Assertions print both values, file:line and the library's last
 * error message.  CHECK_NO_FD_LEAK compares /proc/self/fd before and after. */
#ifndef RSOCK_CHECK_H
#define RSOCK_CHECK_H

#include "rsock.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_failures;
static int check_passes;
static int check_skips;
static int check_skipped_now;
static int check_in_run_;

/* Exit status of a test program that passed what it ran but skipped some:
 * ctest's SKIP_RETURN_CODE (CMakeLists.txt), the automake convention. */
#define CHECK_EXIT_SKIPPED 77

/* Count one skipped case: the RUN around it counts it, or, outside any RUN,
 * it is counted here. */
static inline void check_note_skip(void)
{
    if (check_in_run_)
        check_skipped_now = 1;
    else
        check_skips++;
}

/* This case cannot run here; say why.  Counted as skipped, never as passed. */
#define SKIP(reason)                                                                               \
    do {                                                                                           \
        printf("SKIP %s: %s\n", __func__, reason);                                                 \
        check_note_skip();                                                                         \
        return;                                                                                    \
    } while (0)

#define CHECK_FAIL_(fmt, ...)                                                                      \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: " fmt "\n  last error: %s\n", __FILE__, __LINE__, __VA_ARGS__,     \
                rsock_error_message());                                                            \
        check_failures++;                                                                          \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            CHECK_FAIL_("CHECK(%s) failed", #cond);                                                \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            CHECK_FAIL_("%s == %s failed: %lld != %lld", #a, #b, a_, b_);                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            CHECK_FAIL_("%s == %s failed: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",           \
                        b_ ? b_ : "(null)");                                                       \
    } while (0)

/* The call failed with -err and recorded a message containing `part`. */
#define CHECK_ERR(call, err, part)                                                                 \
    do {                                                                                           \
        long long r_ = (long long)(call);                                                          \
        if (r_ != -(long long)(err))                                                               \
            CHECK_FAIL_("%s: got %lld, want -%s (%d)", #call, r_, #err, (int)(err));               \
        else if (!strstr(rsock_error_message(), (part)))                                           \
            CHECK_FAIL_("%s: message \"%s\" lacks \"%s\"", #call, rsock_error_message(), (part));  \
    } while (0)

/* Stop the test program at once: the rest would only cascade. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            CHECK_FAIL_("REQUIRE(%s) failed", #cond);                                              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static inline int check_fd_count(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Run one test function and count it. */
#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = check_failures;                                                              \
        check_skipped_now = 0;                                                                     \
        check_in_run_ = 1;                                                                         \
        fn();                                                                                      \
        check_in_run_ = 0;                                                                         \
        if (check_skipped_now)                                                                     \
            check_skips++;                                                                         \
        else if (check_failures == before_)                                                        \
            check_passes++;                                                                        \
        else                                                                                       \
            fprintf(stderr, "FAILED: %s\n", #fn);                                                  \
    } while (0)

/* Print the plain closing line and return the exit status: 1 when a check
 * failed, CHECK_EXIT_SKIPPED when all that ran passed but some were skipped
 * (ctest then says "Skipped", and `make test` lists why), else 0. */
static inline int check_done(void)
{
    if (check_skips)
        printf("%d passed, %d failed, %d skipped\n", check_passes, check_failures, check_skips);
    else
        printf("%d passed, %d failed\n", check_passes, check_failures);
    return check_failures ? 1 : check_skips ? CHECK_EXIT_SKIPPED : 0;
}

/* A fresh directory under $TMPDIR or /tmp; the caller removes it. */
static inline char *check_tmpdir(char buf[256])
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, 256, "%s/rsock-test-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(buf);
}

#endif
