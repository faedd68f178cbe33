/* plot_common.c - helpers shared by the pictures of llc_plot.h: target
 * names and styles, the title, the step axis and mark lines. */
#include "plot_common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "L.H" -> 1; "layer L", "attn L", "mlp L", "L" -> 2; "model" -> 0; other -> 3. */
int plot_target_kind(const char *t, int *l, int *h)
{
    char tail;
    *l = *h = 0;
    if (strcmp(t, "model") == 0) return 0;
    if (sscanf(t, "%d.%d%c", l, h, &tail) == 2 && *l >= 0 && *h >= 0 && strchr(t, ' ') == NULL) return 1;
    if ((sscanf(t, "layer %d%c", l, &tail) == 1 || sscanf(t, "attn %d%c", l, &tail) == 1 ||
         sscanf(t, "mlp %d%c", l, &tail) == 1 || (sscanf(t, "%d%c", l, &tail) == 1 && strchr(t, '.') == NULL)) &&
        *l >= 0)
        return 2;
    return 3;
}

/* The llc estimate option that makes estimates of target t. */
const char *plot_estimate_flag(const char *t, char *buf, size_t n)
{
    int l, h;
    switch (plot_target_kind(t, &l, &h)) {
    case 0: snprintf(buf, n, "--model"); break;
    case 1: snprintf(buf, n, "--head %s", t); break;
    default: snprintf(buf, n, strchr(t, ' ') ? "--target '%s'" : "--target %s", t); break;
    }
    return buf;
}

int plot_target_cmp(const void *pa, const void *pb)
{
    const char *a = pa, *b = pb; /* arrays of char[64] */
    int la, ha, lb, hb;
    int ka = plot_target_kind(a, &la, &ha), kb = plot_target_kind(b, &lb, &hb);
    if (ka != kb) return ka - kb;
    if (ka == 1 || ka == 2) {
        if (la != lb) return la - lb;
        if (ha != hb) return ha - hb;
    }
    return strcmp(a, b);
}

/* Dash patterns of the heads of layers 0, 1, 2, ... (repeating). */
static const char *const layer_dash[4] = {NULL, "7,3", "2,2", "8,3,2,3"};

/* The colour and dash of a target's curve: model black; head L.H the H-th
 * categorical colour (ten distinct hues) with layer L's dash pattern, so
 * the heads of a layer differ in colour and the layers in dash; layer-level
 * targets the layer family's darkest, dashed. */
const char *plot_target_style(const char *t, int *other_idx, char *buf, const char **dash)
{
    int l, h;
    *dash = NULL;
    switch (plot_target_kind(t, &l, &h)) {
    case 0: snprintf(buf, 8, "#000000"); return buf;
    case 1:
        *dash = layer_dash[l % 4];
        snprintf(buf, 8, "%s", llc_svg_category_color(h));
        return buf;
    case 2:
        *dash = "7,3";
        return llc_svg_family_color(l, 0, 1, buf);
    default: snprintf(buf, 8, "%s", llc_svg_category_color(4 + 2 * (*other_idx)++)); return buf;
    }
}

void plot_title(llc_svg *svg, double x, const char *main_txt, const char *sub)
{
    llc_svg_text(svg, x, 24, PLOT_TITLE_FONT, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "title", main_txt);
    if (sub) llc_svg_text(svg, x, 42, PLOT_SUB_FONT, LLC_SVG_START, 0, "#555555", 0, "subtitle", sub);
}

/* How evenly the steps spread over an axis: the mean log of the gaps between
 * consecutive distinct positions (larger = more even; the most even spread
 * of n points has every gap 1/(n-1)). */
static double spread_score(const llc_svg_axis *ax, const double *steps, int n)
{
    double prev = NAN, sum = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        double f = llc_svg_axis_frac(ax, steps[i]);
        if (!isfinite(f)) continue;
        if (isfinite(prev) && f > prev + 1e-12) sum += log(f - prev), k++;
        if (!isfinite(prev) || f > prev) prev = f;
    }
    return k ? sum / k : -INFINITY;
}

/* Step axis: linear (--linear), log (no step 0), or, with step 0 present,
 * whichever of linear and symlog spreads the checkpoint steps (ascending)
 * more evenly (spread_score): a linear or evenly spaced schedule gets a
 * linear axis, a log-spaced one symlog. The last step is always a labelled
 * tick. */
