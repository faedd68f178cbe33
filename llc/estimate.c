/* estimate.c - the LLC estimator: L_n(w*), the exact-loss check, chains of
 * SGLD (Metropolis-adjusted when the loss is exact) on pthreads, lambda-hat
 * with diagnostics, the automatic step size and the automatic lengths. The
 * contract (streams, nbeta modes, the algorithms and why) is in
 * llc_estimate.h. */
#include "llc_estimate.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

/* OpenBLAS's thread control. Declared here rather than through OpenBLAS's
 * <cblas.h>, which clashes with GSL's gsl_cblas.h (pulled in by gsl_randist.h). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

#define LLC_BURN_MIN 100    /* an automatic burn-in runs at least this many steps */
#define LLC_ADAPT_RATE 0.02 /* Robbins-Monro gain on log eps per step */
#define LLC_NBLOCKS 32      /* batch means for a chain's standard error */
#define LLC_ADAPT_BAND 0.1  /* an adaptive burn-in ends only with its acceptance within this of the target */

/* ---------------- config ---------------- */

static const char *const nbeta_names[] = {"default", "given", "n/log n", "m/log m"};

const char *llc_nbeta_mode_name(llc_nbeta_mode m)
{
    if ((int)m < 0 || (int)m > 3) return "unknown";
    return nbeta_names[m];
}

void llc_estimate_config_default(llc_estimate_config *c)
{
    memset(c, 0, sizeof *c);
    c->eps = 0;
    c->gamma = 1.0;
    c->nbeta = 0;
    c->nbeta_mode = LLC_NBETA_DEFAULT;
    c->precond = LLC_PRECOND_NONE;
    c->rms_alpha = 0.99;
    c->rms_delta = 0.1;
    c->mala_every = 0;
    c->diverge_factor = 10.0;
    c->diverge_retries = 3;
    c->chains = 4;
    c->draws = 200;
    c->burnin = -1;
    c->thin = 0;
    c->metropolis = LLC_MH_AUTO;
    c->mh_target = 0.7;
    c->mh_ladder = 4;
    c->mh_ladder_ratio = 4.0;
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
    c->target_hash = 0;
    c->data_hash = 0;
    c->pair_cache = NULL;
    c->pair_records = 1;
    c->threads = 1;
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
    if (!(c->eps >= 0) || !isfinite(c->eps))
        return llc_fail(err, LLC_ERR_INVALID, "eps must be finite and >= 0 (0 = automatic), got %g", c->eps);
    if (!(c->gamma >= 0) || !isfinite(c->gamma))
        return llc_fail(err, LLC_ERR_INVALID, "gamma must be finite and >= 0, got %g", c->gamma);
    if (!(c->nbeta >= 0) || !isfinite(c->nbeta))
        return llc_fail(err, LLC_ERR_INVALID, "nbeta must be finite and >= 0, got %g", c->nbeta);
    if ((int)c->nbeta_mode < 0 || (int)c->nbeta_mode > 3)
        return llc_fail(err, LLC_ERR_INVALID, "unknown nbeta mode %d", (int)c->nbeta_mode);
    if (c->nbeta_mode == LLC_NBETA_GIVEN && !(c->nbeta > 0))
        return llc_fail(err, LLC_ERR_INVALID, "nbeta mode 'given' needs nbeta > 0");
    if (c->precond != LLC_PRECOND_NONE && c->precond != LLC_PRECOND_RMSPROP)
        return llc_fail(err, LLC_ERR_INVALID, "unknown preconditioner %d", (int)c->precond);
    if (!(c->rms_alpha >= 0 && c->rms_alpha < 1))
        return llc_fail(err, LLC_ERR_INVALID, "rms_alpha must be in [0, 1), got %g", c->rms_alpha);
    if (!(c->rms_delta > 0) || !isfinite(c->rms_delta))
        return llc_fail(err, LLC_ERR_INVALID, "rms_delta must be finite and > 0, got %g", c->rms_delta);
    if (c->mala_every < 0)
        return llc_fail(err, LLC_ERR_INVALID, "mala_every must be >= 0, got %d", c->mala_every);
    if (!(c->diverge_factor > 0))
        return llc_fail(err, LLC_ERR_INVALID, "diverge_factor must be > 0, got %g", c->diverge_factor);
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
    if (c->metropolis != LLC_MH_AUTO && c->metropolis != LLC_MH_OFF && c->metropolis != LLC_MH_ON)
        return llc_fail(err, LLC_ERR_INVALID, "metropolis must be auto, off or on, got %d", (int)c->metropolis);
    if (!(c->mh_target > 0 && c->mh_target < 1))
        return llc_fail(err, LLC_ERR_INVALID, "mh_target must be in (0, 1), got %g", c->mh_target);
    if (c->mh_ladder < 1 || c->mh_ladder > LLC_SGLD_MAX_LADDER)
        return llc_fail(err, LLC_ERR_INVALID, "mh_ladder must be in [1, %d], got %d", LLC_SGLD_MAX_LADDER,
                        c->mh_ladder);
    if (!(c->mh_ladder_ratio > 1) || !isfinite(c->mh_ladder_ratio))
        return llc_fail(err, LLC_ERR_INVALID, "mh_ladder_ratio must be finite and > 1, got %g", c->mh_ladder_ratio);
    if (!(c->auto_time_burnin >= 0) || !isfinite(c->auto_time_burnin))
        return llc_fail(err, LLC_ERR_INVALID, "auto_time_burnin must be finite and >= 0, got %g", c->auto_time_burnin);
    if (!(c->auto_time_draws > 0) || !isfinite(c->auto_time_draws))
        return llc_fail(err, LLC_ERR_INVALID, "auto_time_draws must be finite and > 0, got %g", c->auto_time_draws);
    if (c->pair_records < 0 || c->pair_records > 1)
        return llc_fail(err, LLC_ERR_INVALID, "pair_records must be 0 or 1, got %d", c->pair_records);
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
    if (c->threads < 1 || c->threads > 1024)
        return llc_fail(err, LLC_ERR_INVALID, "threads must be in [1, 1024], got %d", c->threads);
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

/* ---------------- resolved settings ---------------- */

typedef struct {
    const llc_model *m;
    const float *wstar;
    const llc_group *g;
    llc_group whole; /* used when the caller passes g = NULL */
    const llc_task *task;
    const llc_estimate_config *cfg;
    size_t n;
    int dist;
    int B;              /* SGLD batch actually used */
    int full_batch;
    int init_exact;     /* L_n(w*) over the whole finite set */
    long n_examples;    /* of dist */
    uint64_t hash;      /* target hash */
    uint64_t wstar_hash; /* of w*'s bytes, for cfg->pair_cache's keys (0 without one) */
    uint64_t data_hash; /* the sampling chains' batch stream */
    double nbeta;
    llc_nbeta_mode nbeta_mode;
    long nbeta_n;
    double init_loss;
    int paired;         /* lambda from L_b(w_k) - L_b(w*) on the same batch */
    int init_batches_used;
    int exact_loss;     /* the SGLD loss is L_n itself: full batch, or batch-independent (population) */
    int metropolis;     /* resolved cfg->metropolis */
    double time_unit;   /* 1/gamma (1 if gamma = 0): the relaxation time scale of the flat directions */
} prep;

static void prep_free(prep *p) { llc_group_free(&p->whole); }

static int find_dist(const llc_task *t, const char *name)
{
    for (int i = 0; i < t->n_dists; i++)
        if (t->dists[i] && !strcmp(t->dists[i], name)) return i;
    return -1;
}

static uint64_t init_batch_index(uint64_t seed, int j)
{
    return llc_seed(seed, LLC_PURPOSE_DATA, 0, LLC_INIT_STREAM, (uint64_t)j) >> 24;
}

static int init_get(const llc_pair_cache *pc, uint64_t key, double *L);
static void init_put(llc_pair_cache *pc, uint64_t key, double L);

/* L_n(w*): exact over the whole set (one batch of n) when the distribution
 * is finite and no larger than the sampled budget init_batches*batch;
 * otherwise the mean over init_batches batches of B. The same for every
 * target at one w*: kept in cfg->pair_cache. */
static int compute_init_loss(prep *p, char *err)
{
    int rc = LLC_OK;
    void *ws = NULL;
    llc_batch *b = NULL;
    p->init_exact = p->n_examples > 0 && (double)p->n_examples <= (double)p->cfg->init_batches * p->cfg->batch;
    int B = p->init_exact ? (int)p->n_examples : p->B;
    int nb = p->init_exact ? 1 : p->cfg->init_batches;
    const uint64_t key = llc_seed(p->wstar_hash, LLC_PURPOSE_DATA, (uint64_t)B,
                                  p->cfg->seed ^ ((uint64_t)p->cfg->dist << 32),
                                  ((uint64_t)nb << 32) ^ (uint64_t)(uintptr_t)p->m);
    if (init_get(p->cfg->pair_cache, key, &p->init_loss)) {
        p->init_batches_used = nb;
        return LLC_OK;
    }
    ws = p->m->ws_alloc(p->m, B);
    b = llc_task_batch_alloc(p->task, B);
    if (!ws || !b) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (L_n batch of %d)", B);
        goto cleanup;
    }
    double sum = 0;
    for (int j = 0; j < nb; j++) {
        double L = NAN;
        b->B = B;
        rc = p->task->fill(p->task, p->dist, p->init_exact ? 0 : init_batch_index(p->cfg->seed, j), b);
        if (rc) {
            llc_fail(err, rc, "estimate: task '%s' could not fill batch (%s)", p->task->name, llc_strerror(rc));
            goto cleanup;
        }
        rc = p->m->loss_grad(p->m, ws, p->wstar, b, NULL, &L);
        if (rc) {
            llc_fail(err, rc, "estimate: model loss at w* failed (%s)", llc_strerror(rc));
            goto cleanup;
        }
        sum += L;
    }
    p->init_loss = sum / nb;
    p->init_batches_used = nb;
    init_put(p->cfg->pair_cache, key, p->init_loss);
    if (!isfinite(p->init_loss))
        rc = llc_fail(err, LLC_ERR_NUMERIC, "estimate: L_n(w*) is not finite (%g)", p->init_loss);
cleanup:
    if (ws) p->m->ws_free(ws);
    llc_batch_free(b);
    return rc;
}

