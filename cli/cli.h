/* cli.h - the llc program's shared pieces: option parsing, exit codes,
 * progress lines, opening the store and building a run's task and model.
 * Only cli/ prints to the user or exits. */
#ifndef LLC_CLI_H
#define LLC_CLI_H

#include <signal.h>
#include <stdio.h>
#include "llc_common.h"
#include "llc_config.h"
#include "llc_model.h"
#include "llc_run.h"
#include "llc_store.h"
#include "llc_tasks.h"
#include "llc_train.h"

/* Exit codes (documented in README and llc --help). */
enum {
    EXIT_OK = 0,
    EXIT_REGRESSION = 1, /* llc check: an estimate regressed beyond tolerance */
    EXIT_USAGE = 2,      /* bad command line, config key or value */
    EXIT_IO = 3,         /* a file could not be read or written */
    EXIT_STORE = 4,      /* store error: locked, read-only, full disk, corrupt */
    EXIT_NOTFOUND = 5,   /* unknown run, task, checkpoint, target */
    EXIT_EXISTS = 6,     /* run id already exists */
    EXIT_NUMERIC = 7,    /* training or sampling went NaN/inf */
    EXIT_SCHEMA = 8,     /* not an llc store, or a newer schema */
    EXIT_INTERRUPTED = 9,
    EXIT_NOMEM = 10
};
int cli_exit_code(int rc);

/* A parsed command line: --name value / --name=value / flags. */
#define CLI_MAX_OPTS 64
typedef struct {
    const char *name; /* without dashes */
    int takes_value;  /* 0 flag, 1 value, 2 repeatable value */
    const char *help;
} cli_optdef;

typedef struct {
    const char *cmd;
    const cli_optdef *defs;
    int n;
    const char *name[CLI_MAX_OPTS];
    const char *value[CLI_MAX_OPTS];
    int quiet, verbose;
} cli_args;

/* Parse argv (after the command word). Prints the error and returns EXIT_USAGE
 * on unknown options or missing values; returns -1 if --help was printed. */
int cli_parse(cli_args *a, const char *cmd, const char *usage, const cli_optdef *defs, int argc, char **argv);
const char *cli_get(const cli_args *a, const char *name); /* last value or NULL */
int cli_has(const cli_args *a, const char *name);
/* Iterate repeated values: returns the i-th value of name or NULL. */
const char *cli_get_nth(const cli_args *a, const char *name, int i);
int cli_get_ll(const cli_args *a, const char *name, long long def, long long lo, long long hi, long long *out);
int cli_get_double(const cli_args *a, const char *name, double def, double lo, double hi, double *out);

/* "llc: " + message on stderr, one line. Returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Database path: --db, else $LLC_DB, else ./llc.db. */
const char *cli_db_path(const cli_args *a);
int cli_open_store(const cli_args *a, int flags, llc_store **out);

/* Find a file under the data directories (llc_data_dir: $LLC_DATA, the
 * installed share/llc, the source tree's data/).
 * Writes the path into out; returns 0 if found. */
int cli_data_path(const char *rel, char *out, size_t n);
/* Read a whole file (malloc'd, NUL-terminated): a regular file of at most
 * CLI_FILE_MAX bytes (config and baseline files; a device or a pipe could
 * stream without end). NULL on failure, the reason in why (LLC_ERRLEN bytes,
 * may be NULL). */
#define CLI_FILE_MAX (1 << 20)
char *cli_read_file(const char *path, size_t *len, char *why);


/* End of every command: flush and close stdout; a failed write anywhere in
 * the output (disk full, /dev/full, a closed pipe) is reported here, once, and
 * turns exit 0 into EXIT_IO. Returns the exit code to use. */
int cli_finish_stdout(int code);

/* An output file written whole or not at all: cli_out_open writes into a
 * temporary file beside path (refusing a path that exists and is not a
 * regular file); cli_out_close flushes, checks every write and renames it
 * onto path; on any failure the temporary file is removed and one line says
 * why. Both return 0 or an exit code (message printed). */
typedef struct {
    FILE *f;
    char *path, *tmp;
    int err; /* errno of the first failure */
} cli_outfile;
int cli_out_open(cli_outfile *o, const char *cmd, const char *path, int binary);
/* Flush and close the temporary file, keeping why it failed (call right
 * after the last write when other files follow); cli_out_close renames. */
