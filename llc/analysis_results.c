/* analysis_results.c - stages, clusters and the trajectory in the store;
 * see llc_analysis_results.h. */
#include "llc_analysis_results.h"
#include "llc_store_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void llc_series_free(llc_series *s)
{
    if (!s) return;
    free(s->step);
    free(s->value);
    memset(s, 0, sizeof *s);
}

/* Run a two-column (step, value) query with up to 4 text parameters. */
static int series_query(llc_store *s, const char *sql, const char *const *par, int n_par, llc_series *out)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(llc_store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading a curve");
    for (int i = 0; i < n_par; i++) sqlite3_bind_text(st, i + 1, par[i], -1, SQLITE_STATIC);
    int cap = 0, src, rc = LLC_OK;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            double *a = realloc(out->step, (size_t)cap * sizeof *a);
            if (a) out->step = a;
            double *b = realloc(out->value, (size_t)cap * sizeof *b);
            if (b) out->value = b;
            if (!a || !b) {
                rc = LLC_ERR_NOMEM;
                break;
            }
        }
        out->step[out->n] = sqlite3_column_double(st, 0);
        out->value[out->n] = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
        out->n++;
    }
    if (!rc && src != SQLITE_DONE) rc = llc_store_sql_fail(s, "reading a curve");
    sqlite3_finalize(st);
    if (rc) llc_series_free(out);
    return rc;
}

int llc_series_get(llc_store *s, const char *run, const char *name, const char *data, llc_series *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (!data) data = strncmp(name, "probe:", 6) == 0 ? "test" : "train"; /* the defaults of estimate and probe */
    const char *par[4] = {run, data, NULL, NULL};
    int rc;
    if (strcmp(name, "test_loss") == 0)
        rc = series_query(s, "SELECT step, test_loss FROM checkpoints WHERE run=?1 ORDER BY step", par, 1, out);
    else if (strcmp(name, "train_loss") == 0)
        rc = series_query(s, "SELECT step, train_loss FROM checkpoints WHERE run=?1 ORDER BY step", par, 1, out);
    else if (strcmp(name, "log_loss") == 0)
        rc = series_query(s, "SELECT step, loss FROM train_log WHERE run=?1 ORDER BY step", par, 1, out);
    else if (strcmp(name, "log_grad_norm") == 0)
        rc = series_query(s, "SELECT step, grad_norm FROM train_log WHERE run=?1 ORDER BY step", par, 1, out);
    else if (strncmp(name, "llc:", 4) == 0 && name[4]) {
        par[2] = name + 4;
        rc = series_query(s, "SELECT step, llc_mean FROM curves WHERE run=?1 AND data=?2 AND target=?3 ORDER BY step",
                          par, 3, out);
    } else if (strncmp(name, "probe:", 6) == 0 && strchr(name + 6, ':')) {
        char probe[64];
        const char *colon = strchr(name + 6, ':');
        snprintf(probe, sizeof probe, "%.*s", (int)(colon - (name + 6)), name + 6);
        par[2] = probe;
        par[3] = colon + 1;
        rc = series_query(s,
                          "SELECT step, value FROM probe_curves WHERE run=?1 AND data=?2 AND probe=?3 AND target=?4 "
                          "ORDER BY step",
                          par, 4, out);
    } else {
        return llc_fail(err, LLC_ERR_NOTFOUND,
                        "unknown curve '%s' (curves: test_loss, train_loss, llc:TARGET, probe:NAME:TARGET)", name);
    }
    if (rc) llc_fail(err, rc, "reading curve '%s': %s", name, llc_store_errmsg(s));
    return rc;
}

