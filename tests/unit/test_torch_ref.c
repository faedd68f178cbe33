/* test_torch_ref.c - the transformer against an independent implementation:
 * data/torch_ref/<case>.json hold a configuration, parameters in llc's flat
 * layout, a batch, and the loss and full gradient computed by PyTorch in
 * float64 (data/torch_ref/make_ref.py, written from the specification; not
 * needed at run time). For each case:
 *   - the tensor table (names, shapes, offsets) equals the reference layout;
 *   - |loss - ref| <= LOSS_RTOL * |ref|;
 *   - max_i |grad_i - ref_i| <= GRAD_RTOL * max_i |ref_i| + GRAD_ATOL.
 * Cases: gpt (2 layers, layernorm, learned pos, MLP, causal), rope_rms (rope,
 * rmsnorm, tied, tokens + continuous inputs, prev and pattern clamps,
 * T < n_ctx), shortformer (rms without gain, full attention, zero-values
 * clamp, n_out != vocab), pooled (the clustering-head model).
 */
#include "llc_model.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOSS_RTOL 2e-6
#define GRAD_RTOL 2e-5
#define GRAD_ATOL 1e-7

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = 0;
            }
        }
    }
    fclose(f);
    return buf;
}

static int jint(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : (int)cJSON_GetNumberValue(v);
}

static int jchoice(const cJSON *o, const char *k, const char *const *names, int n)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* Fill a float array of n from a JSON number array; 0 on a length mismatch. */
static int jfloats(const cJSON *a, float *out, size_t n)
{
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n) return 0;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) out[i++] = (float)cJSON_GetNumberValue(e);
    return 1;
}

static int jints(const cJSON *a, int *out, size_t n)
{
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n) return 0;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) out[i++] = (int)cJSON_GetNumberValue(e);
    return 1;
}

