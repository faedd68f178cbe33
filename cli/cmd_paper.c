/* cmd_paper.c - `llc paper NAME`: the claims of one of the four studies
 * checked against a store its script filled (tests/papers/paper_NAME.sh),
 * written as an HTML page, a Markdown summary and the main runs' own
 * reports (llc/llc_papers.h, llc/llc_report.h). Each file is written whole
 * or not at all. */
#include "cli.h"
#include "llc_papers.h"
#include "llc_report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: llc paper NAME [--out FILE.html] [--scale full|tiny] [--wall SECONDS] [--threads N] [--db PATH]\n"
    "Check the claims of study NAME (sort, text, icl, modadd) against the store its script filled\n"
    "(make paper-NAME: tests/papers/paper_NAME.sh), each with the numbers measured and a verdict\n"
    "(reproduced, partly, not reproduced; not measured when the store lacks the numbers) computed by\n"
    "the thresholds of llc/PAPERS_REPRO.md. Writes FILE.html (default NAME.html), FILE.md beside it,\n"
    "and FILE-RUN.html, the report of each main run; prints the verdicts.\n"
    "exit codes: 2 unknown study or bad option, 5 no store or a study run missing, 3 a file not written.\n";

static const cli_optdef defs[] = {{"out", 1, "output page (default NAME.html); the .md goes beside it"},
                                  {"scale", 1, "the scale the study ran at, as the page states it (default full)"},
                                  {"wall", 1, "the study's wall time in seconds, as the page states it"},
                                  {"threads", 1, "threads for the evaluations from checkpoints (default 2)"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

/* One run's report into path. */
static int run_page(const cli_args *a, const char *run, const char *path)
{
    cli_run r = {0};
    char err[LLC_ERRLEN] = "";
    cli_outfile of;
    int code, rc;
    if ((code = cli_open_run(a, LLC_STORE_READONLY, run, &r))) goto cleanup;
    if ((code = cli_out_open(&of, "paper", path, 0))) goto cleanup;
    llc_report_opts o = {run, r.task, r.model, NULL, 0};
    if ((rc = llc_report_write(of.f, r.store, &o, err))) {
        cli_out_abort(&of);
        code = cli_error(cli_exit_code(rc), "paper: report of %s: %s", run, err[0] ? err : llc_strerror(rc));
        goto cleanup;
    }
    code = cli_out_close(&of, "paper");
cleanup:
    cli_run_close(&r);
    return code;
}

int cmd_paper(int argc, char **argv)
{
    if (argc < 1 || argv[0][0] == '-') {
        if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
            cli_args a;
            int rc = cli_parse(&a, "paper", usage, defs, argc, argv);
            return rc < 0 ? 0 : rc;
        }
        return cli_error(EXIT_USAGE, "paper: name the study first: llc paper sort|text|icl|modadd [options]");
    }
    const char *name = argv[0];
    int known = 0;
    for (int i = 0; llc_paper_names[i]; i++) known |= strcmp(name, llc_paper_names[i]) == 0;
    if (!known) return cli_error(EXIT_USAGE, "paper: no study '%s': one of sort, text, icl, modadd", name);
    cli_args a;
    int rc = cli_parse(&a, "paper", usage, defs, argc - 1, argv + 1);
    if (rc) return rc < 0 ? 0 : rc;
    long long threads;
    double wall;
    if (cli_get_ll(&a, "threads", 2, 1, 256, &threads) || cli_get_double(&a, "wall", -1, -1, 1e9, &wall))
        return EXIT_USAGE;
    const char *scale = cli_get(&a, "scale") ? cli_get(&a, "scale") : "full";
    char out_def[64], base[4096], md[4200], pages[LLC_PAPER_MAX_RUNS][4200], names[LLC_PAPER_MAX_RUNS][4200];
    const char *out = cli_get(&a, "out");
    if (!out) {
        snprintf(out_def, sizeof out_def, "%s.html", name);
        out = out_def;
    }
    size_t len = strlen(out);
    if (len < 6 || strcmp(out + len - 5, ".html") != 0 || len >= sizeof base)
        return cli_error(EXIT_USAGE, "paper: --out '%s' must name an .html file", out);
    memcpy(base, out, len - 5);
    base[len - 5] = 0;
    snprintf(md, sizeof md, "%s.md", base);

    llc_store *store = NULL;
    llc_paper_result *r = calloc(1, sizeof *r);
    char err[LLC_ERRLEN] = "", date[32];
    int code = 0;
    if (!r) return cli_error(EXIT_NOMEM, "paper: out of memory");
    if ((code = cli_open_store(&a, LLC_STORE_READONLY, &store))) goto cleanup;
    if ((rc = llc_paper_evaluate(store, name, (int)threads, r, err))) {
        code = cli_error(cli_exit_code(rc), "%s", err);
        goto cleanup;
    }
    llc_store_close(store);
    store = NULL;
    const char *links[LLC_PAPER_MAX_RUNS];
    for (int i = 0; i < r->n_runs; i++) {
        snprintf(pages[i], sizeof pages[i], "%s-%s.html", base, r->runs[i]);
        const char *slash = strrchr(pages[i], '/');
        snprintf(names[i], sizeof names[i], "%.4000s", slash ? slash + 1 : pages[i]);
        links[i] = names[i];
        if ((code = run_page(&a, r->runs[i], pages[i]))) goto cleanup;
    }
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    llc_paper_meta m = {scale, wall, LLC_VERSION, date, links};
    cli_outfile of;
    if ((code = cli_out_open(&of, "paper", md, 0))) goto cleanup;
    if ((rc = llc_paper_write_md(of.f, r, &m))) {
        cli_out_abort(&of);
        code = cli_error(cli_exit_code(rc), "paper: cannot write %s", md);
        goto cleanup;
    }
    if ((code = cli_out_close(&of, "paper"))) goto cleanup;
    if ((code = cli_out_open(&of, "paper", out, 0))) goto cleanup;
    if ((rc = llc_paper_write_html(of.f, r, &m))) {
        cli_out_abort(&of);
        code = cli_error(cli_exit_code(rc), "paper: cannot write %s", out);
        goto cleanup;
    }
    if ((code = cli_out_close(&of, "paper"))) goto cleanup;
    printf("paper %s: %s (%s)\n", name, llc_paper_verdict_names[r->overall], out);
    for (int i = 0; i < r->n; i++)
        printf("  %d. %-15s %s\n", i + 1, llc_paper_verdict_names[r->claim[i].verdict], r->claim[i].text);
    printf("%s\n", md);
cleanup:
    llc_store_close(store);
    free(r);
    return code;
}
