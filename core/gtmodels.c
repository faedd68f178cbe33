/* gtmodels.c - the ground-truth models "linreg", "dln" and "poly" (see
 * llc_gtmodels.h for the functions, the loss convention and the groups).
 *
 * Shapes, for a batch of B samples (T = 1):
 *   x   (B, d_in)      y (B, d_out)      mask (B)
 *   dln: Z_0 = x, Z_l = Z_{l-1} · A_lᵀ   (B, H_l),   A_l (H_l, H_{l-1}) row-major
 * The loss is Σ_b mask_b ‖y_b − f(x_b)‖² / Σ_b mask_b (no ½), accumulated in
 * double; the residual's gradient is dL/df_b = 2·mask_b·(f_b − y_b) / Σ mask.
 */
#include "llc_gtmodels.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { GT_LINREG = 0, GT_DLN, GT_POLY } gt_kind;

typedef struct {
    gt_kind kind;
    int d_in, d_out;
    /* dln */
    int n_widths;                        /* L + 1 */
    int widths[LLC_GT_MAX_LAYERS + 1];   /* H_0 .. H_L */
    /* poly */
    llc_poly_form form;
    int n_k;
    int k[LLC_GT_MAX_K];
    /* population loss (llc_dln_set_population / llc_poly_set_population) */
    int population;
    double pop_const;  /* the irreducible part: d_out·noise² */
    double pop_s2;     /* poly: s² */
    float *target;     /* dln: (H_L, H_0) row-major teacher end-to-end map */
} gt_impl;

typedef struct {
    int max_B;
    double *acc; /* linreg: (d) gradient accumulator */
    float *z;    /* dln: Z_1..Z_L back to back, (max_B, H_l) each */
    float *dz0;  /* dln: (max_B, max_{l>=1} H_l) gradient wrt activations */
    float *dz1;  /* dln: same, the other half of the ping-pong */
    float *pp;   /* dln population: P_1..P_L back to back, (H_l, H_0) each */
    float *pg0;  /* dln population: (max_l H_l, H_0) gradient wrt P_l */
    float *pg1;  /* dln population: the other half of the ping-pong */
} gt_ws;

/* ---------------- shared pieces ---------------- */

/* GCC vector types for the loss loops */
typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

static void gt_ws_free(void *p)
{
    gt_ws *ws = p;
    if (!ws) return;
    free(ws->acc);
    free(ws->z);
    free(ws->dz0);
    free(ws->dz1);
    free(ws->pp);
    free(ws->pg0);
    free(ws->pg1);
    free(ws);
}

static void *gt_ws_alloc(const llc_model *m, int max_B)
{
    const gt_impl *g = m->impl;
    if (max_B < 1) return NULL;
    gt_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->max_B = max_B;
    if (g->kind == GT_LINREG) {
        if (!(ws->acc = calloc((size_t)g->d_in, sizeof *ws->acc))) goto fail;
    } else if (g->kind == GT_DLN) {
        size_t sum = 0, hmax = 0;
        for (int l = 1; l < g->n_widths; l++) {
            sum += (size_t)g->widths[l];
            if ((size_t)g->widths[l] > hmax) hmax = (size_t)g->widths[l];
        }
        size_t nb = (size_t)max_B;
        if (!(ws->z = malloc(nb * sum * sizeof *ws->z))) goto fail;
        if (!(ws->dz0 = malloc(nb * hmax * sizeof *ws->dz0))) goto fail;
        if (!(ws->dz1 = malloc(nb * hmax * sizeof *ws->dz1))) goto fail;
        if (g->population) {
            size_t h0 = (size_t)g->widths[0];
            if (!(ws->pp = malloc(sum * h0 * sizeof *ws->pp))) goto fail;
            if (!(ws->pg0 = malloc(hmax * h0 * sizeof *ws->pg0))) goto fail;
            if (!(ws->pg1 = malloc(hmax * h0 * sizeof *ws->pg1))) goto fail;
        }
    }
    return ws;
fail:
    gt_ws_free(ws);
    return NULL;
}

static int gt_check_batch(const gt_impl *g, const gt_ws *ws, const llc_batch *b)
{
    if (!b || !ws || b->T != 1 || b->d_in != g->d_in || b->d_out != g->d_out || !b->x || !b->y ||
        !b->mask || b->B < 0 || b->B > ws->max_B)
        return LLC_ERR_INVALID;
    return LLC_OK;
}

