/* probe.c - head probes at one checkpoint (llc_probe.h; definitions in
 * llc/PROBES.md).
 *
 * Two parallel phases over pthreads, each item writing its own slot:
 *  1. per probe batch i: the patterns of the batch from D (prev_token,
 *     current, first, entropy, icl; sums over its sequences), of the
 *     repeated-block batch i (induction, duplicate), the sums of every
 *     head's output (for mean ablation) and the batch's loss;
 *  2. per head: the loss of every batch with the head's output replaced
 *     (LLC_CLAMP_MEAN_OUTPUT: the other heads' numbers are those of the
 *     plain model to the bit, so an ablation that changes nothing gives 0).
 * The items' sums are then added in item order, in double: the values do
 * not depend on n_threads. The circuit scores need no data.
 */
#include "llc_probe.h"
#include "llc_pool.h"
#include "llc_kernels.h"

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const llc_probe_names[] = {"prev_token", "current",     "first",    "entropy",  "induction",
                                       "duplicate",  "icl",         "copying",  "copy_suppression",
                                       "owned_ov",   "owned_qk",    "owned_att", "ablation", NULL};

int llc_probe_parse(const char *name)
{
    for (int k = 0; name && llc_probe_names[k]; k++)
        if (strcmp(name, llc_probe_names[k]) == 0) return k;
    return -1;
}

#define BIT(k) (1u << (k))
#define PATTERN_PROBES (BIT(LLC_PROBE_PREV_TOKEN) | BIT(LLC_PROBE_CURRENT) | BIT(LLC_PROBE_FIRST) | BIT(LLC_PROBE_ENTROPY))
#define REPEAT_PROBES (BIT(LLC_PROBE_INDUCTION) | BIT(LLC_PROBE_DUPLICATE))
#define OV_PROBES (BIT(LLC_PROBE_COPYING) | BIT(LLC_PROBE_COPY_SUPPRESSION) | BIT(LLC_PROBE_OWNED_OV))
#define ATT_FLOATS (1u << 22) /* at most this many floats of patterns per probe batch */
#define MAX_PB 32             /* sequences per probe batch */

/* The probe set's batch indices: far from any training step. */
static uint64_t probe_index(uint64_t seed, int i)
{
    return llc_seed(seed, LLC_PURPOSE_DATA, llc_hash_str("probe"), (uint64_t)i, 0) >> 16;
}

/* ---------------- circuits ---------------- */

/* Tensor "l.name" (l < 0: "name") of w, or NULL if the model has none. */
static const float *tensor(const llc_model *m, const float *w, int l, const char *name)
{
    char nm[LLC_NAMELEN];
    if (l >= 0) snprintf(nm, sizeof nm, "%d.%s", l, name);
    else snprintf(nm, sizeof nm, "%s", name);
    const llc_tensor *t = llc_ptable_find(&m->table, nm);
    return t ? w + t->offset : NULL;
}

/* y = the model's norm of x (gain g, bias b, either may be NULL), as the
 * forward pass applies it to a row, in double. */
static void norm_row(const llc_tf_config *c, const float *g, const float *b, const double *x, double *y)
{
    const int C = c->d_model;
    double mean = 0.0, ss = 0.0;
    if (c->norm == LLC_NORM_LAYER)
        for (int i = 0; i < C; i++) mean += x[i] / C;
    for (int i = 0; i < C; i++) ss += (x[i] - mean) * (x[i] - mean) / C;
    const double r = c->norm == LLC_NORM_NONE ? 1.0 : 1.0 / sqrt(ss + (double)LLC_NORM_EPS);
    for (int i = 0; i < C; i++) y[i] = (x[i] - mean) * r * (g ? g[i] : 1.0) + (b ? b[i] : 0.0);
}

/* y = the linear part of the final norm on a head's output x: centred
 * (LayerNorm) and times the gain; its 1/std belongs to the whole residual
 * stream and its bias to no head. */
static void final_lin(const llc_tf_config *c, const float *g, const double *x, double *y)
{
    const int C = c->d_model;
    double mean = 0.0;
    if (c->final_norm && c->norm == LLC_NORM_LAYER)
        for (int i = 0; i < C; i++) mean += x[i] / C;
    for (int i = 0; i < C; i++) y[i] = (x[i] - mean) * (c->final_norm && g ? g[i] : 1.0);
}

/* out (HS) = norm1(embed[v]) · W[rows r0..r0+HS)ᵀ + b[r0..] of layer l. */
static void head_proj(const llc_tf_config *c, const float *emb, const float *g1, const float *b1, const float *wqkv,
                      const float *bqkv, int v, int r0, double *x, double *xn, double *out)
{
    const int C = c->d_model, HS = c->d_head;
    for (int i = 0; i < C; i++) x[i] = emb[(size_t)v * C + i];
    norm_row(c, g1, b1, x, xn);
    for (int i = 0; i < HS; i++) {
        const float *wr = wqkv + (size_t)(r0 + i) * C;
        double s = bqkv ? bqkv[r0 + i] : 0.0;
        for (int k = 0; k < C; k++) s += xn[k] * wr[k];
        out[i] = s;
    }
}

