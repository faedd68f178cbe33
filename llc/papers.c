/* papers.c - the claims of the four studies checked against a store (see
 * llc_papers.h); the thresholds are those of llc/PAPERS_REPRO.md. */
#include "llc_papers.h"
#include "llc_analysis_results.h"
#include "llc_eval.h"
#include "llc_plot.h"
#include "llc_probe_results.h"
#include "llc_results.h"
#include "llc_run.h"
#include "llc_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const llc_paper_verdict_names[] = {"reproduced", "partly", "not reproduced", "not measured"};
const char *const llc_paper_names[] = {"sort", "text", "icl", "modadd", NULL};

/* Append to a claim's text buffer. */
static void add(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t n, const char *fmt, ...)
{
    size_t k = strlen(buf);
    if (k + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, n - k, fmt, ap);
    va_end(ap);
}
#define ADD(field, ...) add(c->field, sizeof c->field, __VA_ARGS__)

static llc_paper_claim *claim_new(llc_paper_result *r, const char *text)
{
    llc_paper_claim *c = &r->claim[r->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->text, sizeof c->text, "%s", text);
    c->verdict = LLC_PAPER_NOT_MEASURED;
    return c;
}

static int need_run(llc_store *s, const char *run, const char *name, char *err)
{
    llc_run_info info = {0};
    int rc = llc_store_run_get(s, run, &info);
    llc_run_info_free(&info);
    if (rc == LLC_ERR_NOTFOUND)
        return llc_fail(err, rc, "paper %s: no run '%s' in the store: run the study first (make paper-%s)", name, run,
                        name);
    if (rc) return llc_fail(err, rc, "%s", llc_store_errmsg(s));
    return LLC_OK;
}

static int has_run(llc_store *s, const char *run)
{
    llc_run_info info = {0};
    int rc = llc_store_run_get(s, run, &info);
    llc_run_info_free(&info);
    return rc == LLC_OK;
}

/* The probe values of one probe at the run's last probed step: value per
 * head in v (indexed l * n_heads + h, NAN where absent), its step. */
typedef struct {
    double v[64];
    char target[64][32];
    int n;
    long long step;
} probe_last;

static int probe_at_last(llc_store *s, const char *run, const char *probe, probe_last *out)
{
    llc_probe_point *p = NULL;
    int n = 0, rc = llc_probe_results_curves(s, run, probe, NULL, NULL, &p, &n);
    memset(out, 0, sizeof *out);
    out->step = -1;
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        if (p[i].step > out->step) out->step = p[i].step;
    for (int i = 0; i < n && out->n < 64; i++)
        if (p[i].step == out->step) {
            snprintf(out->target[out->n], sizeof out->target[0], "%s", p[i].target);
            out->v[out->n++] = p[i].value;
        }
    free(p);
    return LLC_OK;
}

/* The value of target in a probe_last (NAN when absent). */
static double pl_get(const probe_last *p, const char *target)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->target[i], target) == 0) return p->v[i];
    return NAN;
}

/* The curve points of (run, target, data) at the run's last estimated step. */
static int curve_last(llc_store *s, const char *run, const char *data, llc_curve_point **pts, int *n, long long *step)
{
    llc_curve_point *p = NULL;
    int m = 0, rc = llc_results_curves(s, run, NULL, data, &p, &m);
    *pts = NULL;
    *n = 0;
    *step = -1;
    if (rc) return rc;
    for (int i = 0; i < m; i++)
        if (p[i].step > *step) *step = p[i].step;
    int k = 0;
    for (int i = 0; i < m; i++)
        if (p[i].step == *step) p[k++] = p[i];
    *pts = p;
    *n = k;
    return LLC_OK;
}

static double curve_get(const llc_curve_point *p, int n, const char *target)
{
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].target, target) == 0) return p[i].llc_mean;
    return NAN;
}

/* ---------------- sort ---------------- */

/* Vocabulary splitting at the last probed step of run: how close the OV
 * ownership map is to one range per head (q = 1) from random (q = 0). */
static int sort_split(llc_store *s, llc_paper_result *r, const char *run, const char *label)
{
    char text[200];
    snprintf(text, sizeof text, "Vocabulary splitting at the end of training %s: each head owns one range of values",
             label);
    llc_paper_claim *c = claim_new(r, text);
    probe_last own, seg;
    int rc;
    if ((rc = probe_at_last(s, run, "owned_ov", &own)) || (rc = probe_at_last(s, run, "segments_ov", &seg))) return rc;
    double segs = pl_get(&seg, "model");
    if (own.n == 0 || isnan(segs)) {
        ADD(seen, "run %s has no ownership probes (llc probe --run %s)", run, run);
        return LLC_OK;
    }
    int heads = own.n, owners = 0;
    double n_own = 0;
    for (int i = 0; i < own.n; i++) {
        n_own += own.v[i];
        owners += own.v[i] > 0;
    }
    double random = n_own * (1.0 - 1.0 / heads) + 1, q = random > owners ? (random - segs) / (random - owners) : 0;
    ADD(measured, "run %s, step %lld: %.0f segments of the OV ownership map over %.0f values (one range per owning "
        "head: %d; random among %d heads: %.1f); tokens owned:", run, seg.step, segs, n_own, owners, heads, random);
    for (int i = 0; i < own.n; i++) ADD(measured, " %s %.0f", own.target[i], own.v[i]);
    ADD(measured, "; split quality q = %.2f", q);
    c->verdict = q >= 0.7 ? LLC_PAPER_REPRODUCED : q >= 0.3 ? LLC_PAPER_PARTLY : LLC_PAPER_NOT_REPRODUCED;
    ADD(seen, "q = %.2f (reproduced at q >= 0.7, partly at q >= 0.3)", q);
    return LLC_OK;
}

