/* test_probe.c - head probes (llc/probe.c) on hand-built weights with known
 * answers: a prev-clamped head scores prev_token 1 and current 0 exactly;
 * identity OV circuits copy and own their tokens; the negated identity
 * suppresses copies; a hand-wired previous-token + induction model scores
 * induction >= 0.9 on repeated blocks and ~0 on unrepeated ones; ablating a
 * head whose output is already zero changes the loss by exactly 0; the
 * repeated blocks hold only the tokens the task uses; values are
 * bit-identical for 1 and 2 threads; bad requests fail cleanly. */
#include "llc_probe.h"
#include "llc_tasks.h"
#include "fixture.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float *T_(const llc_model *m, float *w, const char *name)
{
    const llc_tensor *t = llc_ptable_find(&m->table, name);
    CHECK(t != NULL, "tensor %s exists", name);
    return t ? w + t->offset : w;
}

static llc_probe_config probe_cfg(const llc_model *m, const float *w, const llc_task *t, unsigned probes)
{
    llc_probe_config p = {.model = m, .w = w, .task = t, .dist = llc_task_dist(t, "test"), .probes = probes,
                          .n_seqs = 64, .seed = 3, .n_threads = 1};
    return p;
}

#define P(k) (1u << (k))
#define V_(r, k, l, h) ((r).value[(k) * (r).n_layers * (r).n_heads + (l) * (r).n_heads + (h)])

static void test_prev_clamp(const llc_task *t)
{
    llc_tf_config c;
    fx_tf_config(&c, t, 1, 2, 8, 32);
    c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_PREV, .layer = 0, .head = 1};
    llc_model *m = fx_tf_build(&c);
    if (!m) return;
    float *w = fx_random_params(m, 11);
    llc_probe_config p = probe_cfg(m, w, t, P(LLC_PROBE_PREV_TOKEN) | P(LLC_PROBE_CURRENT) | P(LLC_PROBE_FIRST) |
                                                P(LLC_PROBE_ENTROPY));
    llc_probe_result r;
    char err[LLC_ERRLEN] = "";
    int rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK, "probe run (%s)", err);
    if (!rc) {
        CHECK(V_(r, LLC_PROBE_PREV_TOKEN, 0, 1) == 1.0, "prev clamp: prev_token %.17g == 1 exactly",
              V_(r, LLC_PROBE_PREV_TOKEN, 0, 1));
        CHECK(V_(r, LLC_PROBE_CURRENT, 0, 1) == 0.0, "prev clamp: current %.17g == 0 exactly",
              V_(r, LLC_PROBE_CURRENT, 0, 1));
        CHECK(V_(r, LLC_PROBE_ENTROPY, 0, 1) == 0.0, "prev clamp: entropy %.17g == 0", V_(r, LLC_PROBE_ENTROPY, 0, 1));
        double s = V_(r, LLC_PROBE_PREV_TOKEN, 0, 0), e = V_(r, LLC_PROBE_ENTROPY, 0, 0);
        CHECK(s > 0.0 && s < 1.0 && e > 0.0, "free head: prev_token %g in (0, 1), entropy %g > 0", s, e);
        CHECK(isnan(V_(r, LLC_PROBE_INDUCTION, 0, 0)) && !(r.computed & P(LLC_PROBE_INDUCTION)),
              "probes not asked are NAN and not flagged computed");
    }
    llc_probe_result_free(&r);
    free(w);
    llc_model_free(m);
}

/* Attention-only, no norms, no biases, no positions: circuits are plain
 * products of the hand-set matrices. */
static void plain(llc_tf_config *c)
{
    c->norm = LLC_NORM_NONE, c->final_norm = 0, c->attn_bias = 0, c->unembed_bias = 0, c->pos = LLC_POS_NONE;
}

