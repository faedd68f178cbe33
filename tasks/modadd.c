/* modadd.c - sparse modular addition of Odonnat, Bouaziz & Cabannes
 * (2024): tokens x_1..x_L i.i.d. uniform on {0..p-1}, target
 * y = (x_1 + … + x_k) mod p. Defaults p = 2, L = 12, k = 5 (sparse parity).
 *
 * FIXED data sets: n_train train and n_test test sequences, generated once at
 * construction from llc_seed(seed, LLC_PURPOSE_SPLIT, …); n_examples(dist)
 * returns their sizes. With disjoint (default) the n_train + n_test
 * sequences are distinct, uniformly drawn without replacement from all p^L
 * sequences, the first n_train being the train set (for the defaults,
 * 2048 + 2048 = 2^12: the two sets partition the whole space); otherwise the
 * two sets are drawn i.i.d. from independent streams and may overlap.
 *
 * Batches: sequence j of batch `index` (size B) is element index·B + j of an
 * endless stream of epochs; epoch e is a pseudo-random permutation of the set
 * keyed by llc_seed(seed, LLC_PURPOSE_DATA, llc_hash_str(dist), e, 0)
 * (Feistel network with cycle walking: O(B) per batch, no state, any index).
 * With B = n, batch e is exactly epoch e, i.e. the whole set.
 *
 * Layout: T = L, tokens = x_1..x_L, one output per sequence (per_sequence)
 * at position T-1: targets[T-1] = y, mask 1 there only (other targets 0).
 * vocab = n_out = p.
 *
 * Settings (ctx "task.modadd"): p (2, [2, 1024]), L (12, [1, 256]),
 * k (5, [1, L]), n_train (2048), n_test (2048) each in [1, 2^20],
 * disjoint (true; needs n_train + n_test <= p^L).
 *
 * chance_loss: the entropy of the train set's label frequencies (the best
 * constant predictor on it); ln p up to the sampling imbalance.
 */
#include "task_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MA_MAX_P 1024
#define MA_MAX_L 256
#define MA_MAX_N (1L << 20)
#define MA_MAX_TOKENS (1L << 26)   /* (n_train + n_test)·L */
#define MA_DENSE_MAX (1UL << 23)   /* enumerate all p^L codes up to this many */
#define MA_FEISTEL_ROUNDS 6

typedef struct {
    int p, L, k, disjoint;
    long n[2];         /* train, test */
    uint16_t *x[2];    /* (n, L) tokens */
    uint16_t *y[2];    /* (n) labels */
} ma_impl;

static const char *const ma_dists[] = {"train", "test"};

static long ma_n_examples(const llc_task *t, int dist)
{
    const ma_impl *m = t->impl;
    return dist >= 0 && dist < 2 ? m->n[dist] : 0;
}

/* ---- a keyed pseudo-random permutation of [0, n) ---- */
typedef struct {
    uint64_t n, mask;
    int half;
    uint64_t key[MA_FEISTEL_ROUNDS];
} ma_perm;

static void ma_perm_init(ma_perm *q, uint64_t n, uint64_t key)
{
    int bits = 0;
    while (bits < 64 && (n - 1) >> bits) bits++;
    q->n = n;
    q->half = bits < 2 ? 1 : (bits + 1) / 2;
    q->mask = (1ULL << q->half) - 1;
    for (int i = 0; i < MA_FEISTEL_ROUNDS; i++) q->key[i] = llc_mix64(key ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1)));
}

static uint64_t ma_perm_apply(const ma_perm *q, uint64_t v)
{
    if (q->n <= 1) return 0;
    do { /* cycle walking: the network permutes [0, 2^(2·half)) ⊇ [0, n) */
        uint64_t l = v >> q->half, r = v & q->mask;
        for (int i = 0; i < MA_FEISTEL_ROUNDS; i++) {
            uint64_t nl = r;
            r = l ^ (llc_mix64(r ^ q->key[i]) & q->mask);
            l = nl;
        }
        v = (l << q->half) | r;
    } while (v >= q->n);
    return v;
}

static int ma_fill(const llc_task *t, int dist, uint64_t index, llc_batch *b)
{
    const ma_impl *m = t->impl;
    int rc = llc_task_check_batch(t, dist, b);
    if (rc) return rc;
    const int T = m->L;
    const uint64_t n = (uint64_t)m->n[dist], B = (uint64_t)b->B;
    const uint64_t dh = llc_hash_str(t->dists[dist]);
    /* stream position index·B = epoch·n + off, without overflowing 64 bits */
    uint64_t q = index / n, r = index % n;
    uint64_t epoch = q * B + (r * B) / n, off = (r * B) % n, cur = epoch;
    ma_perm perm;
    ma_perm_init(&perm, n, llc_seed(t->seed, LLC_PURPOSE_DATA, dh, epoch, 0));
    for (uint64_t j = 0; j < B; j++) {
        uint64_t e = epoch + (off + j) / n, o = (off + j) % n;
        if (e != cur) {
            ma_perm_init(&perm, n, llc_seed(t->seed, LLC_PURPOSE_DATA, dh, e, 0));
            cur = e;
        }
        uint64_t s = ma_perm_apply(&perm, o);
        int *tok = b->tokens + j * (uint64_t)T, *tgt = b->targets + j * (uint64_t)T;
        float *mk = b->mask + j * (uint64_t)T;
        for (int i = 0; i < T; i++) {
            tok[i] = m->x[dist][s * (uint64_t)T + (uint64_t)i];
            tgt[i] = 0;
            mk[i] = 0.0f;
        }
        tgt[T - 1] = m->y[dist][s];
        mk[T - 1] = 1.0f;
    }
    return LLC_OK;
}

