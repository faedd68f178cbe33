/* estimate.c - the LLC estimator's driver: the estimate (automatic step
 * size, sampling chains with divergence retries, lambda-hat with its
 * diagnostics), the bias check and split-R-hat. The contract (streams,
 * nbeta modes, the algorithms and why) is in llc_estimate.h; the parts are
 * in estimate_config.c, estimate_prep.c, estimate_chain.c, estimate_eps.c
 * and estimate_pairs.c. */
#include "estimate_impl.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- diagnostics ---------------- */

int llc_estimate_uses_metropolis(const llc_model *m, const float *w_star, const llc_group *g,
                                 const llc_task *task, const llc_estimate_config *cfg, int *metropolis,
                                 char *err)
{
    prep p;
    int rc = est_prepare(&p, m, w_star, g, task, cfg, err);
    if (!rc && metropolis) *metropolis = p.metropolis ? (p.exact_loss ? 1 : 2) : 0;
    est_prep_free(&p);
    return rc;
}

double llc_split_rhat(const double *x, int C, int N)
{
    int h = N / 2, M = 2 * C;
    if (C < 1 || h < 2 || M < 2) return NAN;
    double mm = 0, W = 0, Bv = 0;
    double *means = malloc((size_t)M * sizeof *means);
    if (!means) return NAN;
    for (int c = 0; c < C; c++)
        for (int half = 0; half < 2; half++) {
            const double *y = x + (size_t)c * N + (half ? (size_t)(N - h) : 0);
            double s = 0;
            for (int i = 0; i < h; i++) s += y[i];
            double mu = s / h, v = 0;
            for (int i = 0; i < h; i++) v += (y[i] - mu) * (y[i] - mu);
            means[2 * c + half] = mu;
            mm += mu;
            W += v / (h - 1);
        }
    mm /= M;
    W /= M;
    for (int k = 0; k < M; k++) Bv += (means[k] - mm) * (means[k] - mm);
    Bv *= (double)h / (M - 1);
    free(means);
    if (!(W > 0)) return NAN;
    double var = (double)(h - 1) / h * W + Bv / h;
    return sqrt(var / W);
}

/* ---------------- the estimate ---------------- */

void llc_estimate_result_free(llc_estimate_result *r)
{
    if (!r) return;
    free(r->chain_llc);
    free(r->chain_diverged);
    free(r->chain_diverged_at);
    free(r->chain_mala);
    free(r->trace);
    free(r->chain_burnin);
    free(r->chain_thin);
    free(r);
}

/* Each chain's burn-in and thin (lens: 2 x chains) for chains at eps that
 * run as long as those of estimate like in simulated time: like's steps
 * scaled by like->eps / eps, thin a multiple of the batch block K. */
static void like_lengths(const llc_estimate_result *like, double eps, long K, long *lens)
{
    const double f = like->eps / eps;
    for (int c = 0; c < like->chains; c++) {
        long b = llround((double)like->chain_burnin[c] * f), t = llround((double)like->chain_thin[c] * f);
        if (t < 1) t = 1;
        if (t % K) t += K - t % K;
        lens[c] = b;
        lens[like->chains + c] = t;
    }
}

/* The sampling chains of an estimate at eps (job j, set up and run; the
 * caller frees it): automatic thin and lengths as documented in the header,
 * or (like_lens, 2 x chains) those of another estimate (like_lengths). */
