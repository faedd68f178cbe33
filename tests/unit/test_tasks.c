/* test_tasks.c - the data tasks sort, modadd, icl and text (tasks/sort.c, modadd.c, icl.c, text.c) and
 * the registry (tasks/task.c):
 *   - every task: determinism (same seed/dist/index -> identical bytes; other
 *     index, dist or seed -> different), value ranges, to_json round trip
 *     (a task rebuilt from its own to_json gives identical batches);
 *   - sort: every masked target is the sorted input, with and without
 *     replacement; mean_gap / small_gap / large_gap move the observed mean
 *     gap; chance_loss against a Monte Carlo estimate;
 *   - modadd: labels, fixed 2,048 + 2,048 disjoint sets, epochs are
 *     permutations of the set;
 *   - icl: the query's label is in context and equals its class's label in
 *     that sequence, labels re-drawn across sequences, held-out classes and
 *     held-out label pairs, chance_loss against the empirical marginal;
 *   - text: windows come from the right source and split, bytes in range,
 *     the corpus is found from another working directory;
 *   - settings: unknown keys and out-of-range values rejected naming the key.
 * TEST_SEED=<n> replays with another seed.
 */
#include "bpe.h"
#include "llc_run.h"
#include "llc_tasks.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t g_seed = 20241105ULL;

/* ---------------- helpers ---------------- */

/* Build a task from JSON text (NULL = defaults). */
static int mk(const char *name, const char *json, uint64_t seed, llc_task **t, char *err)
{
    cJSON *s = json ? cJSON_Parse(json) : NULL;
    *t = NULL;
    if (json && !s) return llc_fail(err, LLC_ERR_INVALID, "test: bad JSON %s", json);
    int rc = llc_task_new(name, s, seed, t, err);
    cJSON_Delete(s);
    return rc;
}

static int batch_equal(const llc_batch *a, const llc_batch *b)
{
    size_t n = (size_t)a->B * (size_t)a->T;
    if (a->B != b->B || a->T != b->T || a->d_in != b->d_in) return 0;
    if (a->tokens && memcmp(a->tokens, b->tokens, n * sizeof *a->tokens)) return 0;
    if (a->targets && memcmp(a->targets, b->targets, n * sizeof *a->targets)) return 0;
    if (a->x && memcmp(a->x, b->x, n * (size_t)a->d_in * sizeof *a->x)) return 0;
    return memcmp(a->mask, b->mask, n * sizeof *a->mask) == 0;
}

static int fill(const llc_task *t, const char *dist, uint64_t index, llc_batch *b)
{
    int d = llc_task_dist(t, dist);
    return d < 0 ? LLC_ERR_NOTFOUND : t->fill(t, d, index, b);
}

/* Expect rc == want and a message containing `needle`. */
static void expect_reject(const char *name, const char *json, int want, const char *needle)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    int rc = mk(name, json, g_seed, &t, err);
    CHECK(rc == want && strstr(err, needle) != NULL, "%s %s rejected (rc %d, want %d): %s", name, json, rc, want,
          err);
    llc_task_free(t);
}

/* The checks every task passes: determinism, ranges, round trip. */
static void generic_checks(const char *name, const char *json)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL, *t2 = NULL, *t3 = NULL;
    llc_batch *a = NULL, *b = NULL;
    cJSON *js = NULL, *js2 = NULL;
    const int B = 16;
    int rc = mk(name, json, g_seed, &t, err);
    CHECK(rc == LLC_OK, "%s %s: built (%s)", name, json ? json : "defaults", err);
    if (rc) return;
    const llc_task_shape *s = &t->shape;
    CHECK(llc_task_dist(t, "train") == 0 && llc_task_dist(t, "test") == 1 && llc_task_dist(t, "nope") == -1,
          "%s: dists train=0, test=1, unknown=-1", name);
    CHECK(s->T > 0 && s->n_out > 0 && isfinite(s->chance_loss) && s->chance_loss > 0 &&
              s->chance_loss <= log((double)s->n_out) + 1e-9,
          "%s: shape T %d n_out %d, chance %.4f in (0, ln n_out]", name, s->T, s->n_out, s->chance_loss);
    a = llc_task_batch_alloc(t, B);
    b = llc_task_batch_alloc(t, B);
    if (!a || !b) { CHECK(0, "%s: batch alloc", name); goto cleanup; }
    int ok = 1, inrange = 1;
    for (int d = 0; d < t->n_dists; d++) {
        ok &= t->fill(t, d, 5, a) == LLC_OK && t->fill(t, d, 5, b) == LLC_OK && batch_equal(a, b);
        for (size_t i = 0; i < (size_t)B * (size_t)s->T; i++) {
            int tok = a->tokens[i], tg = a->targets[i];
            inrange &= tok >= (s->d_in > 0 ? -1 : 0) && tok < s->vocab && tg >= 0 && tg < s->n_out &&
                       (a->mask[i] == 0.0f || a->mask[i] == 1.0f);
            if (s->d_in > 0 && tok >= 0)
                for (int k = 0; k < s->d_in; k++) inrange &= a->x[i * (size_t)s->d_in + (size_t)k] == 0.0f;
        }
    }
    CHECK(ok, "%s: same seed, dist, index -> identical batches (all %d dists)", name, t->n_dists);
    CHECK(inrange, "%s: tokens in [-1/0, vocab), targets in [0, n_out), mask 0/1", name);
    fill(t, "train", 5, a);
    fill(t, "train", 6, b);
    CHECK(!batch_equal(a, b), "%s: a different index gives a different batch", name);
    fill(t, "test", 5, b);
    CHECK(!batch_equal(a, b), "%s: test differs from train at the same index", name);
    /* any order, any index: a pure function */
    fill(t, "train", 123456789012345ULL, b);
    fill(t, "train", 5, b);
    CHECK(batch_equal(a, b), "%s: refilling after a far index reproduces the batch", name);
    CHECK(t->fill(t, t->n_dists, 0, a) == LLC_ERR_INVALID && t->fill(t, -1, 0, a) == LLC_ERR_INVALID,
          "%s: a bad dist index is rejected", name);
    llc_batch small = *a;
    small.T = s->T + 1;
    CHECK(t->fill(t, 0, 0, &small) == LLC_ERR_INVALID, "%s: a batch of the wrong T is rejected", name);

    /* round trip through to_json */
    js = llc_task_settings_json(t);
    CHECK(js != NULL, "%s: to_json", name);
    if (!js) goto cleanup;
    rc = llc_task_new(name, js, g_seed, &t2, err);
    CHECK(rc == LLC_OK, "%s: rebuilt from its own to_json (%s)", name, err);
    if (rc) goto cleanup;
    js2 = llc_task_settings_json(t2);
    CHECK(js2 && cJSON_Compare(js, js2, 1), "%s: to_json of the rebuilt task is identical", name);
    ok = 1;
    for (int d = 0; d < t->n_dists; d++) {
        ok &= t->fill(t, d, 77, a) == LLC_OK && t2->fill(t2, d, 77, b) == LLC_OK && batch_equal(a, b);
    }
    CHECK(ok && t2->n_dists == t->n_dists && fabs(t2->shape.chance_loss - t->shape.chance_loss) < 1e-12,
          "%s: the rebuilt task gives identical batches in every dist", name);
    rc = llc_task_new(name, js, g_seed + 1, &t3, err);
    CHECK(rc == LLC_OK && t3->fill(t3, 0, 77, b) == LLC_OK && (fill(t, "train", 77, a), !batch_equal(a, b)),
          "%s: another seed gives other batches", name);
