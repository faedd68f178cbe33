/* llc_kernels.h - the transformer's numerical kernels as forward/backward
 * pairs (llm.c style), on cblas where a matrix product is involved.
 *
 * Conventions:
 *  - row-major; a "row" is one position; N = number of rows (B*T).
 *  - arguments: outputs first, then inputs, then sizes; every buffer has its
 *    shape in a comment.
 *  - backward functions ACCUMULATE (+=) into every gradient buffer, so the
 *    caller zeroes each gradient exactly once; a gradient argument may be NULL
 *    when it is not needed (that part of the work is then skipped).
 *    Exception: RoPE, a parameter-free rotation, works in place both ways.
 *  - float32 buffers; sums that decide a loss are accumulated in double.
 *  - no allocation: scratch buffers are arguments.
 * The naive double-precision versions used as references live in
 * tests/unit/test_kernels.c.
 */
#ifndef LLC_KERNELS_H
#define LLC_KERNELS_H

#include <stddef.h>

/* Epsilon of every LayerNorm/RMSNorm in llc (as torch.nn.LayerNorm's default). */
#define LLC_NORM_EPS 1e-5f
/* RoPE frequency base. */
#define LLC_ROPE_BASE 10000.0f

/* y[0..n) += x[0..n) (residual connections). */
void llc_add(float *y, const float *x, size_t n);
/* x[r*ld + j] = 0 for r < rows, j < cols (no call per row). */
void llc_zero_cols(float *x, size_t ld, int rows, int cols);
/* Row i of dst (n floats, rows ldd apart) = row sel[i] of src (lds apart;
 * row i when sel is NULL; lds 0 repeats one row), i < M. Runs of
 * consecutive rows of contiguous matrices go in one memcpy, other rows in
 * an inline vector copy (no call per row). */
void llc_gather_rows(float *dst, size_t ldd, const float *src, size_t lds, const int *sel, int M, int n);
/* Row sel[i] of dst = row i of src, i < M (the inverse of llc_gather_rows; sel not NULL). */
void llc_scatter_rows(float *dst, size_t ldd, const float *src, size_t lds, const int *sel, int M, int n);
/* xt (cols, rows) = x (rows, cols), row strides ldx and ldt. */
void llc_transpose(float *xt, int ldt, const float *x, int ldx, int rows, int cols);

/* A small product on register blocks of 4 rows x 16 columns, no packing:
 * C (M, N) = A (M, K) · B (K, N) (acc 0), C += (acc 1) or C -= (acc -1),
 * row strides ldc, lda, ldb. For a single head's products, where N or K is
 * the head size: there OpenBLAS's sgemm spends more on packing and calls
 * than on the product; from about 64 on every side OpenBLAS is as fast or
 * faster, and for Aᵀ · B with a long sum (a weight gradient) faster. */
void llc_gemm_nn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, int acc);

/* ---- linear ----
 * Out-major weight (OC, IC), as nn.Linear: out = in · Wᵀ + b. b may be NULL. */
void llc_linear_forward(float *out,      /* (N, OC) */
                        const float *in, /* (N, IC) */
                        const float *w,  /* (OC, IC) */
                        const float *b,  /* (OC) or NULL */
                        int N, int IC, int OC);
void llc_linear_backward(float *din,       /* (N, IC) or NULL */
                         float *dw,        /* (OC, IC) or NULL */
                         float *db,        /* (OC) or NULL */
                         const float *dout, /* (N, OC) */
                         const float *in,  /* (N, IC) */
                         const float *w,   /* (OC, IC) */
                         int N, int IC, int OC);
/* The same with out / dout rows ld floats apart (ld >= OC): the OC columns
 * of a wider matrix, e.g. the K and V blocks of a fused Q,K,V output. */
void llc_linear_ld_forward(float *out, int ld, const float *in, const float *w, const float *b, int N, int IC,
                           int OC);
void llc_linear_ld_backward(float *din, float *dw, float *db, const float *dout, int ld, const float *in,
                            const float *w, int N, int IC, int OC);
/* In-major weight (IC, OC): out = in · W + b, so the rows of W that one
 * input slice (e.g. one attention head) touches are contiguous. */
void llc_linear_im_forward(float *out,      /* (N, OC) */
                           const float *in, /* (N, IC) */
                           const float *w,  /* (IC, OC) */
                           const float *b,  /* (OC) or NULL */
                           int N, int IC, int OC);
