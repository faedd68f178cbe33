/* cmd_sweep.c - `llc sweep`: train the cross product of varied settings as
 * the runs of one group (the plan and the training in llc/sweep.c). */
#include "cli.h"
#include "llc_mpi.h"
#include "llc_sweep.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc sweep --task NAME --vary KEY=VALUES [--vary ...] --group G [--config FILE.json]\n"
    "                 [--set key=value]... [--steps N] [--seed S] [--jobs N] [--db PATH] [--dry-run]\n"
    "Train every combination of the varied settings as a run of group G, in parallel (--jobs, default\n"
    "the number of cores; each run is single-threaded, so its checkpoints do not depend on --jobs).\n"
    "VALUES: comma-separated (a JSON value keeps its own commas: 'clamps=[],[{\"kind\":\"prev\",\"layer\":0,\n"
    "\"head\":2}]'), or A..B for the integers A to B. KEY as for --set: seed, lr, train.lr, model.clamps,\n"
    "data keys such as n_pairs. Run ids: G-<key><value> per varied key, the value as typed when it is\n"
    "short and plain, else its position in the list (ih-seed1-clamps0). Running the same command again\n"
    "skips the finished runs and resumes an interrupted one from its last checkpoint. The runs' group\n"
    "and varied settings are in the store's tables run_groups and run_vary. Like llc train, it refuses\n"
    "runs that do not fit in memory (--jobs at once: exit 10) or on the store's disk (exit 2) unless\n"
    "--force-size. Under mpirun (llc-mpi) each worker rank trains one run at a time and rank 0 writes\n"
    "the store (--jobs is not used): the same rows as one process.\n";

