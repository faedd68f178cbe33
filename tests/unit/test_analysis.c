/* test_analysis.c - stages, clusters and the trajectory on synthetic data
 * with known answers: every boundary of piecewise-linear curves (linear and
 * log-spaced checkpoints), sigmoid loss drops and inserted loss spikes found
 * within one checkpoint; interpolated level crossings exact; curves drawn
 * from three shapes (plus noise) clustered into exactly those three groups
 * by k-means, Ward and average linkage, the same for the same seed; outputs
 * moving along a line give one component with >= 99% of the variance; the
 * new logits function reproduces loss_grad's loss; the trajectory driver on
 * checkpoints along a line in weight space. */
#include "llc_cluster.h"
#include "llc_stages.h"
#include "llc_trajectory.h"
#include "fixture.h"
#include "testutil.h"
#include "llc_tasks.h"

#include <cjson/cJSON.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static gsl_rng *rng;

/* The index of the checkpoint nearest to s. */
static int nearest(const double *step, int n, double s)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (fabs(step[i] - s) < fabs(step[b] - s)) b = i;
    return b;
}

/* Boundaries found == the known ones, each within one checkpoint. */
static void check_found(const char *tag, const double *step, int n, const llc_stage *st, int m, const double *want,
                        const int *kind, int n_want)
{
    CHECK(m == n_want, "%s: %d boundaries found, %d known", tag, m, n_want);
    for (int i = 0; i < m && i < n_want; i++) {
        const int a = nearest(step, n, st[i].step), b = nearest(step, n, want[i]);
        CHECK(abs(a - b) <= 1 && st[i].kind == kind[i], "%s: boundary %d at step %g (%s), known %g (%s)", tag, i,
              st[i].step, llc_stage_kind_names[st[i].kind], want[i], llc_stage_kind_names[kind[i]]);
    }
}

/* Piecewise-linear through (bx, by) knots, in x. */
static double pwl(const double *bx, const double *by, int nb, double x)
{
    for (int i = 0; i + 1 < nb; i++)
        if (x <= bx[i + 1]) return by[i] + (x - bx[i]) / (bx[i + 1] - bx[i]) * (by[i + 1] - by[i]);
    return by[nb - 1];
}

static void test_critical(void)
{
    llc_stages_config c;
    llc_stages_config_default(&c);
    double step[200], y[200];
    /* linear steps: up to a max at 1500, down to a min at 3500, up again */
    c.logx = 0;
    const int n = 60;
    const double bx[] = {0, 1500, 3500, 5900}, by[] = {1, 9, 3, 7};
    for (int i = 0; i < n; i++) {
        step[i] = 100.0 * i;
        y[i] = pwl(bx, by, 4, step[i]) + gsl_ran_gaussian(rng, 0.1);
    }
    llc_stage *st = NULL;
    int m = 0;
    CHECK(llc_stages_critical(&c, step, y, n, &st, &m) == LLC_OK, "linear: critical points");
    const double want[] = {1500, 3500};
    const int kind[] = {LLC_STAGE_MAX, LLC_STAGE_MIN};
    check_found("linear steps", step, n, st, m, want, kind, 2);
    free(st);

    /* log-spaced steps 10..1e5, knots in log step; three boundaries */
    c.logx = 1;
    const int nl = 80;
    const double lx[] = {log1p(10.0), log1p(300.0), log1p(3000.0), log1p(20000.0), log1p(1e5)}, ly[] = {0, 5, 2, 8, 6};
    for (int i = 0; i < nl; i++) {
        step[i] = round(10.0 * pow(1e4, (double)i / (nl - 1)));
        y[i] = pwl(lx, ly, 5, log1p(step[i])) + gsl_ran_gaussian(rng, 0.05);
    }
    CHECK(llc_stages_critical(&c, step, y, nl, &st, &m) == LLC_OK, "log: critical points");
    const double want2[] = {300, 3000, 20000};
    const int kind2[] = {LLC_STAGE_MAX, LLC_STAGE_MIN, LLC_STAGE_MAX};
    check_found("log steps", step, nl, st, m, want2, kind2, 3);
    free(st);

    /* pure noise around a constant with a wide minimum stage: no boundary
     * survives a minimum length of half the curve */
    c.min_len = 40;
    for (int i = 0; i < nl; i++) y[i] = 1.0 + gsl_ran_gaussian(rng, 0.01);
    CHECK(llc_stages_critical(&c, step, y, nl, &st, &m) == LLC_OK && m == 0,
          "noise with min_len 40 of 80: %d boundaries", m);
    free(st);
}

