/* svg.c - the SVG writer behind `llc plot`; see llc_svg.h. */
#include "llc_svg.h"
#include "llc_common.h"

#include <math.h>
#include <string.h>

#define FONT_FAMILY "DejaVu Sans, Verdana, Arial, sans-serif"
#define PAD_FRAC 0.03      /* axis padding with nice = 0 */
#define PX_LIMIT 1e6       /* clamp of pixel coordinates */
#define TICK_FONT 11.0
#define LABEL_FONT 12.5
#define LABEL_GAP 4.0      /* min px between two tick labels */
#define AXIS_COLOR "#444444"
#define GRID_COLOR "#e6e6e6"
#define BOX_EPS 0.01       /* px: label boxes that only touch do not overlap */

/* ---------------- scales ---------------- */

static double symlog_t(double v, double c)
{
    double a = fabs(v);
    double t = a <= c ? a / c : 1.0 + log10(a / c);
    return v < 0 ? -t : t;
}

static double symlog_inv(double t, double c)
{
    double a = fabs(t);
    double v = a <= 1.0 ? a * c : c * pow(10.0, a - 1.0);
    return t < 0 ? -v : v;
}

/* The axis coordinate in which the scale is linear; NaN if not showable. */
static double axis_t(const llc_svg_axis *ax, double v)
{
    if (!isfinite(v)) return NAN;
    switch (ax->scale) {
    case LLC_SVG_LOG: return v > 0 ? log10(v) : NAN;
    case LLC_SVG_SYMLOG: return symlog_t(v, ax->linthresh);
    default: return v;
    }
}

static double axis_inv(const llc_svg_axis *ax, double t)
{
    switch (ax->scale) {
    case LLC_SVG_LOG: return pow(10.0, t);
    case LLC_SVG_SYMLOG: return symlog_inv(t, ax->linthresh);
    default: return t;
    }
}

double llc_svg_axis_frac(const llc_svg_axis *ax, double v)
{
    double t = axis_t(ax, v), t0 = axis_t(ax, ax->lo), t1 = axis_t(ax, ax->hi);
    if (!isfinite(t) || !(t1 > t0)) return NAN;
    return (t - t0) / (t1 - t0);
}

/* 1-2-5 step giving about `target` intervals over span. */
static double nice_step(double span, int target)
{
    if (!(span > 0) || !isfinite(span)) return 1.0;
    double raw = span / (target > 1 ? target : 1);
    double mag = pow(10.0, floor(log10(raw)));
    double r = raw / mag;
    double m = r < 1.414 ? 1.0 : r < 3.162 ? 2.0 : r < 7.071 ? 5.0 : 10.0; /* geometric midpoints */
    return m * mag;
}

/* Largest 1/2/5 x 10^k <= v (up = 0) or smallest >= v (up = 1); v > 0. */
static double nice_125(double v, int up)
{
    static const double m[] = {1, 2, 5, 10};
    double mag = pow(10.0, floor(log10(v)));
    if (!up) {
        double best = mag;
        for (int i = 0; i < 3; i++)
            if (m[i] * mag <= v * (1 + 1e-9)) best = m[i] * mag;
        return best;
    }
    for (int i = 0; i < 4; i++)
        if (m[i] * mag >= v * (1 - 1e-9)) return m[i] * mag;
    return 10 * mag;
}

void llc_svg_axis_set(llc_svg_axis *ax, llc_svg_scale scale, double lo, double hi, double linthresh, int nice)
{
    ax->scale = scale;
    ax->linthresh = linthresh > 0 && isfinite(linthresh) ? linthresh : 1.0;
    if (!isfinite(lo) && !isfinite(hi)) lo = 0, hi = 1;
    else if (!isfinite(lo)) lo = hi;
    else if (!isfinite(hi)) hi = lo;
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (scale == LLC_SVG_LOG) {
        if (!(hi > 0)) hi = 1;
        if (!(lo > 0)) lo = hi / 1000;
        if (hi <= lo * (1 + 1e-9)) lo /= 2, hi *= 2;
    } else if (hi - lo <= 1e-12 * (fabs(lo) + fabs(hi)) || hi == lo) {
        double d = lo == 0 ? 1.0 : fabs(lo) * 0.1;
        if (scale == LLC_SVG_SYMLOG && lo >= 0) {
            lo = 0;
            hi = hi > 0 ? hi * 2 : ax->linthresh;
        } else {
            lo -= d;
            hi += d;
        }
    }
    if (nice) {
        if (scale == LLC_SVG_LINEAR) {
            double st = nice_step(hi - lo, 6);
            lo = floor(lo / st + 1e-9) * st;
            hi = ceil(hi / st - 1e-9) * st;
        } else if (scale == LLC_SVG_LOG) {
            lo = nice_125(lo, 0);
            hi = nice_125(hi, 1);
        } else {
            if (hi > ax->linthresh) hi = nice_125(hi, 1);
            if (lo < -ax->linthresh) lo = -nice_125(-lo, 1);
        }
    } else {
        ax->lo = lo;
        ax->hi = hi;
        double t0 = axis_t(ax, lo), t1 = axis_t(ax, hi), pad = (t1 - t0) * PAD_FRAC;
        lo = axis_inv(ax, t0 - pad);
        hi = axis_inv(ax, t1 + pad);
    }
    ax->lo = lo;
    ax->hi = hi;
}

