/* llc_estimate.h - the LLC estimator: chains of localised SGLD around w*
 * for one (model, w*, target group, task distribution), the estimate
 * lambda-hat with its diagnostics, the automatic step size and the
 * automatic chain lengths.
 *
 * ESTIMATE (llc/ESTIMATOR.md). Chain c runs
 * burnin + S SGLD steps (sgld/llc_sgld.h) from w*; S = draws*thin. The
 * minibatch loss computed BEFORE each update is recorded at sampling steps
 * 0, thin, 2*thin, ... (draws values: the chain's loss trace), and
 *     lambda_c = nbeta * (mean of the losses of ALL S sampling steps - L_n(w*))
 * (with thin = 1 this is the mean of the trace; with thin > 1 the steps in
 * between are used too, which lowers the variance at no cost).
 * llc_mean / llc_std = mean and sample std (n-1) of lambda_c over the chains
 * that did not diverge. L_n(w*) (init_loss) is the mean minibatch loss at w*
 * over init_batches batches of `batch` sequences, except for a finite
 * distribution of n <= init_batches*batch examples, where it is computed
 * exactly on one batch of all n (fill with B = n gives the whole set): a
 * sampled L_n(w*) carries an error nbeta*SE that can exceed lambda itself.
 * For a finite data set with batch >= n the SGLD batch is the whole set
 * (B = n, full-batch SGLD).
 *
 * PAIRED LOSSES (paired = -1, the default, turns them on exactly when the
 * SGLD loss is not exact, i.e. with minibatches). Each sampling step also
 * evaluates the loss at w* on the SAME batch (a forward pass, no gradient)
 * and
 *     lambda_c = nbeta * mean over the S sampling steps of (L_b(w_k) - L_b(w*)).
 * Its expectation is the same nbeta*(E L_n(w) - L_n(w*)), but the batch's
 * own difficulty cancels in the difference, so neither the minibatch noise
 * of the trace nor the sampling error of a 16-batch L_n(w*) enters lambda
 * (measured: linear regression n = 1000, batch 32, lambda 5: the classic
 * estimator gave -1.9 from the L_n(w*) error alone). Cost: one forward pass
 * per sampling step (about a third of a step). init_loss is still L_n(w*)
 * as above; the loss trace then holds L_b(w_k) - L_b(w*) + L_n(w*) per draw
 * (what lambda averages, at the level of L_n(w*), so trace plots, R-hat and
 * frac_below read it as a loss); paired = 0 gives the papers' classic
 * estimator.
 *
 * EXACT LOSS AND METROPOLIS. The SGLD loss is EXACT (L_m = L_n) for a full
 * batch, or when the model's loss does not depend on the batch at all (the
 * population losses of core/llc_gtmodels.h): detected by evaluating the loss
 * and gradient at a perturbed point w* + 0.01*max(rms(w*_V), 0.1)*z on the
 * first two L_n(w*) batches and finding them bit-identical. metropolis =
 * LLC_MH_AUTO (default) then turns on the Metropolis adjustment of every
 * step (MALA with a step-size ladder, llc_sgld.h): the chains sample the
 * localised tempered posterior exactly, with no step-size bias. Why this is
 * the default where it is possible: plain SGLD at a fixed eps cannot
 * equilibrate the gamma = 1 posterior of a singular model, whose valleys
 * and arms get stiffer without bound as the chain explores them, and where
 * eps*p > 4 it is unstable and OVERestimates (measured, DLN (10,20,20,10),
 * nbeta 8686, lambda 50: plain SGLD run to equilibrium gives ~100 at eps
 * 3e-6 and ~90 at 1e-6; (5,4,5), lambda 8: 12.0 / 11.5 / 10.0 / 8.7 / 8.15 at
 * eps 3e-4 / 1e-4 / 3e-5 / 1e-5 / 3e-6); short plain runs land anywhere
 * below that. With minibatches (every transformer estimate) and an
 * AUTOMATIC eps, LLC_MH_AUTO also turns it on: each step is then
 * Metropolis-adjusted on its own batch, the batch kept for sgld.block (2)
 * consecutive steps (llc_sgld.h: 1.5 forward+backward passes per step
 * instead of 2). That removes SGLD's discretisation bias, not the
 * minibatch-noise bias, so the plain-SGLD ladder below still bounds eps
 * (llc/MINIBATCH.md: accuracy and cost measured). With minibatches and a
 * GIVEN eps it stays off: plain SGLD as in the papers. LLC_MH_EXACT is the
 * earlier default (on iff the loss is exact); LLC_MH_ON forces it also at a
 * given eps.
 *
 * DATA AND STREAMS (bit-identical results whatever the thread count):
 *   chain c's rng:  llc_rng_new(llc_seed(seed, LLC_PURPOSE_SGLD, target_hash, c, 0))
 *   step k of chain c uses batch index  llc_seed(seed, LLC_PURPOSE_DATA, data_hash, c, k) >> 24
 *     (data_hash = target_hash unless set; `llc estimate` sets it per
 *     (checkpoint, data), so every target at a checkpoint sees the same
 *     batches: common random numbers, and with cfg->rt.pair_cache the paired
 *     L_b(w*) of a batch is computed once for all of them)
 *   L_n(w*) batch j uses batch index    llc_seed(seed, LLC_PURPOSE_DATA, 0, LLC_INIT_STREAM, j) >> 24
 *     (the same for every target and chain, so L_n(w*) of two targets at one
 *     checkpoint is the same number)
 * all of distribution cfg->dist of the task. The adaptive burn-in of the
 * Metropolis path is a separate phase: chain c's rng there is
 * llc_seed(seed, LLC_PURPOSE_SGLD, target_hash, c, 1) and its step k uses
 * batch index llc_seed(seed, LLC_PURPOSE_DATA, target_hash ^ 0x9e3779b97f4a7c15,
 * c, k) >> 24; the sampling phase then continues from the burn-in's end
 * point with the streams above. Pilot chains of the plain-SGLD step size use
 * target_hash' = llc_seed(target_hash, LLC_PURPOSE_SGLD, LLC_PILOT_STREAM,
 * rung, 0) in place of target_hash (rung 0, 1, ...), so they never share
 * noise with the final chains.
 *
 * THREADS: chains are spread over min(threads, chains) pthreads (chain c on
 * thread c mod T); each thread allocates its own sampler, model workspace
 * (m->ws_alloc) and batch (llc_task_batch_alloc) before its loop. The model
 * and task must be safe to share read-only (llc_model.h). When threads > 1
 * OpenBLAS is set to one thread for the duration of the call
 * (openblas_set_num_threads(1)) and restored afterwards, so the cores are
 * used by chains, not by BLAS; with threads = 1 BLAS threading is left as the
 * caller set it.
 *
 * NBETA: LLC_NBETA_GIVEN uses cfg->sgld.nbeta; LLC_NBETA_N_LOG_N uses n/log n with
 * n = n_examples of the task's "train" distribution (must be finite, n >= 2;
 * a population task reports its nominal n); LLC_NBETA_M_LOG_M uses m/log m
 * with m = the SGLD batch actually used (m >= 2). LLC_NBETA_DEFAULT = GIVEN
 * if cfg->sgld.nbeta > 0, else n/log n when "train" is finite, else m/log m. The
 * result records the value and the resolved mode.
 *
 * AUTOMATIC STEP SIZE (the default, cfg->sgld.eps == 0). The curvature h = the
 * largest |eigenvalue| of the Hessian of L_m at w* on the group (power
 * iteration, auto_power_iters, default 20, central finite-difference
 * Hessian-vector products on the first L_n(w*) batch); p = nbeta*h + gamma.
 *   Metropolis path: every chain's own burn-in adapts eps, starting at
 *   1/p (times rms_delta with RMSProp; at most 1): after each step whose
 *   ladder rung is 0, log eps += 0.02*(a - mh_target), a = that step's
 *   acceptance probability (mh_target default 0.7). The chain's adapted eps
 *   is the running mean of log eps over about the last fifth of its burn-in;
 *   eps = exp(mean of those over the chains), fixed for sampling (so the
 *   sampling chains are exact MCMC). Why adapt while moving: from w* the
 *   chain walks into ever stiffer regions; the curvature at w* (zero for a
 *   DLN at the origin) says nothing about them. With minibatches
 *   (Metropolis with an inexact loss: the default at an automatic eps) the
 *   plain-SGLD ladder below runs first (or rt.mh_cap gives its eps, chosen
 *   once per target in a sweep) and its eps both starts the adaptation and
 *   caps it, the target is mh_target_batch (0.85), and the burn-in also
 *   ends once the acceptance stays above the target at the cap: a larger
 *   eps would add minibatch noise that the Metropolis test on the batch
 *   cannot see. That burn-in runs first WITHOUT the step-size ladder; when
 *   its adapted eps stays above half the cap, no stiff region asked for a
 *   smaller step: it is the burn-in, and the sampling chains run without
 *   the step-size ladder too (the result's cfg.sgld.ladder is then 1; the
 *   reason says so). Else a burn-in with the ladder continues from its end
 *   points and adapted eps, and the sampling keeps the ladder. The chains
 *   keep each batch for sgld.block (2) steps (llc_sgld.h), and only a
 *   block's first step enters lambda-hat.
 *   Plain-SGLD path (inexact loss, or metropolis off; its pilots are always
 *   plain SGLD, also when they cap the Metropolis path above): a ladder. Rung 0
 *   has eps = eps0; a rung that fails on divergence or MALA is followed by
 *   one at eps/2, one that fails the agreement test by one at eps/4 (up to
 *   auto_max_rungs rungs), with eps0 = 4 *
 *   auto_bias_tol / p (SGLD's relative bias in a direction of precision p is
 *   (eps p/4)/(1 - eps p/4), llc/ESTIMATOR.md; auto_bias_tol default 0.02;
 *   times rms_delta with RMSProp; auto_eps_fallback 1e-4 if p is not finite
 *   and positive): pilot A, cfg->chains chains of the burn-in (below) +
 *   auto_pilot_draws steps at eps with MALA every auto_mala_every-th (2)
 *   step, FAILS if a chain diverged or the mean MALA acceptance is below
 *   auto_mala_target (0.9). Otherwise pilot B: the same at eps/4 for 4x the
 *   steps (equal simulated time). The rung PASSES when
 *       |lambda_A - lambda_B| <= max(auto_agree_tol * |lambda_B|, 3 se),
 *   se = sqrt(se_A^2 + se_B^2), se_X = (std over chains)/sqrt(chains)
 *   (auto_agree_tol default 0.05; 3 = auto_agree_se); the first passing rung gives eps. After a
 *   disagreement, pilot B of rung r is pilot A of rung r+1. Why halve on a
 *   MALA failure: the largest eps that passes is then found within a
 *   factor 2 (quartering cost up to 4x in every estimate's length). If no rung passes, eps = the smallest
 *   eps tried with no divergence (or the smallest tried), and the reason says
 *   so. The ESTIMATE then runs at that eps / auto_eps_divisor (default 4;
 *   the rung's pilot at eps/4 is the one that agreed), and at least
 *   auto_div_margin (2) below the smallest eps at which any pilot chain
 *   diverged. Why: SGLD's bias from discretisation and from minibatch
 *   gradient noise is about linear in eps, and the short pilots cannot
 *   resolve 5%: at the rung's own eps minibatch estimates came out well
 *   above the full-batch exact sampler on the same data (measurements in
 *   llc/MINIBATCH.md, checked by tests/unit/test_minibatch.c).
 *   auto_pilot_time > 0 makes the pilots span that simulated time and
 *   extend until precise (an alternative that was measured and not made
 *   the default).
 * The chosen eps, its reason, the curvature and (plain path) every rung are
 * returned in auto_eps.
 *
 * DIVERGENCE RETRIES (plain SGLD, given or automatic eps): when a chain of
 * the sampling run diverged, the run is repeated at eps/2, at most
 * diverge_retries (3) times; retries and eps_note say so (the note is also
 * appended to auto_eps.reason), and the result's eps is the last one.
 *
 * AUTOMATIC LENGTHS (the defaults burnin = -1, thin = 0), in SIMULATED TIME
 * (the sum over steps of eps_k times the step's acceptance probability; 1
 * without Metropolis) measured in units of 1/gamma (1 if gamma = 0), the
 * relaxation time of the directions only the localisation holds:
 *   burn-in: until the simulated time reaches auto_time_burnin (default 1)
 *     and at least 100 steps have run and, while adapting eps, the top
 *     rung's acceptance (running mean) is within 0.1 of mh_target; at most
 *     auto_max_steps/2 steps.
 *   draws: thin starts at ceil(auto_time_draws (default 2) / (eps * r *
 *     draws)), r = the simulated time per step per eps seen in the burn-in
 *     (the ladder's mean step), so the draws span that simulated time. Each
 *     chain then DOUBLES its sampling length (and thin; the trace is
 *     decimated to stay `draws` long and evenly spaced) until its
 *     batch-means standard error (32 batches) is at most sqrt(chains) *
 *     max(auto_rel_se * |lambda_c|, a) (auto_rel_se default 0.02, i.e.
 *     about 2% for the mean over chains; a = auto_abs_se = 0.05 for minibatch
 *     chains, so that a lambda near 0, e.g. a head at initialisation, does
 *     not ask for a precision below the minibatch noise; a = 0 for exact
 *     losses) or the sampling steps would exceed auto_max_steps/2
 *     or, with minibatches (inexact loss), auto_max_extend (8) times the
 *     first length. chain_thin records each chain's thin.
 * Why: a fixed number of steps is a different simulated time at every eps,
 * and too few leave the chains near w* (llc/ESTIMATOR.md). With a
 * given eps the same rules apply (no adaptation). Budget: at most
 * auto_max_steps (default 1e6) steps per chain; steps_capped says when it
 * bound. Explicit burnin >= 0 / thin >= 1 are used as given.
 *
 * Accuracy of the defaults against known lambda: llc/ESTIMATOR.md (checked by
 * tests/unit/test_accuracy.c and tests/unit/test_minibatch.c).
 */
