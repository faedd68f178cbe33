/* test_mpi_wire.c - the messages between MPI ranks: an estimate result
 * packed and unpacked is the same to the bit (arrays included, pointers
 * remade), a truncated or garbled message is refused, the byte buffers'
 * fields round-trip; the plain build's message layer is one rank. */
#include "llc_estimate_run.h"
#include "llc_mpi.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static llc_estimate_result *sample_result(int chains, int draws, int mala)
{
    llc_estimate_result *r = calloc(1, sizeof *r);
    llc_estimate_config_default(&r->cfg);
    r->chains = chains;
    r->draws = draws;
    r->llc_mean = 1.25;
    r->llc_std = 0.5;
    r->eps = 1e-4;
    r->status = "ok";
    snprintf(r->auto_eps.reason, sizeof r->auto_eps.reason, "chosen at step 7: rung 2 passed");
    r->chain_llc = malloc(chains * sizeof *r->chain_llc);
    r->chain_diverged = malloc(chains * sizeof *r->chain_diverged);
    r->chain_diverged_at = malloc(chains * sizeof *r->chain_diverged_at);
    r->chain_mala = mala ? malloc(chains * sizeof *r->chain_mala) : NULL;
    r->trace = malloc((size_t)chains * draws * sizeof *r->trace);
    r->chain_burnin = malloc(chains * sizeof *r->chain_burnin);
    r->chain_thin = malloc(chains * sizeof *r->chain_thin);
    for (int c = 0; c < chains; c++) {
        r->chain_llc[c] = 1.0 + c / 3.0;
        r->chain_diverged[c] = c == 1;
        r->chain_diverged_at[c] = c == 1 ? 42 : -1;
        if (mala) r->chain_mala[c] = c == 0 ? NAN : 0.9;
        r->chain_burnin[c] = 100 + c;
        r->chain_thin[c] = 1 + c;
        for (int k = 0; k < draws; k++) r->trace[c * draws + k] = sin(c * 100 + k);
    }
    return r;
}

static void round_trip(int mala)
{
    llc_estimate_result *r = sample_result(3, 17, mala), *back = NULL;
    llc_pack p = {0};
    CHECK(llc_estimate_result_pack(&p, r) == LLC_OK, "pack");
    llc_unpack u = {.b = p.b, .n = p.n};
    CHECK(llc_estimate_result_unpack(&u, &back) == LLC_OK && back, "unpack");
    if (back) {
        CHECK(u.at == u.n, "every byte read");
        CHECK(back->chains == 3 && back->draws == 17 && back->llc_mean == 1.25 && back->eps == 1e-4, "scalars");
        CHECK(strcmp(back->status, "ok") == 0 && strcmp(back->auto_eps.reason, r->auto_eps.reason) == 0, "strings");
        CHECK(!memcmp(back->trace, r->trace, 3 * 17 * sizeof *r->trace), "trace to the bit");
        CHECK(!memcmp(back->chain_llc, r->chain_llc, 3 * sizeof *r->chain_llc) &&
                  !memcmp(back->chain_diverged_at, r->chain_diverged_at, 3 * sizeof *r->chain_diverged_at) &&
                  !memcmp(back->chain_thin, r->chain_thin, 3 * sizeof *r->chain_thin),
              "per-chain arrays");
        CHECK(mala ? back->chain_mala && isnan(back->chain_mala[0]) && back->chain_mala[2] == 0.9
                   : back->chain_mala == NULL,
              "MALA acceptances (%s)", mala ? "present" : "absent");
        CHECK(back->cfg.rt.pair_cache == NULL && back->cfg.rt.interrupt == NULL, "the sender's pointers not kept");
    }
    llc_estimate_result_free(back);
    back = NULL;
    /* cut short anywhere: refused, nothing returned */
    int refused = 1;
    for (size_t cut = 0; cut < p.n; cut += 97) {
        llc_unpack t = {.b = p.b, .n = cut};
        llc_estimate_result *x = NULL;
        if (llc_estimate_result_unpack(&t, &x) == LLC_OK || x) refused = 0;
        llc_estimate_result_free(x);
    }
    CHECK(refused, "a truncated message is refused");
    llc_pack_free(&p);
    llc_estimate_result_free(r);
}

int main(void)
{
    round_trip(1);
    round_trip(0);
    llc_pack p = {0};
    llc_pack_i64(&p, -7);
    llc_pack_f64(&p, 0.1);
    llc_pack_str(&p, "head 0.3");
    llc_pack_str(&p, NULL);
    llc_unpack u = {.b = p.b, .n = p.n};
    CHECK(llc_unpack_i64(&u) == -7 && llc_unpack_f64(&u) == 0.1, "numbers");
    CHECK(strcmp(llc_unpack_str(&u), "head 0.3") == 0 && strcmp(llc_unpack_str(&u), "") == 0, "strings");
    CHECK(!u.bad && u.at == u.n, "all read");
    CHECK(llc_unpack_i64(&u) == 0 && u.bad, "past the end: zero, marked bad");
    llc_pack_free(&p);
    if (!llc_mpi_built()) CHECK(llc_mpi_size() == 1 && llc_mpi_rank() == 0, "the plain build is one rank");
    return tu_finish("test_mpi_wire");
}
