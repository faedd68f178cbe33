/* cmd_plot.c - `llc plot`: standalone SVG pictures of a run, drawn by the
 * library (llc/llc_plot.h, llc/llc_plot_analysis.h). This file parses the
 * options, loads what the kind shows, opens the output file, calls the
 * kind's drawing function and prints the written path(s) to stdout.
 */
#include "cli.h"
#include "llc_plot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc plot --run ID|--group G|--runs GLOB [--aggregate] [--kind curves|heads|trace|embed|pattern|ov|probes|trajectory|log]\n"
    "                [--targets model,0.1,...|heads] [--data D] [--out FILE.svg] [--linear]\n"
    "                [--mark 100,2000] [--step S] [--steps A:B] [--heads 0.1,1.0] [--circuit ov|qk]\n"
    "                [--db PATH]\n"
    "Write an SVG picture of a run and print its path. Kinds:\n"
    "  curves  (default) LLC curves of the targets (mean, band = ±1 std over chains), train/test\n"
    "          loss on the right axis (dashed/dotted grey), --mark steps as vertical lines\n"
    "  heads   one panel per head (rows = layers, columns = heads), shared axes\n"
    "  trace   --step S: the SGLD loss trace of every chain of the newest estimate of the\n"
    "          target (--targets T, default model) at step S, with L_n(w*) as a dashed line\n"
    "  embed   d_model = 2 pooled models: token/position embeddings, normalised inputs, pooled\n"
    "          sequence embeddings and outputs of a batch coloured by class; --step S (default\n"
    "          the last checkpoint) or --steps A:B|every:K|S1,S2 for one file per checkpoint\n"
    "  pattern --step S: the attention pattern of each head (--heads, default all) on the probe\n"
    "          set's example sequence (--data, default test; --seed, default 1), a panel per head\n"
    "  ov      --step S: each head's OV circuit (--circuit qk: QK circuit), blue < 0 < red\n"
    "  probes  each head's stored probe curves (llc probe) next to its LLC curve, shared step axis\n"
    "  trajectory  PC1 against PC2 of llc trajectory's stored coordinates, points coloured by step\n"
    "          (dark = early), the stored stage boundaries (llc stages) ringed\n"
    "  log     loss and gradient norm at every step of the training log on log axes, spikes marked\n"
    "The step axis is symlog: linear from 0 to c, logarithmic above, the [0, c] part one decade\n"
    "wide, c = the largest 1, 2 or 5 x 10^k at or below the first positive step (--linear: linear).\n"
    "The loss axis is logarithmic when the losses span more than a factor 30.\n"
    "Default output: ID.svg (curves), ID-KIND.svg, ID-embed-STEP.svg (--steps; --out PREFIX\n"
    "gives PREFIX-STEP.svg).\n"
    "Several runs (curves only): --group G or --runs 'GLOB' instead of --run overlays one target\n"
    "(--target T, default model), a colour per run (default output G.svg or runs.svg); with\n"
    "--aggregate, per target (--targets) the mean across the runs with a band of ±1 sd across runs\n"
    "at the steps every run has, and the mean losses (default output G-mean.svg or runs-mean.svg).\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"kind", 1, "curves (default), heads, trace, embed, pattern, ov, probes, trajectory, "
                                              "log"},
                                  {"targets", 1, "curves: comma list of targets, 'heads' = every head (default: all)"},
                                  {"target", 1, "trace: the target (default model); same as --targets T"},
                                  {"data", 1, "data distribution of the estimates (embed: of the batch)"},
                                  {"out", 1, "output file (default ID.svg or ID-KIND.svg)"},
                                  {"linear", 0, "linear step axis (default symlog)"},
                                  {"mark", 1, "comma list of steps to mark with vertical lines"},
                                  {"step", 1, "trace, embed, pattern, ov: the checkpoint step"},
                                  {"heads", 1, "pattern, ov: the heads, e.g. 0.1,1.0 (default all)"},
                                  {"circuit", 1, "ov: 'ov' (default) or 'qk'"},
                                  {"seed", 1, "pattern: the probe set's seed (default 1, as llc probe)"},
                                  {"steps", 1, "embed: one frame per checkpoint in A:B, every:K or S1,S2,..."},
                                  {"color-by", 1, "heads: 'cluster' colours each head by its stored cluster"},
                                  {"group", 1, "curves: overlay the runs of group G (llc sweep), one colour each"},
                                  {"runs", 1, "curves: overlay the runs whose id matches GLOB, e.g. 'ih-*'"},
                                  {"aggregate", 0, "with --group/--runs: per target the mean and ±1 sd across runs"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

/* What every kind needs: the parsed options, the run (with its model for
 * embed, pattern and ov), its store s. */
typedef struct {
    cli_args *a;
    cli_run r;
    llc_store *s;
    const char *run;
    cJSON *config;
    llc_plot_opts o;
} plot_ctx;

static int cfg_int(const cJSON *c, const char *sec, const char *key, int def)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(c, sec);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : def;
}

