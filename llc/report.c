/* report.c - `llc report` (llc/llc_report.h): a run as one HTML page. Each
 * figure is drawn by the plot code into a memory stream (open_memstream)
 * and copied in; a section is written only when its data loaded. A load
 * that finds nothing (LLC_ERR_NOTFOUND, LLC_ERR_INVALID: the run lacks the
 * data or the model cannot show it) omits the section; other errors stop
 * the report.
 */
#include "llc_report.h"
#include "llc_json.h"
#include "llc_plot.h"
#include "llc_query.h"
#include "llc_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *f;
    llc_store *s;
    const llc_report_opts *o;
    llc_plot_opts po;   /* titles, stage marks, the head grid */
    int n_fig;          /* figures written, for the clip-id prefixes */
    const char *idp;    /* prefix of the section ids (a run's sections in a group page) */
    char *err;
} report;

/* A load's rc: 0 and the absent-data codes (section omitted) are fine. */
static int absent(int rc)
{
    return rc == LLC_ERR_NOTFOUND || rc == LLC_ERR_INVALID;
}

static void html_text(FILE *f, const char *t)
{
    for (; *t; t++) {
        switch (*t) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*t, f);
        }
    }
}

/* A memory stream for one figure. */
typedef struct {
    FILE *m;
    char *buf;
    size_t n;
} figure;

static int fig_open(figure *g, char *err)
{
    g->buf = NULL;
    g->n = 0;
    g->m = open_memstream(&g->buf, &g->n);
    return g->m ? 0 : llc_fail(err, LLC_ERR_NOMEM, "out of memory");
}

/* Close the figure that draw rc wrote into g and copy it into the page
 * without its XML declaration, its clip ids prefixed with the figure's
 * number (each inlined SVG numbers its clip paths from 1). */
static int fig_close(report *r, figure *g, int rc)
{
    if (fclose(g->m) != 0 && !rc) rc = LLC_ERR_NOMEM;
    if (rc) {
        free(g->buf);
        return llc_fail(r->err, rc, "drawing a figure failed: %s", llc_strerror(rc));
    }
    const char *p = g->buf;
    if (strncmp(p, "<?xml", 5) == 0 && strchr(p, '\n')) p = strchr(p, '\n') + 1;
    int k = ++r->n_fig;
    fputs("<div class=\"fig\">\n", r->f);
    while (*p) {
        const char *a = strstr(p, "id=\"clip"), *b = strstr(p, "url(#clip"), *q = a;
        if (!q || (b && b < q)) q = b;
        if (!q) {
            fputs(p, r->f);
            break;
        }
        size_t head = (size_t)(strchr(q, 'c') - p); /* up to "clip" */
        fwrite(p, 1, head, r->f);
        fprintf(r->f, "f%d-", k);
        p += head;
    }
    fputs("</div>\n", r->f);
    free(g->buf);
    return 0;
}

static void section_begin(report *r, const char *id, const char *title, const char *note)
{
    fprintf(r->f, "<section id=\"%s%s\">\n<h2>%s</h2>\n", r->idp ? r->idp : "", id, title);
    if (note) fprintf(r->f, "<p class=\"note\">%s</p>\n", note);
}

static void section_end(report *r)
{
    fputs("</section>\n", r->f);
}

static int sec_config(report *r, const char *config)
{
    cJSON *c = cJSON_Parse(config ? config : "");
    char *txt = c ? cJSON_Print(c) : NULL;
    cJSON_Delete(c);
    if (!txt && c) return llc_fail(r->err, LLC_ERR_NOMEM, "out of memory");
    section_begin(r, "config", "Config", NULL);
    fputs("<pre>", r->f);
    html_text(r->f, txt ? txt : (config ? config : ""));
    fputs("</pre>\n", r->f);
    section_end(r);
    free(txt);
    return 0;
}

