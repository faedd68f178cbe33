/* cmd_plot.c - `llc plot`: standalone SVG pictures of a run, written by llc
 * itself (llc/llc_svg.h):
 *   curves  developmental curves (view curves): llc_mean with a ±llc_std
 *           band per target, train/test loss on a right axis, --mark lines
 *   heads   one small panel per head (layers x heads), shared axes
 *   trace   the SGLD loss traces of every chain of one estimate, L_n(w*)
 *   embed   the d_model = 2 pooled clustering-head model's planes (PAPERS §3)
 * The step axis is symlog by default: linear on [0, c] and logarithmic above,
 * where c is the largest 1, 2 or 5 x 10^k at or below the first positive
 * step, so step 0 sits one decade-width left of c; --linear gives a linear
 * axis. The right (loss) axis is logarithmic when the losses span more than
 * a factor 30 (LOSS_LOG_RATIO).
 * Only the written path(s) go to stdout.
 */
#include "cli.h"
#include "llc_kernels.h"
#include "llc_results.h"
#include "llc_svg.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: llc plot --run ID [--kind curves|heads|trace|embed|trajectory|log] [--targets model,0.1,...|heads]\n"
    "                [--data D] [--out FILE.svg] [--linear] [--mark 100,2000] [--step S] [--steps A:B]\n"
    "                [--db PATH]\n"
    "Write an SVG picture of a run and print its path. Kinds:\n"
    "  curves  (default) LLC curves of the targets (mean, band = ±1 std over chains), train/test\n"
    "          loss on the right axis (dashed/dotted grey), --mark steps as vertical lines\n"
    "  heads   one panel per head (rows = layers, columns = heads), shared axes\n"
    "  trace   --step S: the SGLD loss trace of every chain of the newest estimate of the\n"
    "          target (--targets T, default model) at step S, with L_n(w*) as a dashed line\n"
    "  embed   d_model = 2 pooled models: token/position embeddings, normalised inputs, pooled\n"
    "          sequence embeddings and outputs of a batch coloured by class; --step S (default\n"
    "          the last checkpoint) or --steps A:B|every:K|S1,S2 for one file per checkpoint\n"
    "The step axis is symlog: linear from 0 to c, logarithmic above, the [0, c] part one decade\n"
    "wide, c = the largest 1, 2 or 5 x 10^k at or below the first positive step (--linear: linear).\n"
    "The loss axis is logarithmic when the losses span more than a factor 30.\n"
    "Default output: ID.svg (curves), ID-KIND.svg, ID-embed-STEP.svg (--steps; --out PREFIX\n"
    "gives PREFIX-STEP.svg).\n";

static const cli_optdef defs[] = {{"run", 1, "run id"},
                                  {"kind", 1, "curves (default), heads, trace or embed"},
                                  {"targets", 1, "curves: comma list of targets, 'heads' = every head (default: all)"},
                                  {"target", 1, "trace: the target (default model); same as --targets T"},
                                  {"data", 1, "data distribution of the estimates (embed: of the batch)"},
                                  {"out", 1, "output file (default ID.svg or ID-KIND.svg)"},
                                  {"linear", 0, "linear step axis (default symlog)"},
                                  {"mark", 1, "comma list of steps to mark with vertical lines"},
                                  {"step", 1, "trace, embed: the checkpoint step"},
                                  {"steps", 1, "embed: one frame per checkpoint in A:B, every:K or S1,S2,..."},
                                  {"color-by", 1, "heads: 'cluster' colours each head by its stored cluster (llc cluster)"},
                                  {"db", 1, "store path (default $LLC_DB or ./llc.db)"},
                                  {NULL, 0, NULL}};

#define MAX_MARKS 32
#define MAX_DEFAULT_CURVES 9 /* a curves plot without --targets shows at most this many */
#define TITLE_FONT 15.0
#define SUB_FONT 11.5
#define LEGEND_FONT 11.5
#define MARK_COLOR "#b2182b"
#define LOSS_COLOR "#666666"
#define TEST_LOSS_COLOR "#999999"
#define DIVERGED_COLOR "#d62728"
#define LOSS_LOG_RATIO 30.0 /* max/min loss above which the loss axis is logarithmic */
#define EMBED_B 512   /* sequences in the embed plot's batch */
#define EMBED_GRID 100 /* decision-region cells per side */

typedef struct {
    cli_args *a;
    llc_store *s;
    const char *run;
    llc_run_info info;
    cJSON *config;
    int linear;
    long long marks[MAX_MARKS];
    int n_marks;
} plot_ctx;

/* ---------------- small helpers ---------------- */

static int cfg_int(const cJSON *c, const char *sec, const char *key, int def)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(c, sec);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : def;
}

/* Parse a full non-negative decimal integer. */
static int parse_ll(const char *s, long long *v)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+') return 0;
    *v = strtoll(s, &end, 10);
    return !errno && *end == '\0';
}

/* "L.H" -> 1; "layer L", "attn L", "mlp L", "L" -> 2; "model" -> 0; other -> 3. */
static int target_kind(const char *t, int *l, int *h)
{
    char tail;
    *l = *h = 0;
    if (strcmp(t, "model") == 0) return 0;
    if (sscanf(t, "%d.%d%c", l, h, &tail) == 2 && *l >= 0 && *h >= 0 && strchr(t, ' ') == NULL) return 1;
    if ((sscanf(t, "layer %d%c", l, &tail) == 1 || sscanf(t, "attn %d%c", l, &tail) == 1 ||
         sscanf(t, "mlp %d%c", l, &tail) == 1 || (sscanf(t, "%d%c", l, &tail) == 1 && strchr(t, '.') == NULL)) &&
        *l >= 0)
        return 2;
    return 3;
}

/* The llc estimate option that makes estimates of target t. */
static const char *estimate_flag(const char *t, char *buf, size_t n)
{
    int l, h;
    switch (target_kind(t, &l, &h)) {
    case 0: snprintf(buf, n, "--model"); break;
    case 1: snprintf(buf, n, "--head %s", t); break;
    default: snprintf(buf, n, strchr(t, ' ') ? "--target '%s'" : "--target %s", t); break;
    }
    return buf;
}

static int target_cmp(const void *pa, const void *pb)
{
    const char *a = pa, *b = pb; /* arrays of char[64] */
    int la, ha, lb, hb;
    int ka = target_kind(a, &la, &ha), kb = target_kind(b, &lb, &hb);
    if (ka != kb) return ka - kb;
    if (ka == 1 || ka == 2) {
        if (la != lb) return la - lb;
        if (ha != hb) return ha - hb;
    }
    return strcmp(a, b);
}

/* Dash patterns of the heads of layers 0, 1, 2, ... (repeating). */
static const char *const layer_dash[4] = {NULL, "7,3", "2,2", "8,3,2,3"};

/* The colour and dash of a target's curve: model black; head L.H the H-th
 * categorical colour (ten distinct hues) with layer L's dash pattern, so
 * the heads of a layer differ in colour and the layers in dash; layer-level
 * targets the layer family's darkest, dashed. */
static const char *target_style(const char *t, int n_heads, int *other_idx, char *buf, const char **dash)
{
    int l, h;
    *dash = NULL;
    (void)n_heads;
    switch (target_kind(t, &l, &h)) {
    case 0: snprintf(buf, 8, "#000000"); return buf;
    case 1:
        *dash = layer_dash[l % 4];
        snprintf(buf, 8, "%s", llc_svg_category_color(h));
        return buf;
    case 2:
        *dash = "7,3";
        return llc_svg_family_color(l, 0, 1, buf);
    default: snprintf(buf, 8, "%s", llc_svg_category_color(4 + 2 * (*other_idx)++)); return buf;
    }
}

static int write_begin(const char *path, FILE **f)
{
    *f = fopen(path, "w");
    if (!*f) return cli_error(EXIT_IO, "plot: cannot write '%s': %s", path, strerror(errno));
    return 0;
}

static int write_end(llc_svg *svg, FILE *f, const char *path)
{
    int rc = llc_svg_end(svg);
    if (fclose(f) != 0) rc = LLC_ERR_IO;
    if (rc) {
        remove(path);
        return cli_error(EXIT_IO, "plot: writing '%s' failed (disk full?)", path);
    }
    printf("%s\n", path);
    return 0;
}

static void title(llc_svg *svg, double x, const char *main_txt, const char *sub)
{
    llc_svg_text(svg, x, 24, TITLE_FONT, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "title", main_txt);
    if (sub) llc_svg_text(svg, x, 42, SUB_FONT, LLC_SVG_START, 0, "#555555", 0, "subtitle", sub);
}

/* How evenly the steps spread over an axis: the mean log of the gaps between
 * consecutive distinct positions (larger = more even; the most even spread
 * of n points has every gap 1/(n-1)). */
static double spread_score(const llc_svg_axis *ax, const double *steps, int n)
{
    double prev = NAN, sum = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        double f = llc_svg_axis_frac(ax, steps[i]);
        if (!isfinite(f)) continue;
        if (isfinite(prev) && f > prev + 1e-12) sum += log(f - prev), k++;
        if (!isfinite(prev) || f > prev) prev = f;
    }
    return k ? sum / k : -INFINITY;
}

/* Step axis: linear (--linear), log (no step 0), or, with step 0 present,
 * whichever of linear and symlog spreads the checkpoint steps (ascending)
 * more evenly (spread_score): a linear or evenly spaced schedule gets a
 * linear axis, a log-spaced one symlog. The last step is always a labelled
 * tick. */
