/* test_accuracy.c - the accuracy ladder: the LLC estimator with its DEFAULT
 * settings (llc_estimate_config_default; only threads and the seed are set
 * here, plus gamma where a case says so) against models whose learning
 * coefficient is known (llc/ESTIMATOR.md). Every case prints the reference,
 * lambda-hat +- std over chains, the relative error and the wall time, and
 * CHECKs the error.
 *
 *   Deep linear networks on the POPULATION loss (tasks "dln" with
 *      population: true, default nominal n = 1e5, so nbeta = n/log n =
 *      8685.9): every m = 1 row up to 800 parameters within 10% of Aoyagi's
 *      lambda, (2,2,2) r0 included (it is m = 1). The m = 2 rows (2,2,2) r1
 *      and (5,3,5) r0 within 15%: with multiplicity m even a perfect sampler
 *      is low by about (m-1)/log(nbeta) = 0.11 in lambda plus slower terms
 *      (a long Metropolis reference run gives -5% for (2,2,2) r1), so 10%
 *      would leave too little room for the sampler's own scatter.
 *   Normal crossings K = prod w_j^(2k_j) (tasks "poly", population) at
 *      n = 1e3 and 1e4, gamma = 1: within 10% of what a PERFECT sampler of
 *      exp(-t K(w) - gamma/2 |w|^2) returns at that finite t = n/log n.
 *      Those references are computed here by 2-D quadrature and first
 *      checked against reference values (0.2431 / 0.2475 ...).
 *      Locality, f = x (w1 - 1)(w1^2 + w2^2)^2: at the origin (lambda 1/4)
 *      with the default gamma = 1 at n = 1e3 (perfect sampler 0.291); on
 *      the line w1 = 1 at (1, 0.5) (lambda 1/2) with gamma = 100 at n = 1e3
 *      and 1e4 (perfect sampler 0.455, 0.500). gamma = 1 is too wide for the
 *      line: that posterior reaches the more singular origin 1.1 away
 *      (perfect sampler 0.325 at n = 1e4, falling towards 1/4 as n grows),
 *      and at n = 1e4 the two basins are separated by a barrier the chains
 *      rarely cross, so the two gamma = 1, n = 1e4 cases are printed as a
 *      report only (see locality_report).
 *
 * Runtime about 1-1.5 minutes on 2 free cores (threads = 2); the
 * (10,20,20,10) DLN is most of it. Seeds are fixed (TEST_SEED overrides).
 * The (100,100,100) DLN is tests/unit/slow_dln100.c (not run by make check).
 */
#include "llc_estimate.h"
#include "llc_regress.h"
#include "llc_theory.h"
#include "fixture.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_seed = 20240613ULL;

typedef fx_task_init_fn task_init_fn;

/* ---------------- running one case ---------------- */

typedef struct {
    double mean, std, rel, seconds;
    int ok;
} case_result;

/* Build the task from JSON, centre at its teacher, estimate with the default
 * config (threads 2, seed, and gamma if > 0), print one line, check
 * |lambda-hat - ref| <= tol * ref. */
static case_result run_case(const char *label, task_init_fn fn, const char *kind, const char *json, double gamma,
                            double ref, double tol, const char *ref_what)
{
    case_result out = {NAN, NAN, NAN, NAN, 0};
    char err[LLC_ERRLEN] = "";
    llc_task t;
    int rc = fx_task_init(fn, kind, json, g_seed, &t, err);
    CHECK(rc == LLC_OK, "%s: task %s %s (%s)", label, kind, json, err);
    if (rc) return out;
    llc_model *m = NULL;
    float *w = NULL;
    llc_estimate_result *r = NULL;
    rc = llc_regress_make_model(&t, &m, err);
    CHECK(rc == LLC_OK, "%s: model (%s)", label, err);
    if (rc) goto cleanup;
    size_t P = llc_model_n_params(m);
    w = malloc(P * sizeof *w);
    if (!w || llc_regress_teacher(&t, w, P, err)) goto cleanup;
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.threads = 2;
    c.seed = g_seed;
    if (gamma > 0) c.gamma = gamma;
    rc = llc_estimate(m, w, NULL, &t, &c, &r, err);
    CHECK(rc == LLC_OK, "%s: estimate runs (%s)", label, err);
    if (rc) goto cleanup;
    out.mean = r->llc_mean;
    out.std = r->llc_std;
    out.rel = (r->llc_mean - ref) / ref;
    out.seconds = r->seconds;
    printf("  %-34s %-9s %8.4f  lambda-hat %9.4f +- %-8.4f rel %+6.1f%%  %6.1f s  (nbeta %.1f, eps %.3g, burn-in %ld, "
           "thin %ld, MH %d accept %.2f%s)\n",
           label, ref_what, ref, r->llc_mean, r->llc_std, 100 * out.rel, r->seconds, r->nbeta, r->eps, r->burnin,
           r->thin, r->metropolis, r->accept_rate, r->steps_capped ? ", step budget reached" : "");
    out.ok = !strcmp(r->status, "ok") && fabs(out.rel) <= tol;
    CHECK(out.ok, "%s: lambda-hat %.4f +- %.4f within %.0f%% of %s %.4f (rel %+.1f%%, status %s)", label,
          r->llc_mean, r->llc_std, 100 * tol, ref_what, ref, 100 * out.rel, r->status);
    CHECK(r->metropolis && r->exact_loss && r->eps_auto,
          "%s: defaults chose the Metropolis-adjusted sampler on the exact (population) loss, eps automatic", label);
cleanup:
    llc_estimate_result_free(r);
    llc_model_free(m);
    free(w);
    fx_task_clear(&t);
    return out;
}

