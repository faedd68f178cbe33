/* trajectory.c - principal components of the outputs over training; see
 * llc_trajectory.h and ANALYSIS.md. */
#include "llc_trajectory.h"

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int llc_trajectory_pca(const double *X, int n, int p, int k, double *coords, double *explained)
{
    if (n < 1 || p < 1 || k < 1 || k > n) return LLC_ERR_INVALID;
    int rc = LLC_OK;
    double *mean = calloc((size_t)p, sizeof *mean);
    gsl_matrix *G = gsl_matrix_alloc((size_t)n, (size_t)n), *V = gsl_matrix_alloc((size_t)n, (size_t)n);
    gsl_vector *ev = gsl_vector_alloc((size_t)n);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc((size_t)n);
    if (!mean || !G || !V || !ev || !ws) {
        rc = LLC_ERR_NOMEM;
        goto cleanup;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p; j++) mean[j] += X[(size_t)i * p + j];
    for (int j = 0; j < p; j++) mean[j] /= n;
    /* Gram matrix of the centred rows: its eigenvectors scaled by
     * sqrt(eigenvalue) are the rows' coordinates on the principal axes */
    for (int a = 0; a < n; a++)
        for (int b = a; b < n; b++) {
            double s = 0.0;
            const double *xa = X + (size_t)a * p, *xb = X + (size_t)b * p;
            for (int j = 0; j < p; j++) s += (xa[j] - mean[j]) * (xb[j] - mean[j]);
            gsl_matrix_set(G, (size_t)a, (size_t)b, s);
            gsl_matrix_set(G, (size_t)b, (size_t)a, s);
        }
    if (gsl_eigen_symmv(G, ev, V, ws)) {
        rc = LLC_ERR_NUMERIC;
        goto cleanup;
    }
    gsl_eigen_symmv_sort(ev, V, GSL_EIGEN_SORT_VAL_DESC);
    double total = 0.0;
    for (int i = 0; i < n; i++) total += fmax(gsl_vector_get(ev, (size_t)i), 0.0);
    for (int c = 0; c < k; c++) {
        const double lam = fmax(gsl_vector_get(ev, (size_t)c), 0.0);
        explained[c] = total > 0.0 ? lam / total : 0.0;
        const double sgn = gsl_matrix_get(V, (size_t)n - 1, (size_t)c) >= gsl_matrix_get(V, 0, (size_t)c) ? 1.0 : -1.0;
        for (int i = 0; i < n; i++) coords[(size_t)i * k + c] = sgn * gsl_matrix_get(V, (size_t)i, (size_t)c) * sqrt(lam);
    }
cleanup:
    free(mean);
    gsl_matrix_free(G);
    gsl_matrix_free(V);
    gsl_vector_free(ev);
    if (ws) gsl_eigen_symmv_free(ws);
    return rc;
}

void llc_trajectory_result_free(llc_trajectory_result *r)
{
    if (!r) return;
    free(r->steps);
    free(r->coords);
    free(r->explained);
    memset(r, 0, sizeof *r);
}