/* ---------------- ticks ---------------- */

void llc_svg_format_tick(double v, double step, char *buf, size_t n)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "?");
        return;
    }
    double a = fabs(v);
    if (a < 1e-300 || (step > 0 && a < step * 1e-6)) {
        snprintf(buf, n, "0");
        return;
    }
    int e = (int)floor(log10(a) + 1e-9);
    int big = e >= 6 || (step == 0 && e >= 5) || e <= -5 || (step > 0 && step < 1e-4);
    if (big) {
        /* mantissa with as few digits as needed: 2e5, 2.5e5 */
        double m = v / pow(10.0, e);
        char mb[32];
        snprintf(mb, sizeof mb, "%.3g", m);
        snprintf(buf, n, "%se%d", mb, e);
        return;
    }
    int dec = 0;
    if (step > 0) {
        dec = (int)ceil(-log10(step) - 1e-9); /* 1-2-5 steps: one digit per decade below 1 */
    } else {
        dec = e < 0 ? -e : 0;
        /* 2.5e-3 style values on a log axis */
        double m = a / pow(10.0, e);
        if (fabs(m - floor(m + 0.5)) > 1e-6) dec++;
    }
    if (dec < 0) dec = 0;
    if (dec > 10) dec = 10;
    snprintf(buf, n, "%.*f", dec, v);
    if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)) memmove(buf, buf + 1, strlen(buf)); /* "-0.0" */
}

static void tick_add(llc_svg_ticks *t, double v, int prio, double step)
{
    if (t->n >= LLC_SVG_MAX_TICKS) return;
    t->v[t->n] = v;
    t->prio[t->n] = prio;
    if (prio) llc_svg_format_tick(v, step, t->label[t->n], LLC_SVG_LABELLEN);
    else t->label[t->n][0] = '\0';
    t->n++;
}

static void linear_ticks(double lo, double hi, int target, int prio, llc_svg_ticks *t)
{
    double st = nice_step(hi - lo, target);
    double k0 = ceil(lo / st - 1e-9), k1 = floor(hi / st + 1e-9);
    for (double k = k0; k <= k1 && t->n < LLC_SVG_MAX_TICKS; k++) {
        double v = k * st;
        if (fabs(v) < st * 1e-9) v = 0;
        tick_add(t, v, prio, st);
    }
}

/* Log ticks of [lo, hi], 0 < lo < hi. */
static void log_ticks(double lo, double hi, int target, llc_svg_ticks *t)
{
    double span = log10(hi / lo);
    int n0 = t->n;
    if (span < 0.3) {
        linear_ticks(lo, hi, target < 3 ? 3 : target, 1, t);
        return;
    }
    int d0 = (int)floor(log10(lo) + 1e-9), d1 = (int)ceil(log10(hi) - 1e-9);
    int every = span > 8 ? (int)ceil(span / 8) : 1;
    for (int d = d0; d <= d1; d++) {
        double mag = pow(10.0, d);
        for (int m = 1; m <= 9; m++) {
            double v = m * mag;
            if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
            int prio;
            if (m == 1) prio = (d % every == 0) ? 1 : 0;
            else if (span > 6) continue;
            else if (span < 1.0) prio = 2;
            else prio = (span <= 2.5 && (m == 2 || m == 5)) ? 2 : 0;
            tick_add(t, v, prio, 0);
        }
    }
    /* fewer than two labels: label the multiples too */
    int labelled = 0;
    for (int i = n0; i < t->n; i++) labelled += t->prio[i] > 0;
    if (labelled < 2)
        for (int i = n0; i < t->n; i++)
            if (!t->prio[i]) {
                t->prio[i] = 2;
                llc_svg_format_tick(t->v[i], 0, t->label[i], LLC_SVG_LABELLEN);
            }
}

