/* llc_config.h - the run configuration as JSON, and its sections read into
 * the structs of core/ (model, trainer).
 *
 * A run config is one JSON object:
 *   { "task": "sort", "seed": 1,
 *     "data":  { task settings, see tasks/ },
 *     "model": { transformer settings (ignored keys rejected) },
 *     "train": { trainer settings } }
 * The stored config of a run is this object with every default filled in, so
 * it alone reproduces the run.
 */
#ifndef LLC_CONFIG_H
#define LLC_CONFIG_H

#include "llc_json.h"
#include "llc_model.h"
#include "llc_train.h"

/* Model section -> transformer config. vocab, d_input, n_out and n_ctx come
 * from the task's shape (tasks fix them); the JSON may not set them. */
int llc_tf_config_from_json(const cJSON *obj, const llc_task_shape *shape, llc_tf_config *c, char *err);
cJSON *llc_tf_config_to_json(const llc_tf_config *c);
int llc_train_config_from_json(const cJSON *obj, llc_train_config *c, char *err);
cJSON *llc_train_config_to_json(const llc_train_config *c);

/* Keys each section knows (NULL-terminated), for --set resolution and errors. */
extern const char *const llc_model_keys[];
extern const char *const llc_train_keys[];

/* Apply one "--set key=value" to the config object. key is "section.key" or a
 * bare key, resolved to the section that knows it (model, train, else data).
 * value is parsed as JSON if it is valid JSON (numbers, true/false, [..]),
 * as a list of numbers if it is comma-separated numbers, else as a string. */
int llc_config_set(cJSON *root, const char *assignment, char *err);

#endif
