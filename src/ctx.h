/* The context switch: a few instructions per CPU (ctx_<cpu>.S), or
 * ucontext where no assembly exists (ctx_portable.c). */
#ifndef RSOCK_CTX_H
#define RSOCK_CTX_H

#include <stddef.h>

#ifdef RSOCK_PORTABLE_CTX
#include <ucontext.h>
typedef struct { ucontext_t uc; } rsock__ctx;
#else
/* The saved stack pointer; the registers themselves are on that stack. */
typedef struct { void *sp; } rsock__ctx;
#endif

/* Save the running context into `from` and resume `to`. */
void rsock__ctx_switch(rsock__ctx *from, rsock__ctx *to);

/* Prepare `c` so that switching to it calls entry() on the stack
 * [lo, lo + size).  entry must never return. */
void rsock__ctx_make(rsock__ctx *c, void *lo, size_t size, void (*entry)(void));

#endif
