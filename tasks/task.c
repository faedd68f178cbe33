/* task.c - the task registry behind llc_tasks.h: building a task by name,
 * and the helpers the task files share (task_impl.h): the per-batch random
 * stream on the stack and the batch shape check.
 *
 * Tasks: sort, modadd, icl, text (sort.c, modadd.c, icl.c, text.c) and the
 * ground-truth regression tasks linreg, dln, poly (regress.c).
 */
#include "task_impl.h"
#include "llc_regress.h"

#include <stdlib.h>
#include <string.h>

const char *const llc_task_names[] = {"sort", "modadd", "icl", "text", "linreg", "dln", "poly", NULL};

static const llc_task_ctor task_ctors[] = {llc_task_sort_init,   llc_task_modadd_init, llc_task_icl_init,
                                           llc_task_text_init,   llc_task_linreg_init, llc_task_dln_init,
                                           llc_task_poly_init};

int llc_task_new(const char *name, const cJSON *settings, uint64_t seed, llc_task **out, char *err)
{
    llc_task *t = NULL;
    int rc = LLC_OK, which = -1;
    if (!out) return llc_fail(err, LLC_ERR_INVALID, "llc_task_new: out is NULL");
    *out = NULL;
    for (int i = 0; name && llc_task_names[i]; i++)
        if (strcmp(name, llc_task_names[i]) == 0) which = i;
    if (which < 0) {
        char list[256] = "";
        for (int i = 0; llc_task_names[i]; i++) {
            if (i) strcat(list, ", ");
            strcat(list, llc_task_names[i]);
        }
        return llc_fail(err, LLC_ERR_NOTFOUND, "unknown task '%s' (known: %s)", name ? name : "(null)", list);
    }
    t = calloc(1, sizeof *t);
    if (!t) return llc_fail(err, LLC_ERR_NOMEM, "task.%s: out of memory", name);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->seed = seed;
    rc = task_ctors[which](settings, t, err);
    if (rc) goto cleanup;
    if (t->shape.T < 1 || t->n_dists < 2 || t->n_dists > LLC_MAX_DISTS || !t->fill || !t->to_json) {
        rc = llc_fail(err, LLC_ERR_INVALID, "task.%s: constructor left an incomplete task", name);
        goto cleanup;
    }
    *out = t;
    t = NULL;
cleanup:
    llc_task_free(t);
    return rc;
}

/* ---------------- helpers for the task files ---------------- */

int llc_task_rng_init(llc_task_rng *s, uint64_t seed64)
{
    if (llc_rng_type->size > sizeof s->state) return LLC_ERR_INVALID;
    s->r.type = llc_rng_type;
    s->r.state = s->state;
    llc_rng_reseed(&s->r, seed64);
    return LLC_OK;
}

int llc_task_batch_rng(llc_task_rng *s, const llc_task *t, int dist, uint64_t index)
{
    if (dist < 0 || dist >= t->n_dists) return LLC_ERR_INVALID;
    return llc_task_rng_init(s, llc_seed(t->seed, LLC_PURPOSE_DATA, llc_hash_str(t->dists[dist]), index, 0));
}

int llc_task_check_batch(const llc_task *t, int dist, const llc_batch *b)
{
    const llc_task_shape *s = &t->shape;
    if (dist < 0 || dist >= t->n_dists || !b || b->B < 1 || b->B > b->cap_B || b->T != s->T || !b->mask)
        return LLC_ERR_INVALID;
    if (s->vocab > 0 && !b->tokens) return LLC_ERR_INVALID;
    if (s->n_out > 0 && !b->targets) return LLC_ERR_INVALID;
    if (s->d_in > 0 && (!b->x || b->d_in != s->d_in)) return LLC_ERR_INVALID;
    if (s->d_out > 0 && (!b->y || b->d_out != s->d_out)) return LLC_ERR_INVALID;
    return LLC_OK;
}
