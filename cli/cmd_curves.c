/* cmd_curves.c - `llc curves`: print the developmental curves of a run. */
#include "cli.h"
#include "llc_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc curves --run ID [--target T] [--data D] [--format table|csv|json] [--db PATH]\n"
    "Print the curves (view curves: run, target, data, step, llc_mean, llc_std) of a run.\n"
    "note NEGATIVE (csv: negative, json: \"negative\": true): the estimate is significantly below 0,\n"
    "mean + 2*std/sqrt(chains) < 0: w* is not a local minimum, or the sampler drifted (see README).\n"
    "An unknown --target or --data is exit 5, naming those the run has.\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"target", 1, "only this target (model, 1.3, layer 0, ...)"},
                                  {"data", 1, "only this data distribution"},
                                  {"format", 1, "table (default), csv or json"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

static void print_num(double v)
{
    if (isfinite(v)) printf("%.9g", v);
    else printf("null");
}

int cmd_curves(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "curves", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "curves: --run ID is required");
    const char *fmt = cli_get(&a, "format");
    if (!fmt) fmt = "table";
    if (strcmp(fmt, "table") && strcmp(fmt, "csv") && strcmp(fmt, "json"))
        return cli_error(EXIT_USAGE, "curves: --format must be table, csv or json, got '%s'", fmt);
    cli_run rh = {0};
    if ((rc = cli_find_run(&a, LLC_STORE_READONLY, run, &rh))) {
        cli_run_close(&rh);
        return rc;
    }
    llc_store *s = rh.store;
    llc_curve_point *p = NULL;
    int n = 0;
    rc = llc_results_curves(s, run, cli_get(&a, "target"), cli_get(&a, "data"), &p, &n);
    if (rc) {
        int code = cli_error(cli_exit_code(rc), "curves: %s", llc_store_errmsg(s));
        cli_run_close(&rh);
        return code;
    }
    const char *want_t = cli_get(&a, "target"), *want_d = cli_get(&a, "data");
    if (n == 0 && (want_t || want_d)) {
        /* an unknown target or distribution is an error when the run has estimates */
        llc_curve_point *all = NULL;
        int n_all = 0;
        rc = llc_results_curves(s, run, NULL, NULL, &all, &n_all);
        if (rc == LLC_OK && n_all > 0) {
            char have_t[512] = "", have_d[256] = "";
            for (int i = 0; i < n_all; i++) {
                int seen_t = 0, seen_d = 0;
                for (int j = 0; j < i; j++) {
                    seen_t |= strcmp(all[j].target, all[i].target) == 0;
                    seen_d |= strcmp(all[j].data, all[i].data) == 0;
                }
                if (!seen_t && strlen(have_t) + strlen(all[i].target) + 8 < sizeof have_t)
                    snprintf(have_t + strlen(have_t), sizeof have_t - strlen(have_t), "%s%s", have_t[0] ? ", " : "",
                             all[i].target);
                if (!seen_d && strlen(have_d) + strlen(all[i].data) + 8 < sizeof have_d)
                    snprintf(have_d + strlen(have_d), sizeof have_d - strlen(have_d), "%s%s", have_d[0] ? ", " : "",
                             all[i].data);
            }
            free(all);
            free(p);
            cli_run_close(&rh);
            return cli_error(EXIT_NOTFOUND, "curves: run %s has no estimates for %s%s%s%s%s%s (targets: %s; data: %s)",
                             run, want_t ? "target '" : "", want_t ? want_t : "", want_t ? "'" : "",
                             want_d ? (want_t ? " on data '" : "data '") : "", want_d ? want_d : "", want_d ? "'" : "",
                             have_t, have_d);
        }
        free(all);
    }
    int n_neg = 0;
    for (int i = 0; i < n; i++) n_neg += llc_results_negative(p[i].llc_mean, p[i].llc_std, p[i].chains);
    if (strcmp(fmt, "csv") == 0) {
        printf("run,target,data,step,llc_mean,llc_std,note\n");
        for (int i = 0; i < n; i++) {
            printf("%s,%s,%s,%lld,", run, p[i].target, p[i].data, p[i].step);
            print_num(p[i].llc_mean);
            printf(",");
            print_num(p[i].llc_std);
            printf(",%s\n", llc_results_negative(p[i].llc_mean, p[i].llc_std, p[i].chains) ? "negative" : "");
        }
    } else if (strcmp(fmt, "json") == 0) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "run", run);
            cJSON_AddStringToObject(o, "target", p[i].target);
            cJSON_AddStringToObject(o, "data", p[i].data);
            cJSON_AddNumberToObject(o, "step", (double)p[i].step);
            if (isfinite(p[i].llc_mean)) cJSON_AddNumberToObject(o, "llc_mean", p[i].llc_mean);
            else cJSON_AddNullToObject(o, "llc_mean");
            if (isfinite(p[i].llc_std)) cJSON_AddNumberToObject(o, "llc_std", p[i].llc_std);
            else cJSON_AddNullToObject(o, "llc_std");
            cJSON_AddBoolToObject(o, "negative", llc_results_negative(p[i].llc_mean, p[i].llc_std, p[i].chains));
            cJSON_AddItemToArray(arr, o);
        }
        char *txt = cJSON_Print(arr);
        printf("%s\n", txt ? txt : "[]");
        cJSON_free(txt);
        cJSON_Delete(arr);
    } else {
        long long n_bad = 0; /* estimates not in the curves view: their chains diverged */
        if (n == 0 && llc_results_count_failed(s, run, &n_bad)) n_bad = 0;
        if (n == 0 && n_bad)
            printf("no usable estimates for run %s: %lld with diverged chains (llc export --run %s --what estimates "
                   "shows them; try a smaller --eps)\n", run, n_bad, run);
        else if (n == 0) printf("no estimates for run %s yet (llc estimate --run %s)\n", run, run);
        else printf("%-10s %-8s %10s %12s %12s  %s\n", "target", "data", "step", "llc_mean", "llc_std", "note");
        for (int i = 0; i < n; i++)
            printf("%-10s %-8s %10lld %12.4f %12.4f  %s\n", p[i].target, p[i].data, p[i].step, p[i].llc_mean,
                   p[i].llc_std, llc_results_negative(p[i].llc_mean, p[i].llc_std, p[i].chains) ? "NEGATIVE" : "");
        if (n_neg)
            printf("NEGATIVE (%d): significantly below 0 (mean + 2*std/sqrt(chains) < 0). The LLC is never "
                   "negative: w* is not a local minimum of the loss (often an early checkpoint) or the sampler "
                   "drifted (try a smaller --eps or a larger --gamma). Within noise of 0: lambda ~ 0.\n",
                   n_neg);
    }
    free(p);
    cli_run_close(&rh);
    return 0;
}
