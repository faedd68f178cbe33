/* plot_trace.c - the trace picture of `llc plot` (llc_plot.h): the SGLD
 * loss traces (or paired loss differences) of every chain of one estimate,
 * the reference line L_n(w*), diverged chains crossed out. */
#include "plot_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* y range of the traces: finite values of the chains that did not diverge
 * (all chains if every one diverged, between their 1% and 99% quantiles),
 * and the reference lines refs[2] (NaN = none). */
static int trace_yrange(const llc_plot_trace_data *d, const double refs[2], double *ylo_out, double *yhi_out)
{
    double ylo = INFINITY, yhi = -INFINITY;
    int n_ok = 0;
    for (int k = 0; k < d->n_ch; k++) n_ok += !d->ch[k].diverged;
    if (n_ok > 0) {
        for (int k = 0; k < d->n_ch; k++)
            for (int i = 0; !d->ch[k].diverged && i < d->ch[k].n; i++)
                if (isfinite(d->ch[k].trace[i])) {
                    if (d->ch[k].trace[i] < ylo) ylo = d->ch[k].trace[i];
                    if (d->ch[k].trace[i] > yhi) yhi = d->ch[k].trace[i];
                }
    } else {
        size_t nv = 0, cap = 0;
        for (int k = 0; k < d->n_ch; k++) cap += (size_t)d->ch[k].n;
        double *v = malloc((cap ? cap : 1) * sizeof *v);
        if (!v) return LLC_ERR_NOMEM;
        for (int k = 0; k < d->n_ch; k++)
            for (int i = 0; i < d->ch[k].n; i++)
                if (isfinite(d->ch[k].trace[i])) v[nv++] = d->ch[k].trace[i];
        for (size_t i = 1; i < nv; i++) /* insertion sort: a few thousand values */
            for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                double t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        if (nv) {
            ylo = v[(size_t)(0.01 * (double)(nv - 1))];
            yhi = v[(size_t)(0.99 * (double)(nv - 1))];
        }
        free(v);
    }
    for (int i = 0; i < 2; i++)
        if (isfinite(refs[i])) {
            if (refs[i] < ylo) ylo = refs[i];
            if (refs[i] > yhi) yhi = refs[i];
        }
    *ylo_out = ylo;
    *yhi_out = yhi;
    return LLC_OK;
}

/* Diverged chains: a red cross at the last finite draw (on the frame if
 * it lies outside the range) and a label where there is room. */
static void trace_diverged(llc_svg *svg, const llc_svg_panel *pp, const llc_plot_trace_data *d)
{
    const llc_svg_panel p = *pp;
    llc_svg_placer *pl = malloc(sizeof *pl);
    if (pl) llc_svg_placer_init(pl, p.x + 2, p.y + 2, p.w - 4, p.h - 4);
    double *cx = calloc((size_t)d->n_ch + 1, 2 * sizeof *cx);
    for (int pass = 0; pass < 2 && cx; pass++)
        for (int k = 0; k < d->n_ch; k++) {
            if (!d->ch[k].diverged) continue;
            if (pass == 0) {
                int last = -1;
                for (int i = 0; i < d->ch[k].n; i++)
                    if (isfinite(d->ch[k].trace[i])) last = i;
                double x = last >= 0 ? llc_svg_px(&p, last) : p.x;
                double y = last >= 0 ? llc_svg_py(&p, d->ch[k].trace[last]) : p.y;
                if (!isfinite(y) || y < p.y) y = p.y;
                if (y > p.y + p.h) y = p.y + p.h;
                cx[2 * k] = x;
                cx[2 * k + 1] = y;
                llc_svg_style xs2 = {PLOT_DIVERGED_COLOR, 2.5, NULL, 0, "diverged", NULL};
                llc_svg_line(svg, x - 6, y - 6, x + 6, y + 6, &xs2);
                llc_svg_line(svg, x - 6, y + 6, x + 6, y - 6, &xs2);
                if (pl) llc_svg_placer_block(pl, x - 7, y - 7, x + 7, y + 7);
            } else if (pl) {
                char dl[96];
                if (d->ch[k].diverged_at >= 0)
                    snprintf(dl, sizeof dl, "chain %d diverged (SGLD step %lld)", d->ch[k].chain, d->ch[k].diverged_at);
                else snprintf(dl, sizeof dl, "chain %d diverged", d->ch[k].chain);
                llc_svg_place_label(svg, pl, cx[2 * k], cx[2 * k + 1], 10, 10.5, PLOT_DIVERGED_COLOR, LLC_SVG_HALO, dl);
            }
        }
    free(cx);
    free(pl);
}

