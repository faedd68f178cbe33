/* llc_stages.h - developmental stages read off curves: the critical points
 * of a smoothed LLC curve, the sharp drops of a loss curve, the spikes of
 * the training log, and the first step a curve crosses a level. Methods,
 * smoothing and the minimum stage length: llc/ANALYSIS.md.
 *
 * Pure functions of their inputs: nothing printed, nothing stored (the
 * store side is llc/llc_analysis_results.h).
 */
#ifndef LLC_STAGES_H
#define LLC_STAGES_H

#include "llc_common.h"
#include "llc_store.h"

typedef enum {
    LLC_STAGE_MAX = 0, /* a local maximum of the smoothed curve */
    LLC_STAGE_MIN,     /* a local minimum */
    LLC_STAGE_DROP,    /* the steepest point of a sharp fall of the loss */
    LLC_STAGE_SPIKE,   /* a training-loss spike */
    LLC_STAGE_CROSS,   /* the first crossing of a level */
    LLC_STAGE_KINDS
} llc_stage_kind;

/* "max", "min", "drop", "spike", "cross", indexed by llc_stage_kind. */
extern const char *const llc_stage_kind_names[];

typedef struct {
    double step;  /* a checkpoint's step, or interpolated (drop, cross) */
    int kind;     /* llc_stage_kind */
    double value; /* the smoothed curve's value there (spike: the raw loss) */
} llc_stage;

typedef struct {
    int logx;            /* 1: smooth and measure slopes in x = log(1 + step); 0: in step */
    double bandwidth;    /* Gaussian kernel sigma in x units; 0 = 1.5 x the median gap between checkpoints */
    int min_len;         /* a stage spans at least this many checkpoint intervals (>= 1) */
    double drop_ratio;   /* a drop: slope steeper than drop_ratio x the curve's mean slope */
    double spike_factor; /* a spike: loss above spike_factor x the median of the window before it */
    int spike_window;    /* rows of the training log in that window */
} llc_stages_config;

/* logx 1, bandwidth 0 (automatic), min_len 3, drop_ratio 3, spike_factor 1.5, spike_window 50 */
void llc_stages_config_default(llc_stages_config *c);
/* LLC_ERR_INVALID with a message naming the bad field. */
int llc_stages_config_check(const llc_stages_config *c, char *err);

/* The Nadaraya-Watson Gaussian smoothing of y (n points at step, ascending)
 * into ys (n), and the bandwidth used into *sigma (may be NULL). */
int llc_stages_smooth(const llc_stages_config *c, const double *step, const double *y, int n, double *ys,
                      double *sigma);

/* Local maxima and minima of the smoothed curve, alternating, after
 * removing stages shorter than min_len (ANALYSIS.md). *out malloc'd (may
 * be NULL when *n_out is 0). n < 3 gives no stage. */
int llc_stages_critical(const llc_stages_config *c, const double *step, const double *y, int n, llc_stage **out,
                        int *n_out);

/* Sharp drops of a loss curve (steepest fall of the smoothed curve, at
 * least drop_ratio x its mean slope; two drops at least min_len intervals
 * apart). */
int llc_stages_drops(const llc_stages_config *c, const double *step, const double *y, int n, llc_stage **out,
                     int *n_out);

/* Spikes of a per-step loss (the training log): rows above spike_factor x
 * the median of the spike_window rows before; a run of such rows is one
 * spike at its highest row. */
int llc_stages_spikes(const llc_stages_config *c, const double *step, const double *y, int n, llc_stage **out,
                      int *n_out);

/* The first step where the curve reaches level, linearly interpolated
 * between the two points that straddle it (a point equal to level: its
 * step). LLC_ERR_NOTFOUND if it never does. Non-finite points are skipped. */
int llc_stages_cross(const double *step, const double *y, int n, double level, double *at);

/* One boundary with the curve it was found on. */
typedef struct {
    char source[8];  /* "llc", "loss", "cross" */
    char target[64]; /* the LLC target, the loss curve, or "NAME=LEVEL" */
    llc_stage st;
} llc_stage_found;

/* ---- the driver behind `llc stages` ---- */

typedef struct {
    const char *run;
    const char *target;         /* the LLC curve's target (NULL = "model") */
    const char *data;           /* its data distribution (NULL = "train") */
    llc_stages_config method;
    int want_llc, want_loss;    /* critical points of the LLC curve; drops of test_loss and
                                 * train_loss, spikes of the training log */
    const char *const *cross;   /* "CURVE=LEVEL" (test_loss, train_loss, llc:TARGET,
                                 * probe:NAME:TARGET), n_cross of them */
    int n_cross;
    int store;                  /* 1: replace the stored stages of these curves in one transaction */
} llc_stages_request;

typedef struct {
    llc_stage_found *rows; /* in request order: llc, loss, then crossings */
    int n;
    int llc_points;        /* points on the LLC curve (0: no estimates yet) */
    int loss_points, log_rows;
    unsigned char *crossed; /* (n_cross) 1 if the crossing was found */
    double *cross_step;     /* (n_cross) */
} llc_stages_result;

/* Read the curves from store s, find the boundaries, store them (q->store).
 * LLC_ERR_INVALID for a bad --cross spec or method, LLC_ERR_NOTFOUND for an
 * unknown curve name, store errors; message in err. The run must exist. */
int llc_stages_find(llc_store *s, const llc_stages_request *q, llc_stages_result *r, char *err);
void llc_stages_result_free(llc_stages_result *r);
/* The canonical JSON of a method (malloc'd). */
char *llc_stages_settings_json(const llc_stages_config *c);

#endif