int llc_probe_circuit(const llc_model *m, const float *w, int layer, int head, int qk, double **out, int *rows,
                      int *cols, char *err)
{
    *out = NULL;
    const llc_tf_config *c = llc_transformer_config(m);
    if (!c || c->pooled) return llc_fail(err, LLC_ERR_INVALID, "probe: circuits need a transformer without pooling");
    if (c->vocab <= 0)
        return llc_fail(err, LLC_ERR_INVALID, "probe: circuits need a token vocabulary; the model has none");
    if (layer < 0 || layer >= c->n_layers || head < 0 || head >= c->n_heads)
        return llc_fail(err, LLC_ERR_NOTFOUND, "head %d.%d does not exist: model has layers 0-%d and heads 0-%d",
                        layer, head, c->n_layers - 1, c->n_heads - 1);
    const int C = c->d_model, HS = c->d_head, D = c->n_heads * HS, V = c->vocab, NO = c->n_out;
    const float *emb = tensor(m, w, -1, "embed"), *g1 = tensor(m, w, layer, "ln1.g");
    const float *b1 = tensor(m, w, layer, "ln1.b"), *wqkv = tensor(m, w, layer, "attn.qkv.w");
    const float *bqkv = tensor(m, w, layer, "attn.qkv.b"), *wo = tensor(m, w, layer, "attn.o.w");
    const float *gf = tensor(m, w, -1, "lnf.g"), *wu = c->tied ? emb : tensor(m, w, -1, "unembed");
    const int nr = V, nc = qk ? V : NO;
    double *o = malloc((size_t)nr * nc * sizeof *o);
    double *x = malloc((size_t)C * 4 * sizeof *x), *p = malloc((size_t)HS * ((size_t)V + 1) * sizeof *p);
    if (!o || !x || !p) {
        free(o), free(x), free(p);
        return llc_fail(err, LLC_ERR_NOMEM, "probe: out of memory");
    }
    double *xn = x + C, *r = xn + C, *f = r + C, *kk = p + HS;
    const double scale = 1.0 / sqrt((double)HS);
    if (qk) { /* keys of every token into kk (V, HS), then the queries' dot products */
        for (int j = 0; j < V; j++) head_proj(c, emb, g1, b1, wqkv, bqkv, j, D + head * HS, x, xn, kk + (size_t)j * HS);
        for (int i = 0; i < V; i++) {
            head_proj(c, emb, g1, b1, wqkv, bqkv, i, head * HS, x, xn, p);
            for (int j = 0; j < V; j++) {
                double s = 0.0;
                for (int a = 0; a < HS; a++) s += p[a] * kk[(size_t)j * HS + a];
                o[(size_t)i * nc + j] = s * scale;
            }
        }
    } else {
        for (int v = 0; v < V; v++) {
            head_proj(c, emb, g1, b1, wqkv, bqkv, v, 2 * D + head * HS, x, xn, p);
            for (int k = 0; k < C; k++) r[k] = 0.0;
            for (int a = 0; a < HS; a++) /* in-major W_O: head h's rows */
                for (int k = 0; k < C; k++) r[k] += p[a] * wo[((size_t)head * HS + a) * C + k];
            final_lin(c, gf, r, f);
            for (int j = 0; j < NO; j++) {
                double s = 0.0;
                for (int k = 0; k < C; k++) s += f[k] * wu[(size_t)j * C + k];
                o[(size_t)v * nc + j] = s;
            }
        }
    }
    free(x), free(p);
    *out = o, *rows = nr, *cols = nc;
    return LLC_OK;
}

int llc_probe_own_tokens(const llc_task *task, int n_out)
{
    return strcmp(task->name, "sort") == 0 ? n_out - 1 : 0;
}

int llc_probe_segments(const int *owner, int n)
{
    int s = n > 0;
    for (int i = 1; i < n; i++) s += owner[i] != owner[i - 1];
    return s;
}

/* copying: Σ |λ| over eigenvalues with Re λ > 0 over Σ |λ| of the n x n
 * top-left block of a (row stride ld); NAN if the solver fails. */
static double copying_score(const double *a, int n, int ld)
{
    gsl_matrix *m = gsl_matrix_alloc((size_t)n, (size_t)n);
    gsl_vector_complex *ev = gsl_vector_complex_alloc((size_t)n);
    gsl_eigen_nonsymm_workspace *ws = gsl_eigen_nonsymm_alloc((size_t)n);
    double pos = 0.0, all = 0.0, res = NAN;
    if (m && ev && ws) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) gsl_matrix_set(m, (size_t)i, (size_t)j, a[(size_t)i * ld + j]);
        gsl_eigen_nonsymm_params(0, 1, ws); /* balance: scale-free eigenvalues */
        if (gsl_eigen_nonsymm(m, ev, ws) == GSL_SUCCESS) {
            for (int i = 0; i < n; i++) {
                gsl_complex z = gsl_vector_complex_get(ev, (size_t)i);
                double mag = hypot(GSL_REAL(z), GSL_IMAG(z));
                all += mag;
                if (GSL_REAL(z) > 0.0) pos += mag;
            }
            res = all > 0.0 ? pos / all : 0.0;
        }
    }
    gsl_eigen_nonsymm_free(ws);
    gsl_vector_complex_free(ev);
    gsl_matrix_free(m);
    return res;
}

