/* test_gt.c - the ground-truth models (core/gtmodels.c) and their regression
 * tasks (tasks/regress.c):
 *   - each model's loss against an independent double-precision reference,
 *     and its analytic gradient against central finite differences of that
 *     reference (masked samples included);
 *   - linreg: L_n(w) − L_n(ŵ) = (w − ŵ)ᵀΣ̂(w − ŵ) at the task's teacher ŵ,
 *     Σ̂'s eigenvalues against its trace and Frobenius norm;
 *   - dln: the teacher has rank r in every layer and end to end, and zero
 *     loss on noise-free data;
 *   - fill: the full batch is the whole set in order, minibatch epochs are
 *     permutations, any 64-bit index, determinism, settings round trip;
 *   - population losses (dln, poly): closed form against a double reference,
 *     gradient against finite differences, batch-independent, equal to the
 *     mean data loss over many samples; population tasks hold no data;
 *   - bad settings rejected with a message naming the key.
 * TEST_SEED=<n> replays the random parameters and batches.
 */
#include "llc_gtmodels.h"
#include "llc_regress.h"
#include "llc_theory.h"
#include "fixture.h"
#include "testutil.h"

#include <gsl/gsl_randist.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FD_H 1e-6          /* finite-difference step (double reference) */
#define FD_RTOL 1e-3       /* analytic (float) vs finite-difference gradient */
#define FD_ATOL 2e-5
#define LOSS_RTOL 1e-5     /* model loss (float data, double accumulation) vs reference */
#define QUAD_RTOL 1e-5     /* linreg: L(w) − L(ŵ) vs (w−ŵ)ᵀΣ̂(w−ŵ) */
#define MAXP 1024

static uint64_t g_seed = 20240612ULL;

/* ---------------- helpers ---------------- */

static llc_batch *batch_for(const llc_task *t, int B)
{
    return llc_batch_alloc(B, 1, 0, t->shape.d_in, 0, t->shape.d_out);
}

/* Independent double-precision loss of a linreg or dln model (poly: see
 * ref_poly_loss). */
static double ref_loss(const llc_model *m, const double *w, const llc_batch *b)
{
    const int din = b->d_in, dout = b->d_out;
    double L = 0, M = 0;
    for (int s = 0; s < b->B; s++) {
        const float *x = b->x + (size_t)s * din;
        const float *y = b->y + (size_t)s * dout;
        double f[64], tmp[64];
        if (strcmp(m->kind, "linreg") == 0) {
            f[0] = 0;
            for (int i = 0; i < din; i++) f[0] += w[i] * x[i];
        } else { /* dln: apply A_1 .. A_L in turn */
            int nw;
            const int *H = llc_dln_widths(m, &nw);
            for (int i = 0; i < H[0]; i++) f[i] = x[i];
            size_t off = 0;
            for (int l = 1; l < nw; l++) {
                for (int o = 0; o < H[l]; o++) {
                    double v = 0;
                    for (int i = 0; i < H[l - 1]; i++) v += w[off + (size_t)o * H[l - 1] + i] * f[i];
                    tmp[o] = v;
                }
                off += (size_t)H[l] * H[l - 1];
                for (int o = 0; o < H[l]; o++) f[o] = tmp[o];
            }
        }
        double e = 0;
        for (int o = 0; o < dout; o++) e += (f[o] - y[o]) * (f[o] - y[o]);
        L += b->mask[s] * e;
        M += b->mask[s];
    }
    return M > 0 ? L / M : 0;
}

/* poly reference: f = x·g(w) with g given by form and k. */
static double ref_poly_g(int locality, const int *k, int n, const double *w)
{
    if (locality) {
        double q = w[0] * w[0] + w[1] * w[1];
        return (w[0] - 1) * q * q;
    }
    double g = 1;
    for (int j = 0; j < n; j++) g *= pow(w[j], k[j]);
    return g;
}

static double ref_poly_loss(int locality, const int *k, int n, const double *w, const llc_batch *b)
{
    double g = ref_poly_g(locality, k, n, w), L = 0, M = 0;
    for (int s = 0; s < b->B; s++) {
        double r = b->x[s] * g - b->y[s];
        L += b->mask[s] * r * r;
        M += b->mask[s];
    }
    return M > 0 ? L / M : 0;
}

typedef struct {
    int is_poly, locality, n_k;
    const int *k;
} poly_spec;

static double any_ref_loss(const llc_model *m, const poly_spec *ps, const double *w, const llc_batch *b)
{
    if (ps) return ref_poly_loss(ps->locality, ps->k, ps->n_k, w, b);
    return ref_loss(m, w, b);
}

static void random_batch(llc_batch *b, gsl_rng *rng, int B)
{
    b->B = B;
    for (int s = 0; s < B; s++) {
        for (int i = 0; i < b->d_in; i++) b->x[(size_t)s * b->d_in + i] = (float)(2 * gsl_rng_uniform(rng) - 1);
        for (int o = 0; o < b->d_out; o++) b->y[(size_t)s * b->d_out + o] = (float)(2 * gsl_rng_uniform(rng) - 1);
        b->mask[s] = (s % 3 == 2) ? 0.0f : 1.0f; /* every third sample masked out */
    }
}

