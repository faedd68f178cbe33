/* test_estimate.c - the LLC estimator (llc/llc_estimate.h) against the exact
 * finite-nbeta SGLD formula (llc/ESTIMATOR.md) on the linear-regression
 * model of fixture.c (f = w.x, loss = mean (y - w.x)^2, analytic gradient,
 * full batch): lambda-hat = sum_i t a_i / (p_i (1 - eps p_i / 4)),
 * p_i = 2 t a_i + gamma, a_i the eigenvalues of Sigma = X^T X / n. Also:
 * bit-identical results for 1 and 2 threads, divergence reporting, nbeta
 * modes, split-R-hat, and the automatic step size. Seeds are fixed (printed). */
#include "llc_estimate.h"
#include "llc_regress.h"

#include <cjson/cJSON.h>
#include "fixture.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#define SEED 20240612ULL

/* ---------------- helpers ---------------- */

/* Gaussian design with correlated columns: x = z + 0.6 z_{j-1}; y = X w_true
 * + sigma * noise. w_star = the least-squares fit (Cholesky, double, on the
 * float data the model sees), rounded to float; a[] = eigenvalues of
 * Sigma = X^T X / n (GSL, ascending not needed). */
static llc_task *make_gauss_task(int n, int d, double sigma, float *w_star, double *a)
{
    float *X = malloc((size_t)n * d * sizeof *X), *Y = malloc((size_t)n * sizeof *Y);
    gsl_rng *r = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_TASK, 2, 0, 0));
    gsl_matrix *S = gsl_matrix_alloc((size_t)d, (size_t)d), *S2 = gsl_matrix_alloc((size_t)d, (size_t)d);
    gsl_vector *xy = gsl_vector_alloc((size_t)d), *wls = gsl_vector_alloc((size_t)d),
               *ev = gsl_vector_alloc((size_t)d);
    gsl_eigen_symm_workspace *ew = gsl_eigen_symm_alloc((size_t)d);
    llc_task *t = NULL;
    if (!X || !Y || !r || !S || !S2 || !xy || !wls || !ev || !ew) goto cleanup;
    double wt[FX_LR_MAXD];
    for (int j = 0; j < d; j++) wt[j] = gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < n; i++) {
        double z[FX_LR_MAXD], y = 0;
        for (int j = 0; j < d; j++) z[j] = gsl_ran_gaussian(r, 1.0);
        for (int j = 0; j < d; j++) {
            X[(size_t)i * d + j] = (float)(z[j] + (j ? 0.6 * z[j - 1] : 0.0));
            y += wt[j] * X[(size_t)i * d + j];
        }
        Y[i] = (float)(y + sigma * gsl_ran_gaussian(r, 1.0));
    }
    for (int j = 0; j < d; j++) {
        double sy = 0;
        for (int i = 0; i < n; i++) sy += (double)X[(size_t)i * d + j] * Y[i];
        gsl_vector_set(xy, (size_t)j, sy / n);
        for (int k = 0; k < d; k++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += (double)X[(size_t)i * d + j] * X[(size_t)i * d + k];
            gsl_matrix_set(S, (size_t)j, (size_t)k, s / n);
        }
    }
    gsl_matrix_memcpy(S2, S);
    if (gsl_linalg_cholesky_decomp1(S2) || gsl_linalg_cholesky_solve(S2, xy, wls)) goto cleanup;
    for (int j = 0; j < d; j++) w_star[j] = (float)gsl_vector_get(wls, (size_t)j);
    gsl_matrix_memcpy(S2, S);
    if (gsl_eigen_symm(S2, ev, ew)) goto cleanup;
    for (int j = 0; j < d; j++) a[j] = gsl_vector_get(ev, (size_t)j);
    t = fx_dataset_task(n, d, X, Y, SEED);
    X = NULL;
    Y = NULL;
cleanup:
    free(X);
    free(Y);
    gsl_rng_free(r);
    gsl_matrix_free(S);
    gsl_matrix_free(S2);
    gsl_vector_free(xy);
    gsl_vector_free(wls);
    gsl_vector_free(ev);
    gsl_eigen_symm_free(ew);
    return t;
}

/* Full-batch SGLD at step eps (eps = 0: perfect sampler). */
static double sgld_exact(const double *a, int d, double t, double gamma, double eps)
{
    double s = 0;
    for (int i = 0; i < d; i++) {
        double p = 2 * t * a[i] + gamma;
        s += t * a[i] / (p * (1 - eps * p / 4));
    }
    return s;
}

static const double T_NB = 1085.74; /* n/log n at n = 1e4 */

static void base_config(llc_estimate_config *c)
{
    llc_estimate_config_default(c);
    c->sgld.gamma = 1.0;
    c->sgld.nbeta = T_NB;
    c->nbeta_mode = LLC_NBETA_GIVEN;
    c->batch = 1024; /* >= n: full batch */
    c->seed = SEED;
    /* these tests are about PLAIN SGLD (its exact finite-eps formula) with
     * fixed lengths; the Metropolis path and automatic lengths are tested in
     * test_metropolis / test_auto_lengths */
    c->metropolis = LLC_MH_OFF;
    c->burnin = 0;
    c->thin = 1;
    c->rt.threads = 2;
    c->rt.target_hash = llc_hash_str("test/model");
}

