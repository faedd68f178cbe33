/* test_svg.c - the SVG writer (llc/svg.c): scale mappings, tick values and
 * labels on linear, log and symlog axes, tick label formatting, XML
 * escaping, paths broken at NaN, closed band polygons, legend entries,
 * label placement, palettes, one exact golden element, and the well-
 * formedness of a whole document (a small tag-balance checker). Output is
 * captured with open_memstream. No randomness.
 */
#include "llc_svg.h"
#include "llc_plot.h"
#include "llc_common.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAC_TOL 1e-12

/* Capture what fn writes. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} capture;

static void cap_open(capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
}

static char *cap_close(capture *c)
{
    fclose(c->f);
    return c->buf; /* caller frees */
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    size_t k = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)); p += k) n++;
    return n;
}

/* Tag balance: every <name ...> closed by </name> in order, self-closing
 * <name/> and <?...?> skipped, no '<' or '&' that is not markup or an
 * entity in text. Returns 1 if well formed. */
static int well_formed(const char *doc)
{
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = doc;
    while (*p) {
        if (*p == '&') {
            const char *e = strchr(p, ';');
            if (!e || e - p > 6) return 0;
            p = e + 1;
            continue;
        }
        if (*p != '<') {
            p++;
            continue;
        }
        if (p[1] == '?') {
            p = strstr(p, "?>");
            if (!p) return 0;
            p += 2;
            continue;
        }
        const char *end = strchr(p, '>');
        if (!end) return 0;
        int closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t n = strcspn(name, " />\n");
        if (n == 0 || n >= 32) return 0;
        for (const char *q = p + 1; q < end; q++)
            if (*q == '<') return 0;
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != n || strncmp(stack[depth - 1], name, n) != 0) return 0;
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 64) return 0;
            if (depth == 0) roots++;
            memcpy(stack[depth], name, n);
            stack[depth][n] = '\0';
            depth++;
        }
        p = end + 1;
    }
    return depth == 0 && roots == 1;
}

static void test_scales(void)
{
    llc_svg_axis a = {LLC_SVG_LINEAR, 2, 12, 1, 0, 0};
    CHECK_CLOSE(llc_svg_axis_frac(&a, 2), 0, FRAC_TOL, 0, "linear lo -> 0");
    CHECK_CLOSE(llc_svg_axis_frac(&a, 7), 0.5, FRAC_TOL, 0, "linear mid -> 0.5");
    CHECK(isnan(llc_svg_axis_frac(&a, NAN)), "linear NaN -> NaN");
    llc_svg_axis l = {LLC_SVG_LOG, 1, 1000, 1, 0, 0};
    CHECK_CLOSE(llc_svg_axis_frac(&l, 10), 1.0 / 3, FRAC_TOL, 0, "log 10 on [1,1000] -> 1/3");
    CHECK(isnan(llc_svg_axis_frac(&l, 0)), "log 0 -> NaN (not showable)");
    CHECK(isnan(llc_svg_axis_frac(&l, -1)), "log -1 -> NaN");
    /* symlog c = 10 on [0, 1000]: t(0) = 0, t(10) = 1, t(1000) = 3 */
    llc_svg_axis s = {LLC_SVG_SYMLOG, 0, 1000, 10, 0, 0};
    CHECK_CLOSE(llc_svg_axis_frac(&s, 0), 0, FRAC_TOL, 0, "symlog 0 at the left edge");
    CHECK_CLOSE(llc_svg_axis_frac(&s, 5), 0.5 / 3, FRAC_TOL, 0, "symlog linear part");
    CHECK_CLOSE(llc_svg_axis_frac(&s, 10), 1.0 / 3, FRAC_TOL, 0, "symlog [0,c] one decade wide");
    CHECK_CLOSE(llc_svg_axis_frac(&s, 100), 2.0 / 3, FRAC_TOL, 0, "symlog log part");
    /* axis_set: nice rounding, padding, repairs */
    llc_svg_axis_set(&a, LLC_SVG_LINEAR, 0.3, 17.2, 0, 1);
    CHECK(a.lo == 0 && a.hi == 18, "nice linear [0.3,17.2] -> [0,18], got [%g,%g]", a.lo, a.hi);
    llc_svg_axis_set(&a, LLC_SVG_LINEAR, 5, 5, 0, 1);
    CHECK(a.hi > a.lo && a.lo <= 5 && a.hi >= 5, "zero-width range widened: [%g,%g]", a.lo, a.hi);
    llc_svg_axis_set(&a, LLC_SVG_LINEAR, NAN, INFINITY, 0, 1);
    CHECK(isfinite(a.lo) && isfinite(a.hi) && a.hi > a.lo, "non-finite range repaired: [%g,%g]", a.lo, a.hi);
    llc_svg_axis_set(&l, LLC_SVG_LOG, 0.044, 4.67, 0, 1);
    CHECK(fabs(l.lo - 0.02) < 1e-12 && fabs(l.hi - 5) < 1e-12, "nice log [0.044,4.67] -> [0.02,5], got [%g,%g]",
          l.lo, l.hi);
    llc_svg_axis_set(&s, LLC_SVG_SYMLOG, 0, 600, 50, 0);
    double f0 = llc_svg_axis_frac(&s, 0), f1 = llc_svg_axis_frac(&s, 600);
    CHECK(f0 > 0.02 && f0 < 0.04 && f1 > 0.96 && f1 < 0.98, "padded symlog: 0 at %.3f, 600 at %.3f", f0, f1);
}

