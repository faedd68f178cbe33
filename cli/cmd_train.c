/* cmd_train.c - `llc train`: build the run's config, train, and write a dense
 * trajectory of checkpoints into the store; resumable bit-for-bit. */
#include "cli.h"
#include "llc_train_run.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc train --task NAME --run ID [--config FILE.json] [--set key=value]...\n"
    "                 [--steps N] [--seed S] [--db PATH] [--resume] [--init teacher] [--init-from RUN[:STEP]]\n"
    "Train a model on a task and write its checkpoints into the store (default ./llc.db or $LLC_DB).\n"
    "Without --config the shipped config data/configs/NAME.json is used. --set overrides one\n"
    "setting (model.*, train.*, data.* or a bare key such as lr=1e-3 or list_len=8).\n"
    "An existing run is refused unless --resume, which continues it from its last checkpoint\n"
    "(the config must be identical); the result is bit-identical to an uninterrupted run.\n"
    "Before training it prints the model's size, what the checkpoints will take and the memory needed,\n"
    "and refuses a run that does not fit in the machine's memory (exit 10) or the store's free disk\n"
    "(exit 2) unless --force-size; --dry-run stops after that check.\n"
    "--init-from RUN[:STEP] starts from that run's checkpoint (default its last) instead of a random init;\n"
    "the shapes must agree, except that the vocabulary may grow (the new tokens' embedding and\n"
    "unembedding rows keep the fresh init of the new run's seed). The stored config records it.\n";

