/* test_sgld.c - the SGLD sampler (sgld/llc_sgld.h) on a linear-regression
 * model of fixture.c (f = w.x, loss = mean (y - w.x)^2, analytic gradient)
 * over a fixed data set whose inputs are columns of a Hadamard matrix, so
 * that Sigma = X^T X / n = I exactly. Checks: one step against the update
 * formula (plain and RMSProp), weights outside the group bit-identical,
 * determinism, RMSProp, the MALA diagnostic, divergence, the Metropolis
 * adjustment (exact at a step size where plain SGLD is far off, rejections,
 * loss reuse, the step-size ladder, batch blocks), argument checks.
 * Seeds are fixed (printed); a failure replays exactly. */
#include "llc_sgld.h"
#include "llc_task.h"
#include "fixture.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#define SEED 20240611ULL

/* ---------------- helpers ---------------- */

typedef struct {
    llc_model *m;
    llc_task *t;
    llc_batch *b; /* full batch */
    void *ws;
    float wstar[FX_LR_MAXD];
    int n, d;
} fixture;

static int fixture_init(fixture *f, int n, int d)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    f->d = d;
    f->m = fx_linreg_model(d);
    f->t = fx_hadamard_task(n, d, 0.5, SEED, f->wstar);
    if (!f->m || !f->t) return LLC_ERR_NOMEM;
    f->b = llc_batch_alloc(n, 1, 0, d, 0, 1);
    f->ws = f->m->ws_alloc(f->m, n);
    if (!f->b || !f->ws) return LLC_ERR_NOMEM;
    return f->t->fill(f->t, 0, 0, f->b);
}

static void fixture_free(fixture *f)
{
    llc_batch_free(f->b);
    if (f->ws) f->m->ws_free(f->ws);
    llc_model_free(f->m);
    llc_task_free(f->t);
}

static void params_for(llc_sgld_params *p, double eps, double nbeta)
{
    llc_sgld_params_default(p);
    p->eps = eps;
    p->gamma = 1.0;
    p->nbeta = nbeta;
}

/* Run `steps` full-batch steps; losses into L (may be NULL). Returns the
 * first non-OK rc, or OK. */
static int run(fixture *f, llc_sgld *s, gsl_rng *rng, int steps, double *L)
{
    for (int k = 0; k < steps; k++) {
        double l;
        int rc = llc_sgld_step(s, f->m, f->ws, f->b, rng, &l);
        if (L) L[k] = l;
        if (rc) return rc;
    }
    return LLC_OK;
}

static const double T_NB = 1085.74; /* n/log n at n = 1e4 */

/* ---------------- tests ---------------- */

