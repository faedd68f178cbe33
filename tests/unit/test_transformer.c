/* test_transformer.c - the transformer model (core/transformer.c).
 *
 * Gradient checks: the model's float32 loss and gradient against an
 * independent double-precision reference of the same model written here
 * from the specification (naive loops, tensors found by NAME in the table,
 * so the documented layout is checked too). Reference gradient = central
 * finite differences of the double reference loss (step FD_H); a model
 * passes when
 *     |loss - ref| <= LOSS_RTOL * ref   and
 *     max_i |grad_i - fd_i| <= GRAD_RTOL * max_i |fd_i| + GRAD_ATOL.
 * One configuration per option: each pos kind, norm kind, MLP on/off,
 * causal/full, pooled, tied/untied, biases, final norm, continuous inputs,
 * each clamp kind, short sequences (T < n_ctx).
 * Also: group sizes and contents, bad group names, config validation, init
 * determinism and statistics, forward-only == forward of loss_grad, batch
 * validation. Seed printed; LLC_TEST_SEED=n replays.
 */
#include "llc_kernels.h"
#include "llc_model.h"
#include "testutil.h"

#include <pthread.h>
#include <gsl/gsl_randist.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FD_H 1e-5
#define LOSS_RTOL 1e-6
#define GRAD_RTOL 2e-5
#define GRAD_ATOL 1e-6
#define EPS 1e-5 /* LLC_NORM_EPS */

static unsigned long seed;

/* ---------------- the double-precision reference ---------------- */

typedef struct {
    const llc_model *m;
    const llc_tf_config *c;
    const llc_batch *b;
    double *w;
} ref_ctx;