#ifndef LLC_ESTIMATE_H
#define LLC_ESTIMATE_H

#include <signal.h>

#include "llc_model.h"
#include "llc_task.h"
#include "llc_sgld.h"

#define LLC_INIT_STREAM 0x696e69746c6f7373ULL  /* "initloss" */
#define LLC_PILOT_STREAM 0x70696c6f74657073ULL /* "piloteps" */
#define LLC_EPS_MAX_RUNGS 16
/* By default at most this many bytes of base records (llc_model.base_forward)
 * in one llc_pair_cache (llc_pair_cache_set_limit changes it): beyond it the
 * passes at w* are recomputed, same numbers. */
#define LLC_BASE_CACHE_BYTES ((size_t)1 << 30)
#define LLC_REASON_LEN 512

typedef enum {
    LLC_MH_AUTO = 0, /* Metropolis adjustment iff the SGLD loss is exact (full batch or population loss)
                        or the step size is automatic */
    LLC_MH_OFF,      /* plain SGLD */
    LLC_MH_ON,       /* always (with minibatches: a minibatch-posterior correction only) */
    LLC_MH_EXACT     /* iff the SGLD loss is exact (the default before minibatch Metropolis) */
} llc_mh_mode;

typedef enum {
    LLC_NBETA_DEFAULT = 0, /* given if nbeta > 0, else n/log n if "train" is finite, else m/log m */
    LLC_NBETA_GIVEN,
    LLC_NBETA_N_LOG_N,
    LLC_NBETA_M_LOG_M
} llc_nbeta_mode;