static double mask_sum(const llc_batch *b)
{
    double M = 0;
    for (int i = 0; i < b->B; i++) M += b->mask[i];
    return M;
}

static int gt_group(const llc_model *m, const char *name, llc_group *g, char *err)
{
    const gt_impl *gi = m->impl;
    size_t off = 0, len = 0;
    int found = 0;
    if (strcmp(name, "model") == 0) {
        off = 0;
        len = m->table.n_params;
        found = 1;
    } else {
        const llc_tensor *t = llc_ptable_find(&m->table, name);
        if (t) {
            off = t->offset;
            len = t->size;
            found = 1;
        } else {
            int idx = 0, used = 0;
            if (gi->kind == GT_DLN && sscanf(name, "layer %d%n", &idx, &used) == 1 &&
                name[used] == '\0' && idx >= 1 && idx < gi->n_widths) {
                char tn[LLC_NAMELEN];
                snprintf(tn, sizeof tn, "A%d", idx);
                t = llc_ptable_find(&m->table, tn);
                if (t) {
                    off = t->offset;
                    len = t->size;
                    found = 1;
                }
            } else if (gi->kind == GT_POLY && sscanf(name, "w%d%n", &idx, &used) == 1 &&
                       name[used] == '\0' && idx >= 1 && (size_t)idx <= m->table.n_params) {
                off = (size_t)(idx - 1);
                len = 1;
                found = 1;
            }
        }
    }
    if (!found) {
        if (gi->kind == GT_DLN)
            return llc_fail(err, LLC_ERR_NOTFOUND,
                            "dln: unknown group '%s' (valid: model, A1..A%d, 'layer 1'..'layer %d')", name,
                            gi->n_widths - 1, gi->n_widths - 1);
        if (gi->kind == GT_POLY)
            return llc_fail(err, LLC_ERR_NOTFOUND, "poly: unknown group '%s' (valid: model, w, w1..w%zu)",
                            name, m->table.n_params);
        return llc_fail(err, LLC_ERR_NOTFOUND, "linreg: unknown group '%s' (valid: model, w)", name);
    }
    snprintf(g->name, sizeof g->name, "%s", name);
    int rc = llc_group_add(g, off, len);
    if (rc) return llc_fail(err, rc, "out of memory");
    llc_group_normalize(g);
    return LLC_OK;
}

static void gt_free_impl(void *impl)
{
    gt_impl *g = impl;
    if (g) free(g->target);
    free(g);
}

/* A new model of the given kind with a copy of impl; the caller adds tensors. */
static llc_model *gt_model_alloc(const char *kind, const gt_impl *proto)
{
    llc_model *m = calloc(1, sizeof *m);
    gt_impl *g = malloc(sizeof *g);
    if (!m || !g) {
        free(m);
        free(g);
        return NULL;
    }
    *g = *proto;
    m->kind = kind;
    m->impl = g;
    m->ws_alloc = gt_ws_alloc;
    m->ws_free = gt_ws_free;
    m->group = gt_group;
    m->free_impl = gt_free_impl;
    return m;
}

/* N(0, sd²) by Box-Muller from uniforms: <gsl/gsl_randist.h> pulls in
 * gsl_cblas.h, whose enums clash with OpenBLAS's <cblas.h> used here. */
