/* text.c - language modelling on the committed corpus, in bytes or
 * byte-pair tokens (data/corpus/, see SOURCES.md there; the task of the
 * refined-LLC paper of Wang et al. 2024).
 *
 * Two sources, prose.txt and code.txt, loaded once at construction. Each is
 * cut into blocks of split_block bytes; a test_frac share of the blocks,
 * spread evenly (block i is held out iff floor((i+1)·f) > floor(i·f): blocks
 * 9, 19, 29, … for f = 0.1), forms its test split, the rest its train split.
 * Each run of same-split blocks is turned into tokens on its own: its bytes,
 * or with bpe_merges = M > 0 its byte-pair tokens (tasks/bpe.h: ids 0..255
 * the bytes, 256 + i the i-th merge; tokens never cross a word's end), the
 * M merges learned at construction from the train runs of both sources,
 * every word occurrence weighing 1 (the two files are about 1 MB each).
 * A window is ctx+1 consecutive tokens inside one run, uniform over all
 * such windows of the chosen source and split; inputs are tokens 0..ctx-1,
 * targets tokens 1..ctx, mask all 1. T = ctx, vocab = n_out = 256 + M.
 *
 * Distributions:
 *   train       prose or code train split, code with probability code_frac
 *   test        the same mix of the test splits
 *   prose, code           one source's train split (data-refined LLCs)
 *   prose_test, code_test one source's test split
 *
 * Settings (ctx "task.text"): ctx (128, [1, 65536]), corpus_dir
 * ("data/corpus"), code_frac (0.5, [0, 1]), repeat_frac (0, [0, 1]),
 * bpe_merges (0 = bytes, [0, 3840]; to_json leaves it out at 0, so stored
 * configs and their data stay those of the byte task), test_frac (0.1, [0.01, 0.5]),
 * split_block (16384, [256, 2^24]), corpus_hash ("" = do not check; to_json
 * fills in the loaded corpus's FNV-1a 64 hash, 16 hex digits, so a stored
 * config refuses to run on a different corpus).
 * corpus_dir is tried as given (relative to the working directory); if it is
 * relative and holds no prose.txt, it is tried below each data directory of
 * llc_data_dir ($LLC_DATA, the installed share/llc, the source tree's data/)
 * with a leading "data/" removed (so the default finds $LLC_DATA/corpus). to_json records corpus_dir as given.
 *
 * chance_loss: the entropy of the unigram token distribution of the train
 * mix, (1 - code_frac)·p_prose + code_frac·p_code over the train splits.
 * token_used: the tokens of that distribution (p > 0); the probes draw their
 * random blocks from them, not from the whole vocabulary.
 *
 * repeat_frac: the probability that a window of the train or test mix is
 * replaced by a synthetic one: a block of K distinct tokens drawn from
 * token_used (llc_task_draw_block), repeated with period K, so that the
 * repeats are predictable only by copying from the earlier occurrence (an
 * induction head). K is uniform in [max(1, ctx/4), max(1, ctx/2)] per
 * window: with one fixed K a single layer would solve it by attending a
 * fixed distance back, which needs no composition of heads. It checks
 * that the model and trainer can form an induction head; the corpus-only
 * distributions never hold such windows. At 0 (the default) no random
 * number is drawn for it: the data are those without the key.
 */
#include "task_impl.h"
#include "bpe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TX_MAX_CTX 65536
#define TX_MAX_FILE (256L << 20)
#define TX_PATH 1024
#define TX_MAX_MERGES 3840 /* vocab at most 4096 */
#define TX_MAX_VOCAB (256 + TX_MAX_MERGES)

enum { TX_PROSE = 0, TX_CODE = 1 };
enum { TX_TRAIN = 0, TX_TEST = 1 };

typedef struct {
    int n;              /* segments */
    size_t *start;      /* (n) token offset */
    uint64_t *cum;      /* (n) windows in segments 0..i */
} tx_split;

typedef struct {
    size_t a, e;   /* bytes [a, e) of the source */
    size_t ta, te; /* their tokens [ta, te) of the source's stream */
    int sp;        /* TX_TRAIN or TX_TEST */
} tx_run;

