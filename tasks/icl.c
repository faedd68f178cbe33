/* icl.c - in-context few-shot classification of Singh et al. (ICML 2024),
 * with a synthetic stand-in for the Omniglot features.
 *
 * Classes: n_classes prototypes in R^D, unit-norm Gaussian directions drawn
 * once from llc_seed(seed, LLC_PURPOSE_TASK, …). An exemplar of class c is
 * prototype_c + noise·N(0, I_D)/sqrt(D), fresh for every appearance. The last
 * held_out classes are never used by "train"/"test".
 *
 * A sequence: x1 y1 x2 y2 … xN yN xq (N = n_pairs, T = 2N+1). It uses
 * K = ctx_classes distinct classes; each appears at least once among the N
 * exemplars (the other N-K exemplars pick a class uniformly among the K),
 * in random order; the query xq is a fresh exemplar of one of the K, chosen
 * uniformly. Labels are RE-DRAWN for every sequence: the K classes get K
 * distinct labels from {0..n_labels-1} at random, so the label of a class
 * carries no information across sequences and only copying the label of the
 * matching in-context exemplar solves the task (guessing among the K
 * in-context labels gives ln K; ln 2 ≈ 0.693 for the default K = 2).
 *
 * Held-out label pairs: held_out_pairs disjoint pairs of labels {a, b} (a
 * random matching from LLC_PURPOSE_TASK) never occur together in a sequence
 * of "train", "test" or "heldout": the label set is uniform over the K-sets
 * containing no held-out pair (sampled exactly, no rejection).
 *
 * Distributions:
 *   train    classes from the first n_classes - held_out (the train classes)
 *   test     the same law, an independent batch stream
 *   heldout  classes only from the held_out held-out classes
 *   pairs    (only if held_out_pairs > 0) train classes, but the query's label
 *            and the label of one other in-context class form a held-out
 *            pair (chosen uniformly, random orientation); the remaining K-2
 *            labels are distinct and otherwise unrestricted. Tests whether
 *            copying generalises to label combinations never seen together.
 *
 * Encoding: exemplar and query positions have token -1 and x = the vector;
 * label positions have token = the label and x = 0. Target: the query's label
 * at position T-1, mask 1 there only (other targets 0). The model is causal.
 * vocab = n_out = n_labels, d_in = D.
 *
 * Settings (ctx "task.icl"): n_pairs (2, [1, 64]), n_classes (64,
 * [2, 100000]), held_out (max(K, min(16, n_classes/4)), [K, n_classes - K]),
 * n_labels (5, [2, 1024]), ctx_classes (min(2, n_pairs), [1, min(n_pairs,
 * n_labels)]), dim (16, [1, 1024]), noise (0.1, [0, 100]), held_out_pairs
 * (1 if K >= 2 and n_labels > K, else 0; [0, min(n_labels/2, n_labels - K)],
 * 0 when K = 1).
 *
 * chance_loss: the entropy of the query label's marginal under "train" (an
 * input-ignoring predictor). Without held-out pairs every label is equally
 * likely: ln(n_labels); held-out pairs make their labels slightly rarer.
 */
#include "task_impl.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ICL_MAX_PAIRS 64
#define ICL_MAX_CLASSES 100000
#define ICL_MAX_LABELS 1024
#define ICL_MAX_DIM 1024
#define ICL_MAX_PROTO (1L << 24) /* n_classes · dim floats */

enum { ICL_TRAIN = 0, ICL_TEST, ICL_HELDOUT, ICL_PAIRS };

typedef struct {
    int N, C, H, NL, K, D, M;
    double noise;
    float *proto;       /* (C, D) unit vectors */
    int *pair_a, *pair_b; /* (M) held-out label pairs */
    int *unmatched;     /* (NL - 2M) labels in no held-out pair */
    double w[ICL_MAX_PAIRS + 1]; /* cumulative weights of j = #held-out pairs touched by a label set */
} icl_impl;

static const char *const icl_dists[] = {"train", "test", "heldout", "pairs"};

static long icl_n_examples(const llc_task *t, int dist) { return 0; } /* endless streams */