/* Parse a full non-negative decimal integer. */
static int parse_ll(const char *s, long long *v)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+') return 0;
    *v = strtoll(s, &end, 10);
    return !errno && *end == '\0';
}

static int write_begin(const char *path, FILE **f)
{
    *f = fopen(path, "w");
    if (!*f) return cli_error(EXIT_IO, "plot: cannot write '%s': %s", path, strerror(errno));
    return 0;
}

/* Close the file the drawing rc wrote; on failure remove it. */
static int write_end(int rc, FILE *f, const char *path)
{
    if (fclose(f) != 0 && !rc) rc = LLC_ERR_IO;
    if (rc) {
        remove(path);
        if (rc == LLC_ERR_NOMEM) return cli_error(EXIT_NOMEM, "plot: out of memory");
        return cli_error(EXIT_IO, "plot: writing '%s' failed (disk full?)", path);
    }
    printf("%s\n", path);
    return 0;
}

/* A library error as the command's one line. */
static int plot_fail(int rc, const char *err)
{
    return cli_error(cli_exit_code(rc), "plot: %s", err[0] ? err : llc_strerror(rc));
}

static const char *targets_opt(const plot_ctx *c)
{
    return cli_get(c->a, "targets") ? cli_get(c->a, "targets") : cli_get(c->a, "target");
}

/* ---------------- the kinds ---------------- */

static int plot_curves(plot_ctx *c, const char *out, int heads)
{
    llc_plot_curves_data d;
    char err[LLC_ERRLEN] = "";
    FILE *f = NULL;
    int rc = llc_plot_curves_load(c->s, c->run, cli_get(c->a, "data"), heads ? NULL : targets_opt(c), heads, &d, err);
    if (rc) return plot_fail(rc, err);
    if (heads && cli_has(c->a, "color-by") && (rc = llc_plot_clusters_load(c->s, c->run, &d, err))) {
        llc_plot_curves_data_free(&d);
        return plot_fail(rc, err);
    }
    int code = write_begin(out, &f);
    if (!code) code = write_end(heads ? llc_plot_heads(f, &c->o, &d) : llc_plot_curves(f, &c->o, &d), f, out);
    llc_plot_curves_data_free(&d);
    return code;
}

static int plot_trace(plot_ctx *c, const char *out, long long step)
{
    const char *target = targets_opt(c);
    if (!target) target = "model";
    if (strchr(target, ','))
        return cli_error(EXIT_USAGE, "plot: --kind trace shows one target; got '%s'", target);
    llc_plot_trace_data d;
    char err[LLC_ERRLEN] = "";
    FILE *f = NULL;
    int rc = llc_plot_trace_load(c->s, c->run, step, target, cli_get(c->a, "data"), &d, err);
    if (rc) return plot_fail(rc, err);
    int code = write_begin(out, &f);
    if (!code) code = write_end(llc_plot_trace(f, &c->o, &d), f, out);
    llc_plot_trace_data_free(&d);
    return code;
}