/* "default", "given", "n/log n", "m/log m". */
const char *llc_nbeta_mode_name(llc_nbeta_mode m);

/* How an estimate runs, not what it asks for: the ids of its random
 * streams, threads, the cache it shares with other estimates, the interrupt
 * flag. Set by the caller per estimate; never part of the stored settings.
 * Threads, the cache and the interrupt change no number. */
typedef struct {
    uint64_t target_hash;  /* id of (checkpoint, target, data) for the streams; 0 = llc_hash_str(group name) */
    uint64_t data_hash;    /* id of the sampling chains' batch stream; 0 = the target hash (DATA AND STREAMS) */
    struct llc_pair_cache *pair_cache; /* paired L_b(w*) shared by estimates at one w*, or NULL (not owned) */
    int pair_records;      /* keep base records in pair_cache for targets estimated after this one at the
                              same w*; 0 when none follows (saves their copies). Default 1 */
    int threads;           /* pthreads for chains, default 1 */
    const volatile sig_atomic_t *interrupt; /* polled before every SGLD step: nonzero stops the call with
                                               LLC_ERR_INTERRUPTED (nothing returned). NULL (default): never */
    double mh_cap;         /* Metropolis on minibatches, automatic eps: the plain ladder's eps chosen already
                              (a sweep's reference checkpoint) caps the adaptation instead of a new ladder
                              here; 0 (default): run the ladder */
    const char *mh_cap_reason; /* how mh_cap was chosen (goes into the reason), or NULL */
} llc_estimate_runtime;