static const double *P(const ref_ctx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const double *P(const ref_ctx *r, const char *fmt, ...)
{
    char name[LLC_NAMELEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const llc_tensor *t = llc_ptable_find(&r->m->table, name);
    return t ? r->w + t->offset : NULL;
}

/* out = norm(x) of one row, with gain g and bias b if present. */
static void ref_norm(const ref_ctx *r, double *out, const double *x, const double *g, const double *b)
{
    const int C = r->c->d_model;
    double m = 0.0, v = 0.0;
    if (r->c->norm == LLC_NORM_NONE) {
        memcpy(out, x, (size_t)C * sizeof *out);
        return;
    }
    if (r->c->norm == LLC_NORM_LAYER) {
        for (int k = 0; k < C; k++) m += x[k];
        m /= C;
    }
    for (int k = 0; k < C; k++) v += (x[k] - m) * (x[k] - m);
    double s = 1.0 / sqrt(v / C + EPS);
    for (int k = 0; k < C; k++) {
        out[k] = (x[k] - m) * s;
        if (r->c->norm != LLC_NORM_RMS_NOGAIN) out[k] *= g[k];
        if (r->c->norm == LLC_NORM_LAYER) out[k] += b[k];
    }
}

static double gelu(double x) { return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }

/* y (OC) = W (OC, IC) x + b */
static void matvec(double *y, const double *W, const double *b, const double *x, int OC, int IC)
{
    for (int o = 0; o < OC; o++) {
        double s = b ? b[o] : 0.0;
        for (int i = 0; i < IC; i++) s += W[o * IC + i] * x[i];
        y[o] = s;
    }
}

/* The clamp of head (l, h): 0 none, else an llc_clamp_kind; zeroing wins. */
static int clamp_of(const llc_tf_config *c, int l, int h, const float **pattern)
{
    int kind = 0;
    for (int i = 0; i < c->n_clamps; i++) {
        const llc_clamp *k = &c->clamps[i];
        if (k->layer != l || k->head != h || k->kind == LLC_CLAMP_MEAN_OUTPUT) continue;
        int zero = k->kind == LLC_CLAMP_ZERO_VALUES || k->kind == LLC_CLAMP_ZERO_OUTPUT;
        int kz = kind == LLC_CLAMP_ZERO_VALUES || kind == LLC_CLAMP_ZERO_OUTPUT;
        if (kz && !zero) continue;
        kind = k->kind;
        *pattern = k->pattern;
    }
    return kind;
}

/* How head (l, h) forms its pattern, from every clamp on it (the last
 * pattern clamp wins; zeroing applies to the output only). */
typedef struct {
    int fixed, from_layer, from, no_prev, zero;
    double own, temp;
    const float *pattern;
} ref_spec;

static ref_spec spec_of(const llc_tf_config *c, int l, int h)
{
    ref_spec sp = {.temp = 1.0};
    for (int i = 0; i < c->n_clamps; i++) {
        const llc_clamp *k = &c->clamps[i];
        if (k->layer != l || k->head != h) continue;
        switch (k->kind) {
        case LLC_CLAMP_PATTERN_PREV:
        case LLC_CLAMP_PATTERN_GIVEN:
        case LLC_CLAMP_INDUCTION:
        case LLC_CLAMP_COPY:
            sp.fixed = k->kind, sp.own = k->own, sp.pattern = k->pattern, sp.from = k->from_head;
            sp.from_layer = k->from_layer;
            break;
        case LLC_CLAMP_NO_PREV: sp.no_prev = 1; break;
        case LLC_CLAMP_TEMPERATURE: sp.temp = k->temperature; break;
        case LLC_CLAMP_ZERO_VALUES:
        case LLC_CLAMP_ZERO_OUTPUT: sp.zero = 1; break;
        case LLC_CLAMP_MEAN_OUTPUT: break;
        }
    }
    return sp;
}

/* A MEAN_OUTPUT clamp of head (l, h) (it overrides every other clamp):
 * 1 and its vector in *mean (NULL = zeros), else 0. */
static int mean_of(const llc_tf_config *c, int l, int h, const float **mean)
{
    int has = 0;
    for (int i = 0; i < c->n_clamps; i++)
        if (c->clamps[i].kind == LLC_CLAMP_MEAN_OUTPUT && c->clamps[i].layer == l && c->clamps[i].head == h)
            has = 1, *mean = c->clamps[i].mean;
    return has;
}

/* The tensors of one MLP block, looked up once per layer. */
typedef struct {
    const double *g, *b, *fc_w, *fc_b, *proj_w, *proj_b;
    double *h, *f, *o; /* scratch (C), (d_mlp), (C) */
} ref_mlp;

static ref_mlp mlp_tensors(const ref_ctx *r, int l, double *scratch)
{
    ref_mlp t = {P(r, "%d.ln2.g", l), P(r, "%d.ln2.b", l), P(r, "%d.mlp.fc.w", l), P(r, "%d.mlp.fc.b", l),
                 P(r, "%d.mlp.proj.w", l), P(r, "%d.mlp.proj.b", l), scratch, scratch + r->c->d_model,
                 scratch + r->c->d_model + r->c->d_mlp};
    return t;
}

static void mlp_block(const ref_ctx *r, const ref_mlp *t, double *x)
{
    const int C = r->c->d_model, DM = r->c->d_mlp;
    double *h = t->h, *f = t->f, *o = t->o;
    ref_norm(r, h, x, t->g, t->b);
    matvec(f, t->fc_w, t->fc_b, h, DM, C);
    for (int j = 0; j < DM; j++) f[j] = gelu(f[j]);
    matvec(o, t->proj_w, t->proj_b, f, C, DM);
    for (int k = 0; k < C; k++) x[k] += o[k];
}

static double ref_loss(const ref_ctx *r)
{
    const llc_tf_config *c = r->c;
    const llc_batch *bt = r->b;
    const int B = bt->B, T = bt->T, N = B * T, C = c->d_model, NH = c->n_heads, HS = c->d_head, D = NH * HS;
    const int L = c->n_layers, V = c->n_out;
    double *x = calloc((size_t)N * C, sizeof *x), *h = calloc((size_t)N * C, sizeof *h);
    double *q = calloc((size_t)N * D, sizeof *q), *k = calloc((size_t)N * D, sizeof *k);
    double *v = calloc((size_t)N * D, sizeof *v), *y = calloc((size_t)N * D, sizeof *y);
    double *a = calloc((size_t)T, sizeof *a), *tmp = calloc((size_t)C, sizeof *tmp);
    double *abl = calloc((size_t)L * B * NH * T * T, sizeof *abl); /* every layer's patterns (copies read them) */
    double *logit = calloc((size_t)V, sizeof *logit), *hp = calloc((size_t)C, sizeof *hp);
    double *xin = calloc((size_t)c->d_input + 1, sizeof *xin);
    double *mlp_scratch = calloc((size_t)(2 * C + c->d_mlp), sizeof *mlp_scratch);
    const double *pos = P(r, "pos"), *emb = P(r, "embed"), *inw = P(r, "in.w"), *inb = P(r, "in.b");
    for (int n = 0; n < N; n++) {
        int tok = bt->tokens ? bt->tokens[n] : -1;
        if (tok >= 0) memcpy(x + n * C, emb + tok * C, (size_t)C * sizeof *x);
        else {
            for (int i = 0; i < c->d_input; i++) xin[i] = bt->x[(size_t)n * c->d_input + i];
            matvec(x + n * C, inw, inb, xin, C, c->d_input);
        }
        if (c->pos == LLC_POS_LEARNED)
            for (int j = 0; j < C; j++) x[n * C + j] += pos[(n % T) * C + j];
    }
    int rows = N; /* rows of x after the last layer */
    for (int l = 0; l < L; l++) {
        int pool = c->pooled && l == L - 1;
        const double *g1 = P(r, "%d.ln1.g", l), *b1 = P(r, "%d.ln1.b", l);
        ref_mlp mt = mlp_tensors(r, l, mlp_scratch);
        for (int n = 0; n < N; n++) ref_norm(r, h + n * C, x + n * C, g1, b1);
        const double *W = P(r, pool ? "%d.attn.kv.w" : "%d.attn.qkv.w", l);
        const double *Wb = P(r, pool ? "%d.attn.kv.b" : "%d.attn.qkv.b", l);
        int kb = pool ? 0 : D, vb = pool ? D : 2 * D; /* first row of the K and V blocks */
        for (int n = 0; n < N; n++) {
            for (int j = 0; j < C; j++)
                hp[j] = h[n * C + j] + (c->pos == LLC_POS_SHORTFORMER ? pos[(n % T) * C + j] : 0.0);
            for (int o = 0; o < D; o++) {
                double sq = Wb && !pool ? Wb[o] : 0.0, sk = Wb ? Wb[kb + o] : 0.0, sv = Wb ? Wb[vb + o] : 0.0;
                for (int j = 0; j < C; j++) {
                    if (!pool) sq += W[o * C + j] * hp[j];
                    sk += W[(kb + o) * C + j] * hp[j];
                    sv += W[(vb + o) * C + j] * h[n * C + j];
                }
                q[n * D + o] = sq, k[n * D + o] = sk, v[n * D + o] = sv;
            }
            if (c->pos == LLC_POS_ROPE)
                for (int hd = 0; hd < NH; hd++)
                    for (int i = 0; i < HS / 2; i++) {
                        double ang = (n % T) * pow(10000.0, -2.0 * i / HS);
                        double *vecs[2] = {q + n * D + hd * HS, k + n * D + hd * HS};
                        for (int z = 0; z < 2; z++) {
                            double x1 = vecs[z][i], x2 = vecs[z][i + HS / 2];
                            vecs[z][i] = x1 * cos(ang) - x2 * sin(ang);
                            vecs[z][i + HS / 2] = x2 * cos(ang) + x1 * sin(ang);
                        }
                    }
        }
        const double *Wo = P(r, "%d.attn.o.w", l), *bo = P(r, "%d.attn.o.b", l);
        if (pool) {
            const double *query = P(r, "%d.attn.query", l);
            double *pooled = calloc((size_t)B * C, sizeof *pooled), *yb = calloc((size_t)D, sizeof *yb);
            for (int b = 0; b < B; b++) {
                for (int hd = 0; hd < NH; hd++) {
                    const float *pat = NULL;
                    int kind = clamp_of(c, l, hd, &pat);
                    double mx = -INFINITY, sum = 0.0;
                    for (int t = 0; t < T; t++) {
                        double s = 0.0;
                        for (int i = 0; i < HS; i++) s += query[hd * HS + i] * k[(b * T + t) * D + hd * HS + i];
                        a[t] = s / sqrt((double)HS);
                        mx = fmax(mx, a[t]);
                    }
                    for (int t = 0; t < T; t++) sum += (a[t] = exp(a[t] - mx));
                    for (int i = 0; i < HS; i++) {
                        double s = 0.0;
                        for (int t = 0; t < T; t++) s += a[t] / sum * v[(b * T + t) * D + hd * HS + i];
                        yb[hd * HS + i] = kind ? 0.0 : s; /* only zero clamps are allowed here */
                    }
                    const float *mv = NULL;
                    if (mean_of(c, l, hd, &mv))
                        for (int i = 0; i < HS; i++) yb[hd * HS + i] = mv ? mv[i] : 0.0;
                }
                for (int j = 0; j < C; j++) {
                    double s = bo ? bo[j] : 0.0;
                    for (int o = 0; o < D; o++) s += yb[o] * Wo[o * C + j]; /* in-major W_O */
                    pooled[b * C + j] = s;
                }
                if (c->d_mlp > 0) mlp_block(r, &mt, pooled + b * C);
            }
            memcpy(x, pooled, (size_t)B * C * sizeof *x);
            rows = B;
            free(pooled), free(yb);
            break;
        }
        for (int b = 0; b < B; b++) {
            /* every head's pattern of sequence b into ab (NH, T, T); copies after their sources */
            double *ab = abl + ((size_t)l * B + b) * NH * T * T;
            for (int pass = 0; pass < 2; pass++)
                for (int hd = 0; hd < NH; hd++) {
                    ref_spec sp = spec_of(c, l, hd);
                    if ((sp.fixed == LLC_CLAMP_COPY) != pass) continue;
                    for (int t = 0; t < T; t++) {
                        double *at = ab + ((size_t)hd * T + t) * T;
                        int len = c->causal ? t + 1 : T;
                        double mx = -INFINITY, sum = 0.0;
                        for (int s = 0; s < T; s++) a[s] = 0.0;
                        for (int s = 0; s < len; s++) {
                            if (sp.no_prev && t >= 1 && s == t - 1) continue;
                            double d = 0.0;
                            for (int i = 0; i < HS; i++) d += q[(b * T + t) * D + hd * HS + i] * k[(b * T + s) * D + hd * HS + i];
                            a[s] = d / sqrt((double)HS) / sp.temp;
                            mx = fmax(mx, a[s]);
                        }
                        for (int s = 0; s < len; s++)
                            if (!(sp.no_prev && t >= 1 && s == t - 1)) sum += (a[s] = exp(a[s] - mx));
                        for (int s = 0; s < len; s++) a[s] /= sum;
                        for (int s = 0; s < T; s++) at[s] = 0.0;
                        if (sp.fixed == LLC_CLAMP_PATTERN_PREV) {
                            at[t > 0 ? t - 1 : 0] = 1.0;
                        } else if (sp.fixed == LLC_CLAMP_PATTERN_GIVEN) {
                            for (int s = 0; s < T; s++) at[s] = sp.pattern[t * c->n_ctx + s];
                        } else if (sp.fixed == LLC_CLAMP_INDUCTION) { /* after the last earlier occurrence, else 0 */
                            const int *tok = bt->tokens + (size_t)b * T;
                            int j = t - 1;
                            while (j >= 0 && tok[j] != tok[t]) j--;
                            at[j >= 0 ? j + 1 : 0] = 1.0;
                        } else if (sp.fixed == LLC_CLAMP_COPY) {
                            const double *src = abl + (((size_t)sp.from_layer * B + b) * NH + sp.from) * T * T;
                            for (int s = 0; s < T; s++) at[s] = src[(size_t)t * T + s];
                        }
                        for (int s = 0; s < T; s++) at[s] = sp.fixed ? (1.0 - sp.own) * at[s] + sp.own * a[s] : a[s];
                    }
                }
            for (int hd = 0; hd < NH; hd++) {
                const ref_spec sp = spec_of(c, l, hd);
                const float *mv = NULL;
                const int mean = mean_of(c, l, hd, &mv);
                for (int t = 0; t < T; t++)
                    for (int i = 0; i < HS; i++) {
                        double s = 0.0;
                        for (int u = 0; u < T; u++) s += ab[((size_t)hd * T + t) * T + u] * v[(b * T + u) * D + hd * HS + i];
                        y[(b * T + t) * D + hd * HS + i] = mean ? (mv ? mv[i] : 0.0) : sp.zero ? 0.0 : s;
                    }
            }
        }
        for (int n = 0; n < N; n++) {
            for (int j = 0; j < C; j++) {
                double s = bo ? bo[j] : 0.0;
                for (int o = 0; o < D; o++) s += y[n * D + o] * Wo[o * C + j];
                x[n * C + j] += s;
            }
            if (c->d_mlp > 0) mlp_block(r, &mt, x + n * C);
        }
    }
    const double *U = c->tied ? P(r, "embed") : P(r, "unembed"), *ub = P(r, "unembed.b");
    const double *gf = P(r, "lnf.g"), *bf = P(r, "lnf.b");
    double total = 0.0, wsum = 0.0;
    for (int i = 0; i < rows; i++) {
        int n = c->pooled ? i * T + T - 1 : i;
        if (bt->mask[n] == 0.0f) continue;
        if (c->final_norm) ref_norm(r, tmp, x + i * C, gf, bf);
        else memcpy(tmp, x + i * C, (size_t)C * sizeof *tmp);
        matvec(logit, U, ub, tmp, V, C);
        double mx = -INFINITY, s = 0.0;
        for (int o = 0; o < V; o++) mx = fmax(mx, logit[o]);
        for (int o = 0; o < V; o++) s += exp(logit[o] - mx);
        total += bt->mask[n] * (mx + log(s) - logit[bt->targets[n]]);
        wsum += bt->mask[n];
    }
    free(x), free(h), free(q), free(k), free(v), free(y), free(a), free(tmp), free(logit), free(hp), free(xin);
    free(mlp_scratch), free(abl);
    return wsum > 0.0 ? total / wsum : 0.0;
}

/* ---------------- helpers ---------------- */

static void small_config(llc_tf_config *c)
{
    llc_tf_config_default(c);
    c->n_layers = 2;
    c->n_heads = 2;
    c->d_model = 8;
    c->d_head = 4;
    c->vocab = 7;
    c->n_out = 7;
    c->n_ctx = 6;
    c->d_mlp = 12;
}

/* A random batch for c: tokens (some -1 when the model has continuous
 * inputs), targets, a mask with zeros and a weight 2. */
static llc_batch *make_batch(const llc_tf_config *c, int B, int T, gsl_rng *rng)
{
    llc_batch *b = llc_batch_alloc(B, T, c->vocab > 0, c->d_input, 1, 0);
    b->B = B;
    for (int n = 0; n < B * T; n++) {
        if (b->tokens) {
            b->tokens[n] = (int)gsl_rng_uniform_int(rng, (unsigned long)c->vocab);
            if (c->d_input > 0 && gsl_rng_uniform(rng) < 0.4) b->tokens[n] = -1;
        }
        for (int i = 0; i < c->d_input; i++) b->x[(size_t)n * c->d_input + i] = (float)gsl_ran_gaussian(rng, 1.0);
        b->targets[n] = (int)gsl_rng_uniform_int(rng, (unsigned long)c->n_out);
        double u = gsl_rng_uniform(rng);
        b->mask[n] = u < 0.3 ? 0.0f : (u < 0.4 ? 2.0f : 1.0f);
    }
    b->mask[0] = 1.0f;
    if (c->pooled) /* the scored positions of a pooled model are the last ones */
        for (int s = 0; s < B; s++) b->mask[s * T + T - 1] = s == 1 ? 0.0f : 1.0f;
    return b;
}

static float *init_params(const llc_model *m, unsigned long s)
{
    float *w = malloc(llc_model_n_params(m) * sizeof *w);
    gsl_rng *rng = llc_rng_new(llc_seed(s, LLC_PURPOSE_INIT, 0, 0, 0));
    m->init(m, w, rng);
    /* perturb gains and biases away from 1 and 0 so their gradients are generic */
    for (int i = 0; i < m->table.n; i++)
        if (m->table.t[i].ndim == 1)
            for (size_t j = 0; j < m->table.t[i].size; j++)
                w[m->table.t[i].offset + j] += (float)gsl_ran_gaussian(rng, 0.3);
    gsl_rng_free(rng);
    return w;
}

/* The whole-model check for one configuration. */
static void grad_check(const char *what, const llc_tf_config *c, int B, int T)
{
    char err[LLC_ERRLEN] = "";
    llc_model *m = NULL;
    int rc = llc_transformer_new(c, &m, err);
    CHECK(rc == LLC_OK, "%s: model builds (%s)", what, err);
    if (rc) return;
    size_t n = llc_model_n_params(m);
    gsl_rng *rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_DATA, llc_hash_str(what), 0, 0));
    float *w = init_params(m, seed + llc_hash_str(what));
    llc_batch *b = make_batch(c, B, T, rng);
    float *g = malloc(n * sizeof *g);
    double *wd = malloc(n * sizeof *wd), *fd = malloc(n * sizeof *fd);
    void *ws = m->ws_alloc(m, B + 1); /* a workspace larger than the batch */
    double loss = NAN, loss2 = NAN;
    rc = m->loss_grad(m, ws, w, b, g, &loss);
    CHECK(rc == LLC_OK, "%s: loss_grad rc %d", what, rc);
    rc = m->loss_grad(m, ws, w, b, NULL, &loss2);
    CHECK(rc == LLC_OK && loss2 == loss, "%s: forward-only loss %.9g == loss with grad %.9g", what, loss2, loss);
    for (size_t i = 0; i < n; i++) wd[i] = w[i];
    ref_ctx r = {m, c, b, wd};
    double want = ref_loss(&r);
    CHECK(fabs(loss - want) <= LOSS_RTOL * fabs(want), "%s: loss %.9g vs double reference %.9g (rtol %g)", what,
          loss, want, LOSS_RTOL);
    double gmax = 0.0, err_max = 0.0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double x0 = wd[i];
        wd[i] = x0 + FD_H;
        double lp = ref_loss(&r);
        wd[i] = x0 - FD_H;
        double lm = ref_loss(&r);
        wd[i] = x0;
        fd[i] = (lp - lm) / (2 * FD_H);
        gmax = fmax(gmax, fabs(fd[i]));
    }
    for (size_t i = 0; i < n; i++) {
        double e = fabs(g[i] - fd[i]);
        if (!(e <= err_max)) err_max = e, worst = i;
    }
    const char *tname = "?";
    for (int i = 0; i < m->table.n; i++)
        if (worst >= m->table.t[i].offset && worst < m->table.t[i].offset + m->table.t[i].size) tname = m->table.t[i].name;
    double tol = GRAD_RTOL * gmax + GRAD_ATOL;
    CHECK(err_max <= tol, "%s: %zu params, max |grad - fd| %.3g at %s (max|fd| %.3g, tol %.3g)", what, n, err_max,
          tname, gmax, tol);
    m->ws_free(ws);
    llc_batch_free(b);
    free(w), free(g), free(wd), free(fd);
    gsl_rng_free(rng);
    llc_model_free(m);
}

