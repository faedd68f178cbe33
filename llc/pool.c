/* pool.c - a fixed set of threads over a strided item range (llc_pool.h). */
#include "llc_pool.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct {
    const llc_pool_fns *fns;
    void *ctx;
    int n_items, n_threads, thread;
    int rc, failed_item; /* the thread's first failure, INT_MAX if none */
    char err[LLC_ERRLEN];
} pool_worker;

static void *worker_main(void *p)
{
    pool_worker *w = p;
    void *scratch = NULL;
    w->failed_item = INT_MAX;
    int rc = w->fns->init ? w->fns->init(w->ctx, &scratch, w->err) : LLC_OK;
    if (rc) { /* counts as a failure of the thread's first item */
        w->rc = rc;
        w->failed_item = w->thread;
    }
    for (int i = w->thread; !rc && i < w->n_items; i += w->n_threads)
        if ((rc = w->fns->item(w->ctx, scratch, i, w->err))) w->rc = rc, w->failed_item = i;
    if (w->fns->fini) w->fns->fini(w->ctx, scratch);
    return NULL;
}

int llc_pool_run(const llc_pool_fns *fns, void *ctx, int n_items, int n_threads, char *err)
{
    if (n_items <= 0) return LLC_OK;
    const int NT = n_threads < 1 ? 1 : n_threads > n_items ? n_items : n_threads;
    pool_worker *w = calloc((size_t)NT, sizeof *w);
    pthread_t *th = calloc((size_t)NT, sizeof *th);
    unsigned char *up = calloc((size_t)NT, 1);
    int rc = LLC_OK;
    if (!w || !th || !up) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int t = 0; t < NT; t++)
        w[t] = (pool_worker){.fns = fns, .ctx = ctx, .n_items = n_items, .n_threads = NT, .thread = t};
    for (int t = 1; t < NT; t++) up[t] = pthread_create(&th[t], NULL, worker_main, &w[t]) == 0;
    worker_main(&w[0]);
    for (int t = 1; t < NT; t++) {
        if (up[t]) pthread_join(th[t], NULL);
        else worker_main(&w[t]); /* could not start: its share runs here */
    }
    int first = -1;
    for (int t = 0; t < NT; t++)
        if (w[t].rc && (first < 0 || w[t].failed_item < w[first].failed_item)) first = t;
    if (first >= 0) rc = llc_fail(err, w[first].rc, "%s", w[first].err);
cleanup:
    free(up);
    free(th);
    free(w);
    return rc;
}
