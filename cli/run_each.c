/* run_each.c - `--group G` and `--runs 'GLOB'` in place of `--run ID`: the
 * command runs once per selected run, in id order, with `--run ID`. The
 * runs come from the store (llc_store_runs_select); an `--out` naming one
 * file takes `{run}`, replaced by each run's id; a table on stdout is
 * headed "== run ID". `report --group` is not one page per run but one of
 * the group: left to cmd_report. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The value of option name in argv ("--name V" or "--name=V") and where it
 * is (*at, *width arguments), or NULL. */
static const char *opt_value(int argc, char **argv, const char *name, int *at, int *width)
{
    size_t n = strlen(name);
    const char *v = NULL;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strncmp(s, "--", 2) || strncmp(s + 2, name, n)) continue;
        if (s[2 + n] == '=') {
            v = s + 3 + n, *at = i, *width = 1;
        } else if (!s[2 + n] && i + 1 < argc) {
            v = argv[i + 1], *at = i, *width = 2;
            i++;
        }
    }
    return v;
}

/* "a{run}b" with {run} replaced by run, malloc'd. */
static char *out_for(const char *out, const char *run)
{
    const char *at = strstr(out, "{run}");
    char *s = malloc(strlen(out) + strlen(run) + 1);
    if (s) sprintf(s, "%.*s%s%s", (int)(at - out), out, run, at + 5);
    return s;
}

int cli_run_each(const char *cmd, int (*fn)(int, char **), int argc, char **argv, int *handled)
{
    int ag = -1, wg = 0, ar = -1, wr = 0, ao = -1, wo = 0, ad = -1, wd = 0, ax = -1, wx = 0;
    const char *grp = opt_value(argc, argv, "group", &ag, &wg), *glob = opt_value(argc, argv, "runs", &ar, &wr);
    const char *out = opt_value(argc, argv, "out", &ao, &wo), *db = opt_value(argc, argv, "db", &ad, &wd);
    const char *fmt = opt_value(argc, argv, "format", &ax, &wx);
    *handled = (grp && strcmp(cmd, "report")) || glob; /* report --group: one page, cmd_report's */
    if (!*handled) return 0;
    if ((grp && glob) || opt_value(argc, argv, "run", &ax, &wx))
        return cli_error(EXIT_USAGE, "%s: give one of --run ID, --group G and --runs GLOB", cmd);
    cli_args a = {.cmd = cmd, .n = db ? 1 : 0, .name = {"db"}, .value = {db}};
    llc_store *s = NULL;
    char **ids = NULL, **args = NULL, *path = NULL;
    int n = 0, code = cli_open_store(&a, LLC_STORE_READONLY, &s), rc;
    if (code) goto cleanup;
    if ((rc = llc_store_runs_select(s, grp, glob, &ids, &n))) {
        code = cli_error(cli_exit_code(rc), "%s: %s", cmd, llc_store_errmsg(s));
        goto cleanup;
    }
    llc_store_close(s);
    s = NULL;
    if (out && n > 1 && !strstr(out, "{run}")) {
        code = cli_error(EXIT_USAGE, "%s: --out '%s' would be written once per run: put {run} in it, e.g. "
                         "--out {run}.csv", cmd, out);
        goto cleanup;
    }
    if (!(args = calloc((size_t)argc + 5, sizeof *args))) {
        code = cli_error(EXIT_NOMEM, "%s: out of memory", cmd);
        goto cleanup;
    }
    for (int k = 0; k < n && !code; k++) {
        int m = 0;
        free(path);
        path = NULL;
        if (out && strstr(out, "{run}") && !(path = out_for(out, ids[k]))) {
            code = cli_error(EXIT_NOMEM, "%s: out of memory", cmd);
            break;
        }
        for (int i = 0; i < argc; i++) {
            if ((i >= ag && i < ag + wg && grp) || (i >= ar && i < ar + wr && glob)) continue;
            if (path && i >= ao && i < ao + wo) {
                if (i == ao) args[m++] = "--out", args[m++] = path;
                continue;
            }
            args[m++] = argv[i];
        }
        args[m++] = "--run";
        args[m++] = ids[k];
        args[m] = NULL;
        /* a table on stdout: a line saying whose it is (not in CSV/JSON, nor export's and report's files) */
        if (n > 1 && !fmt && strcmp(cmd, "export") && strcmp(cmd, "report")) printf("== run %s\n", ids[k]);
        code = fn(m, args);
    }
cleanup:
    llc_store_close(s);
    llc_strings_free(ids, n);
    free(args);
    free(path);
    return code;
}
