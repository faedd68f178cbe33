/* results.c - estimates in the store; see llc_results.h. */
#include "llc_results.h"
#include "llc_store_sql.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The row with these keys: LLC_OK with its id (and *failed = 1 if it only
 * records a failure, LLC_RESULTS_BAD_CHECKPOINT), LLC_ERR_NOTFOUND if none. */
static int find_row(llc_store *s, const char *run, long long step, const char *target, const char *data,
                    const char *settings, long long *id, int *failed)
{
    sqlite3 *db = llc_store_db(s);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT id, status = '" LLC_RESULTS_BAD_CHECKPOINT "' FROM estimates WHERE run=?1 "
                                "AND step=?2 AND target=?3 AND data=?4 AND settings=?5",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) return LLC_ERR_STORE;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, settings, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    int out = LLC_ERR_NOTFOUND;
    if (rc == SQLITE_ROW) {
        if (id) *id = sqlite3_column_int64(st, 0);
        if (failed) *failed = sqlite3_column_int(st, 1);
        out = LLC_OK;
    } else if (rc != SQLITE_DONE) {
        out = LLC_ERR_STORE;
    }
    sqlite3_finalize(st);
    return out;
}

int llc_results_find(llc_store *s, const char *run, long long step, const char *target,
                     const char *data, const char *settings, long long *id)
{
    int failed = 0;
    int rc = find_row(s, run, step, target, data, settings, id, &failed);
    return rc == LLC_OK && failed ? LLC_ERR_NOTFOUND : rc;
}

/* Delete the row with id (its chain rows go by the cascade or by the
 * insert's own clean-up). Returns 0 or -1 (SQLite error). */
static int delete_row(sqlite3 *db, long long id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "DELETE FROM estimates WHERE id=?1", -1, &st, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v)) sqlite3_bind_double(st, i, v);
    else sqlite3_bind_null(st, i);
}

static char *diagnostics_json(const llc_estimate_result *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddBoolToObject(o, "full_batch", r->full_batch);
    /* what the stored loss traces hold (llc plot --kind trace reads it) */
    cJSON_AddStringToObject(o, "trace", r->paired ? "paired" : "loss");
    cJSON_AddBoolToObject(o, "init_exact", r->init_exact);
    cJSON_AddNumberToObject(o, "init_batches_used", r->init_batches_used);
    cJSON_AddNumberToObject(o, "nbeta_n", (double)r->nbeta_n);
    cJSON_AddNumberToObject(o, "n_examples", (double)r->n_examples);
    if (r->eps_auto) {
        const llc_eps_auto_result *a = &r->auto_eps;
        cJSON *ae = cJSON_AddObjectToObject(o, "eps_auto");
        cJSON_AddNumberToObject(ae, "eps", a->eps);
        cJSON_AddStringToObject(ae, "reason", a->reason);
        if (isfinite(a->curvature)) cJSON_AddNumberToObject(ae, "curvature", a->curvature);
        if (isfinite(a->precision)) cJSON_AddNumberToObject(ae, "precision", a->precision);
        cJSON_AddNumberToObject(ae, "eps0", a->eps0);
        cJSON_AddNumberToObject(ae, "seconds", a->seconds);
        cJSON *rungs = cJSON_AddArrayToObject(ae, "rungs");
        for (int i = 0; i < a->n_rungs; i++) {
            const llc_eps_rung *g = &a->rung[i];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "eps", g->eps);
            if (isfinite(g->llc)) cJSON_AddNumberToObject(e, "llc", g->llc);
            if (isfinite(g->se)) cJSON_AddNumberToObject(e, "se", g->se);
            if (isfinite(g->mala)) cJSON_AddNumberToObject(e, "mala", g->mala);
            cJSON_AddNumberToObject(e, "diverged", g->n_diverged);
            if (isfinite(g->llc_quarter)) cJSON_AddNumberToObject(e, "llc_quarter", g->llc_quarter);
            cJSON_AddBoolToObject(e, "passed", g->passed);
            cJSON_AddItemToArray(rungs, e);
        }
    }
    if (r->bias.done) {
        const llc_bias_check *b = &r->bias;
        cJSON *bc = cJSON_AddObjectToObject(o, "bias_check");
        cJSON_AddBoolToObject(bc, "pass", b->pass);
        cJSON_AddNumberToObject(bc, "batch", b->batch);
        if (isfinite(b->nbeta)) cJSON_AddNumberToObject(bc, "nbeta", b->nbeta);
        if (isfinite(b->llc_batch)) cJSON_AddNumberToObject(bc, "llc_batch", b->llc_batch);
        if (isfinite(b->se_batch)) cJSON_AddNumberToObject(bc, "se_batch", b->se_batch);
        cJSON_AddBoolToObject(bc, "pass_batch", b->pass_batch);
        cJSON_AddNumberToObject(bc, "eps_half", b->eps_half);
        if (isfinite(b->llc_half)) cJSON_AddNumberToObject(bc, "llc_half", b->llc_half);
        if (isfinite(b->se_half)) cJSON_AddNumberToObject(bc, "se_half", b->se_half);
        cJSON_AddBoolToObject(bc, "pass_half", b->pass_half);
        cJSON_AddNumberToObject(bc, "abs_tol", b->abs_tol);
        cJSON_AddNumberToObject(bc, "steps", (double)b->steps);
        cJSON_AddNumberToObject(bc, "steps_batch", (double)b->steps_batch);
        cJSON_AddNumberToObject(bc, "steps_half", (double)b->steps_half);
        cJSON_AddNumberToObject(bc, "burnin_batch", (double)b->burnin_batch);
        cJSON_AddNumberToObject(bc, "burnin_half", (double)b->burnin_half);
    }
    if (r->retries) cJSON_AddNumberToObject(o, "diverge_retries", r->retries);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Insert the estimate row of r with diagnostics diag; *id = its rowid.
 * Nonzero: the connection's error says why. */