static int sort_copy_suppression(llc_store *s, llc_paper_result *r, const char *const *runs, int n_runs)
{
    llc_paper_claim *c = claim_new(r, "A copy-suppression head forms, and ablating it raises the loss");
    int found = 0, measured = 0, hurts = 0;
    for (int k = 0; k < n_runs; k++) {
        probe_last cs, cp, ab;
        int rc;
        if ((rc = probe_at_last(s, runs[k], "copy_suppression", &cs)) || (rc = probe_at_last(s, runs[k], "copying", &cp)) ||
            (rc = probe_at_last(s, runs[k], "ablation_zero", &ab)))
            return rc;
        if (cs.n == 0) continue;
        measured = 1;
        int best = 0;
        for (int i = 1; i < cs.n; i++)
            if (cs.v[i] > cs.v[best]) best = i;
        double copying = pl_get(&cp, cs.target[best]), abl = pl_get(&ab, cs.target[best]);
        int is_cs = cs.v[best] > 0.5 && copying < 0.5;
        ADD(measured, "%srun %s, step %lld: most copy-suppressing head %s: copy_suppression %.3f, copying %.3f, "
            "zero-ablation loss change %+.4f%s", k ? "; " : "", runs[k], cs.step, cs.target[best], cs.v[best], copying,
            abl, is_cs ? " (a copy-suppression head)" : "");
        found += is_cs;
        hurts += is_cs && abl > 0.01;
    }
    if (!measured) {
        ADD(seen, "no copy_suppression probes stored");
        return LLC_OK;
    }
    c->verdict = hurts ? LLC_PAPER_REPRODUCED : found ? LLC_PAPER_PARTLY : LLC_PAPER_NOT_REPRODUCED;
    ADD(seen, "%d run(s) with a head of copy_suppression > 0.5 and copying < 0.5, %d whose ablation raises the loss by "
        "more than 0.01 (reproduced: one such head that matters; partly: the head without the effect)", found, hurts);
    return LLC_OK;
}

static int sort_llc(llc_store *s, llc_paper_result *r, const char *run)
{
    llc_paper_claim *c = claim_new(r, "The LLC rises with the steep loss drop, then falls as the heads specialise; "
                                      "stages of the LLC curve against the loss");
    llc_series lc = {0};
    char err[LLC_ERRLEN];
    int rc = llc_series_get(s, run, "llc:model", NULL, &lc, err);
    if (rc == LLC_ERR_NOTFOUND || lc.n < 3) {
        ADD(seen, "run %s has fewer than 3 points of its LLC curve", run);
        llc_series_free(&lc);
        return LLC_OK;
    }
    if (rc) return rc;
    int imax = 0;
    for (int i = 1; i < lc.n; i++)
        if (lc.value[i] > lc.value[imax]) imax = i;
    double first = lc.value[0], mx = lc.value[imax], last = lc.value[lc.n - 1];
    llc_stage_row *st = NULL;
    int ns = 0;
    if ((rc = llc_stages_get(s, run, NULL, &st, &ns))) {
        llc_series_free(&lc);
        return rc;
    }
    double drop = NAN;
    for (int i = 0; i < ns; i++)
        if (strcmp(st[i].source, "loss") == 0 && strcmp(st[i].target, "test_loss") == 0 &&
            strcmp(st[i].kind, "drop") == 0 && isnan(drop))
            drop = st[i].step;
    ADD(measured, "run %s: LLC %.4g at step %.0f, max %.4g at step %.0f, %.4g at the last step %.0f; first test-loss "
        "drop at step %.0f; LLC stage boundaries at steps:", run, first, lc.step[0], mx, lc.step[imax], last,
        lc.step[lc.n - 1], drop);
    int nb = 0;
    for (int i = 0; i < ns; i++)
        if (strcmp(st[i].source, "llc") == 0 && strcmp(st[i].target, "model") == 0) {
            ADD(measured, " %.0f (%s)", st[i].step, st[i].kind);
            nb++;
        }
    if (!nb) ADD(measured, " none");
    int rise = mx > 1.5 * first && mx > first + 1e-9, fall = last < 0.9 * mx;
    c->verdict = rise && fall ? LLC_PAPER_REPRODUCED : rise || fall ? LLC_PAPER_PARTLY : LLC_PAPER_NOT_REPRODUCED;
    ADD(seen, "rise (max > 1.5 x first): %s; fall (last < 0.9 x max): %s", rise ? "yes" : "no", fall ? "yes" : "no");
    free(st);
    llc_series_free(&lc);
    return LLC_OK;
}

static int sort_gap(llc_store *s, llc_paper_result *r, const char *const *runs, int n_runs)
{
    llc_paper_claim *c = claim_new(r, "The gap between list values is the data feature that matters: the heads' "
                                      "data-refined rLLCs on small-gap and large-gap lists differ");
    double best = 0;
    char which[96] = "";
    int measured = 0;
    for (int k = 0; k < n_runs; k++) {
        llc_curve_point *sm = NULL, *lg = NULL;
        int ns = 0, nl = 0, rc;
        long long s1, s2;
        if ((rc = curve_last(s, runs[k], "small_gap", &sm, &ns, &s1)) ||
            (rc = curve_last(s, runs[k], "large_gap", &lg, &nl, &s2))) {
            free(sm);
            return rc;
        }
        if (ns && nl) {
            measured = 1;
            ADD(measured, "%srun %s step %lld, rLLC small-gap / large-gap:", k ? "; " : "", runs[k], s1);
            for (int i = 0; i < ns; i++) {
                double a = sm[i].llc_mean, b = curve_get(lg, nl, sm[i].target);
                if (isnan(b)) continue;
                double d = fabs(a - b) / fmax(1e-9, 0.5 * (fabs(a) + fabs(b)));
                ADD(measured, " %s %.4g/%.4g", sm[i].target, a, b);
                if (d > best) {
                    best = d;
                    snprintf(which, sizeof which, "%s of %s", sm[i].target, runs[k]);
                }
            }
        }
        free(sm);
        free(lg);
    }
    if (!measured) {
        ADD(seen, "no small_gap / large_gap estimates stored");
        return LLC_OK;
    }
    c->verdict = best >= 0.25 ? LLC_PAPER_REPRODUCED : best >= 0.1 ? LLC_PAPER_PARTLY : LLC_PAPER_NOT_REPRODUCED;
    ADD(seen, "largest relative difference %.2f (head %s; reproduced at >= 0.25, partly at >= 0.1). The sort task "
        "trains on one distribution only, so which end state each gap leads to is not tested", best, which);
    return LLC_OK;
}

