/* llc_plot.h - the pictures of `llc plot` (llc/llc_svg.h) and the data they
 * show, loaded from the store:
 *   curves  developmental curves (view curves): llc_mean with a ±llc_std
 *           band per target, train/test loss on a right axis, mark lines
 *   heads   one small panel per head (layers x heads), shared axes
 *   trace   the SGLD loss traces of every chain of one estimate, L_n(w*)
 *   embed   the d_model = 2 pooled clustering-head model's planes
 *   pattern the attention pattern of each head on the probes' example
 *           sequence (llc/PROBES.md), a heatmap panel per head
 *   ov, qk  each head's OV or QK circuit (llc_probe_circuit), diverging
 *           colours around 0, a panel per head
 *   probes  each head's stored probe curves (llc probe) next to its LLC
 *           curve, on one shared step axis
 * Loading (llc/plot_data.c) and drawing (llc/plot_<kind>.c) are separate
 * so the caller can refuse bad input before it opens the output file. The
 * drawing functions write a whole SVG document to a FILE* the caller
 * opened and return LLC_OK, LLC_ERR_NOMEM, or LLC_ERR_IO if the stream
 * failed; the caller closes the file.
 *
 * The step axis is symlog by default: linear on [0, c] and logarithmic
 * above, where c is the largest 1, 2 or 5 x 10^k at or below the first
 * positive step, so step 0 sits one decade-width left of c; linear = 1
 * gives a linear axis. The loss axis is logarithmic when the losses span
 * more than a factor 30 (LLC_PLOT_LOSS_LOG_RATIO).
 *
 * Errors: functions that load return an LLC_ERR_* code and write one line
 * into err (LLC_ERRLEN bytes) naming what is missing and the command that
 * makes it.
 */
#ifndef LLC_PLOT_H
#define LLC_PLOT_H

#include <stdio.h>

#include "llc_analysis_results.h"
#include "llc_model.h"
#include "llc_plot_analysis.h"
#include "llc_probe_results.h"
#include "llc_query.h"
#include "llc_store.h"
#include "llc_task.h"

#define LLC_PLOT_MAX_MARKS 32
#define LLC_PLOT_MAX_DEFAULT_CURVES 9 /* a curves plot without targets shows at most this many */
#define LLC_PLOT_LOSS_LOG_RATIO 30.0  /* max/min loss above which the loss axis is logarithmic */

/* What every picture of a run is told: names for the titles, the step
 * axis choice and the steps to mark. */
typedef struct {
    const char *run, *task;
    int linear;                       /* 1: linear step axis */
    long long marks[LLC_PLOT_MAX_MARKS];
    int n_marks;
    int n_layers, n_heads;            /* of the run's model (heads: the grid) */
    int series_colors;                /* curves: series k in category colour k, solid (an overlay of runs) */
    const char *subtitle;             /* curves: replaces the subtitle (may be NULL) */
    const char *quantity;             /* curves: what the series are, title and y axis (NULL: the LLC) */
} llc_plot_opts;

/* ---------------- curves (llc_plot_curves, llc_plot_heads) ---------------- */

typedef struct {
    char target[64];
    int n;
    double *x, *mean, *lo, *hi; /* one allocation, x owns it */
} llc_plot_series;

typedef struct {
    char data[64];
    llc_plot_series *s;
    int n;
    int n_hidden; /* heads left out of a default curves plot (LLC_PLOT_MAX_DEFAULT_CURVES) */
    /* losses of the checkpoints */
    int n_ck;
    double *ck_step, *ck_train, *ck_test;
    /* stored clusters of the heads (llc cluster), for colouring; may be 0 */
    int n_clusters;
    char (*cluster_target)[32];
    int *cluster;
} llc_plot_curves_data;

/* Load the curves of a run on one data distribution (NULL: 'train' if
 * present, else the first) and the selected targets: spec NULL = all (at
 * most LLC_PLOT_MAX_DEFAULT_CURVES: the non-head targets and the heads with
 * the largest last estimate), "heads", or a comma list that may contain
 * "heads"; heads_only with spec NULL means "heads". Then the checkpoint
 * losses. LLC_ERR_NOTFOUND (no estimates, unknown target), LLC_ERR_INVALID
 * (empty spec), LLC_ERR_STORE, LLC_ERR_NOMEM. d is freed on error. */
