/* attention.c - causal / full self-attention and pooling attention: the
 * dispatch between the three variants, the "small" per-(b, h) kernels, the
 * kernels at selected query rows and the pooling attention. The tiled
 * variant is in attention_tiled.c, the lanes variant in attention_lanes.c. */
#include "kernels_impl.h"

/* Attention has three implementations with the same results up to rounding:
 *  - "lanes" (below LLC_ATTN_GEMM_MIN_T when the heads not skipped number
 *    a multiple of 8 or divide 8, and none is clamped; attention_lanes.c):
 *    eight (sequence, head) pairs at once, one per vector lane, so small T
 *    and head sizes fill the vectors with no per-head transposes or calls.
 *  - "small": per (b, h), register-blocked loops (4 rows x 16 columns of
 *    8-wide vectors) over the head's rows in place, K or V transposed into
 *    scratch; causal heads skip the masked blocks. No call overhead.
 *  - "tiled" (from LLC_ATTN_GEMM_MIN_T on; attention_tiled.c): the same
 *    register blocks on the head's Q, K, V and dO gathered into contiguous
 *    blocks, padded strides, and the Aᵀ products read from A's columns.
 * Below the switch a head's products are too small for gathering (or
 * cblas) to pay; from it on, gathering pays. Build with -DATTN_GEMM_MIN_T=n
 * to re-measure the switch. The naive loops live in tests/unit/test_kernels.c. */

size_t llc_attention_att_size(int B, int NH, int T) { return (size_t)B * NH * T * att_ld(T); }

size_t llc_attention_scratch_size(int T, int HS)
{
    /* the most of: the rows kernels; the tiled backward (Q, K, dO as (T, HS),
     * Vᵀ and dS with row stride pad_ld(T)); the lanes backward (seven (T, HS)
     * blocks and the rows' P and dS, (T, T) each, all 8 lanes wide), which
     * runs at any T' <= T below ATTN_GEMM_MIN_T (a batch may be shorter) */
    size_t t = (size_t)T, n = 3 * (size_t)HS * t + 2 * t * t;
    size_t tiled = 3 * (size_t)HS * t + ((size_t)HS + t) * (size_t)pad_ld(T) + 4 * t;
    if (tiled > n) n = tiled;
    size_t tl = (size_t)(T < ATTN_GEMM_MIN_T ? T : ATTN_GEMM_MIN_T - 1);
    size_t lanes = LANES * (7 * (size_t)HS * tl + 2 * tl * tl);
    return lanes > n ? lanes : n;
}

static void attn_fwd_small(float *out, float *att, float *scratch, const float *qkv, const llc_head_clamp *cl, int B,
                           int T, int NH, int HS, int causal)
{
    const int D = NH * HS, D3 = 3 * D;
    const float scale = 1.0f / sqrtf((float)HS);
    float *kt = scratch; /* (HS, T) */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * D3 + h * HS, *k = q + D, *v = q + 2 * D;
            float *a = att + ((size_t)b * NH + h) * T * T;
            float *o = out + (size_t)b * T * D + h * HS;
            if (head_skipped(cl, h)) continue;
            if (head_zeroed(cl, h)) {
                llc_zero_cols(o, (size_t)D, T, HS);
                memset(a, 0, (size_t)T * T * sizeof *a);
                continue;
            }
            int fixed = head_fixed_pattern(cl, h);
            if (fixed) {
                for (int t = 0; t < T; t++) clamp_row(a + (size_t)t * T, &cl[h], t, T);
            } else {
                llc_transpose(kt, T, k, D3, T, HS);
                for (int i = 0; i < T; i += 4) {
                    int m = imin(4, T - i), ncol = causal ? imin(T, i + 4) : T;
                    gemm_rows_set(a + (size_t)i * T, T, q + (size_t)i * D3, D3, kt, T, m, ncol, HS);
                }
                for (int t = 0; t < T; t++) {
                    int len = causal ? t + 1 : T;
                    vscale(a + (size_t)t * T, scale, len);
                    softmax_row(a + (size_t)t * T, len, T);
                }
            }
            for (int i = 0; i < T; i += 4) {
                int m = imin(4, T - i), kmax = (causal && !fixed) ? imin(T, i + 4) : T;
                gemm_rows_set(o + (size_t)i * D, D, a + (size_t)i * T, T, v, D3, m, HS, kmax);
            }
        }
}