static void test_gradients(void)
{
    llc_tf_config c;
    small_config(&c);
    grad_check("base: 2 layers, layernorm, learned pos, mlp, causal", &c, 3, 6);
    grad_check("base, short sequences (T=4 < n_ctx=6)", &c, 3, 4);
    small_config(&c);
    c.n_ctx = LLC_ATTN_GEMM_MIN_T + 1, c.pos = LLC_POS_ROPE;
    grad_check("long sequences (T >= LLC_ATTN_GEMM_MIN_T: sgemm attention), rope", &c, 2, LLC_ATTN_GEMM_MIN_T + 1);
    c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_PREV, .layer = 1, .head = 0};
    c.causal = 0;
    grad_check("long sequences, full attention, prev clamp on 1.0", &c, 2, LLC_ATTN_GEMM_MIN_T + 1);
    const char *pos_names[] = {"pos none", "pos learned", "pos shortformer", "pos rope"};
    for (int p = LLC_POS_NONE; p <= LLC_POS_ROPE; p++) {
        small_config(&c);
        c.pos = (llc_pos_kind)p;
        grad_check(pos_names[p], &c, 3, 6);
    }
    small_config(&c);
    c.pos = LLC_POS_ROPE, c.norm = LLC_NORM_RMS, c.causal = 1;
    grad_check("rope + rmsnorm, T=5 < n_ctx", &c, 2, 5);
    const char *norm_names[] = {"norm none", "norm layer", "norm rms", "norm rms_nogain"};
    for (int k = LLC_NORM_NONE; k <= LLC_NORM_RMS_NOGAIN; k++) {
        small_config(&c);
        c.norm = (llc_norm_kind)k;
        grad_check(norm_names[k], &c, 3, 6);
    }
    small_config(&c);
    c.d_mlp = 0;
    grad_check("attention-only", &c, 3, 6);
    small_config(&c);
    c.causal = 0;
    grad_check("full attention", &c, 3, 6);
    small_config(&c);
    c.tied = 1;
    grad_check("tied unembedding", &c, 3, 6);
    small_config(&c);
    c.attn_bias = 0, c.unembed_bias = 0, c.final_norm = 0;
    grad_check("no attn/unembed bias, no final norm", &c, 3, 6);
    small_config(&c);
    c.n_out = 5, c.n_layers = 1, c.n_heads = 3, c.d_head = 3;
    grad_check("1 layer, 3 heads of 3, n_out != vocab", &c, 3, 6);

    small_config(&c);
    c.d_input = 3, c.pos = LLC_POS_ROPE;
    grad_check("tokens + continuous inputs (token -1), rope", &c, 3, 6);
    small_config(&c);
    c.vocab = 0, c.d_input = 4;
    grad_check("continuous inputs only", &c, 3, 6);

    /* pooled: the clustering-head model of Odonnat et al. (smaller MLP) */
    llc_tf_config_default(&c);
    c.n_layers = 1, c.n_heads = 1, c.d_model = 2, c.d_head = 2, c.vocab = 3, c.n_out = 3, c.n_ctx = 7;
    c.pos = LLC_POS_LEARNED, c.norm = LLC_NORM_RMS_NOGAIN, c.final_norm = 0, c.d_mlp = 8, c.causal = 0;
    c.pooled = 1, c.tied = 1, c.attn_bias = 0, c.unembed_bias = 0;
    grad_check("pooled clustering-head model (d_model 2, tied, rms_nogain)", &c, 4, 7);
    small_config(&c);
    c.pooled = 1, c.pos = LLC_POS_SHORTFORMER;
    grad_check("pooled, 2 layers, layernorm, shortformer, biases, untied", &c, 3, 6);
    small_config(&c);
    c.pooled = 1, c.d_mlp = 0, c.final_norm = 1, c.norm = LLC_NORM_RMS;
    grad_check("pooled, attention-only, rms, final norm", &c, 3, 5);

    /* clamps */
    static float pattern[6 * 6];
    for (int t = 0; t < 6; t++)
        for (int s = 0; s < 6; s++) pattern[t * 6 + s] = s <= t ? 1.0f / (float)(t + 1) : 0.0f;
    const llc_clamp_kind kinds[] = {LLC_CLAMP_PATTERN_PREV, LLC_CLAMP_PATTERN_GIVEN, LLC_CLAMP_ZERO_VALUES,
                                    LLC_CLAMP_ZERO_OUTPUT};
    const char *kn[] = {"clamp prev on 0.1", "clamp given pattern on 1.0", "clamp zero values on 1.1",
                        "clamp zero output on 0.0"};
    for (int i = 0; i < 4; i++) {
        small_config(&c);
        c.n_clamps = 1;
        c.clamps[0].kind = kinds[i];
        c.clamps[0].layer = i == 0 || i == 3 ? 0 : 1;
        c.clamps[0].head = i == 0 || i == 2 ? 1 : 0;
        c.clamps[0].pattern = kinds[i] == LLC_CLAMP_PATTERN_GIVEN ? pattern : NULL;
        grad_check(kn[i], &c, 3, 6);
    }
    small_config(&c);
    c.n_clamps = 2;
    c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_PREV, .layer = 0, .head = 0};
    c.clamps[1] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_GIVEN, .layer = 1, .head = 1, .pattern = pattern};
    grad_check("two clamps (prev 0.0, given 1.1), T=4 < n_ctx", &c, 3, 4);
    small_config(&c);
    c.pooled = 1, c.n_clamps = 1;
    c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_ZERO_VALUES, .layer = 1, .head = 1};
    grad_check("pooled with zero values on pooling head 1.1", &c, 3, 6);
    /* a head's output replaced by a constant vector: no gradient to its Q, K, V, its O rows still learn */
    float mean[16];
    for (int i = 0; i < 16; i++) mean[i] = 0.1f * (float)(i % 5) - 0.2f;
    small_config(&c);
    CHECK(c.d_head <= 16, "small_config's d_head fits the mean vector");
    c.n_clamps = 2;
    c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_MEAN_OUTPUT, .layer = 0, .head = 1, .mean = mean};
    c.clamps[1] = (llc_clamp){.kind = LLC_CLAMP_MEAN_OUTPUT, .layer = 1, .head = 0};
    grad_check("mean output on 0.1, zero (mean NULL) on 1.0", &c, 3, 6);

    /* the clamps of the clamped attention (attention_clamped.c) */
    const struct {
        const char *what;
        int n, causal, B, T;
        llc_clamp k[3];
    } cases[] = {
        {"induction on 1.0", 1, 1, 3, 6, {{.kind = LLC_CLAMP_INDUCTION, .layer = 1, .head = 0}}},
        {"induction on 0.1 at strength 0.4", 1, 1, 3, 6,
         {{.kind = LLC_CLAMP_INDUCTION, .layer = 0, .head = 1, .own = 0.6f}}},
        {"no_prev on 0.0", 1, 1, 3, 6, {{.kind = LLC_CLAMP_NO_PREV, .layer = 0, .head = 0}}},
        {"temperature 2.5 on 1.1, 0.3 on 0.0", 2, 1, 3, 6,
         {{.kind = LLC_CLAMP_TEMPERATURE, .layer = 1, .head = 1, .temperature = 2.5f},
          {.kind = LLC_CLAMP_TEMPERATURE, .layer = 0, .head = 0, .temperature = 0.3f}}},
        {"copy 1.1 from 1.0 (gradient into 1.0's Q, K)", 1, 1, 3, 6,
         {{.kind = LLC_CLAMP_COPY, .layer = 1, .head = 1, .from_layer = 1, .from_head = 0}}},
        {"copy 0.0 from 0.1 at strength 0.5, 0.1 no_prev", 2, 1, 3, 6,
         {{.kind = LLC_CLAMP_COPY, .layer = 0, .head = 0, .from_layer = 0, .from_head = 1, .own = 0.5f},
          {.kind = LLC_CLAMP_NO_PREV, .layer = 0, .head = 1}}},
        {"prev at strength 0.3 on 0.1, given at strength 0.5 on 1.0", 2, 1, 3, 6,
         {{.kind = LLC_CLAMP_PATTERN_PREV, .layer = 0, .head = 1, .own = 0.7f},
          {.kind = LLC_CLAMP_PATTERN_GIVEN, .layer = 1, .head = 0, .own = 0.5f, .pattern = pattern}}},
        {"full attention: induction 0.0, no_prev + temperature 1.7 on 1.1", 3, 0, 3, 6,
         {{.kind = LLC_CLAMP_INDUCTION, .layer = 0, .head = 0},
          {.kind = LLC_CLAMP_NO_PREV, .layer = 1, .head = 1},
          {.kind = LLC_CLAMP_TEMPERATURE, .layer = 1, .head = 1, .temperature = 1.7f}}},
        {"copy 1.0 from zeroed 1.1 (T=4 < n_ctx), no_prev on 1.1", 3, 1, 2, 4,
         {{.kind = LLC_CLAMP_COPY, .layer = 1, .head = 0, .from_layer = 1, .from_head = 1, .own = 0.25f},
          {.kind = LLC_CLAMP_ZERO_OUTPUT, .layer = 1, .head = 1},
          {.kind = LLC_CLAMP_NO_PREV, .layer = 1, .head = 1}}},
        {"copy 1.1 from 0.0 (an earlier layer: gradient into 0.0's Q, K)", 1, 1, 3, 6,
         {{.kind = LLC_CLAMP_COPY, .layer = 1, .head = 1, .from_layer = 0, .from_head = 0}}},
        {"copies 1.0 (strength 0.4) and 1.1 from 0.1 with no_prev, full attention", 3, 0, 3, 6,
         {{.kind = LLC_CLAMP_COPY, .layer = 1, .head = 0, .from_layer = 0, .from_head = 1, .own = 0.6f},
          {.kind = LLC_CLAMP_COPY, .layer = 1, .head = 1, .from_layer = 0, .from_head = 1},
          {.kind = LLC_CLAMP_NO_PREV, .layer = 0, .head = 1}}},
        {"copy 1.0 from 0.1, itself a copy of 0.0 at strength 0.5 (T=4 < n_ctx)", 2, 1, 2, 4,
         {{.kind = LLC_CLAMP_COPY, .layer = 1, .head = 0, .from_layer = 0, .from_head = 1},
          {.kind = LLC_CLAMP_COPY, .layer = 0, .head = 1, .from_layer = 0, .from_head = 0, .own = 0.5f}}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        small_config(&c);
        c.causal = cases[i].causal;
        c.n_clamps = cases[i].n;
        for (int j = 0; j < cases[i].n; j++) c.clamps[j] = cases[i].k[j];
        grad_check(cases[i].what, &c, cases[i].B, cases[i].T);
    }
    small_config(&c);
    c.n_ctx = LLC_ATTN_GEMM_MIN_T + 1, c.pos = LLC_POS_ROPE, c.n_clamps = 2;
    c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_INDUCTION, .layer = 1, .head = 1, .own = 0.2f};
    c.clamps[1] = (llc_clamp){.kind = LLC_CLAMP_NO_PREV, .layer = 1, .head = 0};
    grad_check("long sequences, rope: induction at strength 0.8 on 1.1, no_prev on 1.0", &c, 2,
               LLC_ATTN_GEMM_MIN_T + 1);
    c.clamps[1] = (llc_clamp){.kind = LLC_CLAMP_COPY, .layer = 1, .head = 0, .from_layer = 0, .from_head = 1};
    grad_check("long sequences, rope: induction at strength 0.8 on 1.1, 1.0 copies 0.1", &c, 2,
               LLC_ATTN_GEMM_MIN_T + 1);
}