cleanup:
    cJSON_Delete(js);
    cJSON_Delete(js2);
    llc_batch_free(a);
    llc_batch_free(b);
    llc_task_free(t);
    llc_task_free(t2);
    llc_task_free(t3);
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* ---------------- registry ---------------- */

static void test_registry(void)
{
    const char *want[] = {"sort", "modadd", "icl", "text", "linreg", "dln", "poly"};
    int n = 0, ok = 1;
    while (llc_task_names[n]) n++;
    for (int i = 0; i < 7; i++) {
        int found = 0;
        for (int j = 0; j < n; j++) found |= strcmp(llc_task_names[j], want[i]) == 0;
        ok &= found;
    }
    CHECK(ok && n == 7, "llc_task_names lists the 7 tasks (%d)", n);
    expect_reject("sorting", NULL, LLC_ERR_NOTFOUND, "unknown task 'sorting'");
    expect_reject("sorting", NULL, LLC_ERR_NOTFOUND, "modadd");
    expect_reject("sort", "[1, 2]", LLC_ERR_INVALID, "must be a JSON object");
    CHECK(llc_task_dist(NULL, "train") == -1 && llc_task_settings_json(NULL) == NULL, "NULL task handled");
    llc_task_free(NULL);
    CHECK(1, "llc_task_free(NULL) is a no-op");
}

/* ---------------- sort ---------------- */

/* Observed mean gap over nb batches of dist; checks sortedness on the way. */
static double sort_scan(const llc_task *t, const char *dist, int nb, int *sorted_ok, int *distinct_ok,
                        int *has_dup, int *min_gap)
{
    const int L = t->shape.T / 2, V = t->shape.vocab - 1, B = 32;
    llc_batch *b = llc_task_batch_alloc(t, B);
    int in[256], out[256];
    double gap = 0;
    long n = 0;
    *sorted_ok = *distinct_ok = 1;
    *has_dup = 0;
    *min_gap = 1 << 30;
    for (int k = 0; k < nb && b; k++) {
        if (fill(t, dist, (uint64_t)k, b)) { *sorted_ok = 0; break; }
        for (int j = 0; j < B; j++) {
            const int *tok = b->tokens + j * 2 * L, *tg = b->targets + j * 2 * L;
            const float *m = b->mask + j * 2 * L;
            int msum = 0;
            for (int i = 0; i < 2 * L; i++) msum += m[i] == 1.0f && i >= L;
            *sorted_ok &= msum == L && tok[L] == V && tg[L - 1] == V;
            for (int i = 0; i < L; i++) in[i] = tok[i], out[i] = tg[L + i];
            for (int i = 0; i + 1 < 2 * L; i++) *sorted_ok &= tg[i] == tok[i + 1];
            qsort(in, (size_t)L, sizeof *in, cmp_int);
            for (int i = 0; i < L; i++) *sorted_ok &= in[i] == out[i] && out[i] >= 0 && out[i] < V;
            for (int i = 0; i + 1 < L; i++) {
                *distinct_ok &= out[i] < out[i + 1];
                *has_dup |= out[i] == out[i + 1];
                if (out[i + 1] - out[i] < *min_gap) *min_gap = out[i + 1] - out[i];
            }
            gap += (double)(out[L - 1] - out[0]) / (L - 1);
            n++;
        }
    }
    llc_batch_free(b);
    return n ? gap / (double)n : NAN;
}

/* Monte Carlo position-aware entropy of the sorted outputs. */
static double sort_mc_chance(const llc_task *t, int nb)
{
    const int L = t->shape.T / 2, V = t->shape.vocab - 1, B = 64;
    llc_batch *b = llc_task_batch_alloc(t, B);
    double *cnt = calloc((size_t)L * (size_t)V, sizeof *cnt), h = 0, n = 0;
    for (int k = 0; k < nb && b && cnt; k++) {
        fill(t, "train", 1000000 + (uint64_t)k, b);
        for (int j = 0; j < B; j++, n++)
            for (int i = 0; i < L; i++) cnt[(size_t)i * V + (size_t)b->targets[j * 2 * L + L + i]] += 1;
    }
    for (int i = 0; i < L && cnt; i++)
        for (int v = 0; v < V; v++) {
            double p = cnt[(size_t)i * V + v] / n;
            if (p > 0) h -= p * log(p);
        }
    free(cnt);
    llc_batch_free(b);
    return h / L;
}

static void test_sort(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    int sorted, distinct, dup, mingap;
    generic_checks("sort", NULL);
    generic_checks("sort", "{\"list_len\": 6, \"vocab\": 20, \"replacement\": true, \"mean_gap\": 1.5}");

    if (mk("sort", NULL, g_seed, &t, err) == LLC_OK) {
        CHECK(t->shape.T == 20 && t->shape.vocab == 65 && t->shape.n_out == 65 && t->shape.d_in == 0 &&
                  t->shape.per_sequence == 0 && t->n_dists == 4 && llc_task_dist(t, "small_gap") == 2 &&
                  llc_task_dist(t, "large_gap") == 3,
              "sort defaults: T 20, vocab 65 (64 + SEP), dists train test small_gap large_gap");
        double g_uni = sort_scan(t, "train", 200, &sorted, &distinct, &dup, &mingap);
        CHECK(sorted && distinct, "sort: 6400 lists, every masked target is the sorted input, numbers distinct");
        CHECK(fabs(g_uni - 65.0 / 11.0) < 0.1, "sort uniform: mean gap %.3f ~ (V+1)/(L+1) = 5.909", g_uni);
        double g_small = sort_scan(t, "small_gap", 100, &sorted, &distinct, &dup, &mingap);
        CHECK(sorted && distinct && fabs(g_small - 2.0) < 0.1, "sort small_gap: sorted, mean gap %.3f ~ 2", g_small);
        double g_large = sort_scan(t, "large_gap", 100, &sorted, &distinct, &dup, &mingap);
        CHECK(sorted && distinct && mingap >= 4 && g_large > g_uni + 0.3,
              "sort large_gap: sorted, every gap >= 4 (min %d), mean gap %.3f > uniform %.3f", mingap, g_large,
              g_uni);
        double mc = sort_mc_chance(t, 400);
        CHECK(fabs(t->shape.chance_loss - mc) < 0.01 && t->shape.chance_loss < log(64.0) - 0.3,
              "sort chance (exact order statistics) %.4f vs Monte Carlo %.4f, below ln 64 = %.4f",
              t->shape.chance_loss, mc, log(64.0));
    }
    llc_task_free(t);

    if (mk("sort", "{\"mean_gap\": 1.5}", g_seed, &t, err) == LLC_OK) {
        double g = sort_scan(t, "train", 100, &sorted, &distinct, &dup, &mingap);
        CHECK(sorted && distinct && fabs(g - 1.5) < 0.1, "sort mean_gap 1.5: sorted, distinct, mean gap %.3f", g);
        double mc = sort_mc_chance(t, 400);
        CHECK(fabs(t->shape.chance_loss - mc) < 0.02, "sort mean_gap 1.5: chance %.4f vs Monte Carlo %.4f",
              t->shape.chance_loss, mc);
    } else CHECK(0, "sort mean_gap 1.5 built: %s", err);
    llc_task_free(t);
    if (mk("sort", "{\"mean_gap\": 6}", g_seed, &t, err) == LLC_OK) {
        double g = sort_scan(t, "train", 100, &sorted, &distinct, &dup, &mingap);
        CHECK(sorted && distinct && g > 4.5 && g < 6.0, "sort mean_gap 6: sorted, mean gap %.3f in (4.5, 6)", g);
    } else CHECK(0, "sort mean_gap 6 built: %s", err);
    llc_task_free(t);

    if (mk("sort", "{\"list_len\": 12, \"vocab\": 8, \"replacement\": true}", g_seed, &t, err) == LLC_OK) {
        sort_scan(t, "train", 100, &sorted, &distinct, &dup, &mingap);
        CHECK(sorted && dup, "sort with replacement (12 from 8): sorted, repeats present");
        double mc = sort_mc_chance(t, 400);
        CHECK(fabs(t->shape.chance_loss - mc) < 0.01, "sort with replacement: chance %.4f vs Monte Carlo %.4f",
              t->shape.chance_loss, mc);
        sort_scan(t, "large_gap", 20, &sorted, &distinct, &dup, &mingap);
        CHECK(sorted, "sort with replacement, large_gap: sorted");
    } else CHECK(0, "sort with replacement built: %s", err);
    llc_task_free(t);

    expect_reject("sort", "{\"lenght\": 10}", LLC_ERR_INVALID, "unknown key 'lenght'");
    expect_reject("sort", "{\"list_len\": 200}", LLC_ERR_INVALID, "'list_len' must be an integer in [2, 128]");
    expect_reject("sort", "{\"list_len\": 1}", LLC_ERR_INVALID, "'list_len'");
    expect_reject("sort", "{\"list_len\": 2.5}", LLC_ERR_INVALID, "'list_len'");
    expect_reject("sort", "{\"vocab\": \"64\"}", LLC_ERR_INVALID, "'vocab'");
    expect_reject("sort", "{\"list_len\": 20, \"vocab\": 10}", LLC_ERR_INVALID, "'list_len' must be <= vocab");
    expect_reject("sort", "{\"mean_gap\": 0.5}", LLC_ERR_INVALID, "'mean_gap' must be 0 (uniform) or in [1");
    expect_reject("sort", "{\"mean_gap\": 8}", LLC_ERR_INVALID, "'mean_gap' must be a number in [0, 7]");
    expect_reject("sort", "{\"replacement\": 2}", LLC_ERR_INVALID, "'replacement'");
    expect_reject("sort", "{\"large_min_gap\": 8}", LLC_ERR_INVALID, "'large_min_gap' must be an integer in [1, 7]");
    expect_reject("sort", "{\"small_mean_gap\": 0.5}", LLC_ERR_INVALID, "'small_mean_gap'");
}

