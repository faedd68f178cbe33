/* bench_probe.c - the time of `llc probe` over a whole run (llc_bench_probe.h):
 * llc_probe_sweep with force, as the command runs it, per thread count and
 * repetition, timed; the parts from each checkpoint's llc_probe_result. */
#include "llc_bench_probe.h"
#include "llc_probe.h"
#include "llc_probe_results.h"
#include "llc_run.h"
#include "llc_store.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The parts of one sweep, summed from each checkpoint's result as the
 * sweep reports it done (the result of that step is then in *last). */
typedef struct {
    const llc_probe_result *last;
    double circuits, patterns, ablation;
} sweep_parts;

static void sweep_step(void *ctx, int i, int n, long long step)
{
    sweep_parts *p = ctx;
    (void)i, (void)n, (void)step;
    p->circuits += p->last->seconds_circuits;
    p->patterns += p->last->seconds_patterns;
    p->ablation += p->last->seconds_ablation;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A hash of the run's stored probe values (target, probe, step, value bits),
 * in the store's order; the number of values into *n. */
static int stored_checksum(llc_store *s, const char *run, const char *data, uint64_t *sum, int *n, char *err)
{
    typedef struct {
        char target[32], probe[32];
        long long step;
        double value;
    } rec;
    llc_probe_point *p = NULL;
    rec *r = NULL;
    int rc = llc_probe_results_curves(s, run, NULL, NULL, data, &p, n);
    if (rc) return llc_fail(err, rc, "cannot read the probe values: %s", llc_store_errmsg(s));
    if (*n > 0 && !(r = calloc((size_t)*n, sizeof *r))) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int i = 0; r && i < *n; i++) { /* zeroed records: no stray bytes after the names */
        snprintf(r[i].target, sizeof r[i].target, "%s", p[i].target);
        snprintf(r[i].probe, sizeof r[i].probe, "%s", p[i].probe);
        r[i].step = p[i].step;
        r[i].value = p[i].value;
    }
    if (!rc) *sum = llc_hash_bytes(r, (size_t)*n * sizeof *r);
    free(r);
    free(p);
    return rc;
}

/* One sweep of every probe at every checkpoint with `threads` threads:
 * wall and CPU seconds and the parts into out, the checksum into *sum. */
static int one_sweep(llc_probe_sweep_config *sc, llc_probe_config *pc, int threads, double out[5], uint64_t *sum,
                     int *n_values, char *err)
{
    llc_probe_result last = {0};
    sweep_parts parts = {.last = &last};
    int last_done, done, skipped;
    pc->n_threads = threads;
    sc->progress = sweep_step;
    sc->ctx = &parts;
    const double t0 = llc_now(), c0 = cpu_now();
    int rc = llc_probe_sweep(sc, pc, &last, &last_done, &done, &skipped, err);
    out[0] = llc_now() - t0;
    out[1] = cpu_now() - c0;
    out[2] = parts.circuits, out[3] = parts.patterns, out[4] = parts.ablation;
    llc_probe_result_free(&last);
    return rc ? rc : stored_checksum(sc->store, sc->run, sc->data, sum, n_values, err);
}

#define MAX_REPS 64