typedef struct {
    int ctx;
    double code_frac, test_frac, repeat_frac;
    int n_merges, vocab;
    long split_block;
    char corpus_dir[TX_PATH];
    char path[TX_PATH];  /* the directory actually read */
    char hash[17];
    unsigned char *text[2];
    size_t len[2];
    llc_bpe *bpe;         /* NULL: byte tokens */
    int *tok[2];          /* each source's token stream, its runs encoded one by one */
    tx_run *run[2];
    int n_run[2];
    tx_split split[2][2]; /* [source][train/test] */
    unsigned char used[TX_MAX_VOCAB]; /* tokens of the train mix: the task's token_used */
    int tok_of[TX_MAX_VOCAB], n_tok;  /* the same tokens, ascending */
} tx_impl;

static const char *const tx_dists[] = {"train", "test", "prose", "code", "prose_test", "code_test"};
static const char *const tx_files[] = {"prose.txt", "code.txt"};
static const char *const tx_optional[] = {"repeat_frac", "bpe_merges", NULL}; /* to_json: only when > 0 */

static long tx_n_examples(const llc_task *t, int dist) { return 0; } /* endless streams */

/* start of a uniformly random window of source src, split sp */
static size_t tx_window(const tx_impl *x, int src, int sp, gsl_rng *r)
{
    const tx_split *s = &x->split[src][sp];
    uint64_t total = s->cum[s->n - 1];
    uint64_t u = total <= 0xffffffffULL ? gsl_rng_uniform_int(r, (unsigned long)total)
                                        : (uint64_t)(gsl_rng_uniform(r) * (double)total);
    int lo = 0, hi = s->n - 1; /* first segment with cum > u */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s->cum[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    uint64_t before = lo ? s->cum[lo - 1] : 0;
    return s->start[lo] + (size_t)(u - before);
}

static int tx_fill(const llc_task *t, int dist, uint64_t index, llc_batch *b)
{
    const tx_impl *x = t->impl;
    const int T = x->ctx;
    llc_task_rng rs;
    int rc = llc_task_check_batch(t, dist, b);
    if (rc || (rc = llc_task_batch_rng(&rs, t, dist, index))) return rc;
    for (int j = 0; j < b->B; j++) {
        int src, sp;
        int *tok = b->tokens + (size_t)j * T, *tgt = b->targets + (size_t)j * T;
        float *mk = b->mask + (size_t)j * T;
        if (dist <= 1 && x->repeat_frac > 0 && gsl_rng_uniform(&rs.r) < x->repeat_frac) {
            const int lo = T / 4 > 0 ? T / 4 : 1, hi = T / 2 > lo ? T / 2 : lo;
            const int K = lo + (int)gsl_rng_uniform_int(&rs.r, (unsigned long)(hi - lo + 1));
            llc_task_draw_block(tok, K, x->tok_of, x->n_tok, &rs.r);
            for (int i = 0; i < T; i++) {
                if (i >= K) tok[i] = tok[i - K];
                tgt[i] = tok[(i + 1) % K];
                mk[i] = 1.0f;
            }
            continue;
        }
        if (dist <= 1) {
            sp = dist;
            src = gsl_rng_uniform(&rs.r) < x->code_frac ? TX_CODE : TX_PROSE;
        } else {
            src = (dist - 2) % 2;
            sp = (dist - 2) / 2;
        }
        const int *w = x->tok[src] + tx_window(x, src, sp, &rs.r);
        for (int i = 0; i < T; i++) {
            tok[i] = w[i];
            tgt[i] = w[i + 1];
            mk[i] = 1.0f;
        }
    }
    return LLC_OK;
}

static cJSON *tx_to_json(const llc_task *t)
{
    const tx_impl *x = t->impl;
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok = ok && cJSON_AddNumberToObject(o, "ctx", x->ctx);
    ok = ok && cJSON_AddStringToObject(o, "corpus_dir", x->corpus_dir);
    ok = ok && cJSON_AddNumberToObject(o, "code_frac", x->code_frac);
    if (x->repeat_frac > 0) ok = ok && cJSON_AddNumberToObject(o, "repeat_frac", x->repeat_frac);
    if (x->n_merges > 0) ok = ok && cJSON_AddNumberToObject(o, "bpe_merges", x->n_merges);
    ok = ok && cJSON_AddNumberToObject(o, "test_frac", x->test_frac);
    ok = ok && cJSON_AddNumberToObject(o, "split_block", (double)x->split_block);
    ok = ok && cJSON_AddStringToObject(o, "corpus_hash", x->hash);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void tx_free_impl(void *p)
{
    tx_impl *x = p;
    if (!x) return;
    llc_bpe_free(x->bpe);
    for (int s = 0; s < 2; s++) {
        free(x->text[s]);
        free(x->tok[s]);
        free(x->run[s]);
        for (int k = 0; k < 2; k++) {
            free(x->split[s][k].start);
            free(x->split[s][k].cum);
        }
    }
    free(x);
}

/* ---- loading ---- */

static int tx_has_corpus(const char *dir)
{
    char p[TX_PATH + 16];
    snprintf(p, sizeof p, "%s/%s", dir, tx_files[0]);
    return access(p, R_OK) == 0;
}

/* Find the corpus directory (see the file header) into x->path. */
static int tx_resolve(tx_impl *x, const char *ctx, char *err)
{
    const char *d = x->corpus_dir;
    if (tx_has_corpus(d)) {
        snprintf(x->path, sizeof x->path, "%s", d);
        return LLC_OK;
    }
    char tried[5 * TX_PATH + 64];
    snprintf(tried, sizeof tried, "%s", d);
    if (d[0] != '/') {
        const char *rel = strncmp(d, "data/", 5) == 0 ? d + 5 : d;
        char base[TX_PATH];
        for (int i = 0; llc_data_dir(i, base, sizeof base); i++) {
            if (!base[0]) continue;
            char cand[TX_PATH];
            if (snprintf(cand, sizeof cand, "%s/%s", base, rel) >= (int)sizeof cand) continue;
            size_t n = strlen(tried);
            snprintf(tried + n, sizeof tried - n, ", %s", cand);
            if (tx_has_corpus(cand)) {
                snprintf(x->path, sizeof x->path, "%s", cand);
                return LLC_OK;
            }
        }
    }
    return llc_fail(err, LLC_ERR_IO,
                    "%s: no corpus (%s, %s) in key 'corpus_dir' = '%s' (tried %s); build it with "
                    "sh data/corpus/build.sh or set LLC_DATA to the directory holding corpus/",
                    ctx, tx_files[0], tx_files[1], x->corpus_dir, tried);
}

static int tx_read(const char *dir, const char *name, unsigned char **out, size_t *len, const char *ctx, char *err)
{
    char p[TX_PATH + 16];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    unsigned char *buf = NULL;
    int rc = LLC_OK;
    long n;
    if (!f) return llc_fail(err, LLC_ERR_IO, "%s: cannot open %s", ctx, p);
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        rc = llc_fail(err, LLC_ERR_IO, "%s: cannot read %s", ctx, p);
        goto cleanup;
    }
    if (n > TX_MAX_FILE) {
        rc = llc_fail(err, LLC_ERR_INVALID, "%s: %s has %ld bytes, more than the %ld allowed", ctx, p, n, TX_MAX_FILE);
        goto cleanup;
    }
    buf = malloc((size_t)n + 1);
    if (!buf) { rc = llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx); goto cleanup; }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        rc = llc_fail(err, LLC_ERR_IO, "%s: cannot read %s", ctx, p);
        goto cleanup;
    }
    *out = buf;
    *len = (size_t)n;
    buf = NULL;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