/* copy_suppression: the share of rows i < n whose diagonal entry is
 * strictly below every other entry of the row. */
static double suppression_score(const double *a, int n, int ld)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        const double *r = a + (size_t)i * ld, d = r[i];
        int min = 1;
        for (int j = 0; j < ld && min; j++) min = j == i || r[j] > d;
        k += min;
    }
    return n > 0 ? (double)k / n : 0.0;
}

/* The circuit scores of every head; ownership over tokens [0, n_own). */
static int circuit_probes(const llc_probe_config *cfg, unsigned want, llc_probe_result *r, char *err)
{
    const llc_tf_config *c = llc_transformer_config(cfg->model);
    const int LH = c->n_layers * c->n_heads, n_own = r->n_own;
    double *best = calloc((size_t)n_own * 2, sizeof *best);
    int rc = LLC_OK;
    if (!best) return llc_fail(err, LLC_ERR_NOMEM, "probe: out of memory");
    for (int hd = 0; hd < LH && !rc; hd++) {
        const int l = hd / c->n_heads, h = hd % c->n_heads;
        double *a = NULL;
        int nr, nc;
        if (want & (OV_PROBES | BIT(LLC_PROBE_OWNED_OV))) {
            if ((rc = llc_probe_circuit(cfg->model, cfg->w, l, h, 0, &a, &nr, &nc, err))) break;
            const int n = nr < nc ? nr : nc;
            if (want & BIT(LLC_PROBE_COPYING)) r->value[LLC_PROBE_COPYING * LH + hd] = copying_score(a, n, nc);
            if (want & BIT(LLC_PROBE_COPY_SUPPRESSION))
                r->value[LLC_PROBE_COPY_SUPPRESSION * LH + hd] = suppression_score(a, n, nc);
            if (want & BIT(LLC_PROBE_OWNED_OV))
                for (int j = 0; j < n_own; j++) { /* the diagonal, centred over the row's logits */
                    double mean = 0.0;
                    for (int k = 0; k < nc; k++) mean += a[(size_t)j * nc + k];
                    double d = a[(size_t)j * nc + j] - mean / nc;
                    if (hd == 0 || d > best[j]) best[j] = d, r->owner_ov[j] = hd;
                }
            free(a);
        }
        if (want & BIT(LLC_PROBE_OWNED_QK)) {
            if ((rc = llc_probe_circuit(cfg->model, cfg->w, l, h, 1, &a, &nr, &nc, err))) break;
            /* key token j's score: the mean over query tokens of its
             * column's score minus the row mean (what softmax sees) */
            for (int j = 0; j < n_own; j++) {
                double s = 0.0;
                for (int i = 0; i < nr; i++) {
                    double mean = 0.0;
                    for (int k = 0; k < nc; k++) mean += a[(size_t)i * nc + k];
                    s += a[(size_t)i * nc + j] - mean / nc;
                }
                s /= nr;
                if (hd == 0 || s > best[n_own + j]) best[n_own + j] = s, r->owner_qk[j] = hd;
            }
            free(a);
        }
    }
    free(best);
    if (rc) return rc;
    for (int hd = 0; hd < LH; hd++) {
        int kov = 0, kqk = 0;
        for (int j = 0; j < n_own; j++) {
            kov += r->owner_ov && r->owner_ov[j] == hd;
            kqk += r->owner_qk && r->owner_qk[j] == hd;
        }
        if (want & BIT(LLC_PROBE_OWNED_OV)) r->value[LLC_PROBE_OWNED_OV * LH + hd] = kov;
        if (want & BIT(LLC_PROBE_OWNED_QK)) r->value[LLC_PROBE_OWNED_QK * LH + hd] = kqk;
    }
    if (r->owner_ov) r->segments_ov = llc_probe_segments(r->owner_ov, n_own);
    if (r->owner_qk) r->segments_qk = llc_probe_segments(r->owner_qk, n_own);
    return LLC_OK;
}

/* ---------------- the probe set ---------------- */

/* Repeated-block batch i: per sequence a block of K = T/2 tokens drawn
 * uniformly from the n tokens tok[] (the task's, llc_task_tokens; without
 * replacement when n >= K), then the same block again (repeat = 1) or a
 * fresh one (repeat = -1, the control); an odd T ends in one more random
 * token. With tok = 0..vocab-1 the draws are those of the whole vocabulary. */
static void repeat_batch(llc_batch *b, const int *tok_of, int n, uint64_t seed, int i, int repeat, gsl_rng *rng)
{
    const int T = b->T, K = T / 2;
    llc_rng_reseed(rng, llc_seed(seed, LLC_PURPOSE_DATA, llc_hash_str("probe:repeat"), (uint64_t)i, 0));
    for (int s = 0; s < b->B; s++) {
        int *tok = b->tokens + (size_t)s * T;
        for (int copy = 0; copy < 2; copy++) {
            int *blk = tok + (size_t)copy * K;
            if (copy == 1 && repeat > 0) {
                memcpy(blk, tok, (size_t)K * sizeof *blk);
                continue;
            }
            llc_task_draw_block(blk, K, tok_of, n, rng);
        }
        if (T % 2) tok[T - 1] = tok_of[gsl_rng_uniform_int(rng, (unsigned long)n)];
    }
}

