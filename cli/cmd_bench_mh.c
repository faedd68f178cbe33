/* cmd_bench_mh.c - llc bench --mh-cost: what the minibatch default
 * (Metropolis on the batch, two steps per batch, llc/MINIBATCH.md) costs
 * against plain SGLD. The config is trained for 200 steps into a scratch
 * store (four runs of the same weights, sampler x measurement, each
 * holding one estimate whose seconds are read back); then, in `reps`
 * interleaved repetitions, each run's head 0.1 at step 200 is estimated
 * by a child llc estimate: at a given eps with fixed lengths (SGLD
 * steps/s) and with the automatic eps (the per-head curve's unit: wall
 * and CPU time of the command, and the estimate's own seconds, which a
 * curve pays at every checkpoint: the pilot ladder runs once per target).
 * Medians and their ratios. */
#include "cli.h"
#include "llc_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MH_MAX_REPS = 25, MH_DRAWS = 200, MH_CHAINS = 4 };

/* One child llc estimate of run `run`'s head 0.1 at step 200 in db, with
 * sampler `mode` (off = plain, auto = the default) and the extra
 * arguments; its wall and CPU seconds, the estimate's stored seconds into
 * own. An exit code (message in err). */
static int mh_estimate(const char *db, const char *log, const char *run, const char *mode, int fixed, double *wall,
                       double *cpu, double *own, char *err)
{
    char dbuf[256], rbuf[64], mbuf[16], draws[16];
    snprintf(dbuf, sizeof dbuf, "%s", db);
    snprintf(rbuf, sizeof rbuf, "%s", run);
    snprintf(mbuf, sizeof mbuf, "%s", mode);
    snprintf(draws, sizeof draws, "%d", MH_DRAWS);
    char *argv[32] = {NULL, "estimate", "--run", rbuf, "--head", "0.1", "--steps", "200", "--threads", "2",
                      "--force", "--metropolis", mbuf, "--db", dbuf};
    int n = 15;
    if (fixed) { /* SGLD steps/s: a given eps, no burn-in, every step a draw */
        char *more[] = {"--eps", "1e-5", "--burnin", "0", "--thin", "1", "--draws", draws};
        for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) argv[n++] = more[i];
        if (strcmp(mode, "on") == 0) argv[n++] = "--mh-block", argv[n++] = "2";
    }
    argv[n] = NULL;
    int code = cli_spawn_wait_cpu(argv, log, wall, NULL, cpu);
    if (code != 0) {
        snprintf(err, LLC_ERRLEN, "llc estimate --metropolis %s failed (exit %d, log %s)", mode, code, log);
        return code < 0 ? EXIT_IO : code;
    }
    llc_bench_curve_counts t;
    if (llc_bench_run_read(db, run, &t, err)) return EXIT_STORE;
    *own = t.seconds_heads;
    return 0;
}

static void add_pair(cJSON *o, const char *key, double *plain, double *dflt, int n, int inverse)
{
    char k[64];
    double a = llc_bench_median(plain, n), b = llc_bench_median(dflt, n);
    snprintf(k, sizeof k, "%s_plain", key);
    cJSON_AddNumberToObject(o, k, a);
    snprintf(k, sizeof k, "%s_default", key);
    cJSON_AddNumberToObject(o, k, b);
    snprintf(k, sizeof k, "%s_ratio", key);
    cJSON_AddNumberToObject(o, k, inverse ? a / b : b / a);
}

int cli_bench_mh(const char *config, int reps, cJSON *js)
{
    char err[LLC_ERRLEN] = "";
    cli_scratch sc;
    if (reps > MH_MAX_REPS) reps = MH_MAX_REPS;
    if (cli_scratch_make(&sc, "mh", err)) return cli_error(EXIT_IO, "bench: %s", err);
    const char *db = sc.db, *log = sc.log;
    double sps[2][MH_MAX_REPS], wall[2][MH_MAX_REPS], cpu[2][MH_MAX_REPS], own[2][MH_MAX_REPS];
    /* [sampler][fixed]: each run holds one estimate, replaced at every repeat (--force) */
    static const char *const runs[2][2] = {{"plain", "plain-fixed"}, {"default", "default-fixed"}};
    int code = 0;
    fprintf(stderr, "llc: bench: minibatch Metropolis cost on %s (train, then head 0.1 at step 200, %d repeats)\n",
            config, reps);
    for (int m = 0; m < 4 && !code; m++) code = cli_scratch_train(&sc, config, runs[m / 2][m % 2], "200", NULL, err);
    /* interleaved: plain, default, plain, ... so that a slow spell of a
     * shared machine hits both */
    for (int r = 0; r < reps && !code; r++)
        for (int m = 0; m < 2 && !code; m++) {
            double w = 0, c = 0, s = 0;
            code = mh_estimate(db, log, runs[m][1], m ? "on" : "off", 1, &w, &c, &s, err);
            sps[m][r] = (double)MH_CHAINS * MH_DRAWS / s;
            if (!code)
                code = mh_estimate(db, log, runs[m][0], m ? "auto" : "off", 0, &wall[m][r], &cpu[m][r], &own[m][r],
                                   err);
        }
    if (code) {
        cli_error(code, "bench: mh-cost: %s", err);
    } else {
        cJSON *o = cJSON_AddObjectToObject(js, "mh_cost");
        cJSON_AddStringToObject(o, "config", config);
        cJSON_AddNumberToObject(o, "reps", reps);
        add_pair(o, "steps_s", sps[0], sps[1], reps, 1);
        add_pair(o, "seconds", wall[0], wall[1], reps, 0);
        add_pair(o, "cpu_seconds", cpu[0], cpu[1], reps, 0);
        add_pair(o, "estimate_seconds", own[0], own[1], reps, 0);
    }
    cli_scratch_remove(&sc, code != 0); /* a failure's log stays for its message */
    return code;
}
