/* cmd_trajectory.c - `llc trajectory`: the principal components of a run's
 * outputs over its checkpoints (llc/llc_trajectory.h). */
#include "cli.h"
#include "llc_analysis_results.h"
#include "llc_trajectory.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc trajectory --run ID [--components K] [--data D] [--seqs N] [--seed S] [--steps SPEC]\n"
    "                      [--no-store] [--db PATH]\n"
    "The developmental trajectory: the model's log-probabilities on a fixed, seeded probe batch (N\n"
    "sequences of distribution D, default test) at every checkpoint, centred and projected on the K\n"
    "leading principal components (default 3). Stores the coordinates and each component's explained\n"
    "variance (table trajectory) and prints them; llc plot --kind trajectory draws PC1 against PC2.\n"
    "Method: llc/ANALYSIS.md.\n"
    "exit codes: 2 bad option or a model it cannot take, 5 unknown run or distribution, 4 store error.\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"components", 1, "principal components kept (default 3, at most 16)"},
                                  {"data", 1, "distribution of the probe batch (default test)"},
                                  {"seqs", 1, "probe batch size in sequences (default 32)"},
                                  {"seed", 1, "seed of the probe batch (default 1)"},
                                  {"steps", 1, "checkpoints: A:B, every:K or S1,S2,... (default all)"},
                                  {"no-store", 0, "print, do not store"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

static int progress(void *ctx, int done, int total)
{
    cli_progress_update(ctx, done, total, "checkpoint %d/%d", done, total);
    return 0;
}

int cmd_trajectory(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "trajectory", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "trajectory: --run ID is required");
    long long comps, seqs, seed;
    if ((rc = cli_get_ll(&a, "components", 3, 1, LLC_TRAJECTORY_MAX_COMPONENTS, &comps)) ||
        (rc = cli_get_ll(&a, "seqs", LLC_TRAJECTORY_DEFAULT_SEQS, 1, 4096, &seqs)) ||
        (rc = cli_get_ll(&a, "seed", 1, 0, (long long)1 << 62, &seed)))
        return rc;
    const char *data = cli_get(&a, "data");
    if (!data) data = "test";
    const int store_it = !cli_has(&a, "no-store");

    char err[LLC_ERRLEN] = "";
    cli_run run_h = {0};
    long long *steps = NULL;
    int code = 0, n_steps = 0;
    llc_trajectory_result r = {0};
    cli_progress prog = {0};

    if ((code = cli_open_run(&a, store_it ? LLC_STORE_RW : LLC_STORE_READONLY, run, &run_h))) goto cleanup;
    llc_store *store = run_h.store;
    int dist;
    if ((code = cli_task_dist(a.cmd, run_h.task, data, &dist))) goto cleanup;
    if ((code = cli_run_steps(&a, &run_h, &steps, &n_steps, NULL))) goto cleanup;
    /* the numbers must not depend on how OpenBLAS would split a product over threads */
    openblas_set_num_threads(1);
    cli_progress_start(&prog, &a, "trajectory");
    llc_trajectory_config tc = {.model = run_h.model, .task = run_h.task, .dist = dist, .n_seqs = (int)seqs, .seed = (uint64_t)seed,
                                .components = (int)comps, .store = store, .run = run, .steps = steps,
                                .n_steps = n_steps, .progress = progress, .ctx = &prog};
    rc = llc_trajectory_run(&tc, &r, err);
    cli_progress_end(&prog);
    if (rc) {
        code = cli_error(cli_exit_code(rc), "%s", err);
        goto cleanup;
    }
    if (store_it) {
        char settings[128];
        snprintf(settings, sizeof settings, "{\"components\":%d,\"seed\":%lld,\"seqs\":%lld}", r.k, seed, seqs);
        if ((rc = llc_trajectory_put(store, run, data, settings, &r))) {
            code = cli_error(cli_exit_code(rc), "trajectory: %s", llc_store_errmsg(store));
            goto cleanup;
        }
    }
    printf("trajectory of run %s: %d checkpoints, %lld outputs each (%lld sequences of %s)\n", run, r.n_steps,
           r.n_outputs, seqs, data);
    printf("explained variance:");
    for (int c = 0; c < r.k; c++) printf(" PC%d %.4f", c + 1, r.explained[c]);
    printf("\n%10s", "step");
    for (int c = 0; c < r.k; c++) printf(" %11s%d", "PC", c + 1);
    printf("\n");
    for (int i = 0; i < r.n_steps; i++) {
        printf("%10lld", r.steps[i]);
        for (int c = 0; c < r.k; c++) printf(" %12.5g", r.coords[(size_t)i * r.k + c]);
        printf("\n");
    }
cleanup:
    llc_trajectory_result_free(&r);
    free(steps);
    cli_run_close(&run_h);
    return code;
}
