/* train.c - the trainer: optimisers (SGD with momentum, Adam, AdamW),
 * learning-rate schedules, global-norm gradient clipping, checkpoint
 * schedules and the resume-state blob. See llc_train.h for the contract.
 *
 * Semantics follow PyTorch so that results can be compared with a reference
 * run: torch.optim.SGD/Adam/AdamW (no amsgrad, no nesterov, dampening 0),
 * torch.nn.utils.clip_grad_norm_ (coefficient max_norm/(norm + 1e-6), applied
 * only when it is below 1). Per-element optimiser arithmetic is done in
 * double and stored as float32; the order of operations is fixed, so the same
 * seed, config and data give bit-identical parameters, resumed or not.
 */
#include "llc_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing. */
#define CLIP_NORM_EPS 1e-6
/* Upper bounds that keep sizes and counts sane (config_check). */
#define MAX_BATCH 1048576
#define MAX_TEST_BATCHES 1000000
#define MAX_CKPT_COUNT 1000000 /* per schedule part (linear, log, every) */

#define STATE_MAGIC 0x54534c4cu /* "LLST" little-endian */
#define STATE_VERSION 1u
/* magic u32, version u32, step i64, n_params u64, opt u32, n_vectors u32 */
#define STATE_HEADER_BYTES 32

static const char *const opt_names[] = {"sgd", "adam", "adamw"};

void llc_train_config_default(llc_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->steps = 1000;
    c->batch = 32;
    c->opt = LLC_OPT_ADAMW;
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->adam_eps = 1e-8;
    c->momentum = 0.0; /* torch.optim.SGD's default */
    c->weight_decay = 0.0;
    c->clip = 1.0;
    c->sched = LLC_SCHED_CONSTANT;
    c->warmup = 0;
    c->min_lr_frac = 0.0;
    c->test_batches = 4;
    c->ckpt_every = 0;
    c->ckpt_linear = 50;
    c->ckpt_log = 50;
    c->n_ckpt_list = 0;
    c->max_loss = 0.0;
}

