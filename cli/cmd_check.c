/* cmd_check.c - `llc baseline` and `llc check`: results CI can trust.
 *
 * `llc baseline` turns a finished, estimated run into a JSON file holding
 * everything needed to redo it (the full stored config, the requested sampler
 * settings of each (target, data)) and the expected curve points with
 * tolerances. `llc check` redoes the experiment from scratch in a temporary
 * store (train, then estimate) - or reads an existing run - and compares.
 * Training and sampling are deterministic (batch s is a function of (seed, s);
 * chains are bit-identical whatever the thread count), so on one machine a
 * re-run reproduces the expected numbers exactly; the default tolerances only
 * leave room for the rounding of other BLAS kernels on other CPUs.
 *
 * The format and the comparison are llc_baseline.h's; here: the options,
 * the re-run (llc_train_run, then llc_estimate_sweep for each group with the
 * settings read back by llc_estimate_settings_parse) and the table. */
#include "cli.h"
#include "llc_baseline.h"
#include "llc_estimate_run.h"
#include "llc_estimate_settings.h"
#include "llc_train_run.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* llc baseline                                                        */

static const char baseline_usage[] =
    "usage: llc baseline --run ID [--tol-abs A] [--tol-rel R] [--tol-std K] [--out FILE] [--db PATH] > FILE.json\n"
    "Write a regression baseline of a finished run (to stdout, or --out FILE): the run's full stored\n"
    "config (task, seed, data, model, train: enough to re-train it bit-identically), the requested\n"
    "sampler settings of each (target, data) it was estimated for, and the expected curve points\n"
    "(target, data, step, llc_mean, llc_std, plus the eps, nbeta, burnin and thin the sampler used)\n"
    "with tolerances. `llc check FILE.json` redoes the experiment and compares.\n"
    "A point passes if ANY of these holds (std = the expected llc_std):\n"
    "    |got - expected| <= A      |got - expected| <= R * |expected|      |got - expected| <= K * std\n"
    "Defaults: A = 1e-4, R = 1e-3, K = 0 (off). Re-runs on one machine are bit-identical; the\n"
    "defaults absorb the rounding of other CPUs' BLAS kernels (1e-6 to 1e-4 relative on the shipped\n"
    "baselines; it grows with training length) and are still ~100x tighter than sampling noise.\n"
    "Use e.g. --tol-std 1 where only statistical agreement is expected (e.g. long runs checked on\n"
    "other machines, or across llc versions that change the sampler).\n"
    "Give the estimates explicit sampler settings (--eps, --burnin, --thin) when the baseline should\n"
    "not follow changes of the automatic choices.\n";

static const cli_optdef baseline_defs[] = {
    {"run", 1, "run id (a finished run with estimates)"},
    {"tol-abs", 1, "absolute tolerance A (default 1e-4)"},
    {"tol-rel", 1, "relative tolerance R (default 1e-3)"},
    {"tol-std", 1, "tolerance in units of the expected llc_std K (default 0 = off)"},
    {"out", 1, "write to FILE instead of stdout"},
    {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
    {NULL, 0, NULL}};

int cmd_baseline(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "baseline", baseline_usage, baseline_defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run"), *out = cli_get(&a, "out");
    if (!run) return cli_error(EXIT_USAGE, "baseline: --run ID is required");
    double tol_abs, tol_rel, tol_std;
    if (cli_get_double(&a, "tol-abs", LLC_BASELINE_TOL_ABS, 0, 1e300, &tol_abs) ||
        cli_get_double(&a, "tol-rel", LLC_BASELINE_TOL_REL, 0, 1e300, &tol_rel) ||
        cli_get_double(&a, "tol-std", LLC_BASELINE_TOL_STD, 0, 1e300, &tol_std))
        return EXIT_USAGE;

    llc_store *s = NULL;
    llc_run_info info = {0};
    cJSON *root = NULL;
    char *txt = NULL;
    int code = 0, n_points = 0;
    if ((code = cli_open_store(&a, LLC_STORE_READONLY, &s))) return code;
    rc = llc_store_run_get(s, run, &info);
    if (rc) {
        code = rc == LLC_ERR_NOTFOUND ? cli_error(EXIT_NOTFOUND, "baseline: no run '%s' in %s (see llc runs)", run, cli_db_path(&a))
                                      : cli_error(cli_exit_code(rc), "baseline: %s", llc_store_errmsg(s));
        goto cleanup;
    }
    if (strcmp(info.status, "done") != 0) {
        code = cli_error(EXIT_USAGE, "baseline: run '%s' is %s; a baseline needs a finished run (status done)", run,
                         info.status);
        goto cleanup;
    }
    char err[LLC_ERRLEN] = "";
    if ((rc = llc_baseline_make(s, &info, tol_abs, tol_rel, tol_std, &root, &n_points, err))) {
        code = cli_error(cli_exit_code(rc), "baseline: %s", err);
        goto cleanup;
    }
    if (n_points == 0) {
        code = cli_error(EXIT_NOTFOUND, "baseline: run '%s' has no estimates to record (llc estimate --run %s first)",
                         run, run);
        goto cleanup;
    }
    txt = cJSON_Print(root);
    if (!txt) { code = cli_error(EXIT_NOMEM, "baseline: out of memory"); goto cleanup; }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) { code = cli_error(EXIT_IO, "baseline: cannot write '%s'", out); goto cleanup; }
    int bad = fprintf(f, "%s\n", txt) < 0;
    bad |= out ? fclose(f) != 0 : fflush(f) != 0;
    if (bad) code = cli_error(EXIT_IO, "baseline: cannot write '%s'", out ? out : "stdout");
cleanup:
    cJSON_free(txt);
    cJSON_Delete(root);
    llc_run_info_free(&info);
    llc_store_close(s);
    return code;
}

