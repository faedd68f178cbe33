/* cmd_eval.c - `llc eval`: loss, accuracy and output entropy of one
 * checkpoint with heads ablated and/or clamps added, next to the model as
 * it is (llc/eval.c; llc/PROBES.md, "Eval"). Reads the store, writes
 * nothing. */
#include "cli.h"
#include "llc_eval.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc eval --run ID --step S [--data D] [--ablate L.H,...] [--keep-only L.H,...] [--mode zero|mean]\n"
    "                [--clamp JSON] [--batches N] [--seed S] [--threads N] [--format table|csv|json] [--db PATH]\n"
    "Loss, accuracy (on the scored positions) and output entropy of one checkpoint on a seeded eval set of\n"
    "N batches of 32 sequences (default 8) of distribution D (default test), as the model is and with the\n"
    "heads of --ablate ablated (their output replaced by zero, or by its mean over the eval set with\n"
    "--mode mean), every head of a --keep-only head's layer but the kept ones ablated, and the clamps of\n"
    "--clamp added (a list as in a config's model.clamps, e.g. '[{\"kind\":\"induction\",\"layer\":1,\"head\":0}]').\n"
    "Prints both and the difference. Nothing is written to the store. Details: llc/PROBES.md.\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"step", 1, "the checkpoint"},
                                  {"data", 1, "distribution of the eval set (default test)"},
                                  {"ablate", 1, "heads to ablate, L.H[,L.H...]"},
                                  {"keep-only", 1, "heads to keep, L.H[,L.H...]: the other heads of their layers are ablated"},
                                  {"mode", 1, "ablation: zero (default) or mean"},
                                  {"clamp", 1, "clamps to add, a JSON list as model.clamps"},
                                  {"batches", 1, "eval-set size in batches of 32 sequences (default 8)"},
                                  {"seed", 1, "eval-set seed (default 1)"},
                                  {"threads", 1, "threads (default: all cores)"},
                                  {"format", 1, "table (default), csv or json"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

/* "L.H,L.H,..." -> head pairs (layer, head) into hl[2*i], hl[2*i+1]; the count, or -1 if malformed. */
static int parse_heads(const char *s, int *hl, int max)
{
    int n = 0;
    while (s && *s) {
        int l, h, k = 0;
        if (n >= max || sscanf(s, "%d.%d%n", &l, &h, &k) != 2 || l < 0 || h < 0 || (s[k] && s[k] != ',')) return -1;
        hl[2 * n] = l, hl[2 * n + 1] = h, n++;
        s += k;
        if (*s == ',' && !*++s) return -1;
    }
    return n;
}

static void print_heads(const llc_eval_result *r, int L, int NH)
{
    int k = 0;
    for (int hd = 0; hd < L * NH; hd++)
        if (r->ablated[hd]) printf("%s%d.%d", k++ ? ", " : "", hd / NH, hd % NH);
    if (!k) printf("none");
}

int cmd_eval(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "eval", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run"), *mode = cli_get(&a, "mode"), *fmt = cli_get(&a, "format");
    const char *data = cli_get(&a, "data"), *clamp = cli_get(&a, "clamp");
    const char *abl = cli_get(&a, "ablate"), *keep = cli_get(&a, "keep-only");
    if (!run || !cli_get(&a, "step")) return cli_error(EXIT_USAGE, "eval: --run ID and --step S are required");
    if (!fmt) fmt = "table";
    if (strcmp(fmt, "table") && strcmp(fmt, "csv") && strcmp(fmt, "json"))
        return cli_error(EXIT_USAGE, "eval: --format must be table, csv or json, got '%s'", fmt);
    if (mode && strcmp(mode, "zero") && strcmp(mode, "mean"))
        return cli_error(EXIT_USAGE, "eval: --mode must be zero or mean, got '%s'", mode);
    enum { MAXH = 1024 };
    static int hl_a[2 * MAXH], hl_k[2 * MAXH], ha[MAXH], hk[MAXH];
    const int na = abl ? parse_heads(abl, hl_a, MAXH) : 0, nk = keep ? parse_heads(keep, hl_k, MAXH) : 0;
    if (na < 0 || (abl && na == 0))
        return cli_error(EXIT_USAGE, "eval: --ablate must be heads L.H separated by commas like 0.1,0.3, got '%s'", abl);
    if (nk < 0 || (keep && nk == 0))
        return cli_error(EXIT_USAGE, "eval: --keep-only must be heads L.H separated by commas like 1.3, got '%s'",
                         keep);
    long long step, batches, seed, threads;
    if (cli_get_ll(&a, "step", 0, 0, (long long)9e18, &step) ||
        cli_get_ll(&a, "batches", LLC_EVAL_DEFAULT_BATCHES, 1, LLC_EVAL_MAX_BATCHES, &batches) ||
        cli_get_ll(&a, "seed", 1, 0, (long long)1e18, &seed) || cli_get_ll(&a, "threads", cli_cores(), 1, 1024, &threads))
        return EXIT_USAGE;
    if (!data) data = "test";

    char err[LLC_ERRLEN] = "";
    llc_store *store = NULL;
    llc_run_info info = {0};
    cJSON *config = NULL, *cj = NULL;
    llc_task *task = NULL, *task2 = NULL;
    llc_model *model = NULL, *model2 = NULL;
    float *w = NULL;
    llc_eval_result res = {0};
    int code = 0;

    if ((code = cli_open_run(&a, LLC_STORE_READONLY, run, &store, &info, &config, &task, &model))) goto cleanup;
    const llc_tf_config *tc = llc_transformer_config(model);
    if (!tc) {
        code = cli_error(EXIT_USAGE, "eval: run '%s' is a %s model; eval needs a transformer", run, model->kind);
        goto cleanup;
    }
    const int NH = tc->n_heads;
    for (int i = 0; i < na + nk; i++) {
        const int *p = i < na ? hl_a + 2 * i : hl_k + 2 * (i - na);
        if (p[0] >= tc->n_layers || p[1] >= NH) {
            code = cli_error(EXIT_NOTFOUND, "eval: head %d.%d does not exist: model has layers 0-%d and heads 0-%d",
                             p[0], p[1], tc->n_layers - 1, NH - 1);
            goto cleanup;
        }
        (i < na ? ha : hk)[i < na ? i : i - na] = p[0] * NH + p[1];
    }
    /* --clamp: the run's config with the clamps appended, validated by the config reader */
    int n_extra = 0;
    const llc_clamp *extra = NULL;
    if (clamp) {
        cJSON *list = cJSON_Parse(clamp);
        if (!cJSON_IsArray(list)) {
            cJSON_Delete(list);
            code = cli_error(EXIT_USAGE, "eval: --clamp must be a JSON list like '[{\"kind\":\"prev\",\"layer\":0,"
                                         "\"head\":1}]', got '%s'", clamp);
            goto cleanup;
        }
        cj = cJSON_Duplicate(config, 1);
        cJSON *mj = cj ? cJSON_GetObjectItemCaseSensitive(cj, "model") : NULL;
        if (!mj && cj) mj = cJSON_AddObjectToObject(cj, "model");
        cJSON *old = mj ? cJSON_GetObjectItemCaseSensitive(mj, "clamps") : NULL;
        if (!mj) {
            cJSON_Delete(list);
            code = cli_error(EXIT_NOMEM, "eval: out of memory");
            goto cleanup;
        }
        if (cJSON_IsArray(old)) {
            while (list->child) cJSON_AddItemToArray(old, cJSON_DetachItemViaPointer(list, list->child));
            cJSON_Delete(list);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(mj, "clamps");
            cJSON_AddItemToObject(mj, "clamps", list);
        }
        if ((rc = llc_run_build(cj, &task2, &model2, NULL, err))) {
            code = cli_error(cli_exit_code(rc), "eval: --clamp: %s", err);
            goto cleanup;
        }
        const llc_tf_config *c2 = llc_transformer_config(model2);
        extra = c2->clamps + tc->n_clamps;
        n_extra = c2->n_clamps - tc->n_clamps;
    }
    int dist;
    if ((code = cli_task_dist(a.cmd, task, data, &dist))) goto cleanup;
    const size_t n_params = llc_model_n_params(model);
    if (!(w = malloc(n_params * sizeof *w))) {
        code = cli_error(EXIT_NOMEM, "eval: out of memory");
        goto cleanup;
    }
    if ((rc = llc_store_checkpoint_get(store, run, step, w, n_params, NULL, NULL))) {
        code = rc == LLC_ERR_NOTFOUND
                   ? cli_error(EXIT_NOTFOUND, "eval: run '%s' has no checkpoint at step %lld (see llc show)", run, step)
                   : cli_error(cli_exit_code(rc), "eval: %s", llc_store_errmsg(store));
        goto cleanup;
    }
    /* the numbers must not depend on how OpenBLAS would split a product over threads */
    openblas_set_num_threads(1);
    const int mean = mode && !strcmp(mode, "mean");
    llc_eval_config ec = {.model = model, .w = w, .task = task, .dist = dist, .n_batches = (int)batches,
                          .seed = (uint64_t)seed, .ablate = ha, .n_ablate = na, .keep = hk, .n_keep = nk,
                          .ablate_mean = mean, .clamps = extra, .n_clamps = n_extra, .n_threads = (int)threads};
    if ((rc = llc_eval_run(&ec, &res, err))) {
        code = cli_error(cli_exit_code(rc), "%s", err);
        goto cleanup;
    }
    static const char *const names[] = {"loss", "accuracy", "entropy"};
    const double b[3] = {res.base.loss, res.base.accuracy, res.base.entropy};
    const double c[3] = {res.changed.loss, res.changed.accuracy, res.changed.entropy};
    if (strcmp(fmt, "json") == 0) {
        printf("{\"run\": \"%s\", \"step\": %lld, \"data\": \"%s\", \"seqs\": %d, \"scored\": %.17g, \"mode\": \"%s\",\n"
               " \"ablated\": [", run, step, data, res.n_seqs, res.n_scored, mean ? "mean" : "zero");
        int k = 0;
        for (int hd = 0; hd < tc->n_layers * NH; hd++)
            if (res.ablated[hd]) printf("%s\"%d.%d\"", k++ ? ", " : "", hd / NH, hd % NH);
        printf("], \"clamps\": %s,\n", clamp ? clamp : "[]");
        for (int i = 0; i < 3; i++)
            printf(" \"%s\": {\"base\": %.17g, \"changed\": %.17g, \"diff\": %.17g}%s\n", names[i], b[i], c[i],
                   c[i] - b[i], i < 2 ? "," : "}");
    } else if (strcmp(fmt, "csv") == 0) {
        printf("metric,base,changed,diff\n");
        for (int i = 0; i < 3; i++) printf("%s,%.9g,%.9g,%.9g\n", names[i], b[i], c[i], c[i] - b[i]);
    } else {
        printf("eval %s step %lld on %s: %d sequences, %.0f scored positions\nablated (%s): ", run, step, data,
               res.n_seqs, res.n_scored, mean ? "mean" : "zero");
        print_heads(&res, tc->n_layers, NH);
        printf("\nclamps added: %s\n\n%-10s %12s %12s %12s\n", clamp ? clamp : "none", "metric", "base", "changed",
               "diff");
        for (int i = 0; i < 3; i++) printf("%-10s %12.6f %12.6f %+12.6f\n", names[i], b[i], c[i], c[i] - b[i]);
    }
cleanup:
    llc_eval_result_free(&res);
    free(w);
    llc_model_free(model2);
    llc_task_free(task2);
    llc_model_free(model);
    llc_task_free(task);
    cJSON_Delete(cj);
    cJSON_Delete(config);
    llc_run_info_free(&info);
    llc_store_close(store);
    return code;
}