/* Loss vs reference and gradient vs finite differences at random w. */
static void check_model_grad(const char *what, const llc_model *m, const poly_spec *ps, int B, double wscale)
{
    size_t P = llc_model_n_params(m);
    gsl_rng *rng = llc_rng_new(llc_seed(g_seed, 100, llc_hash_str(what), 0, 0));
    /* the batch widths: linreg (d, 1), poly (1, 1), dln (H_0, H_L) */
    int d_in = ps ? 1 : (int)P, d_out = 1, nw;
    const int *H = llc_dln_widths(m, &nw);
    if (H) {
        d_in = H[0];
        d_out = H[nw - 1];
    }
    llc_batch *b = llc_batch_alloc(B, 1, 0, d_in, 0, d_out);
    void *ws = m->ws_alloc(m, B);
    float w[MAXP], grad[MAXP];
    double wd[MAXP];
    CHECK(P <= MAXP && b && ws && rng, "%s: setup (%zu params)", what, P);
    if (P > MAXP || !b || !ws || !rng) goto cleanup;
    random_batch(b, rng, B);
    for (size_t i = 0; i < P; i++) {
        w[i] = (float)(wscale * (2 * gsl_rng_uniform(rng) - 1));
        wd[i] = w[i];
    }
    double loss = NAN, loss2 = NAN;
    int rc = m->loss_grad(m, ws, w, b, grad, &loss);
    CHECK(rc == LLC_OK, "%s: loss_grad rc %d", what, rc);
    double ref = any_ref_loss(m, ps, wd, b);
    CHECK_CLOSE(loss, ref, 1e-12, LOSS_RTOL, what);
    rc = m->loss_grad(m, ws, w, b, NULL, &loss2);
    CHECK(rc == LLC_OK && loss2 == loss, "%s: loss without gradient is the same (%g vs %g)", what, loss2, loss);
    double worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < P; i++) {
        double h = FD_H * fmax(1.0, fabs(wd[i])), keep = wd[i];
        wd[i] = keep + h;
        double lp = any_ref_loss(m, ps, wd, b);
        wd[i] = keep - h;
        double lm = any_ref_loss(m, ps, wd, b);
        wd[i] = keep;
        double fd = (lp - lm) / (2 * h);
        double ex = fabs(grad[i] - fd) / (FD_ATOL + FD_RTOL * fabs(fd));
        if (ex > worst) {
            worst = ex;
            worst_i = i;
        }
    }
    CHECK(worst <= 1.0, "%s: gradient vs finite differences over %zu params (worst excess %.3g at %zu)", what, P,
          worst, worst_i);

    /* all samples masked: loss 0, gradient 0 */
    for (int s = 0; s < B; s++) b->mask[s] = 0;
    grad[0] = 1;
    rc = m->loss_grad(m, ws, w, b, grad, &loss);
    int zero = 1;
    for (size_t i = 0; i < P; i++) zero &= grad[i] == 0;
    CHECK(rc == LLC_OK && loss == 0 && zero, "%s: fully masked batch gives loss 0 and gradient 0", what);
    /* a batch the model cannot take */
    b->T = 2;
    CHECK(m->loss_grad(m, ws, w, b, grad, &loss) == LLC_ERR_INVALID, "%s: T = 2 rejected", what);
    b->T = 1;
    b->d_in += 1;
    CHECK(m->loss_grad(m, ws, w, b, grad, &loss) == LLC_ERR_INVALID, "%s: wrong d_in rejected", what);
    b->d_in -= 1;
    b->B = B + 1;
    CHECK(m->loss_grad(m, ws, w, b, grad, &loss) == LLC_ERR_INVALID, "%s: B > max_B rejected", what);
    b->B = B;
cleanup:
    if (ws) m->ws_free(ws);
    llc_batch_free(b);
    gsl_rng_free(rng);
}

static void check_init(const char *what, const llc_model *m)
{
    size_t P = llc_model_n_params(m);
    float *a = calloc(P, sizeof *a), *c = calloc(P, sizeof *c);
    gsl_rng *r1 = llc_rng_new(7), *r2 = llc_rng_new(7);
    m->init(m, a, r1);
    m->init(m, c, r2);
    double ss = 0;
    for (size_t i = 0; i < P; i++) ss += (double)a[i] * a[i];
    CHECK(memcmp(a, c, P * sizeof *a) == 0, "%s: init is deterministic from the rng", what);
    CHECK(ss > 0 && sqrt(ss / (double)P) < 1.0, "%s: init is small and non-zero (rms %g)", what, sqrt(ss / (double)P));
    free(a);
    free(c);
    gsl_rng_free(r1);
    gsl_rng_free(r2);
}

/* ---------------- the models ---------------- */

static void test_models(void)
{
    char err[LLC_ERRLEN];
    llc_model *m = NULL;

    CHECK(llc_linreg_new(5, &m, err) == LLC_OK && m && strcmp(m->kind, "linreg") == 0 &&
              llc_model_n_params(m) == 5,
          "linreg d=5: built with 5 params");
    if (m) {
        check_model_grad("linreg d=5", m, NULL, 9, 1.0);
        check_init("linreg", m);
        llc_model_free(m);
        m = NULL;
    }
    CHECK(llc_linreg_new(0, &m, err) == LLC_ERR_INVALID && !m, "linreg d=0 rejected (%s)", err);

    static const int w1[] = {3, 4, 2}, w2[] = {2, 3, 3, 2}, w3[] = {1, 1}, w4[] = {4, 1, 5, 1, 3}, w5[] = {10, 20, 20, 10};
    static const struct {
        const int *w;
        int n;
    } dlns[] = {{w1, 3}, {w2, 4}, {w3, 2}, {w4, 5}, {w5, 4}};
    for (size_t i = 0; i < sizeof dlns / sizeof dlns[0]; i++) {
        char what[64];
        int len = snprintf(what, sizeof what, "dln");
        for (int j = 0; j < dlns[i].n; j++) len += snprintf(what + len, sizeof what - (size_t)len, "%s%d", j ? "," : " (", dlns[i].w[j]);
        snprintf(what + len, sizeof what - (size_t)len, ")");
        int rc = llc_dln_new(dlns[i].w, dlns[i].n, &m, err);
        CHECK(rc == LLC_OK && m && strcmp(m->kind, "dln") == 0 && m->table.n == dlns[i].n - 1, "%s: built", what);
        if (!m) continue;
        check_model_grad(what, m, NULL, 11, 1.0);
        check_init(what, m);
        llc_model_free(m);
        m = NULL;
    }
    int bad[2] = {3, 0};
    CHECK(llc_dln_new(bad, 2, &m, err) == LLC_ERR_INVALID, "dln with a width 0 rejected (%s)", err);
    CHECK(llc_dln_new(bad, 1, &m, err) == LLC_ERR_INVALID, "dln with one width rejected (%s)", err);

    /* dln groups */
    if (llc_dln_new(w2, 4, &m, err) == LLC_OK) {
        llc_group ga, gb, gm, gx;
        memset(&ga, 0, sizeof ga);
        memset(&gb, 0, sizeof gb);
        memset(&gm, 0, sizeof gm);
        memset(&gx, 0, sizeof gx);
        const llc_tensor *t2 = llc_ptable_find(&m->table, "A2");
        CHECK(t2 && t2->ndim == 2 && t2->shape[0] == 3 && t2->shape[1] == 3 && t2->offset == 6,
              "dln: A2 has shape (H_2, H_1) = (3, 3) at offset 6");
        CHECK(m->group(m, "A2", &ga, err) == LLC_OK && m->group(m, "layer 2", &gb, err) == LLC_OK &&
                  ga.n == 1 && gb.n == 1 && ga.r[0].off == gb.r[0].off && ga.r[0].len == 9 && gb.r[0].len == 9,
              "dln: group 'layer 2' = tensor 'A2' (9 params)");
        CHECK(m->group(m, "model", &gm, err) == LLC_OK && gm.size == llc_model_n_params(m), "dln: group 'model'");
        err[0] = 0;
        CHECK(m->group(m, "layer 4", &gx, err) == LLC_ERR_NOTFOUND && strstr(err, "layer 4") && strstr(err, "A3"),
              "dln: unknown group names the valid ones (%s)", err);
        CHECK(m->group(m, "layer 2x", &gx, err) == LLC_ERR_NOTFOUND, "dln: group 'layer 2x' not found");
        llc_group_free(&ga);
        llc_group_free(&gb);
        llc_group_free(&gm);
        llc_group_free(&gx);
        llc_model_free(m);
        m = NULL;
    }

    /* poly */
    static const int k1[] = {1, 2}, k2[] = {2, 0, 3}, k3[] = {1};
    static const struct {
        const int *k;
        int n;
        const char *what;
    } polys[] = {{k1, 2, "poly k=[1,2]"}, {k2, 3, "poly k=[2,0,3]"}, {k3, 1, "poly k=[1]"}};
    for (size_t i = 0; i < sizeof polys / sizeof polys[0]; i++) {
        int rc = llc_poly_new(LLC_POLY_MONOMIAL, polys[i].k, polys[i].n, &m, err);
        CHECK(rc == LLC_OK && m && strcmp(m->kind, "poly") == 0 && llc_model_n_params(m) == (size_t)polys[i].n,
              "%s: built", polys[i].what);
        if (!m) continue;
        poly_spec ps = {1, 0, polys[i].n, polys[i].k};
        check_model_grad(polys[i].what, m, &ps, 10, 1.2);
        check_init(polys[i].what, m);
        llc_model_free(m);
        m = NULL;
    }
    if (llc_poly_new(LLC_POLY_LOCALITY, NULL, 0, &m, err) == LLC_OK) {
        poly_spec ps = {1, 1, 0, NULL};
        CHECK(llc_model_n_params(m) == 2, "poly locality: 2 params");
        check_model_grad("poly locality", m, &ps, 10, 1.2);
        llc_group g;
        memset(&g, 0, sizeof g);
        CHECK(m->group(m, "w2", &g, err) == LLC_OK && g.size == 1 && g.r[0].off == 1, "poly: group 'w2' is index 1");
        llc_group_free(&g);
        CHECK(m->group(m, "w3", &g, err) == LLC_ERR_NOTFOUND, "poly: group 'w3' not found (%s)", err);
        llc_group_free(&g);
        llc_model_free(m);
        m = NULL;
    }
    CHECK(llc_poly_new(LLC_POLY_LOCALITY, k1, 2, &m, err) == LLC_ERR_INVALID, "poly locality with k rejected");
    int kneg[1] = {-1};
    CHECK(llc_poly_new(LLC_POLY_MONOMIAL, kneg, 1, &m, err) == LLC_ERR_INVALID, "poly k=-1 rejected (%s)", err);
}

