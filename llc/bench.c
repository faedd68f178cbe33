/* bench.c - the measurements of llc_bench.h: the sgemm ceiling, and per
 * configuration forward+backward, SGLD steps/s, training tokens/s and the
 * checkpoint cost, each a stage of llc_bench_run. */
#include "llc_bench.h"
#include "llc_estimate.h"
#include "llc_results.h"
#include "llc_store.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double llc_bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---------------- the sgemm ceiling ---------------- */

double llc_bench_sgemm_gflops(int m, int n, int k, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)m * (size_t)k), *b = malloc(sizeof(float) * (size_t)k * (size_t)n),
          *c = malloc(sizeof(float) * (size_t)m * (size_t)n);
    double t[64] = {0}, g = NAN;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)m * (size_t)k; i++) a[i] = (float)((i * 7) % 13) * 0.01f;
        for (size_t i = 0; i < (size_t)k * (size_t)n; i++) b[i] = (float)((i * 5) % 11) * 0.01f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
        if (reps > 64) reps = 64;
        for (int r = 0; r < reps; r++) {
            double t0 = llc_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
            t[r] = llc_now() - t0;
        }
        double best = t[0];
        for (int r = 1; r < reps; r++) best = fmin(best, t[r]);
        g = 2.0 * m * (double)n * k / best / 1e9;
    }
    free(a);
    free(b);
    free(c);
    return g;
}

static void *sgemm_thread(void *arg)
{
    *(double *)arg = llc_bench_sgemm_gflops(1024, 1024, 1024, 25);
    return NULL;
}

/* The all-core ceiling as llc's chains use the cores: one single-threaded
 * 1024^3 sgemm per core at the same time, their GFLOP/s summed (OpenBLAS
 * must be at one thread). 0 if a thread cannot start. */
static double sgemm_gflops_per_core(int cores)
{
    pthread_t th[64];
    double g[64];
    int started = 0;
    if (cores > 64) cores = 64;
    for (int i = 0; i < cores; i++) {
        g[i] = 0;
        if (pthread_create(&th[i], NULL, sgemm_thread, &g[i]) != 0) break;
        started++;
    }
    double sum = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        sum += g[i];
    }
    return started == cores ? sum : 0;
}

double llc_bench_ceiling(int threads, long cores, int reps, double *blas, double *one, double *per_core)
{
    openblas_set_num_threads(threads);
    double g_blas = llc_bench_sgemm_gflops(1024, 1024, 1024, reps);
    openblas_set_num_threads(1);
    double g_one = one ? llc_bench_sgemm_gflops(1024, 1024, 1024, reps) : NAN;
    double g_cores = sgemm_gflops_per_core((int)cores);
    openblas_set_num_threads(threads);
    if (blas) *blas = g_blas;
    if (one) *one = g_one;
    if (per_core) *per_core = g_cores;
    return fmax(g_blas, g_cores);
}

/* ---------------- scratch stores ---------------- */

/* Bytes of the store at path: the database and its WAL (not the -shm index). */
static long long store_bytes(const char *path)
{
    long long sz = 0;
    const char *sfx[] = {"", "-wal"};
    for (int k = 0; k < 2; k++) {
        char side[300];
        snprintf(side, sizeof side, "%s%s", path, sfx[k]);
        struct stat sb;
        if (stat(side, &sb) == 0) sz += (long long)sb.st_size;
    }
    return sz;
}

void llc_bench_remove_store(const char *path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t k = 0; k < sizeof sfx / sizeof *sfx; k++) {
        char side[300];
        snprintf(side, sizeof side, "%s%s", path, sfx[k]);
        unlink(side);
    }
}

int llc_bench_curve_read(const char *db, llc_bench_curve_counts *out, char *err)
{
    return llc_bench_run_read(db, "curve", out, err);
}

int llc_bench_run_read(const char *db, const char *run, llc_bench_curve_counts *out, char *err)
{
    llc_store *s = NULL;
    llc_results_totals t;
    int rc = llc_store_open(db, LLC_STORE_READONLY, &s, err);
    if (rc) return rc;
    if ((rc = llc_results_run_totals(s, run, &t))) {
        rc = llc_fail(err, rc, "cannot read the estimates of run %s: %s", run, llc_store_errmsg(s));
    } else {
        out->checkpoints = t.steps;
        out->points = t.estimates;
        out->targets = t.targets;
        out->seconds_model = t.seconds_model;
        out->seconds_heads = t.seconds_other;
    }
    llc_store_close(s);
    return rc;
}

/* ---------------- SGLD steps/s ---------------- */

