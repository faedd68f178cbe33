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
 * Baseline format (version 1):
 *   {"llc_baseline": 1, "llc_version": "0.1.0", "run": ID, "task": NAME,
 *    "config": {the run's stored config},
 *    "tolerance": {"abs": A, "rel": R, "std": K},
 *    "estimates": [{"target": T, "data": D, "settings": {requested settings},
 *                   "points": [{"step": S, "llc_mean": M, "llc_std": SD,
 *                               "eps": E, "nbeta": NB, "burnin": B, "thin": K}]}]}
 * A point passes if ANY of |got - M| <= A, <= R * |M|, <= K * SD holds.
 * eps/nbeta/burnin/thin are the values the sampler resolved (informational:
 * check reports when a re-run resolves them differently). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASELINE_FORMAT 1
/* Default tolerances, written into each baseline. Re-runs on one machine are
 * bit-identical. Other CPUs select other OpenBLAS kernels, whose rounding
 * differs; measured on the shipped baselines (OPENBLAS_CORETYPE Sandybridge,
 * Nehalem, Prescott vs Haswell): up to ~1e-6 absolute / 2e-5 relative, more
 * for long training of tiny models (modadd: 4e-5 relative after 300 steps,
 * 3e-4 after 1000, 5e-2 after 2000 - training amplifies rounding). The
 * defaults leave >= 25x room on the shipped baselines and stay ~100x tighter
 * than the sampling noise (llc_std) a real change shows up in. */
#define DEFAULT_TOL_ABS 1e-4
#define DEFAULT_TOL_REL 1e-3
#define DEFAULT_TOL_STD 0.0

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

/* The estimate behind every point of the curves view, grouped by settings. */
static const char q_points[] =
    "SELECT e.target, e.data, e.settings, e.step, e.llc_mean, e.llc_std, e.eps, e.nbeta, e.burnin, e.thin "
    "FROM estimates e WHERE e.run=?1 AND e.status='ok' AND e.id = (SELECT max(x.id) FROM estimates x "
    "WHERE x.run=e.run AND x.target=e.target AND x.data=e.data AND x.step=e.step AND x.status='ok') "
    "ORDER BY e.target, e.data, e.settings, e.step";

/* A finite double as the shortest JSON number that reads back bit-identical
 * (cJSON's own printing may drop the last bit). */
static void add_exact(cJSON *o, const char *key, double v)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    cJSON_AddRawToObject(o, key, buf);
}