static int paper_sort(llc_store *s, llc_paper_result *r, char *err)
{
    static const char *const runs[] = {"sort-wd0.1", "sort-wd0"};
    int rc;
    for (int k = 0; k < 2; k++)
        if ((rc = need_run(s, runs[k], "sort", err))) return rc;
    r->title = "Structure development in list-sorting transformers";
    if ((rc = sort_split(s, r, runs[0], "with weight decay (0.1)")) ||
        (rc = sort_split(s, r, runs[1], "without weight decay")) || (rc = sort_copy_suppression(s, r, runs, 2)) ||
        (rc = sort_llc(s, r, runs[0])) || (rc = sort_gap(s, r, runs, 2)))
        return llc_fail(err, rc, "paper sort: %s", llc_store_errmsg(s));
    snprintf(r->runs[0], sizeof r->runs[0], "%s", runs[0]);
    snprintf(r->runs[1], sizeof r->runs[1], "%s", runs[1]);
    r->n_runs = 2;
    return LLC_OK;
}

/* ---------------- text ---------------- */

enum { TYPE_PREV, TYPE_IND, TYPE_OTHER, N_TYPES };
static const char *const type_names[] = {"previous-token", "induction", "other"};
#define TEXT_PREV_MIN 0.4
#define TEXT_IND_MIN 0.3

