/* test_train.c - the trainer (core/train.c): config defaults and checks,
 * learning-rate and checkpoint schedules, each optimiser against a
 * hand-computed update on a tiny quadratic, gradient clipping, NaN detection,
 * loss falling on a toy regression task, and bit-identical resume.
 *
 * The test brings its own models and task so it does not depend on the
 * transformer or the real tasks:
 *   quad    loss = 0.5 * sum_i a_i (w_i - c_i)^2, ignores the batch
 *   linreg  y = W x + b, loss = mask-weighted mean over positions of
 *           0.5 * ||W x + b - y||^2
 *   toyreg  x uniform in [-1,1]^D_IN, y = W* x + b* + noise, from a counter
 *           hash of llc_seed(seed, LLC_PURPOSE_DATA, dist, index, 0)
 */
#include "llc_train.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEED 20240607ULL
#define TOY_T 2
#define TOY_D_IN 3
#define TOY_D_OUT 2
#define TOY_NOISE 0.05

/* ---------------- model "quad" ---------------- */

#define QN 3
enum { QUAD_OK = 0, QUAD_NAN_LOSS, QUAD_INF_GRAD };

typedef struct {
    double a[QN], c[QN];
    float w0[QN];
    int nan_mode;
} quad_impl;

static int quad_init(const llc_model *m, float *w, gsl_rng *rng)
{
    const quad_impl *q = m->impl;
    memcpy(w, q->w0, sizeof q->w0);
    return LLC_OK;
}

static void *quad_ws_alloc(const llc_model *m, int max_B) { return malloc(1); }

static int quad_loss_grad(const llc_model *m, void *ws, const float *w, const llc_batch *b,
                          float *grad, double *loss)
{
    const quad_impl *q = m->impl;
    double L = 0;
    for (int i = 0; i < QN; i++) {
        double d = (double)w[i] - q->c[i];
        L += 0.5 * q->a[i] * d * d;
        if (grad) grad[i] = (float)(q->a[i] * d);
    }
    if (q->nan_mode == QUAD_NAN_LOSS) L = NAN;
    if (q->nan_mode == QUAD_INF_GRAD && grad) grad[1] = INFINITY;
    *loss = L;
    return LLC_OK;
}

static llc_model *quad_new(quad_impl *q)
{
    llc_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    int shape[1] = {QN};
    m->kind = "quad";
    m->impl = q; /* owned by the test, free_impl NULL */
    m->init = quad_init;
    m->ws_alloc = quad_ws_alloc;
    m->ws_free = free;
    m->loss_grad = quad_loss_grad;
    if (llc_ptable_add(&m->table, "w", 1, shape) < 0) {
        llc_model_free(m);
        return NULL;
    }
    return m;
}

static void quad_default(quad_impl *q)
{
    memset(q, 0, sizeof *q);
    const double a[QN] = {1.0, 2.0, 0.5}, c[QN] = {0.5, -1.0, 2.0};
    for (int i = 0; i < QN; i++) {
        q->a[i] = a[i];
        q->c[i] = c[i];
        q->w0[i] = 1.0f;
    }
}

/* ---------------- model "linreg" ---------------- */

typedef struct {
    int d_in, d_out;
} linreg_impl;

static int linreg_init(const llc_model *m, float *w, gsl_rng *rng)
{
    for (size_t i = 0; i < llc_model_n_params(m); i++)
        w[i] = (float)(0.2 * (gsl_rng_uniform(rng) - 0.5));
    return LLC_OK;
}

static void *linreg_ws_alloc(const llc_model *m, int max_B)
{
    const linreg_impl *li = m->impl;
    return calloc((size_t)li->d_out, sizeof(double)); /* (d_out) residual */
}

static int linreg_loss_grad(const llc_model *m, void *ws, const float *w, const llc_batch *b,
                            float *grad, double *loss)
{
    const linreg_impl *li = m->impl;
    const int DI = li->d_in, DO = li->d_out;
    if (b->d_in != DI || b->d_out != DO || !b->x || !b->y || !b->mask) return LLC_ERR_INVALID;
    const float *W = w;                /* (DO, DI) */
    const float *bias = w + DO * DI;   /* (DO) */
    double *r = ws;                    /* (DO) */
    double L = 0, msum = 0;
    if (grad) memset(grad, 0, llc_model_n_params(m) * sizeof(float));
    for (int p = 0; p < b->B * b->T; p++) msum += b->mask[p];
    if (msum <= 0) return LLC_ERR_INVALID;
    for (int p = 0; p < b->B * b->T; p++) {
        if (b->mask[p] == 0) continue;
        const float *x = b->x + (size_t)p * DI;  /* (DI) */
        const float *y = b->y + (size_t)p * DO;  /* (DO) */
        for (int o = 0; o < DO; o++) {
            double z = bias[o];
            for (int i = 0; i < DI; i++) z += (double)W[o * DI + i] * x[i];
            r[o] = z - y[o];
            L += 0.5 * b->mask[p] * r[o] * r[o];
        }
        if (!grad) continue;
        for (int o = 0; o < DO; o++) {
            double gr = b->mask[p] * r[o] / msum;
            for (int i = 0; i < DI; i++) grad[o * DI + i] += (float)(gr * x[i]);
            grad[DO * DI + o] += (float)gr;
        }
    }
    *loss = L / msum;
    return LLC_OK;
}

static llc_model *linreg_new(linreg_impl *li)
{
    llc_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    int sw[2] = {li->d_out, li->d_in}, sb[1] = {li->d_out};
    m->kind = "linreg";
    m->impl = li;
    m->init = linreg_init;
    m->ws_alloc = linreg_ws_alloc;
    m->ws_free = free;
    m->loss_grad = linreg_loss_grad;
    if (llc_ptable_add(&m->table, "W", 2, sw) < 0 || llc_ptable_add(&m->table, "b", 1, sb) < 0) {
        llc_model_free(m);
        return NULL;
    }
    return m;
}

/* ---------------- task "toyreg" ---------------- */

typedef struct {
    double W[TOY_D_OUT * TOY_D_IN], b[TOY_D_OUT];
} toy_impl;