static void add_num_or_null(cJSON *o, const char *key, sqlite3_stmt *st, int c)
{
    double v = sqlite3_column_double(st, c);
    if (sqlite3_column_type(st, c) != SQLITE_NULL && isfinite(v)) add_exact(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

int cmd_baseline(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "baseline", baseline_usage, baseline_defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run"), *out = cli_get(&a, "out");
    if (!run) return cli_error(EXIT_USAGE, "baseline: --run ID is required");
    double tol_abs, tol_rel, tol_std;
    if (cli_get_double(&a, "tol-abs", DEFAULT_TOL_ABS, 0, 1e300, &tol_abs) ||
        cli_get_double(&a, "tol-rel", DEFAULT_TOL_REL, 0, 1e300, &tol_rel) ||
        cli_get_double(&a, "tol-std", DEFAULT_TOL_STD, 0, 1e300, &tol_std))
        return EXIT_USAGE;

    llc_store *s = NULL;
    llc_run_info info = {0};
    sqlite3_stmt *st = NULL;
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
    cJSON *config = cJSON_Parse(info.config);
    if (!cJSON_IsObject(config)) {
        cJSON_Delete(config);
        code = cli_error(EXIT_STORE, "baseline: run '%s' has a malformed stored config", run);
        goto cleanup;
    }
    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "llc_baseline", BASELINE_FORMAT);
    cJSON_AddStringToObject(root, "llc_version", LLC_VERSION);
    cJSON_AddStringToObject(root, "run", run);
    cJSON_AddStringToObject(root, "task", info.task);
    cJSON_AddItemToObject(root, "config", config);
    cJSON *tol = cJSON_AddObjectToObject(root, "tolerance");
    add_exact(tol, "abs", tol_abs);
    add_exact(tol, "rel", tol_rel);
    add_exact(tol, "std", tol_std);
    cJSON *groups = cJSON_AddArrayToObject(root, "estimates");

    sqlite3 *db = llc_store_db(s);
    if (sqlite3_prepare_v2(db, q_points, -1, &st, NULL) != SQLITE_OK) {
        code = cli_error(EXIT_STORE, "baseline: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    cJSON *g = NULL, *points = NULL;
    char last[3][1024] = {"", "", ""};
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key[3];
        for (int c = 0; c < 3; c++) key[c] = (const char *)sqlite3_column_text(st, c);
        if (!g || strcmp(key[0], last[0]) || strcmp(key[1], last[1]) || strcmp(key[2], last[2])) {
            cJSON *settings = cJSON_Parse(key[2]);
            if (!cJSON_IsObject(settings)) {
                cJSON_Delete(settings);
                code = cli_error(EXIT_STORE, "baseline: an estimate of run '%s' (target %s, data %s) has malformed settings",
                                 run, key[0], key[1]);
                goto cleanup;
            }
            g = cJSON_CreateObject();
            cJSON_AddItemToArray(groups, g);
            cJSON_AddStringToObject(g, "target", key[0]);
            cJSON_AddStringToObject(g, "data", key[1]);
            cJSON_AddItemToObject(g, "settings", settings);
            points = cJSON_AddArrayToObject(g, "points");
            for (int c = 0; c < 3; c++) snprintf(last[c], sizeof last[c], "%s", key[c]);
        }
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(points, p);
        cJSON_AddNumberToObject(p, "step", (double)sqlite3_column_int64(st, 3));
        add_num_or_null(p, "llc_mean", st, 4);
        add_num_or_null(p, "llc_std", st, 5);
        add_num_or_null(p, "eps", st, 6);
        add_num_or_null(p, "nbeta", st, 7);
        add_num_or_null(p, "burnin", st, 8);
        add_num_or_null(p, "thin", st, 9);
        n_points++;
    }
    if (rc != SQLITE_DONE) {
        code = cli_error(EXIT_STORE, "baseline: %s", sqlite3_errmsg(db));
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
    sqlite3_finalize(st);
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
    "     (tests/make_baselines.sh regenerates the shipped ones in data/baselines/.)\n"
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

typedef struct {
    long long step;
    double mean, std;             /* expected; std may be NAN */
    double res[4];                /* recorded eps, nbeta, burnin, thin (NAN = not recorded) */
} exp_point;

typedef struct {
    const char *target, *data; /* borrowed from the parsed document */
    const cJSON *settings;
    exp_point *p;
    int n;
} exp_group;

typedef struct {
    cJSON *doc;
    const char *run, *task;
    const cJSON *config;
    double tol_abs, tol_rel, tol_std;
    exp_group *g;
    int n_groups, n_points;
} baseline;

static const char *const resolved_names[4] = {"eps", "nbeta", "burnin", "thin"};

static void baseline_free(baseline *b)
{
    for (int i = 0; i < b->n_groups; i++) free(b->g[i].p);
    free(b->g);
    cJSON_Delete(b->doc);
    memset(b, 0, sizeof *b);
}

static int is_int(const cJSON *v, double lo) { return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble == floor(v->valuedouble) && v->valuedouble <= 9007199254740992.0; }

/* The settings llc estimate records, and their types: numbers, or one
 * allowed word for the automatic choice. Each key K is passed back to llc
 * estimate as --K (with '_' as '-'); a key this list does not know (written
 * by a newer llc estimate) is passed on the same way if it is a number or a
 * string, and llc estimate judges it. */
static const struct {
    const char *key, *word; /* word: the string allowed instead of a number (NULL: none) */
    int is_string;          /* 1: must be a string */
} settings_keys[] = {{"sampler", NULL, 1}, {"eps", "auto", 0},      {"gamma", NULL, 0},       {"nbeta", "default", 0},
                     {"chains", NULL, 0},  {"draws", NULL, 0},      {"burnin", "auto", 0},    {"thin", "auto", 0},
                     {"batch", NULL, 0},   {"init_batches", NULL, 0}, {"mala_every", NULL, 0}, {"seed", NULL, 0},
                     {"version", NULL, 1}};
#define N_SETTINGS_KEYS ((int)(sizeof settings_keys / sizeof settings_keys[0]))

static int check_settings(const cJSON *s, int gi, char *err)
{
    for (const cJSON *it = s->child; it; it = it->next) {
        int k = -1;
        for (int i = 0; i < N_SETTINGS_KEYS; i++)
            if (strcmp(it->string, settings_keys[i].key) == 0) k = i;
        int bad_name = strlen(it->string) == 0 || strlen(it->string) > 40 || it->string[0] == '-';
        for (const char *c = it->string; *c && !bad_name; c++) bad_name = !(*c == '_' || (*c >= 'a' && *c <= 'z'));
        if (k < 0 && (bad_name || !(cJSON_IsNumber(it) || cJSON_IsString(it))))
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].settings.%s is not a sampler setting (settings are "
                            "lower_case names with a number or string value: sampler, eps, gamma, nbeta, chains, "
                            "draws, burnin, thin, batch, init_batches, mala_every, seed)", gi, it->string);
        if (k < 0) continue;
        if (settings_keys[k].is_string) {
            if (!cJSON_IsString(it))
                return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].settings.%s must be a string", gi, it->string);
        } else if (!cJSON_IsNumber(it) &&
                   !(settings_keys[k].word && cJSON_IsString(it) &&
                     (strcmp(it->valuestring, settings_keys[k].word) == 0 ||
                      (strcmp(it->string, "eps") == 0 && strcmp(it->valuestring, "auto@last") == 0)))) {
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].settings.%s must be a number%s%s%s", gi, it->string,
                            settings_keys[k].word ? " or \"" : "", settings_keys[k].word ? settings_keys[k].word : "",
                            settings_keys[k].word ? "\"" : "");
        }
    }
    return 0;
}

