/* stages.c - stage boundaries from curves; see llc_stages.h and ANALYSIS.md. */
#include "llc_stages.h"
#include "llc_analysis_results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const llc_stage_kind_names[] = {"max", "min", "drop", "spike", "cross", NULL};

void llc_stages_config_default(llc_stages_config *c)
{
    memset(c, 0, sizeof *c);
    c->logx = 1;
    c->bandwidth = 0.0;
    c->min_len = 3;
    c->drop_ratio = 3.0;
    c->spike_factor = 1.5;
    c->spike_window = 50;
}

int llc_stages_config_check(const llc_stages_config *c, char *err)
{
    if (!(c->bandwidth >= 0.0) || !isfinite(c->bandwidth))
        return llc_fail(err, LLC_ERR_INVALID, "stages: bandwidth must be >= 0 (0 = automatic), got %g", c->bandwidth);
    if (c->min_len < 1) return llc_fail(err, LLC_ERR_INVALID, "stages: min_len must be >= 1, got %d", c->min_len);
    if (!(c->drop_ratio > 0.0) || !isfinite(c->drop_ratio))
        return llc_fail(err, LLC_ERR_INVALID, "stages: drop_ratio must be > 0, got %g", c->drop_ratio);
    if (!(c->spike_factor > 1.0) || !isfinite(c->spike_factor))
        return llc_fail(err, LLC_ERR_INVALID, "stages: spike_factor must be > 1, got %g", c->spike_factor);
    if (c->spike_window < 3)
        return llc_fail(err, LLC_ERR_INVALID, "stages: spike_window must be >= 3, got %d", c->spike_window);
    return LLC_OK;
}

static double xof(const llc_stages_config *c, double step) { return c->logx ? log1p(fmax(step, 0.0)) : step; }
static double stepof(const llc_stages_config *c, double x) { return c->logx ? expm1(x) : x; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int llc_stages_smooth(const llc_stages_config *c, const double *step, const double *y, int n, double *ys,
                      double *sigma)
{
    double *x = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *x);
    if (!x) return LLC_ERR_NOMEM;
    double *gap = x + n;
    for (int i = 0; i < n; i++) x[i] = xof(c, step[i]);
    double s = c->bandwidth;
    if (s <= 0.0) {
        for (int i = 0; i + 1 < n; i++) gap[i] = x[i + 1] - x[i];
        if (n >= 2) qsort(gap, (size_t)(n - 1), sizeof *gap, cmp_double);
        s = n >= 2 ? 1.5 * gap[(n - 2) / 2] : 1.0;
        if (!(s > 0.0)) s = 1.0;
    }
    for (int i = 0; i < n; i++) {
        double num = 0.0, den = 0.0;
        for (int j = 0; j < n; j++) {
            if (!isfinite(y[j])) continue;
            const double d = (x[j] - x[i]) / s, k = exp(-0.5 * d * d);
            num += k * y[j];
            den += k;
        }
        ys[i] = den > 0.0 ? num / den : NAN;
    }
    if (sigma) *sigma = s;
    free(x);
    return LLC_OK;
}

/* Append a stage to a growing array (cap n: out was sized for n). */
static void put(llc_stage *out, int *k, double step, int kind, double value)
{
    out[*k].step = step;
    out[*k].kind = kind;
    out[*k].value = value;
    (*k)++;
}