static int tx_is_test_block(size_t i, double f) { return floor((double)(i + 1) * f) > floor((double)i * f); }

/* The runs of same-split blocks of source src, in order. */
static int tx_runs(tx_impl *x, int src, const char *ctx, char *err)
{
    const size_t len = x->len[src], blk = (size_t)x->split_block;
    const size_t nb = (len + blk - 1) / blk;
    x->run[src] = malloc((nb + 1) * sizeof *x->run[src]);
    if (!x->run[src]) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    for (size_t i = 0; i < nb;) {
        const int sp = tx_is_test_block(i, x->test_frac);
        size_t j = i;
        while (j < nb && tx_is_test_block(j, x->test_frac) == sp) j++;
        tx_run *r = &x->run[src][x->n_run[src]++];
        r->a = i * blk;
        r->e = j * blk < len ? j * blk : len;
        r->sp = sp;
        i = j;
    }
    return LLC_OK;
}

/* The byte-pair merges, learned from the train runs of both sources. */
static int tx_learn(tx_impl *x, const char *ctx, char *err)
{
    llc_bpe_text *piece = malloc((size_t)(x->n_run[0] + x->n_run[1] + 1) * sizeof *piece);
    int n = 0, rc;
    if (!piece) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < x->n_run[s]; k++)
            if (x->run[s][k].sp == TX_TRAIN)
                piece[n++] = (llc_bpe_text){x->text[s] + x->run[s][k].a, x->run[s][k].e - x->run[s][k].a};
    char why[LLC_ERRLEN];
    rc = llc_bpe_learn(piece, n, x->n_merges, &x->bpe, why);
    if (rc) llc_fail(err, rc, "%s: key 'bpe_merges' = %d: %s", ctx, x->n_merges, why);
    free(piece);
    return rc;
}

