/* Issue 10, item 13: four threads make their first fibers at once, in a
 * process where nothing has run yet, so the lazily set page size (and each
 * thread's new loop) is first used by several threads together.  Under
 * ThreadSanitizer (make tsan) the old unsynchronised static was a reported
 * data race; here every thread must also get its fiber run. */
#include "check.h"

#include <pthread.h>

enum { THREADS = 4 };

static pthread_barrier_t start;
static int ran[THREADS];

static void mark(void *arg) { *(int *)arg = 1; }

static void *first_use(void *arg)
{
    pthread_barrier_wait(&start);
    rsock_fiber *f;
    if (rsock_spawn(mark, arg, &f) == 0)
        rsock_join(f, rsock_after(5000));
    return NULL;
}

static void test_first_fibers_at_once(void)
{
    pthread_t t[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, first_use, &ran[i]) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ(ran[i], 1);
    pthread_barrier_destroy(&start);
}

int main(void)
{
    RUN(test_first_fibers_at_once); /* before anything else touches rsock */
    return check_done();
}
