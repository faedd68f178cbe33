/* llc_plot_analysis.h - SVG pictures of the analysis (llc/llc_svg.h):
 * the developmental trajectory (PC1 against PC2, points coloured by step,
 * stage boundaries ringed) and the training log (loss and gradient norm at
 * every step on log axes, spikes marked). They write to a FILE* the caller
 * opened; LLC_ERR_IO if the stream failed.
 *
 * Classes for tests and scripts: "trajectory-path", "trajectory-point" (one
 * circle per checkpoint), "stage-mark" (one per boundary drawn), "log-loss",
 * "log-grad", "spike" (one per spike), plus llc_svg's own.
 */
#ifndef LLC_PLOT_ANALYSIS_H
#define LLC_PLOT_ANALYSIS_H

#include <stdio.h>

#include "llc_stages.h"
#include "llc_trajectory.h"

/* marks: stage boundaries (n_marks, may be 0), each ringed at the
 * checkpoint nearest its step and labelled with its kind and step. */
int llc_plot_trajectory(FILE *f, const char *title, const llc_trajectory_result *r, const llc_stage *marks,
                        int n_marks);

/* steps, loss, grad (n rows of the training log; grad may hold NaNs);
 * spikes (n_spikes) drawn as red rings and dashed lines. */
int llc_plot_log(FILE *f, const char *title, const double *step, const double *loss, const double *grad, int n,
                 const llc_stage *spikes, int n_spikes);

#endif