static void test_circuits(const llc_task *t)
{
    const int V = t->shape.vocab; /* 64 */
    llc_tf_config c;
    /* head 0 copies tokens 0..31, head 1 tokens 32..63: OV_h = I on its half */
    fx_tf_config(&c, t, 1, 2, V / 2, V);
    plain(&c);
    llc_model *m = fx_tf_build(&c);
    if (!m) return;
    const int D = 2 * (V / 2);
    float *w = calloc(llc_model_n_params(m), sizeof *w);
    float *emb = T_(m, w, "embed"), *qkv = T_(m, w, "0.attn.qkv.w"), *o = T_(m, w, "0.attn.o.w");
    float *u = T_(m, w, "unembed");
    for (int i = 0; i < V; i++) emb[i * V + i] = u[i * V + i] = 1.0f;
    for (int i = 0; i < D; i++) { /* V row i reads dim i; O row i writes dim i (heads own halves) */
        qkv[(size_t)(2 * D + i) * V + i] = 1.0f;
        o[(size_t)i * V + i] = 1.0f;
    }
    llc_probe_config p = probe_cfg(m, w, t, P(LLC_PROBE_COPYING) | P(LLC_PROBE_COPY_SUPPRESSION) |
                                                P(LLC_PROBE_OWNED_OV));
    llc_probe_result r;
    char err[LLC_ERRLEN] = "";
    int rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK, "circuit probes (%s)", err);
    if (!rc) {
        for (int h = 0; h < 2; h++) {
            CHECK(V_(r, LLC_PROBE_COPYING, 0, h) > 0.99, "identity OV on head %d's half: copying %g ~ 1", h,
                  V_(r, LLC_PROBE_COPYING, 0, h));
            CHECK(V_(r, LLC_PROBE_COPY_SUPPRESSION, 0, h) == 0.0, "identity: copy_suppression %g == 0",
                  V_(r, LLC_PROBE_COPY_SUPPRESSION, 0, h));
            CHECK(V_(r, LLC_PROBE_OWNED_OV, 0, h) == V / 2, "head %d owns %g tokens, want %d", h,
                  V_(r, LLC_PROBE_OWNED_OV, 0, h), V / 2);
        }
        int ok = r.n_own == V;
        for (int j = 0; j < r.n_own && ok; j++) ok = r.owner_ov[j] == (j < V / 2 ? 0 : 1);
        CHECK(ok, "each head owns exactly the tokens it alone copies");
        CHECK(r.segments_ov == 2, "segments %d == 2", r.segments_ov);
    }
    llc_probe_result_free(&r);
    /* the full OV matrix of head 0 is the identity on 0..31, zero elsewhere */
    double *ov = NULL;
    int nr = 0, nc = 0;
    rc = llc_probe_circuit(m, w, 0, 0, 0, &ov, &nr, &nc, err);
    int ok = rc == LLC_OK && nr == V && nc == V;
    for (int i = 0; ok && i < V; i++)
        for (int j = 0; ok && j < V; j++) ok = ov[i * V + j] == (i == j && i < V / 2 ? 1.0 : 0.0);
    CHECK(ok, "OV circuit of head 0.0 is I on its half, exactly");
    free(ov);
    rc = llc_probe_circuit(m, w, 0, 2, 0, &ov, &nr, &nc, err);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(err, "0.2 does not exist"), "head out of range: \"%s\"", err);
    /* the negated identity: head 0 = -I on all V dims (one head of V) */
    free(w);
    llc_model_free(m);
    fx_tf_config(&c, t, 1, 1, V, V);
    plain(&c);
    m = fx_tf_build(&c);
    if (!m) return;
    w = calloc(llc_model_n_params(m), sizeof *w);
    emb = T_(m, w, "embed"), qkv = T_(m, w, "0.attn.qkv.w"), o = T_(m, w, "0.attn.o.w"), u = T_(m, w, "unembed");
    for (int i = 0; i < V; i++) {
        emb[i * V + i] = u[i * V + i] = 1.0f;
        qkv[(size_t)(2 * V + i) * V + i] = 1.0f;
        o[(size_t)i * V + i] = -1.0f;
    }
    p = probe_cfg(m, w, t, P(LLC_PROBE_COPYING) | P(LLC_PROBE_COPY_SUPPRESSION));
    rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK, "circuit probes on -I (%s)", err);
    if (!rc) {
        CHECK(V_(r, LLC_PROBE_COPY_SUPPRESSION, 0, 0) == 1.0, "-I: copy_suppression %g == 1 (flagged)",
              V_(r, LLC_PROBE_COPY_SUPPRESSION, 0, 0));
        CHECK(V_(r, LLC_PROBE_COPYING, 0, 0) < 0.01, "-I: copying %g ~ 0", V_(r, LLC_PROBE_COPYING, 0, 0));
    }
    llc_probe_result_free(&r);
    free(w);
    llc_model_free(m);
}

