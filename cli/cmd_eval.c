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

/* The options of one `llc eval`, checked; heads as layer * n_heads + head
 * once the model is known (resolve_heads). */
enum { MAXH = 1024 };
typedef struct {
    const char *run, *fmt, *data, *clamp;
    int na, nk, mean;
    int hl_a[2 * MAXH], hl_k[2 * MAXH], ha[MAXH], hk[MAXH];
    long long step, batches, seed, threads;
} eval_opts;

static int read_opts(const cli_args *a, eval_opts *o)
{
    const char *mode = cli_get(a, "mode"), *abl = cli_get(a, "ablate"), *keep = cli_get(a, "keep-only");
    memset(o, 0, sizeof *o);
    o->run = cli_get(a, "run"), o->fmt = cli_get(a, "format"), o->data = cli_get(a, "data");
    o->clamp = cli_get(a, "clamp");
    if (!o->run || !cli_get(a, "step")) return cli_error(EXIT_USAGE, "eval: --run ID and --step S are required");
    if (!o->fmt) o->fmt = "table";
    if (strcmp(o->fmt, "table") && strcmp(o->fmt, "csv") && strcmp(o->fmt, "json"))
        return cli_error(EXIT_USAGE, "eval: --format must be table, csv or json, got '%s'", o->fmt);
    if (mode && strcmp(mode, "zero") && strcmp(mode, "mean"))
        return cli_error(EXIT_USAGE, "eval: --mode must be zero or mean, got '%s'", mode);
    o->mean = mode && !strcmp(mode, "mean");
    o->na = abl ? parse_heads(abl, o->hl_a, MAXH) : 0, o->nk = keep ? parse_heads(keep, o->hl_k, MAXH) : 0;
    if (o->na < 0 || (abl && o->na == 0))
        return cli_error(EXIT_USAGE, "eval: --ablate must be heads L.H separated by commas like 0.1,0.3, got '%s'", abl);
    if (o->nk < 0 || (keep && o->nk == 0))
        return cli_error(EXIT_USAGE, "eval: --keep-only must be heads L.H separated by commas like 1.3, got '%s'",
                         keep);
    if (cli_get_ll(a, "step", 0, 0, (long long)9e18, &o->step) ||
        cli_get_ll(a, "batches", LLC_EVAL_DEFAULT_BATCHES, 1, LLC_EVAL_MAX_BATCHES, &o->batches) ||
        cli_get_ll(a, "seed", 1, 0, (long long)1e18, &o->seed) ||
        cli_get_ll(a, "threads", cli_cores(), 1, 1024, &o->threads))
        return EXIT_USAGE;
    if (!o->data) o->data = "test";
    return 0;
}

static int resolve_heads(eval_opts *o, const llc_tf_config *tc)
{
    for (int i = 0; i < o->na + o->nk; i++) {
        const int *p = i < o->na ? o->hl_a + 2 * i : o->hl_k + 2 * (i - o->na);
        if (p[0] >= tc->n_layers || p[1] >= tc->n_heads)
            return cli_error(EXIT_NOTFOUND, "eval: head %d.%d does not exist: model has layers 0-%d and heads 0-%d",
                             p[0], p[1], tc->n_layers - 1, tc->n_heads - 1);
        (i < o->na ? o->ha : o->hk)[i < o->na ? i : i - o->na] = p[0] * tc->n_heads + p[1];
    }
    return 0;
}

/* --clamp: the run's config with the clamps appended, validated by the
 * config reader, built into *model2 (whose last clamps are the added ones). */
static int build_clamped(const cli_run *r, const char *clamp, llc_task **task2, llc_model **model2)
{
    char err[LLC_ERRLEN] = "";
    cJSON *list = cJSON_Parse(clamp), *cj = NULL;
    int code = 0, rc;
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return cli_error(EXIT_USAGE, "eval: --clamp must be a JSON list like '[{\"kind\":\"prev\",\"layer\":0,"
                                     "\"head\":1}]', got '%s'", clamp);
    }
    cj = cJSON_Duplicate(r->config, 1);
    cJSON *mj = cj ? cJSON_GetObjectItemCaseSensitive(cj, "model") : NULL;
    if (!mj && cj) mj = cJSON_AddObjectToObject(cj, "model");
    cJSON *old = mj ? cJSON_GetObjectItemCaseSensitive(mj, "clamps") : NULL;
    if (!mj) {
        cJSON_Delete(list);
        code = cli_error(EXIT_NOMEM, "eval: out of memory");
    } else if (cJSON_IsArray(old)) {
        while (list->child) cJSON_AddItemToArray(old, cJSON_DetachItemViaPointer(list, list->child));
        cJSON_Delete(list);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(mj, "clamps");
        cJSON_AddItemToObject(mj, "clamps", list);
    }
    if (!code && (rc = llc_run_build(cj, task2, model2, NULL, err)))
        code = cli_error(cli_exit_code(rc), "eval: --clamp: %s", err);
    cJSON_Delete(cj);
    return code;
}

