/* plot_common.h - what the pictures of llc_plot.h share (internal to llc/):
 * fonts and colours, the title, the step axis, mark lines and the naming
 * and styling of targets. */
#ifndef LLC_PLOT_COMMON_H
#define LLC_PLOT_COMMON_H

#include <stddef.h>

#include "llc_plot.h"
#include "llc_svg.h"

#define PLOT_TITLE_FONT 15.0
#define PLOT_SUB_FONT 11.5
#define PLOT_LEGEND_FONT 11.5
#define PLOT_MARK_COLOR "#b2182b"
#define PLOT_LOSS_COLOR "#666666"
#define PLOT_TEST_LOSS_COLOR "#999999"
#define PLOT_DIVERGED_COLOR "#d62728"

/* "L.H" -> 1; "layer L", "attn L", "mlp L", "L" -> 2; "model" -> 0; other -> 3. */
int plot_target_kind(const char *t, int *l, int *h);
/* The llc estimate option that makes estimates of target t. */
const char *plot_estimate_flag(const char *t, char *buf, size_t n);
/* qsort order of char[64] targets: model, heads, layers, others. */
int plot_target_cmp(const void *pa, const void *pb);
/* The colour (into buf, 8 bytes) and dash of a target's curve. */
const char *plot_target_style(const char *t, int *other_idx, char *buf, const char **dash);

void plot_title(llc_svg *svg, double x, const char *main_txt, const char *sub);
/* Step axis over [lo, hi] (see llc_plot.h), its label into label. */
void plot_step_axis(llc_svg_axis *ax, double lo, double hi, double minpos, int linear, const double *steps,
                    int n_steps, char *label, size_t n);
/* Range of the step axis over every series, (with_ck) the checkpoints and the marks. */
void plot_step_range(const llc_plot_opts *o, const llc_plot_curves_data *cs, int with_ck, double *lo, double *hi,
                     double *minpos);
/* Range of mean ± std over the series, 0 always included. */
void plot_value_range(const llc_plot_curves_data *cs, double *lo, double *hi);
/* Vertical mark lines in a panel, labels (if labels) stacked in rows. */
void plot_draw_marks(llc_svg *svg, const llc_svg_panel *p, const llc_plot_opts *o, int labels);

#endif
