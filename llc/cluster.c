/* cluster.c - clusters of curves by shape; see llc_cluster.h, ANALYSIS.md. */
#include "llc_cluster.h"
#include "llc_analysis_results.h"
#include "llc_probe_results.h"
#include "llc_results.h"

#include <float.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void llc_cluster_config_default(llc_cluster_config *c)
{
    memset(c, 0, sizeof *c);
    c->k = 3;
    c->method = LLC_CLUSTER_KMEANS;
    c->scale = LLC_SCALE_MINMAX;
    c->seed = 1;
}

static double cx(int logx, double step) { return logx ? log1p(fmax(step, 0.0)) : step; }

/* Linear interpolation of curve cv at x (in the grid's coordinate). */
static double interp(const llc_cluster_curve *cv, int logx, double x)
{
    int prev = -1;
    for (int i = 0; i < cv->n; i++) {
        if (!isfinite(cv->value[i])) continue;
        const double xi = cx(logx, cv->step[i]);
        if (xi == x) return cv->value[i];
        if (xi > x) {
            if (prev < 0) return cv->value[i];
            const double xp = cx(logx, cv->step[prev]);
            return cv->value[prev] + (x - xp) / (xi - xp) * (cv->value[i] - cv->value[prev]);
        }
        prev = i;
    }
    return prev >= 0 ? cv->value[prev] : NAN;
}

int llc_cluster_features(const llc_cluster_config *c, const llc_cluster_curve *cv, int n_curves, double **Xo,
                         int *dim, char *err)
{
    *Xo = NULL;
    *dim = 0;
    double lo = -INFINITY, hi = INFINITY;
    int distinct = 0;
    for (int j = 0; j < n_curves; j++) {
        double a = INFINITY, b = -INFINITY;
        int cnt = 0;
        for (int i = 0; i < cv[j].n; i++)
            if (isfinite(cv[j].value[i])) {
                a = fmin(a, cv[j].step[i]);
                b = fmax(b, cv[j].step[i]);
                cnt++;
            }
        if (cnt > distinct) distinct = cnt;
        lo = fmax(lo, a);
        hi = fmin(hi, b);
    }
    if (n_curves < 1 || !(hi > lo))
        return llc_fail(err, LLC_ERR_INVALID, "cluster: the curves share fewer than two steps (each needs points "
                                              "over a common range of steps)");
    int G = c->grid > 0 ? c->grid : distinct < 256 ? distinct : 256;
    if (G < 2) G = 2;
    double *X = malloc((size_t)n_curves * G * sizeof *X);
    if (!X) return LLC_ERR_NOMEM;
    const double x0 = cx(c->logx, lo), x1 = cx(c->logx, hi);
    for (int j = 0; j < n_curves; j++) {
        double *r = X + (size_t)j * G, mn = INFINITY, mx = -INFINITY, mean = 0.0, var = 0.0;
        for (int g = 0; g < G; g++) {
            r[g] = interp(&cv[j], c->logx, x0 + (x1 - x0) * g / (G - 1));
            mn = fmin(mn, r[g]);
            mx = fmax(mx, r[g]);
            mean += r[g];
        }
        mean /= G;
        for (int g = 0; g < G; g++) var += (r[g] - mean) * (r[g] - mean);
        const double sd = sqrt(var / G);
        for (int g = 0; g < G; g++) {
            if (c->scale == LLC_SCALE_MINMAX) r[g] = mx > mn ? (r[g] - mn) / (mx - mn) : 0.0;
            else if (c->scale == LLC_SCALE_ZSCORE) r[g] = sd > 0.0 ? (r[g] - mean) / sd : 0.0;
        }
    }
    *Xo = X;
    *dim = G;
    return LLC_OK;
}

