/* test_kernels.c - every kernel of llc_kernels.h against a naive
 * double-precision loop version written here:
 *  - forward: max |float kernel - double reference| <= FWD_RTOL * max|ref| + FWD_ATOL;
 *  - backward: the float backward (accumulated into buffers pre-filled with
 *    PREFILL, which is subtracted, so accumulation is tested too) against
 *    central finite differences of f = Σ gout · ref_forward(inputs) computed
 *    in double with step FD_H: max error <= BWD_RTOL * max|fd| + BWD_ATOL.
 * Odd sizes exercise the vector tails. Seed printed; LLC_TEST_SEED=n replays.
 */
#include "llc_common.h"
#include "llc_kernels.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FWD_RTOL 2e-6
#define FWD_ATOL 1e-6
#define BWD_RTOL 1e-5
#define BWD_ATOL 1e-6
#define FD_H 1e-6
#define PREFILL 0.5f

static gsl_rng *rng;

/* ---------------- helpers ---------------- */

static float *fnew(size_t n) { return calloc(n ? n : 1, sizeof(float)); }
static double *dnew(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

static void frand(float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * gsl_rng_uniform(rng) - 1.0) * scale);
}

static void f2d(double *d, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = f[i];
}

static void ffill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) x[i] = v;
}

static double dmaxabs(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* Compare a float result with a double reference. */
static void check_fwd(const char *what, const float *got, const double *want, size_t n)
{
    double err = 0.0, scale = dmaxabs(want, n);
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        finite &= isfinite(got[i]);
        err = fmax(err, fabs(got[i] - want[i]));
    }
    double tol = FWD_RTOL * scale + FWD_ATOL;
    CHECK(finite && err <= tol, "%s forward: max err %.3g (max|ref| %.3g, tol %.3g)", what, err, scale, tol);
}

/* A scalar function of double inputs for finite differences. */
typedef double (*scalar_fn)(void *ctx);

/* got: float gradient accumulated onto PREFILL; x: the double input f reads. */
static void check_bwd(const char *what, scalar_fn f, void *ctx, double *x, const float *got, size_t n)
{
    double *fd = dnew(n);
    for (size_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + FD_H;
        double fp = f(ctx);
        x[i] = x0 - FD_H;
        double fm = f(ctx);
        x[i] = x0;
        fd[i] = (fp - fm) / (2.0 * FD_H);
    }
    double err = 0.0, scale = dmaxabs(fd, n);
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        double g = (double)got[i] - PREFILL;
        finite &= isfinite(g);
        err = fmax(err, fabs(g - fd[i]));
    }
    double tol = BWD_RTOL * scale + BWD_ATOL;
    CHECK(finite && err <= tol, "%s backward: max err %.3g (max|fd| %.3g, tol %.3g)", what, err, scale, tol);
    free(fd);
}

static double ddot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---------------- linear ---------------- */

typedef struct {
    int N, IC, OC, in_major, bias;
    double *in, *w, *b, *gout, *out;
} lin_ctx;

static void ref_linear(lin_ctx *c)
{
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->OC; o++) {
            double s = c->bias ? c->b[o] : 0.0;
            for (int i = 0; i < c->IC; i++)
                s += c->in[n * c->IC + i] * (c->in_major ? c->w[i * c->OC + o] : c->w[o * c->IC + i]);
            c->out[n * c->OC + o] = s;
        }
}

static double f_linear(void *p)
{
    lin_ctx *c = p;
    ref_linear(c);
    return ddot(c->gout, c->out, (size_t)c->N * c->OC);
}

static void test_linear(int in_major, int bias)
{
    lin_ctx c = {.N = 5, .IC = 7, .OC = 6, .in_major = in_major, .bias = bias};
    size_t ni = (size_t)c.N * c.IC, nw = (size_t)c.IC * c.OC, no = (size_t)c.N * c.OC;
    float *in = fnew(ni), *w = fnew(nw), *b = fnew(c.OC), *gout = fnew(no), *out = fnew(no);
    float *din = fnew(ni), *dw = fnew(nw), *db = fnew(c.OC);
    c.in = dnew(ni), c.w = dnew(nw), c.b = dnew(c.OC), c.gout = dnew(no), c.out = dnew(no);
    frand(in, ni, 1), frand(w, nw, 1), frand(b, c.OC, 1), frand(gout, no, 1);
    f2d(c.in, in, ni), f2d(c.w, w, nw), f2d(c.b, b, c.OC), f2d(c.gout, gout, no);
    char what[64];
    snprintf(what, sizeof what, "linear%s%s", in_major ? "_im" : "", bias ? "" : " (no bias)");
    if (in_major) llc_linear_im_forward(out, in, w, bias ? b : NULL, c.N, c.IC, c.OC);
    else llc_linear_forward(out, in, w, bias ? b : NULL, c.N, c.IC, c.OC);
    ref_linear(&c);
    check_fwd(what, out, c.out, no);
    ffill(din, ni, PREFILL), ffill(dw, nw, PREFILL), ffill(db, c.OC, PREFILL);
    if (in_major) llc_linear_im_backward(din, dw, bias ? db : NULL, gout, in, w, c.N, c.IC, c.OC);
    else llc_linear_backward(din, dw, bias ? db : NULL, gout, in, w, c.N, c.IC, c.OC);
    char w2[80];
    snprintf(w2, sizeof w2, "%s d_in", what);
    check_bwd(w2, f_linear, &c, c.in, din, ni);
    snprintf(w2, sizeof w2, "%s d_w", what);
    check_bwd(w2, f_linear, &c, c.w, dw, nw);
    if (bias) {
        snprintf(w2, sizeof w2, "%s d_b", what);
        check_bwd(w2, f_linear, &c, c.b, db, (size_t)c.OC);
    }
    free(in), free(w), free(b), free(gout), free(out), free(din), free(dw), free(db);
    free(c.in), free(c.w), free(c.b), free(c.gout), free(c.out);
}

/* ---------------- embedding ---------------- */

typedef struct {
    int N, C, V;
    const int *tok;
    double *table, *gout;
} emb_ctx;

static double f_embedding(void *p)
{
    emb_ctx *c = p;
    double s = 0.0;
    for (int n = 0; n < c->N; n++)
        if (c->tok[n] >= 0)
            for (int k = 0; k < c->C; k++) s += c->gout[n * c->C + k] * c->table[c->tok[n] * c->C + k];
    return s;
}

