/* kernels_rows.c - the row-wise kernels: adds and row copies, embedding,
 * LayerNorm / RMSNorm, GELU, RoPE and the softmax cross-entropy; loops on
 * 8-wide (and 4-wide) vectors (kernels_impl.h). */
#include "kernels_impl.h"

void llc_add(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) V8(y + i) += CV8(x + i);
    for (; i < n; i++) y[i] += x[i];
}

void llc_zero_cols(float *x, size_t ld, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *y = x + (size_t)r * ld;
        int j = 0;
        for (; j + 8 <= cols; j += 8) {
            V8(y + j) = splat8(0.0f);
            NO_LIBCALL();
        }
        for (; j < cols; j++) y[j] = 0.0f;
    }
}

/* The end of the run of consecutive rows sel[i], sel[i] + 1, ... starting at i. */
static int run_end(const int *sel, int i, int M)
{
    int k = i + 1;
    while (k < M && sel[k] == sel[k - 1] + 1) k++;
    return k;
}

void llc_gather_rows(float *dst, size_t ldd, const float *src, size_t lds, const int *sel, int M, int n)
{
    if (sel && ldd == (size_t)n && lds == (size_t)n) { /* contiguous rows: one memcpy per run of rows */
        for (int i = 0, k; i < M; i = k) {
            k = run_end(sel, i, M);
            memcpy(dst + (size_t)i * ldd, src + (size_t)sel[i] * lds, (size_t)(k - i) * n * sizeof *dst);
        }
        return;
    }
    for (int i = 0; i < M; i++) copy_row(dst + (size_t)i * ldd, src + (size_t)(sel ? sel[i] : i) * lds, n);
}

void llc_scatter_rows(float *dst, size_t ldd, const float *src, size_t lds, const int *sel, int M, int n)
{
    if (ldd == (size_t)n && lds == (size_t)n) {
        for (int i = 0, k; i < M; i = k) {
            k = run_end(sel, i, M);
            memcpy(dst + (size_t)sel[i] * ldd, src + (size_t)i * lds, (size_t)(k - i) * n * sizeof *dst);
        }
        return;
    }
    for (int i = 0; i < M; i++) copy_row(dst + (size_t)sel[i] * ldd, src + (size_t)i * lds, n);
}

/* ---------------- embedding ---------------- */

void llc_embedding_forward(float *out, const int *tok, const float *table, int N, int C)
{
    for (int n = 0; n < N; n++)
        if (tok[n] >= 0) memcpy(out + (size_t)n * C, table + (size_t)tok[n] * C, (size_t)C * sizeof *out);
}

void llc_embedding_backward(float *dtable, const float *dout, const int *tok, int N, int C)
{
    for (int n = 0; n < N; n++) {
        if (tok[n] < 0) continue;
        llc_add(dtable + (size_t)tok[n] * C, dout + (size_t)n * C, (size_t)C);
    }
}

/* ---------------- LayerNorm / RMSNorm ---------------- */

void llc_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *g, const float *b,
                           int N, int C, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = vsum(x, C) / (float)C;
        v8f acc = splat8(0.0f), mv = splat8(m);
        int c = 0;
        for (; c + 8 <= C; c += 8) {
            v8f d = CV8(x + c) - mv;
            acc += d * d;
        }
        float v = hsum8(acc);
        for (; c < C; c++) v += (x[c] - m) * (x[c] - m);
        float s = 1.0f / sqrtf(v / (float)C + eps);
        v8f sv = splat8(s);
        for (c = 0; c + 8 <= C; c += 8) V8(o + c) = (CV8(x + c) - mv) * sv * CV8(g + c) + CV8(b + c);
        for (; c < C; c++) o[c] = (x[c] - m) * s * g[c] + b[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

void llc_layernorm_backward(float *din, float *dg, float *db, const float *dout, const float *in, const float *g,
                            const float *mean, const float *rstd, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        const float *d = dout + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        /* dnorm = g·dout; din = (dnorm - mean(dnorm) - norm·mean(dnorm·norm))·rstd */
        v8f a1 = splat8(0.0f), a2 = splat8(0.0f), mv = splat8(m), sv = splat8(s);
        int c = 0;
        for (; c + 8 <= C; c += 8) {
            v8f norm = (CV8(x + c) - mv) * sv, dn = CV8(g + c) * CV8(d + c);
            a1 += dn;
            a2 += dn * norm;
        }
        float dmean = hsum8(a1), dnn = hsum8(a2);
        for (; c < C; c++) {
            float norm = (x[c] - m) * s, dn = g[c] * d[c];
            dmean += dn;
            dnn += dn * norm;
        }
        dmean /= (float)C;
        dnn /= (float)C;
        v8f dmv = splat8(dmean), dnv = splat8(dnn);
        float *dx = din ? din + (size_t)n * C : NULL;
        for (c = 0; c + 8 <= C; c += 8) {
            v8f norm = (CV8(x + c) - mv) * sv, dd = CV8(d + c);
            if (dg) V8(dg + c) += norm * dd;
            if (db) V8(db + c) += dd;
            if (dx) V8(dx + c) += (CV8(g + c) * dd - dmv - norm * dnv) * sv;
        }
        for (; c < C; c++) {
            float norm = (x[c] - m) * s;
            if (dg) dg[c] += norm * d[c];
            if (db) db[c] += d[c];
            if (din) din[(size_t)n * C + c] += (g[c] * d[c] - dmean - norm * dnn) * s;
        }
    }
}