/* log (traj = 0) or trajectory (traj = 1) */
static int sec_analysis(report *r, int traj)
{
    llc_plot_analysis_data d;
    figure g;
    char title[200];
    int rc = traj ? llc_plot_trajectory_load(r->s, r->o->run, &d, r->err)
                  : llc_plot_log_load(r->s, r->o->run, &d, r->err);
    if (rc) return absent(rc) ? 0 : rc;
    snprintf(title, sizeof title, "%s (%s): %s", r->po.run, r->po.task, traj ? "developmental trajectory" : "training log");
    if (!(rc = fig_open(&g, r->err))) {
        if (traj) section_begin(r, "trajectory", "Trajectory", "PC1 against PC2 of the checkpoints' outputs, "
                                "dark = early; stage boundaries ringed.");
        else section_begin(r, "log", "Training log", "Loss and gradient norm at every step; spikes in red.");
        rc = traj ? llc_plot_trajectory(g.m, title, &d.tr, d.marks, d.n_marks)
                  : llc_plot_log(g.m, title, d.loss.step, d.loss.value, d.grad.value, d.loss.n, d.marks, d.n_marks);
        rc = fig_close(r, &g, rc);
        section_end(r);
    }
    llc_plot_analysis_data_free(&d);
    return rc;
}

/* llc: the curves and the head panels; clusters: the panels coloured. */
static int sec_curves(report *r)
{
    llc_plot_curves_data d, h;
    figure g;
    int rc = llc_plot_curves_load(r->s, r->o->run, NULL, NULL, 0, &d, r->err);
    if (rc) return absent(rc) ? 0 : rc;
    section_begin(r, "llc", "LLC and rLLC curves",
                  "Mean over chains (band = &#177;1 std), losses on the right axis, stored stages as vertical "
                  "lines.");
    if (!(rc = fig_open(&g, r->err))) rc = fig_close(r, &g, llc_plot_curves(g.m, &r->po, &d));
    llc_plot_curves_data_free(&d);
    int rh = rc ? rc : llc_plot_curves_load(r->s, r->o->run, NULL, NULL, 1, &h, r->err);
    if (!rh && !(rc = fig_open(&g, r->err))) rc = fig_close(r, &g, llc_plot_heads(g.m, &r->po, &h));
    section_end(r);
    if (rh) return absent(rh) ? rc : rh;
    int rcl = rc ? rc : llc_plot_clusters_load(r->s, r->o->run, &h, r->err);
    if (!rcl) {
        section_begin(r, "clusters", "Clusters", "Each head's rLLC panel coloured by its stored cluster.");
        if (!(rc = fig_open(&g, r->err))) rc = fig_close(r, &g, llc_plot_heads(g.m, &r->po, &h));
        section_end(r);
    } else if (!rc && !absent(rcl)) {
        rc = rcl;
    }
    llc_plot_curves_data_free(&h);
    return rc;
}

static int sec_probes(report *r)
{
    llc_plot_probes_data d;
    figure g;
    int rc = llc_plot_probes_load(r->s, r->o->run, NULL, NULL, &d, r->err);
    if (rc) return absent(rc) ? 0 : rc;
    section_begin(r, "probes", "Probes", "Each head's probe curves (left) beside its rLLC (right).");
    if (!(rc = fig_open(&g, r->err))) rc = fig_close(r, &g, llc_plot_probes(g.m, &r->po, &d));
    section_end(r);
    llc_plot_probes_data_free(&d);
    return rc;
}

/* The checkpoint nearest step (steps sorted). */
static long long nearest(const long long *all, int n, long long step)
{
    long long best = all[0];
    for (int i = 1; i < n; i++)
        if (llabs(all[i] - step) < llabs(best - step)) best = all[i];
    return best;
}

/* The circuits' steps: o->steps, else the stage boundaries snapped to
 * checkpoints (distinct, sorted), else the last checkpoint. */
static int circuit_steps(report *r, const long long *all, int n_all, long long *out)
{
    int n = 0;
    if (r->o->steps) {
        for (int i = 0; i < r->o->n_steps && n < LLC_REPORT_MAX_STEPS; i++) out[n++] = r->o->steps[i];
        return n;
    }
    for (int i = 0; i < n_all; i++) {
        int hit = 0;
        for (int j = 0; j < r->po.n_marks; j++) hit |= nearest(all, n_all, r->po.marks[j]) == all[i];
        if (hit && n < LLC_REPORT_MAX_STEPS) out[n++] = all[i];
    }
    if (n == 0) out[n++] = all[n_all - 1];
    return n;
}