/* A workspace for SGLD batches whose gradients are read on the group only
 * (the model may then skip the rest: llc_model.ws_need). */
static void *group_ws_alloc(const prep *p)
{
    void *ws = p->m->ws_alloc(p->m, p->B);
    if (ws && p->m->ws_need) p->m->ws_need(p->m, ws, p->g);
    return ws;
}

/* Is the SGLD loss exact (= L_n)? Yes for a full batch. Otherwise the loss
 * and gradient at a perturbed point w* + 0.01·max(rms(w*_V), 0.1)·z (z ~
 * N(0, I) on the group) are evaluated on two different batches (the first
 * two L_n(w*) batches): the loss is exact when both are bit-identical, i.e.
 * the model does not read the batch (population losses). Data-dependent
 * losses differ at a generic point. */
static int detect_exact(prep *p, char *err)
{
    p->exact_loss = p->full_batch;
    if (p->exact_loss) return LLC_OK;
    const llc_group *g = p->g;
    const size_t n = p->n;
    int rc = LLC_OK;
    void *ws = group_ws_alloc(p);
    llc_batch *b = llc_task_batch_alloc(p->task, p->B);
    float *wt = malloc(n * sizeof *wt), *g0 = malloc(n * sizeof *g0), *g1 = malloc(n * sizeof *g1);
    gsl_rng *rng = llc_rng_new(llc_seed(p->cfg->seed, LLC_PURPOSE_SGLD, p->hash, LLC_PILOT_STREAM, 0x6578616374ULL));
    if (!ws || !b || !wt || !g0 || !g1 || !rng) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (exact-loss check)");
        goto cleanup;
    }
    double rms = 0;
    for (int r = 0; r < g->n; r++)
        for (size_t i = g->r[r].off; i < g->r[r].off + g->r[r].len; i++) rms += (double)p->wstar[i] * p->wstar[i];
    rms = sqrt(rms / (double)g->size);
    const double h = 0.01 * fmax(rms, 0.1);
    memcpy(wt, p->wstar, n * sizeof *wt);
    for (int r = 0; r < g->n; r++)
        for (size_t i = g->r[r].off; i < g->r[r].off + g->r[r].len; i++)
            wt[i] = (float)((double)p->wstar[i] + h * gsl_ran_gaussian_ziggurat(rng, 1.0));
    double L[2] = {NAN, NAN};
    for (int k = 0; k < 2; k++) {
        b->B = p->B;
        rc = p->task->fill(p->task, p->dist, init_batch_index(p->cfg->seed, k), b);
        if (rc) {
            llc_fail(err, rc, "estimate: task '%s' could not fill batch (%s)", p->task->name, llc_strerror(rc));
            goto cleanup;
        }
        rc = p->m->loss_grad(p->m, ws, wt, b, k ? g1 : g0, &L[k]);
        if (rc) {
            llc_fail(err, rc, "estimate: model loss failed (%s)", llc_strerror(rc));
            goto cleanup;
        }
    }
    int same = L[0] == L[1] && isfinite(L[0]);
    for (int r = 0; same && r < g->n; r++)
        same = memcmp(g0 + g->r[r].off, g1 + g->r[r].off, g->r[r].len * sizeof *g0) == 0;
    p->exact_loss = same;
cleanup:
    if (ws) p->m->ws_free(ws);
    llc_batch_free(b);
    free(wt);
    free(g0);
    free(g1);
    gsl_rng_free(rng);
    return rc;
}

