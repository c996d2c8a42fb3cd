/* A fiber that overflows its stack touches the guard page below it and
 * gets SIGSEGV.  Without help that is a bare "Segmentation fault"; here a
 * handler on an alternate signal stack (the fiber's own stack is what ran
 * out) recognises a fault on the current fiber's guard page, says so, and
 * aborts.  Any other fault goes to the handler that was there before. */
#include "fiber.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALTSTACK_SIZE (64 * 1024)

static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

/* Decimal without stdio: only async-signal-safe calls in the handler. */
static size_t put_number(char *out, size_t n)
{
    char digits[24];
    size_t len = 0;
    do
        digits[len++] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    for (size_t i = 0; i < len; i++)
        out[i] = digits[len - 1 - i];
    return len;
}

static void report_overflow(size_t stack_size)
{
    static const char head[] = "rsock: fiber stack overflow (";
    static const char tail[] = " KiB stack; see rsock_set_stack_size)\n";
    char line[sizeof head + sizeof tail + 24];
    size_t len = 0;
    memcpy(line, head, sizeof head - 1), len += sizeof head - 1;
    len += put_number(line + len, stack_size / 1024);
    memcpy(line + len, tail, sizeof tail - 1), len += sizeof tail - 1;
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nothing more to do: we abort either way */
    }
}

static bool on_guard_page(const void *addr)
{
    struct rsock__sched *S = rsock__sched_peek();
    if (!S || !S->current || !S->current->stack)
        return false;
    const char *guard = S->current->stack;
    return (const char *)addr >= guard && (const char *)addr < guard + rsock__page_size();
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    if (on_guard_page(si->si_addr)) {
        report_overflow(rsock__sched_peek()->current->stack_size);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
        previous.sa_sigaction(sig, si, uc);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        /* Returning re-runs the faulting access, now with the default action. */
        signal(SIGSEGV, SIG_DFL);
    }
}

static void install(void)
{
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous);
}

int rsock__overflow_guard_init(struct rsock__sched *S)
{
    stack_t old;
    /* A thread that has a signal stack already (the program's, a
     * sanitizer's) keeps it. */
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
        pthread_once(&install_once, install);
        return 0;
    }
    void *mem = malloc(ALTSTACK_SIZE);
    if (!mem)
        return -1;
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_SIZE};
    if (sigaltstack(&ss, NULL) < 0) {
        free(mem);
        return -1;
    }
    S->altstack = mem;
    pthread_once(&install_once, install);
    return 0;
}

void rsock__overflow_guard_free(struct rsock__sched *S)
{
    if (!S->altstack)
        return;
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(S->altstack);
    S->altstack = NULL;
}
