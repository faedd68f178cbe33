/* sgld.c - localised tempered SGLD over a parameter group, plain and
 * RMSProp-preconditioned, with a MALA acceptance diagnostic and divergence
 * detection. The maths and every convention are documented in llc_sgld.h. */
#include "llc_sgld.h"
#include "llc_gauss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct llc_sgld {
    size_t n;            /* n_params */
    float *w;            /* (n) the chain's weights */
    float *grad;         /* (n) gradient at w on the step's batch */
    /* borrowed at reset */
    const float *wstar;  /* (n) */
    const llc_group *g;
    llc_sgld_params p;
    int ready;
    /* optional, sized at reset (compact: one entry per index of the group) */
    float *V;            /* (|V|) RMSProp second moment */
    size_t V_cap;
    float *wprev;        /* (|V|) weights before the update, MALA steps only */
    size_t wprev_cap;
    float *grad2;        /* (n) gradient at the proposal, MALA steps only */
    double thr;          /* divergence threshold on L_m */
    int have_cur;        /* metropolis: grad and L_cur hold the current point's loss and gradient */
    double L_cur;
    llc_gauss noise;     /* the step noise, seeded from the chain's rng at its first step */
    int noise_seeded;
    llc_sgld_stats st;
};

/* "sgld": plain SGLD, no preconditioner (the name --sampler takes; "none" is still parsed) */
static const char *const precond_names[] = {"sgld", "rmsprop"};

const char *llc_precond_name(llc_precond p)
{
    if ((int)p < 0 || (int)p > 1) return NULL;
    return precond_names[p];
}

int llc_precond_parse(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "none") || !strcmp(s, "plain") || !strcmp(s, "sgld")) return LLC_PRECOND_NONE;
    if (!strcmp(s, "rmsprop")) return LLC_PRECOND_RMSPROP;
    return -1;
}

void llc_sgld_params_default(llc_sgld_params *p)
{
    memset(p, 0, sizeof *p);
    p->precond = LLC_PRECOND_NONE;
    p->rms_alpha = 0.99;
    p->rms_delta = 0.1;
    p->mala_every = 0;
    p->ref_loss = NAN;
    p->diverge_factor = 10.0;
    p->metropolis = 0;
    p->exact_loss = 0;
    p->ladder = 1;
    p->ladder_ratio = 4.0;
    p->block = 1;
}

llc_sgld *llc_sgld_alloc(size_t n_params)
{
    if (n_params == 0) return NULL;
    llc_sgld *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = n_params;
    s->w = malloc(n_params * sizeof *s->w);
    s->grad = malloc(n_params * sizeof *s->grad);
    if (!s->w || !s->grad) {
        llc_sgld_free(s);
        return NULL;
    }
    return s;
}

void llc_sgld_free(llc_sgld *s)
{
    if (!s) return;
    free(s->w);
    free(s->grad);
    free(s->V);
    free(s->wprev);
    free(s->grad2);
    free(s);
}

static int grow(float **buf, size_t *cap, size_t need)
{
    if (*cap >= need) return LLC_OK;
    float *b = realloc(*buf, need * sizeof *b);
    if (!b) return LLC_ERR_NOMEM;
    *buf = b;
    *cap = need;
    return LLC_OK;
}

static double threshold_for(const llc_sgld *s, double ref)
{
    double scale = fmax(1.0, fabs(ref));
    scale = fmax(scale, (double)s->g->size / (2.0 * s->p.nbeta));
    return ref + s->p.diverge_factor * scale;
}

int llc_sgld_reset(llc_sgld *s, const float *w_star, const llc_group *g,
                   const llc_sgld_params *p, char *err)
{
    return llc_sgld_reset_at(s, NULL, w_star, g, p, err);
}