/* ---------------- modadd ---------------- */

/* Codes (base p, position 0 least significant) of a full-set batch; checks labels. */
static int modadd_codes(const llc_task *t, const char *dist, uint64_t index, int B, int p, int k, long *codes,
                        int *labels_ok)
{
    const int T = t->shape.T;
    llc_batch *b = llc_task_batch_alloc(t, B);
    int rc = b ? fill(t, dist, index, b) : LLC_ERR_NOMEM;
    for (int j = 0; j < B && rc == LLC_OK; j++) {
        long c = 0, sum = 0;
        for (int i = T - 1; i >= 0; i--) c = c * p + b->tokens[j * T + i];
        for (int i = 0; i < k; i++) sum += b->tokens[j * T + i];
        *labels_ok &= b->targets[j * T + T - 1] == sum % p && b->mask[j * T + T - 1] == 1.0f;
        for (int i = 0; i < T - 1; i++) *labels_ok &= b->mask[j * T + i] == 0.0f;
        codes[j] = c;
    }
    llc_batch_free(b);
    return rc;
}

static int cmp_long(const void *x, const void *y)
{
    long a = *(const long *)x, b = *(const long *)y;
    return (a > b) - (a < b);
}

static void test_modadd(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL, *t2 = NULL;
    const int N = 2048;
    long *tr = malloc(N * sizeof *tr), *tr1 = malloc(N * sizeof *tr1), *te = malloc(N * sizeof *te);
    long *mb = malloc(N * sizeof *mb), *all = malloc(2 * N * sizeof *all);
    int labels = 1;
    generic_checks("modadd", NULL);
    generic_checks("modadd", "{\"p\": 3, \"L\": 6, \"k\": 3, \"n_train\": 100, \"n_test\": 50}");
    generic_checks("modadd", "{\"p\": 7, \"L\": 30, \"k\": 4, \"n_train\": 300, \"n_test\": 300}");
    if (!tr || !tr1 || !te || !mb || !all || mk("modadd", NULL, g_seed, &t, err) != LLC_OK) {
        CHECK(0, "modadd built: %s", err);
        goto cleanup;
    }
    CHECK(t->shape.T == 12 && t->shape.vocab == 2 && t->shape.n_out == 2 && t->shape.per_sequence == 1 &&
              t->n_dists == 2 && t->n_examples(t, 0) == N && t->n_examples(t, 1) == N,
          "modadd defaults: T 12, vocab 2, per_sequence, n_examples 2048 + 2048");
    CHECK(fabs(t->shape.chance_loss - log(2.0)) < 1e-3, "modadd chance %.5f ~ ln 2 (train label frequencies)",
          t->shape.chance_loss);
    modadd_codes(t, "train", 0, N, 2, 5, tr, &labels);
    modadd_codes(t, "train", 1, N, 2, 5, tr1, &labels);
    modadd_codes(t, "test", 0, N, 2, 5, te, &labels);
    CHECK(labels, "modadd: every target is (x1+..+x5) mod 2 at position T-1, mask only there");
    CHECK(memcmp(tr, tr1, N * sizeof *tr) != 0, "modadd: epochs 0 and 1 are in different orders");
    /* 64 batches of 32 = epoch 0 exactly */
    for (int k = 0; k < 64; k++) modadd_codes(t, "train", (uint64_t)k, 32, 2, 5, mb + 32 * k, &labels);
    CHECK(memcmp(mb, tr, N * sizeof *mb) == 0, "modadd: batches 0..63 of 32 are epoch 0 (the full batch) in order");
    qsort(tr, N, sizeof *tr, cmp_long);
    qsort(tr1, N, sizeof *tr1, cmp_long);
    qsort(te, N, sizeof *te, cmp_long);
    int distinct = 1;
    for (int i = 0; i + 1 < N; i++) distinct &= tr[i] < tr[i + 1] && te[i] < te[i + 1];
    CHECK(memcmp(tr, tr1, N * sizeof *tr) == 0 && distinct,
          "modadd: the train set is fixed (epochs 0 and 1 hold the same 2048 distinct sequences)");
    memcpy(all, tr, N * sizeof *all);
    memcpy(all + N, te, N * sizeof *all);
    qsort(all, 2 * N, sizeof *all, cmp_long);
    int partition = 1;
    for (long i = 0; i < 2 * N; i++) partition &= all[i] == i;
    CHECK(partition, "modadd: train and test are disjoint and together all 4096 sequences");
    if (mk("modadd", NULL, g_seed, &t2, err) == LLC_OK) {
        modadd_codes(t2, "train", 0, N, 2, 5, mb, &labels);
        qsort(mb, N, sizeof *mb, cmp_long);
        CHECK(memcmp(mb, tr, N * sizeof *mb) == 0, "modadd: the same seed rebuilds the same train set");
    }
    llc_task_free(t2);
    t2 = NULL;
    if (mk("modadd", NULL, g_seed + 1, &t2, err) == LLC_OK) {
        modadd_codes(t2, "train", 0, N, 2, 5, mb, &labels);
        qsort(mb, N, sizeof *mb, cmp_long);
        CHECK(memcmp(mb, tr, N * sizeof *mb) != 0, "modadd: another seed draws another train set");
    }
    llc_task_free(t2);
    t2 = NULL;
    /* p = 3, sparse sampling (3^10 codes), labels mod 3 */
    if (mk("modadd", "{\"p\": 3, \"L\": 10, \"k\": 4, \"n_train\": 500, \"n_test\": 500}", g_seed, &t2, err) ==
        LLC_OK) {
        labels = 1;
        modadd_codes(t2, "train", 3, 500, 3, 4, tr, &labels);
        modadd_codes(t2, "test", 3, 500, 3, 4, te, &labels);
        qsort(tr, 500, sizeof *tr, cmp_long);
        qsort(te, 500, sizeof *te, cmp_long);
        int inter = 0;
        for (int i = 0, j = 0; i < 500 && j < 500;) {
            if (tr[i] == te[j]) inter++, i++, j++;
            else if (tr[i] < te[j]) i++;
            else j++;
        }
        CHECK(labels && inter == 0, "modadd p=3: labels (x1+..+x4) mod 3, train and test disjoint");
        /* the train set (all 500, epoch 3 in some order): entropy of its label frequencies */
        double cnt[3] = {0}, h = 0;
        llc_batch *b = llc_task_batch_alloc(t2, 500);
        if (b && fill(t2, "train", 3, b) == LLC_OK)
            for (int j = 0; j < 500; j++) cnt[b->targets[j * 10 + 9]] += 1;
        for (int c = 0; c < 3; c++)
            if (cnt[c] > 0) h -= cnt[c] / 500 * log(cnt[c] / 500);
        llc_batch_free(b);
        CHECK(fabs(t2->shape.chance_loss - h) < 1e-12 && fabs(h - log(3.0)) < 0.05,
              "modadd p=3: chance %.6f = entropy of the train labels' frequencies %.6f (ln 3 = %.4f)",
              t2->shape.chance_loss, h, log(3.0));
    } else CHECK(0, "modadd p=3 built: %s", err);
    llc_task_free(t2);
    t2 = NULL;
    if (mk("modadd", "{\"L\": 4, \"n_train\": 100, \"n_test\": 100, \"disjoint\": false, \"k\": 2}", g_seed, &t2,
           err) == LLC_OK) {
        labels = 1;
        modadd_codes(t2, "train", 0, 100, 2, 2, tr, &labels);
        CHECK(labels && t2->n_examples(t2, 0) == 100, "modadd disjoint=false: 100 i.i.d. sequences of 16, labels");
    } else CHECK(0, "modadd disjoint=false built: %s", err);
    llc_task_free(t2);
    t2 = NULL;

    expect_reject("modadd", "{\"q\": 2}", LLC_ERR_INVALID, "unknown key 'q'");
    expect_reject("modadd", "{\"k\": 13}", LLC_ERR_INVALID, "'k' must be an integer in [1, 12]");
    expect_reject("modadd", "{\"p\": 1}", LLC_ERR_INVALID, "'p' must be an integer in [2, 1024]");
    expect_reject("modadd", "{\"L\": 4, \"k\": 5}", LLC_ERR_INVALID, "'k' must be an integer in [1, 4]");
    expect_reject("modadd", "{\"L\": 10}", LLC_ERR_INVALID, "n_train + n_test <= p^L = 1024");
    expect_reject("modadd", "{\"n_train\": 0}", LLC_ERR_INVALID, "'n_train'");
cleanup:
    llc_task_free(t);
    free(tr);
    free(tr1);
    free(te);
    free(mb);
    free(all);
}

