/* test_bpe.c - the text task's byte-pair tokens (tasks/bpe.h): the word
 * rule, merges computed by hand on tiny texts (ties included), encoding
 * against a replay of the merges in order, decode(encode(x)) == x over the
 * corpus's split runs, and determinism. */
#include "bpe.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static llc_bpe *learn1(const char *s, int n_merges, int *rc, char *err)
{
    llc_bpe *b = NULL;
    llc_bpe_text t = {(const unsigned char *)s, strlen(s)};
    *rc = llc_bpe_learn(&t, 1, n_merges, &b, err);
    return b;
}

/* merges of b equal want[0..2n-1] (left, right pairs) */
static int merges_are(const llc_bpe *b, const int *want, int n)
{
    if (!b || llc_bpe_n_merges(b) != n) return 0;
    for (int i = 0; i < n; i++) {
        int l, r;
        llc_bpe_merge(b, i, &l, &r);
        if (l != want[2 * i] || r != want[2 * i + 1]) return 0;
    }
    return 1;
}

static void test_words(void)
{
    const char *s = "  foo bar\n\tx=1 +2 __init__(self) \xc3\xa9t\xc3\xa9";
    const char *want[] = {"  ", "foo", " bar", "\n\t", "x", "=", "1", " +", "2", " __init__", "(", "self", ")",
                          " \xc3\xa9", "t", "\xc3\xa9"};
    const size_t n = strlen(s);
    size_t i = 0;
    int k = 0, ok = 1;
    while (i < n && k < 16) {
        size_t m = llc_bpe_word((const unsigned char *)s + i, n - i);
        ok &= m == strlen(want[k]) && memcmp(s + i, want[k], m) == 0;
        i += m;
        k++;
    }
    CHECK(ok && k == 16 && i == n,
          "words: a space joins the word after it, longer whitespace is its own word, classes letter/digit/other");
}

static void test_by_hand(void)
{
    char err[LLC_ERRLEN] = "";
    int rc;
    /* "aab aab ab": words aab, " aab", " ab". Pairs: (a,b) 3, (a,a) 2, (' ',a) 2
     * -> 256 = a+b. Then (a,256) 2, (' ',a) 1, (' ',256) 1 -> 257 = a+256.
     * Then (' ',256) 1 and (' ',257) 1 tie: the smaller right id wins. */
    const int want1[] = {'a', 'b', 'a', 256, ' ', 256, ' ', 257};
    llc_bpe *b = learn1("aab aab ab", 4, &rc, err);
    CHECK(rc == LLC_OK && merges_are(b, want1, 4), "by hand: aab aab ab -> ab, aab, ' ab', ' aab' (rc %d %s)", rc,
          err);
    if (b) {
        size_t len;
        const unsigned char *p = llc_bpe_bytes(b, 259, &len);
        CHECK(len == 4 && memcmp(p, " aab", 4) == 0, "by hand: token 259 is the bytes ' aab'");
        int tok[16];
        size_t n;
        const char *x = "aab ab abb";
        llc_bpe_encode(b, (const unsigned char *)x, strlen(x), tok, &n);
        /* words aab, " ab", " abb"; " abb" = ' ' a b b -> ' ' 256 b -> 258 b */
        CHECK(n == 4 && tok[0] == 257 && tok[1] == 258 && tok[2] == 258 && tok[3] == 'b',
              "by hand: 'aab ab abb' encodes to 257 258 258 98 (%zu tokens)", n);
    }
    llc_bpe_free(b);
    /* "xy zy": pairs (x,y), (' ',z), (z,y) all 1: the smallest left id wins,
     * ' ' (32) -> 256 = ' z'; then (x,y) and (256,y) tie: x (120) < 256. */
    const int want2[] = {' ', 'z', 'x', 'y', 256, 'y'};
    b = learn1("xy zy", 3, &rc, err);
    CHECK(rc == LLC_OK && merges_are(b, want2, 3), "by hand: xy zy -> ' z', xy, ' zy' (ties: smaller left id)");
    llc_bpe_free(b);
    b = learn1("xy zy", 4, &rc, err);
    CHECK(rc == LLC_ERR_INVALID && !b && strstr(err, "only 3"), "by hand: a 4th merge of xy zy is refused: %s", err);
    llc_bpe_free(b);
    /* words never merge across their ends: "a a" is "a", " a": one pair */
    b = learn1("a a", 1, &rc, err);
    CHECK(rc == LLC_OK && merges_are(b, (const int[]){' ', 'a'}, 1), "by hand: 'a a' has one pair, ' a'");
    llc_bpe_free(b);
}

/* Tokens of one word by replaying the merges in order (what learning did). */
static size_t replay(const llc_bpe *b, const unsigned char *s, size_t n, int *w)
{
    for (size_t j = 0; j < n; j++) w[j] = s[j];
    for (int i = 0; i < llc_bpe_n_merges(b); i++) {
        int l, r;
        size_t q = 0;
        llc_bpe_merge(b, i, &l, &r);
        for (size_t j = 0; j < n; j++) {
            if (j + 1 < n && w[j] == l && w[j + 1] == r) {
                w[q++] = 256 + i;
                j++;
            } else w[q++] = w[j];
        }
        n = q;
    }
    return n;
}

static int is_test_block(size_t i) { return floor((double)(i + 1) * 0.1) > floor((double)i * 0.1); }