static void test_embedding(void)
{
    enum { N = 7, C = 5, V = 4 };
    const int tok[N] = {0, 3, -1, 3, 1, -1, 0};
    float table[V * C], out[N * C], gout[N * C], dtable[V * C];
    double dt[V * C], dg[N * C], want[N * C];
    frand(table, V * C, 1), frand(gout, N * C, 1);
    f2d(dt, table, V * C), f2d(dg, gout, N * C);
    ffill(out, N * C, 7.0f); /* rows with tok < 0 must stay untouched */
    llc_embedding_forward(out, tok, table, N, C);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < C; k++) want[n * C + k] = tok[n] >= 0 ? dt[tok[n] * C + k] : 7.0;
    check_fwd("embedding", out, want, N * C);
    ffill(dtable, V * C, PREFILL);
    llc_embedding_backward(dtable, gout, tok, N, C);
    emb_ctx c = {N, C, V, tok, dt, dg};
    check_bwd("embedding d_table", f_embedding, &c, dt, dtable, V * C);
}

/* ---------------- norms ---------------- */

typedef struct {
    int N, C, kind; /* 0 layernorm, 1 rms with gain, 2 rms without */
    double *in, *g, *b, *gout, *out;
} norm_ctx;

static void ref_norm(norm_ctx *c)
{
    for (int n = 0; n < c->N; n++) {
        const double *x = c->in + n * c->C;
        double m = 0.0, v = 0.0;
        if (c->kind == 0) {
            for (int k = 0; k < c->C; k++) m += x[k];
            m /= c->C;
        }
        for (int k = 0; k < c->C; k++) v += (x[k] - m) * (x[k] - m);
        v /= c->C;
        double s = 1.0 / sqrt(v + (double)LLC_NORM_EPS);
        for (int k = 0; k < c->C; k++) {
            double o = (x[k] - m) * s;
            if (c->kind != 2) o *= c->g[k];
            if (c->kind == 0) o += c->b[k];
            c->out[n * c->C + k] = o;
        }
    }
}

static double f_norm(void *p)
{
    norm_ctx *c = p;
    ref_norm(c);
    return ddot(c->gout, c->out, (size_t)c->N * c->C);
}

static void test_norm(int kind, int C)
{
    static const char *names[] = {"layernorm", "rmsnorm", "rmsnorm (no gain)"};
    const int N = 4;
    size_t n = (size_t)N * C;
    norm_ctx c = {N, C, kind, dnew(n), dnew(C), dnew(C), dnew(n), dnew(n)};
    float *in = fnew(n), *g = fnew(C), *b = fnew(C), *gout = fnew(n), *out = fnew(n);
    float *mean = fnew(N), *rstd = fnew(N), *din = fnew(n), *dg = fnew(C), *db = fnew(C);
    frand(in, n, 2), frand(g, C, 1), frand(b, C, 1), frand(gout, n, 1);
    for (int k = 0; k < C; k++) in[k] += 3.0f; /* a row with a large mean */
    f2d(c.in, in, n), f2d(c.g, g, C), f2d(c.b, b, C), f2d(c.gout, gout, n);
    if (kind == 0) llc_layernorm_forward(out, mean, rstd, in, g, b, N, C, LLC_NORM_EPS);
    else llc_rmsnorm_forward(out, rstd, in, kind == 1 ? g : NULL, N, C, LLC_NORM_EPS);
    ref_norm(&c);
    char what[80];
    snprintf(what, sizeof what, "%s C=%d", names[kind], C);
    check_fwd(what, out, c.out, n);
    ffill(din, n, PREFILL), ffill(dg, C, PREFILL), ffill(db, C, PREFILL);
    if (kind == 0) llc_layernorm_backward(din, dg, db, gout, in, g, mean, rstd, N, C);
    else llc_rmsnorm_backward(din, dg, gout, in, kind == 1 ? g : NULL, rstd, N, C);
    char w2[100];
    snprintf(w2, sizeof w2, "%s d_in", what);
    check_bwd(w2, f_norm, &c, c.in, din, n);
    if (kind != 2) {
        snprintf(w2, sizeof w2, "%s d_g", what);
        check_bwd(w2, f_norm, &c, c.g, dg, (size_t)C);
    }
    if (kind == 0) {
        snprintf(w2, sizeof w2, "%s d_b", what);
        check_bwd(w2, f_norm, &c, c.b, db, (size_t)C);
    }
    free(in), free(g), free(b), free(gout), free(out), free(mean), free(rstd), free(din), free(dg), free(db);
    free(c.in), free(c.g), free(c.b), free(c.gout), free(c.out);
}

/* ---------------- GELU ---------------- */

typedef struct {
    size_t n;
    double *in, *gout;
} gelu_ctx;

static double ref_gelu(double x) { return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }

static double f_gelu(void *p)
{
    gelu_ctx *c = p;
    double s = 0.0;
    for (size_t i = 0; i < c->n; i++) s += c->gout[i] * ref_gelu(c->in[i]);
    return s;
}

static void test_gelu(void)
{
    enum { n = 37 };
    float in[n], out[n], gout[n], din[n];
    double di[n], dg[n], want[n];
    frand(in, n, 4), frand(gout, n, 1);
    f2d(di, in, n), f2d(dg, gout, n);
    llc_gelu_forward(out, in, n);
    for (int i = 0; i < n; i++) want[i] = ref_gelu(di[i]);
    check_fwd("gelu", out, want, n);
    ffill(din, n, PREFILL);
    llc_gelu_backward(din, gout, in, n);
    gelu_ctx c = {n, di, dg};
    check_bwd("gelu d_in", f_gelu, &c, di, din, n);
}

/* ---------------- RoPE ---------------- */

typedef struct {
    int N, T, NH, HS, ld;
    double *x, *gout, *out;
} rope_ctx;

static void ref_rope(rope_ctx *c)
{
    int H2 = c->HS / 2;
    memcpy(c->out, c->x, (size_t)c->N * c->ld * sizeof(double));
    for (int n = 0; n < c->N; n++)
        for (int h = 0; h < c->NH; h++)
            for (int i = 0; i < H2; i++) {
                double ang = (n % c->T) * pow((double)LLC_ROPE_BASE, -2.0 * i / c->HS);
                double x1 = c->x[n * c->ld + h * c->HS + i], x2 = c->x[n * c->ld + h * c->HS + i + H2];
                c->out[n * c->ld + h * c->HS + i] = x1 * cos(ang) - x2 * sin(ang);
                c->out[n * c->ld + h * c->HS + i + H2] = x2 * cos(ang) + x1 * sin(ang);
            }
}

