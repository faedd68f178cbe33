/* kernels.c - forward/backward kernel pairs of the transformer; see
 * llc_kernels.h for the conventions (row-major, outputs first, backward
 * accumulates). Matrix products go to cblas (OpenBLAS), except attention's
 * (register-blocked loops, see below); row-wise kernels are loops
 * written on 8-wide (and 4-wide) vectors. Build with -DATTN_GEMM_MIN_T=n to re-measure
 * the attention switch. */
#include "llc_kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>
#if defined(__AVX2__) || defined(__FMA__)
#include <immintrin.h>
#endif

/* ---------------- vector helpers ----------------
 * GCC/Clang vector extension: v4f is one SSE register on x86-64, one NEON
 * register on arm64; unaligned and may alias, so any float pointer can be
 * read as v4f (or v8f). -O2 does not vectorise loops of unknown length, and
 * reductions only vectorise with reassociation (-ffast-math, which we
 * refuse), so the row reductions below keep eight partial sums explicitly.
 * The order of every sum is fixed, so results are deterministic. */
typedef float v4f __attribute__((vector_size(16), aligned(4), may_alias));
#define V4(p) (*(v4f *)(p))
#define CV4(p) (*(const v4f *)(p))

/* 8-wide: one AVX register when built with -mavx2 (Makefile ARCH), two SSE
 * registers otherwise; the same IEEE operations in the same order either
 * way, so an AVX build and a portable build give the same numbers, but for
 * the fused multiply-adds (MAD8 below) of a build with FMA. */
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));
#define V8(p) (*(v8f *)(p))
#define CV8(p) (*(const v8f *)(p))
#pragma GCC diagnostic ignored "-Wpsabi" /* 32-byte vectors in static inline functions only */

static inline v4f splat(float a) { return (v4f){a, a, a, a}; }
static inline __attribute__((always_inline)) v8f splat8(float a) { return (v8f){a, a, a, a, a, a, a, a}; }
/* In the body of a short copy or fill loop (a row of a few vectors): GCC
 * would turn the loop into a memcpy / memset call per row, which costs more
 * than the copy. An empty asm statement emits nothing but keeps the loop. */
#define NO_LIBCALL() __asm__("")

/* x += a · b on 8 lanes (MAD8), 4 (MAD4), 1 (MAD1); MADV(a, b, c) = a · b + c.
 * One fused multiply-add, rounded once, where the build has FMA (Makefile
 * ARCH), else a multiply and an add: an FMA build and a portable build agree
 * up to rounding, and every path of one build computes an element with the
 * same operations, whatever the block shape or thread count. */
#ifdef __FMA__
#define MAD8(x, a, b) ((x) = (v8f)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(x)))
#define MAD4(x, a, b) ((x) = (v4f)_mm_fmadd_ps((__m128)(a), (__m128)(b), (__m128)(x)))
#define MAD1(x, a, b) ((x) = __builtin_fmaf((a), (b), (x)))
#define MADV(a, b, c) ((v8f)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#else
#define MAD8(x, a, b) ((x) += (a) * (b))
#define MAD4(x, a, b) ((x) += (a) * (b))
#define MAD1(x, a, b) ((x) += (a) * (b))
#define MADV(a, b, c) ((a) * (b) + (c))
#endif

static inline float hsum(v4f v) { return (v[0] + v[1]) + (v[2] + v[3]); }

typedef int v8i __attribute__((vector_size(32), aligned(4), may_alias));
typedef unsigned v8u __attribute__((vector_size(32), aligned(4), may_alias));

/* Sum of the 8 lanes: the two halves, then the 4-lane tree. */
static inline __attribute__((always_inline)) float hsum8(v8f v)
{
    v4f lo = {v[0], v[1], v[2], v[3]}, hi = {v[4], v[5], v[6], v[7]};
    return hsum(lo + hi);
}

