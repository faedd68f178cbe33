/* cmd_bench.c - `llc bench`: what this machine does, measured in one run.
 *
 * For the sgemm ceiling (OpenBLAS, square 1024^3 with all threads and with
 * one) and, per configuration (default: data/configs/bench/{S,M,ICL,DLN100,
 * DLN784}.json, the standard set of README `llc bench`):
 *   - the median time of one forward+backward (model->loss_grad on one SGLD
 *     batch, 1 BLAS thread), its FLOP count (counted from the shapes: every
 *     matmul 2mnk, backward twice the forward except the input gradient of
 *     the first layer) and the sgemm rate at the model's largest GEMM shape;
 *   - SGLD steps/s of a 4-chain estimate (plain SGLD, no paired losses, no
 *     burn-in, fixed eps) with 1 thread and with all cores (chains across
 *     threads, 1 BLAS thread each), timed as the DIFFERENCE of a run of 2D
 *     and one of D draws, so set-up (L_n(w*), the exact-loss probe) cancels;
 *     and the same for a weight-refined target (head 0.0) with all cores,
 *     alone and as in a curve (head*: paired losses whose passes at w* a
 *     model estimate made, so its steps start from base records);
 *   - GFLOP/s of that estimate (steps/s x FLOPs per step) as % of the
 *     all-core sgemm ceiling, and as % of the ceiling measured right
 *     before and after that measurement (pct_of_round_ceiling);
 *   - training tokens/s (the trainer's step, optimizer included);
 *   - the bytes one more checkpoint adds to a scratch store, their overhead over raw float32, write
 *     and read time;
 *   - peak memory (max RSS) of the process that measured the configuration:
 *     every configuration runs in its own child process (`llc bench --child`,
 *     hidden), so the numbers do not mix.
 * After each configuration, unless --torch none, the PyTorch reference
 * (tests/bench/torch_sgld.py under /usr/bin/python3, which picks its fastest
 * backend and arrangement of the cores) on that configuration, and ratio = llc / torch steps/s of
 * the 4-chain estimate on all cores. Then, by default with the standard set
 * (--curve CONFIG|none), the per-head developmental curve of README: the
 * config (data/configs/sort.json) trained into a scratch store and
 * `llc estimate --model --heads all --chains 4 --draws 200 --burnin 100
 * --thin 1` on every checkpoint, both as child processes, timed wall-clock.
 * Medians of repeated timings; nothing here is a test. */
#include "cli.h"
#include "llc_estimate.h"
#include "llc_regress.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char usage[] =
    "usage: llc bench [--configs a.json,b.json,...] [--rounds N] [--draws N] [--torch PATH|none]\n"
    "                 [--curve CONFIG|none] [--json FILE]\n"
    "Measure the sgemm ceiling of this machine and, for each config (default: the standard set\n"
    "data/configs/bench/{S,M,ICL,DLN100,DLN784}.json), forward+backward time and GFLOP/s, SGLD steps/s\n"
    "of a 4-chain estimate with 1 thread and all cores (and for one head), training tokens/s, checkpoint\n"
    "cost and peak memory; and right after each config the PyTorch reference (tests/bench/torch_sgld.py)\n"
    "on it. --rounds N repeats that pair N times per config and reports the medians (and the ratio's\n"
    "range): on a shared machine one round can be off by 25%.\n"
    "Then (with the standard set, or --curve CONFIG) the time of a per-head developmental curve: CONFIG\n"
    "(default data/configs/sort.json) trained into a scratch store, then estimated at every checkpoint\n"
    "for the model and every head, 4 chains x 200 draws (--draws) after 100 burn-in steps.\n"
    "Prints a table; --json also writes the numbers to FILE.\n";

static const cli_optdef defs[] = {{"configs", 1, "comma-separated config files, or 'none' (no configurations)"},
                                  {"rounds", 1, "rounds of (llc, PyTorch) per config, medians reported (default 1)"},
                                  {"draws", 1, "SGLD draws per chain in the timed estimate (default: by size)"},
                                  {"torch", 1, "PyTorch reference script, or 'none' (default tests/bench/torch_sgld.py)"},
                                  {"curve", 1, "config of the timed per-head curve, or 'none' (default: "
                                               "data/configs/sort.json with the standard set, else none)"},
                                  {"json", 1, "write results as JSON to this file"},
                                  {"child", 1, NULL},
                                  {"child-out", 1, NULL},
                                  {NULL, 0, NULL}};

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* GFLOP/s of C = A·B for (m,k)x(k,n) float32, the best of reps: a ceiling
 * is what the machine can do, and other work on a shared machine only ever
 * slows a repetition down. */
static double sgemm_gflops(int m, int n, int k, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)m * (size_t)k), *b = malloc(sizeof(float) * (size_t)k * (size_t)n),
          *c = malloc(sizeof(float) * (size_t)m * (size_t)n);
    double t[64], g = NAN;
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
    *(double *)arg = sgemm_gflops(1024, 1024, 1024, 25);
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

/* The all-core sgemm ceiling now (1024^3, the best of reps): the better of
 * OpenBLAS's `threads` threads in one sgemm and one single-threaded sgemm per
 * core at once (how the chains run); the parts into the non-NULL outputs. */