static void step_axis(llc_svg_axis *ax, double lo, double hi, double minpos, int linear, const double *steps,
                      int n_steps, char *label, size_t n)
{
    if (linear || !(hi > 0)) {
        llc_svg_axis_set(ax, LLC_SVG_LINEAR, lo, hi, 0, 0);
        snprintf(label, n, "training step");
    } else if (lo <= 0) {
        /* c: the largest 1, 2 or 5 x 10^k at or below the first positive step */
        double c = 1.0;
        if (isfinite(minpos) && minpos > 0) {
            double mag = pow(10.0, floor(log10(minpos) + 1e-9));
            c = minpos >= 5 * mag ? 5 * mag : minpos >= 2 * mag ? 2 * mag : mag;
        }
        llc_svg_axis lin;
        llc_svg_axis_set(&lin, LLC_SVG_LINEAR, lo, hi, 0, 0);
        llc_svg_axis_set(ax, LLC_SVG_SYMLOG, lo, hi, c, 0);
        if (spread_score(&lin, steps, n_steps) > spread_score(ax, steps, n_steps)) {
            *ax = lin;
            snprintf(label, n, "training step (linear: the checkpoints spread evenly)");
        } else {
            char cb[32];
            llc_svg_format_tick(c, 0, cb, sizeof cb);
            snprintf(label, n, "training step (log scale; linear from 0 to %s)", cb);
        }
    } else {
        llc_svg_axis_set(ax, LLC_SVG_LOG, lo, hi, 0, 0);
        snprintf(label, n, "training step (log scale)");
    }
    ax->has_end = isfinite(hi);
    ax->end = hi;
}

/* Vertical --mark lines in a panel, labels (if labels) stacked in rows so
 * they do not overlap. */
static void draw_marks(llc_svg *svg, const llc_svg_panel *p, const plot_ctx *c, int labels)
{
    double ra[MAX_MARKS], rb[MAX_MARKS];
    int rrow[MAX_MARKS], nr = 0;
    llc_svg_style st = {MARK_COLOR, 1.2, "5,3", 0.9, "mark", NULL};
    for (int i = 0; i < c->n_marks; i++) {
        double x = llc_svg_px(p, (double)c->marks[i]);
        if (!isfinite(x) || x < p->x - 0.5 || x > p->x + p->w + 0.5) continue;
        llc_svg_vline(svg, p, (double)c->marks[i], &st);
        if (!labels) continue;
        char txt[32];
        snprintf(txt, sizeof txt, "%lld", c->marks[i]);
        double w = llc_svg_text_width(txt, 10.5);
        int right = x + 3 + w > p->x + p->w - 2; /* near the right edge: label left of the line */
        double a = right ? x - 3 - w : x + 3, b = a + w;
        int row = 0;
        for (int again = 1; again && row < 8;) {
            again = 0;
            for (int j = 0; j < nr; j++)
                if (rrow[j] == row && a < rb[j] + 3 && b > ra[j] - 3) {
                    row++;
                    again = 1;
                    break;
                }
        }
        ra[nr] = a;
        rb[nr] = b;
        rrow[nr++] = row;
        llc_svg_text(svg, right ? x - 3 : x + 3, p->y + 13 + 13 * row, 10.5, right ? LLC_SVG_END : LLC_SVG_START, 0,
                     MARK_COLOR, LLC_SVG_HALO, "mark-label", txt);
    }
}

/* ---------------- curves from the store ---------------- */

typedef struct {
    char target[64];
    int n;
    double *x, *mean, *lo, *hi;
} series;

typedef struct {
    char data[64];
    series *s;
    int n;
    int n_hidden; /* heads left out of a default curves plot (MAX_DEFAULT_CURVES) */
    /* losses of the checkpoints */
    int n_ck;
    double *ck_step, *ck_train, *ck_test;
} curve_set;

static void curve_set_free(curve_set *cs)
{
    for (int i = 0; i < cs->n; i++) free(cs->s[i].x);
    free(cs->s);
    free(cs->ck_step);
    free(cs->ck_train);
    free(cs->ck_test);
    memset(cs, 0, sizeof *cs);
}

/* Add a target to the selection (no duplicates); 0 or an exit code. */
static int select_add(char (**sel)[64], int *n, const char *t)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*sel)[i], t) == 0) return 0;
    char(*p)[64] = realloc(*sel, (size_t)(*n + 1) * sizeof **sel);
    if (!p) return cli_error(EXIT_NOMEM, "plot: out of memory");
    *sel = p;
    snprintf(p[*n], 64, "%s", t);
    (*n)++;
    return 0;
}

/* Load the curves of the run on one data distribution and the selected
 * targets (spec NULL = all, "heads", or a comma list that may contain
 * "heads"). Returns 0 or an exit code (message printed). */
static int load_curves(plot_ctx *c, const char *data, const char *spec, int heads_only, curve_set *cs)
{
    llc_curve_point *p = NULL;
    int np = 0, code = 0, n_avail = 0, n_sel = 0;
    char(*avail)[64] = NULL, (*sel)[64] = NULL;
    sqlite3_stmt *st = NULL;
    memset(cs, 0, sizeof *cs);
    int rc = llc_results_curves(c->s, c->run, NULL, data, &p, &np);
    if (rc) {
        code = cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(c->s));
        goto cleanup;
    }
    if (np == 0) {
        if (data)
            code = cli_error(EXIT_NOTFOUND,
                             "plot: run %s has no estimates on data '%s' (make them with: llc estimate --run %s "
                             "--data %s)",
                             c->run, data, c->run, data);
        else
            code = cli_error(EXIT_NOTFOUND, "plot: run %s has no estimates yet (make them with: llc estimate --run %s)",
                             c->run, c->run);
        goto cleanup;
    }
    /* the data distribution: --data, else 'train' if present, else the first */
    if (data) snprintf(cs->data, sizeof cs->data, "%s", data);
    else {
        snprintf(cs->data, sizeof cs->data, "%s", p[0].data);
        for (int i = 0; i < np; i++)
            if (strcmp(p[i].data, "train") == 0) snprintf(cs->data, sizeof cs->data, "train");
    }
    for (int i = 0; i < np; i++)
        if (strcmp(p[i].data, cs->data) == 0 && (code = select_add(&avail, &n_avail, p[i].target))) goto cleanup;
    qsort(avail, (size_t)n_avail, sizeof *avail, target_cmp);
    if (!spec && heads_only) spec = "heads";
    int n_heads_avail = 0, l_, h_;
    for (int i = 0; i < n_avail; i++) n_heads_avail += target_kind(avail[i], &l_, &h_) == 1;
    if (!spec && n_avail > MAX_DEFAULT_CURVES && n_heads_avail > 0) {
        /* too many to read: every non-head target, then the heads with the
         * largest last estimate; --targets heads or --kind heads shows all */
        for (int i = 0; i < n_avail; i++)
            if (target_kind(avail[i], &l_, &h_) != 1 && (code = select_add(&sel, &n_sel, avail[i]))) goto cleanup;
        double *last = malloc((size_t)n_avail * sizeof *last);
        if (!last) {
            code = cli_error(EXIT_NOMEM, "plot: out of memory");
            goto cleanup;
        }
        for (int i = 0; i < n_avail; i++) {
            last[i] = -INFINITY;
            for (int j = 0; j < np; j++) /* ordered by step: the last finite one wins */
                if (strcmp(p[j].target, avail[i]) == 0 && strcmp(p[j].data, cs->data) == 0 && isfinite(p[j].llc_mean))
                    last[i] = p[j].llc_mean;
        }
        int keep = MAX_DEFAULT_CURVES - n_sel < 1 ? 1 : MAX_DEFAULT_CURVES - n_sel;
        for (int taken = 0; taken < keep; taken++) {
            int best = -1;
            for (int i = 0; i < n_avail; i++)
                if (target_kind(avail[i], &l_, &h_) == 1 && last[i] > -INFINITY &&
                    (best < 0 || last[i] > last[best]))
                    best = i;
            if (best < 0) break;
            if ((code = select_add(&sel, &n_sel, avail[best]))) {
                free(last);
                goto cleanup;
            }
            last[best] = -INFINITY; /* taken */
        }
        free(last);
        qsort(sel, (size_t)n_sel, sizeof *sel, target_cmp);
        cs->n_hidden = n_avail - n_sel;
    } else if (!spec) {
        for (int i = 0; i < n_avail; i++)
            if ((code = select_add(&sel, &n_sel, avail[i]))) goto cleanup;
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", spec);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            if (strcmp(tok, "heads") == 0) {
                int any = 0, l, h;
                for (int i = 0; i < n_avail; i++)
                    if (target_kind(avail[i], &l, &h) == 1) {
                        any = 1;
                        if ((code = select_add(&sel, &n_sel, avail[i]))) goto cleanup;
                    }
                if (!any) {
                    code = cli_error(EXIT_NOTFOUND,
                                     "plot: run %s has no head estimates on data '%s' (make them with: llc estimate "
                                     "--run %s --heads all)",
                                     c->run, cs->data, c->run);
                    goto cleanup;
                }
                continue;
            }
            int found = 0;
            for (int i = 0; i < n_avail; i++) found |= strcmp(avail[i], tok) == 0;
            if (!found) {
                char fl[128];
                code = cli_error(EXIT_NOTFOUND,
                                 "plot: run %s has no estimates of target '%s' on data '%s' (make them with: llc "
                                 "estimate --run %s %s)",
                                 c->run, tok, cs->data, c->run, estimate_flag(tok, fl, sizeof fl));
                goto cleanup;
            }
            if ((code = select_add(&sel, &n_sel, tok))) goto cleanup;
        }
        if (n_sel == 0) {
            code = cli_error(EXIT_USAGE, "plot: --targets is empty; give e.g. model,0.1 or heads");
            goto cleanup;
        }
    }
    cs->s = calloc((size_t)n_sel, sizeof *cs->s);
    if (!cs->s) {
        code = cli_error(EXIT_NOMEM, "plot: out of memory");
        goto cleanup;
    }
    cs->n = n_sel;
    for (int k = 0; k < n_sel; k++) {
        series *sr = &cs->s[k];
        snprintf(sr->target, sizeof sr->target, "%s", sel[k]);
        int m = 0;
        for (int i = 0; i < np; i++) m += strcmp(p[i].target, sel[k]) == 0 && strcmp(p[i].data, cs->data) == 0;
        sr->x = malloc((size_t)(m > 0 ? m : 1) * 4 * sizeof(double));
        if (!sr->x) {
            code = cli_error(EXIT_NOMEM, "plot: out of memory");
            goto cleanup;
        }
        sr->mean = sr->x + m;
        sr->lo = sr->mean + m;
        sr->hi = sr->lo + m;
        for (int i = 0; i < np; i++) {
            if (strcmp(p[i].target, sel[k]) || strcmp(p[i].data, cs->data)) continue;
            sr->x[sr->n] = (double)p[i].step;
            sr->mean[sr->n] = p[i].llc_mean;
            double sd = isfinite(p[i].llc_std) ? p[i].llc_std : NAN;
            sr->lo[sr->n] = p[i].llc_mean - sd;
            sr->hi[sr->n] = p[i].llc_mean + sd;
            sr->n++;
        }
    }
    /* losses */
    sqlite3 *db = llc_store_db(c->s);
    if (sqlite3_prepare_v2(db, "SELECT step, train_loss, test_loss FROM checkpoints WHERE run=?1 ORDER BY step", -1,
                           &st, NULL) != SQLITE_OK) {
        code = cli_error(EXIT_STORE, "plot: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    sqlite3_bind_text(st, 1, c->run, -1, SQLITE_STATIC);
    int cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cs->n_ck == cap) {
            cap = cap ? 2 * cap : 64;
            double *a1 = realloc(cs->ck_step, (size_t)cap * sizeof *a1);
            if (a1) cs->ck_step = a1;
            double *a2 = realloc(cs->ck_train, (size_t)cap * sizeof *a2);
            if (a2) cs->ck_train = a2;
            double *a3 = realloc(cs->ck_test, (size_t)cap * sizeof *a3);
            if (a3) cs->ck_test = a3;
            if (!a1 || !a2 || !a3) {
                code = cli_error(EXIT_NOMEM, "plot: out of memory");
                goto cleanup;
            }
        }
        cs->ck_step[cs->n_ck] = (double)sqlite3_column_int64(st, 0);
        cs->ck_train[cs->n_ck] = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
        cs->ck_test[cs->n_ck] = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
        cs->n_ck++;
    }
    if (rc != SQLITE_DONE) code = cli_error(EXIT_STORE, "plot: %s", sqlite3_errmsg(db));
