/* The error record: rsock_strerror and the per-thread message. */
#include "check.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>

static void test_strerror(void)
{
    CHECK_STR(rsock_strerror(-ECONNREFUSED), "Connection refused");
    CHECK_STR(rsock_strerror(ECONNREFUSED), "Connection refused");
    CHECK(strstr(rsock_strerror(99999), "99999") != NULL);
    CHECK_STR(rsock_version(), RSOCK_VERSION_STRING);
}

static void test_message(void)
{
    CHECK_EQ(rsock__fail(EINVAL, "op \"%s\": bad part", "x"), -EINVAL);
    CHECK_STR(rsock_error_message(), "op \"x\": bad part");
    CHECK_EQ(rsock__fail_sys(ECONNREFUSED, "rsock_connect %s", "[::1]:9"), -ECONNREFUSED);
    CHECK_STR(rsock_error_message(), "rsock_connect [::1]:9: Connection refused");
}

static void *other_thread(void *arg)
{
    (void)arg;
    /* A new thread starts with an empty record: records are per thread. */
    return (void *)(intptr_t)(rsock_error_message()[0] == '\0');
}

static void test_per_thread(void)
{
    rsock__fail(EINVAL, "main thread failure");
    pthread_t t;
    void *empty = NULL;
    REQUIRE(pthread_create(&t, NULL, other_thread, NULL) == 0);
    pthread_join(t, &empty);
    CHECK(empty != NULL);
    CHECK_STR(rsock_error_message(), "main thread failure");
}

int main(void)
{
    RUN(test_strerror);
    RUN(test_message);
    RUN(test_per_thread);
    return check_done();
}
