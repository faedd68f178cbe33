/* llc_cluster.h - clusters of curves by their shape: each curve resampled
 * on a common grid of steps (optionally uniform in log step), scaled, and
 * grouped by k-means (k-means++ starts from a seeded GSL generator, several
 * restarts) or agglomerative clustering (Ward or average linkage). Methods:
 * llc/ANALYSIS.md. Deterministic: the same inputs and seed give the same
 * assignment; clusters are numbered 0.. in the order of their first
 * member.
 */
#ifndef LLC_CLUSTER_H
#define LLC_CLUSTER_H

#include "llc_common.h"
#include "llc_store.h"

typedef enum { LLC_CLUSTER_KMEANS = 0, LLC_CLUSTER_WARD, LLC_CLUSTER_AVERAGE } llc_cluster_method;
typedef enum { LLC_SCALE_MINMAX = 0, LLC_SCALE_ZSCORE, LLC_SCALE_NONE } llc_cluster_scale;

typedef struct {
    int k;          /* clusters, 1 <= k <= number of curves */
    int method;     /* llc_cluster_method */
    int scale;      /* llc_cluster_scale, per curve */
    int logx;       /* 1: the common grid is uniform in log(1 + step) */
    int grid;       /* grid points (0 = the number of distinct steps, at most 256) */
    int restarts;   /* k-means restarts (0 = 10) */
    uint64_t seed;  /* k-means++ */
} llc_cluster_config;

void llc_cluster_config_default(llc_cluster_config *c); /* k 3, kmeans, minmax, logx 0, seed 1 */

/* One curve: n points (step ascending, non-finite values skipped). */
typedef struct {
    const double *step, *value;
    int n;
} llc_cluster_curve;

/* Resample and scale the curves into X (n_curves x *dim, malloc'd): the
 * grid spans the steps every curve covers. LLC_ERR_INVALID (message in
 * err) if fewer than two grid points are shared. */
int llc_cluster_features(const llc_cluster_config *c, const llc_cluster_curve *cv, int n_curves, double **X,
                         int *dim, char *err);

/* Cluster the rows of X (n x d) into assign (n). */
int llc_cluster_kmeans(const double *X, int n, int d, int k, int restarts, uint64_t seed, int *assign,
                       double *inertia);
int llc_cluster_hierarchical(const double *X, int n, int d, int k, int ward, int *assign);

/* Features, then the method of c: assign (n_curves). LLC_ERR_INVALID with
 * a message for k outside [1, n_curves] or too little overlap. */
int llc_cluster_curves(const llc_cluster_config *c, const llc_cluster_curve *cv, int n_curves, int *assign,
                       char *err);

/* ---- the driver behind `llc cluster` ---- */

typedef struct {
    const char *run;
    const char *curve;   /* "llc" (default) or "probe:NAME" */
    const char *data;    /* NULL: train for llc, test for probes */
    const char *targets; /* "heads" (default: every "L.H" target with a curve) or a comma list */
    llc_cluster_config method;
    int store;           /* 1: replace the stored assignment of (run, curve) */
} llc_cluster_request;

typedef struct {
    int n, k;
    char (*target)[32]; /* (n) */
    int *assign;        /* (n) */
    char data[64];
} llc_cluster_result;

/* LLC_ERR_NOTFOUND for no curves of that kind (message names what to run
 * first), LLC_ERR_INVALID for k > curves or bad settings; message in err. */
int llc_cluster_run(llc_store *s, const llc_cluster_request *q, llc_cluster_result *r, char *err);
void llc_cluster_result_free(llc_cluster_result *r);
/* Canonical JSON of the settings (malloc'd). */
char *llc_cluster_settings_json(const llc_cluster_config *c);
extern const char *const llc_cluster_method_names[]; /* "kmeans", "ward", "average" */
extern const char *const llc_cluster_scale_names[];  /* "minmax", "zscore", "none" */

#endif
