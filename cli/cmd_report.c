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
    "       llc report --group G [--out FILE.html] [--db PATH]\n"
    "Write one self-contained HTML file of a run (inline SVG and CSS, no script, opens offline)\n"
    "and print its path. Sections, each shown only when the run has its data: config, training\n"
    "log, LLC and rLLC curves with stored stages marked, probe curves beside each head's rLLC,\n"
    "clusters, trajectory, attention patterns and OV circuits at --steps (default: the stored\n"
    "stage boundaries, else the last checkpoint), embedding frames (d_model = 2 pooled models),\n"
    "and a table of the estimates whose diagnostics are off. Default output: ID.html.\n"
    "--group G: one page for the runs of group G (llc sweep): a table of the runs and their varied\n"
    "settings, the model's LLC of every run overlaid and their mean ± 1 sd, the losses overlaid,\n"
    "and each run's LLC and rLLC curves. Default output: G.html. (--runs GLOB: one page per run.)\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"group", 1, "one page for the runs of group G (llc sweep)"},
                                  {"out", 1, "output file (default ID.html, or G.html)"},
                                  {"steps", 1, "circuits: checkpoints A:B, every:K or S1,S2,... (at most 16; "
                                               "default: the stages)"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

/* Write the page of run o (or of group grp, o NULL) to out whole or not at
 * all, and print its path. */
static int write_page(const char *out, llc_store *s, const llc_report_opts *o, const char *grp)
{
    char err[LLC_ERRLEN] = "";
    cli_outfile of;
    int code, rc;
    if ((code = cli_out_open(&of, "report", out, 0))) return code;
    if ((rc = o ? llc_report_write(of.f, s, o, err) : llc_report_group_write(of.f, s, grp, err))) {
        cli_out_abort(&of);
        return cli_error(cli_exit_code(rc), "report: %s", err[0] ? err : llc_strerror(rc));
    }
    if ((code = cli_out_close(&of, "report"))) return code;
    printf("%s\n", out);
    return 0;
}

/* --group G: one page for the group's runs. */
static int report_group(cli_args *a, const char *grp, const char *out)
{
    llc_store *s = NULL;
    char out_def[128];
    int code = 0;
    if (cli_get(a, "run") || cli_get(a, "steps"))
        return cli_error(EXIT_USAGE, "report: --group G takes neither --run nor --steps (one page of the group)");
    if (!*grp) return cli_error(EXIT_USAGE, "report: --group needs a group name");
    if (!out) {
        snprintf(out_def, sizeof out_def, "%.100s.html", grp);
        out = out_def;
    }
    if ((code = cli_open_store(a, LLC_STORE_READONLY, &s))) goto cleanup;
    code = write_page(out, s, NULL, grp);
cleanup:
    llc_store_close(s);
    return code;
}

int cmd_report(int argc, char **argv)
{
    cli_args a;
    cli_run r = {0};
    long long *steps = NULL;
    int n_steps = 0, code = 0, rc;
    char out_def[128];
    if ((rc = cli_parse(&a, "report", usage, defs, argc, argv))) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run"), *out = cli_get(&a, "out");
    if (out && !*out) return cli_error(EXIT_USAGE, "report: --out needs a file name");
    if (cli_get(&a, "group")) return report_group(&a, cli_get(&a, "group"), out);
    if (!run) return cli_error(EXIT_USAGE, "report: --run ID (or --group G) is required");
    if (!cli_valid_run_id(run))
        return cli_error(EXIT_USAGE, "report: run id '%s' is not valid (1-64 characters of A-Z a-z 0-9 _ . -)", run);
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
    llc_report_opts o = {run, r.task, r.model, steps, n_steps};
    code = write_page(out, r.store, &o, NULL);
cleanup:
    free(steps);
    cli_run_close(&r);
    return code;
}
