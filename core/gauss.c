/* gauss.c - 8-lane xoshiro128+ and vectorised Box-Muller (see llc_gauss.h).
 *
 * GCC vector extensions of 8 floats: on an AVX build one register, on an
 * SSE-only build two; the arithmetic is the same IEEE operations either way
 * (no FMA contraction under -std=c11), so the numbers do not depend on it. */
#include "llc_gauss.h"

#pragma GCC diagnostic ignored "-Wpsabi" /* 32-byte vectors in static functions only */

#include <string.h>
#if defined(__AVX__) || defined(__SSE__)
#include <immintrin.h>
#else
#include <math.h>
#endif

typedef float v8f __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8f splat(float a) { return (v8f){a, a, a, a, a, a, a, a}; }
static inline __attribute__((always_inline)) v8u splatu(uint32_t a) { return (v8u){a, a, a, a, a, a, a, a}; }

static inline __attribute__((always_inline)) v8f vsqrt(v8f x)
{
#if defined(__AVX__)
    return (v8f)_mm256_sqrt_ps((__m256)x);
#elif defined(__SSE__)
    v8f r;
    __m128 lo = _mm_sqrt_ps(_mm_loadu_ps((const float *)&x)), hi = _mm_sqrt_ps(_mm_loadu_ps((const float *)&x + 4));
    _mm_storeu_ps((float *)&r, lo);
    _mm_storeu_ps((float *)&r + 4, hi);
    return r;
#else
    for (int i = 0; i < 8; i++) x[i] = sqrtf(x[i]);
    return x;
#endif
}

/* ln(u) for normal u > 0 (Cephes logf: mantissa in [sqrt(1/2), sqrt(2)),
 * degree-9 polynomial for log(1+x), ln 2 split in two parts). */
static inline __attribute__((always_inline)) v8f vlog(v8f u)
{
    v8u bits = (v8u)u;
    v8i e = (v8i)(bits >> 23) - 126;
    v8f m = (v8f)((bits & splatu(0x807fffffu)) | splatu(0x3f000000u)); /* [0.5, 1) */
    v8i small = m < splat(0.70710678118654752f);                            /* all-ones where true */
    e += small;                                                             /* e - 1 there */
    v8f x = m - splat(1.0f) + (v8f)((v8i)m & small);                       /* 2m - 1 or m - 1 */
    v8f z = x * x;
    v8f y = splat(7.0376836292E-2f);
    y = y * x + splat(-1.1514610310E-1f);
    y = y * x + splat(1.1676998740E-1f);
    y = y * x + splat(-1.2420140846E-1f);
    y = y * x + splat(1.4249322787E-1f);
    y = y * x + splat(-1.6668057665E-1f);
    y = y * x + splat(2.0000714765E-1f);
    y = y * x + splat(-2.4999993993E-1f);
    y = y * x + splat(3.3333331174E-1f);
    y = y * x * z;
    v8f ef = __builtin_convertvector(e, v8f);
    y += splat(-2.12194440e-4f) * ef;
    y += splat(-0.5f) * z;
    x = x + y;
    return x + splat(0.693359375f) * ef;
}

static inline __attribute__((always_inline)) v8u rotl(v8u x, int k) { return (x << k) | (x >> (32 - k)); }

static inline __attribute__((always_inline)) v8u next(v8u s[4])
{
    v8u r = s[0] + s[3], t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void llc_gauss_seed(llc_gauss *g, uint64_t seed)
{
    uint64_t x = seed;
    for (int l = 0; l < LLC_GAUSS_LANES; l++) {
        uint32_t any = 0;
        for (int k = 0; k < 4; k += 2) {
            uint64_t v = splitmix64(&x);
            g->s[k][l] = (uint32_t)v;
            g->s[k + 1][l] = (uint32_t)(v >> 32);
            any |= (uint32_t)v | (uint32_t)(v >> 32);
        }
        if (!any) g->s[0][l] = 1; /* the all-zero state is a fixed point */
    }
}

/* 16 normals: out[0..8) = r cos(theta), out[8..16) = r sin(theta). */
static inline __attribute__((always_inline)) void block(v8u s[4], float *out)
{
    const float two24 = 0x1.0p-24f;
    v8u a = next(s), b = next(s);
    /* u1 in (0, 1] from the top 24 bits */
    v8f u1 = __builtin_convertvector((v8i)((a >> 8) + 1), v8f) * splat(two24);
    v8f r = vsqrt(splat(-2.0f) * vlog(u1));
    /* theta = 2 pi k / 2^24 = q pi/2 + x, q in 0..3, x in [-pi/4, pi/4) */
    v8u k = b >> 8;
    v8u q = (k + splatu(1u << 21)) >> 22; /* 0..4 */
    v8i f = (v8i)k - (v8i)(q << 22);     /* [-2^21, 2^21) */
    q &= 3;
    v8f x = __builtin_convertvector(f, v8f) * splat(6.28318530717958648f * two24);
    v8f z = x * x;
    v8f sn = ((splat(-1.9515295891E-4f) * z + splat(8.3321608736E-3f)) * z + splat(-1.6666654611E-1f)) * z * x + x;
    v8f cs = ((splat(2.443315711809948E-5f) * z + splat(-1.388731625493765E-3f)) * z + splat(4.166664568298827E-2f)) *
                 z * z -
             splat(0.5f) * z + splat(1.0f);
    v8u swap = -(q & 1); /* all-ones for odd quadrants */
    v8u su = ((v8u)sn & ~swap) | ((v8u)cs & swap), cu = ((v8u)cs & ~swap) | ((v8u)sn & swap);
    su ^= (q & 2) << 30;                  /* sin < 0 in quadrants 2, 3 */
    cu ^= ((q + 1) & 2) << 30;            /* cos < 0 in quadrants 1, 2 */
    v8f c = r * (v8f)cu, sv = r * (v8f)su;
    memcpy(out, &c, sizeof c);
    memcpy(out + 8, &sv, sizeof sv);
}

void llc_gauss_fill(llc_gauss *g, float *out, size_t n)
{
    v8u s[4];
    memcpy(s, g->s, sizeof s);
    size_t i = 0;
    for (; i + LLC_GAUSS_BLOCK <= n; i += LLC_GAUSS_BLOCK) block(s, out + i);
    if (i < n) {
        float tmp[LLC_GAUSS_BLOCK];
        block(s, tmp);
        memcpy(out + i, tmp, (n - i) * sizeof *out);
    }
    memcpy(g->s, s, sizeof s);
}