static void print_result(const char *what, const llc_estimate_result *r)
{
    printf("  %s: eps %.4g nbeta %.6g (%s) B %d%s L_n(w*) %.6f llc %.4f +- %.4f (se %.4f) rhat %.4f "
           "below %.3f mala %.4f status %s, %.2f s\n",
           what, r->eps, r->nbeta, llc_nbeta_mode_name(r->nbeta_mode), r->batch_used,
           r->full_batch ? " (full)" : "", r->init_loss, r->llc_mean, r->llc_std, r->llc_std / sqrt(r->chains),
           r->rhat, r->frac_below, r->mala_accept, r->status, r->seconds);
}

/* lambda-hat against the exact formula within 3 standard errors (from the
 * spread of the chains). */
static void check_formula(const char *name, const llc_model *m, const float *wstar, const llc_task *t,
                          const double *a, int d, double eps, const llc_estimate_config *c, double table)
{
    llc_estimate_result *r = NULL;
    char err[LLC_ERRLEN] = "";
    int rc = llc_estimate(m, wstar, NULL, t, c, &r, err);
    CHECK(rc == LLC_OK, "%s: estimate runs (%s)", name, err);
    if (rc) return;
    print_result(name, r);
    double want = sgld_exact(a, d, T_NB, c->sgld.gamma, eps);
    if (!isnan(table))
        CHECK(fabs(want - table) < 5e-5, "%s: formula %.5f matches the reference value %.4f", name, want, table);
    double se = r->llc_std / sqrt(r->chains);
    CHECK(!strcmp(r->status, "ok") && r->n_diverged == 0, "%s: status ok", name);
    CHECK(fabs(r->llc_mean - want) <= 3 * se,
          "%s: lambda-hat %.4f = exact SGLD %.4f within 3 se (se %.4f, perfect sampler %.4f)", name, r->llc_mean,
          want, se, sgld_exact(a, d, T_NB, c->sgld.gamma, 0));
    CHECK(se < 0.35 * fabs(sgld_exact(a, d, T_NB, c->sgld.gamma, eps) - sgld_exact(a, d, T_NB, c->sgld.gamma, 0)) ||
              se < 0.02,
          "%s: precise enough to see the step-size bias (se %.4f)", name, se);
    llc_estimate_result_free(r);
}

static void test_regular_formula(void)
{
    enum { N = 16, D = 10 };
    float wstar[D];
    double a[D];
    for (int i = 0; i < D; i++) a[i] = 1.0; /* Hadamard design: Sigma = I exactly */
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    CHECK(m && t, "regular: Hadamard linear regression n = %d, d = %d (Sigma = I)", N, D);
    if (!m || !t) goto cleanup;
    llc_estimate_config c;
    base_config(&c);
    c.chains = 16;
    /* eps = 1e-5: eps p / 2 = 0.011 per step, autocorrelation ~ 90 steps */
    c.sgld.eps = 1e-5;
    c.burnin = 1000;
    c.draws = 80000;
    c.thin = 8;
    check_formula("regular eps=1e-5", m, wstar, t, a, D, c.sgld.eps, &c, 5.0250);
    /* eps = 1e-4: 10x faster mixing */
    c.sgld.eps = 1e-4;
    c.burnin = 200;
    c.draws = 50000;
    c.thin = 2;
    check_formula("regular eps=1e-4", m, wstar, t, a, D, c.sgld.eps, &c, 5.2847);
cleanup:
    llc_model_free(m);
    llc_task_free(t);
}

static void test_general_formula(void)
{
    enum { N = 64, D = 10 };
    float wstar[D];
    double a[D];
    llc_model *m = fx_linreg_model(D);
    llc_task *t = make_gauss_task(N, D, 0.5, wstar, a);
    double amin = a[0], amax = a[0];
    for (int i = 1; i < D; i++) {
        amin = fmin(amin, a[i]);
        amax = fmax(amax, a[i]);
    }
    CHECK(m && t, "general: correlated Gaussian design n = %d, d = %d, eigenvalues of Sigma in [%.3f, %.3f]", N, D,
          amin, amax);
    if (!m || !t) goto cleanup;
    llc_estimate_config c;
    base_config(&c);
    c.chains = 16;
    c.sgld.eps = 1.5e-4;
    c.burnin = 500;
    c.draws = 20000;
    c.thin = 2;
    check_formula("general eps=1.5e-4", m, wstar, t, a, D, c.sgld.eps, &c, NAN);
cleanup:
    llc_model_free(m);
    llc_task_free(t);
}

