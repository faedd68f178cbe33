/* llc_query.h - a run's rows of one table of the store, column by column,
 * for writers that keep every column as stored (llc export):
 *
 *   curves       run, target, data, step, llc_mean, llc_std (the curves view)
 *   estimates    every column of estimates
 *   checkpoints  run, step, train_loss, test_loss, n_params (params bytes / 4)
 *   log          run, step, loss, lr, grad_norm, elapsed (train_log)
 *
 * Rows are ordered by step (curves and estimates: by target, data, step,
 * and estimates then by id).
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

#endif