/* ---------------- icl ---------------- */

#define ICL_MAXC 256
/* Class identities recovered from exemplar vectors: a new cluster whenever a
 * vector is farther than `radius` from every known centre. */
typedef struct {
    int n, D;
    float c[ICL_MAXC][64];
} clusters;

static int cluster_of(clusters *cl, const float *x, double radius)
{
    for (int i = 0; i < cl->n; i++) {
        double d = 0;
        for (int k = 0; k < cl->D; k++) d += (x[k] - cl->c[i][k]) * (double)(x[k] - cl->c[i][k]);
        if (sqrt(d) < radius) return i;
    }
    if (cl->n == ICL_MAXC) return -1;
    memcpy(cl->c[cl->n], x, (size_t)cl->D * sizeof *x);
    return cl->n++;
}

typedef struct {
    int ok_query, ok_consistent, classes_seen[ICL_MAXC], n_seqs;
    int label_sets[ICL_MAXC]; /* bit mask of labels each class got */
} icl_stats;

/* Scan nb batches of dist; classes through cl. Returns 0 on a fill error. */
static int icl_scan(const llc_task *t, const char *dist, int nb, clusters *cl, icl_stats *st, int *pair_seen,
                    const int *pairs_check, int *pairs_ok)
{
    const int T = t->shape.T, D = t->shape.d_in, N = (T - 1) / 2, NL = t->shape.vocab, B = 32;
    llc_batch *b = llc_task_batch_alloc(t, B);
    if (!b) return 0;
    for (int k = 0; k < nb; k++) {
        if (fill(t, dist, (uint64_t)k, b)) { llc_batch_free(b); return 0; }
        for (int j = 0; j < B; j++) {
            const int *tok = b->tokens + j * T;
            const float *x = b->x + (size_t)j * T * D;
            int cls[64], lab[64], q, ql = b->targets[j * T + T - 1];
            int ok = tok[T - 1] == -1 && b->mask[j * T + T - 1] == 1.0f;
            for (int i = 0; i < T - 1; i++) ok &= b->mask[j * T + i] == 0.0f;
            for (int p = 0; p < N; p++) {
                ok &= tok[2 * p] == -1 && tok[2 * p + 1] >= 0 && tok[2 * p + 1] < NL;
                cls[p] = cluster_of(cl, x + (size_t)(2 * p) * D, 0.3);
                lab[p] = tok[2 * p + 1];
                if (cls[p] >= 0) st->classes_seen[cls[p]] = 1, st->label_sets[cls[p]] |= 1 << lab[p];
            }
            q = cluster_of(cl, x + (size_t)(T - 1) * D, 0.3);
            /* the query's label: in context, and that of its class's exemplars */
            int found = 0;
            for (int p = 0; p < N; p++) found |= cls[p] == q && lab[p] == ql;
            for (int p = 0; p < N; p++) ok &= cls[p] != q || lab[p] == ql;
            st->ok_query &= ok && found && q >= 0;
            if (q >= 0) st->classes_seen[q] = 1;
            /* same class <=> same label within the sequence */
            for (int p = 0; p < N; p++)
                for (int r = 0; r < N; r++) st->ok_consistent &= (cls[p] == cls[r]) == (lab[p] == lab[r]);
            for (int p = 0; p < N && pair_seen; p++)
                for (int r = 0; r < N; r++)
                    if (lab[p] != lab[r]) pair_seen[lab[p] * NL + lab[r]] = 1;
            if (pairs_check) { /* some other in-context label forms a never-seen pair with the query's */
                int novel = 0;
                for (int p = 0; p < N; p++) novel |= lab[p] != ql && !pairs_check[ql * NL + lab[p]];
                *pairs_ok &= novel;
            }
            st->n_seqs++;
        }
    }
    llc_batch_free(b);
    return 1;
}

static int icl_count_classes(const icl_stats *st)
{
    int n = 0;
    for (int i = 0; i < ICL_MAXC; i++) n += st->classes_seen[i];
    return n;
}