static int find_tick(const llc_svg_ticks *t, double v)
{
    for (int i = 0; i < t->n; i++)
        if (fabs(t->v[i] - v) <= 1e-9 * fabs(v) + 1e-12) return i;
    return -1;
}

static void test_ticks(void)
{
    llc_svg_ticks t;
    /* log [1, 1000]: decades labelled, 2..9 minor, nothing else */
    llc_svg_axis l = {LLC_SVG_LOG, 1, 1000, 1, 0, 0};
    llc_svg_ticks_make(&l, 6, &t);
    int lab = 0, minor = 0;
    for (int i = 0; i < t.n; i++) lab += t.prio[i] == 1, minor += t.prio[i] == 0;
    CHECK(t.n == 28 && lab == 4 && minor == 24, "log [1,1000]: 28 ticks, 4 labelled, 24 minor; got %d, %d, %d", t.n,
          lab, minor);
    const char *want[4] = {"1", "10", "100", "1000"};
    for (int k = 0, j = 0; k < t.n; k++)
        if (t.prio[k] == 1) {
            CHECK(j < 4 && strcmp(t.label[k], want[j]) == 0, "log label %d: '%s' want '%s'", j, t.label[k],
                  j < 4 ? want[j] : "?");
            j++;
        }
    for (int i = 1; i < t.n; i++) CHECK(t.v[i] > t.v[i - 1], "log ticks ascending at %d", i);
    /* log [0.02, 5]: 0.1 and 1 primary, 2 and 5 multiples secondary */
    l = (llc_svg_axis){LLC_SVG_LOG, 0.02, 5, 1, 0, 0};
    llc_svg_ticks_make(&l, 6, &t);
    int i1 = find_tick(&t, 0.1), i2 = find_tick(&t, 1), i3 = find_tick(&t, 0.05), i4 = find_tick(&t, 0.03);
    CHECK(i1 >= 0 && t.prio[i1] == 1 && strcmp(t.label[i1], "0.1") == 0, "log: 0.1 labelled '0.1'");
    CHECK(i2 >= 0 && t.prio[i2] == 1 && strcmp(t.label[i2], "1") == 0, "log: 1 labelled '1'");
    CHECK(i3 >= 0 && t.prio[i3] == 2 && strcmp(t.label[i3], "0.05") == 0, "log: 0.05 secondary '0.05'");
    CHECK(i4 >= 0 && t.prio[i4] == 0, "log: 0.03 minor");
    /* log spanning less than 0.3 decades: linear ticks */
    l = (llc_svg_axis){LLC_SVG_LOG, 4.6, 4.7, 1, 0, 0};
    llc_svg_ticks_make(&l, 5, &t);
    lab = 0;
    for (int i = 0; i < t.n; i++) lab += t.prio[i] > 0;
    CHECK(lab >= 2, "narrow log axis still has >= 2 labels (%d)", lab);
    /* many decades: labels thinned */
    l = (llc_svg_axis){LLC_SVG_LOG, 1e-6, 1e12, 1, 0, 0};
    llc_svg_ticks_make(&l, 6, &t);
    lab = 0;
    for (int i = 0; i < t.n; i++) lab += t.prio[i] > 0;
    CHECK(lab >= 4 && lab <= 10, "18 decades: %d labels (4..10)", lab);
    /* symlog [0, 600], c = 50: 0 labelled, then 50 (5x10), 100, 200, 500 */
    llc_svg_axis s = {LLC_SVG_SYMLOG, 0, 600, 50, 0, 0};
    llc_svg_ticks_make(&s, 6, &t);
    CHECK(t.n > 0 && t.v[0] == 0 && t.prio[0] == 1 && strcmp(t.label[0], "0") == 0, "symlog: first tick 0");
    CHECK(find_tick(&t, 100) >= 0 && t.prio[find_tick(&t, 100)] == 1, "symlog: 100 primary");
    CHECK(find_tick(&t, 50) >= 0, "symlog: tick at c = 50");
    CHECK(find_tick(&t, 20) < 0, "symlog: no log tick inside the linear part");
    /* the end tick: the last checkpoint step is always labelled, first */
    s.has_end = 1;
    s.end = 543;
    llc_svg_ticks_make(&s, 6, &t);
    int ke = find_tick(&t, 543);
    CHECK(ke >= 0 && t.prio[ke] == 3 && strcmp(t.label[ke], "543") == 0, "end tick 543 labelled '543' (prio 3)");
    for (int i = 1; i < t.n; i++) CHECK(t.v[i] > t.v[i - 1], "ticks stay ascending with the end tick (%d)", i);
    s.end = 500; /* already a tick: promoted, not doubled */
    llc_svg_ticks_make(&s, 6, &t);
    int n500 = 0;
    for (int i = 0; i < t.n; i++) n500 += t.v[i] == 500;
    CHECK(n500 == 1 && t.prio[find_tick(&t, 500)] == 3, "end tick on an existing tick: one tick, prio 3");
    s.has_end = 0;
    /* linear [0, 18]: 1-2-5 step */
    llc_svg_axis a = {LLC_SVG_LINEAR, 0, 18, 1, 0, 0};
    llc_svg_ticks_make(&a, 6, &t);
    CHECK(t.n == 10 && t.v[1] - t.v[0] == 2 && strcmp(t.label[9], "18") == 0, "linear [0,18]: 0,2,..,18 (%d ticks)",
          t.n);
    a = (llc_svg_axis){LLC_SVG_LINEAR, -0.5, 2.5, 1, 0, 0};
    llc_svg_ticks_make(&a, 6, &t);
    CHECK(find_tick(&t, 0) >= 0 && strcmp(t.label[find_tick(&t, 0)], "0") == 0, "linear: 0 as '0'");
    CHECK(find_tick(&t, 1.5) >= 0 && strcmp(t.label[find_tick(&t, 1.5)], "1.5") == 0, "linear: '1.5' with step 0.5");
    CHECK(find_tick(&t, -0.5) >= 0 && strcmp(t.label[find_tick(&t, -0.5)], "-0.5") == 0, "linear: '-0.5'");
}

