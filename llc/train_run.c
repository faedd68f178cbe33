/* train_run.c - train a run into the store: create or resume it, follow the
 * checkpoint schedule, mark it done or failed (see llc_train_run.h). */
#include "llc_train_run.h"
#include "llc_regress.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    llc_store *store;
    const char *run;
    llc_trainer *tr;
    long long *sched;
    int n_sched, next, resuming, exists, marked;
    long long gap, start;
    void *state, *old_state;
    size_t old_bytes;
    llc_log_row *logbuf;
    llc_train_plan plan;
    float *src;            /* --init-from: the source checkpoint's parameters */
    llc_model *src_model;  /* and the source run's model (its tensor table) */
    const llc_train_sink *sink; /* the writes go here instead of store (NULL: the store) */
} train_job;

/* The run's status written: to the store, or to the sink. */
static int put_status(train_job *j, const char *status, const char *msg)
{
    return j->sink ? j->sink->set_status(j->sink->ctx, j->run, status, msg)
                   : llc_store_run_set_status(j->store, j->run, status, msg);
}

/* Why a write failed. */
static const char *store_errmsg(const train_job *j)
{
    return j->store ? llc_store_errmsg(j->store) : "cannot send it to the rank that owns the store";
}

/* Mark the run failed with msg; the rc passes through. */
static int run_failed(train_job *j, int rc, const char *msg)
{
    put_status(j, "failed", msg);
    j->marked = 1;
    return rc;
}

/* The resume state of the run, from the store or the sink, and the step
 * it resumes from; LLC_ERR_NOTFOUND if it has none. */
static int load_state(train_job *j, char *err)
{
    const llc_train_sink *k = j->sink;
    if (!k) {
        int rc = llc_store_train_state_get(j->store, j->run, &j->start, &j->old_state, &j->old_bytes);
        return rc && rc != LLC_ERR_NOTFOUND ? llc_fail(err, rc, "%s", llc_store_errmsg(j->store)) : rc;
    }
    if (!k->has_state) return LLC_ERR_NOTFOUND;
    if (!(j->old_state = malloc(k->state_bytes + 1))) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    memcpy(j->old_state, k->state, k->state_bytes);
    j->start = k->state_step;
    j->old_bytes = k->state_bytes;
    return LLC_OK;
}

/* The run's state in the store: new, to resume, or done; the schedule, the
 * step to start from and what the run will take. */
static int plan_run(train_job *j, const char *config, const llc_train_run_opts *o, llc_train_result *r, char *err)
{
    llc_run_info info = {0};
    const llc_train_sink *k = j->sink;
    int rc = k ? (k->exists ? LLC_OK : LLC_ERR_NOTFOUND) : llc_store_run_get(j->store, j->run, &info);
    const char *had_config = k ? k->config : info.config, *had_status = k ? k->status : info.status;
    if (rc == LLC_OK) {
        if (!o->resume)
            rc = llc_fail(err, LLC_ERR_EXISTS, "run '%s' already exists (status %s); use --resume to continue it, "
                          "or choose another --run", j->run, had_status);
        else if (strcmp(had_config, config) != 0)
            rc = llc_fail(err, LLC_ERR_EXISTS, "run '%s' exists with a different config; --resume needs the same "
                          "command", j->run);
        else if (strcmp(had_status, "done") == 0)
            r->already_done = 1;
        j->resuming = 1;
    } else if (rc == LLC_ERR_NOTFOUND) {
        rc = LLC_OK;
    } else {
        llc_fail(err, rc, "%s", llc_store_errmsg(j->store));
    }
    llc_run_info_free(&info);
    if (rc || r->already_done) return rc;

    const llc_train_config *tc = &r->tc;
    size_t n_params = llc_model_n_params(r->model);
    size_t state_bytes = llc_train_state_bytes(n_params, tc);
    if (llc_ckpt_schedule(tc, &j->sched, &j->n_sched)) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    /* the largest gap between checkpoints bounds the log buffer */
    j->gap = 1;
    for (int i = 1; i < j->n_sched; i++)
        if (j->sched[i] - j->sched[i - 1] > j->gap) j->gap = j->sched[i] - j->sched[i - 1];
    j->exists = j->resuming;
    if (j->resuming) {
        rc = load_state(j, err);
        if (rc == LLC_ERR_NOTFOUND) {
            j->resuming = 0; /* killed before its first checkpoint: start over */
            j->start = 0;
        } else if (rc) {
            return rc;
        }
    }
    /* still to allocate besides the trainer: the resume state buffer, a copy
     * of the parameters (the store's byte order), the log buffer */
    llc_train_plan *p = &j->plan;
    p->run = j->run;
    p->n_params = n_params;
    p->state_bytes = state_bytes;
    p->trainer_min = state_bytes + n_params * sizeof(float); /* without the model's workspace */
    p->data = state_bytes + n_params * sizeof(float) + (size_t)j->gap * sizeof *j->logbuf;
    for (int i = 0; i < j->n_sched; i++)
        p->n_left += j->sched[i] > j->start || (j->sched[i] == j->start && !j->resuming);
    p->ckpt_bytes = (double)n_params * sizeof(float) + 256; /* params BLOB and its row */
    p->disk = p->n_left * p->ckpt_bytes + 2.0 * (double)state_bytes + (double)(tc->steps - j->start) * 64;
    p->start = j->start;
    p->tokens_per_step = (long long)tc->batch * r->task->shape.T;
    return LLC_OK;
}