static double f_rope(void *p)
{
    rope_ctx *c = p;
    ref_rope(c);
    return ddot(c->gout, c->out, (size_t)c->N * c->ld);
}

static void test_rope(void)
{
    enum { B = 2, T = 9, NH = 2, HS = 6, LD = 2 * NH * HS + 3, N = B * T };
    float *cs = fnew((size_t)T * HS), *x = fnew(N * LD), *gout = fnew(N * LD), *dx = fnew(N * LD);
    rope_ctx c = {N, T, NH, HS, LD, dnew(N * LD), dnew(N * LD), dnew(N * LD)};
    frand(x, N * LD, 1), frand(gout, N * LD, 1);
    f2d(c.x, x, N * LD), f2d(c.gout, gout, N * LD);
    llc_rope_table(cs, T, HS, LLC_ROPE_BASE);
    llc_rope_forward(x, cs, N, T, NH, HS, LD);
    ref_rope(&c);
    check_fwd("rope", x, c.out, N * LD);
    /* backward is in place: dx := Rᵀ gout; compare Rᵀ gout + PREFILL */
    memcpy(dx, gout, sizeof(float) * N * LD);
    llc_rope_backward(dx, cs, N, T, NH, HS, LD);
    for (int i = 0; i < N * LD; i++) dx[i] += PREFILL;
    check_bwd("rope d_x", f_rope, &c, c.x, dx, N * LD);
    free(cs), free(x), free(gout), free(dx), free(c.x), free(c.gout), free(c.out);
}

/* The vector paths (H2 a multiple of 8 or 4, and a tail), the chunked table
 * (H2 > 128), and the rows variant: rotating gathered rows by their
 * positions gives exactly the rows of the full rotation. */
static void test_rope_widths(void)
{
    static const int hs_list[] = {8, 16, 26, 262};
    static const int rows[] = {1, 4, 5, 10, 17};
    enum { B = 2, T = 9, NH = 2, N = B * T, M = 5 };
    for (size_t k = 0; k < sizeof hs_list / sizeof *hs_list; k++) {
        const int HS = hs_list[k], LD = 2 * NH * HS + 3;
        float *cs = fnew((size_t)T * HS), *x = fnew((size_t)N * LD), *xr = fnew((size_t)M * LD);
        rope_ctx c = {N, T, NH, HS, LD, dnew((size_t)N * LD), dnew((size_t)N * LD), dnew((size_t)N * LD)};
        frand(x, (size_t)N * LD, 1);
        f2d(c.x, x, (size_t)N * LD);
        for (int i = 0; i < M; i++) memcpy(xr + (size_t)i * LD, x + (size_t)rows[i] * LD, sizeof(float) * LD);
        llc_rope_table(cs, T, HS, LLC_ROPE_BASE);
        llc_rope_forward(x, cs, N, T, 2 * NH, HS, LD);
        c.NH = 2 * NH;
        ref_rope(&c);
        char name[64];
        snprintf(name, sizeof name, "rope HS=%d", HS);
        check_fwd(name, x, c.out, (size_t)N * LD);
        llc_rope_rows_forward(xr, cs, rows, M, T, 2 * NH, HS, LD);
        int same = 1;
        for (int i = 0; i < M; i++)
            same &= memcmp(xr + (size_t)i * LD, x + (size_t)rows[i] * LD, sizeof(float) * LD) == 0;
        CHECK(same, "rope rows HS=%d: the gathered rows rotate exactly as in the full rotation", HS);
        llc_rope_rows_backward(xr, cs, rows, M, T, 2 * NH, HS, LD);
        llc_rope_backward(x, cs, N, T, 2 * NH, HS, LD);
        same = 1;
        for (int i = 0; i < M; i++)
            same &= memcmp(xr + (size_t)i * LD, x + (size_t)rows[i] * LD, sizeof(float) * LD) == 0;
        CHECK(same, "rope rows backward HS=%d: the same rows as the full backward", HS);
        free(cs), free(x), free(xr), free(c.x), free(c.gout), free(c.out);
    }
}

/* ---------------- attention ---------------- */

typedef struct {
    int B, T, NH, HS, causal;
    const llc_head_clamp *cl;
    double *qkv, *gout, *out;
} attn_ctx;

static void ref_attention(attn_ctx *c)
{
    const int T = c->T, NH = c->NH, HS = c->HS, D = NH * HS;
    double *a = dnew((size_t)T);
    for (int b = 0; b < c->B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                double *o = c->out + ((size_t)b * T + t) * D + h * HS;
                for (int i = 0; i < HS; i++) o[i] = 0.0;
                llc_head_clamp_kind k = c->cl ? c->cl[h].kind : LLC_HEAD_FREE;
                if (k == LLC_HEAD_ZERO_VALUES || k == LLC_HEAD_ZERO_OUTPUT) continue;
                for (int s = 0; s < T; s++) a[s] = 0.0;
                if (k == LLC_HEAD_PATTERN) {
                    for (int s = 0; s < T; s++) a[s] = c->cl[h].pattern[t * c->cl[h].ld + s];
                } else if (k == LLC_HEAD_PREV) {
                    a[t > 0 ? t - 1 : 0] = 1.0;
                } else {
                    int len = c->causal ? t + 1 : T;
                    double mx = -INFINITY, sum = 0.0;
                    for (int s = 0; s < len; s++) {
                        double d = 0.0;
                        for (int i = 0; i < HS; i++)
                            d += c->qkv[((size_t)b * T + t) * 3 * D + h * HS + i] *
                                 c->qkv[((size_t)b * T + s) * 3 * D + D + h * HS + i];
                        a[s] = d / sqrt((double)HS);
                        mx = fmax(mx, a[s]);
                    }
                    for (int s = 0; s < len; s++) sum += (a[s] = exp(a[s] - mx));
                    for (int s = 0; s < len; s++) a[s] /= sum;
                }
                for (int s = 0; s < T; s++)
                    for (int i = 0; i < HS; i++) o[i] += a[s] * c->qkv[((size_t)b * T + s) * 3 * D + 2 * D + h * HS + i];
            }
    free(a);
}

