/* cmd_train.c - `llc train`: build the run's config, train, and write a dense
 * trajectory of checkpoints into the store; resumable bit-for-bit. */
#include "cli.h"
#include "llc_regress.h"

#include <cblas.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc train --task NAME --run ID [--config FILE.json] [--set key=value]...\n"
    "                 [--steps N] [--seed S] [--db PATH] [--resume] [--init teacher]\n"
    "Train a model on a task and write its checkpoints into the store (default ./llc.db or $LLC_DB).\n"
    "Without --config the shipped config data/configs/NAME.json is used. --set overrides one\n"
    "setting (model.*, train.*, data.* or a bare key such as lr=1e-3 or list_len=8).\n"
    "An existing run is refused unless --resume, which continues it from its last checkpoint\n"
    "(the config must be identical); the result is bit-identical to an uninterrupted run.\n"
    "Before training it prints the model's size, what the checkpoints will take and the memory needed,\n"
    "and refuses a run that does not fit in the machine's memory (exit 10) or the store's free disk\n"
    "(exit 2) unless --force-size; --dry-run stops after that check.\n";

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
    {"dry-run", 0, "say the run's size and check that it fits, then stop (nothing written)"},
    {"force-size", 0, "train even if the run seems not to fit in the machine's memory or the store's disk"},
    {NULL, 0, NULL}};

int cli_valid_run_id(const char *id) { return llc_run_id_valid(id); }