cleanup:
    sqlite3_finalize(st);
    free(p);
    free(avail);
    free(sel);
    if (code) curve_set_free(cs);
    return code;
}

/* Range of the step axis over every series, the checkpoints and the marks. */
static void step_range(const plot_ctx *c, const curve_set *cs, int with_ck, double *lo, double *hi, double *minpos)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    *minpos = INFINITY;
#define TAKE_STEP(v)                           \
    do {                                       \
        double v_ = (v);                       \
        if (v_ < *lo) *lo = v_;                \
        if (v_ > *hi) *hi = v_;                \
        if (v_ > 0 && v_ < *minpos) *minpos = v_; \
    } while (0)
    for (int k = 0; k < cs->n; k++)
        for (int i = 0; i < cs->s[k].n; i++) TAKE_STEP(cs->s[k].x[i]);
    if (with_ck)
        for (int i = 0; i < cs->n_ck; i++)
            if (isfinite(cs->ck_train[i]) || isfinite(cs->ck_test[i])) TAKE_STEP(cs->ck_step[i]);
    for (int i = 0; i < c->n_marks; i++) TAKE_STEP((double)c->marks[i]);
#undef TAKE_STEP
}

/* Range of mean ± std over the series, 0 always included (λ >= 0 in
 * theory, so a negative estimate should look negative). */
static void value_range(const curve_set *cs, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < cs->n; k++)
        for (int i = 0; i < cs->s[k].n; i++) {
            const double v[3] = {cs->s[k].mean[i], cs->s[k].lo[i], cs->s[k].hi[i]};
            for (int j = 0; j < 3; j++)
                if (isfinite(v[j])) {
                    if (v[j] < *lo) *lo = v[j];
                    if (v[j] > *hi) *hi = v[j];
                }
        }
    if (!(*lo <= 0)) *lo = 0;
    if (!(*hi >= 0)) *hi = 0;
}

static void draw_series(llc_svg *svg, const llc_svg_panel *p, const series *sr, const char *color, const char *dash,
                        int dots)
{
    llc_svg_band(svg, p, sr->x, sr->lo, sr->hi, sr->n, color, 0.13, sr->target);
    llc_svg_style st = {color, 1.8, dash, 0, NULL, sr->target};
    llc_svg_path(svg, p, sr->x, sr->mean, sr->n, &st);
    if (dots) llc_svg_points(svg, p, sr->x, sr->mean, sr->n, 2.2, color, 0, sr->target);
}

/* ---------------- kind curves ---------------- */

static int plot_curves(plot_ctx *c, const char *out)
{
    curve_set cs;
    int code = load_curves(c, cli_get(c->a, "data"), cli_get(c->a, "targets") ? cli_get(c->a, "targets")
                                                                               : cli_get(c->a, "target"),
                           0, &cs);
    if (code) return code;
    llc_svg_legend_entry *le = calloc((size_t)cs.n + 2, sizeof *le);
    char (*colors)[8] = calloc((size_t)cs.n + 1, sizeof *colors);
    const char **dashes = calloc((size_t)cs.n + 1, sizeof *dashes);
    FILE *f = NULL;
    if (!le || !colors || !dashes) {
        code = cli_error(EXIT_NOMEM, "plot: out of memory");
        goto cleanup;
    }
    int n_heads = cfg_int(c->config, "model", "n_heads", 1), other = 0, nle = 0;
    for (int k = 0; k < cs.n; k++) {
        target_style(cs.s[k].target, n_heads, &other, colors[k], &dashes[k]);
        le[nle++] = (llc_svg_legend_entry){cs.s[k].target, colors[k], dashes[k], LLC_SVG_KEY_BAND};
    }
    /* losses: log axis when they span more than a factor LOSS_LOG_RATIO */
    double lmin = INFINITY, lmax = -INFINITY;
    int have_train = 0, have_test = 0;
    for (int i = 0; i < cs.n_ck; i++) {
        const double v[2] = {cs.ck_train[i], cs.ck_test[i]};
        for (int j = 0; j < 2; j++)
            if (isfinite(v[j])) {
                if (v[j] < lmin) lmin = v[j];
                if (v[j] > lmax) lmax = v[j];
            }
        have_train |= isfinite(cs.ck_train[i]);
        have_test |= isfinite(cs.ck_test[i]);
    }
    int have_loss = have_train || have_test;
    if (have_train) le[nle++] = (llc_svg_legend_entry){"train loss", LOSS_COLOR, "6,4", LLC_SVG_KEY_LINE};
    if (have_test) le[nle++] = (llc_svg_legend_entry){"test loss", TEST_LOSS_COLOR, "2,3", LLC_SVG_KEY_LINE};

    const double W = 980, H = 560, top = 64, bottom = 58, left = 78;
    double plot_h = H - top - bottom;
    int max_rows = (int)((plot_h - 12) / LLC_SVG_LEGEND_ROW);
    double lw, lh;
    llc_svg_legend_size(le, nle, max_rows, LEGEND_FONT, &lw, &lh);
    double right_axis = have_loss ? 78 : 16;
    llc_svg_panel p = {left, top, W - left - right_axis - lw - 14, plot_h, {0}, {0}, 0};
    double xlo, xhi, minpos, ylo, yhi;
    char xlabel[128];
    step_range(c, &cs, 1, &xlo, &xhi, &minpos);
    step_axis(&p.xa, xlo, xhi, minpos, c->linear, cs.n_ck ? cs.ck_step : cs.s[0].x, cs.n_ck ? cs.n_ck : cs.s[0].n,
              xlabel, sizeof xlabel);
    value_range(&cs, &ylo, &yhi);
    llc_svg_axis_set(&p.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 0);
    llc_svg_panel pl = p;
    int log_loss = have_loss && lmin > 0 && lmax / lmin > LOSS_LOG_RATIO;
    if (have_loss) {
        if (log_loss) llc_svg_axis_set(&pl.ya, LLC_SVG_LOG, lmin, lmax, 0, 1);
        else llc_svg_axis_set(&pl.ya, LLC_SVG_LINEAR, lmin < 0 ? lmin : 0, lmax, 0, 1);
    }

    if ((code = write_begin(out, &f))) goto cleanup;
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%s (%s): local learning coefficient, data %s", c->run, c->info.task, cs.data);
    int npts = 0;
    for (int k = 0; k < cs.n; k++) npts = cs.s[k].n > npts ? cs.s[k].n : npts;
    if (cs.n_hidden)
        snprintf(t2, sizeof t2, "%d targets: the heads with the largest last λ (%d more: --targets heads, or --kind "
                 "heads); band = ±1 std%s", cs.n, cs.n_hidden, have_loss ? "; losses on the right axis" : "");
    else
        snprintf(t2, sizeof t2, "%d target%s, up to %d checkpoint%s; line = mean over chains, band = ±1 std%s", cs.n,
                 cs.n == 1 ? "" : "s", npts, npts == 1 ? "" : "s", have_loss ? "; losses on the right axis" : "");
    title(&svg, left, t1, t2);
    llc_svg_panel_begin(&svg, &p);
    pl.clip = p.clip;
    llc_svg_axes(&svg, &p, 0, xlabel, "LLC  λ (estimate)");
    if (have_loss) {
        llc_svg_axis_right(&svg, &pl, log_loss ? "loss (log scale)" : "loss", LOSS_COLOR);
        llc_svg_style tr = {LOSS_COLOR, 1.4, "6,4", 0, "loss", "train loss"};
        llc_svg_style te = {TEST_LOSS_COLOR, 1.4, "2,3", 0, "loss", "test loss"};
        if (have_train) llc_svg_path(&svg, &pl, cs.ck_step, cs.ck_train, cs.n_ck, &tr);
        if (have_test) llc_svg_path(&svg, &pl, cs.ck_step, cs.ck_test, cs.n_ck, &te);
    }
    /* bands first, then lines, model last (on top) */
    for (int k = cs.n - 1; k >= 0; k--)
        llc_svg_band(&svg, &p, cs.s[k].x, cs.s[k].lo, cs.s[k].hi, cs.s[k].n, colors[k], cs.n > 6 ? 0.08 : 0.15,
                     cs.s[k].target);
    for (int k = cs.n - 1; k >= 0; k--) {
        llc_svg_style st = {colors[k], k == 0 && strcmp(cs.s[k].target, "model") == 0 ? 2.2 : 1.7, dashes[k], 0,
                            NULL, cs.s[k].target};
        llc_svg_path(&svg, &p, cs.s[k].x, cs.s[k].mean, cs.s[k].n, &st);
        if (cs.s[k].n <= 40) llc_svg_points(&svg, &p, cs.s[k].x, cs.s[k].mean, cs.s[k].n, 2.2, colors[k], 0, NULL);
    }
    draw_marks(&svg, &p, c, 1);
    llc_svg_legend(&svg, W - lw - 10, top, le, nle, max_rows, LEGEND_FONT);
    code = write_end(&svg, f, out);
cleanup:
    free(le);
    free(colors);
    free(dashes);
    curve_set_free(&cs);
    return code;
}