/* What the user asks for (llc estimate's settings JSON: llc_estimate_settings.h),
 * the sampler's own parameters embedded, and the run-time context. */
typedef struct {
    /* the sampler (llc_sgld.h). eps: 0 = automatic (llc_eps_auto), default 0;
     * gamma default 1 (the ground-truth models' convention; llc estimate sets
     * 100 for transformers); nbeta: used by LLC_NBETA_GIVEN / DEFAULT when > 0,
     * default 0; ladder (Metropolis step-size ladder rungs) default 4; block
     * (Metropolis on minibatches: steps per batch) default 2; the others at
     * llc_sgld_params_default. ref_loss, metropolis and exact_loss
     * are set by the estimate (L_n(w*), the resolved metropolis mode, the
     * exact-loss check); mala_every is the MALA diagnostic of the final chains. */
    llc_sgld_params sgld;
    llc_nbeta_mode nbeta_mode; /* default LLC_NBETA_DEFAULT */
    int diverge_retries;   /* plain SGLD: rerun at eps/2 when a chain diverged, at most this often. Default 3 */
    /* chains */
    int chains;            /* default 4 */
    int draws;             /* default 200 */
    int burnin;            /* steps; -1 = automatic (default) */
    int thin;              /* 0 = automatic (default) */
    int metropolis;        /* llc_mh_mode, default LLC_MH_AUTO */
    double mh_target;      /* MH acceptance the adaptive step size aims at, default 0.7 */
    double mh_target_batch; /* the same with minibatches (metropolis on, inexact loss), default 0.85 */
    double auto_time_burnin; /* automatic burn-in: simulated time in units of 1/gamma, default 1 */
    double auto_time_draws;  /* automatic thin: simulated time of the draws in units of 1/gamma, default 2 */
    long auto_max_steps;     /* automatic lengths: at most this many steps per chain
                                (half burn-in, half draws), default 1e6 */
    double auto_rel_se;      /* automatic thin: target relative standard error of lambda-hat, default 0.02 */
    double auto_abs_se;      /* automatic thin, minibatch chains: absolute floor of that target, default 0.05 */
    int auto_max_extend;     /* automatic thin, minibatch chains: at most this many times the first length, default 8 */
    int paired;              /* -1 auto (on iff the loss is not exact), 0 off, 1 on: see PAIRED LOSSES */
    int batch;             /* SGLD minibatch (sequences), default 32 */
    int init_batches;      /* batches averaged for L_n(w*), default 16 */
    int dist;              /* task distribution for gradients and L_n (data-refined LLC), default 0
                              (stored by name beside the settings, not in them) */
    uint64_t seed;         /* default 0 */
    /* automatic step size */
    double auto_bias_tol;     /* 0.02 */
    double auto_mala_target;  /* 0.9 */
    int auto_mala_every;      /* 2 */
    double auto_agree_tol;    /* 0.05 */
    double auto_agree_se;     /* agreement also within this many standard errors, 3 */
    double auto_div_margin;   /* chosen eps at least this factor below any eps where a pilot diverged, 2 */
    double auto_pilot_time;   /* > 0: pilot draws span this simulated time (units of 1/gamma) and extend
                                 until precise; 0 (default) = auto_pilot_draws steps at thin 1 */
    double auto_eps_divisor;  /* the estimate runs at the passing rung's eps / this, 4 (1 = the rung itself) */
    int auto_pilot_draws;     /* 100 */
    int auto_max_rungs;       /* 10 (<= LLC_EPS_MAX_RUNGS) */
    int auto_power_iters;     /* 20 */
    double auto_eps_fallback; /* 1e-4 */
    llc_estimate_runtime rt;  /* how it runs (not a setting) */
} llc_estimate_config;