static void attn_bwd_small(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                           const llc_head_clamp *cl, int B, int T, int NH, int HS, int causal)
{
    const int D = NH * HS, D3 = 3 * D;
    const float scale = 1.0f / sqrtf((float)HS);
    float *vt = scratch;                       /* (HS, T) */
    float *dp = scratch + (size_t)HS * T;      /* (T, T) d att, then d scores */
    float *tr = dp + (size_t)T * T;            /* (T, T) a transposed matrix */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            if (head_zeroed(cl, h)) continue;
            int fixed = head_fixed_pattern(cl, h), masked = causal && !fixed;
            const float *q = qkv + (size_t)b * T * D3 + h * HS, *k = q + D, *v = q + 2 * D;
            float *dq = dqkv + (size_t)b * T * D3 + h * HS, *dk = dq + D, *dv = dq + 2 * D;
            const float *a = att + ((size_t)b * NH + h) * T * T;
            const float *g = dout + (size_t)b * T * D + h * HS;
            /* dV += attᵀ · dO; row s of attᵀ is zero before column s when masked */
            llc_transpose(tr, T, a, T, T, T);
            for (int i = 0; i < T; i += 4) {
                int m = imin(4, T - i), k0 = masked ? i : 0;
                gemm_rows(dv + (size_t)i * D3, D3, tr + (size_t)i * T + k0, T, g + (size_t)k0 * D, D, m, HS, T - k0);
            }
            if (fixed) continue;
            /* dA = dO · Vᵀ on the unmasked blocks, then the softmax backward */
            llc_transpose(vt, T, v, D3, T, HS);
            for (int i = 0; i < T; i += 4) {
                int m = imin(4, T - i), ncol = causal ? imin(T, i + 4) : T;
                gemm_rows_set(dp + (size_t)i * T, T, g + (size_t)i * D, D, vt, T, m, ncol, HS);
            }
            for (int t = 0; t < T; t++) {
                const float *ar = a + (size_t)t * T;
                float *dr = dp + (size_t)t * T;
                int len = causal ? t + 1 : T;
                softmax_backward_row(dr, ar, len, T, scale);
            }
            /* dQ += dP · K ; dK += dPᵀ · Q */
            for (int i = 0; i < T; i += 4) {
                int m = imin(4, T - i), kmax = causal ? imin(T, i + 4) : T;
                gemm_rows(dq + (size_t)i * D3, D3, dp + (size_t)i * T, T, k, D3, m, HS, kmax);
            }
            llc_transpose(tr, T, dp, T, T, T);
            for (int i = 0; i < T; i += 4) {
                int m = imin(4, T - i), k0 = causal ? i : 0;
                gemm_rows(dk + (size_t)i * D3, D3, tr + (size_t)i * T + k0, T, q + (size_t)k0 * D3, D3, m, HS, T - k0);
            }
        }
}

void llc_attention_forward(float *out, float *att, float *scratch, const float *qkv, const llc_head_clamp *clamp,
                           int B, int T, int NH, int HS, int causal)
{
    if (T >= ATTN_GEMM_MIN_T)
        llc_attn_tiled_forward(out, att, scratch, qkv, clamp, B, T, NH, HS, causal);
    else if (llc_attn_lanes_ok(clamp, NH, T, 0))
        llc_attn_lanes(out, att, NULL, NULL, NULL, scratch, qkv, NULL, clamp, B, T, NH, HS, causal);
    else
        attn_fwd_small(out, att, scratch, qkv, clamp, B, T, NH, HS, causal);
}