static cJSON *ma_to_json(const llc_task *t)
{
    const ma_impl *m = t->impl;
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "p", m->p);
    ok = ok && cJSON_AddNumberToObject(o, "L", m->L);
    ok = ok && cJSON_AddNumberToObject(o, "k", m->k);
    ok = ok && cJSON_AddNumberToObject(o, "n_train", (double)m->n[0]);
    ok = ok && cJSON_AddNumberToObject(o, "n_test", (double)m->n[1]);
    ok = ok && cJSON_AddBoolToObject(o, "disjoint", m->disjoint);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void ma_free_impl(void *p)
{
    ma_impl *m = p;
    if (!m) return;
    for (int i = 0; i < 2; i++) {
        free(m->x[i]);
        free(m->y[i]);
    }
    free(m);
}

/* ---- generation ---- */

/* Store sequence number `row` of set d (L base-p digits) and its label. */
static void ma_store(ma_impl *m, int d, long row, const uint16_t *digits)
{
    uint16_t *x = m->x[d] + (size_t)row * (size_t)m->L;
    long sum = 0;
    memcpy(x, digits, (size_t)m->L * sizeof *x);
    for (int i = 0; i < m->k; i++) sum += x[i];
    m->y[d][row] = (uint16_t)(sum % m->p);
}

/* set index and row of the i-th generated sequence */
static void ma_slot(const ma_impl *m, long i, int *d, long *row)
{
    *d = i < m->n[0] ? 0 : 1;
    *row = i < m->n[0] ? i : i - m->n[0];
}

/* Open-addressing set of 64-bit keys (top bit marks a used slot). */
typedef struct {
    uint64_t *slot;
    size_t mask;
} ma_set;

static int ma_set_add(ma_set *s, uint64_t key)
{
    key |= 1ULL << 63;
    for (size_t h = (size_t)llc_mix64(key) & s->mask;; h = (h + 1) & s->mask) {
        if (s->slot[h] == key) return 0;
        if (!s->slot[h]) {
            s->slot[h] = key;
            return 1;
        }
    }
}

static int ma_generate(ma_impl *m, uint64_t seed, const char *ctx, char *err)
{
    const long total = m->n[0] + m->n[1];
    const int L = m->L;
    uint16_t digits[MA_MAX_L];
    gsl_rng *r = NULL;
    uint32_t *codes = NULL;
    ma_set set = {NULL, 0};
    int rc = LLC_OK;
    /* p^L, saturated at 2^64 */
    double space = pow((double)m->p, (double)L);
    for (int d = 0; d < 2; d++) {
        m->x[d] = malloc((size_t)m->n[d] * (size_t)L * sizeof *m->x[d]);
        m->y[d] = malloc((size_t)m->n[d] * sizeof *m->y[d]);
        if (!m->x[d] || !m->y[d]) { rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx); goto cleanup; }
    }
    if (!m->disjoint) {
        for (int d = 0; d < 2; d++) {
            gsl_rng_free(r);
            r = llc_rng_new(llc_seed(seed, LLC_PURPOSE_SPLIT, llc_hash_str(ma_dists[d]), 0, 0));
            if (!r) { rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx); goto cleanup; }
            for (long i = 0; i < m->n[d]; i++) {
                for (int j = 0; j < L; j++) digits[j] = (uint16_t)gsl_rng_uniform_int(r, (unsigned long)m->p);
                ma_store(m, d, i, digits);
            }
        }
        goto cleanup;
    }
    r = llc_rng_new(llc_seed(seed, LLC_PURPOSE_SPLIT, llc_hash_str("modadd.disjoint"), 0, 0));
    if (!r) { rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx); goto cleanup; }
    if (space <= (double)MA_DENSE_MAX && space <= 4.0 * (double)total) {
        /* dense: a partial Fisher-Yates shuffle of all p^L codes */
        const uint32_t nc = (uint32_t)space;
        codes = malloc((size_t)nc * sizeof *codes);
        if (!codes) { rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx); goto cleanup; }
        for (uint32_t c = 0; c < nc; c++) codes[c] = c;
        for (long i = 0; i < total; i++) {
            uint32_t j = (uint32_t)i + (uint32_t)gsl_rng_uniform_int(r, (unsigned long)(nc - (uint32_t)i));
            uint32_t c = codes[j];
            codes[j] = codes[i];
            codes[i] = c;
            for (int q = 0; q < L; q++, c /= (uint32_t)m->p) digits[q] = (uint16_t)(c % (uint32_t)m->p);
            int d;
            long row;
            ma_slot(m, i, &d, &row);
            ma_store(m, d, row, digits);
        }
        goto cleanup;
    }
    /* sparse: draw uniformly, reject repeats (acceptance >= 3/4). The key is
     * the sequence's code when p^L < 2^63, else a 64-bit hash of it (a hash
     * collision then only costs a redraw). */
    size_t cap = 1;
    while (cap < 2 * (size_t)total) cap <<= 1;
    set.slot = calloc(cap, sizeof *set.slot);
    set.mask = cap - 1;
    if (!set.slot) { rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx); goto cleanup; }
    const int exact = space < 9.2e18;
    for (long i = 0; i < total;) {
        uint64_t key = exact ? 0 : 0xcbf29ce484222325ULL;
        for (int q = 0; q < L; q++) {
            digits[q] = (uint16_t)gsl_rng_uniform_int(r, (unsigned long)m->p);
            key = exact ? key * (uint64_t)m->p + digits[q] : llc_mix64(key ^ digits[q]);
        }
        if (!ma_set_add(&set, key)) continue;
        int d;
        long row;
        ma_slot(m, i, &d, &row);
        ma_store(m, d, row, digits);
        i++;
    }
