/* sort.c - the list-sorting task of Urdshals & Urdshals (2025).
 *
 * A sequence is a list of L numbers from 0..V-1, the separator token V, then
 * the list sorted ascending (2L+1 tokens). Next-token layout: the model reads
 * tokens 0..2L-1 (T = 2L) and predicts tokens 1..2L; the loss mask is 1
 * exactly on the L positions whose target is a sorted-output token
 * (t = L..2L-1). Model vocabulary and outputs: V+1 (the numbers and SEP).
 *
 * Settings (ctx "task.sort"; unknown keys and bad values are rejected):
 *   list_len        L, default 10, in [2, 128]
 *   vocab           V, default 64, in [2, 4096]; without replacement L <= V
 *   replacement     default false: the numbers of a list are distinct;
 *                   true: i.i.d. (repeats allowed)
 *   mean_gap        default 0. Controls the mean gap δ̄ between neighbours of
 *                   the sorted list, the data property that decides between
 *                   vocabulary-splitting and copy-suppression.
 *                   0: the list is a uniformly random set (or multiset) of
 *                      L numbers; its mean gap is then about (V+1)/(L+1)
 *                      (5.9 for the defaults).
 *                   m > 0: the sorted list is s_0 = start, s_{i+1} = s_i + g_i
 *                      with i.i.d. gaps g_i = gmin + Geometric (on 0,1,..) of
 *                      mean m - gmin, where gmin = 1 without replacement (so
 *                      m >= 1) and 0 with replacement; lists whose span
 *                      Σ g_i exceeds V-1 are rejected and redrawn, then start
 *                      is uniform on 0..V-1-span. The rejection lowers the
 *                      realised mean a little as (L-1)·m approaches V-1, the
 *                      largest value allowed.
 *   small_mean_gap  the geometric mean gap of distribution "small_gap";
 *                   default min(gmin + 1, (V-1)/(L-1)) (2 for the defaults)
 *   large_min_gap   distribution "large_gap": uniform over the lists whose
 *                   neighbouring gaps are ALL >= this integer (drawn as a
 *                   uniform list from 0..V'-1, V' = V - (L-1)(g - gmin),
 *                   with s_i += i·(g - gmin)). Default: halfway between gmin
 *                   and the largest feasible value (4 for the defaults; mean
 *                   gap ≈ 6.5). A large mean gap cannot be made by geometric
 *                   gaps plus rejection, which drives the realised mean back
 *                   below the uniform one.
 * Distributions: "train" and "test" (the mean_gap law, independent batch
 * streams), "small_gap", "large_gap" (for data-refined LLCs).
 * The input list is the sorted list in uniformly random order.
 *
 * chance_loss: the loss of the best predictor that ignores the input list but
 * knows the output position i, i.e. the mean over i of the entropy of the
 * i-th order statistic under the train law (exact for mean_gap 0, Monte Carlo
 * with 2e6/L lists from LLC_PURPOSE_TASK otherwise). It is below ln(V), the
 * loss of a predictor that ignores the position too (the marginal of all
 * output tokens is uniform for mean_gap 0).
 */
#include "task_impl.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SORT_MAX_LEN 128
#define SORT_MAX_VOCAB 4096
#define SORT_MAX_TRIES 100000 /* rejection attempts per list; acceptance is >= ~1/3 */
#define SORT_CHANCE_DRAWS 2000000L /* Monte Carlo list elements for chance_loss */

enum { SORT_UNIFORM = 0, SORT_GEOM, SORT_MINGAP };

typedef struct {
    int L, V, replacement;
    double mean_gap, small_mean_gap;
    int large_min_gap;
    int gmin; /* smallest gap: 1 distinct, 0 with replacement */
} sort_impl;

static const char *const sort_dists[] = {"train", "test", "small_gap", "large_gap"};

/* A law of sorted lists: mode and its parameter. */
typedef struct {
    int mode;
    double mean; /* SORT_GEOM */
    int min_gap; /* SORT_MINGAP */
} sort_law;

static sort_law sort_dist_law(const sort_impl *s, int dist)
{
    sort_law law = {SORT_UNIFORM, 0, 0};
    if (dist <= 1) {
        if (s->mean_gap > 0) law.mode = SORT_GEOM, law.mean = s->mean_gap;
    } else if (dist == 2) {
        law.mode = SORT_GEOM, law.mean = s->small_mean_gap;
    } else {
        law.mode = SORT_MINGAP, law.min_gap = s->large_min_gap;
    }
    return law;
}

static void sort_ints(int *a, int n)
{
    for (int i = 1; i < n; i++) {
        int v = a[i], j = i - 1;
        while (j >= 0 && a[j] > v) a[j + 1] = a[j], j--;
        a[j + 1] = v;
    }
}

/* L sorted numbers, uniform over the sets (distinct) or multisets
 * (i.i.d. draws, then sorted) of 0..n-1. Distinct: Floyd's algorithm. */