int llc_stages_critical(const llc_stages_config *c, const double *step, const double *y, int n, llc_stage **out,
                        int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n < 3) return LLC_OK;
    int rc = LLC_OK;
    double *ys = malloc((size_t)n * sizeof *ys);
    int *idx = malloc((size_t)n * sizeof *idx), *kind = malloc((size_t)n * sizeof *kind);
    llc_stage *st = NULL;
    if (!ys || !idx || !kind) {
        rc = LLC_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = llc_stages_smooth(c, step, y, n, ys, NULL))) goto cleanup;
    /* sign changes of the first difference, flat runs skipped: a critical
     * point sits at the last point before the direction changes */
    int m = 0, dir = 0, last = 0;
    for (int i = 0; i + 1 < n; i++) {
        const double d = ys[i + 1] - ys[i];
        const int s = d > 0.0 ? 1 : d < 0.0 ? -1 : 0;
        if (s == 0 || !isfinite(d)) continue;
        if (dir != 0 && s != dir) {
            idx[m] = (last + 1 + i) / 2; /* the turning point (a plateau's middle) */
            kind[m] = dir > 0 ? LLC_STAGE_MAX : LLC_STAGE_MIN;
            m++;
        }
        dir = s;
        last = i;
    }
    /* minimum stage length: drop a boundary nearer than min_len to an end,
     * then, while two neighbouring boundaries are nearer than min_len, the
     * closest such pair (both, so maxima and minima keep alternating) */
    int lo = 0;
    while (lo < m && idx[lo] < c->min_len) lo++;
    int hi = m;
    while (hi > lo && (n - 1) - idx[hi - 1] < c->min_len) hi--;
    memmove(idx, idx + lo, (size_t)(hi - lo) * sizeof *idx);
    memmove(kind, kind + lo, (size_t)(hi - lo) * sizeof *kind);
    m = hi - lo;
    for (;;) {
        int best = -1, bgap = c->min_len;
        for (int i = 0; i + 1 < m; i++)
            if (idx[i + 1] - idx[i] < bgap) {
                bgap = idx[i + 1] - idx[i];
                best = i;
            }
        if (best < 0) break;
        memmove(idx + best, idx + best + 2, (size_t)(m - best - 2) * sizeof *idx);
        memmove(kind + best, kind + best + 2, (size_t)(m - best - 2) * sizeof *kind);
        m -= 2;
    }
    if (m > 0) {
        if (!(st = malloc((size_t)m * sizeof *st))) {
            rc = LLC_ERR_NOMEM;
            goto cleanup;
        }
        int k = 0;
        for (int i = 0; i < m; i++) put(st, &k, step[idx[i]], kind[i], ys[idx[i]]);
    }
    *out = st;
    *n_out = m;
cleanup:
    free(ys);
    free(idx);
    free(kind);
    return rc;
}

int llc_stages_drops(const llc_stages_config *c, const double *step, const double *y, int n, llc_stage **out,
                     int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n < 3) return LLC_OK;
    int rc = LLC_OK, m = 0;
    double *ys = malloc((size_t)n * 3 * sizeof *ys);
    int *keep = malloc((size_t)n * sizeof *keep);
    llc_stage *st = NULL;
    if (!ys || !keep) {
        rc = LLC_ERR_NOMEM;
        goto cleanup;
    }
    double *x = ys + n, *g = ys + 2 * n;
    if ((rc = llc_stages_smooth(c, step, y, n, ys, NULL))) goto cleanup;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        x[i] = xof(c, step[i]);
        if (isfinite(ys[i])) lo = fmin(lo, ys[i]), hi = fmax(hi, ys[i]);
    }
    const double span = x[n - 1] - x[0];
    if (!(span > 0.0) || !(hi > lo)) goto cleanup;
    const double mean_slope = (hi - lo) / span;
    for (int i = 0; i + 1 < n; i++) g[i] = (ys[i + 1] - ys[i]) / (x[i + 1] - x[i]);
    /* candidates: local minima of the slope steeper than the threshold, the
     * steepest first; keep one unless a kept one is within min_len */
    for (;;) {
        int best = -1;
        for (int i = 0; i + 1 < n; i++) {
            if (!(-g[i] > c->drop_ratio * mean_slope)) continue;
            if ((i > 0 && g[i - 1] < g[i]) || (i + 2 < n && g[i + 1] < g[i])) continue; /* not a local minimum */
            int near = 0;
            for (int j = 0; j < m; j++)
                if (abs(keep[j] - i) < c->min_len) near = 1;
            if (near) continue;
            if (best < 0 || g[i] < g[best]) best = i;
        }
        if (best < 0) break;
        keep[m++] = best;
    }
    if (m > 0) {
        if (!(st = malloc((size_t)m * sizeof *st))) {
            rc = LLC_ERR_NOMEM;
            goto cleanup;
        }
        /* in step order */
        for (int i = 1; i < m; i++)
            for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
                int t = keep[j];
                keep[j] = keep[j - 1];
                keep[j - 1] = t;
            }
        int k = 0;
        for (int i = 0; i < m; i++) {
            const int a = keep[i];
            put(st, &k, stepof(c, 0.5 * (x[a] + x[a + 1])), LLC_STAGE_DROP, 0.5 * (ys[a] + ys[a + 1]));
        }
    }
    *out = st;
    *n_out = m;
cleanup:
    free(ys);
    free(keep);
    return rc;
}