static int insert_estimate(sqlite3 *db, const char *run, long long step, const char *target, const char *data,
                           const char *settings, long long n_params, const llc_estimate_result *r, const char *diag,
                           long long *id)
{
    static const char sql[] =
        "INSERT INTO estimates(run, step, target, data, settings, sampler, eps, eps_auto, eps_reason, gamma, "
        "nbeta, nbeta_mode, chains, draws, burnin, thin, batch, init_batches, seed, n_params, init_loss, "
        "llc_mean, llc_std, status, n_diverged, frac_below, rhat, mala_accept, diagnostics, seconds, version, "
        "metropolis, accept_rate, exact_loss, paired, sim_time, steps_capped) "
        "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,"
        "?27,?28,?29,?30,?31,?32,?33,?34,?35,?36,?37)";
    const llc_estimate_config *c = &r->cfg;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, settings, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, llc_precond_name(c->sgld.precond), -1, SQLITE_STATIC);
    bind_real(st, 7, r->eps);
    sqlite3_bind_int(st, 8, r->eps_auto);
    char given[LLC_REASON_LEN + 16];
    snprintf(given, sizeof given, "given%s%s", r->eps_note[0] ? "; " : "", r->eps_note);
    sqlite3_bind_text(st, 9, r->eps_auto ? r->auto_eps.reason : given, -1, SQLITE_STATIC);
    bind_real(st, 10, c->sgld.gamma);
    bind_real(st, 11, r->nbeta);
    sqlite3_bind_text(st, 12, llc_nbeta_mode_name(r->nbeta_mode), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 13, r->chains);
    sqlite3_bind_int(st, 14, r->draws);
    sqlite3_bind_int(st, 15, c->burnin);
    sqlite3_bind_int(st, 16, c->thin);
    sqlite3_bind_int(st, 17, r->batch_used);
    sqlite3_bind_int(st, 18, r->init_batches_used);
    sqlite3_bind_int64(st, 19, (sqlite3_int64)c->seed);
    sqlite3_bind_int64(st, 20, n_params);
    bind_real(st, 21, r->init_loss);
    bind_real(st, 22, r->llc_mean);
    bind_real(st, 23, r->llc_std);
    sqlite3_bind_text(st, 24, r->status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 25, r->n_diverged);
    bind_real(st, 26, r->frac_below);
    bind_real(st, 27, r->rhat);
    bind_real(st, 28, r->mala_accept);
    sqlite3_bind_text(st, 29, diag ? diag : "{}", -1, SQLITE_STATIC);
    bind_real(st, 30, r->seconds);
    sqlite3_bind_text(st, 31, LLC_VERSION, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 32, r->metropolis);
    bind_real(st, 33, r->accept_rate);
    sqlite3_bind_int(st, 34, r->exact_loss);
    sqlite3_bind_int(st, 35, r->paired);
    bind_real(st, 36, r->sim_time);
    sqlite3_bind_int(st, 37, r->steps_capped);
    int rc = sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    if (!rc) *id = sqlite3_last_insert_rowid(db);
    return rc;
}