static double f_attention(void *p)
{
    attn_ctx *c = p;
    ref_attention(c);
    return ddot(c->gout, c->out, (size_t)c->B * c->T * c->NH * c->HS);
}

/* clamp_kind applies to head 1 (head 0 stays free). */
static void test_attention(int B, int T, int NH, int HS, int causal, llc_head_clamp_kind clamp_kind)
{
    static const char *cn[] = {"free", "pattern", "prev", "zero_values", "zero_output"};
    const int D = NH * HS;
    size_t nq = (size_t)B * T * 3 * D, no = (size_t)B * T * D;
    float *qkv = fnew(nq), *out = fnew(no), *att = fnew(llc_attention_att_size(B, NH, T)), *gout = fnew(no);
    float *dqkv = fnew(nq), *scratch = fnew(llc_attention_scratch_size(T, HS)), *pattern = fnew((size_t)(T + 1) * (T + 1));
    attn_ctx c = {B, T, NH, HS, causal, NULL, dnew(nq), dnew(no), dnew(no)};
    llc_head_clamp cl[32];
    memset(cl, 0, sizeof cl);
    /* a row-stochastic pattern in a (T+1)-wide buffer: tests the row stride */
    for (int t = 0; t < T; t++) {
        float s = 0.0f;
        for (int u = 0; u < T; u++) s += (pattern[t * (T + 1) + u] = (float)gsl_rng_uniform(rng));
        for (int u = 0; u < T; u++) pattern[t * (T + 1) + u] /= s;
    }
    if (clamp_kind != LLC_HEAD_FREE) {
        cl[1].kind = clamp_kind;
        cl[1].pattern = pattern;
        cl[1].ld = T + 1;
        c.cl = cl;
    }
    frand(qkv, nq, 1.5), frand(gout, no, 1);
    f2d(c.qkv, qkv, nq), f2d(c.gout, gout, no);
    llc_attention_forward(out, att, scratch, qkv, c.cl, B, T, NH, HS, causal);
    ref_attention(&c);
    char what[120];
    snprintf(what, sizeof what, "attention B=%d T=%d NH=%d HS=%d %s head1=%s", B, T, NH, HS,
             causal ? "causal" : "full", cn[clamp_kind]);
    check_fwd(what, out, c.out, no);
    ffill(dqkv, nq, PREFILL);
    llc_attention_backward(dqkv, scratch, gout, att, qkv, c.cl, B, T, NH, HS, causal);
    check_bwd(what, f_attention, &c, c.qkv, dqkv, nq);
    if (clamp_kind != LLC_HEAD_FREE) { /* head 1 gets no Q/K gradient (and no V gradient when zeroed) */
        int ok = 1;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int blk = 0; blk < 3; blk++)
                    for (int i = 0; i < HS; i++) {
                        float g = dqkv[((size_t)b * T + t) * 3 * D + blk * D + HS + i] - PREFILL;
                        int must_zero = blk < 2 || clamp_kind == LLC_HEAD_ZERO_VALUES ||
                                        clamp_kind == LLC_HEAD_ZERO_OUTPUT;
                        if (must_zero && g != 0.0f) ok = 0;
                    }
        CHECK(ok, "%s: clamped head passes exactly zero gradient to its %s", what,
              clamp_kind <= LLC_HEAD_PREV ? "Q and K" : "Q, K and V");
    }

    /* the same at selected query rows: sequence b takes every row t with
     * (t + b/2) % 3 == 0 plus the last, except every fourth sequence (none):
     * sequences 2k and 2k + 1 select the same rows (they share vectors in the
     * lanes kernels at NH < 8), 2k + 1 and 2k + 2 do not */
    int *rows = malloc(sizeof(int) * (size_t)B * T), M = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            if (b % 4 != 3 && ((t + b / 2) % 3 == 0 || t == T - 1)) rows[M++] = b * T + t;
    float *gz = fnew(no), *orow = fnew((size_t)M * D), *arow = fnew((size_t)M * NH * T), *grow = fnew((size_t)M * D);
    float *dfull = fnew(nq);
    for (int i = 0; i < M; i++) memcpy(grow + (size_t)i * D, gout + (size_t)rows[i] * D, sizeof(float) * D);
    for (int i = 0; i < M; i++) memcpy(gz + (size_t)rows[i] * D, grow + (size_t)i * D, sizeof(float) * D);
    llc_attention_rows_forward(orow, arow, scratch, qkv, rows, c.cl, M, T, NH, HS, causal);
    double fe = 0, be = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < D; j++) fe = fmax(fe, fabs(orow[(size_t)i * D + j] - out[(size_t)rows[i] * D + j]));
    ffill(dfull, nq, PREFILL);
    llc_attention_backward(dfull, scratch, gz, att, qkv, c.cl, B, T, NH, HS, causal);
    ffill(dqkv, nq, PREFILL);
    llc_attention_rows_backward(dqkv, scratch, grow, arow, qkv, rows, c.cl, M, T, NH, HS, causal);
    for (size_t i = 0; i < nq; i++) be = fmax(be, fabs(dqkv[i] - dfull[i]));
    CHECK(fe < 1e-6 && be < 1e-5, "%s at %d selected rows: output and dqkv as the full attention's (max diff %.2g, %.2g)",
          what, M, fe, be);
    free(rows), free(gz), free(orow), free(arow), free(grow), free(dfull);
    free(qkv), free(out), free(att), free(gout), free(dqkv), free(scratch), free(pattern);
    free(c.qkv), free(c.gout), free(c.out);
}

/* LLC_HEAD_SKIP on every head but `keep` (a weight-refined head's passes):
 * the kept head's output and Q, K, V gradients are those of the unclamped
 * kernels (full and at selected rows), and the skipped heads' out columns
 * and dqkv columns are not touched (a sentinel stays). */
