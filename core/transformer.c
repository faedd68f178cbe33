/* transformer.c - the transformer behind the llc_model interface: a pre-norm
 * decoder (attention-only or with GELU MLPs) over token and/or continuous
 * inputs, with learned / shortformer / rotary / no positions, and the pooled
 * clustering-head variant (Odonnat et al. 2024). Kernels: llc_kernels.h.
 *
 * Parameter layout (one flat float32 vector, tensors in this order; weights
 * out-major (OC, IC), applied as in·Wᵀ, except where noted):
 *   embed        (vocab, C)        token embedding (if vocab > 0)
 *   in.w, in.b   (C, d_input), (C) linear embedding of continuous inputs (if d_input > 0)
 *   pos          (n_ctx, C)        learned / shortformer positions
 *   per layer L:
 *   L.ln1.g/.b   (C)               pre-attention norm (g: LayerNorm/RMS, b: LayerNorm)
 *   L.attn.qkv.w (3*NH*HS, C)      rows [h*HS,(h+1)*HS) = Q of head h, then the
 *                                  K block (offset NH*HS), then the V block (2*NH*HS)
 *   L.attn.qkv.b (3*NH*HS)         same order (if attn_bias)
 *   L.attn.o.w   (NH*HS, C)        IN-MAJOR: out = concat · W (NoTrans, NoTrans),
 *                                  so head h owns the contiguous rows [h*HS,(h+1)*HS)
 *   L.attn.o.b   (C)               shared by all heads (if attn_bias)
 *   L.ln2.g/.b, L.mlp.fc.w (d_mlp, C), L.mlp.fc.b, L.mlp.proj.w (C, d_mlp), L.mlp.proj.b  (if d_mlp > 0)
 *   lnf.g/.b     (C)               final norm (if final_norm)
 *   unembed      (n_out, C)        (untied only; tied: logits = h · embedᵀ)
 *   unembed.b    (n_out)           (if unembed_bias)
 * The pooling layer (pooled = 1, the last layer) has instead of qkv:
 *   L.attn.query (NH, HS)          one learned query per head
 *   L.attn.kv.w  (2*NH*HS, C)      K block then V block, head-contiguous as above
 *   L.attn.kv.b  (2*NH*HS)         (if attn_bias)
 *
 * Forward of an ordinary layer:  x += attn(norm1(x)); x += mlp(norm2(x)).
 * The pooling layer: p = concat_h(softmax_t(q_h·k_t/√HS) v_t) · W_O + b_O per
 * sequence (no residual around it), then p += mlp(norm2(p)); its output is one
 * row per sequence, scored against targets[b*T + T-1]. The pooling layer
 * ignores `causal`; earlier layers are ordinary. A pooled model cannot use
 * RoPE, and only the zero clamps apply to its pooling heads.
 * Clamps (llc_tf_config.clamps) act on every forward pass; when a head has a
 * zeroing clamp and a pattern clamp, the zeroing wins. Gradients flow through
 * the clamped computation (a clamped pattern is a constant).
 * MEAN_OUTPUT is no kernel clamp: the kernels run the head as free, then
 * mean_fill writes the vector over its output (so it wins over every other
 * clamp of the head, and the other heads' numbers are unchanged to the bit),
 * and mean_dzero zeroes its d output in the backward.
 * Shortformer positions enter Q and K only: since the projection is linear,
 * Q,K = norm(x)·Wᵀ + b + (pos·W_QKᵀ)[t], the second term computed once per
 * batch on T rows instead of B*T.
 * Groups (llc_model.group): "model"; "L.H" head H of layer L = its Q, K, V
 * rows of qkv.w and qkv.b (pooling layer: its query and K, V rows) and its
 * rows of o.w, not the shared o.b; "L" or "layer L" = every tensor of layer
 * L; "attn L" = qkv/query/kv + o (no norm); "mlp L" = fc + proj (no norm);
 * "embed" = embed + in.w + in.b; "pos"; "unembed" = unembed + unembed.b
 * (an error when tied); "norm" or "lnf" = the final norm; any tensor name.
 * The group struct must be zero-initialised or previously used.
 * The logits, final norm and cross-entropy are computed only on rows whose
 * mask is non-zero (gathered), which skips most of the unembedding cost for
 * tasks that score few positions; so are the top layer's Q, attention, O,
 * residual and MLP (K and V are needed at every row).
 * Base records (llc_model.base_*): a target of heads of one layer runs its
 * steps from the record of the pass at w0 on the same batch (tf_base,
 * layer_from_base): in that layer only its heads' Q, K, V, attention and O
 * product are recomputed, the layers below and the other heads are read
 * from the record; the layers above run as usual.
 */
#include "llc_kernels.h"
#include "llc_model.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE ((size_t)-1)
#define ALIGN_FLOATS 16 /* 64-byte alignment of each workspace buffer */

typedef struct {
    size_t ln1_g, ln1_b, qkv_w, qkv_b, query, o_w, o_b, ln2_g, ln2_b, fc_w, fc_b, proj_w, proj_b;
} tf_layer_off;

typedef struct {
    llc_tf_config c;    /* clamp patterns point into `patterns` */
    int pool_layer;     /* index of the pooling layer, or -1 */
    float *patterns;    /* (n_clamps, n_ctx, n_ctx) copies of the given patterns */
    float *rope_cs;     /* (n_ctx, 2, HS/2) cos, sin (llc_rope_table), RoPE only */
    llc_head_clamp *clamp; /* (L, NH) */
    int *layer_clamped;    /* (L) 1 if any head of the layer is clamped */
    float *means;          /* (n_clamps, HS) copies of the MEAN_OUTPUT vectors (zeros for NULL) */
    const float **mean_out; /* (L, NH) the head's MEAN_OUTPUT vector, or NULL */
    int *layer_mean;       /* (L) 1 if some head of the layer has a MEAN_OUTPUT clamp */
    llc_head_spec *spec;   /* (L, NH) the heads of the layers that run the clamped attention */
    int *layer_special;    /* (L) 1: the layer runs the clamped attention (attention_clamped.c) */
    int any_special;       /* some layer does */
    int *copy_from;        /* (L, NH) the source layer of a copy from an earlier layer, else -1 */
    int *xsrc;             /* (L, NH) the head's index among the sources of such copies, else -1 */
    int n_xsrc;            /* how many heads are */
    int *layer_cross;      /* (L) 1: a head of the layer copies from an earlier layer or is copied by a later one */
    tf_layer_off *lo;      /* (L) */
    size_t embed, in_w, in_b, pos, lnf_g, lnf_b, unembed, unembed_b;
} tf_impl;

/* Per-layer activations kept for the backward pass. Rows: N = B*T, except
 * the pooling layer's atty/mid/ln2/fch/fcg/out, which have B rows. */
typedef struct {
    float *in;                           /* (N, C) input (previous layer's out) */
    float *ln1, *ln1_mean, *ln1_rstd;    /* (N, C), (N), (N) */
    float *qkv;                          /* (N, 3D); pooling layer (N, 2D) */
    float *posproj;                      /* (n_ctx, 2D) shortformer */
    float *att;                          /* llc_attention_att_size; pooling layer (B, NH, T) */
    float *atty;                         /* (N, D) */
    float *mid;                          /* (N, C) after the attention block */
    float *ln2, *ln2_mean, *ln2_rstd;    /* (N, C), (N), (N) */
    float *fch, *fcg;                    /* (N, d_mlp) before / after GELU */
    float *out;                          /* (N, C); == mid without MLP */
} tf_lbuf;

/* Which gradients loss_grad must produce (llc_model.ws_need). */
typedef struct {
    int all;          /* 1: every gradient (the default) */
    int low_layer;    /* backward runs from the top down to this layer (-1: and the inputs) */
    int unembed;      /* unembedding weight/bias gradients */
    unsigned char *qkv, *o, *ln1; /* (L) per layer: qkv_w/qkv_b, o_w/o_b, ln1 gradients needed */
    unsigned char *o_b;           /* (L) the O bias gradient needed */
    unsigned char *heads;         /* (L, NH) some weight of head h of layer l (its Q, K, V, O slices) needed */
    llc_head_clamp *hcl;          /* (NH) scratch: the clamps with unneeded heads skipped */
    int base_ok;                  /* the group holds head weights of one layer only: base records apply */
} tf_need;

typedef struct {
    int max_B;
    tf_need need;
    float *mem;
    tf_lbuf *l;       /* (L) */
    float *res0;      /* (N, C) embedding output */
    int *sel;         /* (R) rows with mask != 0 */
    int *tsel;        /* (R) their targets */
    float *msel;      /* (R) their mask weights */
    float *hsel;      /* (R, C) gathered final rows */
    float *fin, *fmean, *frstd; /* (R, C), (R), (R) after the final norm */
    float *probs;     /* (R, n_out) logits, then softmax */
    /* backward buffers (and the attention scratch, used by both passes) */
    float *dres, *dln; /* (N, C) */
    float *dqkv;      /* (N, 3D) */
    float *datty;     /* (N, D) */
    float *dfcg, *dfch; /* (N, d_mlp) */
    float *dposproj;  /* (n_ctx, 2D) */
    float *scratch;   /* (llc_attention_scratch_size(n_ctx, HS)) attention scratch */
    float *wt;        /* (C, HS) one head's rows of a weight, transposed */
    float *dhsel, *dfin; /* (R, C) */
    float *lnsel, *dlnsel; /* (R, C) top layer, Q at the scored rows only: its norm output there, and d of it */
    float *dlogits;   /* (R, n_out) */
    const void *base; /* the record of ws_base, or NULL */
    const float *base_w0; /* the parameters it was made at (ws_base) */
    int M, top;       /* of the last pass: scored rows, and whether the top layer ran on them alone */
    const int *tokens; /* the batch's tokens in the current pass (the induction clamp), or NULL */
    llc_head_spec *lspec; /* (NH) a layer's specs with the cross-layer copies' buffers of this pass */
    float *xda;       /* (n_xsrc, max_B, n_ctx, n_ctx) d pattern of each source of a cross-layer copy */
    const float *ln1_rec; /* a pass from a base record: the norm output of its layer (in the record) */
} tf_ws;

/* A base record (llc_model.base_forward): the pass at w0 that the steps of a
 * target of one layer's heads reuse (tf_need.base_ok). BASE_HDR bytes of
 * header, then per layer its norm output ln1 (N, C), mid (R, C) and atty
 * (R, D), where R = N except at the top layer when it ran on the M scored
 * rows only (tf_ws.top): R = M. */
typedef struct {
    double loss;
    size_t bytes;
    int B, T, M, top;
} tf_base;
#define BASE_HDR 64

static const float *base_floats(const tf_base *r) { return (const float *)((const char *)r + BASE_HDR); }

static const char *const pos_label[] = {"none", "learned", "shortformer", "rope"};

/* ---------------- construction ---------------- */

void llc_tf_config_default(llc_tf_config *c)
{
    memset(c, 0, sizeof *c);
    c->n_layers = 1;
    c->n_heads = 4;
    c->d_model = 64;
    c->d_head = 16;
    c->pos = LLC_POS_LEARNED;
    c->norm = LLC_NORM_LAYER;
    c->final_norm = 1;
    c->d_mlp = 0;
    c->causal = 1;
    c->pooled = 0;
    c->tied = 0;
    c->attn_bias = 1;
    c->unembed_bias = 1;
    c->init_std = 0.0f;
    /* vocab, d_input, n_ctx, n_out: set from the task */
}