/* Chain ch's loss trace (draws values) as little-endian float64 into blob. */
static void trace_blob(const llc_estimate_result *r, int ch, unsigned char *blob)
{
    for (int k = 0; k < r->draws; k++) {
        double v = r->trace[(size_t)ch * (size_t)r->draws + (size_t)k];
        uint64_t u;
        memcpy(&u, &v, 8);
        for (int b = 0; b < 8; b++) blob[(size_t)k * 8 + (size_t)b] = (unsigned char)(u >> (8 * b));
    }
}

/* The chain rows of estimate id, each with its trace. Nonzero: the
 * connection's error says why. */
static int insert_chains(sqlite3 *db, long long id, const llc_estimate_result *r)
{
    sqlite3_stmt *st = NULL;
    unsigned char *blob = NULL;
    int rc = -1;
    /* chain rows left by an estimate deleted outside llc (sqlite3 does not
     * cascade unless foreign_keys is on) would collide with the reused id */
    if (sqlite3_prepare_v2(db, "DELETE FROM estimate_chains WHERE estimate=?1", -1, &st, NULL) != SQLITE_OK)
        goto cleanup;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) goto cleanup;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO estimate_chains(estimate, chain, llc, diverged, diverged_at, mala, trace, "
                           "burnin, thin) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &st, NULL) != SQLITE_OK)
        goto cleanup;
    if (!(blob = malloc((size_t)(r->draws > 0 ? r->draws : 1) * 8))) goto cleanup;
    for (int ch = 0; ch < r->chains; ch++) {
        trace_blob(r, ch, blob);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, ch);
        bind_real(st, 3, r->chain_llc[ch]);
        sqlite3_bind_int(st, 4, r->chain_diverged[ch]);
        sqlite3_bind_int64(st, 5, r->chain_diverged_at[ch]);
        bind_real(st, 6, r->chain_mala[ch]);
        sqlite3_bind_blob(st, 7, blob, r->draws * 8, SQLITE_TRANSIENT);
        if (r->chain_burnin) sqlite3_bind_int64(st, 8, r->chain_burnin[ch]);
        else sqlite3_bind_null(st, 8);
        if (r->chain_thin) sqlite3_bind_int64(st, 9, r->chain_thin[ch]);
        else sqlite3_bind_null(st, 9);
        if (sqlite3_step(st) != SQLITE_DONE) goto cleanup;
    }
    rc = 0;
cleanup:
    sqlite3_finalize(st);
    free(blob);
    return rc;
}

int llc_results_put(llc_store *s, const char *run, long long step, const char *target,
                    const char *data, const char *settings, long long n_params,
                    const llc_estimate_result *r, int replace, long long *id_out)
{
    sqlite3 *db = llc_store_db(s);
    char *diag = NULL;
    int rc = llc_store_begin(s);
    if (rc) return rc;
    long long id = 0;
    int failed = 0;
    rc = find_row(s, run, step, target, data, settings, &id, &failed);
    if (rc == LLC_OK) {
        if (!replace && !failed) { /* a recorded failure is always replaced */
            llc_store_rollback(s);
            if (id_out) *id_out = id;
            return LLC_ERR_EXISTS;
        }
        if (delete_row(db, id)) goto fail;
    } else if (rc != LLC_ERR_NOTFOUND) {
        goto fail;
    }
    diag = diagnostics_json(r);
    if (insert_estimate(db, run, step, target, data, settings, n_params, r, diag, &id) ||
        insert_chains(db, id, r))
        goto fail;
    cJSON_free(diag);
    rc = llc_store_commit(s);
    if (rc == LLC_OK && id_out) *id_out = id;
    return rc;
fail:
    rc = llc_store_sql_fail(s, "writing an estimate");
    cJSON_free(diag);
    llc_store_rollback(s);
    return rc;
}

