/* baseline.c - the baseline format of llc_baseline.h: parsing and
 * validating a document, making one from a run in the store, and comparing
 * a run's estimates with it. */
#include "llc_baseline.h"
#include "llc_estimate_settings.h"
#include "llc_json.h"
#include "llc_results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const llc_baseline_resolved[4] = {"eps", "nbeta", "burnin", "thin"};

/* ---------------- making a baseline ---------------- */

/* A finite double as the shortest JSON number that reads back bit-identical
 * (cJSON's own printing may drop the last bit). */
static void add_exact(cJSON *o, const char *key, double v)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    cJSON_AddRawToObject(o, key, buf);
}

static void add_num_or_null(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) add_exact(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* The header of the baseline of run info: format, version, run, task,
 * config and tolerances; the "estimates" array into *groups. */
static int baseline_head(const llc_run_info *info, double tol_abs, double tol_rel, double tol_std, cJSON **doc,
                         cJSON **groups, char *err)
{
    cJSON *config = cJSON_Parse(info->config);
    if (!cJSON_IsObject(config)) {
        cJSON_Delete(config);
        return llc_fail(err, LLC_ERR_STORE, "run '%s' has a malformed stored config", info->id);
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "llc_baseline", LLC_BASELINE_FORMAT);
    cJSON_AddStringToObject(root, "llc_version", LLC_VERSION);
    cJSON_AddStringToObject(root, "run", info->id);
    cJSON_AddStringToObject(root, "task", info->task);
    cJSON_AddItemToObject(root, "config", config);
    cJSON *tol = cJSON_AddObjectToObject(root, "tolerance");
    add_exact(tol, "abs", tol_abs);
    add_exact(tol, "rel", tol_rel);
    add_exact(tol, "std", tol_std);
    *groups = cJSON_AddArrayToObject(root, "estimates");
    *doc = root;
    return LLC_OK;
}

int llc_baseline_make(llc_store *s, const llc_run_info *info, double tol_abs, double tol_rel, double tol_std,
                      cJSON **doc, int *n_points, char *err)
{
    const char *run = info->id;
    llc_estimate_row *r = NULL;
    cJSON *root = NULL, *groups = NULL;
    int rc, n = 0;
    *doc = NULL;
    *n_points = 0;
    if ((rc = baseline_head(info, tol_abs, tol_rel, tol_std, &root, &groups, err))) return rc;
    /* the estimate behind every point of the curves view, grouped by settings */
    if ((rc = llc_results_newest_ok(s, run, &r, &n))) {
        rc = llc_fail(err, rc, "%s", llc_store_errmsg(s));
        goto cleanup;
    }
    cJSON *g = NULL, *points = NULL;
    for (int i = 0; i < n; i++) {
        const llc_estimate_row *e = &r[i], *prev = i ? &r[i - 1] : NULL;
        if (!prev || strcmp(e->target, prev->target) || strcmp(e->data, prev->data) ||
            strcmp(e->settings, prev->settings)) {
            cJSON *settings = cJSON_Parse(e->settings);
            if (!cJSON_IsObject(settings)) {
                cJSON_Delete(settings);
                rc = llc_fail(err, LLC_ERR_STORE, "an estimate of run '%s' (target %s, data %s) has malformed settings",
                              run, e->target, e->data);
                goto cleanup;
            }
            g = cJSON_CreateObject();
            cJSON_AddItemToArray(groups, g);
            cJSON_AddStringToObject(g, "target", e->target);
            cJSON_AddStringToObject(g, "data", e->data);
            cJSON_AddItemToObject(g, "settings", settings);
            points = cJSON_AddArrayToObject(g, "points");
        }
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(points, p);
        cJSON_AddNumberToObject(p, "step", (double)e->step);
        add_num_or_null(p, "llc_mean", e->llc_mean);
        add_num_or_null(p, "llc_std", e->llc_std);
        add_num_or_null(p, "eps", e->eps);
        add_num_or_null(p, "nbeta", e->nbeta);
        add_num_or_null(p, "burnin", e->burnin);
        add_num_or_null(p, "thin", e->thin);
        (*n_points)++;
    }
    *doc = root;
    root = NULL;
cleanup:
    llc_results_rows_free(r, n);
    cJSON_Delete(root);
    return rc;
}

/* ---------------- parsing a baseline ---------------- */

void llc_baseline_free(llc_baseline *b)
{
    for (int i = 0; i < b->n_groups; i++) free(b->g[i].p);
    free(b->g);
    cJSON_Delete(b->doc);
    memset(b, 0, sizeof *b);
}

static int is_int(const cJSON *v, double lo) { return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble == floor(v->valuedouble) && v->valuedouble <= 9007199254740992.0; }

/* A group's settings must read back into an estimate config: the inverse
 * of what llc estimate stored (llc_estimate_settings_parse) judges them. */
static int check_settings(const cJSON *s, int gi, char *err)
{
    llc_estimate_config c;
    llc_estimate_settings_opts o;
    char why[LLC_ERRLEN] = "";
    llc_estimate_config_default(&c);
    if (llc_estimate_settings_parse(s, &c, &o, why) == LLC_OK) return 0;
    return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].%s", gi, why);
}

