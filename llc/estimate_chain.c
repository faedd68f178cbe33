/* estimate_chain.c - a run of chains of SGLD (chain_job, estimate_impl.h):
 * one chain's burn-in (with step-size adaptation) and sampling (with the
 * automatic length), spread over pthreads. */
#include "estimate_impl.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's thread control. Declared here rather than through OpenBLAS's
 * <cblas.h>, which clashes with GSL's gsl_cblas.h (pulled in by gsl_randist.h). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

typedef struct {
    chain_job *job;
    int tid, nthreads;
    int rc;
    char err[LLC_ERRLEN];
} worker_arg;

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
    if ((cb->cur = est_pair_rec(j->cache, c, k))) {
        est_pair_get(j->cache, c, k, &cb->L0);
        return LLC_OK;
    }
    size_t bytes = 0;
    int rc = cb->buf ? p->m->base_forward(p->m, ws, p->wstar, b, cb->buf, &bytes, &cb->L0)
                                : p->m->loss_grad(p->m, ws, p->wstar, b, NULL, &cb->L0);
    if (rc) return llc_fail(err, rc, "estimate: model loss at w* failed (%s)", llc_strerror(rc));
    if (cb->buf) cb->cur = cb->buf;
    if (est_pair_put(j->cache, c, k, cb->L0, cb->buf, bytes))
        return llc_fail(err, LLC_ERR_NOMEM, "estimate: out of memory (paired-loss cache)");
    return LLC_OK;
}

/* Steps per batch of job j's chains (llc_sgld_steps_per_batch). A block's
 * first step k (k % block == 0) fills the batch and makes its pass at w*. */
static long block_of(const chain_job *j) { return llc_sgld_steps_per_batch(&j->sp); }

static int fill_step(const chain_job *j, int c, long k, llc_batch *b, char *err)
{
    const prep *p = j->p;
    if ((p->full_batch && k > 0) || k % block_of(j)) return LLC_OK;
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
    if (j->p->cfg->rt.interrupt && *j->p->cfg->rt.interrupt)
        return llc_fail(err, LLC_ERR_INTERRUPTED, "estimate: interrupted");
    int rc = fill_step(j, c, k, b, err);
    if (rc) return rc;
    if (cb->use) {
        if (k % block_of(j) == 0 && (rc = base_at(j, c, k, ws, b, cb, err))) return rc;
        m->ws_base(m, ws, cb->cur, j->p->wstar);
    }
    rc = llc_sgld_step(s, m, ws, b, rng, L);
    if (cb->use) m->ws_base(m, ws, NULL, NULL);
    if (rc == LLC_ERR_NUMERIC) {
        j->div[c] = 1;
        j->div_at[c] = k;
        return rc;
    }
    if (rc) return llc_fail(err, rc, "estimate: SGLD step failed (%s)", llc_strerror(rc));
    return LLC_OK;
}

/* Chain c's burn-in from step 0, adapting eps when j->adapt: a fixed
 * number of steps, or (burn_time > 0) until that simulated time. *k gets
 * the steps run, *le_avg the adapted log eps; the diagnostics go to j. */
