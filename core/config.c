/* config.c - run configs (JSON) to model and trainer structs; see llc_config.h. */
#include "llc_config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const llc_model_keys[] = {
    "n_layers", "n_heads", "d_model", "d_head", "pos", "norm", "final_norm", "d_mlp", "causal",
    "pooled", "tied", "attn_bias", "unembed_bias", "init_std", "clamps", NULL};

const char *const llc_train_keys[] = {
    "steps", "batch", "optimizer", "lr", "beta1", "beta2", "adam_eps", "momentum", "weight_decay",
    "clip", "schedule", "warmup", "min_lr_frac", "test_batches", "ckpt_every", "ckpt_linear",
    "ckpt_log", "ckpt_list", "max_loss", NULL};

static const char *const pos_names[] = {"none", "learned", "shortformer", "rope", NULL};
static const char *const norm_names[] = {"none", "layer", "rms", "rms_nogain", NULL};
/* indexed by llc_clamp_kind; mean_output (an ablation's, with a vector) is not for configs */
static const char *const clamp_names[] = {"",           "prev",      "pattern", "zero_values", "zero_output",
                                          "mean_output", "induction", "copy",    "no_prev",     "temperature", NULL};
static const char *const opt_names[] = {"sgd", "adam", "adamw", NULL};
static const char *const sched_names[] = {"constant", "warmup", "cosine", NULL};