void plot_step_axis(llc_svg_axis *ax, double lo, double hi, double minpos, int linear, const double *steps,
                      int n_steps, char *label, size_t n)
{
    if (linear || !(hi > 0)) {
        llc_svg_axis_set(ax, LLC_SVG_LINEAR, lo, hi, 0, 0);
        snprintf(label, n, "training step");
    } else if (lo <= 0) {
        /* c: the largest 1, 2 or 5 x 10^k at or below the first positive step */
        double c = 1.0;
        if (isfinite(minpos) && minpos > 0) {
            double mag = pow(10.0, floor(log10(minpos) + 1e-9));
            c = minpos >= 5 * mag ? 5 * mag : minpos >= 2 * mag ? 2 * mag : mag;
        }
        llc_svg_axis lin;
        llc_svg_axis_set(&lin, LLC_SVG_LINEAR, lo, hi, 0, 0);
        llc_svg_axis_set(ax, LLC_SVG_SYMLOG, lo, hi, c, 0);
        if (spread_score(&lin, steps, n_steps) > spread_score(ax, steps, n_steps)) {
            *ax = lin;
            snprintf(label, n, "training step (linear: the checkpoints spread evenly)");
        } else {
            char cb[32];
            llc_svg_format_tick(c, 0, cb, sizeof cb);
            snprintf(label, n, "training step (log scale; linear from 0 to %s)", cb);
        }
    } else {
        llc_svg_axis_set(ax, LLC_SVG_LOG, lo, hi, 0, 0);
        snprintf(label, n, "training step (log scale)");
    }
    ax->has_end = isfinite(hi);
    ax->end = hi;
}

/* Vertical --mark lines in a panel, labels (if labels) stacked in rows so
 * they do not overlap. */
void plot_draw_marks(llc_svg *svg, const llc_svg_panel *p, const llc_plot_opts *c, int labels)
{
    double ra[LLC_PLOT_MAX_MARKS], rb[LLC_PLOT_MAX_MARKS];
    int rrow[LLC_PLOT_MAX_MARKS], nr = 0;
    llc_svg_style st = {PLOT_MARK_COLOR, 1.2, "5,3", 0.9, "mark", NULL};
    for (int i = 0; i < c->n_marks; i++) {
        double x = llc_svg_px(p, (double)c->marks[i]);
        if (!isfinite(x) || x < p->x - 0.5 || x > p->x + p->w + 0.5) continue;
        llc_svg_vline(svg, p, (double)c->marks[i], &st);
        if (!labels) continue;
        char txt[32];
        snprintf(txt, sizeof txt, "%lld", c->marks[i]);
        double w = llc_svg_text_width(txt, 10.5);
        int right = x + 3 + w > p->x + p->w - 2; /* near the right edge: label left of the line */
        double a = right ? x - 3 - w : x + 3, b = a + w;
        int row = 0;
        for (int again = 1; again && row < 8;) {
            again = 0;
            for (int j = 0; j < nr; j++)
                if (rrow[j] == row && a < rb[j] + 3 && b > ra[j] - 3) {
                    row++;
                    again = 1;
                    break;
                }
        }
        ra[nr] = a;
        rb[nr] = b;
        rrow[nr++] = row;
        llc_svg_text(svg, right ? x - 3 : x + 3, p->y + 13 + 13 * row, 10.5, right ? LLC_SVG_END : LLC_SVG_START, 0,
                     PLOT_MARK_COLOR, LLC_SVG_HALO, "mark-label", txt);
    }
}

/* ---------------- curves from the store ---------------- */
/* Range of the step axis over every series, the checkpoints and the marks. */
void plot_step_range(const llc_plot_opts *c, const llc_plot_curves_data *cs, int with_ck, double *lo, double *hi,
                     double *minpos)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    *minpos = INFINITY;
#define TAKE_STEP(v)                           \
    do {                                       \
        double v_ = (v);                       \
        if (v_ < *lo) *lo = v_;                \
        if (v_ > *hi) *hi = v_;                \
        if (v_ > 0 && v_ < *minpos) *minpos = v_; \
    } while (0)
    for (int k = 0; k < cs->n; k++)
        for (int i = 0; i < cs->s[k].n; i++) TAKE_STEP(cs->s[k].x[i]);
    if (with_ck)
        for (int i = 0; i < cs->n_ck; i++)
            if (isfinite(cs->ck_train[i]) || isfinite(cs->ck_test[i])) TAKE_STEP(cs->ck_step[i]);
    for (int i = 0; i < c->n_marks; i++) TAKE_STEP((double)c->marks[i]);
#undef TAKE_STEP
}

/* Range of mean ± std over the series, 0 always included (λ >= 0 in
 * theory, so a negative estimate should look negative). */
void plot_value_range(const llc_plot_curves_data *cs, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < cs->n; k++)
        for (int i = 0; i < cs->s[k].n; i++) {
            const double v[3] = {cs->s[k].mean[i], cs->s[k].lo[i], cs->s[k].hi[i]};
            for (int j = 0; j < 3; j++)
                if (isfinite(v[j])) {
                    if (v[j] < *lo) *lo = v[j];
                    if (v[j] > *hi) *hi = v[j];
                }
        }
    if (!(*lo <= 0)) *lo = 0;
    if (!(*hi >= 0)) *hi = 0;
}