static double ceiling_gflops(int threads, long cores, int reps, double *blas, double *one, double *per_core)
{
    openblas_set_num_threads(threads);
    double g_blas = sgemm_gflops(1024, 1024, 1024, reps);
    openblas_set_num_threads(1);
    double g_one = one ? sgemm_gflops(1024, 1024, 1024, reps) : NAN;
    double g_cores = sgemm_gflops_per_core((int)cores);
    openblas_set_num_threads(threads);
    if (blas) *blas = g_blas;
    if (one) *one = g_one;
    if (per_core) *per_core = g_cores;
    return fmax(g_blas, g_cores);
}

/* FLOPs of one forward+backward on batch b (3x the forward's products) and
 * the largest GEMM shape (m, n, k). Counts the work done: the unembedding at
 * the scored rows only, and the top layer's attention, O and MLP at the
 * scored rows when some rows are unscored (core/transformer.c). */
static double count_flops(const llc_model *model, const llc_task *task, const llc_batch *b, int shape[3])
{
    const int B = b->B;
    shape[0] = shape[1] = shape[2] = 1;
    if (strcmp(model->kind, "transformer") == 0) {
        const llc_tf_config *c = llc_transformer_config(model);
        const int Ti = task->shape.T;
        const double T = Ti, N = B * T, d = c->d_model, hd = (double)c->n_heads * c->d_head;
        double scored = 0, scored_pairs = 0; /* scored rows, and the key positions they see */
        for (int r = 0; r < (c->pooled ? B : B * Ti); r++) {
            int n = c->pooled ? r * Ti + Ti - 1 : r;
            if (b->mask[n] == 0.0f) continue;
            scored++;
            scored_pairs += c->causal ? n % Ti + 1 : T;
        }
        const int top = !c->pooled && scored > 0 && scored < N;
        double fwd = 0, first = 0;
        if (c->d_input > 0) first = 2 * N * c->d_input * d;
        fwd += first;
        for (int l = 0; l < c->n_layers; l++) {
            const int sel = top && l == c->n_layers - 1;
            const double rows = sel ? scored : N;
            /* Q, K, V; the top layer's Q only at the scored rows (except with shortformer positions) */
            fwd += 2 * N * d * 2 * hd + 2 * (sel && c->pos != LLC_POS_SHORTFORMER ? rows : N) * d * hd;
            double pairs = sel ? scored_pairs : B * (c->causal ? T * (T + 1) / 2 : T * T);
            fwd += 2 * 2 * (double)c->n_heads * pairs * c->d_head; /* QK^T and AV */
            fwd += 2 * rows * hd * d;                              /* O */
            if (c->d_mlp > 0) fwd += 2 * 2 * rows * d * c->d_mlp;
        }
        fwd += 2 * scored * d * c->n_out; /* unembedding */
        shape[0] = (int)N;
        shape[1] = (int)(3 * hd);
        shape[2] = (int)d;
        return 3 * fwd - first; /* no gradient for the data */
    }
    llc_regress_info info;
    char err[LLC_ERRLEN];
    if (llc_regress_get_info(task, &info, err) == 0 && info.n_widths >= 2) {
        double fwd = 0;
        int best = 0;
        for (int l = 1; l < info.n_widths; l++) {
            double f = 2.0 * B * info.widths[l] * info.widths[l - 1];
            fwd += f;
            if (info.widths[l] * info.widths[l - 1] > best) {
                best = info.widths[l] * info.widths[l - 1];
                shape[0] = B;
                shape[1] = info.widths[l];
                shape[2] = info.widths[l - 1];
            }
        }
        return 3 * fwd - 2.0 * B * info.widths[1] * info.widths[0];
    }
    return NAN;
}

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

/* Remove the scratch store at path and its side files. */
static void remove_store(const char *path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t k = 0; k < sizeof sfx / sizeof *sfx; k++) {
        char side[300];
        snprintf(side, sizeof side, "%s%s", path, sfx[k]);
        unlink(side);
    }
}

/* Seconds of one estimate of group g (NULL = model) for sgld_steps_s, or NAN. */
static double timed_estimate(const llc_model *m, const float *w, const llc_group *g, const llc_task *task, int B,
                             int draws, int chains, int threads, llc_pair_cache *pc, char *err)
{
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.eps = 1e-9;
    c.nbeta = 10;
    c.nbeta_mode = LLC_NBETA_GIVEN;
    c.gamma = 100;
    c.burnin = 0;
    c.thin = 1;
    c.draws = draws;
    c.chains = chains;
    c.threads = threads;
    c.batch = B;
    c.init_batches = 1;
    c.metropolis = LLC_MH_OFF;
    c.paired = pc != NULL;
    c.pair_cache = pc;
    c.data_hash = 0x62656e6368ULL;
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
    return median(rate, TRIALS);
}