static int read_clamps(const cJSON *arr, llc_tf_config *c, char *err)
{
    static const char *const keys[] = {"kind", "layer", "head", "pattern", "strength", "temperature", "from", NULL};
    static const char *const from_keys[] = {"layer", "head", NULL};
    c->n_clamps = 0;
    if (!arr || cJSON_IsNull(arr)) return LLC_OK;
    if (!cJSON_IsArray(arr))
        return llc_fail(err, LLC_ERR_INVALID,
                        "model: key 'clamps' must be a list like [{\"kind\":\"prev\",\"layer\":0,\"head\":1}]");
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (c->n_clamps >= LLC_MAX_CLAMPS)
            return llc_fail(err, LLC_ERR_INVALID, "model: at most %d clamps", LLC_MAX_CLAMPS);
        llc_clamp *k = &c->clamps[c->n_clamps];
        long long layer, head;
        int kind, rc;
        if ((rc = llc_json_check_keys(e, keys, "model.clamps", err))) return rc;
        if ((rc = llc_json_choice(e, "kind", NULL, clamp_names, &kind, "model.clamps", err))) return rc;
        if (kind == 0) return llc_fail(err, LLC_ERR_INVALID, "model.clamps: key 'kind' is required");
        if ((rc = llc_json_int(e, "layer", -1, 0, c->n_layers - 1, &layer, "model.clamps", err))) return rc;
        if ((rc = llc_json_int(e, "head", -1, 0, c->n_heads - 1, &head, "model.clamps", err))) return rc;
        if (layer < 0 || head < 0)
            return llc_fail(err, LLC_ERR_INVALID, "model.clamps: keys 'layer' and 'head' are required");
        if (kind == LLC_CLAMP_MEAN_OUTPUT)
            return llc_fail(err, LLC_ERR_INVALID, "model.clamps: kind 'mean_output' is for ablations (llc eval "
                                                  "--ablate L.H --mode mean); use 'zero_output' in a config");
        *k = (llc_clamp){.kind = (llc_clamp_kind)kind, .layer = (int)layer, .head = (int)head};
        const int pattern_kind = kind == LLC_CLAMP_PATTERN_PREV || kind == LLC_CLAMP_PATTERN_GIVEN ||
                                 kind == LLC_CLAMP_INDUCTION || kind == LLC_CLAMP_COPY;
        const cJSON *sv = cJSON_GetObjectItemCaseSensitive(e, "strength");
        if (sv && !pattern_kind)
            return llc_fail(err, LLC_ERR_INVALID, "model.clamps: key 'strength' goes with a pattern clamp (prev, "
                                                  "induction, copy), not '%s'", clamp_names[kind]);
        double d;
        if ((rc = llc_json_num(e, "strength", 1.0, 0.0, 1.0, &d, "model.clamps", err))) return rc;
        k->own = (float)(1.0 - d);
        if (cJSON_GetObjectItemCaseSensitive(e, "temperature") && kind != LLC_CLAMP_TEMPERATURE)
            return llc_fail(err, LLC_ERR_INVALID, "model.clamps: key 'temperature' goes with kind 'temperature'");
        if (kind == LLC_CLAMP_TEMPERATURE) {
            if (!cJSON_GetObjectItemCaseSensitive(e, "temperature"))
                return llc_fail(err, LLC_ERR_INVALID, "model.clamps: kind 'temperature' needs a key 'temperature' "
                                                      "> 0, e.g. {\"kind\":\"temperature\",\"layer\":0,\"head\":1,"
                                                      "\"temperature\":2}");
            if ((rc = llc_json_num(e, "temperature", 1.0, 1e-6, 1e6, &d, "model.clamps", err))) return rc;
            k->temperature = (float)d;
        }
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(e, "from");
        if (from && kind != LLC_CLAMP_COPY)
            return llc_fail(err, LLC_ERR_INVALID, "model.clamps: key 'from' goes with kind 'copy'");
        if (kind == LLC_CLAMP_COPY) {
            long long fl, fh;
            if (!cJSON_IsObject(from))
                return llc_fail(err, LLC_ERR_INVALID, "model.clamps: kind 'copy' needs a key 'from' like "
                                                      "{\"layer\":%lld,\"head\":0}: the head to copy", layer);
            if ((rc = llc_json_check_keys(from, from_keys, "model.clamps.from", err)) ||
                (rc = llc_json_int(from, "layer", layer, 0, c->n_layers - 1, &fl, "model.clamps.from", err)) ||
                (rc = llc_json_int(from, "head", -1, 0, c->n_heads - 1, &fh, "model.clamps.from", err)))
                return rc;
            if (fh < 0)
                return llc_fail(err, LLC_ERR_INVALID, "model.clamps: 'from' of a 'copy' needs a key 'head'");
            if (fl > layer || (fl == layer && fh == head))
                return llc_fail(err, LLC_ERR_INVALID, "model.clamps: 'copy' on head %lld.%lld cannot copy head "
                                                      "%lld.%lld: 'from' must be another head of layer %lld or a head "
                                                      "of an earlier layer (heads 0-%d)", layer, head, fl, fh, layer,
                                                      c->n_heads - 1);
            k->from_layer = (int)fl;
            k->from_head = (int)fh;
        }
        if (k->kind == LLC_CLAMP_PATTERN_GIVEN)
            return llc_fail(err, LLC_ERR_INVALID,
                            "model.clamps: kind 'pattern' needs a pattern matrix, which configs cannot give yet; use 'prev'");
        c->n_clamps++;
    }
    return LLC_OK;
}

