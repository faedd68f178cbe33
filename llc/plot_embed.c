/* plot_embed.c - the embed picture of `llc plot` (llc_plot.h): the four
 * planes of the pooled d_model = 2 clustering-head model at one checkpoint
 * (token and position embeddings, normalised inputs, pooled sequence
 * embeddings, outputs with the decision regions of the unembedding). */
#include "plot_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_B 512    /* sequences in the batch */
#define EMBED_GRID 100 /* decision-region cells per side */
#define EMBED_PS 320   /* panel size, px */

struct llc_plot_embed {
    llc_task *task;   /* borrowed */
    llc_model *model; /* borrowed */
    const llc_tf_config *tc;
    llc_batch *batch;
    void *ws;
    float *w;
    double *scores; /* (n_out) */
    int V, T, B, C, n_out, dist;
    float *normed, *pooled, *out; /* (B*T, C), (B, C), (B, C) */
    const llc_tensor *embed, *pos;
    /* per frame */
    long long step;
    double train_loss, test_loss, acc;
    /* the four planes' ranges over the frames so far: 0 embeddings,
     * 1 normalised inputs, 2 pooled, 3 outputs */
    double lo[4][2], hi[4][2];
};

void llc_plot_embed_free(llc_plot_embed *e)
{
    if (!e) return;
    if (e->ws) e->model->ws_free(e->ws);
    llc_batch_free(e->batch);
    free(e->w);
    free(e->scores);
    free(e->normed);
    free(e->pooled);
    free(e->out);
    free(e);
}

/* The class of a final vector h (C = 2): argmax of the unembedding's scores. */
static int embed_argmax(const llc_plot_embed *e, const float *h)
{
    if (llc_transformer_unembed_scores(e->model, e->w, h, 1, e->scores)) return 0;
    int best = 0;
    double bv = -INFINITY;
    for (int v = 0; v < e->n_out; v++)
        if (e->scores[v] > bv) bv = e->scores[v], best = v;
    return best;
}

int llc_plot_embed_new(llc_task *task, llc_model *model, const char *dist, llc_plot_embed **out, char *err)
{
    int rc = LLC_OK;
    *out = NULL;
    llc_plot_embed *e = calloc(1, sizeof *e);
    if (!e) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    e->task = task;
    e->model = model;
    e->tc = llc_transformer_config(model);
    if (!e->tc || e->tc->d_model != 2 || !e->tc->pooled) {
        rc = llc_fail(err, LLC_ERR_INVALID,
                      "--kind embed needs the pooled d_model = 2 model (e.g. llc train --task modadd); this run has "
                      "d_model %d%s",
                      e->tc ? e->tc->d_model : 0, e->tc && e->tc->pooled ? "" : ", not pooled");
        goto cleanup;
    }
    e->dist = llc_task_dist(task, dist);
    if (e->dist < 0) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND, "task %s has no distribution '%s'", task->name, dist);
        goto cleanup;
    }
    long nex = task->n_examples ? task->n_examples(task, e->dist) : 0;
    e->B = nex > 0 && nex < EMBED_B ? (int)nex : EMBED_B;
    e->T = task->shape.T;
    e->C = 2;
    e->V = e->tc->vocab;
    e->n_out = e->tc->n_out;
    e->embed = llc_ptable_find(&model->table, "embed");
    e->pos = llc_ptable_find(&model->table, "pos");
    if (!e->embed || (!e->tc->tied && !llc_ptable_find(&model->table, "unembed"))) {
        rc = llc_fail(err, LLC_ERR_INVALID, "--kind embed needs token embeddings (this run has none)");
        goto cleanup;
    }
    e->batch = llc_task_batch_alloc(task, e->B);
    e->ws = model->ws_alloc(model, e->B);
    e->w = malloc(llc_model_n_params(model) * sizeof *e->w);
    e->scores = malloc((size_t)(e->n_out > 0 ? e->n_out : 1) * sizeof *e->scores);
    e->normed = malloc((size_t)e->B * (size_t)e->T * 2 * sizeof(float));
    e->pooled = malloc((size_t)e->B * 2 * sizeof(float));
    e->out = malloc((size_t)e->B * 2 * sizeof(float));
    if (!e->batch || !e->ws || !e->w || !e->scores || !e->normed || !e->pooled || !e->out) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    e->batch->B = e->B;
    if ((rc = task->fill(task, e->dist, 0, e->batch))) {
        rc = llc_fail(err, rc, "task %s: cannot make a batch", task->name);
        goto cleanup;
    }
    /* the origin is always shown */
    memset(e->lo, 0, sizeof e->lo);
    memset(e->hi, 0, sizeof e->hi);