static void test_threads_and_modes(void)
{
    enum { N = 16, D = 10 };
    float wstar[D];
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    llc_estimate_result *r1 = NULL, *r2 = NULL, *r3 = NULL;
    char err[LLC_ERRLEN] = "";
    llc_estimate_config c;
    base_config(&c);
    c.sgld.eps = 1e-4;
    c.chains = 5;
    c.draws = 300;
    c.burnin = 50;
    c.batch = 8; /* minibatches: the data indices matter */
    c.sgld.mala_every = 3;
    c.rt.threads = 1;
    int rc1 = llc_estimate(m, wstar, NULL, t, &c, &r1, err);
    c.rt.threads = 2;
    int rc2 = llc_estimate(m, wstar, NULL, t, &c, &r2, err);
    c.rt.threads = 4;
    int rc3 = llc_estimate(m, wstar, NULL, t, &c, &r3, err);
    CHECK(rc1 == LLC_OK && rc2 == LLC_OK && rc3 == LLC_OK, "threads: 1, 2 and 4 threads run (%s)", err);
    if (rc1 || rc2 || rc3) goto cleanup;
    print_result("minibatch B=8", r1);
    size_t C = (size_t)c.chains, Dr = (size_t)c.draws;
    int same = memcmp(r1->chain_llc, r2->chain_llc, C * sizeof(double)) == 0 &&
               memcmp(r1->trace, r2->trace, C * Dr * sizeof(double)) == 0 &&
               memcmp(r1->chain_mala, r2->chain_mala, C * sizeof(double)) == 0 &&
               memcmp(&r1->llc_mean, &r2->llc_mean, sizeof(double)) == 0 &&
               memcmp(&r1->init_loss, &r2->init_loss, sizeof(double)) == 0;
    CHECK(same, "threads: 1 and 2 threads give bit-identical per-chain values, traces, MALA and mean");
    same = memcmp(r1->chain_llc, r3->chain_llc, C * sizeof(double)) == 0 &&
           memcmp(r1->trace, r3->trace, C * Dr * sizeof(double)) == 0;
    CHECK(same, "threads: 4 threads (5 chains) bit-identical too");
    double Lfull;
    {
        llc_batch *fb = llc_batch_alloc(N, 1, 0, D, 0, 1);
        t->fill(t, 0, 0, fb);
        m->loss_grad(m, NULL, wstar, fb, NULL, &Lfull);
        llc_batch_free(fb);
    }
    CHECK(!r1->full_batch && r1->batch_used == 8 && r1->init_exact && r1->init_batches_used == 1 &&
              r1->init_loss == Lfull,
          "minibatch: B = 8 < n = 16; n <= 16 batches x 8, so L_n(w*) = %.9f is exact (%.9f)", r1->init_loss,
          Lfull);
    CHECK(r1->chain_llc[0] != r1->chain_llc[1], "minibatch: chains differ from one another");
    CHECK(r1->mala_accept > 0.5 && r1->mala_accept <= 1, "minibatch: MALA acceptance %.3f reported",
          r1->mala_accept);
    CHECK(r1->cfg.rt.target_hash == c.rt.target_hash && r1->cfg.sgld.eps == 1e-4 && r1->eps_auto == 0,
          "settings used are recorded");
    llc_estimate_result_free(r1);
    llc_estimate_result_free(r2);
    llc_estimate_result_free(r3);
    r1 = r2 = r3 = NULL;

    /* nbeta modes */
    c.rt.threads = 1;
    c.chains = 2;
    c.draws = 20;
    c.burnin = 0;
    c.sgld.mala_every = 0;
    c.sgld.nbeta = 0;
    c.nbeta_mode = LLC_NBETA_DEFAULT;
    rc1 = llc_estimate(m, wstar, NULL, t, &c, &r1, err);
    CHECK(rc1 == LLC_OK && r1->nbeta_mode == LLC_NBETA_N_LOG_N && r1->nbeta_n == N &&
              fabs(r1->nbeta - N / log((double)N)) < 1e-12,
          "nbeta: default on a finite set is n/log n = %.6f (n = %ld)", rc1 ? NAN : r1->nbeta,
          rc1 ? 0L : r1->nbeta_n);
    c.nbeta_mode = LLC_NBETA_M_LOG_M;
    rc2 = llc_estimate(m, wstar, NULL, t, &c, &r2, err);
    CHECK(rc2 == LLC_OK && r2->nbeta_mode == LLC_NBETA_M_LOG_M && r2->nbeta_n == 8 &&
              fabs(r2->nbeta - 8 / log(8.0)) < 1e-12,
          "nbeta: m/log m with m = batch 8 is %.6f", rc2 ? NAN : r2->nbeta);
    c.init_batches = 1; /* 1 x 8 < 16: sampled */
    rc3 = llc_estimate(m, wstar, NULL, t, &c, &r3, err);
    CHECK(rc3 == LLC_OK && !r3->init_exact && r3->init_batches_used == 1 && r3->init_loss != Lfull,
          "minibatch: n > init_batches x batch: L_n(w*) sampled from 1 batch (%.6f)", rc3 ? NAN : r3->init_loss);
    llc_estimate_result_free(r3);
    r3 = NULL;
    c.nbeta_mode = LLC_NBETA_GIVEN;
    rc3 = llc_estimate(m, wstar, NULL, t, &c, &r3, err);
    CHECK(rc3 == LLC_ERR_INVALID && strstr(err, "nbeta"), "nbeta: 'given' without a value is refused (%s)", err);
cleanup:
    llc_estimate_result_free(r1);
    llc_estimate_result_free(r2);
    llc_estimate_result_free(r3);
    llc_model_free(m);
    llc_task_free(t);
}

/* A set interrupt flag stops the estimate (1 and 2 threads, fixed and
 * automatic step size) with LLC_ERR_INTERRUPTED and no result. */