int llc_tf_config_from_json(const cJSON *obj, const llc_task_shape *shape, llc_tf_config *c, char *err)
{
    const char *ctx = "model";
    int rc;
    long long v;
    double d;
    llc_tf_config_default(c);
    if ((rc = llc_json_check_keys(obj, llc_model_keys, ctx, err))) return rc;
#define INT_KEY(key, field, lo, hi)                                                       \
    do {                                                                                  \
        if ((rc = llc_json_int(obj, key, c->field, lo, hi, &v, ctx, err))) return rc;     \
        c->field = (int)v;                                                                \
    } while (0)
#define BOOL_KEY(key, field)                                                              \
    do {                                                                                  \
        if ((rc = llc_json_bool(obj, key, c->field, &c->field, ctx, err))) return rc;     \
    } while (0)
    INT_KEY("n_layers", n_layers, 1, 64);
    INT_KEY("n_heads", n_heads, 1, 256);
    INT_KEY("d_model", d_model, 1, 16384);
    INT_KEY("d_head", d_head, 1, 4096);
    INT_KEY("d_mlp", d_mlp, 0, 65536);
    BOOL_KEY("final_norm", final_norm);
    BOOL_KEY("causal", causal);
    if (shape) c->pooled = shape->per_sequence; /* default: pool iff the task has one output per sequence */
    BOOL_KEY("pooled", pooled);
    BOOL_KEY("tied", tied);
    BOOL_KEY("attn_bias", attn_bias);
    BOOL_KEY("unembed_bias", unembed_bias);
#undef INT_KEY
#undef BOOL_KEY
    int k;
    if ((rc = llc_json_choice(obj, "pos", pos_names[c->pos], pos_names, &k, ctx, err))) return rc;
    c->pos = (llc_pos_kind)k;
    if ((rc = llc_json_choice(obj, "norm", norm_names[c->norm], norm_names, &k, ctx, err))) return rc;
    c->norm = (llc_norm_kind)k;
    if ((rc = llc_json_num(obj, "init_std", c->init_std, 0, 10, &d, ctx, err))) return rc;
    c->init_std = (float)d;
    if ((rc = read_clamps(obj ? cJSON_GetObjectItemCaseSensitive(obj, "clamps") : NULL, c, err))) return rc;
    if (shape) {
        c->vocab = shape->vocab;
        c->d_input = shape->d_in;
        c->n_out = shape->n_out;
        c->n_ctx = shape->T;
        if (c->pooled && !shape->per_sequence)
            return llc_fail(err, LLC_ERR_INVALID,
                            "model: 'pooled' needs a task with one output per sequence (modadd)");
    }
    if (c->tied && c->n_out != c->vocab)
        return llc_fail(err, LLC_ERR_INVALID, "model: 'tied' needs n_out == vocab (task has %d outputs, vocab %d)",
                        c->n_out, c->vocab);
    return LLC_OK;
}

cJSON *llc_tf_config_to_json(const llc_tf_config *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "n_layers", c->n_layers);
    cJSON_AddNumberToObject(o, "n_heads", c->n_heads);
    cJSON_AddNumberToObject(o, "d_model", c->d_model);
    cJSON_AddNumberToObject(o, "d_head", c->d_head);
    cJSON_AddStringToObject(o, "pos", pos_names[c->pos]);
    cJSON_AddStringToObject(o, "norm", norm_names[c->norm]);
    cJSON_AddBoolToObject(o, "final_norm", c->final_norm);
    cJSON_AddNumberToObject(o, "d_mlp", c->d_mlp);
    cJSON_AddBoolToObject(o, "causal", c->causal);
    cJSON_AddBoolToObject(o, "pooled", c->pooled);
    cJSON_AddBoolToObject(o, "tied", c->tied);
    cJSON_AddBoolToObject(o, "attn_bias", c->attn_bias);
    cJSON_AddBoolToObject(o, "unembed_bias", c->unembed_bias);
    cJSON_AddNumberToObject(o, "init_std", c->init_std);
    cJSON *cl = cJSON_AddArrayToObject(o, "clamps");
    for (int i = 0; cl && i < c->n_clamps; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", clamp_names[c->clamps[i].kind]);
        cJSON_AddNumberToObject(e, "layer", c->clamps[i].layer);
        cJSON_AddNumberToObject(e, "head", c->clamps[i].head);
        if (c->clamps[i].own > 0.0f) /* rounded: the value that was read */
            cJSON_AddNumberToObject(e, "strength", round((1.0 - c->clamps[i].own) * 1e6) / 1e6);
        if (c->clamps[i].kind == LLC_CLAMP_TEMPERATURE)
            cJSON_AddNumberToObject(e, "temperature", c->clamps[i].temperature);
        if (c->clamps[i].kind == LLC_CLAMP_COPY) {
            cJSON *f = cJSON_AddObjectToObject(e, "from");
            cJSON_AddNumberToObject(f, "layer", c->clamps[i].from_layer);
            cJSON_AddNumberToObject(f, "head", c->clamps[i].from_head);
        }
        cJSON_AddItemToArray(cl, e);
    }
    return o;
}

