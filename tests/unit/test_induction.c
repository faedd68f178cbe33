/* test_induction.c - the trainer, the transformer and the probes end to end:
 * a 2-layer attention-only model (4 heads of 16, RoPE, layer norms) trained
 * on the text task's repeated windows only (repeat_frac 1, ctx 32: blocks
 * of 8..16 distinct bytes repeated) must form what the probes call a
 * previous-token head in layer 0 and an induction head in layer 1, the
 * circuit that is the only way to predict those windows. Before training no
 * head scores so; on the control blocks (second copy drawn afresh) the
 * trained heads score far less. The layer-1 head can only score so by
 * reading, in its keys, what a layer-0 head wrote (K-composition). */
#include "llc_config.h"
#include "llc_probe.h"
#include "fixture.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <gsl/gsl_errno.h>
#include <stdlib.h>

#define STEPS 700

static const char *const model_json =
    "{\"n_layers\": 2, \"n_heads\": 4, \"d_model\": 64, \"d_head\": 16, \"pos\": \"rope\", \"norm\": \"layer\","
    " \"final_norm\": true, \"d_mlp\": 0, \"causal\": true}";
static const char *const train_json =
    "{\"steps\": 700, \"batch\": 32, \"optimizer\": \"adamw\", \"lr\": 0.005, \"weight_decay\": 0, \"clip\": 1,"
    " \"schedule\": \"warmup\", \"warmup\": 50}";

/* The best score of probe k over the heads of layer l. */
static double best(const llc_probe_result *r, int k, int l)
{
    double b = 0;
    for (int h = 0; h < r->n_heads; h++) {
        double v = r->value[(k * r->n_layers + l) * r->n_heads + h];
        if (v > b) b = v;
    }
    return b;
}

/* Layer 0's best prev_token and layer 1's best induction at parameters w. */
static int score(const llc_model *m, const float *w, const llc_task *t, int repeat, double *prev0, double *ind1)
{
    char err[LLC_ERRLEN] = "";
    llc_probe_config p = {.model = m, .w = w, .task = t, .dist = llc_task_dist(t, "test"),
                          .probes = (1u << LLC_PROBE_PREV_TOKEN) | (1u << LLC_PROBE_INDUCTION), .n_seqs = 64,
                          .seed = 3, .repeat = repeat, .n_threads = 1};
    llc_probe_result r;
    int rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK, "probe (%s)", err);
    if (!rc) {
        *prev0 = best(&r, LLC_PROBE_PREV_TOKEN, 0);
        *ind1 = best(&r, LLC_PROBE_INDUCTION, 1);
        llc_probe_result_free(&r);
    }
    return rc;
}

int main(void)
{
    gsl_set_error_handler_off();
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    llc_model *m = NULL;
    llc_trainer *tr = NULL;
    cJSON *mj = cJSON_Parse(model_json), *tj = cJSON_Parse(train_json);
    llc_tf_config c;
    llc_train_config tc;
    int rc = fx_task_new("text", "{\"ctx\": 32, \"repeat_frac\": 1}", 1, &t, err);
    if (!rc) rc = llc_tf_config_from_json(mj, &t->shape, &c, err);
    if (!rc) rc = llc_train_config_from_json(tj, &tc, err);
    if (!rc) rc = llc_transformer_new(&c, &m, err);
    if (!rc) rc = llc_trainer_new(m, t, &tc, 1, &tr, err);
    if (!rc) rc = llc_trainer_init_params(tr);
    CHECK(rc == LLC_OK, "text task, model and trainer built (%s)", err);
    if (rc) goto cleanup;

    double prev0 = 0, ind1 = 0, ctl0 = 0, ctl1 = 0, loss = 0, lr, gn;
    if (!score(m, llc_trainer_params(tr), t, 1, &prev0, &ind1))
        CHECK(prev0 < 0.2 && ind1 < 0.1, "at init: best layer-0 prev_token %.3f < 0.2, layer-1 induction %.3f < 0.1",
              prev0, ind1);
    for (int s = 0; s < STEPS && !rc; s++) rc = llc_trainer_step(tr, &loss, &lr, &gn);
    CHECK(rc == LLC_OK, "%d training steps (last batch loss %.3f)", STEPS, loss);
    if (rc) goto cleanup;
    if (!score(m, llc_trainer_params(tr), t, 1, &prev0, &ind1)) {
        CHECK(prev0 >= 0.5, "after %d steps: a layer-0 previous-token head (prev_token %.3f >= 0.5)", STEPS, prev0);
        CHECK(ind1 >= 0.9, "after %d steps: a layer-1 induction head (induction %.3f >= 0.9)", STEPS, ind1);
    }
    if (!score(m, llc_trainer_params(tr), t, -1, &ctl0, &ctl1))
        CHECK(ctl1 < 0.3, "control blocks (second copy fresh): layer-1 induction %.3f < 0.3", ctl1);

cleanup:
    llc_trainer_free(tr);
    llc_model_free(m);
    llc_task_free(t);
    cJSON_Delete(mj);
    cJSON_Delete(tj);
    return tu_finish("test_induction");
}
