/* test_minibatch.c - minibatch SGLD (the sampler of every transformer
 * estimate) against exact references on the SAME finite data set, with the
 * estimator's DEFAULT settings (batch 32, automatic eps and lengths).
 *
 *   Linear regression (n = 1000, d = 10, noise 1, centred at the
 *   least-squares fit): the stationary lambda-hat of minibatch SGLD at the
 *   chosen eps is known in closed form (linreg_sgld_lambda below), and the
 *   estimate must match it within Monte-Carlo error; the formula then says
 *   how far that eps is from a perfect sampler.
 *   Deep linear networks with finite data (tasks "dln", n = 1000, noise 0,
 *   nbeta = n/log n): the minibatch default (Metropolis on the batch, two
 *   steps per batch, the automatic eps capped by the plain ladder) against
 *   the full-batch exact sampler (batch = n: Metropolis-adjusted) on the
 *   same data, within 5% (or 2 standard errors); no chain may diverge, with
 *   that or with plain SGLD (metropolis off), which is printed beside it.
 *
 * The fast subset runs in make check; LLC_MINIBATCH_ALL=1 adds (10,20,20,10)
 * at n = 1000 and the two small networks at n = 10,000 (make accuracy runs
 * it), LLC_MINIBATCH_ALL=2 also (10,20,20,10) at n = 10,000 (over an hour: its
 * full-batch reference takes a pass over all 10,000 examples per step).
 * TEST_SEED overrides the seed.
 */
#include "llc_estimate.h"
#include "llc_regress.h"
#include "llc_theory.h"
#include "fixture.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_seed = 20240615ULL;

/* ---------------- the closed form for linear regression ---------------- */

/* lambda-hat of plain minibatch SGLD at stationarity on linear regression.
 * With u = w - w-hat (the least-squares fit), Sigma_b = X_b'X_b/B and r_b =
 * X_b'e_b/B (e the residuals at w-hat), the loss (1/B) sum (y - x.w)^2 has
 * gradient 2 Sigma_b u - 2 r_b, so one step is
 *     u' = A_b u + eps t r_b + sqrt(eps) xi,  A_b = (1 - eps gamma/2) I - eps t Sigma_b.
 * The mean of u stays 0 (E r_b = X'e/n = 0), so M = E uu' solves the
 * discrete Lyapunov equation with multiplicative noise
 *     M = A M A + eps^2 t^2 E[(Sigma_b - S)M(Sigma_b - S)] + eps^2 t^2 E[r_b r_b'] + eps I,
 * A = E A_b, S = X'X/n. For a batch drawn without replacement (a block of a
 * random permutation) both expectations are c sum_i of per-example terms,
 * c = (n - B)/(B n (n - 1)): D_i M D_i with D_i = x_i x_i' - S, and
 * e_i^2 x_i x_i'. Solved as a d^2 x d^2 linear system; lambda-hat = t tr(S M)
 * (the paired estimator's expectation: w before the step is independent of
 * the step's batch). cv = 1: the gradient with the control variate
 * grad L_b(w) - grad L_b(w-hat) + grad L_n(w-hat), which removes the r_b term.
 * B >= n gives full-batch SGLD, sum_i t a_i / (p_i (1 - eps p_i/4)). */