static int get_tol(const cJSON *tol, const char *key, double def, double *out, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tol, key);
    *out = def;
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
        return llc_fail(err, LLC_ERR_INVALID, "tolerance.%s must be a number >= 0", key);
    *out = v->valuedouble;
    return 0;
}

/* Parse and validate a baseline document. err names the problem. */
int llc_baseline_parse(const char *text, llc_baseline *b, char *err)
{
    memset(b, 0, sizeof *b);
    int rc = llc_json_parse(text, NULL, &b->doc, err);
    if (rc) return rc;
    const cJSON *root = b->doc, *v;
    if (!cJSON_IsObject(root)) return llc_fail(err, LLC_ERR_INVALID, "the top level must be a JSON object");
    v = cJSON_GetObjectItemCaseSensitive(root, "llc_baseline");
    if (!v) return llc_fail(err, LLC_ERR_INVALID, "not an llc baseline (no \"llc_baseline\": %d; make one with llc baseline)", LLC_BASELINE_FORMAT);
    if (!cJSON_IsNumber(v) || v->valuedouble != LLC_BASELINE_FORMAT)
        return llc_fail(err, LLC_ERR_INVALID, "\"llc_baseline\" must be %d (the format this llc reads)", LLC_BASELINE_FORMAT);
    v = cJSON_GetObjectItemCaseSensitive(root, "run");
    if (!cJSON_IsString(v) || !llc_run_id_valid(v->valuestring))
        return llc_fail(err, LLC_ERR_INVALID, "\"run\" must be a run id (1-64 letters, digits, '_', '-', '.')");
    b->run = v->valuestring;
    b->config = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (!cJSON_IsObject(b->config)) return llc_fail(err, LLC_ERR_INVALID, "\"config\" must be an object (a run config)");
    v = cJSON_GetObjectItemCaseSensitive(b->config, "task");
    if (!cJSON_IsString(v)) return llc_fail(err, LLC_ERR_INVALID, "config.task must be a task name");
    b->task = v->valuestring;
    const cJSON *tol = cJSON_GetObjectItemCaseSensitive(root, "tolerance");
    if (tol && !cJSON_IsObject(tol))
        return llc_fail(err, LLC_ERR_INVALID, "\"tolerance\" must be an object {\"abs\": A, \"rel\": R, \"std\": K}");
    if (get_tol(tol, "abs", LLC_BASELINE_TOL_ABS, &b->tol_abs, err) || get_tol(tol, "rel", LLC_BASELINE_TOL_REL, &b->tol_rel, err) ||
        get_tol(tol, "std", LLC_BASELINE_TOL_STD, &b->tol_std, err))
        return LLC_ERR_INVALID;
    const cJSON *est = cJSON_GetObjectItemCaseSensitive(root, "estimates");
    int ng = cJSON_IsArray(est) ? cJSON_GetArraySize(est) : 0;
    if (ng == 0) return llc_fail(err, LLC_ERR_INVALID, "\"estimates\" must be a non-empty array");
    if (!(b->g = calloc((size_t)ng, sizeof *b->g))) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    int gi = 0;
    for (const cJSON *ge = est->child; ge; ge = ge->next, gi++) {
        llc_baseline_group *g = &b->g[gi];
        b->n_groups = gi + 1;
        if (!cJSON_IsObject(ge)) return llc_fail(err, LLC_ERR_INVALID, "estimates[%d] must be an object", gi);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(ge, "target"), *d = cJSON_GetObjectItemCaseSensitive(ge, "data");
        if (!cJSON_IsString(t) || !*t->valuestring || strlen(t->valuestring) >= 64)
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].target must be a target name (e.g. \"model\", \"0.3\")", gi);
        if (!cJSON_IsString(d) || !*d->valuestring || strlen(d->valuestring) >= 64)
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].data must be a distribution name (e.g. \"train\")", gi);
        g->target = t->valuestring;
        g->data = d->valuestring;
        g->settings = cJSON_GetObjectItemCaseSensitive(ge, "settings");
        if (!cJSON_IsObject(g->settings))
            return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].settings must be an object", gi);
        if (check_settings(g->settings, gi, err)) return LLC_ERR_INVALID;
        const cJSON *pts = cJSON_GetObjectItemCaseSensitive(ge, "points");
        int np = cJSON_IsArray(pts) ? cJSON_GetArraySize(pts) : 0;
        if (np == 0) return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points must be a non-empty array", gi);
        if (!(g->p = calloc((size_t)np, sizeof *g->p))) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        int pi = 0;
        for (const cJSON *pe = pts->child; pe; pe = pe->next, pi++) {
            llc_baseline_point *p = &g->p[pi];
            g->n = pi + 1;
            if (!cJSON_IsObject(pe)) return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d] must be an object", gi, pi);
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(pe, "step"), *m = cJSON_GetObjectItemCaseSensitive(pe, "llc_mean"),
                        *sd = cJSON_GetObjectItemCaseSensitive(pe, "llc_std");
            if (!is_int(s, 0))
                return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].step must be an integer >= 0", gi, pi);
            if (!cJSON_IsNumber(m))
                return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].llc_mean must be a number", gi, pi);
            if (sd && !cJSON_IsNumber(sd) && !cJSON_IsNull(sd))
                return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].llc_std must be a number or null", gi, pi);
            p->step = (long long)s->valuedouble;
            for (int q = 0; q < pi; q++)
                if (g->p[q].step == p->step)
                    return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points has step %lld twice", gi, p->step);
            p->mean = m->valuedouble;
            p->std = cJSON_IsNumber(sd) ? sd->valuedouble : NAN;
            for (int r = 0; r < 4; r++) {
                const cJSON *x = cJSON_GetObjectItemCaseSensitive(pe, llc_baseline_resolved[r]);
                if (x && !cJSON_IsNumber(x) && !cJSON_IsNull(x))
                    return llc_fail(err, LLC_ERR_INVALID, "estimates[%d].points[%d].%s must be a number or null", gi,
                                    pi, llc_baseline_resolved[r]);
                p->res[r] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
            }
        }
        b->n_points += np;
        for (int q = 0; q < gi; q++)
            if (strcmp(b->g[q].target, g->target) == 0 && strcmp(b->g[q].data, g->data) == 0)
                for (int i = 0; i < g->n; i++)
                    for (int j = 0; j < b->g[q].n; j++)
                        if (g->p[i].step == b->g[q].p[j].step)
                            return llc_fail(err, LLC_ERR_INVALID, "target %s, data %s, step %lld appears in "
                                            "estimates[%d] and estimates[%d]", g->target, g->data, g->p[i].step, q, gi);
    }
    return 0;
}