/* ---------------- deep linear networks ---------------- */

static void dln_case(const int *widths, int nw, int rank, double want_lambda, int want_m, double tol)
{
    double lam = NAN;
    int mult = 0;
    char err[LLC_ERRLEN] = "", ws[128] = "", json[256], label[64];
    size_t P = 0, off = 0;
    for (int i = 0; i < nw; i++) {
        off += (size_t)snprintf(ws + off, sizeof ws - off, "%s%d", i ? "," : "", widths[i]);
        if (i) P += (size_t)widths[i] * (size_t)widths[i - 1];
    }
    int rc = llc_theory_dln(widths, nw, rank, &lam, &mult, err);
    CHECK(rc == LLC_OK && lam == want_lambda && mult == want_m,
          "dln (%s) r%d: Aoyagi lambda %g (m %d), table %g (m %d)", ws, rank, lam, mult, want_lambda, want_m);
    snprintf(json, sizeof json, "{\"widths\": [%s], \"rank\": %d, \"population\": true}", ws, rank);
    snprintf(label, sizeof label, "dln (%s) r%d, %zu params, m=%d", ws, rank, P, mult);
    run_case(label, llc_task_dln_init, "dln", json, 0, want_lambda, tol, "Aoyagi");
}

static void test_dln(void)
{
    printf("deep linear networks, population loss, n = 1e5 (nbeta = 8685.9), default estimator:\n");
    static const int w545[] = {5, 4, 5}, w438[] = {4, 3, 8}, w3333[] = {3, 3, 3, 3}, w4235[] = {4, 2, 3, 5},
                     w222[] = {2, 2, 2}, w535[] = {5, 3, 5}, wbig[] = {10, 20, 20, 10};
    dln_case(w545, 3, 0, 8, 1, 0.10);
    dln_case(w438, 3, 0, 6, 1, 0.10);
    dln_case(w3333, 4, 0, 3, 1, 0.10);
    dln_case(w4235, 4, 1, 5, 1, 0.10);
    dln_case(w222, 3, 0, 1.5, 1, 0.10);
    dln_case(w222, 3, 1, 2, 2, 0.15);
    dln_case(w535, 3, 0, 6.5, 2, 0.15);
    dln_case(wbig, 4, 0, 50, 1, 0.10);
}

/* ---------------- normal crossings: quadrature references ---------------- */

typedef struct {
    int locality; /* 0: K = w1^(2 k1) w2^(2 k2); 1: (w1 - 1)^2 (w1^2 + w2^2)^4 */
    int k1, k2;
} kspec;

static double ipow(double x, int k)
{
    double r = 1;
    for (int i = 0; i < k; i++) r *= x;
    return r;
}