/* ---------------- groups ---------------- */

static size_t group_size(const llc_model *m, const char *name, char *err)
{
    llc_group g;
    memset(&g, 0, sizeof g);
    int rc = m->group(m, name, &g, err);
    size_t s = rc ? 0 : g.size;
    llc_group_free(&g);
    return s;
}

static int group_has(const llc_group *g, size_t i)
{
    for (int k = 0; k < g->n; k++)
        if (i >= g->r[k].off && i < g->r[k].off + g->r[k].len) return 1;
    return 0;
}

static void test_groups(void)
{
    llc_tf_config c;
    llc_tf_config_default(&c);
    c.n_layers = 2, c.n_heads = 8, c.d_model = 16, c.d_head = 4, c.vocab = 10, c.n_out = 10, c.n_ctx = 5;
    c.d_mlp = 32;
    char err[LLC_ERRLEN];
    llc_model *m = NULL;
    if (llc_transformer_new(&c, &m, err)) {
        CHECK(0, "group model builds: %s", err);
        return;
    }
    const size_t C = 16, HS = 4, D = 32;
    CHECK(group_size(m, "model", err) == llc_model_n_params(m), "group model = all %zu params", llc_model_n_params(m));
    size_t head = 3 * (HS * C + HS) + HS * C;
    CHECK(group_size(m, "1.3", err) == head, "group 1.3 has 3*(HS*C+HS)+HS*C = %zu params", head);
    CHECK(group_size(m, "0.7", err) == head, "group 0.7 has %zu params", head);
    size_t attn = 3 * D * C + 3 * D + D * C + C;
    size_t mlp = 32 * C + 32 + C * 32 + C;
    size_t layer = 2 * C + attn + 2 * C + mlp;
    CHECK(group_size(m, "1", err) == layer && group_size(m, "layer 1", err) == layer,
          "groups '1' and 'layer 1' have %zu params", layer);
    CHECK(group_size(m, "mlp 0", err) == mlp, "group 'mlp 0' = fc + proj (no norm) = %zu", mlp);
    CHECK(group_size(m, "attn 1", err) == attn, "group 'attn 1' = qkv + o (no norm) = %zu", attn);
    CHECK(group_size(m, "embed", err) == 10 * C, "group embed = %zu", 10 * C);
    CHECK(group_size(m, "pos", err) == 5 * C, "group pos = %zu", 5 * C);
    CHECK(group_size(m, "unembed", err) == 10 * C + 10, "group unembed = unembed + bias");
    CHECK(group_size(m, "norm", err) == 2 * C && group_size(m, "lnf", err) == 2 * C, "groups norm/lnf = lnf.g + lnf.b");
    CHECK(group_size(m, "1.attn.o.b", err) == C, "a tensor name is a group");

    /* head 1.3 holds exactly its Q, K, V rows and biases and its W_O rows */
    llc_group g;
    memset(&g, 0, sizeof g);
    m->group(m, "1.3", &g, err);
    const llc_tensor *qkv = llc_ptable_find(&m->table, "1.attn.qkv.w"), *qb = llc_ptable_find(&m->table, "1.attn.qkv.b");
    const llc_tensor *ow = llc_ptable_find(&m->table, "1.attn.o.w");
    int ok = 1;
    for (size_t i = 0; i < llc_model_n_params(m); i++) {
        int want = 0;
        for (int blk = 0; blk < 3; blk++) {
            size_t r0 = blk * D + 3 * HS;
            want |= i >= qkv->offset + r0 * C && i < qkv->offset + (r0 + HS) * C;
            want |= i >= qb->offset + r0 && i < qb->offset + r0 + HS;
        }
        want |= i >= ow->offset + 3 * HS * C && i < ow->offset + 4 * HS * C;
        if (want != group_has(&g, i)) ok = 0;
    }
    CHECK(ok, "group 1.3 is exactly rows [12,16) of each Q/K/V block of 1.attn.qkv.w/.b and rows [12,16) of 1.attn.o.w");
    /* all heads of a layer + o.b = the attention group */
    llc_group u;
    memset(&u, 0, sizeof u);
    for (int h = 0; h < 8; h++) {
        char nm[16];
        snprintf(nm, sizeof nm, "0.%d", h);
        m->group(m, nm, &g, err);
        for (int k = 0; k < g.n; k++) llc_group_add(&u, g.r[k].off, g.r[k].len);
    }
    const llc_tensor *ob = llc_ptable_find(&m->table, "0.attn.o.b");
    llc_group_add(&u, ob->offset, ob->size);
    llc_group_normalize(&u);
    m->group(m, "attn 0", &g, err);
    ok = u.n == g.n && u.size == g.size;
    for (int k = 0; ok && k < g.n; k++) ok = u.r[k].off == g.r[k].off && u.r[k].len == g.r[k].len;
    CHECK(ok, "heads 0.0..0.7 plus 0.attn.o.b tile group 'attn 0' exactly (%zu params)", g.size);
    llc_group_free(&u);

    struct {
        const char *name, *want;
    } bad[] = {{"1.9", "head 1.9 does not exist: model has layers 0-1 and heads 0-7"},
               {"2.0", "layers 0-1"},
               {"layer 5", "layer 5 does not exist: model has layers 0-1"},
               {"7", "layers 0-1"},
               {"mlp 2", "layers 0-1"},
               {"attn 3", "layers 0-1"},
               {"foo", "unknown group 'foo'"},
               {"", "unknown group"},
               {"1.x", "unknown group"},
               {"layer", "unknown group"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = m->group(m, bad[i].name, &g, err);
        CHECK(rc == LLC_ERR_NOTFOUND && strstr(err, bad[i].want) && !strchr(err, '\n'),
              "bad group '%s' -> NOTFOUND, one line: \"%s\"", bad[i].name, err);
    }
    llc_group_free(&g);
    llc_model_free(m);

    /* groups that depend on options */
    llc_tf_config_default(&c);
    c.vocab = 5, c.n_out = 5, c.n_ctx = 4, c.tied = 1, c.pos = LLC_POS_ROPE, c.norm = LLC_NORM_RMS_NOGAIN, c.d_input = 3;
    if (llc_transformer_new(&c, &m, err)) {
        CHECK(0, "option model builds: %s", err);
        return;
    }
    int rc = m->group(m, "unembed", &g, err);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(err, "tied to embed"), "tied model: 'unembed' -> \"%s\"", err);
    rc = m->group(m, "pos", &g, err);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(err, "rope"), "rope model: 'pos' -> \"%s\"", err);
    rc = m->group(m, "mlp 0", &g, err);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(err, "attention-only"), "attention-only: 'mlp 0' -> \"%s\"", err);
    rc = m->group(m, "norm", &g, err);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(err, "no final norm"), "rms_nogain: 'norm' -> \"%s\"", err);
    CHECK(group_size(m, "embed", err) == 5 * 64 + 64 * 3 + 64, "embed group = embed + in.w + in.b");
    size_t head_nobias = 3 * (16 * 64 + 16) + 16 * 64;
    CHECK(group_size(m, "0.2", err) == head_nobias, "head 0.2 of the default shape = %zu", head_nobias);
    llc_group_free(&g);
    llc_model_free(m);

    /* pooled: the head group holds its query, K/V rows and W_O rows */
    llc_tf_config_default(&c);
    c.vocab = 3, c.n_out = 3, c.n_ctx = 4, c.pooled = 1, c.n_heads = 2, c.d_head = 3, c.d_model = 4;
    if (llc_transformer_new(&c, &m, err)) {
        CHECK(0, "pooled model builds: %s", err);
        return;
    }
    size_t ph = 3 + 2 * (3 * 4 + 3) + 3 * 4;
    CHECK(group_size(m, "0.1", err) == ph, "pooled head 0.1 = query + K,V rows/biases + W_O rows = %zu", ph);
    llc_model_free(m);
}

