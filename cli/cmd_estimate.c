/* cmd_estimate.c - `llc estimate`: SGLD estimates of the LLC of the whole
 * model, of single heads / layers / any named group (weight-refined), on any
 * task distribution (data-refined), at every checkpoint of a run; results go
 * into the store. `llc curves` prints them. */
#include "cli.h"
#include "llc_mpi.h"
#include "llc_estimate_run.h"
#include "llc_estimate_settings.h"
#include "llc_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: llc estimate --run ID [--model] [--head L.H]... [--heads all] [--layer L]... [--target NAME]...\n"
    "                    [--data DIST] [--steps SPEC] [sampler options] [--threads N] [--force] [--db PATH]\n"
    "Estimate the local learning coefficient at each selected checkpoint of a run and write it to the\n"
    "store (table estimates, view curves). Default target: the whole model; default steps: all.\n"
    "  --steps 0:5000 (a range), every:5 (every 5th checkpoint), 100,200,400 (a list)\n"
    "  --data  a task distribution for data-refined estimates (e.g. code for the text task)\n"
    "Without --eps the step size is chosen automatically (see README): for minibatch SGLD once per\n"
    "target at the run's last checkpoint and used at every checkpoint (--eps-at each: at every one),\n"
    "and each minibatch step is then Metropolis-adjusted on its batch under that step size, two steps\n"
    "per batch (--metropolis off: plain SGLD; with --eps it is plain unless --metropolis on).\n"
    "Estimates that already exist with the same settings are skipped; --force recomputes them.\n"
    "--check-bias repeats each estimate with the SGLD batch x4 and with eps/2, each chain as long as the\n"
    "estimate's in simulated time; it passes when lambda-hat moves by at most max(5%, 2 se, 0.05).\n"
    "Memory: the forward pass at w* on each SGLD batch is kept (up to --cache-mb, by default 1/8 of the\n"
    "machine's RAM and at most 1 GiB) and shared by the targets at a checkpoint; a smaller cap only\n"
    "recomputes it (slower), the numbers stay the same.\n";

static const cli_optdef defs[] = {
    {"run", 1, "run id"},
    {"model", 0, "the whole model (default)"},
    {"head", 2, "a head L.H, e.g. 1.3 (repeatable)"},
    {"heads", 1, "'all': every head of the model"},
    {"layer", 2, "a layer L (repeatable)"},
    {"target", 2, "any named parameter group, e.g. embed, unembed, 'mlp 0' (repeatable)"},
    {"data", 1, "task distribution (default train)"},
    {"steps", 1, "checkpoints: A:B, every:K or a list S1,S2,..."},
    {"eps", 1, "SGLD step size (default: automatic)"},
    {"eps-at", 1, "automatic step size chosen once at the 'last' checkpoint (default) or at 'each'"},
    {"gamma", 1, "localisation strength γ"},
    {"nbeta", 1, "inverse temperature nβ (default: n/log n for finite data, else m/log m)"},
    {"chains", 1, "chains (default 4)"},
    {"draws", 1, "draws per chain (default 200)"},
    {"burnin", 1, "burn-in steps (default automatic)"},
    {"thin", 1, "keep every k-th draw (default automatic)"},
    {"batch", 1, "SGLD minibatch size (default 32)"},
    {"init-batches", 1, "batches averaged for L_n(w*) (default 16)"},
    {"sampler", 1, "sgld or rmsprop (default sgld)"},
    {"metropolis", 1, "auto (default: on iff the loss is exact or eps automatic), on, off, or exact (iff exact)"},
    {"mh-block", 1, "Metropolis on minibatches: steps per batch (default 2)"},
    {"mala-every", 1, "MALA acceptance diagnostic every k steps (0 = off)"},
    {"paired", 1, "auto (default: on with minibatches), on, or off (the classic L_n(w*) subtraction)"},
    {"seed", 1, "random seed (default 0)"},
    {"check-bias", 0, "also re-estimate with the SGLD batch x4 and with eps/2; store and print the verdict"},
    {"threads", 1, "threads for chains (default: all cores)"},
    {"cache-mb", 1, "memory for the shared pass at w* (MiB; default 1/8 of RAM, at most 1024; 0 = none)"},
    {"force", 0, "recompute existing estimates"},
    {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
    {NULL, 0, NULL}};

typedef struct {
    char (*name)[64];
    int n, cap;
} target_list;

static int add_target(target_list *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0) return 0;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char(*nn)[64] = realloc(t->name, (size_t)cap * sizeof *nn);
        if (!nn) return -1;
        t->name = nn;
        t->cap = cap;
    }
    snprintf(t->name[t->n++], 64, "%s", name);
    return 0;
}