static const cli_optdef defs[] = {
    {"task", 1, "task name: sort, modadd, icl, text, or the ground-truth linreg, dln, poly"},
    {"run", 1, "run id: letters, digits, '_', '-', '.', at most 64"},
    {"config", 1, "JSON config file (see data/configs/)"},
    {"set", 2, "override one setting, key=value (repeatable)"},
    {"steps", 1, "number of training steps (keeps the checkpoint schedule's shape)"},
    {"seed", 1, "random seed (default 1)"},
    {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
    {"resume", 0, "continue an existing, interrupted run"},
    {"init", 1, "'random' (default) or 'teacher' (ground-truth tasks: the true parameter)"},
    {"init-from", 1, "RUN[:STEP]: start from that run's checkpoint (default its last)"},
    {"dry-run", 0, "say the run's size and check that it fits, then stop (nothing written)"},
    {"force-size", 0, "train even if the run seems not to fit in the machine's memory or the store's disk"},
    {NULL, 0, NULL}};

int cli_valid_run_id(const char *id) { return llc_run_id_valid(id); }

/* Build the full config object from the command line (see cli.h). */
int cli_train_config(const cli_args *a, cJSON **out)
{
    char err[LLC_ERRLEN];
    cJSON *root = NULL;
    const char *task = cli_get(a, "task"), *file = cli_get(a, "config");
    char path[4096];
    if (!file && task) {
        char rel[256];
        snprintf(rel, sizeof rel, "configs/%s.json", task);
        if (cli_data_path(rel, path, sizeof path) == 0) file = path;
        /* these tasks ship a config: never fall back to the built-in defaults silently */
        static const char *const shipped[] = {"sort", "modadd", "icl", "text", NULL};
        for (int i = 0; !file && shipped[i]; i++)
            if (strcmp(task, shipped[i]) == 0)
                return cli_error(EXIT_IO, "%s: the shipped config %s is not found (looked in $LLC_DATA, "
                                 "<llc's dir>/../share/llc, <llc's dir>/../data): set LLC_DATA to the directory "
                                 "holding configs/, or give --config FILE", a->cmd, rel);
    }
    if (file) {
        char *text = cli_read_file(file, NULL, err);
        if (!text) return cli_error(EXIT_IO, "%s: cannot read config '%s': %s", a->cmd, file, err);
        int rc = llc_json_parse(text, file, &root, err);
        free(text);
        if (rc || !cJSON_IsObject(root)) {
            rc = rc ? cli_error(cli_exit_code(rc), "%s: %s", a->cmd, err)
                    : cli_error(EXIT_USAGE, "%s: '%s' must hold a JSON object {...} at the top level", a->cmd, file);
            cJSON_Delete(root);
            return rc;
        }
    } else {
        root = cJSON_CreateObject();
    }
    if (task) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "task");
        if (t) cJSON_ReplaceItemInObjectCaseSensitive(root, "task", cJSON_CreateString(task));
        else cJSON_AddStringToObject(root, "task", task);
    }
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "task"))) {
        cJSON_Delete(root);
        return cli_error(EXIT_USAGE, "%s: no task given: use --task NAME (one of sort, modadd, icl, text, linreg, dln, poly)", a->cmd);
    }
    const cJSON *tj = cJSON_GetObjectItemCaseSensitive(root, "task");
    for (int i = 0; cli_get_nth(a, "set", i); i++) {
        int rc = cli_check_set_key(a->cmd, tj->valuestring, cli_get_nth(a, "set", i));
        if (rc) {
            cJSON_Delete(root);
            return rc;
        }
        rc = llc_config_set(root, cli_get_nth(a, "set", i), err);
        if (rc) {
            cJSON_Delete(root);
            return cli_error(cli_exit_code(rc), "%s: %s", a->cmd, err);
        }
    }
    long long v;
    if (cli_has(a, "seed")) {
        if (cli_get_ll(a, "seed", 1, 0, 9007199254740991LL, &v)) { cJSON_Delete(root); return EXIT_USAGE; }
        cJSON_DeleteItemFromObjectCaseSensitive(root, "seed");
        cJSON_AddNumberToObject(root, "seed", (double)v);
    } else if (!cJSON_GetObjectItemCaseSensitive(root, "seed")) {
        cJSON_AddNumberToObject(root, "seed", 1);
    }
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (!cJSON_IsNumber(sd) || sd->valuedouble < 0 || sd->valuedouble != floor(sd->valuedouble)) {
        cJSON_Delete(root);
        return cli_error(EXIT_USAGE, "%s: 'seed' must be a non-negative integer", a->cmd);
    }
    if (cli_has(a, "steps")) {
        if (cli_get_ll(a, "steps", 0, 0, 1000000000LL, &v)) { cJSON_Delete(root); return EXIT_USAGE; }
        char s[64];
        snprintf(s, sizeof s, "train.steps=%lld", v);
        llc_config_set(root, s, err);
    }
    const char *init = cli_get(a, "init");
    if (init) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "init");
        cJSON_AddStringToObject(root, "init", init);
    }
    static const char *const inits[] = {"random", "teacher", NULL};
    int k;
    if (llc_json_choice(root, "init", "random", inits, &k, "config", err)) {
        cJSON_Delete(root);
        return cli_error(EXIT_USAGE, "%s: %s", a->cmd, err);
    }
    const char *from = cli_get(a, "init-from");
    if (from && init && strcmp(init, "random") != 0) {
        cJSON_Delete(root);
        return cli_error(EXIT_USAGE, "train: --init-from and --init %s both set the initial parameters; give one", init);
    }
    if (from) {
        char rid[80];
        const char *colon = strrchr(from, ':');
        size_t len = colon ? (size_t)(colon - from) : strlen(from);
        char *end = NULL;
        long long st = colon ? strtoll(colon + 1, &end, 10) : 0;
        if (len == 0 || len >= sizeof rid || (colon && (end == colon + 1 || *end || st < 0))) {
            cJSON_Delete(root);
            return cli_error(EXIT_USAGE, "train: --init-from '%s' must be RUN or RUN:STEP (STEP a checkpoint's "
                             "step, e.g. m1:3000)", from);
        }
        memcpy(rid, from, len);
        rid[len] = 0;
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "run", rid);
        if (colon) cJSON_AddNumberToObject(f, "step", (double)st);
        cJSON_DeleteItemFromObjectCaseSensitive(root, "init_from");
        cJSON_AddItemToObject(root, "init_from", f);
    }
    static const char *const top_keys[] = {"task", "seed", "init", "init_from", "data", "model", "train", NULL};
    if (llc_json_check_keys(root, top_keys, "config", err)) {
        cJSON_Delete(root);
        return cli_error(EXIT_USAGE, "%s: %s", a->cmd, err);
    }
    *out = root;
    return 0;
}

/* bytes as "12.3 MiB" or "4.56 GiB" into buf (32 bytes) */
static const char *size_text(double bytes, char *buf)
{
    if (bytes < 1073741824.0) snprintf(buf, 32, "%.1f MiB", bytes / 1048576);
    else snprintf(buf, 32, "%.2f GiB", bytes / 1073741824);
    return buf;
}

/* "llc train ARGS --resume" (shell-quoted where needed) into buf. */
static const char *resume_command(int argc, char **argv, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "llc train");
    int has_resume = 0;
    for (int i = 0; i < argc && k < n; i++) {
        const char *q = argv[i];
        has_resume |= strcmp(q, "--resume") == 0;
        int plain = *q != 0;
        for (const char *c = q; *c; c++) plain &= isalnum((unsigned char)*c) || strchr("_-./=:,@+", *c);
        k += (size_t)snprintf(buf + k, n - k, plain ? " %s" : " '%s'", q);
    }
    if (!has_resume && k < n) snprintf(buf + k, n - k, " --resume");
    return buf;
}