static void test_interrupt(void)
{
    enum { N = 16, D = 10 };
    float wstar[D];
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    char err[LLC_ERRLEN] = "";
    volatile sig_atomic_t stop = 1;
    llc_estimate_config c;
    base_config(&c);
    c.chains = 2;
    c.draws = 50;
    c.batch = 8;
    c.rt.interrupt = &stop;
    for (int k = 0; k < 4; k++) {
        c.rt.threads = 1 + k % 2;
        c.sgld.eps = k < 2 ? 1e-4 : 0;
        llc_estimate_result *r = NULL;
        int rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
        CHECK(rc == LLC_ERR_INTERRUPTED && r == NULL, "interrupt: %d thread(s), eps %s: LLC_ERR_INTERRUPTED (%d)",
              c.rt.threads, k < 2 ? "given" : "auto", rc);
        llc_estimate_result_free(r);
    }
    stop = 0;
    llc_estimate_result *r = NULL;
    c.sgld.eps = 1e-4;
    CHECK(llc_estimate(m, wstar, NULL, t, &c, &r, err) == LLC_OK, "interrupt: a clear flag does not stop (%s)", err);
    llc_estimate_result_free(r);
    llc_model_free(m);
    llc_task_free(t);
}

static void test_divergence(void)
{
    enum { N = 16, D = 10 };
    float wstar[D];
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    llc_estimate_result *r = NULL;
    char err[LLC_ERRLEN] = "";
    llc_estimate_config c;
    base_config(&c);
    c.sgld.eps = 1e-2; /* eps p = 21.7 > 4 */
    c.diverge_retries = 0; /* how a divergence is reported (the reruns at eps/2: test_minibatch) */
    int rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK, "divergence: a diverging estimate is not an error (%s)", err);
    if (!rc) {
        CHECK(!strcmp(r->status, "diverged") && r->n_diverged == c.chains && isnan(r->llc_mean) &&
                  isnan(r->chain_llc[0]) && r->chain_diverged[0] && r->chain_diverged_at[0] >= 0,
              "divergence: status '%s', %d of %d chains diverged (chain 0 at step %ld), llc_mean %g", r->status,
              r->n_diverged, c.chains, r->chain_diverged_at[0], r->llc_mean);
        CHECK(isnan(r->trace[(size_t)c.draws - 1]), "divergence: trace after the divergence is NaN");
    }
    llc_estimate_result_free(r);
    r = NULL;
    /* some chains meet a poisoned minibatch (NaN target, about one batch in
     * 3000): those diverge and are excluded from the mean */
    fx_dataset_poison(t, 3000);
    c.sgld.eps = 1e-4;
    c.chains = 8;
    c.draws = 2000;
    c.batch = 8;
    rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK, "divergence: partly diverging estimate runs (%s)", err);
    if (!rc) {
        printf("  poisoned batches: %d of %d chains diverged, status %s, llc %.4g\n", r->n_diverged, c.chains,
               r->status, r->llc_mean);
        CHECK(r->n_diverged > 0 && r->n_diverged < c.chains, "divergence: %d of %d chains diverged", r->n_diverged,
              c.chains);
        int n_ok = c.chains - r->n_diverged;
        double s = 0;
        for (int k = 0; k < c.chains; k++)
            if (!r->chain_diverged[k]) s += r->chain_llc[k];
        CHECK(n_ok == 0 ? isnan(r->llc_mean) : fabs(r->llc_mean - s / n_ok) < 1e-9 * fabs(s / n_ok),
              "divergence: mean over the %d non-diverged chains", n_ok);
        CHECK(!strcmp(r->status, r->n_diverged ? "diverged" : "ok"), "divergence: status follows divergences");
    }
    llc_estimate_result_free(r);
    llc_model_free(m);
    llc_task_free(t);
}