static void sort_uniform(int *out, int L, int n, int distinct, gsl_rng *r)
{
    if (distinct) {
        int k = 0;
        for (int j = n - L; j < n; j++) {
            int v = (int)gsl_rng_uniform_int(r, (unsigned long)j + 1), seen = 0;
            for (int i = 0; i < k && !seen; i++) seen = out[i] == v;
            out[k++] = seen ? j : v;
        }
    } else {
        for (int i = 0; i < L; i++) out[i] = (int)gsl_rng_uniform_int(r, (unsigned long)n);
    }
    sort_ints(out, L);
}

/* One sorted list of the law into out (L ints). */
static int sort_draw(const sort_impl *s, const sort_law *law, gsl_rng *r, int *out)
{
    const int L = s->L, V = s->V;
    if (law->mode == SORT_UNIFORM) {
        sort_uniform(out, L, V, !s->replacement, r);
        return LLC_OK;
    }
    if (law->mode == SORT_MINGAP) {
        int extra = law->min_gap - s->gmin;
        sort_uniform(out, L, V - (L - 1) * extra, !s->replacement, r);
        for (int i = 0; i < L; i++) out[i] += i * extra;
        return LLC_OK;
    }
    double mu = law->mean - s->gmin; /* mean of the geometric part */
    double p = 1.0 / (1.0 + mu);
    for (int tries = 0; tries < SORT_MAX_TRIES; tries++) {
        long span = 0;
        out[0] = 0;
        for (int i = 1; i < L && span <= V - 1; i++) {
            long g = s->gmin + (mu > 0 ? (long)gsl_ran_geometric(r, p) - 1 : 0);
            span += g;
            out[i] = (int)(span < V ? span : V);
        }
        if (span > V - 1) continue;
        int start = (int)gsl_rng_uniform_int(r, (unsigned long)(V - span));
        for (int i = 0; i < L; i++) out[i] += start;
        return LLC_OK;
    }
    return LLC_ERR_NUMERIC;
}

static int sort_fill(const llc_task *t, int dist, uint64_t index, llc_batch *b)
{
    const sort_impl *s = t->impl;
    const int L = s->L, T = 2 * L;
    llc_task_rng rs;
    int rc = llc_task_check_batch(t, dist, b);
    if (rc || (rc = llc_task_batch_rng(&rs, t, dist, index))) return rc;
    sort_law law = sort_dist_law(s, dist);
    int sorted[SORT_MAX_LEN], list[SORT_MAX_LEN], seq[2 * SORT_MAX_LEN + 1];
    for (int j = 0; j < b->B; j++) {
        if ((rc = sort_draw(s, &law, &rs.r, sorted))) return rc;
        memcpy(list, sorted, (size_t)L * sizeof *list);
        gsl_ran_shuffle(&rs.r, list, (size_t)L, sizeof *list);
        for (int i = 0; i < L; i++) {
            seq[i] = list[i];
            seq[L + 1 + i] = sorted[i];
        }
        seq[L] = s->V; /* separator */
        int *tok = b->tokens + (size_t)j * T, *tgt = b->targets + (size_t)j * T;
        float *m = b->mask + (size_t)j * T;
        for (int i = 0; i < T; i++) {
            tok[i] = seq[i];
            tgt[i] = seq[i + 1];
            m[i] = i >= L ? 1.0f : 0.0f;
        }
    }
    return LLC_OK;
}

static long sort_n_examples(const llc_task *t, int dist) { return 0; } /* endless streams */

static cJSON *sort_to_json(const llc_task *t)
{
    const sort_impl *s = t->impl;
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "list_len", s->L);
    ok = ok && cJSON_AddNumberToObject(o, "vocab", s->V);
    ok = ok && cJSON_AddBoolToObject(o, "replacement", s->replacement);
    ok = ok && cJSON_AddNumberToObject(o, "mean_gap", s->mean_gap);
    ok = ok && cJSON_AddNumberToObject(o, "small_mean_gap", s->small_mean_gap);
    ok = ok && cJSON_AddNumberToObject(o, "large_min_gap", s->large_min_gap);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void sort_free_impl(void *p) { free(p); }

static double entropy_of(const double *p, int n)
{
    double h = 0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0) h -= p[i] * log(p[i]);
    return h;
}

/* Mean over output positions of the entropy of the position's value under
 * the train law (see the file header). */
