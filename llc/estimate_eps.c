/* estimate_eps.c - the automatic step size (llc_estimate.h): the curvature
 * at w*, the plain-SGLD pilot ladder and the Metropolis path's adaptive
 * burn-in. */
#include "estimate_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

/* Top |eigenvalue| of the Hessian of L_m at w* on the group, by power
 * iteration with central finite-difference Hessian-vector products. */
static int curvature(const prep *p, double *h_out, char *err)
{
    const llc_estimate_config *cfg = p->cfg;
    const llc_group *g = p->g;
    size_t n = p->n, d = g->size;
    int rc = LLC_OK;
    void *ws = NULL;
    llc_batch *b = NULL;
    float *wt = NULL, *g1 = NULL, *g2 = NULL;
    double *v = NULL;
    gsl_rng *rng = NULL;
    *h_out = NAN;
    ws = est_group_ws_alloc(p);
    b = llc_task_batch_alloc(p->task, p->B);
    wt = malloc(n * sizeof *wt);
    g1 = malloc(n * sizeof *g1);
    g2 = malloc(n * sizeof *g2);
    v = malloc(d * sizeof *v);
    rng = llc_rng_new(llc_seed(cfg->seed, LLC_PURPOSE_SGLD, p->hash, LLC_PILOT_STREAM, 0x6375727665ULL));
    if (!ws || !b || !wt || !g1 || !g2 || !v || !rng) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (curvature)");
        goto cleanup;
    }
    b->B = p->B;
    rc = p->task->fill(p->task, p->dist, p->full_batch ? 0 : est_init_batch_index(cfg->seed, 0), b);
    if (rc) {
        llc_fail(err, rc, "estimate: task '%s' could not fill batch (%s)", p->task->name, llc_strerror(rc));
        goto cleanup;
    }
    /* v normalised to RMS 1 (||v||^2 = d); the finite-difference step is a
     * per-coordinate size eta relative to the weights' RMS. */
    double wrms = 0;
    size_t k = 0;
    for (int r = 0; r < g->n; r++)
        for (size_t i = g->r[r].off; i < g->r[r].off + g->r[r].len; i++, k++) {
            v[k] = gsl_ran_gaussian_ziggurat(rng, 1.0);
            wrms += (double)p->wstar[i] * p->wstar[i];
        }
    wrms = sqrt(wrms / (double)d);
    const double eta = 1e-3 * fmax(wrms, 1e-2);
    double lam = NAN, prev = NAN;
    memcpy(wt, p->wstar, n * sizeof *wt);
    for (int it = 0; it < cfg->auto_power_iters; it++) {
        double nv = 0;
        for (k = 0; k < d; k++) nv += v[k] * v[k];
        nv = sqrt(nv / (double)d);
        if (!(nv > 0) || !isfinite(nv)) break;
        for (k = 0; k < d; k++) v[k] /= nv;
        double L = NAN;
        for (int sgn = 0; sgn < 2; sgn++) {
            k = 0;
            for (int r = 0; r < g->n; r++)
                for (size_t i = g->r[r].off; i < g->r[r].off + g->r[r].len; i++, k++)
                    wt[i] = (float)((double)p->wstar[i] + (sgn ? -eta : eta) * v[k]);
            rc = p->m->loss_grad(p->m, ws, wt, b, sgn ? g2 : g1, &L);
            if (rc) {
                llc_fail(err, rc, "estimate: model gradient failed in curvature estimate (%s)", llc_strerror(rc));
                goto cleanup;
            }
        }
        /* Hv into v; lambda = ||Hv|| / ||v|| with ||v|| = sqrt(d) */
        double hv2 = 0;
        k = 0;
        for (int r = 0; r < g->n; r++)
            for (size_t i = g->r[r].off; i < g->r[r].off + g->r[r].len; i++, k++) {
                v[k] = ((double)g1[i] - (double)g2[i]) / (2.0 * eta);
                hv2 += v[k] * v[k];
            }
        prev = lam;
        lam = sqrt(hv2 / (double)d);
        if (!isfinite(lam)) break;
        if (it >= 2 && fabs(lam - prev) <= 1e-3 * lam) break;
    }
    *h_out = lam;
