/* main.c - the llc program: dispatch to subcommands. */
#include "cli.h"

#include <gsl/gsl_errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "llc " LLC_VERSION " - local learning coefficients of small transformers\n"
    "\n"
    "usage: llc COMMAND [options]      (llc COMMAND --help for its options)\n"
    "\n"
    "commands:\n"
    "  train     train a model on a task, writing checkpoints into the store\n"
    "  runs      list the runs in the store\n"
    "  show      show one run: config, status, checkpoints\n"
    "\n"
    "The store is ./llc.db, or $LLC_DB, or --db PATH.\n"
    "\n"
    "exit codes:\n"
    "  0 ok    1 regression found (llc check)    2 bad usage, config key or value\n"
    "  3 file not readable/writable    4 store error (locked, read-only, disk full, corrupt)\n"
    "  5 unknown run, task, checkpoint or target    6 run already exists\n"
    "  7 NaN/inf in training or sampling    8 not an llc store, or a newer schema\n"
    "  9 interrupted    10 out of memory\n";

/* train and estimate call BLAS single-threaded (chains are the parallelism),
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

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "train") == 0 || strcmp(argv[1], "estimate") == 0)) blas_without_pool(argv);
    gsl_set_error_handler_off();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(help, stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("llc %s\n", LLC_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"train", cmd_train}, {"runs", cmd_runs}, {"show", cmd_show}, {"theory", cmd_theory},
                  {"estimate", cmd_estimate}, {"curves", cmd_curves}, {"bench", cmd_bench},
                  {"plot", cmd_plot}, {"export", cmd_export}, {"baseline", cmd_baseline}, {"check", cmd_check}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].fn(argc - 2, argv + 2);
    return cli_error(EXIT_USAGE, "unknown command '%s' (commands: train, runs, show, estimate, curves, plot, export, baseline, check, bench, theory; see llc --help)", argv[1]);
}