static int read_sampler_options(const cli_args *a, llc_estimate_config *c)
{
    long long v;
    double d;
    if (cli_get_double(a, "eps", 0, 1e-300, 10, &d)) return EXIT_USAGE;
    if (cli_has(a, "eps")) c->sgld.eps = d;
    if (cli_get_double(a, "gamma", c->sgld.gamma, 0, 1e12, &c->sgld.gamma)) return EXIT_USAGE;
    if (cli_get_double(a, "nbeta", 0, 1e-300, 1e15, &d)) return EXIT_USAGE;
    if (cli_has(a, "nbeta")) { c->sgld.nbeta = d; c->nbeta_mode = LLC_NBETA_GIVEN; }
    if (cli_get_ll(a, "chains", c->chains, 1, 1024, &v)) return EXIT_USAGE;
    c->chains = (int)v;
    if (cli_get_ll(a, "draws", c->draws, 1, 100000000, &v)) return EXIT_USAGE;
    c->draws = (int)v;
    if (cli_has(a, "burnin")) {
        if (cli_get_ll(a, "burnin", 0, 0, 100000000, &v)) return EXIT_USAGE;
        c->burnin = (int)v;
    }
    if (cli_has(a, "thin")) {
        if (cli_get_ll(a, "thin", 1, 1, 100000, &v)) return EXIT_USAGE;
        c->thin = (int)v;
    }
    if (cli_get_ll(a, "batch", c->batch, 1, 1 << 20, &v)) return EXIT_USAGE;
    c->batch = (int)v;
    if (cli_get_ll(a, "init-batches", c->init_batches, 1, 1 << 20, &v)) return EXIT_USAGE;
    c->init_batches = (int)v;
    if (cli_get_ll(a, "mala-every", c->sgld.mala_every, 0, 1 << 20, &v)) return EXIT_USAGE;
    c->sgld.mala_every = (int)v;
    if (cli_get_ll(a, "seed", 0, 0, 9007199254740991LL, &v)) return EXIT_USAGE;
    c->seed = (uint64_t)v;
    const char *pr = cli_get(a, "paired");
    if (pr) {
        if (strcmp(pr, "auto") == 0) c->paired = -1;
        else if (strcmp(pr, "on") == 0) c->paired = 1;
        else if (strcmp(pr, "off") == 0) c->paired = 0;
        else return cli_error(EXIT_USAGE, "estimate: --paired must be auto, on or off, got '%s'", pr);
    }
    const char *mh = cli_get(a, "metropolis");
    if (mh) {
        if (strcmp(mh, "auto") == 0) c->metropolis = LLC_MH_AUTO;
        else if (strcmp(mh, "on") == 0) c->metropolis = LLC_MH_ON;
        else if (strcmp(mh, "off") == 0) c->metropolis = LLC_MH_OFF;
        else if (strcmp(mh, "exact") == 0) c->metropolis = LLC_MH_EXACT;
        else return cli_error(EXIT_USAGE, "estimate: --metropolis must be auto, on, off or exact, got '%s'", mh);
    }
    if (cli_get_ll(a, "mh-block", c->sgld.block, 1, LLC_SGLD_MAX_BLOCK, &v)) return EXIT_USAGE;
    c->sgld.block = (int)v;
    const char *s = cli_get(a, "sampler");
    if (s) {
        int p = llc_precond_parse(s);
        if (p < 0) return cli_error(EXIT_USAGE, "estimate: --sampler must be sgld or rmsprop, got '%s'", s);
        c->sgld.precond = (llc_precond)p;
    }
    long ncpu = cli_cores();
    if (cli_get_ll(a, "threads", ncpu, 1, 1024, &v)) return EXIT_USAGE;
    c->rt.threads = (int)v;
    char err[LLC_ERRLEN];
    if (llc_estimate_config_check(c, err)) return cli_error(EXIT_USAGE, "estimate: %s", err);
    return 0;
}