static int get_tol(const cJSON *tol, const char *key, double def, double *out, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tol, key);
    *out = def;
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
        return llc_fail(err, LLC_ERR_INVALID, "tolerance.%s must be a number >= 0", key);
    *out = v->valuedouble;
    return 0;
}

/* Parse and validate a baseline document. err names the problem. */
static int baseline_parse(const char *text, baseline *b, char *err)
{
    memset(b, 0, sizeof *b);
    b->doc = cJSON_Parse(text);
    if (!b->doc) {
        const char *at = cJSON_GetErrorPtr();
        size_t line = 1;
        if (at)
            for (const char *c = text; c < at && *c; c++) line += *c == '\n';
        if (!at || !*at) return llc_fail(err, LLC_ERR_INVALID, "not valid JSON (it ends early, at line %zu)", line);
        return llc_fail(err, LLC_ERR_INVALID, "not valid JSON (error at line %zu, near '%.20s')", line, at);
    }
    const cJSON *root = b->doc, *v;
    if (!cJSON_IsObject(root)) return llc_fail(err, LLC_ERR_INVALID, "the top level must be a JSON object");
    v = cJSON_GetObjectItemCaseSensitive(root, "llc_baseline");
    if (!v) return llc_fail(err, LLC_ERR_INVALID, "not an llc baseline (no \"llc_baseline\": %d; make one with llc baseline)", BASELINE_FORMAT);
    if (!cJSON_IsNumber(v) || v->valuedouble != BASELINE_FORMAT)
        return llc_fail(err, LLC_ERR_INVALID, "\"llc_baseline\" must be %d (the format this llc reads)", BASELINE_FORMAT);
    v = cJSON_GetObjectItemCaseSensitive(root, "run");
    if (!cJSON_IsString(v) || !cli_valid_run_id(v->valuestring))
        return llc_fail(err, LLC_ERR_INVALID, "\"run\" must be a run id (1-64 letters, digits, '_', '-', '.')");
    b->run = v->valuestring;
    b->config = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (!cJSON_IsObject(b->config)) return llc_fail(err, LLC_ERR_INVALID, "\"config\" must be an object (a run config)");
    v = cJSON_GetObjectItemCaseSensitive(b->config, "task");
    if (!cJSON_IsString(v)) return llc_fail(err, LLC_ERR_INVALID, "config.task must be a task name");
    b->task = v->valuestring;
    const cJSON *tol = cJSON_GetObjectItemCaseSensitive(root, "tolerance");
    if (tol && !cJSON_IsObject(tol))
        return llc_fail(err, LLC_ERR_INVALID, "\"tolerance\" must be an object {\"abs\": A, \"rel\": R, \"std\": K}");
    if (get_tol(tol, "abs", DEFAULT_TOL_ABS, &b->tol_abs, err) || get_tol(tol, "rel", DEFAULT_TOL_REL, &b->tol_rel, err) ||
        get_tol(tol, "std", DEFAULT_TOL_STD, &b->tol_std, err))
        return LLC_ERR_INVALID;
    const cJSON *est = cJSON_GetObjectItemCaseSensitive(root, "estimates");
    int ng = cJSON_IsArray(est) ? cJSON_GetArraySize(est) : 0;
    if (ng == 0) return llc_fail(err, LLC_ERR_INVALID, "\"estimates\" must be a non-empty array");
    if (!(b->g = calloc((size_t)ng, sizeof *b->g))) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    int gi = 0;
    for (const cJSON *ge = est->child; ge; ge = ge->next, gi++) {
        exp_group *g = &b->g[gi];
        b->n_groups = gi + 1;
        if (!cJSON_IsObject(ge)) return llc_fail(err, LLC_ERR_INVALID, "estimates[%d] must be an object", gi);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(ge, "target"), *d = cJSON_GetObjectItemCaseSensitive(ge, "data");
        if (!cJSON_IsString(t) || !*t->valuestring || strlen(t->valuestring) >= 64)
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].target must be a target name (e.g. \"model\", \"0.3\")", gi);
        if (!cJSON_IsString(d) || !*d->valuestring || strlen(d->valuestring) >= 64)
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].data must be a distribution name (e.g. \"train\")", gi);
        g->target = t->valuestring;
        g->data = d->valuestring;
        g->settings = cJSON_GetObjectItemCaseSensitive(ge, "settings");
        if (!cJSON_IsObject(g->settings))
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].settings must be an object", gi);
        if (check_settings(g->settings, gi, err)) return LLC_ERR_INVALID;
        const cJSON *pts = cJSON_GetObjectItemCaseSensitive(ge, "points");
        int np = cJSON_IsArray(pts) ? cJSON_GetArraySize(pts) : 0;
        if (np == 0) return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points must be a non-empty array", gi);
        if (!(g->p = calloc((size_t)np, sizeof *g->p))) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        int pi = 0;
        for (const cJSON *pe = pts->child; pe; pe = pe->next, pi++) {
            exp_point *p = &g->p[pi];
            g->n = pi + 1;
            if (!cJSON_IsObject(pe)) return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d] must be an object", gi, pi);
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(pe, "step"), *m = cJSON_GetObjectItemCaseSensitive(pe, "llc_mean"),
                        *sd = cJSON_GetObjectItemCaseSensitive(pe, "llc_std");
            if (!is_int(s, 0))
                return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].step must be an integer >= 0", gi, pi);
            if (!cJSON_IsNumber(m))
                return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].llc_mean must be a number", gi, pi);
            if (sd && !cJSON_IsNumber(sd) && !cJSON_IsNull(sd))
                return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].llc_std must be a number or null", gi, pi);
            p->step = (long long)s->valuedouble;
            for (int q = 0; q < pi; q++)
                if (g->p[q].step == p->step)
                    return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points has step %lld twice", gi, p->step);
            p->mean = m->valuedouble;
            p->std = cJSON_IsNumber(sd) ? sd->valuedouble : NAN;
            for (int r = 0; r < 4; r++) {
                const cJSON *x = cJSON_GetObjectItemCaseSensitive(pe, resolved_names[r]);
                if (x && !cJSON_IsNumber(x) && !cJSON_IsNull(x))
                    return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].%s must be a number or null", gi,
                                    pi, resolved_names[r]);
                p->res[r] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
            }
        }
        b->n_points += np;
        for (int q = 0; q < gi; q++)
            if (strcmp(b->g[q].target, g->target) == 0 && strcmp(b->g[q].data, g->data) == 0)
                for (int i = 0; i < g->n; i++)
                    for (int j = 0; j < b->g[q].n; j++)
                        if (g->p[i].step == b->g[q].p[j].step)
                            return llc_fail(err, LLC_ERR_INVALID, "target %s, data %s, step %lld appears in "
                                            "estimates[%d] and estimates[%d]", g->target, g->data, g->p[i].step, q, gi);
    }
    return 0;
}

