/* fixture.c - the toy models and tasks the unit tests share (fixture.h). */
#include "fixture.h"
#include "llc_regress.h"
#include "llc_tasks.h"
#include "testutil.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- linear regression model ---------------- */

static int lr_init(const llc_model *m, float *w, gsl_rng *rng)
{
    (void)rng;
    memset(w, 0, llc_model_n_params(m) * sizeof *w);
    return LLC_OK;
}

static void *lr_ws_alloc(const llc_model *m, int max_B)
{
    (void)m;
    (void)max_B;
    return malloc(1);
}

static void lr_ws_free(void *ws) { free(ws); }

/* loss = sum_b mask_b (y_b - w.x_b)^2 / sum_b mask_b; grad = -2/M sum mask r x */
static int lr_loss_grad(const llc_model *m, void *ws, const float *w, const llc_batch *b, float *grad,
                        double *loss)
{
    (void)ws;
    int d = (int)llc_model_n_params(m);
    if (d > FX_LR_MAXD || b->d_in != d || !b->x || !b->y || b->d_out != 1) return LLC_ERR_INVALID;
    double g[FX_LR_MAXD] = {0};
    double sum = 0, msum = 0;
    int N = b->B * b->T;
    for (int i = 0; i < N; i++) {
        double mk = b->mask[i];
        if (mk == 0) continue;
        const float *x = b->x + (size_t)i * d;
        double pred = 0;
        for (int j = 0; j < d; j++) pred += (double)w[j] * x[j];
        double r = b->y[i] - pred;
        sum += mk * r * r;
        msum += mk;
        for (int j = 0; j < d; j++) g[j] += -2.0 * mk * r * x[j];
    }
    if (msum == 0) return LLC_ERR_INVALID;
    *loss = sum / msum;
    if (grad)
        for (int j = 0; j < d; j++) grad[j] = (float)(g[j] / msum);
    return LLC_OK;
}

static int lr_group(const llc_model *m, const char *name, llc_group *g, char *err)
{
    if (strcmp(name, "model")) return llc_fail(err, LLC_ERR_NOTFOUND, "unknown group '%s' (valid: model)", name);
    snprintf(g->name, sizeof g->name, "%s", name);
    return llc_group_add(g, 0, llc_model_n_params(m));
}

llc_model *fx_linreg_model(int d)
{
    llc_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->kind = "linreg";
    int shape[1] = {d};
    if (llc_ptable_add(&m->table, "w", 1, shape) < 0) {
        free(m);
        return NULL;
    }
    m->init = lr_init;
    m->ws_alloc = lr_ws_alloc;
    m->ws_free = lr_ws_free;
    m->loss_grad = lr_loss_grad;
    m->group = lr_group;
    return m;
}

/* ---------------- fixed finite data set task ---------------- */

typedef struct {
    int n, d;
    float *X; /* (n, d) */
    float *Y; /* (n) */
    uint64_t poison;
} ds_impl;

static long ds_n_examples(const llc_task *t, int dist)
{
    (void)dist;
    return ((const ds_impl *)t->impl)->n;
}

static int ds_fill(const llc_task *t, int dist, uint64_t index, llc_batch *b)
{
    const ds_impl *D = t->impl;
    if (b->B > b->cap_B || b->d_in != D->d || b->T != 1) return LLC_ERR_INVALID;
    for (int i = 0; i < b->B; i++) {
        int row = b->B == D->n ? i
                               : (int)(llc_seed(t->seed, LLC_PURPOSE_DATA, (uint64_t)dist, index, (uint64_t)i) %
                                       (uint64_t)D->n);
        memcpy(b->x + (size_t)i * D->d, D->X + (size_t)row * D->d, (size_t)D->d * sizeof(float));
        b->y[i] = D->Y[row];
        b->mask[i] = 1.0f;
    }
    if (D->poison && b->B != D->n && index % D->poison == 0) b->y[0] = NAN;
    return LLC_OK;
}

static void ds_free_impl(void *p)
{
    ds_impl *D = p;
    if (!D) return;
    free(D->X);
    free(D->Y);
    free(D);
}