static void test_attention_skip(int B, int T, int NH, int HS, int causal, int keep)
{
    const int D = NH * HS, D3 = 3 * D;
    const size_t nq = (size_t)B * T * D3, no = (size_t)B * T * D;
    float *qkv = fnew(nq), *gout = fnew(no), *scratch = fnew(llc_attention_scratch_size(T, HS));
    float *out0 = fnew(no), *out1 = fnew(no), *att0 = fnew(llc_attention_att_size(B, NH, T));
    float *att1 = fnew(llc_attention_att_size(B, NH, T)), *d0 = fnew(nq), *d1 = fnew(nq);
    llc_head_clamp cl[32];
    for (int h = 0; h < NH; h++) cl[h] = (llc_head_clamp){.kind = h == keep ? LLC_HEAD_FREE : LLC_HEAD_SKIP};
    frand(qkv, nq, 1.5), frand(gout, no, 1);
    int *rows = malloc(sizeof(int) * (size_t)B * T), M = 0;
    for (int b = 0; b < B; b++)
        for (int t = T / 2; t < T; t++) rows[M++] = b * T + t;
    for (int pass = 0; pass < 2; pass++) { /* 0: every row, 1: the rows of the second half */
        const int R = pass ? M : B * T; /* out rows; pass 1 reads d out's first M rows as the M compact ones */
        ffill(out1, no, 77.0f), ffill(d0, nq, PREFILL), ffill(d1, nq, PREFILL);
        if (pass) {
            llc_attention_rows_forward(out0, att0, scratch, qkv, rows, NULL, M, T, NH, HS, causal);
            llc_attention_rows_forward(out1, att1, scratch, qkv, rows, cl, M, T, NH, HS, causal);
            llc_attention_rows_backward(d0, scratch, gout, att0, qkv, rows, NULL, M, T, NH, HS, causal);
            llc_attention_rows_backward(d1, scratch, gout, att1, qkv, rows, cl, M, T, NH, HS, causal);
        } else {
            llc_attention_forward(out0, att0, scratch, qkv, NULL, B, T, NH, HS, causal);
            llc_attention_forward(out1, att1, scratch, qkv, cl, B, T, NH, HS, causal);
            llc_attention_backward(d0, scratch, gout, att0, qkv, NULL, B, T, NH, HS, causal);
            llc_attention_backward(d1, scratch, gout, att1, qkv, cl, B, T, NH, HS, causal);
        }
        double fe = 0, be = 0;
        int kept = 1;
        for (int r = 0; r < R; r++)
            for (int j = 0; j < D; j++) {
                const size_t i = (size_t)r * D + j;
                if (j / HS == keep) fe = fmax(fe, fabs(out1[i] - out0[i]));
                else kept &= out1[i] == 77.0f;
            }
        for (size_t i = 0; i < nq; i++) {
            if ((int)(i % D3 % D) / HS == keep) be = fmax(be, fabs(d1[i] - d0[i]));
            else kept &= d1[i] == PREFILL;
        }
        CHECK(fe < 1e-6 && be < 1e-5 && kept,
              "attention%s B=%d T=%d NH=%d HS=%d %s, heads but %d skipped: head %d as unclamped (max diff %.2g, "
              "%.2g), the others' out and dqkv untouched",
              pass ? " at rows" : "", B, T, NH, HS, causal ? "causal" : "full", keep, keep, fe, be);
    }
    free(rows), free(qkv), free(gout), free(scratch), free(out0), free(out1), free(att0), free(att1), free(d0),
        free(d1);
}

/* llc_attention_backward_set on a dqkv full of NaN against zeroing dqkv and
 * llc_attention_backward: bit-identical, every entry written, with head h
 * of the NH clamped as kinds[h % 6] (free, pattern, previous token, zeroed
 * values, zeroed output, skipped). */
static void test_attention_backward_set(int B, int T, int NH, int HS, int causal)
{
    const int D = NH * HS;
    const size_t nq = (size_t)B * T * 3 * D, no = (size_t)B * T * D;
    static const llc_head_clamp_kind kinds[6] = {LLC_HEAD_FREE,        LLC_HEAD_PATTERN,     LLC_HEAD_PREV,
                                                 LLC_HEAD_ZERO_VALUES, LLC_HEAD_ZERO_OUTPUT, LLC_HEAD_SKIP};
    float *qkv = fnew(nq), *gout = fnew(no), *out = fnew(no), *scratch = fnew(llc_attention_scratch_size(T, HS));
    float *att = fnew(llc_attention_att_size(B, NH, T)), *d0 = fnew(nq), *d1 = fnew(nq);
    float *pattern = fnew((size_t)T * T);
    frand(qkv, nq, 1.5), frand(gout, no, 1), frand(pattern, (size_t)T * T, 1);
    llc_head_clamp cl[32];
    for (int h = 0; h < NH; h++)
        cl[h] = (llc_head_clamp){.kind = kinds[h % 6], .pattern = pattern, .ld = T};
    for (int clamped = 0; clamped < 2; clamped++) {
        const llc_head_clamp *c = clamped ? cl : NULL;
        llc_attention_forward(out, att, scratch, qkv, c, B, T, NH, HS, causal);
        ffill(d0, nq, 0.0f), ffill(d1, nq, NAN);
        llc_attention_backward(d0, scratch, gout, att, qkv, c, B, T, NH, HS, causal);
        llc_attention_backward_set(d1, scratch, gout, att, qkv, c, B, T, NH, HS, causal);
        size_t diff = 0;
        for (size_t i = 0; i < nq; i++) diff += memcmp(&d0[i], &d1[i], sizeof d0[i]) != 0;
        CHECK(diff == 0, "attention backward_set B=%d T=%d NH=%d HS=%d %s%s: as zeroing + backward, bit for bit "
              "(%zu of %zu entries differ)", B, T, NH, HS, causal ? "causal" : "full",
              clamped ? ", every clamp kind" : "", diff, nq);
    }
    free(qkv), free(gout), free(out), free(scratch), free(att), free(d0), free(d1), free(pattern);
}

/* llc_gemm_nn against a double-precision product: row blocks of 4 with a
 * remainder, 16-, 8-, 4-column blocks and single columns, strides wider than
 * the matrices, and each of =, += and -= (C prefilled). */