/* Settings equal apart from the llc version that wrote them. */
static int same_settings(const cJSON *want, const char *got_text)
{
    cJSON *a = cJSON_Duplicate(want, 1), *b = cJSON_Parse(got_text);
    int same = 0;
    if (a && cJSON_IsObject(b)) {
        cJSON_DeleteItemFromObjectCaseSensitive(a, "version");
        cJSON_DeleteItemFromObjectCaseSensitive(b, "version");
        /* plain SGLD was recorded as sampler "none" before it was named "sgld" */
        for (cJSON *o = a; o; o = o == a ? b : NULL) {
            const cJSON *smp = cJSON_GetObjectItemCaseSensitive(o, "sampler");
            if (cJSON_IsString(smp) && strcmp(smp->valuestring, "none") == 0)
                cJSON_ReplaceItemInObjectCaseSensitive(o, "sampler", cJSON_CreateString("sgld"));
        }
        same = cJSON_Compare(a, b, 1);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}

/* --- re-running the experiment --- */

/* Run a subcommand in-process with stdout sent to stderr (or nowhere when
 * quiet), so that check's own stdout holds only its report. */
static int run_quietly(int (*fn)(int, char **), int argc, char **argv, int quiet)
{
    fflush(stdout);
    int saved = dup(1), target = quiet ? open("/dev/null", O_WRONLY) : 2;
    if (saved >= 0 && target >= 0) dup2(target, 1);
    int code = fn(argc, argv);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, 1);
        close(saved);
    }
    if (quiet && target >= 0) close(target);
    return code;
}

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