/* Uniform in [-1, 1) from a counter hash: no allocation, no state. */
static double hash_unif(uint64_t key, uint64_t k)
{
    return (double)(llc_mix64(key ^ llc_mix64(k)) >> 11) * 0x1.0p-52 - 1.0;
}

static int toy_fill(const llc_task *t, int dist, uint64_t index, llc_batch *b)
{
    const toy_impl *ti = t->impl;
    if (dist < 0 || dist >= t->n_dists || b->B > b->cap_B) return LLC_ERR_INVALID;
    uint64_t key = llc_seed(t->seed, LLC_PURPOSE_DATA, llc_hash_str(t->dists[dist]), index, 0);
    uint64_t k = 0;
    for (int p = 0; p < b->B * b->T; p++) {
        float *x = b->x + (size_t)p * TOY_D_IN, *y = b->y + (size_t)p * TOY_D_OUT;
        for (int i = 0; i < TOY_D_IN; i++) x[i] = (float)hash_unif(key, k++);
        for (int o = 0; o < TOY_D_OUT; o++) {
            double z = ti->b[o] + TOY_NOISE * hash_unif(key, k++);
            for (int i = 0; i < TOY_D_IN; i++) z += ti->W[o * TOY_D_IN + i] * x[i];
            y[o] = (float)z;
        }
        b->mask[p] = 1.0f;
    }
    return LLC_OK;
}

static void toy_init(llc_task *t, toy_impl *ti, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    strcpy(t->name, "toyreg");
    t->seed = seed;
    t->shape.T = TOY_T;
    t->shape.d_in = TOY_D_IN;
    t->shape.d_out = TOY_D_OUT;
    t->n_dists = 2;
    t->dists[0] = "train";
    t->dists[1] = "test";
    t->impl = ti;
    t->fill = toy_fill;
    uint64_t key = llc_seed(seed, LLC_PURPOSE_TASK, 0, 0, 0);
    for (int i = 0; i < TOY_D_OUT * TOY_D_IN; i++) ti->W[i] = hash_unif(key, (uint64_t)i);
    for (int o = 0; o < TOY_D_OUT; o++) ti->b[o] = hash_unif(key, 100 + (uint64_t)o);
}

/* ---------------- helpers ---------------- */

static llc_train_config cfg; /* large (ckpt_list); one static copy reused */

static void base_config(llc_train_config *c, llc_opt_kind opt, double lr)
{
    llc_train_config_default(c);
    c->opt = opt;
    c->lr = lr;
    c->steps = 20;
    c->batch = 4;
    c->clip = 0;
    c->test_batches = 2;
}

static const char *opt_str(llc_opt_kind k)
{
    return k == LLC_OPT_SGD ? "sgd" : k == LLC_OPT_ADAM ? "adam" : "adamw";
}

static int run_steps(llc_trainer *tr, long long n)
{
    for (long long i = 0; i < n; i++) {
        int rc = llc_trainer_step(tr, NULL, NULL, NULL);
        if (rc) return rc;
    }
    return LLC_OK;
}

/* ---------------- config ---------------- */

static void expect_bad(const llc_train_config *c, const char *field, const char *exact)
{
    char err[LLC_ERRLEN] = "";
    int rc = llc_train_config_check(c, err);
    char want[96];
    snprintf(want, sizeof want, "train: %s ", field);
    CHECK(rc == LLC_ERR_INVALID && strncmp(err, want, strlen(want)) == 0,
          "config check rejects bad %s: rc %d, \"%s\"", field, rc, err);
    if (exact) CHECK(strcmp(err, exact) == 0, "config message is \"%s\" (got \"%s\")", exact, err);
}

