/* bpe.c - byte-pair tokens for the text task: the word rule, learning the
 * merges over word types, encoding and decoding (see bpe.h).
 *
 * Learning keeps, for every adjacent token pair, its count over the word
 * types (weighted by their occurrences) and the list of words it occurs in;
 * a merge rewrites only the words of its pair's list, moving their pair
 * counts. The most frequent pair comes from a max-heap whose stale entries
 * (a count that has changed since) are skipped when popped. */
#include "bpe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a (left, right) -> int map, open addressing, keys never removed ---- */

typedef struct {
    uint64_t *key; /* (cap) (left+1) << 32 | (right+1); 0 = empty */
    int *val;
    size_t cap, n;
} bpe_map;

static uint64_t bpe_key(int l, int r) { return (uint64_t)(l + 1) << 32 | (uint64_t)(r + 1); }

static size_t bpe_slot(const bpe_map *m, uint64_t k)
{
    uint64_t h = k * 0x9e3779b97f4a7c15ULL; /* the splitmix64 finisher: every key bit reaches the low bits */
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    size_t i = (size_t)(h ^ (h >> 31)) & (m->cap - 1);
    while (m->key[i] && m->key[i] != k) i = (i + 1) & (m->cap - 1);
    return i;
}

/* The value of (l, r), or -1. */
static int bpe_map_get(const bpe_map *m, int l, int r)
{
    if (!m->cap) return -1;
    size_t i = bpe_slot(m, bpe_key(l, r));
    return m->key[i] ? m->val[i] : -1;
}

static int bpe_map_grow(bpe_map *m)
{
    bpe_map g = {0};
    g.cap = m->cap ? 2 * m->cap : 1024;
    g.key = calloc(g.cap, sizeof *g.key);
    g.val = malloc(g.cap * sizeof *g.val);
    if (!g.key || !g.val) {
        free(g.key);
        free(g.val);
        return LLC_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i]) {
            size_t j = bpe_slot(&g, m->key[i]);
            g.key[j] = m->key[i];
            g.val[j] = m->val[i];
        }
    g.n = m->n;
    free(m->key);
    free(m->val);
    *m = g;
    return LLC_OK;
}

/* Set (l, r) -> v if absent; *got the value stored. */
static int bpe_map_add(bpe_map *m, int l, int r, int v, int *got)
{
    if (2 * (m->n + 1) > m->cap && bpe_map_grow(m)) return LLC_ERR_NOMEM;
    uint64_t k = bpe_key(l, r);
    size_t i = bpe_slot(m, k);
    if (!m->key[i]) {
        m->key[i] = k;
        m->val[i] = v;
        m->n++;
    }
    *got = m->val[i];
    return LLC_OK;
}

static void bpe_map_free(bpe_map *m)
{
    free(m->key);
    free(m->val);
}

struct llc_bpe {
    int n_merges;
    int (*merge)[2];
    size_t *off, *len; /* (256 + n_merges) the bytes of each token in bytes */
    unsigned char *bytes;
    bpe_map rank;      /* (left, right) -> merge index */
};

/* ---- the word rule ---- */

enum { BPE_WS, BPE_LETTER, BPE_DIGIT, BPE_OTHER };

static int bpe_class(unsigned char c)
{
    if (c == ' ' || (c >= '\t' && c <= '\r')) return BPE_WS;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') return BPE_LETTER;
    if (c >= '0' && c <= '9') return BPE_DIGIT;
    return BPE_OTHER;
}

size_t llc_bpe_word(const unsigned char *s, size_t n)
{
    size_t i = 0;
    if (s[0] == ' ' && n > 1 && bpe_class(s[1]) != BPE_WS) i = 1;
    const int c = bpe_class(s[i]);
    while (i < n && bpe_class(s[i]) == c) i++;
    return i;
}

/* ---- learning ---- */

typedef struct {
    int64_t cnt;
    int l, r;
} bpe_entry;

/* heap order: higher count first, then smaller left, then smaller right */
static int bpe_before(const bpe_entry *a, const bpe_entry *b)
{
    if (a->cnt != b->cnt) return a->cnt > b->cnt;
    if (a->l != b->l) return a->l < b->l;
    return a->r < b->r;
}

typedef struct {
    bpe_entry *e;
    size_t n, cap;
} bpe_heap;

static int bpe_push(bpe_heap *h, bpe_entry x)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 4096;
        bpe_entry *e = realloc(h->e, cap * sizeof *e);
        if (!e) return LLC_ERR_NOMEM;
        h->e = e;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && bpe_before(&x, &h->e[(i - 1) / 2])) {
        h->e[i] = h->e[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->e[i] = x;
    return LLC_OK;
}

static bpe_entry bpe_pop(bpe_heap *h)
{
    bpe_entry top = h->e[0], x = h->e[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bpe_before(&h->e[c + 1], &h->e[c])) c++;
        if (!bpe_before(&h->e[c], &x)) break;
        h->e[i] = h->e[c];
        i = c;
    }
    if (h->n) h->e[i] = x;
    return top;
}