static void test_drops_spikes(void)
{
    llc_stages_config c;
    llc_stages_config_default(&c);
    double step[100], y[100];
    const int n = 100;
    /* two sharp sigmoid drops at steps 2000 and 6000 (width 60 steps) */
    c.logx = 0;
    for (int i = 0; i < n; i++) {
        step[i] = 100.0 * i;
        y[i] = 1.0 + 2.0 / (1.0 + exp((step[i] - 2000.0) / 60.0)) + 1.0 / (1.0 + exp((step[i] - 6000.0) / 60.0)) +
               gsl_ran_gaussian(rng, 0.01);
    }
    llc_stage *st = NULL;
    int m = 0;
    CHECK(llc_stages_drops(&c, step, y, n, &st, &m) == LLC_OK, "drops");
    const double want[] = {2000, 6000};
    const int kind[] = {LLC_STAGE_DROP, LLC_STAGE_DROP};
    check_found("drops", step, n, st, m, want, kind, 2);
    free(st);

    /* a noisy, slowly falling per-step loss with three spikes */
    double ls[3000], lstep[3000];
    const int nl = 3000, at[] = {500, 1700, 2600};
    for (int i = 0; i < nl; i++) {
        lstep[i] = i + 1;
        ls[i] = 2.0 * exp(-i / 1500.0) * (1.0 + 0.05 * gsl_ran_gaussian(rng, 1.0)) + 0.1;
    }
    for (int j = 0; j < 3; j++) ls[at[j]] *= 4.0, ls[at[j] + 1] *= 2.5;
    CHECK(llc_stages_spikes(&c, lstep, ls, nl, &st, &m) == LLC_OK, "spikes");
    const double wants[] = {501, 1701, 2601};
    const int kinds[] = {LLC_STAGE_SPIKE, LLC_STAGE_SPIKE, LLC_STAGE_SPIKE};
    check_found("spikes", lstep, nl, st, m, wants, kinds, 3);
    for (int i = 0; i < m && i < 3; i++) CHECK(st[i].step == wants[i], "spike %d at its highest row %g", i, st[i].step);
    free(st);

    /* crossings: interpolated, exact points, none */
    const double cs[] = {0, 100, 200, 300}, cy[] = {2.0, 1.0, 0.5, 0.25};
    double x = -1;
    CHECK(llc_stages_cross(cs, cy, 4, 0.75, &x) == LLC_OK && x == 150.0, "cross 0.75 at 150 (%g)", x);
    CHECK(llc_stages_cross(cs, cy, 4, 1.0, &x) == LLC_OK && x == 100.0, "cross 1.0 at a point: 100 (%g)", x);
    CHECK(llc_stages_cross(cs, cy, 4, 0.1, &x) == LLC_ERR_NOTFOUND, "cross 0.1: never");
    const double cn[] = {2.0, NAN, 0.0, 0.0};
    CHECK(llc_stages_cross(cs, cn, 4, 1.0, &x) == LLC_OK && x == 100.0, "cross across a NaN point: 100 (%g)", x);
    c.min_len = 0;
    CHECK(llc_stages_config_check(&c, NULL) == LLC_ERR_INVALID, "min_len 0 refused");
}

/* 15 curves, 5 of each shape (rise, fall, bump), amplitudes and offsets
 * varied, noise added, shapes interleaved. */