static int sample_job(chain_job *j, const prep *p, double eps, long burnin, double burn_time, float *start,
                      double rate_est, int ladder, const llc_estimate_result *like, long *like_lens, char *err)
{
    const llc_estimate_config *cfg = p->cfg;
    const llc_model *m = p->m;
    const long half_max = cfg->auto_max_steps / 2;
    int thin = cfg->thin;
    if (thin <= 0) {
        double want = ceil(cfg->auto_time_draws * p->time_unit / (eps * rate_est * (double)cfg->draws));
        double cap = floor((double)half_max / (double)cfg->draws);
        if (!(want <= cap)) want = cap;
        thin = want < 1 ? 1 : (int)want;
    }
    est_job_setup(j, p, eps, burnin, cfg->draws, thin, cfg->sgld.mala_every, p->hash);
    /* batch blocks: the draws are the blocks' first steps (estimate_chain.c) */
    const long K = llc_sgld_steps_per_batch(&j->sp);
    if (j->thin % K) j->thin += (int)(K - j->thin % K);
    thin = j->thin;
    j->sp.ladder = ladder;
    j->dstream = p->data_hash;
    if (p->paired && cfg->rt.pair_cache) {
        /* key: w* (its bytes), the batch stream and everything else that makes a batch's L_b(w*) */
        uint64_t key = llc_seed(p->wstar_hash, LLC_PURPOSE_DATA, p->data_hash, cfg->seed ^ ((uint64_t)cfg->dist << 32),
                                ((uint64_t)p->B << 32) ^ (uint64_t)(uintptr_t)m);
        if (est_pair_bind(cfg->rt.pair_cache, key ? key : 1, cfg->chains))
            return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (paired-loss cache)");
        j->cache = cfg->rt.pair_cache;
    }
    j->burn_time = burn_time;
    j->start = start;
    if (cfg->thin <= 0) { /* automatic: extend until precise (or the budget) */
        j->extend = 1;
        j->rel_se = cfg->auto_rel_se;
        j->abs_se = p->exact_loss ? 0.0 : cfg->auto_abs_se;
        j->max_sample = half_max;
        /* minibatch chains: at most auto_max_extend times the first length
         * (their noise floor is the batch's, not the chain's mixing) */
        if (!p->exact_loss) {
            double lim = (double)cfg->auto_max_extend * (double)cfg->draws * (double)thin;
            if (lim < (double)j->max_sample) j->max_sample = (long)lim;
        }
    }
    if (like) { /* fixed lengths: no automatic burn-in or extension */
        like_lengths(like, eps, K, like_lens);
        j->burnin_of = like_lens;
        j->thin_of = like_lens + cfg->chains;
        j->burn_time = 0;
        j->extend = 0;
    }
    if (est_job_alloc(j))
        return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (%d chains x %d draws)", cfg->chains,
                        cfg->draws);
    return est_run_chains(j, err);
}

/* The estimate's step size: cfg's, or chosen automatically (r->auto_eps).
 * On the Metropolis path the chains' adaptive burn-in chooses it: their end
 * points go to *start, each chain's burn-in steps to *burn_done (both
 * allocated here), *burn_capped says a burn-in hit the step budget. *rate
 * gets the simulated time per step in units of eps, *ladder the step-size
 * ladder the sampling chains use. */
static int choose_eps(const prep *p, llc_estimate_result *r, float **start, long **burn_done, int *burn_capped,
                      double *rate, int *ladder, char *err)
{
    const llc_estimate_config *cfg = p->cfg;
    const size_t C = (size_t)cfg->chains;
    int rc, at_cap = 0;
    r->eps = cfg->sgld.eps;
    *rate = 1.0;
    *ladder = cfg->sgld.ladder;
    if (p->metropolis && cfg->sgld.ladder > 1) {
        *rate = 0;
        for (int q = 0; q < cfg->sgld.ladder; q++) *rate += pow(cfg->sgld.ladder_ratio, -q) / cfg->sgld.ladder;
    }
    if (cfg->sgld.eps > 0) return LLC_OK;
    if (p->metropolis) {
        /* adaptive burn-in: the chains' own burn-in sets eps; sampling continues from their end points */
        *start = malloc(C * p->n * sizeof **start);
        *burn_done = calloc(C, sizeof **burn_done);
        if (!*start || !*burn_done)
            return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (%zu chain states)", C);
        rc = est_mh_adapt(p, cfg->burnin >= 0 ? cfg->burnin : cfg->auto_max_steps / 2,
                          cfg->burnin >= 0 ? 0 : cfg->auto_time_burnin * p->time_unit, *start, &r->auto_eps, rate,
                          *burn_done, burn_capped, &at_cap, err);
        if (rc) return rc;
        if (!(*rate > 0)) *rate = 1.0;
        /* minibatches, eps held at the plain ladder's cap: no stiff region
         * asked for a smaller step, so the sampling chains drop the
         * step-size ladder (a third of the steps for the same time) */
        if (at_cap) {
            *ladder = 1;
            *rate = 1.0;
            size_t len = strlen(r->auto_eps.reason);
            snprintf(r->auto_eps.reason + len, sizeof r->auto_eps.reason - len,
                     "; at the cap: sampling without the step ladder");
        }
    } else {
        rc = est_eps_auto_prepared(p, &r->auto_eps, err);
        if (rc) return rc;
    }
    r->eps = r->auto_eps.eps;
    r->eps_auto = 1;
    return LLC_OK;
}