static int sec_circuits(report *r, const long long *all, int n_all)
{
    long long st[LLC_REPORT_MAX_STEPS];
    int n = circuit_steps(r, all, n_all, st), rc = 0, opened = 0;
    llc_task *t = r->o->task;
    const char *dist = llc_task_dist(t, "test") >= 0 ? "test" : t->dists[0];
    for (int i = 0; i < n && !rc; i++) {
        for (int kind = LLC_PLOT_PATTERN; kind <= LLC_PLOT_OV && !rc; kind++) {
            llc_plot_matrices_data d = {0};
            figure g;
            rc = llc_plot_matrices_load(r->s, r->o->run, t, r->o->model, kind, st[i], dist, 1, NULL, &d, r->err);
            if (!rc) {
                if (!opened++)
                    section_begin(r, "circuits", "Attention patterns and OV circuits",
                                  "At each chosen checkpoint: the attention pattern of every head on the probe "
                                  "set's example sequence, then its OV circuit (blue &lt; 0 &lt; red).");
                fprintf(r->f, "<h3>step %lld: %s</h3>\n", st[i], kind == LLC_PLOT_PATTERN ? "attention" : "OV");
                if (!(rc = fig_open(&g, r->err))) rc = fig_close(r, &g, llc_plot_matrices(g.m, &r->po, &d));
            } else if (absent(rc)) {
                rc = 0;
            }
            llc_plot_matrices_data_free(&d);
        }
    }
    if (opened) section_end(r);
    return rc;
}

static int sec_embed(report *r, const long long *all, int n_all)
{
    llc_plot_embed *e = NULL;
    long long fr[LLC_REPORT_MAX_FRAMES];
    int n = 0, rc = llc_plot_embed_new(r->o->task, r->o->model, "train", &e, r->err);
    if (rc) return absent(rc) ? 0 : rc;
    /* evenly spread over the checkpoints, first and last included */
    for (int i = 0; i < LLC_REPORT_MAX_FRAMES && i < n_all; i++) {
        int m = n_all <= LLC_REPORT_MAX_FRAMES ? n_all : LLC_REPORT_MAX_FRAMES;
        long long s = all[(int)((long long)i * (n_all - 1) / (m > 1 ? m - 1 : 1))];
        if (n == 0 || fr[n - 1] != s) fr[n++] = s;
    }
    for (int i = 0; i < n && !rc; i++)
        if (!(rc = llc_plot_embed_frame(e, r->s, r->o->run, fr[i], r->err))) llc_plot_embed_bounds_add(e);
    if (!rc) {
        section_begin(r, "embed", "Embedding frames", "The pooled d_model = 2 model's planes at checkpoints "
                      "spread over training, on shared ranges.");
        fputs("<div class=\"grid\">\n", r->f);
        for (int i = 0; i < n && !rc; i++) {
            figure g;
            if (!(rc = llc_plot_embed_frame(e, r->s, r->o->run, fr[i], r->err)) && !(rc = fig_open(&g, r->err)))
                rc = fig_close(r, &g, llc_plot_embed_draw(g.m, &r->po, e));
        }
        fputs("</div>\n", r->f);
        section_end(r);
    }
    llc_plot_embed_free(e);
    return rc;
}