static void test_config(void)
{
    llc_train_config *c = &cfg;
    char err[LLC_ERRLEN] = "";
    llc_train_config_default(c);
    CHECK(c->opt == LLC_OPT_ADAMW && c->lr == 1e-3 && c->beta1 == 0.9 && c->beta2 == 0.999 &&
              c->adam_eps == 1e-8 && c->weight_decay == 0 && c->clip == 1.0 &&
              c->sched == LLC_SCHED_CONSTANT && c->batch == 32 && c->test_batches == 4 &&
              c->steps == 1000 && c->ckpt_linear == 50 && c->ckpt_log == 50 &&
              c->ckpt_every == 0 && c->n_ckpt_list == 0 && c->max_loss == 0,
          "config defaults: adamw lr 1e-3 betas .9/.999 eps 1e-8 wd 0 clip 1 constant batch 32 "
          "test_batches 4 steps 1000 ckpt 50/50 max_loss 0");
    CHECK(llc_train_config_check(c, err) == LLC_OK, "default config passes check (%s)", err);

    llc_train_config_default(c); c->lr = -1;
    expect_bad(c, "lr", "train: lr must be > 0, got -1");
    llc_train_config_default(c); c->lr = NAN;
    expect_bad(c, "lr", NULL);
    llc_train_config_default(c); c->steps = -1;
    expect_bad(c, "steps", "train: steps must be >= 0, got -1");
    llc_train_config_default(c); c->steps = 0; /* no training: the initial parameter is the one checkpoint */
    CHECK(llc_train_config_check(c, err) == LLC_OK, "steps 0 passes check (%s)", err);
    {
        long long *v0 = NULL;
        int n0 = 0;
        CHECK(llc_ckpt_schedule(c, &v0, &n0) == LLC_OK && n0 == 1 && v0[0] == 0, "steps 0: one checkpoint, at step 0");
        free(v0);
    }
    llc_train_config_default(c); c->batch = 0;
    expect_bad(c, "batch", NULL);
    llc_train_config_default(c); c->opt = (llc_opt_kind)7;
    expect_bad(c, "optimizer", NULL);
    llc_train_config_default(c); c->beta1 = 1.0;
    expect_bad(c, "beta1", "train: beta1 must be in [0, 1), got 1");
    llc_train_config_default(c); c->beta2 = -0.5;
    expect_bad(c, "beta2", NULL);
    llc_train_config_default(c); c->adam_eps = 0;
    expect_bad(c, "adam_eps", NULL);
    llc_train_config_default(c); c->momentum = 1.0;
    expect_bad(c, "momentum", NULL);
    llc_train_config_default(c); c->weight_decay = -0.1;
    expect_bad(c, "weight_decay", NULL);
    llc_train_config_default(c); c->clip = -1;
    expect_bad(c, "clip", NULL);
    llc_train_config_default(c); c->sched = (llc_sched_kind)9;
    expect_bad(c, "schedule", NULL);
    llc_train_config_default(c); c->warmup = -1;
    expect_bad(c, "warmup", "train: warmup must be >= 0, got -1");
    llc_train_config_default(c); c->warmup = 2000; /* longer than the run: allowed */
    CHECK(llc_train_config_check(c, NULL) == LLC_OK, "warmup longer than the run is accepted");
    llc_train_config_default(c); c->sched = LLC_SCHED_WARMUP; c->warmup = 0;
    expect_bad(c, "warmup", NULL);
    llc_train_config_default(c); c->min_lr_frac = 1.5;
    expect_bad(c, "min_lr_frac", NULL);
    llc_train_config_default(c); c->test_batches = 0;
    expect_bad(c, "test_batches", NULL);
    llc_train_config_default(c); c->ckpt_every = -5;
    expect_bad(c, "ckpt_every", NULL);
    llc_train_config_default(c); c->ckpt_every = 1; c->steps = 100000000;
    expect_bad(c, "ckpt_every", NULL);
    llc_train_config_default(c); c->ckpt_linear = -1;
    expect_bad(c, "ckpt_linear", NULL);
    llc_train_config_default(c); c->ckpt_log = -1;
    expect_bad(c, "ckpt_log", NULL);
    llc_train_config_default(c); c->n_ckpt_list = LLC_MAX_CKPT_LIST + 1;
    expect_bad(c, "ckpt_list", NULL);
    llc_train_config_default(c); c->n_ckpt_list = 2; c->ckpt_list[0] = 5; c->ckpt_list[1] = -3;
    expect_bad(c, "ckpt_list", NULL);
    llc_train_config_default(c); c->max_loss = -1;
    expect_bad(c, "max_loss", NULL);

    /* the trainer refuses a bad config with the same message */
    quad_impl q;
    quad_default(&q);
    llc_model *m = quad_new(&q);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    llc_trainer *tr = NULL;
    llc_train_config_default(c); c->lr = -1;
    int rc = llc_trainer_new(m, &task, c, SEED, &tr, err);
    CHECK(rc == LLC_ERR_INVALID && tr == NULL && strcmp(err, "train: lr must be > 0, got -1") == 0,
          "trainer_new rejects a bad config: rc %d \"%s\"", rc, err);
    llc_model_free(m);
}

/* ---------------- schedules ---------------- */

static void test_lr_schedules(void)
{
    llc_train_config *c = &cfg;
    const double lr = 0.01;
    base_config(c, LLC_OPT_ADAMW, lr);
    c->steps = 1000;
    CHECK(llc_lr_at(c, 0) == lr && llc_lr_at(c, 500) == lr && llc_lr_at(c, 999) == lr,
          "constant schedule: lr at steps 0, 500, 999");

    c->sched = LLC_SCHED_WARMUP;
    c->warmup = 10;
    CHECK_CLOSE(llc_lr_at(c, 0), lr * 0.1, 0, 1e-15, "warmup: step 0 is lr*1/10");
    CHECK_CLOSE(llc_lr_at(c, 4), lr * 0.5, 0, 1e-15, "warmup: step 4 is lr*5/10");
    CHECK_CLOSE(llc_lr_at(c, 9), lr, 0, 1e-15, "warmup: step 9 is lr");
    CHECK(llc_lr_at(c, 10) == lr && llc_lr_at(c, 999) == lr, "warmup: constant lr after warm-up");

    c->sched = LLC_SCHED_COSINE;
    c->steps = 111; /* decay over steps 10..110: 100 intervals */
    c->warmup = 10;
    c->min_lr_frac = 0.1;
    CHECK_CLOSE(llc_lr_at(c, 0), lr * 0.1, 0, 1e-15, "cosine: warm-up step 0 is lr/10");
    CHECK_CLOSE(llc_lr_at(c, 5), lr * 0.6, 0, 1e-15, "cosine: warm-up step 5 is lr*6/10");
    CHECK_CLOSE(llc_lr_at(c, 10), lr, 0, 1e-15, "cosine: first decay step is lr");
    CHECK_CLOSE(llc_lr_at(c, 60), lr * (0.1 + 0.9 * 0.5), 0, 1e-12, "cosine: half-way is (lr+min)/2");
    CHECK_CLOSE(llc_lr_at(c, 35), lr * (0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 0.25))), 0, 1e-12,
                "cosine: quarter-way");
    CHECK_CLOSE(llc_lr_at(c, 110), lr * 0.1, 0, 1e-12, "cosine: last step (steps-1) is lr*min_lr_frac");
    c->warmup = 0;
    c->min_lr_frac = 0;
    CHECK_CLOSE(llc_lr_at(c, 0), lr, 0, 1e-15, "cosine without warm-up starts at lr");
    CHECK_CLOSE(llc_lr_at(c, 110), 0, 1e-18, 0, "cosine with min_lr_frac 0 ends at 0");
    int mono = 1;
    for (long long s = 1; s < 111; s++) mono &= llc_lr_at(c, s) <= llc_lr_at(c, s - 1);
    CHECK(mono, "cosine decay is non-increasing");
}

/* ---------------- checkpoint schedule ---------------- */

static int sched_eq(const llc_train_config *c, const long long *want, int n_want, const char *what)
{
    long long *v = NULL;
    int n = 0;
    int rc = llc_ckpt_schedule(c, &v, &n);
    int ok = rc == LLC_OK && n == n_want;
    for (int i = 0; ok && i < n; i++) ok = v[i] == want[i];
    CHECK(ok, "ckpt schedule %s (rc %d, n %d, want %d)", what, rc, n, n_want);
    if (!ok && v) {
        printf("  got:");
        for (int i = 0; i < n; i++) printf(" %lld", v[i]);
        printf("\n");
    }
    free(v);
    return ok;
}

