/* cmd_bench.c - `llc bench`: what this machine does, measured in one run:
 * the sgemm ceiling (OpenBLAS), and per shipped config the median time of one
 * forward+backward, training tokens/s, and checkpoint size and write/read
 * time in the store. Medians of repeated timings; nothing here is a test. */
#include "cli.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char usage[] =
    "usage: llc bench [--configs a.json,b.json,...] [--steps N] [--json FILE]\n"
    "Measure the sgemm ceiling of this machine and, for each config (default: the shipped\n"
    "data/configs/{sort,modadd,icl,text}.json), the median forward+backward time, training tokens/s\n"
    "and checkpoint cost. Prints a table; --json also writes the numbers to FILE.\n";

static const cli_optdef defs[] = {{"configs", 1, "comma-separated config files"},
                                  {"steps", 1, "timed training steps per config (default 50)"},
                                  {"json", 1, "write results as JSON to this file"},
                                  {NULL, 0, NULL}};

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* GFLOP/s of C = A·B for n x n float32, median of reps. */
static double sgemm_gflops(int n, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)n * (size_t)n), *b = malloc(sizeof(float) * (size_t)n * (size_t)n),
          *c = malloc(sizeof(float) * (size_t)n * (size_t)n);
    double t[32], g = NAN;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)n * (size_t)n; i++) {
            a[i] = (float)((i * 7) % 13) * 0.01f;
            b[i] = (float)((i * 5) % 11) * 0.01f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        if (reps > 32) reps = 32;
        for (int r = 0; r < reps; r++) {
            double t0 = llc_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
            t[r] = llc_now() - t0;
        }
        g = 2.0 * n * (double)n * n / median(t, reps) / 1e9;
    }
    free(a);
    free(b);
    free(c);
    return g;
}

typedef struct {
    char name[256];
    size_t n_params;
    double fb_ms, tok_s, ckpt_bytes, ckpt_write_ms, ckpt_read_ms;
    long long tokens_per_step;
} bench_row;