void cli_out_finish(cli_outfile *o);
int cli_out_close(cli_outfile *o, const char *cmd);
void cli_out_abort(cli_outfile *o); /* removes the temporary file */

/* One run opened by a command: the store, the run's row, and (cli_open_run)
 * its config rebuilt into task and model, and (cli_run_weights) a buffer
 * for one checkpoint's weights. Zero-initialise, open with cli_open_run or
 * cli_find_run, close with cli_run_close (also after a failed open). */
typedef struct {
    const char *id; /* the run id as given */
    llc_store *store;
    llc_run_info info;
    cJSON *config; /* the stored config, parsed */
    llc_task *task;
    llc_model *model;
    float *w; /* n_params floats (cli_run_weights): the checkpoint of cli_run_checkpoint */
    size_t n_params;
} cli_run;

/* Open the store (flags as llc_store_open) and the run, and rebuild its task
 * and model from the stored config. Returns 0 or an exit code (the message
 * printed, naming a->cmd). */
int cli_open_run(const cli_args *a, int flags, const char *run, cli_run *r);
/* Only the store and the run's row (no task, model or weights). */
int cli_find_run(const cli_args *a, int flags, const char *run, cli_run *r);
void cli_run_close(cli_run *r);
/* The model as a transformer, else NULL with one line "<cmd>: run R is a K
 * model; <need> needs a transformer" printed. */
const llc_tf_config *cli_run_transformer(const cli_args *a, const cli_run *r, const char *need);
/* Allocate r->w (once). Returns 0 or EXIT_NOMEM (message printed). */
int cli_run_weights(const cli_args *a, cli_run *r);
/* Read the checkpoint at step into r->w (allocated if need be). Returns 0 or an exit code. */
int cli_run_checkpoint(const cli_args *a, cli_run *r, long long step);
/* The run's checkpoint steps selected by --steps (cli_select_steps; *steps
 * malloc'd); with last, the run's last step. An empty run is EXIT_NOTFOUND. */
int cli_run_steps(const cli_args *a, const cli_run *r, long long **steps, int *n, long long *last);
/* The index of the task's distribution named data into *dist; else prints
 * the distributions it has and returns EXIT_NOTFOUND. */
int cli_task_dist(const char *cmd, const llc_task *task, const char *data, int *dist);


/* Progress on stderr, unless quiet: a line redrawn in place when stderr is
 * a terminal (on = 1), whole lines every 5 s under mpirun (on = 2). */