/* The warm start a config names, {"run": R, "step": S}: the step filled in
 * (the source run's last checkpoint when absent) in a copy of config.
 * *out is NULL when the config has no init_from. */
static int init_from_resolve(llc_store *store, const cJSON *config, cJSON **out, char *err)
{
    *out = NULL;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(config, "init_from");
    if (!f) return LLC_OK;
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(f, "run"), *step = cJSON_GetObjectItemCaseSensitive(f, "step");
    if (!cJSON_IsObject(f) || !cJSON_IsString(run) || (step && !cJSON_IsNumber(step)))
        return llc_fail(err, LLC_ERR_INVALID, "config: 'init_from' must be {\"run\": ID, \"step\": N} (step optional)");
    llc_run_info info = {0};
    int rc = llc_store_run_get(store, run->valuestring, &info);
    llc_run_info_free(&info);
    if (rc == LLC_ERR_NOTFOUND)
        return llc_fail(err, rc, "init_from: no run '%s' in the store (see llc runs)", run->valuestring);
    if (rc) return llc_fail(err, rc, "%s", llc_store_errmsg(store));
    long long *steps = NULL, s = step ? (long long)step->valuedouble : -1;
    int n = 0, found = 0;
    if ((rc = llc_store_checkpoint_steps(store, run->valuestring, &steps, &n)))
        return llc_fail(err, rc, "%s", llc_store_errmsg(store));
    for (int i = 0; i < n; i++) found |= steps[i] == s;
    if (!step && n > 0) s = steps[n - 1], found = 1;
    if (!found) {
        rc = n ? llc_fail(err, LLC_ERR_NOTFOUND, "init_from: run '%s' has no checkpoint at step %lld (its steps: "
                          "%lld to %lld)", run->valuestring, s, steps[0], steps[n - 1])
               : llc_fail(err, LLC_ERR_NOTFOUND, "init_from: run '%s' has no checkpoint", run->valuestring);
        free(steps);
        return rc;
    }
    free(steps);
    cJSON *c = cJSON_Duplicate(config, 1), *nf = cJSON_CreateObject();
    if (!c || !nf || !cJSON_AddStringToObject(nf, "run", run->valuestring) || !cJSON_AddNumberToObject(nf, "step", (double)s)
        || !cJSON_ReplaceItemInObjectCaseSensitive(c, "init_from", nf)) {
        cJSON_Delete(c);
        cJSON_Delete(nf);
        return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    }
    *out = c;
    return LLC_OK;
}

/* A source tensor copies into a new one when the shapes agree, or, for the
 * token rows (embed, unembed, unembed.b), when only the first dimension
 * grew: the vocabulary of the new run is larger. */
static int tensor_fits(const llc_tensor *src, const llc_tensor *dst)
{
    if (src->ndim != dst->ndim) return 0;
    int rows = strcmp(dst->name, "embed") == 0 || strcmp(dst->name, "unembed") == 0 || strcmp(dst->name, "unembed.b") == 0;
    for (int d = 0; d < dst->ndim; d++)
        if (src->shape[d] != dst->shape[d] && !(d == 0 && rows && src->shape[0] < dst->shape[0])) return 0;
    return 1;
}

static const char *shape_text(const llc_tensor *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < t->ndim && k < n; d++) k += (size_t)snprintf(buf + k, n - k, d ? ",%d" : "%d", t->shape[d]);
    if (k < n) snprintf(buf + k, n - k, ")");
    return buf;
}

/* Load the source checkpoint of a warm start and check that every tensor
 * of the new model has its counterpart (see tensor_fits). */