/* One step against the formula, from w != w* (after a few steps). */
static void test_one_step(fixture *f, llc_precond pc)
{
    const char *name = llc_precond_name(pc);
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 1, 0, 0));
    llc_sgld_params p;
    params_for(&p, 2e-4, T_NB);
    p.precond = pc;
    p.gamma = 3.0;
    char err[LLC_ERRLEN] = "";
    int rc = llc_sgld_reset(s, f->wstar, &g, &p, err);
    CHECK(rc == LLC_OK, "one step %s: reset ok (%s)", name, err);
    rc = run(f, s, rng, 5, NULL);
    CHECK(rc == LLC_OK, "one step %s: 5 warm-up steps", name);

    /* replay the step by hand */
    float w0[FX_LR_MAXD], grad[FX_LR_MAXD];
    memcpy(w0, llc_sgld_weights(s), (size_t)f->d * sizeof(float));
    double L0;
    f->m->loss_grad(f->m, f->ws, w0, f->b, grad, &L0);
    /* the RMSProp state after 5 steps: recompute it along the same path */
    llc_gauss noise = *llc_sgld_noise(s);
    float xis[FX_LR_MAXD];
    llc_gauss_fill(&noise, xis, (size_t)f->d);
    double Lb = NAN;
    rc = llc_sgld_step(s, f->m, f->ws, f->b, rng, &Lb);
    CHECK(rc == LLC_OK && Lb == L0, "one step %s: loss before the update = L(w) (%.17g vs %.17g)", name, Lb, L0);
    const float *w1 = llc_sgld_weights(s);
    double maxerr = 0;
    if (pc == LLC_PRECOND_NONE) {
        for (int i = 0; i < f->d; i++) {
            double xi = xis[i];
            double want = w0[i] - 0.5 * p.eps * (p.nbeta * grad[i] + p.gamma * ((double)w0[i] - f->wstar[i])) +
                          sqrt(p.eps) * xi;
            maxerr = fmax(maxerr, fabs(w1[i] - want));
        }
        CHECK(maxerr < 1e-6, "one step plain: w' = w - eps/2 (nb g + gamma (w - w*)) + sqrt(eps) xi "
                             "(max err %.3g)", maxerr);
    }
    llc_sgld_free(s);
    gsl_rng_free(rng);

    if (pc == LLC_PRECOND_RMSPROP) {
        /* from reset: V = (1-alpha) g^2, G = 1/(sqrt(V) + delta) */
        s = llc_sgld_alloc((size_t)f->d);
        rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 2, 0, 0));
        llc_sgld_reset(s, f->wstar, &g, &p, err);
        run(f, s, rng, 1, NULL); /* move off w* (where the gradient is ~0) */
        memcpy(w0, llc_sgld_weights(s), (size_t)f->d * sizeof(float));
        f->m->loss_grad(f->m, f->ws, w0, f->b, grad, &L0);
        /* V after the first step (the gradient at w* on the same batch) */
        float g0[FX_LR_MAXD];
        f->m->loss_grad(f->m, f->ws, f->wstar, f->b, g0, &L0);
        noise = *llc_sgld_noise(s);
        llc_gauss_fill(&noise, xis, (size_t)f->d);
        llc_sgld_step(s, f->m, f->ws, f->b, rng, NULL);
        w1 = llc_sgld_weights(s);
        maxerr = 0;
        double a = p.rms_alpha;
        for (int i = 0; i < f->d; i++) {
            float V1 = (float)((1 - a) * (double)g0[i] * g0[i]);
            float V2 = (float)(a * (double)V1 + (1 - a) * (double)grad[i] * grad[i]);
            double G = 1.0 / (sqrt((double)V2) + p.rms_delta);
            double xi = xis[i];
            double want = w0[i] - 0.5 * p.eps * G * (p.nbeta * grad[i] + p.gamma * ((double)w0[i] - f->wstar[i])) +
                          sqrt(p.eps * G) * xi;
            maxerr = fmax(maxerr, fabs(w1[i] - want));
        }
        CHECK(maxerr < 1e-6, "one step rmsprop: V = a V + (1-a) g^2, G = 1/(sqrt V + delta), "
                             "w' = w - eps/2 G (nb g + gamma (w - w*)) + sqrt(eps G) xi (max err %.3g)", maxerr);
        llc_sgld_free(s);
        gsl_rng_free(rng);
    }
    llc_group_free(&g);
}

static void test_mask(fixture *f, llc_precond pc, int mala_every)
{
    const char *name = llc_precond_name(pc);
    llc_group g = {.name = "part"};
    llc_group_add(&g, 6, 3);
    llc_group_add(&g, 1, 2);
    llc_group_normalize(&g);
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 3, 0, 0));
    llc_sgld_params p;
    params_for(&p, 1e-4, T_NB);
    p.precond = pc;
    p.mala_every = mala_every;
    char err[LLC_ERRLEN] = "";
    int rc = llc_sgld_reset(s, f->wstar, &g, &p, err);
    CHECK(rc == LLC_OK, "mask %s: reset (%s)", name, err);
    rc = run(f, s, rng, 5000, NULL);
    CHECK(rc == LLC_OK, "mask %s (mala_every %d): 5000 steps run", name, mala_every);
    unsigned char mask[FX_LR_MAXD];
    llc_group_to_mask(&g, mask, (size_t)f->d);
    const float *w = llc_sgld_weights(s);
    int outside_changed = 0, inside_changed = 0;
    for (int i = 0; i < f->d; i++) {
        int same = memcmp(&w[i], &f->wstar[i], sizeof(float)) == 0;
        if (mask[i]) inside_changed += !same;
        else outside_changed += !same;
    }
    CHECK(outside_changed == 0, "mask %s: all %d weights outside the group bit-identical to w* after 5000 steps "
                                "(%d differ)", name, f->d - (int)g.size, outside_changed);
    CHECK(inside_changed == (int)g.size, "mask %s: all %zu group weights moved (%d)", name, g.size, inside_changed);
    llc_sgld_free(s);
    gsl_rng_free(rng);
    llc_group_free(&g);
}

