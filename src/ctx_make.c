/* Building a fresh context for the assembly switch: a frame laid out as
 * rsock__ctx_switch pops it, whose return address is the fiber's entry. */
#ifndef RSOCK_PORTABLE_CTX
#include "ctx.h"

#include <stdint.h>
#include <string.h>

void rsock__ctx_make(rsock__ctx *c, void *lo, size_t size, void (*entry)(void))
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* From the top: a zero return address for entry (it never returns),
     * entry itself for the switch's ret, rbp rbx r12-r15, then MXCSR and
     * the x87 control word at their power-on defaults. */
    uint64_t *sp = (uint64_t *)top - 9;
    memset(sp, 0, 9 * sizeof *sp);
    sp[7] = (uint64_t)(uintptr_t)entry;
    sp[0] = 0x1F80 | ((uint64_t)0x037F << 32);
    c->sp = sp;
#elif defined(__aarch64__)
    /* x19..x28, x29 (frame pointer, 0 ends the chain), x30 = entry, d8-d15. */
    uint64_t *sp = (uint64_t *)top - 20;
    memset(sp, 0, 20 * sizeof *sp);
    sp[11] = (uint64_t)(uintptr_t)entry;
    c->sp = sp;
#else
#error "no assembly context switch for this CPU: build with -DRSOCK_PORTABLE_CTX=ON"
#endif
}
#endif