/* One configuration, measured in this process; results into o. */
static int bench_one(const char *file, int draws_opt, cJSON *o, char *err)
{
    int rc = LLC_OK;
    char *text = cli_read_file(file, NULL, NULL);
    cJSON *cfg = text ? cJSON_Parse(text) : NULL;
    free(text);
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_trainer *tr = NULL;
    llc_store *st = NULL;
    float *w2 = NULL;
    double *t = NULL;
    void *ws = NULL;
    llc_batch *b = NULL;
    llc_group head = {0};
    if (!cfg) return llc_fail(err, LLC_ERR_IO, "cannot read or parse %s", file);
    llc_train_config tc;
    if ((rc = cli_build(cfg, &task, &model, &tc, err))) goto done;
    const int B = tc.batch;
    const int cores = (int)cli_cores();
    openblas_set_num_threads(1);
    tc.steps = 1000000;
    if ((rc = llc_trainer_new(model, task, &tc, 1, &tr, err))) goto done;
    llc_trainer_init_params(tr);
    const float *w = llc_trainer_params(tr);
    const size_t np = llc_model_n_params(model);
    cJSON_AddNumberToObject(o, "n_params", (double)np);
    cJSON_AddNumberToObject(o, "batch", B);
    ws = model->ws_alloc(model, B);
    b = llc_task_batch_alloc(task, B);
    w2 = malloc(np * sizeof *w2);
    t = malloc(sizeof(double) * 64);
    if (!ws || !b || !w2 || !t) { rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory"); goto done; }
    b->B = B;
    if ((rc = task->fill(task, 0, 0, b))) { llc_fail(err, rc, "task fill failed"); goto done; }
    int shape[3];
    const double flops = count_flops(model, task, b, shape);
    cJSON_AddNumberToObject(o, "flops_per_step", flops);
    cJSON_AddNumberToObject(o, "sgemm_shape_gflops_1thread", sgemm_gflops(shape[0], shape[1], shape[2], 21));
    char sh[64];
    snprintf(sh, sizeof sh, "%dx%dx%d", shape[0], shape[1], shape[2]);
    cJSON_AddStringToObject(o, "sgemm_shape", sh);

    /* forward+backward, 1 thread */
    double L;
    for (int i = 0; i < 3; i++) model->loss_grad(model, ws, w, b, w2, &L);
    int reps = 0;
    double tstart = llc_now();
    while (reps < 64 && (reps < 5 || llc_now() - tstart < 2.0)) {
        double s0 = llc_now();
        if ((rc = model->loss_grad(model, ws, w, b, w2, &L))) { llc_fail(err, rc, "loss_grad failed"); goto done; }
        t[reps++] = llc_now() - s0;
    }
    const double fb = median(t, reps);
    cJSON_AddNumberToObject(o, "fwd_bwd_ms", 1e3 * fb);
    cJSON_AddNumberToObject(o, "fwd_bwd_gflops_1thread", flops / fb / 1e9);

    /* SGLD steps/s: about 0.6 s of single-thread work per D draws */
    int draws = draws_opt > 0 ? draws_opt : (int)fmin(2000, fmax(4, 0.6 / (4 * fb * 1.15)));
    double s1 = sgld_steps_s(model, w, NULL, task, B, draws, 4, 1, NULL, err);
    double sa = sgld_steps_s(model, w, NULL, task, B, draws, 4, cores, NULL, err);
    cJSON_AddNumberToObject(o, "sgld_draws_timed", draws);
    cJSON_AddNumberToObject(o, "llc_steps_s_1thread", s1);
    cJSON_AddNumberToObject(o, "llc_steps_s", sa);
    cJSON_AddNumberToObject(o, "threads", cores);
    cJSON_AddNumberToObject(o, "gflops", sa * flops / 1e9);
    if (strcmp(model->kind, "transformer") == 0 && model->group(model, "0.0", &head, err) == 0) {
        llc_group_normalize(&head);
        double sh0 = sgld_steps_s(model, w, &head, task, B, draws, 4, cores, NULL, err);
        cJSON_AddNumberToObject(o, "llc_steps_s_head", sh0);
        cJSON_AddNumberToObject(o, "head_params", (double)head.size);
        /* the same head in a curve: its steps from the model's passes at w* */
        llc_pair_cache *pc = llc_pair_cache_new();
        if (pc) cJSON_AddNumberToObject(o, "llc_steps_s_head_shared",
                                        sgld_steps_s(model, w, &head, task, B, draws, 4, cores, pc, err));
        llc_pair_cache_free(pc);
    }

    /* training tokens/s */
    double loss, lr, gn;
    for (int i = 0; i < 3; i++) llc_trainer_step(tr, &loss, &lr, &gn);
    int ns = (int)fmax(5, fmin(200, 2.0 / (1.5 * fb)));
    double t0 = llc_now();
    for (int i = 0; i < ns; i++)
        if ((rc = llc_trainer_step(tr, &loss, &lr, &gn))) { llc_fail(err, rc, "training step failed"); goto done; }
    cJSON_AddNumberToObject(o, "train_tokens_s", (double)B * task->shape.T * ns / (llc_now() - t0));

    /* checkpoint cost in a scratch store: the bytes one more checkpoint adds
     * (the store's size with 16 checkpoints minus its size with the run
     * alone, over 16), so the fixed schema pages do not count as overhead */
    char path[] = "/tmp/llc-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    unlink(path);
    if ((rc = llc_store_open(path, LLC_STORE_RW, &st, err))) goto done;
    llc_store_run_create(st, "bench", task->name, "{}", (long long)np, 1);
    llc_store_close(st);
    st = NULL;
    const long long sz0 = store_bytes(path);
    if ((rc = llc_store_open(path, LLC_STORE_RW, &st, err))) goto done;
    double tw[16], trd[16];
    for (int i = 0; i < 16; i++) {
        double q0 = llc_now();
        llc_store_checkpoint_put(st, "bench", i, 0, 0, llc_trainer_params(tr), np, NULL, 0, NULL, 0);
        tw[i] = llc_now() - q0;
        q0 = llc_now();
        llc_store_checkpoint_get(st, "bench", i, w2, np, NULL, NULL);
        trd[i] = llc_now() - q0;
    }
    llc_store_close(st);
    st = NULL;
    const long long sz = store_bytes(path);
    remove_store(path);
    double bytes = (double)(sz - sz0) / 16.0;
    cJSON_AddNumberToObject(o, "ckpt_bytes", bytes);
    cJSON_AddNumberToObject(o, "ckpt_overhead_pct", 100.0 * (bytes - 4.0 * (double)np) / (4.0 * (double)np));
    cJSON_AddNumberToObject(o, "ckpt_write_ms", 1e3 * median(tw, 16));
    cJSON_AddNumberToObject(o, "ckpt_read_ms", 1e3 * median(trd, 16));
done:
    llc_group_free(&head);
    if (ws) model->ws_free(ws);
    llc_batch_free(b);
    free(w2);
    free(t);
    llc_store_close(st);
    llc_trainer_free(tr);
    llc_model_free(model);
    llc_task_free(task);
    cJSON_Delete(cfg);
    return rc;
}

/* Hidden: `llc bench --child FILE --child-out OUT.json` measures one config. */
static int child_main(const char *file, const char *outp, int draws)
{
    cJSON *o = cJSON_CreateObject();
    char err[LLC_ERRLEN] = "";
    int rc = bench_one(file, draws, o, err);
    if (rc) {
        cJSON_AddStringToObject(o, "error", err);
        cJSON_AddNumberToObject(o, "exit_code", cli_exit_code(rc));
    }
    char *txt = cJSON_PrintUnformatted(o);
    FILE *f = fopen(outp, "w");
    int ok = f && txt && fputs(txt, f) >= 0;
    if (f && fclose(f)) ok = 0;
    cJSON_free(txt);
    cJSON_Delete(o);
    return ok ? (rc ? cli_exit_code(rc) : 0) : EXIT_IO;
}

static char *self_exe(void)
{
    static char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = 0;
    return buf;
}

/* Run this executable with argv[1..] (argv[0] is set here) and wait for
 * it; with log, its stdout goes to /dev/null and its stderr to the file
 * log (else both are ours). Returns its exit code, -1 if it could not start,
 * -2 if it did not exit normally; its wall seconds and peak RSS (MiB) into
 * *seconds and *rss_mb when not NULL. */
static int spawn_wait(char **argv, const char *log, double *seconds, double *rss_mb)
{
    char *exe = self_exe();
    posix_spawn_file_actions_t fa;
    if (!exe || posix_spawn_file_actions_init(&fa) != 0) return -1;
    argv[0] = exe;
    int ok = !log || (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) == 0 &&
                      posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    pid_t pid;
    const double t0 = llc_now();
    ok = ok && posix_spawn(&pid, exe, &fa, NULL, argv, environ) == 0;
    posix_spawn_file_actions_destroy(&fa);
    if (!ok) return -1;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    if (seconds) *seconds = llc_now() - t0;
    if (rss_mb) *rss_mb = (double)ru.ru_maxrss / 1024.0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

/* Run one config in a child; returns its JSON (or NULL) and peak RSS (MiB). */
static cJSON *run_child(const char *file, int draws, double *rss_mb, char *err)
{
    char outp[] = "/tmp/llc-bench-child-XXXXXX";
    int fd = mkstemp(outp);
    if (fd < 0) {
        llc_fail(err, LLC_ERR_IO, "cannot create a temporary file");
        return NULL;
    }
    close(fd);
    char dbuf[32], fbuf[4096];
    snprintf(dbuf, sizeof dbuf, "%d", draws);
    snprintf(fbuf, sizeof fbuf, "%s", file);
    char *argv[] = {NULL, (char *)"bench", (char *)"--child", fbuf, (char *)"--child-out", outp,
                    (char *)"--draws", dbuf, NULL};
    const int status = spawn_wait(argv, NULL, NULL, rss_mb);
    if (status == -1) {
        llc_fail(err, LLC_ERR_IO, "cannot start a child llc");
        unlink(outp);
        return NULL;
    }
    char *text = cli_read_file(outp, NULL, NULL);
    unlink(outp);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!o) llc_fail(err, LLC_ERR_IO, "the child measuring %s failed (exit %d)", file, status);
    return o;
}

/* The PyTorch reference: JSON object from the script, or NULL (message in err). */
static cJSON *run_torch(const char *script, const char *names, char *err)
{
    if (access(script, R_OK) != 0) {
        llc_fail(err, LLC_ERR_NOTFOUND, "no PyTorch reference at %s", script);
        return NULL;
    }
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' --json --chains 4 --configs '%s' 2>/dev/null", script, names);
    FILE *p = popen(cmd, "r");
    if (!p) {
        llc_fail(err, LLC_ERR_IO, "cannot run /usr/bin/python3");
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += k;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
    }
    int st = pclose(p);
    cJSON *o = NULL;
    if (buf) {
        buf[len] = 0;
        o = cJSON_Parse(buf);
    }
    free(buf);
    if (!o) llc_fail(err, LLC_ERR_IO, "the PyTorch reference failed (exit %d; is python3-torch installed?)",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return o;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Config `name`'s entry of the reference's output tj (NULL: not run) into o:
 * torch_steps_s, ratio, torch_backend; the torch version into js. */
static void add_torch(cJSON *js, cJSON *o, const cJSON *tj, const char *name)
{
    const cJSON *t, *hit = NULL;
    const cJSON *tcs = tj ? cJSON_GetObjectItemCaseSensitive(tj, "configs") : NULL;
    cJSON_ArrayForEach(t, tcs)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "config");
        if (cJSON_IsString(c) && strcmp(c->valuestring, name) == 0) hit = t;
    }
    double ts = hit ? num(hit, "steps_s") : NAN;
    if (isfinite(ts)) cJSON_AddNumberToObject(o, "torch_steps_s", ts);
    else cJSON_AddNullToObject(o, "torch_steps_s");
    if (isfinite(ts) && ts > 0) cJSON_AddNumberToObject(o, "ratio", num(o, "llc_steps_s") / ts);
    else cJSON_AddNullToObject(o, "ratio");
    const cJSON *bk = hit ? cJSON_GetObjectItemCaseSensitive(hit, "backend") : NULL;
    const cJSON *ar = hit ? cJSON_GetObjectItemCaseSensitive(hit, "arrangement") : NULL;
    char tb[160] = "-";
    if (cJSON_IsString(bk))
        snprintf(tb, sizeof tb, "%s/%s", bk->valuestring, cJSON_IsString(ar) ? ar->valuestring : "?");
    cJSON_AddStringToObject(o, "torch_backend", tb);
    const cJSON *tv = tj ? cJSON_GetObjectItemCaseSensitive(tj, "torch_version") : NULL;
    if (cJSON_IsString(tv) && !cJSON_GetObjectItemCaseSensitive(js, "torch_version"))
        cJSON_AddStringToObject(js, "torch_version", tv->valuestring);
}

/* The median over rounds of key k of the round objects r[0..n). */
static double round_median(cJSON *const *r, int n, const char *k)
{
    double v[32];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(num(r[i], k))) v[m++] = num(r[i], k);
    return m ? median(v, m) : NAN;
}

