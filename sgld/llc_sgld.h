/* llc_sgld.h - localised, tempered SGLD over a parameter group (the sampler
 * behind every LLC estimate). No I/O, no threads, no allocation in the step.
 *
 * GSL style, the loop belongs to the caller:
 *
 *     llc_sgld *s = llc_sgld_alloc(n_params);
 *     llc_sgld_reset(s, w_star, group, &params);
 *     for (k = 0; k < steps; k++) {
 *         task->fill(task, dist, index_k, batch);
 *         rc = llc_sgld_step(s, model, ws, batch, rng, &loss);   // loss at w BEFORE the update
 *         if (rc == LLC_ERR_NUMERIC) break;                      // chain diverged
 *     }
 *     llc_sgld_free(s);
 *
 * The target (llc/ESTIMATOR.md) is the localised,
 * tempered posterior over the group V:
 *     log pi(w) = -nb * L(w) - (gamma/2) * ||w_V - w*_V||^2,     nb = n*beta,
 * with every weight outside V frozen at w*. Only V's indices are ever
 * written; every other weight of the chain stays BIT-IDENTICAL to w*.
 *
 * Update, for each index i of V, with g = grad L_m(w) on the step's
 * minibatch (computed in float32 by the model; the plain update in float32,
 * the RMSProp update in double):
 *
 *   plain (LLC_PRECOND_NONE):
 *     w_i <- w_i - (eps/2) * (nb*g_i + gamma*(w_i - w*_i)) + sqrt(eps) * xi_i
 *   RMSProp (LLC_PRECOND_RMSPROP; devinterp's RMSpropPreconditioner, Li et
 *   al. 2016 pSGLD without the correction term, Hitchcock & Hoogland 2025):
 *     V_i  <- alpha*V_i + (1 - alpha)*g_i^2        (V = 0 at reset; g is the
 *                                                  RAW loss gradient, not nb*g)
 *     G_i   = 1 / (sqrt(V_i) + delta)              (V_i updated first, then used)
 *     w_i <- w_i - (eps/2) * G_i * (nb*g_i + gamma*(w_i - w*_i)) + sqrt(eps*G_i) * xi_i
 *   xi_i ~ N(0,1) i.i.d. from the chain's own noise generator (llc_gauss.h:
 *   8-lane xoshiro128+ and Box-Muller, 4-9x faster than GSL's ziggurat),
 *   seeded from two gsl_rng_get() draws of the caller's rng at the first step
 *   after reset. Per step it fills each range of the group in increasing index
 *   order, in chunks of 1024; a chunk's unused tail of a 16-draw block is
 *   discarded (llc_sgld_noise replays it).
 *
 * MALA diagnostic (mala_every = k > 0): on steps k, 2k, 3k, ... (1-based)
 * the step also evaluates the loss and gradient at the proposal w' on the
 * SAME minibatch and accumulates the Metropolis-adjusted acceptance
 * probability  a = min(1, exp(log pi(w') - log pi(w) + log q(w|w') - log q(w'|w))),
 * with log pi using that minibatch loss L_m and the proposal density
 * q(x'|x) = N(x'; x - (eps/2) G (nb grad L_m(x) + gamma (x - w*)), eps G),
 * G = 1 for plain SGLD. For RMSProp, G is this step's preconditioner in both
 * directions (the "frozen preconditioner" approximation: the exact reverse
 * move would use V updated with the gradient at w'). The proposal is always
 * kept (never rejected), as devinterp's MALA callback does: it measures how
 * far the discretisation is from an exact sampler. A MALA step costs a second
 * forward+backward. The proposal's non-finite loss counts as a = 0.
 *
 * METROPOLIS ADJUSTMENT (metropolis = 1; MALA, Roberts & Tweedie 1996): every
 * step is the update above used as a PROPOSAL w', evaluated on the same batch,
 * and accepted with the probability a above (one uniform from the caller's
 * rng after the Gaussians, accept iff u < a); a rejected step leaves w where
 * it was (loss_before of the next step is the same point again). With an
 * exact loss (full batch or a population loss, which make L_m = L_n) the
 * chain then samples the localised tempered posterior EXACTLY, with no
 * step-size bias, at any stable eps; with minibatches it is only the
 * minibatch-posterior correction. With exact_loss = 1 the loss and gradient
 * of an accepted proposal are reused at the next step, so a Metropolis step
 * costs one forward+backward like a plain one (exact_loss = 0: two; with
 * batch blocks, below, (K+1)/K).
 * mala_every is ignored (every step is adjusted; its acceptance
 * probabilities go into the MALA statistics). With RMSProp the acceptance
 * uses the frozen-preconditioner approximation, so the correction is then
 * approximate.
 *   Step-size LADDER (ladder = K > 1, Metropolis only): each step first draws
 * a rung r uniformly from {0, ..., K-1} (one uniform from the rng, before the
 * Gaussians) and makes the Metropolis-adjusted step above with eps_r =
 * eps / ladder_ratio^r. Each rung is an exact MALA kernel, so their random
 * mixture is exact too; it lets a chain enter and cross regions of the
 * posterior far stiffer than eps allows (the arms of K = w1^2 w2^2, the
 * valleys of deep linear networks), which a single fixed eps effectively
 * never visits (measured: (w1 w2)^2 at nbeta 1086, perfect sampler 0.391;
 * one eps tuned to acceptance 0.6-0.9: 0.34-0.37; 4 rungs of ratio 4: 0.396).
 * Without metropolis the ladder is ignored.
 *   Batch BLOCKS (block = K > 1, Metropolis only): the caller passes the
 * same batch to K consecutive steps, steps iK .. iK+K-1 counted from reset
 * (it fills a new batch only when steps % K == 0). Within a block the loss
 * and gradient at the current point on that batch are the ones the previous
 * step computed (at its accepted proposal, or kept on a rejection), so a
 * step costs one forward+backward, plus one at each batch change: (K+1)/K
 * per step instead of 2. Each block is K steps of an exact MALA kernel for
 * its batch's posterior. Without metropolis (or with exact_loss, where it
 * changes nothing) block is ignored.
 *
 * Divergence: the loss L_m(w) computed at the start of a step marks the chain
 * diverged (the update is not applied, the step returns LLC_ERR_NUMERIC, and
 * every later step returns LLC_ERR_NUMERIC at once) when it is NaN or +-inf,
 * or when
 *     L_m(w) > ref + diverge_factor * max(1, |ref|, d_V / (2 nb)),
 * ref = params.ref_loss (L_n(w*); if NaN, the first step's loss). The scale
 * max(1, |ref|, d_V/(2nb)) is the largest of: an absolute unit, the loss's own
 * magnitude, and the largest excess loss a chain sampling a regular model
 * correctly could show (lambda <= d_V/2, so E[L - L(w*)] <= d_V/(2 nb));
 * a loss diverge_factor (default 10) such scales above the reference cannot
 * be a sample of the local posterior.
 */
