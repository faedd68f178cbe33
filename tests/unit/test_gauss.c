/* test_gauss.c - the SGLD noise generator (core/gauss.c):
 *  - every draw equals the exact Box-Muller transform, in double, of the same
 *    xoshiro128+ uniforms (replayed here in scalar code) to 2e-6 (relative
 *    beyond |z| = 1): checks the log, sin and cos polynomials and the
 *    quadrant logic over 2^20 draws;
 *  - moments, tail masses and a Kolmogorov-Smirnov test against N(0,1) on
 *    4e6 draws, and no correlation between neighbouring draws or lanes;
 *  - determinism: same seed, same sequence; split requests that keep blocks
 *    whole give the same numbers as one request. */
#include "testutil.h"
#include "llc_gauss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>

static uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static uint32_t next32(uint32_t s[4])
{
    uint32_t r = s[0] + s[3], t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl32(s[3], 11);
    return r;
}

static void test_exact(void)
{
    llc_gauss g;
    llc_gauss_seed(&g, 12345);
    uint32_t st[LLC_GAUSS_LANES][4];
    for (int l = 0; l < LLC_GAUSS_LANES; l++)
        for (int k = 0; k < 4; k++) st[l][k] = g.s[k][l];
    const size_t n = (size_t)1 << 20;
    float *z = malloc(n * sizeof *z);
    llc_gauss_fill(&g, z, n);
    double worst = 0, maxabs = 0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i += LLC_GAUSS_BLOCK) {
        uint32_t a[LLC_GAUSS_LANES], b[LLC_GAUSS_LANES];
        for (int l = 0; l < LLC_GAUSS_LANES; l++) a[l] = next32(st[l]);
        for (int l = 0; l < LLC_GAUSS_LANES; l++) b[l] = next32(st[l]);
        for (int l = 0; l < LLC_GAUSS_LANES; l++) {
            double u1 = ((a[l] >> 8) + 1) * 0x1.0p-24, th = 2 * M_PI * (b[l] >> 8) * 0x1.0p-24;
            double r = sqrt(-2 * log(u1));
            double want[2] = {r * cos(th), r * sin(th)};
            float got[2] = {z[i + l], z[i + LLC_GAUSS_LANES + l]};
            for (int k = 0; k < 2; k++) {
                double e = fabs(got[k] - want[k]) / fmax(1.0, fabs(want[k]));
                if (e > worst) worst = e;
                if (e > 2e-6) bad++;
                if (fabs(got[k]) > maxabs) maxabs = fabs(got[k]);
            }
        }
    }
    CHECK(bad == 0, "Box-Muller: %zu of %zu draws differ from the exact transform by > 2e-6 (worst %.3g)", bad, n,
          worst);
    CHECK(maxabs <= 5.78, "largest |z| %.4f within sqrt(-2 ln 2^-24) = 5.77", maxabs);
    free(z);
}

