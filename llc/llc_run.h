/* llc_run.h - a run from its config: the task and model a config names, and
 * the config with every default filled in (the form stored with the run).
 * Library functions: an rc and err, nothing printed.
 */
#ifndef LLC_RUN_H
#define LLC_RUN_H

#include "llc_common.h"
#include "llc_config.h"
#include "llc_model.h"
#include "llc_tasks.h"
#include "llc_train.h"

/* Build task + model (and, when tc is not NULL, the training settings) from a
 * full run config (as stored). On failure *task and *model are NULL. */
int llc_run_build(const cJSON *config, llc_task **task, llc_model **model, llc_train_config *tc, char *err);

/* A stored run's config text (llc_run_info.config) parsed and built: *config
 * (free with cJSON_Delete), *task and *model, as llc_run_build. On failure
 * all three are NULL and the rc is LLC_ERR_SCHEMA (LLC_ERR_NOMEM when out of
 * memory): the text is not JSON, or names what this llc cannot build; err
 * names the run (run may be NULL) and why. */
int llc_run_build_stored(const char *run, const char *text, cJSON **config, llc_task **task, llc_model **model,
                         char *err);

/* The normalised config of a built run as compact JSON (free with
 * cJSON_free): task, seed, init (root's, default random), data, model,
 * train, every default filled in. NULL when out of memory. */
char *llc_run_config_normalised(const cJSON *root, const llc_task *task, const llc_model *model,
                                const llc_train_config *tc);

#endif