void llc_attention_backward(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                            const llc_head_clamp *clamp, int B, int T, int NH, int HS, int causal)
{
    if (T >= ATTN_GEMM_MIN_T)
        llc_attn_tiled_backward(dqkv, scratch, dout, att, qkv, clamp, B, T, NH, HS, causal, 0);
    else if (llc_attn_lanes_ok(clamp, NH, T, 1))
        llc_attn_lanes(NULL, NULL, dqkv, dout, att, scratch, qkv, NULL, clamp, B, T, NH, HS, causal);
    else
        attn_bwd_small(dqkv, scratch, dout, att, qkv, clamp, B, T, NH, HS, causal);
}

/* As llc_attention_backward, but dqkv is stored, not added to (llc_kernels.h):
 * the tiled kernels write every entry, the others add into zeros. */
void llc_attention_backward_set(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                                const llc_head_clamp *clamp, int B, int T, int NH, int HS, int causal)
{
    if (T >= ATTN_GEMM_MIN_T) {
        llc_attn_tiled_backward(dqkv, scratch, dout, att, qkv, clamp, B, T, NH, HS, causal, 1);
        return;
    }
    memset(dqkv, 0, (size_t)B * T * 3 * NH * HS * sizeof *dqkv);
    llc_attention_backward(dqkv, scratch, dout, att, qkv, clamp, B, T, NH, HS, causal);
}

/* ---------------- attention at selected query rows ----------------
 * The rows of one sequence form a group (rows are increasing, so a group is a
 * run); per (group, head) the same register-blocked loops as "small", on the
 * group's queries gathered into scratch. Blocks of 4 queries stop their key
 * range at the last query's position when causal. */

void llc_attention_rows_forward(float *out, float *att, float *scratch, const float *qkv, const int *rows,
                                const llc_head_clamp *cl, int M, int T, int NH, int HS, int causal)
{
    const int D = NH * HS, D3 = 3 * D, lda = NH * T;
    if (llc_attn_lanes_ok(cl, NH, T, 0)) {
        llc_attn_lanes(out, att, NULL, NULL, NULL, scratch, qkv, rows, cl, M, T, NH, HS, causal);
        return;
    }
    const float scale = 1.0f / sqrtf((float)HS);
    float *kt = scratch;                  /* (HS, T) */
    float *qg = kt + (size_t)HS * T;      /* (T, HS) the group's queries */
    for (int i0 = 0, i1; i0 < M; i0 = i1) {
        i1 = row_group_end(rows, i0, M, T);
        const int b = rows[i0] / T, m = i1 - i0;
        const float *base = qkv + (size_t)b * T * D3;
        for (int h = 0; h < NH; h++) {
            float *a = att + ((size_t)i0 * NH + h) * T; /* row r of the group at a + r*lda */
            float *o = out + (size_t)i0 * D + h * HS;
            if (head_skipped(cl, h)) continue;
            if (head_zeroed(cl, h)) {
                llc_zero_cols(o, (size_t)D, m, HS);
                for (int r = 0; r < m; r++) memset(a + (size_t)r * lda, 0, (size_t)T * sizeof *a);
                continue;
            }
            int fixed = head_fixed_pattern(cl, h);
            if (fixed) {
                for (int r = 0; r < m; r++) clamp_row(a + (size_t)r * lda, &cl[h], rows[i0 + r] % T, T);
            } else {
                llc_transpose(kt, T, base + D + h * HS, D3, T, HS);
                for (int r = 0; r < m; r++)
                    memcpy(qg + (size_t)r * HS, base + (size_t)(rows[i0 + r] % T) * D3 + h * HS,
                           (size_t)HS * sizeof *qg);
                for (int r = 0; r < m; r += 4) {
                    int mb = imin(4, m - r), ncol = causal ? rows[i0 + r + mb - 1] % T + 1 : T;
                    gemm_rows_set(a + (size_t)r * lda, lda, qg + (size_t)r * HS, HS, kt, T, mb, ncol, HS);
                }
                for (int r = 0; r < m; r++) {
                    int len = causal ? rows[i0 + r] % T + 1 : T;
                    vscale(a + (size_t)r * lda, scale, len);
                    softmax_row(a + (size_t)r * lda, len, T);
                }
            }
            for (int r = 0; r < m; r += 4) {
                int mb = imin(4, m - r), kmax = (causal && !fixed) ? rows[i0 + r + mb - 1] % T + 1 : T;
                gemm_rows_set(o + (size_t)r * D, D, a + (size_t)r * lda, lda, base + 2 * D + h * HS, D3, mb, HS,
                              kmax);
            }
        }
    }
}

