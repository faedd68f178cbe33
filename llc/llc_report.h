/* llc_report.h - `llc report`: one self-contained HTML page of a run (inline
 * SVG and CSS, no script, nothing fetched), for a researcher's browser.
 *
 * Sections, each <section id="..."> and present only when the run has its
 * data (an empty section is omitted, never drawn empty):
 *   config       the run's config, pretty JSON
 *   log          the training log (loss, gradient norm, spikes)
 *   llc          the LLC curves and one panel per head's rLLC, stages marked
 *   probes       each head's probe curves beside its rLLC
 *   clusters     the head panels coloured by stored cluster (llc cluster)
 *   trajectory   the developmental trajectory (llc trajectory)
 *   circuits     attention patterns and OV circuits at the chosen steps
 *   embed        d_model = 2 pooled models: the embedding frames as a grid
 *   diagnostics  estimates where something is off: status != ok, R-hat >
 *                LLC_REPORT_RHAT_MAX, diverged chains, significantly
 *                negative (llc_results_negative)
 * Every figure is drawn by the plot code (llc/llc_plot.h) into a memory
 * stream and copied in without its XML declaration; each figure's clip ids
 * get a prefix so the inlined SVGs do not share ids.
 */
#ifndef LLC_REPORT_H
#define LLC_REPORT_H

#include <stdio.h>

#include "llc_model.h"
#include "llc_store.h"
#include "llc_task.h"

#define LLC_REPORT_RHAT_MAX 1.1
#define LLC_REPORT_MAX_STEPS 16  /* checkpoints shown in the circuits section */
#define LLC_REPORT_MAX_FRAMES 12 /* embedding frames in the grid */

typedef struct {
    const char *run;
    llc_task *task;     /* the run's task and model (borrowed; model NULL: no */
    llc_model *model;   /* circuits or embed sections) */
    const long long *steps; /* circuits: these checkpoints (NULL: the stored */
    int n_steps;            /* stage boundaries, else the last checkpoint) */
} llc_report_opts;

/* Write the report of o->run to f. LLC_ERR_NOTFOUND (no such run),
 * LLC_ERR_STORE, LLC_ERR_NOMEM, LLC_ERR_IO (f failed); err gets one line. */
int llc_report_write(FILE *f, llc_store *s, const llc_report_opts *o, char *err);

/* Write one page of the runs of group grp (llc sweep): a table of the runs
 * (varied settings, last checkpoint's losses, number of estimates), the
 * model's LLC of every run overlaid, their mean ± 1 sd, the train and test
 * losses overlaid, then each run's LLC and rLLC curves (section ids
 * prefixed by the run id). Sections without data are omitted.
 * LLC_ERR_NOTFOUND (no such group, or no runs in it: err names the
 * groups that exist), LLC_ERR_STORE, LLC_ERR_NOMEM, LLC_ERR_IO. */
int llc_report_group_write(FILE *f, llc_store *s, const char *grp, char *err);

#endif