static double linreg_sgld_lambda(const llc_task *t, const float *what, int d, double eps, double tt, double gamma,
                                 int B, int cv)
{
    long n = t->n_examples(t, 0);
    char err[LLC_ERRLEN];
    llc_batch *b = llc_task_batch_alloc(t, (int)n);
    double *S = calloc((size_t)d * d, sizeof *S), *A = calloc((size_t)d * d, sizeof *A);
    double *Di = calloc((size_t)d * d, sizeof *Di), *R = calloc((size_t)d * d, sizeof *R);
    size_t D2 = (size_t)d * d;
    gsl_matrix *op = gsl_matrix_calloc(D2, D2);
    gsl_vector *rhs = gsl_vector_calloc(D2), *mv = gsl_vector_alloc(D2);
    gsl_permutation *perm = gsl_permutation_alloc(D2);
    double lam = NAN;
    if (!b || !S || !A || !Di || !R || !op || !rhs || !mv || !perm) goto cleanup;
    b->B = (int)n;
    if (t->fill(t, 0, 0, b) != LLC_OK) goto cleanup;
    (void)err;
    for (long i = 0; i < n; i++)
        for (int a = 0; a < d; a++)
            for (int c = 0; c < d; c++) S[a * d + c] += (double)b->x[i * d + a] * b->x[i * d + c] / (double)n;
    for (int a = 0; a < d; a++)
        for (int c = 0; c < d; c++) A[a * d + c] = (a == c ? 1.0 - 0.5 * eps * gamma : 0.0) - eps * tt * S[a * d + c];
    const double k = B >= n ? 0.0 : eps * eps * tt * tt * (double)(n - B) / ((double)B * n * (n - 1));
    /* op = (M -> A M A + k sum_i D_i M D_i) on vec(M), row-major index a*d+c */
    for (int a = 0; a < d; a++)
        for (int c = 0; c < d; c++)
            for (int p = 0; p < d; p++)
                for (int q = 0; q < d; q++) gsl_matrix_set(op, a * d + c, p * d + q, A[a * d + p] * A[q * d + c]);
    for (long i = 0; k > 0 && i < n; i++) {
        const float *x = b->x + i * d;
        double e = b->y[i];
        for (int a = 0; a < d; a++) e -= (double)what[a] * x[a];
        for (int a = 0; a < d; a++)
            for (int c = 0; c < d; c++) {
                Di[a * d + c] = (double)x[a] * x[c] - S[a * d + c];
                R[a * d + c] += e * e * (double)x[a] * x[c];
            }
        for (int a = 0; a < d; a++)
            for (int c = 0; c < d; c++)
                for (int p = 0; p < d; p++) {
                    double dap = k * Di[a * d + p];
                    double *row = gsl_matrix_ptr(op, a * d + c, p * d);
                    for (int q = 0; q < d; q++) row[q] += dap * Di[q * d + c];
                }
    }
    /* (I - op) vec M = eps I + k R (without the R term under the control variate) */
    for (size_t r = 0; r < D2; r++)
        for (size_t c = 0; c < D2; c++) gsl_matrix_set(op, r, c, (r == c) - gsl_matrix_get(op, r, c));
    for (int a = 0; a < d; a++)
        for (int c = 0; c < d; c++) gsl_vector_set(rhs, a * d + c, (a == c ? eps : 0.0) + (cv ? 0.0 : k * R[a * d + c]));
    int sgn = 0;
    if (gsl_linalg_LU_decomp(op, perm, &sgn) || gsl_linalg_LU_solve(op, perm, rhs, mv)) goto cleanup;
    lam = 0;
    for (size_t r = 0; r < D2; r++) lam += tt * S[r] * gsl_vector_get(mv, r);
cleanup:
    llc_batch_free(b);
    free(S), free(A), free(Di), free(R);
    gsl_matrix_free(op);
    gsl_vector_free(rhs);
    gsl_vector_free(mv);
    gsl_permutation_free(perm);
    return lam;
}

/* ---------------- one estimate ---------------- */

static int estimate_mh(const llc_model *m, const float *w, const llc_task *t, int batch, int mh,
                       llc_estimate_result **r)
{
    char err[LLC_ERRLEN] = "";
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.rt.threads = 2;
    c.seed = g_seed;
    c.batch = batch;
    c.metropolis = mh;
    int rc = llc_estimate(m, w, NULL, t, &c, r, err);
    CHECK(rc == LLC_OK, "%s batch %d: estimate runs (%s)", t->name, batch, err);
    return rc;
}

static int estimate(const llc_model *m, const float *w, const llc_task *t, int batch, llc_estimate_result **r)
{
    return estimate_mh(m, w, t, batch, LLC_MH_AUTO, r);
}