static int prepare(prep *p, const llc_model *m, const float *w_star, const llc_group *g,
                   const llc_task *task, const llc_estimate_config *cfg, char *err)
{
    memset(p, 0, sizeof *p);
    if (!m || !w_star || !task || !cfg) return llc_fail(err, LLC_ERR_INVALID, "estimate: NULL argument");
    int rc = llc_estimate_config_check(cfg, err);
    if (rc) return rc;
    p->m = m;
    p->wstar = w_star;
    p->task = task;
    p->cfg = cfg;
    p->n = llc_model_n_params(m);
    if (p->n == 0) return llc_fail(err, LLC_ERR_INVALID, "estimate: model has no parameters");
    p->wstar_hash = cfg->pair_cache ? llc_hash_bytes(w_star, p->n * sizeof(float)) : 0;
    if (!g) {
        snprintf(p->whole.name, sizeof p->whole.name, "model");
        if (llc_group_add(&p->whole, 0, p->n)) return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        g = &p->whole;
    }
    p->g = g;
    if (g->n <= 0 || g->size == 0)
        return llc_fail(err, LLC_ERR_INVALID, "estimate: parameter group '%s' is empty", g->name);
    if (cfg->dist < 0 || cfg->dist >= task->n_dists)
        return llc_fail(err, LLC_ERR_INVALID, "estimate: distribution index %d out of range [0, %d) of task '%s'",
                        cfg->dist, task->n_dists, task->name);
    p->dist = cfg->dist;
    p->hash = cfg->target_hash ? cfg->target_hash : llc_hash_str(g->name);
    p->data_hash = cfg->data_hash ? cfg->data_hash : p->hash;
    p->n_examples = task->n_examples ? task->n_examples(task, p->dist) : 0;
    p->B = cfg->batch;
    if (p->n_examples > 0 && (long)cfg->batch >= p->n_examples) {
        if (p->n_examples > 0x7fffffffL)
            return llc_fail(err, LLC_ERR_INVALID, "estimate: data set of %ld examples too large for one batch",
                            p->n_examples);
        p->B = (int)p->n_examples;
        p->full_batch = 1;
    }

    /* nbeta */
    llc_nbeta_mode mode = cfg->nbeta_mode;
    int train = find_dist(task, "train");
    long n_train = (train >= 0 && task->n_examples) ? task->n_examples(task, train) : 0;
    if (mode == LLC_NBETA_DEFAULT)
        mode = cfg->nbeta > 0 ? LLC_NBETA_GIVEN : (n_train > 0 ? LLC_NBETA_N_LOG_N : LLC_NBETA_M_LOG_M);
    switch (mode) {
    case LLC_NBETA_GIVEN:
        p->nbeta = cfg->nbeta;
        p->nbeta_n = 0;
        break;
    case LLC_NBETA_N_LOG_N:
        if (n_train < 2)
            return llc_fail(err, LLC_ERR_INVALID,
                            "nbeta n/log n needs a finite \"train\" distribution of >= 2 examples "
                            "(task '%s' has %ld); give nbeta or use m/log m",
                            task->name, n_train);
        p->nbeta = (double)n_train / log((double)n_train);
        p->nbeta_n = n_train;
        break;
    case LLC_NBETA_M_LOG_M:
        if (p->B < 2)
            return llc_fail(err, LLC_ERR_INVALID, "nbeta m/log m needs a batch of >= 2 (got %d)", p->B);
        p->nbeta = (double)p->B / log((double)p->B);
        p->nbeta_n = p->B;
        break;
    default:
        return llc_fail(err, LLC_ERR_INVALID, "unknown nbeta mode %d", (int)mode);
    }
    p->nbeta_mode = mode;
    p->time_unit = cfg->gamma > 0 ? 1.0 / cfg->gamma : 1.0;
    rc = compute_init_loss(p, err);
    if (!rc) rc = detect_exact(p, err);
    if (rc) return rc;
    p->metropolis = cfg->metropolis == LLC_MH_ON || (cfg->metropolis == LLC_MH_AUTO && p->exact_loss);
    p->paired = cfg->paired < 0 ? !p->exact_loss : cfg->paired;
    return LLC_OK;
}

/* ---------------- chains ---------------- */

/* A run of cfg->chains chains. Phase "burn" (draws = 0): each chain starts at
 * start (or w*) and runs its burn-in only (a fixed number of steps, or until
 * the effective simulated time reaches burn_time), adapting eps when adapt
 * is set, and leaves its end point in end. Phase "sample": burnin steps (not
 * recorded) then draws*thin recorded steps. */
typedef struct {
    const prep *p;
    llc_sgld_params sp;
    int chains, draws, thin, threads;
    long burnin;        /* burn-in steps; with burn_time > 0 the MAXIMUM */
    double burn_time;   /* > 0: the burn-in ends once sum eps_k*a_k >= burn_time (and >= LLC_BURN_MIN steps) */
    int adapt;          /* adapt eps during the burn-in (Metropolis, towards target) */
    double target;
    uint64_t stream;
    uint64_t dstream;   /* the batch stream (= stream, except the sampling job: data_hash) */
    uint64_t phase;     /* mixed into the chains' rng and data streams (0 = sampling) */
    llc_pair_cache *cache; /* paired L_b(w*) by (chain, step), or NULL */
    const float *start; /* (chains, n) start points, or NULL = w* */
    float *end;         /* (chains, n) end points out, or NULL */
    /* outputs, (chains) or (chains, draws) */
    double *trace;
    double *chain_llc;
    int *div;
    long *div_at;
    double *mala_sum;
    long *mala_n;
    long *acc_n;        /* Metropolis acceptances */
    long *burn_steps;   /* burn-in steps run */
    double *ad_logeps;  /* adapted log eps (running mean over the last part of the burn-in) */
    double *ad_acc;     /* top-rung acceptance probability over the same window */
    double *ad_rate;    /* simulated time per step / eps over the same window */
    int extend;         /* double the sampling length until the precision target (see run_one_chain) */
    double rel_se;      /* that target: the chain's se <= sqrt(chains)*max(rel_se*|lambda_c|, abs_se) */
    double abs_se;
    long max_sample;    /* sampling steps at most (extend) */
    long *thin_used;    /* (chains) the thin each chain ended with */
    int *capped;        /* (chains) an automatic length stopped at the step budget */
    double *sim_time;   /* (chains) simulated time of the sampling steps */
} chain_job;

typedef struct {
    chain_job *job;
    int tid, nthreads;
    int rc;
    char err[LLC_ERRLEN];
} worker_arg;

/* ---------------- paired-loss cache ---------------- */

typedef struct {
    double *L;          /* (cap) L_b(w*) by step, NaN = not computed */
    void **rec;         /* (cap) buffers for the base records of those passes (llc_model.base_forward) */
    size_t *rsize;      /* (cap) their sizes: kept across keys, reused (no page faults for fresh memory) */
    size_t *rlen;       /* (cap) bytes of the record of this key in rec[k], 0 = none */
    long cap;
    size_t rec_bytes;   /* sum of rsize */
    long hits, misses;  /* kept across keys */
} pair_chain;

struct llc_pair_cache {
    uint64_t key;       /* of (w*, data stream, seed, dist, batch, model); 0 = empty */
    int chains;
    pair_chain *ch;     /* (chains) */
    uint64_t init_key;  /* L_n(w*) of (w*, its batches, seed, dist, model); 0 = none */
    double init_loss;
    size_t limit;       /* bytes of base records at most (LLC_BASE_CACHE_BYTES unless set) */
};

static int init_get(const llc_pair_cache *pc, uint64_t key, double *L)
{
    if (!pc || !key || pc->init_key != key) return 0;
    *L = pc->init_loss;
    return 1;
}

static void init_put(llc_pair_cache *pc, uint64_t key, double L)
{
    if (pc) pc->init_key = key, pc->init_loss = L;
}

llc_pair_cache *llc_pair_cache_new(void)
{
    llc_pair_cache *pc = calloc(1, sizeof(llc_pair_cache));
    if (pc) pc->limit = LLC_BASE_CACHE_BYTES;
    return pc;
}

void llc_pair_cache_set_limit(llc_pair_cache *pc, size_t bytes)
{
    if (pc) pc->limit = bytes;
}

void llc_pair_cache_free(llc_pair_cache *pc)
{
    if (!pc) return;
    for (int c = 0; c < pc->chains; c++) {
        pair_chain *e = &pc->ch[c];
        for (long k = 0; k < e->cap; k++) free(e->rec[k]);
        free(e->rec), free(e->rsize), free(e->rlen), free(e->L);
    }
    free(pc->ch);
    free(pc);
}

void llc_pair_cache_stats(const llc_pair_cache *pc, long *hits, long *misses)
{
    long h = 0, m = 0;
    for (int c = 0; pc && c < pc->chains; c++) h += pc->ch[c].hits, m += pc->ch[c].misses;
    if (hits) *hits = h;
    if (misses) *misses = m;
}