static double dist2(const double *a, const double *b, int d)
{
    double s = 0.0;
    for (int i = 0; i < d; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
}

/* Renumber so cluster numbers follow the order of their first member
 * (labels are any non-negative ints; new ones are written as -(c+1) first). */
static void canonical(int *assign, int n)
{
    int next = 0;
    for (int i = 0; i < n; i++) {
        if (assign[i] < 0) continue;
        const int old = assign[i];
        for (int j = i; j < n; j++)
            if (assign[j] == old) assign[j] = -(next + 1);
        next++;
    }
    for (int i = 0; i < n; i++) assign[i] = -assign[i] - 1;
}

int llc_cluster_kmeans(const double *X, int n, int d, int k, int restarts, uint64_t seed, int *assign,
                       double *inertia)
{
    if (k < 1 || k > n || d < 1) return LLC_ERR_INVALID;
    if (restarts < 1) restarts = 10;
    int rc = LLC_OK;
    double *cen = malloc((size_t)k * d * sizeof *cen), *dmin = malloc((size_t)n * sizeof *dmin);
    int *a = malloc((size_t)n * sizeof *a), *cnt = malloc((size_t)k * sizeof *cnt);
    gsl_rng *rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_DATA, llc_hash_str("cluster"), 0, 0));
    if (!cen || !dmin || !a || !cnt || !rng) {
        rc = LLC_ERR_NOMEM;
        goto cleanup;
    }
    double best = INFINITY;
    for (int r = 0; r < restarts; r++) {
        /* k-means++: the first centre uniform, each next one with probability
         * proportional to the squared distance to the nearest chosen centre */
        int first = (int)gsl_rng_uniform_int(rng, (unsigned long)n);
        memcpy(cen, X + (size_t)first * d, (size_t)d * sizeof *cen);
        for (int i = 0; i < n; i++) dmin[i] = dist2(X + (size_t)i * d, cen, d);
        for (int c = 1; c < k; c++) {
            double tot = 0.0;
            for (int i = 0; i < n; i++) tot += dmin[i];
            int pick = n - 1;
            if (tot > 0.0) {
                double u = gsl_rng_uniform(rng) * tot, acc = 0.0;
                for (int i = 0; i < n; i++) {
                    acc += dmin[i];
                    if (u < acc) {
                        pick = i;
                        break;
                    }
                }
            } else {
                pick = (int)gsl_rng_uniform_int(rng, (unsigned long)n);
            }
            memcpy(cen + (size_t)c * d, X + (size_t)pick * d, (size_t)d * sizeof *cen);
            for (int i = 0; i < n; i++) dmin[i] = fmin(dmin[i], dist2(X + (size_t)i * d, cen + (size_t)c * d, d));
        }
        /* Lloyd's iterations */
        double sse = 0.0;
        for (int it = 0; it < 300; it++) {
            int changed = 0;
            sse = 0.0;
            for (int i = 0; i < n; i++) {
                int bc = 0;
                double bd = INFINITY;
                for (int c = 0; c < k; c++) {
                    const double dd = dist2(X + (size_t)i * d, cen + (size_t)c * d, d);
                    if (dd < bd) bd = dd, bc = c;
                }
                if (it == 0 || a[i] != bc) changed = 1;
                a[i] = bc;
                sse += bd;
            }
            if (!changed) break;
            memset(cen, 0, (size_t)k * d * sizeof *cen);
            memset(cnt, 0, (size_t)k * sizeof *cnt);
            for (int i = 0; i < n; i++) {
                cnt[a[i]]++;
                for (int j = 0; j < d; j++) cen[(size_t)a[i] * d + j] += X[(size_t)i * d + j];
            }
            for (int c = 0; c < k; c++)
                for (int j = 0; j < d; j++) {
                    if (cnt[c]) cen[(size_t)c * d + j] /= cnt[c];
                    else cen[(size_t)c * d + j] = X[(size_t)c * d + j]; /* an emptied cluster restarts at a point */
                }
        }
        if (sse < best) {
            best = sse;
            memcpy(assign, a, (size_t)n * sizeof *a);
        }
    }
    canonical(assign, n);
    if (inertia) *inertia = best;
cleanup:
    free(cen);
    free(dmin);
    free(a);
    free(cnt);
    if (rng) gsl_rng_free(rng);
    return rc;
}