static void test_corpus(void)
{
    char err[LLC_ERRLEN] = "", path[1024];
    unsigned char *txt[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    llc_bpe *b = NULL, *b2 = NULL;
    llc_bpe_text *piece = NULL;
    int *tok = NULL, *tok2 = NULL;
    unsigned char *back = NULL;
    const char *names[] = {"prose.txt", "code.txt"};
#ifdef LLC_DATA_DIR
    const char *base = LLC_DATA_DIR "/corpus";
#else
    const char *base = "data/corpus";
#endif
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s", base, names[s]);
        txt[s] = tu_read_file(path, &len[s]);
    }
    CHECK(txt[0] && txt[1], "corpus read from %s", base);
    if (!txt[0] || !txt[1]) goto cleanup;
    /* the text task's runs: blocks of 16384 bytes, every tenth held out */
    const size_t blk = 16384;
    int n_piece = 0, n_train = 0;
    const size_t cap = (len[0] + len[1]) / blk + 4;
    piece = malloc(cap * sizeof *piece);
    llc_bpe_text *train = malloc(cap * sizeof *train);
    if (!piece || !train) {
        free(train);
        goto cleanup;
    }
    for (int s = 0; s < 2; s++) {
        const size_t nb = (len[s] + blk - 1) / blk;
        for (size_t i = 0; i < nb;) {
            size_t j = i;
            while (j < nb && is_test_block(j) == is_test_block(i)) j++;
            size_t e = j * blk < len[s] ? j * blk : len[s];
            piece[n_piece++] = (llc_bpe_text){txt[s] + i * blk, e - i * blk};
            if (!is_test_block(i)) train[n_train++] = piece[n_piece - 1];
            i = j;
        }
    }
    int rc = llc_bpe_learn(train, n_train, 512, &b, err);
    int rc2 = llc_bpe_learn(train, n_train, 512, &b2, err);
    free(train);
    CHECK(rc == LLC_OK && rc2 == LLC_OK && n_train > 2 && n_train < n_piece, "corpus: 512 merges from %d train runs",
          n_train);
    if (rc || rc2) goto cleanup;
    int same = 1;
    for (int i = 0; i < 512; i++) {
        int l, r, l2, r2;
        llc_bpe_merge(b, i, &l, &r);
        llc_bpe_merge(b2, i, &l2, &r2);
        same &= l == l2 && r == r2 && l < 256 + i && r < 256 + i;
    }
    size_t maxn = len[0] > len[1] ? len[0] : len[1];
    tok = malloc(maxn * sizeof *tok);
    tok2 = malloc(maxn * sizeof *tok2);
    back = malloc(maxn);
    if (!tok || !tok2 || !back) goto cleanup;
    int round = 1;
    size_t n_bytes = 0, n_tok = 0;
    for (int k = 0; k < n_piece; k++) {
        size_t n, n2;
        llc_bpe_encode(b, piece[k].s, piece[k].n, tok, &n);
        llc_bpe_encode(b2, piece[k].s, piece[k].n, tok2, &n2);
        same &= n == n2 && memcmp(tok, tok2, n * sizeof *tok) == 0;
        size_t m = llc_bpe_decode(b, tok, n, back, maxn);
        round &= m == piece[k].n && memcmp(back, piece[k].s, m) == 0;
        for (size_t i = 0; i < n; i++) round &= tok[i] >= 0 && tok[i] < 256 + 512;
        n_bytes += piece[k].n;
        n_tok += n;
    }
    CHECK(round, "corpus: decode(encode(run)) == run over all %d split runs (%.2f bytes a token)", n_piece,
          (double)n_bytes / (double)n_tok);
    CHECK(same, "corpus: two constructions give identical merges and token streams");
    CHECK(n_bytes == len[0] + len[1] && (double)n_bytes / (double)n_tok > 2.0,
          "corpus: 512 merges make tokens of more than 2 bytes on average (%.2f)", (double)n_bytes / (double)n_tok);
    /* encoding = replaying the merges in order, word by word (first 20 kB of code) */
    int agree = 1, n_words = 0;
    for (size_t i = 0; i < 20000 && i < len[1];) {
        size_t m = llc_bpe_word(txt[1] + i, len[1] - i), n;
        llc_bpe_encode(b, txt[1] + i, m, tok, &n);
        size_t n2 = replay(b, txt[1] + i, m, tok2);
        agree &= n == n2 && memcmp(tok, tok2, n * sizeof *tok) == 0;
        i += m;
        n_words++;
    }
    CHECK(agree, "corpus: encoding by lowest merge index = replaying the merges in order (%d words)", n_words);
    /* NULL: bytes */
    size_t nb;
    llc_bpe_encode(NULL, txt[0], 1000, tok, &nb);
    int bytes = nb == 1000;
    for (size_t i = 0; i < nb && bytes; i++) bytes = tok[i] == txt[0][i];
    CHECK(bytes, "no merges: the tokens are the bytes");
cleanup:
    llc_bpe_free(b);
    llc_bpe_free(b2);
    free(piece);
    free(tok);
    free(tok2);
    free(back);
    free(txt[0]);
    free(txt[1]);
}

int main(void)
{
    test_words();
    test_by_hand();
    test_corpus();
    return tu_finish("test_bpe");
}