static void test_gemm_nn(int M, int N, int K)
{
    const int lda = K + 3, ldb = N + 5, ldc = N + 2;
    float *A = fnew((size_t)M * lda), *B = fnew((size_t)K * ldb), *Cm = fnew((size_t)M * ldc);
    frand(A, (size_t)M * lda, 1), frand(B, (size_t)K * ldb, 1);
    for (int acc = -1; acc <= 1; acc++) {
        ffill(Cm, (size_t)M * ldc, PREFILL);
        llc_gemm_nn(Cm, ldc, A, lda, B, ldb, M, N, K, acc);
        double err = 0, pad = 0;
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                double x = 0;
                for (int k = 0; k < K; k++) x += (double)A[(size_t)i * lda + k] * B[(size_t)k * ldb + j];
                const double want = acc == 0 ? x : PREFILL + acc * x;
                err = fmax(err, fabs(Cm[(size_t)i * ldc + j] - want));
            }
            for (int j = N; j < ldc; j++) pad = fmax(pad, fabs(Cm[(size_t)i * ldc + j] - PREFILL));
        }
        CHECK(err < 1e-5 * (K + 1) && pad == 0, "gemm_nn %dx%dx%d acc %d: max error %.2g, past N untouched", M, N, K,
              acc, err);
    }
    free(A), free(B), free(Cm);
}

/* The scratch sized for n_ctx >= LLC_ATTN_GEMM_MIN_T serves a shorter batch
 * that takes the lanes kernels: a sentinel after the given size stays. */
static void test_attention_scratch_short_batch(void)
{
    enum { B = 1, NCTX = LLC_ATTN_GEMM_MIN_T + 8, T = LLC_ATTN_GEMM_MIN_T - 1, NH = 8, HS = 64, D = NH * HS };
    const size_t ns = llc_attention_scratch_size(NCTX, HS), nq = (size_t)B * T * 3 * D, no = (size_t)B * T * D;
    float *scratch = fnew(ns + 64), *qkv = fnew(nq), *out = fnew(no), *att = fnew(llc_attention_att_size(B, NH, T));
    float *dqkv = fnew(nq);
    for (size_t i = ns; i < ns + 64; i++) scratch[i] = 12345.0f;
    frand(qkv, nq, 1);
    llc_attention_forward(out, att, scratch, qkv, NULL, B, T, NH, HS, 1);
    llc_attention_backward(dqkv, scratch, out, att, qkv, NULL, B, T, NH, HS, 1);
    int ok = 1;
    for (size_t i = ns; i < ns + 64; i++) ok &= scratch[i] == 12345.0f;
    CHECK(ok, "attention scratch for n_ctx %d holds the lanes kernels at T = %d (HS %d)", NCTX, T, HS);
    free(scratch), free(qkv), free(out), free(att), free(dqkv);
}

/* ---------------- pooling attention ---------------- */

typedef struct {
    int B, T, NH, HS;
    const llc_head_clamp *cl;
    double *query, *kv, *gout, *out;
} pool_ctx;

static void ref_pool(pool_ctx *c)
{
    const int T = c->T, HS = c->HS, D = c->NH * HS;
    double *a = dnew((size_t)T);
    for (int b = 0; b < c->B; b++)
        for (int h = 0; h < c->NH; h++) {
            double *o = c->out + (size_t)b * D + h * HS;
            for (int i = 0; i < HS; i++) o[i] = 0.0;
            if (c->cl && c->cl[h].kind != LLC_HEAD_FREE) continue;
            double mx = -INFINITY, sum = 0.0;
            for (int t = 0; t < T; t++) {
                double d = 0.0;
                for (int i = 0; i < HS; i++) d += c->query[h * HS + i] * c->kv[((size_t)b * T + t) * 2 * D + h * HS + i];
                a[t] = d / sqrt((double)HS);
                mx = fmax(mx, a[t]);
            }
            for (int t = 0; t < T; t++) sum += (a[t] = exp(a[t] - mx));
            for (int t = 0; t < T; t++)
                for (int i = 0; i < HS; i++) o[i] += a[t] / sum * c->kv[((size_t)b * T + t) * 2 * D + D + h * HS + i];
        }
    free(a);
}

static double f_pool(void *p)
{
    pool_ctx *c = p;
    ref_pool(c);
    return ddot(c->gout, c->out, (size_t)c->B * c->NH * c->HS);
}

static void test_pool(int zero_head1)
{
    enum { B = 3, T = 7, NH = 2, HS = 3, D = NH * HS };
    size_t nk = (size_t)B * T * 2 * D, no = (size_t)B * D;
    float *query = fnew(D), *kv = fnew(nk), *out = fnew(no), *att = fnew((size_t)B * NH * T), *gout = fnew(no);
    float *dq = fnew(D), *dkv = fnew(nk);
    llc_head_clamp cl[NH];
    memset(cl, 0, sizeof cl);
    cl[1].kind = LLC_HEAD_ZERO_VALUES;
    pool_ctx c = {B, T, NH, HS, zero_head1 ? cl : NULL, dnew(D), dnew(nk), dnew(no), dnew(no)};
    frand(query, D, 1.5), frand(kv, nk, 1.5), frand(gout, no, 1);
    f2d(c.query, query, D), f2d(c.kv, kv, nk), f2d(c.gout, gout, no);
    llc_attn_pool_forward(out, att, query, kv, c.cl, B, T, NH, HS);
    ref_pool(&c);
    const char *what = zero_head1 ? "attn_pool head1=zero_values" : "attn_pool";
    check_fwd(what, out, c.out, no);
    ffill(dq, D, PREFILL), ffill(dkv, nk, PREFILL);
    llc_attn_pool_backward(dq, dkv, gout, att, query, kv, c.cl, B, T, NH, HS);
    char w2[80];
    snprintf(w2, sizeof w2, "%s d_query", what);
    check_bwd(w2, f_pool, &c, c.query, dq, D);
    snprintf(w2, sizeof w2, "%s d_kv", what);
    check_bwd(w2, f_pool, &c, c.kv, dkv, nk);
    free(query), free(kv), free(out), free(att), free(gout), free(dq), free(dkv);
    free(c.query), free(c.kv), free(c.gout), free(c.out);
}

/* ---------------- cross-entropy ---------------- */

typedef struct {
    int N, V;
    const int *targets;
    const float *mask;
    double *logits;
} ce_ctx;

static double f_ce(void *p)
{
    ce_ctx *c = p;
    double total = 0.0, wsum = 0.0;
    for (int n = 0; n < c->N; n++) {
        if (c->mask[n] == 0.0f) continue;
        const double *l = c->logits + n * c->V;
        double mx = -INFINITY, s = 0.0;
        for (int v = 0; v < c->V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < c->V; v++) s += exp(l[v] - mx);
        total += c->mask[n] * (mx + log(s) - l[c->targets[n]]);
        wsum += c->mask[n];
    }
    return total / wsum;
}

