/* llc_results.h - estimates in the store: one row per (run, step, target,
 * data, requested settings), per-chain rows with loss traces, and the
 * `curves` view (schema v2, columns added in v3, see core/store.c).
 *
 *   estimates(id, run, step, target, data, settings, sampler, eps, eps_auto,
 *     eps_reason, gamma, nbeta, nbeta_mode, chains, draws, burnin, thin, batch,
 *     init_batches, seed, n_params, init_loss, llc_mean, llc_std, status,
 *     n_diverged, frac_below, rhat, mala_accept, diagnostics, seconds, created,
 *     version, metropolis, accept_rate, exact_loss, paired, sim_time,
 *     steps_capped)
 *   estimate_chains(estimate, chain, llc, diverged, diverged_at, mala, trace,
 *     burnin, thin)
 *     trace: the chain's loss trace, little-endian float64 (draws values)
 *   curves(run, target, data, step, llc_mean, llc_std): the newest 'ok'
 *     estimate per (run, target, data, step)
 *
 * `settings` is the canonical JSON of the settings the user ASKED for
 * (eps "auto" stays "auto"); re-running with the same settings finds the
 * row and skips it. Each estimate and its chains are written in ONE
 * transaction, so a killed process leaves no half-written estimate.
 */
#ifndef LLC_RESULTS_H
#define LLC_RESULTS_H

#include "llc_store.h"
#include "llc_estimate.h"

/* LLC_OK and *id if an estimate with exactly these keys exists,
 * LLC_ERR_NOTFOUND if not (or if its row only records a failure). */
int llc_results_find(llc_store *s, const char *run, long long step, const char *target,
                     const char *data, const char *settings, long long *id);

/* Write one estimate (replacing an existing row with the same keys when
 * replace = 1; otherwise an existing row is left alone and LLC_ERR_EXISTS
 * returned). n_params = size of the target group. */
int llc_results_put(llc_store *s, const char *run, long long step, const char *target,
                    const char *data, const char *settings, long long n_params,
                    const llc_estimate_result *r, int replace, long long *id);

/* Status of a row that records why an estimate could not be made: its
 * checkpoint is unusable (damaged BLOB, NaN/inf parameters). Such a row has
 * no llc_mean and no chains, is never a curves point, is not found by
 * llc_results_find (a re-run tries again) and is replaced by any put. */
#define LLC_RESULTS_BAD_CHECKPOINT "bad_checkpoint"

/* Record that failure with its message (in diagnostics as {"error": ...}),
 * replacing any row with the same keys. */
int llc_results_put_failure(llc_store *s, const char *run, long long step, const char *target,
                            const char *data, const char *settings, const char *message);

typedef struct {
    char target[64], data[64];
    long long step;
    double llc_mean, llc_std;
    int chains; /* of that estimate (llc_std is the spread over them) */
} llc_curve_point;

/* 1 if an estimate lies significantly below 0: mean + 2·std/sqrt(chains) < 0.
 * λ is never negative; a λ̂ within noise of 0 below it is sampling noise
 * around λ ≈ 0 (e.g. heads at initialisation), one significantly below says
 * the chains found lower loss near w*: w* is not a local minimum (an early
 * checkpoint), or the step size or γ let the chains drift away. */
int llc_results_negative(double llc_mean, double llc_std, int chains);

/* Points of the curves view for a run, optionally filtered by target/data
 * (NULL = all), ordered by target, data, step. *out malloc'd. */
int llc_results_curves(llc_store *s, const char *run, const char *target, const char *data,
                       llc_curve_point **out, int *n);

/* Estimates of a run whose status is not 'ok' (their chains diverged):
 * stored, but not in the curves view. */
int llc_results_count_failed(llc_store *s, const char *run, long long *n);

/* The per-chain λ̂ of estimate id, ordered by chain (NAN where NULL).
 * *llc malloc'd (NULL when *n = 0). */
int llc_results_chain_llcs(llc_store *s, long long id, double **llc, int *n);

/* Totals over every estimate of a run: distinct steps, rows, distinct
 * targets, and the seconds spent on the model and on the other targets. */
typedef struct {
    int steps, estimates, targets;
    double seconds_model, seconds_other;
} llc_results_totals;
int llc_results_run_totals(llc_store *s, const char *run, llc_results_totals *out);

/* One stored estimate as the baseline needs it (NAN where NULL). */
typedef struct {
    char target[64], data[64], status[32];
    char *settings; /* owned; freed by llc_results_rows_free */
    long long step;
    double llc_mean, llc_std, eps, nbeta, burnin, thin;
} llc_estimate_row;
void llc_results_rows_free(llc_estimate_row *rows, int n);

/* The estimate behind every point of the curves view (LLC_SQL_NEWEST_OK),
 * ordered by target, data, settings, step. */
int llc_results_newest_ok(llc_store *s, const char *run, llc_estimate_row **out, int *n);

/* Every estimate of the point (run, target, data, step), whatever its
 * status or settings, newest first. */
int llc_results_point(llc_store *s, const char *run, const char *target, const char *data, long long step,
                      llc_estimate_row **out, int *n);

#endif