cleanup:
    if (ws) p->m->ws_free(ws);
    llc_batch_free(b);
    free(wt);
    free(g1);
    free(g2);
    free(v);
    gsl_rng_free(rng);
    return rc;
}

typedef struct {
    double eps, llc, se, mala;
    int n_div, ran;
} pilot;

static int run_pilot(const prep *p, double eps, int scale, int mala_every, uint64_t id, pilot *out, char *err)
{
    const llc_estimate_config *c = p->cfg;
    chain_job j;
    uint64_t stream = llc_seed(p->hash, LLC_PURPOSE_SGLD, LLC_PILOT_STREAM, id, 0);
    const long half_max = c->auto_max_steps / 2;
    /* sampling: auto_pilot_draws draws spanning auto_pilot_time of simulated
     * time (thin 1 and scale times the draws when that is 0) */
    int draws = c->auto_pilot_draws, thin = 1;
    if (c->auto_pilot_time > 0) {
        double want = ceil(c->auto_pilot_time * p->time_unit / (eps * (double)draws));
        double cap = floor((double)half_max / (double)draws);
        thin = want > cap ? (int)cap : want < 1 ? 1 : (int)want;
    } else {
        draws *= scale;
    }
    if (c->burnin >= 0) {
        est_job_setup(&j, p, eps, (long)c->burnin * scale, draws, thin, mala_every, stream);
    } else { /* automatic burn-in: the same simulated time at every eps */
        est_job_setup(&j, p, eps, half_max, draws, thin, mala_every, stream);
        j.burn_time = c->auto_time_burnin * p->time_unit;
    }
    j.sp.metropolis = 0; /* the ladder measures plain SGLD */
    if (c->auto_pilot_time > 0) { /* long enough to resolve the agreement tolerance */
        j.extend = 1;
        j.rel_se = 0.5 * c->auto_agree_tol;
        j.abs_se = p->exact_loss ? 0.0 : c->auto_abs_se;
        j.max_sample = half_max;
        double lim = (double)c->auto_max_extend * (double)draws * (double)thin;
        if (lim < (double)j.max_sample) j.max_sample = (long)lim;
    }
    int rc = est_job_alloc(&j);
    if (rc) {
        est_job_free(&j);
        return llc_fail(err, rc, "estimate: out of memory (pilot chains)");
    }
    rc = est_run_chains(&j, err);
    if (!rc) {
        out->eps = eps;
        est_job_summary(&j, &out->llc, &out->se, &out->mala, &out->n_div);
        out->ran = 1;
    }
    est_job_free(&j);
    return rc;
}

