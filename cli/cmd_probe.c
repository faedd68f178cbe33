/* cmd_probe.c - `llc probe`: what each attention head does at each
 * checkpoint of a run (llc/probe.c, definitions in llc/PROBES.md), written
 * to the store (table probes, view probe_curves) and printed like `llc
 * curves`; or one head's OV / QK circuit or attention pattern as a matrix. */
#include "cli.h"
#include "llc_mpi.h"
#include "llc_probe.h"
#include "llc_probe_results.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc probe --run ID [--steps SPEC] [--data D] [--heads all|L.H] [--probe NAME]... [--mode zero|mean]\n"
    "                 [--seqs N] [--seed S] [--threads N] [--force] [--format table|csv|json] [--db PATH]\n"
    "       llc probe --run ID --step S --what ov|qk|pattern --head L.H [--data D] [--format csv|json]\n"
    "Score what each attention head does at each selected checkpoint and write the scores to the store\n"
    "(table probes, view probe_curves: run, target, data, probe, step, value), then print them like\n"
    "llc curves, with each head's owned tokens at the last step. Scores already stored with the same\n"
    "settings are skipped; --force recomputes them. Definitions: llc/PROBES.md.\n"
    "With --what, print one matrix of one head at one checkpoint instead: ov its OV circuit (token\n"
    "attended to x logit change), qk its QK circuit (query token x key token), pattern its attention on\n"
    "the example sequence (sequence 0 of the probe set of --data; row = query position).\n"
    "Probes (default: every one the task allows): prev_token current first entropy induction duplicate\n"
    "icl copying copy_suppression owned_ov owned_qk owned_att ablation.\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"steps", 1, "checkpoints: A:B, every:K or a list (default all)"},
                                  {"data", 1, "distribution of the probe set and the ablation loss (default test)"},
                                  {"heads", 1, "'all' (default) or one head L.H"},
                                  {"probe", 2, "a probe to compute (repeatable; default all that apply)"},
                                  {"mode", 1, "ablation: zero (default) or mean"},
                                  {"seqs", 1, "probe-set size in sequences (default 256)"},
                                  {"seed", 1, "probe-set seed (default 1)"},
                                  {"threads", 1, "threads (default: all cores)"},
                                  {"force", 0, "recompute stored scores"},
                                  {"format", 1, "table (default), csv or json; with --what csv (default) or json"},
                                  {"step", 1, "with --what: the checkpoint"},
                                  {"what", 1, "ov, qk or pattern: print one matrix"},
                                  {"head", 1, "with --what: the head L.H"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

/* "L.H" -> l, h; 0 if malformed. */
static int parse_head(const char *s, int *l, int *h)
{
    char tail;
    return s && sscanf(s, "%d.%d%c", l, h, &tail) == 2 && *l >= 0 && *h >= 0;
}

static void print_num(double v)
{
    if (isfinite(v)) printf("%.9g", v);
    else printf("null");
}

/* The tokens head hd owns, as ranges "a-b, c, ...", into buf. */
static void owned_ranges(const int *owner, int n, int hd, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int j = 0; j < n; j++) {
        if (owner[j] != hd || (j > 0 && owner[j - 1] == hd)) continue;
        int e = j;
        while (e + 1 < n && owner[e + 1] == hd) e++;
        int w = e > j ? snprintf(buf + k, len - k, "%s%d-%d", k ? ", " : "", j, e)
                      : snprintf(buf + k, len - k, "%s%d", k ? ", " : "", j);
        if (w < 0 || (size_t)w >= len - k) break;
        k += (size_t)w;
    }
    if (!k) snprintf(buf, len, "nothing");
}

static void print_ownership(const llc_probe_result *r, long long step)
{
    const int LH = r->n_layers * r->n_heads;
    char buf[2048];
    static const char *const name[] = {"OV", "QK", "attention"};
    const int *owners[] = {r->owner_ov, r->owner_qk, r->owner_att};
    const int segs[] = {r->segments_ov, r->segments_qk, r->segments_att};
    for (int view = 0; view < 3; view++) {
        const int *own = owners[view];
        if (!own) continue;
        printf("\nowned tokens 0-%d at step %lld, %s view (%d segments):\n", r->n_own - 1, step, name[view],
               segs[view]);
        for (int hd = 0; hd < LH; hd++) {
            owned_ranges(own, r->n_own, hd, buf, sizeof buf);
            printf("  head %d.%d owns %s\n", hd / r->n_heads, hd % r->n_heads, buf);
        }
        owned_ranges(own, r->n_own, -1, buf, sizeof buf);
        if (strcmp(buf, "nothing")) printf("  never output in the probe set: %s\n", buf);
    }
}