static float vsum(const float *x, int n)
{
    v8f acc = splat8(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += CV8(x + i);
    float s = hsum8(acc);
    for (; i < n; i++) s += x[i];
    return s;
}

static float vdot(const float *x, const float *y, int n)
{
    v8f acc = splat8(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += CV8(x + i) * CV8(y + i);
    float s = hsum8(acc);
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

static inline __attribute__((always_inline)) v8f vmax8(v8f a, v8f b)
{
    v8i gt = b > a;
    return (v8f)(((v8i)b & gt) | ((v8i)a & ~gt));
}

typedef int v4i __attribute__((vector_size(16), aligned(4), may_alias));

/* max of x[0..n): eight running maxima, then a tree over the lanes (a chain
 * of eight scalar compares would be the row's critical path). The maximum is
 * exact, so the order does not matter. */
static float vmax(const float *x, int n)
{
    float mx = -INFINITY;
    int i = 0;
    if (n >= 8) {
        v8f m = CV8(x);
        for (i = 8; i + 8 <= n; i += 8) m = vmax8(m, CV8(x + i));
        v4f lo = {m[0], m[1], m[2], m[3]}, hi = {m[4], m[5], m[6], m[7]};
        v4i gt = hi > lo;
        v4f a = (v4f)(((v4i)hi & gt) | ((v4i)lo & ~gt));
        float a01 = a[1] > a[0] ? a[1] : a[0], a23 = a[3] > a[2] ? a[3] : a[2];
        mx = a23 > a01 ? a23 : a01;
    }
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

/* exp(x) for x <= 0 (softmax arguments), Cephes expf: 2^n · p(r) with
 * r = x - n·ln2, relative error ~1 ulp. x < -87 is raised to -87 (exp = 1.6e-38
 * instead of less, invisible next to the row maximum's 1); NaN stays NaN. No
 * float-to-int conversion: n is read from the bits of x·log2e + 1.5·2^23. */
static inline __attribute__((always_inline)) v8f vexp8(v8f x)
{
    const v8f lo = splat8(-87.0f), magic = splat8(12582912.0f);
    v8i below = x < lo;
    x = (v8f)(((v8i)x & ~below) | ((v8i)lo & below));
    v8f t = MADV(x, splat8(1.44269504088896341f), magic);
    v8f n = t - magic;
    v8i ni = (v8i)t - (v8i)magic;
    v8f r = MADV(n, splat8(-0.693359375f), x);
    r = MADV(n, splat8(2.12194440e-4f), r);
    v8f p = MADV(splat8(1.9875691500e-4f), r, splat8(1.3981999507e-3f));
    p = MADV(p, r, splat8(8.3334519073e-3f));
    p = MADV(p, r, splat8(4.1665795894e-2f));
    p = MADV(p, r, splat8(1.6666665459e-1f));
    p = MADV(p, r, splat8(5.0000001201e-1f));
    p = MADV(p * r, r, r) + splat8(1.0f);
    v8u e = (v8u)(ni + 127) << 23; /* unsigned: no UB whatever ni holds (NaN input) */
    return p * (v8f)e;
}

/* y[i] = exp(x[i] - mx) for i < n, returns Σ y (float, eight partial sums).
 * The tail goes through the same vector code, padded with -inf (which adds
 * 1.6e-38 per padding lane to a sum that is >= 1 when mx is the row maximum,
 * so it cannot change it). y may alias x. */
static float exp_shift_sum(float *y, const float *x, float mx, int n)
{
    v8f acc = splat8(0.0f), m = splat8(mx);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f e = vexp8(CV8(x + i) - m);
        V8(y + i) = e;
        acc += e;
    }
    if (i < n) { /* 1..7 left, in lanes 0..r-1 */
        int r = n - i;
#if defined(__AVX2__) /* masked load and store: lane-by-lane filling goes through the stack and stalls */
        const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7}, in = lane < (v8i){r, r, r, r, r, r, r, r};
        v8f t = (v8f)_mm256_maskload_ps(x + i, (__m256i)in);
        t = (v8f)(((v8i)t & in) | ((v8i)splat8(-INFINITY) & ~in));
        v8f e = vexp8(t - m);
        acc += e;
        _mm256_maskstore_ps(y + i, (__m256i)in, (__m256)e);
#else
        v8f t = splat8(-INFINITY);
        for (int k = 0; k < r; k++) t[k] = x[i + k];
        v8f e = vexp8(t - m);
        acc += e;
        for (int k = 0; k < r; k++) y[i + k] = e[k];
#endif
    }
    return hsum8(acc);
}

static void vscale(float *x, float a, int n)
{
    int i = 0;
    v8f av = splat8(a);
    for (; i + 8 <= n; i += 8) V8(x + i) *= av;
    for (; i < n; i++) x[i] *= a;
}

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

/* y[0..n) = x[0..n): a row of a few vectors, inline (a memcpy call per row
 * costs more than the copy). */
static inline __attribute__((always_inline)) void copy_row(float *y, const float *x, int n)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        V8(y + j) = CV8(x + j);
        NO_LIBCALL();
    }
    for (; j < n; j++) y[j] = x[j];
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

/* ---------------- linear ---------------- */

void llc_linear_ld_forward(float *out, int ld, const float *in, const float *w, const float *b, int N, int IC,
                           int OC)
{
    if (N <= 0) return;
    if (b) {
        llc_gather_rows(out, (size_t)ld, b, 0, NULL, N, OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, in, IC, w, IC, b ? 1.0f : 0.0f, out,
                ld);
}

void llc_linear_forward(float *out, const float *in, const float *w, const float *b, int N, int IC, int OC)
{
    llc_linear_ld_forward(out, OC, in, w, b, N, IC, OC);
}

/* db += column sums of dout (rows ld apart), 32 columns at a time in
 * registers (a row-by-row llc_add would wait on its own stores). */
static void bias_backward(float *db, const float *dout, int ld, int N, int OC)
{
    int j = 0;
    for (; j + 32 <= OC; j += 32) {
        v8f a0 = splat8(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * ld + j;
            a0 += CV8(d), a1 += CV8(d + 8), a2 += CV8(d + 16), a3 += CV8(d + 24);
        }
        V8(db + j) += a0, V8(db + j + 8) += a1, V8(db + j + 16) += a2, V8(db + j + 24) += a3;
    }
    for (; j + 8 <= OC; j += 8) {
        v8f a0 = splat8(0.0f);
        for (int n = 0; n < N; n++) a0 += CV8(dout + (size_t)n * ld + j);
        V8(db + j) += a0;
    }
    for (; j < OC; j++) {
        float a = 0.0f;
        for (int n = 0; n < N; n++) a += dout[(size_t)n * ld + j];
        db[j] += a;
    }
}

void llc_linear_ld_backward(float *din, float *dw, float *db, const float *dout, int ld, const float *in,
                            const float *w, int N, int IC, int OC)
{
    if (N <= 0) return;
    if (din) /* din (N,IC) += dout (N,OC) · W (OC,IC) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, ld, w, IC, 1.0f, din, IC);
    if (dw) /* dW (OC,IC) += doutᵀ · in */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, ld, in, IC, 1.0f, dw, IC);
    if (db) bias_backward(db, dout, ld, N, OC);
}

void llc_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                         int N, int IC, int OC)
{
    llc_linear_ld_backward(din, dw, db, dout, OC, in, w, N, IC, OC);
}

void llc_linear_im_forward(float *out, const float *in, const float *w, const float *b, int N, int IC, int OC)
{
    if (N <= 0) return;
    if (b) {
        llc_gather_rows(out, (size_t)OC, b, 0, NULL, N, OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, OC, IC, 1.0f, in, IC, w, OC, b ? 1.0f : 0.0f, out,
                OC);
}

void llc_linear_im_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                            int N, int IC, int OC)
{
    if (N <= 0) return;
    if (din) /* din (N,IC) += dout (N,OC) · Wᵀ */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, IC, OC, 1.0f, dout, OC, w, OC, 1.0f, din, IC);
    if (dw) /* dW (IC,OC) += inᵀ · dout */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, IC, OC, N, 1.0f, in, IC, dout, OC, 1.0f, dw, OC);
    if (db) bias_backward(db, dout, OC, N, OC);
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

static inline int imin(int a, int b) { return a < b ? a : b; }

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

/* ---------------- attention ---------------- */

/* A head with no output and no gradient (a skipped one's output is not written). */
static int head_zeroed(const llc_head_clamp *cl, int h)
{
    return cl && (cl[h].kind == LLC_HEAD_ZERO_VALUES || cl[h].kind == LLC_HEAD_ZERO_OUTPUT ||
                  cl[h].kind == LLC_HEAD_SKIP);
}

static int head_skipped(const llc_head_clamp *cl, int h) { return cl && cl[h].kind == LLC_HEAD_SKIP; }

static int head_fixed_pattern(const llc_head_clamp *cl, int h)
{
    return cl && (cl[h].kind == LLC_HEAD_PATTERN || cl[h].kind == LLC_HEAD_PREV);
}

/* Row t of a clamped pattern into a (T). */
static void clamp_row(float *a, const llc_head_clamp *cl, int t, int T)
{
    if (cl->kind == LLC_HEAD_PATTERN) {
        memcpy(a, cl->pattern + (size_t)t * cl->ld, (size_t)T * sizeof *a);
    } else {
        memset(a, 0, (size_t)T * sizeof *a);
        a[t > 0 ? t - 1 : 0] = 1.0f;
    }
}

/* d scores from d probabilities in place: d[s] = a[s]·(d[s] - Σ a·d)·scale
 * for s < len, 0 for len <= s < T. */