int llc_plot_curves_load(llc_store *s, const char *run, const char *data, const char *spec, int heads_only,
                         llc_plot_curves_data *d, char *err);
/* Add the stored clusters of the run's heads to d. LLC_ERR_NOTFOUND if
 * there are none. */
int llc_plot_clusters_load(llc_store *s, const char *run, llc_plot_curves_data *d, char *err);
void llc_plot_curves_data_free(llc_plot_curves_data *d);

/* The stored stage boundaries (LLC stages and test-loss drops) as marks,
 * at most LLC_PLOT_MAX_MARKS. LLC_ERR_NOTFOUND if there are none. */
int llc_plot_stage_marks(llc_store *s, const char *run, llc_plot_opts *o, char *err);

/* Several runs' curves (the runs of a group, or those matching --runs):
 * aggregate 0, one target (spec NULL: model) as one series per run, named
 * by the run, without losses; aggregate 1, per target of spec (a comma
 * list; NULL: model) the mean across the runs and a band of ±1 sample sd
 * at the steps where every run has an estimate, and the mean train and
 * test losses at the checkpoints they all have. The data distribution is
 * the first run's (data NULL: as llc_plot_curves_load). LLC_ERR_NOTFOUND
 * names a run without the estimates; LLC_ERR_INVALID for several targets
 * without aggregate. */
int llc_plot_runs_load(llc_store *s, char *const *runs, int n_runs, const char *data, const char *spec,
                       int aggregate, llc_plot_curves_data *d, char *err);
/* The mean (out->mean) and mean -/+ the sample sd (lo, hi; sd 0 for n = 1)
 * of in[k].mean across the n series at each step x that every series has
 * with a finite mean, in in[0]'s order (x ascending in each). out->x owns
 * the arrays; out->n may be 0. LLC_ERR_NOMEM, LLC_ERR_INVALID (n < 1). */
int llc_plot_series_aggregate(const llc_plot_series *in, int n, llc_plot_series *out);

/* Curves of every target, losses on a right axis. */
int llc_plot_curves(FILE *f, const llc_plot_opts *o, const llc_plot_curves_data *d);
/* One panel per head (o->n_layers x o->n_heads, grown to fit the data),
 * coloured by cluster when d has clusters. */
int llc_plot_heads(FILE *f, const llc_plot_opts *o, const llc_plot_curves_data *d);

/* ---------------- trace ---------------- */

/* A chain: its λ̂, divergence and loss trace (n draws). */
typedef llc_query_chain llc_plot_chain;

typedef struct {
    long long id, step, burnin, thin, n_div;
    double eps, gamma, nbeta, init_loss, mean, sd, rhat;
    char target[64], sampler[32], status[32], data[64];
    int paired;     /* traces hold L_b(w_k) - L_b(w*) */
    int paired_raw; /* a paired estimate of an older store: raw losses */
    llc_plot_chain *ch;
    int n_ch;
} llc_plot_trace_data;

/* The newest estimate of target at step (data NULL: any) and its chains'
 * traces. LLC_ERR_NOTFOUND names whether the checkpoint or the estimate is
 * missing, or that no trace was stored. */
int llc_plot_trace_load(llc_store *s, const char *run, long long step, const char *target, const char *data,
                        llc_plot_trace_data *d, char *err);
void llc_plot_trace_data_free(llc_plot_trace_data *d);
int llc_plot_trace(FILE *f, const llc_plot_opts *o, const llc_plot_trace_data *d);

/* ---------------- embed ---------------- */

/* The embed picture's state: a batch of the task and the model's pooled
 * activations at one checkpoint. Task and model are borrowed. */
typedef struct llc_plot_embed llc_plot_embed;

/* LLC_ERR_INVALID unless the model is the pooled d_model = 2 transformer
 * with token embeddings; LLC_ERR_NOTFOUND for an unknown distribution. */
