/* A channel's lock, which guards its lists of parked fibers.  Its critical
 * sections are a few loads and stores: a spin lock costs less than a
 * mutex's calls into libc, and yields the CPU after a short spin so that a
 * preempted holder runs.
 *
 * Biased locking (chan.h's chan_lock is the owner's way in): the first
 * other thread to lock a channel sets `shared`, makes every thread of the
 * process pass a full barrier (membarrier(2), once per channel), and waits
 * for the owner to leave, after which everyone takes the spin lock.  The
 * barrier makes the owner's plain store and load safe (an asymmetric
 * Dekker).  Without membarrier, or under ThreadSanitizer (which cannot see
 * it), channels start shared. */
#include "chan.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define CHAN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHAN_TSAN 1
#endif
#endif

static pthread_once_t membarrier_once = PTHREAD_ONCE_INIT;
static bool membarrier_ok;

static void membarrier_register(void)
{
#ifndef CHAN_TSAN
    membarrier_ok = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

bool rsock__chan_bias_ok(void)
{
    pthread_once(&membarrier_once, membarrier_register);
    return membarrier_ok;
}

void rsock__chan_backoff(int *spins)
{
    if (++*spins < 100) {
        chan_cpu_relax();
    } else {
        sched_yield();
        *spins = 0;
    }
}

static void unbias(rsock_chan *c)
{
    atomic_store_explicit(&c->shared, true, memory_order_seq_cst);
    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (int spins = 0; atomic_load_explicit(&c->owner_busy, memory_order_acquire);)
        rsock__chan_backoff(&spins);
}

void rsock__chan_lock_slow(rsock_chan *c, struct rsock__sched *S)
{
    if (c->owner != S && !atomic_load_explicit(&c->shared, memory_order_acquire))
        unbias(c);
    while (atomic_exchange_explicit(&c->lock, 1, memory_order_acquire))
        for (int spins = 0; atomic_load_explicit(&c->lock, memory_order_relaxed);)
            rsock__chan_backoff(&spins);
}