int llc_stages_spikes(const llc_stages_config *c, const double *step, const double *y, int n, llc_stage **out,
                      int *n_out)
{
    *out = NULL;
    *n_out = 0;
    const int W = c->spike_window;
    int rc = LLC_OK, m = 0;
    double *win = malloc((size_t)(W > 0 ? W : 1) * sizeof *win);
    llc_stage *st = malloc((size_t)(n > 0 ? n : 1) * sizeof *st);
    if (!win || !st) {
        rc = LLC_ERR_NOMEM;
        goto cleanup;
    }
    int in = 0; /* inside a run of spiking rows */
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = i - 1; j >= 0 && k < W; j--)
            if (isfinite(y[j])) win[k++] = y[j];
        int hot = 0;
        if (k >= 3 && isfinite(y[i])) {
            qsort(win, (size_t)k, sizeof *win, cmp_double);
            const double med = k % 2 ? win[k / 2] : 0.5 * (win[k / 2 - 1] + win[k / 2]);
            hot = y[i] > c->spike_factor * med;
        }
        if (hot && in && y[i] > st[m - 1].value) {
            st[m - 1].step = step[i];
            st[m - 1].value = y[i];
        } else if (hot && !in) {
            put(st, &m, step[i], LLC_STAGE_SPIKE, y[i]);
        }
        in = hot;
    }
    if (m == 0) {
        free(st);
        st = NULL;
    }
    *out = st;
    *n_out = m;
    st = NULL;
cleanup:
    free(st);
    free(win);
    return rc;
}

int llc_stages_cross(const double *step, const double *y, int n, double level, double *at)
{
    int prev = -1;
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i])) continue;
        if (y[i] == level) {
            *at = step[i];
            return LLC_OK;
        }
        if (prev >= 0 && (y[prev] - level) * (y[i] - level) < 0.0) {
            *at = step[prev] + (level - y[prev]) / (y[i] - y[prev]) * (step[i] - step[prev]);
            return LLC_OK;
        }
        prev = i;
    }
    return LLC_ERR_NOTFOUND;
}

/* ---- the driver ---- */

void llc_stages_result_free(llc_stages_result *r)
{
    if (!r) return;
    free(r->rows);
    free(r->crossed);
    free(r->cross_step);
    memset(r, 0, sizeof *r);
}

char *llc_stages_settings_json(const llc_stages_config *c)
{
    char *s = malloc(256);
    if (!s) return NULL;
    snprintf(s, 256,
             "{\"bandwidth\":%.17g,\"drop_ratio\":%.17g,\"logx\":%d,\"min_len\":%d,\"spike_factor\":%.17g,"
             "\"spike_window\":%d}",
             c->bandwidth, c->drop_ratio, c->logx, c->min_len, c->spike_factor, c->spike_window);
    return s;
}

/* Append found stages of one curve to r (rows has room: grown here). */
static int append(llc_stages_result *r, int *cap, const char *source, const char *target, const llc_stage *st, int n)
{
    if (r->n + n > *cap) {
        int nc = *cap ? *cap : 16;
        while (nc < r->n + n) nc *= 2;
        llc_stage_found *p = realloc(r->rows, (size_t)nc * sizeof *p);
        if (!p) return LLC_ERR_NOMEM;
        r->rows = p;
        *cap = nc;
    }
    for (int i = 0; i < n; i++) {
        llc_stage_found *f = &r->rows[r->n++];
        snprintf(f->source, sizeof f->source, "%s", source);
        snprintf(f->target, sizeof f->target, "%s", target);
        f->st = st[i];
    }
    return LLC_OK;
}

