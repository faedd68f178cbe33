/* plot_heads.c - the heads picture of `llc plot` (llc_plot.h): one panel
 * per head (rows = layers, columns = heads), shared axes, optionally
 * coloured by the stored clusters. */
#include "plot_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void draw_series(llc_svg *svg, const llc_svg_panel *p, const llc_plot_series *sr, const char *color,
                        const char *dash, int dots)
{
    llc_svg_band(svg, p, sr->x, sr->lo, sr->hi, sr->n, color, 0.13, sr->target);
    llc_svg_style st = {color, 1.8, dash, 0, NULL, sr->target};
    llc_svg_path(svg, p, sr->x, sr->mean, sr->n, &st);
    if (dots) llc_svg_points(svg, p, sr->x, sr->mean, sr->n, 2.2, color, 0, sr->target);
}

int llc_plot_heads(FILE *f, const llc_plot_opts *c, const llc_plot_curves_data *cs)
{
    char(*ct)[32] = cs->cluster_target;
    const int *cc = cs->cluster, ncl = cs->n_clusters;
    int L = c->n_layers, NH = c->n_heads, l, h;
    for (int k = 0; k < cs->n; k++)
        if (plot_target_kind(cs->s[k].target, &l, &h) == 1) {
            if (l + 1 > L) L = l + 1;
            if (h + 1 > NH) NH = h + 1;
        }
    if (L < 1) L = 1;
    if (NH < 1) NH = 1;
    const double pw = NH > 8 ? 150 : 190, ph = L == 1 ? 200 : L == 2 ? 160 : 132;
    const double gx = 16, gy = 34, left = 78, top = 76, bottom = 58;
    double W = left + NH * pw + (NH - 1) * gx + 22, H = top + L * ph + (L - 1) * gy + bottom;
    if (W < 560) W = 560;
    double xlo, xhi, minpos, ylo, yhi;
    char xlabel[128];
    llc_svg_panel base = {0, 0, pw, ph, {0}, {0}, 0};
    plot_step_range(c, cs, 0, &xlo, &xhi, &minpos);
    plot_step_axis(&base.xa, xlo, xhi, minpos, c->linear, cs->s[0].x, cs->s[0].n, xlabel, sizeof xlabel);
    plot_value_range(cs, &ylo, &yhi);
    llc_svg_axis_set(&base.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 0);

    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%s (%s): LLC of each head, data %s", c->run, c->task, cs->data);
    snprintf(t2, sizeof t2, "rows = layers, columns = heads; shared axes; band = ±1 std over chains");
    plot_title(&svg, left, t1, t2);
    for (int r = 0; r < L; r++)
        for (int q = 0; q < NH; q++) {
            llc_svg_panel p = base;
            p.x = left + q * (pw + gx);
            p.y = top + r * (ph + gy);
            llc_svg_panel_begin(&svg, &p);
            int flags = (q > 0 ? LLC_SVG_NO_YLABELS : 0) | (r < L - 1 ? LLC_SVG_NO_XLABELS : 0);
            llc_svg_axes(&svg, &p, flags, NULL, NULL);
            char name[64], col[8];
            snprintf(name, sizeof name, "%d.%d", r, q);
            llc_svg_text(&svg, p.x + 4, p.y - 6, 12, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "panel-title", name);
            const llc_plot_series *sr = NULL;
            for (int k = 0; k < cs->n; k++)
                if (strcmp(cs->s[k].target, name) == 0) sr = &cs->s[k];
            plot_draw_marks(&svg, &p, c, r == 0);
            if (!sr) {
                llc_svg_text(&svg, p.x + pw / 2, p.y + ph / 2, 11, LLC_SVG_MIDDLE, 0, "#999999", 0, NULL,
                             "no estimates");
                continue;
            }
            llc_svg_family_color(r, q, NH, col);
            for (int i = 0; i < ncl; i++)
                if (strcmp(ct[i], name) == 0) {
                    char ctxt[32];
                    snprintf(col, sizeof col, "%s", llc_svg_category_color(cc[i]));
                    snprintf(ctxt, sizeof ctxt, "cluster %d", cc[i]);
                    llc_svg_text(&svg, p.x + 40, p.y - 6, 11, LLC_SVG_START, 0, col, LLC_SVG_BOLD, "cluster-label",
                                 ctxt);
                }
            draw_series(&svg, &p, sr, col, NULL, sr->n <= 40);
            /* the last finite value, top right */
            for (int i = sr->n - 1; i >= 0; i--)
                if (isfinite(sr->mean[i])) {
                    char v[64];
                    snprintf(v, sizeof v, "λ %.3g at %lld", sr->mean[i], (long long)sr->x[i]);
                    llc_svg_text(&svg, p.x + pw, p.y - 6, 10, LLC_SVG_END, 0, "#666666", 0, NULL, v);
                    break;
                }
        }
    /* shared axis labels */
    llc_svg_text(&svg, left + (W - left - 22) / 2, H - 14, 12.5, LLC_SVG_MIDDLE, 0, "#222222", 0, "axis-label",
                 xlabel);
    llc_svg_text(&svg, 22, top + (H - top - bottom) / 2, 12.5, LLC_SVG_MIDDLE, -90, "#222222", 0, "axis-label",
                 "LLC  λ (estimate)");
    return llc_svg_end(&svg);
}