static int paper_text(llc_store *s, llc_paper_result *r, char *err)
{
    const char *run = "text";
    int rc;
    if ((rc = need_run(s, run, "text", err))) return rc;
    r->title = "Refined LLCs of attention heads (byte-level text)";
    snprintf(r->runs[0], sizeof r->runs[0], "%s", run);
    r->n_runs = 1;
    probe_last prev, ind;
    if ((rc = probe_at_last(s, run, "prev_token", &prev)) || (rc = probe_at_last(s, run, "induction", &ind)))
        return llc_fail(err, rc, "paper text: %s", llc_store_errmsg(s));
    int type[64], count[N_TYPES] = {0};
    llc_paper_claim *c = claim_new(r, "The probes find previous-token and induction heads among the others");
    if (prev.n == 0) {
        ADD(seen, "no prev_token probes stored (llc probe --run text)");
    } else {
        ADD(measured, "step %lld, prev_token / induction per head:", prev.step);
        for (int i = 0; i < prev.n; i++) {
            double iv = pl_get(&ind, prev.target[i]);
            type[i] = prev.v[i] > TEXT_PREV_MIN ? TYPE_PREV : iv > TEXT_IND_MIN ? TYPE_IND : TYPE_OTHER;
            count[type[i]]++;
            ADD(measured, " %s %.3f/%.3f", prev.target[i], prev.v[i], iv);
        }
        ADD(measured, "; %d previous-token, %d induction, %d other", count[TYPE_PREV], count[TYPE_IND],
            count[TYPE_OTHER]);
        c->verdict = count[TYPE_PREV] && count[TYPE_IND]   ? LLC_PAPER_REPRODUCED
                     : count[TYPE_PREV] || count[TYPE_IND] ? LLC_PAPER_PARTLY
                                                           : LLC_PAPER_NOT_REPRODUCED;
        ADD(seen, "a head is previous-token at prev_token > %.1f, induction at induction > %.1f; reproduced with both "
            "types, partly with one", TEXT_PREV_MIN, TEXT_IND_MIN);
    }

    c = claim_new(r, "Clustering the heads' rLLC curves by shape recovers the head types (contingency table)");
    llc_cluster_row *cl = NULL;
    int ncl = 0;
    if ((rc = llc_clusters_get(s, run, "llc", &cl, &ncl))) return llc_fail(err, rc, "paper text: %s", llc_store_errmsg(s));
    if (!ncl || prev.n == 0) {
        ADD(seen, "%s", !ncl ? "no clusters of the rLLC curves stored (llc cluster --run text)" : "no head types");
    } else {
        int k = 0, tab[16][N_TYPES] = {{0}};
        for (int i = 0; i < ncl; i++) {
            int t = TYPE_OTHER;
            for (int j = 0; j < prev.n; j++)
                if (strcmp(prev.target[j], cl[i].target) == 0) t = type[j];
            int g = cl[i].cluster < 0 ? 0 : cl[i].cluster > 15 ? 15 : cl[i].cluster;
            tab[g][t]++;
            if (g + 1 > k) k = g + 1;
        }
        ADD(measured, "clusters (rows) x types prev/induction/other:");
        int pure = 0, types = 0;
        for (int g = 0; g < k; g++) {
            int mx = 0;
            for (int t = 0; t < N_TYPES; t++) mx = tab[g][t] > mx ? tab[g][t] : mx;
            pure += mx;
            ADD(measured, " cluster %d: %d/%d/%d;", g, tab[g][0], tab[g][1], tab[g][2]);
        }
        for (int t = 0; t < N_TYPES; t++) types += count[t] > 0;
        ADD(measured, " members:");
        for (int i = 0; i < ncl; i++) ADD(measured, " %s=%d", cl[i].target, cl[i].cluster);
        double purity = (double)pure / ncl;
        ADD(measured, "; purity %.2f", purity);
        if (types < 2) {
            c->verdict = LLC_PAPER_NOT_REPRODUCED;
            ADD(seen, "only one head type (%s) is present, so the clusters have no types to recover",
                type_names[count[TYPE_PREV] ? TYPE_PREV : count[TYPE_IND] ? TYPE_IND : TYPE_OTHER]);
        } else {
            /* one cluster holding every head scores the share of the commonest type: no better is no recovery */
            int most = 0;
            for (int t = 0; t < N_TYPES; t++) most = count[t] > most ? count[t] : most;
            const double base = (double)most / prev.n;
            c->verdict = purity >= 0.999                  ? LLC_PAPER_REPRODUCED
                         : purity >= 0.75 && purity > base ? LLC_PAPER_PARTLY
                                                           : LLC_PAPER_NOT_REPRODUCED;
            ADD(seen, "purity (share of heads in their cluster's majority type) %.2f: reproduced at 1, partly at >= "
                "0.75 if above the %.2f of one cluster holding every head (the share of the commonest type)",
                purity, base);
        }
    }
    free(cl);

    c = claim_new(r, "Data-refined rLLCs on code against prose: the induction heads' rLLC rises most on code");
    llc_curve_point *code = NULL, *prose = NULL;
    int nc = 0, np = 0;
    long long s1, s2;
    if ((rc = curve_last(s, run, "code", &code, &nc, &s1)) || (rc = curve_last(s, run, "prose", &prose, &np, &s2))) {
        free(code);
        return llc_fail(err, rc, "paper text: %s", llc_store_errmsg(s));
    }
    if (!nc || !np) {
        ADD(seen, "no code / prose estimates stored");
    } else {
        double best = -INFINITY, rel = 0, far = -1, far_rel = 0;
        const char *who = "", *far_who = "";
        ADD(measured, "step %lld, rLLC code / prose:", s1);
        for (int i = 0; i < nc; i++) {
            double b = curve_get(prose, np, code[i].target);
            if (isnan(b)) continue;
            ADD(measured, " %s %.4g/%.4g", code[i].target, code[i].llc_mean, b);
            double d = code[i].llc_mean - b, dr = d / fmax(1e-9, 0.5 * (fabs(code[i].llc_mean) + fabs(b)));
            if (fabs(dr) > far) far = fabs(dr), far_rel = dr, far_who = code[i].target;
            if (d > best) {
                best = d;
                who = code[i].target;
                rel = d / fmax(1e-9, 0.5 * (fabs(code[i].llc_mean) + fabs(b)));
            }
        }
        int who_ind = 0;
        for (int j = 0; j < prev.n; j++) who_ind |= strcmp(prev.target[j], who) == 0 && type[j] == TYPE_IND;
        ADD(measured, "; largest rise on code: head %s (%+.4g, relative %.2f); largest difference either way: head "
            "%s (relative %+.2f)", who, best, rel, far_who, far_rel);
        c->verdict = who_ind && rel >= 0.1 ? LLC_PAPER_REPRODUCED : rel >= 0.1 ? LLC_PAPER_PARTLY
                                                                               : LLC_PAPER_NOT_REPRODUCED;
        ADD(seen, "the head that rises most %s an induction head; reproduced if it is and rises by >= 10%%, partly "
            "if the rise is there on another head", who_ind ? "is" : "is not");
    }
    free(code);
    free(prose);
    return LLC_OK;
}

/* ---------------- icl ---------------- */

#define ICL_LEVEL "test_loss=0.35"
static const char *const icl_conds[] = {"none", "prev", "noprev"};

/* The interpolated step where test loss first crosses the level (NAN: never). */
static int icl_cross(llc_store *s, const char *run, double *step)
{
    llc_stage_row *st = NULL;
    int n = 0, rc = llc_stages_get(s, run, "cross", &st, &n);
    *step = NAN;
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        if (strcmp(st[i].target, ICL_LEVEL) == 0) *step = st[i].step;
    free(st);
    return LLC_OK;
}

typedef struct {
    double mean, sd;
    int n, never;
} cond_stat;

/* The phase-change step of every seed per condition, and the two timing
 * claims (the previous-token clamp earlier, no_prev later). */