static void test_auto_eps(void)
{
    enum { N = 16, D = 10 };
    float wstar[D];
    double a[D];
    for (int i = 0; i < D; i++) a[i] = 1.0;
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    llc_estimate_result *r = NULL;
    char err[LLC_ERRLEN] = "";
    llc_estimate_config c;
    base_config(&c);
    c.sgld.eps = 0; /* automatic */
    c.chains = 8;
    c.draws = 2000;
    c.auto_eps_divisor = 1; /* the ladder's own rung (the default divisor is checked below) */
    int rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK && r->eps_auto, "auto eps: estimate with eps = 0 runs (%s)", err);
    if (!rc) {
        const llc_eps_auto_result *A = &r->auto_eps;
        print_result("auto eps", r);
        printf("  auto eps: %s\n", A->reason);
        for (int k = 0; k < A->n_rungs; k++)
            printf("    rung %d: eps %.4g llc %.4f (se %.4f) mala %.4f diverged %d | eps/4: %.4f (se %.4f) %s\n", k,
                   A->rung[k].eps, A->rung[k].llc, A->rung[k].se, A->rung[k].mala, A->rung[k].n_diverged,
                   A->rung[k].llc_quarter, A->rung[k].se_quarter, A->rung[k].passed ? "PASS" : "fail");
        /* Hessian of L = 2 Sigma = 2 I: h = 2, p = 2t + gamma */
        CHECK(fabs(A->curvature - 2.0) < 1e-3, "auto eps: curvature %.6f = 2 (Hessian 2 Sigma)", A->curvature);
        CHECK(r->eps > 0 && r->eps * A->precision < 4 && !strcmp(r->status, "ok"),
              "auto eps: eps %.4g is stable (eps p = %.3f < 4), status %s", r->eps, r->eps * A->precision,
              r->status);
        double se = r->llc_std / sqrt(r->chains);
        CHECK(fabs(r->llc_mean - D / 2.0) <= 0.05 * D / 2.0,
              "auto eps: lambda-hat %.4f within 5%% of d/2 = %.1f (se %.4f)", r->llc_mean, D / 2.0, se);
        double want = sgld_exact(a, D, T_NB, c.sgld.gamma, r->eps);
        CHECK(fabs(r->llc_mean - want) <= 3 * se + 0.01, "auto eps: lambda-hat %.4f = exact SGLD %.4f at that eps",
              r->llc_mean, want);
        CHECK(A->n_rungs >= 1 && A->rung[A->n_rungs - 1].passed && A->rung[A->n_rungs - 1].eps == r->eps &&
                  strstr(A->reason, "agrees") != NULL,
              "auto eps: the chosen rung passed every check and the reason is recorded");
        /* default: the estimate runs at the passing rung's eps / 4 */
        llc_eps_auto_result e4;
        c.auto_eps_divisor = 4;
        rc = llc_eps_auto(m, wstar, NULL, t, &c, &e4, err);
        CHECK(rc == LLC_OK && e4.eps == A->rung[A->n_rungs - 1].eps / 4 && strstr(e4.reason, "(eps/4)") != NULL,
              "auto eps: divisor 4 gives the rung's eps / 4 = %.4g (got %.4g: %s)", A->rung[A->n_rungs - 1].eps / 4,
              e4.eps, e4.reason);
    }
    llc_estimate_result_free(r);
    llc_model_free(m);
    llc_task_free(t);
}

/* Metropolis adjustment on an exact (full-batch) loss: the chains sample the
 * localised posterior EXACTLY, so lambda-hat is the perfect-sampler value
 * sum t a_i / p_i at a step size where plain SGLD is visibly biased
 * (eps = 1e-4: SGLD 5.2847, perfect 4.9977). */
static void test_metropolis(void)
{
    enum { N = 16, D = 10 };
    float wstar[D];
    double a[D];
    for (int i = 0; i < D; i++) a[i] = 1.0;
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    llc_estimate_result *r = NULL;
    char err[LLC_ERRLEN] = "";
    llc_estimate_config c;
    base_config(&c);
    c.metropolis = LLC_MH_AUTO; /* full batch: exact loss, so on */
    c.chains = 16;
    c.sgld.eps = 1e-4;
    c.burnin = 200;
    c.draws = 50000;
    c.thin = 2;
    int rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK, "metropolis: estimate runs (%s)", err);
    if (!rc) {
        print_result("metropolis eps=1e-4", r);
        double se = r->llc_std / sqrt(r->chains), perfect = sgld_exact(a, D, T_NB, c.sgld.gamma, 0),
               sgld = sgld_exact(a, D, T_NB, c.sgld.gamma, c.sgld.eps);
        CHECK(r->metropolis && r->exact_loss && r->full_batch, "metropolis: auto mode on for a full batch");
        CHECK(fabs(r->llc_mean - perfect) <= 3 * se && fabs(r->llc_mean - sgld) > 6 * se,
              "metropolis: lambda-hat %.4f = perfect sampler %.4f within 3 se (%.4f), not plain SGLD's %.4f",
              r->llc_mean, perfect, se, sgld);
        CHECK(r->accept_rate > 0.5 && r->accept_rate < 1, "metropolis: acceptance %.3f reported", r->accept_rate);
    }
    llc_estimate_result_free(r);
    r = NULL;

    /* the same task in minibatches: the loss is not exact, auto mode is off */
    c.batch = 8;
    c.chains = 2;
    c.draws = 50;
    rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK && !r->exact_loss && !r->metropolis && isnan(r->accept_rate),
          "metropolis: minibatches are not exact, auto mode stays plain SGLD");
    llc_estimate_result_free(r);
    r = NULL;

    /* everything automatic (the defaults) on the exact loss */
    llc_estimate_config_default(&c);
    c.sgld.nbeta = T_NB;
    c.nbeta_mode = LLC_NBETA_GIVEN;
    c.batch = 1024;
    c.seed = SEED;
    c.rt.threads = 2;
    c.rt.target_hash = llc_hash_str("test/model");
    rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK && r->eps_auto && r->metropolis, "defaults: estimate runs, eps automatic, Metropolis (%s)",
          err);
    if (!rc) {
        print_result("defaults (all automatic)", r);
        printf("  %s; burn-in %ld, thin %ld (chains:", r->auto_eps.reason, r->burnin, r->thin);
        for (int k = 0; k < r->chains; k++) printf(" %ld", r->chain_thin[k]);
        printf("), simulated time %.3g%s\n", r->sim_time, r->steps_capped ? ", step budget reached" : "");
        double perfect = sgld_exact(a, D, T_NB, 1.0, 0);
        CHECK(fabs(r->llc_mean - perfect) <= 0.03 * perfect,
              "defaults: lambda-hat %.4f within 3%% of the perfect sampler %.4f (se %.4f)", r->llc_mean, perfect,
              r->llc_std / sqrt(r->chains));
        CHECK(fabs(r->auto_eps.curvature - 2.0) < 1e-3, "defaults: curvature %.6f = 2", r->auto_eps.curvature);
        /* simulated time: burn-in >= auto_time_burnin/gamma; draws span >= auto_time_draws/gamma */
        CHECK(r->burnin >= 100 && r->sim_time >= 2.0 * 0.9 * 0.25, "defaults: burn-in %ld steps, simulated time %.3g",
              r->burnin, r->sim_time);
        CHECK(r->cfg.thin == (int)r->thin && r->cfg.burnin == (int)r->burnin,
              "defaults: the lengths used are recorded in the settings");
    }
    llc_estimate_result_free(r);
    llc_model_free(m);
    llc_task_free(t);
}