static int config_check(const llc_tf_config *c, char *err)
{
#define NEED(cond, ...) \
    do {                \
        if (!(cond)) return llc_fail(err, LLC_ERR_INVALID, __VA_ARGS__); \
    } while (0)
    NEED(c->n_layers >= 1 && c->n_layers <= 1024, "model: n_layers must be in 1..1024, got %d", c->n_layers);
    NEED(c->n_heads >= 1 && c->n_heads <= 4096, "model: n_heads must be in 1..4096, got %d", c->n_heads);
    NEED(c->d_model >= 1 && c->d_model <= 65536, "model: d_model must be in 1..65536, got %d", c->d_model);
    NEED(c->d_head >= 1 && c->d_head <= 65536, "model: d_head must be in 1..65536, got %d", c->d_head);
    NEED(c->vocab >= 0 && c->d_input >= 0, "model: vocab and d_input must be >= 0");
    NEED(c->vocab > 0 || c->d_input > 0, "model: needs inputs: vocab and d_input are both 0");
    NEED(c->n_ctx >= 1, "model: n_ctx must be >= 1, got %d", c->n_ctx);
    NEED(c->n_out >= 1, "model: n_out (output classes) must be >= 1, got %d", c->n_out);
    NEED(c->d_mlp >= 0, "model: d_mlp must be >= 0, got %d", c->d_mlp);
    NEED(c->pos >= LLC_POS_NONE && c->pos <= LLC_POS_ROPE, "model: unknown pos kind %d", (int)c->pos);
    NEED(c->norm >= LLC_NORM_NONE && c->norm <= LLC_NORM_RMS_NOGAIN, "model: unknown norm kind %d", (int)c->norm);
    NEED(!(c->pos == LLC_POS_ROPE && c->d_head % 2), "model: pos 'rope' needs an even d_head, got %d", c->d_head);
    NEED(!(c->pooled && c->pos == LLC_POS_ROPE),
         "model: a pooled model cannot use pos 'rope' (its learned query has no position); use 'learned'");
    NEED(!c->tied || (c->vocab > 0 && c->n_out == c->vocab),
         "model: 'tied' needs n_out == vocab (n_out %d, vocab %d)", c->n_out, c->vocab);
    NEED(c->init_std >= 0.0f && isfinite(c->init_std), "model: init_std must be >= 0");
    NEED(c->n_clamps >= 0 && c->n_clamps <= LLC_MAX_CLAMPS, "model: at most %d clamps", LLC_MAX_CLAMPS);
    for (int i = 0; i < c->n_clamps; i++) {
        const llc_clamp *k = &c->clamps[i];
        NEED(k->kind >= LLC_CLAMP_PATTERN_PREV && k->kind <= LLC_CLAMP_TEMPERATURE, "model: clamp %d: unknown kind %d",
             i, (int)k->kind);
        NEED(k->layer >= 0 && k->layer < c->n_layers && k->head >= 0 && k->head < c->n_heads,
             "model: clamp %d: head %d.%d does not exist: model has layers 0-%d and heads 0-%d", i, k->layer,
             k->head, c->n_layers - 1, c->n_heads - 1);
        NEED(k->kind != LLC_CLAMP_PATTERN_GIVEN || k->pattern, "model: clamp %d: kind 'pattern' needs a pattern", i);
        const int pattern_kind = k->kind == LLC_CLAMP_PATTERN_GIVEN || k->kind == LLC_CLAMP_PATTERN_PREV ||
                                 k->kind == LLC_CLAMP_INDUCTION || k->kind == LLC_CLAMP_COPY;
        NEED(!(c->pooled && k->layer == c->n_layers - 1 && (pattern_kind || k->kind >= LLC_CLAMP_INDUCTION)),
             "model: clamp %d: the pooling layer %d has no T x T pattern to clamp; only zero_values/zero_output apply",
             i, k->layer);
        NEED(k->own >= 0.0f && k->own <= 1.0f && (k->own == 0.0f || pattern_kind),
             "model: clamp %d: strength must be in [0, 1] and goes with a pattern clamp (prev, pattern, induction, "
             "copy)", i);
        NEED(k->kind != LLC_CLAMP_INDUCTION || c->vocab > 0,
             "model: clamp %d: 'induction' needs token inputs; the model has none", i);
        NEED(k->kind != LLC_CLAMP_TEMPERATURE || (k->temperature > 0.0f && isfinite(k->temperature)),
             "model: clamp %d: 'temperature' needs a temperature > 0", i);
        if (k->kind == LLC_CLAMP_COPY) {
            NEED(k->from_layer >= 0 && k->from_layer <= k->layer && k->from_head >= 0 && k->from_head < c->n_heads &&
                     !(k->from_layer == k->layer && k->from_head == k->head),
                 "model: clamp %d: 'copy' on head %d.%d needs another head of layer %d or a head of an earlier layer "
                 "to copy from (heads 0-%d), got %d.%d", i, k->layer, k->head, k->layer, c->n_heads - 1, k->from_layer,
                 k->from_head);
            for (int j = 0; j < c->n_clamps && k->from_layer == k->layer; j++)
                NEED(!(c->clamps[j].kind == LLC_CLAMP_COPY && c->clamps[j].layer == k->layer &&
                       c->clamps[j].head == k->from_head),
                     "model: clamp %d: head %d.%d copies head %d.%d, which is itself a copy", i, k->layer, k->head,
                     k->layer, k->from_head);
        }
    }
    return LLC_OK;
#undef NEED
}

static void tf_free_impl(void *p)
{
    tf_impl *im = p;
    if (!im) return;
    free(im->patterns);
    free(im->rope_cs);
    free(im->clamp);
    free(im->layer_clamped);
    free(im->means);
    free(im->mean_out);
    free(im->layer_mean);
    free(im->spec);
    free(im->layer_special);
    free(im->copy_from);
    free(im->lo);
    free(im);
}

/* Append a tensor, remembering its offset in *off. */
static int add_tensor(llc_model *m, size_t *off, const char *name, int d0, int d1)
{
    int shape[2] = {d0, d1};
    int idx = llc_ptable_add(&m->table, name, d1 > 0 ? 2 : 1, shape);
    if (idx < 0) return LLC_ERR_NOMEM;
    *off = m->table.t[idx].offset;
    return LLC_OK;
}

static int build_table(llc_model *m, tf_impl *im)
{
    const llc_tf_config *c = &im->c;
    const int C = c->d_model, D = c->n_heads * c->d_head;
    char nm[LLC_NAMELEN];
    int rc = LLC_OK;
    int has_g = c->norm != LLC_NORM_NONE && c->norm != LLC_NORM_RMS_NOGAIN;
    int has_b = c->norm == LLC_NORM_LAYER;
#define ADD(off, d0, d1, ...)                                          \
    do {                                                               \
        snprintf(nm, sizeof nm, __VA_ARGS__);                          \
        if ((rc = add_tensor(m, &(off), nm, d0, d1))) return rc;       \
    } while (0)
    im->embed = im->in_w = im->in_b = im->pos = im->lnf_g = im->lnf_b = im->unembed = im->unembed_b = NONE;
    if (c->vocab > 0) ADD(im->embed, c->vocab, C, "embed");
    if (c->d_input > 0) {
        ADD(im->in_w, C, c->d_input, "in.w");
        ADD(im->in_b, C, 0, "in.b");
    }
    if (c->pos == LLC_POS_LEARNED || c->pos == LLC_POS_SHORTFORMER) ADD(im->pos, c->n_ctx, C, "pos");
    for (int l = 0; l < c->n_layers; l++) {
        tf_layer_off *o = &im->lo[l];
        o->ln1_g = o->ln1_b = o->qkv_w = o->qkv_b = o->query = o->o_w = o->o_b = NONE;
        o->ln2_g = o->ln2_b = o->fc_w = o->fc_b = o->proj_w = o->proj_b = NONE;
        if (has_g) ADD(o->ln1_g, C, 0, "%d.ln1.g", l);
        if (has_b) ADD(o->ln1_b, C, 0, "%d.ln1.b", l);
        if (l == im->pool_layer) {
            ADD(o->query, c->n_heads, c->d_head, "%d.attn.query", l);
            ADD(o->qkv_w, 2 * D, C, "%d.attn.kv.w", l);
            if (c->attn_bias) ADD(o->qkv_b, 2 * D, 0, "%d.attn.kv.b", l);
        } else {
            ADD(o->qkv_w, 3 * D, C, "%d.attn.qkv.w", l);
            if (c->attn_bias) ADD(o->qkv_b, 3 * D, 0, "%d.attn.qkv.b", l);
        }
        ADD(o->o_w, D, C, "%d.attn.o.w", l);
        if (c->attn_bias) ADD(o->o_b, C, 0, "%d.attn.o.b", l);
        if (c->d_mlp > 0) {
            if (has_g) ADD(o->ln2_g, C, 0, "%d.ln2.g", l);
            if (has_b) ADD(o->ln2_b, C, 0, "%d.ln2.b", l);
            ADD(o->fc_w, c->d_mlp, C, "%d.mlp.fc.w", l);
            ADD(o->fc_b, c->d_mlp, 0, "%d.mlp.fc.b", l);
            ADD(o->proj_w, C, c->d_mlp, "%d.mlp.proj.w", l);
            ADD(o->proj_b, C, 0, "%d.mlp.proj.b", l);
        }
    }
    if (c->final_norm) {
        if (has_g) ADD(im->lnf_g, C, 0, "lnf.g");
        if (has_b) ADD(im->lnf_b, C, 0, "lnf.b");
    }
    if (!c->tied) ADD(im->unembed, c->n_out, C, "unembed");
    if (c->unembed_bias) ADD(im->unembed_b, c->n_out, 0, "unembed.b");
#undef ADD
    return rc;
}

/* The layers with a clamp that changes how a pattern is formed (induction,
 * copy, no_prev, temperature, a strength below 1) run the clamped attention
 * (attention_clamped.c) with every clamp of the layer in its head specs;
 * the other layers keep the fast kernels and their head clamps; so does the
 * source layer of a copy from an earlier layer (its patterns are read with
 * row stride T, its heads take back d pattern through ws->xda). Runs after
 * the given patterns are copied (k->pattern points into im->patterns). */
static int build_specs(tf_impl *im)
{
    const llc_tf_config *c = &im->c;
    const int L = c->n_layers, NH = c->n_heads;
    im->spec = calloc((size_t)L * NH, sizeof *im->spec);
    im->layer_special = calloc((size_t)L, sizeof *im->layer_special);
    im->copy_from = malloc((2 * (size_t)L * NH + L) * sizeof *im->copy_from);
    if (!im->spec || !im->layer_special || !im->copy_from) return LLC_ERR_NOMEM;
    im->xsrc = im->copy_from + (size_t)L * NH;
    im->layer_cross = im->xsrc + (size_t)L * NH;
    for (int i = 0; i < L * NH; i++) im->spec[i].inv_temp = 1.0f, im->copy_from[i] = im->xsrc[i] = -1;
    memset(im->layer_cross, 0, (size_t)L * sizeof *im->layer_cross);
    for (int i = 0; i < c->n_clamps; i++) {
        const llc_clamp *k = &c->clamps[i];
        if (k->kind >= LLC_CLAMP_INDUCTION || k->own > 0.0f) im->layer_special[k->layer] = im->any_special = 1;
        if (k->kind != LLC_CLAMP_COPY || k->from_layer == k->layer) continue;
        /* a copy from an earlier layer: the source's layer keeps its patterns (row stride T) and
         * takes the d pattern its copies pass back */
        const int src = k->from_layer * NH + k->from_head;
        im->layer_special[k->from_layer] = im->layer_cross[k->from_layer] = im->layer_cross[k->layer] = 1;
        if (im->xsrc[src] < 0) im->xsrc[src] = im->n_xsrc++;
    }
    for (int i = 0; i < c->n_clamps; i++) {
        const llc_clamp *k = &c->clamps[i];
        llc_head_spec *h = &im->spec[k->layer * NH + k->head];
        switch (k->kind) {
        case LLC_CLAMP_PATTERN_PREV: h->fixed = LLC_SPEC_PREV, h->own = k->own; break;
        case LLC_CLAMP_PATTERN_GIVEN:
            h->fixed = LLC_SPEC_GIVEN, h->own = k->own, h->pattern = k->pattern, h->ld = c->n_ctx;
            break;
        case LLC_CLAMP_INDUCTION: h->fixed = LLC_SPEC_INDUCTION, h->own = k->own; break;
        case LLC_CLAMP_COPY:
            h->fixed = LLC_SPEC_COPY, h->own = k->own, h->src = k->from_head;
            im->copy_from[k->layer * NH + k->head] = k->from_layer == k->layer ? -1 : k->from_layer;
            break;
        case LLC_CLAMP_NO_PREV: h->no_prev = 1; break;
        case LLC_CLAMP_TEMPERATURE: h->inv_temp = 1.0f / k->temperature; break;
        case LLC_CLAMP_ZERO_VALUES:
        case LLC_CLAMP_ZERO_OUTPUT: h->zero = 1; break;
        case LLC_CLAMP_MEAN_OUTPUT: break; /* written over the output by mean_fill */
        }
    }
    return LLC_OK;
}

