/* plot_data.c - the data of `llc plot`'s pictures from the store (llc_plot.h):
 * curves and checkpoint losses, the stored clusters and stages, the SGLD
 * traces of an estimate, read through the results modules. */
#include "llc_analysis_results.h"
#include "llc_plot.h"
#include "llc_probe.h"
#include "llc_query.h"
#include "llc_results.h"
#include "plot_common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void llc_plot_curves_data_free(llc_plot_curves_data *cs)
{
    if (!cs) return;
    for (int i = 0; i < cs->n; i++) free(cs->s[i].x);
    free(cs->s);
    free(cs->ck_step);
    free(cs->ck_train);
    free(cs->ck_test);
    free(cs->cluster_target);
    free(cs->cluster);
    memset(cs, 0, sizeof *cs);
}

/* Add a target to the selection (no duplicates); LLC_OK or LLC_ERR_NOMEM. */
static int select_add(char (**sel)[64], int *n, const char *t, char *err)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*sel)[i], t) == 0) return 0;
    char(*p)[64] = realloc(*sel, (size_t)(*n + 1) * sizeof **sel);
    if (!p) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    *sel = p;
    snprintf(p[*n], 64, "%s", t);
    (*n)++;
    return 0;
}

/* The train and test losses of the run's checkpoints into cs. */
static int load_losses(llc_store *s, const char *run, llc_plot_curves_data *cs, char *err)
{
    llc_query_losses_row *r = NULL;
    int n = 0, rc = llc_query_losses(s, run, &r, &n);
    if (rc) return llc_fail(err, rc, "%s", llc_store_errmsg(s));
    cs->ck_step = malloc((size_t)(n > 0 ? n : 1) * sizeof *cs->ck_step);
    cs->ck_train = malloc((size_t)(n > 0 ? n : 1) * sizeof *cs->ck_train);
    cs->ck_test = malloc((size_t)(n > 0 ? n : 1) * sizeof *cs->ck_test);
    if (!cs->ck_step || !cs->ck_train || !cs->ck_test) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        cs->ck_step[i] = (double)r[i].step;
        cs->ck_train[i] = r[i].train_loss;
        cs->ck_test[i] = r[i].test_loss;
    }
    cs->n_ck = n;
cleanup:
    free(r);
    return rc;
}

/* The default selection when there are too many targets: every non-head
 * target, then the heads with the largest last finite estimate, up to
 * LLC_PLOT_MAX_DEFAULT_CURVES in all. */
static int select_default(const llc_curve_point *p, int np, const char *data, char (*avail)[64], int n_avail,
                          char (**sel)[64], int *n_sel, char *err)
{
    int code = 0, l_, h_;
    for (int i = 0; i < n_avail; i++)
        if (plot_target_kind(avail[i], &l_, &h_) != 1 && (code = select_add(sel, n_sel, avail[i], err))) return code;
    double *last = malloc((size_t)n_avail * sizeof *last);
    if (!last) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_avail; i++) {
        last[i] = -INFINITY;
        for (int j = 0; j < np; j++) /* ordered by step: the last finite one wins */
            if (strcmp(p[j].target, avail[i]) == 0 && strcmp(p[j].data, data) == 0 && isfinite(p[j].llc_mean))
                last[i] = p[j].llc_mean;
    }
    int keep = LLC_PLOT_MAX_DEFAULT_CURVES - *n_sel < 1 ? 1 : LLC_PLOT_MAX_DEFAULT_CURVES - *n_sel;
    for (int taken = 0; taken < keep; taken++) {
        int best = -1;
        for (int i = 0; i < n_avail; i++)
            if (plot_target_kind(avail[i], &l_, &h_) == 1 && last[i] > -INFINITY &&
                (best < 0 || last[i] > last[best]))
                best = i;
        if (best < 0) break;
        if ((code = select_add(sel, n_sel, avail[best], err))) {
            free(last);
            return code;
        }
        last[best] = -INFINITY; /* taken */
    }
    free(last);
    qsort(*sel, (size_t)*n_sel, sizeof **sel, plot_target_cmp);
    return 0;
}