int llc_train_config_from_json(const cJSON *obj, llc_train_config *c, char *err)
{
    const char *ctx = "train";
    int rc, k;
    long long v;
    llc_train_config_default(c);
    if ((rc = llc_json_check_keys(obj, llc_train_keys, ctx, err))) return rc;
    if ((rc = llc_json_int(obj, "steps", c->steps, 0, 1000000000LL, &c->steps, ctx, err))) return rc;
    if ((rc = llc_json_int(obj, "batch", c->batch, 1, 1 << 20, &v, ctx, err))) return rc;
    c->batch = (int)v;
    if ((rc = llc_json_choice(obj, "optimizer", opt_names[c->opt], opt_names, &k, ctx, err))) return rc;
    c->opt = (llc_opt_kind)k;
    if ((rc = llc_json_num(obj, "lr", c->lr, 1e-12, 100, &c->lr, ctx, err))) return rc;
    if ((rc = llc_json_num(obj, "beta1", c->beta1, 0, 0.999999, &c->beta1, ctx, err))) return rc;
    if ((rc = llc_json_num(obj, "beta2", c->beta2, 0, 0.999999999, &c->beta2, ctx, err))) return rc;
    if ((rc = llc_json_num(obj, "adam_eps", c->adam_eps, 1e-30, 1, &c->adam_eps, ctx, err))) return rc;
    if ((rc = llc_json_num(obj, "momentum", c->momentum, 0, 0.999999, &c->momentum, ctx, err))) return rc;
    if ((rc = llc_json_num(obj, "weight_decay", c->weight_decay, 0, 100, &c->weight_decay, ctx, err))) return rc;
    if ((rc = llc_json_num(obj, "clip", c->clip, 0, 1e12, &c->clip, ctx, err))) return rc;
    if ((rc = llc_json_choice(obj, "schedule", sched_names[c->sched], sched_names, &k, ctx, err))) return rc;
    c->sched = (llc_sched_kind)k;
    if ((rc = llc_json_int(obj, "warmup", c->warmup, 0, 1000000000LL, &c->warmup, ctx, err))) return rc;
    if ((rc = llc_json_num(obj, "min_lr_frac", c->min_lr_frac, 0, 1, &c->min_lr_frac, ctx, err))) return rc;
    if ((rc = llc_json_int(obj, "test_batches", c->test_batches, 1, 100000, &v, ctx, err))) return rc;
    c->test_batches = (int)v;
    if ((rc = llc_json_int(obj, "ckpt_every", c->ckpt_every, 0, 1000000000LL, &c->ckpt_every, ctx, err))) return rc;
    if ((rc = llc_json_int(obj, "ckpt_linear", c->ckpt_linear, 0, 1000000, &v, ctx, err))) return rc;
    c->ckpt_linear = (int)v;
    if ((rc = llc_json_int(obj, "ckpt_log", c->ckpt_log, 0, 1000000, &v, ctx, err))) return rc;
    c->ckpt_log = (int)v;
    int n = 0;
    if ((rc = llc_json_int_list(obj, "ckpt_list", 0, 1000000000LL, c->ckpt_list, LLC_MAX_CKPT_LIST, &n, ctx, err)))
        return rc;
    if (obj && cJSON_GetObjectItemCaseSensitive(obj, "ckpt_list")) c->n_ckpt_list = n;
    if ((rc = llc_json_num(obj, "max_loss", c->max_loss, 0, 1e30, &c->max_loss, ctx, err))) return rc;
    return llc_train_config_check(c, err);
}