/* Build the full config object from the command line. */
static int make_config(const cli_args *a, cJSON **out)
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
                return cli_error(EXIT_IO, "train: the shipped config %s is not found (looked in $LLC_DATA, "
                                 "<llc's dir>/../share/llc, <llc's dir>/../data): set LLC_DATA to the directory "
                                 "holding configs/, or give --config FILE", rel);
    }
    if (file) {
        char *text = cli_read_file(file, NULL, err);
        if (!text) return cli_error(EXIT_IO, "train: cannot read config '%s': %s", file, err);
        int rc = llc_json_parse(text, file, &root, err);
        free(text);
        if (rc || !cJSON_IsObject(root)) {
            rc = rc ? cli_error(cli_exit_code(rc), "train: %s", err)
                    : cli_error(EXIT_USAGE, "train: '%s' must hold a JSON object {...} at the top level", file);
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
        return cli_error(EXIT_USAGE, "train: no task given: use --task NAME (one of sort, modadd, icl, text, linreg, dln, poly)");
    }
    const cJSON *tj = cJSON_GetObjectItemCaseSensitive(root, "task");
    for (int i = 0; cli_get_nth(a, "set", i); i++) {
        int rc = cli_check_set_key("train", tj->valuestring, cli_get_nth(a, "set", i));
        if (rc) {
            cJSON_Delete(root);
            return rc;
        }
        rc = llc_config_set(root, cli_get_nth(a, "set", i), err);
        if (rc) {
            cJSON_Delete(root);
            return cli_error(cli_exit_code(rc), "train: %s", err);
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
        return cli_error(EXIT_USAGE, "train: 'seed' must be a non-negative integer");
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
        return cli_error(EXIT_USAGE, "train: %s", err);
    }
    static const char *const top_keys[] = {"task", "seed", "init", "data", "model", "train", NULL};
    if (llc_json_check_keys(root, top_keys, "config", err)) {
        cJSON_Delete(root);
        return cli_error(EXIT_USAGE, "train: %s", err);
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

int cmd_train(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "train", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "train: --run ID is required (e.g. --run r1)");
    if (!cli_valid_run_id(run))
        return cli_error(EXIT_USAGE, "train: run id '%s' is invalid: use 1-64 letters, digits, '_', '-' or '.'", run);

    char err[LLC_ERRLEN] = "";
    cJSON *root = NULL;
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_store *store = NULL;
    llc_trainer *tr = NULL;
    char *config = NULL;
    long long *sched = NULL;
    llc_log_row *logbuf = NULL;
    void *state = NULL, *old_state = NULL;
    llc_run_info info = {0};
    llc_train_config tc;
    int code = 0;
    cli_progress prog = {0};
    char cmd[1024];
    int live = 0;

    if ((code = make_config(&a, &root))) goto cleanup;
    if ((rc = llc_run_build(root, &task, &model, &tc, err))) {
        code = cli_error(cli_exit_code(rc), "train: %s", err);
        goto cleanup;
    }
    config = llc_run_config_normalised(root, task, model, &tc);
    if (!config) { code = cli_error(EXIT_NOMEM, "train: out of memory"); goto cleanup; }
    if ((code = cli_open_store(&a, LLC_STORE_RW, &store))) goto cleanup;

    rc = llc_store_run_get(store, run, &info);
    int resuming = 0;
    if (rc == LLC_OK) {
        if (!cli_has(&a, "resume")) {
            code = cli_error(EXIT_EXISTS, "train: run '%s' already exists (status %s); use --resume to continue it, or choose another --run",
                             run, info.status);
            goto cleanup;
        }
        if (strcmp(info.config, config) != 0) {
            code = cli_error(EXIT_EXISTS, "train: run '%s' exists with a different config; --resume needs the same command", run);
            goto cleanup;
        }
        if (strcmp(info.status, "done") == 0) {
            if (!a.quiet) fprintf(stderr, "llc: run '%s' is already complete\n", run);
            goto cleanup;
        }
        resuming = 1;
    } else if (rc != LLC_ERR_NOTFOUND) {
        code = cli_error(cli_exit_code(rc), "train: %s", llc_store_errmsg(store));
        goto cleanup;
    }

    /* one BLAS thread: at these shapes OpenBLAS's threading costs more than it
     * gains (a sort step took almost 3x as long with two threads) */
    openblas_set_num_threads(1);
    cli_catch_signals();
    size_t n_params = llc_model_n_params(model);
    size_t state_bytes = llc_train_state_bytes(n_params, &tc);
    int n_sched = 0;
    if (llc_ckpt_schedule(&tc, &sched, &n_sched)) { code = cli_error(EXIT_NOMEM, "train: out of memory"); goto cleanup; }
    /* the largest gap between checkpoints bounds the log buffer */
    long long gap = 1;
    for (int i = 1; i < n_sched; i++)
        if (sched[i] - sched[i - 1] > gap) gap = sched[i] - sched[i - 1];
    long long start = 0;
    size_t old_bytes = 0;
    const int exists = resuming;
    if (resuming) {
        rc = llc_store_train_state_get(store, run, &start, &old_state, &old_bytes);
        if (rc == LLC_ERR_NOTFOUND) {
            resuming = 0; /* killed before its first checkpoint: start over */
            start = 0;
        } else if (rc) {
            code = cli_error(cli_exit_code(rc), "train: %s", llc_store_errmsg(store));
            goto cleanup;
        }
    }

    /* what the run will write and the memory it needs, said and checked
     * before anything is allocated or written. Still to allocate besides
     * the trainer: the resume state buffer, a copy of the parameters (the
     * store's byte order), the log buffer */
    const int force_size = cli_has(&a, "force-size");
    const size_t trainer_min = state_bytes + n_params * sizeof(float); /* without the model's workspace */
    const size_t data = state_bytes + n_params * sizeof(float) + (size_t)gap * sizeof *logbuf;
    int n_left = 0;
    for (int i = 0; i < n_sched; i++) n_left += sched[i] > start || (sched[i] == start && !resuming);
    const double ckpt_bytes = (double)n_params * sizeof(float) + 256; /* params BLOB and its row */
    const double disk = n_left * ckpt_bytes + 2.0 * (double)state_bytes + (double)(tc.steps - start) * 64;
    if (!a.quiet || cli_has(&a, "dry-run")) {
        char dsk[32], mem[32];
        fprintf(stderr, "llc: train %s: %zu parameters; %d checkpoints x %.2f MiB = %s to write; about %s of memory\n",
                run, n_params, n_left, ckpt_bytes / 1048576, size_text(disk, dsk),
                size_text((double)cli_mem_need(trainer_min + data, 0), mem));
    }
    if ((code = cli_mem_check("train", trainer_min + data, 0, 1, 0, force_size))) goto cleanup;
    if ((code = cli_disk_check("train", cli_db_path(&a), disk, force_size))) goto cleanup;
    const long long blob_max = llc_store_blob_max(store);
    if ((double)state_bytes > (double)blob_max) {
        code = cli_error(EXIT_USAGE, "train: the model is too large for the store: its resume state is %.0f MiB, "
                         "SQLite's largest BLOB %.0f MiB; use a smaller model",
                         (double)state_bytes / 1048576, (double)blob_max / 1048576);
        goto cleanup;
    }

    if (cli_has(&a, "dry-run")) goto cleanup;

    size_t vm0 = cli_vm_size();
    if ((rc = llc_trainer_new(model, task, &tc, task->seed, &tr, err))) {
        code = rc == LLC_ERR_NOMEM ? cli_error(EXIT_NOMEM, "train: out of memory allocating the model and its "
                                               "optimizer (%zu parameters, at least %.0f MiB)",
                                               n_params, (double)trainer_min / 1048576)
                                   : cli_error(cli_exit_code(rc), "train: %s", err);
        goto cleanup;
    }
    /* again with the trainer as allocated (its workspace included) */
    size_t vm1 = cli_vm_size();
    if ((code = cli_mem_check("train", data, vm0 && vm1 > vm0 ? vm1 - vm0 : trainer_min, 1, 0, force_size)))
        goto cleanup;
    state = malloc(state_bytes);
    logbuf = malloc((size_t)gap * sizeof *logbuf);
    if (!state || !logbuf) { code = cli_error(EXIT_NOMEM, "train: out of memory"); goto cleanup; }
    if (resuming) {
        if ((rc = llc_trainer_state_load(tr, old_state, old_bytes, err))) {
            /* a state the store handed back that does not fit is damage in the store */
            code = cli_error(rc == LLC_ERR_INVALID ? EXIT_STORE : cli_exit_code(rc),
                             "train: cannot resume run '%s': its resume state in the store is damaged: %s", run, err);
            goto cleanup;
        }
        start = llc_trainer_step_index(tr);
    }
    if (exists) {
        llc_store_run_set_status(store, run, "running", NULL);
    } else {
        rc = llc_store_run_create(store, run, task->name, config, (long long)n_params, task->seed);
        if (rc) {
            code = cli_error(cli_exit_code(rc), "train: cannot create run '%s': %s", run, llc_store_errmsg(store));
            goto cleanup;
        }
    }
    live = 1; /* from here an error marks the run failed (not left 'running') */
    if (!resuming) {
        const cJSON *init = cJSON_GetObjectItemCaseSensitive(root, "init");
        if (cJSON_IsString(init) && strcmp(init->valuestring, "teacher") == 0) {
            rc = llc_regress_teacher(task, llc_trainer_params(tr), n_params, err);
            if (rc) {
                llc_store_run_set_status(store, run, "failed", err);
                live = 0;
                code = cli_error(cli_exit_code(rc), "train: %s", err);
                goto cleanup;
            }
        } else {
            llc_trainer_init_params(tr);
        }
    }

    int n_log = 0, next = 0;
    while (next < n_sched && sched[next] < start) next++;
    if (resuming && next < n_sched && sched[next] == start) next++; /* that checkpoint is stored */

    int d_train = llc_task_dist(task, "train"), d_test = llc_task_dist(task, "test");
    double t0 = llc_now(), last_train = NAN, last_test = NAN;
    long long tokens_per_step = (long long)tc.batch * task->shape.T;
    char title[96];
    snprintf(title, sizeof title, "train %s", run);
    cli_progress_start(&prog, &a, title);
    for (long long s = start;; s++) {
        if (next < n_sched && sched[next] == s) {
            double trl, tel;
            if ((rc = llc_trainer_eval(tr, d_train, &trl)) || (rc = llc_trainer_eval(tr, d_test, &tel))) {
                llc_store_run_set_status(store, run, "failed", "evaluation failed (NaN)");
                live = 0;
                code = cli_error(cli_exit_code(rc), "train: evaluation at step %lld failed: %s", s, llc_strerror(rc));
                goto cleanup;
            }
            llc_trainer_state_save(tr, state, state_bytes);
            rc = llc_store_checkpoint_put(store, run, s, trl, tel, llc_trainer_params(tr), n_params, logbuf, n_log,
                                          state, state_bytes);
            if (rc) {
                code = cli_error(cli_exit_code(rc), "train: cannot write checkpoint %s/%lld: %s", run, s,
                                 llc_store_errmsg(store));
                goto cleanup;
            }
            n_log = 0;
            next++;
            last_train = trl;
            last_test = tel;
        }
        if (s >= tc.steps) break;
        if (cli_signal_caught) { /* a safe point: the last checkpoint and its resume state are committed */
            char msg[200];
            long long last = next > 0 ? sched[next - 1] : 0LL;
            snprintf(msg, sizeof msg, "interrupted by %s at step %lld; resumable from step %lld",
                     cli_signal_name(cli_signal_caught), s, last);
            llc_store_run_set_status(store, run, "failed", msg);
            live = 0;
            cli_progress_end(&prog);
            code = cli_error(EXIT_INTERRUPTED, "train: run '%s' %s: continue it with: %s", run, msg,
                             resume_command(argc, argv, cmd, sizeof cmd));
            goto cleanup;
        }
        double loss, lr, gn;
        rc = llc_trainer_step(tr, &loss, &lr, &gn);
        if (rc == LLC_OK && tc.max_loss > 0 && loss > tc.max_loss) rc = LLC_ERR_NUMERIC;
        if (rc) {
            char msg[200];
            snprintf(msg, sizeof msg, "training diverged at step %lld (loss %g); last good checkpoint at step %lld", s,
                     loss, next > 0 ? sched[next - 1] : 0LL);
            llc_store_run_set_status(store, run, "failed", msg);
            live = 0;
            cli_progress_end(&prog);
            code = cli_error(cli_exit_code(rc), "train: run '%s': %s", run, msg);
            goto cleanup;
        }
        if (n_log < gap) logbuf[n_log++] = (llc_log_row){s, loss, lr, gn, llc_now() - t0};
        cli_progress_update(&prog, (double)(s + 1), (double)tc.steps, "loss %.4f  %.0f tok/s", loss,
                            (double)(s + 1 - start) * (double)tokens_per_step / (llc_now() - t0 + 1e-9));
    }
    cli_progress_end(&prog);
    if ((rc = llc_store_run_set_status(store, run, "done", NULL))) {
        code = cli_error(cli_exit_code(rc), "train: %s", llc_store_errmsg(store));
        goto cleanup;
    }
    printf("run %s: task %s, %zu params, %d checkpoints, steps %lld, train loss %.4f, test loss %.4f (chance %.4f), %.1fs\n",
           run, task->name, n_params, n_sched, tc.steps, last_train, last_test, task->shape.chance_loss,
           llc_now() - t0);
cleanup:
    if (live && code) {
        char msg[200];
        snprintf(msg, sizeof msg, "stopped by an error (exit %d); resumable from its last checkpoint", code);
        llc_store_run_set_status(store, run, "failed", msg);
    }
    llc_run_info_free(&info);
    free(state);
    free(old_state);
    free(logbuf);
    free(sched);
    llc_trainer_free(tr);
    llc_store_close(store);
    cJSON_free(config);
    cJSON_Delete(root);
    llc_model_free(model);
    llc_task_free(task);
    return code;
}
