/* llc_probe_results.h - head probes in the store (schema v4, core/store.c):
 *
 *   probes(id, run, step, target, data, probe, value, settings, seed,
 *          created, version)
 *     target: "L.H" for a head's score, "model" for the ownership segment
 *     counts (probes segments_ov, segments_qk, segments_att); probe: a name of
 *     llc_probe_names, with the ablation stored as ablation_zero or
 *     ablation_mean; settings: the canonical JSON of the probe set
 *     ({"seqs":N,"seed":S,"own_tokens":K}); value NULL when not finite.
 *   probe_curves(run, target, data, probe, step, value): the newest row per
 *     (run, target, data, probe, step).
 *
 * The rows of one checkpoint are written in one transaction.
 */
#ifndef LLC_PROBE_RESULTS_H
#define LLC_PROBE_RESULTS_H

#include "llc_store.h"
#include "llc_probe.h"

#include <signal.h>

typedef struct {
    char target[32];
    char probe[32];
    double value;
} llc_probe_row;

/* The rows a probe result gives (r NULL: the same rows with NAN values, to
 * look up what is stored before computing): for each probe kind in want,
 * one row per selected head (layer sel_l, head sel_h; -1 = all), plus the
 * segment counts of the ownership maps (target "model"). *rows malloc'd. */
int llc_probe_rows(unsigned want, int n_layers, int n_heads, int sel_l, int sel_h, int ablate_mean,
                   const llc_probe_result *r, llc_probe_row **rows, int *n);

/* The settings key of cfg's probe set, as stored:
 * {"seqs":N,"seed":S,"own_tokens":K} (n_seqs 0 written as the default). */
void llc_probe_settings(const llc_probe_config *cfg, char *buf, size_t n);

/* LLC_OK if a row with these keys is stored, LLC_ERR_NOTFOUND if not. */
int llc_probe_results_find(llc_store *s, const char *run, long long step, const char *target, const char *data,
                           const char *probe, const char *settings);

/* Write rows (replacing rows with the same keys), one transaction. */
int llc_probe_results_put(llc_store *s, const char *run, long long step, const char *data, const char *settings,
                          uint64_t seed, const llc_probe_row *rows, int n);

typedef struct {
    char target[32], data[64], probe[32];
    long long step;
    double value;
} llc_probe_point;

/* Points of probe_curves for a run, optionally filtered (NULL = all),
 * ordered by probe, target, data, step. *out malloc'd. */
int llc_probe_results_curves(llc_store *s, const char *run, const char *probe, const char *target, const char *data,
                             llc_probe_point **out, int *n);

/* The probes of cfg at every checkpoint in steps (ascending) of a run, into
 * the store: a step whose rows (as llc_probe_rows plans them for want and
 * the selected head) are all stored under settings is skipped unless force;
 * the others are computed (each checkpoint is read into c->w, the buffer
 * cfg->w points at) and
 * written, one transaction per step. The result of the last step computed
 * stays in *last (freed and refilled per step; the caller frees it), its
 * index in *last_done (-1: none). progress (may be NULL) is called after
 * each step written, with the steps done so far (computed or skipped). Counts into *done and *skipped. err names the step on failure. */
typedef struct {
    llc_store *store;
    const char *run, *data, *settings;
    const char *config; /* the run's stored config JSON (MPI workers build the model from it) */
    const volatile sig_atomic_t *interrupt; /* MPI: polled while rank 0 waits (may be NULL) */
    const long long *steps;
    int n_steps;
    float *w; /* n_params floats; cfg->w == w */
    unsigned want;
    int n_layers, n_heads, sel_l, sel_h, force;
    void (*progress)(void *ctx, int i, int n, long long step);
    void *ctx;
} llc_probe_sweep_config;
int llc_probe_sweep(const llc_probe_sweep_config *c, const llc_probe_config *cfg, llc_probe_result *last,
                    int *last_done, int *done, int *skipped, char *err);
/* Under mpirun (llc_mpi_size() > 1) rank 0 only plans, reads checkpoints
 * and writes: each checkpoint is a unit computed by a worker with
 * llc_probe_sweep_compute (the same code as one process) and *last_done
 * stays -1. */

/* One checkpoint's unit, without the store: the probes of cfg (at cfg->w)
 * into *last (freed first), their rows into *rows (malloc'd). */
int llc_probe_sweep_compute(const llc_probe_sweep_config *c, const llc_probe_config *cfg, llc_probe_result *last,
                            llc_probe_row **rows, int *n_rows, char *err);

#endif