void llc_estimate_config_default(llc_estimate_config *c);

/* Paired losses L_b(w*) of the sampling chains' batches, kept by (chain,
 * step) so that estimates of several targets at one checkpoint with the same
 * data_hash compute each only once; with them the model's base records of
 * those passes (llc_model.base_forward, up to LLC_BASE_CACHE_BYTES), from
 * which the steps of a target of one layer's heads skip the frozen part of the
 * model (burn-in steps included: their passes at w* are computed and kept by
 * the first such target); and L_n(w*), the same for every target at one w*.
 * The cache keys itself on w* (a hash of its bytes), the data stream, seed,
 * distribution, batch size and model: an
 * estimate with another key clears it first, so a stale value is never used.
 * Results are bit-identical with and without it. Not thread-safe across
 * concurrent llc_estimate calls (one call's chains use disjoint entries). */
typedef struct llc_pair_cache llc_pair_cache;
llc_pair_cache *llc_pair_cache_new(void);
void llc_pair_cache_free(llc_pair_cache *pc);
/* Keep at most bytes of base records (default LLC_BASE_CACHE_BYTES; 0 = none):
 * beyond them the passes at w* are recomputed; no number changes. */
void llc_pair_cache_set_limit(llc_pair_cache *pc, size_t bytes);
/* Lookups answered from the cache and losses computed, since creation. */
void llc_pair_cache_stats(const llc_pair_cache *pc, long *hits, long *misses);
/* Range checks; the message names the field and the allowed range. */
int llc_estimate_config_check(const llc_estimate_config *c, char *err);