typedef struct {
    int *w;
    int n, cap;
} bpe_list;

typedef struct {
    /* word types: tokens tok[start[w] .. start[w] + len[w]), shrinking in place */
    int nw, capw;
    const unsigned char **src; /* (nw) the first occurrence's bytes */
    size_t *start;
    int *len;
    int64_t *cnt;
    int *stamp;
    int *tok;
    size_t ntok;
    /* pairs: map (l, r) -> id */
    bpe_map pid;
    int np, capp;
    int64_t *pcnt;
    int (*pair)[2];
    bpe_list *words;
    int *ptouch;
    int *touched;
    int n_touched;
    bpe_heap heap;
} bpe_learner;

/* Word types by their bytes: open addressing over indices into L. */
typedef struct {
    int *slot; /* (cap) word index + 1, 0 = empty */
    size_t cap;
} bpe_words;

static int bpe_grow_words(bpe_learner *L)
{
    int cap = L->capw ? 2 * L->capw : 4096;
    const unsigned char **src = realloc(L->src, (size_t)cap * sizeof *src);
    if (src) L->src = src;
    size_t *start = realloc(L->start, (size_t)cap * sizeof *start);
    if (start) L->start = start;
    int *len = realloc(L->len, (size_t)cap * sizeof *len);
    if (len) L->len = len;
    int64_t *cnt = realloc(L->cnt, (size_t)cap * sizeof *cnt);
    if (cnt) L->cnt = cnt;
    if (!src || !start || !len || !cnt) return LLC_ERR_NOMEM;
    L->capw = cap;
    return LLC_OK;
}

/* Count the word types of the texts into L (tokens = their bytes). */
static int bpe_count_words(bpe_learner *L, const llc_bpe_text *texts, int n_texts)
{
    size_t total = 0;
    for (int k = 0; k < n_texts; k++) total += texts[k].n;
    bpe_words W = {0};
    W.cap = 1024;
    while (W.cap < total) W.cap *= 2; /* at most total words: load <= 1/2 */
    W.cap *= 2;
    W.slot = calloc(W.cap, sizeof *W.slot);
    if (!W.slot) return LLC_ERR_NOMEM;
    int rc = LLC_OK;
    for (int k = 0; k < n_texts && !rc; k++) {
        const unsigned char *s = texts[k].s;
        size_t n = texts[k].n, i = 0;
        while (i < n) {
            size_t m = llc_bpe_word(s + i, n - i);
            size_t j = (size_t)llc_hash_bytes(s + i, m) & (W.cap - 1);
            while (W.slot[j]) {
                int w = W.slot[j] - 1;
                if ((size_t)L->len[w] == m && memcmp(L->src[w], s + i, m) == 0) break;
                j = (j + 1) & (W.cap - 1);
            }
            if (W.slot[j]) L->cnt[W.slot[j] - 1]++;
            else {
                if (L->nw == L->capw && (rc = bpe_grow_words(L))) break;
                int w = L->nw++;
                L->src[w] = s + i;
                L->start[w] = L->ntok;
                L->len[w] = (int)m;
                L->cnt[w] = 1;
                L->ntok += m;
                W.slot[j] = w + 1;
            }
            i += m;
        }
    }
    free(W.slot);
    if (rc) return rc;
    L->tok = malloc((L->ntok ? L->ntok : 1) * sizeof *L->tok);
    L->stamp = calloc((size_t)L->nw + 1, sizeof *L->stamp);
    if (!L->tok || !L->stamp) return LLC_ERR_NOMEM;
    for (int w = 0; w < L->nw; w++)
        for (int i = 0; i < L->len[w]; i++) L->tok[L->start[w] + (size_t)i] = L->src[w][i];
    return LLC_OK;
}