static int build_clamps(tf_impl *im)
{
    llc_tf_config *c = &im->c;
    const int L = c->n_layers, NH = c->n_heads;
    size_t TT = (size_t)c->n_ctx * c->n_ctx;
    im->clamp = calloc((size_t)L * NH, sizeof *im->clamp);
    im->layer_clamped = calloc((size_t)L, sizeof *im->layer_clamped);
    im->mean_out = calloc((size_t)L * NH, sizeof *im->mean_out);
    im->layer_mean = calloc((size_t)L, sizeof *im->layer_mean);
    if (!im->clamp || !im->layer_clamped || !im->mean_out || !im->layer_mean) return LLC_ERR_NOMEM;
    if (c->n_clamps > 0) {
        im->patterns = calloc((size_t)c->n_clamps * TT, sizeof *im->patterns);
        im->means = calloc((size_t)c->n_clamps * c->d_head, sizeof *im->means);
        if (!im->patterns || !im->means) return LLC_ERR_NOMEM;
    }
    /* MEAN_OUTPUT stays out of the kernels' clamps (they run the head as
     * free); layer_forward writes the vector over the head's output */
    for (int i = 0; i < c->n_clamps; i++) {
        llc_clamp *k = &c->clamps[i];
        if (k->kind != LLC_CLAMP_MEAN_OUTPUT) continue;
        float *v = im->means + (size_t)i * c->d_head;
        if (k->mean) memcpy(v, k->mean, (size_t)c->d_head * sizeof *v);
        k->mean = v;
        im->mean_out[k->layer * NH + k->head] = v;
        im->layer_mean[k->layer] = 1;
    }
    /* Zeroing wins over a pattern when both are asked for one head: the
     * head's output is then zero whatever its pattern. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < c->n_clamps; i++) {
            llc_clamp *k = &c->clamps[i];
            int zero = k->kind == LLC_CLAMP_ZERO_VALUES || k->kind == LLC_CLAMP_ZERO_OUTPUT;
            if (zero != pass || k->kind == LLC_CLAMP_MEAN_OUTPUT) continue;
            llc_head_clamp *h = &im->clamp[k->layer * NH + k->head];
            im->layer_clamped[k->layer] = 1;
            switch (k->kind) {
            case LLC_CLAMP_PATTERN_PREV: h->kind = LLC_HEAD_PREV; break;
            case LLC_CLAMP_PATTERN_GIVEN:
                memcpy(im->patterns + i * TT, k->pattern, TT * sizeof(float));
                k->pattern = im->patterns + i * TT;
                h->kind = LLC_HEAD_PATTERN;
                h->pattern = k->pattern;
                h->ld = c->n_ctx;
                break;
            case LLC_CLAMP_ZERO_VALUES: h->kind = LLC_HEAD_ZERO_VALUES; break;
            case LLC_CLAMP_ZERO_OUTPUT: h->kind = LLC_HEAD_ZERO_OUTPUT; break;
            case LLC_CLAMP_MEAN_OUTPUT: break;
            default: break; /* the clamped attention's kinds: build_specs */
            }
        }
    return build_specs(im);
}

static int tf_init(const llc_model *m, float *w, gsl_rng *rng);
static void *tf_ws_alloc(const llc_model *m, int max_B);
static void tf_ws_free(void *ws);
static void tf_ws_need(const llc_model *m, void *ws, const llc_group *g);
static int tf_loss_grad(const llc_model *m, void *ws, const float *w, const llc_batch *b, float *grad,
                        double *loss);
static int tf_group(const llc_model *m, const char *name, llc_group *g, char *err);
static double tf_flops(const llc_model *m, const llc_batch *bt, int shape[3]);
static size_t tf_base_size(const llc_model *m, int max_B);
static int tf_base_forward(const llc_model *m, void *ws, const float *w0, const llc_batch *b, void *rec,
                           size_t *bytes, double *loss);
static int tf_ws_base(const llc_model *m, void *ws, const void *rec, const float *w0);

int llc_transformer_new(const llc_tf_config *c, llc_model **out, char *err)
{
    int rc;
    llc_model *m = NULL;
    tf_impl *im = NULL;
    *out = NULL;
    if ((rc = config_check(c, err))) return rc;
    rc = LLC_ERR_NOMEM;
    m = calloc(1, sizeof *m);
    im = calloc(1, sizeof *im);
    if (!m || !im) goto cleanup;
    im->c = *c;
    im->pool_layer = c->pooled ? c->n_layers - 1 : -1;
    im->lo = calloc((size_t)c->n_layers, sizeof *im->lo);
    if (!im->lo) goto cleanup;
    if ((rc = build_clamps(im))) goto cleanup;
    if (c->pos == LLC_POS_ROPE) {
        rc = LLC_ERR_NOMEM;
        im->rope_cs = malloc((size_t)c->n_ctx * (size_t)c->d_head * sizeof *im->rope_cs);
        if (!im->rope_cs) goto cleanup;
        llc_rope_table(im->rope_cs, c->n_ctx, c->d_head, LLC_ROPE_BASE);
    }
    if ((rc = build_table(m, im))) goto cleanup;
    m->kind = "transformer";
    m->impl = im;
    m->init = tf_init;
    m->ws_alloc = tf_ws_alloc;
    m->ws_free = tf_ws_free;
    m->ws_need = tf_ws_need;
    m->base_size = tf_base_size;
    m->base_forward = tf_base_forward;
    m->ws_base = tf_ws_base;
    m->loss_grad = tf_loss_grad;
    m->group = tf_group;
    m->flops = tf_flops;
    m->free_impl = tf_free_impl;
    *out = m;
    return LLC_OK;
cleanup:
    if (rc == LLC_ERR_NOMEM) llc_fail(err, rc, "model: out of memory");
    tf_free_impl(im);
    if (m) m->impl = NULL;
    llc_model_free(m);
    return rc;
}

const llc_tf_config *llc_transformer_config(const llc_model *m)
{
    if (!m || !m->kind || strcmp(m->kind, "transformer") != 0) return NULL;
    return &((const tf_impl *)m->impl)->c;
}

/* Weights ~ N(0, init_std or 1/sqrt(fan_in)), biases 0, norm gains 1, drawn
 * in table order. fan_in is the input width of the map a weight takes part
 * in: C for embed, pos, qkv, fc and unembed; d_input for in.w; d_mlp for
 * proj; NH*HS for the in-major o.w; HS for the pooling query. */
static int tf_init(const llc_model *m, float *w, gsl_rng *rng)
{
    const tf_impl *im = m->impl;
    for (int i = 0; i < m->table.n; i++) {
        const llc_tensor *t = &m->table.t[i];
        float *p = w + t->offset;
        size_t len = strlen(t->name);
        if (t->ndim == 1) {
            float v = (len >= 2 && strcmp(t->name + len - 2, ".g") == 0) ? 1.0f : 0.0f;
            for (size_t j = 0; j < t->size; j++) p[j] = v;
            continue;
        }
        int in_major = strstr(t->name, ".attn.o.w") != NULL;
        double fan_in = in_major ? t->shape[0] : t->shape[1];
        double sd = im->c.init_std > 0.0f ? (double)im->c.init_std : 1.0 / sqrt(fan_in);
        for (size_t j = 0; j < t->size; j++) p[j] = (float)gsl_ran_gaussian(rng, sd);
    }
    return LLC_OK;
}

/* ---------------- workspace ---------------- */