static int icl_timing_claims(llc_store *s, llc_paper_result *r, char *err)
{
    int rc;
    cond_stat cs[3] = {{0}};
    char per[3][400] = {""};
    for (int k = 0; k < 3; k++) {
        double sum = 0, sq = 0;
        for (int seed = 1; seed <= 20; seed++) {
            char run[64];
            snprintf(run, sizeof run, "icl-%s-s%d", icl_conds[k], seed);
            if (!has_run(s, run)) continue;
            double x;
            if ((rc = icl_cross(s, run, &x))) return llc_fail(err, rc, "paper icl: %s", llc_store_errmsg(s));
            add(per[k], sizeof per[k], " s%d %.1f", seed, x);
            if (isnan(x)) {
                cs[k].never++;
                continue;
            }
            cs[k].n++;
            sum += x;
            sq += x * x;
        }
        cs[k].mean = cs[k].n ? sum / cs[k].n : NAN;
        cs[k].sd = cs[k].n > 1 ? sqrt(fmax(0, (sq - sum * sum / cs[k].n) / (cs[k].n - 1))) : NAN;
    }
    static const char *const what[] = {"no clamp", "previous-token clamp on head 0.0",
                                       "previous-token attention forbidden in layer 0"};
    for (int k = 1; k < 3; k++) {
        llc_paper_claim *c = claim_new(r, k == 1 ? "Clamping a previous-token pattern moves the phase change earlier"
                                                 : "Forbidding previous-token attention in layer 0 delays the phase "
                                                   "change");
        for (int j = 0; j <= k; j += k) {
            ADD(measured, "%s%s: step where test loss crosses 0.35, mean %.1f +- sd %.1f over %d seeds (%d never) "
                "[%s ]", j ? "; " : "", what[j], cs[j].mean, cs[j].sd, cs[j].n, cs[j].never, per[j]);
        }
        if (cs[0].n < 2 || (k == 1 && cs[k].n < 2) || (k == 2 && cs[k].n + cs[k].never < 2)) {
            ADD(seen, "fewer than 2 seeds in a condition (or, unclamped or clamped to the previous token, crossing)");
            continue;
        }
        if (k == 1) {
            double spread = fmax(cs[0].sd, cs[1].sd);
            c->verdict = cs[1].mean < cs[0].mean - spread ? LLC_PAPER_REPRODUCED
                         : cs[1].mean < cs[0].mean        ? LLC_PAPER_PARTLY
                                                          : LLC_PAPER_NOT_REPRODUCED;
            ADD(seen, "clamped mean %.1f vs %.1f: reproduced if earlier by more than the larger sd (%.1f), partly if "
                "earlier at all", cs[1].mean, cs[0].mean, spread);
        } else if (cs[2].never * 2 >= cs[2].n + cs[2].never) {
            c->verdict = LLC_PAPER_REPRODUCED;
            ADD(seen, "%d of %d clamped seeds never cross within training: delayed beyond it", cs[2].never,
                cs[2].n + cs[2].never);
        } else {
            double spread = fmax(cs[0].sd, cs[2].n > 1 ? cs[2].sd : 0);
            c->verdict = cs[2].mean > cs[0].mean + spread ? LLC_PAPER_REPRODUCED
                         : cs[2].mean > cs[0].mean        ? LLC_PAPER_PARTLY
                                                          : LLC_PAPER_NOT_REPRODUCED;
            ADD(seen, "clamped mean %.1f vs %.1f (a seed that never crosses counts as delayed; reproduced if half "
                "never cross or the mean is later by more than the larger sd, %.1f; partly if later)", cs[2].mean,
                cs[0].mean, spread);
        }
    }
    return LLC_OK;
}

/* Keeping one layer-1 head at the last checkpoint of icl-none-s1 (steps,
 * nst): the share of the loss layer 1 provides that it recovers. */
static int icl_keep_only_claim(llc_paper_result *r, const llc_model *model, const llc_task *task, const float *w,
                               long long last, int n_threads, char *err)
{
    llc_paper_claim *c = claim_new(r, "Each layer-1 head alone carries part of the in-context ability (additive, "
                                      "redundant heads): keep-only one head");
    const llc_tf_config *tc = llc_transformer_config(model);
    llc_eval_result ev = {0};
    int rc;
    if (!tc || tc->n_layers < 2) {
        ADD(seen, "icl-none-s1 has no layer 1");
        return LLC_OK;
    }
    int H = tc->n_heads, all[64];
    for (int h = 0; h < H && h < 64; h++) all[h] = H + h;
    llc_eval_config ec = {.model = model, .w = w, .task = task, .dist = llc_task_dist(task, "test"), .seed = 1,
                          .ablate = all, .n_ablate = H, .n_threads = n_threads};
    if ((rc = llc_eval_run(&ec, &ev, err))) {
        llc_eval_result_free(&ev);
        return rc;
    }
    double full = ev.base.loss, none = ev.changed.loss, best = 0;
    llc_eval_result_free(&ev);
    int strong = 0;
    ADD(measured, "icl-none-s1 step %lld: test loss %.4f with every head, %.4f with layer 1 ablated; keeping only "
        "one layer-1 head (recovered share):", last, full, none);
    for (int h = 0; h < H; h++) {
        int keep = H + h;
        llc_eval_config e2 = ec;
        e2.ablate = NULL;
        e2.n_ablate = 0;
        e2.keep = &keep;
        e2.n_keep = 1;
        if ((rc = llc_eval_run(&e2, &ev, err))) {
            llc_eval_result_free(&ev);
            return rc;
        }
        double kept = ev.changed.loss, rec = none > full ? (none - kept) / (none - full) : 0;
        llc_eval_result_free(&ev);
        ADD(measured, " 1.%d %.4f (%.2f)", h, kept, rec);
        best = fmax(best, rec);
        strong += rec >= 0.1;
    }
    c->verdict = best >= 0.2 && best < 0.95 && strong >= 2 ? LLC_PAPER_REPRODUCED
                 : best >= 0.2                             ? LLC_PAPER_PARTLY
                                                           : LLC_PAPER_NOT_REPRODUCED;
    ADD(seen, "best single head recovers %.2f of the loss layer 1 provides, %d heads recover >= 0.1; reproduced if "
        "the best recovers 0.2-0.95 and at least two heads >= 0.1, partly if one head recovers >= 0.2", best, strong);
    return LLC_OK;
}

/* The LLC around the phase change: checkpoints between the loss crossing
 * and the nearest LLC stage boundary of icl-none-s1. */
