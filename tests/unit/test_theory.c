/* test_theory.c - the closed-form learning coefficients (llc/theory.c)
 * against the known values (llc/ESTIMATOR.md): every deep-linear-network case (λ and
 * m exactly), the sanity rules over random width lists (one layer gives d/2,
 * a width-r bottleneck gives r(H_0+H_L−r)/2, 0 < λ <= d/2), the finite-nβ
 * linear-regression values, and the normal-crossing rule.
 * TEST_SEED=<n> replays the random width lists.
 */
#include "llc_theory.h"
#include "llc_common.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXACT 1e-12
#define TABLE_ATOL 5.0001e-5 /* the tables print 4 decimals */
#define N_RANDOM 5000

typedef struct {
    int widths[8];
    int n, rank, params;
    double lambda;
    int mult;
} dln_row;

static const dln_row dln_table[] = {
    {{2, 2, 2}, 3, 0, 8, 1.5, 1},
    {{2, 2, 2}, 3, 1, 8, 2, 2},
    {{5, 3, 5}, 3, 0, 30, 6.5, 2},
    {{5, 4, 5}, 3, 0, 40, 8, 1},
    {{4, 3, 8}, 3, 0, 36, 6, 1},
    {{3, 3, 3, 3}, 4, 0, 27, 3, 1},
    {{4, 2, 3, 5}, 4, 1, 29, 5, 1},
    {{10, 20, 20, 10}, 4, 0, 800, 50, 1},
    {{100, 100, 100}, 3, 0, 20000, 3750, 1},
};

static long params_of(const int *w, int n)
{
    long p = 0;
    for (int i = 1; i < n; i++) p += (long)w[i] * w[i - 1];
    return p;
}

static void test_dln_table(void)
{
    char err[LLC_ERRLEN];
    for (size_t i = 0; i < sizeof dln_table / sizeof dln_table[0]; i++) {
        const dln_row *r = &dln_table[i];
        double lam = -1;
        int m = -1;
        int rc = llc_theory_dln(r->widths, r->n, r->rank, &lam, &m, err);
        char what[128];
        int len = 0;
        for (int j = 0; j < r->n; j++) len += snprintf(what + len, sizeof what - (size_t)len, "%s%d", j ? "," : "(", r->widths[j]);
        snprintf(what + len, sizeof what - (size_t)len, ") r=%d", r->rank);
        CHECK(rc == LLC_OK, "dln %s: rc %d (%s)", what, rc, rc ? err : "");
        CHECK(params_of(r->widths, r->n) == r->params, "dln %s: %ld params, table says %d", what,
              params_of(r->widths, r->n), r->params);
        CHECK(fabs(lam - r->lambda) <= EXACT, "dln %s: lambda %.15g, want %g", what, lam, r->lambda);
        CHECK(m == r->mult, "dln %s: multiplicity %d, want %d", what, m, r->mult);
    }
}

