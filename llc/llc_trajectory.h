/* llc_trajectory.h - the developmental trajectory ("essential dynamics"):
 * the model's outputs on a fixed, seeded probe batch at every checkpoint,
 * stacked as rows, centred, and projected on their leading principal
 * components. Method: llc/ANALYSIS.md.
 *
 * The outputs are log-probabilities (log-softmax of the logits) at the
 * positions the task scores (mask > 0): invariant to the shift of a row of
 * logits that the loss cannot see. The principal components come from GSL's
 * symmetric eigen-solver on the checkpoint x checkpoint Gram matrix.
 */
#ifndef LLC_TRAJECTORY_H
#define LLC_TRAJECTORY_H

#include "llc_model.h"
#include "llc_store.h"
#include "llc_task.h"

#define LLC_TRAJECTORY_DEFAULT_SEQS 32
#define LLC_TRAJECTORY_MAX_COMPONENTS 16

/* Principal components of the rows of X (n x p, row = one checkpoint):
 * coords (n x k) = the centred rows projected on the k leading components
 * (sign: the last row's coordinate is >= the first's), explained (k) = each
 * component's share of the total variance. k <= n. */
int llc_trajectory_pca(const double *X, int n, int p, int k, double *coords, double *explained);

typedef struct {
    const llc_model *model; /* a transformer, not pooled */
    const llc_task *task;
    int dist;                /* the probe batch's distribution */
    int n_seqs;              /* probe batch size (0 = LLC_TRAJECTORY_DEFAULT_SEQS) */
    uint64_t seed;           /* of the probe batch */
    int components;          /* k (clipped to the number of checkpoints) */
    llc_store *store;        /* checkpoints are read from here */
    const char *run;
    const long long *steps;  /* checkpoints, ascending */
    int n_steps;             /* >= 2 */
    /* called after each checkpoint's forward pass (may be NULL); a non-zero
     * return stops the driver with LLC_ERR_INTERRUPTED */
    int (*progress)(void *ctx, int done, int total);
    void *ctx;
} llc_trajectory_config;

typedef struct {
    int n_steps, k;
    long long *steps;  /* (n_steps) */
    double *coords;    /* (n_steps x k) */
    double *explained; /* (k) */
    long long n_outputs; /* the length of each checkpoint's output vector */
} llc_trajectory_result;

/* LLC_ERR_INVALID with a message for a model or task it cannot take. */
int llc_trajectory_run(const llc_trajectory_config *cfg, llc_trajectory_result *r, char *err);
void llc_trajectory_result_free(llc_trajectory_result *r);

#endif