/* The checkpoint steps of the embed frames: --steps, --step or the last. */
static int embed_steps(plot_ctx *c, long long **steps, int *n_steps)
{
    long long *all = NULL;
    int n_all = 0, code = 0, rc = llc_store_checkpoint_steps(c->s, c->run, &all, &n_all);
    if (rc) return cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(c->s));
    if (n_all == 0) {
        code = cli_error(EXIT_NOTFOUND, "plot: run %s has no checkpoints", c->run);
    } else if (cli_get(c->a, "steps")) {
        code = cli_select_steps("plot", cli_get(c->a, "steps"), all, n_all, steps, n_steps);
    } else {
        long long s1 = all[n_all - 1];
        if (cli_get(c->a, "step") && !parse_ll(cli_get(c->a, "step"), &s1))
            code = cli_error(EXIT_USAGE, "plot: --step must be a checkpoint step (integer >= 0), got '%s'",
                             cli_get(c->a, "step"));
        else if (!(*steps = malloc(sizeof **steps))) code = cli_error(EXIT_NOMEM, "plot: out of memory");
        else {
            (*steps)[0] = s1;
            *n_steps = 1;
        }
    }
    free(all);
    return code;
}

static int plot_embed(plot_ctx *c, const char *out_opt)
{
    llc_plot_embed *e = NULL;
    long long *steps = NULL;
    int n_steps = 0, code = 0, rc;
    char *path = NULL, err[LLC_ERRLEN] = "";
    FILE *f = NULL;
    const char *spec = cli_get(c->a, "steps");
    if ((rc = llc_plot_embed_new(c->r.task, c->r.model, cli_get(c->a, "data") ? cli_get(c->a, "data") : "train", &e, err)) ||
        (code = embed_steps(c, &steps, &n_steps)))
        goto fail;
    /* shared plane ranges over every frame, so the frames line up */
    for (int i = 0; i < n_steps; i++) {
        if ((rc = llc_plot_embed_frame(e, c->s, c->run, steps[i], err))) goto fail;
        llc_plot_embed_bounds_add(e);
    }
    char prefix[1024];
    if (out_opt) {
        snprintf(prefix, sizeof prefix, "%s", out_opt);
        size_t n = strlen(prefix);
        if (spec && n > 4 && strcmp(prefix + n - 4, ".svg") == 0) prefix[n - 4] = '\0';
    } else {
        snprintf(prefix, sizeof prefix, "%s-embed", c->run);
    }
    size_t plen = strlen(prefix) + 32;
    if (!(path = malloc(plen))) {
        code = cli_error(EXIT_NOMEM, "plot: out of memory");
        goto cleanup;
    }
    for (int i = 0; i < n_steps; i++) {
        if (spec) snprintf(path, plen, "%s-%lld.svg", prefix, steps[i]);
        else if (out_opt) snprintf(path, plen, "%s", prefix);
        else snprintf(path, plen, "%s.svg", prefix);
        if (n_steps > 1 && (rc = llc_plot_embed_frame(e, c->s, c->run, steps[i], err))) goto fail;
        if ((code = write_begin(path, &f))) goto cleanup;
        if ((code = write_end(llc_plot_embed_draw(f, &c->o, e), f, path))) goto cleanup;
    }
    goto cleanup;
fail:
    if (rc) code = plot_fail(rc, err);
cleanup:
    llc_plot_embed_free(e);
    free(steps);
    free(path);
    return code;
}

/* pattern, ov: a heatmap panel per head at one checkpoint. */
static int plot_matrices(plot_ctx *c, const char *out, int kind, long long step, long long seed)
{
    llc_plot_matrices_data d = {0};
    char err[LLC_ERRLEN] = "";
    FILE *f = NULL;
    const char *data = cli_get(c->a, "data") ? cli_get(c->a, "data") : "test";
    int code = 0, rc;
    if ((rc = llc_plot_matrices_load(c->s, c->run, c->r.task, c->r.model, kind, step, data, (uint64_t)seed,
                                          cli_get(c->a, "heads"), &d, err)))
        code = plot_fail(rc, err);
    else if (!(code = write_begin(out, &f)))
        code = write_end(llc_plot_matrices(f, &c->o, &d), f, out);
    llc_plot_matrices_data_free(&d);
    return code;
}

static int plot_probes(plot_ctx *c, const char *out)
{
    llc_plot_probes_data d;
    char err[LLC_ERRLEN] = "";
    FILE *f = NULL;
    int rc = llc_plot_probes_load(c->s, c->run, cli_get(c->a, "data"), NULL, &d, err);
    if (rc) return plot_fail(rc, err);
    int code = write_begin(out, &f);
    if (!code) code = write_end(llc_plot_probes(f, &c->o, &d), f, out);
    llc_plot_probes_data_free(&d);
    return code;
}

