/* llc_model.h - the model interface: a flat float32 parameter vector described
 * by a table of named tensors, named parameter groups resolving to index
 * ranges, and loss+gradient. SGLD, the optimisers, the checkpoint BLOB and the
 * group masks all see the same vector.
 *
 * BLAS convention (stated once): row-major everywhere. A linear layer's weight
 * is stored (OC, IC) "out-major" and applied as out = in · Wᵀ
 * (cblas_sgemm(RowMajor, NoTrans, Trans, ...)), as in llm.c, unless a tensor's
 * comment in transformer.c says otherwise.
 */
#ifndef LLC_MODEL_H
#define LLC_MODEL_H

#include "llc_common.h"

#define LLC_NAMELEN 48
#define LLC_MAXDIM 4

/* One named tensor inside the flat vector. */
typedef struct {
    char name[LLC_NAMELEN];
    int ndim;
    int shape[LLC_MAXDIM];
    size_t offset; /* index of its first element in the flat vector */
    size_t size;   /* number of elements */
} llc_tensor;

typedef struct {
    llc_tensor *t;
    int n, cap;
    size_t n_params;
} llc_ptable;

/* Append a tensor of the given shape at the current end; returns its index
 * or -1 on OOM. */
int llc_ptable_add(llc_ptable *pt, const char *name, int ndim, const int *shape);
const llc_tensor *llc_ptable_find(const llc_ptable *pt, const char *name);
void llc_ptable_clear(llc_ptable *pt);

/* A contiguous index range [off, off+len) of the flat vector. */
typedef struct {
    size_t off, len;
} llc_range;

/* A parameter group: a sorted, non-overlapping, merged list of ranges.
 * Owned by the caller; free with llc_group_free. */
typedef struct {
    char name[LLC_NAMELEN];
    llc_range *r;
    int n, cap;
    size_t size; /* total elements */
} llc_group;

int llc_group_add(llc_group *g, size_t off, size_t len); /* merges & sorts lazily */
void llc_group_normalize(llc_group *g);                 /* sort + merge */
void llc_group_free(llc_group *g);
/* Byte mask helper: m[i] = 1 for i in the group (m has n_params bytes). */
void llc_group_to_mask(const llc_group *g, unsigned char *m, size_t n_params);

typedef struct llc_model llc_model;

/* The model interface. `impl` is the implementation's private data (immutable
 * after creation, so one model can be shared by many threads); each thread
 * owns a workspace from ws_alloc, sized for batches of up to max_B sequences. */
struct llc_model {
    const char *kind; /* "transformer", "dln", "linreg", "poly" */
    llc_ptable table;
    void *impl;
    /* Initialise parameters w (n_params) from the rng. */
    int (*init)(const llc_model *m, float *w, gsl_rng *rng);
    void *(*ws_alloc)(const llc_model *m, int max_B);
    void (*ws_free)(void *ws);
    /* Mean loss of the batch at w into *loss (double accumulation). If grad
     * is not NULL it is OVERWRITTEN with dLoss/dw (n_params floats). Returns
     * LLC_OK, or LLC_ERR_INVALID for a batch the model cannot take. */
    int (*loss_grad)(const llc_model *m, void *ws, const float *w,
                     const llc_batch *b, float *grad, double *loss);
    /* Resolve a group name ("1.3", "0", "embed", "mlp 0", "model", a tensor
     * name, ...) into g. LLC_ERR_NOTFOUND with a message in err naming what
     * would be valid. */
    int (*group)(const llc_model *m, const char *name, llc_group *g, char *err);
    /* Optional (may be NULL): tell workspace ws that from now on only the
     * gradient entries inside group g (normalized; NULL = all, the default)
     * are read. loss_grad may then skip work no entry of g depends on
     * (weight gradients of frozen tensors, the backward pass below the
     * lowest layer g touches); the entries outside g are unspecified (zero
     * or partial). The loss and g's entries stay bit-identical. g is copied
     * into ws's own flags, not kept. */
    void (*ws_need)(const llc_model *m, void *ws, const llc_group *g);
    /* Optional (all three NULL or all set): "bases". The steps of a
     * weight-refined chain move only the group's weights; everything else
     * stays at w0 (= w*), so a pass at w0 on the same batch can stand in for
     * the frozen part of the model. A chain that computes that pass anyway
     * (the paired L_b(w*)) lets every target share it.
     * base_size: the bytes of a record for batches of up to max_B.
     * base_forward: *loss = the loss at w0 of batch b, bit-identical to
     * loss_grad(m, ws, w0, b, NULL, loss); with rec (base_size bytes) not
     * NULL it also writes the record of the pass there and its length into
     * *bytes. A record holds no pointer: it may be copied by its first
     * *bytes bytes and kept after w0's buffer is gone.
     * ws_base: from now on loss_grad in ws reads rec (NULL: none), a record
     * made at parameters equal to w0 (any live buffer holding them; read for
     * the group's own base values). The caller promises every such call uses
     * rec's batch and a w equal to w0 outside the group given to ws_need.
     * Returns 1 if that group
     * makes use of records (rec NULL: whether it would), else 0 and the
     * record is ignored. The loss and the group's gradient then differ from
     * the pass without a record by rounding only. */
    size_t (*base_size)(const llc_model *m, int max_B);
    int (*base_forward)(const llc_model *m, void *ws, const float *w0, const llc_batch *b, void *rec,
                        size_t *bytes, double *loss);
    int (*ws_base)(const llc_model *m, void *ws, const void *rec, const float *w0);
    /* Optional (may be NULL): the FLOPs of one forward+backward on batch b,
     * counted from the shapes as the work is done (each product 2mnk), and
     * the shape (m, n, k) of its largest product into shape. */
    double (*flops)(const llc_model *m, const llc_batch *b, int shape[3]);
    void (*free_impl)(void *impl);
};