static int dcmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void test_distribution(void)
{
    const size_t n = 4000000;
    float *z = malloc(n * sizeof *z);
    llc_gauss g;
    llc_gauss_seed(&g, 20261126);
    llc_gauss_fill(&g, z, n);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    size_t t3 = 0, t4 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = z[i], x2 = x * x;
        m1 += x, m2 += x2, m3 += x2 * x, m4 += x2 * x2;
        t3 += fabs(x) > 3, t4 += x > 4;
    }
    m1 /= n, m2 /= n, m3 /= n, m4 /= n;
    const double se = 1 / sqrt((double)n);
    CHECK(fabs(m1) < 5 * se, "mean %.2e within 5 se (%.2e)", m1, 5 * se);
    CHECK(fabs(m2 - 1) < 5 * sqrt(2.0) * se, "variance %.6f within 5 se of 1", m2);
    CHECK(fabs(m3) < 5 * sqrt(15.0) * se, "third moment %.2e within 5 se of 0", m3);
    CHECK(fabs(m4 - 3) < 5 * sqrt(96.0) * se, "fourth moment %.4f within 5 se of 3", m4);
    double p3 = 2 * gsl_cdf_ugaussian_Q(3), p4 = gsl_cdf_ugaussian_Q(4);
    CHECK(fabs(t3 - n * p3) < 5 * sqrt(n * p3), "P(|z| > 3): %zu draws, expected %.0f", t3, n * p3);
    CHECK(fabs(t4 - n * p4) < 5 * sqrt(n * p4) + 1, "P(z > 4): %zu draws, expected %.1f", t4, n * p4);

    /* correlations: neighbours (lag 1), the cos/sin pair of one lane (lag 8),
     * consecutive blocks of one lane (lag 16) */
    const int lags[] = {1, 2, 7, 8, 9, 16, 32};
    for (size_t k = 0; k < sizeof lags / sizeof *lags; k++) {
        double c = 0;
        for (size_t i = 0; i + lags[k] < n; i++) c += (double)z[i] * z[i + lags[k]];
        c /= (double)(n - lags[k]);
        CHECK(fabs(c) < 5 * se, "lag-%d correlation %.2e within 5 se", lags[k], c);
    }
    /* squares of the cos/sin pair: Box-Muller's two outputs are independent */
    double cc = 0;
    size_t np = 0;
    for (size_t i = 0; i + LLC_GAUSS_BLOCK <= n; i += LLC_GAUSS_BLOCK)
        for (int l = 0; l < LLC_GAUSS_LANES; l++, np++) {
            double a = z[i + l], b = z[i + LLC_GAUSS_LANES + l];
            cc += (a * a - 1) * (b * b - 1);
        }
    cc /= (double)np;
    CHECK(fabs(cc) < 5 * 2 / sqrt((double)np), "cos/sin pair: E[(a^2-1)(b^2-1)] = %.2e within 5 se", cc);

    /* Kolmogorov-Smirnov on the first 1e6 draws */
    const size_t m = 1000000;
    double *d = malloc(m * sizeof *d);
    for (size_t i = 0; i < m; i++) d[i] = z[i];
    qsort(d, m, sizeof *d, dcmp);
    double D = 0;
    for (size_t i = 0; i < m; i++) {
        double F = gsl_cdf_ugaussian_P(d[i]);
        D = fmax(D, fmax(F - (double)i / m, (double)(i + 1) / m - F));
    }
    CHECK(D * sqrt((double)m) < 1.95, "Kolmogorov-Smirnov sqrt(n) D = %.3f < 1.95 (p = 0.001)", D * sqrt((double)m));
    free(d);
    free(z);
}

static void test_determinism(void)
{
    enum { N = 1000 };
    float a[N], b[N], c[N];
    llc_gauss g1, g2, g3;
    llc_gauss_seed(&g1, 7);
    llc_gauss_seed(&g2, 7);
    llc_gauss_seed(&g3, 8);
    llc_gauss_fill(&g1, a, N);
    llc_gauss_fill(&g2, b, 16 * 10);
    llc_gauss_fill(&g2, b + 160, N - 160);
    llc_gauss_fill(&g3, c, N);
    CHECK(memcmp(a, b, sizeof a) == 0, "one request of %d equals requests of 160 + %d", N, N - 160);
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == c[i];
    CHECK(same == 0, "seeds 7 and 8 share no draw (%d equal)", same);
    /* a partial block discards its rest: 5 then 16 = draws 0..4 then 16..31 */
    llc_gauss_seed(&g1, 7);
    llc_gauss_fill(&g1, b, 5);
    llc_gauss_fill(&g1, b + 5, 16);
    CHECK(memcmp(b, a, 5 * sizeof *a) == 0 && memcmp(b + 5, a + 16, 16 * sizeof *a) == 0,
          "a partial request discards the rest of its block");
    /* pinned values: a change of the generator changes every SGLD result */
    llc_gauss_seed(&g1, 1);
    llc_gauss_fill(&g1, a, 16);
    printf("test_gauss: seed 1 first draws %.9g %.9g %.9g\n", a[0], a[1], a[8]);
}

int main(void)
{
    test_exact();
    test_distribution();
    test_determinism();
    return tu_finish("test_gauss");
}