/* trajectory, log: the analysis pictures (llc_plot_analysis.h). */
static int plot_analysis(plot_ctx *c, const char *out, int traj)
{
    llc_plot_analysis_data d;
    char err[LLC_ERRLEN] = "", title[200];
    FILE *f = NULL;
    int rc = traj ? llc_plot_trajectory_load(c->s, c->run, &d, err) : llc_plot_log_load(c->s, c->run, &d, err);
    if (rc) return plot_fail(rc, err);
    snprintf(title, sizeof title, "%s (%s): %s", c->run, c->r.info.task,
             traj ? "developmental trajectory" : "training log");
    int code = write_begin(out, &f);
    if (!code)
        code = write_end(traj ? llc_plot_trajectory(f, title, &d.tr, d.marks, d.n_marks)
                              : llc_plot_log(f, title, d.loss.step, d.loss.value, d.grad.value, d.loss.n, d.marks,
                                             d.n_marks),
                         f, out);
    llc_plot_analysis_data_free(&d);
    return code;
}

/* --mark: stored stages or a comma list of steps into c->o. */
static int parse_marks(plot_ctx *c)
{
    const char *m = cli_get(c->a, "mark");
    if (strcmp(m, "stages") == 0) {
        char err[LLC_ERRLEN] = "";
        int rc = llc_plot_stage_marks(c->s, c->run, &c->o, err);
        return rc ? plot_fail(rc, err) : 0;
    }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", m);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long long v;
        if (!parse_ll(tok, &v)) return cli_error(EXIT_USAGE, "plot: --mark wants steps like 100,2000; got '%s'", m);
        if (c->o.n_marks == LLC_PLOT_MAX_MARKS)
            return cli_error(EXIT_USAGE, "plot: at most %d --mark steps", LLC_PLOT_MAX_MARKS);
        c->o.marks[c->o.n_marks++] = v;
    }
    if (c->o.n_marks == 0) return cli_error(EXIT_USAGE, "plot: --mark wants steps like 100,2000");
    return 0;
}

/* ---------------- the command ---------------- */

enum { K_CURVES, K_HEADS, K_TRACE, K_EMBED, K_PATTERN, K_OV, K_PROBES, K_TRAJECTORY, K_LOG };
static const char *const kind_names[] = {"curves", "heads", "trace",      "embed", "pattern",
                                         "ov",     "probes", "trajectory", "log",   NULL};

/* Options that do not apply to kind k are refused, not ignored; the step
 * (trace, pattern, ov: required) and the probe seed into *step, *seed. */
static int check_options(const cli_args *a, int k, long long *step, long long *seed)
{
    const char *kind = kind_names[k];
    if ((cli_has(a, "targets") || cli_has(a, "target")) && !(k == K_CURVES || k == K_TRACE))
        return cli_error(EXIT_USAGE, "plot: --targets applies to --kind curves and trace, not %s", kind);
    if (cli_has(a, "targets") && cli_has(a, "target"))
        return cli_error(EXIT_USAGE, "plot: give --targets or --target, not both");
    if ((cli_has(a, "linear") || cli_has(a, "mark")) && !(k == K_CURVES || k == K_HEADS || k == K_PROBES))
        return cli_error(EXIT_USAGE, "plot: --linear and --mark apply to --kind curves, heads and probes, not %s",
                         kind);
    const int with_step = k == K_TRACE || k == K_EMBED || k == K_PATTERN || k == K_OV;
    if (cli_has(a, "step") && !with_step)
        return cli_error(EXIT_USAGE, "plot: --step applies to --kind trace, embed, pattern and ov, not %s", kind);
    if (cli_has(a, "steps") && k != K_EMBED)
        return cli_error(EXIT_USAGE, "plot: --steps applies to --kind embed (one file per checkpoint), not %s", kind);
    if (cli_has(a, "steps") && cli_has(a, "step"))
        return cli_error(EXIT_USAGE, "plot: give --step or --steps, not both");
    if (cli_has(a, "heads") && !(k == K_PATTERN || k == K_OV))
        return cli_error(EXIT_USAGE, "plot: --heads applies to --kind pattern and ov, not %s", kind);
    if (cli_has(a, "seed") && k != K_PATTERN)
        return cli_error(EXIT_USAGE, "plot: --seed applies to --kind pattern, not %s", kind);
    if (cli_has(a, "circuit") && k != K_OV)
        return cli_error(EXIT_USAGE, "plot: --circuit applies to --kind ov, not %s", kind);
    if (cli_has(a, "circuit") && strcmp(cli_get(a, "circuit"), "ov") && strcmp(cli_get(a, "circuit"), "qk"))
        return cli_error(EXIT_USAGE, "plot: --circuit must be ov or qk, got '%s'", cli_get(a, "circuit"));
    if (cli_has(a, "data") && (k == K_TRAJECTORY || k == K_LOG))
        return cli_error(EXIT_USAGE, "plot: --data does not apply to --kind %s", kind);
    if (cli_has(a, "color-by") && (k != K_HEADS || strcmp(cli_get(a, "color-by"), "cluster") != 0))
        return cli_error(EXIT_USAGE, "plot: --color-by takes 'cluster' and applies to --kind heads");
    if (cli_has(a, "seed") && !parse_ll(cli_get(a, "seed"), seed))
        return cli_error(EXIT_USAGE, "plot: --seed must be an integer >= 0, got '%s'", cli_get(a, "seed"));
    if (with_step && k != K_EMBED) {
        const char *sv = cli_get(a, "step");
        if (!sv)
            return cli_error(EXIT_USAGE, "plot: --kind %s needs --step S (a checkpoint step%s)", kind,
                             k == K_TRACE ? " with an estimate" : "");
        if (!parse_ll(sv, step))
            return cli_error(EXIT_USAGE, "plot: --step must be a checkpoint step (integer >= 0), got '%s'", sv);
    }
    return 0;
}