cleanup:
    if (rc) llc_plot_embed_free(e);
    else *out = e;
    return rc;
}

double llc_plot_embed_cluster_score(const llc_plot_embed *e, int which)
{
    /* eta^2 = between-class sum of squares / total, over the directions
     * h/|h| (RMS-normalised models classify by direction) */
    int n_cls = e->n_out;
    double mean[2] = {0, 0}, tot = 0, between = 0;
    double *cm = calloc((size_t)n_cls * 3, sizeof *cm); /* per class: sum x, sum y, count */
    double *u = malloc((size_t)e->B * 2 * sizeof *u);
    if (!cm || !u || e->B == 0) {
        free(cm);
        free(u);
        return NAN;
    }
    for (int b = 0; b < e->B; b++) {
        const float *h = (which ? e->out : e->pooled) + 2 * b;
        double r = sqrt((double)h[0] * h[0] + (double)h[1] * h[1]);
        u[2 * b] = r > 0 ? h[0] / r : 0;
        u[2 * b + 1] = r > 0 ? h[1] / r : 0;
        int y = e->batch->targets[b * e->T + e->T - 1];
        mean[0] += u[2 * b] / e->B;
        mean[1] += u[2 * b + 1] / e->B;
        if (y >= 0 && y < n_cls) cm[3 * y] += u[2 * b], cm[3 * y + 1] += u[2 * b + 1], cm[3 * y + 2] += 1;
    }
    for (int b = 0; b < e->B; b++)
        tot += (u[2 * b] - mean[0]) * (u[2 * b] - mean[0]) + (u[2 * b + 1] - mean[1]) * (u[2 * b + 1] - mean[1]);
    for (int c = 0; c < n_cls; c++) {
        if (cm[3 * c + 2] == 0) continue;
        double dx = cm[3 * c] / cm[3 * c + 2] - mean[0], dy = cm[3 * c + 1] / cm[3 * c + 2] - mean[1];
        between += cm[3 * c + 2] * (dx * dx + dy * dy);
    }
    free(cm);
    free(u);
    return tot > 0 ? between / tot : 0.0;
}

int llc_plot_embed_frame(llc_plot_embed *e, llc_store *s, const char *run, long long step, char *err)
{
    int rc = llc_store_checkpoint_get(s, run, step, e->w, llc_model_n_params(e->model), &e->train_loss,
                                      &e->test_loss);
    if (rc == LLC_ERR_NOTFOUND)
        return llc_fail(err, rc, "run %s has no checkpoint at step %lld (see llc show --run %s)", run, step, run);
    if (rc) return llc_fail(err, rc, "checkpoint %s/%lld: %s", run, step, llc_store_errmsg(s));
    rc = llc_transformer_pooled_acts(e->model, e->ws, e->w, e->batch, e->normed, e->pooled, e->out);
    if (rc) return llc_fail(err, rc, "forward pass of %s/%lld failed", run, step);
    e->step = step;
    int ok = 0;
    for (int b = 0; b < e->B; b++) ok += embed_argmax(e, e->out + 2 * b) == e->batch->targets[b * e->T + e->T - 1];
    e->acc = (double)ok / e->B;
    return LLC_OK;
}

static void bounds_take(llc_plot_embed *e, int k, double x, double y)
{
    if (!isfinite(x) || !isfinite(y)) return;
    if (x < e->lo[k][0]) e->lo[k][0] = x;
    if (x > e->hi[k][0]) e->hi[k][0] = x;
    if (y < e->lo[k][1]) e->lo[k][1] = y;
    if (y > e->hi[k][1]) e->hi[k][1] = y;
}

void llc_plot_embed_bounds_add(llc_plot_embed *e)
{
    const float *em = e->w + e->embed->offset;
    for (int v = 0; v < e->V; v++) bounds_take(e, 0, em[2 * v], em[2 * v + 1]);
    if (e->pos)
        for (int t = 0; t < e->T; t++) {
            const float *pt = e->w + e->pos->offset + 2 * (size_t)t;
            bounds_take(e, 0, pt[0], pt[1]);
        }
    for (int n = 0; n < e->B * e->T; n++) bounds_take(e, 1, e->normed[2 * n], e->normed[2 * n + 1]);
    for (int b = 0; b < e->B; b++) {
        bounds_take(e, 2, e->pooled[2 * b], e->pooled[2 * b + 1]);
        bounds_take(e, 3, e->out[2 * b], e->out[2 * b + 1]);
    }
}