static void test_icl(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL;
    static clusters cl;
    static icl_stats tr, ho, pr;
    int pair_seen[25] = {0}, pairs_ok = 1;
    generic_checks("icl", NULL);
    generic_checks("icl", "{\"n_pairs\": 8, \"n_labels\": 8, \"ctx_classes\": 3, \"held_out_pairs\": 2}");
    if (mk("icl", NULL, g_seed, &t, err) == LLC_OK) {
        CHECK(t->shape.T == 5 && t->shape.vocab == 5 && t->shape.d_in == 16 && t->shape.n_out == 5 &&
                  t->n_dists == 4 && llc_task_dist(t, "heldout") == 2 && llc_task_dist(t, "pairs") == 3,
              "icl defaults: T 5, vocab 5, d_in 16, dists train test heldout pairs");
        /* one held-out pair of 5 labels: 9 allowed pairs, its labels in 3 each, the others in 4 */
        double want = -2 * (3.0 / 18) * log(3.0 / 18) - 3 * (4.0 / 18) * log(4.0 / 18);
        CHECK_CLOSE(t->shape.chance_loss, want, 1e-12, 0, "icl chance: query-label marginal entropy (exact)");
        /* empirical marginal of the query label */
        llc_batch *b = llc_task_batch_alloc(t, 64);
        double cnt[5] = {0}, n = 0, h = 0;
        for (int k = 0; k < 300 && b; k++) {
            fill(t, "train", (uint64_t)k, b);
            for (int j = 0; j < 64; j++, n++) cnt[b->targets[j * 5 + 4]] += 1;
        }
        for (int c = 0; c < 5; c++)
            if (cnt[c] > 0) h -= cnt[c] / n * log(cnt[c] / n);
        CHECK(fabs(h - want) < 0.01, "icl chance %.4f vs empirical query-label entropy %.4f", want, h);
        llc_batch_free(b);
    } else CHECK(0, "icl built: %s", err);
    llc_task_free(t);
    t = NULL;

    /* well separated classes so exemplars can be assigned to classes */
    const char *sep = "{\"dim\": 64, \"noise\": 0.05}";
    if (mk("icl", sep, g_seed, &t, err) == LLC_OK) {
        cl.n = 0;
        cl.D = 64;
        tr.ok_query = tr.ok_consistent = ho.ok_query = ho.ok_consistent = pr.ok_query = pr.ok_consistent = 1;
        int ok = icl_scan(t, "train", 100, &cl, &tr, pair_seen, NULL, NULL);
        int n_train = cl.n;
        ok &= icl_scan(t, "heldout", 50, &cl, &ho, NULL, NULL, NULL);
        ok &= icl_scan(t, "pairs", 50, &cl, &pr, NULL, pair_seen, &pairs_ok);
        CHECK(ok && tr.ok_query && ho.ok_query && pr.ok_query,
              "icl: the query's label is in context and is its class's label in that sequence (train, heldout, "
              "pairs)");
        CHECK(tr.ok_consistent && ho.ok_consistent,
              "icl: within a sequence, same class <=> same label (distinct labels for distinct classes)");
        CHECK(n_train == 48 && icl_count_classes(&tr) == 48,
              "icl train: exactly the 48 train classes appear (%d clusters)", n_train);
        int disjoint = 1;
        for (int i = 0; i < n_train; i++) disjoint &= !ho.classes_seen[i];
        CHECK(cl.n == 64 && icl_count_classes(&ho) == 16 && disjoint,
              "icl heldout: only the 16 held-out classes, none of the train ones (%d, %d total)",
              icl_count_classes(&ho), cl.n);
        int redrawn = 1;
        for (int i = 0; i < n_train; i++) redrawn &= __builtin_popcount((unsigned)tr.label_sets[i]) >= 3;
        CHECK(redrawn, "icl: labels are re-drawn (every train class got >= 3 different labels across sequences)");
        int unseen = 0;
        for (int a = 0; a < 5; a++)
            for (int c = a + 1; c < 5; c++) unseen += !pair_seen[a * 5 + c];
        CHECK(unseen == 1, "icl train: exactly one of the 10 label pairs never occurs together (%d)", unseen);
        CHECK(pairs_ok && pr.n_seqs == 1600,
              "icl pairs: each sequence pairs the query's label with a label it never meets in train");
    } else CHECK(0, "icl separated built: %s", err);
    llc_task_free(t);
    t = NULL;
    /* 8 pairs, 2 classes: each class several times, consistent labels */
    if (mk("icl", "{\"n_pairs\": 8, \"dim\": 64, \"noise\": 0.05}", g_seed, &t, err) == LLC_OK) {
        static icl_stats s8;
        s8.ok_query = s8.ok_consistent = 1;
        cl.n = 0;
        icl_scan(t, "train", 20, &cl, &s8, NULL, NULL, NULL);
        CHECK(t->shape.T == 17 && s8.ok_query && s8.ok_consistent,
              "icl n_pairs 8: T 17, query label copied from its class, consistent labels");
    } else CHECK(0, "icl n_pairs 8 built: %s", err);
    llc_task_free(t);
    t = NULL;
    if (mk("icl", "{\"held_out_pairs\": 0}", g_seed, &t, err) == LLC_OK) {
        CHECK(t->n_dists == 3 && llc_task_dist(t, "pairs") == -1 && fabs(t->shape.chance_loss - log(5.0)) < 1e-12,
              "icl held_out_pairs 0: no pairs dist, chance ln 5");
    } else CHECK(0, "icl held_out_pairs 0 built: %s", err);
    llc_task_free(t);

    expect_reject("icl", "{\"n_shots\": 2}", LLC_ERR_INVALID, "unknown key 'n_shots'");
    expect_reject("icl", "{\"ctx_classes\": 3}", LLC_ERR_INVALID, "'ctx_classes' must be an integer in [1, 2]");
    expect_reject("icl", "{\"n_pairs\": 8, \"ctx_classes\": 6}", LLC_ERR_INVALID, "'ctx_classes'");
    expect_reject("icl", "{\"held_out\": 63}", LLC_ERR_INVALID, "'held_out' must be an integer in [2, 62]");
    expect_reject("icl", "{\"held_out_pairs\": 3}", LLC_ERR_INVALID, "'held_out_pairs' must be an integer in [0, 2]");
    expect_reject("icl", "{\"noise\": -1}", LLC_ERR_INVALID, "'noise'");
    expect_reject("icl", "{\"dim\": 0}", LLC_ERR_INVALID, "'dim'");
}

/* ---------------- text ---------------- */

/* 1 if w (len n) occurs in text at an offset whose window lies in the given
 * split (test: blocks with floor((i+1)f) > floor(if)) with block size blk. */
static int occurs_in_split(const unsigned char *text, size_t tlen, const int *w, size_t n, int want_test,
                           size_t blk, double f)
{
    unsigned char buf[1024];
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)w[i];
    const unsigned char *p = text;
    while ((p = memmem(p, tlen - (size_t)(p - text), buf, n)) != NULL) {
        size_t a = (size_t)(p - text), e = a + n - 1;
        int ok = 1;
        for (size_t blkno = a / blk; blkno <= e / blk; blkno++) {
            int is_test = floor((double)(blkno + 1) * f) > floor((double)blkno * f);
            ok &= is_test == want_test;
        }
        if (ok) return 1;
        p++;
    }
    return 0;
}

/* repeat_frac: the train and test mixes hold periodic windows of distinct
 * used bytes (period in [ctx/4, ctx/2]) at about that rate, the corpus-only
 * distributions none; at 0 the data are those without the key. */