/* The estimates where something is off, as a table. */
static int sec_diagnostics(report *r)
{
    llc_query_diag_row *q = NULL;
    int n = 0, rows = 0, rc = llc_query_diagnostics(r->s, r->o->run, &q, &n);
    if (rc) return llc_fail(r->err, rc, "%s", llc_store_errmsg(r->s));
    for (int i = 0; i < n; i++) {
        const llc_query_diag_row *e = &q[i];
        /* an empty std or eps reads as 0, an empty mean, R-hat or MALA rate as an empty cell */
        double sd = isnan(e->llc_std) ? 0 : e->llc_std, eps = isnan(e->eps) ? 0 : e->eps;
        int bad_status = strcmp(e->status, "ok") != 0, bad_rhat = isfinite(e->rhat) && e->rhat > LLC_REPORT_RHAT_MAX;
        int neg = !bad_status && !isnan(e->llc_mean) && llc_results_negative(e->llc_mean, sd, e->chains);
        if (!bad_status && !bad_rhat && e->n_diverged == 0 && !neg) continue;
        if (rows++ == 0) {
            section_begin(r, "diagnostics", "Diagnostics",
                          "Estimates where something is off: status not ok, R-hat above 1.1, diverged chains, or "
                          "significantly below 0 (mean + 2 std/&#8730;chains &lt; 0).");
            fputs("<table>\n<tr><th>step</th><th>target</th><th>data</th><th>status</th><th>llc mean</th>"
                  "<th>std</th><th>chains</th><th>diverged</th><th>R-hat</th><th>MALA accept</th><th>eps</th>"
                  "<th>flags</th></tr>\n", r->f);
        }
        fprintf(r->f, "<tr><td>%lld</td><td>", e->step);
        html_text(r->f, e->target);
        fputs("</td><td>", r->f);
        html_text(r->f, e->data);
        fputs("</td><td>", r->f);
        html_text(r->f, e->status);
        fputs("</td>", r->f);
        if (!isnan(e->llc_mean)) fprintf(r->f, "<td>%.4g</td><td>%.3g</td>", e->llc_mean, sd);
        else fputs("<td></td><td></td>", r->f);
        fprintf(r->f, "<td>%d</td><td>%d</td>", e->chains, e->n_diverged);
        if (isfinite(e->rhat)) fprintf(r->f, "<td>%.3f</td>", e->rhat);
        else fputs("<td></td>", r->f);
        if (!isnan(e->mala_accept)) fprintf(r->f, "<td>%.3f</td>", e->mala_accept);
        else fputs("<td></td>", r->f);
        fprintf(r->f, "<td>%.3g</td><td class=\"flag\">%s%s%s%s</td></tr>\n", eps, bad_status ? "status " : "",
                bad_rhat ? "R-hat " : "", e->n_diverged ? "diverged " : "", neg ? "negative" : "");
    }
    if (rows) {
        fputs("</table>\n", r->f);
        section_end(r);
    }
    free(q);
    return LLC_OK;
}

static const char css[] =
    "body{font-family:sans-serif;margin:1.5em auto;max-width:1100px;color:#222;background:#fff}"
    "h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}"
    "h3{font-size:1em;margin:.8em 0 .2em}nav a{margin-right:1em}.note{color:#555;font-size:.9em}"
    "pre{tab-size:2;background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}"
    ".fig svg{max-width:100%;height:auto}.grid{display:flex;flex-wrap:wrap;gap:8px}"
    ".grid .fig{width:32%}table{border-collapse:collapse;font-size:.85em}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}.flag{color:#b00}"
    ".spec{white-space:pre-wrap;word-break:break-all}.runs td:nth-child(-n+2){text-align:left}";