static double gt_gaussian(gsl_rng *rng, double sd)
{
    double u = gsl_rng_uniform_pos(rng), v = gsl_rng_uniform(rng);
    return sd * sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static int gt_init_gaussian(const llc_model *m, float *w, gsl_rng *rng)
{
    for (size_t i = 0; i < m->table.n_params; i++) w[i] = (float)gt_gaussian(rng, LLC_GT_INIT_STD);
    return LLC_OK;
}

/* ---------------- linreg ---------------- */

static int linreg_loss_grad(const llc_model *m, void *wsp, const float *w, const llc_batch *b, float *grad,
                            double *loss)
{
    const gt_impl *g = m->impl;
    gt_ws *ws = wsp;
    int rc = gt_check_batch(g, ws, b);
    if (rc) return rc;
    const int d = g->d_in;
    double *acc = ws->acc; // (d)
    for (int i = 0; i < d; i++) acc[i] = 0;
    double L = 0, M = mask_sum(b);
    for (int s = 0; s < b->B; s++) {
        double ms = b->mask[s];
        if (ms == 0) continue;
        const float *x = b->x + (size_t)s * (size_t)d; // (d)
        double f = 0;
        for (int i = 0; i < d; i++) f += (double)w[i] * x[i];
        double r = f - b->y[s];
        L += ms * r * r;
        double c = 2.0 * ms * r;
        for (int i = 0; i < d; i++) acc[i] += c * x[i];
    }
    double inv = M > 0 ? 1.0 / M : 0.0;
    *loss = L * inv;
    if (grad)
        for (int i = 0; i < d; i++) grad[i] = (float)(acc[i] * inv);
    return LLC_OK;
}

int llc_linreg_new(int d, llc_model **out, char *err)
{
    *out = NULL;
    if (d < 1) return llc_fail(err, LLC_ERR_INVALID, "linreg: d must be >= 1, got %d", d);
    gt_impl proto;
    memset(&proto, 0, sizeof proto);
    proto.kind = GT_LINREG;
    proto.d_in = d;
    proto.d_out = 1;
    llc_model *m = gt_model_alloc("linreg", &proto);
    if (!m) return llc_fail(err, LLC_ERR_NOMEM, "linreg: out of memory");
    int shape[1] = {d};
    if (llc_ptable_add(&m->table, "w", 1, shape) < 0) {
        llc_model_free(m);
        return llc_fail(err, LLC_ERR_NOMEM, "linreg: out of memory");
    }
    m->init = gt_init_gaussian;
    m->loss_grad = linreg_loss_grad;
    *out = m;
    return LLC_OK;
}

/* ---------------- dln ---------------- */

static int dln_init(const llc_model *m, float *w, gsl_rng *rng)
{
    const gt_impl *g = m->impl;
    for (int l = 1; l < g->n_widths; l++) {
        const llc_tensor *t = &m->table.t[l - 1];
        double sd = LLC_GT_DLN_INIT_GAIN / sqrt((double)g->widths[l - 1]);
        for (size_t i = 0; i < t->size; i++) w[t->offset + i] = (float)gt_gaussian(rng, sd);
    }
    return LLC_OK;
}

/* Population loss of the dln (see llc_dln_set_population): with the prefix
 * products P_l = A_l⋯A_1 (H_l, H_0) and R = P_L − T,
 *     L = ‖R‖_F² + pop_const,   dL/dA_l = G_l · P_{l−1}ᵀ  (P_0 = I),
 *     G_L = 2R,  G_{l−1} = A_lᵀ · G_l.
 * Float32 sgemm, the loss accumulated in double. The batch is not read. */
static int dln_pop_loss_grad(const gt_impl *g, const llc_model *m, gt_ws *ws, const float *w, float *grad,
                             double *loss)
{
    const int L = g->n_widths - 1, H0 = g->widths[0];
    const int *H = g->widths;
    const llc_tensor *tt = m->table.t;
    float *P = ws->pp; /* P_l at P + poff[l] */
    size_t poff[LLC_GT_MAX_LAYERS + 1];
    poff[1] = 0;
    for (int l = 2; l <= L; l++) poff[l] = poff[l - 1] + (size_t)H[l - 1] * (size_t)H0;
    memcpy(P, w + tt[0].offset, (size_t)H[1] * (size_t)H0 * sizeof *P);
    for (int l = 2; l <= L; l++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H[l], H0, H[l - 1], 1.0f, w + tt[l - 1].offset,
                    H[l - 1], P + poff[l - 1], H0, 0.0f, P + poff[l], H0);
    const float *PL = P + poff[L];
    float *G = ws->pg0, *Gn = ws->pg1;
    const size_t nL = (size_t)H[L] * (size_t)H0;
    double Ls = 0;
    for (size_t i = 0; i < nL; i++) {
        double r = (double)PL[i] - (double)g->target[i];
        Ls += r * r;
        G[i] = (float)(2.0 * r);
    }
    *loss = Ls + g->pop_const;
    if (!grad) return LLC_OK;
    for (int l = L; l >= 1; l--) {
        float *gA = grad + tt[l - 1].offset; /* (H_l, H_{l-1}) */
        if (l == 1) {
            memcpy(gA, G, (size_t)H[1] * (size_t)H0 * sizeof *gA);
            break;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, H[l], H[l - 1], H0, 1.0f, G, H0, P + poff[l - 1], H0,
                    0.0f, gA, H[l - 1]);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H[l - 1], H0, H[l], 1.0f, w + tt[l - 1].offset,
                    H[l - 1], G, H0, 0.0f, Gn, H0);
        float *tmp = G;
        G = Gn;
        Gn = tmp;
    }
    return LLC_OK;
}

