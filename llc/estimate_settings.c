/* estimate_settings.c - the settings JSON of an estimate and its inverse
 * (llc_estimate_settings.h). Both sides are here so that they cannot drift:
 * a key written is a key read. */
#include "llc_estimate_settings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Whether c's Metropolis mode can adjust minibatch steps (on, or auto at
 * an automatic eps): then the steps per batch (mh_block) matter. */
static int mh_on_minibatches(const llc_estimate_config *c)
{
    return c->metropolis == LLC_MH_ON || (c->metropolis == LLC_MH_AUTO && !(c->sgld.eps > 0));
}

char *llc_estimate_settings_json(const llc_estimate_config *c, const llc_estimate_settings_opts *o,
                                 long long eps_ref_step)
{
    const int auto_eps = !(c->sgld.eps > 0), at_last = auto_eps && o->per_traj;
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "sampler", llc_precond_name(c->sgld.precond));
    if (!auto_eps) cJSON_AddNumberToObject(j, "eps", c->sgld.eps);
    else cJSON_AddStringToObject(j, "eps", at_last ? "auto@last" : "auto");
    /* the automatic eps runs at the ladder's eps / eps_divisor (absent in older stores: 1) */
    if (auto_eps) cJSON_AddNumberToObject(j, "eps_divisor", c->auto_eps_divisor);
    if (at_last) cJSON_AddNumberToObject(j, "eps_ref_step", (double)eps_ref_step);
    cJSON_AddNumberToObject(j, "gamma", c->sgld.gamma);
    if (c->sgld.nbeta > 0) cJSON_AddNumberToObject(j, "nbeta", c->sgld.nbeta);
    else cJSON_AddStringToObject(j, "nbeta", "default");
    cJSON_AddNumberToObject(j, "chains", c->chains);
    cJSON_AddNumberToObject(j, "draws", c->draws);
    if (c->burnin >= 0) cJSON_AddNumberToObject(j, "burnin", c->burnin);
    else cJSON_AddStringToObject(j, "burnin", "auto");
    if (c->thin > 0) cJSON_AddNumberToObject(j, "thin", c->thin);
    else cJSON_AddStringToObject(j, "thin", "auto");
    cJSON_AddNumberToObject(j, "batch", c->batch);
    cJSON_AddNumberToObject(j, "init_batches", c->init_batches);
    cJSON_AddNumberToObject(j, "mala_every", c->sgld.mala_every);
    cJSON_AddStringToObject(j, "paired", c->paired < 0 ? "auto" : c->paired ? "on" : "off");
    /* Absent means "exact" (on iff the loss is exact: the default before
     * Metropolis on minibatches), which at a given eps is also what auto
     * does: so auto at a given eps writes nothing and keys of older
     * estimates stay valid. mh_block (steps per minibatch; absent: 1) where
     * the mode can put Metropolis on minibatches. */
    static const char *const mh_names[] = {"auto", "off", "on", "exact"};
    const int mh_given_eps_auto = c->metropolis == LLC_MH_AUTO && !auto_eps;
    if (!mh_given_eps_auto) cJSON_AddStringToObject(j, "metropolis", mh_names[c->metropolis]);
    if (mh_on_minibatches(c)) cJSON_AddNumberToObject(j, "mh_block", c->sgld.block);
    cJSON_AddNumberToObject(j, "seed", (double)c->seed);
    if (o->check_bias) cJSON_AddBoolToObject(j, "check_bias", 1);
    cJSON_AddStringToObject(j, "version", LLC_VERSION);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* v, a whole number in [lo, hi], into *out. */
static int get_whole(const cJSON *v, double lo, double hi, double *out, char *err)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        v->valuedouble != floor(v->valuedouble))
        return llc_fail(err, LLC_ERR_INVALID, "settings.%s must be a number (whole, in [%.17g, %.17g])", v->string, lo,
                        hi);
    *out = v->valuedouble;
    return LLC_OK;
}

static int get_int(const cJSON *v, int lo, int hi, int *out, char *err)
{
    double d = 0;
    if (get_whole(v, lo, hi, &d, err)) return LLC_ERR_INVALID;
    *out = (int)d;
    return LLC_OK;
}

/* A number in (lo, hi] (lo_open) or [lo, hi]. */
static int get_real(const cJSON *v, double lo, int lo_open, double hi, double *out, char *err)
{
    if (!cJSON_IsNumber(v) || !(lo_open ? v->valuedouble > lo : v->valuedouble >= lo) || !(v->valuedouble <= hi))
        return llc_fail(err, LLC_ERR_INVALID, "settings.%s must be a number in %s%g, %g]", v->string,
                        lo_open ? "(" : "[", lo, hi);
    *out = v->valuedouble;
    return LLC_OK;
}

/* v is the string word. */
static int is_word(const cJSON *v, const char *word) { return cJSON_IsString(v) && strcmp(v->valuestring, word) == 0; }