int llc_bench_probe(const llc_bench_probe_config *c, llc_bench_probe_result *r, char *err)
{
    llc_store *s = NULL;
    llc_run_info info = {0};
    cJSON *cfg = NULL;
    llc_task *task = NULL;
    llc_model *model = NULL;
    long long *steps = NULL;
    float *w = NULL;
    double *t = NULL; /* (n_threads, reps, 5): wall, cpu, circuits, patterns, ablation */
    int n_steps = 0, rc;
    memset(r, 0, sizeof *r);
    if (c->n_threads < 1 || c->n_threads > LLC_BENCH_PROBE_MAX_THREADS || c->reps < 1 || c->reps > MAX_REPS)
        return llc_fail(err, LLC_ERR_INVALID, "bench probes: 1..%d thread counts and 1..%d repetitions",
                        LLC_BENCH_PROBE_MAX_THREADS, MAX_REPS);
    for (int k = 0; k < c->n_threads; k++)
        if (c->threads[k] < 1 || c->threads[k] > 1024)
            return llc_fail(err, LLC_ERR_INVALID, "bench probes: thread counts must be in 1..1024");
    if ((rc = llc_store_open(c->db, LLC_STORE_RW, &s, err))) return rc;
    if ((rc = llc_store_run_get(s, c->run, &info))) {
        rc = llc_fail(err, rc, "run '%s': %s", c->run, llc_store_errmsg(s));
        goto cleanup;
    }
    if ((rc = llc_run_build_stored(c->run, info.config, &cfg, &task, &model, err))) goto cleanup;
    const llc_tf_config *tc = llc_transformer_config(model);
    if (!tc) {
        rc = llc_fail(err, LLC_ERR_INVALID, "run '%s' is a %s model; probes need a transformer", c->run, model->kind);
        goto cleanup;
    }
    if ((rc = llc_store_checkpoint_steps(s, c->run, &steps, &n_steps))) {
        rc = llc_fail(err, rc, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    if (n_steps == 0) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND, "run '%s' has no checkpoints", c->run);
        goto cleanup;
    }
    const int dist = llc_task_dist(task, "test");
    w = malloc(llc_model_n_params(model) * sizeof *w);
    t = calloc((size_t)c->n_threads * c->reps * 5, sizeof *t);
    if (!w || !t) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    /* `llc probe --run R --force` with its defaults: every probe the task
     * allows, the test distribution, the default probe set */
    llc_probe_config pc = {.model = model, .w = w, .task = task, .dist = dist < 0 ? 0 : dist,
                           .seed = 1, .n_seqs = LLC_PROBE_DEFAULT_SEQS,
                           .own_tokens = llc_probe_own_tokens(task, tc->n_out)};
    unsigned want = 0;
    char settings[160];
    if ((rc = llc_probe_plan(&pc, &want, err))) goto cleanup;
    llc_probe_settings(&pc, settings, sizeof settings);
    llc_probe_sweep_config sc = {.store = s, .run = c->run, .data = task->dists[pc.dist], .settings = settings,
                                 .config = info.config, .steps = steps, .n_steps = n_steps, .w = w, .want = want,
                                 .n_layers = tc->n_layers, .n_heads = tc->n_heads, .sel_l = -1, .sel_h = -1,
                                 .force = 1};
    openblas_set_num_threads(1);
    r->checkpoints = n_steps, r->layers = tc->n_layers, r->heads = tc->n_heads, r->reps = c->reps;
    r->n = c->n_threads, r->identical = 1;
    for (unsigned b = want; b; b &= b - 1) r->probes++;
    for (int rep = 0; rep < c->reps; rep++)
        for (int k = 0; k < c->n_threads; k++) {
            char stage[64];
            uint64_t sum = 0;
            snprintf(stage, sizeof stage, "probes, %d thread%s, repetition %d", c->threads[k],
                     c->threads[k] == 1 ? "" : "s", rep + 1);
            if (c->progress) c->progress(c->progress_ctx, stage);
            if ((rc = one_sweep(&sc, &pc, c->threads[k], t + ((size_t)k * c->reps + rep) * 5, &sum, &r->values, err)))
                goto cleanup;
            if (rep == 0) r->row[k].checksum = sum;
            if (sum != r->row[0].checksum) r->identical = 0;
        }
    for (int k = 0; k < c->n_threads; k++) {
        double v[5][MAX_REPS];
        for (int rep = 0; rep < c->reps; rep++)
            for (int q = 0; q < 5; q++) v[q][rep] = t[((size_t)k * c->reps + rep) * 5 + q];
        llc_bench_probe_row *o = &r->row[k];
        o->threads = c->threads[k];
        o->seconds = llc_bench_median(v[0], c->reps);
        o->cpu_seconds = llc_bench_median(v[1], c->reps);
        o->seconds_circuits = llc_bench_median(v[2], c->reps);
        o->seconds_patterns = llc_bench_median(v[3], c->reps);
        o->seconds_ablation = llc_bench_median(v[4], c->reps);
        o->checkpoints_s = o->seconds > 0 ? n_steps / o->seconds : NAN;
    }
cleanup:
    free(t);
    free(w);
    free(steps);
    llc_model_free(model);
    llc_task_free(task);
    cJSON_Delete(cfg);
    llc_run_info_free(&info);
    llc_store_close(s);
    return rc;
}
