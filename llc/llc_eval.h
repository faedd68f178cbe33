/* llc_eval.h - loss, accuracy and output entropy of one checkpoint on a
 * fixed, seeded eval set, with heads ablated and/or clamps added, next to
 * the same numbers of the model as it is (llc/PROBES.md, "Eval").
 *
 * A driver in the style of the estimator: a config in, a result out,
 * nothing printed. Work is split by eval batch, each batch writes its own
 * slot and the sums run in batch order in double, so the numbers are
 * bit-identical for any n_threads.
 */
#ifndef LLC_EVAL_H
#define LLC_EVAL_H

#include "llc_model.h"
#include "llc_task.h"

#define LLC_EVAL_BATCH_SEQS 32      /* sequences per eval batch */
#define LLC_EVAL_DEFAULT_BATCHES 8  /* eval-set size in batches: 256 sequences */
#define LLC_EVAL_MAX_BATCHES 4096

typedef struct {
    const llc_model *model; /* a transformer (its own clamps stay on in both passes) */
    const float *w;         /* its parameters (a checkpoint) */
    const llc_task *task;   /* the eval set's task (its shape must fit the model) */
    int dist;               /* index into task->dists */
    int n_batches;          /* eval-set size in batches of LLC_EVAL_BATCH_SEQS (0 = default) */
    uint64_t seed;          /* of the eval set */
    const int *ablate;      /* heads l * n_heads + h to ablate */
    int n_ablate;
    const int *keep;        /* heads l * n_heads + h to keep: every other head of their layers is ablated */
    int n_keep;
    int ablate_mean;        /* 0: an ablated head's output := 0; 1: := its mean over the eval set */
    const llc_clamp *clamps; /* added to the model's for the ablated pass (pattern clamps, ...) */
    int n_clamps;
    int n_threads;          /* >= 1 (0 = 1) */
} llc_eval_config;

typedef struct {
    double loss;     /* mean cross-entropy over the scored positions (mask-weighted) */
    double accuracy; /* share of scored positions whose most likely output is the target */
    double entropy;  /* mean entropy (nats) of the output distribution at the scored positions */
} llc_eval_stats;

typedef struct {
    llc_eval_stats base;    /* the model as it is */
    llc_eval_stats changed; /* with the ablations and clamps */
    int n_seqs;             /* eval-set size in sequences */
    double n_scored;        /* scored positions (sum of mask weights) */
    int n_ablated;          /* heads ablated (after keep-only is expanded) */
    unsigned char *ablated; /* (n_layers * n_heads) 1 for an ablated head; free with llc_eval_result_free */
} llc_eval_result;

/* Run the eval. LLC_ERR_INVALID with a message in err for a config the
 * model cannot take (a head that does not exist, a pooled model with
 * mean ablation, too many clamps, ...), LLC_ERR_NOTFOUND for a head outside
 * the model, LLC_ERR_NOMEM. */
int llc_eval_run(const llc_eval_config *cfg, llc_eval_result *r, char *err);
void llc_eval_result_free(llc_eval_result *r);

#endif
