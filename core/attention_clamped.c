/* attention_clamped.c - self-attention with the clamps that change how a
 * pattern is formed (llc_model.h: INDUCTION, COPY, NO_PREV, TEMPERATURE, and
 * a pattern clamp mixed with the head's own softmax). Plain loops per
 * (sequence, head, row): only the layers holding such a clamp run here,
 * every other layer keeps the fast variants (attention.c), and their
 * numbers do not change.
 *
 * Head h, query row t, len = t + 1 (causal) or T keys:
 *   own[s] = softmax over s < len (s != t-1 with no_prev, t >= 1) of
 *            q_t · k_s / sqrt(HS) · inv_temp
 *   A[t]   = own, or for a pattern clamp (1 - w)·F + w·own with F the
 *            clamped row (prev, given, induction, or A of the source head)
 *            and w = `own` of the spec (0: F alone, own not computed)
 *   out_t  = Σ_s A[t, s] v_s   (0 for a zeroed head)
 * The backward: d A = dO · Vᵀ (plus more_da: what copies in later layers
 * pass back); a copying head passes (1 - w)·dA on to its source's dA
 * (sources in the layer are not copies, so copies go first), or to
 * src_datt for a source in an earlier layer (whose backward comes later);
 * the own part w·dA (or dA) runs the softmax backward with own recomputed
 * from Q and K.
 */
#include "kernels_impl.h"

size_t llc_attention_clamped_scratch_size(int NH, int T) { return (size_t)NH * T * T + 2 * (size_t)T; }

static double dot(const float *a, const float *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Row t of head sp's own softmax pattern into p (T), zeros past the keys. */
static void own_row(float *p, const float *qkv, const llc_head_spec *sp, int b, int h, int t, int T, int NH, int HS,
                    int causal)
{
    const int D = NH * HS, D3 = 3 * D, len = causal ? t + 1 : T;
    const double scale = sp->inv_temp / sqrt((double)HS);
    const float *q = qkv + ((size_t)b * T + t) * D3 + (size_t)h * HS;
    double mx = -INFINITY, sum = 0.0;
    for (int s = 0; s < T; s++) {
        if (s >= len || (sp->no_prev && t >= 1 && s == t - 1)) {
            p[s] = -INFINITY;
            continue;
        }
        p[s] = (float)(dot(q, qkv + ((size_t)b * T + s) * D3 + D + (size_t)h * HS, HS) * scale);
        if (p[s] > mx) mx = p[s];
    }
    for (int s = 0; s < T; s++) sum += p[s] == -INFINITY ? 0.0 : exp((double)p[s] - mx);
    for (int s = 0; s < T; s++) p[s] = p[s] == -INFINITY ? 0.0f : (float)(exp((double)p[s] - mx) / sum);
}

/* Row t of a clamped pattern F into f (T); a copy reads its source's row of a. */
static void fixed_row(float *f, const float *a_src, const int *tok, const llc_head_spec *sp, int t, int T)
{
    memset(f, 0, (size_t)T * sizeof *f);
    switch (sp->fixed) {
    case LLC_SPEC_PREV: f[t > 0 ? t - 1 : 0] = 1.0f; break;
    case LLC_SPEC_GIVEN: memcpy(f, sp->pattern + (size_t)t * sp->ld, (size_t)T * sizeof *f); break;
    case LLC_SPEC_INDUCTION: {
        int j = t - 1;
        while (j >= 0 && !(tok && tok[t] >= 0 && tok[j] == tok[t])) j--;
        f[j >= 0 ? j + 1 : 0] = 1.0f;
        break;
    }
    case LLC_SPEC_COPY: memcpy(f, a_src + (size_t)t * T, (size_t)T * sizeof *f); break;
    default: break;
    }
}

void llc_attention_clamped_forward(float *out, float *att, float *scratch, const float *qkv, const int *tokens,
                                   const llc_head_spec *sp, int B, int T, int NH, int HS, int causal)
{
    const int D = NH * HS, D3 = 3 * D;
    float *p = scratch, *f = p + T;
    for (int b = 0; b < B; b++)
        for (int pass = 0; pass < 2; pass++) /* copies after their sources */
            for (int h = 0; h < NH; h++) {
                const llc_head_spec *s = &sp[h];
                if ((s->fixed == LLC_SPEC_COPY) != pass) continue;
                float *a = att + ((size_t)b * NH + h) * T * T;
                const float *src = s->fixed != LLC_SPEC_COPY ? NULL
                                   : (s->src_att ? s->src_att : att) + ((size_t)b * NH + s->src) * T * T;
                for (int t = 0; t < T; t++) {
                    float *at = a + (size_t)t * T;
                    if (!s->fixed || s->own > 0.0f) own_row(p, qkv, s, b, h, t, T, NH, HS, causal);
                    if (!s->fixed) {
                        memcpy(at, p, (size_t)T * sizeof *at);
                        continue;
                    }
                    fixed_row(f, src, tokens ? tokens + (size_t)b * T : NULL, s, t, T);
                    for (int u = 0; u < T; u++) at[u] = s->own > 0.0f ? (1.0f - s->own) * f[u] + s->own * p[u] : f[u];
                }
            }
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *a = att + ((size_t)b * NH + h) * T * T;
            const float *v = qkv + (size_t)b * T * D3 + 2 * D + (size_t)h * HS;
            for (int t = 0; t < T; t++) {
                float *o = out + ((size_t)b * T + t) * D + (size_t)h * HS;
                for (int i = 0; i < HS; i++) {
                    double acc = 0.0;
                    if (!sp[h].zero)
                        for (int u = 0; u < T; u++) acc += (double)a[(size_t)t * T + u] * v[(size_t)u * D3 + i];
                    o[i] = (float)acc;
                }
            }
        }
}

