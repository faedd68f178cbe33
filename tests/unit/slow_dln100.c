/* slow_dln100.c - the slow rung of the accuracy ladder (not part of make
 * check): the deep linear network (100,100,100), rank 0, 20,000 parameters,
 * Aoyagi's lambda = 3750 (llc/ESTIMATOR.md), estimated on the population loss
 * (nominal n = 1e5, nbeta = 8685.9) with the DEFAULT estimator settings
 * (llc_estimate_config_default; threads and seed only). Passes when
 * lambda-hat is within 15% of 3750.
 *
 * Build and run: make accuracy (= build/tests/unit/slow_dln100 2; the argument
 * is the thread count, default 2).
 * Runtime on 2 cores: about half an hour (the default step budget of 1e6
 * steps per chain, 4 chains, ~0.8 ms per Metropolis step). TEST_SEED
 * overrides the seed.
 */
#include "llc_estimate.h"
#include "llc_regress.h"
#include "llc_theory.h"
#include "fixture.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    uint64_t seed = 20240614ULL;
    const char *s = getenv("TEST_SEED");
    if (s) seed = strtoull(s, NULL, 10);
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1) threads = 1;
    printf("slow_dln100: seed %llu, %d threads\n", (unsigned long long)seed, threads);
    char err[LLC_ERRLEN] = "";
    llc_task t;
    int rc = fx_task_init(llc_task_dln_init, "dln", "{\"widths\": [100, 100, 100], \"rank\": 0, \"population\": true}",
                          seed, &t, err);
    CHECK(rc == LLC_OK, "task (%s)", err);
    if (rc) return tu_finish("slow_dln100");
    double lam = NAN;
    int mult = 0;
    CHECK(llc_theory_task(&t, &lam, &mult, err) == LLC_OK && lam == 3750 && mult == 1,
          "Aoyagi: lambda %g (m %d) = 3750 (m 1)", lam, mult);
    llc_model *m = NULL;
    float *w = NULL;
    llc_estimate_result *r = NULL;
    if ((rc = llc_regress_make_model(&t, &m, err))) goto done;
    size_t P = llc_model_n_params(m);
    if (!(w = malloc(P * sizeof *w)) || (rc = llc_regress_teacher(&t, w, P, err))) goto done;
    llc_estimate_config c;
    llc_estimate_config_default(&c);
    c.threads = threads;
    c.seed = seed;
    rc = llc_estimate(m, w, NULL, &t, &c, &r, err);
    CHECK(rc == LLC_OK, "estimate runs (%s)", err);
    if (rc) goto done;
    double rel = (r->llc_mean - 3750) / 3750;
    printf("  dln (100,100,100) r0, %zu params: Aoyagi 3750  lambda-hat %.1f +- %.1f  rel %+.1f%%  %.0f s\n", P,
           r->llc_mean, r->llc_std, 100 * rel, r->seconds);
    printf("  nbeta %.1f, eps %.3g (%s), burn-in %ld, thin %ld, MH %d, accept %.3f, R-hat %.3f%s\n  chains:", r->nbeta,
           r->eps, r->auto_eps.reason, r->burnin, r->thin, r->metropolis, r->accept_rate, r->rhat,
           r->steps_capped ? ", step budget reached" : "");
    for (int i = 0; i < r->chains; i++) printf(" %.1f", r->chain_llc[i]);
    printf("\n");
    CHECK(!strcmp(r->status, "ok") && fabs(rel) <= 0.15, "lambda-hat %.1f within 15%% of 3750 (rel %+.1f%%)",
          r->llc_mean, 100 * rel);
done:
    if (rc) printf("  error: %s\n", err);
    llc_estimate_result_free(r);
    llc_model_free(m);
    free(w);
    fx_task_clear(&t);
    return tu_finish("slow_dln100");
}