/* Lay out every buffer in one block; with base == NULL only count. */
static size_t ws_layout(const tf_impl *im, tf_ws *ws, float *base, int max_B)
{
    const llc_tf_config *c = &im->c;
    const size_t C = (size_t)c->d_model, D = (size_t)c->n_heads * c->d_head, NH = (size_t)c->n_heads;
    const size_t T = (size_t)c->n_ctx, NR = (size_t)max_B * T, DM = (size_t)c->d_mlp, V = (size_t)c->n_out;
    size_t off = 0;
#define TAKE(ptr, n)                                                        \
    do {                                                                    \
        (ptr) = base ? base + off : NULL;                                   \
        off += ((size_t)(n) + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; \
    } while (0)
    TAKE(ws->res0, NR * C);
    float *prev = ws->res0;
    for (int l = 0; l < c->n_layers; l++) {
        tf_lbuf *lb = &ws->l[l];
        int pool = l == im->pool_layer;
        lb->in = prev;
        TAKE(lb->ln1, NR * C);
        TAKE(lb->ln1_mean, NR);
        TAKE(lb->ln1_rstd, NR);
        TAKE(lb->qkv, NR * 3 * D);
        if (c->pos == LLC_POS_SHORTFORMER) TAKE(lb->posproj, T * 2 * D);
        TAKE(lb->att, pool ? (size_t)max_B * NH * T : llc_attention_att_size(max_B, NH, T));
        TAKE(lb->atty, NR * D);
        TAKE(lb->mid, NR * C);
        lb->out = lb->mid;
        if (DM > 0) {
            TAKE(lb->ln2, NR * C);
            TAKE(lb->ln2_mean, NR);
            TAKE(lb->ln2_rstd, NR);
            TAKE(lb->fch, NR * DM);
            TAKE(lb->fcg, NR * DM);
            TAKE(lb->out, NR * C);
        }
        prev = lb->out;
    }
    TAKE(ws->hsel, NR * C);
    TAKE(ws->fin, NR * C);
    TAKE(ws->fmean, NR);
    TAKE(ws->frstd, NR);
    TAKE(ws->probs, NR * V);
    TAKE(ws->msel, NR);
    TAKE(ws->dres, NR * C);
    TAKE(ws->dln, NR * C);
    TAKE(ws->dqkv, NR * 3 * D);
    TAKE(ws->datty, NR * D);
    if (DM > 0) {
        TAKE(ws->dfcg, NR * DM);
        TAKE(ws->dfch, NR * DM);
    }
    TAKE(ws->dposproj, T * 2 * D);
    size_t scr = llc_attention_scratch_size(c->n_ctx, c->d_head);
    if (im->any_special && llc_attention_clamped_scratch_size(c->n_heads, c->n_ctx) > scr)
        scr = llc_attention_clamped_scratch_size(c->n_heads, c->n_ctx);
    TAKE(ws->scratch, scr);
    if (im->n_xsrc) TAKE(ws->xda, (size_t)im->n_xsrc * max_B * T * T);
    TAKE(ws->wt, C * (size_t)c->d_head);
    TAKE(ws->dhsel, NR * C);
    TAKE(ws->dfin, NR * C);
    TAKE(ws->dlogits, NR * V);
    TAKE(ws->lnsel, NR * C);
    TAKE(ws->dlnsel, NR * C);
#undef TAKE
    return off;
}

static void tf_ws_free(void *p)
{
    tf_ws *ws = p;
    if (!ws) return;
    free(ws->mem);
    free(ws->l);
    free(ws->sel);
    free(ws->tsel);
    free(ws->need.qkv);
    free(ws->need.hcl);
    free(ws->lspec);
    free(ws);
}

/* The parameter ranges of head h of layer l: its rows of the Q, K, V blocks
 * of qkv_w (pooling layer: K, V) and their biases, its query slice (pooling
 * layer), its rows of o_w. Returns how many (at most 8), in off/len. */
static int head_ranges(const tf_impl *im, int l, int h, size_t off[8], size_t len[8])
{
    const tf_layer_off *o = &im->lo[l];
    const size_t C = (size_t)im->c.d_model, HS = (size_t)im->c.d_head, D = (size_t)im->c.n_heads * HS;
    const int nblk = l == im->pool_layer ? 2 : 3;
    int n = 0;
    for (int k = 0; k < nblk; k++) {
        off[n] = o->qkv_w + (k * D + h * HS) * C, len[n++] = HS * C;
        if (o->qkv_b != NONE) off[n] = o->qkv_b + k * D + h * HS, len[n++] = HS;
    }
    if (o->query != NONE) off[n] = o->query + h * HS, len[n++] = HS;
    off[n] = o->o_w + h * HS * C, len[n++] = HS * C;
    return n;
}

/* Does group g (normalized: sorted ranges) touch [off, off+len)? */
static int group_touches(const llc_group *g, size_t off, size_t len)
{
    for (int r = 0; r < g->n; r++)
        if (g->r[r].off < off + len && off < g->r[r].off + g->r[r].len) return 1;
    return 0;
}

/* Does every weight of g lie in a head range of one layer l (the lowest g
 * touches), in a model without a pooling layer? A
 * step of g then leaves the layers below l and l's other heads at w0, and a
 * base record (tf_base) stands in for them. */
static int base_eligible(const tf_impl *im, const tf_need *nd, const llc_group *g)
{
    const int l = nd->low_layer, NH = im->c.n_heads;
    if (im->pool_layer >= 0 || l < 0 || l >= im->c.n_layers) return 0;
    for (int r = 0; r < g->n; r++)
        for (size_t pos = g->r[r].off, end = pos + g->r[r].len, next; pos < end; pos = next) {
            next = pos; /* the end of the head range holding pos */
            for (int h = 0; h < NH && next == pos; h++) {
                size_t off[8], len[8];
                for (int i = 0, n = head_ranges(im, l, h, off, len); i < n; i++)
                    if (off[i] <= pos && pos < off[i] + len[i]) next = off[i] + len[i];
            }
            if (next == pos) return 0;
        }
    return 1;
}

static int im_any_special(const llc_model *m) { return ((const tf_impl *)m->impl)->any_special; }

static void tf_ws_need(const llc_model *m, void *wsp, const llc_group *g)
{
    tf_ws *ws = wsp;
    tf_need *nd = &ws->need;
    const int L = ((const tf_impl *)m->impl)->c.n_layers;
    nd->all = g == NULL || im_any_special(m); /* the clamped attention has no partial passes */
    memset(nd->qkv, 0, (size_t)L);
    memset(nd->o, 0, (size_t)L);
    memset(nd->ln1, 0, (size_t)L);
    const tf_impl *im = m->impl;
    const int NH = im->c.n_heads;
    memset(nd->o_b, 0, (size_t)L);
    memset(nd->heads, 0, (size_t)L * NH);
    nd->unembed = 0;
    nd->low_layer = L;
    nd->base_ok = 0;
    ws->base = NULL;
    if (nd->all) return;
    for (int l = 0; l < L; l++) {
        const tf_layer_off *o = &im->lo[l];
        nd->o_b[l] = o->o_b != NONE && group_touches(g, o->o_b, (size_t)im->c.d_model);
        for (int h = 0; h < NH; h++) {
            size_t off[8], len[8];
            int t = 0;
            for (int i = 0, n = head_ranges(im, l, h, off, len); i < n; i++) t |= group_touches(g, off[i], len[i]);
            nd->heads[(size_t)l * NH + h] = (unsigned char)t;
        }
    }
    for (int i = 0; i < m->table.n; i++) {
        const llc_tensor *t = &m->table.t[i];
        if (!group_touches(g, t->offset, t->size)) continue;
        char *end;
        long l = strtol(t->name, &end, 10);
        if (end != t->name && *end == '.' && l >= 0 && l < L) {
            const char *part = end + 1;
            if (strncmp(part, "attn.qkv", 8) == 0 || strncmp(part, "attn.kv", 7) == 0) nd->qkv[l] = 1;
            else if (strncmp(part, "attn.o", 6) == 0) nd->o[l] = 1;
            else if (strncmp(part, "ln1", 3) == 0) nd->ln1[l] = 1;
            if (l < nd->low_layer) nd->low_layer = (int)l;
        } else if (strncmp(t->name, "unembed", 7) == 0) {
            nd->unembed = 1;
        } else if (strncmp(t->name, "lnf", 3) != 0) { /* embed, in.w, in.b, pos: the inputs */
            nd->low_layer = -1;
        }
    }
    nd->base_ok = base_eligible(im, nd, g);
}

static void *tf_ws_alloc(const llc_model *m, int max_B)
{
    const tf_impl *im = m->impl;
    if (max_B < 1) return NULL;
    tf_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    size_t NR = (size_t)max_B * (size_t)im->c.n_ctx;
    ws->max_B = max_B;
    ws->l = calloc((size_t)im->c.n_layers, sizeof *ws->l);
    ws->sel = malloc(NR * sizeof *ws->sel);
    ws->tsel = malloc(NR * sizeof *ws->tsel);
    ws->need.all = 1;
    const size_t L = (size_t)im->c.n_layers, NH = (size_t)im->c.n_heads;
    ws->need.qkv = calloc(4 * L + L * NH, 1);
    ws->need.hcl = calloc(NH, sizeof *ws->need.hcl);
    ws->lspec = im->n_xsrc ? calloc(NH, sizeof *ws->lspec) : NULL;
    if (!ws->l || !ws->sel || !ws->tsel || !ws->need.qkv || !ws->need.hcl || (im->n_xsrc && !ws->lspec)) goto fail;
    ws->need.o = ws->need.qkv + L;
    ws->need.ln1 = ws->need.o + L;
    ws->need.o_b = ws->need.ln1 + L;
    ws->need.heads = ws->need.o_b + L;
    size_t n = ws_layout(im, ws, NULL, max_B);
    ws->mem = aligned_alloc(ALIGN_FLOATS * sizeof(float), n * sizeof(float));
    if (!ws->mem) goto fail;
    memset(ws->mem, 0, n * sizeof(float));
    ws_layout(im, ws, ws->mem, max_B);
    return ws;
fail:
    tf_ws_free(ws);
    return NULL;
}

/* ---------------- forward / backward pieces ---------------- */

static void norm_forward(const tf_impl *im, float *out, float *mean, float *rstd, const float *in, const float *w,
                         size_t g, size_t b, int N)
{
    const int C = im->c.d_model;
    switch (im->c.norm) {
    case LLC_NORM_LAYER: llc_layernorm_forward(out, mean, rstd, in, w + g, w + b, N, C, LLC_NORM_EPS); break;
    case LLC_NORM_RMS: llc_rmsnorm_forward(out, rstd, in, w + g, N, C, LLC_NORM_EPS); break;
    case LLC_NORM_RMS_NOGAIN: llc_rmsnorm_forward(out, rstd, in, NULL, N, C, LLC_NORM_EPS); break;
    case LLC_NORM_NONE: memcpy(out, in, (size_t)N * C * sizeof *out); break;
    }
}

static void norm_backward(const tf_impl *im, float *din, float *grad, const float *dout, const float *in,
                          const float *w, size_t g, size_t b, const float *mean, const float *rstd, int N)
{
    const int C = im->c.d_model;
    switch (im->c.norm) {
    case LLC_NORM_LAYER:
        llc_layernorm_backward(din, grad + g, grad + b, dout, in, w + g, mean, rstd, N, C);
        break;
    case LLC_NORM_RMS: llc_rmsnorm_backward(din, grad + g, dout, in, w + g, rstd, N, C); break;
    case LLC_NORM_RMS_NOGAIN: llc_rmsnorm_backward(din, NULL, dout, in, NULL, rstd, N, C); break;
    case LLC_NORM_NONE:
        for (size_t i = 0; i < (size_t)N * C; i++) din[i] += dout[i];
        break;
    }
}

static const float *opt(const float *w, size_t off) { return off == NONE ? NULL : w + off; }
static float *optg(float *g, size_t off) { return off == NONE ? NULL : g + off; }

/* The MLP block on `rows` rows: out = mid + proj(gelu(fc(norm2(mid)))). */
static void mlp_forward(const tf_impl *im, const tf_layer_off *o, tf_lbuf *lb, const float *w, int rows)
{
    const int C = im->c.d_model, DM = im->c.d_mlp;
    norm_forward(im, lb->ln2, lb->ln2_mean, lb->ln2_rstd, lb->mid, w, o->ln2_g, o->ln2_b, rows);
    llc_linear_forward(lb->fch, lb->ln2, w + o->fc_w, w + o->fc_b, rows, C, DM);
    llc_gelu_forward(lb->fcg, lb->fch, (size_t)rows * DM);
    llc_linear_forward(lb->out, lb->fcg, w + o->proj_w, w + o->proj_b, rows, DM, C);
    llc_add(lb->out, lb->mid, (size_t)rows * C);
}

/* dres (rows, C): d out on entry, d mid on exit. */
static void mlp_backward(const tf_impl *im, tf_ws *ws, const tf_layer_off *o, const tf_lbuf *lb, const float *w,
                         float *grad, int rows)
{
    const int C = im->c.d_model, DM = im->c.d_mlp;
    size_t nh = (size_t)rows * DM;
    memset(ws->dfcg, 0, nh * sizeof(float));
    llc_linear_backward(ws->dfcg, grad + o->proj_w, grad + o->proj_b, ws->dres, lb->fcg, w + o->proj_w, rows, DM,
                        C);
    memset(ws->dfch, 0, nh * sizeof(float));
    llc_gelu_backward(ws->dfch, ws->dfcg, lb->fch, nh);
    memset(ws->dln, 0, (size_t)rows * C * sizeof(float));
    llc_linear_backward(ws->dln, grad + o->fc_w, grad + o->fc_b, ws->dfch, lb->ln2, w + o->fc_w, rows, C, DM);
    norm_backward(im, ws->dres, grad, ws->dln, lb->mid, w, o->ln2_g, o->ln2_b, lb->ln2_mean, lb->ln2_rstd, rows);
}

/* n columns of every sequence's rows of qkv (row stride ld) += pp (T, n),
 * row stride ldp. */
static void posproj_add(float *qkv, int ld, const float *pp, int ldp, int B, int T, int n)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) llc_add(qkv + ((size_t)b * T + t) * ld, pp + (size_t)t * ldp, (size_t)n);
}

/* dp (T, n), row stride ldp, = the sum over the B sequences of n columns of
 * dqkv (row stride ld), in sequence order. */
static void posproj_sum(float *dp, int ldp, const float *dqkv, int ld, int B, int T, int n)
{
    llc_zero_cols(dp, (size_t)ldp, T, n);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) llc_add(dp + (size_t)t * ldp, dqkv + ((size_t)b * T + t) * ld, (size_t)n);
}

/* Shortformer: posproj (T, nproj) = pos[0:T] · W[0:nproj]ᵀ, added to the first
 * nproj entries of each row of qkv (row stride ld). */
static void shortformer_forward(float *qkv, float *posproj, const float *pos, const float *wqk, int B, int T, int C,
                                int nproj, int ld)
{
    llc_linear_forward(posproj, pos, wqk, NULL, T, C, nproj);
    posproj_add(qkv, ld, posproj, nproj, B, T, nproj);
}

static void shortformer_backward(float *dpos, float *dwqk, float *dposproj, const float *dqkv, const float *pos,
                                 const float *wqk, int B, int T, int C, int nproj, int ld)
{
    posproj_sum(dposproj, nproj, dqkv, ld, B, T, nproj);
    llc_linear_backward(dpos, dwqk, NULL, dposproj, pos, wqk, T, C, nproj);
}

/* The batch row that scored row r stands for: with a pooling layer, row r
 * is sequence r, scored at its last position; else row r itself. */
static int scored_pos(int pooled, int r, int T) { return pooled ? r * T + T - 1 : r; }

/* The scored rows of bt (mask != 0), as rows r of scored_pos, into sel (up
 * to B rows when pooled, else B*T); returns how many. */
static int scored_rows(int pooled, const llc_batch *bt, int *sel)
{
    const int R = pooled ? bt->B : bt->B * bt->T;
    int M = 0;
    for (int r = 0; r < R; r++)
        if (bt->mask[scored_pos(pooled, r, bt->T)] != 0.0f) sel[M++] = r;
    return M;
}

/* The top layer runs only at the M scored rows of N when some are unscored. */
static int top_at_rows(const tf_impl *im, int M, int N)
{
    return im->pool_layer < 0 && !im->layer_special[im->c.n_layers - 1] && M > 0 && M < N;
}

/* Does the top layer with scored rows sel compute Q at those rows only? (K
 * and V are needed at every row. Shortformer positions add to Q and K
 * together, so they keep the full Q.) */
static int q_at_rows(const tf_impl *im, const int *sel)
{
    return sel && im->c.pos != LLC_POS_SHORTFORMER;
}

/* out (N rows ld apart, HS columns) = in (N, C) · Wᵀ + b for the HS rows of
 * one head in an out-major weight w (HS, C): llc_gemm_nn on Wᵀ (ws->wt), as
 * a head's thin products are faster there than in OpenBLAS. */
static void head_linear_forward(tf_ws *ws, float *out, int ld, const float *in, const float *w, const float *b, int N,
                                int C, int HS)
{
    llc_transpose(ws->wt, HS, w, C, HS, C);
    llc_gemm_nn(out, ld, in, C, ws->wt, HS, N, HS, C, 0);
    if (b)
        for (int n = 0; n < N; n++) llc_add(out + (size_t)n * ld, b, (size_t)HS);
}

/* Q columns [q0, q0 + nq) (whole heads) at the M scored rows, from their
 * gathered norm output ws->lnsel: into the same columns of ws->datty (free
 * until the backward), rotated by the rows' positions, and put in their rows
 * of qkv. The other rows' Q columns are not written: nothing reads them. */
static void q_rows_forward(const tf_impl *im, const tf_layer_off *o, tf_ws *ws, float *qkv, const float *w, int T,
                           const int *sel, int M, int q0, int nq)
{
    const int C = im->c.d_model, HS = im->c.d_head, D = im->c.n_heads * HS;
    const float *b = opt(w, o->qkv_b);
    float *q = ws->datty + q0;
    if (nq == HS && nq < D) /* one head */
        head_linear_forward(ws, q, D, ws->lnsel, w + o->qkv_w + (size_t)q0 * C, b ? b + q0 : NULL, M, C, HS);
    else
        llc_linear_ld_forward(q, D, ws->lnsel, w + o->qkv_w + (size_t)q0 * C, b ? b + q0 : NULL, M, C, nq);
    if (im->c.pos == LLC_POS_ROPE) llc_rope_rows_forward(q, im->rope_cs, sel, M, T, nq / HS, HS, D);
    llc_scatter_rows(qkv + q0, 3 * D, q, D, sel, M, nq);
}