/* The id of pair (l, r), added with count 0 if new. */
static int bpe_pair(bpe_learner *L, int l, int r, int *id)
{
    int rc = bpe_map_add(&L->pid, l, r, L->np, id);
    if (rc || *id < L->np) return rc;
    if (L->np == L->capp) {
        int cap = L->capp ? 2 * L->capp : 4096;
        int64_t *pcnt = realloc(L->pcnt, (size_t)cap * sizeof *pcnt);
        if (pcnt) L->pcnt = pcnt;
        int(*pair)[2] = realloc(L->pair, (size_t)cap * sizeof *pair);
        if (pair) L->pair = pair;
        bpe_list *words = realloc(L->words, (size_t)cap * sizeof *words);
        if (words) L->words = words;
        int *ptouch = realloc(L->ptouch, (size_t)cap * sizeof *ptouch);
        if (ptouch) L->ptouch = ptouch;
        int *touched = realloc(L->touched, (size_t)cap * sizeof *touched);
        if (touched) L->touched = touched;
        if (!pcnt || !pair || !words || !ptouch || !touched) return LLC_ERR_NOMEM;
        L->capp = cap;
    }
    L->pcnt[L->np] = 0;
    L->pair[L->np][0] = l;
    L->pair[L->np][1] = r;
    memset(&L->words[L->np], 0, sizeof L->words[L->np]);
    L->ptouch[L->np] = 0;
    L->np++;
    return LLC_OK;
}

/* Word w joins pair p's list (once per run of calls for the same w). */
static int bpe_list_add(bpe_list *s, int w)
{
    if (s->n && s->w[s->n - 1] == w) return LLC_OK;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 4;
        int *a = realloc(s->w, (size_t)cap * sizeof *a);
        if (!a) return LLC_ERR_NOMEM;
        s->w = a;
        s->cap = cap;
    }
    s->w[s->n++] = w;
    return LLC_OK;
}

/* Add d * cnt[w] to the pairs of word w; stamp marks the touched ones; new
 * pairs holding token t (or every pair when t < 0) get w in their list. */
static int bpe_word_pairs(bpe_learner *L, int w, int64_t d, int t, int stamp)
{
    const int *k = L->tok + L->start[w];
    int rc = LLC_OK;
    for (int i = 0; i + 1 < L->len[w] && !rc; i++) {
        int p;
        if ((rc = bpe_pair(L, k[i], k[i + 1], &p))) break;
        L->pcnt[p] += d * L->cnt[w];
        if (t < 0 || k[i] == t || k[i + 1] == t) rc = bpe_list_add(&L->words[p], w);
        if (L->ptouch[p] != stamp) {
            L->ptouch[p] = stamp;
            L->touched[L->n_touched++] = p;
        }
    }
    return rc;
}

static void bpe_learner_free(bpe_learner *L)
{
    free(L->src);
    free(L->start);
    free(L->len);
    free(L->cnt);
    free(L->stamp);
    free(L->tok);
    bpe_map_free(&L->pid);
    for (int p = 0; p < L->np; p++) free(L->words[p].w);
    free(L->pcnt);
    free(L->pair);
    free(L->words);
    free(L->ptouch);
    free(L->touched);
    free(L->heap.e);
}

/* The token bytes and the rank map of b's merges. */
static int bpe_finish(llc_bpe *b)
{
    const int V = 256 + b->n_merges;
    size_t total = 256;
    b->off = malloc((size_t)V * sizeof *b->off);
    b->len = malloc((size_t)V * sizeof *b->len);
    if (!b->off || !b->len) return LLC_ERR_NOMEM;
    for (int t = 0; t < V; t++) {
        b->len[t] = t < 256 ? 1 : b->len[b->merge[t - 256][0]] + b->len[b->merge[t - 256][1]];
        b->off[t] = t < 256 ? (size_t)t : total;
        if (t >= 256) total += b->len[t];
    }
    b->bytes = malloc(total);
    if (!b->bytes) return LLC_ERR_NOMEM;
    for (int t = 0; t < V; t++) {
        if (t < 256) b->bytes[t] = (unsigned char)t;
        else {
            const int l = b->merge[t - 256][0], r = b->merge[t - 256][1];
            memcpy(b->bytes + b->off[t], b->bytes + b->off[l], b->len[l]);
            memcpy(b->bytes + b->off[t] + b->len[l], b->bytes + b->off[r], b->len[r]);
        }
    }
    for (int i = 0; i < b->n_merges; i++) {
        int got;
        if (bpe_map_add(&b->rank, b->merge[i][0], b->merge[i][1], i, &got)) return LLC_ERR_NOMEM;
    }
    return LLC_OK;
}

