/* cmd_stages.c - `llc stages`: stage boundaries of a run from its LLC
 * curve and its losses, and level crossings (llc/llc_stages.h). */
#include "cli.h"
#include "llc_stages.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc stages --run ID [--target T] [--data D] [--cross CURVE=LEVEL ...] [--min-len N]\n"
    "                  [--bandwidth S] [--linear] [--drop-ratio R] [--spike-factor F] [--no-store] [--db PATH]\n"
    "Find developmental-stage boundaries: the local maxima and minima of the smoothed LLC curve of\n"
    "target T (default model) on data D (default train), the sharp drops of test_loss and train_loss,\n"
    "the spikes of the training log; store them (table stages) and print them. --cross answers the\n"
    "first step, linearly interpolated between checkpoints, where a curve (test_loss, train_loss,\n"
    "llc:TARGET, probe:NAME:TARGET) reaches a level. Methods: llc/ANALYSIS.md.\n"
    "exit codes: 2 bad option or --cross spec, 5 unknown run or curve, 4 store error.\n";

static const cli_optdef defs[] = {
    {"run", 1, "run id"},
    {"target", 1, "the LLC curve's target (default model)"},
    {"data", 1, "the LLC curve's data distribution (default train)"},
    {"cross", 2, "CURVE=LEVEL: the first step the curve reaches LEVEL (repeatable)"},
    {"min-len", 1, "minimum stage length in checkpoint intervals (default 3)"},
    {"bandwidth", 1, "Gaussian smoothing sigma in log(1+step) units (default 1.5 x median gap)"},
    {"linear", 0, "smooth and measure slopes in steps, not log steps"},
    {"drop-ratio", 1, "a loss drop is steeper than this x the mean slope (default 3)"},
    {"spike-factor", 1, "a spike is above this x the running median of the log (default 1.5)"},
    {"only-cross", 0, "only the --cross answers (no LLC or loss stages)"},
    {"no-store", 0, "print, do not store"},
    {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
    {NULL, 0, NULL}};

int cmd_stages(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "stages", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "stages: --run ID is required");
    llc_stages_request q = {.run = run, .target = cli_get(&a, "target"), .data = cli_get(&a, "data"),
                            .want_llc = !cli_has(&a, "only-cross"), .want_loss = !cli_has(&a, "only-cross"),
                            .store = !cli_has(&a, "no-store")};
    llc_stages_config_default(&q.method);
    long long ml;
    double bw, dr, sf;
    if ((rc = cli_get_ll(&a, "min-len", 3, 1, 1000000, &ml)) || (rc = cli_get_double(&a, "bandwidth", 0, 0, 1e12, &bw)) ||
        (rc = cli_get_double(&a, "drop-ratio", 3, 1e-9, 1e12, &dr)) ||
        (rc = cli_get_double(&a, "spike-factor", 1.5, 1.000001, 1e12, &sf)))
        return rc;
    q.method.min_len = (int)ml;
    q.method.bandwidth = bw;
    q.method.drop_ratio = dr;
    q.method.spike_factor = sf;
    q.method.logx = !cli_has(&a, "linear");
    const char *cross[CLI_MAX_OPTS];
    for (const char *c; (c = cli_get_nth(&a, "cross", q.n_cross)); q.n_cross++) cross[q.n_cross] = c;
    q.cross = cross;
    cli_run rh = {0};
    if ((rc = cli_find_run(&a, q.store ? LLC_STORE_RW : LLC_STORE_READONLY, run, &rh))) {
        cli_run_close(&rh);
        return rc;
    }
    llc_store *s = rh.store;
    llc_stages_result r;
    char err[LLC_ERRLEN] = "";
    rc = llc_stages_find(s, &q, &r, err);
    cli_run_close(&rh);
    if (rc) return cli_error(cli_exit_code(rc), "%s", err);
    if (q.want_llc && r.llc_points == 0)
        printf("no LLC curve for target %s on %s yet (llc estimate --run %s)\n", q.target ? q.target : "model",
               q.data ? q.data : "train", run);
    if (r.n > 0) printf("%-6s %-24s %-6s %14s %12s\n", "source", "curve", "kind", "step", "value");
    for (int i = 0; i < r.n; i++) {
        const llc_stage_found *f = &r.rows[i];
        printf("%-6s %-24s %-6s %14.6g %12.6g\n", f->source, f->target, llc_stage_kind_names[f->st.kind], f->st.step,
               f->st.value);
    }
    for (int i = 0; i < q.n_cross; i++)
        if (!r.crossed[i]) printf("cross  %-24s never reached\n", q.cross[i]);
    if (r.n == 0 && q.n_cross == 0) printf("no stage boundaries found in run %s\n", run);
    llc_stages_result_free(&r);
    return 0;
}
