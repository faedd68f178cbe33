/* fuzz_config.c - libFuzzer target: a run config as JSON text through every
 * parser that reads user configs (model, trainer, each task's settings,
 * --set assignments). Must never crash, leak or hit UB; errors are fine. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llc_config.h"
#include "llc_tasks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char err[LLC_ERRLEN];
    cJSON *root = cJSON_Parse(text);
    if (root) {
        const cJSON *data_s = cJSON_GetObjectItemCaseSensitive(root, "data");
        for (int i = 0; llc_task_names[i]; i++) {
            llc_task *t = NULL;
            if (strcmp(llc_task_names[i], "text") == 0) continue; /* reads the corpus from disk: slow */
            if (llc_task_new(llc_task_names[i], data_s, 1, &t, err) == LLC_OK) {
                llc_tf_config mc;
                llc_tf_config_from_json(cJSON_GetObjectItemCaseSensitive(root, "model"), &t->shape, &mc, err);
                cJSON *js = t->to_json ? t->to_json(t) : NULL;
                cJSON_Delete(js);
                llc_task_free(t);
            }
        }
        llc_train_config tc;
        llc_train_config_from_json(cJSON_GetObjectItemCaseSensitive(root, "train"), &tc, err);
        cJSON_Delete(root);
    }
    /* the same bytes as a --set assignment */
    cJSON *cfg = cJSON_CreateObject();
    llc_config_set(cfg, text, err);
    cJSON_Delete(cfg);
    free(text);
    return 0;
}