static void set_num(cJSON *o, const char *k, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

/* `rounds` rounds of (llc child, PyTorch reference) on config file f; *out =
 * the first round's object with the steps/s, GFLOP/s, torch steps/s and
 * ratio replaced by their medians over the rounds (ratio: the median of the
 * rounds' own ratios), ratio_min/ratio_max, and "rounds" listing each. A
 * reference that fails is not run again (script[0] = 0). */
static int run_rounds(const char *f, const char *name, int draws, int rounds, char *script, cJSON *js, cJSON **out,
                      char *err)
{
    cJSON *r[32] = {0};
    int n = 0;
    const int threads = openblas_get_num_threads();
    const long cores = cli_cores();
    for (; n < rounds; n++) {
        double rss = NAN;
        /* the ceiling right before and after llc's measurement, the better of the two */
        const double c0 = ceiling_gflops(threads, cores, 10, NULL, NULL, NULL);
        cJSON *o = run_child(f, draws, &rss, err);
        if (!o) break;
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "error"))) { /* bad config: no more rounds */
            for (int i = 0; i < n; i++) cJSON_Delete(r[i]);
            *out = o;
            return 0;
        }
        const double cr = fmax(c0, ceiling_gflops(threads, cores, 10, NULL, NULL, NULL));
        cJSON_AddItemToObject(o, "config", cJSON_CreateString(name));
        cJSON_AddNumberToObject(o, "peak_rss_mb", rss);
        cJSON_AddNumberToObject(o, "ceiling_gflops_round", cr);
        cJSON_AddNumberToObject(o, "pct_of_round_ceiling", 100.0 * num(o, "gflops") / cr);
        cJSON *tj = NULL;
        char terr[LLC_ERRLEN] = "";
        if (script[0] && !(tj = run_torch(script, name, terr))) {
            fprintf(stderr, "llc: bench: PyTorch reference skipped: %s\n", terr);
            script[0] = 0; /* the same failure would repeat */
        }
        add_torch(js, o, tj, name);
        cJSON_Delete(tj);
        r[n] = o;
        if (rounds > 1) fprintf(stderr, "llc: bench %s round %d: %.1f vs %.1f steps/s\n", name, n + 1,
                                num(o, "llc_steps_s"), num(o, "torch_steps_s"));
    }
    if (n == 0) return 1;
    cJSON *o = r[0];
    static const char *const keys[] = {"llc_steps_s", "llc_steps_s_1thread", "llc_steps_s_head",
                                       "llc_steps_s_head_shared", "torch_steps_s", "ratio", "fwd_bwd_ms",
                                       "train_tokens_s", "ceiling_gflops_round", "pct_of_round_ceiling"};
    double med[sizeof keys / sizeof *keys], lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) med[k] = round_median(r, n, keys[k]);
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        double q = num(r[i], "ratio");
        if (isfinite(q)) lo = fmin(lo, q), hi = fmax(hi, q);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "llc_steps_s", num(r[i], "llc_steps_s"));
        set_num(e, "torch_steps_s", num(r[i], "torch_steps_s"));
        set_num(e, "ratio", q);
        set_num(e, "pct_of_round_ceiling", num(r[i], "pct_of_round_ceiling"));
        cJSON_AddItemToArray(list, e);
    }
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) set_num(o, keys[k], med[k]);
    set_num(o, "gflops", num(o, "llc_steps_s") * num(o, "flops_per_step") / 1e9);
    set_num(o, "fwd_bwd_gflops_1thread", num(o, "flops_per_step") / (num(o, "fwd_bwd_ms") * 1e-3) / 1e9);
    set_num(o, "ratio_min", lo);
    set_num(o, "ratio_max", hi);
    cJSON_AddItemToObject(o, "rounds", list);
    for (int i = 1; i < n; i++) cJSON_Delete(r[i]);
    *out = o;
    return 0;
}