int llc_stages_put(llc_store *s, const char *run, const char *data, const char *settings, const llc_stage_found *keys,
                   int n_keys, const llc_stage_found *rows, int n)
{
    sqlite3_stmt *st = NULL;
    int rc = llc_store_begin(s);
    if (rc) return rc;
    if (sqlite3_prepare_v2(llc_store_db(s), "DELETE FROM stages WHERE run=?1 AND source=?2 AND target=?3 AND data=?4",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < n_keys; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, keys[i].source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, keys[i].target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "INSERT INTO stages(run, target, data, source, step, kind, value, settings, version) "
                           "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rows[i].target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, rows[i].source, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, rows[i].st.step);
        sqlite3_bind_text(st, 6, llc_stage_kind_names[rows[i].st.kind], -1, SQLITE_STATIC);
        if (isfinite(rows[i].st.value)) sqlite3_bind_double(st, 7, rows[i].st.value);
        else sqlite3_bind_null(st, 7);
        sqlite3_bind_text(st, 8, settings, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, LLC_VERSION, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    }
    sqlite3_finalize(st);
    return llc_store_commit(s);
fail:
    rc = llc_store_sql_fail(s, "writing stages");
    sqlite3_finalize(st);
    llc_store_rollback(s);
    return rc;
}

int llc_stages_get(llc_store *s, const char *run, const char *source, llc_stage_row **out, int *n)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT source, target, data, kind, step, value FROM stages WHERE run=?1 "
                           "AND (?2 IS NULL OR source=?2) ORDER BY source, target, data, step",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading stages");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (source) sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    int cap = 0, src, rc = LLC_OK;
    llc_stage_row *p = NULL;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            llc_stage_row *np = realloc(p, (size_t)cap * sizeof *p);
            if (!np) {
                rc = LLC_ERR_NOMEM;
                break;
            }
            p = np;
        }
        llc_stage_row *q = &p[(*n)++];
        snprintf(q->source, sizeof q->source, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(q->target, sizeof q->target, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(q->data, sizeof q->data, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(q->kind, sizeof q->kind, "%s", (const char *)sqlite3_column_text(st, 3));
        q->step = sqlite3_column_double(st, 4);
        q->value = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
    }
    if (!rc && src != SQLITE_DONE) rc = llc_store_sql_fail(s, "reading stages");
    sqlite3_finalize(st);
    if (rc) {
        free(p);
        *n = 0;
        return rc;
    }
    *out = p;
    return LLC_OK;
}

int llc_clusters_put(llc_store *s, const char *run, const char *curve, const char *data, const char *settings,
                     char (*targets)[32], const int *assign, int n)
{
    sqlite3_stmt *st = NULL;
    int rc = llc_store_begin(s);
    if (rc) return rc;
    /* one assignment per (run, curve): an older one with other settings goes */
    if (sqlite3_prepare_v2(llc_store_db(s), "DELETE FROM clusters WHERE run=?1 AND curve=?2", -1, &st, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, curve, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "INSERT INTO clusters(run, curve, data, settings, target, cluster, version) "
                           "VALUES (?1,?2,?3,?4,?5,?6,?7)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, curve, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, settings, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, targets[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, assign[i]);
        sqlite3_bind_text(st, 7, LLC_VERSION, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    }
    sqlite3_finalize(st);
    return llc_store_commit(s);
fail:
    rc = llc_store_sql_fail(s, "writing clusters");
    sqlite3_finalize(st);
    llc_store_rollback(s);
    return rc;
}

int llc_clusters_get(llc_store *s, const char *run, const char *curve, llc_cluster_row **out, int *n)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    /* the newest assignment: the (curve) of the row written last */
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT target, cluster FROM clusters WHERE run=?1 AND curve = (SELECT curve FROM clusters "
                           "WHERE run=?1 AND (?2 IS NULL OR curve=?2) ORDER BY created DESC, rowid DESC LIMIT 1) "
                           "ORDER BY target",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading clusters");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (curve) sqlite3_bind_text(st, 2, curve, -1, SQLITE_STATIC);
    int cap = 0, src, rc = LLC_OK;
    llc_cluster_row *p = NULL;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            llc_cluster_row *np = realloc(p, (size_t)cap * sizeof *p);
            if (!np) {
                rc = LLC_ERR_NOMEM;
                break;
            }
            p = np;
        }
        llc_cluster_row *q = &p[(*n)++];
        snprintf(q->target, sizeof q->target, "%s", (const char *)sqlite3_column_text(st, 0));
        q->cluster = sqlite3_column_int(st, 1);
    }
    if (!rc && src != SQLITE_DONE) rc = llc_store_sql_fail(s, "reading clusters");
    sqlite3_finalize(st);
    if (rc) {
        free(p);
        *n = 0;
        return rc;
    }
    *out = p;
    return LLC_OK;
}

int llc_trajectory_put(llc_store *s, const char *run, const char *data, const char *settings,
                       const llc_trajectory_result *r)
{
    sqlite3_stmt *st = NULL;
    int rc = llc_store_begin(s);
    if (rc) return rc;
    if (sqlite3_prepare_v2(llc_store_db(s), "DELETE FROM trajectory WHERE run=?1 AND data=?2 AND settings=?3", -1,
                           &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, settings, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "INSERT INTO trajectory(run, data, settings, step, component, coord, explained, version) "
                           "VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < r->n_steps; i++)
        for (int c = 0; c < r->k; c++) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, data, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, settings, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, r->steps[i]);
            sqlite3_bind_int(st, 5, c + 1);
            sqlite3_bind_double(st, 6, r->coords[(size_t)i * r->k + c]);
            sqlite3_bind_double(st, 7, r->explained[c]);
            sqlite3_bind_text(st, 8, LLC_VERSION, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) goto fail;
        }
    sqlite3_finalize(st);
    return llc_store_commit(s);
fail:
    rc = llc_store_sql_fail(s, "writing the trajectory");
    sqlite3_finalize(st);
    llc_store_rollback(s);
    return rc;
}

int llc_trajectory_get(llc_store *s, const char *run, llc_trajectory_result *r)
{
    sqlite3_stmt *st = NULL;
    memset(r, 0, sizeof *r);
    /* the newest (data, settings) of the run */
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "WITH last AS (SELECT data, settings FROM trajectory WHERE run=?1 "
                           "ORDER BY created DESC, rowid DESC LIMIT 1) "
                           "SELECT t.step, t.component, t.coord, t.explained FROM trajectory t, last "
                           "WHERE t.run=?1 AND t.data=last.data AND t.settings=last.settings "
                           "ORDER BY t.step, t.component",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading the trajectory");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    int cap = 0, src, rc = LLC_OK, k = 0;
    double expl[LLC_TRAJECTORY_MAX_COMPONENTS] = {0};
    long long cur = -1;
    double *c = NULL;
    long long *steps = NULL;
    int n = 0;
    /* rows come step by step; components 1..k with k the largest seen */
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const long long step = sqlite3_column_int64(st, 0);
        const int comp = sqlite3_column_int(st, 1);
        if (comp < 1 || comp > LLC_TRAJECTORY_MAX_COMPONENTS) continue;
        if (step != cur) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                long long *ns = realloc(steps, (size_t)cap * sizeof *ns);
                if (ns) steps = ns;
                double *nc = realloc(c, (size_t)cap * LLC_TRAJECTORY_MAX_COMPONENTS * sizeof *nc);
                if (nc) c = nc;
                if (!ns || !nc) {
                    rc = LLC_ERR_NOMEM;
                    break;
                }
            }
            steps[n] = step;
            for (int i = 0; i < LLC_TRAJECTORY_MAX_COMPONENTS; i++) c[(size_t)n * LLC_TRAJECTORY_MAX_COMPONENTS + i] = 0;
            n++;
            cur = step;
        }
        c[(size_t)(n - 1) * LLC_TRAJECTORY_MAX_COMPONENTS + comp - 1] = sqlite3_column_double(st, 2);
        expl[comp - 1] = sqlite3_column_double(st, 3);
        if (comp > k) k = comp;
    }
    if (!rc && src != SQLITE_DONE) rc = llc_store_sql_fail(s, "reading the trajectory");
    sqlite3_finalize(st);
    if (!rc && n > 0) {
        r->coords = malloc((size_t)n * k * sizeof *r->coords);
        r->explained = malloc((size_t)k * sizeof *r->explained);
        if (!r->coords || !r->explained) rc = LLC_ERR_NOMEM;
        for (int i = 0; !rc && i < n; i++)
            for (int j = 0; j < k; j++) r->coords[(size_t)i * k + j] = c[(size_t)i * LLC_TRAJECTORY_MAX_COMPONENTS + j];
        if (!rc) memcpy(r->explained, expl, (size_t)k * sizeof *expl);
    }
    free(c);
    if (rc || n == 0) {
        free(steps);
        llc_trajectory_result_free(r);
        return rc;
    }
    r->steps = steps;
    r->n_steps = n;
    r->k = k;
    return LLC_OK;
}