typedef struct {
    int on;
    double t0, last;
    const char *what;
} cli_progress;
void cli_progress_start(cli_progress *p, const cli_args *a, const char *what);
void cli_progress_update(cli_progress *p, double done, double total, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cli_progress_end(cli_progress *p);

/* Checkpoint steps selected by a --steps spec of command cmd: NULL = all,
 * "A:B" a range, "every:K" every K-th (and the last), or "S1,S2,..." (each
 * must exist). *out malloc'd. Returns 0 or an exit code (message printed). */
int cli_select_steps(const char *cmd, const char *spec, const long long *all, int n_all, long long **out, int *n);

/* A bare --set key (no "section.") that neither model, train nor the data
 * settings of task task_name know: prints one line naming all three and the
 * closest known key ("did you mean model.n_heads?") and returns EXIT_USAGE;
 * else 0. */
int cli_check_set_key(const char *cmd, const char *task_name, const char *assignment);

/* A head name "L.H": decimal layer, '.', decimal head. */
int cli_valid_head(const char *s);

/* SIGINT/SIGTERM in the long commands (train, estimate): the first signal
 * sets cli_signal_caught (its number), which the work polls at its safe
 * points (a training step; an SGLD step, through
 * llc_estimate_config.rt.interrupt) to stop with exit 9 after committing or
 * rolling back; a second signal ends the process at once (default action). */
extern volatile sig_atomic_t cli_signal_caught;
void cli_catch_signals(void);
const char *cli_signal_name(int sig); /* "SIGINT", "SIGTERM", else "a signal" */

/* Memory and disk a job needs (cli/mem.c). cli_vm_size: the process's
 * address space in bytes (0 if unknown). cli_mem_check: will a job fit
 * that still allocates `data` bytes (and touches them), already holds
 * `mapped` bytes it will touch, calls BLAS from blas_callers threads and
 * creates new_threads threads? Past the address-space limit (ulimit -v) it
 * is refused always, past the machine's memory unless force; the error is
 * printed and EXIT_NOMEM returned.
 * cli_rss_size: its resident memory. cli_disk_check: do `bytes` fit on the file system of the store at
 * db_path? Else (unless force) the error is printed, EXIT_USAGE returned. */
size_t cli_vm_size(void);
size_t cli_rss_size(void); /* resident bytes, 0 if unknown */
int cli_mem_check(const char *cmd, size_t data, size_t mapped, int blas_callers, int new_threads, int force);
size_t cli_mem_need(size_t data, size_t mapped); /* the memory such a job needs, as cli_mem_check counts it */
/* Keep freed blocks up to 32 MiB in the process (glibc's mmap and trim
 * thresholds) instead of returning them to the system, so that a workspace
 * freed and allocated again (the probes make one per head and checkpoint)
 * does not fault its pages in again each time. Numbers are unchanged. */
void cli_keep_freed_memory(void);
int cli_disk_check(const char *cmd, const char *db_path, double bytes, int force);

/* Online CPU cores (>= 1). */
long cli_cores(void);

/* The full config of a new run from the options --task, --config, --set,
 * --seed, --steps and --init (those a has: cli/cmd_train.c). Returns 0 or
 * an exit code (message printed, naming a->cmd). */
int cli_train_config(const cli_args *a, cJSON **out);

/* --group G / --runs 'GLOB' in argv (cli/run_each.c): *handled = 1 and fn
 * is called once per selected run (id order) with those options replaced by
 * --run ID and {run} in --out replaced; returns the first nonzero exit code.
 * Unknown group or empty match: exit 5 naming what exists. Without either
 * option *handled = 0 and nothing is done. */
int cli_run_each(const char *cmd, int (*fn)(int, char **), int argc, char **argv, int *handled);

/* Run ids: 1-64 of [A-Za-z0-9_.-]. */
int cli_valid_run_id(const char *id);

/* Subcommands. */
int cmd_train(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_paper(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_theory(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_curves(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* Run argv (argv[0] NULL: this llc) and wait; see cli/spawn.c. */
int cli_spawn_wait(char **argv, const char *log, double *seconds, double *rss_mb);
int cli_spawn_wait_cpu(char **argv, const char *log, double *seconds, double *rss_mb, double *cpu);
/* The last line of text file f into out ("" if none). */
void cli_last_line(const char *f, char *out, size_t n);
/* llc bench's scratch: a directory /tmp/llc-bench-KIND-XXXXXX, its store
 * (scratch.db) and the children's stderr (log). make: an exit code, the
 * message in err (dir "" on failure, so remove does nothing). train: config
 * file `file` into the store as run `run` by a child `llc train` (steps
 * NULL: the config's), its wall seconds into *tt (may be NULL); an exit
 * code, the log's last line in err. remove: the store, then (unless
 * keep_log, for a failure's message) the log and the directory. */
typedef struct {
    char dir[64], db[256], log[256];
} cli_scratch;
int cli_scratch_make(cli_scratch *sc, const char *kind, char *err);
int cli_scratch_train(const cli_scratch *sc, const char *file, const char *run, const char *steps, double *tt,
                      char *err);
void cli_scratch_remove(const cli_scratch *sc, int keep_log);
/* llc bench --mh-cost (cli/cmd_bench_mh.c): the cost of the minibatch
 * default against plain SGLD into js under "mh_cost"; an exit code. */
int cli_bench_mh(const char *config, int reps, cJSON *js);
/* llc bench --mpi (cli/cmd_bench_mpi.c): an exit code. */
int cli_bench_mpi(const char *curve, int draws, const char *steps, const char *json);
int cmd_plot(int argc, char **argv);     /* cli/cmd_plot.c */
int cmd_export(int argc, char **argv);   /* cli/cmd_export.c */
int cmd_baseline(int argc, char **argv); /* cli/cmd_check.c */
int cmd_check(int argc, char **argv);    /* cli/cmd_check.c */
int cmd_probe(int argc, char **argv);    /* cli/cmd_probe.c */
int cmd_stages(int argc, char **argv);     /* cli/cmd_stages.c */
int cmd_cluster(int argc, char **argv);    /* cli/cmd_cluster.c */
int cmd_trajectory(int argc, char **argv); /* cli/cmd_trajectory.c */
int cmd_eval(int argc, char **argv);       /* cli/cmd_eval.c */
int cmd_sweep(int argc, char **argv);      /* cli/cmd_sweep.c */

#endif
