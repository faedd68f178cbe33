/* llc_regress.h - the regression tasks behind the ground-truth models
 * (core/llc_gtmodels.h, llc/ESTIMATOR.md): "linreg", "dln" and "poly".
 *
 * Each task is a FIXED finite data set: n samples per distribution ("train"
 * and an independent "test"), generated once at construction from
 * llc_seed(seed, LLC_PURPOSE_SPLIT, dist, 0, 0); n_examples(dist) = n.
 * Batches have T = 1, x (B,1,d_in), y (B,1,d_out), mask = 1.
 *   fill with b->B == n   the whole data set, in order (full batch; any index)
 *   fill with b->B != n   batch `index` = positions [index·B, (index+1)·B) of the
 *                         endless stream of epochs, epoch e being a pseudo-random
 *                         permutation of the n samples keyed by
 *                         llc_seed(seed, LLC_PURPOSE_DATA, dist, e, 0); O(B)
 *                         per batch, stateless and thread-safe, any 64-bit index.
 * ... unless population is true (dln, poly): then there is NO data set. The
 * model built by llc_regress_make_model computes the POPULATION loss, the
 * expectation of its loss over the task's data distribution in closed form
 * (core/llc_gtmodels.h: dln ‖A_L⋯A_1 − A*‖_F² + H_L·noise², poly
 * s²·g(w)² + noise²); every fill returns B rows of zeros with mask 1, which
 * that model validates but does not read. n is then NOMINAL: it only sets
 * n_examples(dist) = n and hence the estimator's default nβ = n/log n. This
 * is the setting the known λ refers to (K(w) is the population excess loss):
 * no data-set fluctuation of L_n around K and no minibatch noise, so nβ can
 * be large without a large data set, and the loss is exact, which lets the
 * estimator use its Metropolis-adjusted sampler (llc/llc_estimate.h).
 *
 * Settings (unknown keys and bad values rejected, naming the key):
 *   linreg  n (1000), d (10), noise (1), w0 (1)
 *           x ~ N(0, I_d); y = w_true·x + noise·N(0,1), w_true ~ N(0, w0²·I_d)
 *           drawn from llc_seed(seed, LLC_PURPOSE_TASK, 0, 0, 0). n >= d.
 *   dln     widths ([5,4,5], H_0 input .. H_L output, 2..65 entries), rank (0),
 *           n (1000; population: 100000), noise (0), population (false)
 *           x ~ N(0, I); y = A*_L⋯A*_1·x + noise·N(0, I), every teacher layer
 *           A*_l = Σ_{i<rank} e_i e_iᵀ (exactly rank r; rank 0: all zero).
 *           noise defaults to 0: then the teacher is an exact minimiser of L_n
 *           (L_n(w*) = 0) and λ̂ targets Aoyagi's λ without the O(sqrt(λ/log n))
 *           data fluctuation that label noise adds (WBIC); set noise > 0 to
 *           study that effect.
 *           Why n = 1e5 with population: at nβ = n/log n = 8686 a perfect
 *           sampler is within about 1% of Aoyagi's λ for the m = 1 cases but
 *           (3,3,3,3) (-4%), while a larger n costs proportionally more steps
 *           (the stiffest directions scale with nβ, the slowest relax at the
 *           rate set by gamma).
 *   poly    k ([1,2]: f = x·w₁·w₂², K = w₁²w₂⁴), form ("monomial" | "locality"),
 *           center ("origin" | "line", "line" only with form locality),
 *           n (1000), s (1), noise (1), population (false)
 *           x ~ N(0, s²); y = noise·N(0,1) (the true function is 0). "k" is
 *           rejected with form locality. n stays 1000 with population: the
 *           perfect-sampler values are known at n = 1e3 and 1e4, so the tests
 *           name n explicitly.
 *
 * Note on noise (linreg, poly): the teacher of poly (the origin, or (1, 0.5))
 * is a minimiser of the POPULATION loss only; with noise > 0 and finite n an
 * estimate centred there fluctuates around λ by O(sqrt(λ/(2 log n))) from
 * seed to seed. Linreg avoids this exactly by centring at the least-squares
 * fit. For the tightest comparison with the perfect-sampler values,
 * use population: true (or noise 0, or average over seeds).
 */
#ifndef LLC_REGRESS_H
#define LLC_REGRESS_H

#include "llc_tasks.h"
#include "llc_json.h"
#include "llc_gtmodels.h"

/* Constructors behind llc_task_new (task_impl.h style): fill in *t (zeroed,
 * name and seed set by the caller) from settings (may be NULL). */
int llc_task_linreg_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_dln_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_poly_init(const cJSON *settings, llc_task *t, char *err);

typedef enum { LLC_REGRESS_LINREG = 0, LLC_REGRESS_DLN, LLC_REGRESS_POLY } llc_regress_kind;

/* The settings of a regression task, defaults filled in (a plain copy). */
typedef struct {
    llc_regress_kind kind;
    long n;
    double noise;
    int d;       /* linreg: weights */
    double w0;   /* linreg: teacher scale */
    int n_widths;                      /* dln */
    int widths[LLC_GT_MAX_LAYERS + 1]; /* dln: H_0 .. H_L */
    int rank;                          /* dln */
    int population;                    /* dln, poly: population loss, no data */
    llc_poly_form form;                /* poly */
    int center_line;                   /* poly locality: 1 = centred at (1, 0.5) */
    int n_k;                           /* poly monomial */
    int k[LLC_GT_MAX_K];               /* poly monomial */
    double s;                          /* poly: std of x */
} llc_regress_info;

/* 1 if t is one of the three regression tasks, else 0. */
int llc_regress_is(const llc_task *t);

/* Copy t's settings into *info. LLC_ERR_INVALID (message in err) if t is not
 * a regression task. */
int llc_regress_get_info(const llc_task *t, llc_regress_info *info, char *err);

/* The model matching this task (linreg d, dln widths, poly k / form); the
 * caller owns *out (llc_model_free). */
int llc_regress_make_model(const llc_task *t, llc_model **out, char *err);

/* The true parameter w* to centre an LLC estimate at, as n_params floats in
 * the layout of llc_regress_make_model's model:
 *   linreg  the LEAST-SQUARES FIT ŵ of the train set (not the generating
 *           weights), so that L_n(w) − L_n(ŵ) = (w − ŵ)ᵀΣ̂(w − ŵ) exactly and
 *           the finite-nβ formulas (llc_theory.h) apply
 *   dln     the rank-r teacher (every layer Σ_{i<r} e_i e_iᵀ; r = 0: zeros)
 *   poly    the origin; form locality: (0,0) for center "origin",
 *           (1, 0.5) for center "line"
 * LLC_ERR_INVALID if t is not a regression task or n_params does not match. */
int llc_regress_teacher(const llc_task *t, float *w, size_t n_params, char *err);

/* linreg only: the d eigenvalues of Σ̂ = XᵀX/n of the train set, ascending,
 * into eigs (d doubles). LLC_ERR_INVALID for another task. */
int llc_regress_covariance_eigs(const llc_task *t, double *eigs);

#endif