/* With a zero-output clamp on head (1,1), the head's whole group gets zero
 * gradient; with a prev-token clamp, its Q and K rows do. */
static void test_clamp_groups(void)
{
    llc_tf_config c;
    small_config(&c);
    c.n_clamps = 2;
    c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_ZERO_OUTPUT, .layer = 1, .head = 1};
    c.clamps[1] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_PREV, .layer = 0, .head = 0};
    char err[LLC_ERRLEN];
    llc_model *m = NULL;
    if (llc_transformer_new(&c, &m, err)) {
        CHECK(0, "clamp model builds: %s", err);
        return;
    }
    size_t n = llc_model_n_params(m);
    float *w = init_params(m, seed), *g = malloc(n * sizeof *g);
    gsl_rng *rng = llc_rng_new(seed);
    llc_batch *b = make_batch(&c, 3, 6, rng);
    void *ws = m->ws_alloc(m, 3);
    double loss;
    m->loss_grad(m, ws, w, b, g, &loss);
    llc_group grp;
    memset(&grp, 0, sizeof grp);
    m->group(m, "1.1", &grp, err);
    int zero = 1;
    for (int k = 0; k < grp.n; k++)
        for (size_t i = 0; i < grp.r[k].len; i++) zero &= g[grp.r[k].off + i] == 0.0f;
    CHECK(zero, "zero_output on 1.1: every gradient entry of group 1.1 is exactly 0");
    m->group(m, "1.0", &grp, err);
    double norm = 0.0;
    for (int k = 0; k < grp.n; k++)
        for (size_t i = 0; i < grp.r[k].len; i++) norm += fabs(g[grp.r[k].off + i]);
    CHECK(norm > 0.0, "the unclamped head 1.0 still learns (|g| = %.3g)", norm);
    const llc_tensor *qkv = llc_ptable_find(&m->table, "0.attn.qkv.w");
    int qk_zero = 1, v_nonzero = 0;
    for (size_t r = 0; r < 4; r++)
        for (size_t j = 0; j < 8; j++) {
            qk_zero &= g[qkv->offset + r * 8 + j] == 0.0f && g[qkv->offset + (8 + r) * 8 + j] == 0.0f;
            v_nonzero |= g[qkv->offset + (16 + r) * 8 + j] != 0.0f;
        }
    CHECK(qk_zero && v_nonzero, "prev clamp on 0.0: its Q and K rows get zero gradient, its V rows do not");
    llc_group_free(&grp);
    m->ws_free(ws);
    llc_batch_free(b);
    gsl_rng_free(rng);
    free(w), free(g);
    llc_model_free(m);
}

/* ---------------- construction, init, batches ---------------- */

static void test_config_checks(void)
{
    llc_tf_config c;
    char err[LLC_ERRLEN];
    llc_model *m = NULL;
    small_config(&c);
    c.pos = LLC_POS_ROPE, c.d_head = 3;
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "even d_head"), "rope with odd d_head: \"%s\"", err);
    small_config(&c);
    c.tied = 1, c.n_out = 4;
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "tied"), "tied with n_out != vocab: \"%s\"", err);
    small_config(&c);
    c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_ZERO_VALUES, .layer = 1, .head = 2};
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "1.2 does not exist"),
          "clamp on a missing head: \"%s\"", err);
    small_config(&c);
    c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_GIVEN, .layer = 0, .head = 0};
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "needs a pattern"),
          "pattern clamp without a pattern: \"%s\"", err);
    small_config(&c);
    c.pooled = 1, c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_PREV, .layer = 1, .head = 0};
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "pooling layer"),
          "pattern clamp on the pooling layer: \"%s\"", err);
    small_config(&c);
    c.pooled = 1, c.pos = LLC_POS_ROPE;
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "rope"), "pooled + rope: \"%s\"", err);
    small_config(&c);
    c.vocab = 0;
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "inputs"), "no inputs: \"%s\"", err);
    small_config(&c);
    c.n_out = 0;
    CHECK(llc_transformer_new(&c, &m, err) == LLC_ERR_INVALID && strstr(err, "n_out"), "n_out 0: \"%s\"", err);
    CHECK(m == NULL, "failed constructions leave *out NULL");

    /* the table follows the documented names and shapes */
    small_config(&c);
    llc_transformer_new(&c, &m, err);
    const char *names[] = {"embed", "pos", "0.ln1.g", "0.ln1.b", "0.attn.qkv.w", "0.attn.qkv.b", "0.attn.o.w",
                           "0.attn.o.b", "0.ln2.g", "0.ln2.b", "0.mlp.fc.w", "0.mlp.fc.b", "0.mlp.proj.w",
                           "0.mlp.proj.b", "1.ln1.g", "lnf.g", "lnf.b", "unembed", "unembed.b"};
    int ok = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) ok &= llc_ptable_find(&m->table, names[i]) != NULL;
    const llc_tensor *t = llc_ptable_find(&m->table, "0.attn.qkv.w");
    const llc_tensor *o = llc_ptable_find(&m->table, "0.attn.o.w");
    const llc_tensor *fc = llc_ptable_find(&m->table, "0.mlp.fc.w");
    ok &= t->shape[0] == 24 && t->shape[1] == 8 && o->shape[0] == 8 && o->shape[1] == 8 && fc->shape[0] == 12 &&
          fc->shape[1] == 8;
    size_t total = 0;
    for (int i = 0; i < m->table.n; i++) ok &= m->table.t[i].offset == total, total += m->table.t[i].size;
    ok &= total == llc_model_n_params(m);
    CHECK(ok, "tensor table: documented names, shapes (qkv.w (3*NH*HS, C), o.w (NH*HS, C)), contiguous offsets");
    const llc_tf_config *back = llc_transformer_config(m);
    CHECK(back && back->d_mlp == 12 && back->n_ctx == 6, "llc_transformer_config returns the model's config");
    llc_model_free(m);
}