int llc_results_put_failure(llc_store *s, const char *run, long long step, const char *target,
                            const char *data, const char *settings, const char *message)
{
    sqlite3 *db = llc_store_db(s);
    sqlite3_stmt *st = NULL;
    char *diag = NULL;
    int rc = llc_store_begin(s);
    if (rc) return rc;
    long long id = 0;
    rc = find_row(s, run, step, target, data, settings, &id, NULL);
    if (rc == LLC_OK) {
        if (delete_row(db, id)) goto fail;
    } else if (rc != LLC_ERR_NOTFOUND) {
        goto fail;
    }
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "error", message ? message : "")) diag = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!diag) {
        llc_store_rollback(s);
        return LLC_ERR_NOMEM;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO estimates(run, step, target, data, settings, status, diagnostics, version) "
                           "VALUES (?1,?2,?3,?4,?5,'" LLC_RESULTS_BAD_CHECKPOINT "',?6,?7)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, settings, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, diag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, LLC_VERSION, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    cJSON_free(diag);
    return llc_store_commit(s);
fail:
    rc = llc_store_sql_fail(s, "recording a failed estimate");
    sqlite3_finalize(st);
    cJSON_free(diag);
    llc_store_rollback(s);
    return rc;
}

int llc_results_curves(llc_store *s, const char *run, const char *target, const char *data,
                       llc_curve_point **out, int *n)
{
    sqlite3 *db = llc_store_db(s);
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT target, data, step, llc_mean, llc_std, (SELECT x.chains FROM estimates x "
                                "WHERE x.run = c.run AND x.target = c.target AND x.data = c.data AND x.step = c.step "
                                "AND x.status = 'ok' ORDER BY x.id DESC LIMIT 1) FROM curves c WHERE run=?1 "
                                "AND (?2 IS NULL OR target=?2) AND (?3 IS NULL OR data=?3) "
                                "ORDER BY target, data, step",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) return LLC_ERR_STORE;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (target) sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
    if (data) sqlite3_bind_text(st, 3, data, -1, SQLITE_STATIC);
    int cap = 0;
    llc_curve_point *p = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            llc_curve_point *np = realloc(p, (size_t)cap * sizeof *p);
            if (!np) { free(p); sqlite3_finalize(st); return LLC_ERR_NOMEM; }
            p = np;
        }
        llc_curve_point *q = &p[(*n)++];
        snprintf(q->target, sizeof q->target, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(q->data, sizeof q->data, "%s", (const char *)sqlite3_column_text(st, 1));
        q->step = sqlite3_column_int64(st, 2);
        q->llc_mean = sqlite3_column_type(st, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 3);
        q->llc_std = sqlite3_column_type(st, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 4);
        q->chains = sqlite3_column_int(st, 5);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) { free(p); *n = 0; return LLC_ERR_STORE; }
    *out = p;
    return LLC_OK;
}

int llc_results_negative(double llc_mean, double llc_std, int chains)
{
    if (!isfinite(llc_mean) || !(llc_mean < 0)) return 0;
    double se = chains > 0 && isfinite(llc_std) ? llc_std / sqrt((double)chains) : 0;
    return llc_mean + 2 * se < 0;
}

int llc_results_count_failed(llc_store *s, const char *run, long long *n)
{
    sqlite3_stmt *st = NULL;
    int rc = LLC_OK;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s), "SELECT count(*) FROM estimates WHERE run=?1 AND status != 'ok'", -1,
                           &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "counting failed estimates");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
    else rc = llc_store_sql_fail(s, "counting failed estimates");
    sqlite3_finalize(st);
    return rc;
}

/* A REAL column, NAN where NULL. */
static double column_or_nan(sqlite3_stmt *st, int c)
{
    return sqlite3_column_type(st, c) == SQLITE_NULL ? NAN : sqlite3_column_double(st, c);
}

int llc_results_chain_llcs(llc_store *s, long long id, double **llc, int *n)
{
    sqlite3_stmt *st = NULL;
    double *v = NULL;
    int rc, cap = 0;
    *llc = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s), "SELECT llc FROM estimate_chains WHERE estimate=?1 ORDER BY chain", -1,
                           &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading the chains of an estimate");
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            double *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) { rc = LLC_ERR_NOMEM; goto cleanup; }
            v = nv;
        }
        v[(*n)++] = column_or_nan(st, 0);
    }
    if (rc != SQLITE_DONE) {
        rc = llc_store_sql_fail(s, "reading the chains of an estimate");
        goto cleanup;
    }
    rc = LLC_OK;
    *llc = v;
    v = NULL;