static void test_ckpt_schedule(void)
{
    llc_train_config *c = &cfg;
    llc_train_config_default(c);
    c->steps = 1000;
    c->ckpt_linear = 0;
    c->ckpt_log = 0;
    {
        const long long w[] = {0, 1000};
        sched_eq(c, w, 2, "endpoints only");
    }
    c->ckpt_linear = 5;
    {
        const long long w[] = {0, 250, 500, 750, 1000};
        sched_eq(c, w, 5, "linear 5");
    }
    c->ckpt_linear = 0;
    c->ckpt_log = 4;
    {
        const long long w[] = {0, 1, 10, 100, 1000};
        sched_eq(c, w, 5, "log 4 over 1000 steps plus step 0");
    }
    c->ckpt_log = 0;
    c->ckpt_every = 300;
    {
        const long long w[] = {0, 300, 600, 900, 1000};
        sched_eq(c, w, 5, "every 300 plus the last step");
    }
    c->ckpt_every = 0;
    c->n_ckpt_list = 4;
    c->ckpt_list[0] = 2000; /* beyond steps: dropped */
    c->ckpt_list[1] = 7;
    c->ckpt_list[2] = 1000;
    c->ckpt_list[3] = 7;
    {
        const long long w[] = {0, 7, 1000};
        sched_eq(c, w, 3, "list: duplicates merged, entries beyond steps dropped");
    }
    /* union of all parts */
    c->ckpt_every = 400;
    c->ckpt_linear = 3;
    c->ckpt_log = 4;
    {
        const long long w[] = {0, 1, 7, 10, 100, 400, 500, 800, 1000};
        sched_eq(c, w, 9, "union of every, linear, log and list");
    }
    c->n_ckpt_list = 0;
    c->ckpt_every = 0;

    /* counts keep their shape when steps changes */
    c->ckpt_log = 0;
    c->ckpt_linear = 11;
    long long *a = NULL, *b = NULL;
    int na = 0, nb = 0;
    c->steps = 1000;
    llc_ckpt_schedule(c, &a, &na);
    c->steps = 10000;
    llc_ckpt_schedule(c, &b, &nb);
    int ok = a && b && na == 11 && nb == 11;
    for (int i = 0; ok && i < na; i++) ok = b[i] == 10 * a[i];
    CHECK(ok, "linear 11: same count at 1000 and 10000 steps, points scale by 10 (%d, %d)", na, nb);
    free(a);
    free(b);
    a = b = NULL;
    c->ckpt_linear = 0;
    c->ckpt_log = 5;
    {
        const long long w[] = {0, 1, 10, 100, 1000, 10000};
        sched_eq(c, w, 6, "log 5 over 10000 steps");
    }
    c->steps = 100000;
    {
        const long long w[] = {0, 1, 18, 316, 5623, 100000};
        sched_eq(c, w, 6, "log 5 over 100000 steps keeps 5 log points");
    }

    /* the defaults: sorted, unique, endpoints, within [0, steps] */
    const long long steps_try[] = {1, 2, 7, 1000, 123457};
    for (int k = 0; k < 5; k++) {
        llc_train_config_default(c);
        c->steps = steps_try[k];
        c->n_ckpt_list = 1;
        c->ckpt_list[0] = 3;
        int n = 0, rc = llc_ckpt_schedule(c, &a, &n);
        ok = rc == LLC_OK && n >= 2 && a[0] == 0 && a[n - 1] == c->steps;
        for (int i = 1; ok && i < n; i++) ok = a[i] > a[i - 1];
        CHECK(ok, "default schedule over %lld steps: %d points, strictly ascending, 0 .. steps",
              c->steps, n);
        /* 50 linear + 50 log points; the first log points round to the same
         * small steps, so the union is somewhat below 100 */
        if (c->steps >= 1000)
            CHECK(n >= 80 && n <= 101, "default schedule over %lld steps has 80..101 points (%d)",
                  c->steps, n);
        free(a);
        a = NULL;
    }
}

/* ---------------- optimisers on the quadratic ---------------- */

/* Run `n` steps of the trainer and of a double-precision reference that
 * follows the textbook formulas; compare after every step. */
static void check_opt_reference(llc_opt_kind opt, double lr, double wd, double mom, int n)
{
    llc_train_config *c = &cfg;
    quad_impl q;
    quad_default(&q);
    llc_model *m = quad_new(&q);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    base_config(c, opt, lr);
    c->weight_decay = wd;
    c->momentum = mom;
    llc_trainer *tr = NULL;
    char err[LLC_ERRLEN] = "";
    int rc = llc_trainer_new(m, &task, c, SEED, &tr, err);
    CHECK(rc == LLC_OK, "%s: trainer_new (%s)", opt_str(opt), err);
    if (rc) {
        llc_model_free(m);
        return;
    }
    double w[QN], m1[QN] = {0}, m2[QN] = {0};
    for (int i = 0; i < QN; i++) w[i] = q.w0[i];
    for (int s = 0; s < n; s++) {
        double loss, lr_used, gn;
        rc = llc_trainer_step(tr, &loss, &lr_used, &gn);
        double bc1 = 1 - pow(c->beta1, s + 1), bc2 = 1 - pow(c->beta2, s + 1);
        for (int i = 0; i < QN; i++) {
            double g = q.a[i] * (w[i] - q.c[i]);
            if (opt == LLC_OPT_SGD) {
                g += wd * w[i];
                m1[i] = mom * m1[i] + g;
                w[i] -= lr * m1[i];
            } else {
                if (opt == LLC_OPT_ADAM) g += wd * w[i];
                else w[i] -= lr * wd * w[i];
                m1[i] = c->beta1 * m1[i] + (1 - c->beta1) * g;
                m2[i] = c->beta2 * m2[i] + (1 - c->beta2) * g * g;
                w[i] -= lr * (m1[i] / bc1) / (sqrt(m2[i] / bc2) + c->adam_eps);
            }
        }
        const float *p = llc_trainer_params(tr);
        double maxerr = 0;
        for (int i = 0; i < QN; i++) maxerr = fmax(maxerr, fabs((double)p[i] - w[i]));
        CHECK(rc == LLC_OK && lr_used == lr && maxerr < 2e-6,
              "%s lr %g wd %g momentum %g: step %d matches the reference (max err %.2g)",
              opt_str(opt), lr, wd, mom, s + 1, maxerr);
    }
    llc_trainer_free(tr);
    llc_model_free(m);
}