void llc_attention_rows_backward(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                                 const int *rows, const llc_head_clamp *cl, int M, int T, int NH, int HS, int causal)
{
    const int D = NH * HS, D3 = 3 * D, lda = NH * T;
    if (llc_attn_lanes_ok(cl, NH, T, 1)) {
        llc_attn_lanes(NULL, NULL, dqkv, dout, att, scratch, qkv, rows, cl, M, T, NH, HS, causal);
        return;
    }
    const float scale = 1.0f / sqrtf((float)HS);
    float *vt = scratch;                  /* (HS, T) */
    float *qg = vt + (size_t)HS * T;      /* (T, HS) the group's queries */
    float *dqg = qg + (size_t)HS * T;     /* (T, HS) their gradients */
    float *dp = dqg + (size_t)HS * T;     /* (T, T) d att, then d scores, of the group */
    float *tr = dp + (size_t)T * T;       /* (T, T) a transposed (T x m) matrix */
    for (int i0 = 0, i1; i0 < M; i0 = i1) {
        i1 = row_group_end(rows, i0, M, T);
        const int b = rows[i0] / T, m = i1 - i0;
        const int kend = causal ? rows[i1 - 1] % T + 1 : T; /* keys any of the group sees */
        const float *base = qkv + (size_t)b * T * D3;
        float *dbase = dqkv + (size_t)b * T * D3;
        for (int h = 0; h < NH; h++) {
            if (head_zeroed(cl, h)) continue;
            int fixed = head_fixed_pattern(cl, h);
            const float *a = att + ((size_t)i0 * NH + h) * T;
            const float *g = dout + (size_t)i0 * D + h * HS;
            const float *k = base + D + h * HS, *v = base + 2 * D + h * HS;
            float *dk = dbase + D + h * HS, *dv = dbase + 2 * D + h * HS;
            /* dV (T, HS) += attᵀ (T, m) · dO (m, HS) */
            int send = fixed ? T : kend;
            llc_transpose(tr, m, a, lda, m, send);
            for (int s = 0; s < send; s += 4)
                gemm_rows(dv + (size_t)s * D3, D3, tr + (size_t)s * m, m, g, D, imin(4, send - s), HS, m);
            if (fixed) continue;
            /* dA (m, T) = dO · Vᵀ, then the softmax backward row by row */
            llc_transpose(vt, T, v, D3, kend, HS);
            for (int r = 0; r < m; r += 4) {
                int mb = imin(4, m - r), ncol = causal ? rows[i0 + r + mb - 1] % T + 1 : T;
                gemm_rows_set(dp + (size_t)r * T, T, g + (size_t)r * D, D, vt, T, mb, ncol, HS);
            }
            for (int r = 0; r < m; r++)
                softmax_backward_row(dp + (size_t)r * T, a + (size_t)r * lda, causal ? rows[i0 + r] % T + 1 : T, T,
                                     scale);
            /* dQ (m, HS) = dP · K, added to the queries' rows */
            for (int r = 0; r < m; r += 4) {
                int mb = imin(4, m - r), kmax = causal ? rows[i0 + r + mb - 1] % T + 1 : T;
                gemm_rows_set(dqg + (size_t)r * HS, HS, dp + (size_t)r * T, T, k, D3, mb, HS, kmax);
            }
            for (int r = 0; r < m; r++) {
                const int t = rows[i0 + r] % T;
                llc_add(dbase + (size_t)t * D3 + h * HS, dqg + (size_t)r * HS, (size_t)HS);
                memcpy(qg + (size_t)r * HS, base + (size_t)t * D3 + h * HS, (size_t)HS * sizeof *qg);
            }
            /* dK (T, HS) += dPᵀ (T, m) · Q (m, HS) */
            llc_transpose(tr, m, dp, T, m, kend);
            for (int s = 0; s < kend; s += 4)
                gemm_rows(dk + (size_t)s * D3, D3, tr + (size_t)s * m, m, qg, HS, imin(4, kend - s), HS, m);
        }
    }
}