static void test_determinism(fixture *f)
{
    enum { K = 2000 };
    static double L1[K], L2[K], L3[K];
    float w1[FX_LR_MAXD], w2[FX_LR_MAXD];
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld_params p;
    params_for(&p, 1e-4, T_NB);
    p.mala_every = 7;
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    uint64_t seeds[3] = {llc_seed(SEED, LLC_PURPOSE_SGLD, 4, 0, 0), llc_seed(SEED, LLC_PURPOSE_SGLD, 4, 0, 0),
                         llc_seed(SEED, LLC_PURPOSE_SGLD, 4, 1, 0)};
    double *Ls[3] = {L1, L2, L3};
    llc_sgld_stats st[3];
    for (int r = 0; r < 3; r++) {
        gsl_rng *rng = llc_rng_new(seeds[r]);
        llc_sgld_reset(s, f->wstar, &g, &p, NULL);
        run(f, s, rng, K, Ls[r]);
        llc_sgld_get_stats(s, &st[r]);
        if (r == 0) memcpy(w1, llc_sgld_weights(s), (size_t)f->d * sizeof(float));
        if (r == 1) memcpy(w2, llc_sgld_weights(s), (size_t)f->d * sizeof(float));
        gsl_rng_free(rng);
    }
    CHECK(memcmp(L1, L2, sizeof L1) == 0, "determinism: same seed gives an identical loss trace (%d steps)", K);
    CHECK(memcmp(w1, w2, (size_t)f->d * sizeof(float)) == 0, "determinism: same seed gives identical weights");
    CHECK(st[0].mala_sum == st[1].mala_sum && st[0].mala_n == st[1].mala_n && st[0].mala_n == K / 7,
          "determinism: identical MALA statistics (%ld evaluations)", st[0].mala_n);
    CHECK(memcmp(L1, L3, sizeof L1) != 0, "determinism: another seed gives another trace");
    llc_sgld_free(s);
    llc_group_free(&g);
}

/* Mean of t*(L - L(w*)) over a long full-batch run after burn-in. */
static double run_excess(fixture *f, llc_sgld *s, gsl_rng *rng, int burn, int steps, int *rc_out)
{
    double L0;
    f->m->loss_grad(f->m, f->ws, f->wstar, f->b, NULL, &L0);
    int rc = run(f, s, rng, burn, NULL);
    double sum = 0;
    for (int k = 0; k < steps && !rc; k++) {
        double l;
        rc = llc_sgld_step(s, f->m, f->ws, f->b, rng, &l);
        sum += l;
    }
    *rc_out = rc;
    return T_NB * (sum / steps - L0);
}

static void test_rmsprop(fixture *f)
{
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld_params p;
    params_for(&p, 1e-5, T_NB);
    p.precond = LLC_PRECOND_RMSPROP;
    p.mala_every = 10;
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 5, 0, 0));
    llc_sgld_reset(s, f->wstar, &g, &p, NULL);
    int rc;
    double lam = run_excess(f, s, rng, 2000, 200000, &rc);
    llc_sgld_stats st;
    llc_sgld_get_stats(s, &st);
    CHECK(rc == LLC_OK && !st.diverged, "rmsprop: 202000 steps without divergence");
    /* the preconditioned chain targets the same posterior: lambda near
     * sum t/(2t+1) = 4.9977 plus its own discretisation bias (G ~ 1/delta) */
    CHECK(lam > 4.5 && lam < 6.0, "rmsprop: t (E L - L(w*)) = %.4f in (4.5, 6.0) (perfect sampler 4.9977)", lam);
    CHECK(st.mala_n == 20200 && st.mala_sum / st.mala_n > 0.8,
          "rmsprop: MALA diagnostic runs (%ld evaluations, mean %.4f)", st.mala_n, st.mala_sum / st.mala_n);
    llc_sgld_free(s);
    gsl_rng_free(rng);
    llc_group_free(&g);
}