/* Seconds of one estimate of group g (NULL = model) for sgld_steps_s, or NAN. */
static double timed_estimate(const llc_model *m, const float *w, const llc_group *g, const llc_task *task, int B,
                             int draws, int chains, int threads, llc_pair_cache *pc, char *err)
{
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.sgld.eps = 1e-9;
    c.sgld.nbeta = 10;
    c.nbeta_mode = LLC_NBETA_GIVEN;
    c.sgld.gamma = 100;
    c.burnin = 0;
    c.thin = 1;
    c.draws = draws;
    c.chains = chains;
    c.rt.threads = threads;
    c.batch = B;
    c.init_batches = 1;
    c.metropolis = LLC_MH_OFF;
    c.paired = pc != NULL;
    c.rt.pair_cache = pc;
    c.rt.data_hash = 0x62656e6368ULL;
    llc_estimate_result *r = NULL;
    double t0 = llc_now();
    int rc = llc_estimate(m, w, g, task, &c, &r, err);
    double t = llc_now() - t0;
    llc_estimate_result_free(r);
    return rc ? NAN : t;
}

/* SGLD steps/s of a chains-chain estimate of group g (NULL = model): plain
 * SGLD at a tiny fixed eps, timed as t(2D draws) - t(D draws) (which
 * cancels the set-up), the median of TRIALS such pairs: other work on a
 * shared machine shows up as outliers. With pc: paired losses, their passes
 * at w* first computed into pc by a model estimate of 2D draws, as in a
 * curve where the model and the heads share them (a head's steps then start
 * from base records); else unpaired. */
#define TRIALS 5
static double sgld_steps_s(const llc_model *m, const float *w, const llc_group *g, const llc_task *task, int B,
                           int draws, int chains, int threads, llc_pair_cache *pc, char *err)
{
    if (pc && isnan(timed_estimate(m, w, NULL, task, B, 2 * draws, chains, threads, pc, err))) return NAN;
    double rate[TRIALS];
    for (int k = 0; k < TRIALS; k++) {
        double t1 = timed_estimate(m, w, g, task, B, draws, chains, threads, pc, err);
        if (isnan(t1)) return NAN;
        double t2 = timed_estimate(m, w, g, task, B, 2 * draws, chains, threads, pc, err);
        if (isnan(t2)) return NAN;
        double dt = t2 - t1;
        rate[k] = dt > 0 ? (double)chains * draws / dt : 0;
    }
    return llc_bench_median(rate, TRIALS);
}

/* ---------------- the stages of one configuration ---------------- */

static void progress(const llc_bench_config *c, const char *stage)
{
    if (c->progress) c->progress(c->progress_ctx, stage);
}

/* Median seconds of one forward+backward at w on b (1 thread): at least 5
 * and at most 64 repetitions, about 2 s. */
static int time_fwd_bwd(const llc_model *model, void *ws, const float *w, const llc_batch *b, float *grad,
                        double *seconds, char *err)
{
    double t[64], L;
    for (int i = 0; i < 3; i++) model->loss_grad(model, ws, w, b, grad, &L);
    int reps = 0, rc;
    double tstart = llc_now();
    while (reps < 64 && (reps < 5 || llc_now() - tstart < 2.0)) {
        double s0 = llc_now();
        if ((rc = model->loss_grad(model, ws, w, b, grad, &L))) return llc_fail(err, rc, "loss_grad failed");
        t[reps++] = llc_now() - s0;
    }
    *seconds = llc_bench_median(t, reps);
    return LLC_OK;
}

/* The SGLD steps/s of r: the model with 1 thread and all cores, head 0.0
 * of a transformer alone and as in a curve. */
static int bench_sgld(const llc_bench_config *c, const float *w, double fb, llc_bench_result *r, char *err)
{
    const llc_model *model = c->model;
    const int B = c->train.batch, cores = c->cores;
    /* about 0.6 s of single-thread work per D draws */
    const int draws = c->draws > 0 ? c->draws : (int)fmin(2000, fmax(4, 0.6 / (4 * fb * 1.15)));
    r->sgld_draws_timed = draws;
    r->llc_steps_s_1thread = sgld_steps_s(model, w, NULL, c->task, B, draws, 4, 1, NULL, err);
    r->llc_steps_s = sgld_steps_s(model, w, NULL, c->task, B, draws, 4, cores, NULL, err);
    r->threads = cores;
    r->gflops = r->llc_steps_s * r->flops_per_step / 1e9;
    llc_group head = {0};
    if (strcmp(model->kind, "transformer") == 0 && model->group(model, "0.0", &head, err) == 0) {
        llc_group_normalize(&head);
        progress(c, "sgld head");
        r->has_head = 1;
        r->llc_steps_s_head = sgld_steps_s(model, w, &head, c->task, B, draws, 4, cores, NULL, err);
        r->head_params = (double)head.size;
        /* the same head in a curve: its steps from the model's passes at w* */
        llc_pair_cache *pc = llc_pair_cache_new();
        if (pc) {
            r->has_head_shared = 1;
            r->llc_steps_s_head_shared = sgld_steps_s(model, w, &head, c->task, B, draws, 4, cores, pc, err);
        }
        llc_pair_cache_free(pc);
    }
    llc_group_free(&head);
    return LLC_OK;
}

