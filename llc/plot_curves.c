/* plot_curves.c - the curves picture of `llc plot` (llc_plot.h): LLC
 * curves of the targets (mean, band = ±1 std over chains), train/test loss
 * on the right axis, mark lines. */
#include "plot_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int llc_plot_curves(FILE *f, const llc_plot_opts *c, const llc_plot_curves_data *cs)
{
    int code = 0;
    llc_svg_legend_entry *le = calloc((size_t)cs->n + 2, sizeof *le);
    char (*colors)[8] = calloc((size_t)cs->n + 1, sizeof *colors);
    const char **dashes = calloc((size_t)cs->n + 1, sizeof *dashes);
    if (!le || !colors || !dashes) {
        code = LLC_ERR_NOMEM;
        goto cleanup;
    }
    int other = 0, nle = 0;
    for (int k = 0; k < cs->n; k++) {
        if (c->series_colors) snprintf(colors[k], 8, "%s", llc_svg_category_color(k));
        else plot_target_style(cs->s[k].target, &other, colors[k], &dashes[k]);
        le[nle++] = (llc_svg_legend_entry){cs->s[k].target, colors[k], dashes[k], LLC_SVG_KEY_BAND};
    }
    /* losses: log axis when they span more than a factor LLC_PLOT_LOSS_LOG_RATIO */
    double lmin = INFINITY, lmax = -INFINITY;
    int have_train = 0, have_test = 0;
    for (int i = 0; i < cs->n_ck; i++) {
        const double v[2] = {cs->ck_train[i], cs->ck_test[i]};
        for (int j = 0; j < 2; j++)
            if (isfinite(v[j])) {
                if (v[j] < lmin) lmin = v[j];
                if (v[j] > lmax) lmax = v[j];
            }
        have_train |= isfinite(cs->ck_train[i]);
        have_test |= isfinite(cs->ck_test[i]);
    }
    int have_loss = have_train || have_test;
    if (have_train) le[nle++] = (llc_svg_legend_entry){"train loss", PLOT_LOSS_COLOR, "6,4", LLC_SVG_KEY_LINE};
    if (have_test) le[nle++] = (llc_svg_legend_entry){"test loss", PLOT_TEST_LOSS_COLOR, "2,3", LLC_SVG_KEY_LINE};

    const double W = 980, H = 560, top = 64, bottom = 58, left = 78;
    double plot_h = H - top - bottom;
    int max_rows = (int)((plot_h - 12) / LLC_SVG_LEGEND_ROW);
    double lw, lh;
    llc_svg_legend_size(le, nle, max_rows, PLOT_LEGEND_FONT, &lw, &lh);
    double right_axis = have_loss ? 78 : 16;
    llc_svg_panel p = {left, top, W - left - right_axis - lw - 14, plot_h, {0}, {0}, 0};
    double xlo, xhi, minpos, ylo, yhi;
    char xlabel[128];
    plot_step_range(c, cs, 1, &xlo, &xhi, &minpos);
    plot_step_axis(&p.xa, xlo, xhi, minpos, c->linear, cs->n_ck ? cs->ck_step : cs->s[0].x,
                   cs->n_ck ? cs->n_ck : cs->s[0].n, xlabel, sizeof xlabel);
    plot_value_range(cs, &ylo, &yhi);
    llc_svg_axis_set(&p.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 0);
    llc_svg_panel pl = p;
    int log_loss = have_loss && lmin > 0 && lmax / lmin > LLC_PLOT_LOSS_LOG_RATIO;
    if (have_loss) {
        if (log_loss) llc_svg_axis_set(&pl.ya, LLC_SVG_LOG, lmin, lmax, 0, 1);
        else llc_svg_axis_set(&pl.ya, LLC_SVG_LINEAR, lmin < 0 ? lmin : 0, lmax, 0, 1);
    }

    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%s (%s): %s, data %s", c->run, c->task,
             c->quantity ? c->quantity : "local learning coefficient", cs->data);
    int npts = 0;
    for (int k = 0; k < cs->n; k++) npts = cs->s[k].n > npts ? cs->s[k].n : npts;
    if (c->subtitle)
        snprintf(t2, sizeof t2, "%s%s", c->subtitle, have_loss ? "; losses on the right axis" : "");
    else if (cs->n_hidden)
        snprintf(t2, sizeof t2, "%d targets: the heads with the largest last λ (%d more: --targets heads, or --kind "
                 "heads); band = ±1 std%s", cs->n, cs->n_hidden, have_loss ? "; losses on the right axis" : "");
    else
        snprintf(t2, sizeof t2, "%d target%s, up to %d checkpoint%s; line = mean over chains, band = ±1 std%s", cs->n,
                 cs->n == 1 ? "" : "s", npts, npts == 1 ? "" : "s", have_loss ? "; losses on the right axis" : "");
    plot_title(&svg, left, t1, t2);
    llc_svg_panel_begin(&svg, &p);
    pl.clip = p.clip;
    llc_svg_axes(&svg, &p, 0, xlabel, c->quantity ? c->quantity : "LLC  λ (estimate)");
    if (have_loss) {
        llc_svg_axis_right(&svg, &pl, log_loss ? "loss (log scale)" : "loss", PLOT_LOSS_COLOR);
        llc_svg_style tr = {PLOT_LOSS_COLOR, 1.4, "6,4", 0, "loss", "train loss"};
        llc_svg_style te = {PLOT_TEST_LOSS_COLOR, 1.4, "2,3", 0, "loss", "test loss"};
        if (have_train) llc_svg_path(&svg, &pl, cs->ck_step, cs->ck_train, cs->n_ck, &tr);
        if (have_test) llc_svg_path(&svg, &pl, cs->ck_step, cs->ck_test, cs->n_ck, &te);
    }
    /* bands first, then lines, model last (on top) */
    for (int k = cs->n - 1; k >= 0; k--)
        llc_svg_band(&svg, &p, cs->s[k].x, cs->s[k].lo, cs->s[k].hi, cs->s[k].n, colors[k], cs->n > 6 ? 0.08 : 0.15,
                     cs->s[k].target);
    for (int k = cs->n - 1; k >= 0; k--) {
        llc_svg_style st = {colors[k], k == 0 && strcmp(cs->s[k].target, "model") == 0 ? 2.2 : 1.7, dashes[k], 0,
                            NULL, cs->s[k].target};
        llc_svg_path(&svg, &p, cs->s[k].x, cs->s[k].mean, cs->s[k].n, &st);
        if (cs->s[k].n <= 40) llc_svg_points(&svg, &p, cs->s[k].x, cs->s[k].mean, cs->s[k].n, 2.2, colors[k], 0, NULL);
    }
    plot_draw_marks(&svg, &p, c, 1);
    llc_svg_legend(&svg, W - lw - 10, top, le, nle, max_rows, PLOT_LEGEND_FONT);
    code = llc_svg_end(&svg);
cleanup:
    free(le);
    free(colors);
    free(dashes);
    return code;
}

/* ---------------- kind heads ---------------- */
