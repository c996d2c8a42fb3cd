/* Fiber stacks: mmap'd with a PROT_NONE guard page below, so an overflow
 * faults instead of corrupting memory; pooled per thread. */
#include "fiber.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef RSOCK_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define RSOCK_VALGRIND 1
#endif
#endif

/* Enough to absorb connection churn without mmap/munmap per connection;
 * a pooled stack keeps only the pages its last fiber touched. */
#define STACK_POOL_MAX 256

size_t rsock__page_size(void)
{
    /* Set lazily by whichever thread comes first: atomically, so that two
     * first comers do not race (they store the same value). */
    static size_t page;
    size_t p = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (!p) {
        p = (size_t)sysconf(_SC_PAGESIZE);
        __atomic_store_n(&page, p, __ATOMIC_RELAXED);
    }
    return p;
}

/* Valgrind must be told about a stack to follow switches onto it.  Its id
 * is kept in the stack's lowest word, which a fiber reaches last; only under
 * valgrind, so that otherwise that page stays untouched (and out of RSS). */
static void *map_stack(size_t size)
{
    size_t guard = rsock__page_size();
    void *m = mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (mprotect(m, guard, PROT_NONE) < 0) {
        munmap(m, guard + size);
        return NULL;
    }
#ifdef RSOCK_VALGRIND
    char *lo = (char *)m + guard;
    if (RUNNING_ON_VALGRIND)
        *(unsigned *)lo = VALGRIND_STACK_REGISTER(lo, lo + size);
#endif
    return m;
}

static void unmap_stack(void *m, size_t size)
{
    size_t guard = rsock__page_size();
#ifdef RSOCK_VALGRIND
    if (RUNNING_ON_VALGRIND)
        VALGRIND_STACK_DEREGISTER(*(unsigned *)((char *)m + guard));
#endif
    munmap(m, guard + size);
}

void *rsock__stack_get(struct rsock__sched *S, size_t size)
{
    if (size == S->stack_size && S->stack_pool_count) {
        void *m = S->stack_pool[--S->stack_pool_count];
#ifdef RSOCK_ASAN
        /* The last fiber's final frames never returned: their redzones are
         * still poisoned, and a new frame's variables may land on them. */
        __asan_unpoison_memory_region((char *)m + rsock__page_size(), size);
#endif
        return m;
    }
    return map_stack(size);
}

void rsock__stack_put(struct rsock__sched *S, void *stack, size_t size)
{
    if (size == S->stack_size && S->stack_pool_count < STACK_POOL_MAX) {
        if (!S->stack_pool && !(S->stack_pool = malloc(STACK_POOL_MAX * sizeof(void *)))) {
            unmap_stack(stack, size);
            return;
        }
        S->stack_pool[S->stack_pool_count++] = stack;
        return;
    }
    unmap_stack(stack, size);
}

void rsock__stack_pool_free(struct rsock__sched *S)
{
    while (S->stack_pool_count)
        unmap_stack(S->stack_pool[--S->stack_pool_count], S->stack_size);
    free(S->stack_pool);
    S->stack_pool = NULL;
}