/* Make pc hold key with room for chains; forgets the losses of another key. */
static int pair_bind(llc_pair_cache *pc, uint64_t key, int chains)
{
    if (pc->key != key) /* forget the values, keep the record buffers */
        for (int c = 0; c < pc->chains; c++)
            for (long k = 0; k < pc->ch[c].cap; k++) pc->ch[c].L[k] = NAN, pc->ch[c].rlen[k] = 0;
    pc->key = key;
    if (pc->chains >= chains) return LLC_OK;
    pair_chain *ch = realloc(pc->ch, (size_t)chains * sizeof *ch);
    if (!ch) return LLC_ERR_NOMEM;
    memset(ch + pc->chains, 0, (size_t)(chains - pc->chains) * sizeof *ch);
    pc->ch = ch;
    pc->chains = chains;
    return LLC_OK;
}

/* Chain c's entry is touched only by the thread running chain c. */
static int pair_get(llc_pair_cache *pc, int c, long k, double *L0)
{
    if (!pc) return 0;
    pair_chain *e = &pc->ch[c];
    if (k >= e->cap || isnan(e->L[k])) return 0;
    *L0 = e->L[k];
    e->hits++;
    return 1;
}

/* The base record of chain c's step k, or NULL. */
static const void *pair_rec(llc_pair_cache *pc, int c, long k)
{
    if (!pc) return NULL;
    pair_chain *e = &pc->ch[c];
    return k < e->cap && e->rlen[k] ? e->rec[k] : NULL;
}

/* Keep L0 of chain c's step k, just computed, and a copy of its base record
 * rec (bytes long; NULL = none) while the chain's share of
 * pc->limit lasts (whether it is kept changes no number). */
static int pair_put(llc_pair_cache *pc, int c, long k, double L0, const void *rec, size_t bytes)
{
    if (!pc) return LLC_OK;
    pair_chain *e = &pc->ch[c];
    if (k >= e->cap) {
        long cap = e->cap ? e->cap : 1024;
        while (cap <= k) cap *= 2;
        double *L = realloc(e->L, (size_t)cap * sizeof *L);
        if (L) e->L = L;
        void **r = realloc(e->rec, (size_t)cap * sizeof *r);
        if (r) e->rec = r;
        size_t *rs = realloc(e->rsize, (size_t)cap * sizeof *rs);
        if (rs) e->rsize = rs;
        size_t *rl = realloc(e->rlen, (size_t)cap * sizeof *rl);
        if (rl) e->rlen = rl;
        if (!L || !r || !rs || !rl) return LLC_ERR_NOMEM;
        for (long i = e->cap; i < cap; i++) L[i] = NAN, r[i] = NULL, rs[i] = rl[i] = 0;
        e->cap = cap;
    }
    e->L[k] = L0;
    e->misses++;
    if (!rec || e->rlen[k]) return LLC_OK;
    if (e->rsize[k] < bytes && e->rec_bytes - e->rsize[k] + bytes <= pc->limit / (size_t)pc->chains) {
        void *q = realloc(e->rec[k], bytes);
        if (q) e->rec_bytes += bytes - e->rsize[k], e->rec[k] = q, e->rsize[k] = bytes;
    }
    if (e->rsize[k] >= bytes) {
        memcpy(e->rec[k], rec, bytes);
        e->rlen[k] = bytes;
    }
    return LLC_OK;
}

/* A chain worker's base records (llc_model.base_*): use = 1 when its
 * target's steps are taken from records, buf a record of the model's size
 * for the passes computed here (NULL when the model has none). */
typedef struct {
    int use;
    void *buf;
    const void *cur; /* the record of the step being taken */
    double L0;       /* its loss L_b(w*) */
} chain_base;

/* The pass at w* on batch b (chain c's step k): L0 into cb->L0 and, with
 * records, the record into cb->cur, from the cache or computed (and kept). */
static int base_at(chain_job *j, int c, long k, void *ws, const llc_batch *b, chain_base *cb, char *err)
{
    const prep *p = j->p;
    if ((cb->cur = pair_rec(j->cache, c, k))) {
        pair_get(j->cache, c, k, &cb->L0);
        return LLC_OK;
    }
    size_t bytes = 0;
    int rc = cb->buf ? p->m->base_forward(p->m, ws, p->wstar, b, cb->buf, &bytes, &cb->L0)
                                : p->m->loss_grad(p->m, ws, p->wstar, b, NULL, &cb->L0);
    if (rc) return llc_fail(err, rc, "estimate: model loss at w* failed (%s)", llc_strerror(rc));
    if (cb->buf) cb->cur = cb->buf;
    if (pair_put(j->cache, c, k, cb->L0, cb->buf, bytes))
        return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (paired-loss cache)");
    return LLC_OK;
}

static int fill_step(const chain_job *j, int c, long k, llc_batch *b, char *err)
{
    const prep *p = j->p;
    if (p->full_batch && k > 0) return LLC_OK;
    const uint64_t stream = j->dstream ^ (j->phase * 0x9e3779b97f4a7c15ULL);
    uint64_t idx = p->full_batch ? 0 : llc_seed(p->cfg->seed, LLC_PURPOSE_DATA, stream, (uint64_t)c, (uint64_t)k) >> 24;
    b->B = p->B;
    int rc = p->task->fill(p->task, p->dist, idx, b);
    if (rc)
        return llc_fail(err, rc, "estimate: task '%s' could not fill batch (%s)", p->task->name, llc_strerror(rc));
    return LLC_OK;
}

/* Step k of chain c: fill its batch and take one SGLD step; *L = the loss
 * before the update. LLC_ERR_NUMERIC marks the chain diverged at k; other
 * errors carry a message in err. */
static int chain_step(chain_job *j, int c, long k, llc_sgld *s, void *ws, llc_batch *b, gsl_rng *rng,
                      chain_base *cb, double *L, char *err)
{
    const llc_model *m = j->p->m;
    if (j->p->cfg->interrupt && *j->p->cfg->interrupt)
        return llc_fail(err, LLC_ERR_INTERRUPTED, "estimate: interrupted");
    int rc = fill_step(j, c, k, b, err);
    if (rc) return rc;
    if (cb->use) {
        if ((rc = base_at(j, c, k, ws, b, cb, err))) return rc;
        m->ws_base(m, ws, cb->cur);
    }
    rc = llc_sgld_step(s, m, ws, b, rng, L);
    if (cb->use) m->ws_base(m, ws, NULL);
    if (rc == LLC_ERR_NUMERIC) {
        j->div[c] = 1;
        j->div_at[c] = k;
        return rc;
    }
    if (rc) return llc_fail(err, rc, "estimate: SGLD step failed (%s)", llc_strerror(rc));
    return LLC_OK;
}