static void test_format(void)
{
    char b[32];
    llc_svg_format_tick(0.1, 0.1, b, sizeof b);
    CHECK(strcmp(b, "0.1") == 0, "0.1 -> '%s'", b);
    llc_svg_format_tick(-1e-17, 0.2, b, sizeof b);
    CHECK(strcmp(b, "0") == 0, "-1e-17 (step 0.2) -> '%s', not -0", b);
    llc_svg_format_tick(-0.0, 1, b, sizeof b);
    CHECK(strcmp(b, "0") == 0, "-0 -> '%s'", b);
    llc_svg_format_tick(2e5, 0, b, sizeof b);
    CHECK(strcmp(b, "2e5") == 0, "2e5 on a log axis -> '%s'", b);
    llc_svg_format_tick(1e-5, 0, b, sizeof b);
    CHECK(strcmp(b, "1e-5") == 0, "1e-5 -> '%s'", b);
    llc_svg_format_tick(1000, 0, b, sizeof b);
    CHECK(strcmp(b, "1000") == 0, "1000 -> '%s'", b);
    llc_svg_format_tick(0.002, 0, b, sizeof b);
    CHECK(strcmp(b, "0.002") == 0, "0.002 -> '%s'", b);
    llc_svg_format_tick(15, 5, b, sizeof b);
    CHECK(strcmp(b, "15") == 0, "15 -> '%s'", b);
    llc_svg_format_tick(NAN, 1, b, sizeof b);
    CHECK(strcmp(b, "?") == 0, "NaN -> '%s'", b);
}