static void print_result(const eval_opts *o, const llc_eval_result *res, int L, int NH)
{
    static const char *const names[] = {"loss", "accuracy", "entropy"};
    const double b[3] = {res->base.loss, res->base.accuracy, res->base.entropy};
    const double c[3] = {res->changed.loss, res->changed.accuracy, res->changed.entropy};
    const char *mode = o->mean ? "mean" : "zero";
    if (strcmp(o->fmt, "json") == 0) {
        printf("{\"run\": \"%s\", \"step\": %lld, \"data\": \"%s\", \"seqs\": %d, \"scored\": %.17g, \"mode\": \"%s\",\n"
               " \"ablated\": [", o->run, o->step, o->data, res->n_seqs, res->n_scored, mode);
        int k = 0;
        for (int hd = 0; hd < L * NH; hd++)
            if (res->ablated[hd]) printf("%s\"%d.%d\"", k++ ? ", " : "", hd / NH, hd % NH);
        printf("], \"clamps\": %s,\n", o->clamp ? o->clamp : "[]");
        for (int i = 0; i < 3; i++)
            printf(" \"%s\": {\"base\": %.17g, \"changed\": %.17g, \"diff\": %.17g}%s\n", names[i], b[i], c[i],
                   c[i] - b[i], i < 2 ? "," : "}");
    } else if (strcmp(o->fmt, "csv") == 0) {
        printf("metric,base,changed,diff\n");
        for (int i = 0; i < 3; i++) printf("%s,%.9g,%.9g,%.9g\n", names[i], b[i], c[i], c[i] - b[i]);
    } else {
        printf("eval %s step %lld on %s: %d sequences, %.0f scored positions\nablated (%s): ", o->run, o->step,
               o->data, res->n_seqs, res->n_scored, mode);
        print_heads(res, L, NH);
        printf("\nclamps added: %s\n\n%-10s %12s %12s %12s\n", o->clamp ? o->clamp : "none", "metric", "base",
               "changed", "diff");
        for (int i = 0; i < 3; i++) printf("%-10s %12.6f %12.6f %+12.6f\n", names[i], b[i], c[i], c[i] - b[i]);
    }
}

int cmd_eval(int argc, char **argv)
{
    cli_args a;
    static eval_opts o;
    char err[LLC_ERRLEN] = "";
    cli_run r = {0};
    llc_task *task2 = NULL;
    llc_model *model2 = NULL;
    llc_eval_result res = {0};
    int code = cli_parse(&a, "eval", usage, defs, argc, argv), rc, dist;
    if (code) return code < 0 ? 0 : code;
    if ((code = read_opts(&a, &o))) return code;
    if ((code = cli_open_run(&a, LLC_STORE_READONLY, o.run, &r))) goto cleanup;
    const llc_tf_config *tc = cli_run_transformer(&a, &r, "eval");
    if (!tc) {
        code = EXIT_USAGE;
        goto cleanup;
    }
    if ((code = resolve_heads(&o, tc))) goto cleanup;
    if (o.clamp && (code = build_clamped(&r, o.clamp, &task2, &model2))) goto cleanup;
    if ((code = cli_task_dist(a.cmd, r.task, o.data, &dist)) || (code = cli_run_checkpoint(&a, &r, o.step)))
        goto cleanup;
    /* the numbers must not depend on how OpenBLAS would split a product over threads */
    openblas_set_num_threads(1);
    const llc_tf_config *c2 = model2 ? llc_transformer_config(model2) : NULL;
    llc_eval_config ec = {.model = r.model, .w = r.w, .task = r.task, .dist = dist, .n_batches = (int)o.batches,
                          .seed = (uint64_t)o.seed, .ablate = o.ha, .n_ablate = o.na, .keep = o.hk, .n_keep = o.nk,
                          .ablate_mean = o.mean, .clamps = c2 ? c2->clamps + tc->n_clamps : NULL,
                          .n_clamps = c2 ? c2->n_clamps - tc->n_clamps : 0, .n_threads = (int)o.threads};
    if ((rc = llc_eval_run(&ec, &res, err))) code = cli_error(cli_exit_code(rc), "%s", err);
    else print_result(&o, &res, tc->n_layers, tc->n_heads);
cleanup:
    llc_eval_result_free(&res);
    llc_model_free(model2);
    llc_task_free(task2);
    cli_run_close(&r);
    return code;
}