static int print_points(const char *run, const llc_probe_point *p, int n, const char *fmt)
{
    if (strcmp(fmt, "csv") == 0) {
        printf("run,target,data,probe,step,value\n");
        for (int i = 0; i < n; i++) {
            printf("%s,%s,%s,%s,%lld,", run, p[i].target, p[i].data, p[i].probe, p[i].step);
            print_num(p[i].value);
            printf("\n");
        }
    } else if (strcmp(fmt, "json") == 0) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; arr && i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "run", run);
            cJSON_AddStringToObject(o, "target", p[i].target);
            cJSON_AddStringToObject(o, "data", p[i].data);
            cJSON_AddStringToObject(o, "probe", p[i].probe);
            cJSON_AddNumberToObject(o, "step", (double)p[i].step);
            if (isfinite(p[i].value)) cJSON_AddNumberToObject(o, "value", p[i].value);
            else cJSON_AddNullToObject(o, "value");
            cJSON_AddItemToArray(arr, o);
        }
        char *txt = arr ? cJSON_Print(arr) : NULL;
        cJSON_Delete(arr);
        if (!txt) return cli_error(EXIT_NOMEM, "probe: out of memory");
        printf("%s\n", txt);
        cJSON_free(txt);
    } else {
        printf("%-8s %-8s %-18s %10s %12s\n", "target", "data", "probe", "step", "value");
        for (int i = 0; i < n; i++)
            printf("%-8s %-8s %-18s %10lld %12.4f\n", p[i].target, p[i].data, p[i].probe, p[i].step, p[i].value);
    }
    return 0;
}

/* One matrix (rows x cols, doubles or floats) as csv or json. */
static void print_matrix(const double *d, const float *f, int rows, int cols, const char *fmt, const char *what,
                         const char *head, long long step)
{
    if (strcmp(fmt, "json") == 0) {
        printf("{\"what\": \"%s\", \"head\": \"%s\", \"step\": %lld, \"rows\": %d, \"cols\": %d, \"matrix\": [", what,
               head, step, rows, cols);
        for (int i = 0; i < rows; i++) {
            printf("%s[", i ? ",\n  " : "\n  ");
            for (int j = 0; j < cols; j++) {
                if (j) printf(", ");
                print_num(d ? d[(size_t)i * cols + j] : (double)f[(size_t)i * cols + j]);
            }
            printf("]");
        }
        printf("\n]}\n");
        return;
    }
    printf("row");
    for (int j = 0; j < cols; j++) printf(",%d", j);
    printf("\n");
    for (int i = 0; i < rows; i++) {
        printf("%d", i);
        for (int j = 0; j < cols; j++) {
            printf(",");
            print_num(d ? d[(size_t)i * cols + j] : (double)f[(size_t)i * cols + j]);
        }
        printf("\n");
    }
}

static void sweep_progress(void *ctx, int i, int n, long long step)
{
    cli_progress_update(ctx, i, n, "step %lld", step);
}

/* The options of one `llc probe`, checked. */
typedef struct {
    const char *run, *what, *fmt, *data, *hs; /* hs: the selected head, NULL for all */
    int sel_l, sel_h, ablate_mean;
    unsigned probes;
    long long seqs, seed, threads, step;
} probe_opts;