/* Settings equal apart from the llc version that wrote them. */
static int same_settings(const cJSON *want, const char *got_text)
{
    cJSON *a = cJSON_Duplicate(want, 1), *b = cJSON_Parse(got_text);
    int same = 0;
    if (a && cJSON_IsObject(b)) {
        cJSON_DeleteItemFromObjectCaseSensitive(a, "version");
        cJSON_DeleteItemFromObjectCaseSensitive(b, "version");
        /* plain SGLD was recorded as sampler "none" before it was named "sgld"; an
         * automatic eps without eps_divisor was the ladder's own (divisor 1) */
        for (cJSON *o = a; o; o = o == a ? b : NULL) {
            const cJSON *smp = cJSON_GetObjectItemCaseSensitive(o, "sampler");
            if (cJSON_IsString(smp) && strcmp(smp->valuestring, "none") == 0)
                cJSON_ReplaceItemInObjectCaseSensitive(o, "sampler", cJSON_CreateString("sgld"));
            if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "eps")) &&
                !cJSON_GetObjectItemCaseSensitive(o, "eps_divisor"))
                cJSON_AddNumberToObject(o, "eps_divisor", 1);
        }
        same = cJSON_Compare(a, b, 1);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}

/* ---------------- comparing a run with it ---------------- */

