/* bpe.h - private: byte-pair tokens for the text task (tasks/text.c).
 *
 * Token ids: 0..255 are the bytes, 256 + i the i-th merge (the pair of
 * tokens merge[i] joined). Text is first cut into words, and a token never
 * crosses a word's end. At each position the first of these that matches
 * is the word (whitespace = space, \t, \n, \v, \f, \r; letters = A-Z a-z _):
 *     " ?[letters]+"   " ?[0-9]+"   " ?[^letters 0-9 whitespace]+"   "[whitespace]+"
 * so one space joins the word after it and longer whitespace is a word of
 * its own (the GPT-2 pre-split without its contractions and look-ahead).
 *
 * Learning (llc_bpe_learn): counts over word occurrences of the given texts
 * (each occurrence weighs 1, so texts of equal size weigh alike), merges
 * learned over word types. Each step merges the most frequent adjacent pair;
 * ties go to the smallest left id, then the smallest right id. Deterministic.
 *
 * Encoding (llc_bpe_encode): each word is split into bytes, then the
 * adjacent pair of the lowest merge index is merged everywhere in the word
 * (left to right), until no learned pair is left: the same tokens as
 * replaying the merges in order, as learning did on its own words.
 */
#ifndef LLC_BPE_H
#define LLC_BPE_H

#include "llc_common.h"

#include <stddef.h>

typedef struct llc_bpe llc_bpe;

typedef struct {
    const unsigned char *s;
    size_t n;
} llc_bpe_text;

/* Length of the word starting at s[0] (n > 0), by the rule above. */
size_t llc_bpe_word(const unsigned char *s, size_t n);
/* Learn n_merges merges from the words of texts[0..n_texts-1]. Fewer pairs
 * than asked: LLC_ERR_INVALID. */
int llc_bpe_learn(const llc_bpe_text *texts, int n_texts, int n_merges, llc_bpe **out, char *err);
void llc_bpe_free(llc_bpe *b);
int llc_bpe_n_merges(const llc_bpe *b);
/* The pair merge i joins (0 <= i < n_merges). */
void llc_bpe_merge(const llc_bpe *b, int i, int *left, int *right);
/* The bytes of token t (0 <= t < 256 + n_merges); *len their number. */
const unsigned char *llc_bpe_bytes(const llc_bpe *b, int t, size_t *len);
/* Tokens of s[0..n-1] into out (room for n); *n_tok how many. b NULL: the
 * bytes themselves. */
void llc_bpe_encode(const llc_bpe *b, const unsigned char *s, size_t n, int *out, size_t *n_tok);
/* Bytes of tok[0..n-1] into out (room for cap); returns how many bytes the
 * tokens hold (more than cap: out holds the first cap). */
size_t llc_bpe_decode(const llc_bpe *b, const int *tok, size_t n, unsigned char *out, size_t cap);

#endif
