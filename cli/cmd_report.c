/* cmd_report.c - `llc report`: one self-contained HTML page of a run, drawn
 * by the library (llc/llc_report.h). This file parses the options, picks
 * the circuits' checkpoints, writes the page whole or not at all
 * (cli_out_open: a temporary file renamed into place, a regular file
 * only) and prints the written path.
 */
#include "cli.h"
#include "llc_report.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc report --run ID [--out FILE.html] [--steps A:B|every:K|S1,S2] [--db PATH]\n"
    "Write one self-contained HTML file of a run (inline SVG and CSS, no script, opens offline)\n"
    "and print its path. Sections, each shown only when the run has its data: config, training\n"
    "log, LLC and rLLC curves with stored stages marked, probe curves beside each head's rLLC,\n"
    "clusters, trajectory, attention patterns and OV circuits at --steps (default: the stored\n"
    "stage boundaries, else the last checkpoint), embedding frames (d_model = 2 pooled models),\n"
    "and a table of the estimates whose diagnostics are off. Default output: ID.html.\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"out", 1, "output file (default ID.html)"},
                                  {"steps", 1, "circuits: checkpoints A:B, every:K or S1,S2,... (at most 16; "
                                               "default: the stages)"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

int cmd_report(int argc, char **argv)
{
    cli_args a;
    cli_run r = {0};
    long long *steps = NULL;
    int n_steps = 0, code = 0, rc;
    char out_def[128], err[LLC_ERRLEN] = "";
    cli_outfile of;
    if ((rc = cli_parse(&a, "report", usage, defs, argc, argv))) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run"), *out = cli_get(&a, "out");
    if (!run) return cli_error(EXIT_USAGE, "report: --run ID is required");
    if (!cli_valid_run_id(run))
        return cli_error(EXIT_USAGE, "report: run id '%s' is not valid (1-64 characters of A-Z a-z 0-9 _ . -)", run);
    if (out && !*out) return cli_error(EXIT_USAGE, "report: --out needs a file name");
    if (!out) {
        snprintf(out_def, sizeof out_def, "%s.html", run);
        out = out_def;
    }
    if ((code = cli_open_run(&a, LLC_STORE_READONLY, run, &r))) goto cleanup;
    if (cli_get(&a, "steps")) {
        if ((code = cli_run_steps(&a, &r, &steps, &n_steps, NULL))) goto cleanup;
        if (n_steps > LLC_REPORT_MAX_STEPS) {
            code = cli_error(EXIT_USAGE, "report: --steps selects %d checkpoints; at most %d (e.g. every:K)", n_steps,
                             LLC_REPORT_MAX_STEPS);
            goto cleanup;
        }
    }
    if ((code = cli_out_open(&of, "report", out, 0))) goto cleanup;
    llc_report_opts o = {run, r.task, r.model, steps, n_steps};
    if ((rc = llc_report_write(of.f, r.store, &o, err))) {
        cli_out_abort(&of);
        code = cli_error(cli_exit_code(rc), "report: %s", err[0] ? err : llc_strerror(rc));
        goto cleanup;
    }
    if ((code = cli_out_close(&of, "report"))) goto cleanup;
    printf("%s\n", out);
cleanup:
    free(steps);
    cli_run_close(&r);
    return code;
}