static int read_opts(const cli_args *a, probe_opts *o)
{
    const char *heads = cli_get(a, "heads"), *mode = cli_get(a, "mode"), *pv;
    *o = (probe_opts){.run = cli_get(a, "run"), .what = cli_get(a, "what"), .fmt = cli_get(a, "format"),
                      .data = cli_get(a, "data"), .sel_l = -1, .sel_h = -1};
    const char *what = o->what;
    if (!o->run) return cli_error(EXIT_USAGE, "probe: --run ID is required");
    if (what && strcmp(what, "ov") && strcmp(what, "qk") && strcmp(what, "pattern"))
        return cli_error(EXIT_USAGE, "probe: --what must be ov, qk or pattern, got '%s'", what);
    if (!o->fmt) o->fmt = what ? "csv" : "table";
    if (what ? strcmp(o->fmt, "csv") && strcmp(o->fmt, "json")
             : strcmp(o->fmt, "table") && strcmp(o->fmt, "csv") && strcmp(o->fmt, "json"))
        return cli_error(EXIT_USAGE, "probe: --format must be %s, got '%s'", what ? "csv or json" : "table, csv or json",
                         o->fmt);
    if (mode && strcmp(mode, "zero") && strcmp(mode, "mean"))
        return cli_error(EXIT_USAGE, "probe: --mode must be zero or mean, got '%s'", mode);
    o->ablate_mean = mode && !strcmp(mode, "mean");
    if (what && (!cli_get(a, "step") || !cli_get(a, "head")))
        return cli_error(EXIT_USAGE, "probe: --what needs --step S and --head L.H");
    if (!what && (cli_get(a, "step") || cli_get(a, "head")))
        return cli_error(EXIT_USAGE, "probe: --step and --head go with --what; use --steps and --heads for scores");
    o->hs = what ? cli_get(a, "head") : heads && strcmp(heads, "all") ? heads : NULL;
    if (o->hs && !parse_head(o->hs, &o->sel_l, &o->sel_h))
        return cli_error(EXIT_USAGE, "probe: %s must be %sa head L.H like 0.3, got '%s'", what ? "--head" : "--heads",
                         what ? "" : "'all' or ", o->hs);
    for (int i = 0; (pv = cli_get_nth(a, "probe", i)); i++) {
        int k = llc_probe_parse(pv);
        if (k < 0)
            return cli_error(EXIT_USAGE,
                             "probe: unknown probe '%s' (probes: prev_token, current, first, entropy, induction, "
                             "duplicate, icl, copying, copy_suppression, owned_ov, owned_qk, owned_att, ablation)",
                             pv);
        o->probes |= 1u << k;
    }
    if (cli_get_ll(a, "seqs", LLC_PROBE_DEFAULT_SEQS, 1, LLC_PROBE_MAX_SEQS, &o->seqs) ||
        cli_get_ll(a, "seed", 1, 0, (long long)1e18, &o->seed) ||
        cli_get_ll(a, "threads", cli_cores(), 1, 1024, &o->threads) ||
        (what && cli_get_ll(a, "step", 0, 0, (long long)9e18, &o->step)))
        return EXIT_USAGE;
    if (!o->data) o->data = "test";
    return 0;
}

/* --what: one matrix of one head at one checkpoint. */
static int print_one(const cli_args *a, cli_run *r, const probe_opts *o, const llc_probe_config *pc)
{
    char err[LLC_ERRLEN] = "";
    float *att = NULL;
    double *mat = NULL;
    int nr = 0, nc = 0, rc, code = cli_run_checkpoint(a, r, o->step);
    if (code) return code;
    if (strcmp(o->what, "pattern") == 0) rc = llc_probe_pattern(pc, o->sel_l, o->sel_h, &att, &nr, err), nc = nr;
    else rc = llc_probe_circuit(r->model, r->w, o->sel_l, o->sel_h, strcmp(o->what, "qk") == 0, &mat, &nr, &nc, err);
    if (rc) code = cli_error(cli_exit_code(rc), "%s", err);
    else print_matrix(mat, att, nr, nc, o->fmt, o->what, o->hs, o->step);
    free(mat);
    free(att);
    return code;
}

/* The stored curves of what was asked (one --probe, one head, or all). */
static int print_curves(cli_run *r, const probe_opts *o)
{
    llc_probe_point *pts = NULL;
    const char *only = NULL;
    char pname[32];
    int n = 0, code = 0, rc;
    if (o->probes && !(o->probes & (o->probes - 1))) { /* a single --probe */
        int k = 0;
        while (!(o->probes >> k & 1)) k++;
        if (k == LLC_PROBE_ABLATION) snprintf(pname, sizeof pname, "ablation_%s", o->ablate_mean ? "mean" : "zero");
        else snprintf(pname, sizeof pname, "%s", llc_probe_names[k]);
        only = pname;
    }
    if ((rc = llc_probe_results_curves(r->store, r->id, only, o->sel_l >= 0 ? o->hs : NULL, o->data, &pts, &n)))
        code = cli_error(cli_exit_code(rc), "probe: %s", llc_store_errmsg(r->store));
    else code = print_points(r->id, pts, n, o->fmt);
    free(pts);
    return code;
}

/* Score the selected checkpoints (skipping stored ones), print the curves
 * and, in a table, the owned tokens at the last selected step. */
