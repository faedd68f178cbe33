/* sweep.c - plan a sweep's runs and train them (see llc_sweep.h). */
#include "llc_sweep.h"
#include "llc_mpi.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- --vary ---- */

/* Append a copy of s[0..n) to the axis' typed values. */
static int axis_add(llc_sweep_axis *a, const char *s, size_t n)
{
    char **grown = realloc(a->text, (size_t)(a->n + 1) * sizeof *grown);
    if (!grown) return LLC_ERR_NOMEM;
    a->text = grown;
    if (!(a->text[a->n] = malloc(n + 1))) return LLC_ERR_NOMEM;
    memcpy(a->text[a->n], s, n);
    a->text[a->n++][n] = 0;
    return LLC_OK;
}

/* 1 and the bounds if s[0..n) is "A..B" with integers A and B. */
static int is_range(const char *s, size_t n, long long *lo, long long *hi)
{
    char buf[64], *end;
    if (n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *dots = strstr(buf, "..");
    if (!dots || dots == buf || !dots[2]) return 0;
    *dots = 0;
    errno = 0;
    *lo = strtoll(buf, &end, 10);
    if (*end || errno) return 0;
    *hi = strtoll(dots + 2, &end, 10);
    return !*end && !errno;
}

/* The value's JSON text as llc_config_set puts it into a config. */
static int value_json(const char *key, const char *text, char **out, char *err)
{
    cJSON *tmp = cJSON_CreateObject();
    char *assign = malloc(strlen(key) + strlen(text) + 2);
    int rc = LLC_OK;
    *out = NULL;
    if (!tmp || !assign) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    sprintf(assign, "%s=%s", key, text);
    if ((rc = llc_config_set(tmp, assign, err))) goto cleanup;
    const cJSON *v = tmp->child;
    if (cJSON_IsObject(v) && v->child) v = v->child; /* a section: its one key */
    if (!v || !(*out = cJSON_PrintUnformatted(v))) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
cleanup:
    free(assign);
    cJSON_Delete(tmp);
    return rc;
}

int llc_sweep_axis_parse(const char *arg, llc_sweep_axis *a, char *err)
{
    memset(a, 0, sizeof *a);
    const char *eq = strchr(arg, '=');
    int rc = LLC_OK;
    if (!eq || eq == arg) {
        rc = llc_fail(err, LLC_ERR_INVALID, "--vary '%s': expected key=V1,V2,... or key=A..B, e.g. --vary seed=1..3",
                      arg);
        goto cleanup;
    }
    if (!(a->key = malloc((size_t)(eq - arg) + 1))) goto nomem;
    memcpy(a->key, arg, (size_t)(eq - arg));
    a->key[eq - arg] = 0;
    /* split at top-level commas: a JSON value keeps its own */
    const char *p = eq + 1, *start = p;
    int depth = 0, quoted = 0;
    for (;; p++) {
        if (quoted) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') quoted = 0;
            else if (!*p) break;
            continue;
        }
        if (*p == '"') quoted = 1;
        else if (*p == '[' || *p == '{') depth++;
        else if ((*p == ']' || *p == '}') && depth > 0) depth--;
        if (*p && (*p != ',' || depth > 0)) continue;
        size_t n = (size_t)(p - start);
        long long lo, hi;
        if (n == 0) {
            rc = llc_fail(err, LLC_ERR_INVALID, "--vary '%s': an empty value (two commas, or one at an end)", arg);
            goto cleanup;
        }
        if (is_range(start, n, &lo, &hi)) {
            if (lo > hi) {
                rc = llc_fail(err, LLC_ERR_INVALID, "--vary '%s': the range %lld..%lld is empty (write it low..high)",
                              arg, lo, hi);
                goto cleanup;
            }
            if (hi - lo >= 100000) {
                rc = llc_fail(err, LLC_ERR_INVALID, "--vary '%s': the range has more than 100000 values", arg);
                goto cleanup;
            }
            for (long long v = lo; v <= hi; v++) {
                char num[32];
                if (axis_add(a, num, (size_t)snprintf(num, sizeof num, "%lld", v))) goto nomem;
            }
        } else if (axis_add(a, start, n)) {
            goto nomem;
        }
        if (!*p) break;
        start = p + 1;
    }
    if (quoted || depth) {
        rc = llc_fail(err, LLC_ERR_INVALID, "--vary '%s': an unclosed %s", arg, quoted ? "quote" : "bracket");
        goto cleanup;
    }
    if (!(a->json = calloc((size_t)a->n, sizeof *a->json))) goto nomem;
    for (int i = 0; i < a->n && !rc; i++) rc = value_json(a->key, a->text[i], &a->json[i], err);
    goto cleanup;
nomem:
    rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
cleanup:
    if (rc) llc_sweep_axis_free(a);
    return rc;
}