static int bench_config(const char *file, int steps, bench_row *row, char *err)
{
    int rc = LLC_OK;
    char *text = cli_read_file(file, NULL);
    cJSON *cfg = text ? cJSON_Parse(text) : NULL;
    free(text);
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_trainer *tr = NULL;
    llc_store *st = NULL;
    float *w2 = NULL;
    double *t = NULL;
    if (!cfg) return llc_fail(err, LLC_ERR_IO, "cannot read or parse %s", file);
    llc_train_config tc;
    if ((rc = cli_build(cfg, &task, &model, &tc, err))) goto done;
    tc.steps = steps + 10;
    if ((rc = llc_trainer_new(model, task, &tc, 1, &tr, err))) goto done;
    llc_trainer_init_params(tr);
    row->n_params = llc_model_n_params(model);
    row->tokens_per_step = (long long)tc.batch * task->shape.T;
    t = malloc(sizeof(double) * (size_t)steps);
    if (!t) { rc = LLC_ERR_NOMEM; goto done; }
    double loss, lr, gn;
    for (int i = 0; i < 5; i++) llc_trainer_step(tr, &loss, &lr, &gn); /* warm caches */
    double t0 = llc_now();
    for (int i = 0; i < steps; i++) {
        double s0 = llc_now();
        if ((rc = llc_trainer_step(tr, &loss, &lr, &gn))) goto done;
        t[i] = llc_now() - s0;
    }
    double total = llc_now() - t0;
    row->tok_s = (double)row->tokens_per_step * steps / total;
    row->fb_ms = 1e3 * median(t, steps);
    /* checkpoint cost in a scratch store */
    char path[] = "/tmp/llc-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    unlink(path);
    if ((rc = llc_store_open(path, LLC_STORE_RW, &st, err))) goto done;
    llc_store_run_create(st, "bench", task->name, "{}", (long long)row->n_params, 1);
    w2 = malloc(sizeof(float) * row->n_params);
    double tw[16], trd[16];
    for (int i = 0; i < 16 && w2; i++) {
        double s0 = llc_now();
        llc_store_checkpoint_put(st, "bench", i, 0, 0, llc_trainer_params(tr), row->n_params, NULL, 0, NULL, 0);
        tw[i] = llc_now() - s0;
        s0 = llc_now();
        llc_store_checkpoint_get(st, "bench", i, w2, row->n_params, NULL, NULL);
        trd[i] = llc_now() - s0;
    }
    row->ckpt_write_ms = 1e3 * median(tw, 16);
    row->ckpt_read_ms = 1e3 * median(trd, 16);
    llc_store_close(st);
    st = NULL;
    FILE *f = fopen(path, "rb");
    long long sz = 0;
    if (f) { fseek(f, 0, SEEK_END); sz = ftell(f); fclose(f); }
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    f = fopen(wal, "rb");
    if (f) { fseek(f, 0, SEEK_END); sz += ftell(f); fclose(f); }
    row->ckpt_bytes = (double)sz / 16.0;
    unlink(path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
done:
    free(w2);
    free(t);
    llc_store_close(st);
    llc_trainer_free(tr);
    llc_model_free(model);
    llc_task_free(task);
    cJSON_Delete(cfg);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(&a, "bench", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    long long steps;
    if (cli_get_ll(&a, "steps", 50, 5, 100000, &steps)) return EXIT_USAGE;
    char list[4096];
    const char *cl = cli_get(&a, "configs");
    if (cl) {
        snprintf(list, sizeof list, "%s", cl);
    } else {
        list[0] = 0;
        const char *names[] = {"sort", "modadd", "icl", "text"};
        for (int i = 0; i < 4; i++) {
            char rel[64], p[1024];
            snprintf(rel, sizeof rel, "configs/%s.json", names[i]);
            if (cli_data_path(rel, p, sizeof p) == 0) {
                if (list[0]) strncat(list, ",", sizeof list - strlen(list) - 1);
                strncat(list, p, sizeof list - strlen(list) - 1);
            }
        }
    }
    int threads = openblas_get_num_threads();
    double g_all = sgemm_gflops(1024, 9);
    openblas_set_num_threads(1);
    double g_one = sgemm_gflops(1024, 9);
    openblas_set_num_threads(threads);
    printf("llc %s bench, %ld cores, OpenBLAS %d threads\n", LLC_VERSION, cli_cores(), threads);
    printf("sgemm 1024^3 ceiling: %.1f GFLOP/s (%d threads), %.1f GFLOP/s (1 thread)\n\n", g_all, threads, g_one);
    printf("%-28s %10s %12s %12s %12s %12s %10s\n", "config", "params", "fwd+bwd ms", "train tok/s", "ckpt bytes",
           "overhead", "write ms");
    cJSON *js = cJSON_CreateObject();
    cJSON_AddNumberToObject(js, "ceiling_gflops", g_all);
    cJSON_AddNumberToObject(js, "ceiling_gflops_1thread", g_one);
    cJSON *arr = cJSON_AddArrayToObject(js, "configs");
    int code = 0;
    char *save = NULL;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        bench_row r;
        memset(&r, 0, sizeof r);
        const char *base = strrchr(f, '/');
        snprintf(r.name, sizeof r.name, "%s", base ? base + 1 : f);
        char err[LLC_ERRLEN] = "";
        if ((rc = bench_config(f, (int)steps, &r, err))) {
            code = cli_error(cli_exit_code(rc), "bench: %s: %s", f, err);
            continue;
        }
        double raw = 4.0 * (double)r.n_params;
        printf("%-28s %10zu %12.3f %12.0f %12.0f %11.1f%% %10.3f\n", r.name, r.n_params, r.fb_ms, r.tok_s, r.ckpt_bytes,
               100.0 * (r.ckpt_bytes - raw) / raw, r.ckpt_write_ms);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "config", r.name);
        cJSON_AddNumberToObject(o, "n_params", (double)r.n_params);
        cJSON_AddNumberToObject(o, "train_step_ms", r.fb_ms);
        cJSON_AddNumberToObject(o, "train_tokens_s", r.tok_s);
        cJSON_AddNumberToObject(o, "ckpt_bytes", r.ckpt_bytes);
        cJSON_AddNumberToObject(o, "ckpt_write_ms", r.ckpt_write_ms);
        cJSON_AddNumberToObject(o, "ckpt_read_ms", r.ckpt_read_ms);
        cJSON_AddItemToArray(arr, o);
    }
    const char *jf = cli_get(&a, "json");
    if (jf) {
        char *txt = cJSON_Print(js);
        FILE *out = fopen(jf, "w");
        if (!out || !txt || fputs(txt, out) < 0) code = cli_error(EXIT_IO, "bench: cannot write %s", jf);
        if (out) fclose(out);
        cJSON_free(txt);
    }
    cJSON_Delete(js);
    return code;
}