int llc_cluster_hierarchical(const double *X, int n, int d, int k, int ward, int *assign)
{
    if (k < 1 || k > n || d < 1) return LLC_ERR_INVALID;
    /* Lance-Williams updates on a full distance matrix (squared Euclidean
     * for Ward, Euclidean for average linkage); clusters merged until k */
    double *D = malloc((size_t)n * n * sizeof *D);
    int *size = malloc((size_t)n * sizeof *size), *label = malloc((size_t)n * sizeof *label);
    if (!D || !size || !label) {
        free(D);
        free(size);
        free(label);
        return LLC_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        size[i] = 1;
        label[i] = i;
        for (int j = 0; j < n; j++) {
            const double q = dist2(X + (size_t)i * d, X + (size_t)j * d, d);
            D[(size_t)i * n + j] = ward ? q : sqrt(q);
        }
    }
    for (int left = n; left > k; left--) {
        int bi = -1, bj = -1;
        double bd = INFINITY;
        for (int i = 0; i < n; i++) {
            if (!size[i]) continue;
            for (int j = i + 1; j < n; j++)
                if (size[j] && D[(size_t)i * n + j] < bd) bd = D[(size_t)i * n + j], bi = i, bj = j;
        }
        const double ni = size[bi], nj = size[bj];
        for (int m = 0; m < n; m++) {
            if (!size[m] || m == bi || m == bj) continue;
            const double nm = size[m], dim = D[(size_t)bi * n + m], djm = D[(size_t)bj * n + m];
            const double nd = ward ? ((ni + nm) * dim + (nj + nm) * djm - nm * bd) / (ni + nj + nm)
                                   : (ni * dim + nj * djm) / (ni + nj);
            D[(size_t)bi * n + m] = D[(size_t)m * n + bi] = nd;
        }
        size[bi] += size[bj];
        size[bj] = 0;
        for (int m = 0; m < n; m++)
            if (label[m] == bj) label[m] = bi;
    }
    for (int i = 0; i < n; i++) assign[i] = label[i];
    canonical(assign, n);
    free(D);
    free(size);
    free(label);
    return LLC_OK;
}

int llc_cluster_curves(const llc_cluster_config *c, const llc_cluster_curve *cv, int n_curves, int *assign,
                       char *err)
{
    if (n_curves < 1) return llc_fail(err, LLC_ERR_INVALID, "cluster: no curves to cluster");
    if (c->k < 1 || c->k > n_curves)
        return llc_fail(err, LLC_ERR_INVALID, "cluster: k = %d, but there are %d curves (k must be 1..%d)", c->k,
                        n_curves, n_curves);
    double *X = NULL;
    int d = 0;
    int rc = llc_cluster_features(c, cv, n_curves, &X, &d, err);
    if (rc) return rc;
    if (c->method == LLC_CLUSTER_KMEANS) rc = llc_cluster_kmeans(X, n_curves, d, c->k, c->restarts, c->seed, assign, NULL);
    else rc = llc_cluster_hierarchical(X, n_curves, d, c->k, c->method == LLC_CLUSTER_WARD, assign);
    free(X);
    if (rc == LLC_ERR_NOMEM) return llc_fail(err, rc, "cluster: out of memory");
    return rc;
}

/* ---- the driver ---- */

const char *const llc_cluster_method_names[] = {"kmeans", "ward", "average", NULL};
const char *const llc_cluster_scale_names[] = {"minmax", "zscore", "none", NULL};

void llc_cluster_result_free(llc_cluster_result *r)
{
    if (!r) return;
    free(r->target);
    free(r->assign);
    memset(r, 0, sizeof *r);
}

char *llc_cluster_settings_json(const llc_cluster_config *c)
{
    char *s = malloc(256);
    if (!s) return NULL;
    snprintf(s, 256, "{\"grid\":%d,\"k\":%d,\"logx\":%d,\"method\":\"%s\",\"restarts\":%d,\"scale\":\"%s\",\"seed\":%llu}",
             c->grid, c->k, c->logx, llc_cluster_method_names[c->method], c->restarts > 0 ? c->restarts : 10,
             llc_cluster_scale_names[c->scale], (unsigned long long)c->seed);
    return s;
}