void llc_sweep_axis_free(llc_sweep_axis *a)
{
    if (!a) return;
    free(a->key);
    for (int i = 0; i < a->n; i++) {
        free(a->text[i]);
        if (a->json) cJSON_free(a->json[i]);
    }
    free(a->text);
    free(a->json);
    memset(a, 0, sizeof *a);
}

/* ---- the plan ---- */

/* The name of axis k in run ids: the key's last part, or the whole key
 * ('.' as '_') when another axis shares that last part; alphanumerics and
 * '_' only. */
static void axis_name(const llc_sweep_plan *p, int k, char *out, size_t size)
{
    const char *key = p->axes[k].key, *dot = strrchr(key, '.');
    const char *last = dot ? dot + 1 : key;
    for (int j = 0; j < p->n_axes; j++) {
        const char *o = p->axes[j].key, *od = strrchr(o, '.');
        if (j != k && strcmp(od ? od + 1 : o, last) == 0) last = key;
    }
    size_t n = 0;
    for (const char *c = last; *c && n + 1 < size; c++)
        if (isalnum((unsigned char)*c) || *c == '_' || *c == '.') out[n++] = *c == '.' ? '_' : *c;
    out[n] = 0;
}

/* The value in run ids: as typed when short and id-safe, else its position. */
static void value_token(const llc_sweep_axis *a, int i, char *out, size_t size)
{
    const char *t = a->text[i];
    int plain = strlen(t) <= 16;
    for (const char *c = t; plain && *c; c++) plain = isalnum((unsigned char)*c) || strchr("._-", *c);
    if (plain) snprintf(out, size, "%s", t);
    else snprintf(out, size, "%d", i);
}

/* Build run r (index idx[] into each axis) of the plan. */
static int plan_one(llc_sweep_plan *p, const cJSON *base, const int *idx, llc_sweep_run *r, char *err)
{
    char id[256];
    size_t k = (size_t)snprintf(id, sizeof id, "%s", p->group);
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_train_config tc;
    int rc = LLC_OK;
    if (!(r->config = cJSON_Duplicate(base, 1)) || !(r->vary = calloc((size_t)p->n_axes, sizeof *r->vary)))
        return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int a = 0; a < p->n_axes; a++) {
        const llc_sweep_axis *ax = &p->axes[a];
        char name[64], tok[32], *assign;
        axis_name(p, a, name, sizeof name);
        value_token(ax, idx[a], tok, sizeof tok);
        if (k < sizeof id) k += (size_t)snprintf(id + k, sizeof id - k, "-%s%s", name, tok);
        r->vary[a] = (llc_vary_kv){ax->key, ax->json[idx[a]]};
        if (!(assign = malloc(strlen(ax->key) + strlen(ax->text[idx[a]]) + 2)))
            return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        sprintf(assign, "%s=%s", ax->key, ax->text[idx[a]]);
        rc = llc_config_set(r->config, assign, err);
        free(assign);
        if (rc) return rc;
    }
    if (!llc_run_id_valid(id))
        return llc_fail(err, LLC_ERR_INVALID, "the run id '%.80s' would be %zu characters, at most 64 are allowed: "
                        "use a shorter --group or fewer --vary keys", id, strlen(id));
    if (!(r->id = strdup(id)) || !(r->config_json = cJSON_PrintUnformatted(r->config)))
        return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    char why[LLC_ERRLEN];
    if ((rc = llc_run_build(r->config, &task, &model, &tc, why)))
        llc_fail(err, rc, "sweep run %s: %s", id, why);
    else
        r->steps = tc.steps;
    llc_model_free(model);
    llc_task_free(task);
    return rc;
}