/* ---------------- linreg: the exact quadratic ---------------- */

static void test_linreg_task(void)
{
    char err[LLC_ERRLEN];
    llc_task t;
    llc_model *m = NULL;
    llc_batch *b = NULL;
    void *ws = NULL;
    const int d = 10, n = 1000;
    int rc = fx_task_init(llc_task_linreg_init, "linreg", "{\"d\": 10, \"n\": 1000}", g_seed, &t, err);
    CHECK(rc == LLC_OK, "linreg task built (%s)", rc ? err : "");
    if (rc) return;
    CHECK(t.shape.T == 1 && t.shape.d_in == d && t.shape.d_out == 1 && t.n_dists == 2 &&
              strcmp(t.dists[0], "train") == 0 && strcmp(t.dists[1], "test") == 0 && t.n_examples(&t, 0) == n &&
              t.n_examples(&t, 1) == n,
          "linreg task: shape (T 1, d_in 10, d_out 1), dists train/test with n = 1000 each");
    CHECK(llc_regress_make_model(&t, &m, err) == LLC_OK && m && llc_model_n_params(m) == (size_t)d,
          "linreg: matching model");
    b = batch_for(&t, n);
    ws = m ? m->ws_alloc(m, n) : NULL;
    if (!m || !b || !ws) goto cleanup;
    CHECK(t.fill(&t, 0, 0, b) == LLC_OK, "linreg: full-batch fill");

    float what[16], w[16], grad[16];
    CHECK(llc_regress_teacher(&t, what, (size_t)d, err) == LLC_OK, "linreg: teacher");
    CHECK(llc_regress_teacher(&t, what, (size_t)d + 1, err) == LLC_ERR_INVALID, "linreg: teacher size mismatch rejected (%s)", err);
    double L0, L1;
    m->loss_grad(m, ws, what, b, grad, &L0);
    double gmax = 0;
    for (int i = 0; i < d; i++) gmax = fmax(gmax, fabs(grad[i]));
    CHECK(gmax < 1e-5, "linreg: the teacher is the least-squares fit (max |grad| %g)", gmax);

    /* Σ̂ = XᵀX/n from the batch itself */
    double S[10][10];
    memset(S, 0, sizeof S);
    for (int s = 0; s < n; s++)
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) S[i][j] += (double)b->x[s * d + i] * b->x[s * d + j] / n;
    gsl_rng *rng = llc_rng_new(llc_seed(g_seed, 101, 0, 0, 0));
    double worst = 0;
    for (int trial = 0; trial < 20; trial++) {
        double scale = trial < 10 ? 0.1 : 2.0, dl[10], q = 0;
        for (int i = 0; i < d; i++) {
            w[i] = (float)(what[i] + scale * (2 * gsl_rng_uniform(rng) - 1));
            dl[i] = (double)w[i] - (double)what[i];
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) q += dl[i] * S[i][j] * dl[j];
        m->loss_grad(m, ws, w, b, NULL, &L1);
        worst = fmax(worst, fabs((L1 - L0) - q) / q);
    }
    gsl_rng_free(rng);
    CHECK(worst <= QUAD_RTOL, "linreg: L(w) - L(w_hat) = (w - w_hat)' S (w - w_hat) over 20 points (worst rel %.2g)",
          worst);

    /* eigenvalues of Σ̂ */
    double eig[10], tr = 0, fro = 0, se = 0, se2 = 0;
    CHECK(llc_regress_covariance_eigs(&t, eig) == LLC_OK, "linreg: covariance eigenvalues");
    int asc = 1;
    for (int i = 0; i < d; i++) {
        tr += S[i][i];
        for (int j = 0; j < d; j++) fro += S[i][j] * S[i][j];
        se += eig[i];
        se2 += eig[i] * eig[i];
        if (i && eig[i] < eig[i - 1]) asc = 0;
    }
    CHECK(asc && eig[0] > 0.5 && eig[d - 1] < 2.0, "linreg: eigenvalues ascending, near 1 (%g .. %g)", eig[0], eig[d - 1]);
    CHECK_CLOSE(se, tr, 0, 1e-10, "linreg: sum of eigenvalues = trace of S");
    CHECK_CLOSE(se2, fro, 0, 1e-10, "linreg: sum of squared eigenvalues = |S|_F^2");
    double lam = -1;
    int mult = -1;
    rc = llc_theory_task(&t, &lam, &mult, err);
    CHECK(rc == LLC_OK && lam == 5.0 && mult == 1, "linreg: theory d/2 = 5 (%g, m %d)", lam, mult);
    double tt = n / log((double)n), lp = llc_theory_linreg_sgld(eig, d, tt, 1.0, 0.0);
    CHECK(lp > 4.9 && lp < 5.0, "linreg: perfect-sampler value at t = n/log n on this data (%.4f)", lp);

    /* the test set is another sample */
    llc_batch *bt = batch_for(&t, n);
    if (bt) {
        CHECK(t.fill(&t, 1, 0, bt) == LLC_OK && memcmp(bt->x, b->x, (size_t)n * d * sizeof(float)) != 0,
              "linreg: test differs from train");
        llc_batch_free(bt);
    }
