/* cmd_bench.c - `llc bench`: what this machine does, measured in one run.
 *
 * The measurements are llc_bench_run's (llc/bench.c): the sgemm ceiling,
 * and per configuration (default: data/configs/bench/{S,M,ICL,DLN100,
 * DLN784}.json, the standard set) forward+backward time and FLOPs, SGLD
 * steps/s of a 4-chain estimate (1 thread, all cores, head 0.0 alone and
 * as in a curve), training tokens/s and the checkpoint cost. Here:
 *   - every configuration runs in its own child process (`llc bench
 *     --child`, hidden), so its peak memory (max RSS) is its own and the
 *     numbers do not mix; --rounds N repeats it, medians reported;
 *   - GFLOP/s as % of the all-core sgemm ceiling, and of the ceiling
 *     measured right before and after that configuration (pct_of_round_ceiling);
 *   - after each configuration, unless --torch none, the PyTorch reference
 *     (tests/bench/torch_sgld.py under /usr/bin/python3, which picks its
 *     fastest backend and arrangement of the cores) on it, and ratio = llc /
 *     torch steps/s of the 4-chain estimate on all cores;
 *   - then, by default with the standard set (--curve CONFIG|none), the
 *     per-head developmental curve: the config (data/configs/sort.json)
 *     trained into a scratch store and `llc estimate --model --heads all
 *     --chains 4 --draws 200 --burnin 100 --thin 1` on every checkpoint,
 *     both as child processes, timed wall-clock;
 *   - and the probe sweep (--probes CONFIG|none, the same default): the
 *     config trained into a scratch store, then every probe at every
 *     checkpoint with 1 thread and all cores (llc_bench_probe, in this
 *     process), the values' checksums compared.
 * Nothing here is a test. */
#include "cli.h"
#include "llc_bench.h"
#include "llc_bench_probe.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static const char usage[] =
    "usage: llc bench [--configs a.json,b.json,...] [--rounds N] [--draws N] [--torch PATH|none]\n"
    "                 [--curve CONFIG|none] [--probes CONFIG|none] [--mh-cost CONFIG|none] [--mh-reps N]\n"
    "                 [--json FILE]\n"
    "       llc bench --mpi [--curve CONFIG] [--mpi-steps SPEC] [--draws N] [--json FILE]   (MPI build)\n"
    "Measure the sgemm ceiling of this machine and, for each config (default: the standard set\n"
    "data/configs/bench/{S,M,ICL,DLN100,DLN784}.json), forward+backward time and GFLOP/s, SGLD steps/s\n"
    "of a 4-chain estimate with 1 thread and all cores (and for one head), training tokens/s, checkpoint\n"
    "cost and peak memory; and right after each config the PyTorch reference (tests/bench/torch_sgld.py)\n"
    "on it. --rounds N repeats that pair N times per config and reports the medians (and the ratio's\n"
    "range): on a shared machine one round can be off by 25%.\n"
    "Then (with the standard set, or --curve CONFIG) the time of a per-head developmental curve: CONFIG\n"
    "(default data/configs/sort.json) trained into a scratch store, then estimated at every checkpoint\n"
    "for the model and every head, 4 chains x 200 draws (--draws) after 100 burn-in steps.\n"
    "And (with the standard set, or --probes CONFIG) the time of llc probe: CONFIG (default\n"
    "data/configs/sort.json) trained into a scratch store, then every probe at every checkpoint with\n"
    "1 thread and all cores (at least 2), max(3, --rounds) interleaved repetitions, medians; the\n"
    "values' checksums must agree across thread counts (exit 1 if not).\n"
    "And (with the standard set, or --mh-cost CONFIG) the cost of the minibatch default (Metropolis on\n"
    "the batch) against plain SGLD: CONFIG trained 200 steps, head 0.1 at step 200 estimated by each,\n"
    "--mh-reps (3) interleaved repeats, medians: SGLD steps/s at a given eps, and the automatic estimate's\n"
    "wall, CPU and own seconds (the last: what a curve pays per checkpoint).\n"
    "Prints a table; --json also writes the numbers to FILE.\n"
    "--mpi: that curve at every 8th checkpoint (--mpi-steps) by one process with 2 threads and by\n"
    "mpirun -n 3 (2 workers of 1 thread): wall times, per unit compute, message bytes and seconds,\n"
    "rank 0's writes (llc/MPI.md).\n";

