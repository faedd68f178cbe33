/* task_impl.h - private: the constructors behind llc_task_new. Each fills
 * in *t (already zeroed; name and seed set by the caller) from its settings
 * object, rejecting unknown keys / bad values via core/llc_json.h. */
#ifndef LLC_TASK_IMPL_H
#define LLC_TASK_IMPL_H

#include "llc_tasks.h"
#include "llc_json.h"

typedef int (*llc_task_ctor)(const cJSON *settings, llc_task *t, char *err);

int llc_task_sort_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_modadd_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_icl_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_text_init(const cJSON *settings, llc_task *t, char *err);

/* ---- helpers shared by the task files (tasks/task.c) ---- */

/* A random stream living on the caller's stack, so that fill() allocates
 * nothing: r behaves exactly like llc_rng_new(seed64). */
typedef struct {
    gsl_rng r;
    uint64_t state[8];
} llc_task_rng;
/* LLC_ERR_INVALID if llc_rng_type's state does not fit (never, for xoshiro). */
int llc_task_rng_init(llc_task_rng *s, uint64_t seed64);
/* The stream of batch `index` of distribution `dist`:
 * llc_seed(t->seed, LLC_PURPOSE_DATA, llc_hash_str(t->dists[dist]), index, 0). */
int llc_task_batch_rng(llc_task_rng *s, const llc_task *t, int dist, uint64_t index);
/* LLC_OK if dist is valid and b has the task's shape (T, d_in, the buffers
 * the task writes, 1 <= B <= cap_B); else LLC_ERR_INVALID. */
int llc_task_check_batch(const llc_task *t, int dist, const llc_batch *b);

#endif