/* ------------------------------------------------------------------ */
/* llc check                                                           */

static const char check_usage[] =
    "usage: llc check BASELINE.json... [--threads N] [--keep] [--tol-abs A] [--tol-rel R] [--tol-std K]\n"
    "       llc check BASELINE.json [--db PATH] [--run ID]\n"
    "Redo the experiment of each baseline (made by llc baseline) from scratch in a temporary store:\n"
    "train with the recorded config and seed, estimate each recorded (target, data) with the recorded\n"
    "settings at the recorded steps, and compare with the expected curve points. With --db and/or\n"
    "--run, compare an existing run instead (default run: the baseline's; default store: $LLC_DB or\n"
    "./llc.db). Prints one row per (target, data, step): expected, got, difference and verdict\n"
    "(ok, REGRESSED, missing), then a summary line. A point passes if |got - expected| <= A, or\n"
    "<= R * |expected|, or <= K * expected llc_std; the baseline's tolerances unless overridden here.\n"
    "The temporary store is removed unless --keep.\n"
    "\n"
    "Exit codes: 0 every point within tolerance; 1 a point REGRESSED or missing; 2 bad usage or a\n"
    "malformed baseline (the message names the problem); 3-10 as for other commands.\n"
    "\n"
    "Wiring llc check into your CI:\n"
    "  1. Make a small run and estimate it with explicit sampler settings, e.g.\n"
    "       llc train --task sort --run ci-sort --steps 40 --set ckpt_linear=3 --set ckpt_log=0\n"
    "       llc estimate --run ci-sort --eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 50\n"
    "  2. Commit only its baseline (it holds the config, settings and expected values; not the store):\n"
    "       llc baseline --run ci-sort > baselines/ci-sort.json\n"
    "     (tests/baseline/make_baselines.sh regenerates the shipped ones in data/baselines/.)\n"
    "  3. In CI, after the build:  llc check baselines/*.json --quiet\n"
    "     Exit 0 passes; 1 means a result changed beyond tolerance or a point is missing (the table\n"
    "     shows which); 2 means a baseline file is malformed. Re-make the baseline when a change of\n"
    "     results is intended. Keep the runs short: other CPUs' BLAS kernels round differently, and\n"
    "     long training amplifies that beyond the default tolerances (see llc baseline --help).\n";

static const cli_optdef check_defs[] = {
    {"db", 1, "compare the run in this store instead of re-running"},
    {"run", 1, "compare this run (default: the baseline's run id) instead of re-running"},
    {"keep", 0, "keep the temporary store of the re-run (its path is printed)"},
    {"threads", 1, "threads for the sampler's chains (default: all cores; results are identical)"},
    {"tol-abs", 1, "override the baseline's absolute tolerance"},
    {"tol-rel", 1, "override the baseline's relative tolerance"},
    {"tol-std", 1, "override the baseline's tolerance in units of llc_std"},
    {NULL, 0, NULL}};

/* --- re-running the experiment --- */

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The re-trained run, as llc estimate would open it. */
typedef struct {
    const char *run;
    llc_store *store;
    llc_task *task;
    llc_model *model;
    long long *steps; /* its checkpoints */
    int n_steps;
} rerun_ctx;

