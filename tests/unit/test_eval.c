/* test_eval.c - llc/eval.c and the clamps of the clamped attention:
 * ablating a head whose output is zero changes nothing (zero and mean
 * mode, to the bit); keep-only on a one-head layer equals no ablation;
 * no ablation and no clamp gives the base numbers; 1 and 2 threads agree
 * to the bit; an induction clamp scores induction 1 through the probe
 * scorer (and the duplicate score 0), a no_prev clamp prev_token 0, a
 * copy the source's pattern (of its layer, or to the bit of an earlier
 * one, also through eval); a clamped layer leaves the others on the
 * fast kernels to the bit; the clamp config keys round-trip and bad
 * ones fail with a message. */
#include "llc_eval.h"
#include "llc_probe.h"
#include "llc_config.h"
#include "llc_tasks.h"
#include "fixture.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static llc_model *build(const llc_task *t, int L, int NH, const llc_clamp *k, int nk)
{
    llc_tf_config c;
    fx_tf_config(&c, t, L, NH, 8, 32);
    c.n_clamps = nk;
    for (int i = 0; i < nk; i++) c.clamps[i] = k[i];
    return fx_tf_build(&c);
}

static int same(const llc_eval_stats *a, const llc_eval_stats *b)
{
    return a->loss == b->loss && a->accuracy == b->accuracy && a->entropy == b->entropy;
}

static llc_eval_config eval_cfg(const llc_model *m, const float *w, const llc_task *t)
{
    return (llc_eval_config){.model = m, .w = w, .task = t, .dist = llc_task_dist(t, "test"), .n_batches = 2,
                             .seed = 5, .n_threads = 1};
}

static void test_ablation(const llc_task *t)
{
    llc_model *m = build(t, 2, 2, NULL, 0);
    if (!m) return;
    float *w = fx_random_params(m, 3);
    /* head 1.0's values: weights and bias rows zero, so its output is 0 */
    const llc_tensor *qw = llc_ptable_find(&m->table, "1.attn.qkv.w"), *qb = llc_ptable_find(&m->table, "1.attn.qkv.b");
    const int C = 32, HS = 8, D = 2 * HS;
    memset(w + qw->offset + (size_t)2 * D * C, 0, (size_t)HS * C * sizeof *w);
    if (qb) memset(w + qb->offset + 2 * D, 0, (size_t)HS * sizeof *w);
    char err[LLC_ERRLEN] = "";
    llc_eval_result r0, r1, r2;
    llc_eval_config e = eval_cfg(m, w, t);
    int rc = llc_eval_run(&e, &r0, err);
    CHECK(rc == LLC_OK, "eval without ablation (%s)", err);
    if (!rc) {
        CHECK(same(&r0.base, &r0.changed), "no ablation, no clamp: changed == base to the bit");
        CHECK(r0.n_seqs == 2 * LLC_EVAL_BATCH_SEQS && r0.n_scored > 0, "eval set: %d sequences, %g scored",
              r0.n_seqs, r0.n_scored);
        CHECK(r0.base.accuracy >= 0 && r0.base.accuracy <= 1 && r0.base.entropy > 0 &&
                  r0.base.entropy <= log(t->shape.n_out) + 1e-9 && r0.base.loss > 0,
              "loss %g, accuracy %g in [0, 1], entropy %g in (0, log V]", r0.base.loss, r0.base.accuracy,
              r0.base.entropy);
    }
    const int zero_head[] = {2}; /* 1.0 */
    e.ablate = zero_head, e.n_ablate = 1;
    for (int mean = 0; mean < 2; mean++) {
        e.ablate_mean = mean;
        rc = llc_eval_run(&e, &r1, err);
        CHECK(rc == LLC_OK, "eval ablating 1.0 (%s)", err);
        if (!rc)
            CHECK(same(&r1.base, &r1.changed) && same(&r1.base, &r0.base) && r1.n_ablated == 1,
                  "%s-ablating a head whose output is 0: every number unchanged to the bit (loss %.17g vs %.17g)",
                  mean ? "mean" : "zero", r1.changed.loss, r1.base.loss);
        llc_eval_result_free(&r1);
    }
    /* a live head: the numbers move; 1 and 2 threads agree to the bit */
    const int live[] = {0, 3};
    e.ablate = live, e.n_ablate = 2, e.ablate_mean = 1;
    rc = llc_eval_run(&e, &r1, err);
    e.n_threads = 2;
    int rc2 = llc_eval_run(&e, &r2, err);
    CHECK(rc == LLC_OK && rc2 == LLC_OK, "eval ablating 0.0, 1.1 (%s)", err);
    if (!rc && !rc2) {
        CHECK(r1.changed.loss != r1.base.loss, "ablating live heads changes the loss (%g -> %g)", r1.base.loss,
              r1.changed.loss);
        CHECK(same(&r1.base, &r2.base) && same(&r1.changed, &r2.changed), "1 and 2 threads: bit-identical");
    }
    llc_eval_result_free(&r1);
    llc_eval_result_free(&r2);
    /* keep-only 0.1: ablates 0.0 only */
    const int keep[] = {1};
    e.ablate = NULL, e.n_ablate = 0, e.keep = keep, e.n_keep = 1, e.n_threads = 1;
    rc = llc_eval_run(&e, &r1, err);
    CHECK(rc == LLC_OK && r1.n_ablated == 1 && r1.ablated[0] && !r1.ablated[1] && !r1.ablated[2],
          "keep-only 0.1 ablates 0.0 alone (%s)", err);
    llc_eval_result_free(&r1);
    /* bad heads */
    const int bad[] = {4};
    e.keep = NULL, e.n_keep = 0, e.ablate = bad, e.n_ablate = 1;
    rc = llc_eval_run(&e, &r1, err);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(err, "head 2.0 does not exist"), "head 2.0: NOTFOUND, '%s'", err);
    llc_eval_result_free(&r0);
    free(w);
    llc_model_free(m);
}

