/* estimate_impl.h - what the files of the estimator share (internal to
 * llc/): the settings of one estimate resolved against the model and task
 * (estimate_prep.c), a run of chains (estimate_chain.c), the paired-loss
 * cache's entries (estimate_pairs.c) and the automatic step size
 * (estimate_eps.c). The contract is in llc_estimate.h. */
#ifndef LLC_ESTIMATE_IMPL_H
#define LLC_ESTIMATE_IMPL_H

#include "llc_estimate.h"

#define LLC_BURN_MIN 100    /* an automatic burn-in runs at least this many steps */
#define LLC_ADAPT_RATE 0.02 /* Robbins-Monro gain on log eps per step */
#define LLC_NBLOCKS 32      /* batch means for a chain's standard error */
#define LLC_ADAPT_BAND 0.1  /* an adaptive burn-in ends only with its acceptance within this of the target */

/* ---------------- resolved settings (estimate_prep.c) ---------------- */

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
    uint64_t wstar_hash; /* of w*'s bytes, for cfg->rt.pair_cache's keys (0 without one) */
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

/* Check cfg and resolve it for (m, w_star, g, task): batch, nbeta, L_n(w*),
 * exact loss, Metropolis and pairing. Free with est_prep_free (also after
 * an error). */
int est_prepare(prep *p, const llc_model *m, const float *w_star, const llc_group *g,
                const llc_task *task, const llc_estimate_config *cfg, char *err);
void est_prep_free(prep *p);
/* Batch index of L_n(w*)'s batch j. */
uint64_t est_init_batch_index(uint64_t seed, int j);
/* A workspace for SGLD batches whose gradients are read on the group only. */
void *est_group_ws_alloc(const prep *p);

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
    double le_max;      /* adapting: log eps stays <= this (0: eps <= 1) */
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
    const long *burnin_of; /* (chains) or NULL: chain c's burn-in steps, fixed (burnin and burn_time unused) */
    const long *thin_of;   /* (chains) or NULL: chain c's thin, fixed (thin unused; set extend = 0) */
    long *thin_used;    /* (chains) the thin each chain ended with */
    int *capped;        /* (chains) an automatic length stopped at the step budget */
    double *sim_time;   /* (chains) simulated time of the sampling steps */
} chain_job;

/* ---------------- chains (estimate_chain.c) ---------------- */

/* Zero j and set it up for p's chains at eps (sampler parameters from cfg). */
void est_job_setup(chain_job *j, const prep *p, double eps, long burnin, int draws, int thin, int mala_every,
                   uint64_t stream);
/* Allocate a job's outputs; free with est_job_free (also after an error). */
int est_job_alloc(chain_job *j);
void est_job_free(chain_job *j);
/* Run the job's chains on min(threads, chains) pthreads. */
int est_run_chains(chain_job *j, char *err);
/* Mean and standard error over the non-diverged chains; MALA mean. */
void est_job_summary(const chain_job *j, double *mean, double *se, double *mala, int *n_div);

/* ---------------- paired-loss cache (estimate_pairs.c) ---------------- */

/* L_n(w*) of key, if pc holds it (pc may be NULL). */
int est_init_get(const llc_pair_cache *pc, uint64_t key, double *L);
void est_init_put(llc_pair_cache *pc, uint64_t key, double L);
/* Make pc hold key with room for chains; forgets the losses of another key. */
int est_pair_bind(llc_pair_cache *pc, uint64_t key, int chains);
/* L_b(w*) of chain c's step k, if kept (pc may be NULL). */
int est_pair_get(llc_pair_cache *pc, int c, long k, double *L0);
/* The base record of chain c's step k, or NULL. */
const void *est_pair_rec(llc_pair_cache *pc, int c, long k);
/* Keep L0 of chain c's step k and a copy of its base record (NULL = none). */
int est_pair_put(llc_pair_cache *pc, int c, long k, double L0, const void *rec, size_t bytes);

/* ---------------- automatic step size (estimate_eps.c) ---------------- */

/* The plain-SGLD path: curvature, then the pilot ladder. */
int est_eps_auto_prepared(const prep *p, llc_eps_auto_result *out, char *err);
/* The Metropolis path: the chains' adaptive burn-in (see estimate_eps.c). */
int est_mh_adapt(const prep *p, long burn_max, double burn_time, float *end, llc_eps_auto_result *out,
                 double *rate, long *burn_used, int *capped, int *at_cap, char *err);

#endif