static double mala_rate(fixture *f, double eps, int steps)
{
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld_params p;
    params_for(&p, eps, T_NB);
    p.mala_every = 1;
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 6, 0, 0));
    llc_sgld_reset(s, f->wstar, &g, &p, NULL);
    int rc = run(f, s, rng, steps, NULL);
    llc_sgld_stats st;
    llc_sgld_get_stats(s, &st);
    llc_sgld_free(s);
    gsl_rng_free(rng);
    llc_group_free(&g);
    return rc == LLC_OK && st.mala_n == steps ? st.mala_sum / st.mala_n : NAN;
}

static void test_mala(fixture *f)
{
    /* p = 2t + gamma = 2172.5: eps*p = 2e-3, 0.22, 1.7 */
    double a_tiny = mala_rate(f, 1e-6, 5000);
    double a_mid = mala_rate(f, 1e-4, 5000);
    double a_big = mala_rate(f, 8e-4, 5000);
    CHECK(a_tiny > 0.995, "mala: acceptance %.5f > 0.995 at eps = 1e-6 (eps p = 0.002)", a_tiny);
    CHECK(a_mid < a_tiny && a_mid > 0.9, "mala: acceptance %.4f in (0.9, %.4f) at eps = 1e-4 (eps p = 0.22)", a_mid,
          a_tiny);
    CHECK(a_big < 0.8, "mala: acceptance %.4f < 0.8 at eps = 8e-4 (eps p = 1.7)", a_big);
}

static void test_divergence(fixture *f)
{
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld_params p;
    params_for(&p, 1e-2, T_NB); /* eps p = 21.7 > 4: unstable */
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 7, 0, 0));
    double L0;
    f->m->loss_grad(f->m, f->ws, f->wstar, f->b, NULL, &L0);
    p.ref_loss = L0;
    llc_sgld_reset(s, f->wstar, &g, &p, NULL);
    int k, rc = LLC_OK;
    double l = 0;
    for (k = 0; k < 1000 && rc == LLC_OK; k++) rc = llc_sgld_step(s, f->m, f->ws, f->b, rng, &l);
    llc_sgld_stats st;
    llc_sgld_get_stats(s, &st);
    CHECK(rc == LLC_ERR_NUMERIC, "divergence: huge eps returns LLC_ERR_NUMERIC (after %d steps, loss %g)", k, l);
    CHECK(st.diverged == 1 && st.diverged_at == k - 1 && st.steps == k - 1,
          "divergence: recorded at step %ld (%ld updates applied)", st.diverged_at, st.steps);
    double thr = L0 + 10 * fmax(1, fmax(fabs(L0), f->d / (2 * T_NB)));
    CHECK(fabs(st.threshold - thr) <= 1e-12 * thr && st.diverge_loss > thr,
          "divergence: threshold %.6g = ref + 10 max(1,|ref|,d/2nb), triggering loss %.4g", st.threshold,
          st.diverge_loss);
    float wsave[FX_LR_MAXD];
    memcpy(wsave, llc_sgld_weights(s), (size_t)f->d * sizeof(float));
    rc = llc_sgld_step(s, f->m, f->ws, f->b, rng, &l);
    CHECK(rc == LLC_ERR_NUMERIC && memcmp(wsave, llc_sgld_weights(s), (size_t)f->d * sizeof(float)) == 0,
          "divergence: a diverged chain stays stopped");

    /* NaN in the weights (through a NaN target) is caught as well */
    llc_sgld_reset(s, f->wstar, &g, &p, NULL);
    float y0 = f->b->y[0];
    f->b->y[0] = NAN;
    rc = llc_sgld_step(s, f->m, f->ws, f->b, rng, &l);
    f->b->y[0] = y0;
    CHECK(rc == LLC_ERR_NUMERIC && isnan(l), "divergence: a NaN loss marks the chain diverged");
    llc_sgld_free(s);
    gsl_rng_free(rng);
    llc_group_free(&g);
}