int llc_bpe_learn(const llc_bpe_text *texts, int n_texts, int n_merges, llc_bpe **out, char *err)
{
    bpe_learner L = {0};
    llc_bpe *b = calloc(1, sizeof *b);
    int rc = LLC_OK;
    *out = NULL;
    if (!b || !(b->merge = malloc((size_t)(n_merges > 0 ? n_merges : 1) * sizeof *b->merge))) {
        rc = LLC_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = bpe_count_words(&L, texts, n_texts))) goto cleanup;
    for (int w = 0; w < L.nw; w++) {
        L.n_touched = 0;
        if ((rc = bpe_word_pairs(&L, w, 1, -1, -1))) goto cleanup;
    }
    for (int p = 0; p < L.np; p++)
        if ((rc = bpe_push(&L.heap, (bpe_entry){L.pcnt[p], L.pair[p][0], L.pair[p][1]}))) goto cleanup;
    for (int k = 0; k < n_merges; k++) {
        int p = -1;
        while (L.heap.n && p < 0) {
            bpe_entry e = bpe_pop(&L.heap);
            int q = bpe_map_get(&L.pid, e.l, e.r);
            if (e.cnt > 0 && L.pcnt[q] == e.cnt) p = q;
        }
        if (p < 0) {
            rc = llc_fail(err, LLC_ERR_INVALID, "the text holds only %d distinct token pairs to merge, %d asked", k,
                          n_merges);
            goto cleanup;
        }
        const int a = L.pair[p][0], c = L.pair[p][1], t = 256 + k;
        b->merge[k][0] = a;
        b->merge[k][1] = c;
        L.n_touched = 0;
        const int n_w = L.words[p].n;
        for (int i = 0; i < n_w; i++) {
            const int w = L.words[p].w[i];
            if (L.stamp[w] == k + 1) continue;
            L.stamp[w] = k + 1;
            int *tk = L.tok + L.start[w], n = L.len[w], has = 0;
            for (int j = 0; j + 1 < n && !has; j++) has = tk[j] == a && tk[j + 1] == c;
            if (!has) continue;
            if ((rc = bpe_word_pairs(&L, w, -1, t, k + 1))) goto cleanup;
            int m = 0;
            for (int j = 0; j < n; j++) {
                if (j + 1 < n && tk[j] == a && tk[j + 1] == c) {
                    tk[m++] = t;
                    j++;
                } else tk[m++] = tk[j];
            }
            L.len[w] = m;
            if ((rc = bpe_word_pairs(&L, w, 1, t, k + 1))) goto cleanup;
        }
        for (int i = 0; i < L.n_touched; i++) {
            const int q = L.touched[i];
            if (L.pcnt[q] > 0 && (rc = bpe_push(&L.heap, (bpe_entry){L.pcnt[q], L.pair[q][0], L.pair[q][1]})))
                goto cleanup;
        }
    }
    b->n_merges = n_merges;
    if ((rc = bpe_finish(b))) goto cleanup;
    *out = b;
    b = NULL;
cleanup:
    /* every other failure is out of memory, its message not yet written */
    if (rc == LLC_ERR_NOMEM) llc_fail(err, rc, "byte-pair tokens: out of memory");
    bpe_learner_free(&L);
    llc_bpe_free(b);
    return rc;
}

void llc_bpe_free(llc_bpe *b)
{
    if (!b) return;
    free(b->merge);
    free(b->off);
    free(b->len);
    free(b->bytes);
    bpe_map_free(&b->rank);
    free(b);
}

int llc_bpe_n_merges(const llc_bpe *b) { return b ? b->n_merges : 0; }

void llc_bpe_merge(const llc_bpe *b, int i, int *left, int *right)
{
    *left = b->merge[i][0];
    *right = b->merge[i][1];
}

const unsigned char *llc_bpe_bytes(const llc_bpe *b, int t, size_t *len)
{
    *len = b->len[t];
    return b->bytes + b->off[t];
}

/* ---- encoding, decoding ---- */

void llc_bpe_encode(const llc_bpe *b, const unsigned char *s, size_t n, int *out, size_t *n_tok)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const size_t m = b ? llc_bpe_word(s + i, n - i) : n;
        int *w = out + o;
        size_t k = m;
        for (size_t j = 0; j < m; j++) w[j] = s[i + j];
        while (b && k > 1) {
            int best = -1;
            for (size_t j = 0; j + 1 < k; j++) {
                int r = bpe_map_get(&b->rank, w[j], w[j + 1]);
                if (r >= 0 && (best < 0 || r < best)) best = r;
            }
            if (best < 0) break;
            const int a = b->merge[best][0], c = b->merge[best][1];
            size_t q = 0;
            for (size_t j = 0; j < k; j++) {
                if (j + 1 < k && w[j] == a && w[j + 1] == c) {
                    w[q++] = 256 + best;
                    j++;
                } else w[q++] = w[j];
            }
            k = q;
        }
        o += k;
        i += m;
    }
    *n_tok = o;
}

size_t llc_bpe_decode(const llc_bpe *b, const int *tok, size_t n, unsigned char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 1;
        const unsigned char *p = b ? llc_bpe_bytes(b, tok[i], &len) : NULL;
        for (size_t j = 0; j < len; j++, o++)
            if (o < cap) out[o] = p ? p[j] : (unsigned char)tok[i];
    }
    return o;
}