/* ---------------- kind heads ---------------- */

static int plot_heads(plot_ctx *c, const char *out)
{
    curve_set cs;
    int code = load_curves(c, cli_get(c->a, "data"), NULL, 1, &cs);
    if (code) return code;
    char(*ct)[32] = NULL;
    int *cc = NULL, ncl = 0;
    FILE *f = NULL;
    if (cli_has(c->a, "color-by") && (code = cli_plot_clusters(c->s, c->run, &ct, &cc, &ncl))) goto cleanup;
    int L = cfg_int(c->config, "model", "n_layers", 1), NH = cfg_int(c->config, "model", "n_heads", 1), l, h;
    for (int k = 0; k < cs.n; k++)
        if (target_kind(cs.s[k].target, &l, &h) == 1) {
            if (l + 1 > L) L = l + 1;
            if (h + 1 > NH) NH = h + 1;
        }
    if (L < 1) L = 1;
    if (NH < 1) NH = 1;
    const double pw = NH > 8 ? 150 : 190, ph = L == 1 ? 200 : L == 2 ? 160 : 132;
    const double gx = 16, gy = 34, left = 78, top = 76, bottom = 58;
    double W = left + NH * pw + (NH - 1) * gx + 22, H = top + L * ph + (L - 1) * gy + bottom;
    if (W < 560) W = 560;
    double xlo, xhi, minpos, ylo, yhi;
    char xlabel[128];
    llc_svg_panel base = {0, 0, pw, ph, {0}, {0}, 0};
    step_range(c, &cs, 0, &xlo, &xhi, &minpos);
    step_axis(&base.xa, xlo, xhi, minpos, c->linear, cs.s[0].x, cs.s[0].n, xlabel, sizeof xlabel);
    value_range(&cs, &ylo, &yhi);
    llc_svg_axis_set(&base.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 0);

    if ((code = write_begin(out, &f))) goto cleanup;
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%s (%s): LLC of each head, data %s", c->run, c->info.task, cs.data);
    snprintf(t2, sizeof t2, "rows = layers, columns = heads; shared axes; band = ±1 std over chains");
    title(&svg, left, t1, t2);
    for (int r = 0; r < L; r++)
        for (int q = 0; q < NH; q++) {
            llc_svg_panel p = base;
            p.x = left + q * (pw + gx);
            p.y = top + r * (ph + gy);
            llc_svg_panel_begin(&svg, &p);
            int flags = (q > 0 ? LLC_SVG_NO_YLABELS : 0) | (r < L - 1 ? LLC_SVG_NO_XLABELS : 0);
            llc_svg_axes(&svg, &p, flags, NULL, NULL);
            char name[64], col[8];
            snprintf(name, sizeof name, "%d.%d", r, q);
            llc_svg_text(&svg, p.x + 4, p.y - 6, 12, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "panel-title", name);
            const series *sr = NULL;
            for (int k = 0; k < cs.n; k++)
                if (strcmp(cs.s[k].target, name) == 0) sr = &cs.s[k];
            draw_marks(&svg, &p, c, r == 0);
            if (!sr) {
                llc_svg_text(&svg, p.x + pw / 2, p.y + ph / 2, 11, LLC_SVG_MIDDLE, 0, "#999999", 0, NULL,
                             "no estimates");
                continue;
            }
            llc_svg_family_color(r, q, NH, col);
            for (int i = 0; i < ncl; i++)
                if (strcmp(ct[i], name) == 0) {
                    char ctxt[32];
                    snprintf(col, sizeof col, "%s", llc_svg_category_color(cc[i]));
                    snprintf(ctxt, sizeof ctxt, "cluster %d", cc[i]);
                    llc_svg_text(&svg, p.x + 40, p.y - 6, 11, LLC_SVG_START, 0, col, LLC_SVG_BOLD, "cluster-label", ctxt);
                }
            draw_series(&svg, &p, sr, col, NULL, sr->n <= 40);
            /* the last finite value, top right */
            for (int i = sr->n - 1; i >= 0; i--)
                if (isfinite(sr->mean[i])) {
                    char v[64];
                    snprintf(v, sizeof v, "λ %.3g at %lld", sr->mean[i], (long long)sr->x[i]);
                    llc_svg_text(&svg, p.x + pw, p.y - 6, 10, LLC_SVG_END, 0, "#666666", 0, NULL, v);
                    break;
                }
        }
    /* shared axis labels */
    llc_svg_text(&svg, left + (W - left - 22) / 2, H - 14, 12.5, LLC_SVG_MIDDLE, 0, "#222222", 0, "axis-label",
                 xlabel);
    llc_svg_text(&svg, 22, top + (H - top - bottom) / 2, 12.5, LLC_SVG_MIDDLE, -90, "#222222", 0, "axis-label",
                 "LLC  λ (estimate)");
    code = write_end(&svg, f, out);
cleanup:
    free(ct);
    free(cc);
    curve_set_free(&cs);
    return code;
}

/* ---------------- kind trace ---------------- */

typedef struct {
    int chain, diverged, n;
    long long diverged_at;
    double llc;
    double *trace; /* n draws */
} chain_row;