static void softmax_backward_row(float *d, const float *a, int len, int T, float scale)
{
    float sum = vdot(a, d, len);
    v4f sv = splat(sum), sc = splat(scale);
    int s = 0;
    for (; s + 4 <= len; s += 4) V4(d + s) = CV4(a + s) * (CV4(d + s) - sv) * sc;
    for (; s < len; s++) d[s] = a[s] * (d[s] - sum) * scale;
    for (; s < T; s++) d[s] = 0.0f;
}

/* Softmax of a[0..len) in place, zeros in a[len..T). */
static void softmax_row(float *a, int len, int T)
{
    float sum = exp_shift_sum(a, a, vmax(a, len), len);
    vscale(a, 1.0f / sum, len);
    for (int s = len; s < T; s++) a[s] = 0.0f;
}

/* Attention has three implementations with the same results up to rounding:
 *  - "lanes" (below T = LLC_ATTN_GEMM_MIN_T when the heads not skipped
 *    number a multiple of 8 or divide 8, and none is clamped): eight
 *    (sequence, head) pairs at once, one per vector lane (see lanes_fwd).
 *    ICL (T=17, NH=8, HS=8): a
 *    4-chain estimate's step took 27% less time than with "small" (min of 5
 *    runs); the sort model (T=21, NH=4, HS=16, two sequences per vector, sums
 *    over keys and rows in registers): a one-thread estimate 16% less (min
 *    of 5, 2.42 s vs 2.87 s).
 *  - "small": per (b, h), register-blocked loops (4 rows x 16 columns of
 *    8-wide vectors) over the head's rows in place, K or V transposed into
 *    scratch; causal heads skip the masked blocks. No call overhead.
 *  - "tiled" (from LLC_ATTN_GEMM_MIN_T on): the same register blocks on the
 *    head's Q, K, V and dO gathered into contiguous blocks, padded strides,
 *    and the Aᵀ products read from A's columns (see attn_fwd_tiled).
 * Measured on one core (AMD EPYC 2.4 GHz, OpenBLAS 0.3.21, B=32), forward +
 * backward: T=5, NH=8, HS=8: small 114 us, cblas per (b, h) 227 us; T=21,
 * NH=4, HS=16: 555 vs 606 us; T=21, NH=8, HS=8: 824 vs 946 us; T=32, NH=4,
 * HS=16: 1118 vs 1029 us; T=64: 5047 vs 4476 us; T=256, HS=32 (B=8): cblas
 * ~2x faster than small. Hence the switch at LLC_ATTN_GEMM_MIN_T
 * (llc_kernels.h). "tiled" then replaced the cblas calls: at M's shapes
 * (B=16, T=256, NH=8, HS=32, causal) forward 20.7 ms vs 24.7, backward
 * 29.7 vs 32.1 (minimum of 25, one core); at T=21..64, NH=4, HS=16 it is
 * within noise of "small". The naive loops live in tests/test_kernels.c. */
#ifndef ATTN_GEMM_MIN_T
#define ATTN_GEMM_MIN_T LLC_ATTN_GEMM_MIN_T
#endif
#define LANES 8 /* heads per vector in the lanes kernels (below) */

/* A row stride >= T that is an odd multiple of 16 floats: with 1 KiB strides
 * (T = 256) the rows of a column strip would share 4 of the 64 L1 sets. */
static int pad_ld(int T) { return ((T + 15) & ~15) | 16; }

/* Row stride of att's (T, T) blocks: padded where the tiled kernels run. */
static int att_ld(int T) { return T < ATTN_GEMM_MIN_T ? T : pad_ld(T); }

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

#define ST(c, x) (acc > 0 ? ((c) += (x)) : acc < 0 ? ((c) -= (x)) : ((c) = (x)))
/* C (M, N) (+)= A (M, K) · B (K, N) for M <= 4 rows: A's element (r, k) is
 * A[r * ars + k * aks], so (ars, aks) = (lda, 1) reads A by rows and
 * (1, lda) reads the columns of a (K, M) matrix: Aᵀ · B with no transpose.
 * acc = 0 stores C instead of adding to it, acc = -1 subtracts from it.
 * Row strides ldb, ldc. Blocks of 4 rows x 16 columns stay in registers
 * across the k loop. Called through the wrappers below, with constant aks
 * and acc. */
