/* theory.c - closed-form learning coefficients of the ground-truth models;
 * see llc_theory.h and llc/ESTIMATOR.md. */
#include "llc_theory.h"
#include "llc_common.h"
#include "llc_regress.h"

#include <math.h>
#include <stdlib.h>

#define THEORY_MAX_WIDTHS 1024

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int llc_theory_dln(const int *widths, int n_widths, int rank, double *lambda, int *mult, char *err)
{
    long long M[THEORY_MAX_WIDTHS];
    if (!widths || n_widths < 2 || n_widths > THEORY_MAX_WIDTHS)
        return llc_fail(err, LLC_ERR_INVALID, "theory dln: need 2 to %d widths, got %d", THEORY_MAX_WIDTHS,
                        n_widths);
    if (rank < 0) return llc_fail(err, LLC_ERR_INVALID, "theory dln: rank must be >= 0, got %d", rank);
    for (int s = 0; s < n_widths; s++) {
        if (widths[s] < 1)
            return llc_fail(err, LLC_ERR_INVALID, "theory dln: width %d must be >= 1, got %d", s, widths[s]);
        if (widths[s] < rank)
            return llc_fail(err, LLC_ERR_INVALID, "theory dln: rank %d exceeds width %d (= %d)", rank, s,
                            widths[s]);
        M[s] = (long long)widths[s] - rank;
    }
    const long long r = rank, H0 = widths[0], HL = widths[n_widths - 1];
    const int L = n_widths - 1;
    qsort(M, (size_t)n_widths, sizeof M[0], cmp_ll);
    /* S = the k smallest M, ℓ = k - 1; the first k that passes (i)-(iii). */
    for (int k = 2; k <= L + 1; k++) {
        long long l = k - 1, T = 0, sq = 0;
        for (int i = 0; i < k; i++) {
            T += M[i];
            sq += M[i] * M[i];
        }
        if (k <= L && M[k - 1] == M[k]) continue;   /* (i): would split a tie */
        if (T < l * M[k - 1]) continue;              /* (ii) */
        if (k <= L && !(T < l * M[k])) continue;     /* (iii) */
        long long Mbar = (T + l - 1) / l;            /* ⌈T/ℓ⌉, T >= 0 */
        long long a = T - (Mbar - 1) * l;
        long long P = (T * T - sq) / 2;              /* Σ_{i<j∈S} M_i M_j, exact */
        long long num = 4 * l * (r * (H0 + HL) - r * r) + 2 * a * (l - a) - 2 * (l - 1) * T * T + 4 * l * P;
        *lambda = (double)num / (double)(8 * l);
        *mult = (int)(a * (l - a) + 1);
        return LLC_OK;
    }
    return llc_fail(err, LLC_ERR_INVALID, "theory dln: no index set satisfies Aoyagi's conditions");
}

int llc_theory_linreg(int d, double *lambda, int *mult)
{
    if (d < 1) return LLC_ERR_INVALID;
    *lambda = d / 2.0;
    *mult = 1;
    return LLC_OK;
}

int llc_theory_poly(const int *k, int n, double *lambda, int *mult)
{
    if (!k || n < 1) return LLC_ERR_INVALID;
    int kmax = 0, count = 0;
    for (int j = 0; j < n; j++) {
        if (k[j] < 0) return LLC_ERR_INVALID;
        if (k[j] > kmax) {
            kmax = k[j];
            count = 1;
        } else if (k[j] == kmax && kmax > 0) {
            count++;
        }
    }
    if (kmax == 0) return LLC_ERR_INVALID;
    *lambda = 1.0 / (2.0 * kmax);
    *mult = count;
    return LLC_OK;
}

void llc_theory_poly_locality(int at_line, double *lambda, int *mult)
{
    *lambda = at_line ? 0.5 : 0.25;
    *mult = 1;
}

double llc_theory_linreg_sgld(const double *eigs, int d, double t, double gamma, double eps)
{
    if (!eigs || d < 1 || !(t >= 0) || !(gamma >= 0) || !(eps >= 0)) return NAN;
    double sum = 0;
    for (int i = 0; i < d; i++) {
        double p = 2.0 * t * eigs[i] + gamma;
        if (!(p > 0)) return INFINITY; /* a flat direction, no localisation: improper */
        double shrink = 1.0 - eps * p / 4.0;
        if (shrink <= 0) return INFINITY;
        sum += t * eigs[i] / (p * shrink);
    }
    return sum;
}

int llc_theory_task(const llc_task *t, double *lambda, int *mult, char *err)
{
    llc_regress_info in;
    int rc = llc_regress_get_info(t, &in, err);
    if (rc) return rc;
    if (in.kind == LLC_REGRESS_LINREG) return llc_theory_linreg(in.d, lambda, mult);
    if (in.kind == LLC_REGRESS_DLN) return llc_theory_dln(in.widths, in.n_widths, in.rank, lambda, mult, err);
    if (in.form == LLC_POLY_LOCALITY) {
        llc_theory_poly_locality(in.center_line, lambda, mult);
        return LLC_OK;
    }
    rc = llc_theory_poly(in.k, in.n_k, lambda, mult);
    if (rc) return llc_fail(err, rc, "theory poly: exponents k must be >= 0 with one > 0");
    return LLC_OK;
}