static void test_init(void)
{
    llc_tf_config c;
    small_config(&c);
    c.d_model = 64, c.d_head = 16, c.n_heads = 4, c.d_mlp = 256, c.vocab = 50, c.n_out = 50;
    char err[LLC_ERRLEN];
    llc_model *m = NULL;
    if (llc_transformer_new(&c, &m, err)) {
        CHECK(0, "init model builds: %s", err);
        return;
    }
    size_t n = llc_model_n_params(m);
    float *w1 = malloc(n * sizeof *w1), *w2 = malloc(n * sizeof *w2), *w3 = malloc(n * sizeof *w3);
    gsl_rng *r1 = llc_rng_new(7), *r2 = llc_rng_new(7), *r3 = llc_rng_new(8);
    m->init(m, w1, r1), m->init(m, w2, r2), m->init(m, w3, r3);
    CHECK(memcmp(w1, w2, n * sizeof *w1) == 0, "init is deterministic for a given rng seed");
    CHECK(memcmp(w1, w3, n * sizeof *w1) != 0, "init differs for another seed");
    int ok = 1;
    for (int i = 0; i < m->table.n; i++) {
        const llc_tensor *t = &m->table.t[i];
        size_t len = strlen(t->name);
        if (t->ndim == 1) {
            float want = t->name[len - 1] == 'g' ? 1.0f : 0.0f;
            for (size_t j = 0; j < t->size; j++) ok &= w1[t->offset + j] == want;
        }
    }
    CHECK(ok, "init: norm gains 1, biases 0");
    const char *wn[] = {"0.attn.qkv.w", "0.attn.o.w", "0.mlp.proj.w", "unembed"};
    const double fan[] = {64, 64, 256, 64};
    for (int k = 0; k < 4; k++) {
        const llc_tensor *t = llc_ptable_find(&m->table, wn[k]);
        double s2 = 0.0;
        for (size_t j = 0; j < t->size; j++) s2 += (double)w1[t->offset + j] * w1[t->offset + j];
        double sd = sqrt(s2 / t->size), want = 1.0 / sqrt(fan[k]);
        CHECK(fabs(sd - want) < 0.05 * want, "init: %s std %.4f ~ 1/sqrt(fan_in %g) = %.4f", wn[k], sd, fan[k], want);
    }
    llc_model_free(m);
    c.init_std = 0.02f;
    llc_transformer_new(&c, &m, err);
    m->init(m, w1, r1);
    const llc_tensor *t = llc_ptable_find(&m->table, "0.mlp.fc.w");
    double s2 = 0.0;
    for (size_t j = 0; j < t->size; j++) s2 += (double)w1[t->offset + j] * w1[t->offset + j];
    CHECK(fabs(sqrt(s2 / t->size) - 0.02) < 0.001, "init_std = 0.02 sets the weight std (%.4f)", sqrt(s2 / t->size));
    llc_model_free(m);
    gsl_rng_free(r1), gsl_rng_free(r2), gsl_rng_free(r3);
    free(w1), free(w2), free(w3);
}

static void test_batches(void)
{
    llc_tf_config c;
    small_config(&c);
    char err[LLC_ERRLEN];
    llc_model *m = NULL;
    llc_transformer_new(&c, &m, err);
    float *w = init_params(m, seed);
    gsl_rng *rng = llc_rng_new(seed + 1);
    llc_batch *b = make_batch(&c, 4, 6, rng);
    void *ws = m->ws_alloc(m, 4);
    double loss;
    size_t n = llc_model_n_params(m);
    float *g = malloc(n * sizeof *g), *g2 = malloc(n * sizeof *g2);
    int rc = m->loss_grad(m, ws, w, b, g, &loss);
    CHECK(rc == LLC_OK && isfinite(loss) && loss > 0.0, "a valid batch: loss %.4f", loss);
    /* the same loss twice (the workspace keeps no state between calls) */
    double loss2;
    m->loss_grad(m, ws, w, b, NULL, &loss2);
    m->loss_grad(m, ws, w, b, g2, &loss2);
    CHECK(loss2 == loss && memcmp(g, g2, n * sizeof *g) == 0, "repeated calls give identical loss and gradient");
    /* a batch of B=2 gives the mean over its own positions */
    b->B = 2;
    CHECK(m->loss_grad(m, ws, w, b, g, &loss) == LLC_OK, "a smaller batch B=2 is accepted");
    b->B = 4;
    b->tokens[3] = 7;
    CHECK(m->loss_grad(m, ws, w, b, g, &loss) == LLC_ERR_INVALID, "token >= vocab is rejected");
    b->tokens[3] = -1;
    CHECK(m->loss_grad(m, ws, w, b, g, &loss) == LLC_ERR_INVALID, "token -1 without continuous inputs is rejected");
    b->tokens[3] = 0;
    b->mask[5] = 1.0f, b->targets[5] = 9;
    CHECK(m->loss_grad(m, ws, w, b, g, &loss) == LLC_ERR_INVALID, "target >= n_out on a scored position is rejected");
    b->mask[5] = 0.0f;
    CHECK(m->loss_grad(m, ws, w, b, g, &loss) == LLC_OK, "an invalid target on an unscored position is ignored");
    void *ws2 = m->ws_alloc(m, 2);
    CHECK(m->loss_grad(m, ws2, w, b, g, &loss) == LLC_ERR_INVALID, "B > the workspace's max_B is rejected");
    llc_batch *big = llc_batch_alloc(1, 7, 1, 0, 1, 0);
    CHECK(m->loss_grad(m, ws, w, big, g, &loss) == LLC_ERR_INVALID, "T > n_ctx is rejected");
    /* a NaN anywhere in the parameters reaches the loss (divergence detection) */
    const char *where[] = {"0.attn.qkv.w", "unembed", "1.mlp.fc.b"};
    for (int k = 0; k < 3; k++) {
        const llc_tensor *t = llc_ptable_find(&m->table, where[k]);
        float keep = w[t->offset];
        w[t->offset] = NAN;
        rc = m->loss_grad(m, ws, w, b, g, &loss);
        CHECK(rc == LLC_OK && isnan(loss), "a NaN in %s gives a NaN loss (%g)", where[k], loss);
        w[t->offset] = keep;
    }
    for (int i = 0; i < 4 * 6; i++) b->mask[i] = 0.0f;
    CHECK(m->loss_grad(m, ws, w, b, g, &loss) == LLC_OK && loss == 0.0, "an all-zero mask gives loss 0");
    int zero = 1;
    for (size_t i = 0; i < n; i++) zero &= g[i] == 0.0f;
    CHECK(zero, "... and a zero gradient");
    m->ws_free(ws), m->ws_free(ws2);
    m->ws_free(NULL);
    llc_batch_free(b), llc_batch_free(big);
    gsl_rng_free(rng);
    free(w), free(g), free(g2);
    llc_model_free(m);
}

/* One model shared by threads, each with its own workspace: results equal
 * the single-threaded ones bit for bit. */
typedef struct {
    const llc_model *m;
    const float *w;
    const llc_batch *b;
    float *g;
    double loss;
    int rc;
} thread_job;

static void *thread_run(void *p)
{
    thread_job *j = p;
    void *ws = j->m->ws_alloc(j->m, j->b->B);
    for (int rep = 0; rep < 20 && ws; rep++) j->rc = j->m->loss_grad(j->m, ws, j->w, j->b, j->g, &j->loss);
    j->m->ws_free(ws);
    return NULL;
}

