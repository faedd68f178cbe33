/* llc_common.h - what every module of llc shares: status codes, error text,
 * the batch every model consumes, and the seeded random streams.
 *
 * Conventions: functions return an int status (LLC_OK = 0); a
 * function that can fail with a user-facing reason takes `char *err` (a buffer
 * of LLC_ERRLEN bytes, may be NULL) and writes one line into it. Library code
 * never prints and never exits. Every `_free(NULL)` is a no-op.
 */
#ifndef LLC_COMMON_H
#define LLC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

#define LLC_VERSION "0.1.0"
#define LLC_ERRLEN 512

/* Status codes. The CLI maps them to exit codes (see cli/ and README). */
enum {
    LLC_OK = 0,
    LLC_ERR_NOMEM = 1,    /* allocation failed */
    LLC_ERR_INVALID = 2,  /* bad argument, config key or value */
    LLC_ERR_IO = 3,       /* file could not be read or written */
    LLC_ERR_STORE = 4,    /* SQLite error (busy, corrupt, full disk, read-only) */
    LLC_ERR_NOTFOUND = 5, /* unknown run, checkpoint, task, group */
    LLC_ERR_EXISTS = 6,   /* run id already exists */
    LLC_ERR_NUMERIC = 7,  /* NaN/inf in loss, gradients or parameters */
    LLC_ERR_SCHEMA = 8,   /* store of another schema version / not a store */
    LLC_ERR_INTERRUPTED = 9
};

const char *llc_strerror(int rc);

/* printf into err (if not NULL, LLC_ERRLEN bytes) and return rc. */
int llc_fail(char *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A batch of B sequences of T positions. Models read what they need:
 *  tokens  (B,T)         token ids; -1 = no token at this position (continuous input only)
 *  x       (B,T,d_in)    continuous inputs, or NULL
 *  targets (B,T)         class targets for cross-entropy, or NULL
 *  y       (B,T,d_out)   regression targets for MSE, or NULL
 *  mask    (B,T)         loss weight per position (0 or 1); the loss is the
 *                        mask-weighted mean over positions.
 * For models with one output per sequence (the pooled clustering-head model)
 * the output belongs to the LAST position t = T-1: targets[b*T + T-1].
 * The buffers are owned by whoever allocated the batch (llc_batch_alloc). */
typedef struct {
    int B, T, d_in, d_out;
    int cap_B;  /* allocated capacity in sequences */
    int *tokens;
    float *x;
    int *targets;
    float *y;
    float *mask;
} llc_batch;

/* Allocate buffers for up to cap_B sequences; which buffers exist follows
 * has_tokens/d_in/has_targets/d_out (0 = absent). Returns NULL on OOM. */
llc_batch *llc_batch_alloc(int cap_B, int T, int has_tokens, int d_in,
                           int has_targets, int d_out);
void llc_batch_free(llc_batch *b);

/* ---- random streams ----
 * Every random stream derives from (seed, purpose, a, b, c) by a 64-bit hash,
 * so any batch, chain or initialisation can be regenerated independently of
 * thread count or order. llc_rng_type is a GSL generator (xoshiro256**,
 * 64-bit output mapped to GSL's interface) with a full 64-bit seed and a
 * 32-byte state, cheap to create per batch and to save for resume. */
enum {
    LLC_PURPOSE_INIT = 1,   /* parameter initialisation */
    LLC_PURPOSE_DATA = 2,   /* batches: a = distribution hash, b = batch index */
    LLC_PURPOSE_SPLIT = 3,  /* fixed train/test sets of a task */
    LLC_PURPOSE_SGLD = 4,   /* a = step, b = target hash, c = chain */
    LLC_PURPOSE_TASK = 5    /* task-level constants (prototypes, ...) */
};
/* The splitmix64 finaliser: a bijection of 64-bit words with good
 * avalanche. Inline: the data permutations call it in their inner loops. */
static inline uint64_t llc_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
uint64_t llc_seed(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b, uint64_t c);
uint64_t llc_hash_bytes(const void *p, size_t n); /* FNV-1a 64 */
uint64_t llc_hash_str(const char *s);           /* FNV-1a 64 of the bytes before the NUL */
extern const gsl_rng_type *llc_rng_type;
/* gsl_rng_alloc(llc_rng_type) seeded with the full 64-bit llc_seed(...). */
gsl_rng *llc_rng_new(uint64_t seed64);
void llc_rng_reseed(gsl_rng *r, uint64_t seed64);

/* Monotonic wall clock in seconds. */
double llc_now(void);

/* The i-th directory (i = 0, 1, ...) searched for shipped data (configs,
 * corpus, baselines), in order: $LLC_DATA; the installed share dir next to
 * the executable (<exe>/../share/llc); the source tree's data/ when run from
 * its build dir (<exe>/../data); the compiled-in LLC_SHARE_DIR. Writes the
 * directory into buf and returns buf, or NULL after the last one (entries
 * that do not apply, e.g. LLC_DATA unset, give an empty string). */
const char *llc_data_dir(int i, char *buf, size_t n);

#endif