/* Two layers, one head each. Residual: [token (V) | previous token (V) |
 * position (T)]. Layer 0: the previous-token pattern clamped (row 0 attends
 * nowhere), V copies the token block, O writes it into the previous-token
 * block. Layer 1: q = [beta·token ; delta·position], k = [previous token ;
 * position]: a key whose previous token is the query's token scores beta,
 * the query's own position delta < beta (the default when nothing
 * matches). */
static void test_induction(const llc_task *t)
{
    const int V = t->shape.vocab, T = t->shape.T, C = 2 * V + T, HS = V + T;
    llc_tf_config c;
    fx_tf_config(&c, t, 2, 1, HS, C);
    plain(&c);
    c.pos = LLC_POS_LEARNED;
    float *pat = calloc((size_t)T * T, sizeof *pat);
    for (int i = 1; i < T; i++) pat[i * T + i - 1] = 1.0f;
    c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_GIVEN, .layer = 0, .head = 0, .pattern = pat};
    llc_model *m = fx_tf_build(&c);
    free(pat);
    if (!m) return;
    float *w = calloc(llc_model_n_params(m), sizeof *w);
    float *emb = T_(m, w, "embed"), *pos = T_(m, w, "pos");
    for (int i = 0; i < V; i++) emb[i * C + i] = 1.0f;
    for (int i = 0; i < T; i++) pos[i * C + 2 * V + i] = 1.0f;
    float *q0 = T_(m, w, "0.attn.qkv.w"), *o0 = T_(m, w, "0.attn.o.w");
    for (int i = 0; i < V; i++) {
        q0[(size_t)(2 * HS + i) * C + i] = 1.0f; /* V: token block */
        o0[(size_t)i * C + V + i] = 1.0f;        /* O: into the previous-token block */
    }
    float *q1 = T_(m, w, "1.attn.qkv.w");
    const float beta = 30.0f * sqrtf((float)HS), delta = 15.0f * sqrtf((float)HS);
    for (int i = 0; i < V; i++) {
        q1[(size_t)i * C + i] = beta;            /* Q: token */
        q1[(size_t)(HS + i) * C + V + i] = 1.0f; /* K: previous token */
    }
    for (int i = 0; i < T; i++) {
        q1[(size_t)(V + i) * C + 2 * V + i] = delta;     /* Q: position */
        q1[(size_t)(HS + V + i) * C + 2 * V + i] = 1.0f; /* K: position */
    }
    llc_probe_config p = probe_cfg(m, w, t, P(LLC_PROBE_INDUCTION) | P(LLC_PROBE_DUPLICATE) | P(LLC_PROBE_PREV_TOKEN));
    llc_probe_result r, rr;
    char err[LLC_ERRLEN] = "";
    int rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK, "induction probes (%s)", err);
    p.repeat = -1;
    int rc2 = llc_probe_run(&p, &rr, err);
    CHECK(rc2 == LLC_OK, "induction probes on unrepeated blocks (%s)", err);
    if (!rc && !rc2) {
        CHECK(V_(r, LLC_PROBE_PREV_TOKEN, 0, 0) == 1.0, "layer 0: prev_token %g == 1", V_(r, LLC_PROBE_PREV_TOKEN, 0, 0));
        CHECK(V_(r, LLC_PROBE_INDUCTION, 1, 0) >= 0.9, "layer 1 on repeated blocks: induction %g >= 0.9",
              V_(r, LLC_PROBE_INDUCTION, 1, 0));
        CHECK(V_(r, LLC_PROBE_DUPLICATE, 1, 0) < 0.05, "layer 1: duplicate %g ~ 0", V_(r, LLC_PROBE_DUPLICATE, 1, 0));
        CHECK(V_(rr, LLC_PROBE_INDUCTION, 1, 0) < 0.05, "layer 1 on unrepeated blocks: induction %g ~ 0",
              V_(rr, LLC_PROBE_INDUCTION, 1, 0));
        CHECK(V_(r, LLC_PROBE_INDUCTION, 0, 0) == 0.0, "layer 0: induction %g == 0", V_(r, LLC_PROBE_INDUCTION, 0, 0));
    }
    llc_probe_result_free(&r);
    llc_probe_result_free(&rr);
    free(w);
    llc_model_free(m);
}

