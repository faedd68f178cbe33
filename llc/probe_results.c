/* probe_results.c - head probes in the store (llc_probe_results.h). */
#include "llc_probe_results.h"
#include "llc_mpi.h"
#include "llc_store_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int llc_probe_rows(unsigned want, int n_layers, int n_heads, int sel_l, int sel_h, int ablate_mean,
                   const llc_probe_result *r, llc_probe_row **rows, int *n)
{
    const int LH = n_layers * n_heads;
    llc_probe_row *out = calloc((size_t)(LLC_PROBE_COUNT * LH + 3), sizeof *out);
    *rows = NULL;
    *n = 0;
    if (!out) return LLC_ERR_NOMEM;
    int k = 0;
    for (int p = 0; p < LLC_PROBE_COUNT; p++) {
        if (!(want & (1u << p))) continue;
        for (int l = 0; l < n_layers; l++)
            for (int h = 0; h < n_heads; h++) {
                if ((sel_l >= 0 && l != sel_l) || (sel_h >= 0 && h != sel_h)) continue;
                llc_probe_row *o = &out[k++];
                snprintf(o->target, sizeof o->target, "%d.%d", l, h);
                if (p == LLC_PROBE_ABLATION)
                    snprintf(o->probe, sizeof o->probe, "ablation_%s", ablate_mean ? "mean" : "zero");
                else
                    snprintf(o->probe, sizeof o->probe, "%s", llc_probe_names[p]);
                o->value = r ? r->value[p * LH + l * n_heads + h] : NAN;
            }
        if (p == LLC_PROBE_OWNED_OV || p == LLC_PROBE_OWNED_QK || p == LLC_PROBE_OWNED_ATT) {
            static const char *const view[] = {"ov", "qk", "att"};
            const int vi = p - LLC_PROBE_OWNED_OV;
            llc_probe_row *o = &out[k++];
            snprintf(o->target, sizeof o->target, "model");
            snprintf(o->probe, sizeof o->probe, "segments_%s", view[vi]);
            o->value = !r ? NAN : vi == 0 ? r->segments_ov : vi == 1 ? r->segments_qk : r->segments_att;
        }
    }
    *rows = out;
    *n = k;
    return LLC_OK;
}

void llc_probe_settings(const llc_probe_config *cfg, char *buf, size_t n)
{
    snprintf(buf, n, "{\"seqs\":%d,\"seed\":%llu,\"own_tokens\":%d}",
             cfg->n_seqs > 0 ? cfg->n_seqs : LLC_PROBE_DEFAULT_SEQS, (unsigned long long)cfg->seed, cfg->own_tokens);
}

int llc_probe_results_find(llc_store *s, const char *run, long long step, const char *target, const char *data,
                           const char *probe, const char *settings)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT 1 FROM probes WHERE run=?1 AND step=?2 AND target=?3 AND data=?4 AND probe=?5 "
                           "AND settings=?6",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "looking up a probe");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, probe, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, settings, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    int rc = src == SQLITE_ROW ? LLC_OK : src == SQLITE_DONE ? LLC_ERR_NOTFOUND : llc_store_sql_fail(s, "looking up a probe");
    sqlite3_finalize(st);
    return rc;
}

int llc_probe_results_put(llc_store *s, const char *run, long long step, const char *data, const char *settings,
                          uint64_t seed, const llc_probe_row *rows, int n)
{
    sqlite3_stmt *st = NULL;
    int rc = llc_store_begin(s);
    if (rc) return rc;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "INSERT OR REPLACE INTO probes(run, step, target, data, probe, value, settings, seed, "
                           "version) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, step);
        sqlite3_bind_text(st, 3, rows[i].target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, rows[i].probe, -1, SQLITE_STATIC);
        if (isfinite(rows[i].value)) sqlite3_bind_double(st, 6, rows[i].value);
        else sqlite3_bind_null(st, 6);
        sqlite3_bind_text(st, 7, settings, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)seed);
        sqlite3_bind_text(st, 9, LLC_VERSION, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    }
    sqlite3_finalize(st);
    return llc_store_commit(s);
fail:
    rc = llc_store_sql_fail(s, "writing probes");
    sqlite3_finalize(st);
    llc_store_rollback(s);
    return rc;
}