int llc_train_config_check(const llc_train_config *c, char *err)
{
    if (!c) return llc_fail(err, LLC_ERR_INVALID, "train: no config");
    /* steps 0: no training, the one checkpoint is the initial parameter
     * (with init teacher: the true parameter of a ground-truth task) */
    if (c->steps < 0)
        return llc_fail(err, LLC_ERR_INVALID, "train: steps must be >= 0, got %lld", c->steps);
    if (c->batch < 1 || c->batch > MAX_BATCH)
        return llc_fail(err, LLC_ERR_INVALID, "train: batch must be in [1, %d], got %d",
                        MAX_BATCH, c->batch);
    if ((int)c->opt < LLC_OPT_SGD || (int)c->opt > LLC_OPT_ADAMW)
        return llc_fail(err, LLC_ERR_INVALID,
                        "train: optimizer must be one of sgd, adam, adamw, got %d", (int)c->opt);
    if (!(c->lr > 0) || !isfinite(c->lr))
        return llc_fail(err, LLC_ERR_INVALID, "train: lr must be > 0, got %g", c->lr);
    if (!(c->beta1 >= 0 && c->beta1 < 1))
        return llc_fail(err, LLC_ERR_INVALID, "train: beta1 must be in [0, 1), got %g", c->beta1);
    if (!(c->beta2 >= 0 && c->beta2 < 1))
        return llc_fail(err, LLC_ERR_INVALID, "train: beta2 must be in [0, 1), got %g", c->beta2);
    if (!(c->adam_eps > 0) || !isfinite(c->adam_eps))
        return llc_fail(err, LLC_ERR_INVALID, "train: adam_eps must be > 0, got %g", c->adam_eps);
    if (!(c->momentum >= 0 && c->momentum < 1))
        return llc_fail(err, LLC_ERR_INVALID, "train: momentum must be in [0, 1), got %g",
                        c->momentum);
    if (!(c->weight_decay >= 0) || !isfinite(c->weight_decay))
        return llc_fail(err, LLC_ERR_INVALID, "train: weight_decay must be >= 0, got %g",
                        c->weight_decay);
    if (c->opt == LLC_OPT_ADAMW && !(c->lr * c->weight_decay < 1))
        return llc_fail(err, LLC_ERR_INVALID,
                        "train: lr*weight_decay must be < 1 for adamw, got %g",
                        c->lr * c->weight_decay);
    if (!(c->clip >= 0) || !isfinite(c->clip))
        return llc_fail(err, LLC_ERR_INVALID, "train: clip must be >= 0 (0 = off), got %g",
                        c->clip);
    if ((int)c->sched < LLC_SCHED_CONSTANT || (int)c->sched > LLC_SCHED_COSINE)
        return llc_fail(err, LLC_ERR_INVALID,
                        "train: schedule must be one of constant, warmup, cosine, got %d",
                        (int)c->sched);
    /* warmup may exceed steps (a short run of a long config: the lr then
     * never reaches its peak) */
    if (c->warmup < 0)
        return llc_fail(err, LLC_ERR_INVALID, "train: warmup must be >= 0, got %lld", c->warmup);
    if (c->sched == LLC_SCHED_WARMUP && c->warmup < 1)
        return llc_fail(err, LLC_ERR_INVALID,
                        "train: warmup must be >= 1 with schedule warmup, got %lld", c->warmup);
    if (!(c->min_lr_frac >= 0 && c->min_lr_frac <= 1))
        return llc_fail(err, LLC_ERR_INVALID, "train: min_lr_frac must be in [0, 1], got %g",
                        c->min_lr_frac);
    if (c->test_batches < 1 || c->test_batches > MAX_TEST_BATCHES)
        return llc_fail(err, LLC_ERR_INVALID, "train: test_batches must be in [1, %d], got %d",
                        MAX_TEST_BATCHES, c->test_batches);
    if (c->ckpt_every < 0)
        return llc_fail(err, LLC_ERR_INVALID, "train: ckpt_every must be >= 0 (0 = off), got %lld",
                        c->ckpt_every);
    if (c->ckpt_every > 0 && c->steps / c->ckpt_every > MAX_CKPT_COUNT)
        return llc_fail(err, LLC_ERR_INVALID,
                        "train: ckpt_every %lld gives %lld checkpoints over %lld steps, at most %d",
                        c->ckpt_every, c->steps / c->ckpt_every, c->steps, MAX_CKPT_COUNT);
    if (c->ckpt_linear < 0 || c->ckpt_linear > MAX_CKPT_COUNT)
        return llc_fail(err, LLC_ERR_INVALID, "train: ckpt_linear must be in [0, %d], got %d",
                        MAX_CKPT_COUNT, c->ckpt_linear);
    if (c->ckpt_log < 0 || c->ckpt_log > MAX_CKPT_COUNT)
        return llc_fail(err, LLC_ERR_INVALID, "train: ckpt_log must be in [0, %d], got %d",
                        MAX_CKPT_COUNT, c->ckpt_log);
    if (c->n_ckpt_list < 0 || c->n_ckpt_list > LLC_MAX_CKPT_LIST)
        return llc_fail(err, LLC_ERR_INVALID, "train: ckpt_list may hold at most %d steps, got %d",
                        LLC_MAX_CKPT_LIST, c->n_ckpt_list);
    for (int i = 0; i < c->n_ckpt_list; i++)
        if (c->ckpt_list[i] < 0)
            return llc_fail(err, LLC_ERR_INVALID,
                            "train: ckpt_list entries must be >= 0, got %lld at position %d",
                            c->ckpt_list[i], i);
    if (!(c->max_loss >= 0))
        return llc_fail(err, LLC_ERR_INVALID, "train: max_loss must be >= 0 (0 = off), got %g",
                        c->max_loss);
    return LLC_OK;
}

/* ---------------- schedules ---------------- */