/* The repeated blocks are drawn from the tokens the task says its data
 * holds (token_used). An induction clamp (t attends j+1 for the last j < t
 * holding t's token) scores induction 1 exactly on blocks of distinct
 * tokens; on blocks of one token, j = t-1, so it attends t itself and
 * scores induction 0 and duplicate 0 exactly. A draw from the whole
 * vocabulary (distinct tokens) would score 1 there. */
static void test_probe_tokens(llc_task *t)
{
    const int V = t->shape.vocab;
    llc_tf_config c;
    fx_tf_config(&c, t, 1, 1, 8, 16);
    c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_INDUCTION, .layer = 0, .head = 0};
    llc_model *m = fx_tf_build(&c);
    unsigned char *used = calloc((size_t)V, 1);
    if (!m || !used) goto cleanup;
    float *w = fx_random_params(m, 5);
    llc_probe_config p = probe_cfg(m, w, t, P(LLC_PROBE_INDUCTION) | P(LLC_PROBE_DUPLICATE));
    llc_probe_result r;
    char err[LLC_ERRLEN] = "";
    int one[1];
    used[5] = 1;
    t->token_used = used;
    const int n = llc_task_tokens(t, one);
    CHECK(n == 1 && one[0] == 5, "llc_task_tokens: the one used token (%d)", n);
    int rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK, "probes on one-token blocks (%s)", err);
    if (!rc)
        CHECK(V_(r, LLC_PROBE_INDUCTION, 0, 0) == 0.0 && V_(r, LLC_PROBE_DUPLICATE, 0, 0) == 0.0,
              "blocks of the one used token: induction %.17g == 0, duplicate %.17g == 0",
              V_(r, LLC_PROBE_INDUCTION, 0, 0), V_(r, LLC_PROBE_DUPLICATE, 0, 0));
    llc_probe_result_free(&r);
    for (int v = 0; v < V; v++) used[v] = v % 2; /* 32 tokens >= K: blocks stay distinct */
    rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_OK && V_(r, LLC_PROBE_INDUCTION, 0, 0) == 1.0,
          "blocks of the odd tokens: induction %.17g == 1 (%s)", rc ? NAN : V_(r, LLC_PROBE_INDUCTION, 0, 0), err);
    llc_probe_result_free(&r);
    memset(used, 0, (size_t)V);
    rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "no tokens"), "a task using no tokens: %d (%s)", rc, err);
    llc_probe_result_free(&r);
    t->token_used = NULL;
    free(w);
cleanup:
    free(used);
    llc_model_free(m);
}