static void run_case(const char *name)
{
    static const char *const pos_names[] = {"none", "learned", "shortformer", "rope"};
    static const char *const norm_names[] = {"none", "layer", "rms", "rms_nogain"};
    static const char *const clamp_names[] = {"", "prev", "pattern", "zero_values", "zero_output"};
    char path[1024], err[LLC_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/torch_ref/%s.json", LLC_DATA_DIR, name);
    char *text = slurp(path);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(doc != NULL, "%s: read and parse %s", name, path);
    if (!doc) return;
    const cJSON *jc = cJSON_GetObjectItemCaseSensitive(doc, "config");
    llc_tf_config c;
    llc_tf_config_default(&c);
    c.n_layers = jint(jc, "n_layers"), c.n_heads = jint(jc, "n_heads"), c.d_model = jint(jc, "d_model");
    c.d_head = jint(jc, "d_head"), c.vocab = jint(jc, "vocab"), c.d_input = jint(jc, "d_input");
    c.n_ctx = jint(jc, "n_ctx"), c.n_out = jint(jc, "n_out"), c.final_norm = jint(jc, "final_norm");
    c.d_mlp = jint(jc, "d_mlp"), c.causal = jint(jc, "causal"), c.pooled = jint(jc, "pooled");
    c.tied = jint(jc, "tied"), c.attn_bias = jint(jc, "attn_bias"), c.unembed_bias = jint(jc, "unembed_bias");
    c.pos = (llc_pos_kind)jchoice(jc, "pos", pos_names, 4);
    c.norm = (llc_norm_kind)jchoice(jc, "norm", norm_names, 4);
    float *patterns = calloc((size_t)LLC_MAX_CLAMPS * c.n_ctx * c.n_ctx, sizeof *patterns);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(jc, "clamps"))
    {
        llc_clamp *k = &c.clamps[c.n_clamps];
        k->kind = (llc_clamp_kind)jchoice(e, "kind", clamp_names, 5);
        k->layer = jint(e, "layer"), k->head = jint(e, "head");
        if (k->kind == LLC_CLAMP_PATTERN_GIVEN) {
            k->pattern = patterns + (size_t)c.n_clamps * c.n_ctx * c.n_ctx;
            jfloats(cJSON_GetObjectItemCaseSensitive(e, "pattern"), k->pattern, (size_t)c.n_ctx * c.n_ctx);
        }
        c.n_clamps++;
    }
    llc_model *m = NULL;
    int rc = llc_transformer_new(&c, &m, err);
    CHECK(rc == LLC_OK, "%s: model builds (%s)", name, err);
    if (rc) {
        cJSON_Delete(doc);
        free(patterns);
        return;
    }

    /* the table is the reference layout */
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(doc, "tensors");
    int same = cJSON_GetArraySize(jt) == m->table.n, i = 0;
    cJSON_ArrayForEach(e, jt)
    {
        if (i >= m->table.n) break;
        const llc_tensor *t = &m->table.t[i++];
        const cJSON *shape = cJSON_GetArrayItem(e, 1);
        same &= strcmp(t->name, cJSON_GetStringValue(cJSON_GetArrayItem(e, 0))) == 0;
        same &= t->offset == (size_t)cJSON_GetNumberValue(cJSON_GetArrayItem(e, 2));
        same &= t->ndim == cJSON_GetArraySize(shape);
        for (int d = 0; d < t->ndim && d < cJSON_GetArraySize(shape); d++)
            same &= t->shape[d] == (int)cJSON_GetNumberValue(cJSON_GetArrayItem(shape, d));
    }
    CHECK(same, "%s: tensor names, shapes and offsets equal the reference layout (%d tensors)", name, m->table.n);

    size_t n = llc_model_n_params(m);
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(doc, "batch");
    int B = jint(jb, "B"), T = jint(jb, "T");
    size_t N = (size_t)B * T;
    llc_batch *b = llc_batch_alloc(B, T, c.vocab > 0, c.d_input, 1, 0);
    float *w = malloc(n * sizeof *w), *g = malloc(n * sizeof *g), *gref = malloc(n * sizeof *gref);
    int ok = jfloats(cJSON_GetObjectItemCaseSensitive(doc, "params"), w, n);
    ok &= jfloats(cJSON_GetObjectItemCaseSensitive(doc, "grad"), gref, n);
    if (b->tokens) ok &= jints(cJSON_GetObjectItemCaseSensitive(jb, "tokens"), b->tokens, N);
    if (b->x) ok &= jfloats(cJSON_GetObjectItemCaseSensitive(jb, "x"), b->x, N * (size_t)c.d_input);
    ok &= jints(cJSON_GetObjectItemCaseSensitive(jb, "targets"), b->targets, N);
    ok &= jfloats(cJSON_GetObjectItemCaseSensitive(jb, "mask"), b->mask, N);
    CHECK(ok, "%s: params (%zu), gradient and batch (B=%d, T=%d) have the expected sizes", name, n, B, T);
    /* the gradient is compared in double: re-read it without the float rounding */
    double *gd = malloc(n * sizeof *gd);
    i = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "grad")) if ((size_t)i < n) gd[i++] = cJSON_GetNumberValue(e);
    double want = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "loss")), loss = NAN;
    void *ws = m->ws_alloc(m, B);
    if (ok) {
        rc = m->loss_grad(m, ws, w, b, g, &loss);
        CHECK(rc == LLC_OK, "%s: loss_grad rc %d", name, rc);
        CHECK(fabs(loss - want) <= LOSS_RTOL * fabs(want), "%s: loss %.9g vs torch %.9g (rtol %g)", name, loss, want,
              LOSS_RTOL);
        double gmax = 0.0, emax = 0.0;
        size_t worst = 0;
        for (size_t k = 0; k < n; k++) {
            gmax = fmax(gmax, fabs(gd[k]));
            double d = fabs(g[k] - gd[k]);
            if (!(d <= emax)) emax = d, worst = k;
        }
        const char *tn = "?";
        for (int t = 0; t < m->table.n; t++)
            if (worst >= m->table.t[t].offset && worst < m->table.t[t].offset + m->table.t[t].size) tn = m->table.t[t].name;
        double tol = GRAD_RTOL * gmax + GRAD_ATOL;
        CHECK(emax <= tol, "%s: %zu params, max |grad - torch| %.3g at %s (max|g| %.3g, tol %.3g)", name, n, emax, tn,
              gmax, tol);
    }
    m->ws_free(ws);
    llc_batch_free(b);
    free(w), free(g), free(gref), free(gd), free(patterns);
    llc_model_free(m);
    cJSON_Delete(doc);
}

int main(void)
{
    const char *cases[] = {"gpt", "rope_rms", "shortformer", "pooled"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(cases[i]);
    return tu_finish("test_torch_ref");
}