static void test_crossentropy(void)
{
    enum { N = 6, V = 11 };
    const int targets[N] = {3, -1, 0, 10, 5, 999}; /* rows with mask 0 hold invalid targets */
    const float mask[N] = {1.0f, 0.0f, 0.5f, 1.0f, 2.0f, 0.0f};
    float logits[N * V], probs[N * V], dl[N * V], inplace[N * V];
    double dlog[N * V];
    frand(logits, N * V, 4);
    logits[3 * V + 10] = 30.0f; /* a confident row */
    f2d(dlog, logits, N * V);
    ce_ctx c = {N, V, targets, mask, dlog};
    double loss = 0.0, loss2 = 0.0;
    llc_crossentropy_forward(&loss, probs, logits, targets, mask, N, V);
    CHECK_CLOSE(loss, f_ce(&c), 1e-6, 1e-6, "crossentropy forward (masked, weighted mean)");
    memcpy(inplace, logits, sizeof logits);
    llc_crossentropy_forward(&loss2, inplace, inplace, targets, mask, N, V);
    CHECK(loss2 == loss, "crossentropy forward in place (probs == logits) gives the same loss");
    ffill(dl, N * V, PREFILL);
    llc_crossentropy_backward(dl, 1.0, probs, targets, mask, N, V);
    check_bwd("crossentropy d_logits", f_ce, &c, dlog, dl, N * V);
    const float zero[N] = {0};
    llc_crossentropy_forward(&loss, probs, logits, targets, zero, N, V);
    CHECK(loss == 0.0, "crossentropy with an all-zero mask gives loss 0");
}

/* Several blocks of rows (the forward works in blocks of 32) with a partial
 * last one, and row lengths with every tail of 1..7 after whole vectors and
 * none: the loss against double precision, every probability against the
 * double softmax, masked rows untouched, in place the same numbers. */
static void test_crossentropy_shapes(int N, int V)
{
    float *logits = fnew((size_t)N * V), *probs = fnew((size_t)N * V), *inplace = fnew((size_t)N * V);
    float *mask = fnew((size_t)N);
    int *targets = calloc((size_t)N, sizeof *targets);
    double *dlog = calloc((size_t)N * V, sizeof *dlog);
    frand(logits, (size_t)N * V, 6);
    for (int n = 0; n < N; n++) mask[n] = n % 7 == 3 ? 0.0f : 1.0f, targets[n] = (n * 5) % V;
    f2d(dlog, logits, (size_t)N * V);
    ce_ctx c = {N, V, targets, mask, dlog};
    ffill(probs, (size_t)N * V, PREFILL);
    double loss = 0.0, loss2 = 0.0, perr = 0.0;
    int kept = 1;
    llc_crossentropy_forward(&loss, probs, logits, targets, mask, N, V);
    for (int n = 0; n < N; n++) {
        const double *l = dlog + (size_t)n * V;
        double mx = -INFINITY, s = 0.0;
        for (int v = 0; v < V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < V; v++) s += exp(l[v] - mx);
        for (int v = 0; v < V; v++) {
            const float got = probs[(size_t)n * V + v];
            if (mask[n] == 0.0f) kept = kept && got == PREFILL;
            else perr = fmax(perr, fabs(got - exp(l[v] - mx) / s) / (exp(l[v] - mx) / s));
        }
    }
    memcpy(inplace, logits, (size_t)N * V * sizeof *inplace);
    llc_crossentropy_forward(&loss2, inplace, inplace, targets, mask, N, V);
    int same = loss2 == loss;
    for (int n = 0; n < N; n++)
        if (mask[n] != 0.0f) same = same && !memcmp(inplace + (size_t)n * V, probs + (size_t)n * V, (size_t)V * 4);
    CHECK(fabs(loss - f_ce(&c)) < 1e-6 * (1 + fabs(loss)) && perr < 1e-5 && kept && same,
          "crossentropy %d rows x %d: loss %.9g (want %.9g), probabilities within %.2g relative, masked rows "
          "untouched %d, in place the same %d", N, V, loss, f_ce(&c), perr, kept, same);
    free(logits), free(probs), free(inplace), free(mask), free(targets), free(dlog);
}

/* llc_gather_rows / llc_scatter_rows: contiguous matrices with runs of
 * consecutive rows (one memcpy a run), strided rows, sel NULL, and lds 0 (a
 * bias row repeated); the padding past n and the unselected rows untouched. */
static void test_rows(int n, int ld)
{
    enum { M = 9, R = 24 };
    const int sel[M] = {0, 1, 2, 5, 6, 10, 11, 12, 23};
    float *src = fnew((size_t)R * ld), *dst = fnew((size_t)R * ld);
    frand(src, (size_t)R * ld, 1);
    ffill(dst, (size_t)R * ld, PREFILL);
    llc_gather_rows(dst, (size_t)ld, src, (size_t)ld, sel, M, n);
    int ok = 1;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < ld; j++)
            ok = ok && dst[(size_t)i * ld + j] == (i < M && j < n ? src[(size_t)sel[i] * ld + j] : PREFILL);
    ffill(dst, (size_t)R * ld, PREFILL);
    llc_scatter_rows(dst, (size_t)ld, src, (size_t)ld, sel, M, n);
    for (int i = 0, k = 0; i < R; i++) {
        const int hit = k < M && sel[k] == i;
        for (int j = 0; j < ld; j++)
            ok = ok && dst[(size_t)i * ld + j] == (hit && j < n ? src[(size_t)k * ld + j] : PREFILL);
        k += hit;
    }
    ffill(dst, (size_t)R * ld, PREFILL);
    llc_gather_rows(dst, (size_t)ld, src, 0, NULL, M, n);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < ld; j++) ok = ok && dst[(size_t)i * ld + j] == (i < M && j < n ? src[j] : PREFILL);
    ffill(dst, (size_t)R * ld, PREFILL);
    llc_gather_rows(dst, (size_t)ld, src, (size_t)ld, NULL, M, n);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < ld; j++)
            ok = ok && dst[(size_t)i * ld + j] == (i < M && j < n ? src[(size_t)i * ld + j] : PREFILL);
    CHECK(ok, "gather/scatter rows of %d floats, stride %d: the selected rows copied, nothing else written", n, ld);
    free(src), free(dst);
}