/* The targets asked for (default: the whole model) and their groups; an
 * exit code, the message printed. */
static int make_targets(const cli_args *a, const char *run, llc_model *model, target_list *tl, llc_group **out)
{
    const char *heads = cli_get(a, "heads");
    char err[LLC_ERRLEN] = "";
    int rc;
    if (cli_has(a, "model") || !(cli_has(a, "head") || heads || cli_has(a, "layer") || cli_has(a, "target")))
        add_target(tl, "model");
    const char *v;
    for (int i = 0; (v = cli_get_nth(a, "head", i)); i++) {
        if (!cli_valid_head(v)) {
            return cli_error(EXIT_USAGE, "estimate: --head takes L.H (layer.head, e.g. 0.3), got '%s'%s%s", v,
                             strchr(v, '.') ? "" : "; for a whole layer use --layer ", strchr(v, '.') ? "" : v);
        }
        add_target(tl, v);
    }
    for (int i = 0; (v = cli_get_nth(a, "layer", i)); i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "layer %s", v);
        add_target(tl, nm);
    }
    for (int i = 0; (v = cli_get_nth(a, "target", i)); i++) add_target(tl, v);
    if (heads) {
        if (strcmp(model->kind, "transformer") != 0) {
            return cli_error(EXIT_USAGE, "estimate: --heads all needs a transformer; run '%s' is a %s", run,
                             model->kind);
        }
        const llc_tf_config *tc = llc_transformer_config(model);
        for (int l = 0; l < tc->n_layers; l++)
            for (int h = 0; h < tc->n_heads; h++) {
                char nm[32];
                snprintf(nm, sizeof nm, "%d.%d", l, h);
                add_target(tl, nm);
            }
    }
    const char **names = malloc((size_t)tl->n * sizeof *names);
    if (!names) return cli_error(EXIT_NOMEM, "estimate: out of memory");
    for (int i = 0; i < tl->n; i++) names[i] = tl->name[i];
    rc = llc_sweep_groups(model, names, tl->n, out, err);
    free(names);
    if (rc) return cli_error(cli_exit_code(rc), "estimate: %s", err);
    return 0;
}

/* Memory still to allocate: per chain thread a model workspace (measured on
 * one: it is written when made) and a sampler (a few vectors of the
 * parameters), the chains' states and traces. */
static int check_memory(llc_model *model, const llc_estimate_config *ec)
{
    size_t n_params = llc_model_n_params(model);
    const int T = ec->rt.threads < ec->chains ? ec->rt.threads : ec->chains;
    size_t rss0 = cli_rss_size();
    void *ws = model->ws_alloc(model, ec->batch);
    size_t rss1 = cli_rss_size(), per = 8 * n_params * sizeof(float);
    per += ws && rss0 && rss1 > rss0 ? rss1 - rss0 : per;
    if (ws) model->ws_free(ws);
    size_t need = (size_t)T * per + 2 * (size_t)ec->chains * n_params * sizeof(float) +
                  (size_t)ec->chains * (size_t)ec->draws * sizeof(double);
    return cli_mem_check("estimate", need, 0, T, T > 1 ? T : 0, 0);
}

/* The base-record cache's limit: --cache-mb, else 1/8 of physical memory,
 * at most 1 GiB. */
static int cache_limit(const cli_args *a, long long *mb)
{
    long long def = (long long)sysconf(_SC_PHYS_PAGES) / 8 * (long long)sysconf(_SC_PAGE_SIZE) >> 20;
    if (def <= 0 || def > 1024) def = 1024;
    return cli_get_ll(a, "cache-mb", def, 0, 1 << 20, mb);
}

typedef struct {
    const cli_args *a;
    const char *run;
    cli_progress prog;
} estimate_ui;

/* The sweep's lines: a skipped checkpoint, the step size chosen (-v), the
 * bias check, a negative estimate's warning, each estimate (-v), progress. */