static void test_dln_sanity(uint64_t seed)
{
    char err[LLC_ERRLEN];
    gsl_rng *rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_TASK, 1, 0, 0));
    int bad_range = 0, bad_one = 0, bad_neck = 0, bad_rc = 0, bad_m = 0;
    for (int it = 0; it < N_RANDOM; it++) {
        int w[8], n = 2 + (int)gsl_rng_uniform_int(rng, 6), wmin = 1 << 30;
        for (int j = 0; j < n; j++) {
            w[j] = 1 + (int)gsl_rng_uniform_int(rng, 12);
            if (w[j] < wmin) wmin = w[j];
        }
        int r = (int)gsl_rng_uniform_int(rng, (unsigned long)wmin + 1);
        double lam = 0, d = (double)params_of(w, n);
        int m = 0;
        if (llc_theory_dln(w, n, r, &lam, &m, err)) {
            if (!bad_rc++) CHECK(0, "dln sanity: rc != 0 for a valid list: %s", err);
            continue;
        }
        if (!(lam > 0 && lam <= d / 2 + EXACT) && !bad_range++)
            CHECK(0, "dln sanity: lambda %g outside (0, d/2 = %g], n=%d r=%d", lam, d / 2, n, r);
        if (m < 1 && !bad_m++) CHECK(0, "dln sanity: multiplicity %d < 1", m);
        if (n == 2 && fabs(lam - d / 2) > EXACT && !bad_one++)
            CHECK(0, "dln sanity: one layer (%d,%d) r=%d gives %g, want d/2 = %g", w[0], w[1], r, lam, d / 2);
        /* the same list with one interior layer narrowed to width r >= 1 */
        if (n >= 3 && r >= 1) {
            int j = 1 + (int)gsl_rng_uniform_int(rng, (unsigned long)(n - 2));
            w[j] = r;
            double want = r * (w[0] + w[n - 1] - r) / 2.0;
            if ((llc_theory_dln(w, n, r, &lam, &m, err) || fabs(lam - want) > EXACT) && !bad_neck++)
                CHECK(0, "dln sanity: bottleneck of width %d at layer %d gives %g, want %g", r, j, lam, want);
        }
    }
    CHECK(!bad_rc, "dln sanity: %d of %d random lists gave an error", bad_rc, N_RANDOM);
    CHECK(!bad_range, "dln sanity: 0 < lambda <= d/2 on %d random lists (%d violations)", N_RANDOM, bad_range);
    CHECK(!bad_m, "dln sanity: multiplicity >= 1 (%d violations)", bad_m);
    CHECK(!bad_one, "dln sanity: one layer gives d/2 (%d violations)", bad_one);
    CHECK(!bad_neck, "dln sanity: a width-r bottleneck gives r(H0+HL-r)/2 (%d violations)", bad_neck);
    gsl_rng_free(rng);

    /* the bottleneck rule also at the ends of the chain */
    int w1[3] = {2, 6, 7};
    double lam;
    int m;
    CHECK(llc_theory_dln(w1, 3, 2, &lam, &m, err) == LLC_OK && fabs(lam - 2 * (2 + 7 - 2) / 2.0) <= EXACT,
          "dln: input of width r=2 gives r(H0+HL-r)/2 = 7 (got %g)", lam);

    /* bad arguments */
    int w2[3] = {3, 2, 3};
    err[0] = 0;
    CHECK(llc_theory_dln(w2, 3, 3, &lam, &m, err) == LLC_ERR_INVALID && strstr(err, "rank"),
          "dln: rank > min width rejected (%s)", err);
    CHECK(llc_theory_dln(w2, 1, 0, &lam, &m, err) == LLC_ERR_INVALID, "dln: one width rejected (%s)", err);
    CHECK(llc_theory_dln(w2, 3, -1, &lam, &m, err) == LLC_ERR_INVALID, "dln: negative rank rejected");
    int w3[2] = {0, 3};
    CHECK(llc_theory_dln(w3, 2, 0, &lam, &m, err) == LLC_ERR_INVALID, "dln: width 0 rejected");
}

static void test_linreg(void)
{
    double lam;
    int m;
    CHECK(llc_theory_linreg(10, &lam, &m) == LLC_OK && lam == 5.0 && m == 1, "linreg d=10: lambda 5, m 1");
    CHECK(llc_theory_linreg(0, &lam, &m) == LLC_ERR_INVALID, "linreg d=0 rejected");

    /* d = 10, Σ̂ = I, γ = 1, t = n/log n */
    static const struct {
        double n, t, perfect, e5, e4;
    } rows[] = {
        {1e3, 144.76, 4.9828, 4.9864, 5.0192},
        {1e4, 1085.74, 4.9977, 5.0250, 5.2847},
        {1e5, 8685.89, 4.9997, 5.2267, 8.8384},
    };
    double eig[10];
    for (int i = 0; i < 10; i++) eig[i] = 1.0;
    for (int i = 0; i < 3; i++) {
        double t = rows[i].n / log(rows[i].n);
        char what[96];
        snprintf(what, sizeof what, "linreg n=%g: t = n/log n", rows[i].n);
        CHECK_CLOSE(t, rows[i].t, 0.005, 0, what);
        snprintf(what, sizeof what, "linreg n=%g: perfect sampler", rows[i].n);
        CHECK_CLOSE(llc_theory_linreg_sgld(eig, 10, t, 1.0, 0.0), rows[i].perfect, TABLE_ATOL, 0, what);
        snprintf(what, sizeof what, "linreg n=%g: SGLD eps=1e-5", rows[i].n);
        CHECK_CLOSE(llc_theory_linreg_sgld(eig, 10, t, 1.0, 1e-5), rows[i].e5, TABLE_ATOL, 0, what);
        snprintf(what, sizeof what, "linreg n=%g: SGLD eps=1e-4", rows[i].n);
        CHECK_CLOSE(llc_theory_linreg_sgld(eig, 10, t, 1.0, 1e-4), rows[i].e4, TABLE_ATOL, 0, what);
    }
    /* divergence at eps·p >= 4, the limit d/2, bad arguments */
    double t = 1e4, p = 2 * t + 1;
    CHECK(isinf(llc_theory_linreg_sgld(eig, 10, t, 1.0, 4.0 / p)), "linreg SGLD diverges at eps*p = 4");
    CHECK(isfinite(llc_theory_linreg_sgld(eig, 10, t, 1.0, 3.99 / p)), "linreg SGLD finite at eps*p = 3.99");
    CHECK_CLOSE(llc_theory_linreg_sgld(eig, 10, 1e12, 1.0, 0.0), 5.0, 1e-9, 0, "linreg perfect sampler -> d/2");
    CHECK(isnan(llc_theory_linreg_sgld(eig, 0, t, 1.0, 0.0)), "linreg sgld d=0 gives NaN");
    CHECK(isnan(llc_theory_linreg_sgld(eig, 10, t, -1.0, 0.0)), "linreg sgld gamma<0 gives NaN");
    /* a non-identity spectrum: the sum of the 1-d formulas */
    double e2[3] = {0.5, 1.0, 2.0}, want = 0;
    for (int i = 0; i < 3; i++) want += 100 * e2[i] / ((200 * e2[i] + 3) * (1 - 1e-3 * (200 * e2[i] + 3) / 4));
    CHECK_CLOSE(llc_theory_linreg_sgld(e2, 3, 100, 3, 1e-3), want, 0, 1e-14, "linreg sgld spectrum {0.5,1,2}");
}