/* Source src's token stream (each run encoded on its own), and its windows
 * of ctx+1 tokens inside one run, per split. */
static int tx_split_source(tx_impl *x, int src, const char *ctx, char *err)
{
    const size_t W = (size_t)x->ctx + 1;
    x->tok[src] = malloc((x->len[src] + 1) * sizeof *x->tok[src]);
    if (!x->tok[src]) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    size_t at = 0;
    for (int k = 0; k < x->n_run[src]; k++) {
        tx_run *r = &x->run[src][k];
        size_t n;
        llc_bpe_encode(x->bpe, x->text[src] + r->a, r->e - r->a, x->tok[src] + at, &n);
        r->ta = at;
        r->te = at += n;
    }
    for (int sp = 0; sp < 2; sp++) {
        tx_split *s = &x->split[src][sp];
        s->start = malloc(((size_t)x->n_run[src] + 1) * sizeof *s->start);
        s->cum = malloc(((size_t)x->n_run[src] + 1) * sizeof *s->cum);
        if (!s->start || !s->cum) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
        s->n = 0;
        uint64_t acc = 0;
        size_t n_in = 0;
        for (int k = 0; k < x->n_run[src]; k++) {
            const tx_run *r = &x->run[src][k];
            if (r->sp != sp) continue;
            n_in += r->te - r->ta;
            if (r->te - r->ta >= W) {
                acc += r->te - r->ta - W + 1;
                s->start[s->n] = r->ta;
                s->cum[s->n] = acc;
                s->n++;
            }
        }
        const char *unit = x->bpe ? "tokens" : "bytes";
        if (s->n == 0)
            return llc_fail(err, LLC_ERR_INVALID,
                            "%s: the %s split of %s (%zu %s) holds no window of ctx+1 = %zu %s in one run of "
                            "blocks; lower 'ctx' or raise 'split_block'",
                            ctx, sp ? "test" : "train", tx_files[src], n_in, unit, W, unit);
    }
    return LLC_OK;
}

static int tx_load(tx_impl *x, const char *want_hash, const char *ctx, char *err)
{
    int rc;
    if ((rc = tx_resolve(x, ctx, err))) return rc;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int s = 0; s < 2; s++) {
        if ((rc = tx_read(x->path, tx_files[s], &x->text[s], &x->len[s], ctx, err))) return rc;
        for (size_t i = 0; i < x->len[s]; i++) h = (h ^ x->text[s][i]) * 0x100000001b3ULL;
        if ((rc = tx_runs(x, s, ctx, err))) return rc;
    }
    snprintf(x->hash, sizeof x->hash, "%016llx", (unsigned long long)h);
    if (want_hash[0] && strcmp(want_hash, x->hash) != 0)
        return llc_fail(err, LLC_ERR_INVALID,
                        "%s: key 'corpus_hash' is %s but the corpus in %s hashes to %s (the corpus changed)", ctx,
                        want_hash, x->path, x->hash);
    if (x->n_merges > 0 && (rc = tx_learn(x, ctx, err))) return rc;
    for (int s = 0; s < 2; s++)
        if ((rc = tx_split_source(x, s, ctx, err))) return rc;
    return LLC_OK;
}

