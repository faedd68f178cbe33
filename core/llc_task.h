/* llc_task.h - the task interface: data generators behind one vtable,
 * and the functions that work on any task. The trainer and the estimator
 * call only this; the tasks themselves (tasks/) implement it, and
 * llc_tasks.h builds one by name.
 *
 * A task is built from a JSON object of its own settings (cJSON) and a seed;
 * it then fills batches deterministically: batch `index` of distribution
 * `dist` is a pure function of (task settings, seed, dist, index), so training
 * can resume at any step and SGLD chains can draw their own batches in any
 * thread order. Tasks with a fixed finite data set (modadd: 2,048 train /
 * 2,048 test) expose it through n_examples(dist) and fill batches by
 * deterministic epoch shuffles derived from (seed, dist, epoch).
 *
 * Each task also fixes the shape the model must have (vocab, d_in, n_out, T,
 * whether the output is one class per sequence) and names its distributions:
 * "train" and "test" always; others (e.g. "code", "prose", "heldout") for
 * data-refined estimates.
 */
#ifndef LLC_TASK_H
#define LLC_TASK_H

#include "llc_common.h"

struct cJSON;

#define LLC_MAX_DISTS 8

typedef struct llc_task llc_task;

typedef struct {
    int T;            /* sequence length of every batch */
    int vocab;        /* input token vocabulary (0 if inputs are vectors only) */
    int d_in;         /* continuous input width (0 if none) */
    int n_out;        /* number of output classes (cross-entropy), 0 for regression */
    int d_out;        /* regression output width (MSE), 0 for classification */
    int per_sequence; /* 1: one output per sequence, at position T-1 (pooled model) */
    double chance_loss; /* loss of the best input-ignoring predictor, for reports */
} llc_task_shape;

struct llc_task {
    char name[32];
    uint64_t seed;
    llc_task_shape shape;
    int n_dists;
    const char *dists[LLC_MAX_DISTS]; /* "train", "test", ... */
    /* (shape.vocab) nonzero for each input token the task's training data
     * holds, NULL if every token 0..vocab-1 occurs. The probes draw their
     * random token blocks from these (llc_task_tokens), so that a model is
     * not probed on tokens it never saw (the text task's unused bytes). */
    const unsigned char *token_used;
    /* Settings keys (NULL-terminated) that to_json leaves out at their
     * default, so that stored configs stay as they were before the key
     * existed; --set looks here too. NULL if none. */
    const char *const *optional_keys;
    void *impl;
    /* Number of distinct examples in a finite distribution, 0 = unbounded stream. */
    long (*n_examples)(const llc_task *t, int dist);
    /* Fill b->B sequences (b->B <= b->cap_B) of distribution `dist` (index
     * into dists), batch number `index`. Deterministic. */
    int (*fill)(const llc_task *t, int dist, uint64_t index, llc_batch *b);
    struct cJSON *(*to_json)(const llc_task *t); /* settings, defaults filled in */
    void (*free_impl)(void *impl);
};

/* Free a task built by llc_task_new (llc_tasks.h); NULL is a no-op. */
void llc_task_free(llc_task *t);
/* Index of a distribution by name, or -1. */
int llc_task_dist(const llc_task *t, const char *name);
/* The input tokens the task's training data holds (token_used; every
 * token 0..vocab-1 without it), ascending, into out (room for shape.vocab
 * ints). Returns how many. */
int llc_task_tokens(const llc_task *t, int *out);
/* A block of K tokens drawn uniformly from tok_of[0..n-1] into blk, all
 * distinct when n >= K (by rejection), so that each token of a repeated
 * block has one earlier occurrence. The probes' repeated-block sequences and
 * the text task's repeat_frac windows are built from it. */
void llc_task_draw_block(int *blk, int K, const int *tok_of, int n, gsl_rng *r);
/* Allocate a batch of cap_B sequences shaped for this task. */
llc_batch *llc_task_batch_alloc(const llc_task *t, int cap_B);
/* Write the task's full settings (defaults filled in) as a JSON object
 * (caller owns it), so the stored config reproduces the data exactly. */
struct cJSON *llc_task_settings_json(const llc_task *t);

#endif