double llc_lr_at(const llc_train_config *c, long long s)
{
    if (s < 0) s = 0;
    switch (c->sched) {
    case LLC_SCHED_WARMUP:
        if (s < c->warmup) return c->lr * (double)(s + 1) / (double)c->warmup;
        return c->lr;
    case LLC_SCHED_COSINE: {
        if (s < c->warmup) return c->lr * (double)(s + 1) / (double)c->warmup;
        /* cosine from lr at s = warmup to lr*min_lr_frac at the last step
         * s = steps-1; a decay phase of one step sits at the floor. */
        long long span = c->steps - 1 - c->warmup;
        double p = span > 0 ? (double)(s - c->warmup) / (double)span : 1.0;
        if (p > 1) p = 1;
        double lo = c->lr * c->min_lr_frac;
        return lo + (c->lr - lo) * 0.5 * (1.0 + cos(M_PI * p));
    }
    case LLC_SCHED_CONSTANT:
    default:
        return c->lr;
    }
}

static int ll_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int llc_ckpt_schedule(const llc_train_config *c, long long **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!c || c->steps < 0 || c->ckpt_every < 0 || c->ckpt_linear < 0 || c->ckpt_log < 0 ||
        c->n_ckpt_list < 0 || c->n_ckpt_list > LLC_MAX_CKPT_LIST)
        return LLC_ERR_INVALID;
    long long steps = c->steps;
    long long n_every = c->ckpt_every > 0 ? steps / c->ckpt_every : 0;
    if (n_every > MAX_CKPT_COUNT || c->ckpt_linear > MAX_CKPT_COUNT ||
        c->ckpt_log > MAX_CKPT_COUNT)
        return LLC_ERR_INVALID;
    size_t cap = 2 + (size_t)n_every + (size_t)c->ckpt_linear + (size_t)c->ckpt_log +
                 (size_t)c->n_ckpt_list;
    long long *v = malloc(cap * sizeof *v);
    if (!v) return LLC_ERR_NOMEM;
    size_t k = 0;
    v[k++] = 0;
    if (steps == 0) goto done; /* the log spacing below needs steps >= 1 */
    v[k++] = steps;
    for (long long i = 1; i <= n_every; i++) v[k++] = i * c->ckpt_every;
    if (c->ckpt_linear == 1) v[k++] = steps;
    for (int i = 0; c->ckpt_linear > 1 && i < c->ckpt_linear; i++)
        v[k++] = llround((double)i * (double)steps / (double)(c->ckpt_linear - 1));
    if (c->ckpt_log == 1) v[k++] = steps;
    for (int i = 0; c->ckpt_log > 1 && i < c->ckpt_log; i++) {
        long long s = llround(exp((double)i * log((double)steps) / (double)(c->ckpt_log - 1)));
        v[k++] = s < 1 ? 1 : s > steps ? steps : s;
    }
    for (int i = 0; i < c->n_ckpt_list; i++)
        if (c->ckpt_list[i] >= 0 && c->ckpt_list[i] <= steps) v[k++] = c->ckpt_list[i];
done:
    qsort(v, k, sizeof *v, ll_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || v[i] != v[u - 1]) v[u++] = v[i];
    *out = v;
    *n = (int)u;
    return LLC_OK;
}

/* ---------------- the trainer ---------------- */

struct llc_trainer {
    const llc_model *m;
    const llc_task *task;
    llc_train_config c;
    uint64_t seed;
    size_t n;          /* parameters */
    int dist_train;    /* index of "train" in task->dists */
    long long step;    /* the step the next llc_trainer_step takes */
    float *w;          /* (n) parameters */
    float *g;          /* (n) gradient */
    float *m1;         /* (n) Adam first moment, or SGD momentum buffer */
    float *m2;         /* (n) Adam second moment; NULL for SGD */
    void *ws;          /* model workspace for c.batch sequences (train and eval) */
    llc_batch *batch;  /* c.batch sequences */
};

/* Moment vectors kept by each optimiser (and written to the state blob). */
static int opt_n_vectors(llc_opt_kind k) { return k == LLC_OPT_SGD ? 1 : 2; }