/* Append "--key value" for one requested setting. */
static int push(char **argv, int *argc, char *buf, size_t *used, size_t cap, const char *opt, const char *val)
{
    size_t lo = strlen(opt) + 1, lv = strlen(val) + 1;
    if (*used + lo + lv > cap || *argc + 2 > 64) return -1;
    argv[(*argc)++] = memcpy(buf + *used, opt, lo);
    *used += lo;
    argv[(*argc)++] = memcpy(buf + *used, val, lv);
    *used += lv;
    return 0;
}

/* Estimate one group in the temporary store with its recorded settings.
 * Returns the exit code of llc estimate. */
static int rerun_group(const exp_group *g, const char *run, const char *db, long long threads, int quiet)
{
    size_t cap = 4096 + (size_t)g->n * 24, used = 0;
    char *buf = malloc(cap), *argv[64], num[256];
    int argc = 0, ok = buf != NULL;
    if (!ok) return cli_error(EXIT_NOMEM, "check: out of memory");
    char *steps = malloc((size_t)g->n * 24 + 1);
    if (!steps) { free(buf); return cli_error(EXIT_NOMEM, "check: out of memory"); }
    size_t k = 0;
    for (int i = 0; i < g->n; i++) k += (size_t)sprintf(steps + k, "%s%lld", i ? "," : "", g->p[i].step);
    snprintf(num, sizeof num, "%lld", threads);
    ok = !push(argv, &argc, buf, &used, cap, "--run", run) && !push(argv, &argc, buf, &used, cap, "--db", db) &&
         !push(argv, &argc, buf, &used, cap, "--target", g->target) &&
         !push(argv, &argc, buf, &used, cap, "--data", g->data) &&
         !push(argv, &argc, buf, &used, cap, "--steps", steps) && !push(argv, &argc, buf, &used, cap, "--threads", num);
    for (const cJSON *v = g->settings->child; ok && v; v = v->next) {
        if (strcmp(v->string, "version") == 0) continue; /* who wrote it, not how */
        if (strcmp(v->string, "eps_ref_step") == 0) continue; /* where the automatic eps was chosen: derived */
        if (cJSON_IsString(v) && (strcmp(v->valuestring, "auto") == 0 || strcmp(v->valuestring, "auto@last") == 0 ||
                                  strcmp(v->valuestring, "default") == 0))
            continue; /* the automatic choice (eps: at the last checkpoint, llc estimate's default) */
        char opt[48] = "--";
        for (size_t i = 0; v->string[i] && i + 3 < sizeof opt; i++) opt[2 + i] = v->string[i] == '_' ? '-' : v->string[i];
        if (cJSON_IsString(v)) snprintf(num, sizeof num, "%s", v->valuestring);
        else if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15)
            snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
        else snprintf(num, sizeof num, "%.17g", v->valuedouble);
        ok = !push(argv, &argc, buf, &used, cap, opt, num);
    }
    if (ok && argc < 64) argv[argc++] = "--quiet";
    int code = ok ? run_quietly(cmd_estimate, argc, argv, quiet) : cli_error(EXIT_NOMEM, "check: too many settings");
    free(steps);
    free(buf);
    return code;
}