static void test_clusters(void)
{
    enum { NC = 15, NP = 40 };
    double steps[NP], vals[NC][NP];
    llc_cluster_curve cv[NC];
    int truth[NC];
    for (int i = 0; i < NP; i++) steps[i] = 50.0 * i;
    for (int j = 0; j < NC; j++) {
        truth[j] = (j * 7) % 3;
        const double amp = 0.5 + gsl_rng_uniform(rng) * 3.0, off = gsl_rng_uniform(rng) * 5.0;
        for (int i = 0; i < NP; i++) {
            const double t = (double)i / (NP - 1);
            const double shape = truth[j] == 0 ? 1.0 / (1.0 + exp(-(t - 0.3) * 20.0))
                                 : truth[j] == 1 ? 1.0 - t
                                                 : exp(-(t - 0.5) * (t - 0.5) / 0.02);
            vals[j][i] = off + amp * shape + amp * gsl_ran_gaussian(rng, 0.03);
        }
        cv[j] = (llc_cluster_curve){steps, vals[j], NP};
    }
    const int methods[] = {LLC_CLUSTER_KMEANS, LLC_CLUSTER_WARD, LLC_CLUSTER_AVERAGE};
    const char *names[] = {"kmeans", "ward", "average"};
    for (int mi = 0; mi < 3; mi++) {
        llc_cluster_config c;
        llc_cluster_config_default(&c);
        c.k = 3;
        c.method = methods[mi];
        int a[NC], b[NC];
        char err[LLC_ERRLEN] = "";
        CHECK(llc_cluster_curves(&c, cv, NC, a, err) == LLC_OK, "%s runs (%s)", names[mi], err);
        int ok = 1;
        for (int i = 0; i < NC; i++)
            for (int j = 0; j < NC; j++)
                if ((a[i] == a[j]) != (truth[i] == truth[j])) ok = 0;
        CHECK(ok, "%s recovers the three shapes exactly", names[mi]);
        CHECK(a[0] == 0, "%s: clusters numbered by first member", names[mi]);
        CHECK(llc_cluster_curves(&c, cv, NC, b, err) == LLC_OK && memcmp(a, b, sizeof a) == 0,
              "%s: the same assignment twice", names[mi]);
    }
    llc_cluster_config c;
    llc_cluster_config_default(&c);
    c.k = NC + 1;
    int a[NC];
    char err[LLC_ERRLEN] = "";
    CHECK(llc_cluster_curves(&c, cv, NC, a, err) == LLC_ERR_INVALID && strstr(err, "k = 16"),
          "k > curves refused: %s", err);
    c.k = 2;
    CHECK(llc_cluster_curves(&c, cv, 0, a, err) == LLC_ERR_INVALID, "no curves refused: %s", err);
    /* two curves that share no steps */
    double s2[] = {1000, 2000};
    llc_cluster_curve apart[2] = {{steps, vals[0], 10}, {s2, vals[1], 2}};
    CHECK(llc_cluster_curves(&c, apart, 2, a, err) == LLC_ERR_INVALID && strstr(err, "common range"),
          "disjoint curves refused: %s", err);
}

static void test_pca(void)
{
    enum { N = 20, P = 500 };
    double *X = malloc((size_t)N * P * sizeof *X), coords[N * 3], ex[3];
    double x0[P], d[P];
    for (int j = 0; j < P; j++) x0[j] = gsl_ran_gaussian(rng, 1.0), d[j] = gsl_ran_gaussian(rng, 1.0);
    /* along a line (t = step^0.5, not evenly spaced) plus small noise */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < P; j++) X[(size_t)i * P + j] = x0[j] + sqrt((double)i) * d[j] + gsl_ran_gaussian(rng, 1e-3);
    CHECK(llc_trajectory_pca(X, N, P, 3, coords, ex) == LLC_OK, "pca runs");
    CHECK(ex[0] >= 0.99, "a line: PC1 explains %.6f >= 0.99", ex[0]);
    CHECK(ex[0] >= ex[1] && ex[1] >= ex[2] && ex[0] + ex[1] + ex[2] <= 1.0 + 1e-12, "shares sorted, sum <= 1");
    int mono = 1;
    for (int i = 1; i < N; i++) mono &= coords[i * 3] > coords[(i - 1) * 3];
    CHECK(mono, "PC1 increases along the line from first to last");
    /* a circle: two components share the variance */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < P; j++)
            X[(size_t)i * P + j] = cos(2 * M_PI * i / N) * x0[j] + sin(2 * M_PI * i / N) * d[j];
    CHECK(llc_trajectory_pca(X, N, P, 3, coords, ex) == LLC_OK && ex[0] + ex[1] > 0.999 && ex[0] < 0.7,
          "a loop: two components (%.4f, %.4f)", ex[0], ex[1]);
    CHECK(llc_trajectory_pca(X, N, P, N + 1, coords, ex) == LLC_ERR_INVALID, "k > rows refused");
    free(X);
}

/* The logits of a small sort transformer reproduce loss_grad's loss. */
static void test_logits(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    CHECK(fx_task_new("sort", "{\"list_len\": 6, \"vocab\": 31}", 5, &t, err) == LLC_OK, "task (%s)", err);
    if (!t) return;
    llc_tf_config c;
    fx_tf_config(&c, t, 2, 2, 8, 16);
    c.d_mlp = 32;
    llc_model *m = fx_tf_build(&c);
    const int B = 8, V = c.n_out;
    llc_batch *b = llc_task_batch_alloc(t, B);
    b->B = B;
    t->fill(t, 0, 3, b);
    float *w = fx_random_params(m, 9);
    void *ws = m->ws_alloc(m, B);
    double loss = 0.0;
    CHECK(m->loss_grad(m, ws, w, b, NULL, &loss) == LLC_OK, "loss_grad");
    const int N = B * b->T;
    float *lg = malloc((size_t)N * V * sizeof *lg);
    CHECK(llc_transformer_logits(m, ws, w, b, lg) == LLC_OK, "logits");
    double tot = 0.0, wsum = 0.0;
    for (int n = 0; n < N; n++) {
        if (b->mask[n] == 0.0f) continue;
        double mx = -INFINITY, sum = 0.0;
        for (int v = 0; v < V; v++) mx = fmax(mx, lg[(size_t)n * V + v]);
        for (int v = 0; v < V; v++) sum += exp(lg[(size_t)n * V + v] - mx);
        tot += b->mask[n] * (mx + log(sum) - lg[(size_t)n * V + b->targets[n]]);
        wsum += b->mask[n];
    }
    CHECK_CLOSE(tot / wsum, loss, 0.0, 1e-5, "cross-entropy of the logits == loss_grad's loss");
    double loss2 = 0.0;
    m->loss_grad(m, ws, w, b, NULL, &loss2);
    CHECK(loss2 == loss, "loss_grad unchanged after a logits call");
    free(lg);
    free(w);
    m->ws_free(ws);
    llc_batch_free(b);
    llc_model_free(m);
    llc_task_free(t);
}