/* The top layer's Q, K, V under q_at_rows: K, V (with RoPE) at every row of
 * lb->qkv, Q at the M rows (q_rows_forward). */
static void qkv_rows_forward(const tf_impl *im, const tf_layer_off *o, tf_ws *ws, tf_lbuf *lb, const float *w,
                             int N, int T, const int *sel, int M)
{
    const int C = im->c.d_model, NH = im->c.n_heads, HS = im->c.d_head, D = NH * HS, D3 = 3 * D;
    const float *b = opt(w, o->qkv_b);
    llc_linear_ld_forward(lb->qkv + D, D3, lb->ln1, w + o->qkv_w + (size_t)D * C, b ? b + D : NULL, N, C, 2 * D);
    if (im->c.pos == LLC_POS_ROPE) llc_rope_forward(lb->qkv + D, im->rope_cs, N, T, NH, HS, D3);
    llc_gather_rows(ws->lnsel, C, lb->ln1, C, sel, M, C);
    q_rows_forward(im, o, ws, lb->qkv, w, T, sel, M, 0, D);
}

/* MEAN_OUTPUT clamps of layer l: their heads' columns of the head outputs
 * atty (rows rows of D) := the clamp's vector. */
static void mean_fill(const tf_impl *im, int l, float *atty, int rows)
{
    if (!im->layer_mean[l]) return;
    const int NH = im->c.n_heads, HS = im->c.d_head, D = NH * HS;
    for (int h = 0; h < NH; h++) {
        const float *v = im->mean_out[(size_t)l * NH + h];
        if (!v) continue;
        for (int r = 0; r < rows; r++) memcpy(atty + (size_t)r * D + (size_t)h * HS, v, (size_t)HS * sizeof *v);
    }
}

/* ... and no gradient through them: their columns of datty := 0. */
static void mean_dzero(const tf_impl *im, int l, float *datty, int rows)
{
    if (!im->layer_mean[l]) return;
    const int NH = im->c.n_heads, HS = im->c.d_head, D = NH * HS;
    for (int h = 0; h < NH; h++)
        if (im->mean_out[(size_t)l * NH + h]) llc_zero_cols(datty + (size_t)h * HS, (size_t)D, rows, HS);
}

/* The head specs of layer l for this pass: with copies across layers, a
 * copy of them pointing at the source layer's patterns and the d pattern
 * buffers (ws->xda) of this batch of B sequences of T. */
static const llc_head_spec *layer_specs(const tf_impl *im, tf_ws *ws, int l, int B, int T)
{
    const int NH = im->c.n_heads;
    const llc_head_spec *sp = im->spec + (size_t)l * NH;
    if (!im->layer_cross[l]) return sp;
    const size_t per = (size_t)B * T * T;
    for (int h = 0; h < NH; h++) {
        llc_head_spec *s = &ws->lspec[h];
        const int from = im->copy_from[l * NH + h], x = im->xsrc[l * NH + h];
        *s = sp[h];
        s->src_att = from >= 0 ? ws->l[from].att : NULL;
        s->src_datt = from >= 0 ? ws->xda + (size_t)im->xsrc[from * NH + s->src] * per : NULL;
        s->more_da = x >= 0 ? ws->xda + (size_t)x * per : NULL;
    }
    return ws->lspec;
}

/* sel (M rows, increasing) non-NULL: the layer's output is needed only at
 * those rows (the top layer under a partial loss mask): K, V and the norm
 * run on every row, Q at the M rows when q_at_rows (else on every row), the
 * attention, O, residual and MLP on the M rows, and lb->atty/mid/out hold M
 * compact rows. */
static void layer_forward(const tf_impl *im, int l, tf_ws *ws, const float *w, int B, int T, const int *sel, int M)
{
    tf_lbuf *lb = &ws->l[l];
    float *scratch = ws->scratch;
    const llc_tf_config *c = &im->c;
    const tf_layer_off *o = &im->lo[l];
    const int C = c->d_model, NH = c->n_heads, HS = c->d_head, D = NH * HS, N = B * T;
    const llc_head_clamp *cl = im->layer_clamped[l] ? im->clamp + (size_t)l * NH : NULL;
    norm_forward(im, lb->ln1, lb->ln1_mean, lb->ln1_rstd, lb->in, w, o->ln1_g, o->ln1_b, N);
    if (l == im->pool_layer) {
        llc_linear_forward(lb->qkv, lb->ln1, w + o->qkv_w, opt(w, o->qkv_b), N, C, 2 * D);
        if (c->pos == LLC_POS_SHORTFORMER)
            shortformer_forward(lb->qkv, lb->posproj, w + im->pos, w + o->qkv_w, B, T, C, D, 2 * D);
        llc_attn_pool_forward(lb->atty, lb->att, w + o->query, lb->qkv, cl, B, T, NH, HS);
        mean_fill(im, l, lb->atty, B);
        llc_linear_im_forward(lb->mid, lb->atty, w + o->o_w, opt(w, o->o_b), B, D, C);
        if (c->d_mlp > 0) mlp_forward(im, o, lb, w, B);
        return;
    }
    if (q_at_rows(im, sel)) {
        qkv_rows_forward(im, o, ws, lb, w, N, T, sel, M);
    } else {
        llc_linear_forward(lb->qkv, lb->ln1, w + o->qkv_w, opt(w, o->qkv_b), N, C, 3 * D);
        if (c->pos == LLC_POS_SHORTFORMER)
            shortformer_forward(lb->qkv, lb->posproj, w + im->pos, w + o->qkv_w, B, T, C, 2 * D, 3 * D);
        if (c->pos == LLC_POS_ROPE) llc_rope_forward(lb->qkv, im->rope_cs, N, T, 2 * NH, HS, 3 * D);
    }
    if (sel) {
        llc_attention_rows_forward(lb->atty, lb->att, scratch, lb->qkv, sel, cl, M, T, NH, HS, c->causal);
        mean_fill(im, l, lb->atty, M);
        llc_linear_im_forward(lb->mid, lb->atty, w + o->o_w, opt(w, o->o_b), M, D, C);
        for (int i = 0; i < M; i++) llc_add(lb->mid + (size_t)i * C, lb->in + (size_t)sel[i] * C, (size_t)C);
        if (c->d_mlp > 0) mlp_forward(im, o, lb, w, M);
        return;
    }
    if (im->layer_special[l])
        llc_attention_clamped_forward(lb->atty, lb->att, scratch, lb->qkv, ws->tokens, layer_specs(im, ws, l, B, T), B,
                                      T, NH, HS, c->causal);
    else
        llc_attention_forward(lb->atty, lb->att, scratch, lb->qkv, cl, B, T, NH, HS, c->causal);
    mean_fill(im, l, lb->atty, N);
    llc_linear_im_forward(lb->mid, lb->atty, w + o->o_w, opt(w, o->o_b), N, D, C);
    llc_add(lb->mid, lb->in, (size_t)N * C);
    if (c->d_mlp > 0) mlp_forward(im, o, lb, w, N);
}

/* After the attention backward of a q_at_rows layer (dQ in the M rows of
 * ws->dqkv, dK and dV in every row): dQ gathered into ws->datty (M, D)
 * and, with RoPE, dK and the gathered dQ rotated back. */
static void dq_rows_gather(const tf_impl *im, tf_ws *ws, int N, int T, const int *sel, int M)
{
    const int NH = im->c.n_heads, HS = im->c.d_head, D = NH * HS, D3 = 3 * D;
    llc_gather_rows(ws->datty, D, ws->dqkv, D3, sel, M, D);
    if (im->c.pos == LLC_POS_ROPE) {
        llc_rope_backward(ws->dqkv + D, im->rope_cs, N, T, NH, HS, D3);
        llc_rope_rows_backward(ws->datty, im->rope_cs, sel, M, T, NH, HS, D);
    }
}

/* The Q, K, V weight gradients (and d ln1 into ws->dln when need_din) of a
 * q_at_rows layer after dq_rows_gather: K, V over every row, Q over the M
 * rows (their norm output ws->lnsel), d ln1 of Q scattered to its rows. */
static void qkv_rows_backward(const tf_impl *im, const tf_layer_off *o, tf_ws *ws, const tf_lbuf *lb,
                              const float *w, float *grad, int need_din, int need_qkv, int N, const int *sel, int M)
{
    const int C = im->c.d_model, D = im->c.n_heads * im->c.d_head;
    float *gw = need_qkv ? grad + o->qkv_w : NULL, *gb = need_qkv ? optg(grad, o->qkv_b) : NULL;
    llc_linear_ld_backward(need_din ? ws->dln : NULL, gw ? gw + (size_t)D * C : NULL, gb ? gb + D : NULL,
                           ws->dqkv + D, 3 * D, lb->ln1, w + o->qkv_w + (size_t)D * C, N, C, 2 * D);
    if (need_din) memset(ws->dlnsel, 0, (size_t)M * C * sizeof(float));
    llc_linear_backward(need_din ? ws->dlnsel : NULL, gw, gb, ws->datty, ws->lnsel, w + o->qkv_w, M, C, D);
    if (need_din)
        for (int i = 0; i < M; i++) llc_add(ws->dln + (size_t)sel[i] * C, ws->dlnsel + (size_t)i * C, (size_t)C);
}

/* nd->hcl <- the clamps of layer l, with the heads the group does not need
 * skipped (the kernels neither compute nor write them). */
static void need_clamps(const tf_impl *im, const tf_need *nd, int l)
{
    const int NH = im->c.n_heads;
    const unsigned char *hn = nd->heads + (size_t)l * NH;
    const llc_head_clamp *cl = im->layer_clamped[l] ? im->clamp + (size_t)l * NH : NULL;
    for (int h = 0; h < NH; h++) {
        nd->hcl[h] = cl ? cl[h] : (llc_head_clamp){.kind = LLC_HEAD_FREE};
        if (!hn[h]) nd->hcl[h].kind = LLC_HEAD_SKIP;
    }
}

/* Layer l of a step that reuses base record bs (same batch, w = w0 outside
 * the needed heads of layer l, the lowest layer the group touches): from
 * the record's norm output of layer l (read in place, ws->ln1_rec), the
 * needed heads' K and V at every row and Q at the rows the layer runs on
 * (sel: the M scored rows of the top layer, under q_at_rows; else all; with
 * shortformer positions Q and K add the head's pos · W_colᵀ), their attention, and
 *   mid = mid0 + sum over needed h of (atty_h · W_O[h] - atty0_h · W0_O[h])
 * from the record's mid0 and atty0; then the MLP. The layers above run as
 * usual. The other heads' columns of qkv, att and atty are stale (skipped):
 * head_backward reads only the needed heads'. */
static void layer_from_base(const tf_impl *im, tf_ws *ws, const float *w, const tf_base *bs, int l, int B, int T,
                            const int *sel, int M)
{
    const llc_tf_config *c = &im->c;
    const int C = c->d_model, NH = c->n_heads, HS = c->d_head, D = NH * HS, D3 = 3 * D, N = B * T;
    const int R = sel ? M : N;
    const tf_layer_off *o = &im->lo[l];
    tf_lbuf *lb = &ws->l[l];
    const float *ln1 = base_floats(bs) + (size_t)l * N * (2 * C + D), *mid0 = ln1 + (size_t)N * C;
    const float *atty0 = mid0 + (size_t)R * C, *bq = opt(w, o->qkv_b);
    ws->ln1_rec = ln1;
    const int qr = q_at_rows(im, sel);
    if (qr) llc_gather_rows(ws->lnsel, C, ln1, C, sel, M, C);
    const unsigned char *hn = ws->need.heads + (size_t)l * NH;
    for (int h = 0; h < NH; h++) {
        if (!hn[h]) continue;
        for (int k = qr ? 1 : 0; k < 3; k++) { /* K, V (and Q unless q_at_rows) at every row */
            const size_t col = (size_t)k * D + (size_t)h * HS;
            head_linear_forward(ws, lb->qkv + col, D3, ln1, w + o->qkv_w + col * C, bq ? bq + col : NULL, N, C, HS);
            if (c->pos == LLC_POS_ROPE && k < 2) llc_rope_forward(lb->qkv + col, im->rope_cs, N, T, 1, HS, D3);
            if (c->pos == LLC_POS_SHORTFORMER && k < 2) { /* + pos[t] · W_colᵀ, as shortformer_forward */
                float *pp = ws->dposproj; /* (T, HS): free until the backward */
                head_linear_forward(ws, pp, HS, w + im->pos, w + o->qkv_w + col * C, NULL, T, C, HS);
                posproj_add(lb->qkv + col, D3, pp, HS, B, T, HS);
            }
        }
        if (qr) q_rows_forward(im, o, ws, lb->qkv, w, T, sel, M, h * HS, HS);
    }
    need_clamps(im, &ws->need, l);
    if (sel)
        llc_attention_rows_forward(lb->atty, lb->att, ws->scratch, lb->qkv, sel, ws->need.hcl, M, T, NH, HS,
                                   c->causal);
    else
        llc_attention_forward(lb->atty, lb->att, ws->scratch, lb->qkv, ws->need.hcl, B, T, NH, HS, c->causal);
    mean_fill(im, l, lb->atty, R);
    memcpy(lb->mid, mid0, (size_t)R * C * sizeof(float));
    for (int h = 0; h < NH; h++) {
        if (!hn[h]) continue;
        const size_t ow = o->o_w + (size_t)h * HS * C; /* head h's rows of the in-major O */
        llc_gemm_nn(lb->mid, C, atty0 + h * HS, D, ws->base_w0 + ow, C, R, C, HS, -1);
        llc_gemm_nn(lb->mid, C, lb->atty + h * HS, D, w + ow, C, R, C, HS, 1);
    }
    if (c->d_mlp > 0) mlp_forward(im, o, lb, w, R);
}