int llc_plot_curves_load(llc_store *s, const char *run, const char *data, const char *spec, int heads_only,
                         llc_plot_curves_data *cs, char *err)
{
    llc_curve_point *p = NULL;
    int np = 0, code = 0, n_avail = 0, n_sel = 0;
    char(*avail)[64] = NULL, (*sel)[64] = NULL;
    memset(cs, 0, sizeof *cs);
    int rc = llc_results_curves(s, run, NULL, data, &p, &np);
    if (rc) {
        code = llc_fail(err, rc, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    if (np == 0) {
        if (data)
            code = llc_fail(err, LLC_ERR_NOTFOUND,
                            "run %s has no estimates on data '%s' (make them with: llc estimate --run %s "
                            "--data %s)",
                            run, data, run, data);
        else
            code = llc_fail(err, LLC_ERR_NOTFOUND,
                            "run %s has no estimates yet (make them with: llc estimate --run %s)", run, run);
        goto cleanup;
    }
    /* the data distribution: --data, else 'train' if present, else the first */
    if (data) snprintf(cs->data, sizeof cs->data, "%s", data);
    else {
        snprintf(cs->data, sizeof cs->data, "%s", p[0].data);
        for (int i = 0; i < np; i++)
            if (strcmp(p[i].data, "train") == 0) snprintf(cs->data, sizeof cs->data, "train");
    }
    for (int i = 0; i < np; i++)
        if (strcmp(p[i].data, cs->data) == 0 && (code = select_add(&avail, &n_avail, p[i].target, err))) goto cleanup;
    qsort(avail, (size_t)n_avail, sizeof *avail, plot_target_cmp);
    if (!spec && heads_only) spec = "heads";
    int n_heads_avail = 0, l_, h_;
    for (int i = 0; i < n_avail; i++) n_heads_avail += plot_target_kind(avail[i], &l_, &h_) == 1;
    if (!spec && n_avail > LLC_PLOT_MAX_DEFAULT_CURVES && n_heads_avail > 0) {
        /* too many to read: every non-head target, then the heads with the
         * largest last estimate; --targets heads or --kind heads shows all */
        if ((code = select_default(p, np, cs->data, avail, n_avail, &sel, &n_sel, err))) goto cleanup;
        cs->n_hidden = n_avail - n_sel;
    } else if (!spec) {
        for (int i = 0; i < n_avail; i++)
            if ((code = select_add(&sel, &n_sel, avail[i], err))) goto cleanup;
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", spec);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            if (strcmp(tok, "heads") == 0) {
                int any = 0, l, h;
                for (int i = 0; i < n_avail; i++)
                    if (plot_target_kind(avail[i], &l, &h) == 1) {
                        any = 1;
                        if ((code = select_add(&sel, &n_sel, avail[i], err))) goto cleanup;
                    }
                if (!any) {
                    code = llc_fail(err, LLC_ERR_NOTFOUND,
                                    "run %s has no head estimates on data '%s' (make them with: llc estimate "
                                    "--run %s --heads all)",
                                    run, cs->data, run);
                    goto cleanup;
                }
                continue;
            }
            int found = 0;
            for (int i = 0; i < n_avail; i++) found |= strcmp(avail[i], tok) == 0;
            if (!found) {
                char fl[128];
                code = llc_fail(err, LLC_ERR_NOTFOUND,
                                "run %s has no estimates of target '%s' on data '%s' (make them with: llc "
                                "estimate --run %s %s)",
                                run, tok, cs->data, run, plot_estimate_flag(tok, fl, sizeof fl));
                goto cleanup;
            }
            if ((code = select_add(&sel, &n_sel, tok, err))) goto cleanup;
        }
        if (n_sel == 0) {
            code = llc_fail(err, LLC_ERR_INVALID, "--targets is empty; give e.g. model,0.1 or heads");
            goto cleanup;
        }
    }
    cs->s = calloc((size_t)n_sel, sizeof *cs->s);
    if (!cs->s) {
        code = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    cs->n = n_sel;
    for (int k = 0; k < n_sel; k++) {
        llc_plot_series *sr = &cs->s[k];
        snprintf(sr->target, sizeof sr->target, "%s", sel[k]);
        int m = 0;
        for (int i = 0; i < np; i++) m += strcmp(p[i].target, sel[k]) == 0 && strcmp(p[i].data, cs->data) == 0;
        sr->x = malloc((size_t)(m > 0 ? m : 1) * 4 * sizeof(double));
        if (!sr->x) {
            code = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
            goto cleanup;
        }
        sr->mean = sr->x + m;
        sr->lo = sr->mean + m;
        sr->hi = sr->lo + m;
        for (int i = 0; i < np; i++) {
            if (strcmp(p[i].target, sel[k]) || strcmp(p[i].data, cs->data)) continue;
            sr->x[sr->n] = (double)p[i].step;
            sr->mean[sr->n] = p[i].llc_mean;
            double sd = isfinite(p[i].llc_std) ? p[i].llc_std : NAN;
            sr->lo[sr->n] = p[i].llc_mean - sd;
            sr->hi[sr->n] = p[i].llc_mean + sd;
            sr->n++;
        }
    }
    code = load_losses(s, run, cs, err);
cleanup:
    free(p);
    free(avail);
    free(sel);
    if (code) llc_plot_curves_data_free(cs);
    return code;
}


void llc_plot_trace_data_free(llc_plot_trace_data *d)
{
    if (!d) return;
    llc_query_chains_free(d->ch, d->n_ch);
    memset(d, 0, sizeof *d);
}

/* 1 if run has a checkpoint at step (0 also when that cannot be read). */
static int have_checkpoint(llc_store *s, const char *run, long long step)
{
    long long *steps = NULL;
    int n = 0, have = 0;
    if (llc_store_checkpoint_steps(s, run, &steps, &n) == LLC_OK)
        for (int i = 0; i < n; i++) have |= steps[i] == step;
    free(steps);
    return have;
}

int llc_plot_trace_load(llc_store *s, const char *run, long long step, const char *target, const char *data,
                        llc_plot_trace_data *d, char *err)
{
    llc_query_estimate e;
    memset(d, 0, sizeof *d);
    d->step = step;
    snprintf(d->target, sizeof d->target, "%s", target);
    int code = llc_query_newest_estimate(s, run, step, target, data, &e);
    if (code == LLC_ERR_NOTFOUND) {
        char fl[128];
        if (!have_checkpoint(s, run, step))
            code = llc_fail(err, LLC_ERR_NOTFOUND, "run %s has no checkpoint at step %lld (see llc show --run %s)",
                            run, step, run);
        else
            code = llc_fail(err, LLC_ERR_NOTFOUND,
                            "run %s has no estimate of target %s at step %lld%s%s (make it with: llc estimate "
                            "--run %s --steps %lld %s)",
                            run, target, step, data ? " on data " : "", data ? data : "", run, step,
                            plot_estimate_flag(target, fl, sizeof fl));
        goto cleanup;
    }
    if (code) {
        code = llc_fail(err, code, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    d->id = e.id;
    snprintf(d->data, sizeof d->data, "%s", e.data);
    snprintf(d->sampler, sizeof d->sampler, "%s", e.sampler);
    d->eps = e.eps;
    d->gamma = e.gamma;
    d->nbeta = e.nbeta;
    d->burnin = e.burnin;
    d->thin = e.thin;
    d->init_loss = e.init_loss;
    d->mean = e.llc_mean;
    d->sd = e.llc_std;
    snprintf(d->status, sizeof d->status, "%s", e.status);
    d->n_div = e.n_diverged;
    d->rhat = e.rhat;
    /* a paired estimate averages L_b(w_k) - L_b(w*): its trace holds that plus
     * L_n(w*) (diagnostics.trace "paired"), and the plot shows the difference */
    d->paired = e.paired == 1 && strcmp(e.trace, "paired") == 0 && isfinite(d->init_loss);
    d->paired_raw = e.paired == 1 && !d->paired; /* older stores kept raw losses */
    if ((code = llc_query_chains(s, d->id, &d->ch, &d->n_ch))) {
        code = llc_fail(err, code, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    int any = 0;
    for (int k = 0; k < d->n_ch; k++) {
        any |= d->ch[k].n > 0;
        if (d->paired)
            for (int i = 0; i < d->ch[k].n; i++) d->ch[k].trace[i] -= d->init_loss; /* L_b(w_k) - L_b(w*) */
    }
    if (!any) {
        code = llc_fail(err, LLC_ERR_NOTFOUND, "estimate %lld (run %s, step %lld, target %s) stored no loss traces",
                        d->id, run, step, target);
        goto cleanup;
    }
cleanup:
    if (code) llc_plot_trace_data_free(d);
    return code;
}

int llc_plot_clusters_load(llc_store *s, const char *run, llc_plot_curves_data *d, char *err)
{
    llc_cluster_row *rows = NULL;
    int n = 0, rc = llc_clusters_get(s, run, NULL, &rows, &n);
    if (rc) return llc_fail(err, rc, "%s", llc_store_errmsg(s));
    if (n == 0) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND,
                      "--color-by cluster: run '%s' has no stored clusters (run llc cluster --run %s)", run, run);
        goto cleanup;
    }
    d->cluster_target = malloc((size_t)n * sizeof *d->cluster_target);
    d->cluster = malloc((size_t)n * sizeof *d->cluster);
    if (!d->cluster_target || !d->cluster) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        memcpy(d->cluster_target[i], rows[i].target, 32);
        d->cluster[i] = rows[i].cluster;
    }
    d->n_clusters = n;
cleanup:
    free(rows);
    return rc;
}

int llc_plot_stage_marks(llc_store *s, const char *run, llc_plot_opts *o, char *err)
{
    llc_stage_row *rows = NULL;
    int n_rows = 0, rc = llc_stages_get(s, run, NULL, &rows, &n_rows);
    if (rc) return llc_fail(err, rc, "%s", llc_store_errmsg(s));
    o->n_marks = 0;
    for (int i = 0; i < n_rows && o->n_marks < LLC_PLOT_MAX_MARKS; i++) {
        if (!(strcmp(rows[i].source, "llc") == 0 || strcmp(rows[i].target, "test_loss") == 0)) continue;
        o->marks[o->n_marks++] = llround(rows[i].step);
    }
    if (o->n_marks == 0)
        rc = llc_fail(err, LLC_ERR_NOTFOUND, "--mark stages: run '%s' has no stored stages (run llc stages --run %s)",
                      run, run);
    free(rows);
    return rc;
}

void llc_plot_matrices_data_free(llc_plot_matrices_data *d)
{
    if (!d) return;
    free(d->layer);
    free(d->head);
    free(d->m);
    memset(d, 0, sizeof *d);
}

/* Heads "L.H,..." (NULL = all) into d->layer, d->head. */
static int select_heads(const llc_tf_config *tc, const char *spec, llc_plot_matrices_data *d, char *err)
{
    const int all = tc->n_layers * tc->n_heads;
    d->layer = malloc((size_t)(all > 0 ? all : 1) * sizeof *d->layer);
    d->head = malloc((size_t)(all > 0 ? all : 1) * sizeof *d->head);
    if (!d->layer || !d->head) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    if (!spec || strcmp(spec, "all") == 0) {
        for (int k = 0; k < all; k++) d->layer[k] = k / tc->n_heads, d->head[k] = k % tc->n_heads;
        d->n = all;
        return LLC_OK;
    }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int l, h;
        if (plot_target_kind(tok, &l, &h) != 1)
            return llc_fail(err, LLC_ERR_INVALID, "--heads wants heads like 0.1,1.0 or all; got '%s'", tok);
        if (l >= tc->n_layers || h >= tc->n_heads)
            return llc_fail(err, LLC_ERR_NOTFOUND, "head %s does not exist: model has layers 0-%d and heads 0-%d",
                            tok, tc->n_layers - 1, tc->n_heads - 1);
        if (d->n == all) return llc_fail(err, LLC_ERR_INVALID, "--heads names a head twice");
        d->layer[d->n] = l;
        d->head[d->n++] = h;
    }
    if (d->n == 0) return llc_fail(err, LLC_ERR_INVALID, "--heads is empty; give e.g. 0.1,1.0 or all");
    return LLC_OK;
}

int llc_plot_matrices_load(llc_store *s, const char *run, llc_task *task, llc_model *model, int kind,
                           long long step, const char *dist, uint64_t seed, const char *heads,
                           llc_plot_matrices_data *d, char *err)
{
    float *w = NULL, *att = NULL;
    double *mat = NULL;
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->step = step;
    snprintf(d->data, sizeof d->data, "%s", dist);
    const llc_tf_config *tc = llc_transformer_config(model);
    int rc = LLC_OK;
    if (!tc) {
        rc = llc_fail(err, LLC_ERR_INVALID, "run %s is a %s model; head plots need a transformer", run, model->kind);
        goto cleanup;
    }
    if ((rc = select_heads(tc, heads, d, err))) goto cleanup;
    const int di = llc_task_dist(task, dist);
    if (di < 0) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND, "task %s has no distribution '%s'", task->name, dist);
        goto cleanup;
    }
    const size_t np = llc_model_n_params(model);
    if (!(w = malloc(np * sizeof *w))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    rc = llc_store_checkpoint_get(s, run, step, w, np, NULL, NULL);
    if (rc == LLC_ERR_NOTFOUND) {
        rc = llc_fail(err, rc, "run %s has no checkpoint at step %lld (see llc show --run %s)", run, step, run);
        goto cleanup;
    }
    if (rc) {
        rc = llc_fail(err, rc, "checkpoint %s/%lld: %s", run, step, llc_store_errmsg(s));
        goto cleanup;
    }
    llc_probe_config pc = {.model = model, .w = w, .task = task, .dist = di, .seed = seed, .n_threads = 1};
    for (int k = 0; k < d->n; k++) {
        int nr = 0, nc = 0;
        if (kind == LLC_PLOT_PATTERN) rc = llc_probe_pattern(&pc, d->layer[k], d->head[k], &att, &nr, err), nc = nr;
        else rc = llc_probe_circuit(model, w, d->layer[k], d->head[k], kind == LLC_PLOT_QK, &mat, &nr, &nc, err);
        if (rc) goto cleanup;
        if (k == 0) {
            d->rows = nr;
            d->cols = nc;
            if (!(d->m = malloc((size_t)d->n * nr * nc * sizeof *d->m))) {
                rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
                goto cleanup;
            }
        }
        double *dst = d->m + (size_t)k * d->rows * d->cols;
        for (size_t i = 0; i < (size_t)nr * nc; i++) dst[i] = att ? att[i] : mat[i];
        free(att);
        free(mat);
        att = NULL;
        mat = NULL;
    }
cleanup:
    free(w);
    free(att);
    free(mat);
    if (rc) llc_plot_matrices_data_free(d);
    return rc;
}