static void test_threads(void)
{
    enum { NT = 4 };
    llc_tf_config c;
    small_config(&c);
    char err[LLC_ERRLEN];
    llc_model *m = NULL;
    llc_transformer_new(&c, &m, err);
    size_t n = llc_model_n_params(m);
    float *w = init_params(m, seed);
    gsl_rng *rng = llc_rng_new(seed + 2);
    llc_batch *b = make_batch(&c, 8, 6, rng);
    thread_job jobs[NT + 1];
    pthread_t th[NT];
    for (int i = 0; i <= NT; i++) jobs[i] = (thread_job){m, w, b, malloc(n * sizeof(float)), NAN, -1};
    thread_run(&jobs[NT]);
    for (int i = 0; i < NT; i++) pthread_create(&th[i], NULL, thread_run, &jobs[i]);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    int same = 1;
    for (int i = 0; i < NT; i++)
        same &= jobs[i].rc == LLC_OK && jobs[i].loss == jobs[NT].loss && memcmp(jobs[i].g, jobs[NT].g, n * sizeof(float)) == 0;
    CHECK(same, "%d threads sharing one model (own workspaces) reproduce the single-thread loss and gradient", NT);
    for (int i = 0; i <= NT; i++) free(jobs[i].g);
    llc_batch_free(b);
    gsl_rng_free(rng);
    free(w);
    llc_model_free(m);
}

/* ws_need: with a group hint the loss and the group's gradient entries are
 * bit-identical to the full gradient's, for groups at every depth, in
 * models with shortformer positions, continuous inputs and a pooled layer. */
static void need_case(const char *what, const llc_tf_config *c, const char *const *groups, int ng)
{
    llc_model *m = NULL;
    char err[LLC_ERRLEN];
    CHECK(llc_transformer_new(c, &m, err) == LLC_OK, "need %s: build (%s)", what, err);
    if (!m) return;
    CHECK(m->ws_need != NULL, "need %s: transformer has ws_need", what);
    const size_t n = llc_model_n_params(m);
    const int B = 3, T = c->n_ctx;
    gsl_rng *rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_DATA, 77, 0, 0));
    llc_batch *b = make_batch(c, B, T, rng);
    float *w = init_params(m, seed + 5), *g0 = malloc(n * sizeof *g0), *g1 = malloc(n * sizeof *g1);
    void *ws = m->ws_alloc(m, B);
    double L0 = NAN, L1 = NAN;
    CHECK(m->loss_grad(m, ws, w, b, g0, &L0) == LLC_OK, "need %s: full gradient", what);
    for (int i = 0; i < ng; i++) {
        llc_group g = {0};
        if (m->group(m, groups[i], &g, err) != LLC_OK) {
            CHECK(0, "need %s: group %s (%s)", what, groups[i], err);
            continue;
        }
        m->ws_need(m, ws, &g);
        for (size_t j = 0; j < n; j++) g1[j] = NAN;
        CHECK(m->loss_grad(m, ws, w, b, g1, &L1) == LLC_OK && L1 == L0, "need %s %s: loss identical", what,
              groups[i]);
        /* bit-identical, except a head's own weight gradients, which come
         * from per-head products (same sums, other GEMM blocking): within
         * float rounding of the largest entry */
        int same = 1;
        double gmax = 0, dmax = 0;
        for (int r = 0; r < g.n; r++) {
            same &= memcmp(g0 + g.r[r].off, g1 + g.r[r].off, g.r[r].len * sizeof *g0) == 0;
            for (size_t j = g.r[r].off; j < g.r[r].off + g.r[r].len; j++) {
                gmax = fmax(gmax, fabs(g0[j]));
                dmax = fmax(dmax, fabs((double)g0[j] - g1[j])); /* NaN (unset) fails below */
                if (isnan(g1[j])) dmax = INFINITY;
            }
        }
        int head = strchr(groups[i], '.') && isdigit((unsigned char)groups[i][2]);
        if (head)
            CHECK(dmax <= 1e-6 * gmax, "need %s %s: the group's gradient entries within %.1g of the full gradient's "
                  "(max |g| %.3g)", what, groups[i], dmax, gmax);
        else
            CHECK(same, "need %s %s: the group's gradient entries are bit-identical", what, groups[i]);
        llc_group_free(&g);
    }
    m->ws_need(m, ws, NULL);
    CHECK(m->loss_grad(m, ws, w, b, g1, &L1) == LLC_OK && memcmp(g0, g1, n * sizeof *g0) == 0,
          "need %s: NULL restores the full gradient", what);
    m->ws_free(ws);
    free(w);
    free(g0);
    free(g1);
    llc_batch_free(b);
    gsl_rng_free(rng);
    llc_model_free(m);
}

static void test_need(void)
{
    static const char *const gs[] = {"0.0", "0.1", "1.1", "layer 0", "attn 1", "mlp 0", "mlp 1", "unembed",
                                     "embed", "0.ln1.g", "1.ln1.b", "norm"};
    llc_tf_config c;
    small_config(&c);
    need_case("base", &c, gs, 12);
    small_config(&c);
    c.pos = LLC_POS_SHORTFORMER;
    c.d_mlp = 0;
    static const char *const gs2[] = {"0.1", "1.0", "pos", "layer 1", "1.attn.o.b"};
    need_case("shortformer, attention-only", &c, gs2, 5);
    small_config(&c);
    c.pos = LLC_POS_ROPE;
    static const char *const gs4[] = {"0.1", "1.0", "1.1", "layer 1"};
    need_case("rope", &c, gs4, 4);
    small_config(&c);
    c.d_input = 3;
    c.pooled = 1;
    c.pos = LLC_POS_LEARNED;
    static const char *const gs3[] = {"0.0", "1.1", "embed", "1.attn.query", "layer 0"};
    need_case("continuous inputs, pooled", &c, gs3, 5);
}

/* Base records (llc_model.base_*): for a target of one layer's heads, a step
 * from the record of the pass at w0 gives the loss and the group's gradient
 * of the full pass at a w that differs from w0 inside the group only, within
 * float rounding, on a batch with unscored rows and on one with every row
 * scored; base_forward's loss is bit-identical to loss_grad's; other groups
 * ignore records; a record of another batch is refused. The record is made
 * at a copy of w0 that is overwritten before it is used: a record may
 * outlive the buffer it was made at (ws_base names the parameters). */
static void base_case(const char *what, const llc_tf_config *c, const char *const *groups, int ng)
{
    llc_model *m = NULL;
    char err[LLC_ERRLEN];
    CHECK(llc_transformer_new(c, &m, err) == LLC_OK, "base %s: build (%s)", what, err);
    if (!m) return;
    const size_t n = llc_model_n_params(m);
    const int B = 3, T = c->n_ctx;
    gsl_rng *rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_DATA, 78, 0, 0));
    llc_batch *bs[2] = {make_batch(c, B, T, rng), make_batch(c, B, T, rng)}, *b2 = make_batch(c, B - 1, T, rng);
    for (int q = 0; q < B * T; q++) bs[1]->mask[q] = 1.0f; /* every row scored */
    float *w0 = init_params(m, seed + 6), *w = malloc(n * sizeof *w), *g0 = malloc(n * sizeof *g0),
          *g1 = malloc(n * sizeof *g1), *wt = malloc(n * sizeof *wt);
    const size_t cap = m->base_size(m, B);
    unsigned char *rec = malloc(cap), *copy = malloc(cap), *rec2 = malloc(cap);
    void *ws = m->ws_alloc(m, B), *wr = m->ws_alloc(m, B);
    size_t bytes = 0, bytes2 = 0;
    CHECK(cap > 0, "base %s: records exist", what);
    for (int i = 0; i < ng; i++) {
        llc_group g = {0};
        if (m->group(m, groups[i], &g, err) != LLC_OK) {
            CHECK(0, "base %s: group %s (%s)", what, groups[i], err);
            continue;
        }
        m->ws_need(m, ws, &g);
        m->ws_need(m, wr, &g);
        const int uses = m->ws_base(m, ws, NULL, NULL);
        const int want = isdigit((unsigned char)groups[i][0]) && groups[i][1] == '.' &&
                         isdigit((unsigned char)groups[i][2]);
        CHECK(uses == want, "base %s %s: the group %s records", what, groups[i], want ? "uses" : "ignores");
        for (int k = 0; k < 2; k++) {
            const char *bn = k ? "every row scored" : "some rows scored";
            double L0 = NAN, Lb = NAN, L1 = NAN, Lr = NAN;
            CHECK(m->loss_grad(m, wr, w0, bs[k], NULL, &L0) == LLC_OK, "base %s: loss at w0", what);
            memcpy(wt, w0, n * sizeof *wt);
            CHECK(m->base_forward(m, ws, wt, bs[k], rec, &bytes, &Lb) == LLC_OK && Lb == L0 && bytes <= cap,
                  "base %s %s, %s: base_forward's loss bit-identical, %zu of %zu bytes", what, groups[i], bn, bytes,
                  cap);
            memcpy(copy, rec, bytes); /* a record moves by its first `bytes` bytes */
            memset(rec, 0xff, cap);
            memset(wt, 0xff, n * sizeof *wt); /* the buffer it was made at is gone */
            memcpy(w, w0, n * sizeof *w);
            for (int r = 0; r < g.n; r++)
                for (size_t j = g.r[r].off; j < g.r[r].off + g.r[r].len; j++)
                    w[j] += (float)gsl_ran_gaussian(rng, 0.3);
            CHECK(m->loss_grad(m, wr, w, bs[k], g0, &Lr) == LLC_OK, "base %s %s: reference pass", what, groups[i]);
            m->ws_base(m, ws, copy, w0);
            for (size_t j = 0; j < n; j++) g1[j] = NAN;
            CHECK(m->loss_grad(m, ws, w, bs[k], g1, &L1) == LLC_OK, "base %s %s: pass from the record", what,
                  groups[i]);
            double gmax = 0, dmax = 0;
            for (int r = 0; r < g.n; r++)
                for (size_t j = g.r[r].off; j < g.r[r].off + g.r[r].len; j++) {
                    gmax = fmax(gmax, fabs(g0[j]));
                    dmax = isnan(g1[j]) ? INFINITY : fmax(dmax, fabs((double)g0[j] - g1[j]));
                }
            CHECK(fabs(L1 - Lr) <= 2e-6 * fabs(Lr) && Lr != L0, "base %s %s, %s: loss %.9g vs %.9g (w0: %.9g)", what,
                  groups[i], bn, L1, Lr, L0);
            CHECK(dmax <= 2e-5 * gmax && gmax > 0,
                  "base %s %s, %s: gradient within %.2g of the full pass (max |g| %.3g)", what, groups[i], bn, dmax,
                  gmax);
        }
        if (uses) {
            double Lb2 = NAN;
            CHECK(m->base_forward(m, ws, w0, b2, rec2, &bytes2, &Lb2) == LLC_OK, "base %s: other batch", what);
            m->ws_base(m, ws, rec2, w0);
            double L1 = NAN;
            CHECK(m->loss_grad(m, ws, w, bs[0], g1, &L1) == LLC_ERR_INVALID, "base %s %s: another batch's record "
                  "is refused", what, groups[i]);
        }
        m->ws_base(m, ws, NULL, NULL);
        llc_group_free(&g);
    }
    m->ws_free(ws);
    m->ws_free(wr);
    free(rec), free(copy), free(rec2);
    free(w0), free(w), free(g0), free(g1), free(wt);
    llc_batch_free(bs[0]);
    llc_batch_free(bs[1]);
    llc_batch_free(b2);
    gsl_rng_free(rng);
    llc_model_free(m);
}