/* Literal values for the first steps, worked by hand (w0 = 1, a = {1,2,.5},
 * c = {.5,-1,2}, so the first gradient is g0 = {0.5, 4, -0.5}). */
static void check_opt_literal(llc_opt_kind opt, double lr, double wd, double mom, int n,
                              const double *want, const char *what)
{
    llc_train_config *c = &cfg;
    quad_impl q;
    quad_default(&q);
    llc_model *m = quad_new(&q);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    base_config(c, opt, lr);
    c->weight_decay = wd;
    c->momentum = mom;
    llc_trainer *tr = NULL;
    int rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
    if (rc == LLC_OK) rc = run_steps(tr, n);
    double maxerr = 0;
    for (int i = 0; rc == LLC_OK && i < QN; i++)
        maxerr = fmax(maxerr, fabs((double)llc_trainer_params(tr)[i] - want[i]));
    CHECK(rc == LLC_OK && maxerr < 1e-6, "%s (max err %.2g)", what, maxerr);
    llc_trainer_free(tr);
    llc_model_free(m);
}

static void test_optimisers(void)
{
    check_opt_reference(LLC_OPT_SGD, 0.1, 0.0, 0.0, 3);
    check_opt_reference(LLC_OPT_SGD, 0.1, 0.05, 0.9, 3);
    check_opt_reference(LLC_OPT_ADAM, 0.1, 0.0, 0, 3);
    check_opt_reference(LLC_OPT_ADAM, 0.1, 0.05, 0, 3);
    check_opt_reference(LLC_OPT_ADAMW, 0.1, 0.5, 0, 3);
    check_opt_reference(LLC_OPT_ADAMW, 0.05, 0.0, 0, 3);

    /* SGD, momentum 0.9: w1 = w0 - .1 g0; buf = .9 g0 + g1; w2 = w1 - .1 buf */
    const double sgd1[QN] = {0.95, 0.6, 1.05};
    check_opt_literal(LLC_OPT_SGD, 0.1, 0, 0.9, 1, sgd1, "sgd momentum: step 1 = w0 - lr g0");
    const double sgd2[QN] = {0.86, -0.08, 1.1425};
    check_opt_literal(LLC_OPT_SGD, 0.1, 0, 0.9, 2, sgd2, "sgd momentum: step 2 uses buf = 0.9 g0 + g1");
    /* SGD with L2: g0' = g0 + 0.5 w0 = {1, 4.5, 0} */
    const double sgdwd[QN] = {0.9, 0.55, 1.0};
    check_opt_literal(LLC_OPT_SGD, 0.1, 0.5, 0, 1, sgdwd, "sgd weight decay is L2 in the gradient");
    /* Adam step 1 with bias correction moves each weight by lr*sign(g) */
    const double adam1[QN] = {0.9, 0.9, 1.1};
    check_opt_literal(LLC_OPT_ADAM, 0.1, 0, 0, 1, adam1,
                      "adam: bias-corrected step 1 is w0 - lr*sign(g0)");
    /* Adam with L2 0.5: g0' = {1, 4.5, 0}: the third weight does not move */
    const double adamwd[QN] = {0.9, 0.9, 1.0};
    check_opt_literal(LLC_OPT_ADAM, 0.1, 0.5, 0, 1, adamwd,
                      "adam: weight decay enters the gradient (L2)");
    /* AdamW 0.5: w0*(1 - .1*.5) - .1*sign(g0) with g0 at the undecayed w0 */
    const double adamw1[QN] = {0.85, 0.85, 1.05};
    check_opt_literal(LLC_OPT_ADAMW, 0.1, 0.5, 0, 1, adamw1,
                      "adamw: decoupled decay w *= 1 - lr*wd, then lr*sign(g0)");
    /* AdamW step 2: g1 = a(w1 - c) = {0.35, 3.7, -0.475};
     * m = .9*.1*g0 + .1*g1, v = .999*.001*g0^2 + .001*g1^2, bias-corrected */
    double w2[QN];
    {
        const double g0[QN] = {0.5, 4, -0.5}, g1[QN] = {0.35, 3.7, -0.475};
        for (int i = 0; i < QN; i++) {
            double mm = 0.9 * 0.1 * g0[i] + 0.1 * g1[i];
            double vv = 0.999 * 0.001 * g0[i] * g0[i] + 0.001 * g1[i] * g1[i];
            double mh = mm / (1 - 0.81), vh = vv / (1 - 0.999 * 0.999);
            w2[i] = adamw1[i] * 0.95 - 0.1 * mh / (sqrt(vh) + 1e-8);
        }
    }
    check_opt_literal(LLC_OPT_ADAMW, 0.1, 0.5, 0, 2, w2, "adamw: step 2 with bias correction t=2");
}

/* ---------------- clipping ---------------- */

static void test_clip(void)
{
    llc_train_config *c = &cfg;
    quad_impl q;
    quad_default(&q);
    llc_model *m = quad_new(&q);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    const double g0[QN] = {0.5, 4, -0.5};
    const double norm = sqrt(16.5);
    float unclipped[QN];
    for (int pass = 0; pass < 3; pass++) {
        const double clip = pass == 0 ? 0.0 : pass == 1 ? 10.0 : 1.0;
        base_config(c, LLC_OPT_SGD, 1.0);
        c->clip = clip;
        llc_trainer *tr = NULL;
        double loss = 0, lr = 0, gn = 0;
        int rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
        if (rc == LLC_OK) rc = llc_trainer_step(tr, &loss, &lr, &gn);
        CHECK(rc == LLC_OK, "clip %g: step runs", clip);
        if (rc) {
            llc_trainer_free(tr);
            continue;
        }
        const float *p = llc_trainer_params(tr);
        CHECK_CLOSE(gn, norm, 0, 1e-12, "reported grad norm is the norm before clipping");
        CHECK_CLOSE(loss, 4.375, 0, 1e-12, "reported loss is the loss before the update");
        if (pass == 0) {
            memcpy(unclipped, p, sizeof unclipped);
        } else if (pass == 1) {
            CHECK(memcmp(unclipped, p, sizeof unclipped) == 0,
                  "clip above the norm leaves the gradient untouched (bit-identical)");
        } else {
            double coef = 1.0 / (norm + 1e-6), moved2 = 0;
            double maxerr = 0;
            for (int i = 0; i < QN; i++) {
                maxerr = fmax(maxerr, fabs((double)p[i] - (1.0 - coef * g0[i])));
                moved2 += (1.0 - p[i]) * (1.0 - p[i]);
            }
            CHECK(maxerr < 1e-6, "clip 1: gradient scaled by clip/(norm + 1e-6) (max err %.2g)", maxerr);
            CHECK_CLOSE(sqrt(moved2), 1.0, 1e-6, 0, "clip 1 with lr 1 moves the weights by norm 1");
        }
        llc_trainer_free(tr);
    }
    llc_model_free(m);
}