#ifndef LLC_SGLD_H
#define LLC_SGLD_H

#include "llc_model.h"
#include "llc_gauss.h"

typedef enum {
    LLC_PRECOND_NONE = 0,   /* plain SGLD */
    LLC_PRECOND_RMSPROP = 1 /* RMSProp-preconditioned SGLD */
} llc_precond;

/* "sgld" (plain) / "rmsprop"; NULL for an unknown value. */
const char *llc_precond_name(llc_precond p);
/* Parse "none"/"plain"/"sgld" or "rmsprop"; -1 if unknown. */
int llc_precond_parse(const char *s);

/* Sampler hyperparameters (plain struct, copied by reset). */
typedef struct {
    double eps;            /* step size epsilon (> 0); the noise variance is eps */
    double gamma;          /* localisation strength (>= 0) */
    double nbeta;          /* inverse temperature n*beta (> 0) */
    llc_precond precond;   /* default LLC_PRECOND_NONE */
    double rms_alpha;      /* RMSProp decay, [0,1), default 0.99 */
    double rms_delta;      /* RMSProp stabiliser, > 0, default 0.1 (devinterp) */
    int mala_every;        /* MALA diagnostic every k-th step, 0 = off (default) */
    double ref_loss;       /* L_n(w*) for the divergence rule; NaN (default) = first loss */
    double diverge_factor; /* divergence threshold factor (> 0), default 10 */
    int metropolis;        /* 1: Metropolis-adjusted (MALA) steps, see above; default 0 */
    int exact_loss;        /* 1: the loss does not depend on the batch (full batch, population loss); default 0 */
    int ladder;            /* metropolis: step-size ladder of this many rungs (see above), default 1 */
    double ladder_ratio;   /* metropolis: ratio between rungs (> 1), default 4 */
    int block;             /* metropolis: the caller keeps each batch for this many steps (see above), default 1 */
} llc_sgld_params;