/* Estimate group gi of b in the re-trained run with its recorded settings
 * (llc_estimate_settings_parse: the inverse of what llc estimate stored).
 * Returns 0 or the exit code of the failure, its message printed. */
static int rerun_group(const llc_baseline *b, int gi, const rerun_ctx *x, long long threads, int quiet)
{
    const llc_baseline_group *g = &b->g[gi];
    char err[LLC_ERRLEN] = "", *settings = NULL;
    llc_estimate_config ec;
    llc_estimate_settings_opts opts;
    llc_group grp = {0};
    llc_sweep_result res = {0};
    long long *steps = NULL;
    int code = 0, rc, n = 0;
    llc_estimate_config_default(&ec);
    if (llc_estimate_settings_parse(g->settings, &ec, &opts, err))
        return cli_error(EXIT_USAGE, "check: the settings of estimates[%d] (target %s, data %s) are refused: %s", gi,
                         g->target, g->data, err);
    ec.rt.threads = (int)threads;
    ec.rt.interrupt = &cli_signal_caught;
    if ((code = cli_task_dist("check", x->task, g->data, &ec.dist))) return code;
    snprintf(grp.name, sizeof grp.name, "%s", g->target);
    if ((rc = x->model->group(x->model, g->target, &grp, err))) {
        code = cli_error(cli_exit_code(rc), "check: estimates[%d]: %s", gi, err);
        goto cleanup;
    }
    llc_group_normalize(&grp);
    if (!(steps = malloc((size_t)g->n * sizeof *steps))) {
        code = cli_error(EXIT_NOMEM, "check: out of memory");
        goto cleanup;
    }
    for (int i = 0; i < g->n; i++) {
        int found = 0;
        for (int k = 0; k < x->n_steps; k++) found |= x->steps[k] == g->p[i].step;
        if (!found) {
            code = cli_error(EXIT_NOTFOUND, "check: the re-trained run has no checkpoint at step %lld", g->p[i].step);
            goto cleanup;
        }
        steps[n++] = g->p[i].step;
    }
    const long long ref_step = x->steps[x->n_steps - 1];
    if (!(settings = llc_estimate_settings_json(&ec, &opts, ref_step))) {
        code = cli_error(EXIT_NOMEM, "check: out of memory");
        goto cleanup;
    }
    const char *target = g->target;
    llc_sweep_opts so = {.run = x->run, .model = x->model, .task = x->task, .groups = &grp, .targets = &target,
                         .n_targets = 1, .steps = steps, .n_steps = n, .ref_step = ref_step,
                         .per_traj = opts.per_traj && !(ec.sgld.eps > 0), .data = g->data, .settings = settings,
                         .check_bias = opts.check_bias, .cache_bytes = LLC_BASE_CACHE_BYTES};
    rc = llc_estimate_sweep(x->store, &ec, &so, &res, err);
    if (rc == LLC_ERR_INTERRUPTED)
        code = cli_error(EXIT_INTERRUPTED, "check: interrupted by %s", cli_signal_name(cli_signal_caught));
    else if (rc)
        code = cli_error(cli_exit_code(rc), "check: estimates[%d]: %s", gi, err);
    else if (res.n_bad)
        code = cli_error(cli_exit_code(res.first_bad), "check: estimates[%d]: %s", gi, res.first_bad_msg);
    else if (!quiet)
        fprintf(stderr, "llc: check: target %s, data %s: %d estimates (%.1fs)\n", g->target, g->data, res.done,
                res.seconds);
cleanup:
    llc_group_free(&grp);
    free(steps);
    cJSON_free(settings);
    return code;
}

/* Train the recorded config, then estimate every group, in dir/llc.db.
 * failed[gi] = exit code of the group's estimate (0 ok). Returns 0 or the
 * exit code that ends the check. */
