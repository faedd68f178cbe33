/* llc_tasks.h - the known tasks (sort, modadd, icl, text and the
 * ground-truth regressions linreg, dln, poly), built by name behind the
 * interface of llc_task.h. */
#ifndef LLC_TASKS_H
#define LLC_TASKS_H

#include "llc_task.h"

/* Names of the known tasks, NULL-terminated. */
extern const char *const llc_task_names[];

/* Build a task from its settings object (may be NULL: all defaults). Unknown
 * keys and out-of-range values are rejected with a message naming the key
 * and the allowed range (LLC_ERR_INVALID); an unknown name gives
 * LLC_ERR_NOTFOUND listing the known tasks. */
int llc_task_new(const char *name, const struct cJSON *settings, uint64_t seed,
                 llc_task **out, char *err);

#endif