static const cli_optdef defs[] = {{"configs", 1, "comma-separated config files, or 'none' (no configurations)"},
                                  {"rounds", 1, "rounds of (llc, PyTorch) per config, medians reported (default 1)"},
                                  {"draws", 1, "SGLD draws per chain in the timed estimate (default: by size)"},
                                  {"torch", 1, "PyTorch reference script, or 'none' (default tests/bench/torch_sgld.py)"},
                                  {"curve", 1, "config of the timed per-head curve, or 'none' (default: "
                                               "data/configs/sort.json with the standard set, else none)"},
                                  {"probes", 1, "config of the timed probe sweep, or 'none' (default: "
                                                "data/configs/sort.json with the standard set, else none)"},
                                  {"mh-cost", 1, "config of the minibatch Metropolis cost (head 0.1, plain vs "
                                                 "default), or 'none' (default: sort.json with the standard set)"},
                                  {"mh-reps", 1, "interleaved repeats of --mh-cost (default 3)"},
                                  {"json", 1, "write results as JSON to this file"},
                                  {"child", 1, NULL},
                                  {"child-out", 1, NULL},
                                  {"mpi", 0, "instead: the curve by 1 process x 2 threads and by mpirun -n 3 "
                                             "(MPI build)"},
                                  {"mpi-steps", 1, "with --mpi: the checkpoints (default every:8)"},
                                  {NULL, 0, NULL}};

/* The numbers of r into o, under the keys of bench.json. */
static void result_json(cJSON *o, const llc_bench_result *r)
{
    char sh[64];
    snprintf(sh, sizeof sh, "%dx%dx%d", r->sgemm_shape[0], r->sgemm_shape[1], r->sgemm_shape[2]);
    cJSON_AddNumberToObject(o, "n_params", r->n_params);
    cJSON_AddNumberToObject(o, "batch", r->batch);
    cJSON_AddNumberToObject(o, "flops_per_step", r->flops_per_step);
    cJSON_AddNumberToObject(o, "sgemm_shape_gflops_1thread", r->sgemm_shape_gflops_1thread);
    cJSON_AddStringToObject(o, "sgemm_shape", sh);
    cJSON_AddNumberToObject(o, "fwd_bwd_ms", r->fwd_bwd_ms);
    cJSON_AddNumberToObject(o, "fwd_bwd_gflops_1thread", r->fwd_bwd_gflops_1thread);
    cJSON_AddNumberToObject(o, "sgld_draws_timed", r->sgld_draws_timed);
    cJSON_AddNumberToObject(o, "llc_steps_s_1thread", r->llc_steps_s_1thread);
    cJSON_AddNumberToObject(o, "llc_steps_s", r->llc_steps_s);
    cJSON_AddNumberToObject(o, "threads", r->threads);
    cJSON_AddNumberToObject(o, "gflops", r->gflops);
    if (r->has_head) {
        cJSON_AddNumberToObject(o, "llc_steps_s_head", r->llc_steps_s_head);
        cJSON_AddNumberToObject(o, "head_params", r->head_params);
    }
    if (r->has_head_shared) cJSON_AddNumberToObject(o, "llc_steps_s_head_shared", r->llc_steps_s_head_shared);
    cJSON_AddNumberToObject(o, "train_tokens_s", r->train_tokens_s);
    cJSON_AddNumberToObject(o, "ckpt_bytes", r->ckpt_bytes);
    cJSON_AddNumberToObject(o, "ckpt_overhead_pct", r->ckpt_overhead_pct);
    cJSON_AddNumberToObject(o, "ckpt_write_ms", r->ckpt_write_ms);
    cJSON_AddNumberToObject(o, "ckpt_read_ms", r->ckpt_read_ms);
}

