/* fixture.h - the toy models and tasks the unit tests share.
 *
 *   linreg model  f = w.x, loss = mask-weighted mean (y - w.x)^2 with its
 *                 analytic gradient, d <= FX_LR_MAXD, one group "model";
 *   data set task a fixed finite set (X, Y) of n rows: a batch of B == n
 *                 is the whole set in order, a smaller one draws rows with
 *                 replacement from the stream (seed, DATA, dist, index);
 *   Hadamard task the data set with X[i][j] = (-1)^popcount(i & (j+1))
 *                 (n a power of 2 > d, so X^T X = n I exactly) and
 *                 y = X w_true + sigma * noise;
 *   a task from JSON text (the library's tasks, or one init function
 *   filling a task in place), the small sort task and transformers shaped
 *   for a task, with random weights.
 * Every builder CHECKs its own failure where it says so.
 */
#ifndef LLC_TEST_FIXTURE_H
#define LLC_TEST_FIXTURE_H

#include "llc_config.h"
#include "llc_model.h"
#include "llc_task.h"

#include <cjson/cJSON.h>

#define FX_LR_MAXD 64

llc_model *fx_linreg_model(int d);

/* Takes ownership of X (n, d) and Y (n); free with llc_task_free. */
llc_task *fx_dataset_task(int n, int d, float *X, float *Y, uint64_t seed);
/* Minibatches (B < n) whose index is a multiple of every get a NaN target. */
void fx_dataset_poison(llc_task *t, uint64_t every);
/* The Hadamard data set of n rows, d columns; w_star (d) = the least-squares
 * fit X^T y / n, rounded to float. The data's rng is seeded from seed. */
llc_task *fx_hadamard_task(int n, int d, double sigma, uint64_t seed, float *w_star);

/* llc_task_new(name, JSON text json (NULL: defaults), seed). */
int fx_task_new(const char *name, const char *json, uint64_t seed, llc_task **t, char *err);
/* A task filled in place by an init function (the ground-truth tasks'
 * llc_task_*_init); release with fx_task_clear. */
typedef int (*fx_task_init_fn)(const cJSON *settings, llc_task *t, char *err);
int fx_task_init(fx_task_init_fn fn, const char *name, const char *json, uint64_t seed, llc_task *t, char *err);
void fx_task_clear(llc_task *t);
/* Task "linreg" {n: 1000, d: 10} of seed, its model and its teacher w. */
int fx_linreg_teacher(uint64_t seed, llc_task **t, llc_model **m, float w[10], char *err);

/* The sort task with numbers 0..62 (+ SEP: vocab 64), lists of 8: T = 16
 * (seed 7). CHECKs that it builds. */
llc_task *fx_sort_task(void);
/* A transformer config shaped for task t: L layers of NH heads of HS, width C. */
void fx_tf_config(llc_tf_config *c, const llc_task *t, int L, int NH, int HS, int C);
/* llc_transformer_new, CHECKed. */
llc_model *fx_tf_build(const llc_tf_config *c);
/* n_params weights from the model's init with an rng of seed (malloc'd). */
float *fx_random_params(const llc_model *m, uint64_t seed);

#endif