/* One key of the settings into c and o. The ranges are llc estimate's. */
static int parse_key(const cJSON *v, llc_estimate_config *c, llc_estimate_settings_opts *o, int *divisor_seen,
                     int *mh_seen, int *block_seen, char *err)
{
    const char *k = v->string;
    if (!strcmp(k, "version") || !strcmp(k, "eps_ref_step")) return LLC_OK; /* who wrote it; derived */
    if (!strcmp(k, "sampler")) {
        int p = cJSON_IsString(v) ? llc_precond_parse(v->valuestring) : -1;
        if (p < 0) return llc_fail(err, LLC_ERR_INVALID, "settings.sampler must be \"sgld\" or \"rmsprop\"");
        c->sgld.precond = (llc_precond)p;
        return LLC_OK;
    }
    if (!strcmp(k, "eps")) {
        if (is_word(v, "auto") || is_word(v, "auto@last")) {
            c->sgld.eps = 0;
            o->per_traj = is_word(v, "auto@last");
            return LLC_OK;
        }
        if (cJSON_IsString(v))
            return llc_fail(err, LLC_ERR_INVALID, "settings.eps must be a number, \"auto\" or \"auto@last\"");
        return get_real(v, 0, 1, 10, &c->sgld.eps, err);
    }
    if (!strcmp(k, "eps_divisor")) {
        *divisor_seen = 1;
        return get_real(v, 1, 0, 1e300, &c->auto_eps_divisor, err);
    }
    if (!strcmp(k, "gamma")) return get_real(v, 0, 0, 1e12, &c->sgld.gamma, err);
    if (!strcmp(k, "nbeta")) {
        c->nbeta_mode = is_word(v, "default") ? LLC_NBETA_DEFAULT : LLC_NBETA_GIVEN;
        if (is_word(v, "default")) return c->sgld.nbeta = 0, LLC_OK;
        return get_real(v, 0, 1, 1e15, &c->sgld.nbeta, err);
    }
    if (!strcmp(k, "chains")) return get_int(v, 1, 1024, &c->chains, err);
    if (!strcmp(k, "draws")) return get_int(v, 1, 100000000, &c->draws, err);
    if (!strcmp(k, "burnin")) return is_word(v, "auto") ? (c->burnin = -1, LLC_OK) : get_int(v, 0, 100000000, &c->burnin, err);
    if (!strcmp(k, "thin")) return is_word(v, "auto") ? (c->thin = 0, LLC_OK) : get_int(v, 1, 100000, &c->thin, err);
    if (!strcmp(k, "batch")) return get_int(v, 1, 1 << 20, &c->batch, err);
    if (!strcmp(k, "init_batches")) return get_int(v, 1, 1 << 20, &c->init_batches, err);
    if (!strcmp(k, "mala_every")) return get_int(v, 0, 1 << 20, &c->sgld.mala_every, err);
    if (!strcmp(k, "paired")) {
        if (is_word(v, "auto")) c->paired = -1;
        else if (is_word(v, "on")) c->paired = 1;
        else if (is_word(v, "off")) c->paired = 0;
        else return llc_fail(err, LLC_ERR_INVALID, "settings.paired must be \"auto\", \"on\" or \"off\"");
        return LLC_OK;
    }
    if (!strcmp(k, "metropolis")) {
        *mh_seen = 1;
        if (is_word(v, "auto")) c->metropolis = LLC_MH_AUTO;
        else if (is_word(v, "on")) c->metropolis = LLC_MH_ON;
        else if (is_word(v, "off")) c->metropolis = LLC_MH_OFF;
        else if (is_word(v, "exact")) c->metropolis = LLC_MH_EXACT;
        else
            return llc_fail(err, LLC_ERR_INVALID,
                            "settings.metropolis must be \"auto\", \"on\", \"off\" or \"exact\"");
        return LLC_OK;
    }
    if (!strcmp(k, "mh_block")) {
        *block_seen = 1;
        return get_int(v, 1, LLC_SGLD_MAX_BLOCK, &c->sgld.block, err);
    }
    if (!strcmp(k, "seed")) {
        double d = 0;
        if (get_whole(v, 0, 9007199254740991.0, &d, err)) return LLC_ERR_INVALID;
        c->seed = (uint64_t)d;
        return LLC_OK;
    }
    if (!strcmp(k, "check_bias")) {
        if (!cJSON_IsBool(v)) return llc_fail(err, LLC_ERR_INVALID, "settings.check_bias must be true or false");
        o->check_bias = cJSON_IsTrue(v);
        return LLC_OK;
    }
    return llc_fail(err, LLC_ERR_INVALID, "settings.%s is not a setting of llc estimate (unknown option '--%s')", k, k);
}

int llc_estimate_settings_parse(const cJSON *s, llc_estimate_config *c, llc_estimate_settings_opts *o, char *err)
{
    if (!cJSON_IsObject(s) || !c || !o) return llc_fail(err, LLC_ERR_INVALID, "settings must be a JSON object");
    memset(o, 0, sizeof *o);
    o->per_traj = 1; /* llc estimate's default; "auto" says otherwise */
    int divisor_seen = 0, mh_seen = 0, block_seen = 0, rc;
    for (const cJSON *v = s->child; v; v = v->next)
        if ((rc = parse_key(v, c, o, &divisor_seen, &mh_seen, &block_seen, err))) return rc;
    if (c->sgld.eps > 0) o->per_traj = 0;
    else if (!divisor_seen) c->auto_eps_divisor = 1; /* written before the divisor existed: the ladder's eps */
    if (!mh_seen) c->metropolis = c->sgld.eps > 0 ? LLC_MH_AUTO : LLC_MH_EXACT; /* see the writer */
    /* written before blocks existed: a batch per step (where the mode uses it) */
    if (!block_seen && mh_on_minibatches(c)) c->sgld.block = 1;
    char why[LLC_ERRLEN] = "";
    if ((rc = llc_estimate_config_check(c, why))) return llc_fail(err, rc, "settings: %s", why);
    return LLC_OK;
}