static int run_one_chain(chain_job *j, int c, llc_sgld *s, void *ws, llc_batch *b, gsl_rng *rng, chain_base *cb,
                         char *err)
{
    const prep *p = j->p;
    const size_t n = p->n;
    llc_rng_reseed(rng, llc_seed(p->cfg->seed, LLC_PURPOSE_SGLD, j->stream, (uint64_t)c, j->phase));
    int rc = llc_sgld_reset_at(s, j->start ? j->start + (size_t)c * n : NULL, p->wstar, p->g, &j->sp, err);
    if (rc) return rc;
    double *tr = j->draws ? j->trace + (size_t)c * (size_t)j->draws : NULL;
    int nd = 0;
    double sum = 0;
    long nsum = 0;
    j->div[c] = 0;
    j->div_at[c] = -1;
    /* burn-in (with optional step-size adaptation) */
    double eps = j->sp.eps, le = log(eps), le_avg = le, acc_avg = NAN, rate_avg = NAN, time = 0;
    long k = 0;
    llc_sgld_stats st;
    for (;; k++) {
        if (k >= j->burnin) break;
        /* automatic end: enough simulated time, and (adapting) the acceptance settled near the target */
        if (j->burn_time > 0 && time >= j->burn_time && k >= LLC_BURN_MIN &&
            (!j->adapt || fabs(acc_avg - j->target) <= LLC_ADAPT_BAND))
            break;
        double L = NAN;
        rc = chain_step(j, c, k, s, ws, b, rng, cb, &L, err);
        if (rc == LLC_ERR_NUMERIC) break; /* diverged, marked */
        if (rc) goto out;
        llc_sgld_get_stats(s, &st);
        double a = j->sp.metropolis && isfinite(st.mala_last) ? st.mala_last : 1.0;
        double dt = st.last_eps * a; /* simulated time this step moved */
        time += dt;
        /* running means over about the last fifth of the burn-in */
        double kr = (double)k;
        double rho = 1.0 / (1.0 + fmin(kr, 100.0 + 0.2 * kr));
        rate_avg = isnan(rate_avg) ? dt / eps : rate_avg + rho * (dt / eps - rate_avg);
        if (st.last_rung == 0) { /* the top rung's acceptance drives eps */
            if (j->adapt) {
                le += LLC_ADAPT_RATE * (a - j->target);
                if (le > 0) le = 0; /* eps <= 1 */
                eps = exp(le);
                llc_sgld_set_eps(s, eps);
            }
            acc_avg = isnan(acc_avg) ? a : acc_avg + rho * (a - acc_avg);
        }
        le_avg += rho * (le - le_avg);
    }
    j->burn_steps[c] = k;
    j->capped[c] = j->burn_time > 0 && k >= j->burnin && !j->div[c];
    if (j->ad_logeps) j->ad_logeps[c] = le_avg;
    if (j->ad_acc) j->ad_acc[c] = acc_avg;
    if (j->ad_rate) j->ad_rate[c] = rate_avg;
    /* sampling: draws*thin steps; with extend, doubled (thin doubled, the
     * trace decimated) until the chain's batch-means standard error is small
     * enough or the step budget is used */
    const long k0 = k;
    const double ref = p->paired ? 0.0 : p->init_loss; /* paired: sum holds L_b(w_k) - L_b(w*) */
    long S = (long)j->draws * j->thin, thin = j->thin;
    double bsum[LLC_NBLOCKS];
    long bcnt[LLC_NBLOCKS];
    memset(bsum, 0, sizeof bsum);
    memset(bcnt, 0, sizeof bcnt);
    if (j->adapt && !j->div[c]) llc_sgld_set_eps(s, exp(le_avg));
    for (; !j->div[c]; k++) {
        if (k - k0 == S) { /* end of this length: stop, or double */
            if (!j->extend) break;
            double lam = p->nbeta * (sum / (double)nsum - ref), bm = 0, bv = 0;
            for (int q = 0; q < LLC_NBLOCKS; q++) bm += bsum[q] / (double)bcnt[q];
            bm /= LLC_NBLOCKS;
            for (int q = 0; q < LLC_NBLOCKS; q++) {
                double d = bsum[q] / (double)bcnt[q] - bm;
                bv += d * d;
            }
            double se = p->nbeta * sqrt(bv / (LLC_NBLOCKS - 1) / LLC_NBLOCKS);
            if (se <= sqrt((double)j->chains) * fmax(j->rel_se * fabs(lam), j->abs_se)) break;
            if (2 * S > j->max_sample) {
                j->capped[c] = 1;
                break;
            }
            for (int q = 0; q < LLC_NBLOCKS / 2; q++) {
                bsum[q] = bsum[2 * q] + bsum[2 * q + 1];
                bcnt[q] = bcnt[2 * q] + bcnt[2 * q + 1];
            }
            memset(bsum + LLC_NBLOCKS / 2, 0, sizeof bsum / 2);
            memset(bcnt + LLC_NBLOCKS / 2, 0, sizeof bcnt / 2);
            for (int q = 0; 2 * q < nd; q++) tr[q] = tr[2 * q];
            nd = (nd + 1) / 2;
            S *= 2;
            thin *= 2;
        }
        double L = NAN, L0 = 0;
        rc = chain_step(j, c, k, s, ws, b, rng, cb, &L, err);
        if (rc == LLC_ERR_NUMERIC) break; /* diverged, marked */
        if (rc) goto out;
        /* the same batch at w*: a control variate (the step's record has it) */
        if (p->paired && cb->use) {
            L0 = cb->L0;
        } else if (p->paired && !pair_get(j->cache, c, k, &L0)) {
            if ((rc = base_at(j, c, k, ws, b, cb, err))) goto out;
            L0 = cb->L0;
        }
        sum += L - L0;
        nsum++;
        llc_sgld_get_stats(s, &st);
        j->sim_time[c] += st.last_eps * (j->sp.metropolis && isfinite(st.mala_last) ? st.mala_last : 1.0);
        int q = (int)((double)(k - k0) * LLC_NBLOCKS / (double)S);
        bsum[q] += L - L0;
        bcnt[q]++;
        /* paired: the trace holds what lambda averages, shifted to sit at L_n(w*) */
        if ((k - k0) % thin == 0 && nd < j->draws) tr[nd++] = p->paired ? L - L0 + p->init_loss : L;
    }
    j->thin_used[c] = thin;
    for (int i = nd; i < j->draws; i++) tr[i] = NAN;
    j->chain_llc[c] = (j->div[c] || nsum == 0) ? NAN : p->nbeta * (sum / (double)nsum - ref);
    if (j->end) memcpy(j->end + (size_t)c * n, llc_sgld_weights(s), n * sizeof(float));
    llc_sgld_get_stats(s, &st);
    j->mala_sum[c] = st.mala_sum;
    j->mala_n[c] = st.mala_n;
    j->acc_n[c] = st.accepted;
    rc = LLC_OK;
out:
    return rc;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    chain_job *j = wa->job;
    const prep *p = j->p;
    llc_sgld *s = NULL;
    void *ws = NULL;
    llc_batch *b = NULL;
    gsl_rng *rng = NULL;
    chain_base cb = {0};
    wa->rc = LLC_OK;
    s = llc_sgld_alloc(p->n);
    ws = group_ws_alloc(p);
    b = llc_task_batch_alloc(p->task, p->B);
    rng = llc_rng_new(0);
    if (!s || !ws || !b || !rng) {
        wa->rc = llc_fail(wa->err, LLC_ERR_NOMEM, "estimate: out of memory (chain workspace)");
        goto cleanup;
    }
    /* base records: kept for the targets after this one (paired sampling
     * computes the pass anyway) unless none follows (cfg->pair_records = 0),
     * used when this target's steps can (the sampling phase, whose paired
     * losses need the pass) */
    const size_t rec_size = p->m->base_size && p->paired ? p->m->base_size(p->m, p->B) : 0;
    cb.use = rec_size > 0 && j->phase == 0 && p->m->ws_base(p->m, ws, NULL);
    const int keep = rec_size > 0 && j->cache && p->cfg->pair_records;
    if ((cb.use || keep) && !(cb.buf = malloc(rec_size))) {
        wa->rc = llc_fail(wa->err, LLC_ERR_NOMEM, "estimate: out of memory (base record)");
        goto cleanup;
    }
    for (int c = wa->tid; c < j->chains; c += wa->nthreads) {
        wa->rc = run_one_chain(j, c, s, ws, b, rng, &cb, wa->err);
        if (wa->rc) break;
    }
cleanup:
    free(cb.buf);
    llc_sgld_free(s);
    if (ws) p->m->ws_free(ws);
    llc_batch_free(b);
    gsl_rng_free(rng);
    return NULL;
}