/* Steps each batch serves under p: block with Metropolis on minibatches
 * (metropolis = 1, exact_loss = 0), else 1. Batch BLOCKS above: the caller
 * fills a new batch exactly when steps % this == 0. */
int llc_sgld_steps_per_batch(const llc_sgld_params *p);

#define LLC_SGLD_MAX_BLOCK 64

#define LLC_SGLD_MAX_LADDER 16

/* Defaults as documented above; eps, gamma, nbeta set to 0 (must be given). */
void llc_sgld_params_default(llc_sgld_params *p);

typedef struct llc_sgld llc_sgld;

/* State for a model of n_params weights: the chain's weights and a gradient
 * buffer. Returns NULL on OOM. Caller owns it; free with llc_sgld_free. */
llc_sgld *llc_sgld_alloc(size_t n_params);
void llc_sgld_free(llc_sgld *s);

/* Start a chain at w_star: copies w_star (n_params floats) into the chain's
 * weights, zeroes the RMSProp state and the statistics. w_star and g are
 * BORROWED: both must stay valid and unchanged until the next reset or free.
 * g must be normalised (sorted, non-overlapping ranges inside n_params) and
 * non-empty. Allocates the buffers the chosen options need (RMSProp state,
 * MALA buffers) the first time they are needed, never in step.
 * LLC_ERR_INVALID (message in err) for bad parameters or group. */
int llc_sgld_reset(llc_sgld *s, const float *w_star, const llc_group *g,
                   const llc_sgld_params *p, char *err);
/* The same, but the chain starts at w_start (n_params floats, copied; NULL =
 * w_star) instead of w_star; the localisation stays centred at w_star. Used
 * to continue a chain after a burn-in phase (RMSProp state and statistics
 * start afresh). */
int llc_sgld_reset_at(llc_sgld *s, const float *w_start, const float *w_star, const llc_group *g,
                      const llc_sgld_params *p, char *err);

/* Change the step size of a reset chain (step-size adaptation during a
 * burn-in). LLC_ERR_INVALID unless eps is finite and > 0. */
int llc_sgld_set_eps(llc_sgld *s, double eps);

/* One SGLD update on batch b. ws is the model workspace (m->ws_alloc with
 * max_B >= b->B), rng the chain's stream. *loss_before (if not NULL) gets
 * the minibatch loss L_m(w) at the weights BEFORE the update.
 * Returns LLC_OK; LLC_ERR_NUMERIC if the chain diverged (this step or
 * earlier; the weights are then left as they were before the step);
 * LLC_ERR_INVALID if reset was not called; or the model's error code. */
int llc_sgld_step(llc_sgld *s, const llc_model *m, void *ws, const llc_batch *b,
                  gsl_rng *rng, double *loss_before);

/* The chain's current weights (n_params floats, owned by s). */
const float *llc_sgld_weights(const llc_sgld *s);

/* The chain's noise generator as it stands (for replaying a step in tests);
 * NULL before the first step after reset, when it is not yet seeded. */
const llc_gauss *llc_sgld_noise(const llc_sgld *s);

typedef struct {
    long steps;          /* updates applied since reset */
    int diverged;        /* 1 once divergence was detected */
    long diverged_at;    /* 0-based step index of the divergence, -1 if none */
    double diverge_loss; /* the loss that triggered it (NaN if none) */
    double threshold;    /* current divergence threshold on L_m (NaN before the first step without ref_loss) */
    long mala_n;         /* MALA evaluations so far */
    double mala_sum;     /* sum of their acceptance probabilities */
    double mala_last;    /* the last one (NaN if none) */
    long accepted;       /* metropolis: proposals accepted */
    int last_rung;       /* metropolis ladder: the rung of the last step (0 = eps itself) */
    double last_eps;     /* the step size of the last step */
} llc_sgld_stats;

void llc_sgld_get_stats(const llc_sgld *s, llc_sgld_stats *st);

#endif