/* "L.H" with decimal L and H */
static int is_head(const char *t)
{
    int l, h, len = 0;
    return sscanf(t, "%d.%d%n", &l, &h, &len) == 2 && t[len] == '\0' && l >= 0 && h >= 0;
}

/* target listed in a comma list */
static int in_list(const char *list, const char *t)
{
    const size_t n = strlen(t);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, t, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int llc_cluster_run(llc_store *s, const llc_cluster_request *q, llc_cluster_result *r, char *err)
{
    memset(r, 0, sizeof *r);
    const char *curve = q->curve ? q->curve : "llc", *targets = q->targets ? q->targets : "heads";
    const int probe = strncmp(curve, "probe:", 6) == 0 && curve[6];
    if (!probe && strcmp(curve, "llc") != 0)
        return llc_fail(err, LLC_ERR_INVALID, "cluster: --of must be llc or probe:NAME, got '%s'", curve);
    const char *data = q->data ? q->data : probe ? "test" : "train";
    snprintf(r->data, sizeof r->data, "%s", data);
    int rc = LLC_OK, n_pts = 0, n = 0;
    llc_curve_point *cp = NULL;
    llc_probe_point *pp = NULL;
    llc_cluster_curve *cv = NULL;
    double *stp = NULL, *val = NULL;
    char *settings = NULL;
    rc = probe ? llc_probe_results_curves(s, q->run, curve + 6, NULL, data, &pp, &n_pts)
               : llc_results_curves(s, q->run, NULL, data, &cp, &n_pts);
    if (rc) {
        rc = llc_fail(err, rc, "cluster: %s", llc_store_errmsg(s));
        goto cleanup;
    }
    /* points come ordered by target then step: split them into curves */
    stp = malloc((size_t)(n_pts > 0 ? n_pts : 1) * sizeof *stp);
    val = malloc((size_t)(n_pts > 0 ? n_pts : 1) * sizeof *val);
    cv = calloc((size_t)(n_pts > 0 ? n_pts : 1), sizeof *cv);
    r->target = calloc((size_t)(n_pts > 0 ? n_pts : 1), sizeof *r->target);
    if (!stp || !val || !cv || !r->target) goto nomem;
    int m = 0;
    for (int i = 0; i < n_pts; i++) {
        const char *t = probe ? pp[i].target : cp[i].target;
        const int ok = strcmp(targets, "heads") == 0 ? is_head(t) : in_list(targets, t);
        if (!ok) continue;
        if (n == 0 || strcmp(r->target[n - 1], t) != 0) {
            snprintf(r->target[n], sizeof r->target[n], "%s", t);
            cv[n] = (llc_cluster_curve){stp + m, val + m, 0};
            n++;
        }
        stp[m] = (double)(probe ? pp[i].step : cp[i].step);
        val[m] = probe ? pp[i].value : cp[i].llc_mean;
        cv[n - 1].n++;
        m++;
    }
    if (n == 0) {
        rc = llc_fail(err, LLC_ERR_NOTFOUND,
                      "cluster: run '%s' has no %s curves of %s on %s (run llc %s --run %s%s first)", q->run, curve,
                      targets, data, probe ? "probe" : "estimate", q->run, probe ? "" : " --heads all");
        goto cleanup;
    }
    if (!(r->assign = malloc((size_t)n * sizeof *r->assign))) goto nomem;
    if ((rc = llc_cluster_curves(&q->method, cv, n, r->assign, err))) goto cleanup;
    r->n = n;
    r->k = q->method.k;
    if (q->store) {
        if (!(settings = llc_cluster_settings_json(&q->method))) goto nomem;
        if ((rc = llc_clusters_put(s, q->run, curve, data, settings, r->target, r->assign, n)))
            rc = llc_fail(err, rc, "cluster: %s", llc_store_errmsg(s));
    }
    goto cleanup;
nomem:
    rc = llc_fail(err, LLC_ERR_NOMEM, "cluster: out of memory");
cleanup:
    if (rc) llc_cluster_result_free(r);
    free(cp);
    free(pp);
    free(cv);
    free(stp);
    free(val);
    free(settings);
    return rc;
}