static void on_sweep_event(const llc_sweep_event *e, void *ctx)
{
    estimate_ui *u = ctx;
    const llc_estimate_result *r = e->result;
    if (e->kind == LLC_SWEEP_BAD_CHECKPOINT) {
        cli_progress_end(&u->prog);
        fprintf(stderr, "llc: estimate: checkpoint %s/%lld skipped: %s\n", u->run, e->step, e->msg);
        return;
    }
    if (e->kind == LLC_SWEEP_EPS_CHOSEN) {
        if (u->a->verbose)
            fprintf(stderr, "llc: %s target %s: eps %.3g chosen at step %lld (%.1fs): %s\n", u->run, e->target,
                    e->eps_auto->eps, e->step, e->eps_auto->seconds, e->eps_auto->reason);
        return;
    }
    if (cli_has(u->a, "check-bias")) {
        const llc_bias_check *b = &r->bias;
        printf("%s step %lld target %s: llc %.4f; batch %d: %.4f (%+.1f%%), eps/2: %.4f (%+.1f%%): bias check %s\n",
               u->run, e->step, e->target, b->llc, b->batch, b->llc_batch, 100 * (b->llc_batch - b->llc) / fabs(b->llc),
               b->llc_half, 100 * (b->llc_half - b->llc) / fabs(b->llc), b->pass ? "pass" : "FAIL");
    }
    if (e->negative && !u->a->quiet)
        fprintf(stderr, "llc: warning: %s step %lld target %s: llc %.4f ± %.4f is significantly below 0 "
                "(see llc curves, note NEGATIVE)\n", u->run, e->step, e->target, r->llc_mean, r->llc_std);
    if (u->a->verbose)
        fprintf(stderr, "llc: %s step %lld target %s: llc %.4f ± %.4f (eps %.3g, nbeta %.4g, %s)\n", u->run, e->step,
                e->target, r->llc_mean, r->llc_std, r->eps, r->nbeta, r->status);
    cli_progress_update(&u->prog, (double)(e->done + e->skipped), (double)e->total, "step %lld target %s", e->step,
                        e->target);
}

/* The sweep's summary lines; the exit code of checkpoints that could not be
 * estimated (0 if none). */
static int print_summary(const cli_args *a, const char *run, const llc_sweep_result *res, int n_steps)
{
    printf("run %s: %d estimates written, %d already present, %d with diverged chains, %d significantly negative, "
           "%.1fs\n", run, res->done, res->skipped, res->diverged, res->negative, res->seconds);
    if (cli_has(a, "check-bias")) {
        llc_estimate_config d; /* the absolute tolerance: the default resolution of lambda-hat */
        llc_estimate_config_default(&d);
        printf("run %s: bias check: %d of %d estimates moved by more than max(5%%, 2 se, %g)\n", run, res->bias_fail,
               res->done, d.auto_abs_se);
    }
    if (!res->n_bad) return 0;
    return cli_error(cli_exit_code(res->first_bad), "estimate: %d of %d checkpoints could not be estimated "
                     "(recorded with status %s; first: %s); the other estimates are written",
                     res->n_bad, n_steps, LLC_RESULTS_BAD_CHECKPOINT, res->first_bad_msg);
}