static inline __attribute__((always_inline)) void gemm_rows_x(float *restrict C, int ldc, const float *restrict A,
                                                              size_t ars, size_t aks, const float *restrict B,
                                                              int ldb, int M, int N, int K, int acc)
{
    if (M == 4) {
        const float *a0 = A, *a1 = A + ars, *a2 = A + 2 * ars, *a3 = A + 3 * ars;
        float *c0 = C, *c1 = C + ldc, *c2 = C + 2 * (size_t)ldc, *c3 = C + 3 * (size_t)ldc;
        int j = 0;
        /* 4 x 24 first (twelve sums: 15-20% more than 4 x 16 in L1), but
         * not on exactly 32 columns, which two 4 x 16 blocks do better */
        for (; j + 24 <= N && N - j != 32; j += 24) {
            v8f z = splat8(0.0f), x00 = z, x01 = z, x02 = z, x10 = z, x11 = z, x12 = z;
            v8f x20 = z, x21 = z, x22 = z, x30 = z, x31 = z, x32 = z;
            for (int k = 0; k < K; k++) {
                const float *bk = B + (size_t)k * ldb + j;
                v8f b0 = CV8(bk), b1 = CV8(bk + 8), b2 = CV8(bk + 16), a;
                a = splat8(a0[k * aks]), MAD8(x00, a, b0), MAD8(x01, a, b1), MAD8(x02, a, b2);
                a = splat8(a1[k * aks]), MAD8(x10, a, b0), MAD8(x11, a, b1), MAD8(x12, a, b2);
                a = splat8(a2[k * aks]), MAD8(x20, a, b0), MAD8(x21, a, b1), MAD8(x22, a, b2);
                a = splat8(a3[k * aks]), MAD8(x30, a, b0), MAD8(x31, a, b1), MAD8(x32, a, b2);
            }
            ST(V8(c0 + j), x00), ST(V8(c0 + j + 8), x01), ST(V8(c0 + j + 16), x02);
            ST(V8(c1 + j), x10), ST(V8(c1 + j + 8), x11), ST(V8(c1 + j + 16), x12);
            ST(V8(c2 + j), x20), ST(V8(c2 + j + 8), x21), ST(V8(c2 + j + 16), x22);
            ST(V8(c3 + j), x30), ST(V8(c3 + j + 8), x31), ST(V8(c3 + j + 16), x32);
        }
        for (; j + 16 <= N; j += 16) {
            v8f z = splat8(0.0f), x00 = z, x01 = z, x10 = z, x11 = z, x20 = z, x21 = z, x30 = z, x31 = z;
            for (int k = 0; k < K; k++) {
                const float *bk = B + (size_t)k * ldb + j;
                v8f b0 = CV8(bk), b1 = CV8(bk + 8), a;
                a = splat8(a0[k * aks]), MAD8(x00, a, b0), MAD8(x01, a, b1);
                a = splat8(a1[k * aks]), MAD8(x10, a, b0), MAD8(x11, a, b1);
                a = splat8(a2[k * aks]), MAD8(x20, a, b0), MAD8(x21, a, b1);
                a = splat8(a3[k * aks]), MAD8(x30, a, b0), MAD8(x31, a, b1);
            }
            ST(V8(c0 + j), x00), ST(V8(c0 + j + 8), x01);
            ST(V8(c1 + j), x10), ST(V8(c1 + j + 8), x11);
            ST(V8(c2 + j), x20), ST(V8(c2 + j + 8), x21);
            ST(V8(c3 + j), x30), ST(V8(c3 + j + 8), x31);
        }
        for (; j + 8 <= N; j += 8) {
            v8f z = splat8(0.0f), x0 = z, x1 = z, x2 = z, x3 = z;
            for (int k = 0; k < K; k++) {
                v8f b0 = CV8(B + (size_t)k * ldb + j);
                MAD8(x0, splat8(a0[k * aks]), b0), MAD8(x1, splat8(a1[k * aks]), b0);
                MAD8(x2, splat8(a2[k * aks]), b0), MAD8(x3, splat8(a3[k * aks]), b0);
            }
            ST(V8(c0 + j), x0), ST(V8(c1 + j), x1), ST(V8(c2 + j), x2), ST(V8(c3 + j), x3);
        }
        for (; j + 4 <= N; j += 4) {
            v4f z = splat(0.0f), x0 = z, x1 = z, x2 = z, x3 = z;
            for (int k = 0; k < K; k++) {
                v4f b0 = CV4(B + (size_t)k * ldb + j);
                MAD4(x0, splat(a0[k * aks]), b0), MAD4(x1, splat(a1[k * aks]), b0);
                MAD4(x2, splat(a2[k * aks]), b0), MAD4(x3, splat(a3[k * aks]), b0);
            }
            ST(V4(c0 + j), x0), ST(V4(c1 + j), x1), ST(V4(c2 + j), x2), ST(V4(c3 + j), x3);
        }
        for (; j < N; j++) {
            float x0 = 0.0f, x1 = 0.0f, x2 = 0.0f, x3 = 0.0f;
            for (int k = 0; k < K; k++) {
                float b0 = B[(size_t)k * ldb + j];
                MAD1(x0, a0[k * aks], b0), MAD1(x1, a1[k * aks], b0);
                MAD1(x2, a2[k * aks], b0), MAD1(x3, a3[k * aks], b0);
            }
            ST(c0[j], x0), ST(c1[j], x1), ST(c2[j], x2), ST(c3[j], x3);
        }
        return;
    }
    for (int r = 0; r < M; r++) {
        const float *ar = A + (size_t)r * ars;
        float *cr = C + (size_t)r * ldc;
        int j = 0;
        for (; j + 16 <= N; j += 16) {
            v8f x0 = splat8(0.0f), x1 = x0;
            for (int k = 0; k < K; k++) {
                v8f a = splat8(ar[k * aks]);
                MAD8(x0, a, CV8(B + (size_t)k * ldb + j)), MAD8(x1, a, CV8(B + (size_t)k * ldb + j + 8));
            }
            ST(V8(cr + j), x0), ST(V8(cr + j + 8), x1);
        }
        for (; j + 8 <= N; j += 8) {
            v8f x0 = splat8(0.0f);
            for (int k = 0; k < K; k++) MAD8(x0, splat8(ar[k * aks]), CV8(B + (size_t)k * ldb + j));
            ST(V8(cr + j), x0);
        }
        for (; j + 4 <= N; j += 4) {
            v4f x0 = splat(0.0f);
            for (int k = 0; k < K; k++) MAD4(x0, splat(ar[k * aks]), CV4(B + (size_t)k * ldb + j));
            ST(V4(cr + j), x0);
        }
        for (; j < N; j++) {
            float x0 = 0.0f;
            for (int k = 0; k < K; k++) MAD1(x0, ar[k * aks], B[(size_t)k * ldb + j]);
            ST(cr[j], x0);
        }
    }
}
#undef ST

/* C (M, N) += A (M, K) · B (K, N), A with row stride lda. */
static void gemm_rows(float *restrict C, int ldc, const float *restrict A, int lda, const float *restrict B, int ldb,
                      int M, int N, int K)
{
    gemm_rows_x(C, ldc, A, (size_t)lda, 1, B, ldb, M, N, K, 1);
}

/* C (M, N) = A (M, K) · B (K, N). */
static void gemm_rows_set(float *restrict C, int ldc, const float *restrict A, int lda, const float *restrict B,
                          int ldb, int M, int N, int K)
{
    gemm_rows_x(C, ldc, A, (size_t)lda, 1, B, ldb, M, N, K, 0);
}

/* C (M, N) += Aᵀ · B (K, N) (set: C =), A (K, M) packed by pack_cols (row
 * stride 4). */
static void gemm_cols4(float *restrict C, int ldc, const float *restrict pk, const float *restrict B, int ldb, int M,
                       int N, int K, int set)
{
    if (set)
        gemm_rows_x(C, ldc, pk, 1, 4, B, ldb, M, N, K, 0);
    else
        gemm_rows_x(C, ldc, pk, 1, 4, B, ldb, M, N, K, 1);
}

/* The register blocks above over any number of rows (llc_kernels.h). */
void llc_gemm_nn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, int acc)
{
    for (int i = 0; i < M; i += 4) {
        const int m = imin(4, M - i);
        float *c = C + (size_t)i * ldc;
        const float *a = A + (size_t)i * lda;
        if (acc > 0)
            gemm_rows_x(c, ldc, a, (size_t)lda, 1, B, ldb, m, N, K, 1);
        else if (acc < 0)
            gemm_rows_x(c, ldc, a, (size_t)lda, 1, B, ldb, m, N, K, -1);
        else
            gemm_rows_x(c, ldc, a, (size_t)lda, 1, B, ldb, m, N, K, 0);
    }
}

/* Transpose the 8 x 8 block held in the vectors x0..x7 (row i in xi) in
 * place: unpack, 2x2-block shuffle, 128-bit halves, three rounds of eight
 * shuffles in registers. */
