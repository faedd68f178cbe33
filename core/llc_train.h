/* llc_train.h - the trainer: optimisers (SGD with momentum, Adam, AdamW),
 * learning-rate schedules, gradient clipping, checkpoint schedules, and the
 * optimiser state that makes a run resumable bit-for-bit.
 *
 * GSL style: the caller owns the loop.
 *   llc_trainer_new -> (llc_trainer_state_load) -> llc_trainer_step ... -> llc_trainer_free
 * Batch `s` of training step s is task batch index s of "train", so a
 * resumed run sees exactly the data an uninterrupted run sees.
 */
#ifndef LLC_TRAIN_H
#define LLC_TRAIN_H

#include "llc_model.h"
#include "llc_task.h"

typedef enum { LLC_OPT_SGD = 0, LLC_OPT_ADAM, LLC_OPT_ADAMW } llc_opt_kind;
typedef enum { LLC_SCHED_CONSTANT = 0, LLC_SCHED_WARMUP, LLC_SCHED_COSINE } llc_sched_kind;

#define LLC_MAX_CKPT_LIST 4096

typedef struct {
    long long steps;    /* number of optimiser steps */
    int batch;          /* sequences per step */
    llc_opt_kind opt;
    double lr;
    double beta1, beta2, adam_eps; /* Adam/AdamW */
    double momentum;               /* SGD */
    double weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
    double clip;         /* global grad-norm clip, 0 = off */
    llc_sched_kind sched;
    long long warmup;    /* linear warm-up steps (WARMUP and COSINE) */
    double min_lr_frac;  /* COSINE decays to lr*min_lr_frac */
    int test_batches;    /* batches of "test" averaged at each checkpoint */
    /* Checkpoint schedule: the union of step 0, the last step, and each part
     * that is set. n_linear and n_log are COUNTS, so they keep their shape
     * when `steps` changes; ckpt_every is a period in steps. */
    long long ckpt_every; /* every k steps (0 = off) */
    int ckpt_linear;      /* this many evenly spaced checkpoints (0 = off) */
    int ckpt_log;         /* this many log-spaced checkpoints in [1, steps] (0 = off) */
    int n_ckpt_list;
    long long ckpt_list[LLC_MAX_CKPT_LIST]; /* explicit steps (those > steps are dropped) */
    double max_loss;      /* a loss above this (or NaN/inf) stops the run as failed; 0 = only NaN/inf */
} llc_train_config;

void llc_train_config_default(llc_train_config *c);
/* Validate ranges; message names the field and the allowed range. */
int llc_train_config_check(const llc_train_config *c, char *err);

/* The checkpoint steps for c, ascending and unique; *out malloc'd. */
int llc_ckpt_schedule(const llc_train_config *c, long long **out, int *n);

/* Learning rate at step s (0-based) under c's schedule. */
double llc_lr_at(const llc_train_config *c, long long s);

typedef struct llc_trainer llc_trainer;

/* The trainer borrows model and task (they must outlive it) and owns its
 * workspace, gradient and optimiser buffers (allocated here, never in step). */
int llc_trainer_new(const llc_model *m, const llc_task *t, const llc_train_config *c,
                    uint64_t seed, llc_trainer **out, char *err);
void llc_trainer_free(llc_trainer *tr);
/* The parameters being trained (n_params floats, owned by the trainer). */
float *llc_trainer_params(llc_trainer *tr);
/* Fill params from the model's init with stream llc_seed(seed, INIT, 0,0,0). */
int llc_trainer_init_params(llc_trainer *tr);
/* The step the next llc_trainer_step will take (0 after init). */
long long llc_trainer_step_index(const llc_trainer *tr);
/* One optimiser step on train batch number step_index. Reports the batch's
 * mean loss (before the update), the lr used and the gradient norm before
 * clipping. LLC_ERR_NUMERIC if loss or gradient is NaN/inf (params untouched). */
int llc_trainer_step(llc_trainer *tr, double *loss, double *lr, double *grad_norm);
/* Mean loss over c->test_batches batches of distribution dist at the current params. */
int llc_trainer_eval(llc_trainer *tr, int dist, double *loss);
/* Serialised resume state: step index, params, optimiser moments. Versioned
 * little-endian blob; load checks sizes and rejects a mismatch. */
size_t llc_trainer_state_size(const llc_trainer *tr);
/* The same for a model of n_params parameters trained with c, before any
 * trainer exists (the trainer itself holds about this much plus a gradient
 * and the model's workspace). */
size_t llc_train_state_bytes(size_t n_params, const llc_train_config *c);
int llc_trainer_state_save(const llc_trainer *tr, void *buf, size_t size);
int llc_trainer_state_load(llc_trainer *tr, const void *buf, size_t size, char *err);

#endif
