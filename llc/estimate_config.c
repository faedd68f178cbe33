/* estimate_config.c - the estimator's settings: defaults and range checks
 * (llc_estimate_config in llc_estimate.h says what each one means). */
#include "estimate_impl.h"

#include <math.h>
#include <string.h>

static const char *const nbeta_names[] = {"default", "given", "n/log n", "m/log m"};

const char *llc_nbeta_mode_name(llc_nbeta_mode m)
{
    if ((int)m < 0 || (int)m > 3) return "unknown";
    return nbeta_names[m];
}

void llc_estimate_config_default(llc_estimate_config *c)
{
    memset(c, 0, sizeof *c);
    llc_sgld_params_default(&c->sgld); /* precond, rms_alpha, rms_delta, mala_every, diverge_factor, ladder_ratio */
    c->sgld.eps = 0;
    c->sgld.gamma = 1.0;
    c->sgld.nbeta = 0;
    c->sgld.ladder = 4;
    c->sgld.block = 2;
    c->nbeta_mode = LLC_NBETA_DEFAULT;
    c->diverge_retries = 3;
    c->chains = 4;
    c->draws = 200;
    c->burnin = -1;
    c->thin = 0;
    c->metropolis = LLC_MH_AUTO;
    c->mh_target = 0.7;
    c->mh_target_batch = 0.85;
    c->auto_time_burnin = 1.0;
    c->auto_time_draws = 2.0;
    c->auto_max_steps = 1000000;
    c->auto_rel_se = 0.02;
    c->auto_abs_se = 0.05;
    c->auto_max_extend = 8;
    c->paired = -1;
    c->batch = 32;
    c->init_batches = 16;
    c->dist = 0;
    c->seed = 0;
    c->rt.target_hash = 0;
    c->rt.data_hash = 0;
    c->rt.pair_cache = NULL;
    c->rt.pair_records = 1;
    c->rt.threads = 1;
    c->auto_bias_tol = 0.02;
    c->auto_mala_target = 0.9;
    c->auto_mala_every = 2;
    c->auto_agree_tol = 0.05;
    c->auto_agree_se = 3.0;
    c->auto_div_margin = 2.0;
    c->auto_pilot_time = 0.0;
    c->auto_eps_divisor = 4.0;
    c->auto_pilot_draws = 100;
    c->auto_max_rungs = 10;
    c->auto_power_iters = 20;
    c->auto_eps_fallback = 1e-4;
}

