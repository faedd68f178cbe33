/* llc_bench_probe.h - the time of `llc probe` over a whole run: every probe
 * the task allows at every checkpoint, with each thread count asked, as
 * llc_probe_sweep does it for `llc probe --force` (checkpoint reads and
 * store writes included, nothing printed). A config in, a result out.
 *
 * The sweeps are interleaved (each repetition runs every thread count in
 * turn), so that a slow spell of a shared machine hits all of them; the
 * times are medians over the repetitions. After each sweep the stored
 * values are hashed: the checksums must agree across thread counts and
 * repetitions, since probe values are bit-identical whatever the threads.
 */
#ifndef LLC_BENCH_PROBE_H
#define LLC_BENCH_PROBE_H

#include "llc_bench.h"

#include <stdint.h>

#define LLC_BENCH_PROBE_MAX_THREADS 8 /* thread counts per measurement */

typedef struct {
    const char *db;  /* a store holding run; probe rows are written into it */
    const char *run; /* a transformer run with checkpoints */
    int threads[LLC_BENCH_PROBE_MAX_THREADS]; /* thread counts to time (each >= 1) */
    int n_threads;
    int reps;                    /* repetitions of each, >= 1 (medians) */
    llc_bench_progress progress; /* may be NULL */
    void *progress_ctx;
} llc_bench_probe_config;

typedef struct {
    int threads;
    double seconds;     /* median wall seconds of one sweep */
    double cpu_seconds; /* median CPU seconds of this process during it */
    double checkpoints_s;
    double seconds_circuits, seconds_patterns, seconds_ablation; /* medians of the parts, summed
                                                                  * over the checkpoints */
    uint64_t checksum; /* of the stored values after its first sweep */
} llc_bench_probe_row;

typedef struct {
    int checkpoints, layers, heads, probes; /* probes: the kinds computed */
    int values;                             /* stored values a sweep writes */
    int reps, n;
    llc_bench_probe_row row[LLC_BENCH_PROBE_MAX_THREADS];
    int identical; /* every sweep's checksum equal */
} llc_bench_probe_result;

/* Time the sweeps (sets OpenBLAS to 1 thread, as `llc probe` does).
 * LLC_ERR_NOTFOUND for an unknown run or one without checkpoints,
 * LLC_ERR_INVALID for a run the probes cannot take, store errors as the
 * store gives them. */
int llc_bench_probe(const llc_bench_probe_config *c, llc_bench_probe_result *r, char *err);

#endif
