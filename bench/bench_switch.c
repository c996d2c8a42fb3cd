/* Context switch: ns per switch for rsock_yield between two fibers, beside a
 * bare register-save switch (the floor: callee-saved registers and the stack
 * pointer, nothing else) and glibc's swapcontext (which makes a signal-mask
 * syscall), all measured in this run, in this thread's CPU time (a
 * preemption on a shared machine would land in one figure and not the
 * other).  Target: rsock <= 1.3x the bare switch. */
#include "bench.h"

#include <rsock.h>
#include <ucontext.h>

#define SWITCHES 4000000L

static volatile long ticks; /* a store in each baseline's loop, so that it is kept */

#if defined(__x86_64__)
void bare_switch(void **save, void *to);
__asm__(".text\n.type bare_switch,@function\nbare_switch:\n"
        "pushq %rbp\npushq %rbx\npushq %r12\npushq %r13\npushq %r14\npushq %r15\n"
        "movq %rsp,(%rdi)\nmovq %rsi,%rsp\n"
        "popq %r15\npopq %r14\npopq %r13\npopq %r12\npopq %rbx\npopq %rbp\nret\n"
        ".size bare_switch,.-bare_switch\n");

static void *main_sp, *co_sp;

static void bare_body(void)
{
    for (;;) {
        ticks++;
        bare_switch(&co_sp, main_sp);
    }
}

static double bare_switch_ns(long n)
{
    size_t size = 64 * 1024;
    char *stack = aligned_alloc(16, size);
    void **sp = (void **)(stack + size);
    *--sp = NULL;              /* entry's return address: never used */
    *--sp = (void *)bare_body; /* the first switch returns here */
    for (int i = 0; i < 6; i++)
        *--sp = NULL;
    co_sp = sp;
    long long t0 = bench_thread_ns();
    for (long i = 0; i < n / 2; i++)
        bare_switch(&main_sp, co_sp);
    double ns = (double)(bench_thread_ns() - t0) / (double)n;
    free(stack);
    return ns;
}
#endif

static ucontext_t main_uc, co_uc;

static void uc_body(void)
{
    for (;;) {
        ticks++;
        swapcontext(&co_uc, &main_uc);
    }
}

static double swapcontext_ns(long n)
{
    size_t size = 64 * 1024;
    char *stack = malloc(size);
    getcontext(&co_uc);
    co_uc.uc_stack.ss_sp = stack;
    co_uc.uc_stack.ss_size = size;
    co_uc.uc_link = NULL;
    makecontext(&co_uc, uc_body, 0);
    long long t0 = bench_thread_ns();
    for (long i = 0; i < n / 2; i++)
        swapcontext(&main_uc, &co_uc);
    double ns = (double)(bench_thread_ns() - t0) / (double)n;
    free(stack);
    return ns;
}

int main(void)
{
    bench_pin(0); /* one core: switches, not migrations */
    double r = bench_median(bench_yield_ns, SWITCHES, 7);
    double u = bench_median(swapcontext_ns, SWITCHES / 10, 5);
#if defined(__x86_64__)
    double b = bench_median(bare_switch_ns, SWITCHES, 7);
    bench_row("switch: rsock_yield (2 fibers)", r, "ns", "bare asm switch", b, "<= 1.3x", r <= 1.3 * b);
#else
    printf("switch: rsock_yield (2 fibers) %.1f ns (no bare switch on this CPU)\n", r);
#endif
    bench_row("switch: rsock_yield (2 fibers)", r, "ns", "swapcontext", u, "(for scale)", 1);
    return 0;
}
