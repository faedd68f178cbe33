/* query.c - a run's rows of one table of the store; see llc_query.h. */
#include "llc_query.h"
#include "llc_store_sql.h"

#include <stdlib.h>
#include <string.h>

static const char *const table_names[] = {"curves", "estimates", "checkpoints", "log"};

/* ?1 = run, ?2 = step or NULL for every step. */
static const char *const table_sql[] = {
    "SELECT run, target, data, step, llc_mean, llc_std FROM curves "
    "WHERE run=?1 AND (?2 IS NULL OR step=?2) ORDER BY target, data, step",
    "SELECT * FROM estimates WHERE run=?1 AND (?2 IS NULL OR step=?2) ORDER BY target, data, step, id",
    "SELECT run, step, train_loss, test_loss, length(params) / 4 AS n_params "
    "FROM checkpoints WHERE run=?1 AND (?2 IS NULL OR step=?2) ORDER BY step",
    "SELECT run, step, loss, lr, grad_norm, elapsed FROM train_log "
    "WHERE run=?1 AND (?2 IS NULL OR step=?2) ORDER BY step",
};

int llc_query_table_named(const char *name)
{
    for (int t = 0; t < (int)(sizeof table_names / sizeof *table_names); t++)
        if (name && strcmp(name, table_names[t]) == 0) return t;
    return -1;
}

int llc_query_rows(llc_store *s, llc_query_table t, const char *run, const long long *step, llc_row_fn fn,
                   void *ctx)
{
    sqlite3_stmt *st = NULL;
    const char **names = NULL;
    llc_value *v = NULL;
    char doing[160];
    int rc, nc;
    if ((unsigned)t >= sizeof table_sql / sizeof *table_sql) return LLC_ERR_INVALID;
    snprintf(doing, sizeof doing, "reading %s of run '%.64s'", table_names[t], run);
    if (sqlite3_prepare_v2(llc_store_db(s), table_sql[t], -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, doing);
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (step) sqlite3_bind_int64(st, 2, *step);
    else sqlite3_bind_null(st, 2);
    nc = sqlite3_column_count(st);
    names = calloc((size_t)nc + 1, sizeof *names);
    v = calloc((size_t)nc + 1, sizeof *v);
    if (!names || !v) { rc = LLC_ERR_NOMEM; goto cleanup; }
    for (int c = 0; c < nc; c++) names[c] = sqlite3_column_name(st, c);
    if ((rc = fn(ctx, nc, names, NULL))) goto cleanup;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < nc; c++) {
            llc_value *x = &v[c];
            memset(x, 0, sizeof *x);
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL: x->type = LLC_VALUE_NULL; break;
            case SQLITE_INTEGER: x->type = LLC_VALUE_INT; x->i = sqlite3_column_int64(st, c); break;
            case SQLITE_FLOAT: x->type = LLC_VALUE_REAL; x->d = sqlite3_column_double(st, c); break;
            case SQLITE_BLOB: x->type = LLC_VALUE_BLOB; x->bytes = (size_t)sqlite3_column_bytes(st, c); break;
            default:
                x->type = LLC_VALUE_TEXT;
                if (!(x->text = (const char *)sqlite3_column_text(st, c))) { rc = LLC_ERR_NOMEM; goto cleanup; }
                break;
            }
        }
        if ((rc = fn(ctx, nc, names, v))) goto cleanup;
    }
    if (src != SQLITE_DONE) rc = llc_store_sql_fail(s, doing);
cleanup:
    sqlite3_finalize(st);
    free(names);
    free(v);
    return rc;
}
