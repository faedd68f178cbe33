/* attention_tiled.c - the "tiled" attention kernels (from
 * LLC_ATTN_GEMM_MIN_T on): per (b, h), the head gathered into contiguous
 * blocks, then the register-blocked products of kernels_impl.h. */
#include "kernels_impl.h"

/* "tiled": per (b, h), the head's Q, K, V (and dO) are first gathered into
 * contiguous (T, HS) blocks in scratch (and Kᵀ, Vᵀ as (HS, T)): read in
 * place, their rows lie 3·D floats apart, which at D = 256 maps every row to
 * the same few L1 sets. Then blocks of 4 query rows in registers
 * (gemm_rows*): a causal block multiplies only the keys its last row sees,
 * and the products with Aᵀ (dV, dK) read 4 columns of A (or dS) at a time,
 * copied into a (T, 4) panel (pack_cols), with no T x T transpose. */
static void head_gather(float *restrict dst, const float *restrict src, int ld, int T, int HS)
{
    for (int t = 0; t < T; t++) copy_row(dst + (size_t)t * HS, src + (size_t)t * ld, HS);
}

/* A masked (causal, not clamped) head's probabilities in the tiled kernels
 * are stored as a packed lower triangle: the rows of query block t/4 hold
 * the 4·(t/4 + 1) keys that block's products compute (the diagonal block's
 * few masked entries are zeros), one block after another. That is half the
 * memory of T rows of att_ld(T): the forward writes and the backward reads
 * no zeros beyond the blocks. Row t starts at tri_off(t), its length is
 * tri_len(t). Other heads keep T rows of att_ld(T). */
static inline size_t tri_len(int t) { return 4 * (size_t)((t >> 2) + 1); }
static inline size_t tri_off(int t)
{
    const size_t b = (size_t)(t >> 2);
    return 8 * b * (b + 1) + (size_t)(t & 3) * tri_len(t);
}

/* Row t of a head's probabilities a, and the row stride of its 4-row block:
 * packed (tri) or T rows of lda. */
static inline size_t att_row(int lda, int tri, int t) { return tri ? tri_off(t) : (size_t)t * lda; }
static inline int att_stride(int lda, int tri, int t) { return tri ? (int)tri_len(t) : lda; }

/* pk (K, 4) = columns j..j+M-1 (M <= 4) of rows i0..i0+K-1 of a head's
 * probabilities (tri: packed as above, else row stride lda): the Aᵀ
 * products read one contiguous 16-byte row of pk per k instead of a cache
 * line of A each time 16 columns of the product pass over it. */
static void pack_cols(float *restrict pk, const float *restrict a, int lda, int tri, int i0, int j, int K, int M)
{
    for (int k = 0; k < K; k++) {
        const float *r = a + att_row(lda, tri, i0 + k) + j;
        if (M == 4)
            V4(pk + 4 * (size_t)k) = CV4(r);
        else
            for (int c = 0; c < M; c++) pk[4 * (size_t)k + c] = r[c];
    }
}

void llc_attn_tiled_forward(float *out, float *att, float *scratch, const float *qkv, const llc_head_clamp *cl, int B,
                           int T, int NH, int HS, int causal)
{
    const int D = NH * HS, D3 = 3 * D;
    const float scale = 1.0f / sqrtf((float)HS);
    const int ldt = pad_ld(T), lda = att_ld(T);
    float *kt = scratch, *vc = kt + (size_t)HS * ldt; /* (HS, T) with row stride ldt, (T, HS) */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * D3 + h * HS, *k = q + D, *v = q + 2 * D;
            float *a = att + ((size_t)b * NH + h) * T * lda;
            float *o = out + (size_t)b * T * D + h * HS;
            if (head_skipped(cl, h)) continue;
            if (head_zeroed(cl, h)) {
                memset(a, 0, (size_t)T * lda * sizeof *a);
                llc_zero_cols(o, (size_t)D, T, HS);
                continue;
            }
            const int fixed = head_fixed_pattern(cl, h), masked = causal && !fixed;
            if (fixed)
                for (int t = 0; t < T; t++) clamp_row(a + (size_t)t * lda, &cl[h], t, T);
            else
                llc_transpose(kt, ldt, k, D3, T, HS);
            head_gather(vc, v, D3, T, HS);
            /* per block of 4 query rows: scores, softmax, then its output
             * rows while its probabilities are in L1 */
            for (int i = 0; i < T; i += 4) {
                const int m = imin(4, T - i), kl = masked ? imin(T, i + 4) : T;
                float *ai = a + att_row(lda, masked, i);
                const int ld = att_stride(lda, masked, i);
                if (!fixed) {
                    gemm_rows_set(ai, ld, q + (size_t)i * D3, D3, kt, ldt, m, kl, HS);
                    for (int t = i; t < i + m; t++) {
                        float *at = ai + (size_t)(t - i) * ld;
                        const int len = causal ? t + 1 : T;
                        vscale(at, scale, len);
                        softmax_row(at, len, masked ? ld : T);
                    }
                }
                gemm_rows_set(o + (size_t)i * D, D, ai, ld, vc, HS, m, HS, kl);
            }
        }
}