static int rerun(const llc_baseline *b, const char *dir, long long threads, int quiet, int *failed)
{
    char db[4096], err[LLC_ERRLEN] = "";
    snprintf(db, sizeof db, "%s/llc.db", dir);
    /* the config as llc train would take it: a missing seed is 1 */
    cJSON *config = cJSON_Duplicate(b->config, 1), *stored = NULL;
    if (config && !cJSON_GetObjectItemCaseSensitive(config, "seed")) cJSON_AddNumberToObject(config, "seed", 1);
    if (!config) return cli_error(EXIT_NOMEM, "check: out of memory");
    rerun_ctx x = {.run = b->run};
    llc_train_result res = {0};
    llc_run_info info = {0};
    int code = 0, rc = llc_store_open(db, LLC_STORE_RW, &x.store, err);
    if (rc == LLC_OK) {
        cli_catch_signals();
        rc = llc_train_run(x.store, b->run, config, NULL, &cli_signal_caught, &res, err);
    }
    if (rc) {
        code = rc == LLC_ERR_INTERRUPTED ? EXIT_INTERRUPTED : cli_exit_code(rc);
        code = cli_error(code, "check: re-training run '%s' with the baseline's config failed (exit %d): %s", b->run,
                         code, err);
        goto cleanup;
    }
    /* the run as stored (every default filled in), as llc estimate opens it */
    if ((rc = llc_store_run_get(x.store, b->run, &info)) ||
        (rc = llc_store_checkpoint_steps(x.store, b->run, &x.steps, &x.n_steps))) {
        code = cli_error(cli_exit_code(rc), "check: %s", llc_store_errmsg(x.store));
        goto cleanup;
    }
    if ((rc = llc_run_build_stored(b->run, info.config, &stored, &x.task, &x.model, err))) {
        code = cli_error(cli_exit_code(rc), "check: the re-trained %s", err);
        goto cleanup;
    }
    if (x.n_steps == 0) {
        code = cli_error(EXIT_NOTFOUND, "check: the re-trained run '%s' has no checkpoints", b->run);
        goto cleanup;
    }
    for (int gi = 0; gi < b->n_groups && !code; gi++) {
        failed[gi] = rerun_group(b, gi, &x, threads, quiet);
        if (failed[gi] == EXIT_USAGE || failed[gi] == EXIT_INTERRUPTED || failed[gi] == EXIT_NOMEM) code = failed[gi];
    }
cleanup:
    llc_train_result_free(&res);
    llc_run_info_free(&info);
    free(x.steps);
    llc_model_free(x.model);
    llc_task_free(x.task);
    llc_store_close(x.store);
    cJSON_Delete(stored);
    cJSON_Delete(config);
    return code;
}

/* --- comparing --- */

typedef struct {
    int ok, regressed, missing;
} tally;

static void fmt_num(char *buf, size_t n, double v)
{
    if (isfinite(v)) snprintf(buf, n, "%.10g", v);
    else snprintf(buf, n, "-");
}

/* The note of a point's row: why it is missing or regressed, and the
 * automatic choices that moved (they explain a change). */
static void point_note(char *note, size_t n, const llc_point_check *c, const llc_baseline_point *p, int failed)
{
    note[0] = 0;
    if (c->verdict == LLC_POINT_MISSING) {
        if (failed) snprintf(note, n, "llc estimate failed (exit %d)", failed);
        else if (c->rows) snprintf(note, n, "estimated only with other settings");
        else snprintf(note, n, "no estimate");
    } else if (c->verdict == LLC_POINT_REGRESSED && (strcmp(c->status, "ok") != 0 || !isfinite(c->got))) {
        snprintf(note, n, "status %s", c->status);
    } else if (c->verdict == LLC_POINT_REGRESSED && isfinite(p->std) && p->std > 0) {
        snprintf(note, n, "%.3g std", fabs(c->got - p->mean) / p->std);
    }
    if (c->found)
        for (int r = 0; r < 4; r++)
            if (isfinite(p->res[r]) && isfinite(c->res[r]) && c->res[r] != p->res[r]) {
                size_t l = strlen(note);
                snprintf(note + l, n - l, "%s%s %.4g (was %.4g)", l ? "; " : "", llc_baseline_resolved[r], c->res[r],
                         p->res[r]);
            }
}

/* Compare every expected point with the store's run (llc_baseline_compare);
 * print the table, count the verdicts into t. */