/* The sampling chains at r->eps into j (the caller frees it), with the
 * lengths of the settings or of simulated time (see the header); after an
 * adaptive burn-in (two_phase) they continue from start. Plain SGLD: a run
 * with a diverged chain is repeated at eps/2 (at most diverge_retries
 * times), so that a curve never loses a point to it. */
static int sample_with_retries(chain_job *j, const prep *p, int two_phase, float *start, double rate_est,
                               int ladder, const llc_estimate_result *like, long *like_lens, llc_estimate_result *r,
                               char *err)
{
    const llc_estimate_config *cfg = p->cfg;
    long burnin = cfg->burnin;
    double burn_time = 0;
    if (two_phase) {
        burnin = 0;
    } else if (cfg->burnin < 0) {
        burnin = cfg->auto_max_steps / 2;
        burn_time = cfg->auto_time_burnin * p->time_unit;
    }
    for (int attempt = 0;; attempt++) {
        int rc = sample_job(j, p, r->eps, burnin, burn_time, start, rate_est, ladder, like, like_lens, err);
        if (rc) return rc;
        int n_div = 0;
        for (int c = 0; c < cfg->chains; c++) n_div += j->div[c];
        if (!n_div || p->metropolis || attempt >= cfg->diverge_retries) return LLC_OK;
        size_t len = strlen(r->eps_note);
        snprintf(r->eps_note + len, sizeof r->eps_note - len, "%s%d of %d chains diverged at eps %.3g, retried at eps/2",
                 len ? "; " : "", n_div, cfg->chains, r->eps);
        r->retries++;
        r->eps /= 2;
        est_job_free(j);
    }
}

/* How the chains of j ran, into r: the settings used (r->cfg with eps,
 * thin, burn-in, nbeta and the target hash resolved), each chain's thin and
 * burn-in (burn_done: the adaptive burn-in's steps, or NULL), the sampling
 * path and what prepare resolved. */
static int result_settings(llc_estimate_result *r, const prep *p, const chain_job *j, const long *burn_done,
                           int burn_capped, int ladder, char *err)
{
    const llc_estimate_config *cfg = p->cfg;
    const size_t C = (size_t)cfg->chains;
    r->cfg = *cfg;
    r->cfg.sgld.eps = r->eps;
    r->cfg.sgld.ladder = ladder;
    r->chain_thin = malloc(C * sizeof *r->chain_thin);
    r->chain_burnin = malloc(C * sizeof *r->chain_burnin);
    if (!r->chain_thin || !r->chain_burnin) return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
    r->thin = 0;
    r->steps_capped = burn_capped;
    r->sim_time = 0;
    for (size_t c = 0; c < C; c++) {
        r->chain_thin[c] = j->thin_used[c];
        if (j->thin_used[c] > r->thin) r->thin = j->thin_used[c];
        if (j->capped[c]) r->steps_capped = 1;
        r->sim_time += j->sim_time[c] / (double)C;
    }
    r->cfg.thin = r->thin > INT_MAX ? INT_MAX : (int)r->thin;
    if (r->eps_auto && r->retries) { /* the reason says what happened after the choice */
        size_t len = strlen(r->auto_eps.reason);
        snprintf(r->auto_eps.reason + len, sizeof r->auto_eps.reason - len, "; %s", r->eps_note);
    }
    r->metropolis = p->metropolis;
    r->exact_loss = p->exact_loss;
    r->paired = p->paired;
    long acc_n = 0, steps_n = 0, bmax = 0;
    for (size_t c = 0; c < C; c++) {
        r->chain_burnin[c] = (burn_done ? burn_done[c] : 0) + j->burn_steps[c];
        if (r->chain_burnin[c] > bmax) bmax = r->chain_burnin[c];
        acc_n += j->acc_n[c];
        steps_n += j->mala_n[c];
    }
    r->burnin = bmax;
    r->cfg.burnin = bmax > INT_MAX ? INT_MAX : (int)bmax;
    r->accept_rate = p->metropolis && steps_n ? (double)acc_n / (double)steps_n : NAN;
    r->cfg.sgld.nbeta = p->nbeta;
    r->cfg.nbeta_mode = p->nbeta_mode;
    r->cfg.rt.target_hash = p->hash;
    r->nbeta = p->nbeta;
    r->nbeta_mode = p->nbeta_mode;
    r->nbeta_n = p->nbeta_n;
    r->batch_used = p->B;
    r->full_batch = p->full_batch;
    r->init_batches_used = p->init_batches_used;
    r->init_exact = p->init_exact;
    r->n_examples = p->n_examples;
    r->init_loss = p->init_loss;
    r->chains = cfg->chains;
    r->draws = cfg->draws;
    return LLC_OK;
}