/* Plain minibatch SGLD at its automatic eps (metropolis off). */
static int estimate_plain(const llc_model *m, const float *w, const llc_task *t, int batch, llc_estimate_result **r)
{
    return estimate_mh(m, w, t, batch, LLC_MH_OFF, r);
}

static double se_of(const llc_estimate_result *r)
{
    return r->llc_std / sqrt((double)(r->chains - r->n_diverged));
}

static void print_row(const char *label, const char *what, const llc_estimate_result *r)
{
    printf("  %-30s %-10s lambda-hat %9.4f +- %-7.4f (se %.4f) %-8s eps %.3g, MH %d, %6.1f s\n", label, what,
           r->llc_mean, r->llc_std, se_of(r), r->status, r->eps, r->metropolis, r->seconds);
}

/* ---------------- linear regression ---------------- */

static void test_linreg(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    llc_model *m = NULL;
    llc_estimate_result *r = NULL;
    float w[10];
    int rc = fx_linreg_teacher(g_seed, &t, &m, w, err);
    CHECK(rc == LLC_OK, "linreg task, model, teacher (%s)", err);
    if (rc) goto cleanup;
    /* the formula at B = n against the full-batch closed form */
    double eig[10], tt = 1000.0 / log(1000.0), perfect = 0, fb = 0, eps1 = 1e-4;
    llc_regress_covariance_eigs(t, eig);
    for (int i = 0; i < 10; i++) {
        double p = 2 * tt * eig[i] + 1;
        perfect += tt * eig[i] / p;
        fb += tt * eig[i] / (p * (1 - eps1 * p / 4));
    }
    double fbl = linreg_sgld_lambda(t, w, 10, eps1, tt, 1.0, 1000, 0);
    CHECK(fabs(fbl - fb) < 1e-6 * fb, "linreg: Lyapunov solution at B = n %.6f = the full-batch formula %.6f", fbl, fb);
    if ((rc = estimate_plain(m, w, t, 32, &r))) goto cleanup;
    double want = linreg_sgld_lambda(t, w, 10, r->eps, tt, 1.0, 32, 0);
    double se = se_of(r);
    print_row("linreg d=10 n=1000", "batch 32", r);
    printf("  %-30s closed form at this eps %.4f (perfect sampler %.4f, bias of the sampler %+.1f%%)\n", "",
           want, perfect, 100 * (want - perfect) / perfect);
    for (int q = 1; q <= 16; q *= 4)
        printf("  %-30s eps/%-2d: full batch %.4f, batch 32 %.4f, batch 32 with control variate %.4f\n", "", q,
               linreg_sgld_lambda(t, w, 10, r->eps / q, tt, 1.0, 1000, 0),
               linreg_sgld_lambda(t, w, 10, r->eps / q, tt, 1.0, 32, 0),
               linreg_sgld_lambda(t, w, 10, r->eps / q, tt, 1.0, 32, 1));
    CHECK(!strcmp(r->status, "ok"), "linreg: no divergence");
    /* 3 se of 4 chains (a t with 3 degrees of freedom: about 94%), or 3% */
    CHECK(fabs(r->llc_mean - want) <= fmax(3 * se, 0.03 * want),
          "linreg: minibatch lambda-hat %.4f matches the minibatch-SGLD closed form %.4f (3 se = %.4f, or 3%%)",
          r->llc_mean, want, 3 * se);
    CHECK(fabs(want - perfect) <= 0.05 * perfect,
          "linreg: at the chosen eps %.3g the sampler's bias %.4f vs %.4f is within 5%%", r->eps, want, perfect);
    /* the self-consistency check passes here, and catches the ladder's own
     * eps (divisor 1, the old default: +10% of batch noise) */
    for (int div = 4; div >= 1; div -= 3) {
        llc_estimate_config c;
        llc_estimate_config_default(&c);
        c.rt.threads = 2;
        c.seed = g_seed;
        c.auto_eps_divisor = div;
        c.metropolis = LLC_MH_OFF;
        llc_estimate_result *rb = NULL;
        rc = llc_estimate(m, w, NULL, t, &c, &rb, err);
        if (!rc) rc = llc_estimate_check_bias(m, w, NULL, t, &c, rb, err);
        CHECK(rc == LLC_OK, "linreg: bias check runs (%s)", err);
        if (!rc) {
            const llc_bias_check *b = &rb->bias;
            printf("  %-30s bias check, eps divisor %d: %.4f; batch %d %.4f; eps/2 %.4f: %s\n", "", div, b->llc,
                   b->batch, b->llc_batch, b->llc_half, b->pass ? "pass" : "FAIL");
            CHECK(b->done && b->pass == (div == 4), "linreg: the bias check %s at eps divisor %d",
                  div == 4 ? "passes" : "fails", div);
            /* the re-runs' chains as long as the estimate's in simulated time:
             * the same steps at batch x4, twice them at eps/2 */
            CHECK(b->steps_batch == b->steps && b->steps_half == 2 * b->steps && b->burnin == rb->burnin &&
                      b->burnin_batch == b->burnin && b->burnin_half == 2 * b->burnin,
                  "linreg: the bias check's re-runs as long as the estimate (sampling steps %ld: batch x4 %ld, eps/2 "
                  "%ld; burn-in %ld: %ld, %ld)", b->steps, b->steps_batch, b->steps_half, b->burnin,
                  b->burnin_batch, b->burnin_half);
        }
        llc_estimate_result_free(rb);
    }
cleanup:
    llc_estimate_result_free(r);
    llc_model_free(m);
    llc_task_free(t);
}

