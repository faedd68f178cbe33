/* mpi_worker.c - ranks > 0 of an MPI job (llc_mpi.h): build the run's task
 * and model from the job rank 0 sends, then compute the units it hands out
 * with the same functions one process uses (llc_sweep_choose_eps,
 * llc_sweep_estimate, llc_probe_sweep_compute, llc_train_run) and send the
 * results back. Nothing here opens the store or prints. */
#include "llc_estimate_run.h"
#include "llc_mpi.h"
#include "llc_probe_results.h"
#include "llc_run.h"
#include "llc_sweep.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    cJSON *config;
    llc_task *task;
    llc_model *model;
} worker_run;

static int build_run(const char *config, worker_run *r, char *err)
{
    return llc_run_build_stored(NULL, config, &r->config, &r->task, &r->model, err);
}

static void free_run(worker_run *r)
{
    llc_model_free(r->model);
    llc_task_free(r->task);
    cJSON_Delete(r->config);
}

static int send_pack(int tag, llc_pack *p)
{
    int rc = p->nomem ? LLC_ERR_NOMEM : llc_mpi_send(0, tag, p->b, p->n);
    llc_pack_free(p);
    return rc;
}

/* Tell rank 0 this unit failed (it stops handing out units). */
static int send_error(int rc, const char *err)
{
    llc_pack p = {0};
    llc_pack_i64(&p, rc);
    llc_pack_str(&p, err);
    return send_pack(LLC_MPI_TAG_ERROR, &p);
}

/* Say READY, then compute each UNIT rank 0 sends with fn (which sends its
 * RESULTs) and answer UNIT_DONE, or ERROR (rank 0 then stops handing out),
 * until STOP. */
static int serve_units(int (*fn)(void *ctx, llc_unpack *u, char *err), void *ctx,
                       const volatile sig_atomic_t *interrupt, char *err)
{
    int rc = llc_mpi_send(0, LLC_MPI_TAG_READY, NULL, 0);
    while (!rc) {
        int src = 0, tag = 0;
        void *buf = NULL;
        size_t n = 0;
        if ((rc = llc_mpi_recv(&src, &tag, &buf, &n, interrupt))) return llc_fail(err, rc, "waiting for rank 0");
        if (tag != LLC_MPI_TAG_UNIT) {
            free(buf);
            return tag == LLC_MPI_TAG_STOP ? LLC_OK : llc_fail(err, LLC_ERR_INVALID, "unexpected message %d", tag);
        }
        llc_unpack u = {.b = buf, .n = n};
        rc = fn(ctx, &u, err);
        free(buf);
        if (rc == LLC_ERR_INTERRUPTED) return rc;
        rc = rc ? send_error(rc, err) : llc_mpi_send(0, LLC_MPI_TAG_UNIT_DONE, NULL, 0);
    }
    return rc;
}

typedef struct {
    const llc_sweep_opts *o;
    const llc_estimate_config *ec;
    llc_pair_cache *pairs;
    size_t n_params;
} estimate_ctx;