void llc_linear_im_backward(float *din,        /* (N, IC) or NULL */
                            float *dw,         /* (IC, OC) or NULL */
                            float *db,         /* (OC) or NULL */
                            const float *dout, /* (N, OC) */
                            const float *in,   /* (N, IC) */
                            const float *w,    /* (IC, OC) */
                            int N, int IC, int OC);

/* ---- embedding lookup ----
 * out[n] = table[tok[n]] for tok[n] >= 0; rows with tok[n] < 0 are left as
 * they are (continuous inputs write them). tok[n] < V is the caller's check. */
void llc_embedding_forward(float *out,        /* (N, C) */
                           const int *tok,    /* (N) */
                           const float *table, /* (V, C) */
                           int N, int C);
void llc_embedding_backward(float *dtable,    /* (V, C) */
                            const float *dout, /* (N, C) */
                            const int *tok,   /* (N) */
                            int N, int C);

/* ---- LayerNorm: out = (x - mean) * rstd * g + b ---- */
void llc_layernorm_forward(float *out,      /* (N, C) */
                           float *mean,     /* (N) cache */
                           float *rstd,     /* (N) cache */
                           const float *in, /* (N, C) */
                           const float *g,  /* (C) */
                           const float *b,  /* (C) */
                           int N, int C, float eps);
void llc_layernorm_backward(float *din,        /* (N, C) or NULL */
                            float *dg,         /* (C) or NULL */
                            float *db,         /* (C) or NULL */
                            const float *dout, /* (N, C) */
                            const float *in,   /* (N, C) */
                            const float *g,    /* (C) */
                            const float *mean, /* (N) */
                            const float *rstd, /* (N) */
                            int N, int C);

/* ---- RMSNorm: out = x * rstd * g, rstd = 1/sqrt(mean(x²) + eps); g NULL = no gain ---- */
void llc_rmsnorm_forward(float *out,      /* (N, C) */
                         float *rstd,     /* (N) cache */
                         const float *in, /* (N, C) */
                         const float *g,  /* (C) or NULL */
                         int N, int C, float eps);
void llc_rmsnorm_backward(float *din,        /* (N, C) or NULL */
                          float *dg,         /* (C) or NULL (ignored when g is NULL) */
                          const float *dout, /* (N, C) */
                          const float *in,   /* (N, C) */
                          const float *g,    /* (C) or NULL */
                          const float *rstd, /* (N) */
                          int N, int C);

/* ---- GELU, tanh approximation (torch approximate='tanh') ---- */
void llc_gelu_forward(float *out,      /* (n) */
                      const float *in, /* (n) */
                      size_t n);
void llc_gelu_backward(float *din,        /* (n) */
                       const float *dout, /* (n) */
                       const float *in,   /* (n) */
                       size_t n);

/* ---- RoPE ----
 * Rotary embedding in the "rotate half" convention (GPT-NeoX, HF Llama): in
 * each head, element i pairs with i + HS/2 (i < HS/2) and the pair at
 * position t is rotated by the angle t * base^(-2i/HS). HS must be even.
 * x holds N = B*T rows of row stride ld; each row starts with NH heads of HS
 * elements (e.g. the Q block of a qkv row); the position of row n is n % T.
 * Forward rotates x in place (x := R x); backward rotates a gradient in place
 * by the inverse (dx := Rᵀ dx), which is the exact backward of the map. */
void llc_rope_table(float *cs, /* (T, 2, HS/2): per position the HS/2 cos, then the HS/2 sin */
                    int T, int HS, float base);
void llc_rope_forward(float *x,        /* (N, ld) */
                      const float *cs, /* (>=T, 2, HS/2) */
                      int N, int T, int NH, int HS, int ld);
void llc_rope_backward(float *dx,       /* (N, ld) */
                       const float *cs, /* (>=T, 2, HS/2) */
                       int N, int T, int NH, int HS, int ld);
/* The same on M rows that sit at positions rows[i] % T (compact rows, e.g.
 * the queries of the scored rows only). */
void llc_rope_rows_forward(float *x, const float *cs, const int *rows, int M, int T, int NH, int HS, int ld);
void llc_rope_rows_backward(float *dx, const float *cs, const int *rows, int M, int T, int NH, int HS, int ld);