static void test_ablation_and_threads(const llc_task *t)
{
    llc_tf_config c;
    fx_tf_config(&c, t, 2, 2, 8, 32);
    llc_model *m = fx_tf_build(&c);
    if (!m) return;
    float *w = fx_random_params(m, 5);
    /* head 1.1 writes nothing: its rows of the in-major O are 0 */
    memset(T_(m, w, "1.attn.o.w") + 8 * 32, 0, 8 * 32 * sizeof *w);
    char err[LLC_ERRLEN] = "";
    for (int mean = 0; mean < 2; mean++) {
        llc_probe_config p = probe_cfg(m, w, t, P(LLC_PROBE_ABLATION));
        p.ablate_mean = mean;
        llc_probe_result r;
        int rc = llc_probe_run(&p, &r, err);
        CHECK(rc == LLC_OK, "ablation (%s)", err);
        if (rc) continue;
        CHECK(V_(r, LLC_PROBE_ABLATION, 1, 1) == 0.0, "%s-ablating a head with zero output: loss change %.17g == 0",
              mean ? "mean" : "zero", V_(r, LLC_PROBE_ABLATION, 1, 1));
        CHECK(V_(r, LLC_PROBE_ABLATION, 0, 0) != 0.0 && isfinite(r.base_loss),
              "%s-ablating head 0.0 changes the loss (%g, base %g)", mean ? "mean" : "zero",
              V_(r, LLC_PROBE_ABLATION, 0, 0), r.base_loss);
        /* one head asked for: only it is ablated, to the bit the same number */
        llc_probe_result r1;
        p.ablate_only = 1 + 1 * 2 + 0;
        rc = llc_probe_run(&p, &r1, err);
        CHECK(rc == LLC_OK, "ablation of head 1.0 only (%s)", err);
        if (!rc) {
            CHECK(V_(r1, LLC_PROBE_ABLATION, 1, 0) == V_(r, LLC_PROBE_ABLATION, 1, 0) &&
                      isnan(V_(r1, LLC_PROBE_ABLATION, 0, 0)) && isnan(V_(r1, LLC_PROBE_ABLATION, 1, 1)),
                  "ablate_only: head 1.0's value %.17g as with every head, the others not computed",
                  V_(r1, LLC_PROBE_ABLATION, 1, 0));
            llc_probe_result_free(&r1);
        }
        p.ablate_only = 5;
        CHECK(llc_probe_run(&p, &r1, err) == LLC_ERR_INVALID, "ablate_only beyond the heads refused");
        llc_probe_result_free(&r);
    }
    /* every probe the task allows, 1 vs 2 threads (and 3: more threads than items of one phase) */
    llc_probe_config p = probe_cfg(m, w, t, 0);
    p.n_seqs = 50; /* a short last batch */
    p.ablate_mean = 1;
    llc_probe_result r1, r2;
    int rc1 = llc_probe_run(&p, &r1, err);
    CHECK(rc1 == LLC_OK, "all probes, 1 thread (%s)", err);
    for (int nt = 2; nt <= 3 && !rc1; nt++) {
        p.n_threads = nt;
        int rc2 = llc_probe_run(&p, &r2, err);
        CHECK(rc2 == LLC_OK, "all probes, %d threads (%s)", nt, err);
        if (rc2) continue;
        const size_t n = (size_t)LLC_PROBE_COUNT * 4;
        CHECK(r1.computed == r2.computed && memcmp(r1.value, r2.value, n * sizeof *r1.value) == 0 &&
                  memcmp(r1.owner_ov, r2.owner_ov, (size_t)r1.n_own * sizeof(int)) == 0 &&
                  memcmp(r1.owner_att, r2.owner_att, (size_t)r1.n_own * sizeof(int)) == 0,
              "values bit-identical for 1 and %d threads", nt);
        llc_probe_result_free(&r2);
    }
    if (!rc1) {
        unsigned want = P(LLC_PROBE_PREV_TOKEN) | P(LLC_PROBE_INDUCTION) | P(LLC_PROBE_COPYING) |
                        P(LLC_PROBE_OWNED_QK) | P(LLC_PROBE_ABLATION);
        CHECK((r1.computed & want) == want && !(r1.computed & P(LLC_PROBE_ICL)),
              "probes 0 = every probe sort allows (icl not)");
        int fin = 1;
        for (int k = 0; k < LLC_PROBE_COUNT; k++)
            for (int i = 0; i < 4 && (r1.computed & P(k)); i++) fin &= isfinite(r1.value[k * 4 + i]);
        CHECK(fin, "every computed value is finite");
        /* attention ownership: every number 0..62 is output somewhere in 50 sorted lists of 8 (almost surely),
         * and the owners' counts add up to the tokens owned */
        int seen = 0, counted = 0;
        for (int v = 0; v < r1.n_own; v++) seen += r1.owner_att[v] >= 0;
        for (int i = 0; i < 4; i++) counted += (int)r1.value[LLC_PROBE_OWNED_ATT * 4 + i];
        CHECK(r1.n_own == 64 && seen >= 60 && counted == seen && r1.owner_att[63] == -1 &&
                  r1.segments_att == llc_probe_segments(r1.owner_att, r1.n_own),
              "owned_att: %d of %d tokens owned (the separator 63 never), counts add to %d, %d segments", seen,
              r1.n_own, counted, r1.segments_att);
    }
    llc_probe_result_free(&r1);
    /* bad requests */
    p = probe_cfg(m, w, t, P(LLC_PROBE_ICL));
    llc_probe_result r;
    int rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "icl"), "icl on sort: \"%s\"", err);
    p = probe_cfg(m, w, t, 0);
    p.n_seqs = LLC_PROBE_MAX_SEQS + 1;
    rc = llc_probe_run(&p, &r, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "n_seqs"), "too many sequences: \"%s\"", err);
    free(w);
    llc_model_free(m);
}

