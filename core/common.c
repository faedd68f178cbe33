/* common.c - status text, error formatting, batches, seeded random streams. */
#include "llc_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *llc_strerror(int rc)
{
    switch (rc) {
    case LLC_OK: return "ok";
    case LLC_ERR_NOMEM: return "out of memory";
    case LLC_ERR_INVALID: return "invalid argument";
    case LLC_ERR_IO: return "i/o error";
    case LLC_ERR_STORE: return "store error";
    case LLC_ERR_NOTFOUND: return "not found";
    case LLC_ERR_EXISTS: return "already exists";
    case LLC_ERR_NUMERIC: return "numerical failure (NaN or inf)";
    case LLC_ERR_SCHEMA: return "store schema mismatch";
    case LLC_ERR_INTERRUPTED: return "interrupted";
    default: return "unknown error";
    }
}

int llc_fail(char *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, LLC_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return rc;
}

llc_batch *llc_batch_alloc(int cap_B, int T, int has_tokens, int d_in,
                           int has_targets, int d_out)
{
    llc_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    size_t n = (size_t)cap_B * (size_t)T;
    b->B = cap_B;
    b->cap_B = cap_B;
    b->T = T;
    b->d_in = d_in;
    b->d_out = d_out;
    int ok = 1;
    if (has_tokens) ok &= (b->tokens = calloc(n, sizeof(int))) != NULL;
    if (d_in > 0) ok &= (b->x = calloc(n * (size_t)d_in, sizeof(float))) != NULL;
    if (has_targets) ok &= (b->targets = calloc(n, sizeof(int))) != NULL;
    if (d_out > 0) ok &= (b->y = calloc(n * (size_t)d_out, sizeof(float))) != NULL;
    ok &= (b->mask = calloc(n, sizeof(float))) != NULL;
    if (!ok) {
        llc_batch_free(b);
        return NULL;
    }
    return b;
}

void llc_batch_free(llc_batch *b)
{
    if (!b) return;
    free(b->tokens);
    free(b->x);
    free(b->targets);
    free(b->y);
    free(b->mask);
    free(b);
}

/* ---- random streams ---- */

uint64_t llc_seed(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = llc_mix64(seed);
    h = llc_mix64(h ^ purpose);
    h = llc_mix64(h ^ a);
    h = llc_mix64(h ^ b);
    h = llc_mix64(h ^ c);
    return h;
}

uint64_t llc_hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t llc_hash_str(const char *s) { return llc_hash_bytes(s, s ? strlen(s) : 0); }

typedef struct {
    uint64_t s[4];
} xoshiro_state;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t xoshiro_next(xoshiro_state *st)
{
    uint64_t *s = st->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void xoshiro_set(void *vstate, unsigned long seed)
{
    xoshiro_state *st = vstate;
    uint64_t x = (uint64_t)seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        st->s[i] = llc_mix64(x);
    }
}

static unsigned long xoshiro_get(void *vstate)
{
    return (unsigned long)(xoshiro_next(vstate) >> 32);
}

static double xoshiro_get_double(void *vstate)
{
    /* 53 random bits in [0,1) */
    return (double)(xoshiro_next(vstate) >> 11) * 0x1.0p-53;
}

static const gsl_rng_type llc_rng_type_s = {
    "llc-xoshiro256**", 0xffffffffUL, 0, sizeof(xoshiro_state),
    &xoshiro_set, &xoshiro_get, &xoshiro_get_double};

const gsl_rng_type *llc_rng_type = &llc_rng_type_s;

gsl_rng *llc_rng_new(uint64_t seed64)
{
    gsl_rng *r = gsl_rng_alloc(llc_rng_type);
    if (r) gsl_rng_set(r, (unsigned long)seed64);
    return r;
}

void llc_rng_reseed(gsl_rng *r, uint64_t seed64) { gsl_rng_set(r, (unsigned long)seed64); }

double llc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *llc_data_dir(int i, char *buf, size_t n)
{
    buf[0] = 0;
    if (i == 0) {
        const char *e = getenv("LLC_DATA");
        if (e) snprintf(buf, n, "%s", e);
    } else if (i == 1 || i == 2) {
        char exe[4096];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len > 0) {
            exe[len] = 0;
            char *slash = strrchr(exe, '/');
            if (slash) *slash = 0; /* the executable's directory */
            snprintf(buf, n, "%s/../%s", exe, i == 1 ? "share/llc" : "data");
        }
    } else if (i == 3) {
#ifdef LLC_SHARE_DIR
        snprintf(buf, n, "%s", LLC_SHARE_DIR);
#endif
    } else {
        return NULL;
    }
    return buf;
}
