/* llc_estimate_run.h - the estimate sweep over a run's checkpoints x
 * targets, GSL-style: the automatic step size chosen once per target at the
 * run's last checkpoint (unless eps is given or per_traj is off), the seeds
 * of each estimate's streams, the paired-loss cache shared by the targets at
 * a checkpoint, unusable checkpoints recorded as bad_checkpoint rows, the
 * optional bias check. Nothing printed: each event goes to a callback; an rc
 * and err come out.
 */
#ifndef LLC_ESTIMATE_RUN_H
#define LLC_ESTIMATE_RUN_H

#include "llc_estimate.h"
#include "llc_mpi.h"
#include "llc_store.h"

typedef enum {
    LLC_SWEEP_BAD_CHECKPOINT, /* step skipped: msg says why */
    LLC_SWEEP_EPS_CHOSEN,     /* target's step size chosen at ref_step: eps_auto */
    LLC_SWEEP_ESTIMATE        /* one estimate written: result */
} llc_sweep_event_kind;

typedef struct {
    llc_sweep_event_kind kind;
    long long step;
    const char *target;
    const char *msg;                       /* BAD_CHECKPOINT */
    const llc_eps_auto_result *eps_auto;   /* EPS_CHOSEN */
    const llc_estimate_result *result;     /* ESTIMATE */
    int negative;                          /* ESTIMATE: significantly below 0 */
    int done, skipped, total;
} llc_sweep_event;

typedef void (*llc_sweep_fn)(const llc_sweep_event *e, void *ctx);

typedef struct {
    const char *run;
    const char *config;          /* the run's stored config JSON (workers build the model from it) */
    llc_model *model;
    const llc_task *task;
    const llc_group *groups;     /* one per target */
    const char *const *targets;  /* their names */
    int n_targets;
    const long long *steps;      /* the checkpoints to estimate */
    int n_steps;
    long long ref_step;          /* where the automatic step size is chosen */
    int per_traj;                /* choose it once per target at ref_step */
    const char *data;            /* the distribution's name (ec.dist its index) */
    const char *settings;        /* the settings JSON stored with each row */
    int force, check_bias;
    size_t cache_bytes;          /* the pair cache's limit */
    llc_sweep_fn on_event;       /* may be NULL */
    void *ctx;
} llc_sweep_opts;

typedef struct {
    int done, skipped, diverged, negative, bias_fail, total;
    int n_bad, first_bad;         /* unusable checkpoints; the rc of the first */
    char first_bad_msg[LLC_ERRLEN];
    long pair_hits, pair_misses;  /* the pair cache's sharing (one process; 0 under mpirun) */
    double seconds;
    /* where the time went: units computed (step sizes, checkpoints), their
     * compute seconds (the estimates' own, summed over ranks), rank 0's
     * writes and their seconds; under mpirun rank 0's message bytes and
     * seconds in transfers */
    int units, writes;
    double unit_seconds, write_seconds, msg_bytes, msg_seconds;
} llc_sweep_result;

/* Run the sweep; ec is the base config (interrupt polled as in llc_estimate:
 * LLC_ERR_INTERRUPTED with the finished estimates kept). Unusable
 * checkpoints do not stop it: result->n_bad, rc LLC_OK. */
int llc_estimate_sweep(llc_store *store, const llc_estimate_config *ec, const llc_sweep_opts *o,
                       llc_sweep_result *result, char *err);

/* The sweep is a plan (what is stored already: skipped), then units
 * computed without the store, then each estimate written in its own
 * transaction as it comes: first the step size of every target to estimate
 * (per_traj, at ref_step), then one unit per checkpoint (its targets share
 * the pair cache). In one process the units run in order; under mpirun
 * (llc_mpi_size() > 1) rank 0 hands them to the workers as they free up and
 * the workers run the same two functions below, so the rows are the same
 * bits whatever the number of ranks and threads. */

/* A target's step size, as chosen at ref_step: state 1 the ladder's eps in
 * aut, 2 the Metropolis path (eps adapted per estimate), 3 Metropolis on
 * minibatches (adapted per estimate, capped by the ladder's eps in aut), 0
 * not chosen. */
typedef struct {
    int state;
    llc_eps_auto_result aut;
} llc_sweep_eps;

/* The groups of the targets named (as llc estimate names them); *out
 * calloc'd, each freed with llc_group_free. */
int llc_sweep_groups(const llc_model *model, const char *const *names, int n, llc_group **out, char *err);

/* Choose target ti's step size at w_ref (the checkpoint ref_step). */
int llc_sweep_choose_eps(const llc_sweep_opts *o, const llc_estimate_config *ec, const float *w_ref, int ti,
                         llc_sweep_eps *out, char *err);

/* Estimate target ti at checkpoint step (parameters w): its streams' seeds,
 * the step size eps chose (NULL or state 0: ec's), the bias check if
 * o->check_bias. pairs may be NULL. *out freed with llc_estimate_result_free. */
int llc_sweep_estimate(const llc_sweep_opts *o, const llc_estimate_config *ec, const float *w, long long step,
                       int ti, const llc_sweep_eps *eps, llc_pair_cache *pairs, llc_estimate_result **out, char *err);

/* An estimate as message bytes and back (the workers' results). */
int llc_estimate_result_pack(llc_pack *p, const llc_estimate_result *r);
int llc_estimate_result_unpack(llc_unpack *u, llc_estimate_result **out);

#endif