/* layer_backward of the lowest needed layer when the target holds only some
 * of its heads (a weight-refined head): the O, attention and Q/K/V weight
 * gradients of those heads alone, nothing for the layers below. Its thin
 * products with an output of the head size run in llc_gemm_nn; the weight
 * gradients (Aᵀ · B, a long sum) are faster in OpenBLAS. (cblas_sgemm is
 * declared here by GSL's gsl_cblas.h, the standard CBLAS prototypes, and
 * links to OpenBLAS.) */
static void head_backward(const tf_impl *im, int l, tf_ws *ws, const tf_lbuf *lb, const float *w, float *grad,
                          int B, int T, const int *sel, int M)
{
    const llc_tf_config *c = &im->c;
    const tf_layer_off *o = &im->lo[l];
    const int C = c->d_model, NH = c->n_heads, HS = c->d_head, D = NH * HS, D3 = 3 * D, N = B * T;
    const int rows = sel ? M : N;
    const tf_need *nd = &ws->need;
    const unsigned char *hn = nd->heads + (size_t)l * NH;
    need_clamps(im, nd, l);
    for (int h = 0; h < NH; h++) {
        if (!hn[h]) continue;
        /* datty[:, h] = dres · W_o[h]ᵀ ; dW_o[h] += atty[:, h]ᵀ · dres (in-major O: head h's rows) */
        llc_transpose(ws->wt, HS, w + o->o_w + (size_t)h * HS * C, C, HS, C);
        llc_gemm_nn(ws->datty + h * HS, D, ws->dres, C, ws->wt, HS, rows, HS, C, 0);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, HS, C, rows, 1.0f, lb->atty + h * HS, D, ws->dres, C,
                    1.0f, grad + o->o_w + (size_t)h * HS * C, C);
    }
    mean_dzero(im, l, ws->datty, rows);
    if (nd->o_b[l]) llc_linear_im_backward(NULL, NULL, grad + o->o_b, ws->dres, lb->atty, w + o->o_w, rows, D, C);
    /* the attention backward adds into the needed heads' columns (the other
     * heads' are skipped by the kernels and not read) */
    for (int h = 0; h < NH; h++)
        if (hn[h])
            for (int k = 0; k < 3; k++) llc_zero_cols(ws->dqkv + (size_t)k * D + (size_t)h * HS, D3, N, HS);
    if (sel)
        llc_attention_rows_backward(ws->dqkv, ws->scratch, ws->datty, lb->att, lb->qkv, sel, nd->hcl, M, T, NH, HS,
                                    c->causal);
    else
        llc_attention_backward(ws->dqkv, ws->scratch, ws->datty, lb->att, lb->qkv, nd->hcl, B, T, NH, HS,
                               c->causal);
    const int qr = q_at_rows(im, sel);
    if (qr)
        dq_rows_gather(im, ws, N, T, sel, M);
    else if (c->pos == LLC_POS_ROPE)
        llc_rope_backward(ws->dqkv, im->rope_cs, N, T, 2 * NH, HS, D3);
    for (int h = 0; h < NH; h++) {
        if (!hn[h]) continue;
        for (int k = 0; k < 3; k++) { /* Q, K, V rows of head h: dW += dqkv[:, slice]ᵀ · ln1 */
            const size_t col = (size_t)k * D + (size_t)h * HS;
            const int q = qr && k == 0; /* Q at the M rows: compact in datty, lnsel */
            const float *d = q ? ws->datty + h * HS : ws->dqkv + col;
            const float *in = q ? ws->lnsel : ws->ln1_rec ? ws->ln1_rec : lb->ln1;
            const int ld = q ? D : D3, n_rows = q ? M : N;
            llc_linear_ld_backward(NULL, grad + o->qkv_w + col * C, o->qkv_b == NONE ? NULL : grad + o->qkv_b + col,
                                   d, ld, in, NULL, n_rows, C, HS);
            if (c->pos == LLC_POS_SHORTFORMER && k < 2) {
                /* Q and K also saw the positions (shortformer_forward): dW += dpᵀ · pos with
                 * dp = Σ_b d of the slice, summed as shortformer_backward does (pos itself
                 * is not needed here: it would make the backward run through every layer) */
                float *dp = ws->dposproj + col;
                posproj_sum(dp, 2 * D, ws->dqkv + col, D3, B, T, HS);
                llc_linear_ld_backward(NULL, grad + o->qkv_w + col * C, NULL, dp, 2 * D, w + im->pos, NULL, T, C, HS);
            }
        }
    }
}

/* ws->dres: d out on entry (N rows; B rows for the pooling layer; M compact
 * rows with sel, as layer_forward), d in (N rows) on exit. */
static void layer_backward(const tf_impl *im, int l, tf_ws *ws, const tf_lbuf *lb, const float *w, float *grad,
                           int B, int T, const int *sel, int M)
{
    const llc_tf_config *c = &im->c;
    const tf_layer_off *o = &im->lo[l];
    const int C = c->d_model, NH = c->n_heads, HS = c->d_head, D = NH * HS, N = B * T;
    const llc_head_clamp *cl = im->layer_clamped[l] ? im->clamp + (size_t)l * NH : NULL;
    int pool = l == im->pool_layer;
    int rows = pool ? B : sel ? M : N;
    if (c->d_mlp > 0) mlp_backward(im, ws, o, lb, w, grad, rows);
    const tf_need *nd = &ws->need;
    const int need_o = nd->all || nd->o[l], need_qkv = nd->all || nd->qkv[l];
    /* the input gradient of the lowest needed layer feeds only its own norm
     * (when that is needed) and the layers and inputs below (which are not) */
    const int need_din = nd->all || l > nd->low_layer || nd->ln1[l];
    if (!nd->all && !need_din && !pool && memchr(nd->heads + (size_t)l * NH, 0, (size_t)NH)) {
        /* some head of the layer is not needed */
        head_backward(im, l, ws, lb, w, grad, B, T, sel, M);
        return;
    }
    memset(ws->datty, 0, (size_t)rows * D * sizeof(float));
    llc_linear_im_backward(ws->datty, need_o ? grad + o->o_w : NULL, need_o ? optg(grad, o->o_b) : NULL, ws->dres,
                           lb->atty, w + o->o_w, rows, D, C);
    mean_dzero(im, l, ws->datty, rows);
    int nqkv = pool ? 2 * D : 3 * D;
    if (pool || sel) memset(ws->dqkv, 0, (size_t)N * nqkv * sizeof(float));
    if (pool) {
        llc_attn_pool_backward(grad + o->query, ws->dqkv, ws->datty, lb->att, w + o->query, lb->qkv, cl, B, T, NH,
                               HS);
        /* no residual around the pooling: d in comes from the norm alone */
        memset(ws->dres, 0, (size_t)N * C * sizeof(float));
    } else if (sel) {
        llc_attention_rows_backward(ws->dqkv, ws->scratch, ws->datty, lb->att, lb->qkv, sel, cl, M, T, NH, HS,
                                    c->causal);
        if (q_at_rows(im, sel))
            dq_rows_gather(im, ws, N, T, sel, M);
        else if (c->pos == LLC_POS_ROPE)
            llc_rope_backward(ws->dqkv, im->rope_cs, N, T, 2 * NH, HS, 3 * D);
        /* the residual: spread the M compact rows of d out to their rows (in
         * place, from the last: sel[i] >= i), zero elsewhere */
        for (int i = M - 1, next = N; i >= 0; next = sel[i], i--) {
            float *dst = ws->dres + (size_t)sel[i] * C;
            memset(dst + C, 0, (size_t)(next - sel[i] - 1) * C * sizeof(float));
            if (sel[i] != i) memcpy(dst, ws->dres + (size_t)i * C, (size_t)C * sizeof(float));
        }
        memset(ws->dres, 0, (size_t)(M > 0 ? sel[0] : N) * C * sizeof(float));
    } else {
        if (im->layer_special[l])
            llc_attention_clamped_backward(ws->dqkv, ws->scratch, ws->datty, lb->att, lb->qkv,
                                           layer_specs(im, ws, l, B, T), B, T, NH, HS, c->causal);
        else
            llc_attention_backward_set(ws->dqkv, ws->scratch, ws->datty, lb->att, lb->qkv, cl, B, T, NH, HS,
                                       c->causal);
        if (c->pos == LLC_POS_ROPE) llc_rope_backward(ws->dqkv, im->rope_cs, N, T, 2 * NH, HS, 3 * D);
    }
    if (c->pos == LLC_POS_SHORTFORMER)
        shortformer_backward(grad + im->pos, grad + o->qkv_w, ws->dposproj, ws->dqkv, w + im->pos, w + o->qkv_w, B,
                             T, C, pool ? D : 2 * D, nqkv);
    if (need_din) memset(ws->dln, 0, (size_t)N * C * sizeof(float));
    if (q_at_rows(im, sel))
        qkv_rows_backward(im, o, ws, lb, w, grad, need_din, need_qkv, N, sel, M);
    else
        llc_linear_backward(need_din ? ws->dln : NULL, need_qkv ? grad + o->qkv_w : NULL,
                            need_qkv ? optg(grad, o->qkv_b) : NULL, ws->dqkv, lb->ln1, w + o->qkv_w, N, C, nqkv);
    if (need_din)
        norm_backward(im, ws->dres, grad, ws->dln, lb->in, w, o->ln1_g, o->ln1_b, lb->ln1_mean, lb->ln1_rstd, N);
}

/* ---------------- loss and gradient ---------------- */

/* Check batch bt's tokens (and that continuous rows have x); *n_cont = the
 * rows without a token. LLC_ERR_INVALID for a batch the model cannot take. */
static int inputs_check(const tf_impl *im, const llc_batch *bt, int *n_cont)
{
    const llc_tf_config *c = &im->c;
    const int N = bt->B * bt->T;
    *n_cont = 0;
    for (int n = 0; n < N; n++) {
        int tok = bt->tokens ? bt->tokens[n] : -1;
        if (tok < -1 || tok >= c->vocab) return LLC_ERR_INVALID;
        *n_cont += tok == -1;
    }
    if (*n_cont > 0 && (c->d_input == 0 || !bt->x || bt->d_in != c->d_input)) return LLC_ERR_INVALID;
    return LLC_OK;
}

/* The embedding output ws->res0 of batch bt (n_cont from inputs_check). */
static void inputs_forward(const tf_impl *im, tf_ws *ws, const float *w, const llc_batch *bt, int n_cont)
{
    const llc_tf_config *c = &im->c;
    const int B = bt->B, T = bt->T, N = B * T, C = c->d_model;
    if (n_cont > 0) llc_linear_forward(ws->res0, bt->x, w + im->in_w, w + im->in_b, N, c->d_input, C);
    if (n_cont < N) llc_embedding_forward(ws->res0, bt->tokens, w + im->embed, N, C);
    if (c->pos == LLC_POS_LEARNED)
        for (int b = 0; b < B; b++) llc_add(ws->res0 + (size_t)b * T * C, w + im->pos, (size_t)T * C);
}

