/* The portable context switch: ucontext.  Slower (swapcontext saves the
 * signal mask with a syscall) but it runs on any CPU glibc supports. */
#ifdef RSOCK_PORTABLE_CTX
#include "ctx.h"

void rsock__ctx_switch(rsock__ctx *from, rsock__ctx *to) { swapcontext(&from->uc, &to->uc); }

void rsock__ctx_make(rsock__ctx *c, void *lo, size_t size, void (*entry)(void))
{
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, entry, 0);
}
#endif
