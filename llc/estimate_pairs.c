/* estimate_pairs.c - the paired-loss cache (llc_pair_cache, llc_estimate.h):
 * L_b(w*) and base records by (chain, step), and L_n(w*), for the estimates
 * of several targets at one w*. */
#include "estimate_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double *L;          /* (cap) L_b(w*) by step, NaN = not computed */
    void **rec;         /* (cap) buffers for the base records of those passes (llc_model.base_forward) */
    size_t *rsize;      /* (cap) their sizes: kept across keys, reused (no page faults for fresh memory) */
    size_t *rlen;       /* (cap) bytes of the record of this key in rec[k], 0 = none */
    long cap;
    size_t rec_bytes;   /* sum of rsize */
    long hits, misses;  /* kept across keys */
} pair_chain;

struct llc_pair_cache {
    uint64_t key;       /* of (w*, data stream, seed, dist, batch, model); 0 = empty */
    int chains;
    pair_chain *ch;     /* (chains) */
    uint64_t init_key;  /* L_n(w*) of (w*, its batches, seed, dist, model); 0 = none */
    double init_loss;
    size_t limit;       /* bytes of base records at most (LLC_BASE_CACHE_BYTES unless set) */
};

int est_init_get(const llc_pair_cache *pc, uint64_t key, double *L)
{
    if (!pc || !key || pc->init_key != key) return 0;
    *L = pc->init_loss;
    return 1;
}

void est_init_put(llc_pair_cache *pc, uint64_t key, double L)
{
    if (pc) pc->init_key = key, pc->init_loss = L;
}

llc_pair_cache *llc_pair_cache_new(void)
{
    llc_pair_cache *pc = calloc(1, sizeof(llc_pair_cache));
    if (pc) pc->limit = LLC_BASE_CACHE_BYTES;
    return pc;
}

void llc_pair_cache_set_limit(llc_pair_cache *pc, size_t bytes)
{
    if (pc) pc->limit = bytes;
}

void llc_pair_cache_free(llc_pair_cache *pc)
{
    if (!pc) return;
    for (int c = 0; c < pc->chains; c++) {
        pair_chain *e = &pc->ch[c];
        for (long k = 0; k < e->cap; k++) free(e->rec[k]);
        free(e->rec), free(e->rsize), free(e->rlen), free(e->L);
    }
    free(pc->ch);
    free(pc);
}

void llc_pair_cache_stats(const llc_pair_cache *pc, long *hits, long *misses)
{
    long h = 0, m = 0;
    for (int c = 0; pc && c < pc->chains; c++) h += pc->ch[c].hits, m += pc->ch[c].misses;
    if (hits) *hits = h;
    if (misses) *misses = m;
}

/* Make pc hold key with room for chains; forgets the losses of another key. */
int est_pair_bind(llc_pair_cache *pc, uint64_t key, int chains)
{
    if (pc->key != key) /* forget the values, keep the record buffers */
        for (int c = 0; c < pc->chains; c++)
            for (long k = 0; k < pc->ch[c].cap; k++) pc->ch[c].L[k] = NAN, pc->ch[c].rlen[k] = 0;
    pc->key = key;
    if (pc->chains >= chains) return LLC_OK;
    pair_chain *ch = realloc(pc->ch, (size_t)chains * sizeof *ch);
    if (!ch) return LLC_ERR_NOMEM;
    memset(ch + pc->chains, 0, (size_t)(chains - pc->chains) * sizeof *ch);
    pc->ch = ch;
    pc->chains = chains;
    return LLC_OK;
}

/* Chain c's entry is touched only by the thread running chain c. */
int est_pair_get(llc_pair_cache *pc, int c, long k, double *L0)
{
    if (!pc) return 0;
    pair_chain *e = &pc->ch[c];
    if (k >= e->cap || isnan(e->L[k])) return 0;
    *L0 = e->L[k];
    e->hits++;
    return 1;
}

/* The base record of chain c's step k, or NULL. */
const void *est_pair_rec(llc_pair_cache *pc, int c, long k)
{
    if (!pc) return NULL;
    pair_chain *e = &pc->ch[c];
    return k < e->cap && e->rlen[k] ? e->rec[k] : NULL;
}

/* Keep L0 of chain c's step k, just computed, and a copy of its base record
 * rec (bytes long; NULL = none) while the chain's share of
 * pc->limit lasts (whether it is kept changes no number). */
int est_pair_put(llc_pair_cache *pc, int c, long k, double L0, const void *rec, size_t bytes)
{
    if (!pc) return LLC_OK;
    pair_chain *e = &pc->ch[c];
    if (k >= e->cap) {
        long cap = e->cap ? e->cap : 1024;
        while (cap <= k) cap *= 2;
        double *L = realloc(e->L, (size_t)cap * sizeof *L);
        if (L) e->L = L;
        void **r = realloc(e->rec, (size_t)cap * sizeof *r);
        if (r) e->rec = r;
        size_t *rs = realloc(e->rsize, (size_t)cap * sizeof *rs);
        if (rs) e->rsize = rs;
        size_t *rl = realloc(e->rlen, (size_t)cap * sizeof *rl);
        if (rl) e->rlen = rl;
        if (!L || !r || !rs || !rl) return LLC_ERR_NOMEM;
        for (long i = e->cap; i < cap; i++) L[i] = NAN, r[i] = NULL, rs[i] = rl[i] = 0;
        e->cap = cap;
    }
    e->L[k] = L0;
    e->misses++;
    if (!rec || e->rlen[k]) return LLC_OK;
    if (e->rsize[k] < bytes && e->rec_bytes - e->rsize[k] + bytes <= pc->limit / (size_t)pc->chains) {
        void *q = realloc(e->rec[k], bytes);
        if (q) e->rec_bytes += bytes - e->rsize[k], e->rec[k] = q, e->rsize[k] = bytes;
    }
    if (e->rsize[k] >= bytes) {
        memcpy(e->rec[k], rec, bytes);
        e->rlen[k] = bytes;
    }
    return LLC_OK;
}