static int plot_trace(plot_ctx *c, const char *out, long long step)
{
    const char *target = cli_get(c->a, "targets") ? cli_get(c->a, "targets") : cli_get(c->a, "target");
    const char *data = cli_get(c->a, "data");
    if (!target) target = "model";
    if (strchr(target, ','))
        return cli_error(EXIT_USAGE, "plot: --kind trace shows one target; got '%s'", target);
    sqlite3 *db = llc_store_db(c->s);
    sqlite3_stmt *st = NULL;
    chain_row *ch = NULL;
    int nch = 0, code = 0, rc;
    FILE *f = NULL;
    long long id = 0, burnin = 0, thin = 0, n_div = 0;
    double eps = NAN, gamma = NAN, nbeta = NAN, init_loss = NAN, mean = NAN, sd = NAN, rhat = NAN;
    char sampler[32] = "", status[32] = "", edata[64] = "";
    rc = sqlite3_prepare_v2(db,
                            "SELECT id, data, sampler, eps, gamma, nbeta, draws, burnin, thin, init_loss, llc_mean, "
                            "llc_std, status, n_diverged, rhat, paired, json_extract(diagnostics, '$.trace') FROM estimates "
                            "WHERE run=?1 AND step=?2 AND target=?3 "
                            "AND (?4 IS NULL OR data=?4) ORDER BY id DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        code = cli_error(EXIT_STORE, "plot: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    sqlite3_bind_text(st, 1, c->run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    if (data) sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 4);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        st = NULL;
        int have_ck = 0;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM checkpoints WHERE run=?1 AND step=?2", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, c->run, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, step);
            have_ck = sqlite3_step(st) == SQLITE_ROW;
        }
        char fl[128];
        if (!have_ck)
            code = cli_error(EXIT_NOTFOUND, "plot: run %s has no checkpoint at step %lld (see llc show --run %s)",
                             c->run, step, c->run);
        else
            code = cli_error(EXIT_NOTFOUND,
                             "plot: run %s has no estimate of target %s at step %lld%s%s (make it with: llc estimate "
                             "--run %s --steps %lld %s)",
                             c->run, target, step, data ? " on data " : "", data ? data : "", c->run, step,
                             estimate_flag(target, fl, sizeof fl));
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        code = cli_error(EXIT_STORE, "plot: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
#define COLD(i) (sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i))
#define COLS(i, buf) \
    snprintf(buf, sizeof buf, "%s", sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "")
    id = sqlite3_column_int64(st, 0);
    COLS(1, edata);
    COLS(2, sampler);
    eps = COLD(3);
    gamma = COLD(4);
    nbeta = COLD(5);
    burnin = sqlite3_column_int64(st, 7);
    thin = sqlite3_column_int64(st, 8);
    init_loss = COLD(9);
    mean = COLD(10);
    sd = COLD(11);
    COLS(12, status);
    n_div = sqlite3_column_int64(st, 13);
    rhat = COLD(14);
    /* a paired estimate averages L_b(w_k) - L_b(w*): its trace holds that plus
     * L_n(w*) (diagnostics.trace "paired"), and the plot shows the difference */
    int paired = sqlite3_column_int(st, 15) == 1 && sqlite3_column_text(st, 16) &&
                 strcmp((const char *)sqlite3_column_text(st, 16), "paired") == 0 && isfinite(init_loss);
    int paired_raw = sqlite3_column_int(st, 15) == 1 && !paired; /* older stores kept raw losses */
    sqlite3_finalize(st);
    st = NULL;
    rc = sqlite3_prepare_v2(db,
                            "SELECT chain, llc, diverged, diverged_at, trace FROM estimate_chains WHERE estimate=?1 "
                            "ORDER BY chain",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        code = cli_error(EXIT_STORE, "plot: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        chain_row *nc = realloc(ch, (size_t)(nch + 1) * sizeof *ch);
        if (!nc) {
            code = cli_error(EXIT_NOMEM, "plot: out of memory");
            goto cleanup;
        }
        ch = nc;
        chain_row *r = &ch[nch++];
        memset(r, 0, sizeof *r);
        r->chain = sqlite3_column_int(st, 0);
        r->llc = COLD(1);
        r->diverged = sqlite3_column_int(st, 2);
        r->diverged_at = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        const unsigned char *blob = sqlite3_column_blob(st, 4);
        int bytes = sqlite3_column_bytes(st, 4);
        r->n = bytes / 8;
        r->trace = malloc((size_t)(r->n > 0 ? r->n : 1) * sizeof *r->trace);
        if (!r->trace) {
            code = cli_error(EXIT_NOMEM, "plot: out of memory");
            goto cleanup;
        }
        for (int i = 0; i < r->n; i++) { /* little-endian float64 */
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--) u = (u << 8) | blob[8 * i + b];
            memcpy(&r->trace[i], &u, sizeof u);
            if (paired) r->trace[i] -= init_loss; /* L_b(w_k) - L_b(w*) */
        }
    }
#undef COLD
#undef COLS
    if (rc != SQLITE_DONE) {
        code = cli_error(EXIT_STORE, "plot: %s", sqlite3_errmsg(db));
        goto cleanup;
    }
    int maxn = 0, any = 0;
    for (int k = 0; k < nch; k++) {
        if (ch[k].n > maxn) maxn = ch[k].n;
        any |= ch[k].n > 0;
    }
    if (!any) {
        code = cli_error(EXIT_NOTFOUND, "plot: estimate %lld (run %s, step %lld, target %s) stored no loss traces", id,
                         c->run, step, target);
        goto cleanup;
    }
    /* y range: finite values of the chains that did not diverge (all chains
     * if every one diverged, between their 1% and 99% quantiles), and L_n(w*) */
    double ylo = INFINITY, yhi = -INFINITY;
    int n_ok = 0;
    for (int k = 0; k < nch; k++) n_ok += !ch[k].diverged;
    if (n_ok > 0) {
        for (int k = 0; k < nch; k++)
            for (int i = 0; !ch[k].diverged && i < ch[k].n; i++)
                if (isfinite(ch[k].trace[i])) {
                    if (ch[k].trace[i] < ylo) ylo = ch[k].trace[i];
                    if (ch[k].trace[i] > yhi) yhi = ch[k].trace[i];
                }
    } else {
        size_t nv = 0, cap = 0;
        for (int k = 0; k < nch; k++) cap += (size_t)ch[k].n;
        double *v = malloc((cap ? cap : 1) * sizeof *v);
        if (!v) {
            code = cli_error(EXIT_NOMEM, "plot: out of memory");
            goto cleanup;
        }
        for (int k = 0; k < nch; k++)
            for (int i = 0; i < ch[k].n; i++)
                if (isfinite(ch[k].trace[i])) v[nv++] = ch[k].trace[i];
        for (size_t i = 1; i < nv; i++) /* insertion sort: a few thousand values */
            for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                double t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        if (nv) {
            ylo = v[(size_t)(0.01 * (double)(nv - 1))];
            yhi = v[(size_t)(0.99 * (double)(nv - 1))];
        }
        free(v);
    }
    /* the reference line: L_n(w*), or 0 and the mean difference lambda/nbeta when paired */
    const double ref = paired ? 0.0 : init_loss, dmean = paired ? mean / nbeta : NAN;
    const double refs[2] = {ref, dmean};
    for (int i = 0; i < 2; i++)
        if (isfinite(refs[i])) {
            if (refs[i] < ylo) ylo = refs[i];
            if (refs[i] > yhi) yhi = refs[i];
        }

    const double W = 960, H = 540, top = 64, bottom = 58, left = 82;
    llc_svg_legend_entry *le = calloc((size_t)nch + 2, sizeof *le);
    char (*labels)[96] = calloc((size_t)nch + 1, sizeof *labels);
    if (!le || !labels) {
        free(le);
        free(labels);
        code = cli_error(EXIT_NOMEM, "plot: out of memory");
        goto cleanup;
    }
    int nle = 0;
    for (int k = 0; k < nch; k++) {
        if (ch[k].diverged)
            snprintf(labels[k], sizeof labels[k], "chain %d: diverged%s", ch[k].chain, "");
        else snprintf(labels[k], sizeof labels[k], "chain %d: λ %.4g", ch[k].chain, ch[k].llc);
        le[nle++] = (llc_svg_legend_entry){labels[k], llc_svg_category_color(k), ch[k].diverged ? "5,3" : NULL,
                                           LLC_SVG_KEY_LINE};
    }
    char initlab[64], meanlab[64];
    if (paired) snprintf(initlab, sizeof initlab, "0: L_b(w) = L_b(w*)");
    else snprintf(initlab, sizeof initlab, "L_n(w*) = %.5g", init_loss);
    snprintf(meanlab, sizeof meanlab, "mean = λ/nβ = %.4g", dmean);
    le[nle++] = (llc_svg_legend_entry){initlab, "#000000", "7,4", LLC_SVG_KEY_LINE};
    if (paired && isfinite(dmean)) le[nle++] = (llc_svg_legend_entry){meanlab, "#000000", "2,2", LLC_SVG_KEY_LINE};
    double plot_h = H - top - bottom, lw, lh;
    int max_rows = (int)((plot_h - 12) / LLC_SVG_LEGEND_ROW);
    llc_svg_legend_size(le, nle, max_rows, LEGEND_FONT, &lw, &lh);
    llc_svg_panel p = {left, top, W - left - lw - 30, plot_h, {0}, {0}, 0};
    llc_svg_axis_set(&p.xa, LLC_SVG_LINEAR, 0, maxn > 1 ? maxn - 1 : 1, 0, 0);
    llc_svg_axis_set(&p.ya, LLC_SVG_LINEAR, ylo, yhi, 0, 1);
    double *xs = malloc((size_t)maxn * sizeof *xs);
    if (!xs || (code = write_begin(out, &f))) {
        if (!xs) code = cli_error(EXIT_NOMEM, "plot: out of memory");
        free(xs);
        free(le);
        free(labels);
        goto cleanup;
    }
    for (int i = 0; i < maxn; i++) xs[i] = i;
    llc_svg svg;
    llc_svg_begin(&svg, f, W, H);
    char t1[256], t2[320], xlabel[128];
    snprintf(t1, sizeof t1, "%s (%s): SGLD %s, step %lld, target %s, data %s", c->run, c->info.task,
             paired ? "paired loss differences" : "loss traces", step, target, edata);
    char lam[96], rh[32] = "";
    if (isfinite(mean) && isfinite(sd)) snprintf(lam, sizeof lam, "λ = %.4g ± %.3g (%s)", mean, sd, status);
    else if (isfinite(mean)) snprintf(lam, sizeof lam, "λ = %.4g (%s)", mean, status);
    else snprintf(lam, sizeof lam, "no λ (%s: no chain finished)", status);
    if (isfinite(rhat)) snprintf(rh, sizeof rh, " · R-hat %.3f", rhat);
    /* plain SGLD was recorded as "none" in older stores */
    snprintf(t2, sizeof t2, "%s · %d chains, %lld diverged · sampler %s, eps %.3g, γ %.4g, nβ %.4g%s", lam, nch, n_div,
             strcmp(sampler, "none") ? sampler : "sgld", eps, gamma, nbeta, rh);
    title(&svg, left, t1, t2);
    if (paired || paired_raw)
        llc_svg_text(&svg, left, 57, SUB_FONT, LLC_SVG_START, 0, "#555555", 0, "subtitle",
                     paired ? "per draw L_b(w_k) − L_b(w*), both on the same minibatch: λ = nβ · their mean"
                            : "raw minibatch losses (stored before paired traces); λ = nβ · mean of L_b(w_k) − L_b(w*)");
    snprintf(xlabel, sizeof xlabel, "draw (after %lld burn-in steps; thin %lld)", burnin, thin > 0 ? thin : 1);
    llc_svg_panel_begin(&svg, &p);
    llc_svg_axes(&svg, &p, 0, xlabel, paired ? "L_b(w_k) − L_b(w*)" : "minibatch loss");
    for (int k = 0; k < nch; k++) {
        llc_svg_style s2 = {llc_svg_category_color(k), ch[k].diverged ? 1.4 : 1.1, ch[k].diverged ? "5,3" : NULL,
                            0.9, NULL, labels[k]};
        llc_svg_path(&svg, &p, xs, ch[k].trace, ch[k].n, &s2);
    }
    llc_svg_style ls = {"#000000", 1.6, "7,4", 0, "init-loss", initlab};
    llc_svg_hline(&svg, &p, ref, &ls);
    llc_svg_style ms = {"#000000", 1.4, "2,2", 0, "mean-diff", meanlab};
    if (paired && isfinite(dmean)) llc_svg_hline(&svg, &p, dmean, &ms);
    /* diverged chains: a red cross at the last finite draw (on the frame if
     * it lies outside the range) and a label where there is room */
    llc_svg_placer *pl = malloc(sizeof *pl);
    if (pl) llc_svg_placer_init(pl, p.x + 2, p.y + 2, p.w - 4, p.h - 4);
    double *cx = calloc((size_t)nch + 1, 2 * sizeof *cx);
    for (int pass = 0; pass < 2 && cx; pass++)
        for (int k = 0; k < nch; k++) {
            if (!ch[k].diverged) continue;
            if (pass == 0) {
                int last = -1;
                for (int i = 0; i < ch[k].n; i++)
                    if (isfinite(ch[k].trace[i])) last = i;
                double x = last >= 0 ? llc_svg_px(&p, last) : p.x;
                double y = last >= 0 ? llc_svg_py(&p, ch[k].trace[last]) : p.y;
                if (!isfinite(y) || y < p.y) y = p.y;
                if (y > p.y + p.h) y = p.y + p.h;
                cx[2 * k] = x;
                cx[2 * k + 1] = y;
                llc_svg_style xs2 = {DIVERGED_COLOR, 2.5, NULL, 0, "diverged", NULL};
                llc_svg_line(&svg, x - 6, y - 6, x + 6, y + 6, &xs2);
                llc_svg_line(&svg, x - 6, y + 6, x + 6, y - 6, &xs2);
                if (pl) llc_svg_placer_block(pl, x - 7, y - 7, x + 7, y + 7);
            } else if (pl) {
                char dl[96];
                if (ch[k].diverged_at >= 0)
                    snprintf(dl, sizeof dl, "chain %d diverged (SGLD step %lld)", ch[k].chain, ch[k].diverged_at);
                else snprintf(dl, sizeof dl, "chain %d diverged", ch[k].chain);
                llc_svg_place_label(&svg, pl, cx[2 * k], cx[2 * k + 1], 10, 10.5, DIVERGED_COLOR, LLC_SVG_HALO, dl);
            }
        }
    free(cx);
    free(pl);
    llc_svg_legend(&svg, W - lw - 10, top, le, nle, max_rows, LEGEND_FONT);
    code = write_end(&svg, f, out);
    free(xs);
    free(le);
    free(labels);
cleanup:
    sqlite3_finalize(st);
    for (int k = 0; k < nch; k++) free(ch[k].trace);
    free(ch);
    return code;
}

/* ---------------- kind embed ---------------- */

/* Everything the embed picture needs at one checkpoint. */
typedef struct {
    llc_task *task;
    llc_model *model;
    const llc_tf_config *tc;
    llc_batch *batch;
    void *ws;
    float *w;
    int V, T, B, C, n_out, dist;
    float *normed, *pooled, *out; /* (B*T, C), (B, C), (B, C) */
    const llc_tensor *embed, *pos, *unembed, *unembed_b, *lnf_g, *lnf_b;
    /* per frame */
    long long step;
    double train_loss, test_loss, acc;
} embed_ctx;

static void embed_free(embed_ctx *e)
{
    if (e->ws) e->model->ws_free(e->ws);
    llc_batch_free(e->batch);
    llc_model_free(e->model);
    llc_task_free(e->task);
    free(e->w);
    free(e->normed);
    free(e->pooled);
    free(e->out);
}

/* Class scores of a final vector h (C = 2): final norm, unembedding. */
static int embed_argmax(const embed_ctx *e, const float *h)
{
    float x[2] = {h[0], h[1]};
    if (e->tc->final_norm && e->tc->norm != LLC_NORM_NONE) {
        double mean = 0, var = 0;
        if (e->tc->norm == LLC_NORM_LAYER) mean = (x[0] + x[1]) / 2.0;
        for (int k = 0; k < 2; k++) var += (x[k] - mean) * (x[k] - mean) / 2.0;
        double r = 1.0 / sqrt(var + LLC_NORM_EPS);
        for (int k = 0; k < 2; k++) {
            double v = (x[k] - mean) * r;
            if (e->lnf_g) v *= e->w[e->lnf_g->offset + (size_t)k];
            if (e->lnf_b) v += e->w[e->lnf_b->offset + (size_t)k];
            x[k] = (float)v;
        }
    }
    const float *wu = e->w + (e->tc->tied ? e->embed->offset : e->unembed->offset);
    int best = 0;
    double bv = -INFINITY;
    for (int v = 0; v < e->n_out; v++) {
        double s = (double)wu[v * 2] * x[0] + (double)wu[v * 2 + 1] * x[1];
        if (e->unembed_b) s += e->w[e->unembed_b->offset + (size_t)v];
        if (s > bv) bv = s, best = v;
    }
    return best;
}

static int embed_setup(plot_ctx *c, embed_ctx *e)
{
    char err[LLC_ERRLEN] = "";
    memset(e, 0, sizeof *e);
    int dm = cfg_int(c->config, "model", "d_model", 0), pooled = cfg_int(c->config, "model", "pooled", 0);
    if (dm != 2 || !pooled)
        return cli_error(EXIT_USAGE,
                         "plot: --kind embed needs the pooled d_model = 2 model (PAPERS §3, e.g. llc train --task "
                         "modadd); run %s has d_model %d%s",
                         c->run, dm, pooled ? "" : ", not pooled");
    int rc = cli_build(c->config, &e->task, &e->model, NULL, err);
    if (rc) return cli_error(cli_exit_code(rc), "plot: run %s: %s", c->run, err);
    e->tc = llc_transformer_config(e->model);
    const char *dist = cli_get(c->a, "data") ? cli_get(c->a, "data") : "train";
    e->dist = llc_task_dist(e->task, dist);
    if (e->dist < 0) return cli_error(EXIT_NOTFOUND, "plot: task %s has no distribution '%s'", e->task->name, dist);
    long nex = e->task->n_examples ? e->task->n_examples(e->task, e->dist) : 0;
    e->B = nex > 0 && nex < EMBED_B ? (int)nex : EMBED_B;
    e->T = e->task->shape.T;
    e->C = 2;
    e->V = e->tc->vocab;
    e->n_out = e->tc->n_out;
    e->embed = llc_ptable_find(&e->model->table, "embed");
    e->pos = llc_ptable_find(&e->model->table, "pos");
    e->unembed = llc_ptable_find(&e->model->table, "unembed");
    e->unembed_b = llc_ptable_find(&e->model->table, "unembed.b");
    e->lnf_g = llc_ptable_find(&e->model->table, "lnf.g");
    e->lnf_b = llc_ptable_find(&e->model->table, "lnf.b");
    if (!e->embed || (!e->tc->tied && !e->unembed))
        return cli_error(EXIT_USAGE, "plot: --kind embed needs token embeddings (run %s has none)", c->run);
    size_t np = llc_model_n_params(e->model);
    e->batch = llc_task_batch_alloc(e->task, e->B);
    e->ws = e->model->ws_alloc(e->model, e->B);
    e->w = malloc(np * sizeof *e->w);
    e->normed = malloc((size_t)e->B * (size_t)e->T * 2 * sizeof(float));
    e->pooled = malloc((size_t)e->B * 2 * sizeof(float));
    e->out = malloc((size_t)e->B * 2 * sizeof(float));
    if (!e->batch || !e->ws || !e->w || !e->normed || !e->pooled || !e->out)
        return cli_error(EXIT_NOMEM, "plot: out of memory");
    e->batch->B = e->B;
    rc = e->task->fill(e->task, e->dist, 0, e->batch);
    if (rc) return cli_error(cli_exit_code(rc), "plot: task %s: cannot make a batch", e->task->name);
    return 0;
}

/* Load checkpoint `step` and run the forward pass. */
static int embed_frame(plot_ctx *c, embed_ctx *e, long long step)
{
    int rc = llc_store_checkpoint_get(c->s, c->run, step, e->w, llc_model_n_params(e->model), &e->train_loss,
                                      &e->test_loss);
    if (rc == LLC_ERR_NOTFOUND)
        return cli_error(EXIT_NOTFOUND, "plot: run %s has no checkpoint at step %lld (see llc show --run %s)", c->run,
                         step, c->run);
    if (rc) return cli_error(cli_exit_code(rc), "plot: checkpoint %s/%lld: %s", c->run, step, llc_store_errmsg(c->s));
    rc = llc_transformer_pooled_acts(e->model, e->ws, e->w, e->batch, e->normed, e->pooled, e->out);
    if (rc) return cli_error(cli_exit_code(rc), "plot: forward pass of %s/%lld failed", c->run, step);
    e->step = step;
    int ok = 0;
    for (int b = 0; b < e->B; b++) ok += embed_argmax(e, e->out + 2 * b) == e->batch->targets[b * e->T + e->T - 1];
    e->acc = (double)ok / e->B;
    return 0;
}

/* The four planes: 0 embeddings, 1 normalised inputs, 2 pooled, 3 outputs. */
typedef struct {
    double lo[4][2], hi[4][2];
} embed_bounds;

static void bounds_take(embed_bounds *bd, int k, double x, double y)
{
    if (!isfinite(x) || !isfinite(y)) return;
    if (x < bd->lo[k][0]) bd->lo[k][0] = x;
    if (x > bd->hi[k][0]) bd->hi[k][0] = x;
    if (y < bd->lo[k][1]) bd->lo[k][1] = y;
    if (y > bd->hi[k][1]) bd->hi[k][1] = y;
}

static void embed_bounds_init(embed_bounds *bd)
{
    for (int k = 0; k < 4; k++) {
        bd->lo[k][0] = bd->lo[k][1] = 0; /* the origin is always shown */
        bd->hi[k][0] = bd->hi[k][1] = 0;
    }
}

static void embed_bounds_add(embed_bounds *bd, const embed_ctx *e)
{
    const float *em = e->w + e->embed->offset;
    for (int v = 0; v < e->V; v++) bounds_take(bd, 0, em[2 * v], em[2 * v + 1]);
    if (e->pos)
        for (int t = 0; t < e->T; t++) {
            const float *pt = e->w + e->pos->offset + 2 * (size_t)t;
            bounds_take(bd, 0, pt[0], pt[1]);
        }
    for (int n = 0; n < e->B * e->T; n++) bounds_take(bd, 1, e->normed[2 * n], e->normed[2 * n + 1]);
    for (int b = 0; b < e->B; b++) {
        bounds_take(bd, 2, e->pooled[2 * b], e->pooled[2 * b + 1]);
        bounds_take(bd, 3, e->out[2 * b], e->out[2 * b + 1]);
    }
}

/* Square axes with equal units on x and y around the bounds of plane k. */
static void embed_axes(const embed_bounds *bd, int k, llc_svg_panel *p)
{
    double cx = (bd->lo[k][0] + bd->hi[k][0]) / 2, cy = (bd->lo[k][1] + bd->hi[k][1]) / 2;
    double half = fmax(bd->hi[k][0] - bd->lo[k][0], bd->hi[k][1] - bd->lo[k][1]) / 2 * 1.12;
    if (!(half > 1e-6)) half = 1;
    p->xa = (llc_svg_axis){LLC_SVG_LINEAR, cx - half, cx + half, 1, 0, 0};
    p->ya = (llc_svg_axis){LLC_SVG_LINEAR, cy - half, cy + half, 1, 0, 0};
}

static void embed_draw(plot_ctx *c, embed_ctx *e, const embed_bounds *bd, llc_svg *svg, double W)
{
    const double ps = 320, left = 72, gx = 84, top = 88, gy = 84;
    const int V = e->V, T = e->T, B = e->B;
    char t1[256], t2[256];
    const char *dist = e->task->dists[e->dist];
    snprintf(t1, sizeof t1, "%s (%s): the d_model = 2 planes at step %lld", c->run, c->info.task, e->step);
    snprintf(t2, sizeof t2, "train loss %.4g, test loss %.4g; %d '%s' sequences, %.1f%% classified right",
             e->train_loss, e->test_loss, B, dist, 100 * e->acc);
    title(svg, left, t1, t2);
    static const char *const names[4] = {"token (coloured) and position (grey) embeddings",
                                         "normalised inputs (colour = token)", "pooled sequence embeddings",
                                         "outputs after the MLP, decision regions"};
    llc_svg_panel p[4];
    double *xs = malloc((size_t)B * T * sizeof *xs), *ys = malloc((size_t)B * T * sizeof *ys);
    unsigned char *seen = calloc((size_t)(V > 0 ? V : 1) * (size_t)T, 1);
    int *cls = malloc((size_t)B * sizeof *cls);
    for (int k = 0; k < 4; k++) {
        p[k] = (llc_svg_panel){left + (k % 2) * (ps + gx), top + (k / 2) * (ps + gy), ps, ps, {0}, {0}, 0};
        embed_axes(bd, k, &p[k]);
        llc_svg_panel_begin(svg, &p[k]);
        llc_svg_text(svg, p[k].x, p[k].y - 8, 12.5, LLC_SVG_START, 0, "#111111", LLC_SVG_BOLD, "panel-title",
                     names[k]);
    }
    /* decision regions of the output plane (drawn under its axes' grid) */
    {
        const llc_svg_panel *q = &p[3];
        double cell = q->w / EMBED_GRID;
        for (int r = 0; r < EMBED_GRID; r++) {
            int run_cls = -1, run_start = 0;
            for (int col = 0; col <= EMBED_GRID; col++) {
                int cl = -1;
                if (col < EMBED_GRID) {
                    float h[2];
                    h[0] = (float)(q->xa.lo + (col + 0.5) / EMBED_GRID * (q->xa.hi - q->xa.lo));
                    h[1] = (float)(q->ya.hi - (r + 0.5) / EMBED_GRID * (q->ya.hi - q->ya.lo));
                    cl = embed_argmax(e, h);
                }
                if (cl != run_cls) {
                    char tint[8];
                    if (run_cls >= 0)
                        llc_svg_rect(svg, q->x + run_start * cell, q->y + r * cell, (col - run_start) * cell + 0.4,
                                     cell + 0.4, llc_svg_tint(llc_svg_category_color(run_cls), 0.84, tint), 1, NULL,
                                     0);
                    run_cls = cl;
                    run_start = col;
                }
            }
        }
    }
    for (int k = 0; k < 4; k++) llc_svg_axes(svg, &p[k], 0, NULL, NULL);
    if (!xs || !ys || !seen || !cls) goto done;
    /* 0: embeddings: markers first, then labels placed around them (tokens first) */
    {
        llc_svg_placer *pl = malloc(sizeof *pl);
        const float *em = e->w + e->embed->offset, *po = e->pos ? e->w + e->pos->offset : NULL;
        if (po)
            for (int t = 0; t < T; t++) {
                double x = po[2 * t], y = po[2 * t + 1];
                llc_svg_points(svg, &p[0], &x, &y, 1, 3.2, "#888888", 0.9, "position");
            }
        for (int v = 0; v < V; v++) {
            double x = em[2 * v], y = em[2 * v + 1];
            llc_svg_style st = {llc_svg_category_color(v), 1.2, NULL, 0.6, "embed-ray", NULL};
            llc_svg_line(svg, llc_svg_px(&p[0], 0), llc_svg_py(&p[0], 0), llc_svg_px(&p[0], x), llc_svg_py(&p[0], y),
                         &st);
            llc_svg_points(svg, &p[0], &x, &y, 1, 6, llc_svg_category_color(v), 0, "token");
        }
        if (pl) {
            llc_svg_placer_init(pl, p[0].x + 2, p[0].y + 2, p[0].w - 4, p[0].h - 4);
            for (int v = 0; v < V; v++) {
                double px = llc_svg_px(&p[0], em[2 * v]), py = llc_svg_py(&p[0], em[2 * v + 1]);
                llc_svg_placer_block(pl, px - 6, py - 6, px + 6, py + 6);
            }
            for (int t = 0; po && t < T; t++) {
                double px = llc_svg_px(&p[0], po[2 * t]), py = llc_svg_py(&p[0], po[2 * t + 1]);
                llc_svg_placer_block(pl, px - 3, py - 3, px + 3, py + 3);
            }
            char lab[16];
            for (int v = 0; v < V; v++) {
                snprintf(lab, sizeof lab, "%d", v);
                llc_svg_place_label(svg, pl, llc_svg_px(&p[0], em[2 * v]), llc_svg_py(&p[0], em[2 * v + 1]), 8, 12,
                                    llc_svg_category_color(v), LLC_SVG_HALO | LLC_SVG_BOLD, lab);
            }
            for (int t = 0; po && t < T; t++) {
                snprintf(lab, sizeof lab, "p%d", t);
                llc_svg_place_label(svg, pl, llc_svg_px(&p[0], po[2 * t]), llc_svg_py(&p[0], po[2 * t + 1]), 5, 9.5,
                                    "#777777", LLC_SVG_HALO, lab);
            }
            free(pl);
        }
    }
    /* 1: distinct (token, position) inputs after the norm */
    for (int v = 0; v < V; v++) {
        int n = 0;
        for (int i = 0; i < B * T; i++) {
            int tok = e->batch->tokens[i], t = i % T;
            if (tok != v || seen[(size_t)tok * T + (size_t)t]) continue;
            seen[(size_t)tok * T + (size_t)t] = 1;
            xs[n] = e->normed[2 * i];
            ys[n++] = e->normed[2 * i + 1];
        }
        llc_svg_points(svg, &p[1], xs, ys, n, 4, llc_svg_category_color(v), 0.85, "normed");
    }
    /* 2, 3: pooled and outputs coloured by target class, in batch order */
    for (int b = 0; b < B; b++) cls[b] = e->batch->targets[b * T + T - 1];
    for (int k = 2; k <= 3; k++) {
        const float *src = k == 2 ? e->pooled : e->out;
        for (int b = 0; b < B; b++) {
            xs[b] = src[2 * b];
            ys[b] = src[2 * b + 1];
        }
        llc_svg_scatter(svg, &p[k], xs, ys, cls, B, 2.6, 0.65, k == 2 ? "pooled" : "output");
    }
    /* legend: colours = tokens and classes */
    {
        int n = e->n_out > V ? e->n_out : V;
        if (n > 12) n = 12;
        llc_svg_legend_entry le[12];
        char lab[12][32];
        for (int i = 0; i < n; i++) {
            snprintf(lab[i], sizeof lab[i], "token / class %d", i);
            le[i] = (llc_svg_legend_entry){lab[i], llc_svg_category_color(i), NULL, LLC_SVG_KEY_POINT};
        }
        double lw, lh;
        llc_svg_legend_size(le, n, 1, LEGEND_FONT, &lw, &lh);
        llc_svg_legend(svg, (W - lw) / 2, top + 2 * ps + gy + 30, le, n, 1, LEGEND_FONT);
    }
done:
    free(cls);
    free(xs);
    free(ys);
    free(seen);
}

static int plot_embed(plot_ctx *c, const char *out_opt)
{
    embed_ctx e;
    long long *all = NULL, *steps = NULL;
    int n_all = 0, n_steps = 0, code = 0;
    char *path = NULL;
    FILE *f = NULL;
    if ((code = embed_setup(c, &e))) goto cleanup;
    int rc = llc_store_checkpoint_steps(c->s, c->run, &all, &n_all);
    if (rc) {
        code = cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(c->s));
        goto cleanup;
    }
    if (n_all == 0) {
        code = cli_error(EXIT_NOTFOUND, "plot: run %s has no checkpoints", c->run);
        goto cleanup;
    }
    const char *spec = cli_get(c->a, "steps");
    if (spec) {
        if ((code = cli_select_steps("plot", spec, all, n_all, &steps, &n_steps))) goto cleanup;
    } else {
        long long s1 = all[n_all - 1];
        if (cli_get(c->a, "step") && !parse_ll(cli_get(c->a, "step"), &s1)) {
            code = cli_error(EXIT_USAGE, "plot: --step must be a checkpoint step (integer >= 0), got '%s'",
                             cli_get(c->a, "step"));
            goto cleanup;
        }
        steps = malloc(sizeof *steps);
        if (!steps) {
            code = cli_error(EXIT_NOMEM, "plot: out of memory");
            goto cleanup;
        }
        steps[0] = s1;
        n_steps = 1;
    }
    /* shared plane ranges over every frame, so the frames line up */
    embed_bounds bd;
    embed_bounds_init(&bd);
    for (int i = 0; i < n_steps; i++) {
        if ((code = embed_frame(c, &e, steps[i]))) goto cleanup;
        embed_bounds_add(&bd, &e);
    }
    char prefix[1024];
    if (out_opt) {
        snprintf(prefix, sizeof prefix, "%s", out_opt);
        size_t n = strlen(prefix);
        if (spec && n > 4 && strcmp(prefix + n - 4, ".svg") == 0) prefix[n - 4] = '\0';
    } else {
        snprintf(prefix, sizeof prefix, "%s-embed", c->run);
    }
    size_t plen = strlen(prefix) + 32;
    path = malloc(plen);
    if (!path) {
        code = cli_error(EXIT_NOMEM, "plot: out of memory");
        goto cleanup;
    }
    const double W = 72 + 2 * 320 + 84 + 40, H = 88 + 2 * 320 + 84 + 80;
    for (int i = 0; i < n_steps; i++) {
        if (spec) snprintf(path, plen, "%s-%lld.svg", prefix, steps[i]);
        else if (out_opt) snprintf(path, plen, "%s", prefix);
        else snprintf(path, plen, "%s.svg", prefix);
        if (n_steps > 1 && (code = embed_frame(c, &e, steps[i]))) goto cleanup;
        if ((code = write_begin(path, &f))) goto cleanup;
        llc_svg svg;
        llc_svg_begin(&svg, f, W, H);
        embed_draw(c, &e, &bd, &svg, W);
        code = write_end(&svg, f, path);
        f = NULL;
        if (code) goto cleanup;
    }
cleanup:
    embed_free(&e);
    free(all);
    free(steps);
    free(path);
    return code;
}