/* k distinct integers of [0, n) (Floyd), in no particular order */
static void icl_choose(int *out, int k, int n, gsl_rng *r)
{
    int m = 0;
    for (int j = n - k; j < n; j++) {
        int v = (int)gsl_rng_uniform_int(r, (unsigned long)j + 1), seen = 0;
        for (int i = 0; i < m && !seen; i++) seen = out[i] == v;
        out[m++] = seen ? j : v;
    }
}

/* K distinct labels containing no held-out pair, uniform over such sets, in
 * random order. A set touches j held-out pairs (one label of each) and takes
 * K-j unmatched labels; j is drawn with weight C(M,j)·2^j·C(U,K-j). */
static void icl_labels_allowed(const icl_impl *c, int *lab, gsl_rng *r)
{
    const int U = c->NL - 2 * c->M;
    int jmax = c->K < c->M ? c->K : c->M, j = 0;
    double u = gsl_rng_uniform(r) * c->w[jmax];
    while (j < jmax && u >= c->w[j]) j++;
    int idx[ICL_MAX_PAIRS];
    icl_choose(idx, j, c->M, r);
    for (int i = 0; i < j; i++) lab[i] = gsl_rng_uniform_int(r, 2) ? c->pair_a[idx[i]] : c->pair_b[idx[i]];
    icl_choose(idx, c->K - j, U, r);
    for (int i = 0; i < c->K - j; i++) lab[j + i] = c->unmatched[idx[i]];
    gsl_ran_shuffle(r, lab, (size_t)c->K, sizeof *lab);
}

/* "pairs": slots qs and os get the two labels of a random held-out pair, the
 * others distinct labels drawn uniformly from the rest. */
static void icl_labels_pairs(const icl_impl *c, int *lab, int qs, gsl_rng *r)
{
    int i = (int)gsl_rng_uniform_int(r, (unsigned long)c->M), flip = (int)gsl_rng_uniform_int(r, 2);
    int os = (int)gsl_rng_uniform_int(r, (unsigned long)c->K - 1);
    if (os >= qs) os++;
    lab[qs] = flip ? c->pair_b[i] : c->pair_a[i];
    lab[os] = flip ? c->pair_a[i] : c->pair_b[i];
    for (int s = 0; s < c->K; s++) {
        if (s == qs || s == os) continue;
        for (;;) {
            int v = (int)gsl_rng_uniform_int(r, (unsigned long)c->NL), used = v == lab[qs] || v == lab[os];
            for (int q = 0; q < s && !used; q++) used = q != qs && q != os && lab[q] == v;
            if (!used) {
                lab[s] = v;
                break;
            }
        }
    }
}

static void icl_exemplar(const icl_impl *c, int cls, float *x, gsl_rng *r)
{
    const double sd = c->noise / sqrt((double)c->D);
    const float *p = c->proto + (size_t)cls * (size_t)c->D;
    for (int d = 0; d < c->D; d++) x[d] = p[d] + (float)(sd > 0 ? gsl_ran_gaussian_ziggurat(r, sd) : 0.0);
}

static int icl_fill(const llc_task *t, int dist, uint64_t index, llc_batch *b)
{
    const icl_impl *c = t->impl;
    const int N = c->N, K = c->K, D = c->D, T = 2 * N + 1;
    llc_task_rng rs;
    int rc = llc_task_check_batch(t, dist, b);
    if (rc || (rc = llc_task_batch_rng(&rs, t, dist, index))) return rc;
    gsl_rng *r = &rs.r;
    const int base = dist == ICL_HELDOUT ? c->C - c->H : 0;
    const int pool = dist == ICL_HELDOUT ? c->H : c->C - c->H;
    int cls[ICL_MAX_PAIRS], lab[ICL_MAX_PAIRS], slot[ICL_MAX_PAIRS];
    for (int j = 0; j < b->B; j++) {
        icl_choose(cls, K, pool, r);
        int qs = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        if (dist == ICL_PAIRS)
            icl_labels_pairs(c, lab, qs, r);
        else
            icl_labels_allowed(c, lab, r);
        for (int p = 0; p < N; p++) slot[p] = p < K ? p : (int)gsl_rng_uniform_int(r, (unsigned long)K);
        gsl_ran_shuffle(r, slot, (size_t)N, sizeof *slot);
        int *tok = b->tokens + (size_t)j * T, *tgt = b->targets + (size_t)j * T;
        float *mk = b->mask + (size_t)j * T, *x = b->x + (size_t)j * T * D;
        memset(x, 0, (size_t)T * (size_t)D * sizeof *x);
        for (int i = 0; i < T; i++) tgt[i] = 0, mk[i] = 0.0f;
        for (int p = 0; p < N; p++) {
            tok[2 * p] = -1;
            icl_exemplar(c, base + cls[slot[p]], x + (size_t)(2 * p) * D, r);
            tok[2 * p + 1] = lab[slot[p]];
        }
        tok[T - 1] = -1;
        icl_exemplar(c, base + cls[qs], x + (size_t)(T - 1) * D, r);
        tgt[T - 1] = lab[qs];
        mk[T - 1] = 1.0f;
    }
    return LLC_OK;
}