void llc_rmsnorm_forward(float *out, float *rstd, const float *in, const float *g, int N, int C, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float s = 1.0f / sqrtf(vdot(x, x, C) / (float)C + eps);
        v4f sv = splat(s);
        int c = 0;
        if (g) {
            for (; c + 4 <= C; c += 4) V4(o + c) = CV4(x + c) * sv * CV4(g + c);
            for (; c < C; c++) o[c] = x[c] * s * g[c];
        } else {
            for (; c + 4 <= C; c += 4) V4(o + c) = CV4(x + c) * sv;
            for (; c < C; c++) o[c] = x[c] * s;
        }
        rstd[n] = s;
    }
}

void llc_rmsnorm_backward(float *din, float *dg, const float *dout, const float *in, const float *g,
                          const float *rstd, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        const float *d = dout + (size_t)n * C;
        float s = rstd[n];
        /* dnorm = g·dout; din = (dnorm - norm·mean(dnorm·norm))·rstd */
        float dnn = 0.0f;
        for (int c = 0; c < C; c++) dnn += (g ? g[c] : 1.0f) * d[c] * x[c] * s;
        dnn /= (float)C;
        for (int c = 0; c < C; c++) {
            float norm = x[c] * s;
            if (g && dg) dg[c] += norm * d[c];
            if (din) din[(size_t)n * C + c] += ((g ? g[c] : 1.0f) * d[c] - norm * dnn) * s;
        }
    }
}

/* ---------------- GELU (tanh) ---------------- */

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

void llc_gelu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + GELU_A * x * x * x)));
    }
}

void llc_gelu_backward(float *din, const float *dout, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        float u = GELU_K * (x + GELU_A * x * x * x);
        float th = tanhf(u);
        float sech2 = 1.0f - th * th;
        float grad = 0.5f * (1.0f + th) + 0.5f * x * sech2 * GELU_K * (1.0f + 3.0f * GELU_A * x * x);
        din[i] += grad * dout[i];
    }
}

/* ---------------- RoPE ---------------- */

void llc_rope_table(float *cs, int T, int HS, float base)
{
    int H2 = HS / 2;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < H2; i++) {
            double ang = (double)t * pow((double)base, -2.0 * i / (double)HS);
            cs[(size_t)t * 2 * H2 + i] = (float)cos(ang);
            cs[(size_t)t * 2 * H2 + H2 + i] = (float)sin(ang);
        }
}

/* sign = +1 rotates by +angle (forward), -1 by -angle (backward). Row n is at
 * position pos[n] % T (pos NULL: n % T). The same two products per element
 * in vectors of 8 or 4 where H2 allows, so the numbers do not depend on the
 * width; the backward negates sin exactly. */