/* ---- multi-head attention ----
 * qkv rows hold [Q of heads 0..NH-1 | K of heads | V of heads], D = NH*HS,
 * each head's HS elements contiguous. Scores q·k/sqrt(HS), softmax fused with
 * the causal mask (causal = 1: t attends s <= t). out is the concatenation of
 * the heads' outputs.
 * A head may be clamped (llc_model.h, llc_clamp_kind): its pattern replaced by a constant
 * (no gradient reaches its Q and K; V still learns), or its values / output
 * zeroed (the head outputs 0 and passes no gradient to Q, K, V; for softmax
 * attention the two are the same map). */
typedef enum {
    LLC_HEAD_FREE = 0,
    LLC_HEAD_PATTERN,     /* att[t, s] = pattern[t*ld + s] (top-left T x T block) */
    LLC_HEAD_PREV,        /* att[t, max(t-1, 0)] = 1 */
    LLC_HEAD_ZERO_VALUES, /* v := 0 */
    LLC_HEAD_ZERO_OUTPUT, /* head output := 0 */
    LLC_HEAD_SKIP         /* not computed: the head's out columns and att rows are left as
                           * they were (for callers that read only the other heads), no
                           * gradient to its Q, K, V */
} llc_head_clamp_kind;

typedef struct {
    llc_head_clamp_kind kind;
    const float *pattern; /* (>=T, ld) row-stochastic, PATTERN only */
    int ld;
} llc_head_clamp;

/* A head of a layer that runs the clamped attention (attention_clamped.c):
 * how its pattern is formed. */
typedef enum {
    LLC_SPEC_NONE = 0, /* its own softmax */
    LLC_SPEC_PREV,     /* t attends max(t-1, 0) */
    LLC_SPEC_GIVEN,    /* pattern[t*ld + s] */
    LLC_SPEC_INDUCTION, /* t attends j+1 for the last j < t with tokens[j] = tokens[t], else 0 */
    LLC_SPEC_COPY      /* the pattern of head src: of the same layer (not itself a copy), or of an
                        * earlier layer's patterns src_att */
} llc_head_spec_kind;

typedef struct {
    llc_head_spec_kind fixed;
    const float *pattern; /* GIVEN: (>= T, ld) row-stochastic */
    int ld, src;          /* GIVEN: row stride; COPY: the source head */
    const float *src_att; /* COPY from an earlier layer: that layer's att (B, NH, T, T); NULL: this layer */
    float *src_datt;      /* with src_att, backward: (1 - own)·dA of the head is added to it (B, T, T) */
    const float *more_da; /* backward: (B, T, T) added to the head's dA (later layers' copies of it), or NULL */
    float own;            /* with fixed: weight of the own softmax, att = (1-own)·fixed + own·softmax */
    float inv_temp;       /* scores times this (1/temperature; 1 = none) */
    int no_prev;          /* 1: the score t -> t-1 (t >= 1) is masked */
    int zero;             /* 1: output 0, no gradient from the head's output */
} llc_head_spec;

/* Floats of scratch the clamped attention needs (both passes). */
size_t llc_attention_clamped_scratch_size(int NH, int T);
/* out (B, T, NH*HS); att (B, NH, T, T) row stride T: every head's pattern;
 * tokens (B, T) or NULL (then INDUCTION finds no earlier occurrence). */
void llc_attention_clamped_forward(float *out, float *att, float *scratch, const float *qkv, const int *tokens,
                                   const llc_head_spec *spec, int B, int T, int NH, int HS, int causal);
/* dqkv (B, T, 3*NH*HS) is stored, not added to. */
void llc_attention_clamped_backward(float *dqkv, float *scratch, const float *dout, const float *att,
                                    const float *qkv, const llc_head_spec *spec, int B, int T, int NH, int HS,
                                    int causal);

/* From this T on, attention runs the "tiled" kernels (per (b, h), the head
 * gathered into contiguous blocks); below it "lanes" or "small" (see
 * attention.c). */
#define LLC_ATTN_GEMM_MIN_T 32
/* Floats of scratch the attention kernels need at T positions of HS. */
size_t llc_attention_scratch_size(int T, int HS);
/* Floats of att for B sequences of T: (B, NH) blocks of T rows of T
 * probabilities, row stride T, or a little more from LLC_ATTN_GEMM_MIN_T on
 * (a padded stride keeps the backward's column reads in L1). */
size_t llc_attention_att_size(int B, int NH, int T);
void llc_attention_forward(float *out,       /* (B, T, NH*HS) */
                           float *att,       /* (llc_attention_att_size(B, NH, T)) probabilities, cache */
                           float *scratch,   /* (llc_attention_scratch_size(T, HS)) */
                           const float *qkv, /* (B, T, 3*NH*HS) */
                           const llc_head_clamp *clamp, /* (NH) or NULL */
                           int B, int T, int NH, int HS, int causal);