static cJSON *icl_to_json(const llc_task *t)
{
    const icl_impl *c = t->impl;
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "n_pairs", c->N);
    ok = ok && cJSON_AddNumberToObject(o, "n_classes", c->C);
    ok = ok && cJSON_AddNumberToObject(o, "held_out", c->H);
    ok = ok && cJSON_AddNumberToObject(o, "n_labels", c->NL);
    ok = ok && cJSON_AddNumberToObject(o, "ctx_classes", c->K);
    ok = ok && cJSON_AddNumberToObject(o, "dim", c->D);
    ok = ok && cJSON_AddNumberToObject(o, "noise", c->noise);
    ok = ok && cJSON_AddNumberToObject(o, "held_out_pairs", c->M);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void icl_free_impl(void *p)
{
    icl_impl *c = p;
    if (!c) return;
    free(c->proto);
    free(c->pair_a);
    free(c->pair_b);
    free(c->unmatched);
    free(c);
}

static double icl_binom(int n, int k)
{
    if (k < 0 || n < 0 || k > n) return 0;
    double v = 1;
    for (int i = 1; i <= k; i++) v = v * (n - k + i) / i;
    return v;
}

/* Number of K-sets avoiding the pairs, drawn from m pairs and u unmatched labels. */
static double icl_count(int m, int u, int K)
{
    double s = 0;
    for (int j = 0; j <= m && j <= K; j++) s += icl_binom(m, j) * pow(2.0, j) * icl_binom(u, K - j);
    return s;
}

/* Prototypes, the held-out matching and the weights of j. */
static int icl_setup(icl_impl *c, uint64_t seed)
{
    gsl_rng *r = llc_rng_new(llc_seed(seed, LLC_PURPOSE_TASK, llc_hash_str("icl.prototypes"), 0, 0));
    int *perm = NULL, rc = LLC_OK;
    const int U = c->NL - 2 * c->M;
    c->proto = malloc((size_t)c->C * (size_t)c->D * sizeof *c->proto);
    c->pair_a = malloc((size_t)(c->M + 1) * sizeof *c->pair_a);
    c->pair_b = malloc((size_t)(c->M + 1) * sizeof *c->pair_b);
    c->unmatched = malloc((size_t)(U + 1) * sizeof *c->unmatched);
    perm = malloc((size_t)c->NL * sizeof *perm);
    if (!r || !c->proto || !c->pair_a || !c->pair_b || !c->unmatched || !perm) { rc = LLC_ERR_NOMEM; goto cleanup; }
    for (int k = 0; k < c->C; k++) {
        float *p = c->proto + (size_t)k * (size_t)c->D;
        double nrm = 0;
        while (nrm == 0) {
            for (int d = 0; d < c->D; d++) {
                p[d] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
                nrm += (double)p[d] * p[d];
            }
        }
        nrm = sqrt(nrm);
        for (int d = 0; d < c->D; d++) p[d] = (float)(p[d] / nrm);
    }
    llc_rng_reseed(r, llc_seed(seed, LLC_PURPOSE_TASK, llc_hash_str("icl.label_pairs"), 0, 0));
    for (int l = 0; l < c->NL; l++) perm[l] = l;
    gsl_ran_shuffle(r, perm, (size_t)c->NL, sizeof *perm);
    for (int i = 0; i < c->M; i++) c->pair_a[i] = perm[2 * i], c->pair_b[i] = perm[2 * i + 1];
    for (int i = 0; i < U; i++) c->unmatched[i] = perm[2 * c->M + i];
    double acc = 0;
    for (int j = 0; j <= ICL_MAX_PAIRS; j++) {
        if (j <= c->M && j <= c->K) acc += icl_binom(c->M, j) * pow(2.0, j) * icl_binom(U, c->K - j);
        c->w[j] = acc;
    }
cleanup:
    gsl_rng_free(r);
    free(perm);
    return rc;
}