void llc_svg_ticks_make(const llc_svg_axis *ax, int target, llc_svg_ticks *t)
{
    t->n = 0;
    if (target < 2) target = 2;
    double lo = ax->lo, hi = ax->hi;
    if (!(hi > lo)) return;
    if (ax->scale == LLC_SVG_LINEAR) {
        linear_ticks(lo, hi, target, 1, t);
    } else if (ax->scale == LLC_SVG_LOG) {
        log_ticks(lo, hi, target, t);
    } else {
        double c = ax->linthresh;
        if (lo <= 0 && hi >= 0) tick_add(t, 0, 1, 1);
        if (hi > c) log_ticks(lo > c ? lo : c, hi, target, t);
        else if (hi > 0) linear_ticks(lo > 0 ? lo : c / 10, hi, target, 1, t);
    }
    if (ax->has_end && isfinite(ax->end) && ax->end >= lo && ax->end <= hi) {
        int k = 0;
        while (k < t->n && t->v[k] < ax->end) k++;
        if (k < t->n && t->v[k] == ax->end) { /* already a tick: make it the end tick */
            t->prio[k] = 3;
            llc_svg_format_tick(ax->end, ax->end == floor(ax->end) ? 1 : 0, t->label[k], LLC_SVG_LABELLEN);
        } else if (t->n < LLC_SVG_MAX_TICKS) {
            memmove(t->v + k + 1, t->v + k, (size_t)(t->n - k) * sizeof *t->v);
            memmove(t->prio + k + 1, t->prio + k, (size_t)(t->n - k) * sizeof *t->prio);
            memmove(t->label + k + 1, t->label + k, (size_t)(t->n - k) * sizeof *t->label);
            t->n++;
            t->v[k] = ax->end;
            t->prio[k] = 3;
            llc_svg_format_tick(ax->end, ax->end == floor(ax->end) ? 1 : 0, t->label[k], LLC_SVG_LABELLEN);
        }
    }
}

/* ---------------- text ---------------- */

double llc_svg_text_width(const char *txt, double size)
{
    double w = 0;
    for (const unsigned char *p = (const unsigned char *)txt; p && *p; p++) {
        unsigned c = *p;
        if ((c & 0xC0) == 0x80) continue; /* UTF-8 continuation */
        double a;
        if (c >= '0' && c <= '9') a = 0.636;
        else if (strchr(" .,;:!|'", (int)c)) a = 0.32;
        else if (strchr("il", (int)c)) a = 0.28;
        else if (strchr("ftrj()[]-", (int)c)) a = 0.38;
        else if (strchr("mwMW", (int)c)) a = 0.9;
        else if (c >= 'A' && c <= 'Z') a = 0.7;
        else if (c >= 0x80) a = 0.65;
        else a = 0.6;
        w += a;
    }
    return w * size;
}

/* Length of a valid UTF-8 sequence at p (1..4), 0 if invalid. */
static int utf8_len(const unsigned char *p)
{
    int n;
    if (p[0] < 0x80) return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) n = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF) n = 3;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4) n = 4;
    else return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

void llc_svg_escape(FILE *f, const char *txt)
{
    const unsigned char *p = (const unsigned char *)(txt ? txt : "");
    while (*p) {
        switch (*p) {
        case '&': fputs("&amp;", f); p++; continue;
        case '<': fputs("&lt;", f); p++; continue;
        case '>': fputs("&gt;", f); p++; continue;
        case '"': fputs("&quot;", f); p++; continue;
        case '\'': fputs("&apos;", f); p++; continue;
        default: break;
        }
        if (*p < 0x20 && *p != '\t' && *p != '\n') {
            fputc('?', f);
            p++;
            continue;
        }
        int n = utf8_len(p);
        if (n == 0) {
            fputc('?', f);
            p++;
            continue;
        }
        fwrite(p, 1, (size_t)n, f);
        p += n;
    }
}

/* ---------------- document and primitives ---------------- */

void llc_svg_begin(llc_svg *s, FILE *f, double width, double height)
{
    s->f = f;
    s->width = width;
    s->height = height;
    s->n_clips = 0;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"%s\">\n",
            width, height, width, height, FONT_FAMILY);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", width, height);
}

int llc_svg_end(llc_svg *s)
{
    fprintf(s->f, "</svg>\n");
    if (fflush(s->f) != 0 || ferror(s->f)) return LLC_ERR_IO;
    return LLC_OK;
}

void llc_svg_group_begin(llc_svg *s, const char *cls)
{
    if (cls) {
        fprintf(s->f, "<g class=\"");
        llc_svg_escape(s->f, cls);
        fprintf(s->f, "\">\n");
    } else {
        fprintf(s->f, "<g>\n");
    }
}

void llc_svg_group_end(llc_svg *s) { fprintf(s->f, "</g>\n"); }

static void attr(FILE *f, const char *name, const char *val)
{
    if (!val) return;
    fprintf(f, " %s=\"", name);
    llc_svg_escape(f, val);
    fputc('"', f);
}

void llc_svg_text(llc_svg *s, double x, double y, double size, int anchor, double rotate, const char *color,
                  int flags, const char *cls, const char *txt)
{
    static const char *const anchors[] = {"start", "middle", "end"};
    FILE *f = s->f;
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\"", x, y, size);
    if (anchor > 0 && anchor <= 2) fprintf(f, " text-anchor=\"%s\"", anchors[anchor]);
    if (rotate != 0) fprintf(f, " transform=\"rotate(%.1f %.2f %.2f)\"", rotate, x, y);
    attr(f, "fill", color ? color : "#222222");
    if (flags & LLC_SVG_BOLD) fprintf(f, " font-weight=\"bold\"");
    if (flags & LLC_SVG_HALO)
        fprintf(f, " stroke=\"white\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\"");
    attr(f, "class", cls);
    fputc('>', f);
    llc_svg_escape(f, txt);
    fprintf(f, "</text>\n");
}