static void test_text_repeat(void)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL, *t0 = NULL, *tn = NULL;
    llc_batch *b = NULL, *b0 = NULL;
    cJSON *js = NULL, *js0 = NULL;
    if (mk("text", "{\"ctx\": 64, \"repeat_frac\": 0.5}", g_seed, &t, err) != LLC_OK ||
        mk("text", "{\"ctx\": 64, \"repeat_frac\": 0}", g_seed, &t0, err) != LLC_OK ||
        mk("text", "{\"ctx\": 64}", g_seed, &tn, err) != LLC_OK) {
        CHECK(0, "text repeat_frac: built (%s)", err);
        goto cleanup;
    }
    b = llc_task_batch_alloc(t, 16);
    b0 = llc_task_batch_alloc(t, 16);
    if (!b || !b0) goto cleanup;
    const char *dn[] = {"train", "test", "code", "prose_test"};
    for (int d = 0; d < 4; d++) {
        int n_rep = 0, ok = 1, K_lo = 64, K_hi = 0;
        for (int k = 0; k < 8; k++) {
            fill(t, dn[d], (uint64_t)k, b);
            for (int j = 0; j < 16; j++) {
                const int *tok = b->tokens + j * 64, *tg = b->targets + j * 64;
                int K = 0; /* the first period: the first byte that occurs again */
                for (int i = 1; i < 64 && !K; i++)
                    if (tok[i] == tok[0]) K = i;
                int periodic = K >= 16 && K <= 32;
                for (int i = 0; periodic && i < 64; i++) {
                    periodic &= (i + K >= 64 || tok[i + K] == tok[i]) && tg[i] == tok[(i + 1) % K];
                    for (int m = 0; periodic && i < K && m < i; m++) periodic &= tok[m] != tok[i];
                    periodic &= t->token_used[tok[i]] != 0;
                }
                for (int i = 0; i < 63; i++) ok &= tg[i] == tok[i + 1] && b->mask[j * 64 + i] == 1.0f;
                if (periodic) {
                    n_rep++;
                    K_lo = K < K_lo ? K : K_lo;
                    K_hi = K > K_hi ? K : K_hi;
                }
            }
        }
        if (d < 2)
            CHECK(ok && n_rep > 44 && n_rep < 84 && K_lo < 20 && K_hi > 28,
                  "text repeat_frac 0.5, %s: %d of 128 windows periodic, periods %d..%d of [16, 32]", dn[d], n_rep,
                  K_lo, K_hi);
        else
            CHECK(ok && n_rep == 0, "text repeat_frac 0.5, %s: no periodic window (%d)", dn[d], n_rep);
    }
    int same = 1;
    for (int k = 0; k < 4; k++) {
        fill(t0, "train", (uint64_t)k, b);
        fill(tn, "train", (uint64_t)k, b0);
        same &= memcmp(b->tokens, b0->tokens, 16 * 64 * sizeof *b->tokens) == 0;
    }
    js = llc_task_settings_json(t);
    js0 = llc_task_settings_json(t0);
    CHECK(same && js && js0 && cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(js, "repeat_frac")) == 0.5 &&
              !cJSON_GetObjectItemCaseSensitive(js0, "repeat_frac"),
          "text repeat_frac 0: the data of the default, and to_json leaves the key out (stored configs unchanged)");
    expect_reject("text", "{\"repeat_frac\": 1.5}", LLC_ERR_INVALID, "'repeat_frac'");
cleanup:
    cJSON_Delete(js);
    cJSON_Delete(js0);
    llc_batch_free(b);
    llc_batch_free(b0);
    llc_task_free(t);
    llc_task_free(t0);
    llc_task_free(tn);
}

/* bpe_merges: the windows are byte-pair tokens of the corpus. The merges
 * are learned here again from the train runs of both sources (blocks of
 * 16384 bytes, every tenth held out) and decode each window into bytes
 * that lie in the right split; the chance loss is the unigram entropy of
 * the train mix's tokens; 0 is exactly the byte task. */
static void test_text_bpe(const unsigned char *prose, size_t plen, const unsigned char *code, size_t clen)
{
    char err[LLC_ERRLEN] = "";
    llc_task *t = NULL, *t0 = NULL, *tn = NULL, *tr = NULL;
    llc_batch *b = NULL, *b0 = NULL;
    llc_bpe *bpe = NULL;
    llc_bpe_text run[256];
    int is_train[256], n_run = 0, src_of[256];
    int *tok = NULL;
    cJSON *js = NULL, *js0 = NULL;
    const unsigned char *txt[2] = {prose, code};
    const size_t len[2] = {plen, clen}, blk = 16384;
    for (int s = 0; s < 2; s++) {
        const size_t nb = (len[s] + blk - 1) / blk;
        for (size_t i = 0; i < nb && n_run < 256;) {
            const int test = floor((double)(i + 1) * 0.1) > floor((double)i * 0.1);
            size_t j = i;
            while (j < nb && (floor((double)(j + 1) * 0.1) > floor((double)j * 0.1)) == test) j++;
            const size_t e = j * blk < len[s] ? j * blk : len[s];
            run[n_run] = (llc_bpe_text){txt[s] + i * blk, e - i * blk};
            is_train[n_run] = !test;
            src_of[n_run++] = s;
            i = j;
        }
    }
    llc_bpe_text train[256];
    int n_train = 0;
    for (int k = 0; k < n_run; k++)
        if (is_train[k]) train[n_train++] = run[k];
    if (llc_bpe_learn(train, n_train, 300, &bpe, err) != LLC_OK ||
        mk("text", "{\"ctx\": 32, \"bpe_merges\": 300}", g_seed, &t, err) != LLC_OK ||
        mk("text", "{\"ctx\": 64, \"bpe_merges\": 0}", g_seed, &t0, err) != LLC_OK ||
        mk("text", "{\"ctx\": 64}", g_seed, &tn, err) != LLC_OK ||
        mk("text", "{\"ctx\": 32, \"bpe_merges\": 300, \"repeat_frac\": 1}", g_seed, &tr, err) != LLC_OK ||
        !(tok = malloc((plen > clen ? plen : clen) * sizeof *tok))) {
        CHECK(0, "text bpe: built (%s)", err);
        goto cleanup;
    }
    CHECK(t->shape.T == 32 && t->shape.vocab == 556 && t->shape.n_out == 556,
          "text bpe_merges 300: T = ctx, vocab = n_out = 256 + 300");
    /* chance: the train mix's token unigram entropy, 0.5 prose + 0.5 code */
    {
        double cnt[2][556] = {{0}}, n[2] = {0, 0}, h = 0;
        for (int k = 0; k < n_run; k++) {
            size_t m;
            if (!is_train[k]) continue;
            llc_bpe_encode(bpe, run[k].s, run[k].n, tok, &m);
            for (size_t i = 0; i < m; i++) cnt[src_of[k]][tok[i]]++;
            n[src_of[k]] += (double)m;
        }
        int used_ok = 1;
        for (int c = 0; c < 556; c++) {
            const double p = 0.5 * cnt[0][c] / n[0] + 0.5 * cnt[1][c] / n[1];
            if (p > 0) h -= p * log(p);
            used_ok &= (p > 0) == (t->token_used[c] != 0);
        }
        CHECK_CLOSE(t->shape.chance_loss, h, 1e-9, 0, "text bpe chance = the train mix's token unigram entropy");
        CHECK(used_ok, "text bpe: token_used = the tokens of the train mix");
    }
    b = llc_task_batch_alloc(t, 16);
    b0 = llc_task_batch_alloc(t0, 16);
    if (!b || !b0) goto cleanup;
    const char *dn[] = {"prose", "code", "prose_test", "code_test", "train", "test"};
    for (int d = 0; d < 6; d++) {
        int from_right = 1, consistent = 1, n_long = 0, n_merged = 0;
        for (int k = 0; k < 4; k++) {
            fill(t, dn[d], (uint64_t)k, b);
            for (int j = 0; j < 16; j++) {
                int w[1024], win[33];
                unsigned char by[1024];
                const int *tk = b->tokens + j * 32, *tg = b->targets + j * 32;
                for (int i = 0; i < 32; i++) {
                    win[i] = tk[i];
                    consistent &= tk[i] >= 0 && tk[i] < 556 && b->mask[j * 32 + i] == 1.0f;
                    if (i + 1 < 32) consistent &= tg[i] == tk[i + 1];
                    if (d >= 4) consistent &= t->token_used[tk[i]] != 0;
                    n_merged += tk[i] >= 256;
                }
                win[32] = tg[31];
                size_t m = llc_bpe_decode(bpe, win, 33, by, sizeof by);
                if (m > sizeof by) {
                    n_long++;
                    continue;
                }
                for (size_t i = 0; i < m; i++) w[i] = by[i];
                const int test = d == 2 || d == 3 || d == 5;
                const int in_p = occurs_in_split(prose, plen, w, m, test, blk, 0.1);
                const int in_c = occurs_in_split(code, clen, w, m, test, blk, 0.1);
                from_right &= d == 0 || d == 2 ? in_p : d == 1 || d == 3 ? in_c : in_p || in_c;
            }
        }
        CHECK(consistent && n_merged > 500, "text bpe %s: tokens in [0, 556), %d of 2048 merged, targets shifted, "
              "mask 1", dn[d], n_merged);
        CHECK(from_right && n_long < 4, "text bpe %s: every window decodes to bytes of the %s split (%d too long)",
              dn[d], (d == 2 || d == 3 || d == 5) ? "test" : "train", n_long);
    }
    /* repeat windows draw their blocks from the used tokens */
    {
        llc_batch *br = llc_task_batch_alloc(tr, 16);
        int ok = br && fill(tr, "train", 0, br) == LLC_OK, big = 0;
        for (int i = 0; ok && i < 16 * 32; i++) {
            ok &= tr->token_used[br->tokens[i]] != 0;
            big += br->tokens[i] >= 256;
        }
        CHECK(ok && big > 100, "text bpe repeat_frac 1: blocks of used tokens (%d of 512 merged)", big);
        llc_batch_free(br);
    }
    /* 0: the byte task to the bit, and to_json leaves the key out */
    int same = t0->shape.vocab == 256 && t0->shape.n_out == 256 && t0->shape.chance_loss == tn->shape.chance_loss;
    llc_batch *bn = llc_task_batch_alloc(tn, 16);
    for (int d = 0; d < 6 && bn; d++)
        for (int k = 0; k < 3; k++) {
            t0->fill(t0, d, (uint64_t)k, b0);
            tn->fill(tn, d, (uint64_t)k, bn);
            same &= batch_equal(b0, bn);
        }
    llc_batch_free(bn);
    js = llc_task_settings_json(t);
    js0 = llc_task_settings_json(t0);
    CHECK(same && js && js0 && cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(js, "bpe_merges")) == 300 &&
              !cJSON_GetObjectItemCaseSensitive(js0, "bpe_merges"),
          "text bpe_merges 0: the byte task's batches and chance, and to_json leaves the key out");
    expect_reject("text", "{\"bpe_merges\": -1}", LLC_ERR_INVALID, "'bpe_merges' must be an integer in [0, 3840]");
    expect_reject("text", "{\"bpe_merges\": 3841}", LLC_ERR_INVALID, "'bpe_merges' must be an integer in [0, 3840]");
    expect_reject("text", "{\"bpe_merges\": 2.5}", LLC_ERR_INVALID, "'bpe_merges' must be an integer in [0, 3840]");
    expect_reject("text", "{\"bpe_merges\": \"256\"}", LLC_ERR_INVALID, "'bpe_merges'");
