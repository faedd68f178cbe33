/* cmd_runs.c - `llc runs` (list the runs of a store) and `llc show` (one run). */
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_optdef runs_defs[] = {{"db", 1, "store path (default $LLC_DB or ./llc.db)"}, {NULL, 0, NULL}};
static const char runs_usage[] = "usage: llc runs [--db PATH]\nList the runs in the store, one line each (a warm start: from RUN:STEP).\n";

int cmd_runs(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "runs", runs_usage, runs_defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    llc_store *s = NULL;
    const char *path = cli_db_path(&a);
    struct stat sb;
    int missing = stat(path, &sb) != 0 && errno == ENOENT;
    /* no file, or an empty one, is no store yet: say so if train could create it there */
    if (missing || (S_ISREG(sb.st_mode) && sb.st_size == 0)) {
        char *copy = strdup(path);
        const char *dir = copy ? dirname(copy) : ".";
        int e = access(dir, W_OK | X_OK) == 0 ? 0 : errno;
        if (!e) printf("no store at %s yet (llc train creates it)\n", path);
        else cli_error(EXIT_NOTFOUND, "runs: no store at %s, and none can be created there: directory '%s': %s",
                       path, dir, strerror(e));
        free(copy);
        return e ? EXIT_NOTFOUND : 0;
    }
    if ((rc = cli_open_store(&a, LLC_STORE_READONLY, &s))) return rc;
    llc_run_info *runs = NULL;
    int n = 0;
    if ((rc = llc_store_run_list(s, &runs, &n))) {
        int code = cli_error(cli_exit_code(rc), "runs: %s", llc_store_errmsg(s));
        llc_store_close(s);
        return code;
    }
    printf("%-16s %-8s %-8s %10s %12s  %s\n", "run", "task", "status", "params", "checkpoints", "created");
    for (int i = 0; i < n; i++) {
        long long *steps = NULL;
        int ns = 0;
        llc_store_checkpoint_steps(s, runs[i].id, &steps, &ns);
        /* a warm start names where it started */
        cJSON *c = cJSON_Parse(runs[i].config);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "init_from");
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(f, "run"), *fs = cJSON_GetObjectItemCaseSensitive(f, "step");
        char from[96] = "";
        if (cJSON_IsString(fr) && cJSON_IsNumber(fs))
            snprintf(from, sizeof from, "  from %s:%lld", fr->valuestring, (long long)fs->valuedouble);
        cJSON_Delete(c);
        printf("%-16s %-8s %-8s %10lld %12d  %s%s\n", runs[i].id, runs[i].task, runs[i].status, runs[i].n_params, ns,
               runs[i].created, from);
        free(steps);
        llc_run_info_free(&runs[i]);
    }
    free(runs);
    llc_store_close(s);
    return 0;
}

static const cli_optdef show_defs[] = {{"run", 1, "run id"},
                                       {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                       {NULL, 0, NULL}};
static const char show_usage[] =
    "usage: llc show --run ID [--db PATH]\nShow a run: its config, status and checkpoints with losses.\n";

int cmd_show(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "show", show_usage, show_defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "show: --run ID is required");
    cli_run r = {0};
    if ((rc = cli_find_run(&a, LLC_STORE_READONLY, run, &r))) {
        cli_run_close(&r);
        return rc;
    }
    llc_store *s = r.store;
    const llc_run_info info = r.info;
    printf("run:      %s\ntask:     %s\nstatus:   %s%s%s\nparams:   %lld\nseed:     %llu\ncreated:  %s\nversion:  %s\n",
           info.id, info.task, info.status, info.message ? " - " : "", info.message ? info.message : "",
           info.n_params, info.seed, info.created, info.version);
    char *grp = NULL, **keys = NULL, **values = NULL;
    int n_vary = 0;
    if (llc_store_run_group(s, run, &grp) == LLC_OK && grp &&
        llc_store_run_vary(s, run, &keys, &values, &n_vary) == LLC_OK) {
        printf("group:    %s (", grp);
        for (int i = 0; i < n_vary; i++) printf("%s%s=%s", i ? ", " : "", keys[i], values[i]);
        printf(")\n");
    }
    free(grp);
    llc_strings_free(keys, n_vary);
    llc_strings_free(values, n_vary);
    cJSON *cfg = cJSON_Parse(info.config);
    char *pretty = cfg ? cJSON_Print(cfg) : NULL;
    printf("config:   %s\n", pretty ? pretty : info.config);
    cJSON_free(pretty);
    cJSON_Delete(cfg);
    long long *steps = NULL;
    int n = 0, code = 0;
    llc_store_checkpoint_steps(s, run, &steps, &n);
    printf("checkpoints: %d\n%10s %12s %12s\n", n, "step", "train_loss", "test_loss");
    float *w = malloc((size_t)(info.n_params > 0 ? info.n_params : 1) * sizeof(float));
    for (int i = 0; w && i < n; i++) {
        double trl = 0, tel = 0;
        if (n > 12 && i >= 6 && i < n - 6) {
            if (i == 6) printf("%10s\n", "...");
            continue;
        }
        /* the read checks the checkpoint: a damaged one is listed, and ends show with its error */
        rc = llc_store_checkpoint_get(s, run, steps[i], w, (size_t)info.n_params, &trl, &tel);
        if (rc == LLC_OK) {
            printf("%10lld %12.5f %12.5f\n", steps[i], trl, tel);
        } else {
            printf("%10lld %12s %12s\n", steps[i], "unreadable", "unreadable");
            if (!code) code = cli_error(cli_exit_code(rc), "show: %s", llc_store_errmsg(s));
        }
    }
    free(w);
    free(steps);
    cli_run_close(&r);
    return code;
}
