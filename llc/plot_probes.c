/* plot_probes.c - the head-probe pictures of `llc plot` (llc_plot.h):
 * attention patterns and OV/QK circuits as a heatmap panel per head, and
 * each head's probe curves over training next to its LLC curve. */
#include "plot_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATTERN_COLOR "#08306b" /* dark blue: attention 1 */
#define POS_COLOR "#b2182b"     /* diverging: positive */
#define NEG_COLOR "#2166ac"     /* diverging: negative */
#define MAX_TICK_LABELS 8

/* Cell colour of value v: pattern white (0) to dark blue (1); circuits
 * blue (-scale) through white (0) to red (+scale). */
static const char *cell_color(int kind, double v, double scale, char *buf)
{
    if (!isfinite(v)) return "#cccccc";
    if (kind == LLC_PLOT_PATTERN) return llc_svg_tint(PATTERN_COLOR, 1 - fmin(fmax(v, 0), 1), buf);
    double t = scale > 0 ? fmin(fabs(v) / scale, 1) : 0;
    return llc_svg_tint(v < 0 ? NEG_COLOR : POS_COLOR, 1 - t, buf);
}

/* Index labels 0..n-1 along one side of a panel: every k-th (k = 1, 2, 5,
 * 10, ...) so at most MAX_TICK_LABELS show, and the last one. */
static void index_labels(llc_svg *svg, const llc_svg_panel *p, int n, double cell, int vertical)
{
    static const int step125[3] = {1, 2, 5};
    int k = 1;
    for (int j = 1, decade = 1; (n + k - 1) / k > MAX_TICK_LABELS; j++) {
        if (j % 3 == 0) decade *= 10;
        k = step125[j % 3] * decade; /* 1, 2, 5, 10, 20, 50, ... */
    }
    for (int i = 0; i < n; i++) {
        if (i % k && i != n - 1) continue;
        if (i > 0 && i != n - 1 && n - 1 - i < (k + 1) / 2) continue; /* too close to the last label */
        char lab[16];
        snprintf(lab, sizeof lab, "%d", i);
        if (vertical)
            llc_svg_text(svg, p->x - 4, p->y + (i + 0.5) * cell + 3.5, 10, LLC_SVG_END, 0, "#444444", 0,
                         "tick-label", lab);
        else
            llc_svg_text(svg, p->x + (i + 0.5) * cell, p->y + p->h + 13, 10, LLC_SVG_MIDDLE, 0, "#444444", 0,
                         "tick-label", lab);
    }
}

/* One head's heatmap: runs of equal colour along each row as one rect. */
static void heatmap(llc_svg *svg, const llc_svg_panel *p, const llc_plot_matrices_data *d, const double *m,
                    double scale)
{
    const double cw = p->w / d->cols, ch = p->h / d->rows;
    llc_svg_group_begin(svg, "cell");
    for (int r = 0; r < d->rows; r++) {
        char cur[8] = "", buf[8];
        int start = 0;
        for (int c = 0; c <= d->cols; c++) {
            const char *col = c < d->cols ? cell_color(d->kind, m[(size_t)r * d->cols + c], scale, buf) : "";
            if (c > 0 && strcmp(col, cur) != 0) {
                llc_svg_rect(svg, p->x + start * cw, p->y + r * ch, (c - start) * cw + 0.3, ch + 0.3, cur, 1, NULL,
                             0);
                start = c;
            }
            if (c == 0 || start == c) snprintf(cur, sizeof cur, "%s", col);
        }
    }
    llc_svg_group_end(svg);
    llc_svg_rect(svg, p->x, p->y, p->w, p->h, NULL, 0, "#444444", 0.8);
}