static const cli_optdef defs[] = {
    {"task", 1, "task name: sort, modadd, icl, text, or the ground-truth linreg, dln, poly"},
    {"vary", 2, "KEY=V1,V2,... or KEY=A..B: a setting to vary (repeatable; the cross product is trained)"},
    {"group", 1, "the group's name (the runs' id prefix): letters, digits, '_', '-', '.', at most 32"},
    {"config", 1, "JSON config file (see data/configs/)"},
    {"set", 2, "override one setting of every run, key=value (repeatable)"},
    {"steps", 1, "number of training steps of every run"},
    {"seed", 1, "random seed of every run (default 1), unless seed is varied"},
    {"jobs", 1, "runs trained at once (default: the number of cores)"},
    {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
    {"dry-run", 0, "list the planned runs and their varied settings, then stop (nothing written)"},
    {"force-size", 0, "train even if the runs seem not to fit in the machine's memory or the store's disk"},
    {NULL, 0, NULL}};

static void sweep_progress(const llc_sweep_status *st, void *ctx)
{
    cli_progress *p = ctx;
    cli_progress_update(p, (double)st->steps_done, (double)st->steps_total, "steps; runs %d/%d done, %d running%s",
                        st->n_done, st->n_runs, st->n_running, st->n_failed ? ", a run failed" : "");
}

/* What the runs still to train will take: the largest run's memory, the
 * disk of them all (each run's plan, as llc train says it). */
typedef struct {
    size_t mem;
    double disk;
} sweep_size;

static int size_add(const llc_train_plan *p, void *ctx)
{
    sweep_size *z = ctx;
    if (p->trainer_min + p->data > z->mem) z->mem = p->trainer_min + p->data;
    z->disk += p->disk;
    return 0;
}

/* Refuse a sweep whose jobs do not fit in memory, or whose runs do not fit
 * on the store's disk, as llc train does for one run (unless --force-size). */
static int check_size(const cli_args *a, llc_store *store, const llc_sweep_plan *plan, int jobs)
{
    sweep_size z = {0};
    char err[LLC_ERRLEN];
    for (int i = 0; i < plan->n_runs; i++) {
        llc_train_result res;
        llc_train_run_opts o = {.dry_run = 1, .check = size_add, .ctx = &z};
        int rc = llc_sweep_train_one(store, plan, i, &o, NULL, &res, err);
        llc_train_result_free(&res);
        if (rc) return cli_error(cli_exit_code(rc), "sweep: %s", err);
    }
    const int force = cli_has(a, "force-size");
    int code = cli_mem_check("sweep", (size_t)jobs * z.mem, 0, jobs, jobs, force);
    return code ? code : cli_disk_check("sweep", cli_db_path(a), z.disk, force);
}

int cmd_sweep(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "sweep", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *group = cli_get(&a, "group");
    if (!group) return cli_error(EXIT_USAGE, "sweep: --group G is required (e.g. --group ih)");
    if (!cli_get(&a, "vary")) return cli_error(EXIT_USAGE, "sweep: at least one --vary KEY=VALUES is required "
                                                           "(e.g. --vary seed=1..3)");
    char err[LLC_ERRLEN] = "";
    cJSON *root = NULL;
    const char **vary = NULL;
    llc_sweep_plan plan = {0};
    llc_store *store = NULL;
    int code = 0, n_vary = 0;
    long long jobs;
    if (cli_get_ll(&a, "jobs", cli_cores(), 1, 256, &jobs)) return EXIT_USAGE;
    if ((code = cli_train_config(&a, &root))) goto cleanup;
    while (cli_get_nth(&a, "vary", n_vary)) n_vary++;
    if (!(vary = calloc((size_t)n_vary, sizeof *vary))) {
        code = cli_error(EXIT_NOMEM, "sweep: out of memory");
        goto cleanup;
    }
    const char *task = cJSON_GetObjectItemCaseSensitive(root, "task")->valuestring;
    for (int i = 0; i < n_vary; i++) {
        vary[i] = cli_get_nth(&a, "vary", i);
        if ((code = cli_check_set_key("sweep", task, vary[i]))) goto cleanup;
    }
    /* the plan is made and checked before the store is opened: a bad one creates no store file */
    if ((rc = llc_sweep_plan_make(root, group, vary, n_vary, &plan, err))) {
        code = cli_error(cli_exit_code(rc), "sweep: %s", err);
        goto cleanup;
    }
    if (cli_has(&a, "dry-run")) {
        for (int i = 0; i < plan.n_runs; i++) {
            printf("%s", plan.runs[i].id);
            for (int k = 0; k < plan.n_axes; k++) printf("  %s=%s", plan.runs[i].vary[k].key, plan.runs[i].vary[k].value);
            printf("\n");
        }
        goto cleanup;
    }
    if ((code = cli_open_store(&a, LLC_STORE_RW, &store))) goto cleanup;
    /* the checks, then what the runs take, then the group written */
    if (jobs > plan.n_runs) jobs = plan.n_runs;
    if ((rc = llc_sweep_check(store, &plan, err))) {
        code = cli_error(cli_exit_code(rc), "sweep: %s", err);
        goto cleanup;
    }
    if ((code = check_size(&a, store, &plan, (int)jobs))) goto cleanup;
    if ((rc = llc_sweep_prepare(store, &plan, err))) {
        code = cli_error(cli_exit_code(rc), "sweep: %s", err);
        goto cleanup;
    }
    llc_store_close(store); /* each job opens its own connection */
    store = NULL;
    char title[64];
    snprintf(title, sizeof title, "sweep %s", group);
    cli_progress prog = {0};
    cli_progress_start(&prog, &a, title);
    cli_catch_signals();
    llc_sweep_status st = {0};
    rc = llc_sweep_train_all(cli_db_path(&a), &plan, (int)jobs, sweep_progress, &prog, &cli_signal_caught, &st, err);
    cli_progress_end(&prog);
    if (rc == LLC_ERR_INTERRUPTED && llc_mpi_size() > 1) {
        /* every checkpoint rank 0 received is committed; a run a worker was
         * training resumes from its last one */
        code = cli_error(EXIT_INTERRUPTED, "sweep: stopped by %s (under mpirun: a rank ended, killed or out of memory, "
                         "or the job was cancelled); the %d runs finished and every checkpoint written are kept; run "
                         "the same command again to continue", cli_signal_name(cli_signal_caught), st.n_done);
    } else if (rc == LLC_ERR_INTERRUPTED) {
        code = cli_error(EXIT_INTERRUPTED, "sweep: %s; the same command continues it", err);
    } else if (rc) {
        code = cli_error(cli_exit_code(rc), "sweep: %s", err);
    } else {
        printf("sweep %s: %d runs (%d trained, %d already done", group, plan.n_runs, st.n_done - st.n_skipped,
               st.n_skipped);
        if (st.n_ranks) printf(", on %d worker ranks", st.n_ranks);
        printf("); SELECT run FROM run_groups WHERE grp = '%s'\n", group);
    }
cleanup:
    llc_sweep_plan_free(&plan);
    llc_store_close(store);
    free(vary);
    cJSON_Delete(root);
    return code;
}