static int init_from_load(train_job *j, const cJSON *config, const llc_model *model, char *err)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(config, "init_from");
    const char *run = cJSON_GetObjectItemCaseSensitive(f, "run")->valuestring;
    long long step = (long long)cJSON_GetObjectItemCaseSensitive(f, "step")->valuedouble;
    llc_run_info info = {0};
    cJSON *sc = NULL;
    llc_task *st = NULL;
    int rc = llc_store_run_get(j->store, run, &info);
    if (rc) {
        rc = llc_fail(err, rc, "init_from: %s", llc_store_errmsg(j->store));
        goto cleanup;
    }
    if ((rc = llc_run_build_stored(run, info.config, &sc, &st, &j->src_model, err))) {
        char why[LLC_ERRLEN];
        snprintf(why, sizeof why, "%s", err);
        rc = llc_fail(err, rc, "init_from: %s", why);
        goto cleanup;
    }
    const llc_ptable *a = &j->src_model->table, *b = &model->table;
    char s1[64], s2[64];
    for (int i = 0; i < b->n; i++) {
        const llc_tensor *src = llc_ptable_find(a, b->t[i].name);
        if (!src) {
            rc = llc_fail(err, LLC_ERR_INVALID, "init_from: tensor '%s' %s of the new model is not in run '%s'",
                          b->t[i].name, shape_text(&b->t[i], s1, sizeof s1), run);
            goto cleanup;
        }
        if (!tensor_fits(src, &b->t[i])) {
            rc = llc_fail(err, LLC_ERR_INVALID, "init_from: tensor '%s' is %s in run '%s' but %s in the new model",
                          b->t[i].name, shape_text(src, s1, sizeof s1), run, shape_text(&b->t[i], s2, sizeof s2));
            goto cleanup;
        }
    }
    for (int i = 0; i < a->n; i++)
        if (!llc_ptable_find(b, a->t[i].name)) {
            rc = llc_fail(err, LLC_ERR_INVALID, "init_from: tensor '%s' %s of run '%s' is not in the new model",
                          a->t[i].name, shape_text(&a->t[i], s1, sizeof s1), run);
            goto cleanup;
        }
    if (!(j->src = malloc(a->n_params * sizeof *j->src))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = llc_store_checkpoint_get(j->store, run, step, j->src, a->n_params, NULL, NULL)))
        rc = llc_fail(err, rc, "init_from: run '%s' step %lld: %s", run, step, llc_store_errmsg(j->store));
cleanup:
    llc_task_free(st);
    cJSON_Delete(sc);
    llc_run_info_free(&info);
    return rc;
}

/* Copy the source parameters over the fresh init w: whole tensors, or the
 * leading rows of a grown token tensor (the new tokens' rows keep their
 * fresh init). */
static void init_from_apply(const train_job *j, const llc_model *model, float *w)
{
    const llc_ptable *a = &j->src_model->table, *b = &model->table;
    for (int i = 0; i < b->n; i++) {
        const llc_tensor *src = llc_ptable_find(a, b->t[i].name);
        memcpy(w + b->t[i].offset, j->src + src->offset, src->size * sizeof *w);
    }
}

int llc_train_run_create(llc_store *store, const char *id, const char *task, const char *config, long long n_params,
                         unsigned long long seed, const char *group, const llc_vary_kv *vary, int n_vary)
{
    int rc = group ? llc_store_begin(store) : LLC_OK;
    if (!rc) rc = llc_store_run_create(store, id, task, config, n_params, seed);
    if (!rc && group) rc = llc_store_run_tag(store, id, group, vary, n_vary);
    if (group) {
        if (!rc) rc = llc_store_commit(store);
        else llc_store_rollback(store);
    }
    return rc;
}

/* Create the run, in the store or through the sink. */
static int create_run(train_job *j, const llc_task *task, const char *config, const llc_train_run_opts *o)
{
    const long long n = (long long)j->plan.n_params;
    return j->sink ? j->sink->create(j->sink->ctx, j->run, task->name, config, n, task->seed)
                   : llc_train_run_create(j->store, j->run, task->name, config, n, task->seed, o->group, o->vary,
                                          o->n_vary);
}

/* Allocate the trainer and buffers, load the resume state, create the run
 * or mark it running, set the initial parameters. */
