/* plot_group.c - the curves of several runs (llc_plot.h): one target
 * overlaid, one series per run, or per target the mean and ±1 sd across
 * the runs at the steps they share, the losses likewise. */
#include "llc_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Index of x in the ascending s->x[0..n) with a finite mean, or -1. */
static int find_step(const llc_plot_series *s, double x)
{
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (s->x[mid] < x) lo = mid + 1;
        else if (s->x[mid] > x) hi = mid - 1;
        else return isfinite(s->mean[mid]) ? mid : -1;
    }
    return -1;
}

/* x, mean, lo, hi of m points in one allocation (x owns it). */
static int series_alloc(llc_plot_series *s, int m)
{
    s->n = 0;
    if (!(s->x = malloc((size_t)(m > 0 ? m : 1) * 4 * sizeof(double)))) return LLC_ERR_NOMEM;
    s->mean = s->x + m;
    s->lo = s->mean + m;
    s->hi = s->lo + m;
    return LLC_OK;
}

int llc_plot_series_aggregate(const llc_plot_series *in, int n, llc_plot_series *out)
{
    memset(out->target, 0, sizeof out->target);
    out->n = 0;
    out->x = NULL;
    if (n < 1) return LLC_ERR_INVALID;
    if (series_alloc(out, in[0].n)) return LLC_ERR_NOMEM;
    for (int i = 0; i < in[0].n; i++) {
        double x = in[0].x[i], sum = 0, sq = 0;
        int all = 1;
        for (int k = 0; k < n && all; k++) {
            int j = find_step(&in[k], x);
            if (j < 0) all = 0;
            else sum += in[k].mean[j];
        }
        if (!all) continue;
        double mean = sum / n;
        for (int k = 0; k < n; k++) {
            double d = in[k].mean[find_step(&in[k], x)] - mean;
            sq += d * d;
        }
        double sd = n > 1 ? sqrt(sq / (n - 1)) : 0;
        out->x[out->n] = x;
        out->mean[out->n] = mean;
        out->lo[out->n] = mean - sd;
        out->hi[out->n] = mean + sd;
        out->n++;
    }
    return LLC_OK;
}

/* The mean train and test loss across the runs at the checkpoints they
 * all have, into d->ck_*. */
static int aggregate_losses(const llc_plot_curves_data *per, int n, llc_plot_curves_data *d)
{
    llc_plot_series *tr = calloc((size_t)n, sizeof *tr), *te = calloc((size_t)n, sizeof *te), atr = {0}, ate = {0};
    int rc = tr && te ? LLC_OK : LLC_ERR_NOMEM;
    for (int k = 0; !rc && k < n; k++) {
        tr[k] = (llc_plot_series){.n = per[k].n_ck, .x = per[k].ck_step, .mean = per[k].ck_train};
        te[k] = (llc_plot_series){.n = per[k].n_ck, .x = per[k].ck_step, .mean = per[k].ck_test};
    }
    if (!rc) rc = llc_plot_series_aggregate(tr, n, &atr);
    if (!rc) rc = llc_plot_series_aggregate(te, n, &ate);
    /* a step where one loss is missing in some run: that loss is left out there */
    if (!rc && (d->n_ck = atr.n > ate.n ? atr.n : ate.n) > 0) {
        const llc_plot_series *base = atr.n >= ate.n ? &atr : &ate;
        d->ck_step = malloc((size_t)d->n_ck * sizeof(double));
        d->ck_train = malloc((size_t)d->n_ck * sizeof(double));
        d->ck_test = malloc((size_t)d->n_ck * sizeof(double));
        if (!d->ck_step || !d->ck_train || !d->ck_test) rc = LLC_ERR_NOMEM;
        for (int i = 0; !rc && i < d->n_ck; i++) {
            int a = find_step(&atr, base->x[i]), b = find_step(&ate, base->x[i]);
            d->ck_step[i] = base->x[i];
            d->ck_train[i] = a >= 0 ? atr.mean[a] : NAN;
            d->ck_test[i] = b >= 0 ? ate.mean[b] : NAN;
        }
    }
    free(atr.x);
    free(ate.x);
    free(tr);
    free(te);
    return rc;
}

int llc_plot_runs_load(llc_store *s, char *const *runs, int n_runs, const char *data, const char *spec,
                       int aggregate, llc_plot_curves_data *d, char *err)
{
    llc_plot_curves_data *per = calloc((size_t)(n_runs > 0 ? n_runs : 1), sizeof *per);
    llc_plot_series *col = calloc((size_t)(n_runs > 0 ? n_runs : 1), sizeof *col);
    int rc = LLC_OK;
    memset(d, 0, sizeof *d);
    if (!spec) spec = "model";
    if (!per || !col) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if (n_runs < 1) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND, "no runs to plot");
        goto cleanup;
    }
    if (!aggregate && (strchr(spec, ',') || strcmp(spec, "heads") == 0)) {
        rc = llc_fail(err, LLC_ERR_INVALID, "an overlay of runs shows one target, got '%s': give --target T, or "
                      "--aggregate for the mean of several", spec);
        goto cleanup;
    }
    /* every run on the first run's data distribution */
    for (int k = 0; k < n_runs; k++) {
        if ((rc = llc_plot_curves_load(s, runs[k], k ? d->data : data, spec, 0, &per[k], err))) goto cleanup;
        if (k == 0) snprintf(d->data, sizeof d->data, "%s", per[0].data);
        int same = per[k].n == per[0].n;
        for (int t = 0; same && t < per[0].n; t++) same = !strcmp(per[k].s[t].target, per[0].s[t].target);
        if (!same) {
            rc = llc_fail(err, LLC_ERR_NOTFOUND, "runs %s and %s have estimates of different targets for '%s': "
                          "name the targets with --targets", runs[0], runs[k], spec);
            goto cleanup;
        }
    }
    int n_t = per[0].n;
    if (!(d->s = calloc((size_t)(aggregate ? n_t : n_runs), sizeof *d->s))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if (!aggregate) { /* one series per run, named by the run */
        for (int k = 0; k < n_runs; k++) {
            d->s[k] = per[k].s[0];
            per[k].s[0].x = NULL;
            snprintf(d->s[k].target, sizeof d->s[k].target, "%s", runs[k]);
        }
        d->n = n_runs;
        goto cleanup;
    }
    for (int t = 0; t < n_t; t++) {
        for (int k = 0; k < n_runs; k++) col[k] = per[k].s[t]; /* the same selection, in the same order */
        if ((rc = llc_plot_series_aggregate(col, n_runs, &d->s[t]))) {
            rc = llc_fail(err, rc, "out of memory");
            goto cleanup;
        }
        d->n++;
        snprintf(d->s[t].target, sizeof d->s[t].target, "%s", per[0].s[t].target);
        if (d->s[t].n == 0) {
            rc = llc_fail(err, LLC_ERR_NOTFOUND, "the %d runs share no step with an estimate of target '%s' on data "
                          "'%s'", n_runs, per[0].s[t].target, d->data);
            goto cleanup;
        }
    }
    if ((rc = aggregate_losses(per, n_runs, d))) llc_fail(err, rc, "out of memory");
cleanup:
    for (int k = 0; per && k < n_runs; k++) llc_plot_curves_data_free(&per[k]);
    free(per);
    free(col);
    if (rc) llc_plot_curves_data_free(d);
    return rc;
}