/* ---------------- the command ---------------- */

int cmd_plot(int argc, char **argv)
{
    cli_args a;
    plot_ctx c;
    memset(&c, 0, sizeof c);
    if (cli_plot_is_analysis(argc, argv)) return cmd_plot_analysis(argc, argv); /* --kind trajectory, log */
    int rc = cli_parse(&a, "plot", usage, defs, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    c.a = &a;
    c.run = cli_get(&a, "run");
    if (!c.run) return cli_error(EXIT_USAGE, "plot: --run ID is required");
    if (!cli_valid_run_id(c.run))
        return cli_error(EXIT_USAGE, "plot: run id '%s' is not valid (1-64 characters of A-Z a-z 0-9 _ . -)", c.run);
    const char *kind = cli_get(&a, "kind");
    if (!kind) kind = "curves";
    int k_curves = !strcmp(kind, "curves"), k_heads = !strcmp(kind, "heads"), k_trace = !strcmp(kind, "trace"),
        k_embed = !strcmp(kind, "embed");
    if (!k_curves && !k_heads && !k_trace && !k_embed)
        return cli_error(EXIT_USAGE, "plot: --kind must be curves, heads, trace or embed, got '%s'", kind);
    /* options that do not apply to the kind are refused, not ignored */
    if ((cli_has(&a, "targets") || cli_has(&a, "target")) && !(k_curves || k_trace))
        return cli_error(EXIT_USAGE, "plot: --targets applies to --kind curves and trace, not %s", kind);
    if (cli_has(&a, "targets") && cli_has(&a, "target"))
        return cli_error(EXIT_USAGE, "plot: give --targets or --target, not both");
    if ((cli_has(&a, "linear") || cli_has(&a, "mark")) && !(k_curves || k_heads))
        return cli_error(EXIT_USAGE, "plot: --linear and --mark apply to --kind curves and heads, not %s", kind);
    if (cli_has(&a, "step") && !(k_trace || k_embed))
        return cli_error(EXIT_USAGE, "plot: --step applies to --kind trace and embed, not %s", kind);
    if (cli_has(&a, "steps") && !k_embed)
        return cli_error(EXIT_USAGE, "plot: --steps applies to --kind embed (one file per checkpoint), not %s", kind);
    if (cli_has(&a, "steps") && cli_has(&a, "step"))
        return cli_error(EXIT_USAGE, "plot: give --step or --steps, not both");
    long long step = -1;
    if (k_trace) {
        const char *sv = cli_get(&a, "step");
        if (!sv) return cli_error(EXIT_USAGE, "plot: --kind trace needs --step S (a checkpoint step with an estimate)");
        if (!parse_ll(sv, &step))
            return cli_error(EXIT_USAGE, "plot: --step must be a checkpoint step (integer >= 0), got '%s'", sv);
    }
    c.linear = cli_has(&a, "linear");
    if (cli_has(&a, "color-by") && (!k_heads || strcmp(cli_get(&a, "color-by"), "cluster") != 0))
        return cli_error(EXIT_USAGE, "plot: --color-by takes 'cluster' and applies to --kind heads");
    if (cli_has(&a, "mark") && strcmp(cli_get(&a, "mark"), "stages") == 0) {
        if ((rc = cli_plot_stage_marks(&a, c.run, c.marks, MAX_MARKS, &c.n_marks))) return rc;
    } else if (cli_has(&a, "mark")) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", cli_get(&a, "mark"));
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            long long v;
            if (!parse_ll(tok, &v))
                return cli_error(EXIT_USAGE, "plot: --mark wants steps like 100,2000; got '%s'", cli_get(&a, "mark"));
            if (c.n_marks == MAX_MARKS) return cli_error(EXIT_USAGE, "plot: at most %d --mark steps", MAX_MARKS);
            c.marks[c.n_marks++] = v;
        }
        if (c.n_marks == 0) return cli_error(EXIT_USAGE, "plot: --mark wants steps like 100,2000");
    }
    const char *out = cli_get(&a, "out");
    if (out && !*out) return cli_error(EXIT_USAGE, "plot: --out needs a file name");
    char def_out[128];
    if (!out && !k_embed) {
        if (k_curves) snprintf(def_out, sizeof def_out, "%s.svg", c.run);
        else snprintf(def_out, sizeof def_out, "%s-%s.svg", c.run, kind);
        out = def_out;
    }

    if ((rc = cli_open_store(&a, LLC_STORE_READONLY, &c.s))) return rc;
    int code = 0;
    rc = llc_store_run_get(c.s, c.run, &c.info);
    if (rc) {
        code = rc == LLC_ERR_NOTFOUND ? cli_error(EXIT_NOTFOUND, "plot: no run '%s' in %s (see llc runs)", c.run,
                                                  cli_db_path(&a))
                                      : cli_error(cli_exit_code(rc), "plot: %s", llc_store_errmsg(c.s));
        llc_store_close(c.s);
        return code;
    }
    c.config = cJSON_Parse(c.info.config ? c.info.config : "");
    if (!c.config) {
        code = cli_error(EXIT_STORE, "plot: run %s has an unreadable config in the store", c.run);
        goto cleanup;
    }
    if (k_curves) code = plot_curves(&c, out);
    else if (k_heads) code = plot_heads(&c, out);
    else if (k_trace) code = plot_trace(&c, out, step);
    else code = plot_embed(&c, cli_get(&a, "out"));
cleanup:
    cJSON_Delete(c.config);
    llc_run_info_free(&c.info);
    llc_store_close(c.s);
    return code;
}