/* Automatic lengths with a given eps (plain SGLD): the burn-in lasts
 * auto_time_burnin/gamma of simulated time (eps * steps) and the draws at
 * least auto_time_draws/gamma, doubled per chain until the chain's
 * batch-means standard error is below auto_rel_se*sqrt(chains) of its
 * estimate or the step budget is used. */
static void test_auto_lengths(void)
{
    enum { N = 16, D = 10 };
    float wstar[D];
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    llc_estimate_result *r = NULL;
    char err[LLC_ERRLEN] = "";
    llc_estimate_config c;
    base_config(&c);
    c.sgld.eps = 1e-4;
    c.burnin = -1;
    c.thin = 0;
    c.draws = 100;
    c.sgld.gamma = 10;
    int rc = llc_estimate(m, wstar, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK, "auto lengths: estimate runs (%s)", err);
    if (!rc) {
        print_result("auto lengths", r);
        /* burn-in: time 1/gamma = 0.1 at eps 1e-4 (no Metropolis: every step moves eps) = 1000 steps */
        CHECK(r->burnin == 1000, "auto lengths: burn-in %ld = (1/gamma)/eps = 1000 steps", r->burnin);
        long t0 = (long)ceil(2.0 / 10 / (1e-4 * 100));
        int pow2 = 1;
        for (int k = 0; k < r->chains; k++) {
            long q = r->chain_thin[k] / t0;
            pow2 &= r->chain_thin[k] % t0 == 0 && q >= 1 && (q & (q - 1)) == 0;
        }
        CHECK(pow2, "auto lengths: every chain's thin is %ld (time 2/gamma over 100 draws) times a power of 2", t0);
        int full = 1;
        for (size_t k = 0; k < (size_t)r->chains * (size_t)r->draws; k++) full &= isfinite(r->trace[k]);
        CHECK(full, "auto lengths: the trace is complete after the doublings");
    }
    llc_estimate_result_free(r);
    llc_model_free(m);
    llc_task_free(t);
}

/* Minibatch chains on a finite data set (linreg n = 1000, d = 10, batch
 * 32, nbeta = n/log n): the classic estimator subtracts an L_n(w*) sampled
 * from 16 batches, whose error times nbeta is of the size of lambda itself
 * (measured here, eps 1e-4: -10.2, -1.8, 8.1, 12.3 over 4 seeds for lambda
 * 5); the paired default subtracts L_b(w*) on each step's own batch (5.42,
 * 5.45, 5.40, 5.22: the +7% of minibatch gradient noise at this eps, plus
 * eps bias). Across 4 seeds the paired estimate must stay within 15% of d/2
 * and vary less from seed to seed than the classic one. */
/* linreg n = 1000, d = 10 (seed 3) and its teacher w; returns LLC_OK. */
static int linreg_fixture(const char *what, llc_task **t, llc_model **m, float w[10])
{
    char err[LLC_ERRLEN] = "";
    int rc = fx_linreg_teacher(3, t, m, w, err);
    CHECK(rc == LLC_OK, "%s: linreg task, model and teacher (%s)", what, rc ? err : "");
    return rc;
}