/* C (M, N, row stride ldc) = op(A) · op(B). OpenBLAS zeroes C for beta = 0
 * in a slower pass of its own (sgemm_beta); a memset and beta = 1 are
 * cheaper and give the same bits (the kernel adds into C either way). */
static void sgemm_set(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
                      const float *B, int ldb, float *C, int ldc)
{
    for (int i = 0; i < M; i++) memset(C + (size_t)i * (size_t)ldc, 0, (size_t)N * sizeof *C);
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C, ldc);
}

static int dln_loss_grad(const llc_model *m, void *wsp, const float *w, const llc_batch *b, float *grad,
                         double *loss)
{
    const gt_impl *g = m->impl;
    gt_ws *ws = wsp;
    int rc = gt_check_batch(g, ws, b);
    if (rc) return rc;
    if (g->population) return dln_pop_loss_grad(g, m, ws, w, grad, loss);
    const int L = g->n_widths - 1, B = b->B;
    const int *H = g->widths;
    const llc_tensor *tt = m->table.t;
    double M = mask_sum(b);
    if (B == 0 || M == 0) {
        *loss = 0;
        if (grad) memset(grad, 0, m->table.n_params * sizeof *grad);
        return LLC_OK;
    }
    /* forward: Z_l = Z_{l-1} · A_lᵀ */
    const float *zprev = b->x; // (B, H_0)
    float *z = ws->z;
    for (int l = 1; l <= L; l++) {
        const float *A = w + tt[l - 1].offset; // (H_l, H_{l-1})
        sgemm_set(CblasNoTrans, CblasTrans, B, H[l], H[l - 1], zprev, H[l - 1], A, H[l - 1], z, H[l]);
        zprev = z;
        z += (size_t)B * (size_t)H[l];
    }
    /* loss and dL/dZ_L */
    const float *out = zprev; // (B, H_L)
    float *dz = ws->dz0;      // (B, H_L)
    double Ls = 0, inv = 1.0 / M;
    for (int s = 0; s < B; s++) {
        /* a row's squares in four partial sums, four lanes at a time (one
         * running sum would be a chain of dependent adds) */
        const double ms = b->mask[s], m2 = 2.0 * ms;
        const float *os = out + (size_t)s * (size_t)H[L], *ys = b->y + (size_t)s * (size_t)H[L];
        float *ds = dz + (size_t)s * (size_t)H[L];
        v4d a = {0, 0, 0, 0};
        int o = 0;
        for (; o + 4 <= H[L]; o += 4) {
            v4f of, yf;
            memcpy(&of, os + o, sizeof of);
            memcpy(&yf, ys + o, sizeof yf);
            v4d r = __builtin_convertvector(of, v4d) - __builtin_convertvector(yf, v4d);
            a += r * r;
            v4f d = __builtin_convertvector(m2 * r * inv, v4f);
            memcpy(ds + o, &d, sizeof d);
        }
        double t = (a[0] + a[1]) + (a[2] + a[3]);
        for (; o < H[L]; o++) {
            double r = (double)os[o] - (double)ys[o];
            t += r * r;
            ds[o] = (float)(m2 * r * inv);
        }
        Ls += ms * t;
    }
    *loss = Ls * inv;
    if (!grad) return LLC_OK;
    /* backward: dA_l = dZ_lᵀ · Z_{l-1};  dZ_{l-1} = dZ_l · A_l */
    float *dzo = ws->dz1;
    for (int l = L; l >= 1; l--) {
        z -= (size_t)B * (size_t)H[l];                                   // now Z_l
        const float *zin = l > 1 ? z - (size_t)B * (size_t)H[l - 1] : b->x; // Z_{l-1} (B, H_{l-1})
        const float *A = w + tt[l - 1].offset;
        sgemm_set(CblasTrans, CblasNoTrans, H[l], H[l - 1], B, dz, H[l], zin, H[l - 1], grad + tt[l - 1].offset,
                  H[l - 1]);
        if (l > 1) {
            sgemm_set(CblasNoTrans, CblasNoTrans, B, H[l - 1], H[l], dz, H[l], A, H[l - 1], dzo, H[l - 1]);
            float *tmp = dz;
            dz = dzo;
            dzo = tmp;
        }
    }
    return LLC_OK;
}

/* FLOPs of one forward+backward on b (llc_model.flops): the layers'
 * products 2·B·H_l·H_(l-1), the backward twice the forward but for the
 * input gradient of the first layer; the largest layer's shape into shape. */
