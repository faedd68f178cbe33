/* regress.c - the regression tasks "linreg", "dln" and "poly" for the
 * ground-truth models: fixed finite data sets generated at construction,
 * full-batch or epoch-shuffled minibatches, and the teacher / model / Σ̂
 * hooks. See llc_regress.h for the settings and the data conventions.
 */
#include "llc_regress.h"

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RG_MAX_N 100000000L            /* at most this many samples per distribution */
#define RG_MAX_VALUES (1LL << 31)      /* at most this many floats of x + y per distribution */
#define RG_MAX_LINREG_D 2000           /* the least-squares fit and Σ̂'s spectrum are O(d³) */
#define RG_MAX_WIDTH 100000
#define RG_MAX_K 64                    /* largest poly exponent */
#define RG_FEISTEL_ROUNDS 6
#define RG_POP_DLN_N 100000L           /* dln population: default nominal n (see llc_regress.h) */

typedef struct {
    llc_regress_info info;
    int d_in, d_out;
    float *x[2]; /* per distribution, (n, d_in) */
    float *y[2]; /* per distribution, (n, d_out) */
    float *teacher;    /* (n_params) w* in the model's layout */
    size_t n_params;
    double *eigs;      /* linreg: (d) eigenvalues of Σ̂, ascending */
} rg_impl;

static const char *const rg_dists[] = {"train", "test"};

/* ---------------- the task interface ---------------- */

static long rg_n_examples(const llc_task *t, int dist)
{
    const rg_impl *g = t->impl;
    return (dist >= 0 && dist < 2) ? g->info.n : 0;
}

/* A keyed pseudo-random permutation of [0, n) (Feistel network on the
 * smallest even number of bits covering n, with cycle walking). */
typedef struct {
    uint64_t n, mask;
    int half;
    uint64_t key[RG_FEISTEL_ROUNDS];
} rg_perm;