int cmd_estimate(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "estimate", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "estimate: --run ID is required");
    const char *heads = cli_get(&a, "heads");
    if (heads && strcmp(heads, "all"))
        return cli_error(EXIT_USAGE, "estimate: --heads takes 'all' (use --head L.H for one head), got '%s'", heads);

    llc_estimate_config ec;
    llc_estimate_config_default(&ec);
    char err[LLC_ERRLEN] = "";
    cli_run r = {0};
    long long *steps = NULL, ref_step = 0;
    char *settings = NULL;
    target_list tl = {0};
    llc_group *groups = NULL;
    int code = 0, n_steps = 0, swept = 0;
    llc_sweep_result res = {0};
    const char **names = NULL; /* the targets' names */

    /* estimates need a trained run: a missing store is not created here */
    if (access(cli_db_path(&a), F_OK) != 0) {
        code = cli_error(EXIT_NOTFOUND, "estimate: no store at %s, so no run '%s' (llc train creates the store)",
                         cli_db_path(&a), run);
        goto cleanup;
    }
    if ((code = cli_open_run(&a, LLC_STORE_RW, run, &r))) goto cleanup;
    llc_model *model = r.model;
    llc_task *task = r.task;
    /* defaults that depend on the model: transformers at training checkpoints
     * need a tighter localisation than the ground-truth models at their minimum */
    if (strcmp(model->kind, "transformer") == 0) ec.sgld.gamma = 100;
    if ((code = read_sampler_options(&a, &ec))) goto cleanup;
    long long cache_mb;
    if (cache_limit(&a, &cache_mb)) { code = EXIT_USAGE; goto cleanup; }
    cli_catch_signals();
    ec.rt.interrupt = &cli_signal_caught;
    const char *data = cli_get(&a, "data");
    if (!data) data = "train";
    if ((code = cli_task_dist(a.cmd, task, data, &ec.dist))) goto cleanup;

    if ((code = make_targets(&a, run, model, &tl, &groups))) goto cleanup;

    if ((code = cli_run_steps(&a, &r, &steps, &n_steps, &ref_step))) goto cleanup;

    const char *eps_at = cli_get(&a, "eps-at");
    if (eps_at && strcmp(eps_at, "last") && strcmp(eps_at, "each")) {
        code = cli_error(EXIT_USAGE, "estimate: --eps-at must be 'last' or 'each', got '%s'", eps_at);
        goto cleanup;
    }
    /* the automatic eps of the plain-SGLD path, chosen once per target at
     * the run's last checkpoint (the ladder costs more than an estimate) */
    const int per_traj = !(ec.sgld.eps > 0) && !(eps_at && strcmp(eps_at, "each") == 0);
    llc_estimate_settings_opts sopts = {.per_traj = per_traj, .check_bias = cli_has(&a, "check-bias")};
    settings = llc_estimate_settings_json(&ec, &sopts, ref_step);
    if (!settings) {
        code = cli_error(EXIT_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    if ((code = check_memory(model, &ec))) goto cleanup;

    char title[96];
    snprintf(title, sizeof title, "estimate %s", run);
    estimate_ui ui = {.a = &a, .run = run};
    if (!(names = malloc((size_t)tl.n * sizeof *names))) {
        code = cli_error(EXIT_NOMEM, "estimate: out of memory");
        goto cleanup;
    }
    for (int i = 0; i < tl.n; i++) names[i] = tl.name[i];
    cli_progress_start(&ui.prog, &a, title);
    llc_sweep_opts so = {.run = run, .config = r.info.config, .model = model, .task = task, .groups = groups,
                         .targets = names, .n_targets = tl.n, .steps = steps,
                         .n_steps = n_steps, .ref_step = ref_step, .per_traj = per_traj, .data = data,
                         .settings = settings, .force = cli_has(&a, "force"), .check_bias = cli_has(&a, "check-bias"),
                         .cache_bytes = (size_t)cache_mb << 20, .on_event = on_sweep_event, .ctx = &ui};
    rc = llc_estimate_sweep(r.store, &ec, &so, &res, err);
    swept = 1;
    cli_progress_end(&ui.prog);
    if (rc == LLC_ERR_INTERRUPTED) {
        /* at a safe point: every estimate finished so far is committed, none is half-written */
        code = cli_error(EXIT_INTERRUPTED, "estimate: %s by %s%s; the %d estimates finished are kept; "
                         "run the same command again to continue", llc_mpi_size() > 1 ? "stopped" : "interrupted",
                         cli_signal_name(cli_signal_caught),
                         llc_mpi_size() > 1 ? " (under mpirun: a rank ended, killed or out of memory, or the job "
                                              "was cancelled)" : "", res.done);
        goto cleanup;
    }
    if (rc) {
        code = cli_error(cli_exit_code(rc), "estimate: %s", err);
        goto cleanup;
    }
    code = print_summary(&a, run, &res, n_steps);
cleanup:
    if (swept && a.verbose) {
        fprintf(stderr, "llc: paired losses at w*: %ld computed, %ld shared between targets\n", res.pair_misses,
                res.pair_hits);
        /* what llc bench --mpi reads */
        fprintf(stderr, "llc: units: %d on %d ranks, compute %.6f s, messages %.0f bytes in %.6f s, "
                "%d writes in %.6f s, wall %.6f s\n", res.units, llc_mpi_size(), res.unit_seconds, res.msg_bytes,
                res.msg_seconds, res.writes, res.write_seconds, res.seconds);
    }
    if (groups)
        for (int i = 0; i < tl.n; i++) llc_group_free(&groups[i]);
    free(groups);
    free(tl.name);
    free(names);
    cJSON_free(settings);
    free(steps);
    cli_run_close(&r);
    return code;
}