static double dln_flops(const llc_model *m, const llc_batch *b, int shape[3])
{
    const gt_impl *g = m->impl;
    const int B = b->B;
    double fwd = 0;
    int best = 0;
    for (int l = 1; l < g->n_widths; l++) {
        fwd += 2.0 * B * g->widths[l] * g->widths[l - 1];
        if (g->widths[l] * g->widths[l - 1] > best) {
            best = g->widths[l] * g->widths[l - 1];
            shape[0] = B;
            shape[1] = g->widths[l];
            shape[2] = g->widths[l - 1];
        }
    }
    return 3 * fwd - 2.0 * B * g->widths[1] * g->widths[0];
}

int llc_dln_new(const int *widths, int n_widths, llc_model **out, char *err)
{
    *out = NULL;
    if (!widths || n_widths < 2 || n_widths > LLC_GT_MAX_LAYERS + 1)
        return llc_fail(err, LLC_ERR_INVALID, "dln: need 2 to %d widths (input .. output), got %d",
                        LLC_GT_MAX_LAYERS + 1, n_widths);
    gt_impl proto;
    memset(&proto, 0, sizeof proto);
    proto.kind = GT_DLN;
    proto.n_widths = n_widths;
    for (int l = 0; l < n_widths; l++) {
        if (widths[l] < 1)
            return llc_fail(err, LLC_ERR_INVALID, "dln: width %d must be >= 1, got %d", l, widths[l]);
        proto.widths[l] = widths[l];
    }
    proto.d_in = widths[0];
    proto.d_out = widths[n_widths - 1];
    llc_model *m = gt_model_alloc("dln", &proto);
    if (!m) return llc_fail(err, LLC_ERR_NOMEM, "dln: out of memory");
    for (int l = 1; l < n_widths; l++) {
        char name[LLC_NAMELEN];
        int shape[2] = {widths[l], widths[l - 1]};
        snprintf(name, sizeof name, "A%d", l);
        if (llc_ptable_add(&m->table, name, 2, shape) < 0) {
            llc_model_free(m);
            return llc_fail(err, LLC_ERR_NOMEM, "dln: out of memory");
        }
    }
    m->init = dln_init;
    m->loss_grad = dln_loss_grad;
    m->flops = dln_flops;
    *out = m;
    return LLC_OK;
}

static gt_impl *gt_impl_of(llc_model *m, const char *kind)
{
    if (!m || !m->kind || strcmp(m->kind, kind) != 0 || !m->impl) return NULL;
    return m->impl;
}

int llc_dln_set_population(llc_model *m, const float *target, double noise, char *err)
{
    gt_impl *g = gt_impl_of(m, "dln");
    if (!g) return llc_fail(err, LLC_ERR_INVALID, "dln population: not a dln model");
    if (!target) return llc_fail(err, LLC_ERR_INVALID, "dln population: NULL target map");
    if (!(noise >= 0) || !isfinite(noise))
        return llc_fail(err, LLC_ERR_INVALID, "dln population: noise must be finite and >= 0, got %g", noise);
    size_t nt = (size_t)g->d_out * (size_t)g->d_in;
    float *T = malloc(nt * sizeof *T);
    if (!T) return llc_fail(err, LLC_ERR_NOMEM, "dln population: out of memory");
    memcpy(T, target, nt * sizeof *T);
    free(g->target);
    g->target = T;
    g->population = 1;
    g->pop_const = (double)g->d_out * noise * noise;
    return LLC_OK;
}

int llc_gt_is_population(const llc_model *m)
{
    if (!m || !m->kind || !m->impl) return 0;
    if (strcmp(m->kind, "dln") != 0 && strcmp(m->kind, "poly") != 0) return 0;
    return ((const gt_impl *)m->impl)->population;
}

const int *llc_dln_widths(const llc_model *m, int *n_widths)
{
    if (!m || !m->kind || strcmp(m->kind, "dln") != 0) return NULL;
    const gt_impl *g = m->impl;
    if (n_widths) *n_widths = g->n_widths;
    return g->widths;
}

/* ---------------- poly ---------------- */

static double ipow(double x, int k)
{
    double r = 1;
    for (int i = 0; i < k; i++) r *= x;
    return r;
}