int llc_report_write(FILE *f, llc_store *s, const llc_report_opts *o, char *err)
{
    llc_run_info info;
    long long *all = NULL;
    int n_all = 0, rc;
    char *body = NULL;
    size_t n_body = 0;
    report r = {.s = s, .o = o, .err = err};
    if ((rc = llc_store_run_get(s, o->run, &info)))
        return rc == LLC_ERR_NOTFOUND ? llc_fail(err, rc, "no run '%s' (see llc runs)", o->run)
                                      : llc_fail(err, rc, "%s", llc_store_errmsg(s));
    if ((rc = llc_store_checkpoint_steps(s, o->run, &all, &n_all))) {
        llc_fail(err, rc, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    /* the sections go to memory first, so the navigation lists only those written */
    if (!(r.f = open_memstream(&body, &n_body))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    r.po.run = o->run;
    r.po.task = info.task;
    if (o->model && strcmp(o->model->kind, "transformer") == 0) {
        r.po.n_layers = llc_transformer_config(o->model)->n_layers;
        r.po.n_heads = llc_transformer_config(o->model)->n_heads;
    }
    if (r.po.n_layers < 1) r.po.n_layers = r.po.n_heads = 1;
    if ((rc = llc_plot_stage_marks(s, o->run, &r.po, err)) && !absent(rc)) goto cleanup;
    if (rc) r.po.n_marks = 0;
    if ((rc = sec_config(&r, info.config)) || (rc = sec_analysis(&r, 0)) || (rc = sec_curves(&r)) ||
        (rc = sec_probes(&r)) || (rc = sec_analysis(&r, 1)))
        goto cleanup;
    if (o->model && o->task && n_all > 0 &&
        ((rc = sec_circuits(&r, all, n_all)) || (rc = sec_embed(&r, all, n_all))))
        goto cleanup;
    if ((rc = sec_diagnostics(&r))) goto cleanup;
    if (fclose(r.f) != 0) {
        r.f = NULL;
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    r.f = NULL;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>llc report: ", f);
    html_text(f, o->run);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Run ", css);
    html_text(f, o->run);
    fputs(" (", f);
    html_text(f, info.task);
    fprintf(f, ")</h1>\n<p class=\"note\">created %s, status %s, %d checkpoints.</p>\n<nav>",
            info.created ? info.created : "?", info.status ? info.status : "?", n_all);
    for (const char *p = body; (p = strstr(p, "<section id=\"")); p++) {
        const char *id = p + 13, *e = strchr(id, '"');
        fprintf(f, "<a href=\"#%.*s\">%.*s</a>", (int)(e - id), id, (int)(e - id), id);
    }
    fputs("</nav>\n", f);
    fwrite(body, 1, n_body, f);
    fputs("</body>\n</html>\n", f);
    if (ferror(f)) rc = llc_fail(err, LLC_ERR_IO, "writing the report failed");
cleanup:
    if (r.f) fclose(r.f);
    free(body);
    free(all);
    llc_run_info_free(&info);
    return rc;
}

/* ---------------- a group of runs ---------------- */

/* The group's table: each run's varied settings, status, last checkpoint,
 * final losses and number of estimates. */
static int sec_group_table(report *r, char *const *ids, int n)
{
    int rc = 0;
    section_begin(r, "runs", "Runs", "The settings the sweep varied, the last checkpoint's losses and the number "
                  "of stored estimates.");
    fputs("<table class=\"runs\">\n<tr><th>run</th><th>varied</th><th>status</th><th>last step</th><th>train loss</th>"
          "<th>test loss</th><th>estimates</th></tr>\n", r->f);
    for (int k = 0; k < n && !rc; k++) {
        char **keys = NULL, **vals = NULL;
        int nv = 0, nl = 0, ne = 0;
        llc_query_losses_row *l = NULL;
        llc_query_diag_row *q = NULL;
        llc_run_info info = {0};
        if ((rc = llc_store_run_vary(r->s, ids[k], &keys, &vals, &nv)) ||
            (rc = llc_query_losses(r->s, ids[k], &l, &nl)) || (rc = llc_query_diagnostics(r->s, ids[k], &q, &ne)) ||
            (rc = llc_store_run_get(r->s, ids[k], &info))) {
            llc_fail(r->err, rc, "%s", llc_store_errmsg(r->s));
        } else {
            fputs("<tr><td>", r->f);
            html_text(r->f, ids[k]);
            fputs("</td><td>", r->f);
            for (int i = 0; i < nv; i++) {
                fputs(i ? ", " : "", r->f);
                html_text(r->f, keys[i]);
                fputc('=', r->f);
                html_text(r->f, vals[i]);
            }
            fputs("</td><td>", r->f);
            html_text(r->f, info.status ? info.status : "?");
            fputs("</td>", r->f);
            if (nl) fprintf(r->f, "<td>%lld</td><td>%.4g</td><td>%.4g</td>", l[nl - 1].step, l[nl - 1].train_loss,
                            l[nl - 1].test_loss);
            else fputs("<td></td><td></td><td></td>", r->f);
            fprintf(r->f, "<td>%d</td></tr>\n", ne);
        }
        llc_strings_free(keys, nv);
        llc_strings_free(vals, nv);
        free(l);
        free(q);
        llc_run_info_free(&info);
    }
    fputs("</table>\n", r->f);
    section_end(r);
    return rc;
}

/* The model's LLC curves overlaid (aggregate 0) or their mean ± 1 sd. */
static int sec_group_llc(report *r, char *const *ids, int n, int aggregate)
{
    llc_plot_curves_data d;
    figure g;
    char sub[160];
    int rc = llc_plot_runs_load(r->s, ids, n, NULL, "model", aggregate, &d, r->err);
    if (rc) return absent(rc) ? 0 : rc;
    if (aggregate) {
        snprintf(sub, sizeof sub, "mean over %d runs; band = ±1 sd across the runs, at the steps they all have", n);
        section_begin(r, "aggregate", "Mean LLC", "The model's LLC averaged over the runs, &#177;1 sd.");
    } else {
        snprintf(sub, sizeof sub, "target model, %d runs; band = ±1 std over chains", n);
        section_begin(r, "overlay", "LLC of every run", "The model's LLC curve of each run, one colour each.");
    }
    llc_plot_opts po = r->po;
    po.series_colors = !aggregate;
    po.subtitle = sub;
    if (!(rc = fig_open(&g, r->err))) rc = fig_close(r, &g, llc_plot_curves(g.m, &po, &d));
    section_end(r);
    llc_plot_curves_data_free(&d);
    return rc;
}

/* The train and test losses of the runs' checkpoints overlaid, one figure
 * each, drawn as curves without a band (one series per run). */
static int sec_group_losses(report *r, char *const *ids, int n)
{
    llc_plot_curves_data d = {0};
    llc_query_losses_row *l = NULL;
    int nl = 0, opened = 0, rc = 0;
    if (!(d.s = calloc((size_t)n, sizeof *d.s))) return llc_fail(r->err, LLC_ERR_NOMEM, "out of memory");
    /* series k: run k's steps, then its train losses (mean), test losses (lo), hi unused */
    for (int k = 0; k < n && !rc; k++, d.n++) {
        llc_plot_series *sk = &d.s[k];
        snprintf(sk->target, sizeof sk->target, "%s", ids[k]);
        if ((rc = llc_query_losses(r->s, ids[k], &l, &nl))) {
            llc_fail(r->err, rc, "%s", llc_store_errmsg(r->s));
        } else if (!(sk->x = malloc((size_t)(nl ? nl : 1) * 4 * sizeof(double)))) {
            rc = llc_fail(r->err, LLC_ERR_NOMEM, "out of memory");
        } else {
            sk->n = nl, sk->mean = sk->x + nl, sk->lo = sk->mean + nl, sk->hi = sk->lo + nl;
            for (int i = 0; i < nl; i++)
                sk->x[i] = (double)l[i].step, sk->mean[i] = l[i].train_loss, sk->lo[i] = l[i].test_loss;
        }
        free(l);
        l = NULL;
    }
    for (int which = 0; which < 2 && !rc; which++) {
        /* the curve of one loss: mean = lo = hi, its NULL (NaN) values left out */
        llc_plot_curves_data v = {.s = calloc((size_t)n, sizeof *v.s), .n = n};
        double *buf = NULL;
        int pts = 0;
        for (int k = 0; k < n; k++) pts += d.s[k].n;
        if (!v.s || !(buf = malloc((size_t)(pts ? pts : 1) * 2 * sizeof(double)))) {
            free(v.s);
            rc = llc_fail(r->err, LLC_ERR_NOMEM, "out of memory");
            break;
        }
        pts = 0;
        for (int k = 0, at = 0; k < n; k++) {
            const llc_plot_series *sk = &d.s[k];
            v.s[k] = (llc_plot_series){.x = buf + 2 * at, .mean = buf + 2 * at + sk->n};
            snprintf(v.s[k].target, sizeof v.s[k].target, "%s", sk->target);
            for (int i = 0; i < sk->n; i++) {
                double y = which ? sk->lo[i] : sk->mean[i];
                if (!isfinite(y)) continue;
                v.s[k].x[v.s[k].n] = sk->x[i], v.s[k].mean[v.s[k].n++] = y;
            }
            v.s[k].lo = v.s[k].hi = v.s[k].mean;
            at += sk->n;
            pts += v.s[k].n;
        }
        if (pts) {
            figure g;
            llc_plot_opts po = r->po;
            po.series_colors = 1;
            po.subtitle = "one line per run, at its checkpoints";
            po.quantity = "loss";
            snprintf(v.data, sizeof v.data, "%s", which ? "test" : "train");
            if (!opened++)
                section_begin(r, "losses", "Losses", "The train and test loss of every run's checkpoints.");
            if (!(rc = fig_open(&g, r->err))) rc = fig_close(r, &g, llc_plot_curves(g.m, &po, &v));
        }
        free(buf);
        free(v.s);
    }
    if (opened) section_end(r);
    llc_plot_curves_data_free(&d);
    return rc;
}

/* A run's curves, its section ids prefixed by its id. */
static int sec_group_run(report *r, const char *run)
{
    llc_report_opts o = {.run = run};
    char idp[80];
    report q = {.f = r->f, .s = r->s, .o = &o, .po = r->po, .n_fig = r->n_fig, .err = r->err, .idp = idp};
    int rc;
    snprintf(idp, sizeof idp, "%s-", run);
    q.po.run = run;
    q.po.n_layers = q.po.n_heads = 1;
    q.po.n_marks = 0;
    if ((rc = llc_plot_stage_marks(r->s, run, &q.po, r->err)) && !absent(rc)) return rc;
    if (rc) q.po.n_marks = 0;
    fputs("<h2 class=\"run\">Run ", r->f);
    html_text(r->f, run);
    fputs("</h2>\n", r->f);
    rc = sec_curves(&q);
    r->n_fig = q.n_fig;
    return rc;
}

int llc_report_group_write(FILE *f, llc_store *s, const char *grp, char *err)
{
    char **ids = NULL, *spec = NULL;
    int n = 0, rc;
    llc_run_info info = {0};
    char title[128];
    report r = {.f = f, .s = s, .err = err};
    if ((rc = llc_store_runs_select(s, grp, NULL, &ids, &n)) || (rc = llc_store_group_get(s, grp, &spec)) ||
        (rc = llc_store_run_get(s, ids[0], &info))) {
        llc_fail(err, rc, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    snprintf(title, sizeof title, "group %s", grp);
    r.po.run = title;
    r.po.task = info.task;
    r.po.n_layers = r.po.n_heads = 1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>llc report: group ", f);
    html_text(f, grp);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Group ", css);
    html_text(f, grp);
    fputs(" (", f);
    html_text(f, info.task);
    fprintf(f, ")</h1>\n<p class=\"note\">%d runs of the sweep:</p>\n<pre class=\"spec\">", n);
    html_text(f, spec ? spec : "");
    fputs("</pre>\n", f);
    if ((rc = sec_group_table(&r, ids, n)) || (rc = sec_group_llc(&r, ids, n, 0)) ||
        (rc = sec_group_llc(&r, ids, n, 1)) || (rc = sec_group_losses(&r, ids, n)))
        goto cleanup;
    for (int k = 0; k < n && !rc; k++) rc = sec_group_run(&r, ids[k]);
    if (rc) goto cleanup;
    fputs("</body>\n</html>\n", f);
    if (ferror(f)) rc = llc_fail(err, LLC_ERR_IO, "writing the report failed");
cleanup:
    llc_strings_free(ids, n);
    free(spec);
    llc_run_info_free(&info);
    return rc;
}