int llc_stages_find(llc_store *s, const llc_stages_request *q, llc_stages_result *r, char *err)
{
    memset(r, 0, sizeof *r);
    const char *target = q->target ? q->target : "model", *data = q->data ? q->data : "train";
    int rc = llc_stages_config_check(&q->method, err), cap = 0, n_keys = 0;
    if (rc) return rc;
    llc_series sr = {0};
    llc_stage *st = NULL;
    char *settings = NULL;
    llc_stage_found *keys = calloc((size_t)(q->n_cross + 4), sizeof *keys);
    r->crossed = calloc((size_t)(q->n_cross > 0 ? q->n_cross : 1), 1);
    r->cross_step = calloc((size_t)(q->n_cross > 0 ? q->n_cross : 1), sizeof *r->cross_step);
    if (!keys || !r->crossed || !r->cross_step) goto nomem;
    /* the --cross specs first: a bad one writes nothing */
    for (int i = 0; i < q->n_cross; i++) {
        const char *eq = strrchr(q->cross[i], '=');
        char *end = NULL;
        if (!eq || eq == q->cross[i] || !eq[1] || (strtod(eq + 1, &end), *end) || !isfinite(strtod(eq + 1, NULL))) {
            rc = llc_fail(err, LLC_ERR_INVALID,
                          "stages: --cross '%s' is not CURVE=LEVEL (e.g. test_loss=0.35, llc:model=20)", q->cross[i]);
            goto cleanup;
        }
        if ((int)(eq - q->cross[i]) >= 60) {
            rc = llc_fail(err, LLC_ERR_INVALID, "stages: --cross curve name too long: '%s'", q->cross[i]);
            goto cleanup;
        }
    }
    if (q->want_llc) {
        char name[80];
        snprintf(name, sizeof name, "llc:%s", target);
        if ((rc = llc_series_get(s, q->run, name, data, &sr, err))) goto cleanup;
        r->llc_points = sr.n;
        int m = 0;
        if ((rc = llc_stages_critical(&q->method, sr.step, sr.value, sr.n, &st, &m))) goto cleanup;
        if ((rc = append(r, &cap, "llc", target, st, m))) goto cleanup;
        snprintf(keys[n_keys].source, sizeof keys[n_keys].source, "llc");
        snprintf(keys[n_keys++].target, sizeof keys[0].target, "%s", target);
        free(st);
        st = NULL;
        llc_series_free(&sr);
    }
    if (q->want_loss) {
        static const char *const losses[] = {"test_loss", "train_loss"};
        for (int j = 0; j < 2; j++) {
            if ((rc = llc_series_get(s, q->run, losses[j], data, &sr, err))) goto cleanup;
            r->loss_points = sr.n;
            int m = 0;
            if ((rc = llc_stages_drops(&q->method, sr.step, sr.value, sr.n, &st, &m))) goto cleanup;
            if ((rc = append(r, &cap, "loss", losses[j], st, m))) goto cleanup;
            snprintf(keys[n_keys].source, sizeof keys[n_keys].source, "loss");
            snprintf(keys[n_keys++].target, sizeof keys[0].target, "%s", losses[j]);
            free(st);
            st = NULL;
            llc_series_free(&sr);
        }
        if ((rc = llc_series_get(s, q->run, "log_loss", data, &sr, err))) goto cleanup;
        r->log_rows = sr.n;
        int m = 0;
        if ((rc = llc_stages_spikes(&q->method, sr.step, sr.value, sr.n, &st, &m))) goto cleanup;
        if ((rc = append(r, &cap, "loss", "train_log", st, m))) goto cleanup;
        snprintf(keys[n_keys].source, sizeof keys[n_keys].source, "loss");
        snprintf(keys[n_keys++].target, sizeof keys[0].target, "train_log");
        free(st);
        st = NULL;
        llc_series_free(&sr);
    }
    for (int i = 0; i < q->n_cross; i++) {
        const char *eq = strrchr(q->cross[i], '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - q->cross[i]), q->cross[i]);
        const double level = strtod(eq + 1, NULL);
        if ((rc = llc_series_get(s, q->run, name, q->data, &sr, err))) {
            char why[LLC_ERRLEN];
            snprintf(why, sizeof why, "%s", err);
            rc = llc_fail(err, rc, "stages: --cross %s: %s", q->cross[i], why);
            goto cleanup;
        }
        double at = 0.0;
        rc = llc_stages_cross(sr.step, sr.value, sr.n, level, &at);
        llc_series_free(&sr);
        snprintf(keys[n_keys].source, sizeof keys[n_keys].source, "cross");
        snprintf(keys[n_keys++].target, sizeof keys[0].target, "%s", q->cross[i]);
        if (rc == LLC_ERR_NOTFOUND) {
            rc = LLC_OK;
            continue;
        }
        r->crossed[i] = 1;
        r->cross_step[i] = at;
        const llc_stage one = {at, LLC_STAGE_CROSS, level};
        if ((rc = append(r, &cap, "cross", q->cross[i], &one, 1))) goto cleanup;
    }
    if (q->store) {
        if (!(settings = llc_stages_settings_json(&q->method))) goto nomem;
        if ((rc = llc_stages_put(s, q->run, data, settings, keys, n_keys, r->rows, r->n)))
            rc = llc_fail(err, rc, "stages: %s", llc_store_errmsg(s));
    }
    goto cleanup;
nomem:
    rc = llc_fail(err, LLC_ERR_NOMEM, "stages: out of memory");
cleanup:
    if (rc) llc_stages_result_free(r);
    llc_series_free(&sr);
    free(st);
    free(keys);
    free(settings);
    return rc;
}