cleanup:
    gsl_rng_free(r);
    free(codes);
    free(set.slot);
    return rc;
}

int llc_task_modadd_init(const cJSON *settings, llc_task *t, char *err)
{
    static const char *const keys[] = {"p", "L", "k", "n_train", "n_test", "disjoint", NULL};
    const char *ctx = "task.modadd";
    long long p, L, k, ntr, nte;
    int disjoint, rc;
    if ((rc = llc_json_check_keys(settings, keys, ctx, err)) ||
        (rc = llc_json_int(settings, "p", 2, 2, MA_MAX_P, &p, ctx, err)) ||
        (rc = llc_json_int(settings, "L", 12, 1, MA_MAX_L, &L, ctx, err)) ||
        (rc = llc_json_int(settings, "k", L < 5 ? L : 5, 1, L, &k, ctx, err)) ||
        (rc = llc_json_int(settings, "n_train", 2048, 1, MA_MAX_N, &ntr, ctx, err)) ||
        (rc = llc_json_int(settings, "n_test", 2048, 1, MA_MAX_N, &nte, ctx, err)) ||
        (rc = llc_json_bool(settings, "disjoint", 1, &disjoint, ctx, err)))
        return rc;
    if ((ntr + nte) * L > MA_MAX_TOKENS)
        return llc_fail(err, LLC_ERR_INVALID, "%s: (n_train + n_test)·L must be <= %ld tokens, got %lld", ctx,
                        MA_MAX_TOKENS, (ntr + nte) * L);
    double space = pow((double)p, (double)L);
    if (disjoint && (double)(ntr + nte) > space)
        return llc_fail(err, LLC_ERR_INVALID,
                        "%s: disjoint sets need n_train + n_test <= p^L = %.0f, got %lld (set \"disjoint\": false to "
                        "sample them independently)",
                        ctx, space, ntr + nte);
    ma_impl *m = calloc(1, sizeof *m);
    if (!m) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    m->p = (int)p;
    m->L = (int)L;
    m->k = (int)k;
    m->disjoint = disjoint;
    m->n[0] = (long)ntr;
    m->n[1] = (long)nte;
    if ((rc = ma_generate(m, t->seed, ctx, err))) {
        ma_free_impl(m);
        return rc;
    }
    /* chance: entropy of the train labels' frequencies */
    double chance = 0;
    long *count = calloc((size_t)m->p, sizeof *count);
    if (!count) {
        ma_free_impl(m);
        return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    }
    for (long i = 0; i < m->n[0]; i++) count[m->y[0][i]]++;
    for (int c = 0; c < m->p; c++)
        if (count[c]) {
            double f = (double)count[c] / (double)m->n[0];
            chance -= f * log(f);
        }
    free(count);
    memset(&t->shape, 0, sizeof t->shape);
    t->shape.T = m->L;
    t->shape.vocab = m->p;
    t->shape.n_out = m->p;
    t->shape.per_sequence = 1;
    t->shape.chance_loss = chance;
    t->n_dists = 2;
    t->dists[0] = ma_dists[0];
    t->dists[1] = ma_dists[1];
    t->impl = m;
    t->n_examples = ma_n_examples;
    t->fill = ma_fill;
    t->to_json = ma_to_json;
    t->free_impl = ma_free_impl;
    return LLC_OK;
}