static int chain_burnin(chain_job *j, int c, llc_sgld *s, void *ws, llc_batch *b, gsl_rng *rng, chain_base *cb,
                        long *k_out, double *le_avg_out, char *err)
{
    double eps = j->sp.eps, le = log(eps), le_avg = le, acc_avg = NAN, rate_avg = NAN, time = 0;
    const long K = block_of(j), burnin = j->burnin_of ? j->burnin_of[c] : j->burnin;
    const double burn_time = j->burnin_of ? 0 : j->burn_time;
    long k = 0;
    llc_sgld_stats st;
    for (;; k++) {
        /* a burn-in ends between batch blocks: at its length or (automatic) with enough simulated time
         * and, adapting, the acceptance settled near the target or above it with eps held at its cap */
        if (k % K == 0 &&
            (k >= burnin ||
             (burn_time > 0 && time >= burn_time && k >= LLC_BURN_MIN &&
              (!j->adapt || fabs(acc_avg - j->target) <= LLC_ADAPT_BAND || (le >= j->le_max && acc_avg >= j->target)))))
            break;
        double L = NAN;
        int rc = chain_step(j, c, k, s, ws, b, rng, cb, &L, err);
        if (rc == LLC_ERR_NUMERIC) break; /* diverged, marked */
        if (rc) return rc;
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
                if (le > j->le_max) le = j->le_max; /* eps <= 1, or the minibatch ladder's eps */
                eps = exp(le);
                llc_sgld_set_eps(s, eps);
            }
            acc_avg = isnan(acc_avg) ? a : acc_avg + rho * (a - acc_avg);
        }
        le_avg += rho * (le - le_avg);
    }
    j->burn_steps[c] = k;
    j->capped[c] = burn_time > 0 && k >= burnin && !j->div[c];
    if (j->ad_logeps) j->ad_logeps[c] = le_avg;
    if (j->ad_acc) j->ad_acc[c] = acc_avg;
    if (j->ad_rate) j->ad_rate[c] = rate_avg;
    *k_out = k;
    *le_avg_out = le_avg;
    return LLC_OK;
}

/* Batch means of a chain's sampling steps: LLC_NBLOCKS blocks over its length. */
typedef struct {
    double sum[LLC_NBLOCKS];
    long cnt[LLC_NBLOCKS];
} block_means;

/* The end of chain c's sampling length *S (with j->extend), lam its
 * estimate so far: 1 to stop (the batch-means standard error meets the
 * precision target, or doubling would pass the step budget: capped); 0
 * after doubling *S and *thin (the blocks merged in pairs, the trace tr of
 * *nd values decimated). */