/* A given eps at which plain SGLD diverges (eps p = 8 in the stiffest
 * direction): the estimate is rerun at eps/2 until no chain diverges, and
 * says so. */
static void test_retry(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    llc_model *m = NULL;
    llc_estimate_result *r = NULL;
    float w[10];
    int rc = fx_linreg_teacher(g_seed, &t, &m, w, err);
    double eig[10];
    llc_regress_covariance_eigs(t, eig);
    const double p = 2 * (1000.0 / log(1000.0)) * eig[9] + 1, eps = 8 / p;
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.rt.threads = 2;
    c.seed = g_seed;
    c.sgld.eps = eps;
    if (!rc) rc = llc_estimate(m, w, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK, "retry: estimate runs (%s)", err);
    if (!rc) {
        printf("  retry: eps %.3g -> %.3g, %d retries, status %s, lambda-hat %.4f (%s)\n", eps, r->eps, r->retries,
               r->status, r->llc_mean, r->eps_note);
        CHECK(r->retries >= 2 && !strcmp(r->status, "ok") && r->eps == eps / (1 << r->retries) &&
                  strstr(r->eps_note, "retried at eps/2"),
              "retry: diverging eps %.3g halved until no chain diverged (%d retries, status %s)", eps, r->retries,
              r->status);
        CHECK(isfinite(r->llc_mean), "retry: the point has a value");
    }
    llc_estimate_result_free(r);
    r = NULL;
    c.diverge_retries = 0;
    if (!rc) rc = llc_estimate(m, w, NULL, t, &c, &r, err);
    CHECK(rc == LLC_OK && r->retries == 0 && !strcmp(r->status, "diverged"),
          "retry: with diverge_retries = 0 the estimate stays diverged");
    llc_estimate_result_free(r);
    llc_model_free(m);
    llc_task_free(t);
}

/* ---------------- deep linear networks ---------------- */

