/* main.c - the llc program: dispatch to subcommands. */
#include "cli.h"
#include "llc_mpi.h"

#include <gsl/gsl_errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every command, in the order llc --help lists them; the help text and the
 * unknown-command error are both made from this table. */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} cmds[] = {
    {"train", cmd_train, "train a model on a task, writing checkpoints into the store"},
    {"sweep", cmd_sweep, "train the cross product of varied settings as the runs of a group"},
    {"runs", cmd_runs, "list the runs in the store"},
    {"show", cmd_show, "show one run: config, status, checkpoints"},
    {"estimate", cmd_estimate, "estimate the LLC of the model, heads, layers at a run's checkpoints"},
    {"curves", cmd_curves, "print a run's estimates (LLC per target and step)"},
    {"probe", cmd_probe, "per-head scores (attention patterns, OV/QK circuits, ablation) per checkpoint"},
    {"stages", cmd_stages, "developmental stage boundaries from the LLC and loss curves; level crossings"},
    {"cluster", cmd_cluster, "cluster heads by the shape of their LLC or probe curves"},
    {"trajectory", cmd_trajectory, "principal components of the model's outputs across checkpoints"},
    {"eval", cmd_eval, "loss, accuracy, entropy at one checkpoint with heads ablated or clamped"},
    {"plot", cmd_plot, "draw a run's curves, heads, traces, embeddings, trajectory or log as SVG"},
    {"report", cmd_report, "one self-contained HTML page of a run: config, log, curves, probes, circuits"},
    {"paper", cmd_paper, "one of the four studies checked against its store: claims, numbers, verdicts"},
    {"export", cmd_export, "write curves, estimates, the training log or a checkpoint (CSV/JSON/raw)"},
    {"baseline", cmd_baseline, "record a run's estimates as a regression baseline (JSON)"},
    {"check", cmd_check, "re-run baselines and compare (exit 1 on a regression)"},
    {"theory", cmd_theory, "the known LLC of the ground-truth models (DLN, linreg, poly, locality)"},
    {"bench", cmd_bench, "measure training and sampling speed against a PyTorch reference"},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

/* The commands that take --group/--runs (cli_run_each) say so in their --help. */
#define GROUP_HELP                                                                                       \
    "--group G or --runs 'GLOB' in place of --run ID: once per run of group G (llc sweep) or per run\n" \
    "whose id matches GLOB, in id order, stopping at the first failure; --out takes {run}.\n"

#define REPORT_RUNS_HELP \
    "--runs 'GLOB' in place of --run ID: one page per run whose id matches GLOB, in id order;\n" \
    "--out takes {run}.\n"

static void print_help(void)
{
    printf("llc " LLC_VERSION " - local learning coefficients of small transformers\n\n"
           "usage: llc COMMAND [options]      (llc COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < N_CMDS; i++) printf("  %-11s %s\n", cmds[i].name, cmds[i].summary);
    fputs("\n"
          "estimate, probe, curves, export, report, eval, stages, cluster and trajectory take\n"
          "--group G or --runs 'GLOB' in place of --run ID (once per run); plot --group overlays runs,\n"
          "report --group writes one page of the group.\n"
          "The store is ./llc.db, or $LLC_DB, or --db PATH. Shipped configs and data are found in\n"
          "$LLC_DATA, else the installed share/llc, else the source tree's data/.\n"
          "\n"
          "exit codes:\n"
          "  0 ok    1 regression found (llc check)    2 bad usage, config key or value\n"
          "  3 file not readable/writable    4 store error (locked, read-only, disk full, corrupt)\n"
          "  5 unknown run, task, checkpoint or target    6 run already exists\n"
          "  7 NaN/inf in training or sampling    8 not an llc store, or a newer schema\n"
          "  9 interrupted    10 out of memory\n",
          stdout);
}

/* train, sweep and estimate call BLAS single-threaded (chains are the parallelism),
 * but OpenBLAS's constructor has already started its thread pool, each
 * thread with a 128 MiB buffer, unless OPENBLAS_NUM_THREADS was set before
 * the program started: set it to 1 and start again, same arguments and pid.
 * This spares that memory, and under an address-space limit too small for
 * it OpenBLAS's allocator would retry forever (even at exit). */
static void blas_without_pool(char **argv)
{
    if (getenv("OPENBLAS_NUM_THREADS") || setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;
    execv("/proc/self/exe", argv); /* returns only on failure: go on with the pool */
}

/* Ranks > 0 of a job under mpirun: compute what rank 0 hands out. */
static int mpi_worker(void)
{
    char err[LLC_ERRLEN] = "";
    cli_catch_signals();
    cli_keep_freed_memory(); /* probe units allocate and free workspaces at every checkpoint */
    int rc = llc_mpi_worker(&cli_signal_caught, err);
    if (rc && rc != LLC_ERR_INTERRUPTED) cli_error(cli_exit_code(rc), "rank %d: %s", llc_mpi_rank(), err);
    llc_mpi_finalize();
    return rc ? cli_exit_code(rc) : 0;
}

/* Rank 0 (or the one process): the command. */
static int run_command(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        print_help();
        return cli_finish_stdout(argc < 2 ? EXIT_USAGE : 0);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("llc %s\n", LLC_VERSION);
        return cli_finish_stdout(0);
    }
    for (size_t i = 0; i < N_CMDS; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0) continue;
        char word[32];
        snprintf(word, sizeof word, " %s ", argv[1]);
        if (!strstr(" estimate probe curves export report eval stages cluster trajectory ", word))
            return cli_finish_stdout(cmds[i].fn(argc - 2, argv + 2));
        int handled, code = cli_run_each(argv[1], cmds[i].fn, argc - 2, argv + 2, &handled);
        if (handled) return cli_finish_stdout(code);
        code = cmds[i].fn(argc - 2, argv + 2);
        for (int k = 2; k < argc && code == 0; k++)
            if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
                /* report --group is one page of the group (its own --help says so); --runs is per run */
                fputs(strcmp(argv[1], "report") ? GROUP_HELP : REPORT_RUNS_HELP, stdout);
                break;
            }
        return cli_finish_stdout(code);
    }
    char list[512] = "";
    for (size_t i = 0; i < N_CMDS; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", cmds[i].name);
    return cli_error(EXIT_USAGE, "unknown command '%s' (commands: %s; see llc --help)", argv[1], list);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "train") == 0 || strcmp(argv[1], "estimate") == 0 ||
                      strcmp(argv[1], "sweep") == 0)) blas_without_pool(argv);
    gsl_set_error_handler_off();
    llc_json_init();
    if (llc_mpi_init(&argc, &argv)) return cli_error(EXIT_USAGE, "cannot start MPI (run under mpirun or alone)");
    if (llc_mpi_rank() > 0) return mpi_worker();
    int code = run_command(argc, argv);
    if (llc_mpi_size() > 1) {
        /* interrupted (mpirun stops every rank when one ends): workers may be
         * mid-unit, so end the job; otherwise they wait for this */
        if (code == EXIT_INTERRUPTED) llc_mpi_abort(code);
        llc_mpi_stop_workers();
    }
    llc_mpi_finalize();
    return code;
}