/* Allocate a job's outputs; free with job_free. */
static int job_alloc(chain_job *j)
{
    size_t C = (size_t)j->chains;
    j->trace = malloc((C * (size_t)j->draws + 1) * sizeof *j->trace);
    j->chain_llc = malloc(C * sizeof *j->chain_llc);
    j->div = calloc(C, sizeof *j->div);
    j->div_at = malloc(C * sizeof *j->div_at);
    j->mala_sum = calloc(C, sizeof *j->mala_sum);
    j->mala_n = calloc(C, sizeof *j->mala_n);
    j->acc_n = calloc(C, sizeof *j->acc_n);
    j->burn_steps = calloc(C, sizeof *j->burn_steps);
    j->ad_logeps = calloc(C, sizeof *j->ad_logeps);
    j->ad_acc = calloc(C, sizeof *j->ad_acc);
    j->ad_rate = calloc(C, sizeof *j->ad_rate);
    j->thin_used = calloc(C, sizeof *j->thin_used);
    j->capped = calloc(C, sizeof *j->capped);
    j->sim_time = calloc(C, sizeof *j->sim_time);
    if (!j->trace || !j->chain_llc || !j->div || !j->div_at || !j->mala_sum || !j->mala_n || !j->acc_n ||
        !j->burn_steps || !j->ad_logeps || !j->ad_acc || !j->ad_rate || !j->thin_used || !j->capped || !j->sim_time)
        return LLC_ERR_NOMEM;
    return LLC_OK;
}

static void job_free(chain_job *j)
{
    free(j->trace);
    free(j->chain_llc);
    free(j->div);
    free(j->div_at);
    free(j->mala_sum);
    free(j->mala_n);
    free(j->acc_n);
    free(j->burn_steps);
    free(j->ad_logeps);
    free(j->ad_acc);
    free(j->ad_rate);
    j->ad_rate = NULL;
    free(j->thin_used);
    free(j->capped);
    free(j->sim_time);
    j->thin_used = NULL;
    j->capped = NULL;
    j->sim_time = NULL;
    j->trace = j->chain_llc = j->mala_sum = j->ad_logeps = j->ad_acc = NULL;
    j->div = NULL;
    j->div_at = j->mala_n = j->acc_n = j->burn_steps = NULL;
}

static int run_chains(chain_job *j, char *err)
{
    int T = j->threads < j->chains ? j->threads : j->chains;
    if (T < 1) T = 1;
    int rc = LLC_OK;
    worker_arg *wa = calloc((size_t)T, sizeof *wa);
    pthread_t *th = calloc((size_t)T, sizeof *th);
    int *started = calloc((size_t)T, sizeof *started);
    if (!wa || !th || !started) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    for (int t = 0; t < T; t++) {
        wa[t].job = j;
        wa[t].tid = t;
        wa[t].nthreads = T;
    }
    if (T == 1) {
        worker_main(&wa[0]);
    } else {
        int old = openblas_get_num_threads();
        openblas_set_num_threads(1);
        for (int t = 0; t < T; t++) {
            if (pthread_create(&th[t], NULL, worker_main, &wa[t]) == 0) started[t] = 1;
            else worker_main(&wa[t]); /* no thread: run its chains here (same results) */
        }
        for (int t = 0; t < T; t++)
            if (started[t]) pthread_join(th[t], NULL);
        openblas_set_num_threads(old);
    }
    for (int t = 0; t < T; t++) {
        if (wa[t].rc) {
            rc = wa[t].rc;
            if (err) snprintf(err, LLC_ERRLEN, "%s", wa[t].err);
            break;
        }
    }
cleanup:
    free(wa);
    free(th);
    free(started);
    return rc;
}

static void job_setup(chain_job *j, const prep *p, double eps, long burnin, int draws, int thin, int mala_every,
                      uint64_t stream)
{
    const llc_estimate_config *c = p->cfg;
    memset(j, 0, sizeof *j);
    j->p = p;
    llc_sgld_params_default(&j->sp);
    j->sp.eps = eps;
    j->sp.gamma = c->gamma;
    j->sp.nbeta = p->nbeta;
    j->sp.precond = c->precond;
    j->sp.rms_alpha = c->rms_alpha;
    j->sp.rms_delta = c->rms_delta;
    j->sp.mala_every = mala_every;
    j->sp.ref_loss = p->init_loss;
    j->sp.diverge_factor = c->diverge_factor;
    j->sp.metropolis = p->metropolis;
    j->sp.exact_loss = p->exact_loss;
    j->sp.ladder = c->mh_ladder;
    j->sp.ladder_ratio = c->mh_ladder_ratio;
    j->chains = c->chains;
    j->burnin = burnin;
    j->draws = draws;
    j->thin = thin;
    j->threads = c->threads;
    j->stream = stream;
    j->dstream = stream;
    j->target = c->mh_target;
}

/* Mean and standard error over the non-diverged chains; MALA mean. */
static void job_summary(const chain_job *j, double *mean, double *se, double *mala, int *n_div)
{
    int n = 0, nd = 0;
    double s = 0, s2 = 0, ms = 0;
    long mn = 0;
    for (int c = 0; c < j->chains; c++) {
        ms += j->mala_sum[c];
        mn += j->mala_n[c];
        if (j->div[c]) {
            nd++;
            continue;
        }
        n++;
        s += j->chain_llc[c];
    }
    double mu = n ? s / n : NAN;
    for (int c = 0; c < j->chains; c++)
        if (!j->div[c]) s2 += (j->chain_llc[c] - mu) * (j->chain_llc[c] - mu);
    *mean = mu;
    *se = n >= 2 ? sqrt(s2 / (n - 1) / n) : NAN;
    *mala = mn ? ms / (double)mn : NAN;
    *n_div = nd;
}

/* ---------------- automatic step size ---------------- */

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
    ws = group_ws_alloc(p);
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
    rc = p->task->fill(p->task, p->dist, p->full_batch ? 0 : init_batch_index(cfg->seed, 0), b);
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
        job_setup(&j, p, eps, (long)c->burnin * scale, draws, thin, mala_every, stream);
    } else { /* automatic burn-in: the same simulated time at every eps */
        job_setup(&j, p, eps, half_max, draws, thin, mala_every, stream);
        j.burn_time = c->auto_time_burnin * p->time_unit;
    }
    if (c->auto_pilot_time > 0) { /* long enough to resolve the agreement tolerance */
        j.extend = 1;
        j.rel_se = 0.5 * c->auto_agree_tol;
        j.abs_se = p->exact_loss ? 0.0 : c->auto_abs_se;
        j.max_sample = half_max;
        double lim = (double)c->auto_max_extend * (double)draws * (double)thin;
        if (lim < (double)j.max_sample) j.max_sample = (long)lim;
    }
    int rc = job_alloc(&j);
    if (rc) {
        job_free(&j);
        return llc_fail(err, rc, "estimate: out of memory (pilot chains)");
    }
    rc = run_chains(&j, err);
    if (!rc) {
        out->eps = eps;
        job_summary(&j, &out->llc, &out->se, &out->mala, &out->n_div);
        out->ran = 1;
    }
    job_free(&j);
    return rc;
}

