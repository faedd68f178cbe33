/* llc_sweep.h - a sweep: the cross product of varied settings trained as
 * runs of one group, GSL-style. First a plan (every run's id, config and
 * varied values, known before anything is written), then the runs trained,
 * each independently: a finished run is skipped, an interrupted one resumes
 * from its last checkpoint. Library code: an rc and err, nothing printed.
 *
 * Run ids: GROUP, then per varied key in the order given "-NAMEVALUE", where
 * NAME is the key's last part ("train.lr" -> "lr"; the whole key with '.' as
 * '_' when two keys share a last part) and VALUE the value as typed when it
 * is made of letters, digits, '.', '_' and '-' (at most 16 characters), else
 * its 0-based position in the key's list: `--vary seed=1..2 --vary
 * 'clamps=[],[{...}]' --group ih` gives ih-seed1-clamps0, ih-seed1-clamps1,
 * ih-seed2-clamps0, ih-seed2-clamps1. The same command gives the same ids.
 */
#ifndef LLC_SWEEP_H
#define LLC_SWEEP_H

#include <signal.h>
#include "llc_store.h"
#include "llc_train_run.h"

typedef struct {
    char *key;     /* as given: seed, train.lr, model.clamps, n_pairs ... */
    char **text;   /* each value as typed (ranges expanded) */
    char **json;   /* each value as JSON text, as it lands in the config */
    int n;
} llc_sweep_axis;

typedef struct {
    char *id;
    cJSON *config;      /* the full config given to llc_train_run */
    char *config_json;  /* the same, compact JSON (to hand the run to another process) */
    llc_vary_kv *vary;  /* n_axes (key, JSON value), pointing into the axes */
    long long steps;    /* training steps */
} llc_sweep_run;

typedef struct {
    char *group;
    char *spec; /* the group's spec: {"base": normalised base config, "vary": [keys]} */
    llc_sweep_axis *axes;
    int n_axes;
    llc_sweep_run *runs;
    int n_runs;
} llc_sweep_plan;

/* Split one --vary argument "key=V1,V2,..." into an axis: values split at
 * commas outside brackets, braces and double quotes, "a..b" an integer range
 * a, a+1, ..., b. LLC_ERR_INVALID for a missing '=', an empty value or an
 * empty range (a > b). */
int llc_sweep_axis_parse(const char *arg, llc_sweep_axis *axis, char *err);
void llc_sweep_axis_free(llc_sweep_axis *axis);

/* Plan the sweep of base (a config object as llc_train_run takes, left
 * untouched) over the --vary arguments: every run of the cross product
 * (the first key varies slowest), each config built and checked.
 * LLC_ERR_INVALID for a bad group name, bad --vary, a key varied twice, two
 * runs with the same id or an id over 64 characters; a config that does
 * not build keeps its rc (the message names the run). */
int llc_sweep_plan_make(const cJSON *base, const char *group, const char *const *vary, int n_vary,
                        llc_sweep_plan *plan, char *err);
void llc_sweep_plan_free(llc_sweep_plan *plan);

/* Check the plan against the store, then create the group (nothing is
 * written when a check fails): LLC_ERR_INVALID if the group exists with
 * another spec, LLC_ERR_EXISTS if a planned run id is taken by a run that
 * is not in the group. */
int llc_sweep_prepare(llc_store *store, const llc_sweep_plan *plan, char *err);
/* The same checks, nothing written. */
int llc_sweep_check(llc_store *store, const llc_sweep_plan *plan, char *err);

/* Train run i of a prepared plan into store: created with its group and
 * varied settings, resumed if interrupted, nothing done if finished
 * (result->already_done). opts may be NULL; its resume and group fields are
 * set here. Whatever thread calls it, the run is single-threaded, so its
 * checkpoints do not depend on how many run at once. */
int llc_sweep_train_one(llc_store *store, const llc_sweep_plan *plan, int i, const llc_train_run_opts *opts,
                        volatile sig_atomic_t *interrupt, llc_train_result *result, char *err);

/* Where a sweep is, for a progress line. */
typedef struct {
    int n_runs, n_done, n_skipped, n_running, n_failed;
    int n_ranks; /* the worker ranks of an MPI job the runs went to (0: this process's threads) */
    long long steps_done, steps_total; /* training steps of all the runs (a finished run counts whole) */
} llc_sweep_status;
typedef void (*llc_sweep_progress_fn)(const llc_sweep_status *st, void *ctx);

/* Train every run of a prepared plan on jobs threads (>= 1), each with its
 * own connection to the store at db_path. Under mpirun (llc_mpi_size() > 1)
 * the runs go to the worker ranks instead, one run a unit, each trained on
 * one thread, with no store (llc_train_sink): this rank, the only one that
 * opens the store, writes what they send (jobs is not used). progress (may be NULL) is called
 * from one thread at a time. After an error no new run is started; the rc
 * and err are those of the first failure (err naming the run). *status
 * (may be NULL) is the final state. */
int llc_sweep_train_all(const char *db_path, const llc_sweep_plan *plan, int jobs, llc_sweep_progress_fn progress,
                  void *ctx, volatile sig_atomic_t *interrupt, llc_sweep_status *status, char *err);

/* The RESULT messages of a run trained on a worker rank (llc/mpi_worker.c
 * sends them, llc_sweep_train_all writes them): the writes of
 * llc_train_sink, then where the run is, then its end. */
enum {
    LLC_SWEEP_MPI_CREATE,     /* task, config, n_params, seed */
    LLC_SWEEP_MPI_STATUS,     /* status, has a message, message */
    LLC_SWEEP_MPI_CHECKPOINT, /* step, losses, counts, then params, log rows, resume state */
    LLC_SWEEP_MPI_PROGRESS,   /* training steps done */
    LLC_SWEEP_MPI_FINISHED    /* already done (nothing trained) */
};

#endif