/* llc_transformer_patterns: row-stochastic causal patterns, finite head
 * outputs, and a workspace that still gives loss_grad's numbers after it. */
static void test_patterns_hook(const llc_task *t)
{
    llc_tf_config c;
    fx_tf_config(&c, t, 2, 2, 8, 32);
    c.attn_bias = 0;
    llc_model *m = fx_tf_build(&c);
    if (!m) return;
    float *w = fx_random_params(m, 21);
    const int B = 3, T = t->shape.T, L = 2, NH = 2, D = 16;
    llc_batch *b = llc_task_batch_alloc(t, B);
    void *ws = m->ws_alloc(m, B);
    float *att = malloc((size_t)B * L * NH * T * T * sizeof *att), *z = malloc((size_t)L * B * T * D * sizeof *z);
    double loss0 = NAN, loss1 = NAN;
    b->B = B;
    int rc = t->fill(t, llc_task_dist(t, "test"), 5, b);
    rc = rc ? rc : m->loss_grad(m, ws, w, b, NULL, &loss0);
    rc = rc ? rc : llc_transformer_patterns(m, ws, w, b, att, z);
    rc = rc ? rc : m->loss_grad(m, ws, w, b, NULL, &loss1);
    CHECK(rc == LLC_OK, "patterns hook runs (rc %d)", rc);
    if (!rc) {
        double worst = 0.0;
        int upper = 0;
        for (size_t r = 0; r < (size_t)B * L * NH * T; r++) {
            const int tq = (int)(r % (size_t)T);
            double s = 0.0;
            for (int u = 0; u < T; u++) {
                s += att[r * T + u];
                upper |= u > tq && att[r * T + u] != 0.0f;
            }
            worst = fmax(worst, fabs(s - 1.0));
        }
        CHECK(worst < 1e-5 && !upper, "patterns: rows sum to 1 (worst %g), zeros above the diagonal", worst);
        int nz = 0, fin = 1;
        for (size_t i = 0; i < (size_t)L * B * T * D; i++) nz += z[i] != 0.0f, fin &= isfinite(z[i]);
        CHECK(fin && nz > 0, "head outputs finite and not all zero");
        CHECK(loss1 == loss0, "loss_grad after the hook: %.17g == %.17g", loss1, loss0);
    }
    free(att), free(z);
    m->ws_free(ws);
    llc_batch_free(b);
    free(w);
    llc_model_free(m);
}

int main(void)
{
    gsl_set_error_handler_off(); /* as the llc program does: GSL errors come back as codes */
    llc_task *t = fx_sort_task();
    if (t) {
        test_patterns_hook(t);
        test_prev_clamp(t);
        test_circuits(t);
        test_induction(t);
        test_probe_tokens(t);
        test_ablation_and_threads(t);
    }
    llc_task_free(t);
    return tu_finish("test_probe");
}