typedef struct {
    const llc_probe_config *cfg;
    const llc_tf_config *c;
    unsigned want;
    int n_batches, PB, T, LH, D, icl;
    /* phase 1 slots, per batch: */
    double *pat;   /* (n_batches, 4, LH) sums over sequences of per-sequence means */
    double *rep;   /* (n_batches, 2, LH) */
    double *icls;  /* (n_batches, LH) */
    double *zsum;  /* (n_batches, L * D) sums of head outputs over rows */
    double *loss;  /* (n_batches) batch mean loss */
    double *att_own; /* (n_batches, LH + 1, n_own) owned_att: attention on the target's value per head; row LH counts */
    int n_own;
    int *tok, n_tok; /* the repeated blocks' tokens (llc_task_tokens) */
    /* phase 2 slots, per head: */
    float *means;       /* (L, D) probe-set mean of each head's output, or NULL (zero ablation) */
    double *abl;   /* (LH) sequence-weighted mean loss with the head ablated */
    int phase, n_threads;
} probe_job;

static int batch_B(const probe_job *j, int i)
{
    const int n = j->cfg->n_seqs > 0 ? j->cfg->n_seqs : LLC_PROBE_DEFAULT_SEQS;
    const int left = n - i * j->PB;
    return left < j->PB ? left : j->PB;
}

/* The pattern scores of one batch's sequences into its slots. */
static void score_patterns(const probe_job *j, const float *att, const llc_batch *b, double *pat, double *icl,
                           double *own)
{
    const int T = b->T, LH = j->LH;
    const size_t TT = (size_t)T * T;
    for (int s = 0; s < b->B; s++)
        for (int hd = 0; hd < LH; hd++) {
            const float *a = att + ((size_t)s * LH + hd) * TT;
            double prev = 0.0, cur = 0.0, first = 0.0, ent = 0.0;
            for (int t = 1; t < T; t++) {
                const float *row = a + (size_t)t * T;
                prev += row[t - 1], cur += row[t], first += row[0];
                double e = 0.0;
                for (int u = 0; u < T; u++)
                    if (row[u] > 0.0f) e -= (double)row[u] * log((double)row[u]);
                ent += e;
            }
            pat[0 * LH + hd] += prev / (T - 1);
            pat[1 * LH + hd] += cur / (T - 1);
            pat[2 * LH + hd] += first / (T - 1);
            pat[3 * LH + hd] += ent / (T - 1);
            if (own) /* scored rows: attention on the keys holding the value the row outputs */
                for (int t = 0; t < T; t++) {
                    const int v = b->targets[(size_t)s * T + t];
                    if (b->mask[(size_t)s * T + t] == 0.0f || v < 0 || v >= j->n_own) continue;
                    const int *tok = b->tokens + (size_t)s * T;
                    double m = 0.0;
                    for (int u = 0; u < T; u++)
                        if (tok[u] == v) m += a[(size_t)t * T + u];
                    own[(size_t)hd * j->n_own + v] += m;
                    if (hd == 0) own[(size_t)LH * j->n_own + v] += 1.0;
                }
            if (icl) { /* the query's row: mass on the labels equal to the query's label */
                const float *row = a + (size_t)(T - 1) * T;
                const int *tok = b->tokens + (size_t)s * T, want = b->targets[(size_t)s * T + T - 1];
                double m = 0.0;
                for (int u = 1; u < T - 1; u += 2)
                    if (tok[u] == want) m += row[u];
                icl[hd] += m;
            }
        }
}

static void score_repeat(const probe_job *j, const float *att, const llc_batch *b, double *rep)
{
    const int T = b->T, K = T / 2, LH = j->LH;
    const size_t TT = (size_t)T * T;
    for (int s = 0; s < b->B; s++)
        for (int hd = 0; hd < LH; hd++) {
            const float *a = att + ((size_t)s * LH + hd) * TT;
            double ind = 0.0, dup = 0.0;
            for (int t = K; t < 2 * K; t++) {
                ind += a[(size_t)t * T + t - K + 1];
                dup += a[(size_t)t * T + t - K];
            }
            rep[hd] += ind / K;
            rep[LH + hd] += dup / K;
        }
}

/* Mean loss of batch b under model m (forward only). */
static int batch_loss(const llc_model *m, void *ws, const float *w, const llc_batch *b, double *loss)
{
    return m->loss_grad(m, ws, w, b, NULL, loss);
}

/* A thread's scratch: a workspace, the probe and repeated-block batches,
 * attention patterns and head outputs of one batch, an rng. */
typedef struct {
    void *ws;
    llc_batch *b, *rb;
    float *att, *z;
    gsl_rng *rng;
} probe_scratch;