static void test_escape(void)
{
    capture c;
    cap_open(&c);
    llc_svg_escape(c.f, "a<b&c\"d'e>f");
    char *out = cap_close(&c);
    CHECK(out && strcmp(out, "a&lt;b&amp;c&quot;d&apos;e&gt;f") == 0, "escape <&\"'>: got '%s'", out);
    free(out);
    cap_open(&c);
    llc_svg_escape(c.f, "x\x01y\xff z \xce\xbb");
    out = cap_close(&c);
    CHECK(out && strcmp(out, "x?y? z \xce\xbb") == 0, "control char and invalid UTF-8 -> '?', λ kept: '%s'", out);
    free(out);
    cap_open(&c);
    llc_svg s;
    llc_svg_begin(&s, c.f, 100, 50);
    llc_svg_text(&s, 10, 20, 12, LLC_SVG_MIDDLE, 0, "#123456", 0, "title", "r1 <&> \"q\"");
    CHECK(llc_svg_end(&s) == LLC_OK, "end ok");
    out = cap_close(&c);
    /* golden: the text element exactly */
    CHECK(strstr(out, "<text x=\"10.00\" y=\"20.00\" font-size=\"12.0\" text-anchor=\"middle\" fill=\"#123456\" "
                      "class=\"title\">r1 &lt;&amp;&gt; &quot;q&quot;</text>\n") != NULL,
          "golden text element");
    CHECK(well_formed(out), "document with escaped text is well formed");
    free(out);
}

static void test_paths(void)
{
    capture c;
    cap_open(&c);
    llc_svg s;
    llc_svg_begin(&s, c.f, 400, 300);
    llc_svg_panel p = {50, 20, 300, 200, {LLC_SVG_LINEAR, 0, 10, 1, 0, 0}, {LLC_SVG_LINEAR, 0, 10, 1, 0, 0}, 0};
    llc_svg_panel_begin(&s, &p);
    CHECK(p.clip == 1, "first panel gets clip 1");
    CHECK_CLOSE(llc_svg_px(&p, 5), 200, 1e-9, 0, "px of 5 = mid");
    CHECK_CLOSE(llc_svg_py(&p, 10), 20, 1e-9, 0, "py of hi = top");
    CHECK(llc_svg_px(&p, 1e300) <= 1e6, "far values clamped");
    llc_svg_axes(&s, &p, 0, "x label", "y label");
    const double x[6] = {0, 1, 2, 3, 4, 5}, y[6] = {1, 2, NAN, 4, 5, 6};
    const double lo[6] = {0, 1, 1, NAN, 4, 5}, hi[6] = {2, 3, 3, 5, 6, 7};
    llc_svg_style st = {"#ff0000", 2, "4,2", 0, NULL, "series <1>"};
    llc_svg_path(&s, &p, x, y, 6, &st);
    llc_svg_band(&s, &p, x, lo, hi, 6, "#ff0000", 0.2, "series <1>");
    llc_svg_hline(&s, &p, 3, &st);
    llc_svg_hline(&s, &p, 30, &st); /* outside: nothing */
    CHECK(llc_svg_end(&s) == LLC_OK, "end ok");
    char *out = cap_close(&c);
    CHECK(count(out, "class=\"curve\"") == 1, "one curve path");
    CHECK(count(out, "class=\"band\"") == 1, "one band path");
    CHECK(count(out, "clip-path=\"url(#clip1)\"") == 2, "path and band clipped to the panel");
    CHECK(count(out, "class=\"axis\"") == 1, "one axis group");
    CHECK(strstr(out, "data-name=\"series &lt;1&gt;\"") != NULL, "series name escaped in data-name");
    CHECK(strstr(out, "<title>series &lt;1&gt;</title>") != NULL, "series tooltip");
    /* the curve: pieces [0,1] and [3,5] -> two M */
    const char *cp = strstr(out, "class=\"curve\"");
    const char *d = cp ? strstr(cp, " d=\"") : NULL;
    int nm = 0, nz = 0;
    for (const char *q = d ? d + 4 : ""; *q && *q != '"'; q++) nm += *q == 'M';
    CHECK(nm == 2, "NaN breaks the curve into 2 pieces (M count %d)", nm);
    /* the band: runs [0,2] (3 points) and [4,5] -> two closed polygons */
    const char *bp = strstr(out, "class=\"band\"");
    d = bp ? strstr(bp, " d=\"") : NULL;
    nm = 0;
    const char *last = NULL;
    for (const char *q = d ? d + 4 : ""; *q && *q != '"'; q++) {
        nm += *q == 'M';
        nz += *q == 'Z';
        if (*q != ' ') last = q;
    }
    CHECK(nm == 2 && nz == 2, "band: 2 polygons, each closed (M %d, Z %d)", nm, nz);
    CHECK(last && *last == 'Z', "band path ends with Z");
    CHECK(count(out, "<line") >= 1 && strstr(out, "stroke-dasharray=\"4,2\"") != NULL, "dashed hline");
    CHECK(strstr(out, ">x label</text>") && strstr(out, ">y label</text>"), "axis labels");
    CHECK(strstr(out, "rotate(-90") != NULL, "y label rotated");
    CHECK(well_formed(out), "panel document well formed");
    free(out);
}

