/* llc_analysis_results.h - stages, clusters and the trajectory in the store
 * (schema v5, core/store.c), and the curves they read:
 *
 *   stages(id, run, target, data, source, step, kind, value, settings,
 *          created, version)
 *     source: 'llc' (critical points of an LLC curve), 'loss' (drops of
 *     test_loss / train_loss, spikes of the training log; target names the
 *     curve), 'cross' (a level crossing; target names the curve, e.g.
 *     test_loss=0.35); kind: llc_stage_kind_names; step REAL (crossings and
 *     drops are interpolated); settings: the canonical JSON of the method.
 *   clusters(run, curve, data, settings, target, cluster, created, version)
 *     curve: 'llc' or 'probe:NAME'; target: a head "L.H".
 *   trajectory(run, data, settings, step, component, coord, explained,
 *          created, version)
 *   trajectory_xy(run, data, settings, step, pc1, pc2, pc3): one row per
 *          checkpoint
 *
 * Each write replaces the rows with the same keys in one transaction.
 */
#ifndef LLC_ANALYSIS_RESULTS_H
#define LLC_ANALYSIS_RESULTS_H

#include "llc_store.h"
#include "llc_stages.h"
#include "llc_trajectory.h"

/* A curve read from the store: n points, steps ascending. */
typedef struct {
    double *step, *value;
    int n;
} llc_series;
void llc_series_free(llc_series *s);

/* Curves by name: "test_loss", "train_loss" (checkpoints), "log_loss",
 * "log_grad_norm" (the training log), "llc:TARGET" (curves view, data;
 * NULL = train), "probe:NAME:TARGET" (probe_curves, data; NULL = test). LLC_ERR_NOTFOUND with a
 * message in the store's errmsg-style err for an unknown name; an empty
 * curve is returned as n = 0. */
int llc_series_get(llc_store *s, const char *run, const char *name, const char *data, llc_series *out, char *err);

/* One transaction: delete the run's stages of data with the (source,
 * target) pairs of keys (n_keys), then insert rows. */
int llc_stages_put(llc_store *s, const char *run, const char *data, const char *settings, const llc_stage_found *keys,
                   int n_keys, const llc_stage_found *rows, int n);

typedef struct {
    char source[16], target[64], data[64], kind[16];
    double step, value;
} llc_stage_row;
/* The stored stages of a run (source NULL = all), ordered by source, target, step. */
int llc_stages_get(llc_store *s, const char *run, const char *source, llc_stage_row **out, int *n);

/* Replace the assignment of (run, curve, data, settings). */
int llc_clusters_put(llc_store *s, const char *run, const char *curve, const char *data, const char *settings,
                     char (*targets)[32], const int *assign, int n);

typedef struct {
    char target[32];
    int cluster;
} llc_cluster_row;
/* The newest assignment of a run's curve (NULL = any), ordered by target. */
int llc_clusters_get(llc_store *s, const char *run, const char *curve, llc_cluster_row **out, int *n);

/* Replace the trajectory of (run, data, settings). */
int llc_trajectory_put(llc_store *s, const char *run, const char *data, const char *settings,
                       const llc_trajectory_result *r);
/* The newest stored trajectory of a run (coords of component 0 and 1 per step). */
int llc_trajectory_get(llc_store *s, const char *run, llc_trajectory_result *r);

#endif