static void style_attrs(FILE *f, const llc_svg_style *st)
{
    const char *color = st && st->color ? st->color : "#000000";
    double w = st && st->width > 0 ? st->width : 1.5;
    attr(f, "stroke", color);
    fprintf(f, " stroke-width=\"%.2f\"", w);
    if (st && st->dash) attr(f, "stroke-dasharray", st->dash);
    if (st && st->opacity > 0 && st->opacity < 1) fprintf(f, " stroke-opacity=\"%.3f\"", st->opacity);
}

void llc_svg_line(llc_svg *s, double x1, double y1, double x2, double y2, const llc_svg_style *st)
{
    fprintf(s->f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"", x1, y1, x2, y2);
    style_attrs(s->f, st);
    if (st && st->cls) attr(s->f, "class", st->cls);
    fprintf(s->f, "/>\n");
}

void llc_svg_rect(llc_svg *s, double x, double y, double w, double h, const char *fill, double fill_opacity,
                  const char *stroke, double stroke_width)
{
    fprintf(s->f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"", x, y, w > 0 ? w : 0, h > 0 ? h : 0);
    attr(s->f, "fill", fill ? fill : "none");
    if (fill && fill_opacity > 0 && fill_opacity < 1) fprintf(s->f, " fill-opacity=\"%.3f\"", fill_opacity);
    if (stroke) {
        attr(s->f, "stroke", stroke);
        fprintf(s->f, " stroke-width=\"%.2f\"", stroke_width > 0 ? stroke_width : 1);
    }
    fprintf(s->f, "/>\n");
}

void llc_svg_circle(llc_svg *s, double cx, double cy, double r, const char *fill, double opacity,
                    const char *stroke)
{
    fprintf(s->f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\"", cx, cy, r);
    attr(s->f, "fill", fill ? fill : "none");
    if (opacity > 0 && opacity < 1) fprintf(s->f, " fill-opacity=\"%.3f\"", opacity);
    if (stroke) {
        attr(s->f, "stroke", stroke);
        fprintf(s->f, " stroke-width=\"1\"");
    }
    fprintf(s->f, "/>\n");
}

/* ---------------- panels ---------------- */

void llc_svg_panel_begin(llc_svg *s, llc_svg_panel *p)
{
    p->clip = ++s->n_clips;
    fprintf(s->f,
            "<clipPath id=\"clip%d\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/></clipPath>\n",
            p->clip, p->x, p->y, p->w, p->h);
}

static double clamp_px(double v)
{
    if (!isfinite(v)) return NAN;
    return v > PX_LIMIT ? PX_LIMIT : v < -PX_LIMIT ? -PX_LIMIT : v;
}

double llc_svg_px(const llc_svg_panel *p, double x)
{
    return clamp_px(p->x + llc_svg_axis_frac(&p->xa, x) * p->w);
}

double llc_svg_py(const llc_svg_panel *p, double y)
{
    return clamp_px(p->y + p->h - llc_svg_axis_frac(&p->ya, y) * p->h);
}

static void clip_attr(FILE *f, const llc_svg_panel *p)
{
    if (p->clip) fprintf(f, " clip-path=\"url(#clip%d)\"", p->clip);
}

/* Keep-if-no-overlap placement of labels along one axis: intervals taken. */
typedef struct {
    int n;
    double a[LLC_SVG_MAX_TICKS], b[LLC_SVG_MAX_TICKS];
} span_set;

static int span_free(const span_set *u, double a, double b)
{
    for (int i = 0; i < u->n; i++)
        if (a < u->b[i] + LABEL_GAP && b > u->a[i] - LABEL_GAP) return 0;
    return 1;
}

static void span_take(span_set *u, double a, double b)
{
    if (u->n < LLC_SVG_MAX_TICKS) {
        u->a[u->n] = a;
        u->b[u->n] = b;
        u->n++;
    }
}

/* Which tick labels to draw along an axis of pixel length len: primary first,
 * then secondary where free; a primary label overlapping an earlier primary
 * is dropped too. pos(i) in px along the axis, extent(i) the label's size. */
static void choose_labels(const llc_svg_ticks *t, const double *pos, const double *ext, int *show)
{
    span_set u = {0};
    static const int order[3] = {3, 1, 2}; /* the end tick, primary, secondary */
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < t->n; i++) {
            int pass = order[o];
            if (t->prio[i] != pass || !isfinite(pos[i])) continue;
            double a = pos[i] - ext[i] / 2, b = pos[i] + ext[i] / 2;
            show[i] = span_free(&u, a, b);
            if (show[i]) span_take(&u, a, b);
        }
}

