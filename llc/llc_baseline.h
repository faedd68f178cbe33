/* llc_baseline.h - baselines: a finished, estimated run as a JSON document
 * that holds everything needed to redo it, and the comparison of a run's
 * estimates with it point by point (`llc baseline`, `llc check`).
 *
 * Format (version 1):
 *   {"llc_baseline": 1, "llc_version": "0.1.0", "run": ID, "task": NAME,
 *    "config": {the run's stored config},
 *    "tolerance": {"abs": A, "rel": R, "std": K},
 *    "estimates": [{"target": T, "data": D, "settings": {requested settings},
 *                   "points": [{"step": S, "llc_mean": M, "llc_std": SD,
 *                               "eps": E, "nbeta": NB, "burnin": B, "thin": K}]}]}
 * A point passes if ANY of |got - M| <= A, <= R * |M|, <= K * SD holds.
 * eps/nbeta/burnin/thin are the values the sampler resolved (informational:
 * a re-run that resolves them differently is reported).
 */
#ifndef LLC_BASELINE_H
#define LLC_BASELINE_H

#include "llc_store.h"

#include <cjson/cJSON.h>

#define LLC_BASELINE_FORMAT 1
/* Default tolerances, written into each baseline. Re-runs on one machine are
 * bit-identical. Other CPUs select other OpenBLAS kernels, whose rounding
 * differs (up to ~1e-6 absolute / 2e-5 relative on the shipped baselines,
 * more for long training of tiny models: training amplifies rounding). The
 * defaults leave >= 25x room on the shipped baselines and stay ~100x tighter
 * than the sampling noise (llc_std) a real change shows up in. */
#define LLC_BASELINE_TOL_ABS 1e-4
#define LLC_BASELINE_TOL_REL 1e-3
#define LLC_BASELINE_TOL_STD 0.0

/* The sampler's resolved values a point records, in llc_baseline_point.res. */
extern const char *const llc_baseline_resolved[4]; /* "eps", "nbeta", "burnin", "thin" */

typedef struct {
    long long step;
    double mean, std; /* expected; std may be NAN */
    double res[4];    /* recorded eps, nbeta, burnin, thin (NAN = not recorded) */
} llc_baseline_point;

typedef struct {
    const char *target, *data; /* borrowed from the parsed document */
    const cJSON *settings;
    llc_baseline_point *p;
    int n;
} llc_baseline_group;

typedef struct {
    cJSON *doc;
    const char *run, *task;
    const cJSON *config;
    double tol_abs, tol_rel, tol_std;
    llc_baseline_group *g;
    int n_groups, n_points;
} llc_baseline;

/* Parse and validate a baseline document into b (free with
 * llc_baseline_free, also on failure). LLC_ERR_INVALID with err naming the
 * problem, LLC_ERR_NOMEM. */
int llc_baseline_parse(const char *text, llc_baseline *b, char *err);
void llc_baseline_free(llc_baseline *b);

/* The baseline of run info (a finished run of store s) with tolerances
 * tol_abs, tol_rel, tol_std: *doc (caller owns) records the run's config and,
 * per (target, data, settings), the points of the curves view with the
 * estimate behind each. *n_points = 0 when the run has no estimate.
 * LLC_ERR_STORE for an SQL failure or a malformed stored config/settings. */
int llc_baseline_make(llc_store *s, const llc_run_info *info, double tol_abs, double tol_rel, double tol_std,
                      cJSON **doc, int *n_points, char *err);

typedef enum { LLC_POINT_OK = 0, LLC_POINT_REGRESSED, LLC_POINT_MISSING } llc_point_verdict;

/* One expected point against the store: the newest estimate of the point
 * with the group's settings (apart from the version that wrote them). */
typedef struct {
    int group, point;          /* indices into the baseline */
    int found;                 /* an estimate with the group's settings */
    int rows;                  /* estimates of the point with any settings */
    double got;                /* its llc_mean (NAN if none or NULL) */
    char status[32];           /* its status */
    double res[4];             /* its resolved eps, nbeta, burnin, thin (NAN = NULL) */
    llc_point_verdict verdict; /* MISSING if not found; REGRESSED if not ok, not finite or beyond every tolerance */
} llc_point_check;

/* Compare every point of b (in order: groups, then points) with run `run`
 * of store s under the given tolerances; *out = b->n_points results
 * (malloc'd). LLC_ERR_STORE (message in err), LLC_ERR_NOMEM. */
int llc_baseline_compare(const llc_baseline *b, llc_store *s, const char *run, double tol_abs, double tol_rel,
                         double tol_std, llc_point_check **out, char *err);

#endif