/* The newest estimate of point p of group g with g's settings into c. */
static int check_point(llc_store *s, const char *run, const llc_baseline_group *g, const llc_baseline_point *p,
                       llc_point_check *c)
{
    llc_estimate_row *r = NULL;
    int n = 0, rc = llc_results_point(s, run, g->target, g->data, p->step, &r, &n);
    c->got = NAN;
    for (int k = 0; k < 4; k++) c->res[k] = NAN;
    for (int i = 0; i < n; i++) {
        c->rows++;
        if (!same_settings(g->settings, r[i].settings)) continue;
        c->found = 1;
        c->got = r[i].llc_mean;
        snprintf(c->status, sizeof c->status, "%s", r[i].status);
        c->res[0] = r[i].eps;
        c->res[1] = r[i].nbeta;
        c->res[2] = r[i].burnin;
        c->res[3] = r[i].thin;
        break;
    }
    llc_results_rows_free(r, n);
    return rc;
}

/* The verdict on point p from c: missing, REGRESSED (not ok, not finite,
 * beyond every tolerance) or ok. */
static llc_point_verdict judge(const llc_point_check *c, const llc_baseline_point *p, double tol_abs, double tol_rel,
                               double tol_std)
{
    const double ad = fabs(c->got - p->mean);
    if (!c->found) return LLC_POINT_MISSING;
    if (strcmp(c->status, "ok") != 0 || !isfinite(c->got)) return LLC_POINT_REGRESSED;
    if (ad <= tol_abs || ad <= tol_rel * fabs(p->mean) || (isfinite(p->std) && ad <= tol_std * p->std))
        return LLC_POINT_OK;
    return LLC_POINT_REGRESSED;
}

int llc_baseline_compare(const llc_baseline *b, llc_store *s, const char *run, double tol_abs, double tol_rel,
                         double tol_std, llc_point_check **out, char *err)
{
    llc_point_check *c = calloc((size_t)(b->n_points > 0 ? b->n_points : 1), sizeof *c);
    int rc = LLC_OK, k = 0;
    *out = NULL;
    if (!c) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int gi = 0; gi < b->n_groups; gi++)
        for (int pi = 0; pi < b->g[gi].n; pi++, k++) {
            c[k].group = gi;
            c[k].point = pi;
            if ((rc = check_point(s, run, &b->g[gi], &b->g[gi].p[pi], &c[k]))) {
                rc = llc_fail(err, rc, "%s", llc_store_errmsg(s));
                goto cleanup;
            }
            c[k].verdict = judge(&c[k], &b->g[gi].p[pi], tol_abs, tol_rel, tol_std);
        }
    *out = c;
    c = NULL;
cleanup:
    free(c);
    return rc;
}
