/* ThreadSanitizer and fibers: TSan follows one stack per thread unless told
 * of each switch; without these calls it takes a fiber's accesses for the
 * thread's and reports races that are not there (and misses some that
 * are).  Each fiber keeps a slot (void *, NULL at first) for TSan's handle:
 * the running context's own for the thread's main fiber, a new one for a
 * spawned fiber, made at its first switch in and destroyed with its stack.
 * Compiles to nothing without -fsanitize=thread. */
#ifndef RSOCK_TSAN_FIBER_H
#define RSOCK_TSAN_FIBER_H

#if defined(__SANITIZE_THREAD__)
#define RSOCK_TSAN_ON 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSOCK_TSAN_ON 1
#endif
#endif

#ifdef RSOCK_TSAN_ON
/* compiler-rt's tsan_interface.h, declared here: the header is not always
 * installed with the runtime. */
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);

/* Call just before switching from one fiber's stack to another's: the
 * switch orders everything before it on `from` before everything after it
 * on `to`, as it does. */
static inline void tsan_fiber_switch(void **from, void **to)
{
    if (!*from)
        *from = __tsan_get_current_fiber();
    if (!*to)
        *to = __tsan_create_fiber(0);
    __tsan_switch_to_fiber(*to, 0);
}

/* When a finished fiber's stack is released (never the running fiber). */
static inline void tsan_fiber_destroy(void **fiber)
{
    if (*fiber)
        __tsan_destroy_fiber(*fiber);
    *fiber = 0;
}
#else
static inline void tsan_fiber_switch(void **from, void **to)
{
    (void)from;
    (void)to;
}

static inline void tsan_fiber_destroy(void **fiber) { (void)fiber; }
#endif

#endif
