/* run.c - a run from its config: the task and model it names, and the
 * config with every default filled in. */
#include "llc_run.h"
#include "llc_regress.h"

#include <string.h>

int llc_run_build(const cJSON *config, llc_task **task, llc_model **model, llc_train_config *tc, char *err)
{
    int rc;
    *task = NULL;
    *model = NULL;
    const cJSON *tname = cJSON_GetObjectItemCaseSensitive(config, "task");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(config, "seed");
    if (!cJSON_IsString(tname)) return llc_fail(err, LLC_ERR_INVALID, "config: 'task' must name a task");
    uint64_t s = cJSON_IsNumber(seed) ? (uint64_t)seed->valuedouble : 0;
    rc = llc_task_new(tname->valuestring, cJSON_GetObjectItemCaseSensitive(config, "data"), s, task, err);
    if (rc) return rc;
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(config, "model");
    if (llc_regress_is(*task)) {
        /* ground-truth tasks fix their model: its shape is in the data settings */
        if (mj && !(cJSON_IsObject(mj) && mj->child == NULL))
            rc = llc_fail(err, LLC_ERR_INVALID, "config: task '%s' fixes its model; set its shape under data "
                          "(e.g. --set widths=5,4,5), not under model", (*task)->name);
        else
            rc = llc_regress_make_model(*task, model, err);
    } else {
        llc_tf_config mc;
        rc = llc_tf_config_from_json(mj, &(*task)->shape, &mc, err);
        if (rc == LLC_OK) rc = llc_transformer_new(&mc, model, err);
    }
    if (rc == LLC_OK && tc) rc = llc_train_config_from_json(cJSON_GetObjectItemCaseSensitive(config, "train"), tc, err);
    if (rc) {
        llc_model_free(*model);
        llc_task_free(*task);
        *model = NULL;
        *task = NULL;
    }
    return rc;
}

int llc_run_build_stored(const char *run, const char *text, cJSON **config, llc_task **task, llc_model **model,
                         char *err)
{
    char why[LLC_ERRLEN] = "malformed JSON";
    int rc = LLC_ERR_SCHEMA;
    *task = NULL;
    *model = NULL;
    if ((*config = cJSON_Parse(text ? text : "")) && (rc = llc_run_build(*config, task, model, NULL, why)) == LLC_OK)
        return LLC_OK;
    cJSON_Delete(*config);
    *config = NULL;
    if (rc == LLC_ERR_NOMEM) return llc_fail(err, rc, "out of memory");
    if (run) return llc_fail(err, LLC_ERR_SCHEMA, "run '%s' has a config this llc cannot rebuild: %s", run, why);
    return llc_fail(err, LLC_ERR_SCHEMA, "a run config this llc cannot rebuild: %s", why);
}

/* The normalised config: every default filled in. */
char *llc_run_config_normalised(const cJSON *root, const llc_task *task, const llc_model *model,
                                const llc_train_config *tc)
{
    cJSON *n = cJSON_CreateObject();
    if (!n) return NULL;
    cJSON_AddStringToObject(n, "task", task->name);
    cJSON_AddNumberToObject(n, "seed", (double)task->seed);
    const cJSON *init = cJSON_GetObjectItemCaseSensitive(root, "init");
    cJSON_AddStringToObject(n, "init", cJSON_IsString(init) ? init->valuestring : "random");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(root, "init_from");
    if (from) cJSON_AddItemToObject(n, "init_from", cJSON_Duplicate(from, 1));
    cJSON_AddItemToObject(n, "data", task->to_json ? task->to_json(task) : cJSON_CreateObject());
    if (strcmp(model->kind, "transformer") == 0)
        cJSON_AddItemToObject(n, "model", llc_tf_config_to_json(llc_transformer_config(model)));
    cJSON_AddItemToObject(n, "train", llc_train_config_to_json(tc));
    char *s = cJSON_PrintUnformatted(n);
    cJSON_Delete(n);
    return s;
}