static int eps_auto_prepared(const prep *p, llc_eps_auto_result *out, char *err)
{
    const llc_estimate_config *c = p->cfg;
    double t0 = llc_now();
    memset(out, 0, sizeof *out);
    double h = NAN;
    int rc = curvature(p, &h, err);
    if (rc) return rc;
    out->curvature = h;
    out->precision = p->nbeta * h + c->gamma;
    double eps0;
    const char *start;
    /* RMSProp multiplies the step by G <= 1/delta in every direction */
    const double gmax = c->precond == LLC_PRECOND_RMSPROP ? 1.0 / c->rms_delta : 1.0;
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
 * adapted log eps). The burn-in runs burn_max steps, or with burn_time > 0
 * until that simulated time (and at most burn_max). The chains' end points
 * go to end ((chains, n), may be NULL); *rate gets the simulated time per
 * step in units of eps (for the automatic thin), burn_used[c] (may be NULL)
 * each chain's burn-in steps; *capped (may be NULL) is set to 1 if a chain's
 * burn-in stopped at burn_max before its simulated time. */
static int mh_adapt(const prep *p, long burn_max, double burn_time, float *end, llc_eps_auto_result *out,
                    double *rate, long *burn_used, int *capped, char *err)
{
    const llc_estimate_config *c = p->cfg;
    double t0 = llc_now();
    memset(out, 0, sizeof *out);
    double h = NAN;
    int rc = curvature(p, &h, err);
    if (rc) return rc;
    out->curvature = h;
    out->precision = p->nbeta * h + c->gamma;
    const double gmax = c->precond == LLC_PRECOND_RMSPROP ? 1.0 / c->rms_delta : 1.0;
    double eps0 = isfinite(out->precision) && out->precision > 0 ? 1.0 / (out->precision * gmax)
                                                                 : c->auto_eps_fallback / gmax;
    if (eps0 > 1) eps0 = 1;
    out->eps0 = eps0;
    chain_job j;
    job_setup(&j, p, eps0, burn_max, 0, 1, 0, p->hash);
    j.phase = 1;
    j.adapt = 1;
    j.burn_time = burn_time;
    j.end = end;
    rc = job_alloc(&j);
    if (rc) {
        job_free(&j);
        return llc_fail(err, rc, "estimate: out of memory (burn-in chains)");
    }
    rc = run_chains(&j, err);
    if (rc) {
        job_free(&j);
        return rc;
    }
    double sl = 0, sa = 0, sr = 0;
    int nok = 0;
    long bmax = 0;
    for (int k = 0; k < j.chains; k++) {
        if (burn_used) burn_used[k] = j.burn_steps[k];
        if (capped && j.capped[k]) *capped = 1;
        if (j.burn_steps[k] > bmax) bmax = j.burn_steps[k];
        if (j.div[k] || !isfinite(j.ad_logeps[k])) continue;
        sl += j.ad_logeps[k];
        sa += isfinite(j.ad_acc[k]) ? j.ad_acc[k] : 0;
        sr += isfinite(j.ad_rate[k]) ? j.ad_rate[k] : 0;
        nok++;
    }
    if (nok == 0) {
        out->eps = eps0;
        *rate = NAN;
        snprintf(out->reason, sizeof out->reason,
                 "metropolis: every chain diverged during the adaptive burn-in; eps left at eps0 = 1/p = %.3g", eps0);
    } else {
        out->eps = exp(sl / nok);
        *rate = sr / nok;
        snprintf(out->reason, sizeof out->reason,
                 "metropolis: eps adapted during the burn-in (%ld steps) to MH acceptance %.2f (target %.2f), "
                 "geometric mean over %d chains, from eps0 = 1/p = %.3g (h=%.4g, p=%.4g)",
                 bmax, sa / nok, c->mh_target, nok, eps0, h, out->precision);
    }
    job_free(&j);
    out->seconds = llc_now() - t0;
    return LLC_OK;
}

int llc_eps_auto(const llc_model *m, const float *w_star, const llc_group *g,
                 const llc_task *task, const llc_estimate_config *cfg,
                 llc_eps_auto_result *out, char *err)
{
    if (!out) return llc_fail(err, LLC_ERR_INVALID, "estimate: NULL result");
    prep p;
    int rc = prepare(&p, m, w_star, g, task, cfg, err);
    if (!rc) {
        if (p.metropolis) {
            double acc;
            rc = mh_adapt(&p, cfg->burnin >= 0 ? cfg->burnin : cfg->auto_max_steps / 2,
                          cfg->burnin >= 0 ? 0 : cfg->auto_time_burnin * p.time_unit, NULL, out, &acc, NULL, NULL,
                          err);
        } else {
            rc = eps_auto_prepared(&p, out, err);
        }
    }
    prep_free(&p);
    return rc;
}

/* ---------------- diagnostics ---------------- */

int llc_estimate_uses_metropolis(const llc_model *m, const float *w_star, const llc_group *g,
                                 const llc_task *task, const llc_estimate_config *cfg, int *metropolis,
                                 char *err)
{
    prep p;
    int rc = prepare(&p, m, w_star, g, task, cfg, err);
    if (!rc && metropolis) *metropolis = p.metropolis;
    prep_free(&p);
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

/* The sampling chains of an estimate at eps (job j, set up and run; the
 * caller frees it): automatic thin and lengths as documented in the header. */
static int sample_job(chain_job *j, const prep *p, double eps, long burnin, double burn_time, float *start,
                      double rate_est, char *err)
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
    job_setup(j, p, eps, burnin, cfg->draws, thin, cfg->mala_every, p->hash);
    j->dstream = p->data_hash;
    if (p->paired && cfg->pair_cache) {
        /* key: w* (its bytes), the batch stream and everything else that makes a batch's L_b(w*) */
        uint64_t key = llc_seed(p->wstar_hash, LLC_PURPOSE_DATA, p->data_hash, cfg->seed ^ ((uint64_t)cfg->dist << 32),
                                ((uint64_t)p->B << 32) ^ (uint64_t)(uintptr_t)m);
        if (pair_bind(cfg->pair_cache, key ? key : 1, cfg->chains))
            return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (paired-loss cache)");
        j->cache = cfg->pair_cache;
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
    if (job_alloc(j))
        return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (%d chains x %d draws)", cfg->chains,
                        cfg->draws);
    return run_chains(j, err);
}

