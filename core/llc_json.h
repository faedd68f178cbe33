/* llc_json.h - strict, typed reading of JSON settings objects (cJSON).
 *
 * Every config section (task settings, model, train, sgld) is read with these
 * helpers so that unknown keys and out-of-range or mistyped values are
 * rejected with one line naming the key, what was given and what is allowed:
 *   "task.sort: key 'list_len' must be an integer in [2, 64], got 100"
 * `ctx` names the section ("task.sort", "model", "train"). A missing key (or
 * obj == NULL) yields the default. All return LLC_OK or LLC_ERR_INVALID.
 */
#ifndef LLC_JSON_H
#define LLC_JSON_H

#include "llc_common.h"
#include <cjson/cJSON.h>

/* Reject keys of obj not in `allowed` (NULL-terminated). */
int llc_json_check_keys(const cJSON *obj, const char *const *allowed, const char *ctx, char *err);
int llc_json_int(const cJSON *obj, const char *key, long long def, long long lo, long long hi,
                 long long *out, const char *ctx, char *err);
int llc_json_num(const cJSON *obj, const char *key, double def, double lo, double hi,
                 double *out, const char *ctx, char *err);
int llc_json_bool(const cJSON *obj, const char *key, int def, int *out, const char *ctx, char *err);
/* A string that must be one of `choices` (NULL-terminated); *out = its index. */
int llc_json_choice(const cJSON *obj, const char *key, const char *def,
                    const char *const *choices, int *out, const char *ctx, char *err);
/* A free string (copied into out, at most outlen-1 bytes; longer is an error). */
int llc_json_str(const cJSON *obj, const char *key, const char *def, char *out, size_t outlen,
                 const char *ctx, char *err);
/* An array of integers each in [lo, hi]; at most max elements. A single
 * number is accepted as a one-element list. Missing: *n = 0. */
int llc_json_int_list(const cJSON *obj, const char *key, long long lo, long long hi,
                      long long *out, int max, int *n, const char *ctx, char *err);

/* Parsing JSON text: llc_json_init (once, at program start) routes cJSON's
 * allocations so that llc_json_parse tells out of memory (LLC_ERR_NOMEM) from
 * invalid JSON (LLC_ERR_INVALID: line and column, or nesting deeper than
 * cJSON's limit); name (may be NULL) is the file in the message. */
void llc_json_init(void);
int llc_json_parse(const char *text, const char *name, cJSON **out, char *err);

#endif
