/* json.c - strict typed getters over cJSON objects; see llc_json.h. */
#include "llc_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void describe(const cJSON *v, char *buf, size_t n)
{
    /* cJSON reads 1e309 as inf and would print it as null */
    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble)) {
        snprintf(buf, n, "a number out of range (beyond +-1.8e308)");
        return;
    }
    char *s = cJSON_PrintUnformatted(v);
    snprintf(buf, n, "%s", s ? s : "?");
    if (strlen(buf) == n - 1 && n > 4) strcpy(buf + n - 4, "...");
    cJSON_free(s);
}

int llc_json_check_keys(const cJSON *obj, const char *const *allowed, const char *ctx, char *err)
{
    if (!obj) return LLC_OK;
    if (!cJSON_IsObject(obj)) return llc_fail(err, LLC_ERR_INVALID, "%s: must be a JSON object", ctx);
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (c->string && strcmp(c->string, *a) == 0) ok = 1;
        if (!ok) {
            char list[300] = "";
            for (const char *const *a = allowed; *a; a++) {
                if (strlen(list) + strlen(*a) + 3 >= sizeof list) { strcat(list, ", ..."); break; }
                if (a != allowed) strcat(list, ", ");
                strcat(list, *a);
            }
            return llc_fail(err, LLC_ERR_INVALID, "%s: unknown key '%s' (known: %s)", ctx,
                            c->string ? c->string : "?", list);
        }
    }
    return LLC_OK;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return obj && cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

int llc_json_int(const cJSON *obj, const char *key, long long def, long long lo, long long hi,
                 long long *out, const char *ctx, char *err)
{
    const cJSON *v = get(obj, key);
    if (!v || cJSON_IsNull(v)) { *out = def; return LLC_OK; }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)lo || d > (double)hi) {
        char got[64];
        describe(v, got, sizeof got);
        return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' must be an integer in [%lld, %lld], got %s",
                        ctx, key, lo, hi, got);
    }
    *out = (long long)d;
    return LLC_OK;
}

int llc_json_num(const cJSON *obj, const char *key, double def, double lo, double hi,
                 double *out, const char *ctx, char *err)
{
    const cJSON *v = get(obj, key);
    if (!v || cJSON_IsNull(v)) { *out = def; return LLC_OK; }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        char got[64];
        describe(v, got, sizeof got);
        return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' must be a number in [%g, %g], got %s",
                        ctx, key, lo, hi, got);
    }
    *out = v->valuedouble;
    return LLC_OK;
}

int llc_json_bool(const cJSON *obj, const char *key, int def, int *out, const char *ctx, char *err)
{
    const cJSON *v = get(obj, key);
    if (!v || cJSON_IsNull(v)) { *out = def; return LLC_OK; }
    if (cJSON_IsBool(v)) { *out = cJSON_IsTrue(v); return LLC_OK; }
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
        *out = (int)v->valuedouble;
        return LLC_OK;
    }
    char got[64];
    describe(v, got, sizeof got);
    return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' must be true or false, got %s", ctx, key, got);
}

int llc_json_choice(const cJSON *obj, const char *key, const char *def,
                    const char *const *choices, int *out, const char *ctx, char *err)
{
    const cJSON *v = get(obj, key);
    const char *s = def;
    if (v && !cJSON_IsNull(v)) s = cJSON_IsString(v) ? v->valuestring : NULL;
    for (int i = 0; s && choices[i]; i++)
        if (strcmp(s, choices[i]) == 0) { *out = i; return LLC_OK; }
    char list[300] = "", got[64];
    for (int i = 0; choices[i]; i++) {
        if (strlen(list) + strlen(choices[i]) + 3 >= sizeof list) break;
        if (i) strcat(list, ", ");
        strcat(list, choices[i]);
    }
    if (v) describe(v, got, sizeof got);
    else snprintf(got, sizeof got, "%s", def ? def : "nothing");
    return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' must be one of %s, got %s", ctx, key, list, got);
}