double llc_svg_axes(llc_svg *s, const llc_svg_panel *p, int flags, const char *xlabel, const char *ylabel)
{
    FILE *f = s->f;
    llc_svg_ticks tx, ty;
    int nx = p->w > 400 ? 8 : p->w > 200 ? 5 : 3;
    int ny = p->h > 300 ? 7 : p->h > 150 ? 5 : 3;
    llc_svg_ticks_make(&p->xa, nx, &tx);
    llc_svg_ticks_make(&p->ya, ny, &ty);
    double pos[LLC_SVG_MAX_TICKS] = {0}, ext[LLC_SVG_MAX_TICKS] = {0};
    int show[LLC_SVG_MAX_TICKS] = {0};
    const double x0 = p->x, y0 = p->y, x1 = p->x + p->w, y1 = p->y + p->h;
    fprintf(f, "<g class=\"axis\">\n");
    /* grid */
    if (!(flags & LLC_SVG_NO_GRID)) {
        llc_svg_style g = {GRID_COLOR, 1, NULL, 0, NULL, NULL};
        for (int i = 0; i < tx.n; i++) {
            double x = llc_svg_px(p, tx.v[i]);
            if (tx.prio[i] % 2 == 1 && x > x0 + 0.5 && x < x1 - 0.5) llc_svg_line(s, x, y0, x, y1, &g);
        }
        for (int i = 0; i < ty.n; i++) {
            double y = llc_svg_py(p, ty.v[i]);
            if (ty.prio[i] % 2 == 1 && y > y0 + 0.5 && y < y1 - 0.5) llc_svg_line(s, x0, y, x1, y, &g);
        }
    }
    llc_svg_rect(s, x0, y0, p->w, p->h, NULL, 0, AXIS_COLOR, 1);
    /* tick marks */
    llc_svg_style tk = {AXIS_COLOR, 1, NULL, 0, NULL, NULL};
    for (int i = 0; i < tx.n; i++) {
        double x = llc_svg_px(p, tx.v[i]), len = tx.prio[i] ? 5 : 3;
        if (x >= x0 - 0.5 && x <= x1 + 0.5) llc_svg_line(s, x, y1, x, y1 + len, &tk);
    }
    for (int i = 0; i < ty.n; i++) {
        double y = llc_svg_py(p, ty.v[i]), len = ty.prio[i] ? 5 : 3;
        if (y >= y0 - 0.5 && y <= y1 + 0.5) llc_svg_line(s, x0 - len, y, x0, y, &tk);
    }
    /* tick labels */
    double ylab_w = 0;
    if (!(flags & LLC_SVG_NO_XLABELS)) {
        for (int i = 0; i < tx.n; i++) {
            pos[i] = llc_svg_px(p, tx.v[i]);
            if (pos[i] < x0 - 0.5 || pos[i] > x1 + 0.5) pos[i] = NAN;
            ext[i] = llc_svg_text_width(tx.label[i], TICK_FONT);
            show[i] = 0;
        }
        choose_labels(&tx, pos, ext, show);
        for (int i = 0; i < tx.n; i++)
            if (show[i]) llc_svg_text(s, pos[i], y1 + 17, TICK_FONT, LLC_SVG_MIDDLE, 0, "#333333", 0, "tick-label",
                                      tx.label[i]);
    }
    if (!(flags & LLC_SVG_NO_YLABELS)) {
        for (int i = 0; i < ty.n; i++) {
            pos[i] = llc_svg_py(p, ty.v[i]);
            if (pos[i] < y0 - 0.5 || pos[i] > y1 + 0.5) pos[i] = NAN;
            ext[i] = TICK_FONT;
            show[i] = 0;
        }
        choose_labels(&ty, pos, ext, show);
        for (int i = 0; i < ty.n; i++)
            if (show[i]) {
                llc_svg_text(s, x0 - 8, pos[i] + TICK_FONT * 0.36, TICK_FONT, LLC_SVG_END, 0, "#333333", 0,
                             "tick-label", ty.label[i]);
                double w = llc_svg_text_width(ty.label[i], TICK_FONT);
                if (w > ylab_w) ylab_w = w;
            }
    }
    if (xlabel)
        llc_svg_text(s, x0 + p->w / 2, y1 + (flags & LLC_SVG_NO_XLABELS ? 18 : 36), LABEL_FONT, LLC_SVG_MIDDLE, 0,
                     "#222222", 0, "axis-label", xlabel);
    if (ylabel) {
        double x = x0 - 8 - ylab_w - 10;
        llc_svg_text(s, x, y0 + p->h / 2, LABEL_FONT, LLC_SVG_MIDDLE, -90, "#222222", 0, "axis-label", ylabel);
    }
    fprintf(f, "</g>\n");
    return ylab_w;
}