/* Square axes with equal units on x and y around the range of plane k. */
static void embed_axes(const llc_plot_embed *e, int k, llc_svg_panel *p)
{
    double cx = (e->lo[k][0] + e->hi[k][0]) / 2, cy = (e->lo[k][1] + e->hi[k][1]) / 2;
    double half = fmax(e->hi[k][0] - e->lo[k][0], e->hi[k][1] - e->lo[k][1]) / 2 * 1.12;
    if (!(half > 1e-6)) half = 1;
    p->xa = (llc_svg_axis){LLC_SVG_LINEAR, cx - half, cx + half, 1, 0, 0};
    p->ya = (llc_svg_axis){LLC_SVG_LINEAR, cy - half, cy + half, 1, 0, 0};
}

/* Decision regions of the output plane q (drawn under its axes' grid): runs
 * of grid cells of one class as one rectangle. */
static void draw_regions(llc_svg *svg, const llc_svg_panel *q, const llc_plot_embed *e)
{
    double cell = q->w / EMBED_GRID;
    for (int r = 0; r < EMBED_GRID; r++) {
        int run_cls = -1, run_start = 0;
        for (int col = 0; col <= EMBED_GRID; col++) {
            int cl = -1;
            if (col < EMBED_GRID) {
                float h[2];
                h[0] = (float)(q->xa.lo + (col + 0.5) / EMBED_GRID * (q->xa.hi - q->xa.lo));
                h[1] = (float)(q->ya.hi - (r + 0.5) / EMBED_GRID * (q->ya.hi - q->ya.lo));
                cl = embed_argmax(e, h);
            }
            if (cl != run_cls) {
                char tint[8];
                if (run_cls >= 0)
                    llc_svg_rect(svg, q->x + run_start * cell, q->y + r * cell, (col - run_start) * cell + 0.4,
                                 cell + 0.4, llc_svg_tint(llc_svg_category_color(run_cls), 0.84, tint), 1, NULL,
                                 0);
                run_cls = cl;
                run_start = col;
            }
        }
    }
}

/* Plane 0: markers first, then labels placed around them (tokens first). */
static void draw_embeddings(llc_svg *svg, const llc_svg_panel *p0, const llc_plot_embed *e)
{
    const int V = e->V, T = e->T;
    llc_svg_placer *pl = malloc(sizeof *pl);
    const float *em = e->w + e->embed->offset, *po = e->pos ? e->w + e->pos->offset : NULL;
    if (po)
        for (int t = 0; t < T; t++) {
            double x = po[2 * t], y = po[2 * t + 1];
            llc_svg_points(svg, p0, &x, &y, 1, 3.2, "#888888", 0.9, "position");
        }
    for (int v = 0; v < V; v++) {
        double x = em[2 * v], y = em[2 * v + 1];
        llc_svg_style st = {llc_svg_category_color(v), 1.2, NULL, 0.6, "embed-ray", NULL};
        llc_svg_line(svg, llc_svg_px(p0, 0), llc_svg_py(p0, 0), llc_svg_px(p0, x), llc_svg_py(p0, y),
                     &st);
        llc_svg_points(svg, p0, &x, &y, 1, 6, llc_svg_category_color(v), 0, "token");
    }
    if (pl) {
        llc_svg_placer_init(pl, p0->x + 2, p0->y + 2, p0->w - 4, p0->h - 4);
        for (int v = 0; v < V; v++) {
            double px = llc_svg_px(p0, em[2 * v]), py = llc_svg_py(p0, em[2 * v + 1]);
            llc_svg_placer_block(pl, px - 6, py - 6, px + 6, py + 6);
        }
        for (int t = 0; po && t < T; t++) {
            double px = llc_svg_px(p0, po[2 * t]), py = llc_svg_py(p0, po[2 * t + 1]);
            llc_svg_placer_block(pl, px - 3, py - 3, px + 3, py + 3);
        }
        char lab[16];
        for (int v = 0; v < V; v++) {
            snprintf(lab, sizeof lab, "%d", v);
            llc_svg_place_label(svg, pl, llc_svg_px(p0, em[2 * v]), llc_svg_py(p0, em[2 * v + 1]), 8, 12,
                                llc_svg_category_color(v), LLC_SVG_HALO | LLC_SVG_BOLD, lab);
        }
        for (int t = 0; po && t < T; t++) {
            snprintf(lab, sizeof lab, "p%d", t);
            llc_svg_place_label(svg, pl, llc_svg_px(p0, po[2 * t]), llc_svg_py(p0, po[2 * t + 1]), 5, 9.5,
                                "#777777", LLC_SVG_HALO, lab);
        }
        free(pl);
    }
}

/* Planes 1-3: the distinct (token, position) inputs after the norm coloured
 * by token; pooled and outputs coloured by target class, in batch order. */