/* The per-chain values move from j to r; lambda-hat and the diagnostics
 * over the chains that did not diverge. */
static int result_summary(llc_estimate_result *r, const prep *p, chain_job *j, char *err)
{
    const size_t C = (size_t)r->chains, D = (size_t)r->draws;
    int rc = LLC_OK;
    r->trace = j->trace;
    r->chain_llc = j->chain_llc;
    r->chain_diverged = j->div;
    r->chain_diverged_at = j->div_at;
    j->trace = j->chain_llc = NULL;
    j->div = NULL;
    j->div_at = NULL;
    r->chain_mala = malloc(C * sizeof *r->chain_mala);
    double *ok_trace = malloc(C * D * sizeof *ok_trace);
    if (!r->chain_mala || !ok_trace) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    int n_ok = 0;
    double s = 0, s2 = 0, ms = 0;
    long mn = 0, below = 0;
    for (size_t c = 0; c < C; c++) {
        r->chain_mala[c] = j->mala_n[c] ? j->mala_sum[c] / (double)j->mala_n[c] : NAN;
        ms += j->mala_sum[c];
        mn += j->mala_n[c];
        if (r->chain_diverged[c]) {
            r->n_diverged++;
            continue;
        }
        s += r->chain_llc[c];
        const double *tr = r->trace + c * D;
        for (size_t k = 0; k < D; k++) below += tr[k] < p->init_loss;
        memcpy(ok_trace + (size_t)n_ok * D, tr, D * sizeof *tr);
        n_ok++;
    }
    r->llc_mean = n_ok ? s / n_ok : NAN;
    for (size_t c = 0; c < C; c++)
        if (!r->chain_diverged[c]) s2 += (r->chain_llc[c] - r->llc_mean) * (r->chain_llc[c] - r->llc_mean);
    r->llc_std = n_ok >= 2 ? sqrt(s2 / (n_ok - 1)) : NAN;
    r->frac_below = n_ok ? (double)below / ((double)n_ok * (double)D) : NAN;
    r->rhat = n_ok ? llc_split_rhat(ok_trace, n_ok, (int)D) : NAN;
    r->mala_accept = mn ? ms / (double)mn : NAN;
    r->status = r->n_diverged ? "diverged" : "ok";
cleanup:
    free(ok_trace);
    return rc;
}

/* llc_estimate; with like (an estimate of the same target and chains)
 * each chain runs as long as like's in simulated time, burn-in and
 * sampling (like_lengths) instead of the automatic lengths. */
static int estimate_like(const llc_model *m, const float *w_star, const llc_group *g, const llc_task *task,
                         const llc_estimate_config *cfg, const llc_estimate_result *like, llc_estimate_result **out,
                         char *err)
{
    double t0 = llc_now();
    int rc = LLC_OK;
    prep p;
    chain_job j;
    llc_estimate_result *r = NULL;
    float *start = NULL;
    long *burn_done = NULL; /* (chains) Metropolis path: the adaptive burn-in of each chain */
    long *like_lens = NULL; /* (2 x chains) with like: each chain's burn-in and thin */
    int burn_capped = 0, ladder = cfg ? cfg->sgld.ladder : 1;
    double rate_est = 1.0; /* simulated time per step in units of eps */
    memset(&j, 0, sizeof j);
    if (!out) return llc_fail(err, LLC_ERR_INVALID, "estimate: NULL result pointer");
    *out = NULL;
    rc = est_prepare(&p, m, w_star, g, task, cfg, err);
    if (rc) goto cleanup;
    if (like && (like->chains != cfg->chains || like->draws != cfg->draws || !like->chain_thin ||
                 !like->chain_burnin || !(like->eps > 0))) {
        rc = llc_fail(err, LLC_ERR_INVALID, "estimate: the lengths to follow are of %d chains x %d draws, not %d x %d",
                      like->chains, like->draws, cfg->chains, cfg->draws);
        goto cleanup;
    }
    r = calloc(1, sizeof *r);
    if (like) like_lens = malloc(2 * (size_t)cfg->chains * sizeof *like_lens);
    if (!r || (like && !like_lens)) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    if ((rc = choose_eps(&p, r, &start, &burn_done, &burn_capped, &rate_est, &ladder, err)) ||
        (rc = sample_with_retries(&j, &p, r->eps_auto && p.metropolis, start, rate_est, ladder, like, like_lens, r,
                                  err)) ||
        (rc = result_settings(r, &p, &j, burn_done, burn_capped, ladder, err)) ||
        (rc = result_summary(r, &p, &j, err)))
        goto cleanup;
    r->seconds = llc_now() - t0;
    *out = r;
    r = NULL;
cleanup:
    free(start);
    free(burn_done);
    free(like_lens);
    est_job_free(&j);
    llc_estimate_result_free(r);
    est_prep_free(&p);
    return rc;
}