int llc_probe_results_curves(llc_store *s, const char *run, const char *probe, const char *target, const char *data,
                             llc_probe_point **out, int *n)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT target, data, probe, step, value FROM probe_curves WHERE run=?1 "
                           "AND (?2 IS NULL OR probe=?2) AND (?3 IS NULL OR target=?3) AND (?4 IS NULL OR data=?4) "
                           "ORDER BY probe, target, data, step",
                           -1, &st, NULL) != SQLITE_OK)
        return llc_store_sql_fail(s, "reading probe curves");
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (probe) sqlite3_bind_text(st, 2, probe, -1, SQLITE_STATIC);
    if (target) sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    if (data) sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
    int cap = 0, src;
    llc_probe_point *p = NULL;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            llc_probe_point *np = realloc(p, (size_t)cap * sizeof *p);
            if (!np) {
                free(p);
                sqlite3_finalize(st);
                *n = 0;
                return LLC_ERR_NOMEM;
            }
            p = np;
        }
        llc_probe_point *q = &p[(*n)++];
        snprintf(q->target, sizeof q->target, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(q->data, sizeof q->data, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(q->probe, sizeof q->probe, "%s", (const char *)sqlite3_column_text(st, 2));
        q->step = sqlite3_column_int64(st, 3);
        q->value = sqlite3_column_type(st, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 4);
    }
    int rc = src == SQLITE_DONE ? LLC_OK : llc_store_sql_fail(s, "reading probe curves");
    sqlite3_finalize(st);
    if (rc) {
        free(p);
        *n = 0;
        return rc;
    }
    *out = p;
    return LLC_OK;
}

/* Whether every row of step's plan is stored already. */
static int step_stored(const llc_probe_sweep_config *c, long long step, int ablate_mean, int *stored, char *err)
{
    llc_probe_row *plan = NULL;
    int np = 0, rc = llc_probe_rows(c->want, c->n_layers, c->n_heads, c->sel_l, c->sel_h, ablate_mean, NULL, &plan,
                                    &np);
    if (rc) return llc_fail(err, rc, "out of memory");
    *stored = 1;
    for (int i = 0; i < np && *stored; i++) {
        rc = llc_probe_results_find(c->store, c->run, step, plan[i].target, c->data, plan[i].probe, c->settings);
        if (rc && rc != LLC_ERR_NOTFOUND) {
            free(plan);
            return llc_fail(err, rc, "%s", llc_store_errmsg(c->store));
        }
        *stored = rc == LLC_OK;
    }
    free(plan);
    return LLC_OK;
}

int llc_probe_sweep_compute(const llc_probe_sweep_config *c, const llc_probe_config *cfg, llc_probe_result *last,
                            llc_probe_row **rows, int *n_rows, char *err)
{
    llc_probe_result_free(last);
    llc_probe_config one = *cfg; /* one head asked for: ablate only that one */
    if (c->sel_l >= 0 && c->sel_h >= 0) one.ablate_only = 1 + c->sel_l * c->n_heads + c->sel_h;
    int rc = llc_probe_run(&one, last, err);
    if (rc) return rc;
    rc = llc_probe_rows(c->want, c->n_layers, c->n_heads, c->sel_l, c->sel_h, cfg->ablate_mean, last, rows, n_rows);
    return rc ? llc_fail(err, rc, "out of memory") : LLC_OK;
}

/* Write one checkpoint's rows (one transaction) and count it. */
static int write_step(const llc_probe_sweep_config *c, const llc_probe_config *cfg, int si,
                      const llc_probe_row *rows, int n_rows, int *done, int skipped, char *err)
{
    int rc = llc_probe_results_put(c->store, c->run, c->steps[si], c->data, c->settings, cfg->seed, rows, n_rows);
    if (rc) return llc_fail(err, rc, "%s", llc_store_errmsg(c->store));
    (*done)++;
    if (c->progress) c->progress(c->ctx, *done + skipped, c->n_steps, c->steps[si]);
    return LLC_OK;
}

/* The checkpoint of step si into c->w. */
static int load_step(const llc_probe_sweep_config *c, const llc_probe_config *cfg, int si, char *err)
{
    int rc = llc_store_checkpoint_get(c->store, c->run, c->steps[si], c->w, llc_model_n_params(cfg->model), NULL,
                                      NULL);
    return rc ? llc_fail(err, rc, "checkpoint %lld: %s", c->steps[si], llc_store_errmsg(c->store)) : LLC_OK;
}

/* Rank 0 of an MPI job: one checkpoint a unit, handed to the workers as they
 * free up; each checkpoint's rows written as they arrive. */