/* --group G / --runs GLOB: the runs' curves overlaid, or their mean. */
static int plot_runs(plot_ctx *c)
{
    const char *grp = cli_get(c->a, "group"), *glob = cli_get(c->a, "runs"), *kind = cli_get(c->a, "kind");
    const int agg = cli_has(c->a, "aggregate");
    if (kind && strcmp(kind, "curves") != 0)
        return cli_error(EXIT_USAGE, "plot: --group and --runs apply to --kind curves, not %s", kind);
    if (cli_has(c->a, "run") || (grp && glob))
        return cli_error(EXIT_USAGE, "plot: give one of --run ID, --group G and --runs GLOB");
    if (cli_has(c->a, "mark") && strcmp(cli_get(c->a, "mark"), "stages") == 0)
        return cli_error(EXIT_USAGE, "plot: --mark stages marks one run's stages; give --mark STEPS with --group/--runs");
    long long step, seed;
    int code = check_options(c->a, K_CURVES, &step, &seed);
    if (code || (cli_has(c->a, "mark") && (code = parse_marks(c)))) return code;
    char **ids = NULL, err[LLC_ERRLEN] = "", title[128], sub[160], def_out[128];
    int n = 0, rc;
    llc_plot_curves_data d = {0};
    llc_run_info info = {0};
    FILE *f = NULL;
    if ((code = cli_open_store(c->a, LLC_STORE_READONLY, &c->s))) goto cleanup;
    if ((rc = llc_store_runs_select(c->s, grp, glob, &ids, &n)) ||
        (rc = llc_store_run_get(c->s, ids[0], &info))) {
        code = cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(c->s));
        goto cleanup;
    }
    if ((rc = llc_plot_runs_load(c->s, ids, n, cli_get(c->a, "data"), targets_opt(c), agg, &d, err))) {
        code = plot_fail(rc, err);
        goto cleanup;
    }
    snprintf(title, sizeof title, grp ? "group %s" : "runs '%s'", grp ? grp : glob);
    if (agg)
        snprintf(sub, sizeof sub, "mean over %d runs; band = ±1 sd across the runs, at the steps they all have", n);
    else
        snprintf(sub, sizeof sub, "target %s, %d runs; band = ±1 std over chains",
                 targets_opt(c) ? targets_opt(c) : "model", n);
    c->o.run = title;
    c->o.task = info.task;
    c->o.series_colors = !agg;
    c->o.subtitle = sub;
    const char *out = cli_get(c->a, "out");
    if (!out) {
        snprintf(def_out, sizeof def_out, "%s%s.svg", grp ? grp : "runs", agg ? "-mean" : "");
        out = def_out;
    }
    if (!(code = write_begin(out, &f))) code = write_end(llc_plot_curves(f, &c->o, &d), f, out);
