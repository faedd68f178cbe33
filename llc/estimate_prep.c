/* estimate_prep.c - the settings of one estimate resolved against the
 * model and task: the SGLD batch, nbeta, L_n(w*) and whether the SGLD loss is
 * exact (llc_estimate.h). */
#include "estimate_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

void est_prep_free(prep *p) { llc_group_free(&p->whole); }

static int find_dist(const llc_task *t, const char *name)
{
    for (int i = 0; i < t->n_dists; i++)
        if (t->dists[i] && !strcmp(t->dists[i], name)) return i;
    return -1;
}

uint64_t est_init_batch_index(uint64_t seed, int j)
{
    return llc_seed(seed, LLC_PURPOSE_DATA, 0, LLC_INIT_STREAM, (uint64_t)j) >> 24;
}

/* L_n(w*): exact over the whole set (one batch of n) when the distribution
 * is finite and no larger than the sampled budget init_batches*batch;
 * otherwise the mean over init_batches batches of B. The same for every
 * target at one w*: kept in cfg->rt.pair_cache. */
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
    if (est_init_get(p->cfg->rt.pair_cache, key, &p->init_loss)) {
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
        rc = p->task->fill(p->task, p->dist, p->init_exact ? 0 : est_init_batch_index(p->cfg->seed, j), b);
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
    est_init_put(p->cfg->rt.pair_cache, key, p->init_loss);
    if (!isfinite(p->init_loss))
        rc = llc_fail(err, LLC_ERR_NUMERIC, "estimate: L_n(w*) is not finite (%g)", p->init_loss);
cleanup:
    if (ws) p->m->ws_free(ws);
    llc_batch_free(b);
    return rc;
}

/* A workspace for SGLD batches whose gradients are read on the group only
 * (the model may then skip the rest: llc_model.ws_need). */
void *est_group_ws_alloc(const prep *p)
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
    void *ws = est_group_ws_alloc(p);
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
        rc = p->task->fill(p->task, p->dist, est_init_batch_index(p->cfg->seed, k), b);
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

int est_prepare(prep *p, const llc_model *m, const float *w_star, const llc_group *g,
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
    p->wstar_hash = cfg->rt.pair_cache ? llc_hash_bytes(w_star, p->n * sizeof(float)) : 0;
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
    p->hash = cfg->rt.target_hash ? cfg->rt.target_hash : llc_hash_str(g->name);
    p->data_hash = cfg->rt.data_hash ? cfg->rt.data_hash : p->hash;
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
        mode = cfg->sgld.nbeta > 0 ? LLC_NBETA_GIVEN : (n_train > 0 ? LLC_NBETA_N_LOG_N : LLC_NBETA_M_LOG_M);
    switch (mode) {
    case LLC_NBETA_GIVEN:
        p->nbeta = cfg->sgld.nbeta;
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
    p->time_unit = cfg->sgld.gamma > 0 ? 1.0 / cfg->sgld.gamma : 1.0;
    rc = compute_init_loss(p, err);
    if (!rc) rc = detect_exact(p, err);
    if (rc) return rc;
    p->metropolis = cfg->metropolis == LLC_MH_ON || (cfg->metropolis != LLC_MH_OFF && p->exact_loss) ||
                    (cfg->metropolis == LLC_MH_AUTO && !(cfg->sgld.eps > 0));
    p->paired = cfg->paired < 0 ? !p->exact_loss : cfg->paired;
    return LLC_OK;
}