static void test_keep_only_one_head(const llc_task *t)
{
    llc_model *m = build(t, 2, 1, NULL, 0);
    if (!m) return;
    float *w = fx_random_params(m, 4);
    llc_eval_config e = eval_cfg(m, w, t);
    const int keep[] = {1}; /* 1.0, the only head of layer 1 */
    e.keep = keep, e.n_keep = 1;
    llc_eval_result r;
    char err[LLC_ERRLEN] = "";
    int rc = llc_eval_run(&e, &r, err);
    CHECK(rc == LLC_OK, "keep-only on a one-head layer (%s)", err);
    if (!rc)
        CHECK(r.n_ablated == 0 && same(&r.base, &r.changed), "keep-only 1.0 of a one-head layer == no ablation");
    llc_eval_result_free(&r);
    free(w);
    llc_model_free(m);
}

#define P(k) (1u << (k))
#define V_(r, k, l, h) ((r).value[(k) * (r).n_layers * (r).n_heads + (l) * (r).n_heads + (h)])

static void test_pattern_clamps(const llc_task *t)
{
    const llc_clamp k[] = {{.kind = LLC_CLAMP_INDUCTION, .layer = 0, .head = 0},
                           {.kind = LLC_CLAMP_NO_PREV, .layer = 0, .head = 1},
                           {.kind = LLC_CLAMP_COPY, .layer = 1, .head = 1, .from_layer = 1, .from_head = 0},
                           {.kind = LLC_CLAMP_INDUCTION, .layer = 1, .head = 0, .own = 0.5f}};
    llc_model *m = build(t, 2, 2, k, 4);
    if (!m) return;
    float *w = fx_random_params(m, 6);
    llc_probe_config p = {.model = m, .w = w, .task = t, .dist = llc_task_dist(t, "test"),
                          .probes = P(LLC_PROBE_INDUCTION) | P(LLC_PROBE_DUPLICATE) | P(LLC_PROBE_PREV_TOKEN) |
                                    P(LLC_PROBE_FIRST),
                          .n_seqs = 64, .seed = 3, .n_threads = 1};
    llc_probe_result r;
    char err[LLC_ERRLEN] = "";
    int rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK, "probes of the clamped model (%s)", err);
    if (!rc) {
        CHECK(V_(r, LLC_PROBE_INDUCTION, 0, 0) == 1.0 && V_(r, LLC_PROBE_DUPLICATE, 0, 0) == 0.0,
              "induction clamp on repeated blocks: induction %.17g == 1, duplicate %.17g == 0",
              V_(r, LLC_PROBE_INDUCTION, 0, 0), V_(r, LLC_PROBE_DUPLICATE, 0, 0));
        CHECK(V_(r, LLC_PROBE_PREV_TOKEN, 0, 1) == 0.0, "no_prev: prev_token %.17g == 0",
              V_(r, LLC_PROBE_PREV_TOKEN, 0, 1));
        double i10 = V_(r, LLC_PROBE_INDUCTION, 1, 0), i11 = V_(r, LLC_PROBE_INDUCTION, 1, 1);
        CHECK(i10 >= 0.5 && i10 < 1.0, "induction at strength 0.5: induction %g in [0.5, 1)", i10);
        CHECK(fabs(i11 - i10) < 1e-6 && V_(r, LLC_PROBE_FIRST, 1, 1) == V_(r, LLC_PROBE_FIRST, 1, 0),
              "copy of 1.0: the same scores (induction %.9g vs %.9g)", i11, i10);
    }
    llc_probe_result_free(&r);
    p.repeat = -1; /* unrepeated control: the fallback to position 0 dominates */
    rc = llc_probe_run(&p, &r, err);
    if (!rc)
        CHECK(V_(r, LLC_PROBE_INDUCTION, 0, 0) < 0.2 && V_(r, LLC_PROBE_FIRST, 0, 0) > 0.5,
              "induction clamp on unrepeated blocks: induction %g small, first %g (the fallback)",
              V_(r, LLC_PROBE_INDUCTION, 0, 0), V_(r, LLC_PROBE_FIRST, 0, 0));
    llc_probe_result_free(&r);
    /* and eval takes a clamp: the changed model differs, the base does not */
    llc_model *m0 = build(t, 2, 2, NULL, 0);
    llc_eval_config e = eval_cfg(m0, w, t), e0 = e;
    e.clamps = k, e.n_clamps = 1;
    llc_eval_result a, b;
    rc = llc_eval_run(&e, &a, err);
    int rc2 = llc_eval_run(&e0, &b, err);
    CHECK(rc == LLC_OK && rc2 == LLC_OK, "eval with an induction clamp (%s)", err);
    if (!rc && !rc2)
        CHECK(same(&a.base, &b.base) && a.changed.loss != a.base.loss, "clamp: base unchanged, loss %g -> %g",
              a.base.loss, a.changed.loss);
    llc_eval_result_free(&a);
    llc_eval_result_free(&b);
    llc_model_free(m0);
    free(w);
    llc_model_free(m);
}