static void rg_perm_init(rg_perm *p, uint64_t n, uint64_t key)
{
    int bits = 0;
    while (bits < 64 && (n - 1) >> bits) bits++;
    p->n = n;
    p->half = bits < 2 ? 1 : (bits + 1) / 2;
    p->mask = (1ULL << p->half) - 1;
    for (int i = 0; i < RG_FEISTEL_ROUNDS; i++) p->key[i] = llc_mix64(key + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
}

static inline uint64_t rg_min(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* out[k] = the permutation of o0 + k for k < m: passes of the network,
 * repeated on each value until it falls in [0, n) (cycle walking). The
 * walks run in RG_LANES lanes side by side, a lane taking the next value
 * as soon as its walk ends: one walk is a chain of dependent multiplies,
 * several of them fill the pipeline. The result does not depend on the
 * lane count. */
#define RG_LANES 8
static void rg_perm_run(const rg_perm *p, uint64_t o0, int m, uint64_t *out)
{
    if (p->n <= 1) {
        for (int k = 0; k < m; k++) out[k] = 0;
        return;
    }
    uint64_t v[RG_LANES] = {0};
    int at[RG_LANES], next = 0, left = m; /* at[q] < 0: lane q idle */
    for (int q = 0; q < RG_LANES; q++) {
        at[q] = next < m ? next++ : -1;
        if (at[q] >= 0) v[q] = o0 + (uint64_t)at[q];
    }
    while (left > 0) {
        uint64_t l[RG_LANES], r[RG_LANES];
        for (int q = 0; q < RG_LANES; q++) l[q] = v[q] >> p->half, r[q] = v[q] & p->mask;
        for (int i = 0; i < RG_FEISTEL_ROUNDS; i++)
            for (int q = 0; q < RG_LANES; q++) {
                uint64_t nl = r[q];
                r[q] = l[q] ^ (llc_mix64(r[q] ^ p->key[i]) & p->mask);
                l[q] = nl;
            }
        for (int q = 0; q < RG_LANES; q++) v[q] = (l[q] << p->half) | r[q];
        for (int q = 0; q < RG_LANES; q++) {
            if (at[q] < 0 || v[q] >= p->n) continue;
            out[at[q]] = v[q];
            left--;
            at[q] = next < m ? next++ : -1;
            if (at[q] >= 0) v[q] = o0 + (uint64_t)at[q];
        }
    }
}

static void rg_copy_sample(const rg_impl *g, int dist, uint64_t src, llc_batch *b, int dst)
{
    memcpy(b->x + (size_t)dst * (size_t)g->d_in, g->x[dist] + src * (uint64_t)g->d_in,
           (size_t)g->d_in * sizeof(float));
    memcpy(b->y + (size_t)dst * (size_t)g->d_out, g->y[dist] + src * (uint64_t)g->d_out,
           (size_t)g->d_out * sizeof(float));
    b->mask[dst] = 1.0f;
}

static int rg_fill(const llc_task *t, int dist, uint64_t index, llc_batch *b)
{
    const rg_impl *g = t->impl;
    if (dist < 0 || dist >= 2 || !b || b->B < 0 || b->B > b->cap_B || b->T != 1 || b->d_in != g->d_in ||
        b->d_out != g->d_out || !b->x || !b->y || !b->mask)
        return LLC_ERR_INVALID;
    if (g->info.population) { /* no data: a well-formed batch the population model does not read */
        memset(b->x, 0, (size_t)b->B * (size_t)g->d_in * sizeof *b->x);
        memset(b->y, 0, (size_t)b->B * (size_t)g->d_out * sizeof *b->y);
        for (int j = 0; j < b->B; j++) b->mask[j] = 1.0f;
        return LLC_OK;
    }
    const uint64_t n = (uint64_t)g->info.n, B = (uint64_t)b->B;
    if (B == n) {
        for (uint64_t i = 0; i < n; i++) rg_copy_sample(g, dist, i, b, (int)i);
        return LLC_OK;
    }
    /* stream position index·B = epoch·n + off, without overflowing 64 bits */
    uint64_t q = index / n, r = index % n;
    uint64_t epoch = q * B + (r * B) / n, off = (r * B) % n;
    /* The sources a chunk at a time (rg_perm_run), then their copies.
     * (Prefetching the scattered rows a few ahead made no difference.) */
    enum { CHUNK = 64 };
    uint64_t src[CHUNK];
    rg_perm perm;
    rg_perm_init(&perm, n, llc_seed(t->seed, LLC_PURPOSE_DATA, (uint64_t)dist, epoch, 0));
    for (uint64_t j0 = 0; j0 < B;) {
        /* the samples j0 .. j0 + m - 1: one epoch's permutation, at most CHUNK */
        const uint64_t e = epoch + (off + j0) / n, o = (off + j0) % n;
        const int m = (int)rg_min(rg_min(B - j0, n - o), CHUNK);
        if (j0 > 0 && o == 0) rg_perm_init(&perm, n, llc_seed(t->seed, LLC_PURPOSE_DATA, (uint64_t)dist, e, 0));
        rg_perm_run(&perm, o, m, src);
        for (int k = 0; k < m; k++) rg_copy_sample(g, dist, src[k], b, (int)(j0 + (uint64_t)k));
        j0 += (uint64_t)m;
    }
    return LLC_OK;
}

static cJSON *rg_to_json(const llc_task *t)
{
    const rg_impl *g = t->impl;
    const llc_regress_info *in = &g->info;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    ok &= cJSON_AddNumberToObject(o, "n", (double)in->n) != NULL;
    ok &= cJSON_AddNumberToObject(o, "noise", in->noise) != NULL;
    if (in->kind != LLC_REGRESS_LINREG) ok &= cJSON_AddBoolToObject(o, "population", in->population) != NULL;
    if (in->kind == LLC_REGRESS_LINREG) {
        ok &= cJSON_AddNumberToObject(o, "d", in->d) != NULL;
        ok &= cJSON_AddNumberToObject(o, "w0", in->w0) != NULL;
    } else if (in->kind == LLC_REGRESS_DLN) {
        cJSON *w = cJSON_CreateIntArray(in->widths, in->n_widths);
        ok &= w && cJSON_AddItemToObject(o, "widths", w);
        ok &= cJSON_AddNumberToObject(o, "rank", in->rank) != NULL;
    } else {
        ok &= cJSON_AddStringToObject(o, "form", in->form == LLC_POLY_LOCALITY ? "locality" : "monomial") != NULL;
        ok &= cJSON_AddStringToObject(o, "center", in->center_line ? "line" : "origin") != NULL;
        if (in->form == LLC_POLY_MONOMIAL) {
            cJSON *k = cJSON_CreateIntArray(in->k, in->n_k);
            ok &= k && cJSON_AddItemToObject(o, "k", k);
        }
        ok &= cJSON_AddNumberToObject(o, "s", in->s) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void rg_free_impl(void *p)
{
    rg_impl *g = p;
    if (!g) return;
    for (int i = 0; i < 2; i++) {
        free(g->x[i]);
        free(g->y[i]);
    }
    free(g->teacher);
    free(g->eigs);
    free(g);
}

/* ---------------- construction ---------------- */

/* Solve S w = c for symmetric positive-definite S (d×d, overwritten by its
 * Cholesky factor). Returns 0, or -1 if S is not (numerically) PD. */
static int rg_cholesky_solve(double *S, double *c, int d)
{
    for (int j = 0; j < d; j++) {
        double s = S[(size_t)j * d + j];
        for (int k = 0; k < j; k++) s -= S[(size_t)j * d + k] * S[(size_t)j * d + k];
        if (!(s > 0)) return -1;
        double ljj = sqrt(s);
        S[(size_t)j * d + j] = ljj;
        for (int i = j + 1; i < d; i++) {
            double v = S[(size_t)i * d + j];
            for (int k = 0; k < j; k++) v -= S[(size_t)i * d + k] * S[(size_t)j * d + k];
            S[(size_t)i * d + j] = v / ljj;
        }
    }
    for (int i = 0; i < d; i++) { /* L z = c */
        double v = c[i];
        for (int k = 0; k < i; k++) v -= S[(size_t)i * d + k] * c[k];
        c[i] = v / S[(size_t)i * d + i];
    }
    for (int i = d - 1; i >= 0; i--) { /* Lᵀ w = z */
        double v = c[i];
        for (int k = i + 1; k < d; k++) v -= S[(size_t)k * d + i] * c[k];
        c[i] = v / S[(size_t)i * d + i];
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* linreg: ŵ (least squares on train) into g->teacher, eig(Σ̂) into g->eigs. */
static int rg_linreg_fit(rg_impl *g, char *err)
{
    const int d = g->info.d;
    const size_t n = (size_t)g->info.n, dd = (size_t)d * (size_t)d;
    int rc = LLC_OK;
    double *S = calloc(dd, sizeof *S), *S2 = malloc(dd * sizeof *S2), *c = calloc((size_t)d, sizeof *c);
    gsl_eigen_symm_workspace *ew = NULL;
    if (!S || !S2 || !c) { rc = llc_fail(err, LLC_ERR_NOMEM, "task.linreg: out of memory"); goto cleanup; }
    for (size_t s = 0; s < n; s++) {
        const float *x = g->x[0] + s * (size_t)d;
        double y = g->y[0][s];
        for (int i = 0; i < d; i++) {
            c[i] += (double)x[i] * y;
            for (int j = 0; j <= i; j++) S[(size_t)i * d + j] += (double)x[i] * x[j];
        }
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++) {
            S[(size_t)i * d + j] /= (double)n;
            S[(size_t)j * d + i] = S[(size_t)i * d + j];
        }
    for (int i = 0; i < d; i++) c[i] /= (double)n;
    memcpy(S2, S, dd * sizeof *S);
    /* eigenvalues of Σ̂ */
    gsl_matrix_view mv = gsl_matrix_view_array(S2, (size_t)d, (size_t)d);
    gsl_vector_view ev = gsl_vector_view_array(g->eigs, (size_t)d);
    if (!(ew = gsl_eigen_symm_alloc((size_t)d))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "task.linreg: out of memory");
        goto cleanup;
    }
    if (gsl_eigen_symm(&mv.matrix, &ev.vector, ew)) {
        rc = llc_fail(err, LLC_ERR_NUMERIC, "task.linreg: eigen-decomposition of X^T X / n failed");
        goto cleanup;
    }
    qsort(g->eigs, (size_t)d, sizeof *g->eigs, cmp_double);
    /* ŵ = Σ̂⁻¹ Xᵀy/n */
    if (rg_cholesky_solve(S, c, d)) {
        rc = llc_fail(err, LLC_ERR_INVALID, "task.linreg: X^T X is singular; increase key 'n' (now %ld, d = %d)",
                      g->info.n, d);
        goto cleanup;
    }
    for (int i = 0; i < d; i++) g->teacher[i] = (float)c[i];
cleanup:
    gsl_eigen_symm_free(ew);
    free(S);
    free(S2);
    free(c);
    return rc;
}

/* Generate x, y of both distributions, and (linreg) the teacher / fit. */
static int rg_generate(rg_impl *g, uint64_t seed, const char *ctx, char *err)
{
    const llc_regress_info *in = &g->info;
    const size_t n = (size_t)in->n;
    int rc = LLC_OK;
    gsl_rng *rng = NULL;
    double *w_true = NULL;
    const int ndata = in->population ? 0 : 2; /* population: no data set at all */
    if (ndata && (long long)n * (g->d_in + g->d_out) > RG_MAX_VALUES)
        return llc_fail(err, LLC_ERR_INVALID, "%s: key 'n' = %ld gives more than %lld data values (n x (d_in + d_out))",
                        ctx, in->n, RG_MAX_VALUES);
    for (int dist = 0; dist < ndata; dist++) {
        g->x[dist] = malloc(n * (size_t)g->d_in * sizeof(float));
        g->y[dist] = malloc(n * (size_t)g->d_out * sizeof(float));
        if (!g->x[dist] || !g->y[dist])
            return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory for %ld samples", ctx, in->n);
    }
    if (in->kind == LLC_REGRESS_LINREG) {
        w_true = malloc((size_t)in->d * sizeof *w_true);
        rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_TASK, 0, 0, 0));
        if (!w_true || !rng) {
            rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
            goto cleanup;
        }
        for (int i = 0; i < in->d; i++) w_true[i] = in->w0 * gsl_ran_gaussian_ziggurat(rng, 1.0);
        gsl_rng_free(rng);
        rng = NULL;
    }
    for (int dist = 0; dist < ndata; dist++) {
        if (!(rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_SPLIT, (uint64_t)dist, 0, 0)))) {
            rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
            goto cleanup;
        }
        float *X = g->x[dist], *Y = g->y[dist];
        for (size_t s = 0; s < n; s++) {
            float *x = X + s * (size_t)g->d_in;  // (d_in)
            float *y = Y + s * (size_t)g->d_out; // (d_out)
            double xs = in->kind == LLC_REGRESS_POLY ? in->s : 1.0;
            for (int i = 0; i < g->d_in; i++) x[i] = (float)gsl_ran_gaussian_ziggurat(rng, xs);
            if (in->kind == LLC_REGRESS_LINREG) {
                double f = 0;
                for (int i = 0; i < in->d; i++) f += w_true[i] * x[i];
                y[0] = (float)(f + in->noise * gsl_ran_gaussian_ziggurat(rng, 1.0));
            } else if (in->kind == LLC_REGRESS_DLN) {
                /* the teacher's end-to-end map keeps the first r coordinates */
                for (int o = 0; o < g->d_out; o++) {
                    double f = o < in->rank ? x[o] : 0.0;
                    y[o] = (float)(f + in->noise * gsl_ran_gaussian_ziggurat(rng, 1.0));
                }
            } else {
                y[0] = (float)(in->noise * gsl_ran_gaussian_ziggurat(rng, 1.0));
            }
        }
        gsl_rng_free(rng);
        rng = NULL;
    }
    /* the teacher parameter w* */
    if (!(g->teacher = calloc(g->n_params, sizeof *g->teacher))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
        goto cleanup;
    }
    if (in->kind == LLC_REGRESS_LINREG) {
        if (!(g->eigs = malloc((size_t)in->d * sizeof *g->eigs))) {
            rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
            goto cleanup;
        }
        if ((rc = rg_linreg_fit(g, err))) goto cleanup;
    } else if (in->kind == LLC_REGRESS_DLN) {
        size_t off = 0;
        for (int l = 1; l < in->n_widths; l++) {
            const size_t cols = (size_t)in->widths[l - 1]; /* A*_l (H_l, H_{l-1}) */
            for (int i = 0; i < in->rank; i++) g->teacher[off + (size_t)i * cols + (size_t)i] = 1.0f;
            off += (size_t)in->widths[l] * (size_t)in->widths[l - 1];
        }
    } else if (in->form == LLC_POLY_LOCALITY && in->center_line) {
        g->teacher[0] = 1.0f;
        g->teacher[1] = 0.5f;
    }
cleanup:
    gsl_rng_free(rng);
    free(w_true);
    return rc;
}

/* Fill t from a validated g (takes ownership of g, also on failure). */
static int rg_finish(rg_impl *g, llc_task *t, const char *ctx, char *err)
{
    int rc = rg_generate(g, t->seed, ctx, err);
    if (rc) {
        rg_free_impl(g);
        return rc;
    }
    /* chance loss: the train set's total variance of y (best constant
     * predictor); population: the variance of y itself, rank + d_out·noise² */
    const size_t n = (size_t)g->info.n;
    double chance = 0;
    if (g->info.population)
        chance = (g->info.kind == LLC_REGRESS_DLN ? g->info.rank : 0) + g->d_out * g->info.noise * g->info.noise;
    for (int o = 0; o < (g->info.population ? 0 : g->d_out); o++) {
        double mean = 0, ss = 0;
        for (size_t s = 0; s < n; s++) mean += g->y[0][s * (size_t)g->d_out + (size_t)o];
        mean /= (double)n;
        for (size_t s = 0; s < n; s++) {
            double v = g->y[0][s * (size_t)g->d_out + (size_t)o] - mean;
            ss += v * v;
        }
        chance += ss / (double)n;
    }
    memset(&t->shape, 0, sizeof t->shape);
    t->shape.T = 1;
    t->shape.d_in = g->d_in;
    t->shape.d_out = g->d_out;
    t->shape.chance_loss = chance;
    t->n_dists = 2;
    t->dists[0] = rg_dists[0];
    t->dists[1] = rg_dists[1];
    t->impl = g;
    t->n_examples = rg_n_examples;
    t->fill = rg_fill;
    t->to_json = rg_to_json;
    t->free_impl = rg_free_impl;
    return LLC_OK;
}

static rg_impl *rg_impl_new(llc_regress_kind kind)
{
    rg_impl *g = calloc(1, sizeof *g);
    if (g) g->info.kind = kind;
    return g;
}

int llc_task_linreg_init(const cJSON *settings, llc_task *t, char *err)
{
    static const char *const keys[] = {"n", "d", "noise", "w0", NULL};
    const char *ctx = "task.linreg";
    long long n, d;
    double noise, w0;
    int rc;
    if ((rc = llc_json_check_keys(settings, keys, ctx, err)) ||
        (rc = llc_json_int(settings, "d", 10, 1, RG_MAX_LINREG_D, &d, ctx, err)) ||
        (rc = llc_json_int(settings, "n", 1000, 1, RG_MAX_N, &n, ctx, err)) ||
        (rc = llc_json_num(settings, "noise", 1.0, 0.0, 1e6, &noise, ctx, err)) ||
        (rc = llc_json_num(settings, "w0", 1.0, 0.0, 1e6, &w0, ctx, err)))
        return rc;
    if (n < d)
        return llc_fail(err, LLC_ERR_INVALID, "%s: key 'n' must be >= d (= %lld) so that X^T X is invertible, got %lld",
                        ctx, d, n);
    rg_impl *g = rg_impl_new(LLC_REGRESS_LINREG);
    if (!g) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    g->info.n = (long)n;
    g->info.d = (int)d;
    g->info.noise = noise;
    g->info.w0 = w0;
    g->d_in = (int)d;
    g->d_out = 1;
    g->n_params = (size_t)d;
    return rg_finish(g, t, ctx, err);
}

int llc_task_dln_init(const cJSON *settings, llc_task *t, char *err)
{
    static const char *const keys[] = {"widths", "rank", "n", "noise", "population", NULL};
    const char *ctx = "task.dln";
    long long wl[LLC_GT_MAX_LAYERS + 1], rank, n;
    int nw = 0, pop;
    double noise;
    int rc;
    if ((rc = llc_json_check_keys(settings, keys, ctx, err)) ||
        (rc = llc_json_bool(settings, "population", 0, &pop, ctx, err)) ||
        (rc = llc_json_int_list(settings, "widths", 1, RG_MAX_WIDTH, wl, LLC_GT_MAX_LAYERS + 1, &nw, ctx, err)))
        return rc;
    const cJSON *wv = settings ? cJSON_GetObjectItemCaseSensitive(settings, "widths") : NULL;
    if (nw == 0 && (!wv || cJSON_IsNull(wv))) {
        wl[0] = 5;
        wl[1] = 4;
        wl[2] = 5;
        nw = 3;
    }
    if (nw < 2)
        return llc_fail(err, LLC_ERR_INVALID, "%s: key 'widths' must list 2 to %d widths (input .. output), got %d",
                        ctx, LLC_GT_MAX_LAYERS + 1, nw);
    long long wmin = wl[0];
    for (int i = 1; i < nw; i++)
        if (wl[i] < wmin) wmin = wl[i];
    if ((rc = llc_json_int(settings, "rank", 0, 0, wmin, &rank, ctx, err)) ||
        (rc = llc_json_int(settings, "n", pop ? RG_POP_DLN_N : 1000, pop ? 2 : 1, RG_MAX_N, &n, ctx, err)) ||
        (rc = llc_json_num(settings, "noise", 0.0, 0.0, 1e6, &noise, ctx, err)))
        return rc;
    rg_impl *g = rg_impl_new(LLC_REGRESS_DLN);
    if (!g) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    g->info.population = pop;
    g->info.n = (long)n;
    g->info.noise = noise;
    g->info.n_widths = nw;
    g->info.rank = (int)rank;
    size_t np = 0;
    for (int i = 0; i < nw; i++) {
        g->info.widths[i] = (int)wl[i];
        if (i > 0) np += (size_t)wl[i] * (size_t)wl[i - 1];
    }
    g->d_in = (int)wl[0];
    g->d_out = (int)wl[nw - 1];
    g->n_params = np;
    return rg_finish(g, t, ctx, err);
}

int llc_task_poly_init(const cJSON *settings, llc_task *t, char *err)
{
    static const char *const keys[] = {"k", "form", "center", "n", "s", "noise", "population", NULL};
    static const char *const forms[] = {"monomial", "locality", NULL};
    static const char *const centers[] = {"origin", "line", NULL};
    const char *ctx = "task.poly";
    long long kl[LLC_GT_MAX_K], n;
    int nk = 0, form, center, pop;
    double s, noise;
    int rc;
    if ((rc = llc_json_check_keys(settings, keys, ctx, err)) ||
        (rc = llc_json_bool(settings, "population", 0, &pop, ctx, err)) ||
        (rc = llc_json_choice(settings, "form", "monomial", forms, &form, ctx, err)) ||
        (rc = llc_json_choice(settings, "center", "origin", centers, &center, ctx, err)) ||
        (rc = llc_json_int_list(settings, "k", 0, RG_MAX_K, kl, LLC_GT_MAX_K, &nk, ctx, err)) ||
        (rc = llc_json_int(settings, "n", 1000, pop ? 2 : 1, RG_MAX_N, &n, ctx, err)) ||
        (rc = llc_json_num(settings, "s", 1.0, 0.0, 1e6, &s, ctx, err)) ||
        (rc = llc_json_num(settings, "noise", 1.0, 0.0, 1e6, &noise, ctx, err)))
        return rc;
    int k_given = settings && cJSON_GetObjectItemCaseSensitive(settings, "k") &&
                  !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(settings, "k"));
    if (form == LLC_POLY_LOCALITY) {
        if (k_given) return llc_fail(err, LLC_ERR_INVALID, "%s: key 'k' is not used with form 'locality'", ctx);
        nk = 0;
    } else {
        if (center == 1)
            return llc_fail(err, LLC_ERR_INVALID, "%s: key 'center' may be 'line' only with form 'locality'", ctx);
        if (!k_given) {
            kl[0] = 1;
            kl[1] = 2;
            nk = 2;
        }
        int any = 0;
        for (int j = 0; j < nk; j++) any |= kl[j] > 0;
        if (nk < 1 || !any)
            return llc_fail(err, LLC_ERR_INVALID, "%s: key 'k' must list 1 to %d exponents, at least one > 0", ctx,
                            LLC_GT_MAX_K);
    }
    if (!(s > 0)) return llc_fail(err, LLC_ERR_INVALID, "%s: key 's' must be > 0, got %g", ctx, s);
    rg_impl *g = rg_impl_new(LLC_REGRESS_POLY);
    if (!g) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    g->info.population = pop;
    g->info.n = (long)n;
    g->info.noise = noise;
    g->info.s = s;
    g->info.form = (llc_poly_form)form;
    g->info.center_line = center;
    g->info.n_k = nk;
    for (int j = 0; j < nk; j++) g->info.k[j] = (int)kl[j];
    g->d_in = g->d_out = 1;
    g->n_params = form == LLC_POLY_LOCALITY ? 2 : (size_t)nk;
    return rg_finish(g, t, ctx, err);
}

