/* llc_store.h - the SQLite store: runs, checkpoints, the training log, the
 * trainer's resume state (and, from schema v2 on, estimates; see llc/llc_results.h).
 *
 * Schema version LLC_SCHEMA_VERSION (PRAGMA user_version; v1 these tables,
 * v2 the estimates, v3 their sampling columns, v4 the checksums, v5 the head
 * probes of llc/llc_probe_results.h, v6 the stages, clusters and trajectory
 * of llc/llc_analysis_results.h, v7 the run groups of sweeps), WAL mode, busy timeout, foreign keys.
 * The table and column names below are the contract users' queries rely on:
 *
 *   runs(id TEXT PRIMARY KEY, task TEXT, config TEXT (full JSON), n_params INTEGER,
 *        status TEXT ('running','done','failed'), created TEXT (ISO-8601 UTC),
 *        version TEXT, seed INTEGER, message TEXT)
 *   checkpoints(run TEXT, step INTEGER, train_loss REAL, test_loss REAL,
 *        params BLOB (n_params little-endian float32), created TEXT,
 *        params_sum INTEGER (checksum of params), PRIMARY KEY(run, step))
 *   train_log(run TEXT, step INTEGER, loss REAL, lr REAL, grad_norm REAL,
 *        elapsed REAL, PRIMARY KEY(run, step))
 *   train_state(run TEXT PRIMARY KEY, step INTEGER, state BLOB,
 *        state_sum INTEGER)  -- optimiser state at the newest checkpoint, for
 *        bit-identical resume, and its checksum
 *
 * Ownership: the handle owns its sqlite3 connection; strings returned inside
 * structs are owned by the struct and freed by the matching _free function.
 * Every multi-row write is one transaction: a checkpoint, its log rows and the
 * resume state land together or not at all.
 */
#ifndef LLC_STORE_H
#define LLC_STORE_H

#include "llc_common.h"

#define LLC_SCHEMA_VERSION 7

typedef struct llc_store llc_store;
struct sqlite3;

/* The checksum stored with every checkpoint's params and resume state
 * (params_sum, state_sum; see core/store.c): damage, not forgery. */
uint64_t llc_sum64(const void *data, size_t n);

enum { LLC_STORE_RW = 0, LLC_STORE_READONLY = 1 };

/* Open (creating if absent, unless READONLY) and migrate to the current schema.
 * Errors: LLC_ERR_SCHEMA for a newer schema or a file that is not an llc store
 * (not SQLite, another application's database, or empty when READONLY),
 * LLC_ERR_NOTFOUND if READONLY and the file does not exist, LLC_ERR_STORE for
 * others; the message in err names the file. */
int llc_store_open(const char *path, int flags, llc_store **out, char *err);
void llc_store_close(llc_store *s);
/* Last error text on the handle. */
const char *llc_store_errmsg(const llc_store *s);
/* The largest BLOB the store takes (SQLite's length limit), in bytes. */
long long llc_store_blob_max(llc_store *s);

typedef struct {
    char *id, *task, *config, *status, *created, *version, *message;
    long long n_params;
    unsigned long long seed;
} llc_run_info;
void llc_run_info_free(llc_run_info *r); /* frees the strings, not r */

/* 1 if id is a valid run id: 1-64 letters, digits, '_', '-', '.'. */
int llc_run_id_valid(const char *id);
/* Insert a new run with status 'running'. LLC_ERR_EXISTS if the id is taken. */
int llc_store_run_create(llc_store *s, const char *id, const char *task,
                         const char *config_json, long long n_params,
                         unsigned long long seed);
/* LLC_ERR_NOTFOUND if there is no such run. */
int llc_store_run_get(llc_store *s, const char *id, llc_run_info *out);
int llc_store_run_set_status(llc_store *s, const char *id, const char *status,
                             const char *message /* nullable */);
/* All runs ordered by created, id; *out is an array of *n infos (free each
 * with llc_run_info_free, then free(*out)). */
int llc_store_run_list(llc_store *s, llc_run_info **out, int *n);

typedef struct {
    long long step;
    double loss, lr, grad_norm, elapsed;
} llc_log_row;

/* One transaction: the checkpoint row (params as LE float32), the log rows
 * (may be 0), and the resume state (state may be NULL). Replaces an existing
 * checkpoint of the same (run, step) only if its params are bit-identical
 * (idempotent re-runs); otherwise LLC_ERR_EXISTS. */
