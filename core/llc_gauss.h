/* llc_gauss.h - fast standard normal float32 variates for SGLD noise.
 *
 * An SGLD step draws one N(0,1) per parameter of the target; for a DLN or a
 * small transformer that is 20k-250k draws per step, where GSL's ziggurat
 * through the gsl_rng interface is a visible share of the step (figures in
 * tests/bench/PERFORMANCE.md). This generator runs 8 independent xoshiro128+ streams in 32-bit
 * lanes and turns each pair of uniforms into two normals by Box-Muller, with
 * float32 polynomial log, sin and cos: all lanes in one vector, no branches.
 *
 * Properties (tests/unit/test_gauss.c):
 *  - exact Box-Muller transform up to float rounding: |log| error < 2e-7
 *    relative, sin/cos error < 2e-7 absolute;
 *  - uniforms on 24 bits: u1 in (0, 1], so |z| <= sqrt(-2 ln 2^-24) = 5.77;
 *    the tail beyond that (probability 8e-9) is cut, irrelevant for noise;
 *  - deterministic: the same seed gives the same sequence on every machine
 *    (vector code without contraction, so SSE and AVX builds agree).
 */
#ifndef LLC_GAUSS_H
#define LLC_GAUSS_H

#include <stddef.h>
#include <stdint.h>

#define LLC_GAUSS_LANES 8
/* llc_gauss_fill produces normals in blocks of this many; a request that is
 * not a multiple of it discards the rest of the last block. */
#define LLC_GAUSS_BLOCK (2 * LLC_GAUSS_LANES)

typedef struct {
    uint32_t s[4][LLC_GAUSS_LANES]; /* xoshiro128+ state, lane-major */
} llc_gauss;

/* Seed all lanes from one 64-bit seed (splitmix64 expansion; never all-zero). */
void llc_gauss_seed(llc_gauss *g, uint64_t seed);

/* out[0..n) = independent N(0, 1) draws. */
void llc_gauss_fill(llc_gauss *g, float *out, size_t n);

#endif