/* ---------------- llc_add ---------------- */

static void test_add(void)
{
    enum { n = 11 };
    float y[n], x[n];
    double want[n];
    frand(y, n, 1), frand(x, n, 1);
    for (int i = 0; i < n; i++) want[i] = (double)y[i] + (double)x[i];
    llc_add(y, x, n);
    check_fwd("add", y, want, n);
}

int main(void)
{
    const char *env = getenv("LLC_TEST_SEED");
    unsigned long seed = env ? strtoul(env, NULL, 10) : 20240611ul;
    printf("test_kernels: seed %lu (LLC_TEST_SEED=%lu replays)\n", seed, seed);
    rng = llc_rng_new(seed);
    test_add();
    for (int ld = 13; ld <= 16; ld += 3) test_rows(13, ld);
    test_rows(16, 16);
    test_rows(16, 40);
    for (int V = 8; V <= 16; V++) test_crossentropy_shapes(70, V);
    test_crossentropy_shapes(33, 65);
    test_linear(0, 1);
    test_linear(0, 0);
    test_linear(1, 1);
    test_linear(1, 0);
    test_embedding();
    for (int kind = 0; kind < 3; kind++) {
        test_norm(kind, 10);
        test_norm(kind, 16);
    }
    test_gelu();
    test_rope();
    test_rope_widths();
    for (int causal = 0; causal < 2; causal++) {
        test_attention(2, 5, 2, 3, causal, LLC_HEAD_FREE);
        test_attention(2, 9, 2, 4, causal, LLC_HEAD_FREE);
    }
    /* heads in vector lanes (NH a multiple of 8, T < LLC_ATTN_GEMM_MIN_T): one
     * and two groups of 8 heads, HS below and at the vector width; with a
     * clamp the forward takes the per-head loops, the backward of a zeroed
     * head stays in lanes (masked) */
    for (int causal = 0; causal < 2; causal++) {
        test_attention(2, 5, 8, 3, causal, LLC_HEAD_FREE);
        test_attention(3, 17, 8, 8, causal, LLC_HEAD_FREE);
        test_attention(1, LLC_ATTN_GEMM_MIN_T - 1, 16, 4, causal, LLC_HEAD_FREE);
    }
    for (int k = LLC_HEAD_PATTERN; k <= LLC_HEAD_ZERO_OUTPUT; k++) test_attention(2, 9, 8, 5, 1, (llc_head_clamp_kind)k);
    /* NH dividing 8: the heads of 8/NH sequences per vector (3 sequences: a
     * vector with dropped lanes), HS at and below the vector width; the sort
     * model's shape */
    for (int causal = 0; causal < 2; causal++) {
        test_attention(3, 21, 4, 16, causal, LLC_HEAD_FREE);
        test_attention(5, 9, 2, 3, causal, LLC_HEAD_FREE);
        test_attention(3, 7, 1, 8, causal, LLC_HEAD_FREE);
    }
    /* the per-head loops (8 x 8 block transposes of K, V and att): 3 heads,
     * and at the sort model's shape with a clamped or zeroed head (a weight-
     * refined head's backward below 8 heads) */
    for (int causal = 0; causal < 2; causal++) test_attention(2, 21, 3, 16, causal, LLC_HEAD_FREE);
    test_attention(2, 21, 4, 16, 1, LLC_HEAD_PATTERN);
    test_attention(2, 21, 4, 16, 1, LLC_HEAD_ZERO_OUTPUT);
    /* both implementations: loops below LLC_ATTN_GEMM_MIN_T, tiled from it on */
    test_attention(1, LLC_ATTN_GEMM_MIN_T - 1, 2, 5, 1, LLC_HEAD_FREE);
    test_attention(1, LLC_ATTN_GEMM_MIN_T, 2, 5, 1, LLC_HEAD_FREE);
    test_attention(1, LLC_ATTN_GEMM_MIN_T + 1, 2, 5, 0, LLC_HEAD_FREE);
    /* tiled: a last block of 2 query rows, padded row strides (150 -> 176, 40 -> 48),
     * HS 32 in 16-column register blocks (M's head size); small: the gradient
     * check perturbs every input */
    test_attention(1, 150, 2, 4, 1, LLC_HEAD_FREE);
    /* the backward that stores dqkv: tiled (M's path, a last block of 2 rows)
     * and below LLC_ATTN_GEMM_MIN_T */
    for (int causal = 0; causal < 2; causal++) {
        test_attention_backward_set(2, 150, 6, 8, causal);
        test_attention_backward_set(2, 21, 6, 16, causal);
    }
    test_attention(1, 150, 2, 4, 1, LLC_HEAD_PREV);
    for (int causal = 0; causal < 2; causal++) test_attention(1, 40, 1, 32, causal, LLC_HEAD_FREE);
    for (int k = LLC_HEAD_PATTERN; k <= LLC_HEAD_ZERO_OUTPUT; k++)
        test_attention(1, LLC_ATTN_GEMM_MIN_T + 2, 2, 3, 1, (llc_head_clamp_kind)k);
    for (int k = LLC_HEAD_PATTERN; k <= LLC_HEAD_ZERO_OUTPUT; k++) {
        test_attention(2, 6, 2, 3, 1, (llc_head_clamp_kind)k);
        test_attention(2, 6, 2, 3, 0, (llc_head_clamp_kind)k);
    }
    /* skipped heads: the sort shape (per-head loops), 8 heads (backward in
     * lanes, masked), tiled */
    for (int causal = 0; causal < 2; causal++) {
        test_attention_skip(3, 21, 4, 16, causal, 2);
        test_attention_skip(3, 17, 8, 8, causal, 5);
        test_attention_skip(2, LLC_ATTN_GEMM_MIN_T + 3, 2, 8, causal, 1);
    }
    test_attention_scratch_short_batch();
    test_gemm_nn(7, 29, 5);
    test_gemm_nn(8, 16, 64);
    test_gemm_nn(13, 64, 16);
    test_gemm_nn(6, 56, 9);  /* 4 x 24, then 32 columns as two 4 x 16 */
    test_gemm_nn(5, 48, 33); /* two 4 x 24, and a 1-row tail */
    test_pool(0);
    test_pool(1);
    test_crossentropy();
    gsl_rng_free(rng);
    return tu_finish("test_kernels");
}