static void test_legend(void)
{
    capture c;
    cap_open(&c);
    llc_svg s;
    llc_svg_begin(&s, c.f, 300, 200);
    const llc_svg_legend_entry e[3] = {{"model", "#000000", NULL, LLC_SVG_KEY_BAND},
                                       {"0.1 & <x>", "#08306b", NULL, LLC_SVG_KEY_LINE},
                                       {"train loss", "#666666", "6,4", LLC_SVG_KEY_LINE}};
    double w1, h1, w2, h2;
    llc_svg_legend_size(e, 3, 10, 11, &w1, &h1);
    llc_svg_legend_size(e, 3, 1, 11, &w2, &h2);
    CHECK(h1 > h2 && w2 > w1, "3 rows are taller and narrower than 3 columns");
    CHECK_CLOSE(h1 - h2, 2 * LLC_SVG_LEGEND_ROW, 1e-9, 0, "row height");
    llc_svg_legend(&s, 10, 10, e, 3, 10, 11);
    CHECK(llc_svg_end(&s) == LLC_OK, "end ok");
    char *out = cap_close(&c);
    CHECK(count(out, "class=\"legend-entry\"") == 3, "3 legend entries (got %d)", count(out, "class=\"legend-entry\""));
    CHECK(strstr(out, ">0.1 &amp; &lt;x&gt;</text>") != NULL, "legend label escaped");
    CHECK(strstr(out, ">model</text>") && strstr(out, ">train loss</text>"), "legend labels");
    CHECK(well_formed(out), "legend document well formed");
    free(out);
}