static int sweep_mpi(const llc_probe_sweep_config *c, const llc_probe_config *cfg, const unsigned char *todo,
                     int *done, int skipped, char *err)
{
    const size_t n_params = llc_model_n_params(cfg->model);
    llc_pack job = {0};
    int rc = LLC_OK, failed = 0, active = llc_mpi_size() - 1, next = 0;
    char first_err[LLC_ERRLEN] = "";
    llc_pack_str(&job, c->config);
    llc_pack_i64(&job, cfg->dist);
    llc_pack_i64(&job, cfg->probes);
    llc_pack_i64(&job, cfg->n_seqs);
    llc_pack_i64(&job, (int64_t)cfg->seed);
    llc_pack_i64(&job, cfg->ablate_mean);
    llc_pack_i64(&job, cfg->repeat);
    llc_pack_i64(&job, cfg->own_tokens);
    llc_pack_i64(&job, cfg->n_threads);
    llc_pack_i64(&job, c->want);
    llc_pack_i64(&job, c->sel_l);
    llc_pack_i64(&job, c->sel_h);
    if (job.nomem) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int w = 1; w <= active && !rc; w++)
        if ((rc = llc_mpi_send(w, LLC_MPI_TAG_JOB_PROBE, job.b, job.n))) llc_fail(err, rc, "cannot send to rank %d", w);
    llc_pack_free(&job);
    while (!rc && active > 0) {
        int src = 0, tag = 0;
        void *buf = NULL;
        size_t n = 0;
        if ((rc = llc_mpi_recv(&src, &tag, &buf, &n, c->interrupt))) {
            llc_fail(err, rc, "%s", rc == LLC_ERR_INTERRUPTED ? LLC_MPI_STOPPED : "cannot receive from the workers");
            break;
        }
        llc_unpack u = {.b = buf, .n = n};
        if (tag == LLC_MPI_TAG_RESULT && !failed) {
            const int si = (int)llc_unpack_i64(&u), nr = (int)llc_unpack_i64(&u);
            const llc_probe_row *rows = (const llc_probe_row *)(u.b + u.at);
            if (si < 0 || si >= c->n_steps || nr < 0 || (size_t)nr * sizeof *rows != n - u.at)
                failed = llc_fail(first_err, LLC_ERR_INVALID, "rank %d: a malformed result message", src);
            else if ((failed = write_step(c, cfg, si, rows, nr, done, skipped, err)))
                snprintf(first_err, sizeof first_err, "%s", err);
        } else if (tag == LLC_MPI_TAG_ERROR && !failed) {
            const int wrc = (int)llc_unpack_i64(&u);
            failed = wrc ? wrc : LLC_ERR_INVALID;
            snprintf(first_err, sizeof first_err, "rank %d: %s", src, llc_unpack_str(&u));
        }
        if (tag == LLC_MPI_TAG_READY || tag == LLC_MPI_TAG_UNIT_DONE || tag == LLC_MPI_TAG_ERROR) {
            while (next < c->n_steps && !todo[next]) next++;
            if (!failed && next < c->n_steps) {
                llc_pack p = {0};
                if ((rc = load_step(c, cfg, next, err))) {
                    free(buf);
                    break;
                }
                llc_pack_i64(&p, next++);
                llc_pack_bytes(&p, c->w, n_params * sizeof *c->w);
                rc = p.nomem ? llc_fail(err, LLC_ERR_NOMEM, "out of memory")
                             : llc_mpi_send(src, LLC_MPI_TAG_UNIT, p.b, p.n);
                llc_pack_free(&p);
            } else {
                rc = llc_mpi_send(src, LLC_MPI_TAG_STOP, NULL, 0);
                active--;
            }
        }
        free(buf);
    }
    if (!rc && failed) rc = llc_fail(err, failed, "%s", first_err);
    return rc;
}

int llc_probe_sweep(const llc_probe_sweep_config *c, const llc_probe_config *cfg, llc_probe_result *last,
                    int *last_done, int *done, int *skipped, char *err)
{
    llc_probe_row *rows = NULL;
    int n_rows = 0, rc = LLC_OK;
    unsigned char *todo = calloc((size_t)c->n_steps + 1, 1);
    *last_done = -1;
    *done = *skipped = 0;
    if (!todo) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int si = 0; si < c->n_steps; si++) {
        int stored = 0;
        if (!c->force && (rc = step_stored(c, c->steps[si], cfg->ablate_mean, &stored, err))) goto cleanup;
        todo[si] = !stored;
        *skipped += stored;
    }
    if (llc_mpi_size() > 1) {
        rc = sweep_mpi(c, cfg, todo, done, *skipped, err);
        goto cleanup;
    }
    for (int si = 0; si < c->n_steps; si++) {
        if (!todo[si]) continue;
        if ((rc = load_step(c, cfg, si, err))) break;
        char e2[LLC_ERRLEN];
        if ((rc = llc_probe_sweep_compute(c, cfg, last, &rows, &n_rows, e2))) {
            llc_fail(err, rc, "step %lld: %s", c->steps[si], e2);
            break;
        }
        *last_done = si;
        if ((rc = write_step(c, cfg, si, rows, n_rows, done, *skipped, err))) break;
        free(rows);
        rows = NULL;
    }
cleanup:
    free(rows);
    free(todo);
    return rc;
}