cleanup:
    if (ws) m->ws_free(ws);
    llc_batch_free(b);
    llc_model_free(m);
    fx_task_clear(&t);
}

/* ---------------- dln: the rank-r teacher ---------------- */

/* Rank of a (rows, cols) row-major double matrix by Gaussian elimination
 * with partial pivoting (destroys a). */
static int matrix_rank(double *a, int rows, int cols)
{
    int rank = 0;
    for (int c = 0; c < cols && rank < rows; c++) {
        int p = rank;
        for (int i = rank + 1; i < rows; i++)
            if (fabs(a[i * cols + c]) > fabs(a[p * cols + c])) p = i;
        if (fabs(a[p * cols + c]) < 1e-9) continue;
        for (int j = 0; j < cols; j++) {
            double tmp = a[rank * cols + j];
            a[rank * cols + j] = a[p * cols + j];
            a[p * cols + j] = tmp;
        }
        for (int i = rank + 1; i < rows; i++) {
            double f = a[i * cols + c] / a[rank * cols + c];
            for (int j = 0; j < cols; j++) a[i * cols + j] -= f * a[rank * cols + j];
        }
        rank++;
    }
    return rank;
}

static void test_dln_task(const char *json, int rank_want, double lambda_want)
{
    char err[LLC_ERRLEN];
    llc_task t;
    llc_model *m = NULL;
    llc_batch *b = NULL;
    void *ws = NULL;
    float *w = NULL;
    double *prod = NULL, *next = NULL, *mat = NULL;
    int rc = fx_task_init(llc_task_dln_init, "dln", json, g_seed, &t, err);
    CHECK(rc == LLC_OK, "dln task %s built (%s)", json, rc ? err : "");
    if (rc) return;
    int nw;
    const int *H = NULL;
    if ((rc = llc_regress_make_model(&t, &m, err)) == LLC_OK) H = llc_dln_widths(m, &nw);
    CHECK(rc == LLC_OK && H, "dln %s: matching model", json);
    if (!H) goto cleanup;
    size_t P = llc_model_n_params(m);
    int Hmax = 0;
    for (int l = 0; l < nw; l++) Hmax = H[l] > Hmax ? H[l] : Hmax;
    w = malloc(P * sizeof *w);
    prod = calloc((size_t)Hmax * H[0], sizeof *prod);
    next = calloc((size_t)Hmax * H[0], sizeof *next);
    mat = calloc((size_t)Hmax * Hmax, sizeof *mat);
    if (!w || !prod || !next || !mat) goto cleanup;
    CHECK(llc_regress_teacher(&t, w, P, err) == LLC_OK, "dln %s: teacher", json);
    int ok_layers = 1;
    for (int i = 0; i < H[0]; i++) prod[i * H[0] + i] = 1; /* prod = I (H_0, H_0) */
    for (int l = 1; l < nw; l++) {
        const llc_tensor *tl = &m->table.t[l - 1];
        for (size_t i = 0; i < tl->size; i++) mat[i] = w[tl->offset + i];
        if (matrix_rank(mat, H[l], H[l - 1]) != rank_want) ok_layers = 0;
        /* next (H_l, H_0) = A_l (H_l, H_{l-1}) · prod (H_{l-1}, H_0) */
        for (int i = 0; i < H[l]; i++)
            for (int j = 0; j < H[0]; j++) {
                double v = 0;
                for (int k = 0; k < H[l - 1]; k++) v += (double)w[tl->offset + (size_t)i * H[l - 1] + k] * prod[k * H[0] + j];
                next[i * H[0] + j] = v;
            }
        memcpy(prod, next, (size_t)H[l] * H[0] * sizeof *prod);
    }
    CHECK(ok_layers, "dln %s: every teacher layer has rank %d", json, rank_want);
    CHECK(matrix_rank(prod, H[nw - 1], H[0]) == rank_want, "dln %s: the end-to-end teacher has rank %d", json,
          rank_want);

    /* noise-free data: the teacher fits exactly */
    long n = t.n_examples(&t, 0);
    b = batch_for(&t, (int)n);
    ws = m->ws_alloc(m, (int)n);
    if (!b || !ws) goto cleanup;
    double L = -1;
    rc = t.fill(&t, 0, 0, b);
    if (rc == LLC_OK) rc = m->loss_grad(m, ws, w, b, NULL, &L);
    CHECK(rc == LLC_OK && L == 0, "dln %s: noise-free loss at the teacher is exactly 0 (%g)", json, L);
    double lam = -1;
    int mult = -1;
    rc = llc_theory_task(&t, &lam, &mult, err);
    CHECK(rc == LLC_OK && fabs(lam - lambda_want) < 1e-12, "dln %s: theory lambda %g (m %d), want %g", json, lam,
          mult, lambda_want);
cleanup:
    if (ws) m->ws_free(ws);
    llc_batch_free(b);
    llc_model_free(m);
    free(w);
    free(prod);
    free(next);
    free(mat);
    fx_task_clear(&t);
}

/* ---------------- fill: full batch, epochs, determinism ---------------- */