/* What the CLI keeps between the driver's callbacks. */
typedef struct {
    const cli_args *a;
    cli_progress prog;
    size_t vm0;
    long long tokens_per_step;
    int code; /* the exit code of a failed size check */
} train_ui;

/* The run's size said, and checked against memory and disk: before the
 * trainer is allocated, and again with it as allocated. */
static int train_check(const llc_train_plan *p, void *ctx)
{
    train_ui *u = ctx;
    const int force_size = cli_has(u->a, "force-size");
    if (p->allocated) {
        size_t vm1 = cli_vm_size();
        return (u->code = cli_mem_check("train", p->data, u->vm0 && vm1 > u->vm0 ? vm1 - u->vm0 : p->trainer_min, 1,
                                        0, force_size));
    }
    u->tokens_per_step = p->tokens_per_step;
    if (!u->a->quiet || cli_has(u->a, "dry-run")) {
        char dsk[32], mem[32];
        fprintf(stderr, "llc: train %s: %zu parameters; %d checkpoints x %.2f MiB = %s to write; about %s of memory\n",
                p->run, p->n_params, p->n_left, p->ckpt_bytes / 1048576, size_text(p->disk, dsk),
                size_text((double)cli_mem_need(p->trainer_min + p->data, 0), mem));
    }
    if ((u->code = cli_mem_check("train", p->trainer_min + p->data, 0, 1, 0, force_size))) return 1;
    if ((u->code = cli_disk_check("train", cli_db_path(u->a), p->disk, force_size))) return 1;
    u->vm0 = cli_vm_size();
    return 0;
}

static void train_progress(long long s, long long steps, long long start, double loss, double elapsed, void *ctx)
{
    train_ui *u = ctx;
    if (s == start) cli_progress_start(&u->prog, u->a, u->prog.what);
    cli_progress_update(&u->prog, (double)(s + 1), (double)steps, "loss %.4f  %.0f tok/s", loss,
                        (double)(s + 1 - start) * (double)u->tokens_per_step / (elapsed + 1e-9));
}

int cmd_train(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "train", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "train: --run ID is required (e.g. --run r1)");
    if (!cli_valid_run_id(run))
        return cli_error(EXIT_USAGE, "train: run id '%s' is invalid: use 1-64 letters, digits, '_', '-' or '.'", run);

    char err[LLC_ERRLEN] = "", cmd[1024], title[96];
    cJSON *root = NULL;
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_store *store = NULL;
    llc_train_result res = {0};
    int code = 0;
    train_ui ui = {.a = &a};
    snprintf(title, sizeof title, "train %s", run);
    ui.prog.what = title;

    if ((code = cli_train_config(&a, &root))) goto cleanup;
    /* the config checked before the store is opened: a bad one creates no store file */
    rc = llc_run_build(root, &task, &model, NULL, err);
    llc_model_free(model);
    llc_task_free(task);
    if (rc) {
        code = cli_error(cli_exit_code(rc), "train: %s", err);
        goto cleanup;
    }
    if ((code = cli_open_store(&a, LLC_STORE_RW, &store))) goto cleanup;
    cli_catch_signals();
    llc_train_run_opts o = {.resume = cli_has(&a, "resume"), .dry_run = cli_has(&a, "dry-run"),
                            .check = train_check, .progress = train_progress, .ctx = &ui};
    rc = llc_train_run(store, run, root, &o, &cli_signal_caught, &res, err);
    cli_progress_end(&ui.prog);
    if (ui.code) {
        code = ui.code;
    } else if (rc == LLC_ERR_INTERRUPTED) {
        code = cli_error(EXIT_INTERRUPTED, "train: %s: continue it with: %s", err,
                         resume_command(argc, argv, cmd, sizeof cmd));
    } else if (rc) {
        code = cli_error(cli_exit_code(rc), "train: %s", err);
    } else if (res.already_done) {
        if (!a.quiet) fprintf(stderr, "llc: run '%s' is already complete\n", run);
    } else if (!res.stopped) {
        printf("run %s: task %s, %zu params, %d checkpoints, steps %lld, train loss %.4f, test loss %.4f (chance %.4f), "
               "%.1fs\n", run, res.task->name, llc_model_n_params(res.model), res.n_sched, res.tc.steps,
               res.train_loss, res.test_loss, res.task->shape.chance_loss, res.seconds);
    }
cleanup:
    llc_train_result_free(&res);
    llc_store_close(store);
    cJSON_Delete(root);
    return code;
}
