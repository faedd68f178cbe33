/* plot_analysis.c - the trajectory and training-log pictures; see
 * llc_plot_analysis.h. */
#include "llc_plot_analysis.h"
#include "llc_svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SPIKE_COLOR "#d62728"
#define STAGE_COLOR "#d62728"

/* A panel's pixel box and its axes from data ranges. */
static void panel_set(llc_svg_panel *p, double x, double y, double w, double h)
{
    memset(p, 0, sizeof *p);
    p->x = x, p->y = y, p->w = w, p->h = h;
}

int llc_plot_trajectory(FILE *f, const char *title, const llc_trajectory_result *r, const llc_stage *marks,
                        int n_marks)
{
    const int n = r->n_steps, k = r->k;
    const double W = 640, H = 560, left = 80, top = 70, pw = 500, ph = 420;
    double xs[4096], ys[4096];
    const int m = n < 4096 ? n : 4096;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < m; i++) {
        xs[i] = r->coords[(size_t)i * k];
        ys[i] = k > 1 ? r->coords[(size_t)i * k + 1] : 0.0;
        xlo = fmin(xlo, xs[i]), xhi = fmax(xhi, xs[i]);
        ylo = fmin(ylo, ys[i]), yhi = fmax(yhi, ys[i]);
    }
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    llc_svg_text(&svg, left, 24, 15, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "title", title);
    char sub[160];
    snprintf(sub, sizeof sub, "outputs on the probe batch, principal components: PC1 %.1f%%, PC2 %.1f%% of the variance",
             100.0 * r->explained[0], k > 1 ? 100.0 * r->explained[1] : 0.0);
    llc_svg_text(&svg, left, 42, 11.5, LLC_SVG_START, 0, "#555555", 0, "subtitle", sub);
    llc_svg_panel p;
    panel_set(&p, left, top, pw, ph);
    llc_svg_axis_set(&p.xa, LLC_SVG_LINEAR, xlo, xhi, 0, 0);
    llc_svg_axis_set(&p.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 0);
    llc_svg_panel_begin(&svg, &p);
    llc_svg_axes(&svg, &p, 0, "PC1", "PC2");
    llc_svg_style ps = {"#9a9a9a", 1.2, NULL, 0, "trajectory-path", "trajectory"};
    llc_svg_path(&svg, &p, xs, ys, m, &ps);
    /* points dark (early) to light (late) */
    llc_svg_group_begin(&svg, "trajectory-point");
    for (int i = 0; i < m; i++) {
        char col[8], nm[48];
        llc_svg_family_color(0, i, m, col);
        snprintf(nm, sizeof nm, "step %lld", r->steps[i]);
        llc_svg_points(&svg, &p, &xs[i], &ys[i], 1, 4.0, col, 1.0, nm);
    }
    llc_svg_group_end(&svg);
    llc_svg_placer pl;
    llc_svg_placer_init(&pl, p.x, p.y, p.w, p.h);
    char lab[64];
    snprintf(lab, sizeof lab, "step %lld", r->steps[0]);
    llc_svg_place_label(&svg, &pl, llc_svg_px(&p, xs[0]), llc_svg_py(&p, ys[0]), 6, 10.5, "#333333", LLC_SVG_HALO, lab);
    snprintf(lab, sizeof lab, "step %lld", r->steps[m - 1]);
    llc_svg_place_label(&svg, &pl, llc_svg_px(&p, xs[m - 1]), llc_svg_py(&p, ys[m - 1]), 6, 10.5, "#333333",
                        LLC_SVG_HALO, lab);
    /* stage boundaries: a ring at the checkpoint nearest the boundary */
    llc_svg_group_begin(&svg, "stage-mark");
    for (int j = 0; j < n_marks; j++) {
        int b = 0;
        for (int i = 1; i < m; i++)
            if (fabs((double)r->steps[i] - marks[j].step) < fabs((double)r->steps[b] - marks[j].step)) b = i;
        const double px = llc_svg_px(&p, xs[b]), py = llc_svg_py(&p, ys[b]);
        llc_svg_circle(&svg, px, py, 8.0, "none", 1.0, STAGE_COLOR);
        snprintf(lab, sizeof lab, "%s %.0f", llc_stage_kind_names[marks[j].kind], marks[j].step);
        llc_svg_place_label(&svg, &pl, px, py, 9, 10, STAGE_COLOR, LLC_SVG_HALO, lab);
    }
    llc_svg_group_end(&svg);
    return llc_svg_end(&svg);
}