int llc_estimate(const llc_model *m, const float *w_star, const llc_group *g,
                 const llc_task *task, const llc_estimate_config *cfg,
                 llc_estimate_result **out, char *err)
{
    double t0 = llc_now();
    int rc = LLC_OK;
    prep p;
    chain_job j;
    llc_estimate_result *r = NULL;
    double *ok_trace = NULL;
    float *start = NULL;
    long *burn_done = NULL; /* (chains) Metropolis path: the adaptive burn-in of each chain */
    int burn_capped = 0;
    memset(&j, 0, sizeof j);
    if (!out) return llc_fail(err, LLC_ERR_INVALID, "estimate: NULL result pointer");
    *out = NULL;
    rc = prepare(&p, m, w_star, g, task, cfg, err);
    if (rc) goto cleanup;
    r = calloc(1, sizeof *r);
    if (!r) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    r->eps = cfg->eps;
    const size_t C = (size_t)cfg->chains, D = (size_t)cfg->draws;
    const long half_max = cfg->auto_max_steps / 2;
    int two_phase = 0;
    double rate_est = 1.0; /* simulated time per step in units of eps */
    if (p.metropolis && cfg->mh_ladder > 1) {
        rate_est = 0;
        for (int q = 0; q < cfg->mh_ladder; q++) rate_est += pow(cfg->mh_ladder_ratio, -q) / cfg->mh_ladder;
    }
    if (!(cfg->eps > 0)) {
        if (p.metropolis) {
            /* adaptive burn-in: the chains' own burn-in sets eps; sampling continues from their end points */
            start = malloc(C * p.n * sizeof *start);
            burn_done = calloc(C, sizeof *burn_done);
            if (!start || !burn_done) {
                rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (%zu chain states)", C);
                goto cleanup;
            }
            rc = mh_adapt(&p, cfg->burnin >= 0 ? cfg->burnin : half_max,
                          cfg->burnin >= 0 ? 0 : cfg->auto_time_burnin * p.time_unit, start, &r->auto_eps, &rate_est,
                          burn_done, &burn_capped, err);
            if (rc) goto cleanup;
            if (!(rate_est > 0)) rate_est = 1.0;
            two_phase = 1;
        } else {
            rc = eps_auto_prepared(&p, &r->auto_eps, err);
            if (rc) goto cleanup;
        }
        r->eps = r->auto_eps.eps;
        r->eps_auto = 1;
    }

    /* lengths: explicit settings, else simulated time (see the header) */
    long burnin = cfg->burnin;
    double burn_time = 0;
    if (two_phase) {
        burnin = 0;
    } else if (cfg->burnin < 0) {
        burnin = half_max;
        burn_time = cfg->auto_time_burnin * p.time_unit;
    }
    /* plain SGLD: a run with a diverged chain is repeated at eps/2 (at most
     * diverge_retries times), so that a curve never loses a point to it */
    for (int attempt = 0;; attempt++) {
        rc = sample_job(&j, &p, r->eps, burnin, burn_time, start, rate_est, err);
        if (rc) goto cleanup;
        int n_div = 0;
        for (size_t c = 0; c < C; c++) n_div += j.div[c];
        if (!n_div || p.metropolis || attempt >= cfg->diverge_retries) break;
        size_t len = strlen(r->eps_note);
        snprintf(r->eps_note + len, sizeof r->eps_note - len, "%s%d of %d chains diverged at eps %.3g, retried at eps/2",
                 len ? "; " : "", n_div, cfg->chains, r->eps);
        r->retries++;
        r->eps /= 2;
        job_free(&j);
    }

    /* settings used */
    r->cfg = *cfg;
    r->cfg.eps = r->eps;
    r->chain_thin = malloc(C * sizeof *r->chain_thin);
    if (!r->chain_thin) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    r->thin = 0;
    r->steps_capped = burn_capped;
    r->sim_time = 0;
    for (size_t c = 0; c < C; c++) {
        r->chain_thin[c] = j.thin_used[c];
        if (j.thin_used[c] > r->thin) r->thin = j.thin_used[c];
        if (j.capped[c]) r->steps_capped = 1;
        r->sim_time += j.sim_time[c] / (double)C;
    }
    r->cfg.thin = r->thin > INT_MAX ? INT_MAX : (int)r->thin;
    if (r->eps_auto && r->retries) { /* the reason says what happened after the choice */
        size_t len = strlen(r->auto_eps.reason);
        snprintf(r->auto_eps.reason + len, sizeof r->auto_eps.reason - len, "; %s", r->eps_note);
    }
    r->metropolis = p.metropolis;
    r->exact_loss = p.exact_loss;
    r->paired = p.paired;
    r->chain_burnin = malloc(C * sizeof *r->chain_burnin);
    if (!r->chain_burnin) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    {
        long acc_n = 0, steps_n = 0, bmax = 0;
        for (size_t c = 0; c < C; c++) {
            r->chain_burnin[c] = (burn_done ? burn_done[c] : 0) + j.burn_steps[c];
            if (r->chain_burnin[c] > bmax) bmax = r->chain_burnin[c];
            acc_n += j.acc_n[c];
            steps_n += j.mala_n[c];
        }
        r->burnin = bmax;
        r->cfg.burnin = bmax > INT_MAX ? INT_MAX : (int)bmax;
        r->accept_rate = p.metropolis && steps_n ? (double)acc_n / (double)steps_n : NAN;
    }
    r->cfg.nbeta = p.nbeta;
    r->cfg.nbeta_mode = p.nbeta_mode;
    r->cfg.target_hash = p.hash;
    r->nbeta = p.nbeta;
    r->nbeta_mode = p.nbeta_mode;
    r->nbeta_n = p.nbeta_n;
    r->batch_used = p.B;
    r->full_batch = p.full_batch;
    r->init_batches_used = p.init_batches_used;
    r->init_exact = p.init_exact;
    r->n_examples = p.n_examples;
    r->init_loss = p.init_loss;
    r->chains = cfg->chains;
    r->draws = cfg->draws;

    /* per-chain values move to the result */
    r->trace = j.trace;
    r->chain_llc = j.chain_llc;
    r->chain_diverged = j.div;
    r->chain_diverged_at = j.div_at;
    j.trace = j.chain_llc = NULL;
    j.div = NULL;
    j.div_at = NULL;
    r->chain_mala = malloc(C * sizeof *r->chain_mala);
    ok_trace = malloc(C * D * sizeof *ok_trace);
    if (!r->chain_mala || !ok_trace) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory");
        goto cleanup;
    }

    int n_ok = 0;
    double s = 0, s2 = 0, ms = 0;
    long mn = 0, below = 0;
    for (size_t c = 0; c < C; c++) {
        r->chain_mala[c] = j.mala_n[c] ? j.mala_sum[c] / (double)j.mala_n[c] : NAN;
        ms += j.mala_sum[c];
        mn += j.mala_n[c];
        if (r->chain_diverged[c]) {
            r->n_diverged++;
            continue;
        }
        s += r->chain_llc[c];
        const double *tr = r->trace + c * D;
        for (size_t k = 0; k < D; k++) below += tr[k] < p.init_loss;
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
    r->seconds = llc_now() - t0;
    *out = r;
    r = NULL;
cleanup:
    free(ok_trace);
    free(start);
    free(burn_done);
    job_free(&j);
    llc_estimate_result_free(r);
    prep_free(&p);
    return rc;
}

static double result_se(const llc_estimate_result *r)
{
    int n = r->chains - r->n_diverged;
    return n >= 2 ? r->llc_std / sqrt((double)n) : NAN;
}

/* |b - a| <= max(5% of |a|, 2 combined standard errors) (NaN se counts as 0). */
static int moved_little(double a, double se_a, double b, double se_b)
{
    double se = sqrt((isfinite(se_a) ? se_a * se_a : 0) + (isfinite(se_b) ? se_b * se_b : 0));
    return isfinite(a) && isfinite(b) && fabs(b - a) <= fmax(0.05 * fabs(a), 2 * se);
}

int llc_estimate_check_bias(const llc_model *m, const float *w_star, const llc_group *g, const llc_task *task,
                            const llc_estimate_config *cfg, llc_estimate_result *r, char *err)
{
    if (!r || !cfg) return llc_fail(err, LLC_ERR_INVALID, "check bias: NULL argument");
    llc_estimate_result *rb = NULL, *rh = NULL;
    llc_bias_check *b = &r->bias;
    llc_estimate_config c = *cfg;
    c.eps = r->eps;
    c.pair_cache = NULL;
    c.nbeta = r->nbeta; /* the same posterior: m/log m would follow the batch */
    c.nbeta_mode = LLC_NBETA_GIVEN;
    c.batch = cfg->batch > (1 << 28) ? cfg->batch : 4 * cfg->batch;
    int rc = llc_estimate(m, w_star, g, task, &c, &rb, err);
    if (rc) goto cleanup;
    c.batch = cfg->batch;
    c.eps = r->eps / 2;
    rc = llc_estimate(m, w_star, g, task, &c, &rh, err);
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
    b->pass_batch = moved_little(b->llc, b->se, b->llc_batch, b->se_batch);
    b->pass_half = moved_little(b->llc, b->se, b->llc_half, b->se_half);
    b->pass = b->pass_batch && b->pass_half;
    b->done = 1;
cleanup:
    llc_estimate_result_free(rb);
    llc_estimate_result_free(rh);
    return rc;
}