static void test_poly(void)
{
    static const struct {
        int k[3], n;
        double lambda;
        int mult;
        const char *what;
    } rows[] = {
        {{1}, 1, 0.5, 1, "w2^2"},
        {{0, 1}, 2, 0.5, 1, "w2^2 with a free w1"},
        {{1, 1}, 2, 0.5, 2, "(w1 w2)^2"},
        {{2}, 1, 0.25, 1, "w2^4"},
        {{1, 2}, 2, 0.25, 1, "w1^2 w2^4"},
        {{1, 3}, 2, 1.0 / 6, 1, "w1^2 w2^6"},
        {{3, 1, 3}, 3, 1.0 / 6, 2, "w1^6 w2^2 w3^6"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double lam = -1;
        int m = -1;
        int rc = llc_theory_poly(rows[i].k, rows[i].n, &lam, &m);
        CHECK(rc == LLC_OK && fabs(lam - rows[i].lambda) <= EXACT && m == rows[i].mult,
              "poly %s: lambda %g m %d, want %g m %d", rows[i].what, lam, m, rows[i].lambda, rows[i].mult);
    }
    double lam;
    int m;
    int k0[2] = {0, 0}, kn[2] = {1, -1};
    CHECK(llc_theory_poly(k0, 2, &lam, &m) == LLC_ERR_INVALID, "poly: all k = 0 rejected");
    CHECK(llc_theory_poly(kn, 2, &lam, &m) == LLC_ERR_INVALID, "poly: negative k rejected");
    CHECK(llc_theory_poly(k0, 0, &lam, &m) == LLC_ERR_INVALID, "poly: no k rejected");
    llc_theory_poly_locality(0, &lam, &m);
    CHECK(lam == 0.25 && m == 1, "poly locality at the origin: 1/4");
    llc_theory_poly_locality(1, &lam, &m);
    CHECK(lam == 0.5 && m == 1, "poly locality on the line w1 = 1: 1/2");

    /* w2^2 is a regular 1-d model; a perfect sampler (γ = 1, E x² = 1) gives 0.4983 / 0.4998 */
    double one = 1.0;
    CHECK_CLOSE(llc_theory_linreg_sgld(&one, 1, 1e3 / log(1e3), 1.0, 0.0), 0.4983, TABLE_ATOL, 0,
                "poly w2^2 perfect sampler n=1e3");
    CHECK_CLOSE(llc_theory_linreg_sgld(&one, 1, 1e4 / log(1e4), 1.0, 0.0), 0.4998, TABLE_ATOL, 0,
                "poly w2^2 perfect sampler n=1e4");
}

int main(void)
{
    uint64_t seed = 20240611ULL;
    const char *s = getenv("TEST_SEED");
    if (s) seed = strtoull(s, NULL, 10);
    printf("test_theory: seed %llu\n", (unsigned long long)seed);
    test_dln_table();
    test_dln_sanity(seed);
    test_linreg();
    test_poly();
    return tu_finish("test_theory");
}