/* One rung of the automatic step-size ladder. */
typedef struct {
    double eps;
    double llc, se;      /* pilot A at eps: mean and standard error over chains */
    double mala;         /* pilot A's mean MALA acceptance */
    int n_diverged;      /* pilot A's diverged chains */
    double llc_quarter, se_quarter; /* pilot B at eps/4 (NaN if not run) */
    int passed;
} llc_eps_rung;

typedef struct {
    double eps;          /* the chosen step size */
    char reason[LLC_REASON_LEN];
    double curvature;    /* h: top |eigenvalue| of the Hessian of L_m at w* on the group (NaN if unavailable) */
    double precision;    /* p = nbeta*h + gamma */
    double eps0;         /* the first rung */
    int n_rungs;
    llc_eps_rung rung[LLC_EPS_MAX_RUNGS];
    double seconds;
} llc_eps_auto_result;

/* Self-consistency of a minibatch estimate (llc_estimate_check_bias): the
 * same estimate with the SGLD batch quadrupled, and with eps halved. */
typedef struct {
    int done;               /* 1 once run */
    double llc, se;         /* the estimate checked: mean, standard error over chains */
    double llc_batch, se_batch; /* batch x4 (same eps) */
    double llc_half, se_half;   /* eps / 2 (same batch) */
    int batch;              /* the quadrupled batch actually used */
    double nbeta;           /* of both runs (r's) */
    double eps_half;
    double abs_tol;         /* the absolute tolerance: cfg's auto_abs_se, the resolution of lambda-hat */
    long steps, steps_batch, steps_half; /* sampling steps (sum over chains) of r and of the two runs */
    long burnin, burnin_batch, burnin_half; /* longest burn-in (steps) of r and of the two runs */
    int pass_batch, pass_half, pass; /* |moved| <= max(5%, 2 se, abs_tol) for each; pass = both */
} llc_bias_check;