static inline size_t llc_model_n_params(const llc_model *m) { return m->table.n_params; }
void llc_model_free(llc_model *m); /* calls free_impl, clears table, frees m */

/* ---------------- the transformer ---------------- */

typedef enum {
    LLC_POS_NONE = 0,
    LLC_POS_LEARNED,     /* learned absolute, added to the residual stream */
    LLC_POS_SHORTFORMER, /* learned, added only to the inputs of Q and K */
    LLC_POS_ROPE         /* rotary on Q and K */
} llc_pos_kind;

typedef enum {
    LLC_NORM_NONE = 0,
    LLC_NORM_LAYER,     /* LayerNorm with gain and bias */
    LLC_NORM_RMS,       /* RMSNorm with gain */
    LLC_NORM_RMS_NOGAIN /* RMSNorm without gain */
} llc_norm_kind;

/* Activation clamps ("artificial optogenetics" of Singh et al. 2024): applied on
 * every forward pass, training included. */
typedef enum {
    LLC_CLAMP_PATTERN_PREV = 1, /* attention of (layer, head) := exact previous token (t attends t-1; t=0 attends 0) */
    LLC_CLAMP_PATTERN_GIVEN,    /* attention := `pattern` (T x T row-stochastic, row t = query t) */
    LLC_CLAMP_ZERO_VALUES,      /* the head's values := 0 */
    LLC_CLAMP_ZERO_OUTPUT,      /* the head's output (before W_O) := 0 */
    LLC_CLAMP_MEAN_OUTPUT,      /* the head's output (before W_O) := `mean` at every position
                                 * (NULL: zeros), written over the computed output: the
                                 * attention kernels run as without the clamp, so every other
                                 * number is that of the unclamped model to the bit (ablations);
                                 * no gradient reaches the head's Q, K, V */
    LLC_CLAMP_INDUCTION,        /* attention := the perfect induction pattern: t attends j+1 for the
                                 * last j < t with token[j] = token[t]; where there is none, 0 */
    LLC_CLAMP_COPY,             /* attention := that of head (from_layer, from_head) in the same
                                 * pass (after its own clamps; gradients reach that head's Q, K):
                                 * another head of the same layer, or any head of an earlier one */
    LLC_CLAMP_NO_PREV,          /* the head may not attend t -> t-1 (t >= 1): that score is masked
                                 * before the softmax */
    LLC_CLAMP_TEMPERATURE       /* the head's scores are divided by `temperature` before the softmax */
} llc_clamp_kind;

typedef struct {
    llc_clamp_kind kind;
    int layer, head;
    float *pattern;    /* (T, T) for PATTERN_GIVEN, owned by the config; else NULL */
    float *mean;       /* (d_head) for MEAN_OUTPUT, owned by the config, copied by the model; NULL = zeros */
    float own;         /* pattern clamps (PREV, GIVEN, INDUCTION, COPY): 1 - strength, the weight of the
                        * head's own softmax pattern: att = (1 - own)·clamped + own·softmax; 0 = the
                        * clamped pattern alone */
    float temperature; /* TEMPERATURE: > 0 */
    int from_layer;    /* COPY: the source head's layer, <= layer (set it: 0 is layer 0) */
    int from_head;     /* COPY: the source head; in the same layer another head, not itself a copy */
} llc_clamp;

#define LLC_MAX_CLAMPS 64

