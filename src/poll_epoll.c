/* TEMPORARY stub until the epoll loop lands (fibers issue). */
#include "internal.h"

int rsock__loop_add(struct rsock *s)
{
    s->ready = RSOCK__IN | RSOCK__OUT;
    return 0;
}

void rsock__loop_remove(struct rsock *s) { (void)s; }