/* A copy from an earlier layer: head 1.0's pattern is that of 0.1 (with
 * 0.1's own no_prev clamp) to the bit, at full strength; at strength 0.5
 * it is the mean of 0.1's and its own softmax pattern, rows still summing
 * to 1; eval takes it as a clamp. */
static void test_copy_across_layers(const llc_task *t)
{
    const llc_clamp k[] = {{.kind = LLC_CLAMP_COPY, .layer = 1, .head = 0, .from_layer = 0, .from_head = 1},
                           {.kind = LLC_CLAMP_NO_PREV, .layer = 0, .head = 1},
                           {.kind = LLC_CLAMP_COPY, .layer = 1, .head = 1, .from_layer = 0, .from_head = 1,
                            .own = 0.5f}};
    llc_model *m = build(t, 2, 2, k, 3), *m0 = build(t, 2, 2, NULL, 0);
    if (!m || !m0) goto done;
    float *w = fx_random_params(m, 9);
    const int B = 3, T = t->shape.T, L = 2, NH = 2;
    const size_t TT = (size_t)T * T;
    llc_batch *b = llc_task_batch_alloc(t, B);
    void *ws = m->ws_alloc(m, B);
    float *a = malloc((size_t)B * L * NH * TT * sizeof *a);
    b->B = B;
    int rc = t->fill(t, llc_task_dist(t, "test"), 777, b);
    if (!rc) rc = llc_transformer_patterns(m, ws, w, b, a, NULL);
    CHECK(rc == LLC_OK, "patterns with copies across layers (rc %d)", rc);
    if (!rc) {
        int same_src = 1, mixed = 1, prev0 = 1;
        for (int s = 0; s < B; s++) {
            const float *src = a + ((size_t)s * L * NH + 1) * TT, *tgt = a + ((size_t)s * L * NH + NH) * TT;
            const float *half = tgt + TT;
            same_src &= memcmp(src, tgt, TT * sizeof *src) == 0;
            for (int r = 0; r < T; r++) {
                double sum = 0.0;
                for (int u = 0; u < T; u++) sum += half[(size_t)r * T + u];
                mixed &= fabs(sum - 1.0) < 1e-5;
                if (r >= 1) prev0 &= src[(size_t)r * T + r - 1] == 0.0f;
            }
            mixed &= memcmp(half, src, TT * sizeof *src) != 0;
        }
        CHECK(same_src && prev0, "1.0 copies 0.1: the same pattern to the bit (0.1 keeps its no_prev)");
        CHECK(mixed, "1.1 copies 0.1 at strength 0.5: a different pattern, rows summing to 1");
    }
    llc_eval_config e = eval_cfg(m0, w, t);
    e.clamps = k, e.n_clamps = 1;
    llc_eval_result r;
    char err[LLC_ERRLEN] = "";
    rc = llc_eval_run(&e, &r, err);
    CHECK(rc == LLC_OK && r.changed.loss != r.base.loss, "eval with a copy from an earlier layer: loss %g -> %g (%s)",
          r.base.loss, r.changed.loss, err);
    llc_eval_result_free(&r);
    free(a);
    m->ws_free(ws);
    llc_batch_free(b);
    free(w);
done:
    llc_model_free(m);
    llc_model_free(m0);
}