static void dln_case(const char *widths, int rank, long n, double lambda)
{
    char err[LLC_ERRLEN] = "", json[256], label[96];
    llc_task *t = NULL;
    llc_model *m = NULL;
    float *w = NULL;
    llc_estimate_result *mb = NULL, *fb = NULL, *mh = NULL;
    snprintf(json, sizeof json, "{\"widths\": [%s], \"rank\": %d, \"n\": %ld}", widths, rank, n);
    snprintf(label, sizeof label, "dln (%s) r%d n=%ld", widths, rank, n);
    cJSON *js = cJSON_Parse(json);
    int rc = llc_task_new("dln", js, g_seed, &t, err);
    cJSON_Delete(js);
    if (!rc) rc = llc_regress_make_model(t, &m, err);
    size_t P = m ? llc_model_n_params(m) : 0;
    if (!rc && !(w = malloc(P * sizeof *w))) rc = LLC_ERR_NOMEM;
    if (!rc) rc = llc_regress_teacher(t, w, P, err);
    CHECK(rc == LLC_OK, "%s: task, model, teacher (%s)", label, err);
    if (rc) goto cleanup;
    if (estimate(m, w, t, (int)n, &fb) || estimate_plain(m, w, t, 32, &mb) || estimate(m, w, t, 32, &mh))
        goto cleanup;
    printf("  %s (Aoyagi lambda %g)\n", label, lambda);
    print_row("", "full batch", fb);
    print_row("", "plain", mb);
    print_row("", "default", mh);
    double rel = (mb->llc_mean - fb->llc_mean) / fb->llc_mean;
    double rel_mh = (mh->llc_mean - fb->llc_mean) / fb->llc_mean;
    double se = sqrt(se_of(mh) * se_of(mh) + se_of(fb) * se_of(fb));
    printf("  %-30s plain minibatch SGLD vs exact %+.1f%%; the default (Metropolis on the batch) %+.1f%% "
           "(2 se = %.1f%%)\n", "", 100 * rel, 100 * rel_mh, 200 * se / fb->llc_mean);
    CHECK(fb->metropolis && fb->full_batch && !mb->metropolis && mh->metropolis && !mh->full_batch &&
              mh->cfg.sgld.block == 2,
          "%s: the reference is full-batch MALA, the default Metropolis on the batch, two steps per batch", label);
    /* plain SGLD keeps its point through the divergence retries at n = 1000;
     * (10,20,20,10) at n = 10,000 diverges at every retry (llc/MINIBATCH.md) */
    if (n <= 1000 || strcmp(widths, "10,20,20,10"))
        CHECK(!strcmp(mb->status, "ok") && mb->n_diverged == 0,
              "%s: plain minibatch SGLD does not diverge (%d chains)", label, mb->n_diverged);
    CHECK(!strcmp(mh->status, "ok") && mh->n_diverged == 0, "%s: the minibatch default does not diverge", label);
    /* plain minibatch SGLD is not asserted: (10,20,20,10) and n = 10,000
     * are too high at its eps (llc/MINIBATCH.md) */
    CHECK(fabs(rel_mh) <= 0.05 || fabs(mh->llc_mean - fb->llc_mean) <= 2 * se,
          "%s: the minibatch default %.4f within 5%% (or 2 se) of the full-batch exact sampler %.4f (%+.1f%%)",
          label, mh->llc_mean, fb->llc_mean, 100 * rel_mh);
cleanup:
    llc_estimate_result_free(mh);
    llc_estimate_result_free(mb);
    llc_estimate_result_free(fb);
    llc_model_free(m);
    free(w);
    llc_task_free(t);
}

int main(void)
{
    const char *s = getenv("TEST_SEED");
    if (s) g_seed = strtoull(s, NULL, 10);
    const char *all = getenv("LLC_MINIBATCH_ALL");
    int slow = all ? atoi(all) : 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("test_minibatch: seed %llu%s\n", (unsigned long long)g_seed, slow ? ", slow cases too" : "");
    test_linreg();
    test_retry();
    dln_case("5,4,5", 0, 1000, 8);
    dln_case("4,2,3,5", 1, 1000, 5);
    if (slow) {
        dln_case("10,20,20,10", 0, 1000, 50);
        dln_case("5,4,5", 0, 10000, 8);
        dln_case("4,2,3,5", 1, 10000, 5);
    }
    if (slow >= 2) dln_case("10,20,20,10", 0, 10000, 50);
    return tu_finish("test_minibatch");
}
