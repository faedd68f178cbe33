/* llc_bench.h - what this machine does, measured: the sgemm ceiling, and
 * per configuration the forward+backward time and FLOPs, the SGLD steps/s
 * of a 4-chain estimate (1 thread, all cores, one head), training tokens/s
 * and the cost of a checkpoint. A config struct in, a result struct out,
 * progress through a callback; nothing is printed. `llc bench` runs each
 * configuration in its own process and adds the PyTorch reference and the
 * timed per-head curve around these.
 *
 * Timings are medians of repeated runs (steps/s: of several pairs of
 * estimates of 2D and D draws, whose difference cancels the set-up), and a
 * ceiling is the best of its repetitions: other work on a shared machine
 * only ever slows one down.
 */
#ifndef LLC_BENCH_H
#define LLC_BENCH_H

#include "llc_model.h"
#include "llc_task.h"
#include "llc_train.h"

/* The median of v[0..n) (n >= 1; sorts v). */
double llc_bench_median(double *v, int n);

/* GFLOP/s of C = A·B for (m,k)x(k,n) float32 on cblas at its current thread
 * count, the best of reps (at most 64); NAN if out of memory. */
double llc_bench_sgemm_gflops(int m, int n, int k, int reps);

/* The all-core sgemm ceiling now (1024^3, the best of reps): the better of
 * OpenBLAS's `threads` threads in one sgemm and one single-threaded sgemm
 * per core at once (how the chains run); the parts into the non-NULL
 * outputs (one: a single thread). Leaves OpenBLAS at `threads` threads. */
double llc_bench_ceiling(int threads, long cores, int reps, double *blas, double *one, double *per_core);

/* Called between the stages of llc_bench_run with the stage's name. */
typedef void (*llc_bench_progress)(void *ctx, const char *stage);

typedef struct {
    const llc_model *model; /* borrowed; built with task from one config */
    const llc_task *task;
    llc_train_config train; /* its training settings (batch, optimiser) */
    int draws;              /* SGLD draws per chain in the timed estimates, 0 = about 0.6 s of work */
    int cores;              /* threads of the all-core measurements */
    llc_bench_progress progress; /* may be NULL */
    void *progress_ctx;
} llc_bench_config;

typedef struct {
    double n_params, batch;
    double flops_per_step;             /* one forward+backward (llc_model.flops), NAN if unknown */
    int sgemm_shape[3];                /* its largest product (m, n, k); 1x1x1 if unknown */
    double sgemm_shape_gflops_1thread; /* sgemm at that shape, 1 thread */
    double fwd_bwd_ms, fwd_bwd_gflops_1thread;
    int sgld_draws_timed;
    double llc_steps_s_1thread, llc_steps_s; /* 4 chains, 1 thread and `cores` threads */
    int threads;
    double gflops;             /* llc_steps_s x flops_per_step */
    int has_head;              /* a transformer: head 0.0 measured */
    double llc_steps_s_head;   /* head 0.0 alone, all cores */
    double head_params;
    int has_head_shared;       /* the head's steps from a model estimate's passes at w* (as in a curve) */
    double llc_steps_s_head_shared;
    double train_tokens_s;     /* the trainer's step, optimiser included */
    double ckpt_bytes;         /* the bytes one more checkpoint adds to a store */
    double ckpt_overhead_pct;  /* over raw float32 */
    double ckpt_write_ms, ckpt_read_ms;
} llc_bench_result;

/* Measure one configuration in this process (sets OpenBLAS to 1 thread).
 * A timed estimate that fails leaves NAN in its field (message in err) and
 * does not stop the rest; a model, batch or store failure does. */
int llc_bench_run(const llc_bench_config *c, llc_bench_result *r, char *err);

/* Counts of a store's run "curve" (the timed per-head curve): checkpoints,
 * points, targets, and the estimates' own seconds for the model and for
 * the heads. */
typedef struct {
    int checkpoints, points, targets;
    double seconds_model, seconds_heads;
} llc_bench_curve_counts;
int llc_bench_curve_read(const char *db, llc_bench_curve_counts *out, char *err);
/* The same for any run of the store. */
int llc_bench_run_read(const char *db, const char *run, llc_bench_curve_counts *out, char *err);

/* Remove a scratch store at path and its side files (-wal, -shm, -journal). */
void llc_bench_remove_store(const char *path);

#endif