cleanup:
    cJSON_Delete(js);
    cJSON_Delete(js0);
    free(tok);
    llc_bpe_free(bpe);
    llc_batch_free(b);
    llc_batch_free(b0);
    llc_task_free(t);
    llc_task_free(t0);
    llc_task_free(tn);
    llc_task_free(tr);
}

static void test_text(void)
{
    char err[LLC_ERRLEN] = "", dir[1024];
    llc_task *t = NULL;
    size_t plen = 0, clen = 0;
    unsigned char *prose = NULL, *code = NULL;
#ifdef LLC_DATA_DIR
    const char *bases[] = {"data/corpus", LLC_DATA_DIR "/corpus"};
#else
    const char *bases[] = {"data/corpus", "data/corpus"};
#endif
    for (int i = 0; i < 2 && !prose; i++) {
        free(code);
        snprintf(dir, sizeof dir, "%s/prose.txt", bases[i]);
        prose = tu_read_file(dir, &plen);
        snprintf(dir, sizeof dir, "%s/code.txt", bases[i]);
        code = tu_read_file(dir, &clen);
    }
    CHECK(prose && code && plen > 500000 && clen > 500000, "text: corpus files present (%zu + %zu bytes)", plen,
          clen);
    if (!prose || !code) goto cleanup;
    generic_checks("text", NULL);
    generic_checks("text", "{\"ctx\": 32, \"code_frac\": 0.2, \"test_frac\": 0.2, \"split_block\": 4096}");
    generic_checks("text", "{\"ctx\": 32, \"repeat_frac\": 0.5}");
    generic_checks("text", "{\"ctx\": 32, \"bpe_merges\": 300}");
    test_text_repeat();
    test_text_bpe(prose, plen, code, clen);
    if (mk("text", "{\"ctx\": 64}", g_seed, &t, err) != LLC_OK) {
        CHECK(0, "text built: %s", err);
        goto cleanup;
    }
    CHECK(t->shape.T == 64 && t->shape.vocab == 256 && t->shape.n_out == 256 && t->n_dists == 6,
          "text: T = ctx, vocab 256, 6 dists");
    {   /* token_used: the bytes of the train mix; every train input among them, 255 not */
        int used[256], all = 1;
        const int n = llc_task_tokens(t, used);
        llc_batch *b = llc_task_batch_alloc(t, 16);
        for (int k = 0; k < 8 && b; k++) {
            fill(t, "train", (uint64_t)k, b);
            for (int i = 0; i < 16 * 64; i++) all &= t->token_used[b->tokens[i]] != 0;
        }
        CHECK(b && all && n > 90 && n < 256 && !t->token_used[255] && used[n - 1] < 255,
              "text: %d bytes used, every train input among them, byte 255 not", n);
        llc_batch_free(b);
    }
    const char *dn[] = {"prose", "code", "prose_test", "code_test", "train", "test"};
    for (int d = 0; d < 6; d++) {
        llc_batch *b = llc_task_batch_alloc(t, 16);
        int from_right = 1, consistent = 1, n_prose = 0;
        for (int k = 0; k < 8 && b; k++) {
            fill(t, dn[d], (uint64_t)k, b);
            for (int j = 0; j < 16; j++) {
                int w[65];
                const int *tok = b->tokens + j * 64, *tg = b->targets + j * 64;
                for (int i = 0; i < 64; i++) {
                    w[i] = tok[i];
                    consistent &= tok[i] >= 0 && tok[i] < 256 && b->mask[j * 64 + i] == 1.0f;
                    if (i + 1 < 64) consistent &= tg[i] == tok[i + 1];
                }
                w[64] = tg[63];
                int test = d == 2 || d == 3 || d == 5;
                int in_p = occurs_in_split(prose, plen, w, 65, test, 16384, 0.1);
                int in_c = occurs_in_split(code, clen, w, 65, test, 16384, 0.1);
                if (d == 0 || d == 2) from_right &= in_p;
                else if (d == 1 || d == 3) from_right &= in_c;
                else from_right &= in_p || in_c;
                n_prose += in_p;
            }
        }
        CHECK(consistent, "text %s: bytes in [0, 256), targets = inputs shifted by one, mask 1", dn[d]);
        CHECK(from_right && (d < 4 || (n_prose > 20 && n_prose < 108)),
              "text %s: every window lies in the %s split of %s (%d of 128 from prose)", dn[d],
              (d == 2 || d == 3 || d == 5) ? "test" : "train", d == 0 || d == 2 ? "prose" : d < 4 ? "code" : "both",
              n_prose);
        llc_batch_free(b);
    }
    /* chance: unigram entropy of the train mix, recomputed here */
    {
        double pp[256] = {0}, pc[256] = {0}, np = 0, nc = 0, h = 0;
        for (size_t i = 0; i < plen; i++)
            if (!(floor((double)(i / 16384 + 1) * 0.1) > floor((double)(i / 16384) * 0.1))) pp[prose[i]]++, np++;
        for (size_t i = 0; i < clen; i++)
            if (!(floor((double)(i / 16384 + 1) * 0.1) > floor((double)(i / 16384) * 0.1))) pc[code[i]]++, nc++;
        for (int c = 0; c < 256; c++) {
            double p = 0.5 * pp[c] / np + 0.5 * pc[c] / nc;
            if (p > 0) h -= p * log(p);
        }
        CHECK_CLOSE(t->shape.chance_loss, h, 1e-9, 0, "text chance = unigram entropy of the train mix");
    }
    cJSON *js = llc_task_settings_json(t);
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(js, "corpus_hash");
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(js, "corpus_dir");
    CHECK(cJSON_IsString(hash) && strlen(hash->valuestring) == 16 && cJSON_IsString(cd) &&
              strcmp(cd->valuestring, "data/corpus") == 0,
          "text to_json: corpus_hash of 16 hex digits, corpus_dir as given");
    cJSON_Delete(js);
    llc_task_free(t);
    t = NULL;

    /* the default corpus_dir is found from another working directory */
    char cwd[1024];
    if (getcwd(cwd, sizeof cwd) && chdir("/") == 0) {
        /* a test binary lives in build/tests/, not next to data/: point $LLC_DATA at it */
        int had = getenv("LLC_DATA") != NULL;
#ifdef LLC_DATA_DIR
        if (!had) setenv("LLC_DATA", LLC_DATA_DIR, 1);
#endif
        int rc = mk("text", NULL, g_seed, &t, err);
        if (!had) unsetenv("LLC_DATA");
        CHECK(rc == LLC_OK, "text: corpus found from / via LLC_DATA (%s)", err);
        llc_task_free(t);
        t = NULL;
        expect_reject("text", "{\"corpus_dir\": \"/nonexistent/corpus\"}", LLC_ERR_IO, "no corpus");
        /* $LLC_DATA comes before the compiled-in directory: a tiny corpus of 'p' and 'c' bytes */
        char tmp[] = "/tmp/llc_test_tasks_XXXXXX", sub[64], f[96];
        if (mkdtemp(tmp)) {
            snprintf(sub, sizeof sub, "%s/corpus", tmp);
            int made = mkdir(sub, 0700) == 0;
            for (int k = 0; k < 2 && made; k++) {
                snprintf(f, sizeof f, "%s/%s", sub, k ? "code.txt" : "prose.txt");
                FILE *fp = fopen(f, "wb");
                for (int i = 0; fp && i < 5000; i++) fputc(k ? 'c' : 'p', fp);
                made = fp && fclose(fp) == 0;
            }
            setenv("LLC_DATA", tmp, 1);
            int rc2 = mk("text", "{\"ctx\": 16, \"split_block\": 256}", g_seed, &t, err);
            llc_batch *b = rc2 ? NULL : llc_task_batch_alloc(t, 8);
            int tiny = b && fill(t, "prose", 0, b) == LLC_OK && b->tokens[0] == 'p' && fill(t, "code", 0, b) == LLC_OK &&
                       b->tokens[0] == 'c';
            int used[256], n_used = rc2 ? 0 : llc_task_tokens(t, used);
            CHECK(n_used == 2 && used[0] == 'c' && used[1] == 'p', "text: the tiny corpus uses 2 bytes, 'c' and 'p' (%d)",
                  n_used);
            CHECK(made && tiny, "text: the corpus under $LLC_DATA/corpus is used when cwd has none (%s)", err);
            llc_batch_free(b);
            llc_task_free(t);
            t = NULL;
            unsetenv("LLC_DATA");
            for (int k = 0; k < 2; k++) {
                snprintf(f, sizeof f, "%s/%s", sub, k ? "code.txt" : "prose.txt");
                remove(f);
            }
            rmdir(sub);
            rmdir(tmp);
        }
        CHECK(chdir(cwd) == 0, "back to %s", cwd);
    }
    expect_reject("text", "{\"context\": 128}", LLC_ERR_INVALID, "unknown key 'context'");
    expect_reject("text", "{\"ctx\": 0}", LLC_ERR_INVALID, "'ctx' must be an integer in [1, 65536]");
    expect_reject("text", "{\"code_frac\": 1.5}", LLC_ERR_INVALID, "'code_frac'");
    expect_reject("text", "{\"test_frac\": 0.9}", LLC_ERR_INVALID, "'test_frac'");
    expect_reject("text", "{\"corpus_hash\": \"0123456789abcdef\"}", LLC_ERR_INVALID, "'corpus_hash'");
    expect_reject("text", "{\"ctx\": 20000}", LLC_ERR_INVALID, "lower 'ctx'");
    expect_reject("text", "{\"corpus_dir\": 5}", LLC_ERR_INVALID, "'corpus_dir'");
cleanup:
    free(prose);
    free(code);
}