static double Kfun(const kspec *s, double w1, double w2)
{
    if (s->locality) {
        double q = w1 * w1 + w2 * w2, g = (w1 - 1) * q * q;
        return g * g;
    }
    double g = ipow(w1, s->k1) * ipow(w2, s->k2);
    return g * g;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 1-D trapezoid nodes: spacing h2 over [c - R, c + R], refined to about h1
 * within r1 of each of the nf points f[]; weights (x[i+1] - x[i-1]) / 2 (the
 * trapezoid rule on a sorted node set). Returns the number of nodes. */
static int nodes(double c, double R, double h2, const double *f, int nf, double r1, double h1, double *x, double *wt,
                 int cap)
{
    int n = 0, K = (int)floor(R / h2), m = (int)ceil(2 * r1 / h1);
    for (int k = -K; k <= K && n < cap; k++) {
        double u = c + k * h2;
        int inside = 0;
        for (int i = 0; i < nf; i++) inside |= fabs(u - f[i]) < r1;
        if (!inside) x[n++] = u;
    }
    for (int i = 0; i < nf; i++)
        for (int j = 0; j <= m && n < cap; j++) {
            double u = f[i] - r1 + 2 * r1 * j / m;
            if (fabs(u - c) <= R) x[n++] = u;
        }
    qsort(x, (size_t)n, sizeof *x, cmp_dbl);
    for (int i = 0; i < n; i++) wt[i] = 0.5 * ((i + 1 < n ? x[i + 1] : x[i]) - (i > 0 ? x[i - 1] : x[i]));
    return n;
}

/* What a perfect sampler returns: E[t (K(w) - K(c))] under
 * exp(-t (K(w) - K(c)) - gamma/2 |w - c|^2), by a tensor-product trapezoid
 * rule with spacing 0.01 out to 9/sqrt(gamma) around c, refined to 5e-4
 * within 0.5 of every place where K vanishes along a line (the narrow arms
 * and ridges of the posterior): the axes w_j = 0 and, for the locality
 * model, the line w1 = 1. */
static double perfect_sampler(const kspec *s, double t, double gamma, double c1, double c2)
{
    enum { CAP = 12000 };
    static double x1[CAP], a1[CAP], x2[CAP], a2[CAP];
    const double f1[2] = {0, 1}, f2[1] = {0};
    double R = 9 / sqrt(gamma);
    int n1 = nodes(c1, R, 0.01, f1, s->locality ? 2 : 1, 0.5, 5e-4, x1, a1, CAP);
    int n2 = nodes(c2, R, 0.01, f2, 1, 0.5, 5e-4, x2, a2, CAP);
    double K0 = Kfun(s, c1, c2), num = 0, den = 0;
    for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++) {
            double d1 = x1[i] - c1, d2 = x2[j] - c2, tk = t * (Kfun(s, x1[i], x2[j]) - K0);
            double e = a1[i] * a2[j] * exp(-tk - 0.5 * gamma * (d1 * d1 + d2 * d2));
            num += tk * e;
            den += e;
        }
    return num / den;
}

static void poly_case(const char *name, const kspec *s, long n, double gamma, double table, double lambda,
                      const char *extra_json)
{
    double t = (double)n / log((double)n);
    double c1 = 0, c2 = 0;
    if (s->locality && extra_json && strstr(extra_json, "line")) c1 = 1, c2 = 0.5;
    double ref = perfect_sampler(s, t, gamma, c1, c2);
    if (!isnan(table))
        CHECK(fabs(ref - table) <= 5e-4, "%s n=%ld: quadrature %.4f reproduces the reference perfect-sampler %.4f",
              name, n, ref, table);
    char json[256], label[96];
    if (s->locality)
        snprintf(json, sizeof json, "{\"form\": \"locality\", %s, \"n\": %ld, \"population\": true}", extra_json, n);
    else
        snprintf(json, sizeof json, "{\"k\": [%d, %d], \"n\": %ld, \"population\": true}", s->k1, s->k2, n);
    snprintf(label, sizeof label, "%s n=%ld gamma=%g (lambda %.3g)", name, n, gamma, lambda);
    run_case(label, llc_task_poly_init, "poly", json, gamma, ref, 0.10, "perfect");
}

/* Not a check, a report: with gamma = 1 at n = 1e4 the locality posterior
 * spans two basins, the origin's (lambda 1/4) and the ridge w1 = 1 where K
 * vanishes (lambda 1/2), 1 apart and separated by a barrier of about 7 nats
 * (t K along w2 = 0 peaks near w1 = 0.8); at n = 1e3 the barrier is about 1
 * nat and chains cross it freely (so the checked cases use n = 1e3 at
 * gamma = 1). A perfect sampler weighs both basins; chains started in one
 * find the other only now and then, so the mean depends on the seed (from
 * the origin: usually 0.25-0.27, sometimes 0.39, perfect 0.278; from (1,
 * 0.5): 0.47-0.53, perfect 0.325). That is the localisation being too wide
 * for a local question at this n, not a step-size problem: gamma = 100 on
 * the line gives 1/2 (checked). */