int llc_plot_embed_new(llc_task *task, llc_model *model, const char *dist, llc_plot_embed **out, char *err);
void llc_plot_embed_free(llc_plot_embed *e);
/* Load checkpoint step of run and run the forward pass. */
int llc_plot_embed_frame(llc_plot_embed *e, llc_store *s, const char *run, long long step, char *err);
/* How well the frame's sequence vectors cluster by class: eta^2, the
 * between-class share of their total variance (1: every class one point;
 * about 0: classes mixed); which = 0 the pooled sequence embeddings, 1 the
 * final vectors (pooled + MLP). NAN when out of memory. */
double llc_plot_embed_cluster_score(const llc_plot_embed *e, int which);
/* Grow the shared plane ranges by the current frame (so the frames of a
 * sequence line up); llc_plot_embed_new starts them at the origin. */
void llc_plot_embed_bounds_add(llc_plot_embed *e);
int llc_plot_embed_draw(FILE *f, const llc_plot_opts *o, const llc_plot_embed *e);

/* ---------------- pattern, ov, qk ---------------- */

enum { LLC_PLOT_PATTERN = 0, LLC_PLOT_OV = 1, LLC_PLOT_QK = 2 };

typedef struct {
    int kind;   /* LLC_PLOT_PATTERN, _OV or _QK */
    long long step;
    char data[64]; /* pattern: the probe set's distribution */
    int n;      /* heads */
    int *layer, *head; /* (n) */
    int rows, cols;
    double *m;  /* (n, rows, cols) row-major per head */
} llc_plot_matrices_data;

/* Each selected head's matrix at checkpoint step: heads "L.H,L.H,..." or
 * NULL for every head. pattern: llc_probe_pattern on sequence 0 of the
 * probe set of (dist, seed) (T x T: row = query, column = key); ov, qk:
 * llc_probe_circuit. task and model are borrowed (the run's). */
int llc_plot_matrices_load(llc_store *s, const char *run, llc_task *task, llc_model *model, int kind,
                           long long step, const char *dist, uint64_t seed, const char *heads,
                           llc_plot_matrices_data *d, char *err);
void llc_plot_matrices_data_free(llc_plot_matrices_data *d);
/* A heatmap panel per head: pattern white to dark blue over [0, 1]; ov and
 * qk diverging (blue < 0 < red) over ±max |value| of each panel. Classes:
 * "panel-title" per panel, "cell" per drawn cell run, "tick-label". */
int llc_plot_matrices(FILE *f, const llc_plot_opts *o, const llc_plot_matrices_data *d);

/* ---------------- probes ---------------- */

typedef struct {
    llc_plot_curves_data llc; /* the heads' LLC curves (may have n = 0) */
    llc_probe_point *p;       /* probe_curves rows of heads, probes with range [0, 1] */
    int n_p;
    char data[64];
} llc_plot_probes_data;

/* The stored probe curves of the run's heads (data NULL: any) and the heads'
 * LLC curves (llc_data NULL: as llc_plot_curves_load). LLC_ERR_NOTFOUND if
 * no probe is stored (the message names llc probe). */
int llc_plot_probes_load(llc_store *s, const char *run, const char *data, const char *llc_data,
                         llc_plot_probes_data *d, char *err);
void llc_plot_probes_data_free(llc_plot_probes_data *d);
/* A row per head: its probe curves (left) and its LLC curve (right), one
 * step axis chosen as for the curves picture. Classes: "panel-title",
 * "probe-curve" (one per probe and head), "curve" (LLC). */
int llc_plot_probes(FILE *f, const llc_plot_opts *o, const llc_plot_probes_data *d);

/* ---------------- trajectory, log (llc_plot_analysis.h draws them) ---------------- */

typedef struct {
    llc_trajectory_result tr; /* trajectory */
    llc_series loss, grad;    /* log */
    llc_stage *marks;         /* trajectory: the stored LLC stages and test-loss drops; log: the spikes */
    int n_marks;
} llc_plot_analysis_data;

/* The stored trajectory (llc trajectory) and stages. LLC_ERR_NOTFOUND if
 * there is no trajectory. */
int llc_plot_trajectory_load(llc_store *s, const char *run, llc_plot_analysis_data *d, char *err);
/* The training log's loss and gradient norm, and the loss spikes.
 * LLC_ERR_NOTFOUND if the run has no training log. */
int llc_plot_log_load(llc_store *s, const char *run, llc_plot_analysis_data *d, char *err);
void llc_plot_analysis_data_free(llc_plot_analysis_data *d);

#endif