int llc_plot_matrices(FILE *f, const llc_plot_opts *o, const llc_plot_matrices_data *d)
{
    static const char *const what[3] = {"attention pattern", "OV circuit", "QK circuit"};
    static const char *const xl[3] = {"key position", "logit (output token)", "key token"};
    static const char *const yl[3] = {"query position", "attended token", "query token"};
    const int ncol = d->n < 4 ? d->n : 4, nrow = (d->n + ncol - 1) / ncol;
    const double ps = d->rows > 40 || d->cols > 40 ? 260 : 200, gx = 56, gy = 62, left = 74, top = 86;
    const double pw = d->cols >= d->rows ? ps : ps * d->cols / d->rows,
                 ph = d->rows >= d->cols ? ps : ps * d->rows / d->cols;
    double W = left + ncol * pw + (ncol - 1) * gx + 30, H = top + nrow * ph + (nrow - 1) * gy + 64;
    if (W < 560) W = 560;
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%s (%s): %s of each head at step %lld", o->run, o->task, what[d->kind], d->step);
    if (d->kind == LLC_PLOT_PATTERN)
        snprintf(t2, sizeof t2, "the probe set's example sequence (data %s); row = query, column = key; white 0, "
                 "dark blue 1", d->data);
    else
        snprintf(t2, sizeof t2, "row = %s, column = %s; red > 0 > blue, each panel scaled to its max |value|",
                 yl[d->kind], xl[d->kind]);
    plot_title(&svg, left, t1, t2);
    for (int k = 0; k < d->n; k++) {
        const double *m = d->m + (size_t)k * d->rows * d->cols;
        double scale = 0;
        for (size_t i = 0; i < (size_t)d->rows * d->cols; i++)
            if (isfinite(m[i]) && fabs(m[i]) > scale) scale = fabs(m[i]);
        llc_svg_panel p = {left + (k % ncol) * (pw + gx), top + (k / ncol) * (ph + gy), pw, ph, {0}, {0}, 0};
        heatmap(&svg, &p, d, m, scale);
        char name[32], sub[64];
        snprintf(name, sizeof name, "%d.%d", d->layer[k], d->head[k]);
        llc_svg_text(&svg, p.x, p.y - 8, 12, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "panel-title", name);
        if (d->kind != LLC_PLOT_PATTERN) {
            snprintf(sub, sizeof sub, "max |v| %.3g", scale);
            llc_svg_text(&svg, p.x + p.w, p.y - 8, 10, LLC_SVG_END, 0, "#666666", 0, "scale", sub);
        }
        index_labels(&svg, &p, d->cols, pw / d->cols, 0);
        index_labels(&svg, &p, d->rows, ph / d->rows, 1);
    }
    llc_svg_text(&svg, left + (W - left - 30) / 2, H - 14, 12.5, LLC_SVG_MIDDLE, 0, "#222222", 0, "axis-label",
                 xl[d->kind]);
    llc_svg_text(&svg, 20, top + (H - top - 64) / 2, 12.5, LLC_SVG_MIDDLE, -90, "#222222", 0, "axis-label",
                 yl[d->kind]);
    return llc_svg_end(&svg);
}

/* ---------------- probes ---------------- */

/* Distinct names (probe names or targets) of the points, in first-seen order
 * (targets sorted as plot_target_cmp); n returned. */
static int distinct(const llc_plot_probes_data *d, int targets, char (*out)[64], int cap)
{
    int n = 0;
    for (int i = 0; i < d->n_p; i++) {
        const char *v = targets ? d->p[i].target : d->p[i].probe;
        int seen = strcmp(d->p[i].data, d->data) != 0;
        for (int j = 0; j < n && !seen; j++) seen = strcmp(out[j], v) == 0;
        if (!seen && n < cap) snprintf(out[n++], 64, "%s", v);
    }
    if (targets) qsort(out, (size_t)n, sizeof *out, plot_target_cmp);
    return n;
}

/* The step axis over probe points and LLC curves. */
static void probes_step_axis(const llc_plot_opts *o, const llc_plot_probes_data *d, llc_svg_axis *ax, char *label,
                             size_t n)
{
    double lo, hi, minpos;
    plot_step_range(o, &d->llc, 0, &lo, &hi, &minpos);
    double *steps = malloc((size_t)(d->n_p > 0 ? d->n_p : 1) * sizeof *steps);
    int ns = 0;
    for (int i = 0; i < d->n_p; i++) {
        double v = (double)d->p[i].step;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (v > 0 && v < minpos) minpos = v;
        if (steps) {
            int k = ns; /* insert sorted, distinct */
            while (k > 0 && steps[k - 1] > v) k--;
            if (k > 0 && steps[k - 1] == v) continue;
            memmove(steps + k + 1, steps + k, (size_t)(ns - k) * sizeof *steps);
            steps[k] = v;
            ns++;
        }
    }
    plot_step_axis(ax, lo, hi, minpos, o->linear, steps ? steps : &lo, steps ? ns : 1, label, n);
    free(steps);
}