/* set: store dqkv (every (b, h) strip, zeros where nothing flows) instead of
 * adding into it. */
void llc_attn_tiled_backward(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                           const llc_head_clamp *cl, int B, int T, int NH, int HS, int causal, int set)
{
    const int D = NH * HS, D3 = 3 * D;
    const float scale = 1.0f / sqrtf((float)HS);
    const int ldt = pad_ld(T), lda = att_ld(T);
    const size_t th = (size_t)T * HS;
    float *qc = scratch, *kc = qc + th, *gc = kc + th, *vt = gc + th; /* (T, HS) x 3, (HS, T) row stride ldt */
    float *ds = vt + (size_t)HS * ldt; /* (T, T) row stride ldt: d att, then d scores */
    float *pk = ds + (size_t)T * ldt;  /* (T, 4) a panel of 4 columns of A or dS */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const int fixed = head_fixed_pattern(cl, h), masked = causal && !fixed;
            const float *q = qkv + (size_t)b * T * D3 + h * HS, *k = q + D, *v = q + 2 * D;
            float *dq = dqkv + (size_t)b * T * D3 + h * HS, *dk = dq + D, *dv = dq + 2 * D;
            if (head_zeroed(cl, h)) { /* no gradient to its Q, K, V */
                if (set)
                    for (int c = 0; c < 3; c++) llc_zero_cols(dq + (size_t)c * D, (size_t)D3, T, HS);
                continue;
            }
            const float *a = att + ((size_t)b * NH + h) * T * lda;
            head_gather(gc, dout + (size_t)b * T * D + h * HS, D, T, HS);
            /* dA = dO · Vᵀ on the unmasked blocks, then the softmax backward;
             * first, so that A comes from memory row by row (dV below reads its
             * columns, by then from the cache) */
            if (!fixed) {
                llc_transpose(vt, ldt, v, D3, T, HS);
                for (int i = 0; i < T; i += 4) {
                    const int m = imin(4, T - i), ncol = causal ? imin(T, i + 4) : T;
                    gemm_rows_set(ds + (size_t)i * ldt, ldt, gc + (size_t)i * HS, HS, vt, ldt, m, ncol, HS);
                    for (int t = i; t < i + m; t++)
                        softmax_backward_row(ds + (size_t)t * ldt, a + att_row(lda, masked, t),
                                             causal ? t + 1 : T, causal ? imin(T, i + 4) : T, scale);
                }
            }
            /* dV += Aᵀ · dO: rows j.. of dV from columns j.. of A, which are
             * zero above row j when masked */
            for (int j = 0; j < T; j += 4) {
                const int m = imin(4, T - j), i0 = masked ? j : 0;
                pack_cols(pk, a, lda, masked, i0, j, T - i0, m);
                gemm_cols4(dv + (size_t)j * D3, D3, pk, gc + (size_t)i0 * HS, HS, m, HS, T - i0, set);
            }
            if (fixed) { /* a clamped pattern: no gradient to its Q, K */
                if (set)
                    for (int c = 0; c < 2; c++) llc_zero_cols(dq + (size_t)c * D, (size_t)D3, T, HS);
                continue;
            }
            /* dQ += dS · K ; dK += dSᵀ · Q */
            head_gather(kc, k, D3, T, HS);
            head_gather(qc, q, D3, T, HS);
            for (int i = 0; i < T; i += 4) {
                const int m = imin(4, T - i), kl = causal ? imin(T, i + 4) : T;
                if (set)
                    gemm_rows_set(dq + (size_t)i * D3, D3, ds + (size_t)i * ldt, ldt, kc, HS, m, HS, kl);
                else
                    gemm_rows(dq + (size_t)i * D3, D3, ds + (size_t)i * ldt, ldt, kc, HS, m, HS, kl);
            }
            for (int j = 0; j < T; j += 4) {
                const int m = imin(4, T - j), i0 = causal ? j : 0;
                pack_cols(pk, ds, ldt, 0, i0, j, T - i0, m);
                gemm_cols4(dk + (size_t)j * D3, D3, pk, qc + (size_t)i0 * HS, HS, m, HS, T - i0, set);
            }
        }
}