static int start_run(train_job *j, const cJSON *root, const char *config, const llc_train_run_opts *o,
                     llc_train_result *r, char *err)
{
    const llc_train_plan *p = &j->plan;
    int rc = llc_trainer_new(r->model, r->task, &r->tc, r->task->seed, &j->tr, err);
    if (rc == LLC_ERR_NOMEM)
        return llc_fail(err, rc, "out of memory allocating the model and its optimizer (%zu parameters, at least "
                        "%.0f MiB)", p->n_params, (double)p->trainer_min / 1048576);
    if (rc) return rc;
    j->plan.allocated = 1;
    if (o->check && o->check(p, o->ctx)) {
        r->stopped = 1;
        return LLC_OK;
    }
    j->state = malloc(p->state_bytes);
    j->logbuf = malloc((size_t)j->gap * sizeof *j->logbuf);
    if (!j->state || !j->logbuf) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    if (j->resuming) {
        if ((rc = llc_trainer_state_load(j->tr, j->old_state, j->old_bytes, err))) {
            /* a state the store handed back that does not fit is damage in the store */
            char why[LLC_ERRLEN];
            snprintf(why, sizeof why, "%s", err);
            return llc_fail(err, rc == LLC_ERR_INVALID ? LLC_ERR_STORE : rc,
                            "cannot resume run '%s': its resume state in the store is damaged: %s", j->run, why);
        }
        j->start = llc_trainer_step_index(j->tr);
    }
    if (j->exists) {
        put_status(j, "running", NULL);
    } else if ((rc = create_run(j, r->task, config, o))) {
        return llc_fail(err, rc, "cannot create run '%s': %s", j->run, store_errmsg(j));
    }
    if (j->resuming) return LLC_OK;
    const cJSON *init = cJSON_GetObjectItemCaseSensitive(root, "init");
    if (cJSON_IsString(init) && strcmp(init->valuestring, "teacher") == 0) {
        if ((rc = llc_regress_teacher(r->task, llc_trainer_params(j->tr), p->n_params, err)))
            return run_failed(j, rc, err);
    } else {
        llc_trainer_init_params(j->tr);
        if (j->src) init_from_apply(j, r->model, llc_trainer_params(j->tr));
    }
    return LLC_OK;
}

/* Evaluate and write the checkpoint at step s. */
static int write_checkpoint(train_job *j, long long s, int n_log, llc_train_result *r, char *err)
{
    double trl, tel;
    int rc;
    if ((rc = llc_trainer_eval(j->tr, llc_task_dist(r->task, "train"), &trl)) ||
        (rc = llc_trainer_eval(j->tr, llc_task_dist(r->task, "test"), &tel)))
        return run_failed(j, llc_fail(err, rc, "evaluation at step %lld failed: %s", s, llc_strerror(rc)),
                          "evaluation failed (NaN)");
    llc_trainer_state_save(j->tr, j->state, j->plan.state_bytes);
    const float *w = llc_trainer_params(j->tr);
    rc = j->sink ? j->sink->checkpoint(j->sink->ctx, j->run, s, trl, tel, w, j->plan.n_params, j->logbuf, n_log,
                                       j->state, j->plan.state_bytes)
                 : llc_store_checkpoint_put(j->store, j->run, s, trl, tel, w, j->plan.n_params, j->logbuf, n_log,
                                            j->state, j->plan.state_bytes);
    if (rc) return llc_fail(err, rc, "cannot write checkpoint %s/%lld: %s", j->run, s, store_errmsg(j));
    r->train_loss = trl;
    r->test_loss = tel;
    return LLC_OK;
}