static int icl_stage_claim(llc_store *s, llc_paper_result *r, const long long *steps, int nst)
{
    llc_paper_claim *c = claim_new(r, "An LLC stage boundary lies within a few checkpoints of the loss drop");
    double x;
    llc_stage_row *st = NULL;
    int ns = 0, rc;
    if ((rc = icl_cross(s, "icl-none-s1", &x)) || (rc = llc_stages_get(s, "icl-none-s1", "llc", &st, &ns))) return rc;
    if (isnan(x) || ns == 0) {
        ADD(seen, isnan(x) ? "icl-none-s1 never crosses the level" : "no LLC stages stored for icl-none-s1");
    } else {
        /* distance in checkpoints: how many checkpoints lie between the two steps */
        double bx = st[0].step;
        for (int i = 1; i < ns; i++)
            if (fabs(st[i].step - x) < fabs(bx - x)) bx = st[i].step;
        int between = 0;
        for (int i = 0; i < nst; i++)
            between += (steps[i] > fmin(x, bx) && steps[i] <= fmax(x, bx));
        ADD(measured, "icl-none-s1: loss crosses 0.35 at step %.1f; LLC stage boundaries at", x);
        for (int i = 0; i < ns; i++) ADD(measured, " %.0f (%s)", st[i].step, st[i].kind);
        ADD(measured, "; nearest %.0f, %d checkpoints apart", bx, between);
        c->verdict = between <= 3 ? LLC_PAPER_REPRODUCED : between <= 6 ? LLC_PAPER_PARTLY : LLC_PAPER_NOT_REPRODUCED;
        ADD(seen, "%d checkpoints apart: reproduced within 3, partly within 6", between);
    }
    free(st);
    return LLC_OK;
}

static int paper_icl(llc_store *s, int n_threads, llc_paper_result *r, char *err)
{
    int rc;
    if ((rc = need_run(s, "icl-none-s1", "icl", err))) return rc;
    r->title = "Induction-head formation under activation clamping";
    snprintf(r->runs[0], sizeof r->runs[0], "icl-none-s1");
    r->n_runs = 1;
    if ((rc = icl_timing_claims(s, r, err))) return rc;
    llc_run_info info = {0};
    cJSON *cfg = NULL;
    llc_task *task = NULL;
    llc_model *model = NULL;
    float *w = NULL;
    long long *steps = NULL;
    int nst = 0;
    if ((rc = llc_store_run_get(s, "icl-none-s1", &info)) ||
        (rc = llc_run_build_stored("icl-none-s1", info.config, &cfg, &task, &model, err)) ||
        (rc = llc_store_checkpoint_steps(s, "icl-none-s1", &steps, &nst)))
        goto icl_cleanup;
    if (nst == 0) {
        llc_paper_claim *c = claim_new(r, "Each layer-1 head alone carries part of the in-context ability (additive, "
                                          "redundant heads): keep-only one head");
        ADD(seen, "icl-none-s1 has no checkpoint");
        goto icl_cleanup;
    }
    if (!(w = malloc(llc_model_n_params(model) * sizeof *w))) {
        rc = LLC_ERR_NOMEM;
        goto icl_cleanup;
    }
    if ((rc = llc_store_checkpoint_get(s, "icl-none-s1", steps[nst - 1], w, llc_model_n_params(model), NULL, NULL)) ||
        (rc = icl_keep_only_claim(r, model, task, w, steps[nst - 1], n_threads, err)) ||
        (rc = icl_stage_claim(s, r, steps, nst)))
        goto icl_cleanup;
icl_cleanup:
    if (rc) {
        char why[LLC_ERRLEN];
        snprintf(why, sizeof why, "%s", err[0] ? err : llc_store_errmsg(s));
        llc_fail(err, rc, "paper icl: %s", why);
    }
    free(w);
    free(steps);
    llc_model_free(model);
    llc_task_free(task);
    cJSON_Delete(cfg);
    llc_run_info_free(&info);
    return rc;
}

/* ---------------- modadd ---------------- */

#define MODADD_CLUSTER 0.5 /* eta^2 (of directions) of formed clusters */

typedef struct {
    double final_head, final_out, final_test, chance, cluster_step, loss_step;
    int n_spikes, ok, learned;
} seed_stat;

/* The clustering score over training and the run's loss milestones. */
static int modadd_seed(llc_store *s, const char *run, seed_stat *o, char *line, size_t n, char *err)
{
    llc_run_info info = {0};
    cJSON *cfg = NULL;
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_plot_embed *e = NULL;
    long long *steps = NULL;
    llc_series tl = {0};
    llc_stage_row *st = NULL;
    int nst = 0, ns = 0, rc;
    memset(o, 0, sizeof *o);
    o->cluster_step = o->loss_step = NAN;
    if ((rc = llc_store_run_get(s, run, &info)) || (rc = llc_run_build_stored(run, info.config, &cfg, &task, &model, err)) ||
        (rc = llc_plot_embed_new(task, model, "test", &e, err)) ||
        (rc = llc_store_checkpoint_steps(s, run, &steps, &nst)) || (rc = llc_series_get(s, run, "test_loss", NULL, &tl, err)) ||
        (rc = llc_stages_get(s, run, "loss", &st, &ns)))
        goto cleanup;
    o->chance = task->shape.chance_loss;
    add(line, n, "%s: score head/out at", run);
    for (int i = 0; i < nst; i++) {
        if ((rc = llc_plot_embed_frame(e, s, run, steps[i], err))) goto cleanup;
        double sh = llc_plot_embed_cluster_score(e, 0), so = llc_plot_embed_cluster_score(e, 1);
        if (isnan(o->cluster_step) && so >= MODADD_CLUSTER) o->cluster_step = (double)steps[i];
        if (i == nst - 1 || i % (nst / 4 + 1) == 0) add(line, n, " %lld:%.2f/%.2f", steps[i], sh, so);
        o->final_head = sh;
        o->final_out = so;
    }
    for (int i = 0; i < tl.n; i++)
        if (isnan(o->loss_step) && tl.value[i] < 0.5 * o->chance) o->loss_step = tl.step[i];
    o->final_test = tl.n ? tl.value[tl.n - 1] : NAN;
    /* a spike that matters: once the model has learned (test loss below half
     * of chance), the training loss jumps back to at least a tenth of chance */
    for (int i = 0; i < ns; i++)
        o->n_spikes += strcmp(st[i].kind, "spike") == 0 && st[i].step > o->loss_step && st[i].value >= 0.1 * o->chance;
    o->learned = o->final_test < 0.5 * o->chance;
    o->ok = o->learned && o->final_head >= MODADD_CLUSTER;
    add(line, n, "; final vectors cluster (score >= %.1f) at step %.0f, test loss below half of chance at step %.0f, "
        "final test loss %.4f, %d spikes to above a tenth of chance after that%s", MODADD_CLUSTER, o->cluster_step, o->loss_step,
        o->final_test, o->n_spikes, o->ok ? " - clustering head" : "");
cleanup:
    if (rc) {
        char why[LLC_ERRLEN];
        snprintf(why, sizeof why, "%s", err[0] ? err : llc_store_errmsg(s));
        llc_fail(err, rc, "paper modadd: run %s: %s", run, why);
    }
    free(st);
    llc_series_free(&tl);
    free(steps);
    llc_plot_embed_free(e);
    llc_model_free(model);
    llc_task_free(task);
    cJSON_Delete(cfg);
    llc_run_info_free(&info);
    return rc;
}

