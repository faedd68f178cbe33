/* eval.c - loss, accuracy and output entropy at one checkpoint, as it is
 * and with heads ablated or clamps added (llc_eval.h; llc/PROBES.md).
 *
 * Ablation is a MEAN_OUTPUT clamp (zeros, or the head's mean output over
 * the eval set from the unablated model): the kernels run the head as
 * free, so every head left alone keeps its numbers to the bit, and
 * ablating a head whose output is zero changes nothing at all.
 * Two parallel phases (llc_pool.h), each batch writing its own slot:
 *  1. (mean ablation only) per batch: the sums of every head's output;
 *  2. per batch: the scored positions' statistics of both models.
 * The slots are added in batch order, in double.
 */
#include "llc_eval.h"
#include "llc_pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { S_W, S_LOSS, S_ACC, S_ENT, S_N }; /* per-batch sums: weight, weighted loss, accuracy, entropy */

typedef struct {
    const llc_eval_config *cfg;
    const llc_model *models[2]; /* the model as it is, the changed one (NULL in phase 1) */
    int phase, n_batches, n_threads, LD;
    double *zsum;  /* (n_batches, LD) sums over rows of the head outputs of every layer */
    double *stats; /* (n_batches, 2, S_N) */
} eval_job;

/* A thread's scratch: a workspace per model, a batch, the scored rows'
 * probabilities, targets and weights, and (phase 1) the head outputs. */
typedef struct {
    void *ws[2];
    llc_batch *b;
    float *probs, *wt, *z;
    int *tgt;
} eval_scratch;

/* The eval set's batch indices: far from any training step, apart from the probe set. */
static uint64_t eval_index(uint64_t seed, int i)
{
    return llc_seed(seed, LLC_PURPOSE_DATA, llc_hash_str("eval"), (uint64_t)i, 0) >> 16;
}

/* The statistics of n scored rows into s (S_N sums). */
static void row_stats(const float *probs, const int *tgt, const float *wt, int n, int V, double loss, double *s)
{
    double wsum = 0.0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * V;
        int best = 0;
        double ent = 0.0;
        for (int v = 0; v < V; v++) {
            if (p[v] > p[best]) best = v;
            if (p[v] > 0.0f) ent -= (double)p[v] * log((double)p[v]);
        }
        wsum += wt[i];
        s[S_ACC] += best == tgt[i] ? (double)wt[i] : 0.0;
        s[S_ENT] += wt[i] * ent;
    }
    s[S_W] += wsum;
    s[S_LOSS] += loss * wsum; /* loss_grad's mask-weighted mean, back to a sum */
}

static int scratch_init(void *ctx, void **sp, char *err)
{
    const eval_job *j = ctx;
    const llc_eval_config *cfg = j->cfg;
    const int T = cfg->task->shape.T, V = llc_transformer_config(cfg->model)->n_out, PB = LLC_EVAL_BATCH_SEQS;
    const size_t rows = (size_t)PB * T;
    eval_scratch *sc = calloc(1, sizeof *sc);
    if (!(*sp = sc)) return llc_fail(err, LLC_ERR_NOMEM, "eval: out of memory");
    const int nm = j->phase == 1 ? 1 : 2;
    for (int k = 0; k < nm; k++) sc->ws[k] = j->models[k]->ws_alloc(j->models[k], PB);
    sc->b = llc_task_batch_alloc(cfg->task, PB);
    sc->probs = malloc(rows * V * sizeof *sc->probs);
    sc->wt = malloc(rows * sizeof *sc->wt);
    sc->tgt = malloc(rows * sizeof *sc->tgt);
    sc->z = j->phase == 1 ? malloc(rows * j->LD * sizeof *sc->z) : NULL;
    if (!sc->ws[0] || (nm > 1 && !sc->ws[1]) || !sc->b || !sc->probs || !sc->wt || !sc->tgt || (nm == 1 && !sc->z))
        return llc_fail(err, LLC_ERR_NOMEM, "eval: out of memory");
    return LLC_OK;
}

static void scratch_fini(void *ctx, void *sp)
{
    const eval_job *j = ctx;
    eval_scratch *sc = sp;
    if (!sc) return;
    free(sc->z);
    free(sc->tgt);
    free(sc->wt);
    free(sc->probs);
    llc_batch_free(sc->b);
    for (int k = 0; k < 2; k++)
        if (sc->ws[k]) j->models[k]->ws_free(sc->ws[k]);
    free(sc);
}