/* Metropolis adjustment: exact sampling of the Gaussian posterior at a step
 * size where plain SGLD is far off, rejected steps restore the weights
 * exactly, reusing the exact loss changes nothing, and the ladder keeps it
 * exact. */
static void test_metropolis(fixture *f)
{
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld_params p;
    /* eps p = 8e-4 * 2172.5 = 1.74: plain SGLD gives 10 * t/(p (1 - eps p/4)) = 8.84 */
    params_for(&p, 8e-4, T_NB);
    p.metropolis = 1;
    p.exact_loss = 1;
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 8, 0, 0));
    llc_sgld_reset(s, f->wstar, &g, &p, NULL);
    const double perfect = 10 * T_NB / (2 * T_NB + 1);
    double sum = 0, sum2 = 0;
    int rc = LLC_OK, ok_restore = 1, nb = 20;
    long rejects = 0;
    for (int blk = 0; blk < nb; blk++) {
        int rc2;
        double lam = run_excess(f, s, rng, blk ? 0 : 500, 20000, &rc2);
        rc |= rc2;
        sum += lam;
        sum2 += lam * lam;
    }
    /* rejections leave the weights bit-identical */
    for (int k = 0; k < 2000; k++) {
        float before[FX_LR_MAXD];
        llc_sgld_stats a, b;
        memcpy(before, llc_sgld_weights(s), (size_t)f->d * sizeof(float));
        llc_sgld_get_stats(s, &a);
        rc |= llc_sgld_step(s, f->m, f->ws, f->b, rng, NULL);
        llc_sgld_get_stats(s, &b);
        if (b.accepted == a.accepted) {
            rejects++;
            ok_restore &= memcmp(before, llc_sgld_weights(s), (size_t)f->d * sizeof(float)) == 0;
        }
    }
    double mean = sum / nb, se = sqrt((sum2 / nb - mean * mean) / (nb - 1));
    llc_sgld_stats st;
    llc_sgld_get_stats(s, &st);
    CHECK(rc == LLC_OK && fabs(mean - perfect) <= 4 * se + 0.01,
          "metropolis: eps p = 1.74, t (E L - L(w*)) = %.4f = perfect sampler %.4f (se %.4f; plain SGLD 8.84)", mean,
          perfect, se);
    CHECK(st.mala_n == st.steps && st.accepted > 0 && st.accepted < st.steps,
          "metropolis: every step adjusted, %ld of %ld accepted (mean probability %.3f)", st.accepted, st.steps,
          st.mala_sum / st.mala_n);
    CHECK(rejects > 0 && ok_restore, "metropolis: %ld rejected steps left the weights bit-identical", rejects);

    /* reusing the loss of an accepted proposal (exact_loss) changes nothing */
    float w1[FX_LR_MAXD], w2[FX_LR_MAXD];
    for (int e = 0; e < 2; e++) {
        p.exact_loss = e;
        gsl_rng *r2 = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 9, 0, 0));
        llc_sgld_reset(s, f->wstar, &g, &p, NULL);
        run(f, s, r2, 3000, NULL);
        memcpy(e ? w2 : w1, llc_sgld_weights(s), (size_t)f->d * sizeof(float));
        gsl_rng_free(r2);
    }
    CHECK(memcmp(w1, w2, (size_t)f->d * sizeof(float)) == 0,
          "metropolis: exact_loss = 1 (one gradient per step) gives the bit-identical chain");

    /* a ladder of 4 rungs: still exact, every rung used */
    params_for(&p, 8e-4, T_NB);
    p.metropolis = 1;
    p.exact_loss = 1;
    p.ladder = 4;
    llc_sgld_reset(s, f->wstar, &g, &p, NULL);
    int seen[4] = {0};
    sum = sum2 = 0;
    for (int blk = 0; blk < nb; blk++) {
        int rc2;
        double lam = run_excess(f, s, rng, blk ? 0 : 500, 20000, &rc2);
        llc_sgld_get_stats(s, &st);
        seen[st.last_rung] = 1;
        rc |= rc2;
        sum += lam;
        sum2 += lam * lam;
    }
    for (int k = 0; k < 100; k++) {
        llc_sgld_step(s, f->m, f->ws, f->b, rng, NULL);
        llc_sgld_get_stats(s, &st);
        seen[st.last_rung] = 1;
        if (st.last_eps != 8e-4 * pow(4.0, -st.last_rung)) seen[0] = -99;
    }
    mean = sum / nb;
    se = sqrt((sum2 / nb - mean * mean) / (nb - 1));
    CHECK(rc == LLC_OK && fabs(mean - perfect) <= 4 * se + 0.01,
          "metropolis ladder: t (E L - L(w*)) = %.4f = perfect sampler %.4f (se %.4f)", mean, perfect, se);
    CHECK(seen[0] == 1 && seen[1] && seen[2] && seen[3], "metropolis ladder: rungs 0..3 used with eps / 4^r");
    llc_sgld_free(s);
    gsl_rng_free(rng);
    llc_group_free(&g);
}