/* ---------------- pooling attention ---------------- */

void llc_attn_pool_forward(float *out, float *att, const float *query, const float *kv, const llc_head_clamp *cl,
                           int B, int T, int NH, int HS)
{
    const int D = NH * HS, D2 = 2 * D;
    const float scale = 1.0f / sqrtf((float)HS);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            float *a = att + ((size_t)b * NH + h) * T;
            float *o = out + (size_t)b * D + h * HS;
            memset(o, 0, (size_t)HS * sizeof *o);
            if (head_zeroed(cl, h)) {
                memset(a, 0, (size_t)T * sizeof *a);
                continue;
            }
            const float *q = query + h * HS;
            const float *base = kv + (size_t)b * T * D2 + h * HS;
            for (int t = 0; t < T; t++) {
                const float *k = base + (size_t)t * D2;
                float dot = 0.0f;
                for (int i = 0; i < HS; i++) dot += q[i] * k[i];
                a[t] = dot * scale;
            }
            softmax_row(a, T, T);
            for (int t = 0; t < T; t++) {
                const float *v = base + (size_t)t * D2 + D;
                for (int i = 0; i < HS; i++) o[i] += a[t] * v[i];
            }
        }
}

void llc_attn_pool_backward(float *dquery, float *dkv, const float *dout, const float *att, const float *query,
                            const float *kv, const llc_head_clamp *cl, int B, int T, int NH, int HS)
{
    const int D = NH * HS, D2 = 2 * D;
    const float scale = 1.0f / sqrtf((float)HS);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            if (head_zeroed(cl, h)) continue;
            const float *a = att + ((size_t)b * NH + h) * T;
            const float *g = dout + (size_t)b * D + h * HS;
            const float *q = query + h * HS;
            const float *base = kv + (size_t)b * T * D2 + h * HS;
            float *dbase = dkv + (size_t)b * T * D2 + h * HS;
            float sum = 0.0f;
            for (int t = 0; t < T; t++) {
                const float *v = base + (size_t)t * D2 + D;
                float *dv = dbase + (size_t)t * D2 + D;
                float dot = 0.0f;
                for (int i = 0; i < HS; i++) {
                    dot += g[i] * v[i];
                    dv[i] += a[t] * g[i];
                }
                sum += a[t] * dot;
            }
            for (int t = 0; t < T; t++) {
                const float *v = base + (size_t)t * D2 + D;
                float dot = 0.0f;
                for (int i = 0; i < HS; i++) dot += g[i] * v[i];
                float dp = a[t] * (dot - sum) * scale;
                const float *k = base + (size_t)t * D2;
                float *dk = dbase + (size_t)t * D2;
                for (int i = 0; i < HS; i++) {
                    dk[i] += dp * q[i];
                    if (dquery) dquery[h * HS + i] += dp * k[i];
                }
            }
        }
}