static int find_row(const llc_batch *full, const float *x, int d)
{
    for (int s = 0; s < full->B; s++)
        if (memcmp(full->x + (size_t)s * d, x, (size_t)d * sizeof *x) == 0) return s;
    return -1;
}

/* The data order's specification, written out plainly: sample j of batch
 * `index` (batch size B, n samples) is stream position index·B + j = epoch·n
 * + o, and takes sample perm_epoch(o): a 6-round Feistel network on the
 * smallest even bit count covering n, keyed by llc_seed(seed, DATA, dist,
 * epoch, 0), cycle-walked into [0, n). The task's own version computes
 * several walks side by side; this one, one at a time. */
static uint64_t ref_perm(uint64_t seed, int dist, uint64_t epoch, uint64_t n, uint64_t v)
{
    int bits = 0;
    while (bits < 64 && (n - 1) >> bits) bits++;
    const int half = bits < 2 ? 1 : (bits + 1) / 2;
    const uint64_t mask = (1ULL << half) - 1, key0 = llc_seed(seed, LLC_PURPOSE_DATA, (uint64_t)dist, epoch, 0);
    uint64_t key[6];
    for (int i = 0; i < 6; i++) key[i] = llc_mix64(key0 + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
    if (n <= 1) return 0;
    do {
        uint64_t l = v >> half, r = v & mask;
        for (int i = 0; i < 6; i++) {
            uint64_t nl = r;
            r = l ^ (llc_mix64(r ^ key[i]) & mask);
            l = nl;
        }
        v = (l << half) | r;
    } while (v >= n);
    return v;
}

static void test_fill_order(const llc_task *t, const llc_batch *full, int n, int d)
{
    static const int Bs[] = {64, 150, 7, 199};
    int ok = 1;
    llc_batch *mb = batch_for(t, 199);
    if (!mb) return;
    for (size_t k = 0; k < sizeof Bs / sizeof *Bs; k++) {
        mb->B = Bs[k];
        for (uint64_t index = 0; index < 12 && ok; index++) {
            if (t->fill(t, 0, index, mb) != LLC_OK) ok = 0;
            for (int j = 0; j < mb->B && ok; j++) {
                const uint64_t pos = index * (uint64_t)mb->B + (uint64_t)j, e = pos / (uint64_t)n;
                const uint64_t s = ref_perm(t->seed, 0, e, (uint64_t)n, pos % (uint64_t)n);
                ok = memcmp(mb->x + (size_t)j * d, full->x + s * (size_t)d, (size_t)d * sizeof(float)) == 0;
            }
        }
    }
    CHECK(ok, "fill: minibatches follow the specified order (keyed Feistel per epoch) for B = 64, 150, 7, 199");
    llc_batch_free(mb);
}

static void test_fill(void)
{
    char err[LLC_ERRLEN];
    llc_task t, t2, t3;
    const int n = 200, d = 3;
    int rc = fx_task_init(llc_task_linreg_init, "linreg", "{\"d\": 3, \"n\": 200}", g_seed, &t, err);
    CHECK(rc == LLC_OK, "fill: task built (%s)", rc ? err : "");
    if (rc) return;
    llc_batch *full = batch_for(&t, n), *f2 = batch_for(&t, n), *mb = batch_for(&t, 64);
    int *count = calloc((size_t)n, sizeof *count);
    if (!full || !f2 || !mb || !count) goto cleanup;

    CHECK(t.fill(&t, 0, 0, full) == LLC_OK && t.fill(&t, 0, 987654321ULL, f2) == LLC_OK &&
              memcmp(full->x, f2->x, (size_t)n * d * sizeof(float)) == 0 &&
              memcmp(full->y, f2->y, (size_t)n * sizeof(float)) == 0,
          "fill: B = n gives the same whole set for any index");
    int allmask = 1, distinct = 1;
    for (int s = 0; s < n; s++) allmask &= full->mask[s] == 1.0f;
    for (int s = 0; s < n && distinct; s++) distinct = find_row(full, full->x + (size_t)s * d, d) == s;
    CHECK(allmask && distinct, "fill: full batch has mask 1 and n distinct samples");

    /* B = 50 divides n: batches 0..3 form one epoch, a permutation */
    mb->B = 50;
    int perm_ok = 1, yok = 1, inorder = 1;
    for (uint64_t i = 0; i < 4; i++) {
        t.fill(&t, 0, i, mb);
        for (int j = 0; j < 50; j++) {
            int s = find_row(full, mb->x + (size_t)j * d, d);
            if (s < 0) { perm_ok = 0; continue; }
            count[s]++;
            yok &= mb->y[j] == full->y[s];
            inorder &= s == (int)i * 50 + j;
        }
    }
    for (int s = 0; s < n; s++) perm_ok &= count[s] == 1;
    CHECK(perm_ok && yok, "fill: an epoch of 4 batches of 50 visits every sample once, with its y");
    CHECK(!inorder, "fill: minibatch epochs are shuffled");
    test_fill_order(&t, full, n, d);

    /* B = 64 does not divide n: 25 batches = 1600 positions = 8 epochs */
    memset(count, 0, (size_t)n * sizeof *count);
    mb->B = 64;
    int first_epoch_ok = 1;
    for (uint64_t i = 0; i < 25; i++) {
        t.fill(&t, 0, i, mb);
        for (int j = 0; j < 64; j++) {
            int s = find_row(full, mb->x + (size_t)j * d, d);
            if (s >= 0) count[s]++;
            else first_epoch_ok = 0;
        }
        if (i == 2) { /* positions 0..191 of epoch 0: no repeats yet */
            for (int s = 0; s < n; s++) first_epoch_ok &= count[s] <= 1;
        }
    }
    int eight = 1;
    for (int s = 0; s < n; s++) eight &= count[s] == 8;
    CHECK(eight && first_epoch_ok, "fill: B = 64 across epoch boundaries: 8 epochs visit each sample 8 times");

    /* huge indices: deterministic, finite, and different batches */
    llc_batch *mb2 = batch_for(&t, 64);
    if (mb2) {
        mb2->B = 64;
        uint64_t big = 1ULL << 40;
        int same = t.fill(&t, 0, big, mb) == LLC_OK && t.fill(&t, 0, big, mb2) == LLC_OK &&
                   memcmp(mb->x, mb2->x, 64 * d * sizeof(float)) == 0;
        CHECK(same, "fill: index 2^40 is deterministic");
        t.fill(&t, 0, big + 1, mb2);
        CHECK(memcmp(mb->x, mb2->x, 64 * d * sizeof(float)) != 0, "fill: index 2^40 + 1 differs");
        CHECK(t.fill(&t, 0, ~0ULL, mb2) == LLC_OK && find_row(full, mb2->x, d) >= 0, "fill: index 2^64 - 1 works");
        llc_batch_free(mb2);
    }
    /* bad fills */
    CHECK(t.fill(&t, 2, 0, mb) == LLC_ERR_INVALID, "fill: unknown distribution rejected");
    mb->B = 65;
    CHECK(t.fill(&t, 0, 0, mb) == LLC_ERR_INVALID, "fill: B > cap_B rejected");
    mb->B = 64;

    /* same seed, same data; another seed, other data; settings round trip */
    cJSON *js = t.to_json(&t);
    char *txt = js ? cJSON_PrintUnformatted(js) : NULL;
    CHECK(txt && strstr(txt, "\"noise\":1") && strstr(txt, "\"w0\":1") && strstr(txt, "\"n\":200"),
          "fill: to_json fills in the defaults (%s)", txt ? txt : "NULL");
    rc = fx_task_init(llc_task_linreg_init, "linreg", txt, g_seed, &t2, err);
    if (rc == LLC_OK) {
        t2.fill(&t2, 0, 0, f2);
        CHECK(memcmp(full->x, f2->x, (size_t)n * d * sizeof(float)) == 0 &&
                  memcmp(full->y, f2->y, (size_t)n * sizeof(float)) == 0,
              "fill: the same settings (from to_json) and seed give identical data");
        fx_task_clear(&t2);
    } else {
        CHECK(0, "fill: to_json settings accepted (%s)", err);
    }
    if (fx_task_init(llc_task_linreg_init, "linreg", txt, g_seed + 1, &t3, err) == LLC_OK) {
        t3.fill(&t3, 0, 0, f2);
        CHECK(memcmp(full->x, f2->x, (size_t)n * d * sizeof(float)) != 0, "fill: another seed gives other data");
        fx_task_clear(&t3);
    }
    cJSON_free(txt);
    cJSON_Delete(js);
cleanup:
    free(count);
    llc_batch_free(full);
    llc_batch_free(f2);
    llc_batch_free(mb);
    fx_task_clear(&t);
}

/* ---------------- poly tasks ---------------- */

static void test_poly_task(void)
{
    char err[LLC_ERRLEN];
    llc_task t;
    llc_model *m = NULL;
    int rc = fx_task_init(llc_task_poly_init, "poly", NULL, g_seed, &t, err);
    CHECK(rc == LLC_OK, "poly task with defaults built (%s)", rc ? err : "");
    if (rc) return;
    double lam = -1;
    int mult = -1;
    rc = llc_theory_task(&t, &lam, &mult, err);
    CHECK(rc == LLC_OK && lam == 0.25 && mult == 1, "poly default k=[1,2]: theory 1/4 (%g, m %d)", lam, mult);
    float w[2] = {9, 9};
    CHECK(llc_regress_make_model(&t, &m, err) == LLC_OK && llc_model_n_params(m) == 2 &&
              llc_regress_teacher(&t, w, 2, err) == LLC_OK && w[0] == 0 && w[1] == 0,
          "poly default: model with 2 params, teacher at the origin");
    long n = t.n_examples(&t, 0);
    llc_batch *b = batch_for(&t, (int)n);
    void *ws = m ? m->ws_alloc(m, (int)n) : NULL;
    if (b && ws) {
        t.fill(&t, 0, 0, b);
        double L, yy = 0, xx = 0;
        for (long s = 0; s < n; s++) {
            yy += (double)b->y[s] * b->y[s];
            xx += (double)b->x[s] * b->x[s];
        }
        m->loss_grad(m, ws, w, b, NULL, &L);
        CHECK_CLOSE(L, yy / n, 0, 1e-12, "poly: loss at the teacher = mean y^2 (the true function is 0)");
        CHECK(fabs(yy / n - 1) < 0.15 && fabs(xx / n - 1) < 0.15, "poly: x ~ N(0,1), y ~ N(0,1) (%g, %g)", xx / n,
              yy / n);
    }
    if (ws) m->ws_free(ws);
    llc_batch_free(b);
    llc_model_free(m);
    m = NULL;
    CHECK(llc_regress_covariance_eigs(&t, &lam) == LLC_ERR_INVALID, "poly: covariance eigenvalues are linreg only");
    fx_task_clear(&t);

    rc = fx_task_init(llc_task_poly_init, "poly", "{\"form\": \"locality\", \"center\": \"line\", \"s\": 2, \"noise\": 0}",
                   g_seed, &t, err);
    CHECK(rc == LLC_OK, "poly locality task built (%s)", rc ? err : "");
    if (rc) return;
    CHECK(llc_regress_make_model(&t, &m, err) == LLC_OK && llc_model_n_params(m) == 2 &&
              llc_regress_teacher(&t, w, 2, err) == LLC_OK && w[0] == 1.0f && w[1] == 0.5f,
          "poly locality, center line: teacher (1, 0.5)");
    rc = llc_theory_task(&t, &lam, &mult, err);
    CHECK(rc == LLC_OK && lam == 0.5, "poly locality on the line: theory 1/2 (%g)", lam);
    b = batch_for(&t, (int)t.n_examples(&t, 0));
    ws = m ? m->ws_alloc(m, b ? b->cap_B : 1) : NULL;
    if (b && ws) {
        double L = -1, xx = 0;
        t.fill(&t, 0, 0, b);
        m->loss_grad(m, ws, w, b, NULL, &L);
        for (int s = 0; s < b->B; s++) xx += (double)b->x[s] * b->x[s];
        CHECK(L == 0, "poly locality, noise 0: loss 0 on the line (%g)", L);
        CHECK(fabs(xx / b->B - 4) < 0.6, "poly: s = 2 gives E x^2 = 4 (%g)", xx / b->B);
    }
    if (ws) m->ws_free(ws);
    llc_batch_free(b);
    llc_model_free(m);
    fx_task_clear(&t);
}

/* ---------------- population losses ---------------- */

/* Reference population loss of a dln with teacher map T (H_L, H_0) and noise
 * std sigma: ||A_L...A_1 - T||_F^2 + H_L sigma^2, in double. */
static double ref_dln_pop(const int *H, int nw, const double *w, const double *T, double sigma)
{
    double prod[4096], next[4096];
    for (int i = 0; i < H[0] * H[0]; i++) prod[i] = 0;
    for (int i = 0; i < H[0]; i++) prod[i * H[0] + i] = 1;
    size_t off = 0;
    for (int l = 1; l < nw; l++) {
        for (int i = 0; i < H[l]; i++)
            for (int j = 0; j < H[0]; j++) {
                double v = 0;
                for (int k = 0; k < H[l - 1]; k++) v += w[off + (size_t)i * H[l - 1] + k] * prod[k * H[0] + j];
                next[i * H[0] + j] = v;
            }
        memcpy(prod, next, (size_t)H[l] * H[0] * sizeof *prod);
        off += (size_t)H[l] * H[l - 1];
    }
    double L = H[nw - 1] * sigma * sigma;
    for (int i = 0; i < H[nw - 1] * H[0]; i++) L += (prod[i] - T[i]) * (prod[i] - T[i]);
    return L;
}

/* Population loss of a task's model (dln or poly): against the reference in
 * double, gradient against finite differences, independent of the batch's
 * contents, and against the mean data loss over many samples of the task's
 * distribution. */
static void test_population(const char *json_dln, const char *json_poly)
{
    char err[LLC_ERRLEN] = "";
    for (int which = 0; which < 2; which++) {
        const char *json = which ? json_poly : json_dln;
        llc_task t;
        int rc = fx_task_init(which ? llc_task_poly_init : llc_task_dln_init, which ? "poly" : "dln", json, g_seed, &t,
                           err);
        CHECK(rc == LLC_OK, "population task %s built (%s)", json, rc ? err : "");
        if (rc) continue;
        llc_regress_info in;
        llc_model *m = NULL;
        llc_regress_get_info(&t, &in, err);
        rc = llc_regress_make_model(&t, &m, err);
        CHECK(rc == LLC_OK && llc_gt_is_population(m) && in.population,
              "population %s: the task's model is in population mode", json);
        if (rc) {
            fx_task_clear(&t);
            continue;
        }
        size_t P = llc_model_n_params(m);
        gsl_rng *rng = llc_rng_new(llc_seed(g_seed, 101, which, 0, 0));
        float w[MAXP], grad[MAXP];
        double wd[MAXP], T[4096] = {0};
        int nw = 0;
        const int *H = llc_dln_widths(m, &nw);
        if (H)
            for (int i = 0; i < in.rank; i++) T[i * H[0] + i] = 1;
        for (size_t i = 0; i < P; i++) wd[i] = w[i] = (float)(0.7 * (2 * gsl_rng_uniform(rng) - 1));
        llc_batch *b = batch_for(&t, 8);
        void *ws = m->ws_alloc(m, 8);
        double L = NAN, L2 = NAN;
        rc = t.fill(&t, 0, 12345, b);
        if (!rc) rc = m->loss_grad(m, ws, w, b, grad, &L);
        double ref = H ? ref_dln_pop(H, nw, wd, T, in.noise)
                       : in.s * in.s * pow(ref_poly_g(in.form == LLC_POLY_LOCALITY, in.k, in.n_k, wd), 2) +
                             in.noise * in.noise;
        CHECK(rc == LLC_OK && fabs(L - ref) <= 1e-5 * fabs(ref) + 1e-9, "population %s: loss %.9g = reference %.9g",
              json, L, ref);
        double worst = 0;
        for (size_t i = 0; i < P; i++) {
            double h = FD_H * fmax(1.0, fabs(wd[i])), keep = wd[i], lp, lm;
            wd[i] = keep + h;
            lp = H ? ref_dln_pop(H, nw, wd, T, in.noise)
                   : in.s * in.s * pow(ref_poly_g(in.form == LLC_POLY_LOCALITY, in.k, in.n_k, wd), 2);
            wd[i] = keep - h;
            lm = H ? ref_dln_pop(H, nw, wd, T, in.noise)
                   : in.s * in.s * pow(ref_poly_g(in.form == LLC_POLY_LOCALITY, in.k, in.n_k, wd), 2);
            wd[i] = keep;
            double fd = (lp - lm) / (2 * h);
            worst = fmax(worst, fabs(grad[i] - fd) / (FD_ATOL + FD_RTOL * fabs(fd)));
        }
        CHECK(worst <= 1.0, "population %s: gradient vs finite differences (worst excess %.3g)", json, worst);
        /* the batch's values are not read */
        for (int s = 0; s < b->B * b->d_in; s++) b->x[s] = 3.0f;
        for (int s = 0; s < b->B * b->d_out; s++) b->y[s] = -2.0f;
        m->loss_grad(m, ws, w, b, NULL, &L2);
        CHECK(L2 == L, "population %s: the loss does not depend on the batch (%.9g, %.9g)", json, L2, L);
        /* the expectation it stands for: mean data loss over 200000 samples
         * of x ~ N(0, s^2 I), y = teacher(x) + noise N(0, I) */
        {
            enum { NS = 200000 };
            llc_model *md = NULL;
            rc = H ? llc_dln_new(H, nw, &md, err)
                   : llc_poly_new(in.form, in.form == LLC_POLY_MONOMIAL ? in.k : NULL, in.n_k, &md, err);
            llc_batch *db = llc_batch_alloc(NS, 1, 0, b->d_in, 0, b->d_out);
            void *dws = md ? md->ws_alloc(md, NS) : NULL;
            double Ld = NAN;
            if (!rc && db && dws) {
                gsl_rng *r2 = llc_rng_new(llc_seed(g_seed, 102, which, 0, 0));
                for (int sI = 0; sI < NS; sI++) {
                    for (int i = 0; i < b->d_in; i++)
                        db->x[(size_t)sI * b->d_in + i] = (float)(H ? gsl_ran_gaussian_ziggurat(r2, 1.0)
                                                                    : gsl_ran_gaussian_ziggurat(r2, in.s));
                    for (int o = 0; o < b->d_out; o++)
                        db->y[(size_t)sI * b->d_out + o] =
                            (float)((H && o < in.rank ? db->x[(size_t)sI * b->d_in + o] : 0.0) +
                                    in.noise * gsl_ran_gaussian_ziggurat(r2, 1.0));
                    db->mask[sI] = 1;
                }
                db->B = NS;
                md->loss_grad(md, dws, w, db, NULL, &Ld);
                gsl_rng_free(r2);
            }
            CHECK(fabs(Ld - L) <= 0.03 * L, "population %s: %.6g = the mean data loss over %d samples %.6g (3%%)", json,
                  L, NS, Ld);
            if (dws) md->ws_free(dws);
            llc_batch_free(db);
            llc_model_free(md);
        }
        /* the task: no data, nominal n, zero batches with mask 1 */
        long n = t.n_examples(&t, 0);
        int zeros = 1;
        rc = t.fill(&t, 1, 99, b);
        for (int s = 0; s < b->B * b->d_in; s++) zeros &= b->x[s] == 0;
        for (int s = 0; s < b->B; s++) zeros &= b->mask[s] == 1;
        CHECK(rc == LLC_OK && n == in.n && zeros,
              "population %s: n_examples %ld (nominal), batches of zeros with mask 1", json, n);
        cJSON *js = t.to_json(&t);
        const cJSON *pj = js ? cJSON_GetObjectItemCaseSensitive(js, "population") : NULL;
        CHECK(pj && cJSON_IsTrue(pj), "population %s: settings record population: true", json);
        cJSON_Delete(js);
        if (ws) m->ws_free(ws);
        llc_batch_free(b);
        llc_model_free(m);
        gsl_rng_free(rng);
        fx_task_clear(&t);
    }
    /* defaults: dln population n = 1e5 (nbeta = n/log n = 8686), poly 1000 */
    llc_task t;
    if (fx_task_init(llc_task_dln_init, "dln", "{\"population\": true}", g_seed, &t, err) == LLC_OK) {
        CHECK(t.n_examples(&t, 0) == 100000, "population dln: default nominal n = 1e5 (%ld)", t.n_examples(&t, 0));
        fx_task_clear(&t);
    }
    if (fx_task_init(llc_task_poly_init, "poly", "{\"population\": true}", g_seed, &t, err) == LLC_OK) {
        CHECK(t.n_examples(&t, 0) == 1000, "population poly: default nominal n = 1000 (%ld)", t.n_examples(&t, 0));
        fx_task_clear(&t);
    }
    llc_model *m = NULL;
    CHECK(llc_linreg_new(3, &m, err) == LLC_OK && llc_poly_set_population(m, 1, 0, err) == LLC_ERR_INVALID &&
              !llc_gt_is_population(m),
          "population: not for linreg (%s)", err);
    llc_model_free(m);
}

/* ---------------- bad settings ---------------- */

static void expect_reject(fx_task_init_fn fn, const char *name, const char *json, const char *key)
{
    char err[LLC_ERRLEN] = "";
    llc_task t;
    int rc = fx_task_init(fn, name, json, g_seed, &t, err);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, quoted) && strstr(err, name),
          "%s %s rejected naming %s: %s", name, json, quoted, err);
    if (rc == LLC_OK) fx_task_clear(&t);
}