cleanup:
    llc_plot_curves_data_free(&d);
    llc_run_info_free(&info);
    llc_strings_free(ids, n);
    llc_store_close(c->s);
    return code;
}

int cmd_plot(int argc, char **argv)
{
    cli_args a;
    plot_ctx c;
    memset(&c, 0, sizeof c);
    int rc = cli_parse(&a, "plot", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    c.a = &a;
    c.run = cli_get(&a, "run");
    if (cli_has(&a, "group") || cli_has(&a, "runs")) return plot_runs(&c);
    if (cli_has(&a, "aggregate")) return cli_error(EXIT_USAGE, "plot: --aggregate needs --group G or --runs GLOB");
    if (!c.run) return cli_error(EXIT_USAGE, "plot: --run ID (or --group G, or --runs GLOB) is required");
    if (!cli_valid_run_id(c.run))
        return cli_error(EXIT_USAGE, "plot: run id '%s' is not valid (1-64 characters of A-Z a-z 0-9 _ . -)", c.run);
    const char *kind = cli_get(&a, "kind") ? cli_get(&a, "kind") : "curves";
    int k = 0;
    while (kind_names[k] && strcmp(kind_names[k], kind) != 0) k++;
    if (!kind_names[k])
        return cli_error(EXIT_USAGE,
                         "plot: --kind must be curves, heads, trace, embed, pattern, ov, probes, trajectory or log, "
                         "got '%s'",
                         kind);
    long long step = -1, seed = 1;
    if ((rc = check_options(&a, k, &step, &seed))) return rc;
    const int k_curves = k == K_CURVES, k_heads = k == K_HEADS, k_embed = k == K_EMBED;
    c.o.linear = cli_has(&a, "linear");
    int stage_marks = cli_has(&a, "mark") && strcmp(cli_get(&a, "mark"), "stages") == 0;
    if (cli_has(&a, "mark") && !stage_marks && (rc = parse_marks(&c))) return rc;
    const char *out = cli_get(&a, "out");
    if (out && !*out) return cli_error(EXIT_USAGE, "plot: --out needs a file name");
    char def_out[128];
    if (!out && !k_embed) {
        if (k_curves) snprintf(def_out, sizeof def_out, "%s.svg", c.run);
        else snprintf(def_out, sizeof def_out, "%s-%s.svg", c.run, kind);
        out = def_out;
    }

    /* embed, pattern and ov draw from the model rebuilt from the run's config */
    int code = (k_embed || k == K_PATTERN || k == K_OV ? cli_open_run : cli_find_run)(&a, LLC_STORE_READONLY, c.run,
                                                                                        &c.r);
    if (code) goto cleanup;
    c.s = c.r.store;
    c.config = c.r.config ? c.r.config : (c.r.config = cJSON_Parse(c.r.info.config ? c.r.info.config : ""));
    if (!c.config) {
        code = cli_error(EXIT_STORE, "plot: run %s has an unreadable config in the store", c.run);
        goto cleanup;
    }
    c.o.run = c.run;
    c.o.task = c.r.info.task;
    c.o.n_layers = cfg_int(c.config, "model", "n_layers", 1);
    c.o.n_heads = cfg_int(c.config, "model", "n_heads", 1);
    if (stage_marks && (code = parse_marks(&c))) goto cleanup;
    switch (k) {
    case K_CURVES:
    case K_HEADS: code = plot_curves(&c, out, k_heads); break;
    case K_TRACE: code = plot_trace(&c, out, step); break;
    case K_EMBED: code = plot_embed(&c, cli_get(&a, "out")); break;
    case K_PATTERN: code = plot_matrices(&c, out, LLC_PLOT_PATTERN, step, seed); break;
    case K_OV:
        code = plot_matrices(&c, out, cli_has(&a, "circuit") && !strcmp(cli_get(&a, "circuit"), "qk") ? LLC_PLOT_QK
                                                                                                        : LLC_PLOT_OV,
                             step, seed);
        break;
    case K_PROBES: code = plot_probes(&c, out); break;
    default: code = plot_analysis(&c, out, k == K_TRAJECTORY); break;
    }
cleanup:
    cli_run_close(&c.r);
    return code;
}