static void rope_rotate(float *x, const float *cs, const int *pos, int N, int T, int NH, int HS, int ld, int sign)
{
    const int H2 = HS / 2;
    for (int n = 0; n < N; n++) {
        const float *co = cs + (size_t)((pos ? pos[n] : n) % T) * 2 * H2, *si = co + H2;
        float *row = x + (size_t)n * ld;
        for (int h = 0; h < NH; h++) {
            float *a = row + h * HS, *b = a + H2;
            int i = 0;
            for (; i + 8 <= H2; i += 8) {
                v8f x1 = CV8(a + i), x2 = CV8(b + i), cv = CV8(co + i), sv = sign > 0 ? CV8(si + i) : -CV8(si + i);
                V8(a + i) = x1 * cv - x2 * sv;
                V8(b + i) = x2 * cv + x1 * sv;
            }
            for (; i + 4 <= H2; i += 4) {
                v4f x1 = CV4(a + i), x2 = CV4(b + i), cv = CV4(co + i), sv = sign > 0 ? CV4(si + i) : -CV4(si + i);
                V4(a + i) = x1 * cv - x2 * sv;
                V4(b + i) = x2 * cv + x1 * sv;
            }
            for (; i < H2; i++) {
                float x1 = a[i], x2 = b[i], sn = sign > 0 ? si[i] : -si[i];
                a[i] = x1 * co[i] - x2 * sn;
                b[i] = x2 * co[i] + x1 * sn;
            }
        }
    }
}

void llc_rope_forward(float *x, const float *cs, int N, int T, int NH, int HS, int ld)
{
    rope_rotate(x, cs, NULL, N, T, NH, HS, ld, 1);
}

void llc_rope_backward(float *dx, const float *cs, int N, int T, int NH, int HS, int ld)
{
    rope_rotate(dx, cs, NULL, N, T, NH, HS, ld, -1);
}

void llc_rope_rows_forward(float *x, const float *cs, const int *rows, int M, int T, int NH, int HS, int ld)
{
    rope_rotate(x, cs, rows, M, T, NH, HS, ld, 1);
}

void llc_rope_rows_backward(float *dx, const float *cs, const int *rows, int M, int T, int NH, int HS, int ld)
{
    rope_rotate(dx, cs, rows, M, T, NH, HS, ld, -1);
}

/* ---------------- softmax cross-entropy ---------------- */

static double mask_sum(const float *mask, int N)
{
    if (!mask) return (double)N;
    double s = 0.0;
    for (int n = 0; n < N; n++) s += mask[n];
    return s;
}

/* Rows in blocks: the max and the exponentials of a block's rows first,
 * then their logs and scalings, so that a row's chain (max, exp, sum, log,
 * 1/sum) does not wait on the previous one's. Same operations per row as
 * one row at a time, so the same numbers. */
void llc_crossentropy_forward(double *loss, float *probs, const float *logits, const int *targets,
                              const float *mask, int N, int V)
{
    enum { BLK = 32 };
    float mxs[BLK], sums[BLK];
    double lts[BLK];
    double total = 0.0, wsum = mask_sum(mask, N);
    for (int n0 = 0; n0 < N; n0 += BLK) {
        const int nb = N - n0 < BLK ? N - n0 : BLK;
        for (int j = 0; j < nb; j++) {
            const int n = n0 + j;
            if (mask && mask[n] == 0.0f) continue;
            const float *l = logits + (size_t)n * V;
            mxs[j] = vmax(l, V);
            lts[j] = (double)l[targets[n]]; /* before p overwrites l when they alias */
            sums[j] = exp_shift_sum(probs + (size_t)n * V, l, mxs[j], V);
        }
        for (int j = 0; j < nb; j++) {
            const int n = n0 + j;
            const float m = mask ? mask[n] : 1.0f;
            if (m == 0.0f) continue;
            double nll = (double)mxs[j] + log((double)sums[j]) - lts[j];
            vscale(probs + (size_t)n * V, 1.0f / sums[j], V);
            total += (double)m * nll;
        }
    }
    *loss = wsum != 0.0 ? total / wsum : 0.0;
}

void llc_crossentropy_backward(float *dlogits, double dloss, const float *probs, const int *targets,
                               const float *mask, int N, int V)
{
    double wsum = mask_sum(mask, N);
    if (wsum == 0.0) return;
    for (int n = 0; n < N; n++) {
        float m = mask ? mask[n] : 1.0f;
        if (m == 0.0f) continue;
        float c = (float)(dloss * m / wsum);
        const float *p = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
        const v8f cv = splat8(c);
        int v = 0;
        for (; v + 8 <= V; v += 8) V8(d + v) += cv * CV8(p + v);
        for (; v < V; v++) d[v] += c * p[v];
        d[targets[n]] -= c;
    }
}