llc_task *fx_dataset_task(int n, int d, float *X, float *Y, uint64_t seed)
{
    llc_task *t = calloc(1, sizeof *t);
    ds_impl *D = calloc(1, sizeof *D);
    if (!t || !D) {
        free(t);
        free(D);
        free(X);
        free(Y);
        return NULL;
    }
    *D = (ds_impl){.n = n, .d = d, .X = X, .Y = Y};
    snprintf(t->name, sizeof t->name, "linreg-test");
    t->seed = seed;
    t->shape.T = 1;
    t->shape.d_in = d;
    t->shape.d_out = 1;
    t->n_dists = 2;
    t->dists[0] = "train";
    t->dists[1] = "test";
    t->impl = D;
    t->n_examples = ds_n_examples;
    t->fill = ds_fill;
    t->free_impl = ds_free_impl;
    return t;
}

void fx_dataset_poison(llc_task *t, uint64_t every) { ((ds_impl *)t->impl)->poison = every; }

llc_task *fx_hadamard_task(int n, int d, double sigma, uint64_t seed, float *w_star)
{
    float *X = malloc((size_t)n * d * sizeof *X), *Y = malloc((size_t)n * sizeof *Y);
    gsl_rng *r = llc_rng_new(llc_seed(seed, LLC_PURPOSE_TASK, 1, 0, 0));
    if (!X || !Y || !r || d > FX_LR_MAXD) {
        free(X);
        free(Y);
        gsl_rng_free(r);
        return NULL;
    }
    double wt[FX_LR_MAXD];
    for (int j = 0; j < d; j++) wt[j] = gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < n; i++) {
        double y = 0;
        for (int j = 0; j < d; j++) {
            X[(size_t)i * d + j] = (__builtin_popcount((unsigned)(i & (j + 1))) & 1) ? -1.0f : 1.0f;
            y += wt[j] * X[(size_t)i * d + j];
        }
        Y[i] = (float)(y + sigma * gsl_ran_gaussian(r, 1.0));
    }
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)X[(size_t)i * d + j] * Y[i];
        w_star[j] = (float)(s / n);
    }
    gsl_rng_free(r);
    return fx_dataset_task(n, d, X, Y, seed);
}

/* ---------------- tasks from JSON text ---------------- */

int fx_task_new(const char *name, const char *json, uint64_t seed, llc_task **t, char *err)
{
    cJSON *s = json ? cJSON_Parse(json) : NULL;
    *t = NULL;
    if (json && !s) return llc_fail(err, LLC_ERR_INVALID, "test: bad JSON %s", json);
    int rc = llc_task_new(name, s, seed, t, err);
    cJSON_Delete(s);
    return rc;
}

int fx_task_init(fx_task_init_fn fn, const char *name, const char *json, uint64_t seed, llc_task *t, char *err)
{
    cJSON *s = json ? cJSON_Parse(json) : NULL;
    memset(t, 0, sizeof *t);
    if (json && !s) return llc_fail(err, LLC_ERR_INVALID, "test: bad JSON %s", json);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->seed = seed;
    int rc = fn(s, t, err);
    cJSON_Delete(s);
    return rc;
}

void fx_task_clear(llc_task *t)
{
    if (t->free_impl) t->free_impl(t->impl);
    memset(t, 0, sizeof *t);
}

int fx_linreg_teacher(uint64_t seed, llc_task **t, llc_model **m, float w[10], char *err)
{
    int rc = fx_task_new("linreg", "{\"n\": 1000, \"d\": 10}", seed, t, err);
    if (!rc) rc = llc_regress_make_model(*t, m, err);
    if (!rc) rc = llc_regress_teacher(*t, w, 10, err);
    return rc;
}

/* ---------------- small transformers ---------------- */

llc_task *fx_sort_task(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    int rc = fx_task_new("sort", "{\"list_len\": 8, \"vocab\": 63}", 7, &t, err);
    CHECK(rc == LLC_OK, "sort task builds (%s)", err);
    return t;
}

void fx_tf_config(llc_tf_config *c, const llc_task *t, int L, int NH, int HS, int C)
{
    llc_tf_config_default(c);
    c->n_layers = L, c->n_heads = NH, c->d_head = HS, c->d_model = C;
    c->vocab = t->shape.vocab, c->n_out = t->shape.n_out, c->n_ctx = t->shape.T;
}

llc_model *fx_tf_build(const llc_tf_config *c)
{
    char err[LLC_ERRLEN] = "";
    llc_model *m = NULL;
    int rc = llc_transformer_new(c, &m, err);
    CHECK(rc == LLC_OK, "model builds (%s)", err);
    return m;
}

float *fx_random_params(const llc_model *m, uint64_t seed)
{
    float *w = malloc(llc_model_n_params(m) * sizeof *w);
    gsl_rng *r = llc_rng_new(seed);
    if (w && r) m->init(m, w, r);
    gsl_rng_free(r);
    return w;
}