/* ---------------- hooks ---------------- */

int llc_regress_is(const llc_task *t) { return t && t->fill == rg_fill && t->impl; }

int llc_regress_get_info(const llc_task *t, llc_regress_info *info, char *err)
{
    if (!llc_regress_is(t))
        return llc_fail(err, LLC_ERR_INVALID, "task '%s' is not a regression task (linreg, dln, poly)",
                        t ? t->name : "?");
    *info = ((const rg_impl *)t->impl)->info;
    return LLC_OK;
}

int llc_regress_make_model(const llc_task *t, llc_model **out, char *err)
{
    llc_regress_info in;
    int rc = llc_regress_get_info(t, &in, err);
    if (rc) return rc;
    if (in.kind == LLC_REGRESS_LINREG) return llc_linreg_new(in.d, out, err);
    if (in.kind == LLC_REGRESS_DLN) rc = llc_dln_new(in.widths, in.n_widths, out, err);
    else rc = llc_poly_new(in.form, in.form == LLC_POLY_MONOMIAL ? in.k : NULL, in.n_k, out, err);
    if (rc || !in.population) return rc;
    if (in.kind == LLC_REGRESS_DLN) {
        /* the teacher's end-to-end map keeps the first r coordinates */
        const int H0 = in.widths[0], HL = in.widths[in.n_widths - 1];
        float *T = calloc((size_t)HL * (size_t)H0, sizeof *T);
        if (!T) rc = llc_fail(err, LLC_ERR_NOMEM, "task '%s': out of memory", t->name);
        for (int i = 0; !rc && i < in.rank; i++) T[(size_t)i * (size_t)H0 + (size_t)i] = 1.0f;
        if (!rc) rc = llc_dln_set_population(*out, T, in.noise, err);
        free(T);
    } else {
        rc = llc_poly_set_population(*out, in.s, in.noise, err);
    }
    if (rc) {
        llc_model_free(*out);
        *out = NULL;
    }
    return rc;
}

int llc_regress_teacher(const llc_task *t, float *w, size_t n_params, char *err)
{
    llc_regress_info in;
    int rc = llc_regress_get_info(t, &in, err);
    if (rc) return rc;
    const rg_impl *g = t->impl;
    if (n_params != g->n_params)
        return llc_fail(err, LLC_ERR_INVALID, "task '%s': the teacher has %zu parameters, the model %zu", t->name,
                        g->n_params, n_params);
    memcpy(w, g->teacher, n_params * sizeof *w);
    return LLC_OK;
}

int llc_regress_covariance_eigs(const llc_task *t, double *eigs)
{
    if (!llc_regress_is(t)) return LLC_ERR_INVALID;
    const rg_impl *g = t->impl;
    if (g->info.kind != LLC_REGRESS_LINREG) return LLC_ERR_INVALID;
    memcpy(eigs, g->eigs, (size_t)g->info.d * sizeof *eigs);
    return LLC_OK;
}
