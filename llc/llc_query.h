/* llc_query.h - read-only queries of the store for the writers above it:
 * a run's rows of one table column by column, for writers that keep every
 * column as stored (llc export):
 *
 *   curves       run, target, data, step, llc_mean, llc_std (the curves view)
 *   estimates    every column of estimates
 *   checkpoints  run, step, train_loss, test_loss, n_params (params bytes / 4)
 *   log          run, step, loss, lr, grad_norm, elapsed (train_log)
 *
 * Rows are ordered by step (curves and estimates: by target, data, step,
 * and estimates then by id); and typed rows for the pictures and the
 * report (llc plot, llc report): checkpoint losses, the newest estimate of
 * a point with its chains' traces, every estimate's diagnostics.
 */
#ifndef LLC_QUERY_H
#define LLC_QUERY_H

#include "llc_store.h"

typedef enum { LLC_QUERY_CURVES, LLC_QUERY_ESTIMATES, LLC_QUERY_CHECKPOINTS, LLC_QUERY_LOG } llc_query_table;

/* The table called name ("curves", "estimates", "checkpoints", "log"), or -1. */
int llc_query_table_named(const char *name);

/* One column value as stored; text valid only during the callback. */
typedef enum { LLC_VALUE_NULL, LLC_VALUE_INT, LLC_VALUE_REAL, LLC_VALUE_TEXT, LLC_VALUE_BLOB } llc_value_type;
typedef struct {
    llc_value_type type;
    long long i;      /* INT */
    double d;         /* REAL */
    const char *text; /* TEXT */
    size_t bytes;     /* BLOB: its size (the bytes are not read) */
} llc_value;

/* Called once with row = NULL before the rows (the column names, for a
 * header), then once per row. A nonzero return stops the query and is
 * what llc_query_rows returns. */
typedef int (*llc_row_fn)(void *ctx, int n_cols, const char *const *names, const llc_value *row);

/* The rows of table t for run (only step *step if step != NULL). */
int llc_query_rows(llc_store *s, llc_query_table t, const char *run, const long long *step, llc_row_fn fn,
                   void *ctx);

/* A checkpoint's losses (NAN where NULL). */
typedef struct {
    long long step;
    double train_loss, test_loss;
} llc_query_losses_row;

/* The losses of every checkpoint of run, by step. *out malloc'd (NULL when *n = 0). */
int llc_query_losses(llc_store *s, const char *run, llc_query_losses_row **out, int *n);

/* An estimate as a trace picture shows it (NAN where NULL). */
typedef struct {
    long long id, burnin, thin, n_diverged;
    double eps, gamma, nbeta, init_loss, llc_mean, llc_std, rhat;
    char data[64], sampler[32], status[32];
    char trace[16]; /* diagnostics.trace: "paired" when the traces hold L_b(w_k) - L_b(w*) + L_n(w*) */
    int paired;
} llc_query_estimate;

/* The newest estimate of target at (run, step) on data (NULL: any data);
 * LLC_ERR_NOTFOUND if there is none. */
int llc_query_newest_estimate(llc_store *s, const char *run, long long step, const char *target, const char *data,
                              llc_query_estimate *out);

/* A chain of an estimate: its λ̂ (NAN where NULL), whether and where
 * (-1: NULL) it diverged, and its loss trace (n values, malloc'd). */
typedef struct {
    int chain, diverged, n;
    long long diverged_at;
    double llc;
    double *trace;
} llc_query_chain;

/* The chains of estimate id, by chain. *out malloc'd (NULL when *n = 0). */
int llc_query_chains(llc_store *s, long long id, llc_query_chain **out, int *n);
void llc_query_chains_free(llc_query_chain *c, int n);

/* What the report's diagnostics table shows of an estimate (NAN where NULL;
 * text "" where NULL). */
typedef struct {
    long long step;
    char target[64], data[64], status[32];
    double llc_mean, llc_std, rhat, mala_accept, eps;
    int chains, n_diverged;
} llc_query_diag_row;

/* Every estimate of run, by target, data, step, id. *out malloc'd. */
int llc_query_diagnostics(llc_store *s, const char *run, llc_query_diag_row **out, int *n);

#endif