static int phase1_item(probe_job *j, probe_scratch *sc, int i, char *err)
{
    void *ws = sc->ws;
    llc_batch *b = sc->b, *rb = sc->rb;
    float *att = sc->att, *z = sc->z;
    const llc_probe_config *cfg = j->cfg;
    const llc_model *m = cfg->model;
    const int B = batch_B(j, i), L = j->c->n_layers, LH = j->LH, D = j->D, T = j->T;
    int rc;
    b->B = B;
    if ((rc = cfg->task->fill(cfg->task, cfg->dist, probe_index(cfg->seed, i), b)))
        return llc_fail(err, rc, "probe: the task could not fill probe batch %d", i);
    const int need_att = (j->want & (PATTERN_PROBES | BIT(LLC_PROBE_OWNED_ATT))) || j->icl;
    const int need_z = j->want & BIT(LLC_PROBE_ABLATION) && cfg->ablate_mean;
    if (need_att || need_z) {
        if ((rc = llc_transformer_patterns(m, ws, cfg->w, b, need_att ? att : NULL, need_z ? z : NULL)))
            return llc_fail(err, rc, "probe: the model cannot take the task's batches");
        if (need_att)
            score_patterns(j, att, b, j->pat + (size_t)i * 4 * LH, j->icl ? j->icls + (size_t)i * LH : NULL,
                           j->att_own ? j->att_own + (size_t)i * (LH + 1) * j->n_own : NULL);
        if (need_z) {
            double *zs = j->zsum + (size_t)i * L * D;
            for (int l = 0; l < L; l++)
                for (size_t n = 0; n < (size_t)B * T; n++)
                    for (int d = 0; d < D; d++) zs[(size_t)l * D + d] += z[((size_t)l * B * T + n) * D + d];
        }
    }
    if (j->want & BIT(LLC_PROBE_ABLATION) && (rc = batch_loss(m, ws, cfg->w, b, &j->loss[i])))
        return llc_fail(err, rc, "probe: loss of probe batch %d failed", i);
    if (j->want & REPEAT_PROBES) {
        rb->B = B;
        repeat_batch(rb, j->tok, j->n_tok, cfg->seed, i, cfg->repeat < 0 ? -1 : 1, sc->rng);
        if ((rc = llc_transformer_patterns(m, ws, cfg->w, rb, att, NULL)))
            return llc_fail(err, rc, "probe: the model cannot take the repeated-block batches");
        score_repeat(j, att, rb, j->rep + (size_t)i * 2 * LH);
    }
    return LLC_OK;
}

static int phase2_item(probe_job *j, int hd, llc_batch *b, char *err)
{
    const llc_probe_config *cfg = j->cfg;
    llc_tf_config c = *j->c;
    const int l = hd / c.n_heads, h = hd % c.n_heads, n = cfg->n_seqs > 0 ? cfg->n_seqs : LLC_PROBE_DEFAULT_SEQS;
    if (c.n_clamps >= LLC_MAX_CLAMPS)
        return llc_fail(err, LLC_ERR_INVALID, "probe: ablation needs a free clamp slot (the model has %d)",
                        c.n_clamps);
    c.clamps[c.n_clamps++] =
        (llc_clamp){.kind = LLC_CLAMP_MEAN_OUTPUT, .layer = l, .head = h,
                    .mean = j->means ? j->means + (size_t)l * j->D + (size_t)h * c.d_head : NULL};
    llc_model *m = NULL;
    void *ws = NULL;
    int rc = llc_transformer_new(&c, &m, err);
    if (rc) goto cleanup;
    rc = LLC_ERR_NOMEM;
    if (!(ws = m->ws_alloc(m, j->PB))) goto cleanup;
    double sum = 0.0;
    for (int i = 0; i < j->n_batches; i++) {
        double loss;
        b->B = batch_B(j, i);
        if ((rc = cfg->task->fill(cfg->task, cfg->dist, probe_index(cfg->seed, i), b))) goto cleanup;
        if ((rc = batch_loss(m, ws, cfg->w, b, &loss))) goto cleanup;
        sum += loss * b->B;
    }
    j->abl[hd] = sum / n;
    rc = LLC_OK;
cleanup:
    if (rc == LLC_ERR_NOMEM) llc_fail(err, rc, "probe: out of memory");
    else if (rc && !err[0]) llc_fail(err, rc, "probe: ablation of head %d.%d failed", l, h);
    if (m) m->ws_free(ws);
    llc_model_free(m);
    return rc;
}

static int scratch_init(void *ctx, void **sp, char *err)
{
    const probe_job *j = ctx;
    const llc_model *m = j->cfg->model;
    const int L = j->c->n_layers, T = j->T;
    probe_scratch *sc = calloc(1, sizeof *sc);
    if (!(*sp = sc)) return llc_fail(err, LLC_ERR_NOMEM, "probe: out of memory");
    sc->ws = m->ws_alloc(m, j->PB);
    sc->b = llc_task_batch_alloc(j->cfg->task, j->PB);
    sc->rb = llc_batch_alloc(j->PB, T, 1, 0, 0, 0);
    sc->att = malloc((size_t)j->PB * j->LH * T * T * sizeof *sc->att);
    sc->z = malloc((size_t)L * j->PB * T * j->D * sizeof *sc->z);
    sc->rng = llc_rng_new(0);
    if (!sc->ws || !sc->b || !sc->rb || !sc->att || !sc->z || !sc->rng)
        return llc_fail(err, LLC_ERR_NOMEM, "probe: out of memory");
    return LLC_OK;
}