int llc_plot_trace(FILE *f, const llc_plot_opts *c, const llc_plot_trace_data *d)
{
    /* the reference line: L_n(w*), or 0 and the mean difference lambda/nbeta when paired */
    const double ref = d->paired ? 0.0 : d->init_loss, dmean = d->paired ? d->mean / d->nbeta : NAN;
    const double refs[2] = {ref, dmean};
    double ylo, yhi;
    int code = trace_yrange(d, refs, &ylo, &yhi), maxn = 0;
    if (code) return code;
    for (int k = 0; k < d->n_ch; k++)
        if (d->ch[k].n > maxn) maxn = d->ch[k].n;
    const double W = 960, H = 540, top = 64, bottom = 58, left = 82;
    llc_svg_legend_entry *le = calloc((size_t)d->n_ch + 2, sizeof *le);
    char (*labels)[96] = calloc((size_t)d->n_ch + 1, sizeof *labels);
    double *xs = malloc((size_t)(maxn > 0 ? maxn : 1) * sizeof *xs);
    if (!le || !labels || !xs) {
        code = LLC_ERR_NOMEM;
        goto cleanup;
    }
    int nle = 0;
    for (int k = 0; k < d->n_ch; k++) {
        if (d->ch[k].diverged)
            snprintf(labels[k], sizeof labels[k], "chain %d: diverged%s", d->ch[k].chain, "");
        else snprintf(labels[k], sizeof labels[k], "chain %d: λ %.4g", d->ch[k].chain, d->ch[k].llc);
        le[nle++] = (llc_svg_legend_entry){labels[k], llc_svg_category_color(k), d->ch[k].diverged ? "5,3" : NULL,
                                           LLC_SVG_KEY_LINE};
    }
    char initlab[64], meanlab[64];
    if (d->paired) snprintf(initlab, sizeof initlab, "0: L_b(w) = L_b(w*)");
    else snprintf(initlab, sizeof initlab, "L_n(w*) = %.5g", d->init_loss);
    snprintf(meanlab, sizeof meanlab, "mean = λ/nβ = %.4g", dmean);
    le[nle++] = (llc_svg_legend_entry){initlab, "#000000", "7,4", LLC_SVG_KEY_LINE};
    if (d->paired && isfinite(dmean)) le[nle++] = (llc_svg_legend_entry){meanlab, "#000000", "2,2", LLC_SVG_KEY_LINE};
    double plot_h = H - top - bottom, lw, lh;
    int max_rows = (int)((plot_h - 12) / LLC_SVG_LEGEND_ROW);
    llc_svg_legend_size(le, nle, max_rows, PLOT_LEGEND_FONT, &lw, &lh);
    llc_svg_panel p = {left, top, W - left - lw - 30, plot_h, {0}, {0}, 0};
    llc_svg_axis_set(&p.xa, LLC_SVG_LINEAR, 0, maxn > 1 ? maxn - 1 : 1, 0, 0);
    llc_svg_axis_set(&p.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 1);
    for (int i = 0; i < maxn; i++) xs[i] = i;
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[320], xlabel[128];
    snprintf(t1, sizeof t1, "%s (%s): SGLD %s, step %lld, target %s, data %s", c->run, c->task,
             d->paired ? "paired loss differences" : "loss traces", d->step, d->target, d->data);
    char lam[96], rh[32] = "";
    if (isfinite(d->mean) && isfinite(d->sd))
        snprintf(lam, sizeof lam, "λ = %.4g ± %.3g (%s)", d->mean, d->sd, d->status);
    else if (isfinite(d->mean)) snprintf(lam, sizeof lam, "λ = %.4g (%s)", d->mean, d->status);
    else snprintf(lam, sizeof lam, "no λ (%s: no chain finished)", d->status);
    if (isfinite(d->rhat)) snprintf(rh, sizeof rh, " · R-hat %.3f", d->rhat);
    /* plain SGLD was recorded as "none" in older stores */
    snprintf(t2, sizeof t2, "%s · %d chains, %lld diverged · sampler %s, eps %.3g, γ %.4g, nβ %.4g%s", lam, d->n_ch,
             d->n_div, strcmp(d->sampler, "none") ? d->sampler : "sgld", d->eps, d->gamma, d->nbeta, rh);
    plot_title(&svg, left, t1, t2);
    if (d->paired || d->paired_raw)
        llc_svg_text(&svg, left, 57, PLOT_SUB_FONT, LLC_SVG_START, 0, "#555555", 0, "subtitle",
                     d->paired
                         ? "per draw L_b(w_k) − L_b(w*), both on the same minibatch: λ = nβ · their mean"
                         : "raw minibatch losses (stored before paired traces); "
                           "λ = nβ · mean of L_b(w_k) − L_b(w*)");
    snprintf(xlabel, sizeof xlabel, "draw (after %lld burn-in steps; thin %lld)", d->burnin, d->thin > 0 ? d->thin : 1);
    llc_svg_panel_begin(&svg, &p);
    llc_svg_axes(&svg, &p, 0, xlabel, d->paired ? "L_b(w_k) − L_b(w*)" : "minibatch loss");
    for (int k = 0; k < d->n_ch; k++) {
        llc_svg_style s2 = {llc_svg_category_color(k), d->ch[k].diverged ? 1.4 : 1.1, d->ch[k].diverged ? "5,3" : NULL,
                            0.9, NULL, labels[k]};
        llc_svg_path(&svg, &p, xs, d->ch[k].trace, d->ch[k].n, &s2);
    }
    llc_svg_style ls = {"#000000", 1.6, "7,4", 0, "init-loss", initlab};
    llc_svg_hline(&svg, &p, ref, &ls);
    llc_svg_style ms = {"#000000", 1.4, "2,2", 0, "mean-diff", meanlab};
    if (d->paired && isfinite(dmean)) llc_svg_hline(&svg, &p, dmean, &ms);
    trace_diverged(&svg, &p, d);
    llc_svg_legend(&svg, W - lw - 10, top, le, nle, max_rows, PLOT_LEGEND_FONT);
    code = llc_svg_end(&svg);
cleanup:
    free(xs);
    free(le);
    free(labels);
    return code;
}
