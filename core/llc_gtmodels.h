/* llc_gtmodels.h - the ground-truth models: models whose learning coefficient
 * is known in closed form (llc/ESTIMATOR.md), behind the ordinary llc_model
 * interface so SGLD and the estimator see them exactly like a transformer.
 *
 *   "linreg"  f(x) = w·x                       d weights, tensor "w" (d)        λ = d/2
 *   "dln"     f(x) = A_L⋯A_1·x (no biases)     tensors "A1".."AL", A_l (H_l, H_{l-1})   λ by Aoyagi
 *   "poly"    f(x) = x·Π_j w_j^{k_j}           tensor "w" (n_k)                 λ = min 1/(2k_j)
 *             or the locality model f(x) = x·(w₁ − 1)(w₁² + w₂²)², tensor "w" (2)
 *
 * Batches: T = 1 (one position per sequence), x (B,1,d_in), y (B,1,d_out),
 * mask (B,1); poly has d_in = d_out = 1, linreg d_out = 1.
 *
 * Loss (all three): the mask-weighted mean over samples of the SQUARED ERROR
 * SUMMED over output dimensions, with NO factor ½:
 *     L = Σ_b mask_b ‖y_b − f(x_b)‖² / Σ_b mask_b      (0 if Σ mask = 0)
 * so that for linreg L_n(w) − L_n(ŵ) = (w − ŵ)ᵀ Σ̂ (w − ŵ) with Σ̂ = XᵀX/n exactly,
 * the convention of the exact linear-regression formulas. Losses are accumulated in double; the
 * gradient is analytic (linreg and poly in double, dln with cblas_sgemm on the
 * float32 activations, following the row-major convention of llc_model.h:
 * Z_l = Z_{l-1} · A_lᵀ).
 *
 * Groups: every model has "model" and one group per tensor name; dln also has
 * "layer l" (1-based, = tensor "Al"); poly also has "w1".."wn" (one coordinate).
 *
 * Init: small Gaussian, deterministic from the rng, parameters in table order:
 * linreg and poly N(0, LLC_GT_INIT_STD²); dln A_l ~ N(0, (LLC_GT_DLN_INIT_GAIN²/H_{l-1})).
 *
 * POPULATION LOSS (dln, poly; llc_dln_set_population / llc_poly_set_population):
 * the expectation of the loss above over the data distribution of the
 * regression tasks (tasks/llc_regress.h), in closed form, with no data:
 *   dln   x ~ N(0, I_{H_0}), y = T·x + noise·N(0, I_{H_L}):
 *             L(w) = ‖A_L⋯A_1 − T‖_F² + H_L·noise²
 *         gradient dL/dA_l = (A_L⋯A_{l+1})ᵀ·2(A_L⋯A_1 − T)·(A_{l−1}⋯A_1)ᵀ, by
 *         float32 sgemm on the prefix products (about 3·Σ_l H_l·H_{l−1}·H_0
 *         multiply-adds per call, independent of the batch);
 *   poly  x ~ N(0, s²), y = noise·N(0, 1):  L(w) = s²·g(w)² + noise²
 *         (f = x·g(w)), gradient 2s²·g·∇g.
 * In population mode loss_grad still validates the batch's shape (T, widths,
 * B <= max_B) but reads none of its values: every call returns the same
 * exact number for the same w. The constant noise² term cancels in
 * L(w) − L(w*). This is what the LLC is defined on (K(w) is the population
 * excess loss), so an estimate at nβ = t targets the perfect-sampler value
 * at t with neither data-set fluctuation nor minibatch noise.
 *
 * Workspaces from ws_alloc are sized for max_B sequences; loss_grad does not
 * allocate. A batch with T != 1, other widths, missing x/y/mask or B > max_B
 * gives LLC_ERR_INVALID.
 */
#ifndef LLC_GTMODELS_H
#define LLC_GTMODELS_H

#include "llc_model.h"

#define LLC_GT_INIT_STD 0.1      /* linreg/poly init std */
#define LLC_GT_DLN_INIT_GAIN 0.5 /* dln init std = gain / sqrt(fan_in) */
#define LLC_GT_MAX_LAYERS 64     /* dln: at most this many layers (65 widths) */
#define LLC_GT_MAX_K 64          /* poly: at most this many monomial factors */

typedef enum {
    LLC_POLY_MONOMIAL = 0, /* f = x·Π_j w_j^{k_j} */
    LLC_POLY_LOCALITY = 1  /* f = x·(w₁ − 1)(w₁² + w₂²)² */
} llc_poly_form;

/* Each constructor validates its arguments (LLC_ERR_INVALID with a message
 * in err) and on success stores a new model in *out, owned by the caller
 * (llc_model_free). */

/* d >= 1 weights. */
int llc_linreg_new(int d, llc_model **out, char *err);

/* widths H_0 (input) .. H_L (output), n_widths = L + 1 >= 2, each >= 1. The
 * widths are copied. */
int llc_dln_new(const int *widths, int n_widths, llc_model **out, char *err);

/* form MONOMIAL: exponents k[0..n_k-1], each >= 0, n_k in [1, LLC_GT_MAX_K]
 * (copied). form LOCALITY: k must be NULL / n_k = 0 (two parameters). */
int llc_poly_new(llc_poly_form form, const int *k, int n_k, llc_model **out, char *err);

/* Switch a dln model to its population loss with teacher end-to-end map
 * target (H_L, H_0) row-major (copied) and label noise std noise >= 0.
 * Call before any ws_alloc (the workspace size depends on the mode).
 * LLC_ERR_INVALID if m is not a dln or the arguments are bad. */
int llc_dln_set_population(llc_model *m, const float *target, double noise, char *err);

/* Switch a poly model to its population loss for x ~ N(0, s²) (s > 0) and
 * label noise std noise >= 0. LLC_ERR_INVALID if m is not a poly model. */
int llc_poly_set_population(llc_model *m, double s, double noise, char *err);

/* 1 if m is a dln or poly model in population mode, else 0. */
int llc_gt_is_population(const llc_model *m);

/* The widths of a dln model (pointer into the model, valid while it lives)
 * and their number; NULL if m is not a dln. */
const int *llc_dln_widths(const llc_model *m, int *n_widths);

#endif