int llc_estimate(const llc_model *m, const float *w_star, const llc_group *g,
                 const llc_task *task, const llc_estimate_config *cfg,
                 llc_estimate_result **out, char *err)
{
    return estimate_like(m, w_star, g, task, cfg, NULL, out, err);
}

static double result_se(const llc_estimate_result *r)
{
    int n = r->chains - r->n_diverged;
    return n >= 2 ? r->llc_std / sqrt((double)n) : NAN;
}

int llc_bias_check_pass(double a, double se_a, double b, double se_b, double abs_tol)
{
    double se = sqrt((isfinite(se_a) ? se_a * se_a : 0) + (isfinite(se_b) ? se_b * se_b : 0));
    return isfinite(a) && isfinite(b) && fabs(b - a) <= fmax(fmax(0.05 * fabs(a), 2 * se), abs_tol);
}

/* Sampling steps of r, summed over its chains. */
static long sample_steps(const llc_estimate_result *r)
{
    long s = 0;
    for (int c = 0; c < r->chains; c++) s += r->chain_thin[c] * (long)r->draws;
    return s;
}

int llc_estimate_check_bias(const llc_model *m, const float *w_star, const llc_group *g, const llc_task *task,
                            const llc_estimate_config *cfg, llc_estimate_result *r, char *err)
{
    if (!r || !cfg) return llc_fail(err, LLC_ERR_INVALID, "check bias: NULL argument");
    llc_estimate_result *rb = NULL, *rh = NULL;
    llc_bias_check *b = &r->bias;
    llc_estimate_config c = *cfg;
    c.sgld.eps = r->eps;
    /* the estimate's sampler at its eps (auto at a given eps would be plain SGLD) */
    c.metropolis = r->metropolis ? LLC_MH_ON : LLC_MH_OFF;
    c.sgld.ladder = r->cfg.sgld.ladder;
    c.rt.pair_cache = NULL;
    c.sgld.nbeta = r->nbeta; /* the same posterior: m/log m would follow the batch */
    c.nbeta_mode = LLC_NBETA_GIVEN;
    c.batch = cfg->batch > (1 << 28) ? cfg->batch : 4 * cfg->batch;
    /* each chain as long as r's in simulated time (burn-in and sampling):
     * the automatic lengths would differ with the batch's noise and leave a
     * chain's start-up transient a different weight */
    int rc = estimate_like(m, w_star, g, task, &c, r, &rb, err);
    if (rc) goto cleanup;
    c.batch = cfg->batch;
    c.sgld.eps = r->eps / 2;
    rc = estimate_like(m, w_star, g, task, &c, r, &rh, err);
    if (rc) goto cleanup;
    b->llc = r->llc_mean;
    b->se = result_se(r);
    b->llc_batch = rb->llc_mean;
    b->se_batch = result_se(rb);
    b->batch = rb->batch_used;
    b->nbeta = rb->nbeta == rh->nbeta ? rb->nbeta : NAN;
    b->llc_half = rh->llc_mean;
    b->se_half = result_se(rh);
    b->eps_half = rh->eps;
    b->abs_tol = cfg->auto_abs_se;
    b->steps = sample_steps(r);
    b->steps_batch = sample_steps(rb);
    b->steps_half = sample_steps(rh);
    b->burnin = r->burnin;
    b->burnin_batch = rb->burnin;
    b->burnin_half = rh->burnin;
    b->pass_batch = llc_bias_check_pass(b->llc, b->se, b->llc_batch, b->se_batch, b->abs_tol);
    b->pass_half = llc_bias_check_pass(b->llc, b->se, b->llc_half, b->se_half, b->abs_tol);
    b->pass = b->pass_batch && b->pass_half;
    b->done = 1;
cleanup:
    llc_estimate_result_free(rb);
    llc_estimate_result_free(rh);
    return rc;
}