/* One configuration, measured in this process (llc_bench_run); results into o. */
static int bench_one(const char *file, int draws, cJSON *o, char *err)
{
    char *text = cli_read_file(file, NULL, NULL);
    cJSON *cfg = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cfg) return llc_fail(err, LLC_ERR_IO, "cannot read or parse %s", file);
    llc_bench_config c = {.draws = draws, .cores = (int)cli_cores()};
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_bench_result r;
    int rc = llc_run_build(cfg, &task, &model, &c.train, err);
    if (!rc) {
        c.model = model;
        c.task = task;
        rc = llc_bench_run(&c, &r, err);
    }
    if (!rc) result_json(o, &r);
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
    const int status = cli_spawn_wait(argv, NULL, NULL, rss_mb);
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
    return m ? llc_bench_median(v, m) : NAN;
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
        const double c0 = llc_bench_ceiling(threads, cores, 10, NULL, NULL, NULL);
        cJSON *o = run_child(f, draws, &rss, err);
        if (!o) break;
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "error"))) { /* bad config: no more rounds */
            for (int i = 0; i < n; i++) cJSON_Delete(r[i]);
            *out = o;
            return 0;
        }
        const double cr = fmax(c0, llc_bench_ceiling(threads, cores, 10, NULL, NULL, NULL));
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
/* The counts of the curve's scratch store db into o (llc_bench_curve_read). */
static int curve_counts(const char *db, cJSON *o, char *err)
{
    llc_bench_curve_counts n;
    int rc = llc_bench_curve_read(db, &n, err);
    if (rc) return rc;
    cJSON_AddNumberToObject(o, "checkpoints", n.checkpoints);
    cJSON_AddNumberToObject(o, "points", n.points);
    cJSON_AddNumberToObject(o, "targets", n.targets);
    cJSON_AddNumberToObject(o, "seconds_model", n.seconds_model);
    cJSON_AddNumberToObject(o, "seconds_heads", n.seconds_heads);
    return LLC_OK;
}

/* The per-head curve of config file `file` (see usage), its numbers into o:
 * config, chains, draws, burnin, train_seconds, seconds (wall-clock of the
 * estimate command), checkpoints, points, targets, seconds_model,
 * seconds_heads, peak_rss_mb. Returns an exit code (a failed train or
 * estimate's own, its last message in err). The scratch store is removed. */
static int bench_curve(const char *file, int draws, cJSON *o, char *err)
{
    cli_scratch sc;
    char dbuf[32], bbuf[32], line[400];
    const int D = draws > 0 ? draws : 200;
    snprintf(dbuf, sizeof dbuf, "%d", D);
    snprintf(bbuf, sizeof bbuf, "%d", D / 2);
    char *eargv[] = {NULL,        "estimate", "--run", "curve", "--db", sc.db, "--model", "--heads", "all",
                     "--chains",  "4",        "--draws", dbuf,  "--burnin", bbuf, "--thin",  "1",       NULL};
    double tt = 0, te = 0, rss = 0;
    int code = cli_scratch_make(&sc, "curve", err);
    if (!code) code = cli_scratch_train(&sc, file, "curve", NULL, &tt, err);
    if (code) {
        /* err says why */
    } else if ((code = cli_spawn_wait(eargv, sc.log, &te, &rss)) != 0) {
        cli_last_line(sc.log, line, sizeof line);
        snprintf(err, LLC_ERRLEN, "the curve's estimate failed: %s", line[0] ? line : "no message");
    } else {
        cJSON_AddStringToObject(o, "config", file);
        cJSON_AddNumberToObject(o, "chains", 4);
        cJSON_AddNumberToObject(o, "draws", D);
        cJSON_AddNumberToObject(o, "burnin", D / 2);
        cJSON_AddNumberToObject(o, "train_seconds", tt);
        cJSON_AddNumberToObject(o, "seconds", te);
        cJSON_AddNumberToObject(o, "peak_rss_mb", rss);
        if (curve_counts(sc.db, o, err)) code = EXIT_STORE;
    }
    if (code < 0) code = EXIT_IO; /* could not start, or killed */
    cli_scratch_remove(&sc, 0);
    return code;
}

static void probe_progress(void *ctx, const char *stage)
{
    (void)ctx;
    fprintf(stderr, "llc: bench: %s\n", stage);
}

/* The probe sweep of config file `file` (see usage): trained into a scratch
 * store, then llc_bench_probe with 1 thread and all cores (at least 2),
 * `reps` interleaved repetitions; its numbers into o. Returns an exit code
 * (message in err). The scratch store is removed. */