/* The training loop from j->start to the last step. */
static int train_loop(train_job *j, const llc_train_run_opts *o, const volatile sig_atomic_t *interrupt,
                      llc_train_result *r, char *err)
{
    const llc_train_config *tc = &r->tc;
    int n_log = 0, rc;
    j->next = 0;
    while (j->next < j->n_sched && j->sched[j->next] < j->start) j->next++;
    if (j->resuming && j->next < j->n_sched && j->sched[j->next] == j->start) j->next++; /* that one is stored */
    double t0 = llc_now();
    for (long long s = j->start;; s++) {
        if (j->next < j->n_sched && j->sched[j->next] == s) {
            if ((rc = write_checkpoint(j, s, n_log, r, err))) return rc;
            n_log = 0;
            j->next++;
        }
        long long last = j->next > 0 ? j->sched[j->next - 1] : 0LL;
        if (s >= tc->steps) break;
        if (interrupt && *interrupt) { /* a safe point: the last checkpoint and its resume state are committed */
            char msg[200];
            r->signal = *interrupt;
            snprintf(msg, sizeof msg, "interrupted by %s at step %lld; resumable from step %lld",
                     r->signal == SIGINT ? "SIGINT" : r->signal == SIGTERM ? "SIGTERM" : "a signal", s, last);
            return run_failed(j, llc_fail(err, LLC_ERR_INTERRUPTED, "run '%s' %s", j->run, msg), msg);
        }
        double loss, lr, gn;
        rc = llc_trainer_step(j->tr, &loss, &lr, &gn);
        if (rc == LLC_OK && tc->max_loss > 0 && loss > tc->max_loss) rc = LLC_ERR_NUMERIC;
        if (rc) {
            char msg[200];
            snprintf(msg, sizeof msg, "training diverged at step %lld (loss %g); last good checkpoint at step %lld",
                     s, loss, last);
            return run_failed(j, llc_fail(err, rc, "run '%s': %s", j->run, msg), msg);
        }
        if (n_log < j->gap) j->logbuf[n_log++] = (llc_log_row){s, loss, lr, gn, llc_now() - t0};
        if (o->progress) o->progress(s, tc->steps, j->start, loss, llc_now() - t0, o->ctx);
    }
    r->seconds = llc_now() - t0;
    if ((rc = put_status(j, "done", NULL))) return llc_fail(err, rc, "%s", store_errmsg(j));
    return LLC_OK;
}

int llc_train_run(llc_store *store, const char *run_id, const cJSON *config, const llc_train_run_opts *opts,
                  const volatile sig_atomic_t *interrupt, llc_train_result *result, char *err)
{
    static const llc_train_run_opts none = {0};
    const llc_train_run_opts *o = opts ? opts : &none;
    train_job j = {.store = store, .run = run_id, .sink = o->sink};
    char *norm = NULL;
    cJSON *resolved = NULL;
    int live = 0, rc;
    memset(result, 0, sizeof *result);
    if (o->sink && cJSON_GetObjectItemCaseSensitive(config, "init_from")) {
        rc = llc_fail(err, LLC_ERR_INVALID, "init_from: a warm start reads its source run from the store, so it is "
                      "not trained on another rank: run this sweep without mpirun");
        goto cleanup;
    }
    if ((rc = init_from_resolve(store, config, &resolved, err))) goto cleanup;
    if (resolved) config = resolved;
    if ((rc = llc_run_build(config, &result->task, &result->model, &result->tc, err))) goto cleanup;
    if (!(norm = llc_run_config_normalised(config, result->task, result->model, &result->tc))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = plan_run(&j, norm, o, result, err)) || result->already_done) goto cleanup;
    /* one BLAS thread: at these shapes OpenBLAS's threading costs more than it gains */
    openblas_set_num_threads(1);
    result->n_sched = j.n_sched;
    if (o->check && o->check(&j.plan, o->ctx)) {
        result->stopped = 1;
        goto cleanup;
    }
    const double blob_max = (double)(o->sink ? o->sink->blob_max : llc_store_blob_max(store));
    if ((double)j.plan.state_bytes > blob_max) {
        rc = llc_fail(err, LLC_ERR_INVALID, "the model is too large for the store: its resume state is %.0f MiB, "
                      "SQLite's largest BLOB %.0f MiB; use a smaller model", (double)j.plan.state_bytes / 1048576,
                      blob_max / 1048576);
        goto cleanup;
    }
    if (resolved && !j.resuming && (rc = init_from_load(&j, config, result->model, err))) goto cleanup;
    if (o->dry_run) {
        result->stopped = 1;
        goto cleanup;
    }
    if ((rc = start_run(&j, config, norm, o, result, err)) || result->stopped) goto cleanup;
    live = 1; /* from here an error marks the run failed (not left 'running') */
    rc = train_loop(&j, o, interrupt, result, err);
cleanup:
    if (live && rc && !j.marked) { /* not left 'running' */
        char msg[200];
        snprintf(msg, sizeof msg, "stopped by an error (%s); resumable from its last checkpoint", llc_strerror(rc));
        put_status(&j, "failed", msg);
    }
    free(j.state);
    free(j.old_state);
    free(j.logbuf);
    free(j.sched);
    free(j.src);
    llc_model_free(j.src_model);
    llc_trainer_free(j.tr);
    cJSON_free(norm);
    cJSON_Delete(resolved);
    return rc;
}

void llc_train_result_free(llc_train_result *r)
{
    llc_model_free(r->model);
    llc_task_free(r->task);
    r->model = NULL;
    r->task = NULL;
}