/* ---------------- NaN / inf / max_loss ---------------- */

static void test_numeric(void)
{
    llc_train_config *c = &cfg;
    quad_impl q;
    quad_default(&q);
    llc_model *m = quad_new(&q);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    base_config(c, LLC_OPT_ADAMW, 0.1);
    c->weight_decay = 0.1;
    llc_trainer *tr = NULL;
    int rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
    CHECK(rc == LLC_OK, "numeric: trainer_new");
    if (rc) goto cleanup;
    rc = run_steps(tr, 2);
    CHECK(rc == LLC_OK, "numeric: two good steps");
    size_t sz = llc_trainer_state_size(tr);
    unsigned char *before = malloc(sz), *after = malloc(sz);
    for (int mode = QUAD_NAN_LOSS; mode <= QUAD_INF_GRAD; mode++) {
        q.nan_mode = mode;
        llc_trainer_state_save(tr, before, sz);
        double loss = 0, gn = 0;
        rc = llc_trainer_step(tr, &loss, NULL, &gn);
        llc_trainer_state_save(tr, after, sz);
        CHECK(rc == LLC_ERR_NUMERIC, "%s gives LLC_ERR_NUMERIC (rc %d)",
              mode == QUAD_NAN_LOSS ? "NaN loss" : "inf gradient", rc);
        CHECK(memcmp(before, after, sz) == 0 && llc_trainer_step_index(tr) == 2,
              "%s: params, moments and step index untouched",
              mode == QUAD_NAN_LOSS ? "NaN loss" : "inf gradient");
        if (mode == QUAD_INF_GRAD) CHECK(!isfinite(gn), "inf gradient: reported norm is not finite");
    }
    q.nan_mode = QUAD_OK;
    rc = llc_trainer_step(tr, NULL, NULL, NULL);
    CHECK(rc == LLC_OK && llc_trainer_step_index(tr) == 3, "training continues once the model is finite");
    free(before);
    free(after);
    llc_trainer_free(tr);
    tr = NULL;

    /* max_loss: the initial loss is 4.375 */
    c->max_loss = 1.0;
    rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
    if (rc == LLC_OK) {
        float w0[QN];
        memcpy(w0, llc_trainer_params(tr), sizeof w0);
        double loss = 0;
        rc = llc_trainer_step(tr, &loss, NULL, NULL);
        CHECK(rc == LLC_ERR_NUMERIC && loss == 4.375 &&
                  memcmp(w0, llc_trainer_params(tr), sizeof w0) == 0,
              "loss above max_loss stops with LLC_ERR_NUMERIC, params untouched (rc %d)", rc);
    }
    llc_trainer_free(tr);
    tr = NULL;
    c->max_loss = 10.0;
    rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
    if (rc == LLC_OK) rc = llc_trainer_step(tr, NULL, NULL, NULL);
    CHECK(rc == LLC_OK, "loss below max_loss trains");
    llc_trainer_free(tr);
    tr = NULL;

    /* the schedule ends at c->steps */
    c->max_loss = 0;
    c->steps = 3;
    rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
    if (rc == LLC_OK) rc = run_steps(tr, 3);
    CHECK(rc == LLC_OK && llc_trainer_step(tr, NULL, NULL, NULL) == LLC_ERR_INVALID &&
              llc_trainer_step_index(tr) == 3,
          "a step beyond c->steps is refused");
cleanup:
    llc_trainer_free(tr);
    llc_model_free(m);
}

/* ---------------- training on the toy task ---------------- */

static void test_gradient_fd(void)
{
    /* the toy model's gradient must be right for the training tests to mean anything */
    linreg_impl li = {TOY_D_IN, TOY_D_OUT};
    llc_model *m = linreg_new(&li);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    size_t n = llc_model_n_params(m);
    llc_batch *b = llc_task_batch_alloc(&task, 4);
    void *ws = m->ws_alloc(m, 4);
    float *w = calloc(n, sizeof *w), *g = calloc(n, sizeof *g);
    gsl_rng *rng = llc_rng_new(llc_seed(SEED, LLC_PURPOSE_INIT, 9, 0, 0));
    m->init(m, w, rng);
    task.fill(&task, 0, 3, b);
    double L = 0, maxerr = 0;
    m->loss_grad(m, ws, w, b, g, &L);
    const float h = 0x1.0p-8f;
    for (size_t i = 0; i < n; i++) {
        double lp, lm;
        float wi = w[i];
        w[i] = wi + h;
        m->loss_grad(m, ws, w, b, NULL, &lp);
        w[i] = wi - h;
        m->loss_grad(m, ws, w, b, NULL, &lm);
        w[i] = wi;
        maxerr = fmax(maxerr, fabs((lp - lm) / (2.0 * h) - g[i]));
    }
    CHECK(maxerr < 1e-4, "linreg test model: gradient matches central differences (max err %.2g)", maxerr);
    gsl_rng_free(rng);
    free(w);
    free(g);
    m->ws_free(ws);
    llc_batch_free(b);
    llc_model_free(m);
}