static int sort_chance(const sort_impl *s, uint64_t seed, double *out)
{
    const int L = s->L, V = s->V;
    double *p = calloc((size_t)L * (size_t)V, sizeof *p);
    gsl_rng *r = NULL;
    int rc = LLC_OK;
    double h = 0;
    if (!p) return LLC_ERR_NOMEM;
    if (s->mean_gap == 0 && !s->replacement) {
        /* P(s_i = v) = C(v, i) C(V-1-v, L-1-i) / C(V, L) */
        double lnall = gsl_sf_lnchoose((unsigned)V, (unsigned)L);
        for (int i = 0; i < L; i++)
            for (int v = i; v <= V - L + i; v++)
                p[(size_t)i * V + v] = exp(gsl_sf_lnchoose((unsigned)v, (unsigned)i) +
                                           gsl_sf_lnchoose((unsigned)(V - 1 - v), (unsigned)(L - 1 - i)) - lnall);
    } else if (s->mean_gap == 0) {
        /* P(s_i <= v) = P(Binomial(L, (v+1)/V) >= i+1) */
        for (int i = 0; i < L; i++) {
            double prev = 0;
            for (int v = 0; v < V; v++) {
                double c = v == V - 1 ? 1.0 : gsl_cdf_binomial_Q((unsigned)i, (v + 1.0) / V, (unsigned)L);
                p[(size_t)i * V + v] = c - prev;
                prev = c;
            }
        }
    } else {
        int sorted[SORT_MAX_LEN];
        long n = SORT_CHANCE_DRAWS / L;
        sort_law law = sort_dist_law(s, 0);
        r = llc_rng_new(llc_seed(seed, LLC_PURPOSE_TASK, llc_hash_str("sort.chance"), 0, 0));
        if (!r) { rc = LLC_ERR_NOMEM; goto cleanup; }
        for (long k = 0; k < n; k++) {
            if ((rc = sort_draw(s, &law, r, sorted))) goto cleanup;
            for (int i = 0; i < L; i++) p[(size_t)i * V + sorted[i]] += 1.0 / (double)n;
        }
    }
    for (int i = 0; i < L; i++) h += entropy_of(p + (size_t)i * V, V);
    *out = h / L;
cleanup:
    gsl_rng_free(r);
    free(p);
    return rc;
}

int llc_task_sort_init(const cJSON *settings, llc_task *t, char *err)
{
    static const char *const keys[] = {"list_len", "vocab", "replacement", "mean_gap",
                                       "small_mean_gap", "large_min_gap", NULL};
    const char *ctx = "task.sort";
    long long L, V, large;
    int repl, rc;
    double mean_gap, small;
    if ((rc = llc_json_check_keys(settings, keys, ctx, err)) ||
        (rc = llc_json_int(settings, "list_len", 10, 2, SORT_MAX_LEN, &L, ctx, err)) ||
        (rc = llc_json_int(settings, "vocab", 64, 2, SORT_MAX_VOCAB, &V, ctx, err)) ||
        (rc = llc_json_bool(settings, "replacement", 0, &repl, ctx, err)))
        return rc;
    if (!repl && L > V)
        return llc_fail(err, LLC_ERR_INVALID,
                        "%s: key 'list_len' must be <= vocab (= %lld) without replacement, got %lld", ctx, V, L);
    const int gmin = repl ? 0 : 1;
    const double m_max = (double)(V - 1) / (double)(L - 1); /* (L-1)·mean <= V-1 */
    if ((rc = llc_json_num(settings, "mean_gap", 0.0, 0.0, m_max, &mean_gap, ctx, err))) return rc;
    if (mean_gap > 0 && mean_gap < gmin)
        return llc_fail(err, LLC_ERR_INVALID,
                        "%s: key 'mean_gap' must be 0 (uniform) or in [1, %g] without replacement, got %g", ctx,
                        m_max, mean_gap);
    double small_def = gmin + 1.0 < m_max ? gmin + 1.0 : m_max;
    if ((rc = llc_json_num(settings, "small_mean_gap", small_def, gmin > 0 ? gmin : 1e-6, m_max, &small, ctx, err)))
        return rc;
    /* large_gap: V' = V - (L-1)(g - gmin) must still hold a list */
    const long long need = repl ? 1 : L;
    const long long g_max = gmin + (V - need) / (L - 1);
    if ((rc = llc_json_int(settings, "large_min_gap", gmin + (g_max - gmin) / 2, gmin, g_max, &large, ctx, err)))
        return rc;

    sort_impl *s = calloc(1, sizeof *s);
    if (!s) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    s->L = (int)L;
    s->V = (int)V;
    s->replacement = repl;
    s->mean_gap = mean_gap;
    s->small_mean_gap = small;
    s->large_min_gap = (int)large;
    s->gmin = gmin;
    double chance = 0;
    if ((rc = sort_chance(s, t->seed, &chance))) {
        free(s);
        return llc_fail(err, rc, "%s: computing the chance loss failed (%s)", ctx, llc_strerror(rc));
    }
    memset(&t->shape, 0, sizeof t->shape);
    t->shape.T = 2 * s->L;
    t->shape.vocab = s->V + 1;
    t->shape.n_out = s->V + 1;
    t->shape.chance_loss = chance;
    t->n_dists = 4;
    for (int i = 0; i < 4; i++) t->dists[i] = sort_dists[i];
    t->impl = s;
    t->n_examples = sort_n_examples;
    t->fill = sort_fill;
    t->to_json = sort_to_json;
    t->free_impl = sort_free_impl;
    return LLC_OK;
}