/* Eval batch i: phase 1 adds up the head outputs, phase 2 scores both models. */
static int eval_item(void *ctx, void *sp, int i, char *err)
{
    eval_job *j = ctx;
    eval_scratch *sc = sp;
    const llc_eval_config *cfg = j->cfg;
    const llc_tf_config *c = llc_transformer_config(cfg->model);
    const size_t rows = (size_t)LLC_EVAL_BATCH_SEQS * cfg->task->shape.T;
    llc_batch *b = sc->b;
    int rc;
    b->B = LLC_EVAL_BATCH_SEQS;
    if ((rc = cfg->task->fill(cfg->task, cfg->dist, eval_index(cfg->seed, i), b)))
        return llc_fail(err, rc, "eval: the task could not fill eval batch %d", i);
    if (j->phase == 1) {
        if ((rc = llc_transformer_patterns(j->models[0], sc->ws[0], cfg->w, b, NULL, sc->z)))
            return llc_fail(err, rc, "eval: the model cannot take the task's batches");
        const int D = j->LD / c->n_layers;
        double *zs = j->zsum + (size_t)i * j->LD;
        for (int l = 0; l < c->n_layers; l++)
            for (size_t n = 0; n < rows; n++)
                for (int d = 0; d < D; d++) zs[(size_t)l * D + d] += sc->z[((size_t)l * rows + n) * D + d];
        return LLC_OK;
    }
    for (int k = 0; k < 2; k++) {
        double loss;
        int n = 0;
        if ((rc = llc_transformer_scored(j->models[k], sc->ws[k], cfg->w, b, &loss, sc->probs, sc->tgt, sc->wt, &n)))
            return llc_fail(err, rc, "eval: the model cannot take the task's batches");
        row_stats(sc->probs, sc->tgt, sc->wt, n, c->n_out, loss, j->stats + ((size_t)i * 2 + k) * S_N);
    }
    return LLC_OK;
}

static int run_phase(eval_job *j, char *err)
{
    static const llc_pool_fns fns = {scratch_init, eval_item, scratch_fini};
    return llc_pool_run(&fns, j, j->n_batches, j->n_threads, err);
}

void llc_eval_result_free(llc_eval_result *r)
{
    if (!r) return;
    free(r->ablated);
    memset(r, 0, sizeof *r);
}

static int check_config(const llc_eval_config *cfg, const llc_tf_config **cp, char *err)
{
    const llc_tf_config *c = cfg && cfg->model ? llc_transformer_config(cfg->model) : NULL;
    if (!c) return llc_fail(err, LLC_ERR_INVALID, "eval: needs a transformer");
    if (!cfg->w || !cfg->task || cfg->dist < 0 || cfg->dist >= cfg->task->n_dists)
        return llc_fail(err, LLC_ERR_INVALID, "eval: weights, task and a distribution of the task are required");
    const llc_task_shape *s = &cfg->task->shape;
    if (s->T < 1 || s->T > c->n_ctx || s->vocab != c->vocab || s->d_in != c->d_input || s->n_out != c->n_out)
        return llc_fail(err, LLC_ERR_INVALID, "eval: task '%s' does not fit the model (T %d, vocab %d, n_out %d)",
                        cfg->task->name, s->T, s->vocab, s->n_out);
    if (cfg->n_batches < 0 || cfg->n_batches > LLC_EVAL_MAX_BATCHES || cfg->n_threads < 0 || cfg->n_threads > 1024)
        return llc_fail(err, LLC_ERR_INVALID, "eval: n_batches must be in 1..%d and n_threads in 1..1024",
                        LLC_EVAL_MAX_BATCHES);
    const int LH = c->n_layers * c->n_heads;
    for (int i = 0; i < cfg->n_ablate + cfg->n_keep; i++) {
        const int hd = i < cfg->n_ablate ? cfg->ablate[i] : cfg->keep[i - cfg->n_ablate];
        if (hd < 0 || hd >= LH)
            return llc_fail(err, LLC_ERR_NOTFOUND, "eval: head %d.%d does not exist: model has layers 0-%d and heads 0-%d",
                            hd / c->n_heads, hd % c->n_heads, c->n_layers - 1, c->n_heads - 1);
    }
    if (cfg->ablate_mean && c->pooled)
        return llc_fail(err, LLC_ERR_INVALID,
                        "eval: mean ablation needs a transformer without a pooling layer; use zero ablation");
    *cp = c;
    return LLC_OK;
}

static void finish(const double *s, llc_eval_stats *st)
{
    st->loss = s[S_W] > 0.0 ? s[S_LOSS] / s[S_W] : NAN;
    st->accuracy = s[S_W] > 0.0 ? s[S_ACC] / s[S_W] : NAN;
    st->entropy = s[S_W] > 0.0 ? s[S_ENT] / s[S_W] : NAN;
}

