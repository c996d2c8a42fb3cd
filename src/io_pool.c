/* Per-thread pools for the copy: one scratch buffer that a copy uses only
 * between a read and the write that follows it (never across a park), blocks
 * for bytes a blocked writer still holds, and pipes for splice(2).  Memory and
 * pipes are held only while data is in flight, so idle connections cost none. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define KEEP_BIG 4    /* free chunk-sized blocks kept for reuse */
#define KEEP_SMALL 32 /* free small blocks kept */
#define KEEP_PIPES RSOCK_COPY_POOLED_PIPES /* empty pipes kept (rsock.h) */

static size_t chunk_size = 256u * 1024u; /* scratch and big block size */
static size_t pipe_size = 1024u * 1024u; /* F_SETPIPE_SZ, best effort */

struct free_block {
    struct free_block *next;
};

struct pool {
    char *scratch;
    struct free_block *big, *small;
    int nbig, nsmall;
    size_t held;
    int npipes;
    int pipes[KEEP_PIPES][3]; /* read end, write end, capacity */
};

static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static __thread struct pool *tls_pool;

static void free_list(struct free_block *b)
{
    while (b) {
        struct free_block *next = b->next;
        free(b);
        b = next;
    }
}

static void pool_free(void *p)
{
    struct pool *pl = p;
    if (!pl)
        return;
    free(pl->scratch);
    free_list(pl->big);
    free_list(pl->small);
    for (int i = 0; i < pl->npipes; i++) {
        close(pl->pipes[i][0]);
        close(pl->pipes[i][1]);
    }
    free(pl);
}

static void make_pool_key(void) { pthread_key_create(&pool_key, pool_free); }

static struct pool *pool(void)
{
    if (tls_pool)
        return tls_pool;
    pthread_once(&pool_once, make_pool_key);
    struct pool *pl = calloc(1, sizeof *pl);
    if (!pl)
        return NULL;
    pthread_setspecific(pool_key, pl);
    return tls_pool = pl;
}

void rsock__io_pool_drain(void)
{
    struct pool *pl = tls_pool;
    if (!pl)
        return;
    size_t held = pl->held;
    pthread_setspecific(pool_key, NULL);
    tls_pool = NULL;
    pool_free(pl);
    if (held) { /* blocks still out: keep counting them in a fresh pool */
        struct pool *fresh = pool();
        if (fresh)
            fresh->held = held;
    }
}

void rsock__copy_tune(size_t chunk, size_t pipe)
{
    if (chunk >= 4096)
        chunk_size = chunk;
    if (pipe >= 4096)
        pipe_size = pipe;
}

static char *take_block(struct free_block **list, int *n, size_t size)
{
    if (*list) {
        struct free_block *b = *list;
        *list = b->next;
        (*n)--;
        return (char *)b;
    }
    return malloc(size);
}

char *rsock__scratch(size_t *size)
{
    struct pool *pl = pool();
    if (!pl)
        return NULL;
    if (!pl->scratch)
        pl->scratch = take_block(&pl->big, &pl->nbig, chunk_size);
    *size = chunk_size;
    return pl->scratch;
}

char *rsock__scratch_take(size_t *size)
{
    struct pool *pl = pool();
    char *buf = rsock__scratch(size);
    if (!buf)
        return NULL;
    pl->scratch = NULL; /* the next rsock__scratch takes a fresh block */
    pl->held += chunk_size;
    return buf;
}

char *rsock__buf_get(size_t size, size_t *got)
{
    struct pool *pl = pool();
    if (!pl)
        return NULL;
    bool small = size <= RSOCK__COPY_SMALL;
    *got = small ? RSOCK__COPY_SMALL : chunk_size;
    char *b = small ? take_block(&pl->small, &pl->nsmall, *got)
                    : take_block(&pl->big, &pl->nbig, *got);
    if (b)
        pl->held += *got;
    return b;
}

void rsock__buf_put(char *buf, size_t size)
{
    struct pool *pl = pool();
    if (!buf)
        return;
    if (!pl) {
        free(buf);
        return;
    }
    pl->held -= size <= pl->held ? size : pl->held;
    bool small = size == RSOCK__COPY_SMALL && size != chunk_size;
    struct free_block **list = small ? &pl->small : &pl->big;
    int *n = small ? &pl->nsmall : &pl->nbig;
    if (*n >= (small ? KEEP_SMALL : KEEP_BIG) || (!small && size != chunk_size)) {
        free(buf);
        return;
    }
    struct free_block *b = (struct free_block *)(void *)buf;
    b->next = *list;
    *list = b;
    (*n)++;
}

size_t rsock__held_bytes(void)
{
    struct pool *pl = pool();
    return pl ? pl->held : 0;
}

int rsock__pipe_get(int fds[2])
{
    struct pool *pl = pool();
    if (pl && pl->npipes > 0) {
        pl->npipes--;
        fds[0] = pl->pipes[pl->npipes][0];
        fds[1] = pl->pipes[pl->npipes][1];
        return pl->pipes[pl->npipes][2];
    }
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return rsock__fail_sys(errno, "rsock_copy: pipe2");
    int size = fcntl(fds[1], F_SETPIPE_SZ, (int)pipe_size); /* best effort */
    if (size <= 0)
        size = fcntl(fds[1], F_GETPIPE_SZ);
    return size > 0 ? size : 4096;
}

void rsock__pipe_put(int fds[2], int size)
{
    struct pool *pl = pool();
    if (!pl || pl->npipes >= KEEP_PIPES) {
        rsock__pipe_drop(fds);
        return;
    }
    pl->pipes[pl->npipes][0] = fds[0];
    pl->pipes[pl->npipes][1] = fds[1];
    pl->pipes[pl->npipes][2] = size;
    pl->npipes++;
}

void rsock__pipe_drop(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}