int llc_store_checkpoint_put(llc_store *s, const char *run, long long step,
                             double train_loss, double test_loss,
                             const float *params, size_t n_params,
                             const llc_log_row *log, int n_log,
                             const void *state, size_t state_bytes);
/* Read a checkpoint into params (n_params floats). LLC_ERR_NOTFOUND if absent;
 * LLC_ERR_INVALID if the BLOB has the wrong size; LLC_ERR_NUMERIC if it holds
 * NaN/inf; LLC_ERR_STORE if it does not match its checksum (the message names
 * the run and step). Losses may be NULL. */
int llc_store_checkpoint_get(llc_store *s, const char *run, long long step,
                             float *params, size_t n_params,
                             double *train_loss, double *test_loss);
/* A checkpoint's params BLOB as stored (little-endian float32, unchecked:
 * read it with llc_store_checkpoint_get to check it) and its losses (NAN
 * where NULL; may be NULL). *blob malloc'd. LLC_ERR_NOTFOUND if absent. */
int llc_store_checkpoint_raw(llc_store *s, const char *run, long long step, void **blob, size_t *bytes,
                             double *train_loss, double *test_loss);
/* Steps of a run's checkpoints, ascending; caller frees *steps. */
int llc_store_checkpoint_steps(llc_store *s, const char *run, long long **steps, int *n);
/* The resume state; *state malloc'd (caller frees), LLC_ERR_NOTFOUND if none,
 * LLC_ERR_STORE if it does not match its checksum. */
int llc_store_train_state_get(llc_store *s, const char *run, long long *step,
                              void **state, size_t *state_bytes);

/* The rule "the newest 'ok' estimate of a point (run, target, data, step)"
 * as an SQL condition on a row e of estimates: the curves view is defined
 * by it, and so is every query for the estimate behind a curve point. */
#define LLC_SQL_NEWEST_OK                                                                           \
    "e.status = 'ok' AND e.id = (SELECT max(x.id) FROM estimates x WHERE x.run = e.run"            \
    " AND x.target = e.target AND x.data = e.data AND x.step = e.step AND x.status = 'ok')"

/* Transactions for callers that group their own writes (BEGIN IMMEDIATE). */
int llc_store_begin(llc_store *s);
int llc_store_commit(llc_store *s);
int llc_store_rollback(llc_store *s);

/* ---- run groups (schema v7): the runs of a sweep ----
 * groups(grp TEXT PRIMARY KEY, spec TEXT (JSON), created TEXT, version TEXT)
 * run_groups(run TEXT PRIMARY KEY, grp TEXT)    -- a run's group, at most one
 * run_vary(run TEXT, key TEXT, value TEXT (JSON), PRIMARY KEY(run, key))
 */
typedef struct {
    const char *key, *value; /* value as JSON text */
} llc_vary_kv;
void llc_strings_free(char **v, int n); /* each string, then the array */
/* The group's spec (*spec malloc'd); LLC_ERR_NOTFOUND if there is no such group. */
int llc_store_group_get(llc_store *s, const char *grp, char **spec);
/* Create the group with spec if absent; LLC_ERR_EXISTS if it exists with
 * another spec (the message quotes it). */
int llc_store_group_put(llc_store *s, const char *grp, const char *spec);
int llc_store_group_list(llc_store *s, char ***names, int *n); /* sorted; llc_strings_free */
/* The group of run into *grp (malloc'd), NULL if it has none. */
int llc_store_run_group(llc_store *s, const char *run, char **grp);
/* The settings a sweep varied for run, in the order it varied them
 * (*n = 0 for a run of no group); llc_strings_free both. */
int llc_store_run_vary(llc_store *s, const char *run, char ***keys, char ***values, int *n);
/* Tag an existing run with an existing group and its varied settings (one
 * transaction, nested in the caller's if one is open). */
int llc_store_run_tag(llc_store *s, const char *run, const char *grp, const llc_vary_kv *kv, int n);
/* The ids of the runs of group grp, or of the runs whose id matches the
 * SQLite GLOB pattern glob (exactly one of the two), sorted by id
 * (llc_strings_free). None: LLC_ERR_NOTFOUND, the message naming the groups
 * or runs that exist. */
int llc_store_runs_select(llc_store *s, const char *grp, const char *glob, char ***ids, int *n);

#endif