static void scratch_fini(void *ctx, void *sp)
{
    const probe_job *j = ctx;
    probe_scratch *sc = sp;
    if (!sc) return;
    gsl_rng_free(sc->rng);
    free(sc->z);
    free(sc->att);
    llc_batch_free(sc->rb);
    llc_batch_free(sc->b);
    if (sc->ws) j->cfg->model->ws_free(sc->ws);
    free(sc);
}

/* Phase 1: probe batch i; phase 2: the ablation of head i. */
static int probe_item(void *ctx, void *sp, int i, char *err)
{
    probe_job *j = ctx;
    probe_scratch *sc = sp;
    const int hd = j->cfg->ablate_only > 0 ? j->cfg->ablate_only - 1 : i;
    return j->phase == 1 ? phase1_item(j, sc, i, err) : phase2_item(j, hd, sc->b, err);
}

static int run_phase(probe_job *j, char *err)
{
    static const llc_pool_fns fns = {scratch_init, probe_item, scratch_fini};
    const int n = j->phase == 1 ? j->n_batches : j->cfg->ablate_only > 0 ? 1 : j->LH;
    return llc_pool_run(&fns, j, n, j->n_threads, err);
}

/* ---------------- the driver ---------------- */

void llc_probe_result_free(llc_probe_result *r)
{
    if (!r) return;
    free(r->value);
    free(r->owner_ov);
    free(r->owner_qk);
    free(r->owner_att);
    memset(r, 0, sizeof *r);
}

/* The probes to run: those asked, or every one the task allows. */
static int probes_wanted(const llc_probe_config *cfg, const llc_tf_config *c, unsigned *want, char *err)
{
    const int has_vocab = c->vocab > 0 && cfg->task->shape.vocab > 0, square = has_vocab && c->n_out == c->vocab;
    const int icl = strcmp(cfg->task->name, "icl") == 0;
    unsigned allowed = PATTERN_PROBES | BIT(LLC_PROBE_ABLATION);
    if (has_vocab) allowed |= REPEAT_PROBES | BIT(LLC_PROBE_OWNED_QK);
    if (square) allowed |= OV_PROBES | BIT(LLC_PROBE_OWNED_ATT);
    if (icl) allowed |= BIT(LLC_PROBE_ICL);
    if (!cfg->probes) {
        *want = allowed;
        return LLC_OK;
    }
    for (int k = 0; k < LLC_PROBE_COUNT; k++) {
        if (!(cfg->probes & BIT(k)) || (allowed & BIT(k))) continue;
        if (k == LLC_PROBE_ICL)
            return llc_fail(err, LLC_ERR_INVALID, "probe 'icl' needs the icl task; this run's task is '%s'",
                            cfg->task->name);
        if (!has_vocab)
            return llc_fail(err, LLC_ERR_INVALID,
                            "probe '%s' needs a task with a token vocabulary; task '%s' has continuous inputs only",
                            llc_probe_names[k], cfg->task->name);
        return llc_fail(err, LLC_ERR_INVALID, "probe '%s' needs output tokens = input tokens (n_out %d, vocab %d)",
                        llc_probe_names[k], c->n_out, c->vocab);
    }
    *want = cfg->probes;
    return LLC_OK;
}

static int check_config(const llc_probe_config *cfg, const llc_tf_config **cp, char *err)
{
    const llc_tf_config *c = cfg && cfg->model ? llc_transformer_config(cfg->model) : NULL;
    if (!c) return llc_fail(err, LLC_ERR_INVALID, "probe: probes need a transformer");
    if (c->pooled)
        return llc_fail(err, LLC_ERR_INVALID,
                        "probe: the model has a pooling layer (one learned query per head, no T x T pattern); "
                        "probes need a transformer without one");
    if (!cfg->w || !cfg->task || cfg->dist < 0 || cfg->dist >= cfg->task->n_dists)
        return llc_fail(err, LLC_ERR_INVALID, "probe: weights, task and a distribution of the task are required");
    const llc_task_shape *s = &cfg->task->shape;
    if (s->T < 2 || s->T > c->n_ctx || s->vocab != c->vocab || s->d_in != c->d_input || s->n_out != c->n_out ||
        s->per_sequence)
        return llc_fail(err, LLC_ERR_INVALID, "probe: task '%s' does not fit the model (T %d, vocab %d, n_out %d)",
                        cfg->task->name, s->T, s->vocab, s->n_out);
    if (cfg->n_seqs < 0 || cfg->n_seqs > LLC_PROBE_MAX_SEQS || cfg->n_threads < 0 || cfg->n_threads > 1024)
        return llc_fail(err, LLC_ERR_INVALID, "probe: n_seqs must be in 1..%d and n_threads in 1..1024",
                        LLC_PROBE_MAX_SEQS);
    if (cfg->own_tokens < 0 || cfg->own_tokens > c->n_out)
        return llc_fail(err, LLC_ERR_INVALID, "probe: own_tokens must be in 0..%d", c->n_out);
    if (cfg->ablate_only < 0 || cfg->ablate_only > c->n_layers * c->n_heads)
        return llc_fail(err, LLC_ERR_INVALID, "probe: ablate_only must be in 0..%d", c->n_layers * c->n_heads);
    *cp = c;
    return LLC_OK;
}

