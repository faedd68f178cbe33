/* kernels_impl.h - private to the kernel files (kernels_*.c, attention*.c):
 * the 8- and 4-wide vector types and their helpers (sums, max, exp), the
 * softmax rows, the register-blocked small GEMMs and the 8 x 8 transposes,
 * the head clamps and the attention layout that the attention variants
 * share. Everything here is static inline or a macro, so each kernel file
 * compiles the same operations it did as one file. */
#ifndef LLC_KERNELS_IMPL_H
#define LLC_KERNELS_IMPL_H

#include "llc_kernels.h"

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

static inline float vsum(const float *x, int n)
{
    v8f acc = splat8(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += CV8(x + i);
    float s = hsum8(acc);
    for (; i < n; i++) s += x[i];
    return s;
}

static inline float vdot(const float *x, const float *y, int n)
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
static inline float vmax(const float *x, int n)
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
static inline float exp_shift_sum(float *y, const float *x, float mx, int n)
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

static inline void vscale(float *x, float a, int n)
{
    int i = 0;
    v8f av = splat8(a);
    for (; i + 8 <= n; i += 8) V8(x + i) *= av;
    for (; i < n; i++) x[i] *= a;
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

static inline int imin(int a, int b) { return a < b ? a : b; }

/* ---------------- attention: head clamps, softmax rows, layout ---------------- */

/* A head with no output and no gradient (a skipped one's output is not written). */
static inline int head_zeroed(const llc_head_clamp *cl, int h)
{
    return cl && (cl[h].kind == LLC_HEAD_ZERO_VALUES || cl[h].kind == LLC_HEAD_ZERO_OUTPUT ||
                  cl[h].kind == LLC_HEAD_SKIP);
}

static inline int head_skipped(const llc_head_clamp *cl, int h) { return cl && cl[h].kind == LLC_HEAD_SKIP; }

static inline int head_fixed_pattern(const llc_head_clamp *cl, int h)
{
    return cl && (cl[h].kind == LLC_HEAD_PATTERN || cl[h].kind == LLC_HEAD_PREV);
}

/* Row t of a clamped pattern into a (T). */
static inline void clamp_row(float *a, const llc_head_clamp *cl, int t, int T)
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
static inline void softmax_backward_row(float *d, const float *a, int len, int T, float scale)
{
    float sum = vdot(a, d, len);
    v4f sv = splat(sum), sc = splat(scale);
    int s = 0;
    for (; s + 4 <= len; s += 4) V4(d + s) = CV4(a + s) * (CV4(d + s) - sv) * sc;
    for (; s < len; s++) d[s] = a[s] * (d[s] - sum) * scale;
    for (; s < T; s++) d[s] = 0.0f;
}

/* Softmax of a[0..len) in place, zeros in a[len..T). */
static inline void softmax_row(float *a, int len, int T)
{
    float sum = exp_shift_sum(a, a, vmax(a, len), len);
    vscale(a, 1.0f / sum, len);
    for (int s = len; s < T; s++) a[s] = 0.0f;
}

/* From this T on the tiled attention kernels run, below it lanes or small
 * (attention.c); -DATTN_GEMM_MIN_T=n re-measures the switch. */
#ifndef ATTN_GEMM_MIN_T
#define ATTN_GEMM_MIN_T LLC_ATTN_GEMM_MIN_T
#endif
#define LANES 8 /* heads per vector in the lanes kernels (below) */

/* A row stride >= T that is an odd multiple of 16 floats: with 1 KiB strides
 * (T = 256) the rows of a column strip would share 4 of the 64 L1 sets. */
static inline int pad_ld(int T) { return ((T + 15) & ~15) | 16; }

/* Row stride of att's (T, T) blocks: padded where the tiled kernels run. */
static inline int att_ld(int T) { return T < ATTN_GEMM_MIN_T ? T : pad_ld(T); }

/* ---------------- small GEMMs in registers ---------------- */

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
static inline void gemm_rows(float *restrict C, int ldc, const float *restrict A, int lda, const float *restrict B, int ldb,
                      int M, int N, int K)
{
    gemm_rows_x(C, ldc, A, (size_t)lda, 1, B, ldb, M, N, K, 1);
}

/* C (M, N) = A (M, K) · B (K, N). */
static inline void gemm_rows_set(float *restrict C, int ldc, const float *restrict A, int lda, const float *restrict B,
                          int ldb, int M, int N, int K)
{
    gemm_rows_x(C, ldc, A, (size_t)lda, 1, B, ldb, M, N, K, 0);
}

/* C (M, N) += Aᵀ · B (K, N) (set: C =), A (K, M) packed by pack_cols (row
 * stride 4). */
static inline void gemm_cols4(float *restrict C, int ldc, const float *restrict pk, const float *restrict B, int ldb, int M,
                       int N, int K, int set)
{
    if (set)
        gemm_rows_x(C, ldc, pk, 1, 4, B, ldb, M, N, K, 0);
    else
        gemm_rows_x(C, ldc, pk, 1, 4, B, ldb, M, N, K, 1);
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

/* Group [i0, i1) of rows: the run of rows in the sequence of rows[i0]. */
static inline int row_group_end(const int *rows, int i0, int M, int T)
{
    int b = rows[i0] / T, i1 = i0 + 1;
    while (i1 < M && rows[i1] / T == b) i1++;
    return i1;
}

/* ---------------- the attention variants' entry points ----------------
 * attention.c dispatches to these (and runs "small" and the selected rows
 * itself); arguments as the static kernels they were. */
void llc_attn_tiled_forward(float *out, float *att, float *scratch, const float *qkv, const llc_head_clamp *cl,
                            int B, int T, int NH, int HS, int causal);
void llc_attn_tiled_backward(float *dqkv, float *scratch, const float *dout, const float *att, const float *qkv,
                             const llc_head_clamp *cl, int B, int T, int NH, int HS, int causal, int set);
int llc_attn_lanes_ok(const llc_head_clamp *cl, int NH, int T, int allow_zeroed);
void llc_attn_lanes(float *out, float *att, float *dqkv, const float *dout, const float *catt, float *scratch,
                    const float *qkv, const int *rows, const llc_head_clamp *cl, int n, int T, int NH, int HS,
                    int causal);

#endif