/* g(w) (f = x·g) and its gradient dg (n entries). */
static double poly_g(const gt_impl *g, const float *w, double *dg)
{
    if (g->form == LLC_POLY_LOCALITY) {
        double w1 = w[0], w2 = w[1], q = w1 * w1 + w2 * w2;
        dg[0] = q * q + 4.0 * w1 * (w1 - 1.0) * q;
        dg[1] = 4.0 * w2 * (w1 - 1.0) * q;
        return (w1 - 1.0) * q * q;
    }
    double val = 1;
    for (int j = 0; j < g->n_k; j++) val *= ipow(w[j], g->k[j]);
    for (int j = 0; j < g->n_k; j++) {
        if (g->k[j] == 0) {
            dg[j] = 0;
            continue;
        }
        double p = g->k[j] * ipow(w[j], g->k[j] - 1);
        for (int i = 0; i < g->n_k; i++)
            if (i != j) p *= ipow(w[i], g->k[i]);
        dg[j] = p;
    }
    return val;
}

static int poly_loss_grad(const llc_model *m, void *wsp, const float *w, const llc_batch *b, float *grad,
                          double *loss)
{
    const gt_impl *g = m->impl;
    int rc = gt_check_batch(g, wsp, b);
    if (rc) return rc;
    double dg[LLC_GT_MAX_K];
    double gv = poly_g(g, w, dg);
    if (g->population) { /* E over x ~ N(0, s²), y = noise·N(0,1): s²·g² + noise² */
        *loss = g->pop_s2 * gv * gv + g->pop_const;
        if (grad)
            for (size_t j = 0; j < m->table.n_params; j++) grad[j] = (float)(2.0 * g->pop_s2 * gv * dg[j]);
        return LLC_OK;
    }
    double L = 0, D = 0, M = mask_sum(b);
    for (int s = 0; s < b->B; s++) {
        double ms = b->mask[s];
        if (ms == 0) continue;
        double x = b->x[s], r = x * gv - b->y[s];
        L += ms * r * r;
        D += 2.0 * ms * r * x;
    }
    double inv = M > 0 ? 1.0 / M : 0.0;
    *loss = L * inv;
    if (grad)
        for (size_t j = 0; j < m->table.n_params; j++) grad[j] = (float)(D * inv * dg[j]);
    return LLC_OK;
}

int llc_poly_new(llc_poly_form form, const int *k, int n_k, llc_model **out, char *err)
{
    *out = NULL;
    gt_impl proto;
    memset(&proto, 0, sizeof proto);
    proto.kind = GT_POLY;
    proto.d_in = proto.d_out = 1;
    proto.form = form;
    int n_params;
    if (form == LLC_POLY_MONOMIAL) {
        if (!k || n_k < 1 || n_k > LLC_GT_MAX_K)
            return llc_fail(err, LLC_ERR_INVALID, "poly: need 1 to %d exponents k, got %d", LLC_GT_MAX_K, n_k);
        for (int j = 0; j < n_k; j++) {
            if (k[j] < 0) return llc_fail(err, LLC_ERR_INVALID, "poly: exponent k[%d] must be >= 0, got %d", j, k[j]);
            proto.k[j] = k[j];
        }
        proto.n_k = n_k;
        n_params = n_k;
    } else if (form == LLC_POLY_LOCALITY) {
        if (n_k != 0) return llc_fail(err, LLC_ERR_INVALID, "poly: form 'locality' takes no exponents k");
        n_params = 2;
    } else {
        return llc_fail(err, LLC_ERR_INVALID, "poly: unknown form %d", (int)form);
    }
    llc_model *m = gt_model_alloc("poly", &proto);
    if (!m) return llc_fail(err, LLC_ERR_NOMEM, "poly: out of memory");
    int shape[1] = {n_params};
    if (llc_ptable_add(&m->table, "w", 1, shape) < 0) {
        llc_model_free(m);
        return llc_fail(err, LLC_ERR_NOMEM, "poly: out of memory");
    }
    m->init = gt_init_gaussian;
    m->loss_grad = poly_loss_grad;
    *out = m;
    return LLC_OK;
}

int llc_poly_set_population(llc_model *m, double s, double noise, char *err)
{
    gt_impl *g = gt_impl_of(m, "poly");
    if (!g) return llc_fail(err, LLC_ERR_INVALID, "poly population: not a poly model");
    if (!(s > 0) || !isfinite(s))
        return llc_fail(err, LLC_ERR_INVALID, "poly population: s must be finite and > 0, got %g", s);
    if (!(noise >= 0) || !isfinite(noise))
        return llc_fail(err, LLC_ERR_INVALID, "poly population: noise must be finite and >= 0, got %g", noise);
    g->population = 1;
    g->pop_s2 = s * s;
    g->pop_const = noise * noise;
    return LLC_OK;
}
