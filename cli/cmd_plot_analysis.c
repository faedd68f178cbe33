/* cmd_plot_analysis.c - the analysis kinds of `llc plot`: --kind
 * trajectory and --kind log (llc/llc_plot_analysis.h). Hooked into
 * cli/cmd_plot.c by a few lines. */
#include "cli.h"
#include "llc_analysis_results.h"
#include "llc_plot_analysis.h"
#include "llc_svg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc plot --run ID --kind trajectory|log [--out FILE.svg] [--db PATH]\n"
    "  trajectory  PC1 against PC2 of llc trajectory's stored coordinates, points coloured by step\n"
    "              (dark = early), the stored stage boundaries (llc stages) ringed\n"
    "  log         loss and gradient norm at every step of the training log on log axes, spikes marked\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"kind", 1, "trajectory or log"},
                                  {"out", 1, "output file (default ID-KIND.svg)"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

int cli_plot_is_analysis(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc) v = argv[i + 1];
        else if (strncmp(argv[i], "--kind=", 7) == 0) v = argv[i] + 7;
        if (v && (strcmp(v, "trajectory") == 0 || strcmp(v, "log") == 0)) return 1;
    }
    return 0;
}

int cmd_plot_analysis(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "plot", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run"), *kind = cli_get(&a, "kind");
    if (!run) return cli_error(EXIT_USAGE, "plot: --run ID is required");
    if (!cli_valid_run_id(run))
        return cli_error(EXIT_USAGE, "plot: run id '%s' is not valid (1-64 characters of A-Z a-z 0-9 _ . -)", run);
    const int traj = strcmp(kind, "trajectory") == 0;
    const char *out = cli_get(&a, "out");
    char def_out[128];
    if (out && !*out) return cli_error(EXIT_USAGE, "plot: --out needs a file name");
    if (!out) {
        snprintf(def_out, sizeof def_out, "%s-%s.svg", run, kind);
        out = def_out;
    }
    llc_store *s = NULL;
    if ((rc = cli_open_store(&a, LLC_STORE_READONLY, &s))) return rc;
    llc_run_info info = {0};
    llc_trajectory_result tr = {0};
    llc_stage_row *rows = NULL;
    llc_stage *marks = NULL;
    llc_series loss = {0}, grad = {0};
    char err[LLC_ERRLEN] = "", title[200];
    int code = 0, n_rows = 0, n_marks = 0;
    FILE *f = NULL;
    if ((rc = llc_store_run_get(s, run, &info))) {
        code = rc == LLC_ERR_NOTFOUND
                   ? cli_error(EXIT_NOTFOUND, "plot: no run '%s' in %s (see llc runs)", run, cli_db_path(&a))
                   : cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(s));
        goto cleanup;
    }
    if (traj) {
        if ((rc = llc_trajectory_get(s, run, &tr))) {
            code = cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(s));
            goto cleanup;
        }
        if (tr.n_steps == 0) {
            code = cli_error(EXIT_NOTFOUND, "plot: run '%s' has no stored trajectory (run llc trajectory --run %s)",
                             run, run);
            goto cleanup;
        }
        if ((rc = llc_stages_get(s, run, NULL, &rows, &n_rows))) {
            code = cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(s));
            goto cleanup;
        }
        marks = malloc((size_t)(n_rows > 0 ? n_rows : 1) * sizeof *marks);
        if (!marks) {
            code = cli_error(EXIT_NOMEM, "plot: out of memory");
            goto cleanup;
        }
        /* the LLC stages and the drops of the test loss (crossings and the
         * train-loss twins of the drops would crowd the picture) */
        for (int i = 0; i < n_rows; i++) {
            if (!(strcmp(rows[i].source, "llc") == 0 || strcmp(rows[i].target, "test_loss") == 0)) continue;
            int kind_i = 0;
            while (llc_stage_kind_names[kind_i] && strcmp(llc_stage_kind_names[kind_i], rows[i].kind) != 0) kind_i++;
            if (!llc_stage_kind_names[kind_i]) continue;
            marks[n_marks++] = (llc_stage){rows[i].step, kind_i, rows[i].value};
        }
        snprintf(title, sizeof title, "%s (%s): developmental trajectory", run, info.task);
    } else {
        if ((rc = llc_series_get(s, run, "log_loss", NULL, &loss, err)) ||
            (rc = llc_series_get(s, run, "log_grad_norm", NULL, &grad, err))) {
            code = cli_error(cli_exit_code(rc), "plot: %s", err);
            goto cleanup;
        }
        if (loss.n == 0) {
            code = cli_error(EXIT_NOTFOUND, "plot: run '%s' has no training log", run);
            goto cleanup;
        }
        llc_stages_config sc;
        llc_stages_config_default(&sc);
        if ((rc = llc_stages_spikes(&sc, loss.step, loss.value, loss.n, &marks, &n_marks))) {
            code = cli_error(cli_exit_code(rc), "plot: out of memory");
            goto cleanup;
        }
        snprintf(title, sizeof title, "%s (%s): training log", run, info.task);
    }
    f = fopen(out, "w");
    if (!f) {
        code = cli_error(EXIT_IO, "plot: cannot write '%s': %s", out, strerror(errno));
        goto cleanup;
    }
    rc = traj ? llc_plot_trajectory(f, title, &tr, marks, n_marks)
              : llc_plot_log(f, title, loss.step, loss.value, grad.value, loss.n, marks, n_marks);
    if (fclose(f) != 0) rc = LLC_ERR_IO;
    if (rc) {
        remove(out);
        code = cli_error(EXIT_IO, "plot: writing '%s' failed (disk full?)", out);
        goto cleanup;
    }
    printf("%s\n", out);
cleanup:
    llc_trajectory_result_free(&tr);
    llc_series_free(&loss);
    llc_series_free(&grad);
    free(rows);
    free(marks);
    llc_run_info_free(&info);
    llc_store_close(s);
    return code;
}