int llc_json_str(const cJSON *obj, const char *key, const char *def, char *out, size_t outlen,
                 const char *ctx, char *err)
{
    const cJSON *v = get(obj, key);
    const char *s = def ? def : "";
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v)) {
            char got[64];
            describe(v, got, sizeof got);
            return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' must be a string, got %s", ctx, key, got);
        }
        s = v->valuestring;
    }
    if (strlen(s) >= outlen)
        return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' is longer than %zu characters", ctx, key, outlen - 1);
    strcpy(out, s);
    return LLC_OK;
}

int llc_json_int_list(const cJSON *obj, const char *key, long long lo, long long hi,
                      long long *out, int max, int *n, const char *ctx, char *err)
{
    const cJSON *v = get(obj, key);
    *n = 0;
    if (!v || cJSON_IsNull(v)) return LLC_OK;
    if (cJSON_IsNumber(v)) {
        cJSON *wrap = cJSON_CreateObject();
        if (!wrap) return LLC_ERR_NOMEM;
        cJSON_AddItemReferenceToObject(wrap, key, (cJSON *)(uintptr_t)v);
        int rc = llc_json_int(wrap, key, 0, lo, hi, out, ctx, err);
        cJSON_Delete(wrap);
        if (rc == LLC_OK) *n = 1;
        return rc;
    }
    if (!cJSON_IsArray(v))
        return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' must be a list of integers in [%lld, %lld]",
                        ctx, key, lo, hi);
    int k = 0;
    for (const cJSON *c = v->child; c; c = c->next, k++) {
        if (k >= max)
            return llc_fail(err, LLC_ERR_INVALID, "%s: key '%s' has more than %d elements", ctx, key, max);
        double d = cJSON_IsNumber(c) ? c->valuedouble : NAN;
        if (!cJSON_IsNumber(c) || d != floor(d) || d < (double)lo || d > (double)hi) {
            char got[64];
            describe(c, got, sizeof got);
            return llc_fail(err, LLC_ERR_INVALID,
                            "%s: key '%s' element %d must be an integer in [%lld, %lld], got %s", ctx, key,
                            k, lo, hi, got);
        }
        out[k] = (long long)d;
    }
    *n = k;
    return LLC_OK;
}

/* cJSON allocates through these: a failed allocation while parsing is out
 * of memory, not invalid JSON */
static int json_oom;
static void *json_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p) json_oom = 1;
    return p;
}

void llc_json_init(void)
{
    cJSON_Hooks h = {json_malloc, free};
    cJSON_InitHooks(&h);
}

int llc_json_parse(const char *text, const char *name, cJSON **out, char *err)
{
    json_oom = 0;
    *out = cJSON_Parse(text);
    if (*out) return LLC_OK;
    if (json_oom)
        return llc_fail(err, LLC_ERR_NOMEM, "out of memory reading the JSON%s%s%s (%zu bytes)", name ? " of '" : "",
                        name ? name : "", name ? "'" : "", strlen(text));
    const char *at = cJSON_GetErrorPtr();
    size_t n = strlen(text);
    if (!at || at < text || at > text + n) at = text + n;
    int line = 1, col = 1, depth = 0, in_str = 0;
    for (const char *q = text; q < at; q++) {
        col = *q == '\n' ? (line++, 1) : col + 1;
        if (in_str) {
            if (*q == '\\' && q + 1 < at) q++, col++;
            else if (*q == '"') in_str = 0;
        } else if (*q == '"') {
            in_str = 1;
        } else if (*q == '[' || *q == '{') {
            depth++;
        } else if (*q == ']' || *q == '}') {
            depth--;
        }
    }
    char who[300] = "";
    if (name) snprintf(who, sizeof who, "'%s' is ", name);
    /* cJSON stops at the first bracket past its limit, all the others still open */
    if (depth >= CJSON_NESTING_LIMIT)
        return llc_fail(err, LLC_ERR_INVALID, "%snested deeper than %d levels (at line %d, column %d)", who,
                        CJSON_NESTING_LIMIT, line, col);
    return llc_fail(err, LLC_ERR_INVALID, "%snot valid JSON: error at line %d, column %d%s%.20s%s", who, line, col,
                    *at ? " (near '" : " (unexpected end of file)", at, *at ? "')" : "");
}