int llc_estimate_config_check(const llc_estimate_config *c, char *err)
{
    if (!c) return llc_fail(err, LLC_ERR_INVALID, "estimate: NULL config");
    if (!(c->sgld.eps >= 0) || !isfinite(c->sgld.eps))
        return llc_fail(err, LLC_ERR_INVALID, "eps must be finite and >= 0 (0 = automatic), got %g", c->sgld.eps);
    if (!(c->sgld.gamma >= 0) || !isfinite(c->sgld.gamma))
        return llc_fail(err, LLC_ERR_INVALID, "gamma must be finite and >= 0, got %g", c->sgld.gamma);
    if (!(c->sgld.nbeta >= 0) || !isfinite(c->sgld.nbeta))
        return llc_fail(err, LLC_ERR_INVALID, "nbeta must be finite and >= 0, got %g", c->sgld.nbeta);
    if ((int)c->nbeta_mode < 0 || (int)c->nbeta_mode > 3)
        return llc_fail(err, LLC_ERR_INVALID, "unknown nbeta mode %d", (int)c->nbeta_mode);
    if (c->nbeta_mode == LLC_NBETA_GIVEN && !(c->sgld.nbeta > 0))
        return llc_fail(err, LLC_ERR_INVALID, "nbeta mode 'given' needs nbeta > 0");
    if (c->sgld.precond != LLC_PRECOND_NONE && c->sgld.precond != LLC_PRECOND_RMSPROP)
        return llc_fail(err, LLC_ERR_INVALID, "unknown preconditioner %d", (int)c->sgld.precond);
    if (!(c->sgld.rms_alpha >= 0 && c->sgld.rms_alpha < 1))
        return llc_fail(err, LLC_ERR_INVALID, "rms_alpha must be in [0, 1), got %g", c->sgld.rms_alpha);
    if (!(c->sgld.rms_delta > 0) || !isfinite(c->sgld.rms_delta))
        return llc_fail(err, LLC_ERR_INVALID, "rms_delta must be finite and > 0, got %g", c->sgld.rms_delta);
    if (c->sgld.mala_every < 0)
        return llc_fail(err, LLC_ERR_INVALID, "mala_every must be >= 0, got %d", c->sgld.mala_every);
    if (!(c->sgld.diverge_factor > 0))
        return llc_fail(err, LLC_ERR_INVALID, "diverge_factor must be > 0, got %g", c->sgld.diverge_factor);
    if (c->diverge_retries < 0 || c->diverge_retries > 30)
        return llc_fail(err, LLC_ERR_INVALID, "diverge_retries must be in [0, 30], got %d", c->diverge_retries);
    if (c->chains < 1 || c->chains > 100000)
        return llc_fail(err, LLC_ERR_INVALID, "chains must be in [1, 100000], got %d", c->chains);
    if (c->draws < 1)
        return llc_fail(err, LLC_ERR_INVALID, "draws must be >= 1, got %d", c->draws);
    if (c->burnin < -1)
        return llc_fail(err, LLC_ERR_INVALID, "burnin must be >= 0 (or -1 = automatic), got %d", c->burnin);
    if (c->thin < 0)
        return llc_fail(err, LLC_ERR_INVALID, "thin must be >= 1 (or 0 = automatic), got %d", c->thin);
    if (c->metropolis != LLC_MH_AUTO && c->metropolis != LLC_MH_OFF && c->metropolis != LLC_MH_ON &&
        c->metropolis != LLC_MH_EXACT)
        return llc_fail(err, LLC_ERR_INVALID, "metropolis must be auto, off, on or exact, got %d", (int)c->metropolis);
    if (!(c->mh_target > 0 && c->mh_target < 1))
        return llc_fail(err, LLC_ERR_INVALID, "mh_target must be in (0, 1), got %g", c->mh_target);
    if (!(c->mh_target_batch > 0 && c->mh_target_batch < 1))
        return llc_fail(err, LLC_ERR_INVALID, "mh_target_batch must be in (0, 1), got %g", c->mh_target_batch);
    if (c->sgld.ladder < 1 || c->sgld.ladder > LLC_SGLD_MAX_LADDER)
        return llc_fail(err, LLC_ERR_INVALID, "ladder (Metropolis step-size rungs) must be in [1, %d], got %d",
                        LLC_SGLD_MAX_LADDER, c->sgld.ladder);
    if (c->sgld.block < 1 || c->sgld.block > LLC_SGLD_MAX_BLOCK)
        return llc_fail(err, LLC_ERR_INVALID, "mh_block (Metropolis steps per batch) must be in [1, %d], got %d",
                        LLC_SGLD_MAX_BLOCK, c->sgld.block);
    if (!(c->sgld.ladder_ratio > 1) || !isfinite(c->sgld.ladder_ratio))
        return llc_fail(err, LLC_ERR_INVALID, "ladder_ratio must be finite and > 1, got %g", c->sgld.ladder_ratio);
    if (!(c->auto_time_burnin >= 0) || !isfinite(c->auto_time_burnin))
        return llc_fail(err, LLC_ERR_INVALID, "auto_time_burnin must be finite and >= 0, got %g", c->auto_time_burnin);
    if (!(c->auto_time_draws > 0) || !isfinite(c->auto_time_draws))
        return llc_fail(err, LLC_ERR_INVALID, "auto_time_draws must be finite and > 0, got %g", c->auto_time_draws);
    if (c->rt.pair_records < 0 || c->rt.pair_records > 1)
        return llc_fail(err, LLC_ERR_INVALID, "pair_records must be 0 or 1, got %d", c->rt.pair_records);
    if (c->paired < -1 || c->paired > 1)
        return llc_fail(err, LLC_ERR_INVALID, "paired must be -1 (auto), 0 or 1, got %d", c->paired);
    if (!(c->auto_abs_se >= 0) || !isfinite(c->auto_abs_se))
        return llc_fail(err, LLC_ERR_INVALID, "auto_abs_se must be finite and >= 0, got %g", c->auto_abs_se);
    if (c->auto_max_extend < 1)
        return llc_fail(err, LLC_ERR_INVALID, "auto_max_extend must be >= 1, got %d", c->auto_max_extend);
    if (!(c->auto_rel_se > 0) || !isfinite(c->auto_rel_se))
        return llc_fail(err, LLC_ERR_INVALID, "auto_rel_se must be finite and > 0, got %g", c->auto_rel_se);
    if (c->auto_max_steps < 2L * c->draws || c->auto_max_steps < 2 * LLC_BURN_MIN)
        return llc_fail(err, LLC_ERR_INVALID, "auto_max_steps must be >= max(2*draws, %d), got %ld",
                        2 * LLC_BURN_MIN, c->auto_max_steps);
    if ((double)c->burnin + (double)c->draws * (double)(c->thin > 0 ? c->thin : 1) > 1e12)
        return llc_fail(err, LLC_ERR_INVALID, "burnin + draws*thin must be <= 1e12");
    if (c->batch < 1)
        return llc_fail(err, LLC_ERR_INVALID, "batch must be >= 1, got %d", c->batch);
    if (c->init_batches < 1)
        return llc_fail(err, LLC_ERR_INVALID, "init_batches must be >= 1, got %d", c->init_batches);
    if (c->rt.threads < 1 || c->rt.threads > 1024)
        return llc_fail(err, LLC_ERR_INVALID, "threads must be in [1, 1024], got %d", c->rt.threads);
    if (!(c->auto_bias_tol > 0 && c->auto_bias_tol < 1))
        return llc_fail(err, LLC_ERR_INVALID, "auto_bias_tol must be in (0, 1), got %g", c->auto_bias_tol);
    if (!(c->auto_mala_target >= 0 && c->auto_mala_target <= 1))
        return llc_fail(err, LLC_ERR_INVALID, "auto_mala_target must be in [0, 1], got %g", c->auto_mala_target);
    if (c->auto_mala_every < 0)
        return llc_fail(err, LLC_ERR_INVALID, "auto_mala_every must be >= 0, got %d", c->auto_mala_every);
    if (!(c->auto_agree_tol > 0))
        return llc_fail(err, LLC_ERR_INVALID, "auto_agree_tol must be > 0, got %g", c->auto_agree_tol);
    if (!(c->auto_agree_se >= 0) || !isfinite(c->auto_agree_se))
        return llc_fail(err, LLC_ERR_INVALID, "auto_agree_se must be finite and >= 0, got %g", c->auto_agree_se);
    if (!(c->auto_div_margin >= 1) || !isfinite(c->auto_div_margin))
        return llc_fail(err, LLC_ERR_INVALID, "auto_div_margin must be finite and >= 1, got %g", c->auto_div_margin);
    if (!(c->auto_eps_divisor >= 1) || !isfinite(c->auto_eps_divisor))
        return llc_fail(err, LLC_ERR_INVALID, "auto_eps_divisor must be finite and >= 1, got %g", c->auto_eps_divisor);
    if (!(c->auto_pilot_time >= 0) || !isfinite(c->auto_pilot_time))
        return llc_fail(err, LLC_ERR_INVALID, "auto_pilot_time must be finite and >= 0, got %g", c->auto_pilot_time);
    if (c->auto_pilot_draws < 4)
        return llc_fail(err, LLC_ERR_INVALID, "auto_pilot_draws must be >= 4, got %d", c->auto_pilot_draws);
    if (c->auto_max_rungs < 1 || c->auto_max_rungs > LLC_EPS_MAX_RUNGS)
        return llc_fail(err, LLC_ERR_INVALID, "auto_max_rungs must be in [1, %d], got %d", LLC_EPS_MAX_RUNGS,
                        c->auto_max_rungs);
    if (c->auto_power_iters < 1)
        return llc_fail(err, LLC_ERR_INVALID, "auto_power_iters must be >= 1, got %d", c->auto_power_iters);
    if (!(c->auto_eps_fallback > 0) || !isfinite(c->auto_eps_fallback))
        return llc_fail(err, LLC_ERR_INVALID, "auto_eps_fallback must be finite and > 0, got %g",
                        c->auto_eps_fallback);
    return LLC_OK;
}
