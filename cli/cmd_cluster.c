/* cmd_cluster.c - `llc cluster`: group a run's heads by the shape of their
 * curves (llc/llc_cluster.h). */
#include "cli.h"
#include "llc_cluster.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc cluster --run ID [--targets heads|T1,T2,...] [--of llc|probe:NAME] [--data D] [--k K]\n"
    "                   [--method kmeans|hierarchical|average] [--scale minmax|zscore|none] [--logx]\n"
    "                   [--seed S] [--no-store] [--db PATH]\n"
    "Cluster heads by the shape of their curves (the LLC curves of llc estimate --heads all, or a\n"
    "probe's curves of llc probe): each curve resampled on a common grid of steps (uniform in\n"
    "log(1+step) with --logx), scaled per curve, then k-means (k-means++ from --seed, 10 restarts)\n"
    "or agglomerative clustering (hierarchical = Ward linkage, average = average linkage). Stores the\n"
    "assignment (table clusters) and prints each cluster's members. Methods: llc/ANALYSIS.md.\n"
    "exit codes: 2 bad option or k larger than the number of heads, 5 unknown run or no curves.\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"targets", 1, "heads (default) or a comma list of targets"},
                                  {"of", 1, "llc (default) or probe:NAME"},
                                  {"data", 1, "data distribution (default train for llc, test for probes)"},
                                  {"k", 1, "number of clusters (default 3)"},
                                  {"method", 1, "kmeans (default), hierarchical (Ward) or average"},
                                  {"scale", 1, "minmax (default), zscore or none, per curve"},
                                  {"logx", 0, "resample uniformly in log(1 + step)"},
                                  {"seed", 1, "k-means++ seed (default 1)"},
                                  {"no-store", 0, "print, do not store"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

int cmd_cluster(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "cluster", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "cluster: --run ID is required");
    llc_cluster_request q = {.run = run, .curve = cli_get(&a, "of"), .data = cli_get(&a, "data"),
                             .targets = cli_get(&a, "targets"), .store = !cli_has(&a, "no-store")};
    llc_cluster_config_default(&q.method);
    long long k, seed;
    if ((rc = cli_get_ll(&a, "k", 3, 1, 100000, &k)) || (rc = cli_get_ll(&a, "seed", 1, 0, (long long)1 << 62, &seed)))
        return rc;
    q.method.k = (int)k;
    q.method.seed = (uint64_t)seed;
    q.method.logx = cli_has(&a, "logx");
    const char *me = cli_get(&a, "method"), *sc = cli_get(&a, "scale");
    if (me) {
        if (strcmp(me, "kmeans") == 0) q.method.method = LLC_CLUSTER_KMEANS;
        else if (strcmp(me, "hierarchical") == 0 || strcmp(me, "ward") == 0) q.method.method = LLC_CLUSTER_WARD;
        else if (strcmp(me, "average") == 0) q.method.method = LLC_CLUSTER_AVERAGE;
        else return cli_error(EXIT_USAGE, "cluster: --method must be kmeans, hierarchical or average, got '%s'", me);
    }
    if (sc) {
        int i = 0;
        while (llc_cluster_scale_names[i] && strcmp(llc_cluster_scale_names[i], sc) != 0) i++;
        if (!llc_cluster_scale_names[i])
            return cli_error(EXIT_USAGE, "cluster: --scale must be minmax, zscore or none, got '%s'", sc);
        q.method.scale = i;
    }
    cli_run rh = {0};
    if ((rc = cli_find_run(&a, q.store ? LLC_STORE_RW : LLC_STORE_READONLY, run, &rh))) {
        cli_run_close(&rh);
        return rc;
    }
    llc_store *s = rh.store;
    llc_cluster_result r;
    char err[LLC_ERRLEN] = "";
    rc = llc_cluster_run(s, &q, &r, err);
    cli_run_close(&rh);
    if (rc) return cli_error(cli_exit_code(rc), "%s", err);
    printf("%d curves (%s, %s) in %d clusters (%s, scale %s%s)\n", r.n, q.curve ? q.curve : "llc", r.data, r.k,
           llc_cluster_method_names[q.method.method], llc_cluster_scale_names[q.method.scale],
           q.method.logx ? ", log steps" : "");
    for (int c = 0; c < r.k; c++) {
        printf("cluster %d:", c);
        for (int i = 0; i < r.n; i++)
            if (r.assign[i] == c) printf(" %s", r.target[i]);
        printf("\n");
    }
    llc_cluster_result_free(&r);
    return 0;
}