int est_eps_auto_prepared(const prep *p, llc_eps_auto_result *out, char *err)
{
    const llc_estimate_config *c = p->cfg;
    double t0 = llc_now();
    memset(out, 0, sizeof *out);
    double h = NAN;
    int rc = curvature(p, &h, err);
    if (rc) return rc;
    out->curvature = h;
    out->precision = p->nbeta * h + c->sgld.gamma;
    double eps0;
    const char *start;
    /* RMSProp multiplies the step by G <= 1/delta in every direction */
    const double gmax = c->sgld.precond == LLC_PRECOND_RMSPROP ? 1.0 / c->sgld.rms_delta : 1.0;
    if (isfinite(out->precision) && out->precision > 0) {
        eps0 = 4.0 * c->auto_bias_tol / (out->precision * gmax);
        start = gmax > 1 ? "eps0 = 4*bias_tol*delta/p" : "eps0 = 4*bias_tol/p";
    } else {
        eps0 = c->auto_eps_fallback / gmax;
        start = "curvature unavailable, eps0 = fallback";
    }
    out->eps0 = eps0;

    pilot A = {0}, B = {0};
    double best_stable = NAN; /* smallest eps without divergence */
    double min_div = INFINITY; /* smallest eps at which any pilot chain diverged */
    int chosen = -1;
    double next = eps0;
    for (int r = 0; r < c->auto_max_rungs; r++) {
        /* a rung that fails on divergence or MALA halves eps; one whose
         * lambda disagrees with eps/4 moves on to eps/4 (pilot B is reused) */
        const double eps = next;
        next = eps / 2;
        llc_eps_rung *R = &out->rung[r];
        out->n_rungs = r + 1;
        if (r > 0 && B.ran && fabs(B.eps - eps) <= 1e-12 * eps) {
            A = B; /* pilot B of the previous rung is pilot A of this one */
        } else {
            rc = run_pilot(p, eps, 1, c->auto_mala_every, 2 * (uint64_t)r, &A, err);
            if (rc) return rc;
        }
        memset(&B, 0, sizeof B);
        R->eps = eps;
        R->llc = A.llc;
        R->se = A.se;
        R->mala = A.mala;
        R->n_diverged = A.n_div;
        if (getenv("LLC_DEBUG_EPS"))
            fprintf(stderr, "eps ladder rung %d: eps %.3g llc %.4g se %.3g mala %.3f diverged %d (%.1fs)\n", r, eps,
                    A.llc, A.se, A.mala, A.n_div, llc_now() - t0);
        R->llc_quarter = R->se_quarter = NAN;
        if (A.n_div == 0 && (isnan(best_stable) || eps < best_stable)) best_stable = eps;
        if (A.n_div > 0 && eps < min_div) min_div = eps;
        if (A.n_div > 0) continue;
        if (eps * c->auto_div_margin > min_div) continue; /* too close to a divergence */
        if (c->auto_mala_every > 0 && isfinite(A.mala) && A.mala < c->auto_mala_target) continue;
        rc = run_pilot(p, eps / 4, 4, 4 * c->auto_mala_every, 2 * (uint64_t)r + 1, &B, err);
        if (rc) return rc;
        next = eps / 4;
        R->llc_quarter = B.llc;
        R->se_quarter = B.se;
        if (B.n_div == 0 && eps / 4 < best_stable) best_stable = eps / 4;
        if (B.n_div > 0 && eps / 4 < min_div) min_div = eps / 4;
        if (B.n_div > 0 || !isfinite(A.llc) || !isfinite(B.llc)) continue;
        double se = sqrt((isfinite(A.se) ? A.se * A.se : 0) + (isfinite(B.se) ? B.se * B.se : 0));
        double tol = fmax(c->auto_agree_tol * fabs(B.llc), c->auto_agree_se * se);
        if (fabs(A.llc - B.llc) <= tol) {
            R->passed = 1;
            chosen = r;
            out->eps = eps;
            snprintf(out->reason, sizeof out->reason,
                     "%s (h=%.4g, p=%.4g), rung %d: no divergence, MALA %.3f (target %.2f), "
                     "lambda %.4g agrees with %.4g at eps/4 (|diff| %.3g <= tol %.3g)",
                     start, h, out->precision, r, A.mala, c->auto_mala_target, A.llc, B.llc,
                     fabs(A.llc - B.llc), tol);
            break;
        }
    }
    if (chosen < 0) {
        if (isfinite(best_stable)) {
            out->eps = best_stable;
            snprintf(out->reason, sizeof out->reason,
                     "%s (h=%.4g, p=%.4g): no rung of %d passed all checks; smallest eps without divergence",
                     start, h, out->precision, out->n_rungs);
        } else {
            out->eps = next;
            snprintf(out->reason, sizeof out->reason,
                     "%s (h=%.4g, p=%.4g): every pilot diverged over %d rungs; eps below the last rung",
                     start, h, out->precision, out->n_rungs);
        }
    }
    /* the estimate runs below the ladder's eps: its pilot at eps/4 agreed,
     * and SGLD's bias (discretisation and minibatch noise) is about linear
     * in eps; never within auto_div_margin of a diverged pilot */
    double chosen_eps = out->eps / c->auto_eps_divisor;
    if (chosen_eps * c->auto_div_margin > min_div) chosen_eps = min_div / c->auto_div_margin;
    if (chosen_eps != out->eps) {
        size_t len = strlen(out->reason);
        snprintf(out->reason + len, sizeof out->reason - len, "; estimate at %.3g (eps/%g%s)", chosen_eps,
                 out->eps / chosen_eps, chosen_eps < out->eps / c->auto_eps_divisor ? ", divergence margin" : "");
        out->eps = chosen_eps;
    }
    out->seconds = llc_now() - t0;
    return LLC_OK;
}

