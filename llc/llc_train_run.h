/* llc_train_run.h - training a run into the store, GSL-style: create or
 * resume the run, follow the checkpoint schedule, write each checkpoint with
 * its resume state, and leave the run 'done', or 'failed' with a message
 * saying why and from where it resumes. Nothing printed: progress goes to a
 * callback, the size check to another, an rc and err come out.
 */
#ifndef LLC_TRAIN_RUN_H
#define LLC_TRAIN_RUN_H

#include <signal.h>
#include "llc_run.h"
#include "llc_store.h"

/* What the run will take, known before anything is allocated or written. */
typedef struct {
    const char *run;
    size_t n_params;
    size_t state_bytes;  /* the optimizer's resume state */
    size_t trainer_min;  /* the trainer without the model's workspace */
    size_t data;         /* the other buffers (resume state, parameter copy, log) */
    int n_left;          /* checkpoints still to write */
    double ckpt_bytes;   /* one checkpoint row */
    double disk;         /* what the store will grow by */
    long long start;     /* the step training starts from */
    long long tokens_per_step;
    int allocated;       /* 0 before the trainer is allocated, 1 after */
} llc_train_plan;

/* Called before the trainer is allocated and once more after: nonzero stops
 * the run there (nothing written the first time), the rc is LLC_OK and
 * result.stopped set. */
typedef int (*llc_train_check_fn)(const llc_train_plan *plan, void *ctx);
/* Called after each training step. */
typedef void (*llc_train_progress_fn)(long long step, long long steps, long long start, double loss,
                                      double elapsed, void *ctx);

/* A run trained away from its store (a worker rank of a sweep under
 * mpirun, llc/mpi_worker.c): what the store holds of the run, read by the
 * store's owner and sent along, and the functions its writes go to instead
 * of the store (each returns an rc). llc_train_run then takes store NULL;
 * the writes are the same calls, in the same order, as with a store, so the
 * owner applying them (llc_train_run_create, llc_store_run_set_status,
 * llc_store_checkpoint_put) gets the same rows. */
typedef struct {
    int exists;                 /* the run row exists: its normalised config and status */
    const char *config, *status;
    int has_state;              /* it has a resume state */
    long long state_step;
    const void *state;
    size_t state_bytes;
    long long blob_max;         /* the store's largest BLOB (llc_store_blob_max) */
    int (*create)(void *ctx, const char *run, const char *task, const char *config, long long n_params,
                  unsigned long long seed);
    int (*set_status)(void *ctx, const char *run, const char *status, const char *message);
    int (*checkpoint)(void *ctx, const char *run, long long step, double train_loss, double test_loss,
                      const float *params, size_t n_params, const llc_log_row *log, int n_log, const void *state,
                      size_t state_bytes);
    void *ctx;
} llc_train_sink;

typedef struct {
    int resume;                 /* continue an existing run; else an existing run is LLC_ERR_EXISTS */
    int dry_run;                /* stop after the plan and its checks (nothing written) */
    llc_train_check_fn check;   /* may be NULL */
    llc_train_progress_fn progress; /* may be NULL */
    void *ctx;
    const char *group;          /* a new run joins this (existing) group with its varied settings, */
    const llc_vary_kv *vary;    /* in the transaction that creates it (may be NULL) */
    int n_vary;
    const llc_train_sink *sink; /* NULL: the store (see llc_train_sink) */
} llc_train_run_opts;

typedef struct {
    llc_task *task;       /* owned by the caller afterwards (llc_train_result_free) */
    llc_model *model;
    llc_train_config tc;
    int already_done;     /* --resume of a complete run: nothing done */
    int stopped;          /* dry_run or a check callback stopped it */
    int signal;           /* the interrupt flag's value when it stopped the run */
    int n_sched;
    double train_loss, test_loss, seconds;
} llc_train_result;

/* Train run_id from config (a full config object, as llc_run_build takes)
 * into store. interrupt is polled at each step (a safe point: the last
 * checkpoint and its resume state are committed); when set, the run is
 * marked failed and the rc is LLC_ERR_INTERRUPTED. err says what failed. */
int llc_train_run(llc_store *store, const char *run_id, const cJSON *config, const llc_train_run_opts *opts,
                  const volatile sig_atomic_t *interrupt, llc_train_result *result, char *err);
void llc_train_result_free(llc_train_result *r);

/* Create run id (status 'running'), with its group's tags in the same
 * transaction when group is not NULL: a run of a group is never untagged. */
int llc_train_run_create(llc_store *store, const char *id, const char *task, const char *config, long long n_params,
                         unsigned long long seed, const char *group, const llc_vary_kv *vary, int n_vary);

#endif