static void test_loss_falls(void)
{
    llc_train_config *c = &cfg;
    linreg_impl li = {TOY_D_IN, TOY_D_OUT};
    llc_model *m = linreg_new(&li);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    const llc_opt_kind opts[3] = {LLC_OPT_SGD, LLC_OPT_ADAM, LLC_OPT_ADAMW};
    const double lrs[3] = {0.05, 0.02, 0.02};
    for (int k = 0; k < 3; k++) {
        base_config(c, opts[k], lrs[k]);
        c->steps = 300;
        c->batch = 8;
        c->momentum = 0.9;
        c->weight_decay = opts[k] == LLC_OPT_SGD ? 0 : 1e-3;
        c->clip = 1.0;
        c->sched = LLC_SCHED_COSINE;
        c->warmup = 10;
        c->min_lr_frac = 0.1;
        llc_trainer *tr = NULL;
        char err[LLC_ERRLEN] = "";
        int rc = llc_trainer_new(m, &task, c, SEED, &tr, err);
        CHECK(rc == LLC_OK, "%s: trainer_new (%s)", opt_str(opts[k]), err);
        if (rc) continue;
        double before = 0, after = 0, last = 0;
        rc = llc_trainer_eval(tr, 1, &before);
        for (long long s = 0; rc == LLC_OK && s < c->steps; s++) rc = llc_trainer_step(tr, &last, NULL, NULL);
        if (rc == LLC_OK) rc = llc_trainer_eval(tr, 1, &after);
        /* noise floor: 0.5 * d_out * E[(0.05 u)^2] = 0.5 * 2 * 0.0025/3 ~ 8e-4 */
        CHECK(rc == LLC_OK && after < 0.05 * before && after < 0.01,
              "%s: test loss falls on the toy task (%.4g -> %.4g, last train %.4g)",
              opt_str(opts[k]), before, after, last);
        llc_trainer_free(tr);
    }
    llc_model_free(m);
}

/* step s uses train batch s; eval averages test batches 0..test_batches-1 */
static void test_batches_used(void)
{
    llc_train_config *c = &cfg;
    linreg_impl li = {TOY_D_IN, TOY_D_OUT};
    llc_model *m = linreg_new(&li);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    base_config(c, LLC_OPT_ADAMW, 0.01);
    c->test_batches = 3;
    llc_trainer *tr = NULL;
    llc_batch *b = llc_task_batch_alloc(&task, c->batch);
    void *ws = m->ws_alloc(m, c->batch);
    size_t n = llc_model_n_params(m);
    float *w = malloc(n * sizeof *w);
    int rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
    int ok = rc == LLC_OK;
    for (int s = 0; ok && s < 4; s++) {
        double want = 0, got = 0;
        memcpy(w, llc_trainer_params(tr), n * sizeof *w);
        task.fill(&task, 0, (uint64_t)s, b);
        m->loss_grad(m, ws, w, b, NULL, &want);
        ok = llc_trainer_step(tr, &got, NULL, NULL) == LLC_OK && got == want;
    }
    CHECK(ok, "step s reports the loss of train batch s at the params before the update");
    double e1 = 0, e2 = 0, want = 0;
    if (rc == LLC_OK) {
        llc_trainer_eval(tr, 1, &e1);
        llc_trainer_eval(tr, 1, &e2);
        for (int i = 0; i < 3; i++) {
            double L = 0;
            task.fill(&task, 1, (uint64_t)i, b);
            m->loss_grad(m, ws, llc_trainer_params(tr), b, NULL, &L);
            want += L;
        }
        want /= 3;
    }
    CHECK(rc == LLC_OK && e1 == e2 && e1 == want,
          "eval is the mean over test batches 0..test_batches-1, repeatable (%.9g, %.9g)", e1, want);
    CHECK(rc == LLC_OK && llc_trainer_eval(tr, 5, &e1) == LLC_ERR_INVALID, "eval rejects an unknown dist");
    free(w);
    m->ws_free(ws);
    llc_batch_free(b);
    llc_trainer_free(tr);
    llc_model_free(m);
}

/* ---------------- resume ---------------- */

static void test_resume(void)
{
    llc_train_config *c = &cfg;
    linreg_impl li = {TOY_D_IN, TOY_D_OUT};
    llc_model *m = linreg_new(&li);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    printf("test_train: seed %llu\n", (unsigned long long)SEED);
    const llc_opt_kind opts[3] = {LLC_OPT_SGD, LLC_OPT_ADAM, LLC_OPT_ADAMW};
    for (int k = 0; k < 3; k++) {
        base_config(c, opts[k], 0.03);
        c->steps = 20;
        c->momentum = 0.9;
        c->weight_decay = 0.01;
        c->clip = 0.5;
        c->sched = LLC_SCHED_COSINE;
        c->warmup = 5;
        llc_trainer *a = NULL, *a2 = NULL, *b = NULL, *r = NULL;
        unsigned char *st = NULL, *sa = NULL, *sr = NULL;
        size_t n = llc_model_n_params(m);
        int rc = llc_trainer_new(m, &task, c, SEED, &a, NULL);
        if (!rc) rc = llc_trainer_new(m, &task, c, SEED, &a2, NULL);
        if (!rc) rc = llc_trainer_new(m, &task, c, SEED, &b, NULL);
        if (!rc) rc = llc_trainer_new(m, &task, c, SEED + 1, &r, NULL); /* other init: load must overwrite */
        CHECK(rc == LLC_OK, "%s resume: four trainers", opt_str(opts[k]));
        if (rc) goto next;
        size_t sz = llc_trainer_state_size(a);
        st = malloc(sz);
        sa = malloc(sz);
        sr = malloc(sz);
        rc = run_steps(a, 20);
        if (!rc) rc = run_steps(a2, 20);
        CHECK(rc == LLC_OK && memcmp(llc_trainer_params(a), llc_trainer_params(a2), n * sizeof(float)) == 0,
              "%s: same seed gives bit-identical params after 20 steps", opt_str(opts[k]));
        rc = run_steps(b, 10);
        if (!rc) rc = llc_trainer_state_save(b, st, sz);
        llc_trainer_free(b);
        b = NULL;
        char err[LLC_ERRLEN] = "";
        if (!rc) rc = llc_trainer_state_load(r, st, sz, err);
        CHECK(rc == LLC_OK && llc_trainer_step_index(r) == 10, "%s: state saved at step 10 loads (%s)",
              opt_str(opts[k]), err);
        if (!rc) rc = run_steps(r, 10);
        CHECK(rc == LLC_OK && llc_trainer_step_index(r) == 20 &&
                  memcmp(llc_trainer_params(a), llc_trainer_params(r), n * sizeof(float)) == 0,
              "%s: resumed at 10 and continued to 20 = uninterrupted run (memcmp params)", opt_str(opts[k]));
        llc_trainer_state_save(a, sa, sz);
        llc_trainer_state_save(r, sr, sz);
        CHECK(memcmp(sa, sr, sz) == 0, "%s: full state (params + moments) bit-identical at 20", opt_str(opts[k]));
        CHECK(sz == 32 + (size_t)(opts[k] == LLC_OPT_SGD ? 2 : 3) * n * 4,
              "%s: state is header + params + %d moment vectors", opt_str(opts[k]),
              opts[k] == LLC_OPT_SGD ? 1 : 2);
    next:
        free(st);
        free(sa);
        free(sr);
        llc_trainer_free(a);
        llc_trainer_free(a2);
        llc_trainer_free(b);
        llc_trainer_free(r);
    }
    llc_model_free(m);
}