static void test_bad_settings(void)
{
    expect_reject(llc_task_linreg_init, "linreg", "{\"nn\": 5}", "nn");
    expect_reject(llc_task_linreg_init, "linreg", "{\"d\": 0}", "d");
    expect_reject(llc_task_linreg_init, "linreg", "{\"d\": 2.5}", "d");
    expect_reject(llc_task_linreg_init, "linreg", "{\"d\": 10, \"n\": 5}", "n");
    expect_reject(llc_task_linreg_init, "linreg", "{\"noise\": -1}", "noise");
    expect_reject(llc_task_linreg_init, "linreg", "{\"w0\": \"big\"}", "w0");
    expect_reject(llc_task_dln_init, "dln", "{\"widths\": [5]}", "widths");
    expect_reject(llc_task_dln_init, "dln", "{\"widths\": []}", "widths");
    expect_reject(llc_task_dln_init, "dln", "{\"widths\": [5, 0, 5]}", "widths");
    expect_reject(llc_task_dln_init, "dln", "{\"widths\": [5, 4, 5], \"rank\": 5}", "rank");
    expect_reject(llc_task_dln_init, "dln", "{\"rank\": -1}", "rank");
    expect_reject(llc_task_dln_init, "dln", "{\"n\": 0}", "n");
    expect_reject(llc_task_dln_init, "dln", "{\"depth\": 3}", "depth");
    expect_reject(llc_task_poly_init, "poly", "{\"k\": [0, 0]}", "k");
    expect_reject(llc_task_poly_init, "poly", "{\"k\": [1, -2]}", "k");
    expect_reject(llc_task_poly_init, "poly", "{\"form\": \"cubic\"}", "form");
    expect_reject(llc_task_poly_init, "poly", "{\"center\": \"line\"}", "center");
    expect_reject(llc_task_poly_init, "poly", "{\"form\": \"locality\", \"k\": [1]}", "k");
    expect_reject(llc_task_poly_init, "poly", "{\"center\": \"middle\"}", "center");
    expect_reject(llc_task_poly_init, "poly", "{\"s\": 0}", "s");
    expect_reject(llc_task_poly_init, "poly", "{\"noise\": null, \"x\": 1}", "x");
    expect_reject(llc_task_linreg_init, "linreg", "{\"population\": true}", "population");
    expect_reject(llc_task_dln_init, "dln", "{\"population\": \"yes\"}", "population");

    /* a task that is not a regression task */
    llc_task other;
    memset(&other, 0, sizeof other);
    snprintf(other.name, sizeof other.name, "sort");
    llc_model *m = NULL;
    char err[LLC_ERRLEN] = "";
    CHECK(!llc_regress_is(&other) && llc_regress_make_model(&other, &m, err) == LLC_ERR_INVALID && !m &&
              strstr(err, "sort"),
          "make_model on a non-regression task rejected (%s)", err);
}

