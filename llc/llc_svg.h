/* llc_svg.h - a small SVG writer for llc's plots (`llc plot`): axes with nice
 * ticks on linear, log or symlog scales, polylines, translucent bands,
 * points, text with XML escaping, legends and colour palettes. It writes to
 * a FILE* the caller opened and does no other I/O; it allocates nothing.
 *
 * Coordinates: pixels, origin top left, y down. A panel is a pixel rectangle
 * plus an x and a y axis that map data values into it; drawing functions
 * that take a panel take data coordinates and clip to the panel. Points
 * with a NaN/inf coordinate, or one the scale cannot show (<= 0 on a log
 * axis), are skipped: they break a path or a band into separate pieces.
 *
 * Scales:
 *   LINEAR  frac = (v - lo) / (hi - lo)
 *   LOG     log10(v) linear; v <= 0 cannot be shown
 *   SYMLOG  t(v) = v / c for |v| <= c, sign(v)·(1 + log10(|v| / c)) beyond,
 *           linear in t: the interval [0, c] is as wide as one decade, so 0
 *           sits one decade left of c (c = linthresh). Used for training
 *           steps, where step 0 must be shown next to a log axis.
 *
 * Elements carry a class attribute so tests and scripts can find them:
 * "curve" (llc_svg_path with style.cls NULL), "band", "points",
 * "legend-entry", "axis", "tick-label", "title".
 *
 * Errors: drawing functions do not report errors; llc_svg_end returns
 * LLC_ERR_IO if the stream had one (ferror), so a full disk is caught once.
 */
#ifndef LLC_SVG_H
#define LLC_SVG_H

#include <stdio.h>

typedef enum { LLC_SVG_LINEAR = 0, LLC_SVG_LOG = 1, LLC_SVG_SYMLOG = 2 } llc_svg_scale;

typedef struct {
    llc_svg_scale scale;
    double lo, hi;    /* the range shown (LOG: 0 < lo < hi) */
    double linthresh; /* SYMLOG: c > 0, see above */
    int has_end;      /* 1: end is always a labelled tick (e.g. the last checkpoint step) */
    double end;
} llc_svg_axis;

/* Set an axis to show the data range [lo, hi] (non-finite or reversed
 * bounds are repaired; a zero-width range is widened). nice = 1 rounds the
 * ends outward to tick values (LINEAR: multiples of the 1-2-5 tick step for
 * about 6 ticks; LOG/SYMLOG: 1, 2 or 5 times a power of ten); nice = 0 pads
 * each end by 3% of the axis length instead. LOG with lo <= 0 uses
 * hi / 1000 as lo. */
void llc_svg_axis_set(llc_svg_axis *ax, llc_svg_scale scale, double lo, double hi, double linthresh, int nice);

/* Fraction [0, 1] of the axis length at v (outside for values out of
 * range), NaN if the scale cannot show v. */
double llc_svg_axis_frac(const llc_svg_axis *ax, double v);

#define LLC_SVG_MAX_TICKS 128
#define LLC_SVG_LABELLEN 24

/* Ticks of an axis, ascending. prio: 0 an unlabelled minor tick, 1 a primary
 * labelled tick (drawn with a grid line), 2 a secondary label (2 and 5 on a
 * log axis spanning few decades) that the axis drawer drops where it would
 * overlap a primary one, 3 the axis's end tick (has_end), labelled first:
 * labels that would overlap it are dropped. */
typedef struct {
    int n;
    double v[LLC_SVG_MAX_TICKS];
    int prio[LLC_SVG_MAX_TICKS];
    char label[LLC_SVG_MAX_TICKS][LLC_SVG_LABELLEN];
} llc_svg_ticks;

/* LINEAR: 1-2-5 steps, about `target` (>= 2) labelled ticks.
 * LOG: decades labelled (every k-th when more than 8 decades), 2..9 as
 * minor ticks (none beyond 6 decades), 2 and 5 labelled (prio 2) when the
 * axis spans at most 2.5 decades, every integer multiple labelled when it
 * spans less than one, linear ticks when it spans less than 0.3.
 * SYMLOG: 0, then the LOG ticks of [c, hi].
 * Then, with has_end, the end tick (prio 3, as an integer when it is one). */
void llc_svg_ticks_make(const llc_svg_axis *ax, int target, llc_svg_ticks *t);