void llc_trainer_free(llc_trainer *tr)
{
    if (!tr) return;
    if (tr->ws && tr->m && tr->m->ws_free) tr->m->ws_free(tr->ws);
    llc_batch_free(tr->batch);
    free(tr->w);
    free(tr->g);
    free(tr->m1);
    free(tr->m2);
    free(tr);
}

int llc_trainer_new(const llc_model *m, const llc_task *t, const llc_train_config *c,
                    uint64_t seed, llc_trainer **out, char *err)
{
    int rc = LLC_OK;
    llc_trainer *tr = NULL;
    *out = NULL;
    if (!m || !t || !c) return llc_fail(err, LLC_ERR_INVALID, "train: model, task and config are required");
    rc = llc_train_config_check(c, err);
    if (rc) return rc;
    if (llc_model_n_params(m) == 0)
        return llc_fail(err, LLC_ERR_INVALID, "train: the model has no parameters");
    if (!m->loss_grad || !m->init || !m->ws_alloc || !t->fill)
        return llc_fail(err, LLC_ERR_INVALID, "train: model or task lacks a required method");
    int dist_train = -1;
    for (int i = 0; i < t->n_dists; i++)
        if (t->dists[i] && strcmp(t->dists[i], "train") == 0) dist_train = i;
    if (dist_train < 0)
        return llc_fail(err, LLC_ERR_INVALID, "train: task %s has no \"train\" distribution", t->name);

    tr = calloc(1, sizeof *tr);
    if (!tr) goto nomem;
    tr->m = m;
    tr->task = t;
    tr->c = *c;
    tr->seed = seed;
    tr->n = llc_model_n_params(m);
    tr->dist_train = dist_train;
    tr->w = calloc(tr->n, sizeof(float));
    tr->g = calloc(tr->n, sizeof(float));
    tr->m1 = calloc(tr->n, sizeof(float));
    if (!tr->w || !tr->g || !tr->m1) goto nomem;
    if (opt_n_vectors(c->opt) == 2 && !(tr->m2 = calloc(tr->n, sizeof(float)))) goto nomem;
    tr->batch = llc_task_batch_alloc(t, c->batch);
    if (!tr->batch) goto nomem;
    tr->ws = m->ws_alloc(m, c->batch);
    if (!tr->ws) goto nomem;
    rc = llc_trainer_init_params(tr);
    if (rc) {
        llc_fail(err, rc, "train: model initialisation failed: %s", llc_strerror(rc));
        goto cleanup;
    }
    *out = tr;
    return LLC_OK;
nomem:
    rc = llc_fail(err, LLC_ERR_NOMEM, "train: out of memory allocating the trainer (%zu params, batch %d)",
                  m ? llc_model_n_params(m) : (size_t)0, c->batch);
cleanup:
    llc_trainer_free(tr);
    return rc;
}

float *llc_trainer_params(llc_trainer *tr) { return tr->w; }

long long llc_trainer_step_index(const llc_trainer *tr) { return tr->step; }

int llc_trainer_init_params(llc_trainer *tr)
{
    gsl_rng *rng = llc_rng_new(llc_seed(tr->seed, LLC_PURPOSE_INIT, 0, 0, 0));
    if (!rng) return LLC_ERR_NOMEM;
    int rc = tr->m->init(tr->m, tr->w, rng);
    gsl_rng_free(rng);
    tr->step = 0;
    memset(tr->m1, 0, tr->n * sizeof(float));
    if (tr->m2) memset(tr->m2, 0, tr->n * sizeof(float));
    return rc;
}

/* Global L2 norm in double; NaN/inf propagate. */
static double grad_norm2(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * (double)g[i];
    return sqrt(s);
}

static void sgd_update(llc_trainer *tr, double lr)
{
    const double mu = tr->c.momentum, wd = tr->c.weight_decay;
    float *w = tr->w, *buf = tr->m1;
    const float *g = tr->g;
    for (size_t i = 0; i < tr->n; i++) {
        double d = (double)g[i] + wd * (double)w[i];
        if (mu != 0) {
            /* torch: buf = g on the first step, then mu*buf + g; buf starts at 0 */
            buf[i] = (float)(mu * (double)buf[i] + d);
            d = buf[i];
        }
        w[i] = (float)((double)w[i] - lr * d);
    }
}