/* One estimate unit: a step size (kind 0) or a checkpoint's targets (1). */
static int estimate_unit(void *ctx, llc_unpack *u, char *err)
{
    const estimate_ctx *x = ctx;
    const llc_sweep_opts *o = x->o;
    const llc_estimate_config *ec = x->ec;
    llc_pair_cache *pairs = x->pairs;
    const size_t n_params = x->n_params;
    const int kind = (int)llc_unpack_i64(u);
    const size_t wbytes = n_params * sizeof(float);
    llc_pack p = {0};
    int rc = LLC_OK;
    if (kind == 0) {
        const int ti = (int)llc_unpack_i64(u);
        llc_sweep_eps e;
        if (u->bad || ti < 0 || ti >= o->n_targets || u->n - u->at != wbytes)
            return llc_fail(err, LLC_ERR_INVALID, "a malformed unit");
        if ((rc = llc_sweep_choose_eps(o, ec, (const float *)(u->b + u->at), ti, &e, err))) return rc;
        llc_pack_i64(&p, 0);
        llc_pack_i64(&p, o->ref_step);
        llc_pack_i64(&p, ti);
        llc_pack_bytes(&p, &e, sizeof e);
        return send_pack(LLC_MPI_TAG_RESULT, &p);
    }
    const long long step = llc_unpack_i64(u);
    int *tis = calloc((size_t)o->n_targets + 1, sizeof *tis), nt = 0;
    llc_sweep_eps *eps = calloc((size_t)o->n_targets + 1, sizeof *eps);
    float *w = malloc(wbytes);
    if (!tis || !eps || !w) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int ti; (ti = (int)llc_unpack_i64(u)) >= 0 && !u->bad && nt < o->n_targets; nt++) {
        tis[nt] = ti < o->n_targets ? ti : 0;
        llc_unpack_bytes(u, &eps[nt], sizeof eps[nt]);
    }
    llc_unpack_bytes(u, w, wbytes);
    if (u->bad || u->at != u->n) {
        rc = llc_fail(err, LLC_ERR_INVALID, "a malformed unit");
        goto cleanup;
    }
    for (int k = 0; k < nt && !rc; k++) { /* each estimate goes back as soon as it is done */
        llc_estimate_result *r = NULL;
        if ((rc = llc_sweep_estimate(o, ec, w, step, tis[k], &eps[k], pairs, &r, err))) break;
        llc_pack_i64(&p, 1);
        llc_pack_i64(&p, step);
        llc_pack_i64(&p, tis[k]);
        llc_estimate_result_pack(&p, r);
        llc_estimate_result_free(r);
        rc = send_pack(LLC_MPI_TAG_RESULT, &p);
    }
cleanup:
    free(tis);
    free(eps);
    free(w);
    return rc;
}

static int estimate_job(llc_unpack *u, const volatile sig_atomic_t *interrupt, char *err)
{
    worker_run run = {0};
    llc_estimate_config ec;
    llc_sweep_opts o = {0};
    llc_group *groups = NULL;
    llc_pair_cache *pairs = NULL;
    const char **names = NULL;
    int ready = 0;
    int rc = build_run(llc_unpack_str(u), &run, err);
    if (rc) goto cleanup;
    llc_unpack_bytes(u, &ec, sizeof ec);
    ec.rt.pair_cache = NULL;
    ec.rt.interrupt = interrupt;
    o.run = llc_unpack_str(u);
    o.data = llc_unpack_str(u);
    o.n_targets = (int)llc_unpack_i64(u);
    if (u->bad || o.n_targets < 1 || o.n_targets > 1 << 20 ||
        !(names = calloc((size_t)o.n_targets, sizeof *names))) {
        rc = llc_fail(err, u->bad ? LLC_ERR_INVALID : LLC_ERR_NOMEM, "a malformed job");
        goto cleanup;
    }
    for (int i = 0; i < o.n_targets; i++) names[i] = llc_unpack_str(u);
    o.ref_step = llc_unpack_i64(u);
    o.per_traj = (int)llc_unpack_i64(u);
    o.check_bias = (int)llc_unpack_i64(u);
    o.cache_bytes = (size_t)llc_unpack_i64(u);
    if ((rc = llc_sweep_groups(run.model, names, o.n_targets, &groups, err))) goto cleanup;
    o.model = run.model;
    o.task = run.task;
    o.groups = groups;
    o.targets = names;
    if (!(pairs = llc_pair_cache_new())) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    llc_pair_cache_set_limit(pairs, o.cache_bytes);
    openblas_set_num_threads(1);
    estimate_ctx x = {.o = &o, .ec = &ec, .pairs = pairs, .n_params = llc_model_n_params(run.model)};
    ready = 1;
    rc = serve_units(estimate_unit, &x, interrupt, err);
cleanup:
    if (rc && rc != LLC_ERR_INTERRUPTED && !ready) send_error(rc, err); /* rank 0 then stops this job */
    llc_pair_cache_free(pairs);
    if (groups)
        for (int i = 0; i < o.n_targets; i++) llc_group_free(&groups[i]);
    free(groups);
    free(names);
    free_run(&run);
    return rc;
}

typedef struct {
    const llc_probe_sweep_config *c;
    const llc_probe_config *pc;
    llc_probe_result *last;
    float *w;
    size_t n_params;
} probe_ctx;