int llc_probe_plan(const llc_probe_config *cfg, unsigned *want, char *err)
{
    const llc_tf_config *c = NULL;
    *want = 0;
    int rc = check_config(cfg, &c, err);
    return rc ? rc : probes_wanted(cfg, c, want, err);
}

int llc_probe_run(const llc_probe_config *cfg, llc_probe_result *r, char *err)
{
    const llc_tf_config *c = NULL;
    memset(r, 0, sizeof *r);
    int rc = check_config(cfg, &c, err);
    if (rc) return rc;
    unsigned want = 0;
    if ((rc = probes_wanted(cfg, c, &want, err))) return rc;
    const int L = c->n_layers, NH = c->n_heads, LH = L * NH, D = NH * c->d_head, T = cfg->task->shape.T;
    const int n = cfg->n_seqs > 0 ? cfg->n_seqs : LLC_PROBE_DEFAULT_SEQS;
    int PB = (int)(ATT_FLOATS / ((size_t)LH * T * T));
    PB = PB < 1 ? 1 : PB > MAX_PB ? MAX_PB : PB;
    probe_job j = {.cfg = cfg, .c = c, .want = want, .PB = PB, .T = T, .LH = LH, .D = D,
                   .n_batches = (n + PB - 1) / PB, .icl = (want & BIT(LLC_PROBE_ICL)) != 0,
                   .n_threads = cfg->n_threads > 0 ? cfg->n_threads : 1};
    float *means = NULL;
    r->n_layers = L, r->n_heads = NH, r->n_seqs = n, r->base_loss = NAN;
    r->value = malloc((size_t)LLC_PROBE_COUNT * LH * sizeof *r->value);
    const size_t nb = (size_t)j.n_batches;
    j.pat = calloc(nb * 4 * LH, sizeof *j.pat);
    j.rep = calloc(nb * 2 * LH, sizeof *j.rep);
    j.icls = calloc(nb * LH, sizeof *j.icls);
    j.zsum = calloc(nb * L * D, sizeof *j.zsum);
    j.loss = calloc(nb, sizeof *j.loss);
    j.abl = calloc((size_t)LH, sizeof *j.abl);
    means = calloc((size_t)L * D, sizeof *means);
    j.tok = want & REPEAT_PROBES ? malloc((size_t)c->vocab * sizeof *j.tok) : NULL;
    if (!r->value || (want & REPEAT_PROBES && !j.tok) || !j.pat || !j.rep || !j.icls || !j.zsum || !j.loss ||
        !j.abl || !means) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "probe: out of memory");
        goto cleanup;
    }
    if (j.tok && (j.n_tok = llc_task_tokens(cfg->task, j.tok)) < 1) {
        rc = llc_fail(err, LLC_ERR_INVALID, "probe: task '%s' uses no tokens to build repeated blocks from",
                      cfg->task->name);
        goto cleanup;
    }
    for (size_t i = 0; i < (size_t)LLC_PROBE_COUNT * LH; i++) r->value[i] = NAN;

    /* the circuits */
    if (want & (OV_PROBES | BIT(LLC_PROBE_OWNED_QK))) {
        r->n_own = cfg->own_tokens > 0 ? cfg->own_tokens : c->n_out;
        r->owner_ov = want & BIT(LLC_PROBE_OWNED_OV) ? calloc((size_t)r->n_own, sizeof *r->owner_ov) : NULL;
        r->owner_qk = want & BIT(LLC_PROBE_OWNED_QK) ? calloc((size_t)r->n_own, sizeof *r->owner_qk) : NULL;
        if ((want & BIT(LLC_PROBE_OWNED_OV) && !r->owner_ov) || (want & BIT(LLC_PROBE_OWNED_QK) && !r->owner_qk)) {
            rc = llc_fail(err, LLC_ERR_NOMEM, "probe: out of memory");
            goto cleanup;
        }
        const double t0 = llc_now();
        if ((rc = circuit_probes(cfg, want, r, err))) goto cleanup;
        r->seconds_circuits = llc_now() - t0;
    }

    /* phase 1: the probe batches */
    if (want & BIT(LLC_PROBE_OWNED_ATT)) {
        j.n_own = r->n_own = cfg->own_tokens > 0 ? cfg->own_tokens : c->n_out;
        j.att_own = calloc(nb * (LH + 1) * j.n_own, sizeof *j.att_own);
        r->owner_att = malloc((size_t)j.n_own * sizeof *r->owner_att);
        if (!j.att_own || !r->owner_att) {
            rc = llc_fail(err, LLC_ERR_NOMEM, "probe: out of memory");
            goto cleanup;
        }
    }
    if (want & (PATTERN_PROBES | REPEAT_PROBES | BIT(LLC_PROBE_ICL) | BIT(LLC_PROBE_OWNED_ATT) |
                BIT(LLC_PROBE_ABLATION))) {
        const double t0 = llc_now();
        j.phase = 1;
        if ((rc = run_phase(&j, err))) goto cleanup;
        r->seconds_patterns = llc_now() - t0;
    }
    if (want & BIT(LLC_PROBE_OWNED_ATT)) { /* the owner of value v: the most attention on it where it is output */
        const int no = j.n_own;
        for (int v = 0; v < no; v++) {
            double best = 0.0, cnt = 0.0;
            r->owner_att[v] = -1;
            for (size_t i = 0; i < nb; i++) cnt += j.att_own[(i * (LH + 1) + LH) * no + v];
            for (int hd = 0; hd < LH && cnt > 0.0; hd++) {
                double s = 0.0;
                for (size_t i = 0; i < nb; i++) s += j.att_own[(i * (LH + 1) + hd) * no + v];
                if (r->owner_att[v] < 0 || s > best) best = s, r->owner_att[v] = hd;
            }
        }
        for (int hd = 0; hd < LH; hd++) {
            int k = 0;
            for (int v = 0; v < no; v++) k += r->owner_att[v] == hd;
            r->value[LLC_PROBE_OWNED_ATT * LH + hd] = k;
        }
        r->segments_att = llc_probe_segments(r->owner_att, no);
    }
    for (int hd = 0; hd < LH; hd++) {
        double s[7] = {0};
        for (size_t i = 0; i < nb; i++) {
            for (int k = 0; k < 4; k++) s[k] += j.pat[(i * 4 + k) * LH + hd];
            for (int k = 0; k < 2; k++) s[4 + k] += j.rep[(i * 2 + k) * LH + hd];
            s[6] += j.icls[i * LH + hd];
        }
        for (int k = 0; k < 7; k++)
            if (want & BIT(k)) r->value[k * LH + hd] = s[k] / n;
    }

    /* phase 2: ablations */
    if (want & BIT(LLC_PROBE_ABLATION)) {
        double base = 0.0;
        for (size_t i = 0; i < nb; i++) base += j.loss[i] * batch_B(&j, (int)i);
        r->base_loss = base / n;
        if (cfg->ablate_mean) {
            for (int d = 0; d < L * D; d++) {
                double s = 0.0;
                for (size_t i = 0; i < nb; i++) s += j.zsum[i * L * D + d];
                means[d] = (float)(s / ((double)n * T));
            }
            j.means = means;
        }
        const double t0 = llc_now();
        j.phase = 2;
        if ((rc = run_phase(&j, err))) goto cleanup;
        r->seconds_ablation = llc_now() - t0;
        for (int hd = 0; hd < LH; hd++)
            if (!cfg->ablate_only || hd == cfg->ablate_only - 1)
                r->value[LLC_PROBE_ABLATION * LH + hd] = j.abl[hd] - r->base_loss;
    }
    r->computed = want;