void llc_attention_clamped_backward(float *dqkv, float *scratch, const float *dout, const float *att,
                                    const float *qkv, const llc_head_spec *sp, int B, int T, int NH, int HS,
                                    int causal)
{
    const int D = NH * HS, D3 = 3 * D;
    const size_t TT = (size_t)T * T;
    float *da = scratch, *p = da + (size_t)NH * TT;
    const double scale = 1.0 / sqrt((double)HS);
    memset(dqkv, 0, (size_t)B * T * D3 * sizeof *dqkv);
    for (int b = 0; b < B; b++) {
        const float *base = qkv + (size_t)b * T * D3;
        float *dbase = dqkv + (size_t)b * T * D3;
        /* dA = dO · Vᵀ and dV = Aᵀ · dO per head (nothing for a zeroed head) */
        for (int h = 0; h < NH; h++) {
            float *dah = da + (size_t)h * TT;
            const float *a = att + ((size_t)b * NH + h) * TT;
            memset(dah, 0, TT * sizeof *dah);
            if (sp[h].zero) continue;
            for (int t = 0; t < T; t++) {
                const float *g = dout + ((size_t)b * T + t) * D + (size_t)h * HS;
                for (int u = 0; u < T; u++) {
                    dah[(size_t)t * T + u] = (float)dot(g, base + (size_t)u * D3 + 2 * D + (size_t)h * HS, HS);
                    const float w = a[(size_t)t * T + u];
                    if (w != 0.0f)
                        for (int i = 0; i < HS; i++) dbase[(size_t)u * D3 + 2 * D + (size_t)h * HS + i] += w * g[i];
                }
            }
        }
        /* what copies in later layers pass back; then the clamped part of a copy goes to its source */
        for (int h = 0; h < NH; h++)
            if (sp[h].more_da) {
                float *dah = da + (size_t)h * TT;
                const float *m = sp[h].more_da + (size_t)b * TT;
                for (size_t i = 0; i < TT; i++) dah[i] += m[i];
            }
        for (int h = 0; h < NH; h++)
            if (sp[h].fixed == LLC_SPEC_COPY) {
                float *dah = da + (size_t)h * TT;
                float *dsrc = sp[h].src_att ? sp[h].src_datt + (size_t)b * TT : da + (size_t)sp[h].src * TT;
                for (size_t i = 0; i < TT; i++) dsrc[i] += (1.0f - sp[h].own) * dah[i];
            }
        /* the own part: the softmax backward on the recomputed own pattern */
        for (int h = 0; h < NH; h++) {
            const llc_head_spec *s = &sp[h];
            if (s->fixed && s->own == 0.0f) continue;
            const float wt = s->fixed ? s->own : 1.0f;
            for (int t = 0; t < T; t++) {
                float *d = da + (size_t)h * TT + (size_t)t * T;
                own_row(p, qkv, s, b, h, t, T, NH, HS, causal);
                double sum = 0.0;
                for (int u = 0; u < T; u++) sum += (double)p[u] * d[u];
                const float *q = base + (size_t)t * D3 + (size_t)h * HS;
                float *dq = dbase + (size_t)t * D3 + (size_t)h * HS;
                for (int u = 0; u < T; u++) {
                    if (p[u] == 0.0f) continue;
                    const float ds = (float)(wt * p[u] * (d[u] - sum) * scale * s->inv_temp);
                    const float *k = base + (size_t)u * D3 + D + (size_t)h * HS;
                    float *dk = dbase + (size_t)u * D3 + D + (size_t)h * HS;
                    for (int i = 0; i < HS; i++) {
                        dq[i] += ds * k[i];
                        dk[i] += ds * q[i];
                    }
                }
            }
        }
    }
}