int main(void)
{
    const char *s = getenv("TEST_SEED");
    if (s) g_seed = strtoull(s, NULL, 10);
    printf("test_gt: seed %llu\n", (unsigned long long)g_seed);
    test_models();
    test_linreg_task();
    test_dln_task("{\"widths\": [5, 4, 5], \"rank\": 0}", 0, 8);
    test_dln_task("{\"widths\": [5, 4, 5], \"rank\": 2}", 2, 10.5);
    test_dln_task("{\"widths\": [4, 2, 3, 5], \"rank\": 1, \"n\": 300}", 1, 5);
    test_dln_task("{\"widths\": [2, 2, 2], \"rank\": 1, \"n\": 50}", 1, 2);
    test_dln_task(NULL, 0, 8);
    test_fill();
    test_population("{\"widths\": [3, 4, 2, 3], \"rank\": 1, \"noise\": 0.5, \"population\": true, \"n\": 5000}",
                    "{\"k\": [1, 2], \"s\": 1.5, \"noise\": 0.3, \"population\": true}");
    test_population("{\"widths\": [4, 3], \"population\": true}",
                    "{\"form\": \"locality\", \"center\": \"line\", \"population\": true}");
    test_poly_task();
    test_bad_settings();
    return tu_finish("test_gt");
}