static int paper_modadd(llc_store *s, llc_paper_result *r, char *err)
{
    int rc;
    if ((rc = need_run(s, "modadd-s1", "modadd", err))) return rc;
    r->title = "Clustering heads on sparse modular addition";
    snprintf(r->runs[0], sizeof r->runs[0], "modadd-s1");
    r->n_runs = 1;
    llc_paper_claim *c1 = claim_new(r, "Two phases: the sequence vectors (pooled + MLP) cluster by class before the loss falls");
    llc_paper_claim *c2 = claim_new(r, "Loss spikes show in the training log");
    llc_paper_claim *c3 = claim_new(r, "Clustering heads form (how many of >= 5 seeds)");
    int seeds = 0, formed = 0, learned = 0, before = 0, same = 0, spiky = 0, spikes = 0;
    for (int seed = 1; seed <= 20; seed++) {
        char run[64], line[600] = "";
        snprintf(run, sizeof run, "modadd-s%d", seed);
        if (!has_run(s, run)) continue;
        seed_stat o;
        if ((rc = modadd_seed(s, run, &o, line, sizeof line, err))) return rc;
        seeds++;
        formed += o.ok;
        learned += o.learned;
        if (o.learned && o.cluster_step < o.loss_step) before++;
        if (o.learned && o.cluster_step == o.loss_step) same++;
        spiky += o.n_spikes > 0;
        spikes += o.n_spikes;
        add(c3->measured, sizeof c3->measured, "%s%s", seeds > 1 ? "; " : "", line);
    }
    snprintf(c1->measured, sizeof c1->measured, "of %d seeds that learn the task, %d have their final vectors "
             "clustered by class (score >= %.1f) at an earlier checkpoint than the test loss falls below half of "
             "chance, %d at the same one (per seed: see claim 3)", learned, before, MODADD_CLUSTER, same);
    c1->verdict = !learned ? LLC_PAPER_NOT_REPRODUCED : before * 2 >= learned ? LLC_PAPER_REPRODUCED
                  : before + same > 0                                     ? LLC_PAPER_PARTLY
                                                                          : LLC_PAPER_NOT_REPRODUCED;
    snprintf(c1->seen, sizeof c1->seen, "reproduced if at least half of the seeds that learn cluster first, partly "
             "if some cluster no later than the loss falls");
    snprintf(c2->measured, sizeof c2->measured, "%d log spikes after the loss fell (llc stages: a loss above 1.5 x its "
             "running median, and at least a tenth of chance) in %d of the %d seeds that learn", spikes, spiky,
             learned);
    c2->verdict = !learned ? LLC_PAPER_NOT_MEASURED : spiky * 2 >= learned && spiky ? LLC_PAPER_REPRODUCED
                  : spiky                                                         ? LLC_PAPER_PARTLY
                                                                                  : LLC_PAPER_NOT_REPRODUCED;
    snprintf(c2->seen, sizeof c2->seen, "reproduced if at least half of the seeds that learn spike, partly if one "
             "does");
    c3->verdict = seeds < 5 ? LLC_PAPER_NOT_MEASURED : formed >= 3 ? LLC_PAPER_REPRODUCED
                  : formed                                         ? LLC_PAPER_PARTLY
                                                                   : LLC_PAPER_NOT_REPRODUCED;
    snprintf(c3->seen, sizeof c3->seen, "%d of %d seeds form clustering heads (the head's pooled outputs cluster by "
             "class: eta^2 of their directions >= %.1f, and test loss below half of chance; %d seeds learn the "
             "task); reproduced at >= 3, partly at >= 1", formed, seeds, MODADD_CLUSTER, learned);

    llc_paper_claim *c = claim_new(r, "The p = 2 -> p = 3 curriculum (--init-from) helps the p = 3 model");
    llc_series warm = {0}, cold = {0}, src = {0};
    if (!has_run(s, "modadd-p3-warm") || !has_run(s, "modadd-p3-cold") || !has_run(s, "modadd-p2")) {
        snprintf(c->seen, sizeof c->seen, "the curriculum runs modadd-p2, modadd-p3-warm, modadd-p3-cold are missing");
        return LLC_OK;
    }
    if ((rc = llc_series_get(s, "modadd-p3-warm", "test_loss", NULL, &warm, err)) ||
        (rc = llc_series_get(s, "modadd-p3-cold", "test_loss", NULL, &cold, err)) ||
        (rc = llc_series_get(s, "modadd-p2", "test_loss", NULL, &src, err)))
        goto cleanup;
    if (!warm.n || !cold.n || !src.n) goto cleanup;
    double w = warm.value[warm.n - 1], k = cold.value[cold.n - 1];
    ADD(measured, "modadd-p2 (source, p = 2) final test loss %.4f (chance 0.6931); after %.0f steps at p = 3: warm "
        "start %.4f, from scratch %.4f", src.value[src.n - 1], warm.step[warm.n - 1], w, k);
    c->verdict = w < 0.9 * k ? LLC_PAPER_REPRODUCED : w <= k ? LLC_PAPER_PARTLY : LLC_PAPER_NOT_REPRODUCED;
    ADD(seen, "reproduced if the warm start's test loss is below 0.9 x the cold start's, partly if not above it");
cleanup:
    llc_series_free(&warm);
    llc_series_free(&cold);
    llc_series_free(&src);
    return rc;
}