int llc_task_icl_init(const cJSON *settings, llc_task *t, char *err)
{
    static const char *const keys[] = {"n_pairs", "n_classes", "held_out", "n_labels", "ctx_classes",
                                       "dim", "noise", "held_out_pairs", NULL};
    const char *ctx = "task.icl";
    long long N, C, H, NL, K, D, M;
    double noise;
    int rc;
    if ((rc = llc_json_check_keys(settings, keys, ctx, err)) ||
        (rc = llc_json_int(settings, "n_pairs", 2, 1, ICL_MAX_PAIRS, &N, ctx, err)) ||
        (rc = llc_json_int(settings, "n_labels", 5, 2, ICL_MAX_LABELS, &NL, ctx, err)) ||
        (rc = llc_json_int(settings, "ctx_classes", N < 2 ? N : 2, 1, N < NL ? N : NL, &K, ctx, err)) ||
        (rc = llc_json_int(settings, "n_classes", 64, 2 * K, ICL_MAX_CLASSES, &C, ctx, err)))
        return rc;
    long long hdef = C / 4 < 16 ? C / 4 : 16;
    if (hdef < K) hdef = K;
    long long mmax = NL / 2 < NL - K ? NL / 2 : NL - K;
    if (K < 2) mmax = 0;
    if ((rc = llc_json_int(settings, "held_out", hdef, K, C - K, &H, ctx, err)) ||
        (rc = llc_json_int(settings, "dim", 16, 1, ICL_MAX_DIM, &D, ctx, err)) ||
        (rc = llc_json_num(settings, "noise", 0.1, 0.0, 100.0, &noise, ctx, err)) ||
        (rc = llc_json_int(settings, "held_out_pairs", mmax > 0 ? 1 : 0, 0, mmax, &M, ctx, err)))
        return rc;
    if (C * D > ICL_MAX_PROTO)
        return llc_fail(err, LLC_ERR_INVALID, "%s: n_classes·dim must be <= %ld, got %lld", ctx, ICL_MAX_PROTO, C * D);
    icl_impl *c = calloc(1, sizeof *c);
    if (!c) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    c->N = (int)N, c->C = (int)C, c->H = (int)H, c->NL = (int)NL, c->K = (int)K, c->D = (int)D, c->M = (int)M;
    c->noise = noise;
    if ((rc = icl_setup(c, t->seed))) {
        icl_free_impl(c);
        return llc_fail(err, rc, "%s: out of memory", ctx);
    }
    /* chance: P(query label = l) = P(l in the set)/K; a label of a held-out
     * pair is in count(M-1, U, K-1) of the count(M, U, K) allowed sets, an
     * unmatched one in count(M, U-1, K-1). */
    const int U = c->NL - 2 * c->M;
    double all = icl_count(c->M, U, c->K), chance = 0;
    double pm = icl_count(c->M - 1, U, c->K - 1) / all / c->K, pu = icl_count(c->M, U - 1, c->K - 1) / all / c->K;
    if (c->M > 0 && pm > 0) chance -= 2.0 * c->M * pm * log(pm);
    if (U > 0 && pu > 0) chance -= U * pu * log(pu);
    memset(&t->shape, 0, sizeof t->shape);
    t->shape.T = 2 * c->N + 1;
    t->shape.vocab = c->NL;
    t->shape.d_in = c->D;
    t->shape.n_out = c->NL;
    t->shape.chance_loss = chance;
    t->n_dists = c->M > 0 ? 4 : 3;
    for (int i = 0; i < t->n_dists; i++) t->dists[i] = icl_dists[i];
    t->impl = c;
    t->n_examples = icl_n_examples;
    t->fill = icl_fill;
    t->to_json = icl_to_json;
    t->free_impl = icl_free_impl;
    return LLC_OK;
}