typedef struct {
    int n_layers, n_heads, d_model, d_head;
    int vocab;    /* token vocabulary (0 = no token embedding) */
    int d_input;  /* continuous input width (0 = none): linear embedding W_in (d_model, d_input) + bias */
    int n_ctx;    /* context length T (max) */
    int n_out;    /* output classes; with tied = 1 it must equal vocab */
    llc_pos_kind pos;
    llc_norm_kind norm; /* used for every pre-norm and the final norm */
    int final_norm;     /* 1: norm before the unembedding */
    int d_mlp;          /* 0 = attention-only, else an MLP (GELU) per layer */
    int causal;         /* 1 causal mask, 0 full attention */
    int pooled;         /* 1: the clustering-head model (see transformer.c) */
    int tied;           /* 1: unembedding = token embedding transposed */
    int attn_bias;      /* biases on Q, K, V and O projections */
    int unembed_bias;   /* bias on the unembedding */
    float init_std;     /* std of weight init (0 = 1/sqrt(fan_in)) */
    int n_clamps;
    llc_clamp clamps[LLC_MAX_CLAMPS];
} llc_tf_config;

/* Defaults: 1 layer, 4 heads, d_model 64, d_head 16, learned positions,
 * LayerNorm, final norm, attention-only, causal, untied, biases on. */
void llc_tf_config_default(llc_tf_config *c);
/* Validate (message names the bad field) and build. The model copies c. */
int llc_transformer_new(const llc_tf_config *c, llc_model **out, char *err);
const llc_tf_config *llc_transformer_config(const llc_model *m);

/* Intermediates of the pooled clustering-head model for plots (Odonnat et
 * al. 2024, the "visual sandbox"; used by `llc plot --kind embed`). Runs the forward
 * pass of batch b at parameters w in workspace ws (from m->ws_alloc) and
 * copies into each non-NULL output (caller-owned):
 *   normed (B*T, C)  the pooling layer's normalised inputs (its keys' input)
 *   pooled (B, C)    the pooled sequence embeddings: attention output after W_O
 *   out    (B, C)    the final per-sequence vector (pooled + MLP), before the
 *                    final norm and the unembedding
 * LLC_ERR_INVALID if m is not a pooled transformer or b does not fit it. */
int llc_transformer_pooled_acts(const llc_model *m, void *ws, const float *w, const llc_batch *b, float *normed,
                                float *pooled, float *out);
/* Class scores of n final per-sequence vectors h (n, C) (pooled_acts' out,
 * or any point of that plane) at parameters w: the final norm (if any)
 * and the unembedding with its bias, in double, into scores (n, n_out).
 * LLC_ERR_INVALID if m is not a transformer. */
int llc_transformer_unembed_scores(const llc_model *m, const float *w, const float *h, int n, double *scores);

/* Every head's attention pattern and output, for probes. Runs the forward
 * pass of batch b at w in workspace ws (from m->ws_alloc; b needs tokens
 * and/or x only, targets and mask are not read) at every position and
 * copies into each non-NULL output (caller-owned):
 *   att (B, L, NH, T, T)  att[b][l][h][t][s] = attention of query t to key s
 *                         (zeros above the diagonal of a causal model; a
 *                         clamped pattern as clamped; recomputed in double
 *                         from the layer's Q and K, so it matches the
 *                         kernels' probabilities up to rounding)
 *   z   (L, B*T, NH*HS)   each layer's head outputs before W_O (after clamps)
 * LLC_ERR_INVALID if m is a pooled transformer or b does not fit it. */
int llc_transformer_patterns(const llc_model *m, void *ws, const float *w, const llc_batch *b, float *att, float *z);

/* The output logits at every position: the forward pass of batch b at w in
 * workspace ws (tokens and/or x read; targets and mask not) into logits
 * (B*T, n_out), caller-owned, before any softmax. The same arithmetic as
 * loss_grad's forward pass, which it leaves untouched. LLC_ERR_INVALID if m
 * is a pooled transformer or b does not fit it. */
int llc_transformer_logits(const llc_model *m, void *ws, const float *w, const llc_batch *b, float *logits);

/* The model's output distribution at the scored rows of batch b (rows with
 * a nonzero mask; a pooled model: each sequence's last position), from one
 * forward pass at w in workspace ws, exactly as loss_grad computes it: *loss
 * as loss_grad's, and into caller-owned arrays of up to B*T rows:
 *   probs   (rows, n_out) the softmax of the logits
 *   targets (rows), weights (rows) their targets and mask weights
 * *n_rows = the number of scored rows. LLC_ERR_INVALID as loss_grad. */
int llc_transformer_scored(const llc_model *m, void *ws, const float *w, const llc_batch *b, double *loss,
                           float *probs, int *targets, float *weights, int *n_rows);

#endif