int llc_plot_probes(FILE *f, const llc_plot_opts *o, const llc_plot_probes_data *d)
{
    char heads[256][64], probes[16][64];
    const int nh = distinct(d, 1, heads, 256), np = distinct(d, 0, probes, 16);
    const double pw = 330, ph = 120, gx = 70, gy = 40, left = 78, top = 114, bottom = 58;
    const double W = left + 2 * pw + gx + 30, H = top + nh * ph + (nh - 1) * gy + bottom;
    llc_svg_panel base = {0, 0, pw, ph, {0}, {0}, 0};
    char xlabel[128];
    probes_step_axis(o, d, &base.xa, xlabel, sizeof xlabel);
    llc_svg_axis_set(&base.ya, LLC_SVG_LINEAR, 0, 1, 0, 1);
    double ylo, yhi;
    plot_value_range(&d->llc, &ylo, &yhi);
    double *xs = malloc((size_t)d->n_p * 2 * sizeof *xs);
    if (!xs) return LLC_ERR_NOMEM;
    double *ys = xs + d->n_p;
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%s (%s): head probes and the LLC of each head", o->run, o->task);
    snprintf(t2, sizeof t2, "left: probe scores in [0, 1] on data %s (llc probe); right: LLC λ of the head%s%s",
             d->data, d->llc.n ? ", data " : " (no head estimates)", d->llc.n ? d->llc.data : "");
    plot_title(&svg, left, t1, t2);
    llc_svg_legend_entry le[16];
    for (int j = 0; j < np; j++)
        le[j] = (llc_svg_legend_entry){probes[j], llc_svg_category_color(j), NULL, LLC_SVG_KEY_LINE};
    llc_svg_legend(&svg, left, 58, le, np, 1, PLOT_LEGEND_FONT);
    for (int r = 0; r < nh; r++) {
        llc_svg_panel p = base, q = base;
        p.x = left;
        q.x = left + pw + gx;
        p.y = q.y = top + r * (ph + gy);
        llc_svg_axis_set(&q.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 0);
        llc_svg_panel_begin(&svg, &p);
        llc_svg_panel_begin(&svg, &q);
        int flags = r < nh - 1 ? LLC_SVG_NO_XLABELS : 0;
        llc_svg_axes(&svg, &p, flags, NULL, r == 0 ? "probe score" : NULL);
        llc_svg_axes(&svg, &q, flags, NULL, r == 0 ? "LLC  λ" : NULL);
        llc_svg_text(&svg, p.x + 4, p.y - 6, 12, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "panel-title", heads[r]);
        for (int j = 0; j < np; j++) {
            int n = 0;
            for (int i = 0; i < d->n_p; i++)
                if (!strcmp(d->p[i].target, heads[r]) && !strcmp(d->p[i].probe, probes[j]) &&
                    !strcmp(d->p[i].data, d->data))
                    xs[n] = (double)d->p[i].step, ys[n++] = d->p[i].value;
            llc_svg_style st = {llc_svg_category_color(j), 1.6, NULL, 0, "probe-curve", probes[j]};
            llc_svg_path(&svg, &p, xs, ys, n, &st);
            if (n <= 40) llc_svg_points(&svg, &p, xs, ys, n, 2.0, llc_svg_category_color(j), 0, NULL);
        }
        for (int k = 0; k < d->llc.n; k++) {
            const llc_plot_series *sr = &d->llc.s[k];
            if (strcmp(sr->target, heads[r]) != 0) continue;
            llc_svg_band(&svg, &q, sr->x, sr->lo, sr->hi, sr->n, "#000000", 0.12, sr->target);
            llc_svg_style st = {"#000000", 1.7, NULL, 0, NULL, sr->target};
            llc_svg_path(&svg, &q, sr->x, sr->mean, sr->n, &st);
        }
        plot_draw_marks(&svg, &p, o, r == 0);
        plot_draw_marks(&svg, &q, o, 0);
    }
    llc_svg_text(&svg, left + (W - left - 30) / 2, H - 14, 12.5, LLC_SVG_MIDDLE, 0, "#222222", 0, "axis-label",
                 xlabel);
    free(xs);
    return llc_svg_end(&svg);
}