static void test_state_reject(void)
{
    llc_train_config *c = &cfg;
    linreg_impl li = {TOY_D_IN, TOY_D_OUT}, li4 = {TOY_D_IN + 1, TOY_D_OUT};
    llc_model *m = linreg_new(&li), *m4 = linreg_new(&li4);
    toy_impl ti;
    llc_task task;
    toy_init(&task, &ti, SEED);
    base_config(c, LLC_OPT_ADAMW, 0.01);
    llc_trainer *tr = NULL, *big = NULL, *sgd = NULL;
    unsigned char *st = NULL, *keep = NULL;
    char err[LLC_ERRLEN] = "";
    int rc = llc_trainer_new(m, &task, c, SEED, &tr, NULL);
    if (!rc) rc = llc_trainer_new(m4, &task, c, SEED, &big, NULL);
    c->opt = LLC_OPT_SGD;
    if (!rc) rc = llc_trainer_new(m, &task, c, SEED, &sgd, NULL);
    CHECK(rc == LLC_OK, "state reject: trainers");
    if (rc) goto cleanup;
    size_t sz = llc_trainer_state_size(tr);
    st = malloc(sz + 8);
    keep = malloc(llc_trainer_state_size(big));
    run_steps(tr, 3);
    llc_trainer_state_save(tr, st, sz);

    llc_trainer_state_save(big, keep, llc_trainer_state_size(big));
    rc = llc_trainer_state_load(big, st, sz, err);
    CHECK(rc == LLC_ERR_INVALID && strcmp(err, "resume state has 8 params, model has 10") == 0,
          "state of another model size is rejected: \"%s\"", err);
    {
        unsigned char *now = malloc(llc_trainer_state_size(big));
        llc_trainer_state_save(big, now, llc_trainer_state_size(big));
        CHECK(memcmp(keep, now, llc_trainer_state_size(big)) == 0, "a rejected load leaves the trainer untouched");
        free(now);
    }
    err[0] = 0;
    rc = llc_trainer_state_load(tr, st, sz - 4, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "bytes"), "truncated state is rejected: \"%s\"", err);
    err[0] = 0;
    rc = llc_trainer_state_load(tr, st, sz + 8, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "bytes"), "state with trailing bytes is rejected: \"%s\"", err);
    err[0] = 0;
    rc = llc_trainer_state_load(tr, st, 10, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "header"), "state shorter than its header is rejected: \"%s\"", err);
    err[0] = 0;
    rc = llc_trainer_state_load(sgd, st, sz, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "adamw") && strstr(err, "sgd"),
          "state of another optimiser is rejected: \"%s\"", err);
    st[0] ^= 0xff;
    err[0] = 0;
    rc = llc_trainer_state_load(tr, st, sz, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "magic"), "bad magic is rejected: \"%s\"", err);
    st[0] ^= 0xff;
    st[4] = 99;
    err[0] = 0;
    rc = llc_trainer_state_load(tr, st, sz, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "version 99"), "other version is rejected: \"%s\"", err);
    st[4] = 1;
    st[8] = 200; /* step 200 > steps 20 */
    err[0] = 0;
    rc = llc_trainer_state_load(tr, st, sz, err);
    CHECK(rc == LLC_ERR_INVALID && strstr(err, "step 200"), "step beyond steps is rejected: \"%s\"", err);
    st[8] = 3;
    rc = llc_trainer_state_load(tr, st, sz, err);
    CHECK(rc == LLC_OK && llc_trainer_step_index(tr) == 3, "the restored blob loads again");
    CHECK(llc_trainer_state_save(tr, st, sz - 1) == LLC_ERR_INVALID, "save refuses a too-small buffer");
    /* layout: little-endian header */
    llc_trainer_state_save(tr, st, sz);
    CHECK(st[0] == 'L' && st[1] == 'L' && st[2] == 'S' && st[3] == 'T' && st[4] == 1 && st[8] == 3 &&
              st[16] == 8 && st[24] == LLC_OPT_ADAMW && st[28] == 2,
          "state header: magic LLST, version 1, step, n_params, optimiser, vectors (LE)");
    /* init_params resets to step 0 and zero moments */
    rc = llc_trainer_init_params(tr);
    CHECK(rc == LLC_OK && llc_trainer_step_index(tr) == 0, "init_params resets the step index");
cleanup:
    free(st);
    free(keep);
    llc_trainer_free(tr);
    llc_trainer_free(big);
    llc_trainer_free(sgd);
    llc_model_free(m);
    llc_model_free(m4);
}

int main(void)
{
    test_config();
    test_lr_schedules();
    test_ckpt_schedule();
    test_optimisers();
    test_clip();
    test_numeric();
    test_gradient_fd();
    test_loss_falls();
    test_batches_used();
    test_resume();
    test_state_reject();
    llc_trainer_free(NULL);
    return tu_finish("test_train");
}