/* The group's spec: the base config normalised, and the varied keys. */
static int plan_spec(llc_sweep_plan *p, const cJSON *base, char *err)
{
    llc_task *task = NULL;
    llc_model *model = NULL;
    llc_train_config tc;
    char *norm = NULL, why[LLC_ERRLEN];
    cJSON *spec = NULL, *keys;
    int rc = llc_run_build(base, &task, &model, &tc, why);
    if (rc) {
        llc_fail(err, rc, "the sweep's base config: %s", why);
        goto cleanup;
    }
    if (!(norm = llc_run_config_normalised(base, task, model, &tc)) || !(spec = cJSON_CreateObject()) ||
        !cJSON_AddItemToObject(spec, "base", cJSON_Parse(norm)) || !(keys = cJSON_AddArrayToObject(spec, "vary"))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int a = 0; a < p->n_axes; a++) cJSON_AddItemToArray(keys, cJSON_CreateString(p->axes[a].key));
    if (!(p->spec = cJSON_PrintUnformatted(spec))) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
cleanup:
    cJSON_Delete(spec);
    cJSON_free(norm);
    llc_model_free(model);
    llc_task_free(task);
    return rc;
}

int llc_sweep_plan_make(const cJSON *base, const char *group, const char *const *vary, int n_vary,
                        llc_sweep_plan *p, char *err)
{
    int rc = LLC_OK, *idx = NULL;
    memset(p, 0, sizeof *p);
    if (!group || !llc_run_id_valid(group) || strlen(group) > 32) {
        rc = llc_fail(err, LLC_ERR_INVALID, "group name '%s' is invalid: use 1-32 letters, digits, '_', '-' or '.'",
                      group ? group : "");
        goto cleanup;
    }
    if (n_vary < 1) {
        rc = llc_fail(err, LLC_ERR_INVALID, "a sweep needs at least one --vary key=V1,V2,...");
        goto cleanup;
    }
    if (!(p->group = strdup(group)) || !(p->axes = calloc((size_t)n_vary, sizeof *p->axes)) ||
        !(idx = calloc((size_t)n_vary, sizeof *idx))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    long long total = 1;
    for (int a = 0; a < n_vary; a++) {
        if ((rc = llc_sweep_axis_parse(vary[a], &p->axes[a], err))) goto cleanup;
        p->n_axes++;
        for (int b = 0; b < a; b++)
            if (strcmp(p->axes[a].key, p->axes[b].key) == 0) {
                rc = llc_fail(err, LLC_ERR_INVALID, "--vary: key '%s' is varied twice; give all its values in one "
                              "--vary", p->axes[a].key);
                goto cleanup;
            }
        total *= p->axes[a].n;
        if (total > 10000) {
            rc = llc_fail(err, LLC_ERR_INVALID, "the sweep has more than 10000 runs: vary fewer values");
            goto cleanup;
        }
    }
    if ((rc = plan_spec(p, base, err))) goto cleanup;
    if (!(p->runs = calloc((size_t)total, sizeof *p->runs))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (long long r = 0; r < total; r++) {
        long long q = r; /* the first axis varies slowest */
        for (int a = p->n_axes - 1; a >= 0; a--) {
            idx[a] = (int)(q % p->axes[a].n);
            q /= p->axes[a].n;
        }
        p->n_runs++;
        if ((rc = plan_one(p, base, idx, &p->runs[r], err))) goto cleanup;
        for (long long o = 0; o < r; o++)
            if (strcmp(p->runs[o].id, p->runs[r].id) == 0) {
                rc = llc_fail(err, LLC_ERR_INVALID, "two runs of the sweep would both be '%s': a value is given twice",
                              p->runs[r].id);
                goto cleanup;
            }
    }
cleanup:
    free(idx);
    if (rc) llc_sweep_plan_free(p);
    return rc;
}

void llc_sweep_plan_free(llc_sweep_plan *p)
{
    if (!p) return;
    for (int i = 0; p->runs && i < p->n_runs; i++) {
        free(p->runs[i].id);
        cJSON_Delete(p->runs[i].config);
        cJSON_free(p->runs[i].config_json);
        free(p->runs[i].vary);
    }
    for (int a = 0; p->axes && a < p->n_axes; a++) llc_sweep_axis_free(&p->axes[a]);
    free(p->runs);
    free(p->axes);
    free(p->group);
    cJSON_free(p->spec);
    memset(p, 0, sizeof *p);
}

int llc_sweep_prepare(llc_store *store, const llc_sweep_plan *p, char *err)
{
    int rc = llc_sweep_check(store, p, err);
    if (!rc && (rc = llc_store_group_put(store, p->group, p->spec))) llc_fail(err, rc, "%s", llc_store_errmsg(store));
    return rc;
}

int llc_sweep_check(llc_store *store, const llc_sweep_plan *p, char *err)
{
    char *spec = NULL, *grp = NULL;
    int rc = llc_store_group_get(store, p->group, &spec);
    if (rc == LLC_OK && strcmp(spec, p->spec) != 0) {
        rc = llc_fail(err, LLC_ERR_INVALID, "group '%s' exists with other settings (the base config or the varied "
                      "keys differ): use another --group, or the command that made it", p->group);
        goto cleanup;
    }
    if (rc != LLC_OK && rc != LLC_ERR_NOTFOUND) {
        llc_fail(err, rc, "%s", llc_store_errmsg(store));
        goto cleanup;
    }
    for (int i = 0; i < p->n_runs; i++) {
        llc_run_info info = {0};
        rc = llc_store_run_get(store, p->runs[i].id, &info);
        llc_run_info_free(&info);
        if (rc == LLC_ERR_NOTFOUND) continue;
        if (!rc) rc = llc_store_run_group(store, p->runs[i].id, &grp);
        if (rc) {
            llc_fail(err, rc, "%s", llc_store_errmsg(store));
            goto cleanup;
        }
        if (!grp || strcmp(grp, p->group) != 0) {
            rc = llc_fail(err, LLC_ERR_EXISTS, "run '%s' exists and is not in group '%s' (%s%s): use another --group",
                          p->runs[i].id, p->group, grp ? "it is in group " : "it has no group", grp ? grp : "");
            goto cleanup;
        }
        free(grp);
        grp = NULL;
    }
    rc = LLC_OK;
cleanup:
    free(spec);
    free(grp);
    return rc;
}

int llc_sweep_train_one(llc_store *store, const llc_sweep_plan *p, int i, const llc_train_run_opts *opts,
                        volatile sig_atomic_t *interrupt, llc_train_result *result, char *err)
{
    llc_train_run_opts o = {0};
    if (opts) o = *opts;
    o.resume = 1;
    o.group = p->group;
    o.vary = p->runs[i].vary;
    o.n_vary = p->n_axes;
    return llc_train_run(store, p->runs[i].id, p->runs[i].config, &o, interrupt, result, err);
}

/* ---- training on threads ---- */

typedef struct {
    const char *db_path;
    const llc_sweep_plan *plan;
    llc_sweep_progress_fn progress;
    void *ctx;
    volatile sig_atomic_t *interrupt;
    pthread_mutex_t lock;
    int next, rc;
    long long *steps_done; /* per run */
    long long steps_total;
    llc_sweep_status st;
    char err[LLC_ERRLEN];
} sweep_pool;

typedef struct {
    sweep_pool *pool;
    int run;
} step_ctx;

/* Report where the sweep is (pool locked). */
static void report(sweep_pool *pl)
{
    pl->st.steps_done = 0;
    for (int i = 0; i < pl->plan->n_runs; i++) pl->st.steps_done += pl->steps_done[i];
    pl->st.steps_total = pl->steps_total;
    if (pl->progress) pl->progress(&pl->st, pl->ctx);
}

static void step_progress(long long s, long long steps, long long start, double loss, double elapsed, void *ctx)
{
    (void)steps, (void)start, (void)loss, (void)elapsed;
    step_ctx *c = ctx;
    pthread_mutex_lock(&c->pool->lock);
    c->pool->steps_done[c->run] = s + 1;
    report(c->pool);
    pthread_mutex_unlock(&c->pool->lock);
}

/* Record the first failure (pool locked). */
static void pool_fail(sweep_pool *pl, int rc, const char *msg)
{
    if (pl->rc) return;
    pl->rc = rc;
    snprintf(pl->err, sizeof pl->err, "%s", msg);
}

static void *sweep_worker(void *arg)
{
    sweep_pool *pl = arg;
    llc_store *store = NULL;
    char err[LLC_ERRLEN];
    int rc = llc_store_open(pl->db_path, LLC_STORE_RW, &store, err);
    pthread_mutex_lock(&pl->lock);
    if (rc) pool_fail(pl, rc, err);
    while (!pl->rc && pl->next < pl->plan->n_runs && !(pl->interrupt && *pl->interrupt)) {
        step_ctx c = {pl, pl->next++};
        pl->st.n_running++;
        pthread_mutex_unlock(&pl->lock);
        llc_train_result res;
        llc_train_run_opts o = {.progress = step_progress, .ctx = &c};
        rc = llc_sweep_train_one(store, pl->plan, c.run, &o, pl->interrupt, &res, err);
        pthread_mutex_lock(&pl->lock);
        pl->st.n_running--;
        if (rc) {
            pl->st.n_failed++;
            pool_fail(pl, rc, err);
        } else {
            pl->st.n_done++;
            pl->st.n_skipped += res.already_done;
            pl->steps_done[c.run] = pl->plan->runs[c.run].steps;
        }
        report(pl);
        llc_train_result_free(&res);
    }
    pthread_mutex_unlock(&pl->lock);
    llc_store_close(store);
    return NULL;
}

/* ---- training on the worker ranks of an MPI job ---- */

/* Hand run i to worker w: the run's plan and what the store holds of it
 * (its row, its resume state unless done), for llc_train_sink. */
static int send_run(llc_store *store, const llc_sweep_plan *p, int i, int w, char *err)
{
    const char *id = p->runs[i].id;
    llc_run_info info = {0};
    void *state = NULL;
    size_t bytes = 0;
    long long step = 0;
    llc_pack pk = {0};
    int rc = llc_store_run_get(store, id, &info), exists = rc == LLC_OK, has_state = 0;
    if (rc == LLC_ERR_NOTFOUND) rc = LLC_OK;
    if (!rc && exists && strcmp(info.status, "done") != 0) {
        rc = llc_store_train_state_get(store, id, &step, &state, &bytes);
        has_state = rc == LLC_OK;
        if (rc == LLC_ERR_NOTFOUND) rc = LLC_OK;
    }
    if (rc) {
        llc_fail(err, rc, "run %s: %s", id, llc_store_errmsg(store));
        goto cleanup;
    }
    llc_pack_i64(&pk, i);
    llc_pack_str(&pk, id);
    llc_pack_str(&pk, p->runs[i].config_json);
    llc_pack_i64(&pk, exists);
    llc_pack_str(&pk, info.config);
    llc_pack_str(&pk, info.status);
    llc_pack_i64(&pk, has_state);
    llc_pack_i64(&pk, step);
    llc_pack_i64(&pk, llc_store_blob_max(store));
    llc_pack_bytes(&pk, state, bytes);
    if (pk.nomem) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    else if ((rc = llc_mpi_send(w, LLC_MPI_TAG_UNIT, pk.b, pk.n))) llc_fail(err, rc, "cannot send a run to rank %d", w);
cleanup:
    llc_pack_free(&pk);
    llc_run_info_free(&info);
    free(state);
    return rc;
}

/* A checkpoint a worker sent: written as llc_train_run writes one. */
static int put_checkpoint(llc_store *store, const char *id, llc_unpack *u)
{
    const long long step = llc_unpack_i64(u);
    const double trl = llc_unpack_f64(u), tel = llc_unpack_f64(u);
    const int64_t n = llc_unpack_i64(u), n_log = llc_unpack_i64(u), bytes = llc_unpack_i64(u);
    const uint64_t want = (uint64_t)n * sizeof(float) + (uint64_t)n_log * sizeof(llc_log_row) + (uint64_t)bytes;
    if (u->bad || n < 0 || n_log < 0 || bytes < 0 || (uint64_t)(u->n - u->at) != want) return LLC_ERR_INVALID;
    float *w = malloc((size_t)n * sizeof *w + 1);
    llc_log_row *log = malloc((size_t)n_log * sizeof *log + 1);
    void *state = malloc((size_t)bytes + 1);
    int rc = LLC_ERR_NOMEM;
    if (w && log && state) {
        llc_unpack_bytes(u, w, (size_t)n * sizeof *w);
        llc_unpack_bytes(u, log, (size_t)n_log * sizeof *log);
        llc_unpack_bytes(u, state, (size_t)bytes);
        rc = llc_store_checkpoint_put(store, id, step, trl, tel, w, (size_t)n, log, (int)n_log, bytes ? state : NULL,
                                      (size_t)bytes);
    }
    free(w);
    free(log);
    free(state);
    return rc;
}

/* A RESULT of the run worker is training (index i): a write, applied to
 * the store, or where the run is. */
static int take_write(llc_store *store, sweep_pool *pl, int i, const void *buf, size_t n, char *err)
{
    const llc_sweep_plan *p = pl->plan;
    const char *id = p->runs[i].id;
    llc_unpack u = {.b = buf, .n = n};
    const int kind = (int)llc_unpack_i64(&u);
    int rc = LLC_OK;
    if (kind == LLC_SWEEP_MPI_CREATE) {
        const char *task = llc_unpack_str(&u), *config = llc_unpack_str(&u);
        const long long n_params = llc_unpack_i64(&u);
        const unsigned long long seed = (unsigned long long)llc_unpack_i64(&u);
        if (!u.bad)
            rc = llc_train_run_create(store, id, task, config, n_params, seed, p->group, p->runs[i].vary, p->n_axes);
    } else if (kind == LLC_SWEEP_MPI_STATUS) {
        const char *status = llc_unpack_str(&u);
        const int has_msg = (int)llc_unpack_i64(&u);
        const char *msg = llc_unpack_str(&u);
        if (!u.bad) rc = llc_store_run_set_status(store, id, status, has_msg ? msg : NULL);
    } else if (kind == LLC_SWEEP_MPI_CHECKPOINT) {
        if ((rc = put_checkpoint(store, id, &u)) == LLC_ERR_INVALID) u.bad = 1;
    } else if (kind == LLC_SWEEP_MPI_PROGRESS) {
        pl->steps_done[i] = llc_unpack_i64(&u);
        report(pl);
    } else if (kind == LLC_SWEEP_MPI_FINISHED) {
        const int already = (int)llc_unpack_i64(&u);
        pl->st.n_done++;
        pl->st.n_skipped += already;
        pl->steps_done[i] = p->runs[i].steps;
    } else {
        u.bad = 1;
    }
    if (u.bad) return llc_fail(err, LLC_ERR_INVALID, "run %s: a malformed message from its rank", id);
    if (rc == LLC_ERR_NOMEM) return llc_fail(err, rc, "run %s: out of memory", id);
    if (rc) return llc_fail(err, rc, "run %s: %s", id, llc_store_errmsg(store));
    return LLC_OK;
}

/* Rank 0: runs to the workers as they free up, their writes applied as
 * they arrive (each checkpoint in its own transaction). After a failure
 * no run is handed out; the others finish theirs, written. The failure
 * goes to pl (pool_fail). */
static void train_mpi(sweep_pool *pl)
{
    char err[LLC_ERRLEN] = "";
    const llc_sweep_plan *p = pl->plan;
    const int W = llc_mpi_size() - 1;
    llc_store *store = NULL;
    int *unit_of = calloc((size_t)W + 1, sizeof *unit_of), active = 0, failed = 0, write_failed = 0;
    int rc = unit_of ? llc_store_open(pl->db_path, LLC_STORE_RW, &store, err)
                     : llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    char first_err[LLC_ERRLEN] = "";
    pl->st.n_ranks = W;
    for (int w = 1; w <= W && !rc; w++, active++)
        if ((rc = llc_mpi_send(w, LLC_MPI_TAG_JOB_SWEEP, NULL, 0))) llc_fail(err, rc, "cannot send the job to rank %d", w);
    while (!rc && active > 0) {
        int src = 0, tag = 0;
        void *buf = NULL;
        size_t n = 0;
        if ((rc = llc_mpi_recv(&src, &tag, &buf, &n, pl->interrupt))) {
            llc_fail(err, rc, "%s", rc == LLC_ERR_INTERRUPTED ? LLC_MPI_STOPPED : "cannot receive from the workers");
            break;
        }
        if (src < 1 || src > W) src = 0; /* never: only workers send */
        const int run = src ? unit_of[src] - 1 : -1;
        if (tag == LLC_MPI_TAG_RESULT && run >= 0 && !write_failed) {
            if ((write_failed = take_write(store, pl, run, buf, n, err)) && !failed) {
                failed = write_failed;
                snprintf(first_err, sizeof first_err, "%s", err);
            }
        } else if (tag == LLC_MPI_TAG_ERROR) {
            llc_unpack u = {.b = buf, .n = n};
            const int wrc = (int)llc_unpack_i64(&u);
            pl->st.n_failed++;
            if (!failed) {
                failed = wrc ? wrc : LLC_ERR_INVALID;
                snprintf(first_err, sizeof first_err, "%s", llc_unpack_str(&u));
            }
        }
        if (src && (tag == LLC_MPI_TAG_READY || tag == LLC_MPI_TAG_UNIT_DONE || tag == LLC_MPI_TAG_ERROR)) {
            if (unit_of[src]) pl->st.n_running--;
            unit_of[src] = 0;
            if (!failed && pl->next < p->n_runs) {
                if (!(rc = send_run(store, p, pl->next, src, err))) {
                    unit_of[src] = ++pl->next;
                    pl->st.n_running++;
                }
            } else if (!(rc = llc_mpi_send(src, LLC_MPI_TAG_STOP, NULL, 0))) {
                active--;
            }
            report(pl);
        }
        free(buf);
    }
    llc_store_close(store);
    free(unit_of);
    if (rc) pool_fail(pl, rc, err);
    else if (failed) pool_fail(pl, failed, first_err);
}

int llc_sweep_train_all(const char *db_path, const llc_sweep_plan *p, int jobs, llc_sweep_progress_fn progress,
                  void *ctx, volatile sig_atomic_t *interrupt, llc_sweep_status *status, char *err)
{
    sweep_pool pl = {.db_path = db_path, .plan = p, .progress = progress, .ctx = ctx, .interrupt = interrupt};
    pthread_t *th = NULL;
    int n_started = 0, rc = LLC_OK;
    if (jobs < 1) jobs = 1;
    if (jobs > p->n_runs) jobs = p->n_runs;
    pl.st.n_runs = p->n_runs;
    if (!(pl.steps_done = calloc((size_t)p->n_runs + 1, sizeof *pl.steps_done)) ||
        !(th = calloc((size_t)jobs + 1, sizeof *th))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < p->n_runs; i++) pl.steps_total += p->runs[i].steps;
    if (llc_mpi_size() > 1) {
        train_mpi(&pl);
    } else {
        pthread_mutex_init(&pl.lock, NULL);
        for (int t = 0; t < jobs; t++) {
            if (pthread_create(&th[t], NULL, sweep_worker, &pl) != 0) break;
            n_started++;
        }
        if (n_started == 0) sweep_worker(&pl); /* no thread to be had: this one works */
        for (int t = 0; t < n_started; t++) pthread_join(th[t], NULL);
        pthread_mutex_destroy(&pl.lock);
    }
    if ((rc = pl.rc)) llc_fail(err, rc, "%s", pl.err);
    else if (interrupt && *interrupt && pl.st.n_done < p->n_runs)
        rc = llc_fail(err, LLC_ERR_INTERRUPTED, "sweep '%s' interrupted with %d of %d runs done", p->group,
                      pl.st.n_done, p->n_runs);
    if (status) *status = pl.st;
cleanup:
    free(pl.steps_done);
    free(th);
    return rc;
}