/* Format v for a tick label given the tick spacing `step` (linear ticks;
 * pass 0 for a value on a log axis): fixed decimals enough for the step,
 * "2e5"-style exponents for very large or small magnitudes, never "-0". */
void llc_svg_format_tick(double v, double step, char *buf, size_t n);

/* Estimated advance width in pixels of UTF-8 text at a font size (DejaVu
 * Sans metrics, rsvg's default sans); for layout and overlap avoidance. */
double llc_svg_text_width(const char *txt, double size);

/* A writer: the stream (borrowed) and counters for unique ids. */
typedef struct {
    FILE *f;
    double width, height;
    int n_clips;
} llc_svg;

/* The XML header, the <svg> element and a white background. */
void llc_svg_begin(llc_svg *s, FILE *f, double width, double height);
/* Close the document and flush. LLC_OK, or LLC_ERR_IO if the stream failed. */
int llc_svg_end(llc_svg *s);

/* Write txt XML-escaped (& < > " ' as entities; control characters and
 * invalid UTF-8 bytes as '?', so the document always parses). */
void llc_svg_escape(FILE *f, const char *txt);

/* Open / close a group (<g class="cls">, cls may be NULL). */
void llc_svg_group_begin(llc_svg *s, const char *cls);
void llc_svg_group_end(llc_svg *s);

/* Stroke style of lines and paths. Zero-initialised = 1.5 px solid black. */
typedef struct {
    const char *color; /* "#rrggbb" or an SVG colour name; NULL = black */
    double width;      /* px; 0 = 1.5 */
    const char *dash;  /* stroke-dasharray, e.g. "6,4"; NULL = solid */
    double opacity;    /* 0 = 1 */
    const char *cls;   /* class attribute; NULL = "curve" for paths, none for lines */
    const char *name;  /* data-name attribute and <title> (tooltip); may be NULL */
} llc_svg_style;

/* Text anchors. */
enum { LLC_SVG_START = 0, LLC_SVG_MIDDLE = 1, LLC_SVG_END = 2 };
/* Text flags. */
enum { LLC_SVG_BOLD = 1, LLC_SVG_HALO = 2 /* white outline, readable over curves */ };

/* Text at (x, y) (baseline), rotated by `rotate` degrees about (x, y). */
void llc_svg_text(llc_svg *s, double x, double y, double size, int anchor, double rotate, const char *color,
                  int flags, const char *cls, const char *txt);
void llc_svg_line(llc_svg *s, double x1, double y1, double x2, double y2, const llc_svg_style *st);
/* Rectangle; fill/stroke NULL = none. */
void llc_svg_rect(llc_svg *s, double x, double y, double w, double h, const char *fill, double fill_opacity,
                  const char *stroke, double stroke_width);
void llc_svg_circle(llc_svg *s, double cx, double cy, double r, const char *fill, double opacity,
                    const char *stroke);

/* A panel: the plot rectangle (pixels) and its axes. llc_svg_panel_begin
 * assigns its clip path (id written into the document); call it once before
 * drawing into the panel. A second panel over the same rectangle (another y
 * axis) may share the clip by copying the struct after panel_begin. */
typedef struct {
    double x, y, w, h;
    llc_svg_axis xa, ya;
    int clip; /* clip-path id number, 0 = none yet */
} llc_svg_panel;

void llc_svg_panel_begin(llc_svg *s, llc_svg_panel *p);
/* Pixel coordinates of data values (NaN if the axis cannot show them;
 * clamped to +-1e6 px so far-out values stay finite). */
double llc_svg_px(const llc_svg_panel *p, double x);
double llc_svg_py(const llc_svg_panel *p, double y);

/* Axis drawing flags. */
enum {
    LLC_SVG_NO_XLABELS = 1, /* no x tick labels (inner panels of a grid) */
    LLC_SVG_NO_YLABELS = 2,
    LLC_SVG_NO_GRID = 4
};
/* Frame, grid lines at labelled ticks, tick marks, tick labels (overlapping
 * ones dropped) and axis labels (xlabel below, ylabel rotated on the left;
 * either may be NULL). Returns the width in px taken by the y tick labels. */
double llc_svg_axes(llc_svg *s, const llc_svg_panel *p, int flags, const char *xlabel, const char *ylabel);
/* A second y axis on the right edge of p (p->ya is that axis): ticks,
 * labels and the rotated axis label in `color`. */