typedef struct {
    /* settings actually used (everything needed to reproduce and store) */
    llc_estimate_config cfg;    /* copy of the config, with eps, nbeta, target_hash filled in */
    double eps;                 /* the step size of the chains (after any retries) */
    int eps_auto;               /* 1 if eps was chosen by llc_eps_auto */
    int retries;                /* reruns at eps/2 after diverged chains (diverge_retries) */
    char eps_note[LLC_REASON_LEN]; /* what the retries did ("" if none); appended to auto_eps.reason */
    llc_eps_auto_result auto_eps; /* valid when eps_auto */
    double nbeta;
    llc_nbeta_mode nbeta_mode;  /* resolved: GIVEN, N_LOG_N or M_LOG_M */
    long nbeta_n;               /* the n (or m) in n/log n (m/log m); 0 for GIVEN */
    int batch_used;             /* SGLD batch B actually used */
    int full_batch;             /* 1 if B = the whole finite data set */
    int init_batches_used;
    int init_exact;             /* 1 if L_n(w*) is exact over the whole finite set */
    long n_examples;            /* of distribution dist, 0 = unbounded */
    /* results */
    double init_loss;           /* L_n(w*) */
    double llc_mean, llc_std;   /* over non-diverged chains (NaN if none / std NaN if < 2) */
    int chains, draws;
    int n_diverged;
    const char *status;         /* "ok" or "diverged" (static string) */
    double *chain_llc;          /* (chains) lambda_c; NaN for a diverged chain */
    int *chain_diverged;        /* (chains) 1 if diverged */
    long *chain_diverged_at;    /* (chains) step of divergence, -1 if none */
    double *chain_mala;         /* (chains) mean MALA acceptance, NaN if MALA off */
    double *trace;              /* (chains, draws) minibatch losses before each recorded update (paired: L_b(w_k) -
                                   L_b(w*) + L_n(w*)); NaN after divergence */
    int metropolis;             /* 1 if the chains were Metropolis-adjusted */
    int exact_loss;             /* 1 if the SGLD loss was found exact (full batch or batch-independent) */
    int paired;                 /* 1 if lambda_c came from paired differences L_b(w_k) - L_b(w*) */
    long burnin;                /* longest burn-in run (steps) */
    long *chain_burnin;         /* (chains) burn-in steps each chain ran */
    long thin;                  /* largest thin used */
    long *chain_thin;           /* (chains) thin of each chain (automatic thin doubles per chain) */
    double sim_time;            /* simulated time of the sampling steps (sum of eps_k * acceptance), mean over chains */
    int steps_capped;           /* 1 if auto_max_steps stopped an automatic length (a burn-in before its
                                   simulated time, draws before the precision target) */
    double accept_rate;         /* Metropolis: fraction of accepted proposals while sampling (NaN if off) */
    double frac_below;          /* fraction of recorded draws (non-diverged chains) with loss < init_loss */
    double rhat;                /* split-R-hat of the loss traces of non-diverged chains (NaN if undefined) */
    double mala_accept;         /* mean MALA acceptance over all evaluations, NaN if MALA off */
    double seconds;             /* wall time of the whole call */
    llc_bias_check bias;        /* filled by llc_estimate_check_bias (done = 0 otherwise) */
} llc_estimate_result;