cJSON *llc_train_config_to_json(const llc_train_config *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "steps", (double)c->steps);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddStringToObject(o, "optimizer", opt_names[c->opt]);
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "beta1", c->beta1);
    cJSON_AddNumberToObject(o, "beta2", c->beta2);
    cJSON_AddNumberToObject(o, "adam_eps", c->adam_eps);
    cJSON_AddNumberToObject(o, "momentum", c->momentum);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "clip", c->clip);
    cJSON_AddStringToObject(o, "schedule", sched_names[c->sched]);
    cJSON_AddNumberToObject(o, "warmup", (double)c->warmup);
    cJSON_AddNumberToObject(o, "min_lr_frac", c->min_lr_frac);
    cJSON_AddNumberToObject(o, "test_batches", c->test_batches);
    cJSON_AddNumberToObject(o, "ckpt_every", (double)c->ckpt_every);
    cJSON_AddNumberToObject(o, "ckpt_linear", c->ckpt_linear);
    cJSON_AddNumberToObject(o, "ckpt_log", c->ckpt_log);
    cJSON *l = cJSON_AddArrayToObject(o, "ckpt_list");
    for (int i = 0; l && i < c->n_ckpt_list; i++) cJSON_AddItemToArray(l, cJSON_CreateNumber((double)c->ckpt_list[i]));
    cJSON_AddNumberToObject(o, "max_loss", c->max_loss);
    return o;
}

static int in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0) return 1;
    return 0;
}

static cJSON *parse_value(const char *s)
{
    cJSON *v = cJSON_ParseWithOpts(s, NULL, 1); /* the whole value: "10,20" is no JSON number */
    if (v && !cJSON_IsObject(v)) return v;
    cJSON_Delete(v);
    /* comma-separated numbers -> list */
    if (strchr(s, ',')) {
        cJSON *arr = cJSON_CreateArray();
        const char *p = s;
        while (arr && *p) {
            char *end;
            double d = strtod(p, &end);
            if (end == p || (*end && *end != ',')) {
                cJSON_Delete(arr);
                arr = NULL;
                break;
            }
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(d));
            p = *end ? end + 1 : end;
        }
        if (arr) return arr;
    }
    return cJSON_CreateString(s);
}

int llc_config_set(cJSON *root, const char *assignment, char *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return llc_fail(err, LLC_ERR_INVALID, "--set '%s': expected key=value, e.g. --set lr=1e-3", assignment);
    char key[128];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key) return llc_fail(err, LLC_ERR_INVALID, "--set: key too long");
    memcpy(key, assignment, klen);
    key[klen] = 0;
    const char *section = NULL, *name = key;
    char *dot = strchr(key, '.');
    if (dot && (strncmp(key, "model.", 6) == 0 || strncmp(key, "train.", 6) == 0 || strncmp(key, "data.", 5) == 0)) {
        *dot = 0;
        section = key;
        name = dot + 1;
    } else if (in_list(llc_model_keys, key)) {
        section = "model";
    } else if (in_list(llc_train_keys, key)) {
        section = "train";
    } else if (strcmp(key, "seed") == 0 || strcmp(key, "task") == 0) {
        section = NULL;
    } else {
        section = "data";
    }
    cJSON *val = parse_value(eq + 1);
    if (!val) return LLC_ERR_NOMEM;
    cJSON *target = root;
    if (section) {
        target = cJSON_GetObjectItemCaseSensitive(root, section);
        if (!target) target = cJSON_AddObjectToObject(root, section);
        if (!target || !cJSON_IsObject(target)) {
            cJSON_Delete(val);
            return llc_fail(err, LLC_ERR_INVALID, "config: '%s' must be an object", section);
        }
    }
    if (cJSON_GetObjectItemCaseSensitive(target, name)) cJSON_ReplaceItemInObjectCaseSensitive(target, name, val);
    else cJSON_AddItemToObject(target, name, val);
    return LLC_OK;
}