/* A clamp of the clamped attention on layer 1 leaves layer 0 on the fast
 * kernels: its patterns and head outputs are those of the unclamped model
 * to the bit. */
static void test_fast_path_kept(const llc_task *t)
{
    const llc_clamp k[] = {{.kind = LLC_CLAMP_NO_PREV, .layer = 1, .head = 0}};
    llc_model *m0 = build(t, 2, 2, NULL, 0), *m1 = build(t, 2, 2, k, 1);
    if (!m0 || !m1) goto done;
    float *w = fx_random_params(m0, 8);
    const int B = 4, T = t->shape.T, L = 2, NH = 2, D = 16;
    llc_batch *b = llc_task_batch_alloc(t, B);
    void *ws0 = m0->ws_alloc(m0, B), *ws1 = m1->ws_alloc(m1, B);
    const size_t na = (size_t)B * L * NH * T * T, nz = (size_t)L * B * T * D;
    float *a0 = malloc(na * sizeof *a0), *a1 = malloc(na * sizeof *a1);
    float *z0 = malloc(nz * sizeof *z0), *z1 = malloc(nz * sizeof *z1);
    b->B = B;
    int rc = t->fill(t, llc_task_dist(t, "test"), 12345, b);
    if (!rc) rc = llc_transformer_patterns(m0, ws0, w, b, a0, z0);
    if (!rc) rc = llc_transformer_patterns(m1, ws1, w, b, a1, z1);
    CHECK(rc == LLC_OK, "patterns of both models");
    if (!rc) {
        int same0 = memcmp(z0, z1, (size_t)B * T * D * sizeof *z0) == 0, prev1 = 1;
        for (int s = 0; s < B; s++) {
            same0 &= memcmp(a0 + (size_t)s * L * NH * T * T, a1 + (size_t)s * L * NH * T * T,
                            (size_t)NH * T * T * sizeof *a0) == 0;
            const float *h10 = a1 + ((size_t)s * L * NH + NH) * T * T;
            for (int r = 1; r < T; r++) prev1 &= h10[(size_t)r * T + r - 1] == 0.0f;
        }
        CHECK(same0, "layer 0 (no clamp): patterns and outputs bit-identical to the unclamped model");
        CHECK(prev1, "layer 1 head 0 (no_prev): no attention on t-1");
    }
    free(a0), free(a1), free(z0), free(z1);
    m0->ws_free(ws0), m1->ws_free(ws1);
    llc_batch_free(b);
    free(w);
done:
    llc_model_free(m0);
    llc_model_free(m1);
}

static int parse_model(const char *json, llc_tf_config *c, char *err)
{
    const llc_task_shape s = {.T = 8, .vocab = 10, .n_out = 10};
    cJSON *o = cJSON_Parse(json);
    int rc = llc_tf_config_from_json(o, &s, c, err);
    cJSON_Delete(o);
    return rc;
}