int llc_eval_run(const llc_eval_config *cfg, llc_eval_result *r, char *err)
{
    const llc_tf_config *c = NULL;
    memset(r, 0, sizeof *r);
    int rc = check_config(cfg, &c, err);
    if (rc) return rc;
    const int NH = c->n_heads, LH = c->n_layers * NH, LD = c->n_layers * NH * c->d_head;
    eval_job j = {.cfg = cfg, .n_batches = cfg->n_batches > 0 ? cfg->n_batches : LLC_EVAL_DEFAULT_BATCHES,
                  .n_threads = cfg->n_threads > 0 ? cfg->n_threads : 1, .LD = LD};
    const size_t nb = (size_t)j.n_batches;
    llc_tf_config cc = *c;
    llc_model *changed = NULL;
    float *means = NULL;
    unsigned char *keep = calloc((size_t)LH, 1);
    r->ablated = calloc((size_t)LH, 1);
    j.stats = calloc(nb * 2 * S_N, sizeof *j.stats);
    if (!keep || !r->ablated || !j.stats) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "eval: out of memory");
        goto cleanup;
    }
    /* the heads to ablate: those named, and every head of a keep-only layer not kept */
    for (int i = 0; i < cfg->n_keep; i++) keep[cfg->keep[i]] = 1;
    for (int i = 0; i < cfg->n_ablate; i++) r->ablated[cfg->ablate[i]] = 1;
    for (int i = 0; i < cfg->n_keep; i++) {
        const int l = cfg->keep[i] / NH;
        for (int h = 0; h < NH; h++)
            if (!keep[l * NH + h]) r->ablated[l * NH + h] = 1;
    }
    for (int hd = 0; hd < LH; hd++) r->n_ablated += r->ablated[hd];
    if (c->n_clamps + r->n_ablated + cfg->n_clamps > LLC_MAX_CLAMPS) {
        rc = llc_fail(err, LLC_ERR_INVALID, "eval: at most %d clamps in all; the model has %d, %d heads to ablate and "
                      "%d clamps asked", LLC_MAX_CLAMPS, c->n_clamps, r->n_ablated, cfg->n_clamps);
        goto cleanup;
    }
    j.models[0] = cfg->model;
    if (cfg->ablate_mean && r->n_ablated) { /* phase 1: the heads' mean outputs over the eval set */
        j.zsum = calloc(nb * LD, sizeof *j.zsum);
        means = calloc((size_t)LD, sizeof *means);
        if (!j.zsum || !means) {
            rc = llc_fail(err, LLC_ERR_NOMEM, "eval: out of memory");
            goto cleanup;
        }
        j.phase = 1;
        if ((rc = run_phase(&j, err))) goto cleanup;
        const double rows = (double)nb * LLC_EVAL_BATCH_SEQS * cfg->task->shape.T;
        for (int d = 0; d < LD; d++) {
            double s = 0.0;
            for (size_t i = 0; i < nb; i++) s += j.zsum[i * LD + d];
            means[d] = (float)(s / rows);
        }
    }
    for (int hd = 0; hd < LH; hd++)
        if (r->ablated[hd])
            cc.clamps[cc.n_clamps++] = (llc_clamp){.kind = LLC_CLAMP_MEAN_OUTPUT, .layer = hd / NH, .head = hd % NH,
                                                   .mean = means ? means + (size_t)hd * c->d_head : NULL};
    for (int i = 0; i < cfg->n_clamps; i++) cc.clamps[cc.n_clamps++] = cfg->clamps[i];
    if ((rc = llc_transformer_new(&cc, &changed, err))) goto cleanup;
    j.models[1] = changed;
    j.phase = 2;
    if ((rc = run_phase(&j, err))) goto cleanup;
    double s[2][S_N] = {{0}};
    for (size_t i = 0; i < nb; i++)
        for (int k = 0; k < 2; k++)
            for (int q = 0; q < S_N; q++) s[k][q] += j.stats[(i * 2 + k) * S_N + q];
    finish(s[0], &r->base);
    finish(s[1], &r->changed);
    r->n_seqs = (int)nb * LLC_EVAL_BATCH_SEQS;
    r->n_scored = s[0][S_W];
cleanup:
    llc_model_free(changed);
    free(means);
    free(keep);
    free(j.zsum);
    free(j.stats);
    if (rc) llc_eval_result_free(r);
    return rc;
}