static int bench_probes(const char *file, int reps, cJSON *o, char *err)
{
    cli_scratch sc;
    double tt = 0;
    llc_bench_probe_result r;
    const long cores = cli_cores();
    int code = cli_scratch_make(&sc, "probes", err);
    if (!code) code = cli_scratch_train(&sc, file, "probes", NULL, &tt, err);
    if (!code) {
        cli_keep_freed_memory(); /* as `llc probe` does */
        llc_bench_probe_config c = {.db = sc.db, .run = "probes", .threads = {1, cores > 2 ? (int)cores : 2},
                                    .n_threads = 2, .reps = reps, .progress = probe_progress};
        int rc = llc_bench_probe(&c, &r, err);
        if (rc) code = cli_exit_code(rc);
    }
    cli_scratch_remove(&sc, 0);
    if (code) return code;
    cJSON_AddStringToObject(o, "config", file);
    cJSON_AddNumberToObject(o, "train_seconds", tt);
    cJSON_AddNumberToObject(o, "checkpoints", r.checkpoints);
    cJSON_AddNumberToObject(o, "heads", r.layers * r.heads);
    cJSON_AddNumberToObject(o, "probes", r.probes);
    cJSON_AddNumberToObject(o, "values", r.values);
    cJSON_AddNumberToObject(o, "reps", r.reps);
    cJSON_AddBoolToObject(o, "identical", r.identical);
    cJSON *arr = cJSON_AddArrayToObject(o, "runs");
    for (int k = 0; k < r.n; k++) {
        const llc_bench_probe_row *w = &r.row[k];
        char sum[24];
        snprintf(sum, sizeof sum, "%016llx", (unsigned long long)w->checksum);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "threads", w->threads);
        cJSON_AddNumberToObject(e, "seconds", w->seconds);
        cJSON_AddNumberToObject(e, "cpu_seconds", w->cpu_seconds);
        cJSON_AddNumberToObject(e, "checkpoints_s", w->checkpoints_s);
        cJSON_AddNumberToObject(e, "seconds_circuits", w->seconds_circuits);
        cJSON_AddNumberToObject(e, "seconds_patterns", w->seconds_patterns);
        cJSON_AddNumberToObject(e, "seconds_ablation", w->seconds_ablation);
        cJSON_AddStringToObject(e, "checksum", sum);
        cJSON_AddItemToArray(arr, e);
    }
    return 0;
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

/* The config of option key (--curve, --probes) into out (empty: none): the
 * file given, none, or by default data/configs/sort.json when --configs is
 * not given (the standard set). Returns an exit code. */
static int sort_default(const cli_args *a, const char *key, char *out, size_t n)
{
    const char *v = cli_get(a, key);
    out[0] = 0;
    if (v && strcmp(v, "none") != 0) {
        if (access(v, R_OK) != 0)
            return cli_error(EXIT_IO, "bench: --%s %s: no such readable config (give a config file, or 'none')", key,
                             v);
        snprintf(out, n, "%s", v);
    } else if (!v && !cli_get(a, "configs") && cli_data_path("configs/sort.json", out, n) != 0) {
        out[0] = 0;
    }
    return 0;
}

/* The configuration files (--configs, default the standard set) as a
 * comma-separated list into list (empty: none), and the configs of the
 * curve and the probe sweep (sort_default) into curve and probes. Returns
 * an exit code. */
static int bench_inputs(const cli_args *a, char *list, size_t nl, char *curve, char *probes, size_t nc)
{
    const char *cl = cli_get(a, "configs");
    int code = sort_default(a, "curve", curve, nc);
    if (code || (code = sort_default(a, "probes", probes, nc))) return code;
    list[0] = 0;
    if (cl && strcmp(cl, "none") == 0) return 0; /* the ceiling (and a --curve) only */
    if (cl) {
        snprintf(list, nl, "%s", cl);
        return 0;
    }
    const char *names[] = {"S", "M", "ICL", "DLN100", "DLN784"};
    for (int i = 0; i < 5; i++) {
        char rel[64], p[2048];
        snprintf(rel, sizeof rel, "configs/bench/%s.json", names[i]);
        if (cli_data_path(rel, p, sizeof p) == 0) {
            if (list[0]) strncat(list, ",", nl - strlen(list) - 1);
            strncat(list, p, nl - strlen(list) - 1);
        }
    }
    if (!list[0]) return cli_error(EXIT_NOTFOUND, "bench: data/configs/bench/*.json not found (give --configs)");
    return 0;
}

