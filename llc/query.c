/* query.c - read-only queries of the store for export, plots and the report; see llc_query.h. */
#include "llc_query.h"
#include "llc_store_sql.h"

#include <math.h>
#include <stdint.h>
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

/* Column c of st, NAN where NULL. */
static double col_or_nan(sqlite3_stmt *st, int c)
{
    return sqlite3_column_type(st, c) == SQLITE_NULL ? NAN : sqlite3_column_double(st, c);
}

/* Column c of st into buf (n bytes), "" where NULL. */
static void col_text(sqlite3_stmt *st, int c, char *buf, size_t n)
{
    const char *t = (const char *)sqlite3_column_text(st, c);
    snprintf(buf, n, "%s", t ? t : "");
}

/* The rows of st into *out (n rows of sz bytes, malloc'd; NULL when none),
 * each filled by fill (which returns 0 or LLC_ERR_NOMEM); finalizes st. On
 * failure drop (if given) frees what the filled rows own. */
static int read_rows(llc_store *s, sqlite3_stmt *st, const char *doing, size_t sz,
                     int (*fill)(sqlite3_stmt *st, void *row), void (*drop)(void *rows, int n), void **out, int *n)
{
    char *r = NULL;
    int rc = LLC_OK, src, k = 0, cap = 0;
    *out = NULL;
    *n = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? 2 * cap : 64;
            char *p = realloc(r, (size_t)cap * sz);
            if (!p) { rc = LLC_ERR_NOMEM; goto cleanup; }
            r = p;
        }
        memset(r + (size_t)k * sz, 0, sz);
        rc = fill(st, r + (size_t)k * sz);
        k++;
        if (rc) goto cleanup;
    }
    if (src != SQLITE_DONE) {
        rc = llc_store_sql_fail(s, doing);
        goto cleanup;
    }
    *out = r;
    *n = k;
    r = NULL;
cleanup:
    sqlite3_finalize(st);
    if (r && drop) drop(r, k);
    else free(r);
    return rc;
}

static int fill_losses(sqlite3_stmt *st, void *row)
{
    *(llc_query_losses_row *)row = (llc_query_losses_row){sqlite3_column_int64(st, 0), col_or_nan(st, 1),
                                                         col_or_nan(st, 2)};
    return LLC_OK;
}

int llc_query_losses(llc_store *s, const char *run, llc_query_losses_row **out, int *n)
{
    static const char doing[] = "reading the run's checkpoint losses";
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s), "SELECT step, train_loss, test_loss FROM checkpoints WHERE run=?1 "
                           "ORDER BY step", -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, doing);
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    return read_rows(s, st, doing, sizeof **out, fill_losses, NULL, (void **)out, n);
}
int llc_query_newest_estimate(llc_store *s, const char *run, long long step, const char *target, const char *data,
                              llc_query_estimate *out)
{
    static const char doing[] = "reading an estimate";
    sqlite3_stmt *st = NULL;
    int rc = LLC_OK, src;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT id, data, sampler, eps, gamma, nbeta, burnin, thin, init_loss, llc_mean, "
                           "llc_std, status, n_diverged, rhat, paired, json_extract(diagnostics, '$.trace') "
                           "FROM estimates WHERE run=?1 AND step=?2 AND target=?3 AND (?4 IS NULL OR data=?4) "
                           "ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, doing);
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    if (data) sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 4);
    if ((src = sqlite3_step(st)) == SQLITE_DONE) {
        rc = LLC_ERR_NOTFOUND;
        goto cleanup;
    }
    if (src != SQLITE_ROW) {
        rc = llc_store_sql_fail(s, doing);
        goto cleanup;
    }
    out->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, out->data, sizeof out->data);
    col_text(st, 2, out->sampler, sizeof out->sampler);
    out->eps = col_or_nan(st, 3);
    out->gamma = col_or_nan(st, 4);
    out->nbeta = col_or_nan(st, 5);
    out->burnin = sqlite3_column_int64(st, 6);
    out->thin = sqlite3_column_int64(st, 7);
    out->init_loss = col_or_nan(st, 8);
    out->llc_mean = col_or_nan(st, 9);
    out->llc_std = col_or_nan(st, 10);
    col_text(st, 11, out->status, sizeof out->status);
    out->n_diverged = sqlite3_column_int64(st, 12);
    out->rhat = col_or_nan(st, 13);
    out->paired = sqlite3_column_int(st, 14);
    col_text(st, 15, out->trace, sizeof out->trace);
cleanup:
    sqlite3_finalize(st);
    return rc;
}

void llc_query_chains_free(llc_query_chain *c, int n)
{
    for (int k = 0; k < n && c; k++) free(c[k].trace);
    free(c);
}

static int fill_chain(sqlite3_stmt *st, void *row)
{
    llc_query_chain *r = row;
    r->chain = sqlite3_column_int(st, 0);
    r->llc = col_or_nan(st, 1);
    r->diverged = sqlite3_column_int(st, 2);
    r->diverged_at = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
    const unsigned char *blob = sqlite3_column_blob(st, 4);
    int n = sqlite3_column_bytes(st, 4) / 8;
    if (!(r->trace = malloc((size_t)(n > 0 ? n : 1) * sizeof *r->trace))) return LLC_ERR_NOMEM;
    r->n = n;
    for (int i = 0; i < n; i++) { /* little-endian float64 */
        uint64_t u = 0;
        for (int b = 7; b >= 0; b--) u = (u << 8) | blob[8 * i + b];
        memcpy(&r->trace[i], &u, sizeof u);
    }
    return LLC_OK;
}

static void drop_chains(void *rows, int n)
{
    llc_query_chains_free(rows, n);
}

int llc_query_chains(llc_store *s, long long id, llc_query_chain **out, int *n)
{
    static const char doing[] = "reading an estimate's chains";
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT chain, llc, diverged, diverged_at, trace FROM estimate_chains WHERE estimate=?1 "
                           "ORDER BY chain",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, doing);
    sqlite3_bind_int64(st, 1, id);
    return read_rows(s, st, doing, sizeof **out, fill_chain, drop_chains, (void **)out, n);
}

static int fill_diag(sqlite3_stmt *st, void *row)
{
    llc_query_diag_row *q = row;
    q->step = sqlite3_column_int64(st, 0);
    col_text(st, 1, q->target, sizeof q->target);
    col_text(st, 2, q->data, sizeof q->data);
    col_text(st, 3, q->status, sizeof q->status);
    q->llc_mean = col_or_nan(st, 4);
    q->llc_std = col_or_nan(st, 5);
    q->chains = sqlite3_column_int(st, 6);
    q->n_diverged = sqlite3_column_int(st, 7);
    q->rhat = col_or_nan(st, 8);
    q->mala_accept = col_or_nan(st, 9);
    q->eps = col_or_nan(st, 10);
    return LLC_OK;
}

int llc_query_diagnostics(llc_store *s, const char *run, llc_query_diag_row **out, int *n)
{
    static const char doing[] = "reading the run's estimates";
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT step, target, data, status, llc_mean, llc_std, chains, n_diverged, rhat, "
                           "mala_accept, eps FROM estimates WHERE run=?1 ORDER BY target, data, step, id",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, doing);
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    return read_rows(s, st, doing, sizeof **out, fill_diag, NULL, (void **)out, n);
}