/* ---------------- the per-head curve ---------------- */

/* The last non-empty line of file f into out (empty if none). */
static void last_line(const char *f, char *out, size_t n)
{
    char *text = cli_read_file(f, NULL, NULL);
    out[0] = 0;
    if (!text) return;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
    const char *nl = strrchr(text, '\n');
    snprintf(out, n, "%s", nl ? nl + 1 : text);
    free(text);
}

/* From the scratch store db: checkpoints, points, and the estimates' own
 * seconds for the model and for the heads. */
static int curve_counts(const char *db, cJSON *o, char *err)
{
    llc_store *s = NULL;
    sqlite3_stmt *st = NULL;
    int rc = llc_store_open(db, LLC_STORE_READONLY, &s, err);
    if (rc) return rc;
    if (sqlite3_prepare_v2(llc_store_db(s),
                           "SELECT count(DISTINCT step), count(*), count(DISTINCT target), "
                           "total(CASE WHEN target = 'model' THEN seconds END), "
                           "total(CASE WHEN target != 'model' THEN seconds END) FROM estimates WHERE run = 'curve'",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = llc_fail(err, LLC_ERR_STORE, "cannot read the curve's estimates: %s", sqlite3_errmsg(llc_store_db(s)));
    } else {
        cJSON_AddNumberToObject(o, "checkpoints", sqlite3_column_int(st, 0));
        cJSON_AddNumberToObject(o, "points", sqlite3_column_int(st, 1));
        cJSON_AddNumberToObject(o, "targets", sqlite3_column_int(st, 2));
        cJSON_AddNumberToObject(o, "seconds_model", sqlite3_column_double(st, 3));
        cJSON_AddNumberToObject(o, "seconds_heads", sqlite3_column_double(st, 4));
    }
    sqlite3_finalize(st);
    llc_store_close(s);
    return rc;
}

/* The per-head curve of config file `file` (see usage), its numbers into o:
 * config, chains, draws, burnin, train_seconds, seconds (wall-clock of the
 * estimate command), checkpoints, points, targets, seconds_model,
 * seconds_heads, peak_rss_mb. Returns an exit code (a failed train or
 * estimate's own, its last message in err). The scratch store is removed. */
static int bench_curve(const char *file, int draws, cJSON *o, char *err)
{
    char dir[] = "/tmp/llc-bench-curve-XXXXXX";
    if (!mkdtemp(dir)) {
        llc_fail(err, LLC_ERR_IO, "cannot create a scratch directory in /tmp");
        return EXIT_IO;
    }
    char db[256], log[256], fbuf[4096], dbuf[32], bbuf[32], line[400];
    snprintf(db, sizeof db, "%s/curve.db", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(fbuf, sizeof fbuf, "%s", file);
    const int D = draws > 0 ? draws : 200;
    snprintf(dbuf, sizeof dbuf, "%d", D);
    snprintf(bbuf, sizeof bbuf, "%d", D / 2);
    char *targv[] = {NULL, "train", "--config", fbuf, "--run", "curve", "--db", db, NULL};
    char *eargv[] = {NULL,        "estimate", "--run", "curve", "--db", db,   "--model", "--heads", "all",
                     "--chains",  "4",        "--draws", dbuf,  "--burnin", bbuf, "--thin",  "1",       NULL};
    double tt = 0, te = 0, rss = 0;
    int code = spawn_wait(targv, log, &tt, NULL);
    if (code != 0) {
        last_line(log, line, sizeof line);
        snprintf(err, LLC_ERRLEN, "training %s failed: %s", file, line[0] ? line : "no message");
    } else if ((code = spawn_wait(eargv, log, &te, &rss)) != 0) {
        last_line(log, line, sizeof line);
        snprintf(err, LLC_ERRLEN, "the curve's estimate failed: %s", line[0] ? line : "no message");
    } else {
        cJSON_AddStringToObject(o, "config", file);
        cJSON_AddNumberToObject(o, "chains", 4);
        cJSON_AddNumberToObject(o, "draws", D);
        cJSON_AddNumberToObject(o, "burnin", D / 2);
        cJSON_AddNumberToObject(o, "train_seconds", tt);
        cJSON_AddNumberToObject(o, "seconds", te);
        cJSON_AddNumberToObject(o, "peak_rss_mb", rss);
        if (curve_counts(db, o, err)) code = EXIT_STORE;
    }
    if (code < 0) code = EXIT_IO; /* could not start, or killed */
    remove_store(db);
    unlink(log);
    rmdir(dir);
    return code;
}

/* What the numbers were measured on, into js: llc_version, date (UTC,
 * ISO 8601), cpu (the first "model name" of /proc/cpuinfo, if any) and
 * openblas (its build configuration), so that bench.json files from
 * different days and machines can be told apart. */
static void add_machine(cJSON *js)
{
    char date[32] = "", cpu[256] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && !cpu[0] && fgets(line, sizeof line, f)) {
        const char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !c) continue;
        for (c++; *c == ' ' || *c == '\t'; c++) {
        }
        snprintf(cpu, sizeof cpu, "%s", c);
        cpu[strcspn(cpu, "\n")] = 0;
    }
    if (f) fclose(f);
    cJSON_AddStringToObject(js, "llc_version", LLC_VERSION);
    cJSON_AddStringToObject(js, "date", date);
    cJSON_AddStringToObject(js, "cpu", cpu[0] ? cpu : "unknown");
    cJSON_AddStringToObject(js, "openblas", openblas_get_config());
}