int llc_sgld_reset_at(llc_sgld *s, const float *w_start, const float *w_star, const llc_group *g,
                      const llc_sgld_params *p, char *err)
{
    if (!s || !w_star || !g || !p) return llc_fail(err, LLC_ERR_INVALID, "sgld: NULL argument");
    s->ready = 0;
    if (!(p->eps > 0) || !isfinite(p->eps))
        return llc_fail(err, LLC_ERR_INVALID, "sgld: eps must be a finite number > 0 (got %g)", p->eps);
    if (!(p->gamma >= 0) || !isfinite(p->gamma))
        return llc_fail(err, LLC_ERR_INVALID, "sgld: gamma must be finite and >= 0 (got %g)", p->gamma);
    if (!(p->nbeta > 0) || !isfinite(p->nbeta))
        return llc_fail(err, LLC_ERR_INVALID, "sgld: nbeta must be finite and > 0 (got %g)", p->nbeta);
    if (p->precond != LLC_PRECOND_NONE && p->precond != LLC_PRECOND_RMSPROP)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: unknown preconditioner %d", (int)p->precond);
    if (p->precond == LLC_PRECOND_RMSPROP) {
        if (!(p->rms_alpha >= 0 && p->rms_alpha < 1))
            return llc_fail(err, LLC_ERR_INVALID, "sgld: rms_alpha must be in [0, 1) (got %g)", p->rms_alpha);
        if (!(p->rms_delta > 0) || !isfinite(p->rms_delta))
            return llc_fail(err, LLC_ERR_INVALID, "sgld: rms_delta must be finite and > 0 (got %g)", p->rms_delta);
    }
    if (p->mala_every < 0)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: mala_every must be >= 0 (got %d)", p->mala_every);
    if (p->metropolis != 0 && p->metropolis != 1)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: metropolis must be 0 or 1 (got %d)", p->metropolis);
    if (p->ladder < 1 || p->ladder > LLC_SGLD_MAX_LADDER)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: ladder must be in [1, %d] (got %d)", LLC_SGLD_MAX_LADDER,
                        p->ladder);
    if (p->ladder > 1 && (!(p->ladder_ratio > 1) || !isfinite(p->ladder_ratio)))
        return llc_fail(err, LLC_ERR_INVALID, "sgld: ladder_ratio must be finite and > 1 (got %g)", p->ladder_ratio);
    if (p->block < 1 || p->block > LLC_SGLD_MAX_BLOCK)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: block must be in [1, %d] (got %d)", LLC_SGLD_MAX_BLOCK, p->block);
    if (p->exact_loss != 0 && p->exact_loss != 1)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: exact_loss must be 0 or 1 (got %d)", p->exact_loss);
    if (!(p->diverge_factor > 0))
        return llc_fail(err, LLC_ERR_INVALID, "sgld: diverge_factor must be > 0 (got %g)", p->diverge_factor);
    if (g->n <= 0 || g->size == 0)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: parameter group '%s' is empty", g->name);
    size_t size = 0, end = 0;
    for (int r = 0; r < g->n; r++) {
        if (r > 0 && g->r[r].off < end)
            return llc_fail(err, LLC_ERR_INVALID, "sgld: group '%s' is not normalised (sorted, non-overlapping)", g->name);
        end = g->r[r].off + g->r[r].len;
        if (end > s->n || end < g->r[r].off)
            return llc_fail(err, LLC_ERR_INVALID, "sgld: group '%s' reaches index %zu beyond n_params %zu",
                            g->name, end, s->n);
        size += g->r[r].len;
    }
    if (size != g->size)
        return llc_fail(err, LLC_ERR_INVALID, "sgld: group '%s' size %zu does not match its ranges (%zu)",
                        g->name, g->size, size);

    int rc = LLC_OK;
    if (p->precond == LLC_PRECOND_RMSPROP) rc = grow(&s->V, &s->V_cap, size);
    if (!rc && (p->mala_every > 0 || p->metropolis)) {
        rc = grow(&s->wprev, &s->wprev_cap, size);
        if (!rc && !s->grad2) {
            s->grad2 = malloc(s->n * sizeof *s->grad2);
            if (!s->grad2) rc = LLC_ERR_NOMEM;
        }
    }
    if (rc) return llc_fail(err, rc, "sgld: out of memory");
    if (s->V && p->precond == LLC_PRECOND_RMSPROP) memset(s->V, 0, size * sizeof *s->V);

    memcpy(s->w, w_start ? w_start : w_star, s->n * sizeof *s->w);
    s->wstar = w_star;
    s->have_cur = 0;
    s->L_cur = NAN;
    s->noise_seeded = 0;
    s->g = g;
    s->p = *p;
    memset(&s->st, 0, sizeof s->st);
    s->st.diverged_at = -1;
    s->st.diverge_loss = NAN;
    s->st.mala_last = NAN;
    s->st.last_rung = 0;
    s->st.last_eps = p->eps;
    s->thr = isfinite(p->ref_loss) ? threshold_for(s, p->ref_loss) : NAN;
    s->st.threshold = s->thr;
    s->ready = 1;
    return LLC_OK;
}

