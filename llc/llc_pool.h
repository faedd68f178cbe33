/* llc_pool.h - run item(i) for every i < n_items on n_threads threads.
 *
 * Item i runs on thread i % n_threads, the items of a thread in increasing
 * order, each with that thread's scratch (made by init, released by fini).
 * Each item writes only its own result slots, so what the items compute
 * does not depend on n_threads. The first thread is the caller's; a thread
 * that cannot be started runs its share on the caller's after the others.
 * A thread stops at its first failing item; the error returned is the one
 * of the lowest failing item, the same whatever n_threads.
 */
#ifndef LLC_POOL_H
#define LLC_POOL_H

#include "llc_common.h"

typedef struct {
    /* A thread's scratch into *scratch; rc and err on failure (fini still runs). May be NULL. */
    int (*init)(void *ctx, void **scratch, char *err);
    /* One item: rc and err on failure. */
    int (*item)(void *ctx, void *scratch, int i, char *err);
    /* Release a thread's scratch (also after a failed init). May be NULL. */
    void (*fini)(void *ctx, void *scratch);
} llc_pool_fns;

/* Returns LLC_OK or the lowest failing item's rc, its message in err
 * (LLC_ERRLEN bytes, may be NULL); LLC_ERR_NOMEM if the pool itself cannot
 * be set up. n_threads < 1 counts as 1; more threads than items are not started. */
int llc_pool_run(const llc_pool_fns *fns, void *ctx, int n_items, int n_threads, char *err);

#endif