static void adam_update(llc_trainer *tr, double lr, int decoupled)
{
    const double b1 = tr->c.beta1, b2 = tr->c.beta2, eps = tr->c.adam_eps;
    const double wd = tr->c.weight_decay;
    const double t = (double)(tr->step + 1);
    const double bc1 = 1.0 - pow(b1, t);
    const double bc2_sqrt = sqrt(1.0 - pow(b2, t));
    const double step_size = lr / bc1;
    const double decay = decoupled ? 1.0 - lr * wd : 1.0;
    float *w = tr->w, *m1 = tr->m1, *m2 = tr->m2;
    const float *g = tr->g;
    for (size_t i = 0; i < tr->n; i++) {
        double wi = (double)w[i];
        double d = (double)g[i];
        if (decoupled) wi = (double)(float)(wi * decay); /* AdamW: w *= 1 - lr*wd first, stored as float like torch */
        else d += wd * wi;            /* Adam: L2 term in the gradient */
        double mi = b1 * (double)m1[i] + (1.0 - b1) * d;
        double vi = b2 * (double)m2[i] + (1.0 - b2) * d * d;
        m1[i] = (float)mi;
        m2[i] = (float)vi;
        double denom = sqrt((double)m2[i]) / bc2_sqrt + eps;
        w[i] = (float)(wi - step_size * (double)m1[i] / denom);
    }
}

int llc_trainer_step(llc_trainer *tr, double *loss, double *lr, double *grad_norm)
{
    double L = NAN, lr_s = 0, norm = NAN;
    int rc = LLC_OK;
    if (tr->step >= tr->c.steps) {
        rc = LLC_ERR_INVALID; /* the schedule ends at c.steps */
        goto cleanup;
    }
    lr_s = llc_lr_at(&tr->c, tr->step);
    tr->batch->B = tr->c.batch;
    rc = tr->task->fill(tr->task, tr->dist_train, (uint64_t)tr->step, tr->batch);
    if (rc) goto cleanup;
    rc = tr->m->loss_grad(tr->m, tr->ws, tr->w, tr->batch, tr->g, &L);
    if (rc) goto cleanup;
    if (!isfinite(L) || (tr->c.max_loss > 0 && L > tr->c.max_loss)) {
        rc = LLC_ERR_NUMERIC;
        goto cleanup;
    }
    norm = grad_norm2(tr->g, tr->n);
    if (!isfinite(norm)) {
        rc = LLC_ERR_NUMERIC;
        goto cleanup;
    }
    if (tr->c.clip > 0) {
        double coef = tr->c.clip / (norm + CLIP_NORM_EPS);
        if (coef < 1.0) {
            float cf = (float)coef;
            for (size_t i = 0; i < tr->n; i++) tr->g[i] *= cf;
        }
    }
    switch (tr->c.opt) {
    case LLC_OPT_SGD: sgd_update(tr, lr_s); break;
    case LLC_OPT_ADAM: adam_update(tr, lr_s, 0); break;
    case LLC_OPT_ADAMW: adam_update(tr, lr_s, 1); break;
    }
    tr->step++;
cleanup:
    if (loss) *loss = L;
    if (lr) *lr = lr_s;
    if (grad_norm) *grad_norm = norm;
    return rc;
}

int llc_trainer_eval(llc_trainer *tr, int dist, double *loss)
{
    if (loss) *loss = NAN;
    if (dist < 0 || dist >= tr->task->n_dists) return LLC_ERR_INVALID;
    double sum = 0;
    for (int i = 0; i < tr->c.test_batches; i++) {
        double L = 0;
        tr->batch->B = tr->c.batch;
        int rc = tr->task->fill(tr->task, dist, (uint64_t)i, tr->batch);
        if (rc) return rc;
        rc = tr->m->loss_grad(tr->m, tr->ws, tr->w, tr->batch, NULL, &L);
        if (rc) return rc;
        sum += L;
    }
    if (loss) *loss = sum / tr->c.test_batches;
    return LLC_OK;
}

