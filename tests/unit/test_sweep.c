/* test_sweep.c - planning a sweep (llc/llc_sweep.h): --vary values split at
 * top-level commas, integer ranges, the run ids, bad input refused; a run
 * trained through a sink (as on a worker rank under mpirun), interrupted
 * and resumed, gives the rows of the run trained into the store. */
#include "llc_sweep.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_axis(void)
{
    char err[LLC_ERRLEN] = "";
    llc_sweep_axis a;
    CHECK(llc_sweep_axis_parse("clamps=[],[{\"kind\":\"prev\",\"layer\":0,\"head\":2}],\"a,b\"", &a, err) == LLC_OK &&
              a.n == 3 && !strcmp(a.text[0], "[]") && !strcmp(a.text[1], "[{\"kind\":\"prev\",\"layer\":0,\"head\":2}]") &&
              !strcmp(a.text[2], "\"a,b\""),
          "axis: a JSON value keeps its commas (%s)", err);
    CHECK(a.n == 3 && !strcmp(a.json[0], "[]") && !strcmp(a.json[2], "\"a,b\""), "axis: values as JSON");
    llc_sweep_axis_free(&a);
    CHECK(llc_sweep_axis_parse("seed=3..5,9", &a, err) == LLC_OK && a.n == 4 && !strcmp(a.text[0], "3") &&
              !strcmp(a.text[2], "5") && !strcmp(a.text[3], "9") && !strcmp(a.json[1], "4"),
          "axis: a range and a value");
    llc_sweep_axis_free(&a);
    CHECK(llc_sweep_axis_parse("train.lr=1e-3,3e-3", &a, err) == LLC_OK && a.n == 2 && !strcmp(a.json[0], "0.001"),
          "axis: numbers as JSON numbers (%s)", a.n ? a.json[0] : "");
    llc_sweep_axis_free(&a);
    static const char *const bad[] = {"seed", "=1,2", "seed=", "seed=1,", "seed=,1", "seed=5..4", "c=[1,2", "c=\"x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(llc_sweep_axis_parse(bad[i], &a, err) == LLC_ERR_INVALID && a.n == 0, "axis: '%s' refused: %s", bad[i],
              err);
}

static void test_plan(void)
{
    char err[LLC_ERRLEN] = "";
    cJSON *base = cJSON_Parse("{\"task\":\"icl\",\"seed\":1,\"model\":{\"n_layers\":1,\"n_heads\":2,\"d_model\":16,"
                              "\"d_head\":8},\"train\":{\"steps\":10}}");
    llc_sweep_plan p;
    const char *vary[] = {"seed=1..2", "model.clamps=[],[{\"kind\":\"prev\",\"layer\":0,\"head\":1}]"};
    int rc = llc_sweep_plan_make(base, "g", vary, 2, &p, err);
    CHECK(rc == LLC_OK && p.n_runs == 4, "plan: 2 x 2 runs (%s)", err);
    if (rc == LLC_OK && p.n_runs == 4) {
        CHECK(!strcmp(p.runs[0].id, "g-seed1-clamps0") && !strcmp(p.runs[1].id, "g-seed1-clamps1") &&
                  !strcmp(p.runs[3].id, "g-seed2-clamps1"),
              "plan: ids, the first key slowest, a JSON value by its position (%s %s)", p.runs[0].id, p.runs[1].id);
        CHECK(!strcmp(p.runs[3].vary[0].key, "seed") && !strcmp(p.runs[3].vary[0].value, "2") &&
                  !strcmp(p.runs[3].vary[1].value, "[{\"kind\":\"prev\",\"layer\":0,\"head\":1}]"),
              "plan: the varied values");
        const cJSON *seed = cJSON_GetObjectItemCaseSensitive(p.runs[2].config, "seed");
        CHECK(cJSON_IsNumber(seed) && seed->valuedouble == 2, "plan: the config has the run's seed");
        CHECK(strstr(p.spec, "\"vary\":[\"seed\",\"model.clamps\"]") != NULL, "plan: the spec names the keys");
        CHECK(p.runs[0].steps == 10, "plan: the runs' steps");
    }
    llc_sweep_plan_free(&p);
    const char *one[] = {"model.init_std=0.1,0.2"};
    CHECK(llc_sweep_plan_make(base, "g", one, 1, &p, err) == LLC_OK && !strcmp(p.runs[1].id, "g-init_std0.2"),
          "plan: a key by its last part (%s)", err);
    llc_sweep_plan_free(&p);
    const char *same[] = {"model.d_head=8", "d_head=8"};
    CHECK(llc_sweep_plan_make(base, "g", same, 2, &p, err) == LLC_OK && !strcmp(p.runs[0].id, "g-model_d_head8-d_head8"),
          "plan: keys sharing a last part by their whole name (%s)", p.n_runs ? p.runs[0].id : err);
    llc_sweep_plan_free(&p);
    const char *twice[] = {"seed=1", "seed=2"};
    CHECK(llc_sweep_plan_make(base, "g", twice, 2, &p, err) == LLC_ERR_INVALID && strstr(err, "varied twice"),
          "plan: a key varied twice is refused");
    const char *dup[] = {"seed=1,1"};
    CHECK(llc_sweep_plan_make(base, "g", dup, 1, &p, err) == LLC_ERR_INVALID && strstr(err, "given twice"),
          "plan: a value given twice is refused");
    CHECK(llc_sweep_plan_make(base, "a b", vary, 1, &p, err) == LLC_ERR_INVALID, "plan: a bad group name is refused");
    CHECK(llc_sweep_plan_make(base, "g", vary, 0, &p, err) == LLC_ERR_INVALID, "plan: no --vary is refused");
    const char *badkey[] = {"model.nosuch=1"};
    CHECK(llc_sweep_plan_make(base, "g", badkey, 1, &p, err) != LLC_OK && strstr(err, "g-nosuch1"),
          "plan: a config that does not build names the run (%s)", err);
    cJSON_Delete(base);
}