void llc_plot_probes_data_free(llc_plot_probes_data *d)
{
    if (!d) return;
    llc_plot_curves_data_free(&d->llc);
    free(d->p);
    memset(d, 0, sizeof *d);
}

/* Probes whose values lie in [0, 1] (llc/PROBES.md), drawn on one axis. */
static int probe_is_unit(const char *name)
{
    static const char *const unit[] = {"prev_token", "current", "first", "induction", "duplicate", "icl",
                                       "copying", "copy_suppression", NULL};
    for (int i = 0; unit[i]; i++)
        if (strcmp(unit[i], name) == 0) return 1;
    return 0;
}

int llc_plot_probes_load(llc_store *s, const char *run, const char *data, const char *llc_data,
                         llc_plot_probes_data *d, char *err)
{
    int n = 0, l, h, rc;
    memset(d, 0, sizeof *d);
    if ((rc = llc_probe_results_curves(s, run, NULL, NULL, data, &d->p, &n)))
        return llc_fail(err, rc, "%s", llc_store_errmsg(s));
    for (int i = 0; i < n; i++) /* keep the heads' unit-range probes */
        if (plot_target_kind(d->p[i].target, &l, &h) == 1 && probe_is_unit(d->p[i].probe)) d->p[d->n_p++] = d->p[i];
    if (d->n_p == 0) {
        llc_plot_probes_data_free(d);
        return llc_fail(err, LLC_ERR_NOTFOUND,
                        "run %s has no stored head probes%s%s (make them with: llc probe --run %s)", run,
                        data ? " on data " : "", data ? data : "", run);
    }
    snprintf(d->data, sizeof d->data, "%s", d->p[0].data);
    /* the heads' LLC curves; a run without head estimates still shows its probes */
    rc = llc_plot_curves_load(s, run, llc_data, NULL, 1, &d->llc, err);
    if (rc == LLC_ERR_NOTFOUND) rc = LLC_OK, err[0] = '\0';
    if (rc) llc_plot_probes_data_free(d);
    return rc;
}