static int extend_length(chain_job *j, int c, double lam, block_means *bl, long *S, long *thin, double *tr, int *nd)
{
    double bm = 0, bv = 0;
    for (int q = 0; q < LLC_NBLOCKS; q++) bm += bl->sum[q] / (double)bl->cnt[q];
    bm /= LLC_NBLOCKS;
    for (int q = 0; q < LLC_NBLOCKS; q++) {
        double d = bl->sum[q] / (double)bl->cnt[q] - bm;
        bv += d * d;
    }
    double se = j->p->nbeta * sqrt(bv / (LLC_NBLOCKS - 1) / LLC_NBLOCKS);
    if (se <= sqrt((double)j->chains) * fmax(j->rel_se * fabs(lam), j->abs_se)) return 1;
    if (2 * *S > j->max_sample) {
        j->capped[c] = 1;
        return 1;
    }
    for (int q = 0; q < LLC_NBLOCKS / 2; q++) {
        bl->sum[q] = bl->sum[2 * q] + bl->sum[2 * q + 1];
        bl->cnt[q] = bl->cnt[2 * q] + bl->cnt[2 * q + 1];
    }
    memset(bl->sum + LLC_NBLOCKS / 2, 0, sizeof bl->sum / 2);
    memset(bl->cnt + LLC_NBLOCKS / 2, 0, sizeof bl->cnt / 2);
    for (int q = 0; 2 * q < *nd; q++) tr[q] = tr[2 * q];
    *nd = (*nd + 1) / 2;
    *S *= 2;
    *thin *= 2;
    return 0;
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
    double sum = 0, le_avg = 0;
    long nsum = 0, k = 0;
    llc_sgld_stats st;
    j->div[c] = 0;
    j->div_at[c] = -1;
    if ((rc = chain_burnin(j, c, s, ws, b, rng, cb, &k, &le_avg, err))) return rc;
    /* sampling: draws*thin steps; with extend, doubled (thin doubled, the
     * trace decimated) until the chain's batch-means standard error is small
     * enough or the step budget is used */
    const long k0 = k, K = block_of(j); /* k0 and thin are multiples of K */
    const double ref = p->paired ? 0.0 : p->init_loss; /* paired: sum holds L_b(w_k) - L_b(w*) */
    long thin = j->thin_of ? j->thin_of[c] : j->thin, S = (long)j->draws * thin;
    block_means bl;
    memset(&bl, 0, sizeof bl);
    if (j->adapt && !j->div[c]) llc_sgld_set_eps(s, exp(le_avg));
    for (; !j->div[c]; k++) {
        if (k - k0 == S && /* end of this length: stop, or double */
            (!j->extend || extend_length(j, c, p->nbeta * (sum / (double)nsum - ref), &bl, &S, &thin, tr, &nd)))
            break;
        double L = NAN, L0 = 0;
        rc = chain_step(j, c, k, s, ws, b, rng, cb, &L, err);
        if (rc == LLC_ERR_NUMERIC) break; /* diverged, marked */
        if (rc) return rc;
        llc_sgld_get_stats(s, &st);
        j->sim_time[c] += st.last_eps * (j->sp.metropolis && isfinite(st.mala_last) ? st.mala_last : 1.0);
        /* batch blocks: later steps of a block start from points that moved
         * under its batch; only the first one's point is independent of it */
        if (k % K) continue;
        /* the same batch at w*: a control variate (the step's record has it) */
        if (p->paired && cb->use) {
            L0 = cb->L0;
        } else if (p->paired && !est_pair_get(j->cache, c, k, &L0)) {
            if ((rc = base_at(j, c, k, ws, b, cb, err))) return rc;
            L0 = cb->L0;
        }
        sum += L - L0;
        nsum++;
        int q = (int)((double)(k - k0) * LLC_NBLOCKS / (double)S);
        bl.sum[q] += L - L0;
        bl.cnt[q]++;
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
    return LLC_OK;
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
    ws = est_group_ws_alloc(p);
    b = llc_task_batch_alloc(p->task, p->B);
    rng = llc_rng_new(0);
    if (!s || !ws || !b || !rng) {
        wa->rc = llc_fail(wa->err, LLC_ERR_NOMEM, "estimate: out of memory (chain workspace)");
        goto cleanup;
    }
    /* base records: kept for the targets after this one (paired sampling
     * computes the pass anyway) unless none follows (cfg->pair_records = 0),
     * used when this target's steps can (the sampling phase, whose paired
     * losses need the pass; any phase with batch blocks, where one pass
     * serves a block's K+1 evaluations) */
    const size_t rec_size = p->m->base_size && p->paired ? p->m->base_size(p->m, p->B) : 0;
    cb.use = rec_size > 0 && (j->phase == 0 || block_of(j) > 1) && p->m->ws_base(p->m, ws, NULL, NULL);
    const int keep = rec_size > 0 && j->cache && p->cfg->rt.pair_records;
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

/* Allocate a job's outputs; free with est_job_free. */
int est_job_alloc(chain_job *j)
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

void est_job_free(chain_job *j)
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

int est_run_chains(chain_job *j, char *err)
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

void est_job_setup(chain_job *j, const prep *p, double eps, long burnin, int draws, int thin, int mala_every,
                   uint64_t stream)
{
    const llc_estimate_config *c = p->cfg;
    memset(j, 0, sizeof *j);
    j->p = p;
    /* the user's sampler parameters, with what this job and the estimate resolved */
    j->sp = c->sgld;
    j->sp.eps = eps;
    j->sp.nbeta = p->nbeta;
    j->sp.mala_every = mala_every;
    j->sp.ref_loss = p->init_loss;
    j->sp.metropolis = p->metropolis;
    j->sp.exact_loss = p->exact_loss;
    j->chains = c->chains;
    j->burnin = burnin;
    j->draws = draws;
    j->thin = thin;
    j->threads = c->rt.threads;
    j->stream = stream;
    j->dstream = stream;
    j->target = p->exact_loss ? c->mh_target : c->mh_target_batch;
    j->le_max = 0;
}

/* Mean and standard error over the non-diverged chains; MALA mean. */
void est_job_summary(const chain_job *j, double *mean, double *se, double *mala, int *n_div)
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