/* ---------------- driver and writers ---------------- */

int llc_paper_evaluate(llc_store *s, const char *name, int n_threads, llc_paper_result *r, char *err)
{
    memset(r, 0, sizeof *r);
    int rc;
    r->name = name;
    if (strcmp(name, "sort") == 0) rc = paper_sort(s, r, err);
    else if (strcmp(name, "text") == 0) rc = paper_text(s, r, err);
    else if (strcmp(name, "icl") == 0) rc = paper_icl(s, n_threads, r, err);
    else if (strcmp(name, "modadd") == 0) rc = paper_modadd(s, r, err);
    else return llc_fail(err, LLC_ERR_NOTFOUND, "no study '%s': one of sort, text, icl, modadd", name);
    if (rc) return rc;
    int yes = 0, no = 0, measured = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->claim[i].verdict == LLC_PAPER_NOT_MEASURED) continue;
        measured++;
        yes += r->claim[i].verdict == LLC_PAPER_REPRODUCED;
        no += r->claim[i].verdict == LLC_PAPER_NOT_REPRODUCED;
    }
    r->overall = !measured             ? LLC_PAPER_NOT_MEASURED
                 : yes == measured     ? LLC_PAPER_REPRODUCED
                 : no == measured      ? LLC_PAPER_NOT_REPRODUCED
                                       : LLC_PAPER_PARTLY;
    return LLC_OK;
}

static void md_meta(FILE *f, const llc_paper_meta *m)
{
    fprintf(f, "scale: %s", m && m->scale ? m->scale : "unknown");
    if (m && m->wall_seconds >= 0) fprintf(f, "; wall time of the study: %.1f min", m->wall_seconds / 60);
    if (m && m->version) fprintf(f, "; llc %s", m->version);
    if (m && m->date) fprintf(f, "; %s", m->date);
}

int llc_paper_write_md(FILE *f, const llc_paper_result *r, const llc_paper_meta *m)
{
    fprintf(f, "# paper %s: %s\n\nstudy verdict: **%s** (", r->name, r->title, llc_paper_verdict_names[r->overall]);
    md_meta(f, m);
    fprintf(f, ")\n\n");
    for (int i = 0; i < r->n; i++) {
        const llc_paper_claim *c = &r->claim[i];
        fprintf(f, "## %d. %s\n\nverdict: **%s**. %s\n\nmeasured: %s\n\n", i + 1, c->text,
                llc_paper_verdict_names[c->verdict], c->seen, c->measured[0] ? c->measured : "nothing stored");
    }
    return ferror(f) ? LLC_ERR_IO : LLC_OK;
}

int llc_paper_write_html(FILE *f, const llc_paper_result *r, const llc_paper_meta *m)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>paper %s</title>\n"
               "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
               "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px;vertical-align:top;"
               "text-align:left}.reproduced{background:#d9f2d9}.partly{background:#fff2cc}"
               ".not-reproduced{background:#f8d7d7}.not-measured{background:#eee}</style></head><body>\n",
            r->name);
    fprintf(f, "<h1>paper %s: ", r->name);
    llc_svg_escape(f, r->title);
    fprintf(f, "</h1>\n<p>study verdict: <b>%s</b> (", llc_paper_verdict_names[r->overall]);
    md_meta(f, m);
    fprintf(f, ")</p>\n<table><tr><th>#</th><th>claim</th><th>verdict</th><th>why</th><th>measured</th></tr>\n");
    for (int i = 0; i < r->n; i++) {
        const llc_paper_claim *c = &r->claim[i];
        const char *v = llc_paper_verdict_names[c->verdict];
        fprintf(f, "<tr><td>%d</td><td>", i + 1);
        llc_svg_escape(f, c->text);
        fprintf(f, "</td><td class=\"%s\">%s</td><td>", c->verdict == LLC_PAPER_REPRODUCED ? "reproduced"
                                                         : c->verdict == LLC_PAPER_PARTLY    ? "partly"
                                                         : c->verdict == LLC_PAPER_NOT_REPRODUCED ? "not-reproduced"
                                                                                                  : "not-measured",
                v);
        llc_svg_escape(f, c->seen);
        fprintf(f, "</td><td>");
        llc_svg_escape(f, c->measured[0] ? c->measured : "nothing stored");
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    if (m && m->run_pages && r->n_runs) {
        fprintf(f, "<h2>Runs</h2><ul>\n");
        for (int i = 0; i < r->n_runs; i++) {
            fprintf(f, "<li><a href=\"");
            llc_svg_escape(f, m->run_pages[i]);
            fprintf(f, "\">");
            llc_svg_escape(f, r->runs[i]);
            fprintf(f, "</a>: config, log, curves, probes, stages, circuits</li>\n");
        }
        fprintf(f, "</ul>\n");
    }
    fprintf(f, "</body></html>\n");
    return ferror(f) ? LLC_ERR_IO : LLC_OK;
}