/* The model of the batch-block test: the fixture's, counting its passes. */
static const llc_model *g_inner;
static long g_passes;

static int counting_loss_grad(const llc_model *m, void *ws, const float *w, const llc_batch *b, float *grad, double *L)
{
    (void)m;
    g_passes++;
    return g_inner->loss_grad(g_inner, ws, w, b, grad, L);
}

/* Batch blocks (Metropolis on minibatches): K steps per batch reuse the
 * current point's loss and gradient, so the chain is bit-identical to one
 * that recomputes them on the same batches (block = 1), at (K+1)/K passes per
 * step instead of 2. */
static void test_blocks(fixture *f)
{
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld_params p;
    llc_model cm = *f->m;
    cm.loss_grad = counting_loss_grad;
    g_inner = f->m;
    llc_batch *mb = llc_batch_alloc(4, 1, 0, f->d, 0, 1);
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    float w[2][FX_LR_MAXD];
    long passes[2] = {0, 0}, acc[2] = {0, 0};
    const int K = 3, steps = 300;
    int rc = !mb || !s ? LLC_ERR_NOMEM : LLC_OK;
    for (int v = 0; v < 2 && !rc; v++) {
        params_for(&p, 2e-3, 50);
        p.metropolis = 1;
        p.block = v ? K : 1;
        gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_SGLD, 12, 0, 0));
        rc = llc_sgld_reset(s, f->wstar, &g, &p, NULL);
        g_passes = 0;
        for (int k = 0; k < steps && !rc; k++) {
            if (k % K == 0) f->t->fill(f->t, 0, (uint64_t)(k / K), mb);
            rc = llc_sgld_step(s, &cm, f->ws, mb, rng, NULL);
        }
        llc_sgld_stats st;
        llc_sgld_get_stats(s, &st);
        passes[v] = g_passes;
        acc[v] = st.accepted;
        memcpy(w[v], llc_sgld_weights(s), (size_t)f->d * sizeof(float));
        gsl_rng_free(rng);
    }
    CHECK(rc == LLC_OK && memcmp(w[0], w[1], (size_t)f->d * sizeof(float)) == 0 && acc[0] == acc[1] &&
              acc[1] > 0 && acc[1] < steps,
          "blocks: block %d gives the bit-identical chain of block 1 on the same batches (%ld of %d accepted)", K,
          acc[1], steps);
    CHECK(passes[0] == 2 * steps && passes[1] == steps + steps / K,
          "blocks: %ld passes for %d steps with block 1, %ld with block %d", passes[0], steps, passes[1], K);
    llc_sgld_free(s);
    llc_batch_free(mb);
    llc_group_free(&g);
}