/* The all-core sgemm ceiling into js, and its line on stdout; returns it. */
static double bench_ceiling(cJSON *js, int threads, long cores)
{
    double g_blas, g_one, g_cores, g_all = llc_bench_ceiling(threads, cores, 25, &g_blas, &g_one, &g_cores);
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
    return g_all;
}

/* Each config of list (comma-separated, consumed) in `rounds` rounds
 * (run_rounds), into the array arr; returns the exit code of the last
 * failure, 0 if none. */
static int bench_configs(char *list, int draws, int rounds, char *script, double g_all, cJSON *js, cJSON *arr)
{
    int code = 0;
    char *save = NULL;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        const char *base = strrchr(f, '/');
        char name[256];
        snprintf(name, sizeof name, "%s", base ? base + 1 : f);
        char *dot = strstr(name, ".json");
        if (dot && dot[5] == 0) *dot = 0;
        char err[LLC_ERRLEN] = "";
        cJSON *o = NULL;
        if (run_rounds(f, name, draws, rounds, script, js, &o, err)) {
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
    return code;
}

/* The per-head curve of config file curve (bench_curve) into js and its
 * line on stdout; returns an exit code. */
static int bench_curve_report(const char *curve, int draws, cJSON *js)
{
    char err[LLC_ERRLEN] = "";
    fprintf(stderr, "llc: bench: the per-head curve of %s (train, then estimate every checkpoint)\n", curve);
    cJSON *cj = cJSON_CreateObject();
    int crc = bench_curve(curve, draws, cj, err);
    if (crc) {
        cJSON_Delete(cj);
        return cli_error(crc, "bench: curve: %s", err);
    }
    cJSON_AddItemToObject(js, "curve", cj);
    return 0;
}

/* The probe sweep of config file probes (bench_probes) into js; returns an
 * exit code: 1 when the checksums disagree. */
static int bench_probes_report(const char *probes, int reps, cJSON *js)
{
    char err[LLC_ERRLEN] = "";
    fprintf(stderr, "llc: bench: the probe sweep of %s (train, then every probe at every checkpoint)\n", probes);
    cJSON *pj = cJSON_CreateObject();
    int code = bench_probes(probes, reps, pj, err);
    if (code) {
        cJSON_Delete(pj);
        return cli_error(code, "bench: probes: %s", err);
    }
    cJSON_AddItemToObject(js, "probes", pj);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pj, "identical")))
        return cli_error(EXIT_REGRESSION, "bench: probes: the probe values differ between thread counts or "
                                         "repetitions (checksums below); they must be bit-identical");
    return 0;
}

