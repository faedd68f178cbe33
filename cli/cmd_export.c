/* cmd_export.c - `llc export`: a run's curves, estimates, checkpoint list or
 * training log as CSV or JSON, and one checkpoint as a raw float32 file plus
 * a JSON tensor table, for tools outside llc (numpy, pandas, spreadsheets). */
#include "cli.h"
#include "llc_query.h"
#include "llc_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc export --run ID [--what curves|estimates|checkpoints|log] [--format csv|json]\n"
    "                  [--step S] [--out PATH] [--db PATH]\n"
    "Write a run's results as CSV (with a header row) or JSON (an array of objects; missing or\n"
    "non-finite numbers are null) to stdout, or to --out PATH.\n"
    "  --what curves       run,target,data,step,llc_mean,llc_std (the curves view; default)\n"
    "  --what estimates    every column of the estimates table; JSON adds chain_llc, the\n"
    "                      per-chain estimates, and embeds settings/diagnostics as objects\n"
    "  --what checkpoints  run,step,train_loss,test_loss,n_params of every checkpoint\n"
    "  --what log          the training log: run,step,loss,lr,grad_norm,elapsed\n"
    "  --step S            only step S\n"
    "One checkpoint's parameters: --what checkpoints --step S --out PREFIX writes PREFIX.bin\n"
    "(the flat parameter vector, little-endian float32) and PREFIX.json (run, step, losses,\n"
    "n_params, dtype, the run's config, and tensors: name, shape, offset and size, offset and\n"
    "size counted in float32 elements). In Python:\n"
    "    import json, numpy as np\n"
    "    meta = json.load(open(\"PREFIX.json\")); w = np.fromfile(\"PREFIX.bin\", dtype=\"<f4\")\n"
    "    T = {t[\"name\"]: w[t[\"offset\"]:t[\"offset\"] + t[\"size\"]].reshape(t[\"shape\"]) for t in meta[\"tensors\"]}\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"what", 1, "curves (default), estimates, checkpoints or log"},
                                  {"format", 1, "csv (default) or json"},
                                  {"step", 1, "only this step (with --what checkpoints: export its parameters)"},
                                  {"out", 1, "output file (default stdout); a PREFIX for one checkpoint"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

/* The shortest "%.Ng" that reads back as the same double. */
static void format_double(char *buf, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* A double as JSON: the exact shortest number, or null when not finite
 * (cJSON's own printing may drop the last bit). */
static cJSON *json_double(double v)
{
    char buf[40];
    if (!isfinite(v)) return cJSON_CreateNull();
    format_double(buf, sizeof buf, v);
    return cJSON_CreateRaw(buf);
}

/* One CSV field, quoted (RFC 4180) when it holds a comma, quote or newline. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_value(FILE *f, const llc_value *v)
{
    char buf[64];
    switch (v->type) {
    case LLC_VALUE_NULL: break;
    case LLC_VALUE_INT: fprintf(f, "%lld", v->i); break;
    case LLC_VALUE_REAL:
        if (isfinite(v->d)) {
            format_double(buf, sizeof buf, v->d);
            fputs(buf, f);
        }
        break;
    case LLC_VALUE_BLOB: fprintf(f, "<%zu bytes>", v->bytes); break;
    default: csv_field(f, v->text); break;
    }
}

/* A column value as JSON; with embed_json a TEXT value that parses as JSON
 * (the settings and diagnostics columns) is embedded as such. */
static cJSON *json_value(const llc_value *v, int embed_json)
{
    switch (v->type) {
    case LLC_VALUE_NULL: return cJSON_CreateNull();
    case LLC_VALUE_INT: { /* exact, also beyond 2^53 where a double would round */
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", v->i);
        return cJSON_CreateRaw(buf);
    }
    case LLC_VALUE_REAL: return json_double(v->d);
    case LLC_VALUE_BLOB: return cJSON_CreateNull();
    default: {
        if (embed_json) {
            cJSON *j = cJSON_Parse(v->text);
            if (j) return j;
        }
        return cJSON_CreateString(v->text);
    }
    }
}

/* Where the rows go: CSV lines on f, or objects appended to arr. */
typedef struct {
    llc_store *s;
    FILE *f;
    cJSON *arr; /* NULL for CSV */
    int is_est, id_col;
} export_sink;

/* The llc_row_fn of export_rows: the header, then one row. */
static int export_row(void *ctx, int nc, const char *const *names, const llc_value *v)
{
    export_sink *x = ctx;
    if (!v) { /* the column names */
        for (int c = 0; c < nc; c++)
            if (strcmp(names[c], "id") == 0) x->id_col = c;
        if (x->arr) return LLC_OK;
        for (int c = 0; c < nc; c++) {
            if (c) fputc(',', x->f);
            csv_field(x->f, names[c]);
        }
        fputc('\n', x->f);
        return LLC_OK;
    }
    if (!x->arr) {
        for (int c = 0; c < nc; c++) {
            if (c) fputc(',', x->f);
            csv_value(x->f, &v[c]);
        }
        fputc('\n', x->f);
        return LLC_OK;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(x->arr, o);
    for (int c = 0; c < nc; c++) {
        int embed = x->is_est && (strcmp(names[c], "settings") == 0 || strcmp(names[c], "diagnostics") == 0);
        cJSON_AddItemToObject(o, names[c], json_value(&v[c], embed));
    }
    if (x->is_est && x->id_col >= 0 && v[x->id_col].type == LLC_VALUE_INT) {
        double *llc = NULL;
        int n = 0, rc = llc_results_chain_llcs(x->s, v[x->id_col].i, &llc, &n);
        if (rc) return rc;
        cJSON *ch = cJSON_AddArrayToObject(o, "chain_llc");
        for (int i = 0; i < n; i++) cJSON_AddItemToArray(ch, json_double(llc[i]));
        free(llc);
    }
    return LLC_OK;
}

/* Run the table query and write it. Returns 0 or an exit code. */
static int export_rows(llc_store *s, llc_query_table t, const char *run, const long long *step, int json, FILE *f)
{
    export_sink x = {s, f, json ? cJSON_CreateArray() : NULL, t == LLC_QUERY_ESTIMATES, -1};
    int code = 0, rc = llc_query_rows(s, t, run, step, export_row, &x);
    if (rc) {
        code = rc == LLC_ERR_NOMEM ? cli_error(EXIT_NOMEM, "export: out of memory")
                                   : cli_error(cli_exit_code(rc), "export: %s", llc_store_errmsg(s));
        goto cleanup;
    }
    if (json) {
        char *txt = cJSON_Print(x.arr);
        if (!txt) { code = cli_error(EXIT_NOMEM, "export: out of memory"); goto cleanup; }
        fprintf(f, "%s\n", txt);
        cJSON_free(txt);
    }
cleanup:
    cJSON_Delete(x.arr);
    return code;
}

/* PREFIX.bin (the BLOB as stored: little-endian float32) and PREFIX.json. */
static int export_checkpoint(const cli_args *a, cli_run *r, long long step, const char *prefix)
{
    llc_store *s = r->store;
    const llc_run_info *info = &r->info;
    const llc_model *model = r->model;
    cJSON *meta = NULL;
    char *path = NULL, *txt = NULL;
    void *blob = NULL;
    size_t bytes = 0;
    double loss[2];
    cli_outfile bin = {0}, js = {0};
    int code = 0, rc;
    size_t plen = strlen(prefix) + 8;
    if (!(path = malloc(plen))) return cli_error(EXIT_NOMEM, "export: out of memory");

    rc = llc_store_checkpoint_raw(s, info->id, step, &blob, &bytes, &loss[0], &loss[1]);
    if (rc == LLC_ERR_NOTFOUND) {
        code = cli_error(EXIT_NOTFOUND, "export: run '%s' has no checkpoint at step %lld (see llc show --run %s)",
                         info->id, step, info->id);
        goto cleanup;
    }
    if (rc) { code = cli_error(cli_exit_code(rc), "export: %s", llc_store_errmsg(s)); goto cleanup; }
    size_t n_params = r->n_params;
    if (bytes != 4 * n_params) {
        code = cli_error(EXIT_STORE, "export: checkpoint %s/%lld holds %zu bytes, the model has %zu params (%zu bytes)",
                         info->id, step, bytes, n_params, 4 * n_params);
        goto cleanup;
    }
    /* the BLOB goes out as stored, once the store's read has checked it (checksum, NaN) */
    if ((code = cli_run_weights(a, r))) goto cleanup;
    if ((rc = llc_store_checkpoint_get(s, info->id, step, r->w, n_params, NULL, NULL))) {
        code = cli_error(rc == LLC_ERR_INVALID ? EXIT_STORE : cli_exit_code(rc), "export: %s", llc_store_errmsg(s));
        goto cleanup;
    }

    snprintf(path, plen, "%s.bin", prefix);
    if ((code = cli_out_open(&bin, "export", path, 1))) goto cleanup;
    fwrite(blob, 1, bytes, bin.f);
    cli_out_finish(&bin);

    meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "run", info->id);
    cJSON_AddNumberToObject(meta, "step", (double)step);
    for (int c = 1; c <= 2; c++) {
        const char *name = c == 1 ? "train_loss" : "test_loss";
        cJSON_AddItemToObject(meta, name, json_double(loss[c - 1]));
    }
    cJSON_AddNumberToObject(meta, "n_params", (double)n_params);
    cJSON_AddStringToObject(meta, "dtype", "<f4");
    cJSON_AddItemReferenceToObject(meta, "config", r->config);
    cJSON *tensors = cJSON_AddArrayToObject(meta, "tensors");
    for (int i = 0; i < model->table.n; i++) {
        const llc_tensor *t = &model->table.t[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber(t->shape[d]));
        cJSON_AddNumberToObject(o, "offset", (double)t->offset);
        cJSON_AddNumberToObject(o, "size", (double)t->size);
        cJSON_AddItemToArray(tensors, o);
    }
    txt = cJSON_Print(meta);
    snprintf(path, plen, "%s.json", prefix);
    if (!txt) { code = cli_error(EXIT_NOMEM, "export: out of memory"); goto cleanup; }
    if ((code = cli_out_open(&js, "export", path, 0))) goto cleanup;
    fprintf(js.f, "%s\n", txt);
    /* both files complete before either is renamed into place */
    if ((code = cli_out_close(&bin, "export"))) goto cleanup;
    code = cli_out_close(&js, "export");
cleanup:
    cli_out_abort(&bin);
    cli_out_abort(&js);
    cJSON_free(txt);
    cJSON_Delete(meta); /* not r->config: meta holds a reference */
    free(blob);
    free(path);
    return code;
}

int cmd_export(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "export", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    const char *run = cli_get(&a, "run");
    if (!run) return cli_error(EXIT_USAGE, "export: --run ID is required");
    const char *what = cli_get(&a, "what"), *fmt = cli_get(&a, "format"), *out = cli_get(&a, "out");
    if (!what) what = "curves";
    if (!fmt) fmt = "csv";
    const int table = llc_query_table_named(what);
    if (table < 0)
        return cli_error(EXIT_USAGE, "export: --what must be curves, estimates, checkpoints or log, got '%s'", what);
    if (strcmp(fmt, "csv") && strcmp(fmt, "json"))
        return cli_error(EXIT_USAGE, "export: --format must be csv or json, got '%s'", fmt);
    if (out && !*out) return cli_error(EXIT_USAGE, "export: --out needs a path");
    long long step = 0;
    int has_step = cli_has(&a, "step");
    if (cli_get_ll(&a, "step", 0, 0, (long long)9e18, &step)) return EXIT_USAGE;
    int one_ckpt = has_step && table == LLC_QUERY_CHECKPOINTS;
    if (one_ckpt && !out)
        return cli_error(EXIT_USAGE, "export: --what checkpoints --step S writes two files: give --out PREFIX "
                                     "(PREFIX.bin and PREFIX.json)");

    cli_run r = {0};
    cli_outfile of = {0};
    int code = 0;
    /* a checkpoint's metadata names its tensors: the model is rebuilt */
    if ((code = (one_ckpt ? cli_open_run : cli_find_run)(&a, LLC_STORE_READONLY, run, &r))) goto cleanup;
    llc_store *s = r.store;
    if (one_ckpt) {
        code = export_checkpoint(&a, &r, step, out);
        goto cleanup;
    }
    if (out && (code = cli_out_open(&of, "export", out, 0))) goto cleanup;
    code = export_rows(s, (llc_query_table)table, run, has_step ? &step : NULL, strcmp(fmt, "json") == 0,
                       out ? of.f : stdout);
    /* stdout is checked by cli_finish_stdout */
    if (out && !code) code = cli_out_close(&of, "export");
cleanup:
    cli_out_abort(&of);
    cli_run_close(&r);
    return code;
}