int llc_plot_log(FILE *f, const char *title, const double *step, const double *loss, const double *grad, int n,
                 const llc_stage *spikes, int n_spikes)
{
    const double W = 760, left = 84, top = 70, pw = 640, ph = 220, gap = 60, H = top + 2 * ph + gap + 60;
    double smin = INFINITY, smax = -INFINITY, lmin = INFINITY, lmax = -INFINITY, gmin = INFINITY, gmax = -INFINITY;
    int have_grad = 0;
    for (int i = 0; i < n; i++) {
        if (step[i] > 0) smin = fmin(smin, step[i]), smax = fmax(smax, step[i]);
        if (loss[i] > 0 && isfinite(loss[i])) lmin = fmin(lmin, loss[i]), lmax = fmax(lmax, loss[i]);
        if (grad && grad[i] > 0 && isfinite(grad[i])) gmin = fmin(gmin, grad[i]), gmax = fmax(gmax, grad[i]), have_grad = 1;
    }
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    llc_svg_text(&svg, left, 24, 15, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "title", title);
    char sub[128];
    snprintf(sub, sizeof sub, "every logged step; %d spike%s marked (loss above 1.5 x the running median)", n_spikes,
             n_spikes == 1 ? "" : "s");
    llc_svg_text(&svg, left, 42, 11.5, LLC_SVG_START, 0, "#555555", 0, "subtitle", sub);
    for (int panel = 0; panel < 2; panel++) {
        llc_svg_panel p;
        panel_set(&p, left, top + panel * (ph + gap), pw, ph);
        llc_svg_axis_set(&p.xa, LLC_SVG_LOG, smin, smax, 0, 1);
        if (panel == 0) llc_svg_axis_set(&p.ya, LLC_SVG_LOG, lmin, lmax, 0, 1);
        else llc_svg_axis_set(&p.ya, LLC_SVG_LOG, have_grad ? gmin : 0.1, have_grad ? gmax : 1.0, 0, 1);
        llc_svg_panel_begin(&svg, &p);
        llc_svg_axes(&svg, &p, 0, panel ? "training step (log scale)" : NULL, panel ? "gradient norm" : "loss");
        llc_svg_style st = {panel ? "#2ca02c" : "#1f77b4", 1.0, NULL, 0, panel ? "log-grad" : "log-loss",
                            panel ? "gradient norm" : "loss"};
        if (panel == 0 || have_grad) llc_svg_path(&svg, &p, step, panel ? grad : loss, n, &st);
        llc_svg_style ss = {SPIKE_COLOR, 1.0, "4,3", 0.8, "spike-line", NULL};
        for (int j = 0; j < n_spikes; j++) llc_svg_vline(&svg, &p, spikes[j].step, &ss);
        if (panel == 0) {
            llc_svg_group_begin(&svg, "spike");
            for (int j = 0; j < n_spikes; j++) {
                char nm[64];
                snprintf(nm, sizeof nm, "spike at step %.0f: loss %.4g", spikes[j].step, spikes[j].value);
                llc_svg_points(&svg, &p, &spikes[j].step, &spikes[j].value, 1, 5.0, SPIKE_COLOR, 0.9, nm);
            }
            llc_svg_group_end(&svg);
        }
    }
    return llc_svg_end(&svg);
}
