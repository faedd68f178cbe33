/* task_impl.h - private: the constructors behind llc_task_new. Each fills
 * in *t (already zeroed; name and seed set by the caller) from its settings
 * object, rejecting unknown keys / bad values via core/llc_json.h. */
#ifndef LLC_TASK_IMPL_H
#define LLC_TASK_IMPL_H

#include "llc_task.h"
#include "../core/llc_json.h"

typedef int (*llc_task_ctor)(const cJSON *settings, llc_task *t, char *err);

int llc_task_sort_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_modadd_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_icl_init(const cJSON *settings, llc_task *t, char *err);
int llc_task_text_init(const cJSON *settings, llc_task *t, char *err);

#endif