static int compare(const llc_baseline *b, llc_store *s, const char *run, const int *failed, double tol_abs,
                   double tol_rel, double tol_std, tally *t)
{
    static const char *const verdicts[] = {"ok", "REGRESSED", "missing"};
    char err[LLC_ERRLEN] = "";
    llc_point_check *c = NULL;
    int rc = llc_baseline_compare(b, s, run, tol_abs, tol_rel, tol_std, &c, err);
    if (rc) return cli_error(cli_exit_code(rc), "check: %s", err);
    printf("%-10s %-10s %8s %18s %18s %10s  %-9s %s\n", "target", "data", "step", "expected", "got", "diff",
           "verdict", "note");
    for (int k = 0; k < b->n_points; k++) {
        const llc_baseline_group *g = &b->g[c[k].group];
        const llc_baseline_point *p = &g->p[c[k].point];
        t->ok += c[k].verdict == LLC_POINT_OK;
        t->regressed += c[k].verdict == LLC_POINT_REGRESSED;
        t->missing += c[k].verdict == LLC_POINT_MISSING;
        char note[160], e[32], gbuf[32], dbuf[32], vcol[16];
        point_note(note, sizeof note, &c[k], p, failed ? failed[c[k].group] : 0);
        const double diff = c[k].got - p->mean;
        fmt_num(e, sizeof e, p->mean);
        fmt_num(gbuf, sizeof gbuf, c[k].got);
        if (isfinite(diff)) snprintf(dbuf, sizeof dbuf, "%.2e", diff);
        else snprintf(dbuf, sizeof dbuf, "-");
        snprintf(vcol, sizeof vcol, note[0] ? "%-9s " : "%s", verdicts[c[k].verdict]);
        printf("%-10s %-10s %8lld %18s %18s %10s  %s%s\n", g->target, g->data, p->step, e, gbuf, dbuf, vcol, note);
    }
    free(c);
    return 0;
}

/* Split positional arguments (baseline files) from options. */
static int split_args(int argc, char **argv, char **files, int *nf, char **opts, int *no)
{
    *nf = *no = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1]) {
            opts[(*no)++] = argv[i];
            if (strncmp(a, "--", 2) == 0 && !strchr(a, '=')) {
                for (const cli_optdef *d = check_defs; d->name; d++)
                    if (strcmp(a + 2, d->name) == 0 && d->takes_value && i + 1 < argc) opts[(*no)++] = argv[++i];
            }
        } else {
            files[(*nf)++] = argv[i];
        }
    }
    return 0;
}

/* Check one baseline file. Returns 0, EXIT_REGRESSION or another exit code. */
static int check_one(const char *path, const cli_args *a, long long threads, tally *total)
{
    char err[LLC_ERRLEN] = "", dir[4096] = "", db[4200] = "";
    llc_baseline b;
    llc_store *s = NULL;
    llc_run_info info = {0};
    int *failed = NULL, code = 0, rc, made_dir = 0;
    size_t len = 0;
    char *text = cli_read_file(path, &len, err);
    if (!text) return cli_error(EXIT_IO, "check: cannot read baseline '%s': %s", path, err);
    rc = llc_baseline_parse(text, &b, err);
    free(text);
    if (rc) {
        llc_baseline_free(&b);
        return cli_error(cli_exit_code(rc), "check: baseline '%s' is malformed: %s", path, err);
    }
    double tol_abs, tol_rel, tol_std;
    if (cli_get_double(a, "tol-abs", b.tol_abs, 0, 1e300, &tol_abs) ||
        cli_get_double(a, "tol-rel", b.tol_rel, 0, 1e300, &tol_rel) ||
        cli_get_double(a, "tol-std", b.tol_std, 0, 1e300, &tol_std)) {
        llc_baseline_free(&b);
        return EXIT_USAGE;
    }
    int existing = cli_has(a, "db") || cli_has(a, "run");
    const char *run = existing && cli_has(a, "run") ? cli_get(a, "run") : b.run;
    double t0 = llc_now();
    if (existing) {
        printf("baseline %s: run %s (task %s), %d points, compared with run %s in %s\n", path, b.run, b.task,
               b.n_points, run, cli_db_path(a));
        if ((code = cli_open_store(a, LLC_STORE_READONLY, &s))) goto cleanup;
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/llc-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            code = cli_error(EXIT_IO, "check: cannot create a temporary directory '%s': %s", dir, strerror(errno));
            goto cleanup;
        }
        made_dir = 1;
        if (!(failed = calloc((size_t)b.n_groups, sizeof *failed))) {
            code = cli_error(EXIT_NOMEM, "check: out of memory");
            goto cleanup;
        }
        printf("baseline %s: run %s (task %s), %d points, re-run from scratch\n", path, b.run, b.task, b.n_points);
        fflush(stdout);
        if ((code = rerun(&b, dir, threads, a->quiet, failed))) goto cleanup;
        char e2[LLC_ERRLEN] = "";
        snprintf(db, sizeof db, "%s/llc.db", dir);
        if ((rc = llc_store_open(db, LLC_STORE_READONLY, &s, e2))) {
            code = cli_error(cli_exit_code(rc), "check: %s", e2);
            goto cleanup;
        }
    }
    rc = llc_store_run_get(s, run, &info);
    if (rc) {
        code = rc == LLC_ERR_NOTFOUND ? cli_error(EXIT_NOTFOUND, "check: no run '%s' in %s", run, existing ? cli_db_path(a) : db)
                                      : cli_error(cli_exit_code(rc), "check: %s", llc_store_errmsg(s));
        goto cleanup;
    }
    cJSON *stored = cJSON_Parse(info.config);
    int same_config = stored && cJSON_Compare(stored, b.config, 1);
    cJSON_Delete(stored);
    if (!same_config)
        printf("note: the run's stored config differs from the baseline's config%s\n",
               existing ? "" : " (this llc fills in other defaults)");
    tally t = {0, 0, 0};
    if ((code = compare(&b, s, run, failed, tol_abs, tol_rel, tol_std, &t))) goto cleanup;
    int pass = t.regressed == 0 && t.missing == 0;
    printf("%s: %d points: %d ok, %d REGRESSED, %d missing (tolerance abs %g, rel %g, std %g; %.1fs) - %s\n", path,
           b.n_points, t.ok, t.regressed, t.missing, tol_abs, tol_rel, tol_std, llc_now() - t0,
           pass ? "PASS" : "FAIL");
    total->ok += t.ok;
    total->regressed += t.regressed;
    total->missing += t.missing;
    code = pass ? 0 : EXIT_REGRESSION;