/* The MALA log acceptance ratio of the move s->wprev -> s->w (group indices),
 * given the minibatch losses at both ends and the gradients s->grad (at the
 * old point) and s->grad2 (at the proposal). G is recomputed from V exactly
 * as the step used it. Everything in double. */
static double mala_log_ratio(const llc_sgld *s, double L_old, double L_new, double eps)
{
    const llc_sgld_params *p = &s->p;
    const double he = 0.5 * eps, nb = p->nbeta, gam = p->gamma;
    const int rms = p->precond == LLC_PRECOND_RMSPROP;
    double prior_old = 0, prior_new = 0, fwd = 0, rev = 0;
    size_t k = 0;
    for (int r = 0; r < s->g->n; r++) {
        size_t off = s->g->r[r].off, len = s->g->r[r].len;
        const float *wn_ = s->w + off, *ws_ = s->wstar + off, *g1 = s->grad + off, *g2 = s->grad2 + off;
        const float *wo_ = s->wprev + k;
        if (rms) {
            for (size_t j = 0; j < len; j++) {
                double G = 1.0 / (sqrt((double)s->V[k + j]) + p->rms_delta);
                double wo = wo_[j], wn = wn_[j], ws = ws_[j];
                double d_o = wo - ws, d_n = wn - ws;
                double ef = wn - (wo - he * G * (nb * (double)g1[j] + gam * d_o));
                double er = wo - (wn - he * G * (nb * (double)g2[j] + gam * d_n));
                prior_old += d_o * d_o;
                prior_new += d_n * d_n;
                fwd += ef * ef / G;
                rev += er * er / G;
            }
        } else { /* G = 1 */
            for (size_t j = 0; j < len; j++) {
                double wo = wo_[j], wn = wn_[j], ws = ws_[j];
                double d_o = wo - ws, d_n = wn - ws;
                double ef = wn - (wo - he * (nb * (double)g1[j] + gam * d_o));
                double er = wo - (wn - he * (nb * (double)g2[j] + gam * d_n));
                prior_old += d_o * d_o;
                prior_new += d_n * d_n;
                fwd += ef * ef;
                rev += er * er;
            }
        }
        k += len;
    }
    double logpi_old = -nb * L_old - 0.5 * gam * prior_old;
    double logpi_new = -nb * L_new - 0.5 * gam * prior_new;
    /* log q(w|w') - log q(w'|w); the normalisers cancel (same G both ways) */
    double logq = -(rev - fwd) / (2.0 * eps);
    return logpi_new - logpi_old + logq;
}

int llc_sgld_steps_per_batch(const llc_sgld_params *p)
{
    return p->metropolis && !p->exact_loss && p->block > 1 ? p->block : 1;
}