/* The probe sweep's lines on stdout. */
static void print_probes(const cJSON *pj)
{
    const cJSON *e;
    printf("probes: %s, %.0f checkpoints x %.0f heads, %.0f probes (%.0f stored values a sweep), median of %.0f "
           "interleaved repetitions:\n",
           cJSON_GetObjectItemCaseSensitive(pj, "config")->valuestring, num(pj, "checkpoints"), num(pj, "heads"),
           num(pj, "probes"), num(pj, "values"), num(pj, "reps"));
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(pj, "runs"))
        printf("  %2.0f thread%s %7.2f s (%6.1f checkpoints/s), CPU %6.2f s; circuits %5.2f s, patterns %5.2f s, "
               "ablation %5.2f s; checksum %s\n",
               num(e, "threads"), num(e, "threads") == 1 ? ": " : "s:", num(e, "seconds"), num(e, "checkpoints_s"),
               num(e, "cpu_seconds"), num(e, "seconds_circuits"), num(e, "seconds_patterns"),
               num(e, "seconds_ablation"), cJSON_GetObjectItemCaseSensitive(e, "checksum")->valuestring);
    printf("  probe values %s across thread counts and repetitions; training took %.1f s\n",
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pj, "identical")) ? "bit-identical" : "DIFFER",
           num(pj, "train_seconds"));
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
    char list[8192], curve[4096], probes[4096], mhc[4096];
    if (cli_has(&a, "mpi")) { /* cli/cmd_bench_mpi.c: the curve config, default sort */
        const char *cv = cli_get(&a, "curve");
        if (cv) snprintf(curve, sizeof curve, "%s", cv);
        else if (cli_data_path("configs/sort.json", curve, sizeof curve) != 0) curve[0] = 0;
        const char *st = cli_get(&a, "mpi-steps");
        return cli_bench_mpi(curve, (int)draws, st ? st : "every:8", cli_get(&a, "json"));
    }
    if ((rc = bench_inputs(&a, list, sizeof list, curve, probes, sizeof curve)) ||
        (rc = sort_default(&a, "mh-cost", mhc, sizeof mhc)))
        return rc;
    long long mh_reps;
    if (cli_get_ll(&a, "mh-reps", 3, 1, 25, &mh_reps)) return EXIT_USAGE;
    int threads = openblas_get_num_threads();
    const long cores = cli_cores();
    cJSON *js = cJSON_CreateObject();
    add_machine(js);
    const double g_all = bench_ceiling(js, threads, cores);
    cJSON *arr = cJSON_AddArrayToObject(js, "configs");
    /* the PyTorch reference, run on each config right after llc's own
     * measurement of it (so a slow spell of a shared machine hits both) */
    const char *torch = cli_get(&a, "torch");
    char script[2048] = "";
    if (!(torch && strcmp(torch, "none") == 0)) {
        if (torch) snprintf(script, sizeof script, "%s", torch);
        else if (cli_data_path("../tests/bench/torch_sgld.py", script, sizeof script) != 0) script[0] = 0;
        if (!script[0]) fprintf(stderr, "llc: bench: PyTorch reference skipped: no tests/bench/torch_sgld.py\n");
    }
    int code = bench_configs(list, (int)draws, (int)rounds, script, g_all, js, arr);
    if (curve[0] && (rc = bench_curve_report(curve, (int)draws, js))) code = rc;
    if (probes[0] && (rc = bench_probes_report(probes, rounds > 3 ? (int)rounds : 3, js))) code = rc;
    if (mhc[0] && (rc = cli_bench_mh(mhc, (int)mh_reps, js))) code = rc;

    if (cJSON_GetArraySize(arr) > 0) print_table(arr, cores, rounds);
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(js, "curve");
    if (cj)
        printf("curve: %s, %.0f checkpoints x %.0f targets (model + every head), %.0f chains x %.0f draws after %.0f "
               "burn-in steps:\n       %.0f points in %.1f s (estimates' own time: model %.1f s, heads %.1f s), peak "
               "RSS %.0f MB; training took %.1f s\n",
               curve, num(cj, "checkpoints"), num(cj, "targets"), num(cj, "chains"), num(cj, "draws"),
               num(cj, "burnin"), num(cj, "points"), num(cj, "seconds"), num(cj, "seconds_model"),
               num(cj, "seconds_heads"), num(cj, "peak_rss_mb"), num(cj, "train_seconds"));
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(js, "probes");
    if (pj) print_probes(pj);
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(js, "mh_cost");
    if (mj)
        printf("mh-cost: %s, head 0.1 at step 200, medians of %.0f interleaved repeats, plain SGLD / the default "
               "(Metropolis on the batch):\n       SGLD steps/s %.0f / %.0f (%.2fx the time); the estimate with the "
               "automatic eps: wall %.1f / %.1f s (%.2fx),\n       CPU %.1f / %.1f s (%.2fx), its own seconds "
               "(a curve's cost per checkpoint) %.1f / %.1f s (%.2fx)\n",
               mhc, num(mj, "reps"), num(mj, "steps_s_plain"), num(mj, "steps_s_default"), num(mj, "steps_s_ratio"),
               num(mj, "seconds_plain"), num(mj, "seconds_default"), num(mj, "seconds_ratio"),
               num(mj, "cpu_seconds_plain"), num(mj, "cpu_seconds_default"), num(mj, "cpu_seconds_ratio"),
               num(mj, "estimate_seconds_plain"), num(mj, "estimate_seconds_default"),
               num(mj, "estimate_seconds_ratio"));
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
