/* llc_theory.h - the learning coefficients of the ground-truth models in
 * closed form (formulas in llc/ESTIMATOR.md), for tests and for `llc check` to compare
 * estimates with. Pure functions, no allocation.
 */
#ifndef LLC_THEORY_H
#define LLC_THEORY_H

/* Deep linear network with widths H_0 (input) .. H_L (output), n_widths =
 * L + 1 >= 2, each >= 1, whose true end-to-end matrix has rank `rank`
 * (0 <= rank <= min H): Aoyagi's λ and multiplicity m (Neural Networks 172,
 * 2024) by an integer-exact search (llc/ESTIMATOR.md). Returns LLC_OK, or
 * LLC_ERR_INVALID with a message in err (may be NULL). */
int llc_theory_dln(const int *widths, int n_widths, int rank, double *lambda, int *mult, char *err);

/* Regular linear regression with d >= 1 weights: λ = d/2, m = 1. */
int llc_theory_linreg(int d, double *lambda, int *mult);

/* Normal crossing K(w) = Π_j w_j^{2k_j} (f = x·Π_j w_j^{k_j}), k_j >= 0 with
 * at least one k_j > 0: λ = min over k_j > 0 of 1/(2k_j), m = the number of j
 * attaining it (coordinates with k_j = 0 are free and add nothing).
 * LLC_ERR_INVALID if n < 1, a k_j < 0 or all k_j = 0. */
int llc_theory_poly(const int *k, int n, double *lambda, int *mult);

/* The locality model f = x(w₁ − 1)(w₁² + w₂²)²: λ = 1/4 (m = 1) at the
 * origin (at_line = 0), 1/2 (m = 1) at any point of the line w₁ = 1
 * (at_line = 1), where only the factor (w₁ − 1) vanishes. */
void llc_theory_poly_locality(int at_line, double *lambda, int *mult);

/* The exact expected estimate E[λ̂] = nβ·(E[L_n(w)] − L_n(ŵ)) for linear
 * regression centred at the least-squares fit ŵ, at finite t = nβ with
 * localisation strength gamma, given the eigenvalues eigs[0..d-1] of
 * Σ̂ = XᵀX/n (loss without a ½). With p_i = 2t·a_i + γ:
 *   eps = 0 (a perfect sampler):     Σ_i t·a_i / p_i
 *   eps > 0 (full-batch SGLD, step eps, Δw = −(ε/2)(nβ∇L + γ(w − w*)) + N(0, εI)):
 *                                    Σ_i t·a_i / (p_i·(1 − ε·p_i/4))
 * Returns +INFINITY when the chain diverges (ε·p_i >= 4 for some i), NAN
 * for invalid arguments (d < 1, t < 0, gamma < 0, eps < 0). */
double llc_theory_linreg_sgld(const double *eigs, int d, double t, double gamma, double eps);

/* λ and m of a regression task (tasks/llc_regress.h) at its teacher
 * llc_regress_teacher: linreg d/2; dln Aoyagi at the task's rank; poly the
 * monomial rule, or the locality values for its center. LLC_ERR_INVALID
 * with a message if t is not a regression task. */
struct llc_task;
int llc_theory_task(const struct llc_task *t, double *lambda, int *mult, char *err);

#endif