static void locality_report(const kspec *loc, const char *center, double c1, double c2)
{
    double t = 1e4 / log(1e4), ref = perfect_sampler(loc, t, 1, c1, c2);
    char err[LLC_ERRLEN] = "", json[160], label[64];
    llc_task tk;
    snprintf(json, sizeof json, "{\"form\": \"locality\", \"center\": \"%s\", \"n\": 10000, \"population\": true}",
             center);
    snprintf(label, sizeof label, "locality %s n=10000 gamma=1", center);
    llc_model *m = NULL;
    llc_estimate_result *r = NULL;
    float w[2];
    int rc = fx_task_init(llc_task_poly_init, "poly", json, g_seed, &tk, err);
    if (!rc) rc = llc_regress_make_model(&tk, &m, err);
    if (!rc) rc = llc_regress_teacher(&tk, w, 2, err);
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.threads = 2;
    c.seed = g_seed;
    if (!rc) rc = llc_estimate(m, w, NULL, &tk, &c, &r, err);
    CHECK(rc == LLC_OK, "%s: estimate runs (%s)", label, err);
    if (!rc) {
        printf("  %-34s %-9s %8.4f  lambda-hat %9.4f +- %-8.4f (REPORT ONLY: two basins, see locality_report; "
               "chains:",
               label, "perfect", ref, r->llc_mean, r->llc_std);
        for (int i = 0; i < r->chains; i++) printf(" %.3f", r->chain_llc[i]);
        printf(")\n");
    }
    llc_estimate_result_free(r);
    llc_model_free(m);
    fx_task_clear(&tk);
}

static void test_poly(void)
{
    printf("normal crossings, population loss, against a perfect sampler at t = n/log n (quadrature):\n");
    static const kspec q2 = {0, 0, 1}, q11 = {0, 1, 1}, q4 = {0, 0, 2}, q24 = {0, 1, 2}, q26 = {0, 1, 3},
                       loc = {1, 0, 0};
    poly_case("w2^2", &q2, 1000, 1, 0.4983, 0.5, NULL);
    poly_case("w2^2", &q2, 10000, 1, 0.4998, 0.5, NULL);
    poly_case("(w1 w2)^2 [m=2]", &q11, 1000, 1, 0.3614, 0.5, NULL);
    poly_case("(w1 w2)^2 [m=2]", &q11, 10000, 1, 0.3912, 0.5, NULL);
    poly_case("w2^4", &q4, 1000, 1, 0.2431, 0.25, NULL);
    poly_case("w2^4", &q4, 10000, 1, 0.2475, 0.25, NULL);
    poly_case("w1^2 w2^4", &q24, 1000, 1, 0.2095, 0.25, NULL);
    poly_case("w1^2 w2^4", &q24, 10000, 1, 0.2254, 0.25, NULL);
    poly_case("w1^2 w2^6", &q26, 1000, 1, NAN, 1.0 / 6, NULL);
    poly_case("w1^2 w2^6", &q26, 10000, 1, NAN, 1.0 / 6, NULL);
    printf("locality, f = x (w1 - 1)(w1^2 + w2^2)^2:\n");
    poly_case("locality at origin", &loc, 1000, 1, NAN, 0.25, "\"center\": \"origin\"");
    poly_case("locality on line (1,0.5)", &loc, 1000, 100, NAN, 0.5, "\"center\": \"line\"");
    poly_case("locality on line (1,0.5)", &loc, 10000, 100, NAN, 0.5, "\"center\": \"line\"");
    locality_report(&loc, "origin", 0, 0);
    locality_report(&loc, "line", 1, 0.5);
    /* the local values themselves */
    double t = 1e4 / log(1e4);
    double ref_line = perfect_sampler(&loc, t, 100, 1, 0.5), ref_origin = perfect_sampler(&loc, t, 1, 0, 0);
    CHECK(fabs(ref_line - 0.5) < 0.01 && fabs(ref_origin - 0.25) < 0.04,
          "locality: the perfect sampler gives %.4f on the line (gamma 100) and %.4f at the origin (gamma 1): "
          "1/2 and 1/4 up to finite-t terms",
          ref_line, ref_origin);
}

int main(void)
{
    const char *s = getenv("TEST_SEED");
    if (s) g_seed = strtoull(s, NULL, 10);
    printf("test_accuracy: seed %llu\n", (unsigned long long)g_seed);
    double t0 = llc_now();
    test_poly();
    test_dln();
    printf("test_accuracy: %.1f s\n", llc_now() - t0);
    return tu_finish("test_accuracy");
}