/* The driver end to end on a store whose checkpoints move along a line,
 * w(t) = w0 + t d with d in the unembedding bias only: the logits move
 * along a line, the log-probabilities nearly so (small t). The same with d
 * random over every weight: a curved path, PC1 well below 99%. */
static void test_trajectory_driver(void)
{
    char err[LLC_ERRLEN] = "", path[] = "/tmp/llc-test-analysis-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    if (fd < 0) return;
    close(fd);
    unlink(path);
    llc_store *s = NULL;
    CHECK(llc_store_open(path, LLC_STORE_RW, &s, err) == LLC_OK, "store (%s)", err);
    llc_task *t = NULL;
    fx_task_new("sort", "{\"list_len\": 6, \"vocab\": 31}", 5, &t, err);
    llc_tf_config c;
    fx_tf_config(&c, t, 1, 2, 8, 16);
    llc_model *m = fx_tf_build(&c);
    const size_t np = llc_model_n_params(m);
    float *w0 = fx_random_params(m, 21), *w = malloc(np * sizeof *w), *d = calloc(np, sizeof *d);
    const llc_tensor *ub = llc_ptable_find(&m->table, "unembed.b");
    CHECK(ub != NULL, "the model has an unembedding bias");
    for (int pass = 0; pass < 2 && ub; pass++) {
        const char *run = pass ? "curved" : "line";
        for (size_t i = 0; i < np; i++) d[i] = 0.0f;
        if (!pass)
            for (size_t i = 0; i < ub->size; i++) d[ub->offset + i] = (float)gsl_ran_gaussian(rng, 0.02);
        else
            for (size_t i = 0; i < np; i++) d[i] = (float)gsl_ran_gaussian(rng, 0.3);
        CHECK(llc_store_run_create(s, run, "sort", "{}", (long long)np, 1) == LLC_OK, "run %s", run);
        long long steps[8];
        for (int k = 0; k < 8; k++) {
            steps[k] = 100 * k;
            for (size_t i = 0; i < np; i++) w[i] = w0[i] + (float)(k * k) * d[i] / 8.0f;
            CHECK(llc_store_checkpoint_put(s, run, steps[k], 1.0, 1.0, w, np, NULL, 0, NULL, 0) == LLC_OK,
                  "checkpoint %d", k);
        }
        llc_trajectory_config tc = {.model = m, .task = t, .dist = llc_task_dist(t, "test"), .n_seqs = 16,
                                    .seed = 1, .components = 3, .store = s, .run = run, .steps = steps, .n_steps = 8};
        llc_trajectory_result res;
        CHECK(llc_trajectory_run(&tc, &res, err) == LLC_OK, "driver runs (%s)", err);
        if (!pass) CHECK(res.explained[0] >= 0.99, "a line: PC1 explains %.6f >= 0.99", res.explained[0]);
        else CHECK(res.explained[0] < 0.99, "a curved path: PC1 explains %.4f < 0.99", res.explained[0]);
        CHECK(res.n_steps == 8 && res.k == 3 && res.n_outputs == 16LL * 6 * c.n_out, "8 x 3 coordinates of %lld outputs",
              res.n_outputs);
        llc_trajectory_result_free(&res);
    }
    free(w0);
    free(w);
    free(d);
    llc_model_free(m);
    llc_task_free(t);
    llc_store_close(s);
    unlink(path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(void)
{
    const char *e = getenv("TEST_SEED");
    const unsigned long seed = e ? strtoul(e, NULL, 10) : 20261207UL;
    printf("test_analysis: seed %lu (TEST_SEED=N replays)\n", seed);
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    test_critical();
    test_drops_spikes();
    test_clusters();
    test_pca();
    test_logits();
    test_trajectory_driver();
    gsl_rng_free(rng);
    return tu_finish("test_analysis");
}