/* Metropolis path of the automatic step size: the chains' own burn-in from
 * w*, each adapting log eps by Robbins-Monro towards the acceptance target
 * (on the ladder's top rung); eps = exp(mean over the chains of their
 * adapted log eps). With minibatches (an inexact loss) the plain-SGLD pilot
 * ladder runs first and its eps caps the adaptation (and starts it): the
 * Metropolis test on the batch removes the discretisation bias, the cap
 * keeps the minibatch-noise bias where the ladder bounds it. The burn-in
 * runs burn_max steps, or with burn_time > 0 until that simulated time (and at most burn_max). The chains' end points
 * go to end ((chains, n), may be NULL); *rate gets the simulated time per
 * step in units of eps (for the automatic thin), burn_used[c] (may be NULL)
 * each chain's burn-in steps; *capped (may be NULL) is set to 1 if a chain's
 * burn-in stopped at burn_max before its simulated time; *at_cap (may be
 * NULL) to 1 if the ladder's cap bound eps (the adapted eps above half of it). */
int est_mh_adapt(const prep *p, long burn_max, double burn_time, float *end, llc_eps_auto_result *out,
                 double *rate, long *burn_used, int *capped, int *at_cap, char *err)
{
    const llc_estimate_config *c = p->cfg;
    double t0 = llc_now();
    memset(out, 0, sizeof *out);
    double h = NAN, cap = 1;
    int rc;
    char ladder[LLC_REASON_LEN] = "";
    if (!p->exact_loss && c->rt.mh_cap > 0) { /* the ladder ran already (a sweep's reference checkpoint) */
        cap = c->rt.mh_cap;
        snprintf(ladder, sizeof ladder, "%s", c->rt.mh_cap_reason ? c->rt.mh_cap_reason : "given");
    } else if (!p->exact_loss) {
        if ((rc = est_eps_auto_prepared(p, out, err))) return rc;
        cap = out->eps;
        h = out->curvature;
        snprintf(ladder, sizeof ladder, "%s", out->reason);
    } else if ((rc = curvature(p, &h, err))) {
        return rc;
    }
    out->curvature = h;
    out->precision = p->nbeta * h + c->sgld.gamma;
    const double gmax = c->sgld.precond == LLC_PRECOND_RMSPROP ? 1.0 / c->sgld.rms_delta : 1.0;
    double eps0 = isfinite(out->precision) && out->precision > 0 ? 1.0 / (out->precision * gmax)
                                                                 : c->auto_eps_fallback / gmax;
    if (eps0 > cap) eps0 = cap;
    out->eps0 = eps0;
    /* With minibatches a first burn-in runs without the step-size ladder
     * (a third of the steps): if its adapted eps stays above half the cap,
     * no stiff region asked for a smaller step and it is the burn-in. Else
     * the ladder's burn-in continues from its end points. */
    chain_job j;
    double sl = 0, sa = 0, sr = 0;
    int nok = 0, stage = ladder[0] && c->sgld.ladder > 1 ? 0 : 1;
    long bmax = 0;
    for (; stage < 2; stage++) {
        est_job_setup(&j, p, nok ? exp(sl / nok) : eps0, burn_max, 0, 1, 0, p->hash);
        j.phase = stage ? 1 : 3;
        j.adapt = 1;
        j.le_max = log(cap);
        j.burn_time = burn_time;
        j.end = end;
        j.start = bmax ? end : NULL;
        if (stage == 0) j.sp.ladder = 1;
        rc = est_job_alloc(&j);
        if (rc) {
            est_job_free(&j);
            return llc_fail(err, rc, "estimate: out of memory (burn-in chains)");
        }
        rc = est_run_chains(&j, err);
        if (rc) {
            est_job_free(&j);
            return rc;
        }
        sl = sa = sr = 0;
        nok = 0;
        for (int k = 0; k < j.chains; k++) {
            if (burn_used) burn_used[k] = (stage ? burn_used[k] : 0) + j.burn_steps[k];
            if (capped && j.capped[k]) *capped = 1;
            if (j.burn_steps[k] > bmax) bmax = j.burn_steps[k];
            if (j.div[k] || !isfinite(j.ad_logeps[k])) continue;
            sl += j.ad_logeps[k];
            sa += isfinite(j.ad_acc[k]) ? j.ad_acc[k] : 0;
            sr += isfinite(j.ad_rate[k]) ? j.ad_rate[k] : 0;
            nok++;
        }
        if (stage == 0 && nok == j.chains && exp(sl / nok) > 0.5 * cap) break;
        if (stage == 0) est_job_free(&j); /* the ladder's burn-in goes on from the adapted eps */
    }
    if (nok == 0) {
        out->eps = eps0;
        *rate = NAN;
        snprintf(out->reason, sizeof out->reason,
                 "metropolis: every chain diverged during the adaptive burn-in; eps left at eps0 = %.3g", eps0);
    } else {
        out->eps = exp(sl / nok);
        *rate = sr / nok;
        if (ladder[0])
            snprintf(out->reason, sizeof out->reason,
                     "metropolis on the batch: eps adapted during the burn-in (%ld steps%s) to MH acceptance %.2f "
                     "(target %.2f), geometric mean over %d chains, at most the ladder's %.3g: %s",
                     bmax, stage ? ", the last part with the step ladder" : "", sa / nok, j.target, nok, cap, ladder);
        else
            snprintf(out->reason, sizeof out->reason,
                     "metropolis: eps adapted during the burn-in (%ld steps) to MH acceptance %.2f (target %.2f), "
                     "geometric mean over %d chains, from eps0 = 1/p = %.3g (h=%.4g, p=%.4g)",
                     bmax, sa / nok, j.target, nok, eps0, h, out->precision);
    }
    if (at_cap) *at_cap = ladder[0] && nok > 0 && out->eps > 0.5 * cap;
    est_job_free(&j);
    out->seconds = llc_now() - t0;
    return LLC_OK;
}

int llc_eps_auto(const llc_model *m, const float *w_star, const llc_group *g,
                 const llc_task *task, const llc_estimate_config *cfg,
                 llc_eps_auto_result *out, char *err)
{
    if (!out) return llc_fail(err, LLC_ERR_INVALID, "estimate: NULL result");
    prep p;
    int rc = est_prepare(&p, m, w_star, g, task, cfg, err);
    if (!rc) {
        if (p.metropolis) {
            double acc;
            rc = est_mh_adapt(&p, cfg->burnin >= 0 ? cfg->burnin : cfg->auto_max_steps / 2,
                              cfg->burnin >= 0 ? 0 : cfg->auto_time_burnin * p.time_unit, NULL, out, &acc, NULL,
                              NULL, NULL, err);
        } else {
            rc = est_eps_auto_prepared(&p, out, err);
        }
    }
    est_prep_free(&p);
    return rc;
}