cleanup:
    llc_run_info_free(&info);
    llc_store_close(s);
    if (made_dir) {
        if (cli_has(a, "keep")) printf("kept the re-run's store: %s/llc.db (run %s)\n", dir, b.run);
        else remove_tree(dir);
    }
    fflush(stdout);
    free(failed);
    llc_baseline_free(&b);
    return code;
}

int cmd_check(int argc, char **argv)
{
    char **files = malloc((size_t)(argc + 1) * sizeof *files), **opts = malloc((size_t)(argc + 1) * sizeof *opts);
    int nf = 0, no = 0, code = 0;
    if (!files || !opts) {
        free(files);
        free(opts);
        return cli_error(EXIT_NOMEM, "check: out of memory");
    }
    split_args(argc, argv, files, &nf, opts, &no);
    cli_args a;
    int rc = cli_parse(&a, "check", check_usage, check_defs, no, opts);
    if (rc) { code = rc < 0 ? 0 : rc; goto cleanup; }
    if (nf == 0) {
        code = cli_error(EXIT_USAGE, "check: give a baseline file, e.g. llc check data/baselines/sort.json (see llc check --help)");
        goto cleanup;
    }
    if (nf > 1 && (cli_has(&a, "db") || cli_has(&a, "run"))) {
        code = cli_error(EXIT_USAGE, "check: --db/--run compare one existing run: give one baseline file");
        goto cleanup;
    }
    long long threads;
    if (cli_get_ll(&a, "threads", cli_cores(), 1, 1024, &threads)) { code = EXIT_USAGE; goto cleanup; }
    /* every baseline must parse before anything runs */
    for (int i = 0; i < nf; i++) {
        char err[LLC_ERRLEN] = "";
        llc_baseline b;
        char *text = cli_read_file(files[i], NULL, err);
        if (!text) { code = cli_error(EXIT_IO, "check: cannot read baseline '%s': %s", files[i], err); goto cleanup; }
        rc = llc_baseline_parse(text, &b, err);
        free(text);
        llc_baseline_free(&b);
        if (rc) { code = cli_error(cli_exit_code(rc), "check: baseline '%s' is malformed: %s", files[i], err); goto cleanup; }
    }
    tally total = {0, 0, 0};
    int failed_files = 0;
    for (int i = 0; i < nf; i++) {
        if (i) printf("\n");
        int c = check_one(files[i], &a, threads, &total);
        if (c) failed_files++;
        if (c && (!code || code == EXIT_REGRESSION)) code = c; /* an error outranks a regression */
    }
    if (nf > 1)
        printf("\ncheck: %d baselines, %d failed; %d points: %d ok, %d REGRESSED, %d missing\n", nf, failed_files,
               total.ok + total.regressed + total.missing, total.ok, total.regressed, total.missing);
cleanup:
    free(files);
    free(opts);
    return code;
}