/* One probe unit: a checkpoint's probes, sent back as its rows. */
static int probe_unit(void *ctx, llc_unpack *u, char *err)
{
    const probe_ctx *x = ctx;
    const int64_t si = llc_unpack_i64(u);
    llc_unpack_bytes(u, x->w, x->n_params * sizeof *x->w);
    llc_probe_row *rows = NULL;
    int nr = 0, rc;
    if (u->bad || u->at != u->n) return llc_fail(err, LLC_ERR_INVALID, "a malformed unit");
    if ((rc = llc_probe_sweep_compute(x->c, x->pc, x->last, &rows, &nr, err))) return rc;
    llc_pack p = {0};
    llc_pack_i64(&p, si);
    llc_pack_i64(&p, nr);
    llc_pack_bytes(&p, rows, (size_t)nr * sizeof *rows);
    free(rows);
    return send_pack(LLC_MPI_TAG_RESULT, &p);
}

static int probe_job(llc_unpack *u, const volatile sig_atomic_t *interrupt, char *err)
{
    worker_run run = {0};
    float *w = NULL;
    llc_probe_result last = {0};
    int rc = build_run(llc_unpack_str(u), &run, err);
    if (rc) {
        send_error(rc, err);
        goto cleanup;
    }
    const llc_tf_config *tc = llc_transformer_config(run.model);
    const size_t n_params = llc_model_n_params(run.model);
    llc_probe_config pc = {.model = run.model, .task = run.task};
    pc.dist = (int)llc_unpack_i64(u);
    pc.probes = (unsigned)llc_unpack_i64(u);
    pc.n_seqs = (int)llc_unpack_i64(u);
    pc.seed = (uint64_t)llc_unpack_i64(u);
    pc.ablate_mean = (int)llc_unpack_i64(u);
    pc.repeat = (int)llc_unpack_i64(u);
    pc.own_tokens = (int)llc_unpack_i64(u);
    pc.n_threads = (int)llc_unpack_i64(u);
    llc_probe_sweep_config c = {.want = (unsigned)llc_unpack_i64(u), .n_layers = tc ? tc->n_layers : 0,
                                .n_heads = tc ? tc->n_heads : 0};
    c.sel_l = (int)llc_unpack_i64(u);
    c.sel_h = (int)llc_unpack_i64(u);
    if (u->bad || !tc || !(w = malloc(n_params * sizeof *w))) {
        rc = llc_fail(err, LLC_ERR_INVALID, "a malformed job");
        send_error(rc, err);
        goto cleanup;
    }
    pc.w = w;
    openblas_set_num_threads(1);
    probe_ctx x = {.c = &c, .pc = &pc, .last = &last, .w = w, .n_params = n_params};
    rc = serve_units(probe_unit, &x, interrupt, err);
cleanup:
    llc_probe_result_free(&last);
    free(w);
    free_run(&run);
    return rc;
}

/* ---- sweep: one training run a unit, its writes sent to rank 0 ---- */

typedef struct {
    const volatile sig_atomic_t *interrupt;
    double last; /* when progress was last sent */
} sweep_ctx;

static int sink_create(void *ctx, const char *run, const char *task, const char *config, long long n_params,
                       unsigned long long seed)
{
    llc_pack p = {0};
    llc_pack_i64(&p, LLC_SWEEP_MPI_CREATE);
    llc_pack_str(&p, task);
    llc_pack_str(&p, config);
    llc_pack_i64(&p, n_params);
    llc_pack_i64(&p, (int64_t)seed);
    return send_pack(LLC_MPI_TAG_RESULT, &p);
}

static int sink_status(void *ctx, const char *run, const char *status, const char *message)
{
    llc_pack p = {0};
    llc_pack_i64(&p, LLC_SWEEP_MPI_STATUS);
    llc_pack_str(&p, status);
    llc_pack_i64(&p, message != NULL);
    llc_pack_str(&p, message);
    return send_pack(LLC_MPI_TAG_RESULT, &p);
}