void llc_svg_axis_right(llc_svg *s, const llc_svg_panel *p, const char *label, const char *color)
{
    llc_svg_ticks ty;
    double pos[LLC_SVG_MAX_TICKS] = {0}, ext[LLC_SVG_MAX_TICKS] = {0};
    int show[LLC_SVG_MAX_TICKS] = {0};
    const double x1 = p->x + p->w, y0 = p->y, y1 = p->y + p->h;
    llc_svg_ticks_make(&p->ya, p->h > 300 ? 7 : 5, &ty);
    llc_svg_style tk = {color, 1, NULL, 0, NULL, NULL};
    fprintf(s->f, "<g class=\"axis\">\n");
    double w = 0;
    for (int i = 0; i < ty.n; i++) {
        pos[i] = llc_svg_py(p, ty.v[i]);
        if (pos[i] < y0 - 0.5 || pos[i] > y1 + 0.5) pos[i] = NAN;
        ext[i] = TICK_FONT;
        show[i] = 0;
        if (isfinite(pos[i])) llc_svg_line(s, x1, pos[i], x1 + (ty.prio[i] ? 5 : 3), pos[i], &tk);
    }
    choose_labels(&ty, pos, ext, show);
    for (int i = 0; i < ty.n; i++)
        if (show[i]) {
            llc_svg_text(s, x1 + 8, pos[i] + TICK_FONT * 0.36, TICK_FONT, LLC_SVG_START, 0, color, 0, "tick-label",
                         ty.label[i]);
            double lw = llc_svg_text_width(ty.label[i], TICK_FONT);
            if (lw > w) w = lw;
        }
    if (label)
        llc_svg_text(s, x1 + 8 + w + 14, y0 + p->h / 2, LABEL_FONT, LLC_SVG_MIDDLE, 90, color, 0, "axis-label", label);
    fprintf(s->f, "</g>\n");
}

/* ---------------- data ---------------- */

static void path_open(llc_svg *s, const llc_svg_panel *p, const llc_svg_style *st, const char *dcls)
{
    FILE *f = s->f;
    fprintf(f, "<path");
    attr(f, "class", st && st->cls ? st->cls : dcls);
    if (st && st->name) attr(f, "data-name", st->name);
    fprintf(f, " fill=\"none\"");
    style_attrs(f, st);
    fprintf(f, " stroke-linejoin=\"round\" stroke-linecap=\"round\"");
    clip_attr(f, p);
    fprintf(f, " d=\"");
}

static void path_close(llc_svg *s, const char *name)
{
    fprintf(s->f, "\"");
    if (name) {
        fprintf(s->f, "><title>");
        llc_svg_escape(s->f, name);
        fprintf(s->f, "</title></path>\n");
    } else {
        fprintf(s->f, "/>\n");
    }
}

void llc_svg_path(llc_svg *s, const llc_svg_panel *p, const double *x, const double *y, int n,
                  const llc_svg_style *st)
{
    FILE *f = s->f;
    path_open(s, p, st, "curve");
    int pen = 0; /* points in the current piece */
    double lx = 0, ly = 0;
    for (int i = 0; i < n; i++) {
        double px = llc_svg_px(p, x[i]), py = llc_svg_py(p, y[i]);
        if (!isfinite(px) || !isfinite(py)) {
            if (pen == 1) fprintf(f, "l0 0 "); /* an isolated point: a round-capped dot */
            pen = 0;
            continue;
        }
        fprintf(f, "%s%.2f %.2f ", pen ? "L" : "M", px, py);
        lx = px;
        ly = py;
        pen++;
    }
    if (pen == 1) fprintf(f, "l0 0 ");
    (void)lx;
    (void)ly;
    path_close(s, st ? st->name : NULL);
}

static void band_piece(FILE *f, const llc_svg_panel *p, const double *x, const double *lo, const double *hi, int a,
                       int b)
{
    for (int i = a; i < b; i++)
        fprintf(f, "%s%.2f %.2f ", i == a ? "M" : "L", llc_svg_px(p, x[i]), llc_svg_py(p, lo[i]));
    for (int i = b - 1; i >= a; i--) fprintf(f, "L%.2f %.2f ", llc_svg_px(p, x[i]), llc_svg_py(p, hi[i]));
    fprintf(f, "Z ");
}

void llc_svg_band(llc_svg *s, const llc_svg_panel *p, const double *x, const double *lo, const double *hi, int n,
                  const char *color, double opacity, const char *name)
{
    FILE *f = s->f;
    fprintf(f, "<path class=\"band\"");
    if (name) attr(f, "data-name", name);
    attr(f, "fill", color ? color : "#000000");
    fprintf(f, " fill-opacity=\"%.3f\" stroke=\"none\"", opacity > 0 && opacity <= 1 ? opacity : 0.2);
    clip_attr(f, p);
    fprintf(f, " d=\"");
    int a = -1;
    for (int i = 0; i <= n; i++) {
        int ok = i < n && isfinite(llc_svg_px(p, x[i])) && isfinite(llc_svg_py(p, lo[i])) &&
                 isfinite(llc_svg_py(p, hi[i]));
        if (ok && a < 0) a = i;
        if (!ok && a >= 0) {
            if (i - a >= 2) band_piece(f, p, x, lo, hi, a, i);
            a = -1;
        }
    }
    fprintf(f, "\"/>\n");
}