/* Estimate the LLC of model m at w_star (n_params floats) over group g
 * (NULL = the whole model) with data from task distribution cfg->dist.
 * m, w_star, g, task are borrowed. On LLC_OK *out is a new result owned by
 * the caller (free with llc_estimate_result_free). Diverged chains are not an
 * error: they are reported in the result (status "diverged"). Errors:
 * LLC_ERR_INVALID (bad config, message in err), LLC_ERR_NOMEM, model/task
 * errors. */
int llc_estimate(const llc_model *m, const float *w_star, const llc_group *g,
                 const llc_task *task, const llc_estimate_config *cfg,
                 llc_estimate_result **out, char *err);
void llc_estimate_result_free(llc_estimate_result *r);

/* Re-estimate r (made by llc_estimate with these arguments) with the SGLD
 * batch quadrupled at r's eps, and with r's eps halved at its batch (same
 * seed and streams, r's nbeta, no pair cache, r's sampler), each chain as
 * long as r's in simulated time, burn-in and sampling (r's steps; twice
 * them at eps/2), so that only the batch resp. eps differs. Fills r->bias:
 * each passes when lambda-hat moves by at most max(5% of |lambda-hat|, 2
 * combined standard errors, cfg->auto_abs_se): the last is the absolute
 * resolution the automatic lengths aim for, a floor for a lambda-hat near
 * 0. Minibatch noise and step-size bias both shrink under these changes,
 * so a large move means the estimate carries either. Costs about 4x + 2x
 * the sampling of r (the batch x4 run: 4x per step). */
int llc_estimate_check_bias(const llc_model *m, const float *w_star, const llc_group *g, const llc_task *task,
                            const llc_estimate_config *cfg, llc_estimate_result *r, char *err);
/* The bias check's criterion: 1 when |b - a| <= max(5% of |a|, 2 sqrt(se_a^2
 * + se_b^2), abs_tol) (a NaN se counts as 0), 0 otherwise or if a or b is
 * not finite. */
int llc_bias_check_pass(double a, double se_a, double b, double se_b, double abs_tol);

/* The automatic step size alone (see the header comment), for the same
 * arguments; cfg->sgld.eps is ignored. Fills *out (caller-owned struct). */
int llc_eps_auto(const llc_model *m, const float *w_star, const llc_group *g,
                 const llc_task *task, const llc_estimate_config *cfg,
                 llc_eps_auto_result *out, char *err);

/* *metropolis = 1 if llc_estimate with these arguments would take the
 * Metropolis path with an exact loss (adaptive eps inside the estimate), 2
 * the Metropolis path on minibatches (the plain ladder's eps caps that
 * adaptation: rt.mh_cap), 0 the plain-SGLD path (whose automatic eps is the
 * pilot ladder). Costs the L_n(w*) batches and two loss evaluations. */
int llc_estimate_uses_metropolis(const llc_model *m, const float *w_star, const llc_group *g,
                                 const llc_task *task, const llc_estimate_config *cfg, int *metropolis,
                                 char *err);

/* Split-R-hat (Gelman et al., BDA3 §11.4) of C chains of N values each
 * (x is (C, N) row-major); each chain is split in halves. NaN if C*2 < 2,
 * N < 4, or the within-chain variance is 0. */
double llc_split_rhat(const double *x, int C, int N);

#endif