cleanup:
    if (rc) *n = 0;
    sqlite3_finalize(st);
    free(v);
    return rc;
}

int llc_results_run_totals(llc_store *s, const char *run, llc_results_totals *out)
{
    sqlite3_stmt *st = NULL;
    int rc = LLC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT count(DISTINCT step), count(*), count(DISTINCT target), "
                           "total(CASE WHEN target = 'model' THEN seconds END), "
                           "total(CASE WHEN target != 'model' THEN seconds END) FROM estimates WHERE run = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading the run's estimates");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = llc_store_sql_fail(s, "reading the run's estimates");
    } else {
        out->steps = sqlite3_column_int(st, 0);
        out->estimates = sqlite3_column_int(st, 1);
        out->targets = sqlite3_column_int(st, 2);
        out->seconds_model = sqlite3_column_double(st, 3);
        out->seconds_other = sqlite3_column_double(st, 4);
    }
    sqlite3_finalize(st);
    return rc;
}

void llc_results_rows_free(llc_estimate_row *rows, int n)
{
    for (int i = 0; i < n && rows; i++) free(rows[i].settings);
    free(rows);
}

/* The rows of st (columns target, data, status, settings, step, llc_mean,
 * llc_std, eps, nbeta, burnin, thin), finalizing st. */
static int read_estimate_rows(llc_store *s, sqlite3_stmt *st, const char *doing, llc_estimate_row **out, int *n)
{
    llc_estimate_row *r = NULL;
    int rc, cap = 0, k = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? 2 * cap : 64;
            llc_estimate_row *nr = realloc(r, (size_t)cap * sizeof *r);
            if (!nr) { rc = LLC_ERR_NOMEM; goto cleanup; }
            r = nr;
        }
        llc_estimate_row *q = &r[k];
        const char *settings = (const char *)sqlite3_column_text(st, 3);
        if (!(q->settings = strdup(settings ? settings : ""))) { rc = LLC_ERR_NOMEM; goto cleanup; }
        k++;
        snprintf(q->target, sizeof q->target, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(q->data, sizeof q->data, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(q->status, sizeof q->status, "%s", (const char *)sqlite3_column_text(st, 2));
        q->step = sqlite3_column_int64(st, 4);
        q->llc_mean = column_or_nan(st, 5);
        q->llc_std = column_or_nan(st, 6);
        q->eps = column_or_nan(st, 7);
        q->nbeta = column_or_nan(st, 8);
        q->burnin = column_or_nan(st, 9);
        q->thin = column_or_nan(st, 10);
    }
    if (rc != SQLITE_DONE) {
        rc = llc_store_sql_fail(s, doing);
        goto cleanup;
    }
    rc = LLC_OK;
    *out = r;
    *n = k;
    r = NULL;
cleanup:
    sqlite3_finalize(st);
    llc_results_rows_free(r, k);
    return rc;
}

#define ESTIMATE_ROW_COLUMNS "e.target, e.data, e.status, e.settings, e.step, e.llc_mean, e.llc_std, e.eps, e.nbeta, " \
                             "e.burnin, e.thin "

int llc_results_newest_ok(llc_store *s, const char *run, llc_estimate_row **out, int *n)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT " ESTIMATE_ROW_COLUMNS "FROM estimates e WHERE e.run = ?1 AND " LLC_SQL_NEWEST_OK
                           " ORDER BY e.target, e.data, e.settings, e.step",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading the run's estimates");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    return read_estimate_rows(s, st, "reading the run's estimates", out, n);
}

int llc_results_point(llc_store *s, const char *run, const char *target, const char *data, long long step,
                      llc_estimate_row **out, int *n)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT " ESTIMATE_ROW_COLUMNS "FROM estimates e WHERE e.run=?1 AND e.target=?2 "
                           "AND e.data=?3 AND e.step=?4 ORDER BY e.id DESC",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading the estimates of a point");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, data, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, step);
    return read_estimate_rows(s, st, "reading the estimates of a point", out, n);
}