void llc_svg_points(llc_svg *s, const llc_svg_panel *p, const double *x, const double *y, int n, double r,
                    const char *color, double opacity, const char *name)
{
    FILE *f = s->f;
    fprintf(f, "<g class=\"points\"");
    if (name) attr(f, "data-name", name);
    attr(f, "fill", color ? color : "#000000");
    if (opacity > 0 && opacity < 1) fprintf(f, " fill-opacity=\"%.3f\"", opacity);
    clip_attr(f, p);
    fprintf(f, ">\n");
    for (int i = 0; i < n; i++) {
        double px = llc_svg_px(p, x[i]), py = llc_svg_py(p, y[i]);
        if (isfinite(px) && isfinite(py)) fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\"/>\n", px, py, r);
    }
    fprintf(f, "</g>\n");
}

void llc_svg_scatter(llc_svg *s, const llc_svg_panel *p, const double *x, const double *y, const int *cat, int n,
                     double r, double opacity, const char *name)
{
    FILE *f = s->f;
    fprintf(f, "<g class=\"points\"");
    if (name) attr(f, "data-name", name);
    if (opacity > 0 && opacity < 1) fprintf(f, " fill-opacity=\"%.3f\"", opacity);
    clip_attr(f, p);
    fprintf(f, ">\n");
    for (int i = 0; i < n; i++) {
        double px = llc_svg_px(p, x[i]), py = llc_svg_py(p, y[i]);
        if (isfinite(px) && isfinite(py))
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\"/>\n", px, py, r,
                    llc_svg_category_color(cat[i]));
    }
    fprintf(f, "</g>\n");
}

void llc_svg_hline(llc_svg *s, const llc_svg_panel *p, double y, const llc_svg_style *st)
{
    double py = llc_svg_py(p, y);
    if (!isfinite(py) || py < p->y - 0.5 || py > p->y + p->h + 0.5) return;
    llc_svg_line(s, p->x, py, p->x + p->w, py, st);
}

void llc_svg_vline(llc_svg *s, const llc_svg_panel *p, double x, const llc_svg_style *st)
{
    double px = llc_svg_px(p, x);
    if (!isfinite(px) || px < p->x - 0.5 || px > p->x + p->w + 0.5) return;
    llc_svg_line(s, px, p->y, px, p->y + p->h, st);
}

/* ---------------- legends ---------------- */

#define KEY_W 24.0
#define KEY_GAP 6.0
#define LEGEND_PAD 6.0
#define COL_GAP 14.0

void llc_svg_legend_size(const llc_svg_legend_entry *e, int n, int max_rows, double size, double *w, double *h)
{
    if (max_rows < 1) max_rows = 1;
    int cols = (n + max_rows - 1) / max_rows, rows = n < max_rows ? n : max_rows;
    double tw = 0;
    *w = 2 * LEGEND_PAD;
    for (int c = 0; c < cols; c++) {
        double cw = 0;
        for (int i = c * max_rows; i < n && i < (c + 1) * max_rows; i++) {
            double lw = llc_svg_text_width(e[i].label, size);
            if (lw > cw) cw = lw;
        }
        tw += KEY_W + KEY_GAP + cw + (c ? COL_GAP : 0);
    }
    *w += tw;
    *h = n > 0 ? 2 * LEGEND_PAD + rows * LLC_SVG_LEGEND_ROW : 0;
}

void llc_svg_legend(llc_svg *s, double x, double y, const llc_svg_legend_entry *e, int n, int max_rows, double size)
{
    if (n <= 0) return;
    if (max_rows < 1) max_rows = 1;
    double w, h;
    llc_svg_legend_size(e, n, max_rows, size, &w, &h);
    fprintf(s->f, "<g class=\"legend\">\n");
    llc_svg_rect(s, x, y, w, h, "#ffffff", 0.85, "#cccccc", 1);
    double cx = x + LEGEND_PAD;
    for (int c = 0; c * max_rows < n; c++) {
        double cw = 0;
        for (int i = c * max_rows; i < n && i < (c + 1) * max_rows; i++) {
            double lw = llc_svg_text_width(e[i].label, size);
            if (lw > cw) cw = lw;
            double ry = y + LEGEND_PAD + (i - c * max_rows + 0.5) * LLC_SVG_LEGEND_ROW;
            const char *col = e[i].color ? e[i].color : "#000000";
            fprintf(s->f, "<g class=\"legend-entry\">\n");
            switch (e[i].kind) {
            case LLC_SVG_KEY_BAND:
                llc_svg_rect(s, cx, ry - 5, KEY_W, 10, col, 0.2, NULL, 0);
                /* fall through */
            case LLC_SVG_KEY_LINE: {
                llc_svg_style st = {col, 2, e[i].dash, 0, NULL, NULL};
                llc_svg_line(s, cx, ry, cx + KEY_W, ry, &st);
                break;
            }
            case LLC_SVG_KEY_POINT: llc_svg_circle(s, cx + KEY_W / 2, ry, 4, col, 0, NULL); break;
            default: llc_svg_rect(s, cx + 4, ry - 6, KEY_W - 8, 12, col, 0.35, col, 1); break;
            }
            llc_svg_text(s, cx + KEY_W + KEY_GAP, ry + size * 0.36, size, LLC_SVG_START, 0, "#222222", 0, NULL,
                         e[i].label);
            fprintf(s->f, "</g>\n");
        }
        cx += KEY_W + KEY_GAP + cw + COL_GAP;
    }
    fprintf(s->f, "</g>\n");
}