static void test_base(void)
{
    static const char *const gs[] = {"1.0", "1.1", "0.1", "layer 1", "unembed", "1.attn.o.b"};
    llc_tf_config c;
    small_config(&c);
    base_case("2 layers, MLP", &c, gs, 6);
    small_config(&c);
    c.n_layers = 1, c.d_mlp = 0, c.attn_bias = 1, c.pos = LLC_POS_ROPE;
    static const char *const g1[] = {"0.0", "0.1", "unembed", "0.attn.o.b"};
    base_case("1 layer, RoPE, biases", &c, g1, 4);
    small_config(&c);
    c.n_heads = 8, c.d_head = 2, c.d_mlp = 0;
    c.n_clamps = 1, c.clamps[0] = (llc_clamp){.kind = LLC_CLAMP_PATTERN_PREV, .layer = 1, .head = 0};
    static const char *const g8[] = {"1.0", "1.5", "0.7"};
    base_case("8 heads (lanes), a clamped head", &c, g8, 3);
    small_config(&c);
    c.pos = LLC_POS_ROPE, c.n_ctx = 40; /* T >= 32: the GEMM attention kernels */
    static const char *const g40[] = {"0.0", "1.1"};
    base_case("2 layers, RoPE, T 40", &c, g40, 2);
    /* shortformer positions: the record's steps add the head's pos · W_q,kᵀ
     * (Q at every row of the top layer, as without records) */
    small_config(&c);
    c.pos = LLC_POS_SHORTFORMER;
    static const char *const gsf[] = {"1.0", "0.1", "layer 1", "unembed"};
    base_case("2 layers, shortformer", &c, gsf, 4);
    small_config(&c);
    c.pos = LLC_POS_SHORTFORMER, c.n_ctx = 40, c.d_mlp = 0;
    static const char *const gsf40[] = {"1.1", "0.0"};
    base_case("2 layers, shortformer, T 40, attention-only", &c, gsf40, 2);
}

/* The FLOP count (llc_model.flops) against numbers worked out by hand for
 * a 1-layer model (C = 8, 2 heads of 4, causal, no MLP, 5 classes) on 2
 * sequences of 3: every product 2mnk, forward + backward = 3 x forward.
 * All rows scored: QKV 2*6*8*24 = 2304, QK^T and AV 2*2*2*(2*6)*4 = 384, O
 * 2*6*8*8 = 768, unembedding 2*6*8*5 = 480: 3 * 3936. Only the last row of
 * each sequence scored: the top layer's Q, attention and O at those 2 rows
 * (Q 2*2*8*8 + K, V 2*6*8*16 = 1792; 2*2*2*(3+3)*4 = 192; 256; 160): 3 * 2400. */
static void test_flops(void)
{
    llc_tf_config c;
    llc_tf_config_default(&c);
    c.n_layers = 1, c.n_heads = 2, c.d_model = 8, c.d_head = 4, c.vocab = 7, c.n_out = 5, c.n_ctx = 3, c.d_mlp = 0;
    llc_model *m = NULL;
    char err[LLC_ERRLEN];
    if (llc_transformer_new(&c, &m, err)) {
        CHECK(0, "flops: %s", err);
        return;
    }
    llc_batch *b = llc_batch_alloc(2, 3, 1, 0, 1, 0);
    b->B = 2;
    for (int n = 0; n < 6; n++) b->mask[n] = 1.0f;
    int shape[3] = {0, 0, 0};
    CHECK(m->flops && m->flops(m, b, shape) == 3 * 3936.0, "flops, every row scored: %g, want %g",
          m->flops ? m->flops(m, b, shape) : -1.0, 3 * 3936.0);
    CHECK(shape[0] == 6 && shape[1] == 24 && shape[2] == 8, "largest product 6x24x8, got %dx%dx%d", shape[0],
          shape[1], shape[2]);
    for (int n = 0; n < 6; n++) b->mask[n] = n % 3 == 2 ? 1.0f : 0.0f;
    CHECK(m->flops && m->flops(m, b, shape) == 3 * 2400.0, "flops, the last rows scored: %g, want %g",
          m->flops ? m->flops(m, b, shape) : -1.0, 3 * 2400.0);
    llc_batch_free(b);
    llc_model_free(m);
}

/* llc_transformer_unembed_scores on pooled_acts' final vectors gives the
 * logits the forward pass scores: its masked mean cross-entropy is the
 * model's loss (final norm with gain and bias, untied with bias; and the
 * tied d_model = 2 model without final norm of the embed plot). */
static void test_unembed_scores(void)
{
    for (int v = 0; v < 2; v++) {
        llc_tf_config c;
        small_config(&c);
        c.pooled = 1, c.final_norm = 1, c.norm = LLC_NORM_LAYER;
        if (v == 1) {
            llc_tf_config_default(&c);
            c.n_layers = 1, c.n_heads = 1, c.d_model = 2, c.d_head = 2, c.vocab = 3, c.n_out = 3, c.n_ctx = 7;
            c.pos = LLC_POS_LEARNED, c.norm = LLC_NORM_RMS_NOGAIN, c.final_norm = 0, c.d_mlp = 8, c.causal = 0;
            c.pooled = 1, c.tied = 1, c.attn_bias = 0, c.unembed_bias = 0;
        }
        const int B = 4, T = c.n_ctx, C = c.d_model;
        llc_model *m = NULL;
        char err[LLC_ERRLEN];
        CHECK(llc_transformer_new(&c, &m, err) == LLC_OK, "unembed scores %d: model builds", v);
        if (!m) continue;
        gsl_rng *rng = llc_rng_new(seed + 17);
        llc_batch *b = make_batch(&c, B, T, rng);
        float *w = init_params(m, seed + (unsigned long)v), *out = malloc((size_t)B * C * sizeof *out);
        double *sc = malloc((size_t)B * c.n_out * sizeof *sc), loss = NAN, num = 0, den = 0;
        void *ws = m->ws_alloc(m, B);
        int rc = m->loss_grad(m, ws, w, b, NULL, &loss);
        rc |= llc_transformer_pooled_acts(m, ws, w, b, NULL, NULL, out);
        rc |= llc_transformer_unembed_scores(m, w, out, B, sc);
        for (int s = 0; s < B; s++) {
            const double *z = sc + (size_t)s * c.n_out, wt = b->mask[s * T + T - 1];
            double mx = -INFINITY, sum = 0;
            for (int k = 0; k < c.n_out; k++) mx = fmax(mx, z[k]);
            for (int k = 0; k < c.n_out; k++) sum += exp(z[k] - mx);
            num += wt * (mx + log(sum) - z[b->targets[s * T + T - 1]]);
            den += wt;
        }
        CHECK(rc == LLC_OK && fabs(num / den - loss) < 1e-5 * fmax(1, fabs(loss)),
                 "unembed scores %d: cross-entropy of the scores %.7g = the model's loss %.7g", v, num / den, loss);
        CHECK(llc_transformer_unembed_scores(NULL, w, out, 1, sc) == LLC_ERR_INVALID,
                 "unembed scores %d: no model -> LLC_ERR_INVALID", v);
        m->ws_free(ws);
        free(w);
        free(out);
        free(sc);
        llc_batch_free(b);
        gsl_rng_free(rng);
        llc_model_free(m);
    }
}

int main(void)
{
    const char *env = getenv("LLC_TEST_SEED");
    seed = env ? strtoul(env, NULL, 10) : 20240612ul;
    printf("test_transformer: seed %lu (LLC_TEST_SEED=%lu replays)\n", seed, seed);
    test_config_checks();
    test_init();
    test_groups();
    test_clamp_groups();
    test_batches();
    test_threads();
    test_gradients();
    test_need();
    test_base();
    test_flops();
    test_unembed_scores();
    return tu_finish("test_transformer");
}