int llc_sgld_step(llc_sgld *s, const llc_model *m, void *ws, const llc_batch *b,
                  gsl_rng *rng, double *loss_before)
{
    if (loss_before) *loss_before = NAN;
    if (!s || !s->ready || !m || !b || !rng) return LLC_ERR_INVALID;
    if (s->st.diverged) return LLC_ERR_NUMERIC;

    const llc_sgld_params *p = &s->p;
    double L = NAN;
    int rc = LLC_OK;
    if (p->metropolis && s->have_cur && (p->exact_loss || s->st.steps % llc_sgld_steps_per_batch(p) != 0)) {
        L = s->L_cur; /* the loss does not depend on the batch, or the batch is the last step's: reuse */
    } else {
        rc = m->loss_grad(m, ws, s->w, b, s->grad, &L);
    }
    if (loss_before) *loss_before = L;
    if (rc) return rc;
    if (isnan(s->thr) && isfinite(L)) s->thr = s->st.threshold = threshold_for(s, L);
    if (!isfinite(L) || L > s->thr) {
        s->st.diverged = 1;
        s->st.diverged_at = s->st.steps;
        s->st.diverge_loss = L;
        return LLC_ERR_NUMERIC;
    }

    const int rms = p->precond == LLC_PRECOND_RMSPROP;
    const int mh = p->metropolis;
    const int mala = mh || (p->mala_every > 0 && (s->st.steps + 1) % p->mala_every == 0);
    /* Metropolis step-size ladder: rung r uniform in [0, ladder), eps_r = eps / ratio^r */
    int rung = 0;
    if (mh && p->ladder > 1) {
        rung = (int)(gsl_rng_uniform(rng) * p->ladder);
        if (rung >= p->ladder) rung = p->ladder - 1;
    }
    const double eps = rung ? p->eps * pow(p->ladder_ratio, -rung) : p->eps;
    s->st.last_rung = rung;
    s->st.last_eps = eps;
    const double he = 0.5 * eps, se = sqrt(eps), nb = p->nbeta, gam = p->gamma;
    const double a = p->rms_alpha, delta = p->rms_delta;
    /* plain SGLD in float: w -= (eps/2)(nbeta g + gamma (w - w*)) + sqrt(eps) xi */
    const float fa = (float)(he * nb), fb = (float)(he * gam), fs = (float)se;
    if (!s->noise_seeded) {
        uint64_t seed = (uint64_t)gsl_rng_get(rng) << 32;
        seed ^= (uint64_t)gsl_rng_get(rng);
        llc_gauss_seed(&s->noise, seed);
        s->noise_seeded = 1;
    }
    enum { CHUNK = 64 * LLC_GAUSS_BLOCK };
    float xi[CHUNK];
    size_t k = 0;
    for (int r = 0; r < s->g->n; r++) {
        size_t off = s->g->r[r].off, len = s->g->r[r].len;
        float *w = s->w + off;
        const float *gr = s->grad + off, *w0 = s->wstar + off;
        if (mala) memcpy(s->wprev + k, w, len * sizeof *w);
        for (size_t c0 = 0; c0 < len; c0 += CHUNK) {
            const size_t nc = len - c0 < CHUNK ? len - c0 : CHUNK;
            float *wc = w + c0;
            const float *gc = gr + c0, *w0c = w0 + c0;
            llc_gauss_fill(&s->noise, xi, nc);
            if (rms) {
                for (size_t j = 0; j < nc; j++, k++) {
                    double gi = gc[j], wi = wc[j];
                    s->V[k] = (float)(a * (double)s->V[k] + (1.0 - a) * gi * gi);
                    double G = 1.0 / (sqrt((double)s->V[k]) + delta);
                    double mu = wi - he * G * (nb * gi + gam * (wi - (double)w0c[j]));
                    wc[j] = (float)(mu + se * sqrt(G) * xi[j]);
                }
            } else {
                for (size_t j = 0; j < nc; j++) wc[j] = wc[j] - (fa * gc[j] + fb * (wc[j] - w0c[j])) + fs * xi[j];
                k += nc;
            }
        }
    }

    if (mala) {
        double L2 = NAN;
        rc = m->loss_grad(m, ws, s->w, b, s->grad2, &L2);
        if (rc) return rc;
        double acc = 0.0;
        if (isfinite(L2)) {
            double lr = mala_log_ratio(s, L, L2, eps);
            acc = isnan(lr) ? 0.0 : (lr >= 0 ? 1.0 : exp(lr));
        }
        s->st.mala_n++;
        s->st.mala_sum += acc;
        s->st.mala_last = acc;
        if (mh) {
            double u = gsl_rng_uniform(rng);
            if (u < acc) { /* accept: the proposal's loss and gradient become the current ones */
                float *tmp = s->grad;
                s->grad = s->grad2;
                s->grad2 = tmp;
                s->L_cur = L2;
                s->st.accepted++;
            } else { /* reject: back to the previous point (its gradient is still in grad) */
                k = 0;
                for (int r = 0; r < s->g->n; r++) {
                    memcpy(s->w + s->g->r[r].off, s->wprev + k, s->g->r[r].len * sizeof *s->w);
                    k += s->g->r[r].len;
                }
                s->L_cur = L;
            }
            s->have_cur = 1;
        }
    }
    s->st.steps++;
    return LLC_OK;
}

int llc_sgld_set_eps(llc_sgld *s, double eps)
{
    if (!s || !s->ready || !(eps > 0) || !isfinite(eps)) return LLC_ERR_INVALID;
    s->p.eps = eps;
    return LLC_OK;
}

const float *llc_sgld_weights(const llc_sgld *s) { return s ? s->w : NULL; }

const llc_gauss *llc_sgld_noise(const llc_sgld *s) { return s && s->noise_seeded ? &s->noise : NULL; }

void llc_sgld_get_stats(const llc_sgld *s, llc_sgld_stats *st)
{
    if (!s || !st) return;
    *st = s->st;
    st->threshold = s->thr;
}