/* A stored config text rebuilt: a good one builds, bad text and an unknown
 * task give LLC_ERR_SCHEMA naming the run, with everything NULL. */
static void test_run_build_stored(void)
{
    char err[LLC_ERRLEN] = "";
    cJSON *c = NULL;
    llc_task *t = NULL;
    llc_model *m = NULL;
    int rc = llc_run_build_stored("r1", "{\"task\":\"sort\",\"seed\":3,\"model\":{\"n_layers\":1}}", &c, &t, &m, err);
    CHECK(rc == LLC_OK && c && t && m && !strcmp(t->name, "sort"), "stored sort config builds (rc %d: %s)", rc, err);
    llc_model_free(m);
    llc_task_free(t);
    cJSON_Delete(c);
    const char *bad[] = {"{\"task\":", "{\"task\":\"nosuch\"}", NULL};
    for (int i = 0; i < 3; i++) {
        c = (cJSON *)1, t = (llc_task *)1, m = (llc_model *)1;
        err[0] = 0;
        rc = llc_run_build_stored(i < 2 ? "r2" : NULL, bad[i], &c, &t, &m, err);
        CHECK(rc == LLC_ERR_SCHEMA && !c && !t && !m, "bad stored config %d: LLC_ERR_SCHEMA, all NULL (rc %d)", i, rc);
        CHECK(strstr(err, i < 2 ? "run 'r2' has a config this llc cannot rebuild: " : "a run config this llc cannot"),
              "bad stored config %d names the run and why: %s", i, err);
    }
}

int main(void)
{
    const char *s = getenv("TEST_SEED");
    if (s) g_seed = strtoull(s, NULL, 10);
    printf("test_tasks: seed %llu (TEST_SEED=%llu replays)\n", (unsigned long long)g_seed,
           (unsigned long long)g_seed);
    test_registry();
    test_sort();
    test_modadd();
    test_icl();
    test_text();
    test_run_build_stored();
    return tu_finish("test_tasks");
}