static void test_paired(void)
{
    llc_task *t = NULL;
    llc_model *m = NULL;
    char err[LLC_ERRLEN];
    float w[10];
    int rc = linreg_fixture("paired", &t, &m, w);
    if (rc) goto cleanup;
    double sp = 0, sp2 = 0, sc = 0, sc2 = 0;
    for (int seed = 0; seed < 4; seed++) {
        llc_estimate_config c;
        llc_estimate_config_default(&c);
        c.batch = 32;
        c.seed = (uint64_t)seed;
        c.sgld.eps = 1e-4; /* minibatch noise adds (eps/2)^2 nbeta^2 Var(g_b) to the injected eps: +7% here */
        c.burnin = 2000;
        c.draws = 5000;
        c.thin = 4;
        llc_estimate_result *rp = NULL, *rcl = NULL;
        rc = llc_estimate(m, w, NULL, t, &c, &rp, err);
        c.paired = 0;
        if (!rc) rc = llc_estimate(m, w, NULL, t, &c, &rcl, err);
        CHECK(rc == LLC_OK && rp && rcl, "paired seed %d: estimates run (%s)", seed, rc ? err : "");
        if (!rc) {
            CHECK(rp->paired == 1 && rcl->paired == 0 && !rp->exact_loss, "paired seed %d: paired on by default", seed);
            CHECK(fabs(rp->llc_mean - 5.0) < 0.75, "paired seed %d: lambda-hat %.3f within 15%% of 5 (classic %.3f)",
                  seed, rp->llc_mean, rcl->llc_mean);
            printf("  paired seed %d: paired %.3f +- %.3f, classic %.3f +- %.3f (L_n(w*) %.5f from %d batches)\n", seed,
                   rp->llc_mean, rp->llc_std, rcl->llc_mean, rcl->llc_std, rcl->init_loss, rcl->init_batches_used);
            sp += rp->llc_mean, sp2 += rp->llc_mean * rp->llc_mean;
            sc += rcl->llc_mean, sc2 += rcl->llc_mean * rcl->llc_mean;
        }
        llc_estimate_result_free(rp);
        llc_estimate_result_free(rcl);
        if (rc) goto cleanup;
    }
    double vp = (sp2 - sp * sp / 4) / 3, vc = (sc2 - sc * sc / 4) / 3;
    CHECK(vp < vc, "paired: seed-to-seed std %.3f below the classic %.3f", sqrt(fmax(vp, 0)), sqrt(fmax(vc, 0)));
cleanup:
    llc_model_free(m);
    llc_task_free(t);
}

/* The paired-loss cache: two targets at one w* with one data_hash share
 * their batches, so the second computes no L_b(w*); the numbers are
 * bit-identical to estimates without the cache; another w* is not served
 * from it. */
static void test_pair_cache(void)
{
    llc_task *t = NULL;
    llc_model *m = NULL;
    char err[LLC_ERRLEN];
    llc_group g = {.name = "w0..4"};
    llc_group_add(&g, 0, 5);
    float w[10], w2[10];
    int rc = linreg_fixture("pair cache", &t, &m, w);
    if (rc) goto cleanup;
    for (int i = 0; i < 10; i++) w2[i] = w[i] + 0.01f;
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.batch = 32;
    c.sgld.eps = 1e-4;
    c.burnin = 100;
    c.draws = 200;
    c.thin = 1;
    c.chains = 2;
    c.rt.threads = 2;
    c.rt.data_hash = 42;
    llc_estimate_result *r[6] = {0};
    rc = llc_estimate(m, w, NULL, t, &c, &r[0], err);
    if (!rc) rc = llc_estimate(m, w, &g, t, &c, &r[1], err);
    llc_pair_cache *pc = llc_pair_cache_new();
    c.rt.pair_cache = pc;
    long h0, m0, h1, m1, h2, m2;
    if (!rc) rc = llc_estimate(m, w, NULL, t, &c, &r[2], err);
    llc_pair_cache_stats(pc, &h0, &m0);
    if (!rc) rc = llc_estimate(m, w, &g, t, &c, &r[3], err);
    llc_pair_cache_stats(pc, &h1, &m1);
    if (!rc) rc = llc_estimate(m, w2, &g, t, &c, &r[4], err);
    llc_pair_cache_stats(pc, &h2, &m2);
    c.rt.pair_cache = NULL;
    if (!rc) rc = llc_estimate(m, w2, &g, t, &c, &r[5], err);
    CHECK(rc == LLC_OK, "pair cache: estimates run (%s)", rc ? err : "");
    if (!rc) {
        CHECK(h0 == 0 && m0 == 400, "pair cache: the first target computes all 2 x 200 (%ld computed, %ld shared)", m0,
              h0);
        CHECK(h1 == 400 && m1 == 400, "pair cache: the second target at the same w* computes none (%ld shared)",
              h1 - h0);
        CHECK(h2 == 400 && m2 == 800, "pair cache: another w* is not served from the cache (%ld computed)", m2 - m1);
        CHECK(r[0]->llc_mean == r[2]->llc_mean && r[1]->llc_mean == r[3]->llc_mean &&
                  r[4]->llc_mean == r[5]->llc_mean,
              "pair cache: bit-identical with and without it (%.17g %.17g %.17g)", r[2]->llc_mean, r[3]->llc_mean,
              r[4]->llc_mean);
        CHECK(r[0]->llc_mean != r[1]->llc_mean, "pair cache: the two targets still differ (%.6g vs %.6g)",
              r[0]->llc_mean, r[1]->llc_mean);
    }
    for (int i = 0; i < 6; i++) llc_estimate_result_free(r[i]);
    llc_pair_cache_free(pc);
cleanup:
    llc_group_free(&g);
    llc_model_free(m);
    llc_task_free(t);
}

static void test_rhat(void)
{
    enum { C = 4, N = 1000 };
    static double x[C * N];
    gsl_rng *r = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_TASK, 3, 0, 0));
    for (int i = 0; i < C * N; i++) x[i] = gsl_ran_gaussian(r, 1.0);
    double r1 = llc_split_rhat(x, C, N);
    CHECK(r1 > 0.99 && r1 < 1.01, "rhat: i.i.d. chains give %.4f ~ 1", r1);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < N; i++) x[c * N + i] += c;
    double r2 = llc_split_rhat(x, C, N);
    CHECK(r2 > 1.5, "rhat: chains with different means give %.3f > 1.5", r2);
    for (int i = 0; i < N; i++) x[i] = i; /* a trend inside one chain is caught by the split */
    double r3 = llc_split_rhat(x, 1, N);
    CHECK(r3 > 1.5, "rhat: a drifting single chain gives %.3f > 1.5", r3);
    CHECK(isnan(llc_split_rhat(x, 1, 3)), "rhat: too short is NaN");
    gsl_rng_free(r);
}