/* The configurations' table (medians over rounds) on stdout. */
static void print_table(cJSON *arr, long cores, long long rounds)
{
    cJSON *o;
    printf("\n%-7s %8s %9s %8s %8s %7s %9s %8s %9s %9s %9s %9s %7s %7s %8s %6s %s\n", "config", "params",
           "GFLOP/st", "fb ms", "fb GF/s", "GF/s", "%ceiling", "%round", "steps/s1", "steps/s", "head s/s",
           "head* s/s", "torch", "ratio", "tok/s", "RSS MB", "ckpt overhead / write ms; torch backend");
    cJSON_ArrayForEach(o, arr)
    {
        printf("%-7s %8.0f %9.4f %8.3f %8.1f %7.1f %8.1f%% %7.1f%% %9.1f %9.1f %9.1f %9.1f %7.1f %6.2fx %8.0f %6.0f "
               "%.2f%% / %.2f; %s\n",
               cJSON_GetObjectItemCaseSensitive(o, "config")->valuestring, num(o, "n_params"),
               num(o, "flops_per_step") / 1e9, num(o, "fwd_bwd_ms"), num(o, "fwd_bwd_gflops_1thread"),
               num(o, "gflops"), num(o, "pct_of_ceiling"), num(o, "pct_of_round_ceiling"),
               num(o, "llc_steps_s_1thread"), num(o, "llc_steps_s"),
               num(o, "llc_steps_s_head"), num(o, "llc_steps_s_head_shared"), num(o, "torch_steps_s"), num(o, "ratio"),
               num(o, "train_tokens_s"),
               num(o, "peak_rss_mb"), num(o, "ckpt_overhead_pct"), num(o, "ckpt_write_ms"),
               cJSON_GetObjectItemCaseSensitive(o, "torch_backend")->valuestring);
    }
    printf("steps/s: SGLD steps per second of a 4-chain estimate (1 thread, all %ld cores, one head on all cores);\n"
           "head*: the same head with paired losses whose passes at w* a model estimate made (as in a curve: its\n"
           "steps start from base records); GF/s and %%ceiling: the all-core estimate against the all-core\n"
           "sgemm ceiling above; %%round: against the ceiling measured right before and after that config's\n"
           "own measurement (the better of the two; median over rounds): on a shared machine the ceiling moves too.\n",
           cores);
    if (rounds > 1) {
        printf("medians of %lld rounds; ratio range over the rounds:", rounds);
        cJSON_ArrayForEach(o, arr) printf(" %s %.2f-%.2fx", cJSON_GetObjectItemCaseSensitive(o, "config")->valuestring,
                                          num(o, "ratio_min"), num(o, "ratio_max"));
        printf("\n");
    }
}