#define SH(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define TR8(x0, x1, x2, x3, x4, x5, x6, x7)                                                         \
    do {                                                                                          \
        v8f t0 = SH(x0, x1, 0, 8, 1, 9, 4, 12, 5, 13), t1 = SH(x0, x1, 2, 10, 3, 11, 6, 14, 7, 15); \
        v8f t2 = SH(x2, x3, 0, 8, 1, 9, 4, 12, 5, 13), t3 = SH(x2, x3, 2, 10, 3, 11, 6, 14, 7, 15); \
        v8f t4 = SH(x4, x5, 0, 8, 1, 9, 4, 12, 5, 13), t5 = SH(x4, x5, 2, 10, 3, 11, 6, 14, 7, 15); \
        v8f t6 = SH(x6, x7, 0, 8, 1, 9, 4, 12, 5, 13), t7 = SH(x6, x7, 2, 10, 3, 11, 6, 14, 7, 15); \
        v8f u0 = SH(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = SH(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15); \
        v8f u2 = SH(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = SH(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15); \
        v8f u4 = SH(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = SH(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15); \
        v8f u6 = SH(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = SH(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15); \
        x0 = SH(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);                                                \
        x1 = SH(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);                                                \
        x2 = SH(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);                                                \
        x3 = SH(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);                                                \
        x4 = SH(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);                                              \
        x5 = SH(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);                                              \
        x6 = SH(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);                                              \
        x7 = SH(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);                                              \
    } while (0)

#define TR8V(a) TR8(a##0, a##1, a##2, a##3, a##4, a##5, a##6, a##7)

/* Eight vectors a0..a7 loaded from src, ss floats apart (LOAD8S), or from
 * the eight pointers p0..p7 at offset o (LOAD8P); stored (OP: = or +=) at d,
 * ds apart (STORE8S), or at p0..p7 + o (STORE8P). */
#define LOAD8S(a, src, ss)                                                                            \
    v8f a##0 = CV8(src), a##1 = CV8((src) + (ss)), a##2 = CV8((src) + 2 * (ss)), a##3 = CV8((src) + 3 * (ss)), \
        a##4 = CV8((src) + 4 * (ss)), a##5 = CV8((src) + 5 * (ss)), a##6 = CV8((src) + 6 * (ss)),     \
        a##7 = CV8((src) + 7 * (ss))
#define LOAD8P(a, p, o)                                                                               \
    v8f a##0 = CV8(p##0 + (o)), a##1 = CV8(p##1 + (o)), a##2 = CV8(p##2 + (o)), a##3 = CV8(p##3 + (o)), \
        a##4 = CV8(p##4 + (o)), a##5 = CV8(p##5 + (o)), a##6 = CV8(p##6 + (o)), a##7 = CV8(p##7 + (o))
#define STORE8S(d, ds, a, OP)                                                                         \
    (V8(d) OP a##0, V8((d) + (ds)) OP a##1, V8((d) + 2 * (ds)) OP a##2, V8((d) + 3 * (ds)) OP a##3,   \
     V8((d) + 4 * (ds)) OP a##4, V8((d) + 5 * (ds)) OP a##5, V8((d) + 6 * (ds)) OP a##6,              \
     V8((d) + 7 * (ds)) OP a##7)
#define STORE8P(p, o, a, OP)                                                                          \
    (V8(p##0 + (o)) OP a##0, V8(p##1 + (o)) OP a##1, V8(p##2 + (o)) OP a##2, V8(p##3 + (o)) OP a##3,  \
     V8(p##4 + (o)) OP a##4, V8(p##5 + (o)) OP a##5, V8(p##6 + (o)) OP a##6, V8(p##7 + (o)) OP a##7)

/* dst[i * ds + j] (op)= src[j * ss + i] for an 8 x 8 block. */
#define TRANSPOSE8(dst, ds, src, ss, OP)                                                              \
    do {                                                                                              \
        const float *s_ = (src);                                                                      \
        float *d_ = (dst);                                                                            \
        const size_t ss_ = (ss), ds_ = (ds);                                                          \
        LOAD8S(x, s_, ss_);                                                                           \
        TR8V(x);                                                                                      \
        STORE8S(d_, ds_, x, OP);                                                                      \
    } while (0)

/* xt (cols, rows) = x (rows, cols) with row strides ldx, ldt: 8 x 8 blocks
 * in registers, the edges element by element. */
void llc_transpose(float *restrict xt, int ldt, const float *restrict x, int ldx, int rows, int cols)
{
    const int r8 = rows & ~7, c8 = cols & ~7;
    for (int r = 0; r < r8; r += 8)
        for (int c = 0; c < c8; c += 8) TRANSPOSE8(xt + (size_t)c * ldt + r, ldt, x + (size_t)r * ldx + c, ldx, =);
    for (int r = 0; r < rows; r++) {
        const int c0 = r < r8 ? c8 : 0;
        for (int c = c0; c < cols; c++) xt[(size_t)c * ldt + r] = x[(size_t)r * ldx + c];
    }
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

static void attn_fwd_tiled(float *out, float *att, float *scratch, const float *qkv, const llc_head_clamp *cl, int B,
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
static void attn_bwd_tiled(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
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

/* ---------------- attention with (sequence, head) pairs in vector lanes ----------------
 * At T < ATTN_GEMM_MIN_T ("lanes"), when the NA heads not skipped
 * (LLC_HEAD_SKIP; NA = NH without) number a multiple of 8 or divide 8:
 * lane l of an 8-wide vector holds the same quantity of one (sequence, head)
 * pair (one score, one probability, one component of q, k, v or their
 * gradients), so every operation fills a vector whatever T and HS are, with
 * no per-head transposes, calls, memsets or padded row tails; at NH = 8,
 * HS = 8, T = 17 the per-(b, h) loops spent most of their time on exactly
 * those. NA a multiple of 8: one sequence and 8 of its heads per vector.
 * NA = 1, 2, 4: every active head of 8/NA sequences whose query positions
 * are the same (all sequences in the full kernels; in the rows kernels, consecutive
 * sequences with the same selected positions); the lanes past the last such
 * sequence repeat the first one's and are dropped (nothing written, their
 * gradients masked to 0). The group's queries, keys and values are gathered
 * into lane layout (x[(row * HS + i) * 8 + lane]) in scratch. A lane's
 * numbers depend only on its own (sequence, head, query row), whatever
 * shares the vector, so the full and the rows kernels agree bit for bit. */

/* The heads not skipped. */
static int active_heads(const llc_head_clamp *cl, int NH)
{
    int na = 0;
    for (int h = 0; h < NH; h++) na += !head_skipped(cl, h);
    return na;
}

/* Can the lanes kernels run? Skipped heads are left out of the lanes. The
 * others: forward, no clamp; backward, with a multiple of 8 of them, a head
 * may be zeroed (no gradient: its lanes of d out are masked to 0). A
 * weight-refined head's passes skip every other head of its layer, so its
 * (sequence, head) pairs fill the lanes with 8 sequences. */
static int lanes_ok(const llc_head_clamp *cl, int NH, int T, int allow_zeroed)
{
    const int na = active_heads(cl, NH);
    if (na == 0 || (na % LANES && LANES % na) || T >= ATTN_GEMM_MIN_T) return 0;
    for (int h = 0; cl && h < NH; h++)
        if (cl[h].kind != LLC_HEAD_FREE && !head_skipped(cl, h) &&
            !(allow_zeroed && na % LANES == 0 && head_zeroed(cl, h)))
            return 0;
    return 1;
}

/* The lanes' eight pointers x[l] + off in locals p0..p7 (the may_alias
 * vector stores would otherwise make the compiler reload them). */
#define LANE_PTRS(TY, p, x, off)                                                                      \
    TY *p##0 = (x)[0] + (off), *p##1 = (x)[1] + (off), *p##2 = (x)[2] + (off), *p##3 = (x)[3] + (off), \
       *p##4 = (x)[4] + (off), *p##5 = (x)[5] + (off), *p##6 = (x)[6] + (off), *p##7 = (x)[7] + (off)

/* xt (n, HS) lanes <- rows pos[r] (r if pos is NULL) of the lanes' blocks:
 * lane l's HS floats at x[l] + off + row*ld; 8 x 8 blocks when HS is a
 * multiple of 8. */
static void to_lanes(float *restrict xt, const float *const *x, size_t off, int ld, const int *pos, int n, int HS)
{
    LANE_PTRS(const float, p, x, off);
    const float *ps[LANES] = {p0, p1, p2, p3, p4, p5, p6, p7};
    for (int r = 0; r < n; r++) {
        const size_t ro = (size_t)(pos ? pos[r] : r) * ld;
        float *o = xt + (size_t)r * HS * LANES;
        if (HS % 8 == 0) {
            for (int c = 0; c < HS; c += 8) {
                LOAD8P(a, p, ro + c);
                TR8V(a);
                STORE8S(o + (size_t)c * LANES, LANES, a, =);
            }
            continue;
        }
        for (int l = 0; l < LANES; l++)
            for (int i = 0; i < HS; i++) o[(size_t)i * LANES + l] = ps[l][ro + i];
    }
}

/* The first `live` lanes' blocks += xt lanes (add = 1) or = xt lanes (add =
 * 0), the inverse of to_lanes. Called through the two wrappers below. */
static inline __attribute__((always_inline)) void from_lanes_x(float *const *x, size_t off, int ld,
                                                               const float *restrict xt, const int *pos, int n,
                                                               int HS, int live, int add)
{
    LANE_PTRS(float, p, x, off);
    for (int r = 0; r < n; r++) {
        const size_t ro = (size_t)(pos ? pos[r] : r) * ld;
        const float *o = xt + (size_t)r * HS * LANES;
        if (HS % 8 == 0 && live == LANES) {
            for (int c = 0; c < HS; c += 8) {
                LOAD8S(a, o + (size_t)c * LANES, LANES);
                TR8V(a);
                if (add)
                    STORE8P(p, ro + c, a, +=);
                else
                    STORE8P(p, ro + c, a, =);
            }
            continue;
        }
        for (int l = 0; l < live; l++)
            for (int i = 0; i < HS; i++) {
                float *y = &x[l][off + ro + i];
                *y = add ? *y + o[(size_t)i * LANES + l] : o[(size_t)i * LANES + l];
            }
    }
}

static void from_lanes_add(float *const *x, size_t off, int ld, const float *restrict xt, const int *pos, int n,
                           int HS, int live)
{
    from_lanes_x(x, off, ld, xt, pos, n, HS, live, 1);
}

static void from_lanes_set(float *const *x, size_t off, int ld, const float *restrict xt, const int *pos, int n,
                           int HS, int live)
{
    from_lanes_x(x, off, ld, xt, pos, n, HS, live, 0);
}

/* Row r of the group's attention (lanes p[s*8 + l], s < len) to and from the
 * att rows of its lanes (lane l's row at a[l] + off), 8 x 8 blocks of s;
 * only the first `live` lanes are written. */
static void att_from_lanes(float *const *a, size_t off, const float *p, int len, int T, int live)
{
    LANE_PTRS(float, q, a, off);
    int s = 0;
    if (live == LANES)
        for (; s + 8 <= len; s += 8) {
            LOAD8S(y, p + (size_t)s * LANES, LANES);
            TR8V(y);
            STORE8P(q, s, y, =);
        }
    for (int l = 0; l < live; l++) {
        float *row = a[l] + off;
        for (int j = s; j < len; j++) row[j] = p[(size_t)j * LANES + l];
        for (int j = len; j < T; j++) row[j] = 0.0f;
    }
}

static void att_to_lanes(float *p, const float *const *a, size_t off, int len)
{
    LANE_PTRS(const float, q, a, off);
    int s = 0;
    for (; s + 8 <= len; s += 8) {
        LOAD8P(y, q, s);
        TR8V(y);
        STORE8S(p + (size_t)s * LANES, LANES, y, =);
    }
    for (int l = 0; l < LANES; l++)
        for (int j = s; j < len; j++) p[(size_t)j * LANES + l] = a[l][off + j];
}

/* Where one vector's (sequence, head) pairs live: lane l is head head[l] of
 * a sequence whose qkv rows start at q[l] (at the head's Q columns), whose
 * queries are at positions tq[r] (r < m, increasing, the same for every
 * lane), with out / d out row r at o[l] / go[l] + r*D and att row r at
 * a[l] / ca[l] + r*ars; dq[l] = dqkv at the place of q[l]. Lanes >= live
 * repeat lower ones and are dropped. */
typedef struct {
    const float *q[LANES];
    float *o[LANES];
    const float *go[LANES];
    float *a[LANES];
    const float *ca[LANES];
    float *dq[LANES];
    int head[LANES];
    const int *tq;
    int m, live;
    size_t ars;
} lanes_grp;

/* y (HS) lanes = Σ_{s < len} w[s*ws] x[s] (x (len, HS) lanes), summed in
 * the order of s with eight components at once in registers. */
static void lanes_wsum(float *restrict y, const float *restrict w, size_t ws, const float *restrict x, int len, int HS)
{
    const size_t xs = (size_t)HS * LANES;
    int i = 0;
    for (; i + 8 <= HS; i += 8) {
        v8f a0 = splat8(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const float *xi = x + (size_t)i * LANES;
        for (int s = 0; s < len; s++, xi += xs) {
            const v8f w_ = CV8(w + s * ws);
            MAD8(a0, w_, CV8(xi)), MAD8(a1, w_, CV8(xi + LANES)), MAD8(a2, w_, CV8(xi + 2 * LANES));
            MAD8(a3, w_, CV8(xi + 3 * LANES)), MAD8(a4, w_, CV8(xi + 4 * LANES)), MAD8(a5, w_, CV8(xi + 5 * LANES));
            MAD8(a6, w_, CV8(xi + 6 * LANES)), MAD8(a7, w_, CV8(xi + 7 * LANES));
        }
        float *yi = y + (size_t)i * LANES;
        V8(yi) = a0, V8(yi + LANES) = a1, V8(yi + 2 * LANES) = a2, V8(yi + 3 * LANES) = a3;
        V8(yi + 4 * LANES) = a4, V8(yi + 5 * LANES) = a5, V8(yi + 6 * LANES) = a6, V8(yi + 7 * LANES) = a7;
    }
    for (; i < HS; i++) {
        v8f a = splat8(0.0f);
        for (int s = 0; s < len; s++) MAD8(a, CV8(w + s * ws), CV8(x + s * xs + (size_t)i * LANES));
        V8(y + (size_t)i * LANES) = a;
    }
}

static void lanes_fwd(const lanes_grp *g, float *scratch, int T, int D, int HS, int causal)
{
    const int D3 = 3 * D, m = g->m, kend = causal ? g->tq[m - 1] + 1 : T;
    const v8f scale = splat8(1.0f / sqrtf((float)HS));
    float *kt = scratch, *vt = kt + (size_t)T * HS * LANES, *qt = vt + (size_t)T * HS * LANES;
    float *p = qt + (size_t)T * HS * LANES, *ot = p + (size_t)T * LANES;
    to_lanes(kt, g->q, (size_t)D, D3, NULL, kend, HS);
    to_lanes(vt, g->q, 2 * (size_t)D, D3, NULL, kend, HS);
    to_lanes(qt, g->q, 0, D3, g->tq, m, HS);
    for (int r = 0; r < m; r++) {
        const int len = causal ? g->tq[r] + 1 : T;
        const float *qr = qt + (size_t)r * HS * LANES;
        v8f mx = splat8(-INFINITY);
        int s = 0;
        for (; s + 4 <= len; s += 4) { /* four keys at once: four independent sums over i */
            const float *k0 = kt + (size_t)s * HS * LANES, *k1 = k0 + HS * LANES, *k2 = k1 + HS * LANES,
                        *k3 = k2 + HS * LANES;
            v8f a0 = splat8(0.0f), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < HS; i++) {
                const v8f qi = CV8(qr + i * LANES);
                MAD8(a0, qi, CV8(k0 + i * LANES));
                MAD8(a1, qi, CV8(k1 + i * LANES));
                MAD8(a2, qi, CV8(k2 + i * LANES));
                MAD8(a3, qi, CV8(k3 + i * LANES));
            }
            a0 *= scale, a1 *= scale, a2 *= scale, a3 *= scale;
            V8(p + s * LANES) = a0, V8(p + (s + 1) * LANES) = a1, V8(p + (s + 2) * LANES) = a2;
            V8(p + (s + 3) * LANES) = a3;
            mx = vmax8(vmax8(vmax8(vmax8(mx, a0), a1), a2), a3);
        }
        for (; s < len; s++) {
            const float *ks = kt + (size_t)s * HS * LANES;
            v8f acc = splat8(0.0f);
            for (int i = 0; i < HS; i++) MAD8(acc, CV8(qr + i * LANES), CV8(ks + i * LANES));
            acc *= scale;
            V8(p + s * LANES) = acc;
            mx = vmax8(mx, acc);
        }
        v8f sum = splat8(0.0f);
        for (s = 0; s < len; s++) {
            v8f e = vexp8(CV8(p + s * LANES) - mx);
            V8(p + s * LANES) = e;
            sum += e;
        }
        const v8f inv = splat8(1.0f) / sum;
        for (s = 0; s < len; s++) V8(p + s * LANES) = CV8(p + s * LANES) * inv;
        lanes_wsum(ot, p, LANES, vt, len, HS);
        const size_t orow = (size_t)r * D;
        from_lanes_set(g->o, orow, 0, ot, NULL, 1, HS, g->live);
        att_from_lanes(g->a, r * g->ars, p, len, T, g->live);
    }
}

static void lanes_bwd(const lanes_grp *g, const llc_head_clamp *cl, float *scratch, int T, int D, int HS, int causal)
{
    const int D3 = 3 * D, m = g->m, kend = causal ? g->tq[m - 1] + 1 : T;
    const size_t th = (size_t)T * HS * LANES, tt = (size_t)T * LANES;
    const v8f scale = splat8(1.0f / sqrtf((float)HS));
    float *kt = scratch, *vt = kt + th, *qt = vt + th, *gt = qt + th, *dqt = gt + th, *dkt = dqt + th, *dvt = dkt + th;
    float *pm = dvt + th, *dsm = pm + (size_t)T * tt; /* (m, T) lanes: the rows' P and d scores */
    to_lanes(kt, g->q, (size_t)D, D3, NULL, kend, HS);
    to_lanes(vt, g->q, 2 * (size_t)D, D3, NULL, kend, HS);
    to_lanes(qt, g->q, 0, D3, g->tq, m, HS);
    to_lanes(gt, g->go, 0, D, NULL, m, HS);
    v8i keep = {0};
    for (int l = 0; l < g->live; l++) keep[l] = head_zeroed(cl, g->head[l]) ? 0 : -1;
    for (size_t j = 0; j < (size_t)m * HS; j++) V8(gt + j * LANES) = (v8f)((v8i)CV8(gt + j * LANES) & keep);
    for (int r = 0; r < m; r++) {
        const int len = causal ? g->tq[r] + 1 : T;
        const float *gr = gt + (size_t)r * HS * LANES;
        float *p = pm + r * tt, *ds = dsm + r * tt;
        att_to_lanes(p, g->ca, r * g->ars, len);
        /* dP = dO · Vᵀ (into ds), two keys at once, and Σ_s P dP */
        v8f dot = splat8(0.0f);
        int s = 0;
        for (; s + 2 <= len; s += 2) {
            const float *v0 = vt + (size_t)s * HS * LANES, *v1 = v0 + HS * LANES;
            v8f a0 = splat8(0.0f), a1 = a0;
            for (int i = 0; i < HS; i++) {
                const v8f gi = CV8(gr + i * LANES);
                MAD8(a0, gi, CV8(v0 + i * LANES));
                MAD8(a1, gi, CV8(v1 + i * LANES));
            }
            V8(ds + s * LANES) = a0, V8(ds + (s + 1) * LANES) = a1;
            MAD8(dot, CV8(p + s * LANES), a0);
            MAD8(dot, CV8(p + (s + 1) * LANES), a1);
        }
        for (; s < len; s++) {
            const float *vs = vt + (size_t)s * HS * LANES;
            v8f acc = splat8(0.0f);
            for (int i = 0; i < HS; i++) MAD8(acc, CV8(gr + i * LANES), CV8(vs + i * LANES));
            V8(ds + s * LANES) = acc;
            MAD8(dot, CV8(p + s * LANES), acc);
        }
        /* d scores = P (dP - Σ P dP) scale; dQ = dS · K */
        for (s = 0; s < len; s++) V8(ds + s * LANES) = CV8(p + s * LANES) * (CV8(ds + s * LANES) - dot) * scale;
        lanes_wsum(dqt + (size_t)r * HS * LANES, ds, LANES, kt, len, HS);
    }
    /* dV = Pᵀ · dO and dK = dSᵀ · Q: key s over the rows that see it (r >= r0) */
    for (int s = 0, r0 = 0; s < kend; s++) {
        while (causal && g->tq[r0] < s) r0++;
        lanes_wsum(dvt + (size_t)s * HS * LANES, pm + r0 * tt + s * LANES, tt, gt + (size_t)r0 * HS * LANES, m - r0,
                   HS);
        lanes_wsum(dkt + (size_t)s * HS * LANES, dsm + r0 * tt + s * LANES, tt, qt + (size_t)r0 * HS * LANES, m - r0,
                   HS);
    }
    from_lanes_add(g->dq, 0, D3, dqt, g->tq, m, HS, g->live);
    from_lanes_add(g->dq, (size_t)D, D3, dkt, NULL, kend, HS, g->live);
    from_lanes_add(g->dq, 2 * (size_t)D, D3, dvt, NULL, kend, HS, g->live);
}

/* Group [i0, i1) of rows: the run of rows in the sequence of rows[i0]. */
static int row_group_end(const int *rows, int i0, int M, int T)
{
    int b = rows[i0] / T, i1 = i0 + 1;
    while (i1 < M && rows[i1] / T == b) i1++;
    return i1;
}

/* The lanes kernels over query groups: rows NULL = all T positions of each
 * of n sequences (the full kernels: att (n, NH, T, T)), else the n selected
 * rows, grouped by sequence (att (n, NH, T)); out / dout rows follow the
 * query rows. dqkv NULL: the forward (writes out, att), else the backward
 * (reads dout, att; adds to dqkv). */
static void lanes_attention(float *out, float *att, float *dqkv, const float *dout, const float *catt, float *scratch,
                            const float *qkv, const int *rows, const llc_head_clamp *cl, int n, int T, int NH, int HS,
                            int causal)
{
    const int D = NH * HS, D3 = 3 * D, M = rows ? n : n * T;
    const int na = active_heads(cl, NH);          /* the heads not skipped */
    const int nseq = na < LANES ? LANES / na : 1; /* sequences per vector */
    /* head h's att rows: (i0 + r)*NH*T + h*T + s with rows, ((b*NH + h)*T + r)*T + s without */
    const size_t ahs = rows ? (size_t)T : (size_t)T * T, ars = rows ? (size_t)NH * T : (size_t)T;
    int tq[ATTN_GEMM_MIN_T], first[LANES];
    for (int i0 = 0, i1; i0 < M; i0 = i1) {
        /* up to nseq consecutive sequences with the same query positions; first[j] = their first query */
        i1 = rows ? row_group_end(rows, i0, M, T) : i0 + T;
        const int m = i1 - i0;
        for (int r = 0; r < m; r++) tq[r] = rows ? rows[i0 + r] % T : r;
        int cnt = 0;
        first[cnt++] = i0;
        while (cnt < nseq && i1 < M) {
            const int j1 = rows ? row_group_end(rows, i1, M, T) : i1 + T;
            int same = j1 - i1 == m;
            for (int r = 0; same && r < m; r++) same = (rows ? rows[i1 + r] % T : r) == tq[r];
            if (!same) break;
            first[cnt++] = i1;
            i1 = j1;
        }
        for (int hs = 0; hs < NH;) {
            int hb[LANES], k = 0; /* the next min(na, 8) active heads */
            for (; k < LANES && hs < NH; hs++)
                if (!head_skipped(cl, hs)) hb[k++] = hs;
            if (k == 0) break;
            lanes_grp g = {.tq = tq, .m = m, .ars = ars};
            for (int l = 0; l < LANES; l++) {
                const int j = l / (LANES / nseq), h = hb[nseq > 1 ? l % na : l];
                const int fi = first[j < cnt ? j : 0]; /* a dropped lane repeats the first sequence */
                const int b = rows ? rows[fi] / T : fi / T;
                const size_t a0 = rows ? (size_t)fi * NH * T : (size_t)b * NH * T * T;
                if (j < cnt) g.live = l + 1;
                g.head[l] = h;
                g.q[l] = qkv + (size_t)b * T * D3 + h * HS;
                if (!dqkv) {
                    g.o[l] = out + (size_t)fi * D + h * HS;
                    g.a[l] = att + a0 + h * ahs;
                } else {
                    g.go[l] = dout + (size_t)fi * D + h * HS;
                    g.ca[l] = catt + a0 + h * ahs;
                    g.dq[l] = dqkv + (size_t)b * T * D3 + h * HS;
                }
            }
            if (!dqkv) {
                lanes_fwd(&g, scratch, T, D, HS, causal);
                continue;
            }
            int any = 0;
            for (int l = 0; l < g.live; l++) any |= !head_zeroed(cl, g.head[l]);
            if (any) lanes_bwd(&g, cl, scratch, T, D, HS, causal);
        }
    }
}

void llc_attention_forward(float *out, float *att, float *scratch, const float *qkv, const llc_head_clamp *clamp,
                           int B, int T, int NH, int HS, int causal)
{
    if (T >= ATTN_GEMM_MIN_T)
        attn_fwd_tiled(out, att, scratch, qkv, clamp, B, T, NH, HS, causal);
    else if (lanes_ok(clamp, NH, T, 0))
        lanes_attention(out, att, NULL, NULL, NULL, scratch, qkv, NULL, clamp, B, T, NH, HS, causal);
    else
        attn_fwd_small(out, att, scratch, qkv, clamp, B, T, NH, HS, causal);
}

void llc_attention_backward(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                            const llc_head_clamp *clamp, int B, int T, int NH, int HS, int causal)
{
    if (T >= ATTN_GEMM_MIN_T)
        attn_bwd_tiled(dqkv, scratch, dout, att, qkv, clamp, B, T, NH, HS, causal, 0);
    else if (lanes_ok(clamp, NH, T, 1))
        lanes_attention(NULL, NULL, dqkv, dout, att, scratch, qkv, NULL, clamp, B, T, NH, HS, causal);
    else
        attn_bwd_small(dqkv, scratch, dout, att, qkv, clamp, B, T, NH, HS, causal);
}

/* As llc_attention_backward, but dqkv is stored, not added to (llc_kernels.h):
 * the tiled kernels write every entry, the others add into zeros. */
void llc_attention_backward_set(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                                const llc_head_clamp *clamp, int B, int T, int NH, int HS, int causal)
{
    if (T >= ATTN_GEMM_MIN_T) {
        attn_bwd_tiled(dqkv, scratch, dout, att, qkv, clamp, B, T, NH, HS, causal, 1);
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
    if (lanes_ok(cl, NH, T, 0)) {
        lanes_attention(out, att, NULL, NULL, NULL, scratch, qkv, rows, cl, M, T, NH, HS, causal);
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
    if (lanes_ok(cl, NH, T, 1)) {
        lanes_attention(NULL, NULL, dqkv, dout, att, scratch, qkv, rows, cl, M, T, NH, HS, causal);
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
