/* test_pool.c - llc/pool.c: every item runs once, on thread i % T, with
 * its thread's scratch; the results are the same for 1, 2, 3 and 8
 * threads (more threads than items included); the error returned is the
 * lowest failing item's whatever the thread count; a failed init is
 * reported and its scratch still released. */
#include "llc_pool.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

enum { N = 37 };

typedef struct {
    int runs[N];     /* how often item i ran */
    double out[N];   /* item i's result */
    int fail_from;   /* items >= this fail (with an odd index), -1: none */
    int fail_init;   /* init fails */
    int inits, finis; /* counted under no lock: checked with 1 thread only */
} ctx_t;

static int init(void *ctx, void **sp, char *err)
{
    ctx_t *c = ctx;
    c->inits++;
    int *scratch = calloc(1, sizeof *scratch);
    *sp = scratch;
    if (!scratch) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    return c->fail_init ? llc_fail(err, LLC_ERR_INVALID, "init failed") : LLC_OK;
}

static int item(void *ctx, void *sp, int i, char *err)
{
    ctx_t *c = ctx;
    int *calls = sp;
    c->runs[i]++;
    (*calls)++;
    double v = 1.0;
    for (int k = 0; k <= i; k++) v = v * 1.0001 + 1.0 / (k + 1.0);
    c->out[i] = v;
    if (c->fail_from >= 0 && i >= c->fail_from && i % 2) return llc_fail(err, LLC_ERR_NUMERIC, "item %d failed", i);
    return LLC_OK;
}

static void fini(void *ctx, void *sp)
{
    ctx_t *c = ctx;
    c->finis++;
    free(sp);
}

static const llc_pool_fns fns = {init, item, fini};

int main(void)
{
    static ctx_t c1, c;
    char err[LLC_ERRLEN] = "";
    c1.fail_from = -1;
    CHECK(llc_pool_run(&fns, &c1, N, 1, err) == LLC_OK, "1 thread runs (%s)", err);
    CHECK(c1.inits == 1 && c1.finis == 1, "1 thread: one scratch made and released (%d, %d)", c1.inits, c1.finis);
    const int threads[] = {2, 3, 8, 64};
    for (int t = 0; t < 4; t++) {
        memset(&c, 0, sizeof c);
        c.fail_from = -1;
        int rc = llc_pool_run(&fns, &c, N, threads[t], err), once = 1;
        for (int i = 0; i < N; i++) once &= c.runs[i] == 1;
        CHECK(rc == LLC_OK && once, "%d threads: every item runs once", threads[t]);
        CHECK(memcmp(c.out, c1.out, sizeof c.out) == 0, "%d threads: results equal 1 thread's to the bit", threads[t]);
    }
    for (int t = 0; t < 4; t++) {
        memset(&c, 0, sizeof c);
        c.fail_from = 10;
        err[0] = 0;
        int rc = llc_pool_run(&fns, &c, N, t ? threads[t - 1] : 1, err);
        CHECK(rc == LLC_ERR_NUMERIC && strcmp(err, "item 11 failed") == 0,
              "%d threads: the lowest failing item's error (rc %d, '%s')", t ? threads[t - 1] : 1, rc, err);
    }
    memset(&c, 0, sizeof c);
    c.fail_from = -1, c.fail_init = 1;
    int rc = llc_pool_run(&fns, &c, N, 1, err);
    CHECK(rc == LLC_ERR_INVALID && strcmp(err, "init failed") == 0 && c.finis == 1 && c.runs[0] == 0,
          "a failed init is returned, no item runs, its scratch is released (rc %d, '%s')", rc, err);
    CHECK(llc_pool_run(&fns, &c, 0, 4, err) == LLC_OK, "no items: nothing to do");
    return tu_finish("test_pool");
}