static int tf_loss_grad(const llc_model *m, void *wsp, const float *w, const llc_batch *bt, float *grad,
                        double *loss)
{
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    tf_ws *ws = wsp;
    *loss = NAN;
    if (!ws || !bt || !w) return LLC_ERR_INVALID;
    const int B = bt->B, T = bt->T, N = B * T, C = c->d_model, L = c->n_layers, V = c->n_out;
    if (B < 1 || B > ws->max_B || T < 1 || T > c->n_ctx || !bt->targets || !bt->mask) return LLC_ERR_INVALID;

    /* ---- inputs ---- */
    int n_cont = 0;
    if (inputs_check(im, bt, &n_cont)) return LLC_ERR_INVALID;

    /* ---- the scored rows ---- */
    const int pooled = im->pool_layer >= 0, R = pooled ? B : N;
    const int M = scored_rows(pooled, bt, ws->sel);
    for (int i = 0; i < M; i++) {
        const int n = scored_pos(pooled, ws->sel[i], T);
        if (bt->targets[n] < 0 || bt->targets[n] >= V) return LLC_ERR_INVALID;
        ws->tsel[i] = bt->targets[n];
        ws->msel[i] = bt->mask[n];
    }
    const int top = top_at_rows(im, M, N);
    ws->M = M;
    ws->top = top;

    /* a base record: from the lowest needed layer up, that layer's needed heads only */
    const tf_base *bs = ws->base && ws->need.base_ok ? ws->base : NULL;
    if (bs && (bs->B != B || bs->T != T || bs->M != M || bs->top != top)) return LLC_ERR_INVALID; /* another batch's */
    const int l0 = bs ? ws->need.low_layer : 0;
    ws->ln1_rec = NULL;

    /* ---- inputs ---- */
    ws->tokens = bt->tokens;
    if (!bs) inputs_forward(im, ws, w, bt, n_cont);

    /* ---- layers ---- */
    if (bs) layer_from_base(im, ws, w, bs, l0, B, T, top && l0 == L - 1 ? ws->sel : NULL, M);
    for (int l = bs ? l0 + 1 : 0; l < L; l++)
        layer_forward(im, l, ws, w, B, T, top && l == L - 1 ? ws->sel : NULL, M);
    const float *h = ws->l[L - 1].out;

    /* ---- final norm, logits, loss at the scored rows ---- */
    const float *hs = h; /* (M, C) */
    if (!top) {
        llc_gather_rows(ws->hsel, C, h, C, ws->sel, M, C);
        hs = ws->hsel;
    }
    const float *fin = hs;
    if (c->final_norm) {
        norm_forward(im, ws->fin, ws->fmean, ws->frstd, hs, w, im->lnf_g, im->lnf_b, M);
        fin = ws->fin;
    }
    const float *wu = c->tied ? w + im->embed : w + im->unembed;
    llc_linear_forward(ws->probs, fin, wu, opt(w, im->unembed_b), M, C, V);
    llc_crossentropy_forward(loss, ws->probs, ws->probs, ws->tsel, ws->msel, M, V);
    if (!grad) return LLC_OK;

    /* ---- backward ---- */
    memset(grad, 0, m->table.n_params * sizeof *grad);
    if (M == 0) return LLC_OK;
    memset(ws->dlogits, 0, (size_t)M * V * sizeof(float));
    llc_crossentropy_backward(ws->dlogits, 1.0, ws->probs, ws->tsel, ws->msel, M, V);
    const tf_need *nd = &ws->need;
    const int need_u = nd->all || nd->unembed;
    float *gu = c->tied ? grad + im->embed : grad + im->unembed;
    memset(ws->dfin, 0, (size_t)M * C * sizeof(float));
    llc_linear_backward(ws->dfin, need_u ? gu : NULL, need_u ? optg(grad, im->unembed_b) : NULL, ws->dlogits, fin,
                        wu, M, C, V);
    const float *dh = ws->dfin;
    if (c->final_norm) {
        memset(ws->dhsel, 0, (size_t)M * C * sizeof(float));
        norm_backward(im, ws->dhsel, grad, ws->dfin, hs, w, im->lnf_g, im->lnf_b, ws->fmean, ws->frstd, M);
        dh = ws->dhsel;
    }
    if (top) {
        memcpy(ws->dres, dh, (size_t)M * C * sizeof(float));
    } else {
        memset(ws->dres, 0, (size_t)R * C * sizeof(float));
        for (int i = 0; i < M; i++) llc_add(ws->dres + (size_t)ws->sel[i] * C, dh + (size_t)i * C, (size_t)C);
    }
    const int low = nd->all ? -1 : nd->low_layer;
    if (im->n_xsrc) memset(ws->xda, 0, (size_t)im->n_xsrc * B * T * T * sizeof *ws->xda); /* copies add into it */
    for (int l = L - 1; l >= 0 && l >= low; l--)
        layer_backward(im, l, ws, &ws->l[l], w, grad, B, T, top && l == L - 1 ? ws->sel : NULL, M);
    if (low >= 0) return LLC_OK; /* nothing below the lowest needed layer */

    /* ---- inputs ---- */
    if (c->pos == LLC_POS_LEARNED)
        for (int b = 0; b < B; b++) llc_add(grad + im->pos, ws->dres + (size_t)b * T * C, (size_t)T * C);
    if (n_cont < N) llc_embedding_backward(grad + im->embed, ws->dres, bt->tokens, N, C);
    if (n_cont > 0) {
        const float *dcont = ws->dres;
        if (n_cont < N) { /* only the continuous rows reach in.w */
            memcpy(ws->dln, ws->dres, (size_t)N * C * sizeof(float));
            for (int n = 0; n < N; n++)
                if (bt->tokens[n] >= 0) memset(ws->dln + (size_t)n * C, 0, (size_t)C * sizeof(float));
            dcont = ws->dln;
        }
        llc_linear_backward(NULL, grad + im->in_w, grad + im->in_b, dcont, bt->x, w + im->in_w, N, c->d_input, C);
    }
    return LLC_OK;
}

/* ---------------- base records (llc_model.base_*) ---------------- */

static size_t tf_base_size(const llc_model *m, int max_B)
{
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    if (im->pool_layer >= 0 || max_B < 1) return 0;
    const size_t NR = (size_t)max_B * c->n_ctx, C = (size_t)c->d_model, D = (size_t)c->n_heads * c->d_head;
    return BASE_HDR + (size_t)c->n_layers * NR * (2 * C + D) * sizeof(float);
}

static int tf_base_forward(const llc_model *m, void *wsp, const float *w0, const llc_batch *b, void *rec,
                           size_t *bytes, double *loss)
{
    tf_ws *ws = wsp;
    if (!ws) return LLC_ERR_INVALID;
    const void *keep = ws->base;
    ws->base = NULL;
    int rc = tf_loss_grad(m, ws, w0, b, NULL, loss);
    ws->base = keep;
    if (rc || !rec) return rc;
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    const size_t C = (size_t)c->d_model, D = (size_t)c->n_heads * c->d_head, N = (size_t)b->B * b->T;
    const int L = c->n_layers;
    tf_base *r = rec;
    *r = (tf_base){.loss = *loss, .B = b->B, .T = b->T, .M = ws->M, .top = ws->top};
    float *f = (float *)((char *)r + BASE_HDR);
    for (int l = 0; l < L; l++) {
        const tf_lbuf *lb = &ws->l[l];
        const size_t R = ws->top && l == L - 1 ? (size_t)ws->M : N;
        memcpy(f, lb->ln1, N * C * sizeof *f);
        memcpy(f + N * C, lb->mid, R * C * sizeof *f);
        memcpy(f + N * C + R * C, lb->atty, R * D * sizeof *f);
        f += N * C + R * (C + D);
    }
    r->bytes = (size_t)((char *)f - (char *)r);
    if (bytes) *bytes = r->bytes;
    return LLC_OK;
}

static int tf_ws_base(const llc_model *m, void *wsp, const void *rec, const float *w0)
{
    (void)m;
    tf_ws *ws = wsp;
    ws->base = ws->need.base_ok && w0 ? rec : NULL;
    ws->base_w0 = ws->base ? w0 : NULL;
    return ws->need.base_ok;
}

/* ---------------- groups ---------------- */

/* Parse a non-negative decimal integer filling all of s. */
static int parse_index(const char *s, int *v)
{
    if (!*s) return 0;
    long x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        x = x * 10 + (*p - '0');
        if (x > 1000000) return 0;
    }
    *v = (int)x;
    return 1;
}

/* "layer 0" or "layers 0-3" (what ranges a model has), into buf. */
static const char *range_text(char *buf, size_t n, const char *what, int count)
{
    if (count == 1) snprintf(buf, n, "%s 0", what);
    else snprintf(buf, n, "%ss 0-%d", what, count - 1);
    return buf;
}

/* "L.H" with both parts decimal. */
static int parse_head(const char *s, int *l, int *h)
{
    char a[LLC_NAMELEN];
    const char *dot = strchr(s, '.');
    if (!dot || (size_t)(dot - s) >= sizeof a) return 0;
    memcpy(a, s, (size_t)(dot - s));
    a[dot - s] = 0;
    return parse_index(a, l) && parse_index(dot + 1, h);
}

static int add_off(llc_group *g, size_t off, size_t len)
{
    return off == NONE ? LLC_OK : llc_group_add(g, off, len);
}

static int add_named(const llc_model *m, llc_group *g, const char *name)
{
    const llc_tensor *t = llc_ptable_find(&m->table, name);
    return t ? llc_group_add(g, t->offset, t->size) : LLC_OK;
}

static int group_layer(const llc_model *m, llc_group *g, int l, const char *part)
{
    char prefix[LLC_NAMELEN];
    int rc = LLC_OK;
    size_t pl = (size_t)snprintf(prefix, sizeof prefix, "%d.%s", l, part);
    for (int i = 0; i < m->table.n && !rc; i++)
        if (strncmp(m->table.t[i].name, prefix, pl) == 0) rc = llc_group_add(g, m->table.t[i].offset, m->table.t[i].size);
    return rc;
}

static int group_head(const tf_impl *im, llc_group *g, int l, int h)
{
    size_t off[8], len[8];
    int rc = LLC_OK;
    for (int i = 0, n = head_ranges(im, l, h, off, len); i < n && !rc; i++) rc = add_off(g, off[i], len[i]);
    return rc;
}

/* FLOPs of one forward+backward on bt (llc_model.flops): every product
 * 2mnk, the backward twice the forward but for the input gradient of the
 * first layer; the work done only: the unembedding at the scored rows, and
 * the top layer's Q (q_at_rows), attention, O and MLP at the scored rows
 * when loss_grad runs it there (top_at_rows). */
static double tf_flops(const llc_model *m, const llc_batch *bt, int shape[3])
{
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    const int pooled = im->pool_layer >= 0, B = bt->B, Ti = bt->T;
    int *sel = malloc((size_t)(pooled ? B : B * Ti) * sizeof *sel);
    if (!sel) return NAN;
    const int M = scored_rows(pooled, bt, sel);
    const double T = Ti, N = B * T, d = c->d_model, hd = (double)c->n_heads * c->d_head, scored = M;
    double scored_pairs = 0; /* the key positions the scored rows see */
    for (int i = 0; i < M; i++) scored_pairs += c->causal ? scored_pos(pooled, sel[i], Ti) % Ti + 1 : T;
    const int top = top_at_rows(im, M, B * Ti);
    double fwd = 0, first = 0;
    if (c->d_input > 0) first = 2 * N * c->d_input * d;
    fwd += first;
    for (int l = 0; l < c->n_layers; l++) {
        const int at_rows = top && l == c->n_layers - 1;
        const double rows = at_rows ? scored : N;
        /* Q, K, V; the top layer's Q only at the scored rows (q_at_rows) */
        fwd += 2 * N * d * 2 * hd + 2 * (q_at_rows(im, at_rows ? sel : NULL) ? rows : N) * d * hd;
        double pairs = at_rows ? scored_pairs : B * (c->causal ? T * (T + 1) / 2 : T * T);
        fwd += 2 * 2 * (double)c->n_heads * pairs * c->d_head; /* QK^T and AV */
        fwd += 2 * rows * hd * d;                              /* O */
        if (c->d_mlp > 0) fwd += 2 * 2 * rows * d * c->d_mlp;
    }
    free(sel);
    fwd += 2 * scored * d * c->n_out; /* unembedding */
    shape[0] = (int)N;
    shape[1] = (int)(3 * hd);
    shape[2] = (int)d;
    return 3 * fwd - first; /* no gradient for the data */
}

static const char group_help[] =
    "model, L.H (a head), L or 'layer L', 'attn L', 'mlp L', embed, pos, unembed, norm, or a tensor name";

