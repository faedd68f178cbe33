/* test_sweep.c - planning a sweep (llc/llc_sweep.h): --vary values split at
 * top-level commas, integer ranges, the run ids, bad input refused. */
#include "llc_sweep.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    llc_json_init();
    test_axis();
    test_plan();
    return tu_finish("test_sweep");
}