void llc_plot_analysis_data_free(llc_plot_analysis_data *d)
{
    if (!d) return;
    llc_trajectory_result_free(&d->tr);
    llc_series_free(&d->loss);
    llc_series_free(&d->grad);
    free(d->marks);
    memset(d, 0, sizeof *d);
}

int llc_plot_trajectory_load(llc_store *s, const char *run, llc_plot_analysis_data *d, char *err)
{
    llc_stage_row *rows = NULL;
    int n_rows = 0, rc;
    memset(d, 0, sizeof *d);
    if ((rc = llc_trajectory_get(s, run, &d->tr))) {
        rc = llc_fail(err, rc, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    if (d->tr.n_steps == 0) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND, "run '%s' has no stored trajectory (run llc trajectory --run %s)", run,
                      run);
        goto cleanup;
    }
    if ((rc = llc_stages_get(s, run, NULL, &rows, &n_rows))) {
        rc = llc_fail(err, rc, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    if (!(d->marks = malloc((size_t)(n_rows > 0 ? n_rows : 1) * sizeof *d->marks))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    /* the LLC stages and the drops of the test loss (crossings and the
     * train-loss twins of the drops would crowd the picture) */
    for (int i = 0; i < n_rows; i++) {
        if (!(strcmp(rows[i].source, "llc") == 0 || strcmp(rows[i].target, "test_loss") == 0)) continue;
        int kind_i = 0;
        while (llc_stage_kind_names[kind_i] && strcmp(llc_stage_kind_names[kind_i], rows[i].kind) != 0) kind_i++;
        if (!llc_stage_kind_names[kind_i]) continue;
        d->marks[d->n_marks++] = (llc_stage){rows[i].step, kind_i, rows[i].value};
    }
cleanup:
    free(rows);
    if (rc) llc_plot_analysis_data_free(d);
    return rc;
}

int llc_plot_log_load(llc_store *s, const char *run, llc_plot_analysis_data *d, char *err)
{
    int rc;
    memset(d, 0, sizeof *d);
    if ((rc = llc_series_get(s, run, "log_loss", NULL, &d->loss, err)) ||
        (rc = llc_series_get(s, run, "log_grad_norm", NULL, &d->grad, err)))
        goto cleanup;
    if (d->loss.n == 0) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND, "run '%s' has no training log", run);
        goto cleanup;
    }
    llc_stages_config sc;
    llc_stages_config_default(&sc);
    if ((rc = llc_stages_spikes(&sc, d->loss.step, d->loss.value, d->loss.n, &d->marks, &d->n_marks)))
        rc = llc_fail(err, rc, "out of memory");
cleanup:
    if (rc) llc_plot_analysis_data_free(d);
    return rc;
}