/* Train the recorded config, then estimate every group, in dir/llc.db.
 * failed[gi] = exit code of the group's estimate (0 ok). Returns 0 or the
 * exit code that ends the check. */
static int rerun(const baseline *b, const char *dir, long long threads, int quiet, int *failed)
{
    char cfg[4096], db[4096];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(db, sizeof db, "%s/llc.db", dir);
    char *txt = cJSON_Print(b->config);
    if (!txt) return cli_error(EXIT_NOMEM, "check: out of memory");
    FILE *f = fopen(cfg, "w");
    int bad = !f || fprintf(f, "%s\n", txt) < 0;
    if (f) bad |= fclose(f) != 0;
    cJSON_free(txt);
    if (bad) return cli_error(EXIT_IO, "check: cannot write '%s'", cfg);
    char run[72];
    snprintf(run, sizeof run, "%s", b->run);
    char *targv[] = {"--config", cfg, "--run", run, "--db", db, "--quiet"};
    int code = run_quietly(cmd_train, 7, targv, quiet);
    if (code) return cli_error(code, "check: re-training run '%s' with the baseline's config failed (exit %d, see above)",
                               b->run, code);
    for (int gi = 0; gi < b->n_groups; gi++) {
        failed[gi] = rerun_group(&b->g[gi], b->run, db, threads, quiet);
        if (failed[gi] == EXIT_USAGE)
            return cli_error(EXIT_USAGE, "check: llc estimate refused the settings of estimates[%d] (target %s, data %s)",
                             gi, b->g[gi].target, b->g[gi].data);
    }
    return 0;
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

/* Compare every expected point with the store's run; print the table. */
static int compare(const baseline *b, llc_store *s, const char *run, const int *failed, double tol_abs,
                   double tol_rel, double tol_std, tally *t)
{
    sqlite3 *db = llc_store_db(s);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT llc_mean, llc_std, status, settings, eps, nbeta, burnin, thin FROM estimates "
                           "WHERE run=?1 AND target=?2 AND data=?3 AND step=?4 ORDER BY id DESC",
                           -1, &st, NULL) != SQLITE_OK)
        return cli_error(EXIT_STORE, "check: %s", sqlite3_errmsg(db));
    printf("%-10s %-10s %8s %18s %18s %10s  %-9s %s\n", "target", "data", "step", "expected", "got", "diff",
           "verdict", "note");
    for (int gi = 0; gi < b->n_groups; gi++) {
        const exp_group *g = &b->g[gi];
        for (int pi = 0; pi < g->n; pi++) {
            const exp_point *p = &g->p[pi];
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, g->target, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, g->data, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, p->step);
            int rc, rows = 0, found = 0;
            double got = NAN, res[4] = {NAN, NAN, NAN, NAN};
            char status[32] = "";
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                rows++;
                if (!same_settings(g->settings, (const char *)sqlite3_column_text(st, 3))) continue;
                found = 1;
                got = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
                snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(st, 2));
                for (int r = 0; r < 4; r++)
                    res[r] = sqlite3_column_type(st, 4 + r) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 4 + r);
                break;
            }
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                sqlite3_finalize(st);
                return cli_error(EXIT_STORE, "check: %s", sqlite3_errmsg(db));
            }
            double diff = got - p->mean, ad = fabs(diff);
            const char *verdict;
            char note[160] = "";
            if (!found) {
                verdict = "missing";
                t->missing++;
                if (failed && failed[gi]) snprintf(note, sizeof note, "llc estimate failed (exit %d)", failed[gi]);
                else if (rows) snprintf(note, sizeof note, "estimated only with other settings");
                else snprintf(note, sizeof note, "no estimate");
            } else if (strcmp(status, "ok") != 0 || !isfinite(got)) {
                verdict = "REGRESSED";
                t->regressed++;
                snprintf(note, sizeof note, "status %s", status);
            } else if (ad <= tol_abs || ad <= tol_rel * fabs(p->mean) || (isfinite(p->std) && ad <= tol_std * p->std)) {
                verdict = "ok";
                t->ok++;
            } else {
                verdict = "REGRESSED";
                t->regressed++;
                if (isfinite(p->std) && p->std > 0) snprintf(note, sizeof note, "%.3g std", ad / p->std);
            }
            if (found) /* an automatic choice that moved explains a change */
                for (int r = 0; r < 4; r++)
                    if (isfinite(p->res[r]) && isfinite(res[r]) && res[r] != p->res[r]) {
                        size_t l = strlen(note);
                        snprintf(note + l, sizeof note - l, "%s%s %.4g (was %.4g)", l ? "; " : "", resolved_names[r],
                                 res[r], p->res[r]);
                    }
            char e[32], gbuf[32], dbuf[32];
            fmt_num(e, sizeof e, p->mean);
            fmt_num(gbuf, sizeof gbuf, got);
            if (isfinite(diff)) snprintf(dbuf, sizeof dbuf, "%.2e", diff);
            else snprintf(dbuf, sizeof dbuf, "-");
            char vcol[16];
            snprintf(vcol, sizeof vcol, note[0] ? "%-9s " : "%s", verdict);
            printf("%-10s %-10s %8lld %18s %18s %10s  %s%s\n", g->target, g->data, p->step, e, gbuf, dbuf, vcol, note);
        }
    }
    sqlite3_finalize(st);
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
    baseline b;
    llc_store *s = NULL;
    llc_run_info info = {0};
    int *failed = NULL, code = 0, rc, made_dir = 0;
    size_t len = 0;
    char *text = cli_read_file(path, &len);
    if (!text) return cli_error(EXIT_IO, "check: cannot read baseline '%s'", path);
    rc = baseline_parse(text, &b, err);
    free(text);
    if (rc) {
        baseline_free(&b);
        return cli_error(cli_exit_code(rc), "check: baseline '%s' is malformed: %s", path, err);
    }
    double tol_abs, tol_rel, tol_std;
    if (cli_get_double(a, "tol-abs", b.tol_abs, 0, 1e300, &tol_abs) ||
        cli_get_double(a, "tol-rel", b.tol_rel, 0, 1e300, &tol_rel) ||
        cli_get_double(a, "tol-std", b.tol_std, 0, 1e300, &tol_std)) {
        baseline_free(&b);
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
    baseline_free(&b);
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
        baseline b;
        char *text = cli_read_file(files[i], NULL);
        if (!text) { code = cli_error(EXIT_IO, "check: cannot read baseline '%s'", files[i]); goto cleanup; }
        rc = baseline_parse(text, &b, err);
        free(text);
        baseline_free(&b);
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