void llc_svg_axis_right(llc_svg *s, const llc_svg_panel *p, const char *label, const char *color);

/* Polyline through (x[i], y[i]), clipped to the panel; non-showable points
 * break it. Isolated single points are drawn as dots (round caps). */
void llc_svg_path(llc_svg *s, const llc_svg_panel *p, const double *x, const double *y, int n,
                  const llc_svg_style *st);
/* Filled band between lo[i] and hi[i]: one closed polygon ("Z") per run of
 * showable points, clipped to the panel. */
void llc_svg_band(llc_svg *s, const llc_svg_panel *p, const double *x, const double *lo, const double *hi, int n,
                  const char *color, double opacity, const char *name);
/* Circles of radius r at the showable points, clipped to the panel. */
void llc_svg_points(llc_svg *s, const llc_svg_panel *p, const double *x, const double *y, int n, double r,
                    const char *color, double opacity, const char *name);
/* Circles coloured by category (llc_svg_category_color(cat[i])), drawn in
 * index order so no category hides the others wholesale. */
void llc_svg_scatter(llc_svg *s, const llc_svg_panel *p, const double *x, const double *y, const int *cat, int n,
                     double r, double opacity, const char *name);
/* A horizontal line at data y, or a vertical line at data x, across the panel. */
void llc_svg_hline(llc_svg *s, const llc_svg_panel *p, double y, const llc_svg_style *st);
void llc_svg_vline(llc_svg *s, const llc_svg_panel *p, double x, const llc_svg_style *st);

/* Legends. kind: line, band (a translucent box behind a line), point, box. */
enum { LLC_SVG_KEY_LINE = 0, LLC_SVG_KEY_BAND = 1, LLC_SVG_KEY_POINT = 2, LLC_SVG_KEY_BOX = 3 };
typedef struct {
    const char *label;
    const char *color;
    const char *dash; /* lines only; NULL = solid */
    int kind;
} llc_svg_legend_entry;

#define LLC_SVG_LEGEND_ROW 17.0 /* px per entry */
/* Size of a legend of n entries in columns of at most max_rows (>= 1). */
void llc_svg_legend_size(const llc_svg_legend_entry *e, int n, int max_rows, double size, double *w, double *h);
/* Draw it with its top left corner at (x, y) on a white translucent box;
 * each entry is one <g class="legend-entry">. */
void llc_svg_legend(llc_svg *s, double x, double y, const llc_svg_legend_entry *e, int n, int max_rows, double size);

/* Labels next to points without overlaps: each placed label (and each
 * block, e.g. a marker) takes a box; a new label tries 8 positions around its
 * point and is drawn at the first one that overlaps no box and stays inside
 * the placer's bounds. */
#define LLC_SVG_MAX_BOXES 512
typedef struct {
    double bx0, by0, bx1, by1; /* bounds */
    int n;
    double x0[LLC_SVG_MAX_BOXES], y0[LLC_SVG_MAX_BOXES], x1[LLC_SVG_MAX_BOXES], y1[LLC_SVG_MAX_BOXES];
} llc_svg_placer;
void llc_svg_placer_init(llc_svg_placer *pl, double x, double y, double w, double h);
void llc_svg_placer_block(llc_svg_placer *pl, double x0, double y0, double x1, double y1);
/* Returns 1 if the label was drawn, 0 if no position was free. */
int llc_svg_place_label(llc_svg *s, llc_svg_placer *pl, double px, double py, double gap, double size,
                        const char *color, int flags, const char *txt);

/* Palettes. A colour family per index (0 blues, 1 oranges, 2 greens,
 * 3 purples, 4 reds, 5 browns, 6 pinks, 7 greys, then repeating); shade i of
 * n runs from dark (i = 0) to light (i = n - 1). Writes "#rrggbb" into buf
 * (>= 8 bytes) and returns buf. */
const char *llc_svg_family_color(int family, int i, int n, char *buf);
/* Categorical colour i (Tableau 10, repeating): a static string. */
const char *llc_svg_category_color(int i);
/* "#rrggbb" mixed with white: t = 0 the colour, t = 1 white. Writes buf
 * (>= 8 bytes) and returns it; an unparsable colour gives grey. Opaque tints
 * tile without the seams that translucent neighbours show. */
const char *llc_svg_tint(const char *color, double t, char *buf);

#endif