static int sink_checkpoint(void *ctx, const char *run, long long step, double train_loss, double test_loss,
                           const float *params, size_t n_params, const llc_log_row *log, int n_log, const void *state,
                           size_t state_bytes)
{
    llc_pack p = {0};
    llc_pack_i64(&p, LLC_SWEEP_MPI_CHECKPOINT);
    llc_pack_i64(&p, step);
    llc_pack_f64(&p, train_loss);
    llc_pack_f64(&p, test_loss);
    llc_pack_i64(&p, (int64_t)n_params);
    llc_pack_i64(&p, n_log);
    llc_pack_i64(&p, state ? (int64_t)state_bytes : 0);
    llc_pack_bytes(&p, params, n_params * sizeof *params);
    llc_pack_bytes(&p, log, (size_t)n_log * sizeof *log);
    if (state) llc_pack_bytes(&p, state, state_bytes);
    return send_pack(LLC_MPI_TAG_RESULT, &p);
}

/* Where the run is, a few times a second (rank 0's progress line). */
static void sweep_progress(long long step, long long steps, long long start, double loss, double elapsed, void *ctx)
{
    sweep_ctx *x = ctx;
    const double now = llc_now();
    if (now - x->last < 0.25 && step + 1 < steps) return;
    x->last = now;
    llc_pack p = {0};
    llc_pack_i64(&p, LLC_SWEEP_MPI_PROGRESS);
    llc_pack_i64(&p, step + 1);
    send_pack(LLC_MPI_TAG_RESULT, &p);
}

/* One sweep unit: train the run with no store (llc_train_sink: what rank
 * 0's store holds of it came with the unit, the writes go back to it). */
static int sweep_unit(void *ctx, llc_unpack *u, char *err)
{
    sweep_ctx *x = ctx;
    llc_train_sink sink = {.create = sink_create, .set_status = sink_status, .checkpoint = sink_checkpoint};
    llc_unpack_i64(u); /* the run's index: rank 0 knows it */
    const char *id = llc_unpack_str(u), *config = llc_unpack_str(u);
    sink.exists = (int)llc_unpack_i64(u);
    sink.config = llc_unpack_str(u);
    sink.status = llc_unpack_str(u);
    sink.has_state = (int)llc_unpack_i64(u);
    sink.state_step = llc_unpack_i64(u);
    sink.blob_max = llc_unpack_i64(u);
    sink.state = u->b + u->at;
    sink.state_bytes = u->n - u->at;
    cJSON *root = NULL;
    if (u->bad) return llc_fail(err, LLC_ERR_INVALID, "a malformed unit");
    int rc = llc_json_parse(config, "the run's config", &root, err);
    if (rc) return rc;
    llc_train_run_opts o = {.resume = 1, .progress = sweep_progress, .ctx = x, .sink = &sink};
    llc_train_result res;
    x->last = llc_now();
    if (!(rc = llc_train_run(NULL, id, root, &o, x->interrupt, &res, err))) {
        llc_pack p = {0};
        llc_pack_i64(&p, LLC_SWEEP_MPI_FINISHED);
        llc_pack_i64(&p, res.already_done);
        rc = send_pack(LLC_MPI_TAG_RESULT, &p);
    }
    llc_train_result_free(&res);
    cJSON_Delete(root);
    return rc;
}

int llc_mpi_worker(const volatile sig_atomic_t *interrupt, char *err)
{
    for (;;) {
        int src = 0, tag = 0, rc;
        void *buf = NULL;
        size_t n = 0;
        if ((rc = llc_mpi_recv(&src, &tag, &buf, &n, interrupt))) return llc_fail(err, rc, "waiting for rank 0");
        llc_unpack u = {.b = buf, .n = n};
        if (tag == LLC_MPI_TAG_JOB_ESTIMATE) rc = estimate_job(&u, interrupt, err);
        else if (tag == LLC_MPI_TAG_JOB_PROBE) rc = probe_job(&u, interrupt, err);
        else if (tag == LLC_MPI_TAG_JOB_SWEEP) {
            sweep_ctx x = {.interrupt = interrupt};
            rc = serve_units(sweep_unit, &x, interrupt, err);
        }
        free(buf);
        if (tag == LLC_MPI_TAG_QUIT) return LLC_OK;
        if (rc == LLC_ERR_INTERRUPTED) return rc;
    }
}

void llc_mpi_stop_workers(void)
{
    for (int w = 1; w < llc_mpi_size(); w++) llc_mpi_send(w, LLC_MPI_TAG_QUIT, NULL, 0);
}