/* Training tokens/s of r: about 2 s of the trainer's steps (5 to 200). */
static int bench_train(llc_trainer *tr, const llc_task *task, int B, double fb, llc_bench_result *r, char *err)
{
    double loss, lr, gn;
    int rc;
    for (int i = 0; i < 3; i++) llc_trainer_step(tr, &loss, &lr, &gn);
    int ns = (int)fmax(5, fmin(200, 2.0 / (1.5 * fb)));
    double t0 = llc_now();
    for (int i = 0; i < ns; i++)
        if ((rc = llc_trainer_step(tr, &loss, &lr, &gn))) return llc_fail(err, rc, "training step failed");
    r->train_tokens_s = (double)B * task->shape.T * ns / (llc_now() - t0);
    return LLC_OK;
}

/* Checkpoint cost in a scratch store: the bytes one more checkpoint adds
 * (the store's size with 16 checkpoints minus its size with the run alone,
 * over 16), so the fixed schema pages do not count as overhead; the median
 * write and read times. buf: np floats of scratch. */
static int bench_ckpt(const float *w, float *buf, size_t np, const char *task_name, llc_bench_result *r, char *err)
{
    llc_store *st = NULL;
    char path[] = "/tmp/llc-bench-XXXXXX";
    int fd = mkstemp(path), rc;
    if (fd >= 0) close(fd);
    unlink(path);
    if ((rc = llc_store_open(path, LLC_STORE_RW, &st, err))) return rc;
    llc_store_run_create(st, "bench", task_name, "{}", (long long)np, 1);
    llc_store_close(st);
    st = NULL;
    const long long sz0 = store_bytes(path);
    if ((rc = llc_store_open(path, LLC_STORE_RW, &st, err))) return rc;
    double tw[16], trd[16];
    for (int i = 0; i < 16; i++) {
        double q0 = llc_now();
        llc_store_checkpoint_put(st, "bench", i, 0, 0, w, np, NULL, 0, NULL, 0);
        tw[i] = llc_now() - q0;
        q0 = llc_now();
        llc_store_checkpoint_get(st, "bench", i, buf, np, NULL, NULL);
        trd[i] = llc_now() - q0;
    }
    llc_store_close(st);
    const long long sz = store_bytes(path);
    llc_bench_remove_store(path);
    double bytes = (double)(sz - sz0) / 16.0;
    r->ckpt_bytes = bytes;
    r->ckpt_overhead_pct = 100.0 * (bytes - 4.0 * (double)np) / (4.0 * (double)np);
    r->ckpt_write_ms = 1e3 * llc_bench_median(tw, 16);
    r->ckpt_read_ms = 1e3 * llc_bench_median(trd, 16);
    return LLC_OK;
}

int llc_bench_run(const llc_bench_config *c, llc_bench_result *r, char *err)
{
    const llc_model *model = c->model;
    const llc_task *task = c->task;
    const int B = c->train.batch;
    llc_train_config tc = c->train;
    llc_trainer *tr = NULL;
    float *w2 = NULL;
    void *ws = NULL;
    llc_batch *b = NULL;
    int rc;
    memset(r, 0, sizeof *r);
    openblas_set_num_threads(1);
    tc.steps = 1000000;
    if ((rc = llc_trainer_new(model, task, &tc, 1, &tr, err))) goto done;
    llc_trainer_init_params(tr);
    const float *w = llc_trainer_params(tr);
    const size_t np = llc_model_n_params(model);
    r->n_params = (double)np;
    r->batch = B;
    ws = model->ws_alloc(model, B);
    b = llc_task_batch_alloc(task, B);
    w2 = malloc(np * sizeof *w2);
    if (!ws || !b || !w2) { rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory"); goto done; }
    b->B = B;
    if ((rc = task->fill(task, 0, 0, b))) { llc_fail(err, rc, "task fill failed"); goto done; }
    int *shape = r->sgemm_shape;
    shape[0] = shape[1] = shape[2] = 1;
    r->flops_per_step = model->flops ? model->flops(model, b, shape) : NAN;
    progress(c, "sgemm at the model's shape");
    r->sgemm_shape_gflops_1thread = llc_bench_sgemm_gflops(shape[0], shape[1], shape[2], 21);
    progress(c, "forward+backward");
    double fb = 0;
    if ((rc = time_fwd_bwd(model, ws, w, b, w2, &fb, err))) goto done;
    r->fwd_bwd_ms = 1e3 * fb;
    r->fwd_bwd_gflops_1thread = r->flops_per_step / fb / 1e9;
    progress(c, "sgld");
    if ((rc = bench_sgld(c, w, fb, r, err))) goto done;
    progress(c, "training");
    if ((rc = bench_train(tr, task, B, fb, r, err))) goto done;
    progress(c, "checkpoints");
    rc = bench_ckpt(llc_trainer_params(tr), w2, np, task->name, r, err);
done:
    if (ws) model->ws_free(ws);
    llc_batch_free(b);
    free(w2);
    llc_trainer_free(tr);
    return rc;
}
