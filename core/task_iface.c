/* task_iface.c - the functions of llc_task.h that work on any task:
 * freeing it, looking up distributions, allocating batches of its shape,
 * its settings. */
#include "llc_task.h"

#include <stdlib.h>
#include <string.h>

void llc_task_free(llc_task *t)
{
    if (!t) return;
    if (t->free_impl && t->impl) t->free_impl(t->impl);
    free(t);
}

int llc_task_dist(const llc_task *t, const char *name)
{
    if (!t || !name) return -1;
    for (int i = 0; i < t->n_dists; i++)
        if (t->dists[i] && strcmp(t->dists[i], name) == 0) return i;
    return -1;
}

int llc_task_tokens(const llc_task *t, int *out)
{
    int n = 0;
    for (int v = 0; t && v < t->shape.vocab; v++)
        if (!t->token_used || t->token_used[v]) out[n++] = v;
    return n;
}

void llc_task_draw_block(int *blk, int K, const int *tok_of, int n, gsl_rng *r)
{
    for (int k = 0; k < K; k++) {
        int v, dup;
        do {
            v = tok_of[gsl_rng_uniform_int(r, (unsigned long)n)];
            dup = 0;
            for (int j = 0; j < k && n >= K; j++) dup |= blk[j] == v;
        } while (dup);
        blk[k] = v;
    }
}

llc_batch *llc_task_batch_alloc(const llc_task *t, int cap_B)
{
    if (!t || cap_B < 1) return NULL;
    return llc_batch_alloc(cap_B, t->shape.T, t->shape.vocab > 0, t->shape.d_in, t->shape.n_out > 0,
                           t->shape.d_out);
}

struct cJSON *llc_task_settings_json(const llc_task *t)
{
    return t && t->to_json ? t->to_json(t) : NULL;
}