static void test_placer_palette(void)
{
    capture c;
    cap_open(&c);
    llc_svg s;
    llc_svg_begin(&s, c.f, 200, 200);
    llc_svg_placer *pl = malloc(sizeof *pl);
    llc_svg_placer_init(pl, 0, 0, 200, 200);
    int placed = 0;
    for (int i = 0; i < 12; i++) placed += llc_svg_place_label(&s, pl, 100, 100, 6, 10, NULL, 0, "label");
    CHECK(placed >= 6 && placed <= 8, "6 to 8 labels fit around one point, got %d", placed);
    for (int i = 0; i < pl->n; i++)
        for (int j = i + 1; j < pl->n; j++) {
            const double e = 0.01; /* touching boxes do not overlap */
            int overlap = !(pl->x1[i] <= pl->x0[j] + e || pl->x0[i] >= pl->x1[j] - e || pl->y1[i] <= pl->y0[j] + e ||
                            pl->y0[i] >= pl->y1[j] - e);
            CHECK(!overlap, "placed labels %d and %d do not overlap", i, j);
        }
    CHECK(llc_svg_place_label(&s, pl, 1, 1, 6, 10, NULL, 0, "a long label that cannot fit") == 0 ||
              pl->x0[pl->n - 1] >= 0,
          "labels stay inside the bounds");
    free(pl);
    llc_svg_end(&s);
    free(cap_close(&c));

    char b1[8], b2[8], b3[8];
    unsigned r, g, b;
    llc_svg_family_color(0, 0, 4, b1);
    sscanf(b1, "#%2x%2x%2x", &r, &g, &b);
    CHECK(b > r, "family 0 (layer 0) is blue: %s", b1);
    llc_svg_family_color(1, 0, 4, b2);
    sscanf(b2, "#%2x%2x%2x", &r, &g, &b);
    CHECK(r > b, "family 1 (layer 1) is orange: %s", b2);
    llc_svg_family_color(0, 3, 4, b3);
    unsigned r1, g1, bb1, r3, g3, bb3;
    sscanf(b1, "#%2x%2x%2x", &r1, &g1, &bb1);
    sscanf(b3, "#%2x%2x%2x", &r3, &g3, &bb3);
    CHECK(r3 + g3 + bb3 > r1 + g1 + bb1, "shades run dark to light: %s -> %s", b1, b3);
    CHECK(strcmp(llc_svg_family_color(8, 1, 3, b1), llc_svg_family_color(0, 1, 3, b2)) == 0, "families repeat");
    CHECK(strcmp(llc_svg_category_color(0), llc_svg_category_color(10)) == 0, "categories repeat");
    CHECK(strcmp(llc_svg_tint("#000000", 1, b1), "#ffffff") == 0 &&
              strcmp(llc_svg_tint("#102030", 0, b2), "#102030") == 0,
          "tint endpoints");
    CHECK(llc_svg_text_width("1000", 10) > llc_svg_text_width("10", 10), "text width grows");
}

static void test_io_error(void)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f) {
        printf("WARN: /dev/full missing, write-error check skipped\n");
        return;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    llc_svg s;
    llc_svg_begin(&s, f, 10, 10);
    CHECK(llc_svg_end(&s) == LLC_ERR_IO, "a full disk is reported by llc_svg_end");
    fclose(f);
}

/* The mean and ±1 sd across runs (llc plot --aggregate): only at the steps
 * every run has with a finite value; sample sd. */
static void test_aggregate(void)
{
    double x1[] = {0, 10, 20, 40}, m1[] = {1, 2, 3, 4};
    double x2[] = {0, 10, 20, 30, 40}, m2[] = {3, 5, 7, 9, NAN};
    double x3[] = {0, 20, 30, 40}, m3[] = {5, 8, 0, 1};
    llc_plot_series in[3] = {{"a", 4, x1, m1, NULL, NULL}, {"b", 5, x2, m2, NULL, NULL}, {"c", 4, x3, m3, NULL, NULL}};
    llc_plot_series out;
    CHECK(llc_plot_series_aggregate(in, 3, &out) == LLC_OK, "aggregate: ok");
    /* shared: 0 (1,3,5) and 20 (3,7,8); 10 lacks c, 30 lacks a, 40 is NaN in b */
    CHECK(out.n == 2 && out.x[0] == 0 && out.x[1] == 20, "aggregate: the shared steps 0 and 20 (n %d)", out.n);
    if (out.n == 2) {
        CHECK_CLOSE(out.mean[0], 3.0, 1e-12, 0, "aggregate: mean at 0");
        CHECK_CLOSE(out.hi[0] - out.mean[0], 2.0, 1e-12, 0, "aggregate: sd at 0 (1,3,5: 2)");
        CHECK_CLOSE(out.mean[1], 6.0, 1e-12, 0, "aggregate: mean at 20");
        CHECK_CLOSE(out.mean[1] - out.lo[1], sqrt(7.0), 1e-12, 0, "aggregate: sd at 20 (3,7,8: sqrt 7)");
    }
    free(out.x);
    CHECK(llc_plot_series_aggregate(in, 1, &out) == LLC_OK && out.n == 4 && out.lo[2] == 3 && out.hi[2] == 3,
          "aggregate: one run is itself with sd 0");
    free(out.x);
    CHECK(llc_plot_series_aggregate(in, 0, &out) == LLC_ERR_INVALID, "aggregate: no runs is refused");
}

int main(void)
{
    test_scales();
    test_ticks();
    test_format();
    test_escape();
    test_paths();
    test_legend();
    test_placer_palette();
    test_io_error();
    test_aggregate();
    return tu_finish("test_svg");
}