static int sweep(const cli_args *a, cli_run *r, const probe_opts *o, llc_probe_config *pc, int n_layers, int n_heads)
{
    char err[LLC_ERRLEN] = "", settings[160], title[96];
    long long *steps = NULL;
    llc_probe_result res = {0};
    cli_progress prog = {0};
    unsigned want = 0;
    int n_steps = 0, done = 0, skipped = 0, last_done = -1, code = 0, rc;
    if ((rc = llc_probe_plan(pc, &want, err))) {
        code = cli_error(cli_exit_code(rc), "%s", err);
        goto cleanup;
    }
    if ((code = cli_run_steps(a, r, &steps, &n_steps, NULL))) goto cleanup;
    llc_probe_settings(pc, settings, sizeof settings);
    snprintf(title, sizeof title, "probe %s", r->id);
    cli_progress_start(&prog, a, title);
    if (llc_mpi_size() > 1) cli_catch_signals(); /* rank 0 stops between units; one process as before */
    llc_probe_sweep_config sc = {.store = r->store, .run = r->id, .data = o->data, .settings = settings,
                                 .config = r->info.config, .interrupt = &cli_signal_caught,
                                 .steps = steps, .n_steps = n_steps, .w = r->w, .want = want, .n_layers = n_layers,
                                 .n_heads = n_heads, .sel_l = o->sel_l, .sel_h = o->sel_h,
                                 .force = cli_has(a, "force"), .progress = sweep_progress, .ctx = &prog};
    if ((rc = llc_probe_sweep(&sc, pc, &res, &last_done, &done, &skipped, err))) {
        code = cli_error(cli_exit_code(rc), "probe: %s", err);
        goto cleanup;
    }
    cli_progress_end(&prog);
    if (!a->quiet)
        fprintf(stderr, "probe %s: %d checkpoint%s computed, %d already stored\n", r->id, done, done == 1 ? "" : "s",
                skipped);
    if ((code = print_curves(r, o))) goto cleanup;
    const unsigned own_bits = 1u << LLC_PROBE_OWNED_OV | 1u << LLC_PROBE_OWNED_QK | 1u << LLC_PROBE_OWNED_ATT;
    if (strcmp(o->fmt, "table") == 0 && (want & own_bits)) {
        if (last_done != n_steps - 1) { /* the last step was stored: score its ownership again */
            pc->probes = want & own_bits;
            llc_probe_result_free(&res);
            if ((code = cli_run_checkpoint(a, r, steps[n_steps - 1]))) goto cleanup;
            if ((rc = llc_probe_run(pc, &res, err))) {
                code = cli_error(cli_exit_code(rc), "probe: %s", err);
                goto cleanup;
            }
        }
        print_ownership(&res, steps[n_steps - 1]);
    }
cleanup:
    cli_progress_end(&prog);
    llc_probe_result_free(&res);
    free(steps);
    return code;
}

int cmd_probe(int argc, char **argv)
{
    cli_args a;
    probe_opts o;
    cli_run r = {0};
    int code = cli_parse(&a, "probe", usage, defs, argc, argv);
    if (code) return code < 0 ? 0 : code;
    if ((code = read_opts(&a, &o))) return code;
    if ((code = cli_open_run(&a, o.what ? LLC_STORE_READONLY : LLC_STORE_RW, o.run, &r)) ||
        (code = cli_run_weights(&a, &r)))
        goto cleanup;
    const llc_tf_config *tc = cli_run_transformer(&a, &r, "probes");
    if (!tc) {
        code = EXIT_USAGE;
        goto cleanup;
    }
    if (o.sel_l >= tc->n_layers || o.sel_h >= tc->n_heads) {
        code = cli_error(EXIT_NOTFOUND, "probe: head %s does not exist: model has layers 0-%d and heads 0-%d", o.hs,
                         tc->n_layers - 1, tc->n_heads - 1);
        goto cleanup;
    }
    int dist;
    if ((code = cli_task_dist(a.cmd, r.task, o.data, &dist))) goto cleanup;
    const int own = llc_probe_own_tokens(r.task, tc->n_out);
    llc_probe_config pc = {.model = r.model, .w = r.w, .task = r.task, .dist = dist, .probes = o.probes,
                           .n_seqs = (int)o.seqs, .seed = (uint64_t)o.seed, .ablate_mean = o.ablate_mean,
                           .own_tokens = own, .n_threads = (int)o.threads};
    /* the numbers must not depend on how OpenBLAS would split a product over threads */
    openblas_set_num_threads(1);
    cli_keep_freed_memory();
    code = o.what ? print_one(&a, &r, &o, &pc) : sweep(&a, &r, &o, &pc, tc->n_layers, tc->n_heads);
cleanup:
    cli_run_close(&r);
    return code;
}