/* ---------------- resume state ---------------- */

static void put_u32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(x >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(x >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)p[i] << (8 * i);
    return x;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static void put_floats(unsigned char *p, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_u32(p + 4 * i, u);
    }
}

static void get_floats(float *v, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = get_u32(p + 4 * i);
        memcpy(&v[i], &u, 4);
    }
}

size_t llc_train_state_bytes(size_t n_params, const llc_train_config *c)
{
    return STATE_HEADER_BYTES + (size_t)(1 + opt_n_vectors(c->opt)) * n_params * 4;
}

size_t llc_trainer_state_size(const llc_trainer *tr) { return llc_train_state_bytes(tr->n, &tr->c); }

int llc_trainer_state_save(const llc_trainer *tr, void *buf, size_t size)
{
    if (!buf || size < llc_trainer_state_size(tr)) return LLC_ERR_INVALID;
    unsigned char *p = buf;
    put_u32(p, STATE_MAGIC);
    put_u32(p + 4, STATE_VERSION);
    put_u64(p + 8, (uint64_t)tr->step);
    put_u64(p + 16, (uint64_t)tr->n);
    put_u32(p + 24, (uint32_t)tr->c.opt);
    put_u32(p + 28, (uint32_t)opt_n_vectors(tr->c.opt));
    p += STATE_HEADER_BYTES;
    put_floats(p, tr->w, tr->n);
    p += 4 * tr->n;
    put_floats(p, tr->m1, tr->n);
    p += 4 * tr->n;
    if (tr->m2) put_floats(p, tr->m2, tr->n);
    return LLC_OK;
}

static const char *opt_name(uint32_t k) { return k <= LLC_OPT_ADAMW ? opt_names[k] : "unknown"; }

int llc_trainer_state_load(llc_trainer *tr, const void *buf, size_t size, char *err)
{
    const unsigned char *p = buf;
    if (!buf || size < STATE_HEADER_BYTES)
        return llc_fail(err, LLC_ERR_INVALID, "resume state is %zu bytes, too short for its header", size);
    if (get_u32(p) != STATE_MAGIC)
        return llc_fail(err, LLC_ERR_INVALID, "resume state is not an llc trainer state (bad magic)");
    uint32_t version = get_u32(p + 4);
    if (version != STATE_VERSION)
        return llc_fail(err, LLC_ERR_INVALID, "resume state has version %u, this llc reads version %u",
                        version, STATE_VERSION);
    uint64_t step = get_u64(p + 8);
    uint64_t n = get_u64(p + 16);
    uint32_t opt = get_u32(p + 24);
    uint32_t nvec = get_u32(p + 28);
    if (n != (uint64_t)tr->n)
        return llc_fail(err, LLC_ERR_INVALID, "resume state has %llu params, model has %zu",
                        (unsigned long long)n, tr->n);
    if (opt != (uint32_t)tr->c.opt || nvec != (uint32_t)opt_n_vectors(tr->c.opt))
        return llc_fail(err, LLC_ERR_INVALID, "resume state is for optimiser %s, the run uses %s",
                        opt_name(opt), opt_name((uint32_t)tr->c.opt));
    size_t want = llc_trainer_state_size(tr);
    if (size != want)
        return llc_fail(err, LLC_ERR_INVALID, "resume state is %zu bytes, expected %zu", size, want);
    if (step > (uint64_t)tr->c.steps)
        return llc_fail(err, LLC_ERR_INVALID, "resume state is at step %llu, beyond steps %lld",
                        (unsigned long long)step, tr->c.steps);
    p += STATE_HEADER_BYTES;
    get_floats(tr->w, p, tr->n);
    p += 4 * tr->n;
    get_floats(tr->m1, p, tr->n);
    p += 4 * tr->n;
    if (tr->m2) get_floats(tr->m2, p, tr->n);
    tr->step = (long long)step;
    return LLC_OK;
}