cleanup:
    free(means);
    free(j.pat), free(j.rep), free(j.icls), free(j.zsum), free(j.loss), free(j.abl), free(j.att_own), free(j.tok);
    if (rc) llc_probe_result_free(r);
    return rc;
}

int llc_probe_pattern(const llc_probe_config *cfg, int layer, int head, float **att, int *T, char *err)
{
    const llc_tf_config *c = NULL;
    *att = NULL;
    int rc = check_config(cfg, &c, err);
    if (rc) return rc;
    if (layer < 0 || layer >= c->n_layers || head < 0 || head >= c->n_heads)
        return llc_fail(err, LLC_ERR_NOTFOUND, "head %d.%d does not exist: model has layers 0-%d and heads 0-%d",
                        layer, head, c->n_layers - 1, c->n_heads - 1);
    const llc_model *m = cfg->model;
    const int Tn = cfg->task->shape.T, LH = c->n_layers * c->n_heads;
    void *ws = m->ws_alloc(m, 1);
    llc_batch *b = llc_task_batch_alloc(cfg->task, 1);
    float *all = malloc((size_t)LH * Tn * Tn * sizeof *all), *one = malloc((size_t)Tn * Tn * sizeof *one);
    rc = LLC_ERR_NOMEM;
    if (!ws || !b || !all || !one) goto cleanup;
    b->B = 1;
    if ((rc = cfg->task->fill(cfg->task, cfg->dist, probe_index(cfg->seed, 0), b))) goto cleanup;
    if ((rc = llc_transformer_patterns(m, ws, cfg->w, b, all, NULL))) goto cleanup;
    memcpy(one, all + ((size_t)layer * c->n_heads + head) * Tn * Tn, (size_t)Tn * Tn * sizeof *one);
    *att = one, *T = Tn, one = NULL;
cleanup:
    if (rc == LLC_ERR_NOMEM) llc_fail(err, rc, "probe: out of memory");
    else if (rc) llc_fail(err, rc, "probe: the example sequence could not be run through the model");
    free(one);
    free(all);
    llc_batch_free(b);
    if (ws) m->ws_free(ws);
    return rc;
}