static void test_clamp_config(void)
{
    llc_tf_config c, c2;
    char err[LLC_ERRLEN] = "";
    int rc = parse_model("{\"n_layers\": 2, \"n_heads\": 3, \"clamps\": ["
                         "{\"kind\": \"induction\", \"layer\": 1, \"head\": 0, \"strength\": 0.3},"
                         "{\"kind\": \"copy\", \"layer\": 1, \"head\": 2, \"from\": {\"layer\": 1, \"head\": 0}},"
                         "{\"kind\": \"no_prev\", \"layer\": 0, \"head\": 1},"
                         "{\"kind\": \"temperature\", \"layer\": 0, \"head\": 2, \"temperature\": 2.5},"
                         "{\"kind\": \"copy\", \"layer\": 1, \"head\": 1, \"from\": {\"layer\": 0, \"head\": 2},"
                         " \"strength\": 0.5}]}",
                         &c, err);
    CHECK(rc == LLC_OK && c.n_clamps == 5, "the new clamp kinds parse (%s)", err);
    if (rc) return;
    CHECK(c.clamps[0].kind == LLC_CLAMP_INDUCTION && c.clamps[0].own == 0.7f && c.clamps[1].kind == LLC_CLAMP_COPY &&
              c.clamps[1].from_head == 0 && c.clamps[2].kind == LLC_CLAMP_NO_PREV &&
              c.clamps[3].temperature == 2.5f,
          "fields: strength 0.3 -> own %g, from head %d, temperature %g", c.clamps[0].own, c.clamps[1].from_head,
          c.clamps[3].temperature);
    CHECK(c.clamps[1].from_layer == 1 && c.clamps[4].from_layer == 0 && c.clamps[4].from_head == 2 &&
              c.clamps[4].own == 0.5f,
          "copy from the same layer (from layer %d) and from an earlier one (from %d.%d, own %g)",
          c.clamps[1].from_layer, c.clamps[4].from_layer, c.clamps[4].from_head, c.clamps[4].own);
    cJSON *j = llc_tf_config_to_json(&c);
    char *txt = cJSON_PrintUnformatted(j);
    rc = parse_model(txt, &c2, err);
    CHECK(rc == LLC_OK && c2.n_clamps == 5 && memcmp(c.clamps, c2.clamps, 5 * sizeof c.clamps[0]) == 0,
          "to_json and back: the same clamps (%s)", txt);
    free(txt);
    cJSON_Delete(j);
    llc_model *m = NULL;
    rc = llc_transformer_new(&c, &m, err);
    CHECK(rc == LLC_OK, "the parsed clamps build (%s)", err);
    llc_model_free(m);
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"[{\"kind\": \"induction\", \"layer\": 2, \"head\": 0}]", "'layer' must be"},
        {"[{\"kind\": \"no_prev\", \"layer\": 0, \"head\": 3}]", "'head' must be"},
        {"[{\"kind\": \"copy\", \"layer\": 0, \"head\": 1}]", "needs a key 'from'"},
        {"[{\"kind\": \"copy\", \"layer\": 0, \"head\": 1, \"from\": {\"layer\": 0, \"head\": 1}}]", "another head"},
        {"[{\"kind\": \"copy\", \"layer\": 0, \"head\": 1, \"from\": {\"layer\": 1, \"head\": 0}}]",
         "or a head of an earlier layer"},
        {"[{\"kind\": \"copy\", \"layer\": 1, \"head\": 1, \"from\": {\"layer\": 0}}]", "needs a key 'head'"},
        {"[{\"kind\": \"temperature\", \"layer\": 0, \"head\": 1}]", "needs a key 'temperature'"},
        {"[{\"kind\": \"temperature\", \"layer\": 0, \"head\": 1, \"temperature\": 0}]", "'temperature' must be"},
        {"[{\"kind\": \"no_prev\", \"layer\": 0, \"head\": 1, \"strength\": 0.5}]", "goes with a pattern clamp"},
        {"[{\"kind\": \"prev\", \"layer\": 0, \"head\": 1, \"strength\": 1.5}]", "'strength' must be"},
        {"[{\"kind\": \"mean_output\", \"layer\": 0, \"head\": 1}]", "is for ablations"},
        {"[{\"kind\": \"copy\", \"layer\": 0, \"head\": 0, \"from\": {\"layer\": 0, \"head\": 1}},"
         " {\"kind\": \"copy\", \"layer\": 0, \"head\": 1, \"from\": {\"layer\": 0, \"head\": 2}}]",
         "itself a copy"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"n_layers\": 2, \"n_heads\": 3, \"clamps\": %s}", bad[i].json);
        err[0] = '\0';
        rc = parse_model(json, &c, err);
        if (rc == LLC_OK) rc = llc_transformer_new(&c, &m, err), llc_model_free(rc ? NULL : m);
        CHECK(rc == LLC_ERR_INVALID && strstr(err, bad[i].want) && !strchr(err, '\n'),
              "bad clamp %s: one line naming '%s' (got '%s')", bad[i].json, bad[i].want, err);
    }
}

int main(void)
{
    llc_task *t = fx_sort_task();
    if (t) {
        test_ablation(t);
        test_keep_only_one_head(t);
        test_pattern_clamps(t);
        test_fast_path_kept(t);
        test_copy_across_layers(t);
    }
    test_clamp_config();
    llc_task_free(t);
    return tu_finish("test_eval");
}