static int tf_group(const llc_model *m, const char *name, llc_group *g, char *err)
{
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    const int L = c->n_layers, NH = c->n_heads;
    int rc = LLC_OK, l, h;
    char lr[32], hr[32];
    g->n = 0;
    g->size = 0;
    memset(g->name, 0, sizeof g->name);
    strncpy(g->name, name, LLC_NAMELEN - 1);
    if (strcmp(name, "model") == 0) {
        rc = llc_group_add(g, 0, m->table.n_params);
    } else if (parse_head(name, &l, &h)) {
        if (l >= L || h >= NH)
            return llc_fail(err, LLC_ERR_NOTFOUND, "head %s does not exist: model has %s and %s", name,
                            range_text(lr, sizeof lr, "layer", L), range_text(hr, sizeof hr, "head", NH));
        rc = group_head(im, g, l, h);
    } else if (parse_index(name, &l) || (strncmp(name, "layer ", 6) == 0 && parse_index(name + 6, &l))) {
        if (l >= L)
            return llc_fail(err, LLC_ERR_NOTFOUND, "layer %d does not exist: model has %s", l,
                            range_text(lr, sizeof lr, "layer", L));
        rc = group_layer(m, g, l, "");
    } else if (strncmp(name, "mlp ", 4) == 0 && parse_index(name + 4, &l)) {
        if (c->d_mlp == 0)
            return llc_fail(err, LLC_ERR_NOTFOUND, "'%s' does not exist: the model is attention-only (d_mlp = 0)",
                            name);
        if (l >= L)
            return llc_fail(err, LLC_ERR_NOTFOUND, "'%s' does not exist: model has %s", name,
                            range_text(lr, sizeof lr, "layer", L));
        rc = group_layer(m, g, l, "mlp.");
    } else if (strncmp(name, "attn ", 5) == 0 && parse_index(name + 5, &l)) {
        if (l >= L)
            return llc_fail(err, LLC_ERR_NOTFOUND, "'%s' does not exist: model has %s", name,
                            range_text(lr, sizeof lr, "layer", L));
        rc = group_layer(m, g, l, "attn.");
    } else if (strcmp(name, "embed") == 0) {
        rc = add_named(m, g, "embed");
        if (!rc) rc = add_named(m, g, "in.w");
        if (!rc) rc = add_named(m, g, "in.b");
    } else if (strcmp(name, "pos") == 0) {
        if (im->pos == NONE)
            return llc_fail(err, LLC_ERR_NOTFOUND, "group 'pos' does not exist: positions are '%s', not learned",
                            pos_label[c->pos]);
        rc = add_named(m, g, "pos");
    } else if (strcmp(name, "unembed") == 0) {
        if (c->tied)
            return llc_fail(err, LLC_ERR_NOTFOUND,
                            "group 'unembed' does not exist: the unembedding is tied to embed; use 'embed'%s",
                            c->unembed_bias ? " (or the tensor 'unembed.b')" : "");
        rc = add_named(m, g, "unembed");
        if (!rc) rc = add_named(m, g, "unembed.b");
    } else if (strcmp(name, "norm") == 0 || strcmp(name, "lnf") == 0) {
        if (im->lnf_g == NONE && im->lnf_b == NONE)
            return llc_fail(err, LLC_ERR_NOTFOUND, "group '%s' does not exist: the model has no final norm parameters",
                            name);
        rc = add_named(m, g, "lnf.g");
        if (!rc) rc = add_named(m, g, "lnf.b");
    } else {
        const llc_tensor *t = llc_ptable_find(&m->table, name);
        if (!t) return llc_fail(err, LLC_ERR_NOTFOUND, "unknown group '%s': use %s", name, group_help);
        rc = llc_group_add(g, t->offset, t->size);
    }
    if (rc) return llc_fail(err, rc, "group '%s': out of memory", name);
    llc_group_normalize(g);
    if (g->size == 0)
        return llc_fail(err, LLC_ERR_NOTFOUND, "group '%s' has no parameters in this model", name);
    return LLC_OK;
}

/* ---------------- intermediates for plots ---------------- */

int llc_transformer_pooled_acts(const llc_model *m, void *wsp, const float *w, const llc_batch *b, float *normed,
                                float *pooled, float *out)
{
    if (!m || strcmp(m->kind, "transformer") != 0) return LLC_ERR_INVALID;
    const tf_impl *im = m->impl;
    if (im->pool_layer < 0) return LLC_ERR_INVALID;
    double loss;
    int rc = tf_loss_grad(m, wsp, w, b, NULL, &loss);
    if (rc) return rc;
    const tf_ws *ws = wsp;
    const tf_lbuf *lb = &ws->l[im->pool_layer];
    const size_t C = (size_t)im->c.d_model, B = (size_t)b->B, N = B * (size_t)b->T;
    if (normed) memcpy(normed, lb->ln1, N * C * sizeof(float));
    if (pooled) memcpy(pooled, lb->mid, B * C * sizeof(float));
    if (out) memcpy(out, lb->out, B * C * sizeof(float));
    return LLC_OK;
}

int llc_transformer_unembed_scores(const llc_model *m, const float *w, const float *h, int n, double *scores)
{
    if (!m || !m->kind || strcmp(m->kind, "transformer") != 0 || !w || !h || !scores) return LLC_ERR_INVALID;
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    const int C = c->d_model;
    const llc_tensor *emb = llc_ptable_find(&m->table, "embed"), *un = llc_ptable_find(&m->table, "unembed");
    const llc_tensor *ub = llc_ptable_find(&m->table, "unembed.b");
    const llc_tensor *g = llc_ptable_find(&m->table, "lnf.g"), *bt = llc_ptable_find(&m->table, "lnf.b");
    const llc_tensor *wt = c->tied ? emb : un;
    if (!wt || C > 64) return LLC_ERR_INVALID;
    for (int i = 0; i < n; i++) {
        float x[64];
        memcpy(x, h + (size_t)i * C, (size_t)C * sizeof *x);
        if (c->final_norm && c->norm != LLC_NORM_NONE) {
            float sum = 0.0f;
            double mean = 0, var = 0;
            for (int k = 0; k < C; k++) sum += x[k];
            if (c->norm == LLC_NORM_LAYER) mean = sum / (double)C;
            for (int k = 0; k < C; k++) var += (x[k] - mean) * (x[k] - mean) / (double)C;
            double r = 1.0 / sqrt(var + LLC_NORM_EPS);
            for (int k = 0; k < C; k++) {
                double v = (x[k] - mean) * r;
                if (g) v *= w[g->offset + (size_t)k];
                if (bt) v += w[bt->offset + (size_t)k];
                x[k] = (float)v;
            }
        }
        const float *wu = w + wt->offset;
        for (int v = 0; v < c->n_out; v++) {
            double s = 0.0;
            for (int k = 0; k < C; k++) s += (double)wu[(size_t)v * C + k] * x[k];
            if (ub) s += w[ub->offset + (size_t)v];
            scores[(size_t)i * c->n_out + v] = s;
        }
    }
    return LLC_OK;
}

/* ---------------- patterns and head outputs for probes ---------------- */

/* Row t of head h's pattern in sequence b of layer lb into a (T): the
 * clamped row, or softmax_s(q_t · k_s / sqrt(HS)) over the keys the query
 * sees, in double. */
static void pattern_row(const tf_impl *im, const llc_head_clamp *cl, const float *qkv, int b, int T, int h, int t,
                        float *a)
{
    const llc_tf_config *c = &im->c;
    const int HS = c->d_head, D = c->n_heads * HS, D3 = 3 * D;
    const int len = c->causal ? t + 1 : T;
    if (cl && (cl->kind == LLC_HEAD_PATTERN || cl->kind == LLC_HEAD_PREV)) {
        if (cl->kind == LLC_HEAD_PATTERN) {
            memcpy(a, cl->pattern + (size_t)t * cl->ld, (size_t)T * sizeof *a);
        } else {
            memset(a, 0, (size_t)T * sizeof *a);
            a[t > 0 ? t - 1 : 0] = 1.0f;
        }
        return;
    }
    const float *q = qkv + ((size_t)b * T + t) * D3 + (size_t)h * HS;
    double mx = -INFINITY, sum = 0.0;
    const double scale = 1.0 / sqrt((double)HS);
    for (int s = 0; s < len; s++) {
        const float *k = qkv + ((size_t)b * T + s) * D3 + D + (size_t)h * HS;
        double d = 0.0;
        for (int i = 0; i < HS; i++) d += (double)q[i] * k[i];
        d *= scale;
        a[s] = (float)d;
        if (d > mx) mx = d;
    }
    for (int s = 0; s < len; s++) sum += exp((double)a[s] - mx);
    for (int s = 0; s < len; s++) a[s] = (float)(exp((double)a[s] - mx) / sum);
    for (int s = len; s < T; s++) a[s] = 0.0f;
}

int llc_transformer_patterns(const llc_model *m, void *wsp, const float *w, const llc_batch *b, float *att, float *z)
{
    if (!m || !m->kind || strcmp(m->kind, "transformer") != 0 || !wsp || !w || !b) return LLC_ERR_INVALID;
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    tf_ws *ws = wsp;
    const int B = b->B, T = b->T, L = c->n_layers, NH = c->n_heads, D = NH * c->d_head;
    if (im->pool_layer >= 0 || B < 1 || B > ws->max_B || T < 1 || T > c->n_ctx) return LLC_ERR_INVALID;
    int n_cont = 0;
    if (inputs_check(im, b, &n_cont)) return LLC_ERR_INVALID;
    ws->tokens = b->tokens;
    inputs_forward(im, ws, w, b, n_cont);
    for (int l = 0; l < L; l++) layer_forward(im, l, ws, w, B, T, NULL, 0);
    const size_t N = (size_t)B * T, TT = (size_t)T * T;
    for (int l = 0; l < L; l++) {
        const tf_lbuf *lb = &ws->l[l];
        const llc_head_clamp *cl = im->layer_clamped[l] ? im->clamp + (size_t)l * NH : NULL;
        if (z) memcpy(z + (size_t)l * N * D, lb->atty, N * D * sizeof *z);
        if (!att) continue;
        if (im->layer_special[l]) { /* the clamped attention keeps every pattern, row stride T */
            for (int bi = 0; bi < B; bi++)
                for (int h = 0; h < NH; h++)
                    memcpy(att + (((size_t)bi * L + l) * NH + h) * TT, lb->att + ((size_t)bi * NH + h) * TT,
                           TT * sizeof *att);
            continue;
        }
        for (int bi = 0; bi < B; bi++)
            for (int h = 0; h < NH; h++) {
                float *a = att + (((size_t)bi * L + l) * NH + h) * TT;
                for (int t = 0; t < T; t++) pattern_row(im, cl ? cl + h : NULL, lb->qkv, bi, T, h, t, a + (size_t)t * T);
            }
    }
    return LLC_OK;
}

/* ---------------- output logits ---------------- */

int llc_transformer_logits(const llc_model *m, void *wsp, const float *w, const llc_batch *b, float *logits)
{
    if (!m || !m->kind || strcmp(m->kind, "transformer") != 0 || !wsp || !w || !b || !logits) return LLC_ERR_INVALID;
    const tf_impl *im = m->impl;
    const llc_tf_config *c = &im->c;
    tf_ws *ws = wsp;
    const int B = b->B, T = b->T, L = c->n_layers, C = c->d_model, V = c->n_out;
    if (im->pool_layer >= 0 || B < 1 || B > ws->max_B || T < 1 || T > c->n_ctx) return LLC_ERR_INVALID;
    int n_cont = 0;
    if (inputs_check(im, b, &n_cont)) return LLC_ERR_INVALID;
    inputs_forward(im, ws, w, b, n_cont);
    for (int l = 0; l < L; l++) layer_forward(im, l, ws, w, B, T, NULL, 0);
    const int N = B * T;
    const float *fin = ws->l[L - 1].out;
    if (c->final_norm) {
        norm_forward(im, ws->fin, ws->fmean, ws->frstd, fin, w, im->lnf_g, im->lnf_b, N);
        fin = ws->fin;
    }
    const float *wu = c->tied ? w + im->embed : w + im->unembed;
    llc_linear_forward(logits, fin, wu, opt(w, im->unembed_b), N, C, V);
    return LLC_OK;
}

/* ---------------- the output distribution at the scored rows ---------------- */

int llc_transformer_scored(const llc_model *m, void *wsp, const float *w, const llc_batch *b, double *loss,
                           float *probs, int *targets, float *weights, int *n_rows)
{
    if (!m || !m->kind || strcmp(m->kind, "transformer") != 0 || !wsp) return LLC_ERR_INVALID;
    const tf_impl *im = m->impl;
    tf_ws *ws = wsp;
    int rc = tf_loss_grad(m, wsp, w, b, NULL, loss);
    if (rc) return rc;
    const int M = ws->M, V = im->c.n_out;
    memcpy(probs, ws->probs, (size_t)M * V * sizeof *probs);
    memcpy(targets, ws->tsel, (size_t)M * sizeof *targets);
    memcpy(weights, ws->msel, (size_t)M * sizeof *weights);
    *n_rows = M;
    return LLC_OK;
}