int cmd_bench(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "bench", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    long long draws, rounds;
    if (cli_get_ll(&a, "draws", 0, 0, 1000000, &draws)) return EXIT_USAGE;
    if (cli_get_ll(&a, "rounds", 1, 1, 25, &rounds)) return EXIT_USAGE;
    if (cli_get(&a, "child")) {
        const char *outp = cli_get(&a, "child-out");
        if (!outp) return cli_error(EXIT_USAGE, "bench: --child needs --child-out");
        return child_main(cli_get(&a, "child"), outp, (int)draws);
    }
    char list[8192], curve[4096] = "";
    const char *cl = cli_get(&a, "configs"), *cv = cli_get(&a, "curve");
    if (cv && strcmp(cv, "none") != 0) {
        if (access(cv, R_OK) != 0)
            return cli_error(EXIT_IO, "bench: --curve %s: no such readable config (give a config file, or 'none')", cv);
        snprintf(curve, sizeof curve, "%s", cv);
    } else if (!cv && !cl && cli_data_path("configs/sort.json", curve, sizeof curve) != 0) {
        curve[0] = 0;
    }
    if (cl && strcmp(cl, "none") == 0) { /* the ceiling (and a --curve) only */
        list[0] = 0;
    } else if (cl) {
        snprintf(list, sizeof list, "%s", cl);
    } else {
        list[0] = 0;
        const char *names[] = {"S", "M", "ICL", "DLN100", "DLN784"};
        for (int i = 0; i < 5; i++) {
            char rel[64], p[2048];
            snprintf(rel, sizeof rel, "configs/bench/%s.json", names[i]);
            if (cli_data_path(rel, p, sizeof p) == 0) {
                if (list[0]) strncat(list, ",", sizeof list - strlen(list) - 1);
                strncat(list, p, sizeof list - strlen(list) - 1);
            }
        }
        if (!list[0]) return cli_error(EXIT_NOTFOUND, "bench: data/configs/bench/*.json not found (give --configs)");
    }
    int threads = openblas_get_num_threads();
    const long cores = cli_cores();
    double g_blas, g_one, g_cores, g_all = ceiling_gflops(threads, cores, 25, &g_blas, &g_one, &g_cores);
    cJSON *js = cJSON_CreateObject();
    add_machine(js);
    printf("llc %s bench, %s, %s, %ld cores, %s, %d threads\n", LLC_VERSION,
           cJSON_GetObjectItemCaseSensitive(js, "date")->valuestring,
           cJSON_GetObjectItemCaseSensitive(js, "cpu")->valuestring, cores,
           cJSON_GetObjectItemCaseSensitive(js, "openblas")->valuestring, threads);
    printf("sgemm 1024^3 ceiling (best of 25): %.1f GFLOP/s on all cores (OpenBLAS %d threads %.1f, %ld x 1 thread "
           "%.1f), %.1f GFLOP/s on 1 thread\n",
           g_all, threads, g_blas, cores, g_cores, g_one);
    fflush(stdout);
    cJSON_AddNumberToObject(js, "ceiling_gflops", g_all);
    cJSON_AddNumberToObject(js, "ceiling_gflops_1thread", g_one);
    cJSON_AddNumberToObject(js, "ceiling_gflops_blas_threads", g_blas);
    cJSON_AddNumberToObject(js, "ceiling_gflops_per_core_sum", g_cores);
    cJSON_AddNumberToObject(js, "cores", (double)cores);
    cJSON *arr = cJSON_AddArrayToObject(js, "configs");
    int code = 0;
    /* the PyTorch reference, run on each config right after llc's own
     * measurement of it (so a slow spell of a shared machine hits both) */
    const char *torch = cli_get(&a, "torch");
    char script[2048] = "";
    if (!(torch && strcmp(torch, "none") == 0)) {
        if (torch) snprintf(script, sizeof script, "%s", torch);
        else if (cli_data_path("../tests/bench/torch_sgld.py", script, sizeof script) != 0) script[0] = 0;
        if (!script[0]) fprintf(stderr, "llc: bench: PyTorch reference skipped: no tests/bench/torch_sgld.py\n");
    }
    char *save = NULL;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        const char *base = strrchr(f, '/');
        char name[256];
        snprintf(name, sizeof name, "%s", base ? base + 1 : f);
        char *dot = strstr(name, ".json");
        if (dot && dot[5] == 0) *dot = 0;
        char err[LLC_ERRLEN] = "";
        cJSON *o = NULL;
        if (run_rounds(f, name, (int)draws, (int)rounds, script, js, &o, err)) {
            code = cli_error(EXIT_IO, "bench: %s: %s", f, err);
            continue;
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
        if (cJSON_IsString(e)) {
            double ec = num(o, "exit_code");
            code = cli_error(isfinite(ec) ? (int)ec : EXIT_USAGE, "bench: %s: %s", f, e->valuestring);
            cJSON_Delete(o);
            continue;
        }
        cJSON_AddNumberToObject(o, "pct_of_ceiling", 100.0 * num(o, "gflops") / g_all);
        cJSON_AddItemToArray(arr, o);
        fprintf(stderr, "llc: bench %s done\n", name);
    }
    cJSON *cj = NULL;
    if (curve[0]) {
        char err[LLC_ERRLEN] = "";
        fprintf(stderr, "llc: bench: the per-head curve of %s (train, then estimate every checkpoint)\n", curve);
        cj = cJSON_CreateObject();
        int crc = bench_curve(curve, (int)draws, cj, err);
        if (crc) {
            code = cli_error(crc, "bench: curve: %s", err);
            cJSON_Delete(cj);
            cj = NULL;
        } else {
            cJSON_AddItemToObject(js, "curve", cj);
        }
    }

    if (cJSON_GetArraySize(arr) > 0) print_table(arr, cores, rounds);
    if (cj)
        printf("curve: %s, %.0f checkpoints x %.0f targets (model + every head), %.0f chains x %.0f draws after %.0f "
               "burn-in steps:\n       %.0f points in %.1f s (estimates' own time: model %.1f s, heads %.1f s), peak "
               "RSS %.0f MB; training took %.1f s\n",
               curve, num(cj, "checkpoints"), num(cj, "targets"), num(cj, "chains"), num(cj, "draws"),
               num(cj, "burnin"), num(cj, "points"), num(cj, "seconds"), num(cj, "seconds_model"),
               num(cj, "seconds_heads"), num(cj, "peak_rss_mb"), num(cj, "train_seconds"));
    const char *jf = cli_get(&a, "json");
    if (jf) {
        char *txt = cJSON_Print(js);
        FILE *out = fopen(jf, "w");
        int ok = out && txt && fputs(txt, out) >= 0;
        if (out && fclose(out)) ok = 0;
        if (!ok) code = cli_error(EXIT_IO, "bench: cannot write %s", jf);
        cJSON_free(txt);
    }
    cJSON_Delete(js);
    return code;
}