/* ---------------- label placement ---------------- */

void llc_svg_placer_init(llc_svg_placer *pl, double x, double y, double w, double h)
{
    pl->bx0 = x;
    pl->by0 = y;
    pl->bx1 = x + w;
    pl->by1 = y + h;
    pl->n = 0;
}

void llc_svg_placer_block(llc_svg_placer *pl, double x0, double y0, double x1, double y1)
{
    if (pl->n >= LLC_SVG_MAX_BOXES) return;
    pl->x0[pl->n] = x0;
    pl->y0[pl->n] = y0;
    pl->x1[pl->n] = x1;
    pl->y1[pl->n] = y1;
    pl->n++;
}

int llc_svg_place_label(llc_svg *s, llc_svg_placer *pl, double px, double py, double gap, double size,
                        const char *color, int flags, const char *txt)
{
    if (!isfinite(px) || !isfinite(py)) return 0;
    const double w = llc_svg_text_width(txt, size), asc = size * 0.75, hgt = size * 0.97, d = gap * 0.6;
    /* candidate boxes (left, top): right, left, upper right, lower right,
     * upper left, lower left, above, below; the first six never overlap
     * each other */
    const double bx[8] = {px + gap, px - gap - w, px + d, px + d, px - d - w, px - d - w, px - w / 2, px - w / 2};
    const double by[8] = {py - hgt / 2, py - hgt / 2, py - 1.5 * hgt, py + hgt / 2, py - 1.5 * hgt, py + hgt / 2,
                          py - gap - hgt, py + gap};
    if (pl->n >= LLC_SVG_MAX_BOXES) return 0;
    for (int k = 0; k < 8; k++) {
        double x0 = bx[k], x1 = bx[k] + w, y0 = by[k], y1 = by[k] + hgt;
        if (x0 < pl->bx0 || x1 > pl->bx1 || y0 < pl->by0 || y1 > pl->by1) continue;
        int free_ = 1;
        for (int i = 0; i < pl->n && free_; i++)
            free_ = x1 <= pl->x0[i] + BOX_EPS || x0 >= pl->x1[i] - BOX_EPS || y1 <= pl->y0[i] + BOX_EPS ||
                    y0 >= pl->y1[i] - BOX_EPS;
        if (!free_) continue;
        llc_svg_placer_block(pl, x0, y0, x1, y1);
        llc_svg_text(s, bx[k], by[k] + asc, size, LLC_SVG_START, 0, color, flags, "point-label", txt);
        return 1;
    }
    return 0;
}

/* ---------------- palettes ---------------- */

static const unsigned char families[8][2][3] = {
    {{0x08, 0x30, 0x6b}, {0x6b, 0xae, 0xd6}}, /* blues */
    {{0x8c, 0x2d, 0x04}, {0xfd, 0xae, 0x6b}}, /* oranges */
    {{0x00, 0x44, 0x1b}, {0x74, 0xc4, 0x76}}, /* greens */
    {{0x3f, 0x00, 0x7d}, {0x9e, 0x9a, 0xc8}}, /* purples */
    {{0x67, 0x00, 0x0d}, {0xfb, 0x6a, 0x4a}}, /* reds */
    {{0x4a, 0x2a, 0x10}, {0xc4, 0x9a, 0x6c}}, /* browns */
    {{0x67, 0x00, 0x1f}, {0xdf, 0x65, 0xb0}}, /* pinks */
    {{0x25, 0x25, 0x25}, {0xa0, 0xa0, 0xa0}}, /* greys */
};

const char *llc_svg_family_color(int family, int i, int n, char *buf)
{
    int f = ((family % 8) + 8) % 8;
    double t = n > 1 ? (double)i / (n - 1) : 0.35;
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (int)lround(families[f][0][k] + t * (families[f][1][k] - families[f][0][k]));
    snprintf(buf, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
    return buf;
}

const char *llc_svg_category_color(int i)
{
    static const char *const tab10[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
    return tab10[((i % 10) + 10) % 10];
}

const char *llc_svg_tint(const char *color, double t, char *buf)
{
    unsigned r, g, b;
    if (!color || sscanf(color, "#%2x%2x%2x", &r, &g, &b) != 3) r = g = b = 0x80;
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    snprintf(buf, 8, "#%02x%02x%02x", (unsigned)lround(r + t * (255.0 - r)), (unsigned)lround(g + t * (255.0 - g)),
             (unsigned)lround(b + t * (255.0 - b)));
    return buf;
}