/* The train mix's unigram entropy over tokens; marks its tokens in x->used. */
static double tx_chance(tx_impl *x)
{
    double p[TX_MAX_VOCAB] = {0}, h = 0;
    const double wsrc[2] = {1.0 - x->code_frac, x->code_frac};
    for (int s = 0; s < 2; s++) {
        if (wsrc[s] == 0) continue;
        double cnt[TX_MAX_VOCAB] = {0}, n = 0;
        for (int k = 0; k < x->n_run[s]; k++) {
            const tx_run *r = &x->run[s][k];
            if (r->sp != TX_TRAIN) continue;
            for (size_t i = r->ta; i < r->te; i++) {
                cnt[x->tok[s][i]] += 1;
                n += 1;
            }
        }
        for (int c = 0; c < x->vocab && n > 0; c++) p[c] += wsrc[s] * cnt[c] / n;
    }
    for (int c = 0; c < x->vocab; c++) {
        x->used[c] = p[c] > 0;
        if (p[c] > 0) h -= p[c] * log(p[c]);
    }
    return h;
}

int llc_task_text_init(const cJSON *settings, llc_task *t, char *err)
{
    static const char *const keys[] = {"ctx", "corpus_dir", "code_frac", "repeat_frac", "bpe_merges",
                                       "test_frac",  "split_block", "corpus_hash", NULL};
    const char *ctx = "task.text";
    long long T, blk, merges;
    double code_frac, test_frac, repeat_frac;
    char want_hash[64];
    int rc;
    tx_impl *x = calloc(1, sizeof *x);
    if (!x) return llc_fail(err, LLC_ERR_NOMEM, "%s: out of memory", ctx);
    if ((rc = llc_json_check_keys(settings, keys, ctx, err)) ||
        (rc = llc_json_int(settings, "ctx", 128, 1, TX_MAX_CTX, &T, ctx, err)) ||
        (rc = llc_json_str(settings, "corpus_dir", "data/corpus", x->corpus_dir, sizeof x->corpus_dir, ctx, err)) ||
        (rc = llc_json_num(settings, "code_frac", 0.5, 0.0, 1.0, &code_frac, ctx, err)) ||
        (rc = llc_json_num(settings, "repeat_frac", 0.0, 0.0, 1.0, &repeat_frac, ctx, err)) ||
        (rc = llc_json_int(settings, "bpe_merges", 0, 0, TX_MAX_MERGES, &merges, ctx, err)) ||
        (rc = llc_json_num(settings, "test_frac", 0.1, 0.01, 0.5, &test_frac, ctx, err)) ||
        (rc = llc_json_int(settings, "split_block", 16384, 256, 1 << 24, &blk, ctx, err)) ||
        (rc = llc_json_str(settings, "corpus_hash", "", want_hash, sizeof want_hash, ctx, err)))
        goto cleanup;
    if (!x->corpus_dir[0]) {
        rc = llc_fail(err, LLC_ERR_INVALID, "%s: key 'corpus_dir' must not be empty", ctx);
        goto cleanup;
    }
    x->ctx = (int)T;
    x->code_frac = code_frac;
    x->test_frac = test_frac;
    x->repeat_frac = repeat_frac;
    x->n_merges = (int)merges;
    x->vocab = 256 + x->n_merges;
    x->split_block = (long)blk;
    if ((rc = tx_load(x, want_hash, ctx, err))) goto cleanup;
    memset(&t->shape, 0, sizeof t->shape);
    t->shape.T = x->ctx;
    t->shape.vocab = x->vocab;
    t->shape.n_out = x->vocab;
    t->shape.chance_loss = tx_chance(x);
    t->token_used = x->used;
    t->optional_keys = tx_optional;
    for (int c = 0; c < x->vocab; c++)
        if (x->used[c]) x->tok_of[x->n_tok++] = c;
    t->n_dists = 6;
    for (int i = 0; i < 6; i++) t->dists[i] = tx_dists[i];
    t->impl = x;
    t->n_examples = tx_n_examples;
    t->fill = tx_fill;
    t->to_json = tx_to_json;
    t->free_impl = tx_free_impl;
    x = NULL;
cleanup:
    tx_free_impl(x);
    return rc;
}