/* The bias check's criterion: 5%, 2 combined standard errors, and the
 * absolute floor for a lambda-hat near 0 (moves of icl head 1.3 and of the
 * icl model at the last checkpoint, measured). */
static void test_bias_criterion(void)
{
    CHECK(llc_bias_check_pass(10.0, 0.1, 10.45, 0.1, 0.05) && !llc_bias_check_pass(10.0, 0.1, 10.55, 0.1, 0.05),
          "bias criterion: 5%% of lambda-hat when the se are small");
    CHECK(llc_bias_check_pass(1.0, 0.1, 1.28, 0.1, 0.05) && !llc_bias_check_pass(1.0, 0.1, 1.29, 0.1, 0.05),
          "bias criterion: 2 combined standard errors (0.283)");
    CHECK(llc_bias_check_pass(0.0034, 0.0026, -0.0033, 0.0011, 0.05) &&
              !llc_bias_check_pass(0.0034, 0.0026, -0.0033, 0.0011, 0),
          "bias criterion: a lambda-hat of 0.003 moving to -0.003 passes by the floor 0.05, fails without it");
    CHECK(!llc_bias_check_pass(0.0, 0.001, 0.06, 0.001, 0.05), "bias criterion: a move of 0.06 from 0 fails");
    CHECK(!llc_bias_check_pass(7.29, 0.21, 6.44, 0.36, 0.05), "bias criterion: 7.29 -> 6.44 (-12%%) fails");
    CHECK(!llc_bias_check_pass(NAN, 0.1, 1.0, 0.1, 0.05) && !llc_bias_check_pass(1.0, 0.1, INFINITY, 0.1, 0.05) &&
              llc_bias_check_pass(1.0, NAN, 1.04, NAN, 0.05),
          "bias criterion: a non-finite lambda-hat fails, a NaN se counts as 0");
}

static void test_config(void)
{
    llc_estimate_config c;
    char err[LLC_ERRLEN] = "";
    llc_estimate_config_default(&c);
    CHECK(llc_estimate_config_check(&c, err) == LLC_OK && c.chains == 4 && c.draws == 200 && c.batch == 32 &&
              c.init_batches == 16 && c.burnin == -1 && c.thin == 0 && c.sgld.eps == 0 && c.metropolis == LLC_MH_AUTO &&
              c.sgld.ladder == 4 && c.auto_time_burnin == 1 && c.auto_time_draws == 2 && c.auto_max_steps == 1000000,
          "config: defaults (4 chains x 200 draws, batch 32, 16 init batches, auto eps, automatic burn-in and "
          "thin, Metropolis when the loss is exact) are valid");
    c.burnin = -2;
    CHECK(llc_estimate_config_check(&c, err) == LLC_ERR_INVALID && strstr(err, "burnin"),
          "config: burnin = -2 refused (%s)", err);
    llc_estimate_config_default(&c);
    c.metropolis = 7;
    CHECK(llc_estimate_config_check(&c, err) == LLC_ERR_INVALID && strstr(err, "metropolis"),
          "config: unknown metropolis mode refused (%s)", err);
    llc_estimate_config_default(&c);
    c.chains = 0;
    CHECK(llc_estimate_config_check(&c, err) == LLC_ERR_INVALID && strstr(err, "chains"),
          "config: chains = 0 refused (%s)", err);
    llc_estimate_config_default(&c);
    c.sgld.eps = -1;
    CHECK(llc_estimate_config_check(&c, err) == LLC_ERR_INVALID && strstr(err, "eps"),
          "config: eps < 0 refused (%s)", err);
    llc_estimate_config_default(&c);
    c.dist = 5;
    enum { N = 16, D = 10 };
    float wstar[D];
    llc_model *m = fx_linreg_model(D);
    llc_task *t = fx_hadamard_task(N, D, 0.5, SEED, wstar);
    llc_estimate_result *r = NULL;
    CHECK(llc_estimate(m, wstar, NULL, t, &c, &r, err) == LLC_ERR_INVALID && r == NULL,
          "config: unknown distribution refused (%s)", err);
    llc_estimate_result_free(NULL);
    llc_model_free(m);
    llc_task_free(t);
}

int main(void)
{
    gsl_set_error_handler_off();
    printf("test_estimate: seed %llu\n", (unsigned long long)SEED);
    double t0 = llc_now();
    test_config();
    test_bias_criterion();
    test_paired();
    test_pair_cache();
    test_rhat();
    test_threads_and_modes();
    test_divergence();
    test_interrupt();
    test_regular_formula();
    test_general_formula();
    test_auto_eps();
    test_metropolis();
    test_auto_lengths();
    printf("test_estimate: %.1f s\n", llc_now() - t0);
    return tu_finish("test_estimate");
}