void llc_attention_backward(float *dqkv,        /* (B, T, 3*NH*HS) */
                            float *scratch,     /* (llc_attention_scratch_size(T, HS)) */
                            const float *dout,  /* (B, T, NH*HS) */
                            const float *att,   /* as llc_attention_forward left it */
                            const float *qkv,   /* (B, T, 3*NH*HS) */
                            const llc_head_clamp *clamp, /* (NH) or NULL */
                            int B, int T, int NH, int HS, int causal);

/* The same, but dqkv (B, T, 3*NH*HS) is overwritten instead of added to:
 * the tiled kernels (T >= LLC_ATTN_GEMM_MIN_T) then write each entry once,
 * with no zeroing pass and no read of the old values; at smaller T it zeroes
 * dqkv first. Same numbers as zeroing dqkv and calling the above. */
void llc_attention_backward_set(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                                const llc_head_clamp *clamp, int B, int T, int NH, int HS, int causal);

/* Attention evaluated only at M selected query rows (rows[i] = b*T + t,
 * strictly increasing), as the last layer needs when the loss reads only
 * some positions. Keys and values come from every row of qkv; out row i and
 * att row i are those of query rows[i] in llc_attention_forward (up to
 * rounding). The backward adds into dqkv: Q at the selected rows only, K and
 * V at every position a selected query sees. */
void llc_attention_rows_forward(float *out,       /* (M, NH*HS) */
                                float *att,       /* (M, NH, T) probabilities, cache */
                                float *scratch,   /* (llc_attention_scratch_size(T, HS)) */
                                const float *qkv, /* (B, T, 3*NH*HS) */
                                const int *rows,  /* (M) */
                                const llc_head_clamp *clamp, /* (NH) or NULL */
                                int M, int T, int NH, int HS, int causal);
void llc_attention_rows_backward(float *dqkv,        /* (B, T, 3*NH*HS) */
                                 float *scratch,     /* (llc_attention_scratch_size(T, HS)) */
                                 const float *dout,  /* (M, NH*HS) */
                                 const float *att,   /* (M, NH, T) */
                                 const float *qkv,   /* (B, T, 3*NH*HS) */
                                 const int *rows,    /* (M) */
                                 const llc_head_clamp *clamp, /* (NH) or NULL */
                                 int M, int T, int NH, int HS, int causal);

/* Pooling attention (the clustering-head model): each head has one learned
 * query vector; kv rows hold [K of heads | V of heads]; every sequence is
 * pooled to one vector over all T positions (no mask). Only the ZERO clamps
 * apply. */
void llc_attn_pool_forward(float *out,         /* (B, NH*HS) */
                           float *att,         /* (B, NH, T) probabilities, cache */
                           const float *query, /* (NH, HS) */
                           const float *kv,    /* (B, T, 2*NH*HS) */
                           const llc_head_clamp *clamp, /* (NH) or NULL */
                           int B, int T, int NH, int HS);
void llc_attn_pool_backward(float *dquery,      /* (NH, HS) or NULL */
                            float *dkv,         /* (B, T, 2*NH*HS) */
                            const float *dout,  /* (B, NH*HS) */
                            const float *att,   /* (B, NH, T) */
                            const float *query, /* (NH, HS) */
                            const float *kv,    /* (B, T, 2*NH*HS) */
                            const llc_head_clamp *clamp, /* (NH) or NULL */
                            int B, int T, int NH, int HS);

/* ---- softmax cross-entropy ----
 * loss = Σ_n mask[n]·(-log softmax(logits[n])[targets[n]]) / Σ_n mask[n]
 * (mask NULL = all ones; rows with mask 0 are skipped, their targets unread;
 * loss 0 when the mask sums to 0). probs may alias logits. The caller checks
 * 0 <= targets[n] < V on rows with mask != 0. */
void llc_crossentropy_forward(double *loss,        /* scalar */
                              float *probs,        /* (N, V) softmax, cache */
                              const float *logits, /* (N, V) */
                              const int *targets,  /* (N) */
                              const float *mask,   /* (N) or NULL */
                              int N, int V);
void llc_crossentropy_backward(float *dlogits,     /* (N, V) */
                               double dloss,       /* scalar: dL/dloss, usually 1 */
                               const float *probs, /* (N, V) */
                               const int *targets, /* (N) */
                               const float *mask,  /* (N) or NULL */
                               int N, int V);

#endif