int llc_trajectory_run(const llc_trajectory_config *cfg, llc_trajectory_result *r, char *err)
{
    memset(r, 0, sizeof *r);
    const llc_model *m = cfg->model;
    if (!m || strcmp(m->kind, "transformer") != 0 || llc_transformer_config(m)->pooled)
        return llc_fail(err, LLC_ERR_INVALID, "trajectory: needs a transformer without pooling (this model: %s%s)",
                        m ? m->kind : "none", m && strcmp(m->kind, "transformer") == 0 ? ", pooled" : "");
    if (cfg->n_steps < 2)
        return llc_fail(err, LLC_ERR_INVALID, "trajectory: needs at least 2 checkpoints, the run has %d",
                        cfg->n_steps);
    const int B = cfg->n_seqs > 0 ? cfg->n_seqs : LLC_TRAJECTORY_DEFAULT_SEQS;
    const int n = cfg->n_steps, V = llc_transformer_config(m)->n_out;
    int k = cfg->components < 1 ? 1 : cfg->components;
    if (k > n) k = n;
    if (k > LLC_TRAJECTORY_MAX_COMPONENTS) k = LLC_TRAJECTORY_MAX_COMPONENTS;
    int rc = LLC_OK;
    const size_t np = llc_model_n_params(m);
    llc_batch *b = llc_task_batch_alloc(cfg->task, B);
    void *ws = m->ws_alloc(m, B);
    float *w = malloc(np * sizeof *w), *logits = NULL;
    double *X = NULL;
    if (!b || !ws || !w) goto nomem;
    b->B = B;
    rc = cfg->task->fill(cfg->task, cfg->dist,
                         llc_seed(cfg->seed, LLC_PURPOSE_DATA, llc_hash_str("trajectory"), 0, 0) >> 16, b);
    if (rc) {
        rc = llc_fail(err, rc, "trajectory: the task could not fill the probe batch");
        goto cleanup;
    }
    const int T = b->T, N = B * T;
    int M = 0;
    for (int i = 0; i < N; i++) M += b->mask[i] > 0.0f;
    if (M == 0) {
        rc = llc_fail(err, LLC_ERR_INVALID, "trajectory: the probe batch has no scored positions");
        goto cleanup;
    }
    const size_t P = (size_t)M * V;
    logits = malloc((size_t)N * V * sizeof *logits);
    X = malloc((size_t)n * P * sizeof *X);
    r->steps = malloc((size_t)n * sizeof *r->steps);
    r->coords = malloc((size_t)n * k * sizeof *r->coords);
    r->explained = malloc((size_t)k * sizeof *r->explained);
    if (!logits || !X || !r->steps || !r->coords || !r->explained) goto nomem;
    for (int s = 0; s < n; s++) {
        r->steps[s] = cfg->steps[s];
        rc = llc_store_checkpoint_get(cfg->store, cfg->run, cfg->steps[s], w, np, NULL, NULL);
        if (rc) {
            rc = llc_fail(err, rc, "trajectory: reading checkpoint %lld of run '%s': %s", cfg->steps[s], cfg->run,
                          llc_store_errmsg(cfg->store));
            goto cleanup;
        }
        if ((rc = llc_transformer_logits(m, ws, w, b, logits))) {
            rc = llc_fail(err, rc, "trajectory: the probe batch does not fit the model");
            goto cleanup;
        }
        /* log-softmax in double at each scored position */
        double *row = X + (size_t)s * P;
        for (int i = 0, q = 0; i < N; i++) {
            if (!(b->mask[i] > 0.0f)) continue;
            const float *z = logits + (size_t)i * V;
            double mx = -INFINITY, sum = 0.0;
            for (int v = 0; v < V; v++) mx = fmax(mx, z[v]);
            for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
            const double lse = mx + log(sum);
            for (int v = 0; v < V; v++) row[(size_t)q * V + v] = (double)z[v] - lse;
            q++;
        }
        for (size_t j = 0; j < P; j++)
            if (!isfinite(row[j])) {
                rc = llc_fail(err, LLC_ERR_NUMERIC, "trajectory: non-finite outputs at checkpoint %lld",
                              cfg->steps[s]);
                goto cleanup;
            }
        if (cfg->progress && cfg->progress(cfg->ctx, s + 1, n)) {
            rc = llc_fail(err, LLC_ERR_INTERRUPTED, "trajectory: interrupted");
            goto cleanup;
        }
    }
    if ((rc = llc_trajectory_pca(X, n, (int)P, k, r->coords, r->explained))) {
        rc = llc_fail(err, rc, "trajectory: the eigen-solver failed");
        goto cleanup;
    }
    r->n_steps = n;
    r->k = k;
    r->n_outputs = (long long)P;
    goto cleanup;
nomem:
    rc = llc_fail(err, LLC_ERR_NOMEM, "trajectory: out of memory");
cleanup:
    if (rc) llc_trajectory_result_free(r);
    free(X);
    free(logits);
    free(w);
    if (ws) m->ws_free(ws);
    llc_batch_free(b);
    return rc;
}