static void test_args(fixture *f)
{
    llc_group g = {.name = "model"};
    llc_group_add(&g, 0, (size_t)f->d);
    llc_sgld *s = llc_sgld_alloc((size_t)f->d);
    gsl_rng *rng = llc_rng_new(1);
    char err[LLC_ERRLEN] = "";
    CHECK(llc_sgld_step(s, f->m, f->ws, f->b, rng, NULL) == LLC_ERR_INVALID, "args: step before reset is refused");
    llc_sgld_params p;
    params_for(&p, 0, T_NB);
    CHECK(llc_sgld_reset(s, f->wstar, &g, &p, err) == LLC_ERR_INVALID && strstr(err, "eps"),
          "args: eps = 0 refused (%s)", err);
    params_for(&p, 1e-4, -1);
    CHECK(llc_sgld_reset(s, f->wstar, &g, &p, err) == LLC_ERR_INVALID && strstr(err, "nbeta"),
          "args: nbeta < 0 refused (%s)", err);
    llc_group big = {.name = "big"};
    llc_group_add(&big, 5, 100);
    params_for(&p, 1e-4, T_NB);
    CHECK(llc_sgld_reset(s, f->wstar, &big, &p, err) == LLC_ERR_INVALID, "args: group beyond n_params refused (%s)",
          err);
    llc_group empty = {.name = "empty"};
    CHECK(llc_sgld_reset(s, f->wstar, &empty, &p, err) == LLC_ERR_INVALID, "args: empty group refused (%s)", err);
    p.precond = LLC_PRECOND_RMSPROP;
    p.rms_alpha = 1.0;
    CHECK(llc_sgld_reset(s, f->wstar, &g, &p, err) == LLC_ERR_INVALID, "args: rms_alpha = 1 refused (%s)", err);
    params_for(&p, 1e-4, T_NB);
    p.ladder = 0;
    CHECK(llc_sgld_reset(s, f->wstar, &g, &p, err) == LLC_ERR_INVALID && strstr(err, "ladder"),
          "args: ladder = 0 refused (%s)", err);
    params_for(&p, 1e-4, T_NB);
    p.block = 0;
    CHECK(llc_sgld_reset(s, f->wstar, &g, &p, err) == LLC_ERR_INVALID && strstr(err, "block"),
          "args: block = 0 refused (%s)", err);
    params_for(&p, 1e-4, T_NB);
    p.metropolis = 2;
    CHECK(llc_sgld_reset(s, f->wstar, &g, &p, err) == LLC_ERR_INVALID && strstr(err, "metropolis"),
          "args: metropolis = 2 refused (%s)", err);
    CHECK(llc_precond_parse("rmsprop") == LLC_PRECOND_RMSPROP && llc_precond_parse("none") == LLC_PRECOND_NONE &&
              llc_precond_parse("adam") == -1,
          "args: preconditioner names parse");

    /* minibatches smaller than the data set work */
    llc_batch *mb = llc_batch_alloc(4, 1, 0, f->d, 0, 1);
    params_for(&p, 1e-4, T_NB);
    llc_sgld_reset(s, f->wstar, &g, &p, NULL);
    int rc = LLC_OK;
    for (int k = 0; k < 100 && !rc; k++) {
        f->t->fill(f->t, 0, (uint64_t)k, mb);
        rc = llc_sgld_step(s, f->m, f->ws, mb, rng, NULL);
    }
    CHECK(rc == LLC_OK, "args: 100 minibatch (B = 4 of 16) steps run");
    llc_batch_free(mb);
    llc_group_free(&big);
    llc_sgld_free(s);
    llc_sgld_free(NULL);
    gsl_rng_free(rng);
    llc_group_free(&g);
}

int main(void)
{
    printf("test_sgld: seed %llu\n", (unsigned long long)SEED);
    fixture f;
    int rc = fixture_init(&f, 16, 10);
    CHECK(rc == LLC_OK, "fixture: Hadamard linear regression n = 16, d = 10");
    if (rc) {
        fixture_free(&f);
        return tu_finish("test_sgld");
    }
    test_one_step(&f, LLC_PRECOND_NONE);
    test_one_step(&f, LLC_PRECOND_RMSPROP);
    test_mask(&f, LLC_PRECOND_NONE, 0);
    test_mask(&f, LLC_PRECOND_NONE, 3);
    test_mask(&f, LLC_PRECOND_RMSPROP, 2);
    test_determinism(&f);
    test_rmsprop(&f);
    test_mala(&f);
    test_divergence(&f);
    test_metropolis(&f);
    test_blocks(&f);
    test_args(&f);
    fixture_free(&f);
    return tu_finish("test_sgld");
}