static void draw_points(llc_svg *svg, const llc_svg_panel *p, const llc_plot_embed *e, double *xs, double *ys,
                        unsigned char *seen, int *cls)
{
    const int V = e->V, T = e->T, B = e->B;
    for (int v = 0; v < V; v++) {
        int n = 0;
        for (int i = 0; i < B * T; i++) {
            int tok = e->batch->tokens[i], t = i % T;
            if (tok != v || seen[(size_t)tok * T + (size_t)t]) continue;
            seen[(size_t)tok * T + (size_t)t] = 1;
            xs[n] = e->normed[2 * i];
            ys[n++] = e->normed[2 * i + 1];
        }
        llc_svg_points(svg, &p[1], xs, ys, n, 4, llc_svg_category_color(v), 0.85, "normed");
    }
    for (int b = 0; b < B; b++) cls[b] = e->batch->targets[b * T + T - 1];
    for (int k = 2; k <= 3; k++) {
        const float *src = k == 2 ? e->pooled : e->out;
        for (int b = 0; b < B; b++) {
            xs[b] = src[2 * b];
            ys[b] = src[2 * b + 1];
        }
        llc_svg_scatter(svg, &p[k], xs, ys, cls, B, 2.6, 0.65, k == 2 ? "pooled" : "output");
    }
}

/* Legend: colours = tokens and classes. */
static void draw_legend(llc_svg *svg, const llc_plot_embed *e, double W, double y)
{
    const int V = e->V;
    int n = e->n_out > V ? e->n_out : V;
    if (n > 12) n = 12;
    llc_svg_legend_entry le[12];
    char lab[12][32];
    for (int i = 0; i < n; i++) {
        snprintf(lab[i], sizeof lab[i], "token / class %d", i);
        le[i] = (llc_svg_legend_entry){lab[i], llc_svg_category_color(i), NULL, LLC_SVG_KEY_POINT};
    }
    double lw, lh;
    llc_svg_legend_size(le, n, 1, PLOT_LEGEND_FONT, &lw, &lh);
    llc_svg_legend(svg, (W - lw) / 2, y, le, n, 1, PLOT_LEGEND_FONT);
}

int llc_plot_embed_draw(FILE *f, const llc_plot_opts *c, const llc_plot_embed *e)
{
    const double ps = EMBED_PS, left = 72, gx = 84, top = 88, gy = 84;
    const double W = left + 2 * ps + gx + 40, H = top + 2 * ps + gy + 80;
    const int V = e->V, T = e->T, B = e->B;
    llc_svg svg_, *svg = &svg_;
    llc_svg_begin(svg, f, W, H);
    char t1[256], t2[256];
    const char *dist = e->task->dists[e->dist];
    snprintf(t1, sizeof t1, "%s (%s): the d_model = 2 planes at step %lld", c->run, c->task, e->step);
    snprintf(t2, sizeof t2, "train loss %.4g, test loss %.4g; %d '%s' sequences, %.1f%% classified right",
             e->train_loss, e->test_loss, B, dist, 100 * e->acc);
    plot_title(svg, left, t1, t2);
    static const char *const names[4] = {"token (coloured) and position (grey) embeddings",
                                         "normalised inputs (colour = token)", "pooled sequence embeddings",
                                         "outputs after the MLP, decision regions"};
    llc_svg_panel p[4];
    double *xs = malloc((size_t)B * T * sizeof *xs), *ys = malloc((size_t)B * T * sizeof *ys);
    unsigned char *seen = calloc((size_t)(V > 0 ? V : 1) * (size_t)T, 1);
    int *cls = malloc((size_t)B * sizeof *cls);
    for (int k = 0; k < 4; k++) {
        p[k] = (llc_svg_panel){left + (k % 2) * (ps + gx), top + (k / 2) * (ps + gy), ps, ps, {0}, {0}, 0};
        embed_axes(e, k, &p[k]);
        llc_svg_panel_begin(svg, &p[k]);
        llc_svg_text(svg, p[k].x, p[k].y - 8, 12.5, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "panel-title",
                     names[k]);
    }
    draw_regions(svg, &p[3], e);
    for (int k = 0; k < 4; k++) llc_svg_axes(svg, &p[k], 0, NULL, NULL);
    int rc = LLC_ERR_NOMEM;
    if (!xs || !ys || !seen || !cls) goto cleanup;
    draw_embeddings(svg, &p[0], e);
    draw_points(svg, p, e, xs, ys, seen, cls);
    draw_legend(svg, e, W, top + 2 * ps + gy + 30);
    rc = llc_svg_end(svg);
cleanup:
    free(cls);
    free(xs);
    free(ys);
    free(seen);
    return rc;
}