/* The store's owner side of a sink: each write applied with the call rank
 * 0 makes (llc/sweep.c); the worker's side interrupted after stop_at steps. */
typedef struct {
    llc_store *s;
    const llc_sweep_plan *p;
    long long stop_at, start;
    volatile sig_atomic_t flag;
} sink_ctx;

static int s_create(void *ctx, const char *run, const char *task, const char *config, long long n_params,
                    unsigned long long seed)
{
    sink_ctx *x = ctx;
    return llc_train_run_create(x->s, run, task, config, n_params, seed, x->p->group, x->p->runs[0].vary,
                                x->p->n_axes);
}

static int s_status(void *ctx, const char *run, const char *status, const char *message)
{
    return llc_store_run_set_status(((sink_ctx *)ctx)->s, run, status, message);
}

static int s_checkpoint(void *ctx, const char *run, long long step, double trl, double tel, const float *w, size_t n,
                        const llc_log_row *log, int n_log, const void *state, size_t bytes)
{
    return llc_store_checkpoint_put(((sink_ctx *)ctx)->s, run, step, trl, tel, w, n, log, n_log, state, bytes);
}

static void s_progress(long long step, long long steps, long long start, double loss, double elapsed, void *ctx)
{
    sink_ctx *x = ctx;
    x->start = start;
    if (step + 1 == x->stop_at) x->flag = SIGTERM;
}

/* Train run 0 of p through a sink into x->s, the sink filled from x->s as
 * rank 0 fills a unit. */
static int train_sunk(sink_ctx *x, llc_train_result *res, char *err)
{
    const char *id = x->p->runs[0].id;
    llc_run_info info = {0};
    void *state = NULL;
    llc_train_sink sink = {.create = s_create, .set_status = s_status, .checkpoint = s_checkpoint, .ctx = x,
                           .blob_max = llc_store_blob_max(x->s)};
    sink.exists = llc_store_run_get(x->s, id, &info) == LLC_OK;
    sink.config = info.config;
    sink.status = info.status;
    sink.has_state =
        llc_store_train_state_get(x->s, id, &sink.state_step, &state, &sink.state_bytes) == LLC_OK;
    sink.state = state;
    llc_train_run_opts o = {.resume = 1, .progress = s_progress, .ctx = x, .sink = &sink};
    int rc = llc_train_run(NULL, id, x->p->runs[0].config, &o, &x->flag, res, err);
    llc_train_result_free(res);
    llc_run_info_free(&info);
    free(state);
    return rc;
}

static void test_sink(void)
{
    char err[LLC_ERRLEN] = "", dir[] = "/tmp/llc_test_sweep.XXXXXX", pa[64], pb[64];
    cJSON *base = cJSON_Parse("{\"task\":\"icl\",\"seed\":1,\"model\":{\"n_layers\":1,\"n_heads\":2,\"d_model\":16,"
                              "\"d_head\":8},\"train\":{\"steps\":12,\"ckpt_linear\":4,\"ckpt_log\":0}}");
    const char *vary[] = {"seed=3"};
    llc_sweep_plan p = {0};
    llc_store *a = NULL, *b = NULL;
    llc_train_result res;
    if (!mkdtemp(dir)) return;
    snprintf(pa, sizeof pa, "%s/a.db", dir);
    snprintf(pb, sizeof pb, "%s/b.db", dir);
    int rc = llc_sweep_plan_make(base, "g", vary, 1, &p, err);
    if (!rc) rc = llc_store_open(pa, LLC_STORE_RW, &a, err);
    if (!rc) rc = llc_store_open(pb, LLC_STORE_RW, &b, err);
    if (!rc) rc = llc_sweep_prepare(a, &p, err);
    if (!rc) rc = llc_sweep_prepare(b, &p, err);
    CHECK(rc == LLC_OK, "sink: two stores and a plan (%s)", err);
    if (rc) goto cleanup;
    rc = llc_sweep_train_one(a, &p, 0, NULL, NULL, &res, err);
    llc_train_result_free(&res);
    CHECK(rc == LLC_OK, "sink: the run trained into store a (%s)", err);
    sink_ctx x = {.s = b, .p = &p, .stop_at = 7};
    rc = train_sunk(&x, &res, err);
    CHECK(rc == LLC_ERR_INTERRUPTED, "sink: interrupted at step 7 (rc %d: %s)", rc, err);
    llc_run_info info = {0};
    CHECK(llc_store_run_get(b, p.runs[0].id, &info) == LLC_OK && !strcmp(info.status, "failed"),
          "sink: the interrupted run is marked failed through the sink");
    llc_run_info_free(&info);
    x.flag = 0;
    x.stop_at = -1;
    rc = train_sunk(&x, &res, err);
    CHECK(rc == LLC_OK && x.start == 4, "sink: the same run resumed through the sink from step 4, its last "
          "checkpoint (from %lld: %s)", x.start, err);
    long long *sa = NULL, *sb = NULL;
    int na = 0, nb = 0, same = 1;
    llc_store_checkpoint_steps(a, p.runs[0].id, &sa, &na);
    llc_store_checkpoint_steps(b, p.runs[0].id, &sb, &nb);
    CHECK(na == 4 && na == nb, "sink: the same checkpoints (%d, %d)", na, nb);
    for (int k = 0; k < na && k < nb; k++) {
        void *ba = NULL, *bb = NULL;
        size_t za = 0, zb = 0;
        llc_store_checkpoint_raw(a, p.runs[0].id, sa[k], &ba, &za, NULL, NULL);
        llc_store_checkpoint_raw(b, p.runs[0].id, sb[k], &bb, &zb, NULL, NULL);
        same &= sa[k] == sb[k] && za == zb && za > 0 && !memcmp(ba, bb, za);
        free(ba);
        free(bb);
    }
    CHECK(same, "sink: every checkpoint's parameters bit-identical");
    void *ta = NULL, *tb = NULL;
    size_t za = 0, zb = 0;
    long long ka = 0, kb = 0;
    llc_store_train_state_get(a, p.runs[0].id, &ka, &ta, &za);
    llc_store_train_state_get(b, p.runs[0].id, &kb, &tb, &zb);
    CHECK(ka == 12 && ka == kb && za == zb && za > 0 && !memcmp(ta, tb, za), "sink: the same resume state");
    char *ga = NULL;
    CHECK(llc_store_run_get(b, p.runs[0].id, &info) == LLC_OK && !strcmp(info.status, "done") && !info.message &&
              llc_store_run_group(b, p.runs[0].id, &ga) == LLC_OK && ga && !strcmp(ga, "g"),
          "sink: the run done, in its group");
    llc_run_info_free(&info);
    free(ga);
    free(ta);
    free(tb);
    free(sa);
    free(sb);
cleanup:
    llc_store_close(a);
    llc_store_close(b);
    llc_sweep_plan_free(&p);
    cJSON_Delete(base);
    unlink(pa);
    unlink(pb);
    rmdir(dir);
}

int main(void)
{
    llc_json_init();
    test_axis();
    test_plan();
    test_sink();
    return tu_finish("test_sweep");
}
