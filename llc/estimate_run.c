/* estimate_run.c - the estimate sweep over a run's checkpoints x targets
 * (see llc_estimate_run.h): a plan (what is stored already), units computed
 * without the store (a target's step size, the estimates at one checkpoint),
 * each estimate written as it comes back. One process computes the units
 * itself; under mpirun rank 0 hands them to the workers (llc/mpi_worker.c)
 * and the same compute functions run there. */
#include "llc_estimate_run.h"
#include "llc_mpi.h"
#include "llc_results.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    llc_store *store;
    const llc_estimate_config *ec;
    const llc_sweep_opts *o;
    llc_sweep_result *res;
    size_t n_params;
    float *w, *w_ref;
    int ref_loaded;
    llc_sweep_eps *eps;  /* per target */
    unsigned char *need; /* n_steps x n_targets: to compute */
    int *need_eps;       /* per target: its step size is to be chosen */
} sweep_job;

static void emit(sweep_job *j, llc_sweep_event e)
{
    e.done = j->res->done;
    e.skipped = j->res->skipped;
    e.total = j->res->total;
    if (j->o->on_event) j->o->on_event(&e, j->o->ctx);
}

int llc_sweep_groups(const llc_model *model, const char *const *names, int n, llc_group **out, char *err)
{
    llc_group *g = *out = calloc((size_t)n + 1, sizeof *g);
    if (!g) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        snprintf(g[i].name, sizeof g[i].name, "%s", names[i]);
        int rc = model->group(model, names[i], &g[i], err);
        if (rc) return rc;
        llc_group_normalize(&g[i]);
    }
    return LLC_OK;
}

/* What is to be computed: every (checkpoint, target) not stored (all with
 * force), and the targets whose step size is to be chosen for them. */
static int plan(sweep_job *j, char *err)
{
    const llc_sweep_opts *o = j->o;
    for (int si = 0; si < o->n_steps; si++)
        for (int ti = 0; ti < o->n_targets; ti++) {
            int rc = o->force ? LLC_ERR_NOTFOUND
                              : llc_results_find(j->store, o->run, o->steps[si], o->targets[ti], o->data,
                                                 o->settings, NULL);
            if (rc == LLC_OK) {
                j->res->skipped++;
                continue;
            }
            if (rc != LLC_ERR_NOTFOUND) return llc_fail(err, rc, "%s", llc_store_errmsg(j->store));
            j->need[(size_t)si * o->n_targets + ti] = 1;
            if (o->per_traj) j->need_eps[ti] = 1;
        }
    return LLC_OK;
}

/* Load checkpoint step into j->w; *bad the rc of an unusable one (a BLOB of
 * the wrong size: damaged, LLC_ERR_STORE; NaN/inf parameters), recorded as a
 * failure row for each target to compute there while the sweep goes on. */
static int load_checkpoint(sweep_job *j, int si, int *bad, char *err)
{
    const llc_sweep_opts *o = j->o;
    const long long step = o->steps[si];
    char bad_msg[LLC_ERRLEN];
    int rc = llc_store_checkpoint_get(j->store, o->run, step, j->w, j->n_params, NULL, NULL);
    *bad = 0;
    if (rc == LLC_ERR_INVALID || rc == LLC_ERR_NUMERIC) {
        *bad = rc == LLC_ERR_INVALID ? LLC_ERR_STORE : LLC_ERR_NUMERIC;
        snprintf(bad_msg, sizeof bad_msg, "%s", llc_store_errmsg(j->store));
        emit(j, (llc_sweep_event){.kind = LLC_SWEEP_BAD_CHECKPOINT, .step = step, .msg = bad_msg});
        if (!j->res->first_bad) {
            j->res->first_bad = *bad;
            snprintf(j->res->first_bad_msg, sizeof j->res->first_bad_msg, "%s", bad_msg);
        }
        j->res->n_bad++;
        for (int ti = 0; ti < o->n_targets; ti++) {
            if (!j->need[(size_t)si * o->n_targets + ti]) continue;
            rc = llc_results_put_failure(j->store, o->run, step, o->targets[ti], o->data, o->settings, bad_msg);
            if (rc) return llc_fail(err, rc, "cannot record the failure: %s", llc_store_errmsg(j->store));
        }
        return LLC_OK;
    }
    if (rc) return llc_fail(err, rc, "checkpoint %s/%lld: %s", o->run, step, llc_store_errmsg(j->store));
    return LLC_OK;
}

/* The checkpoint where step sizes are chosen, into j->w_ref. */
static int load_ref(sweep_job *j, char *err)
{
    const llc_sweep_opts *o = j->o;
    if (j->ref_loaded) return LLC_OK;
    int rc = llc_store_checkpoint_get(j->store, o->run, o->ref_step, j->w_ref, j->n_params, NULL, NULL);
    if (rc) /* a BLOB of the wrong size is a damaged store, not bad usage */
        return llc_fail(err, rc == LLC_ERR_INVALID ? LLC_ERR_STORE : rc,
                        "checkpoint %s/%lld, where the step size is chosen: %s (give --eps or --eps-at each)", o->run,
                        o->ref_step, llc_store_errmsg(j->store));
    j->ref_loaded = 1;
    return LLC_OK;
}

int llc_sweep_choose_eps(const llc_sweep_opts *o, const llc_estimate_config *ec, const float *w_ref, int ti,
                         llc_sweep_eps *out, char *err)
{
    llc_estimate_config c = *ec;
    c.rt.target_hash = llc_seed(llc_hash_str(o->targets[ti]), LLC_PURPOSE_SGLD, (uint64_t)o->ref_step,
                             llc_hash_str(o->data), 0);
    int mh = 0;
    memset(out, 0, sizeof *out);
    int rc = llc_estimate_uses_metropolis(o->model, w_ref, &o->groups[ti], o->task, &c, &mh, err);
    if (!rc && mh == 2) c.metropolis = LLC_MH_OFF; /* on minibatches: the plain ladder, which caps it */
    if (!rc && mh != 1) rc = llc_eps_auto(o->model, w_ref, &o->groups[ti], o->task, &c, &out->aut, err);
    if (rc == LLC_ERR_INTERRUPTED) return rc;
    if (rc) {
        char why[LLC_ERRLEN];
        snprintf(why, sizeof why, "%s", err);
        return llc_fail(err, rc, "%s/%lld target %s: step size: %s", o->run, o->ref_step, o->targets[ti], why);
    }
    out->state = mh == 1 ? 2 : mh == 2 ? 3 : 1;
    return LLC_OK;
}

int llc_sweep_estimate(const llc_sweep_opts *o, const llc_estimate_config *ec, const float *w, long long step,
                       int ti, const llc_sweep_eps *eps, llc_pair_cache *pairs, llc_estimate_result **out, char *err)
{
    const char *target = o->targets[ti];
    llc_estimate_config c = *ec;
    *out = NULL;
    c.rt.target_hash = llc_seed(llc_hash_str(target), LLC_PURPOSE_SGLD, (uint64_t)step, llc_hash_str(o->data), 0);
    /* every target at this checkpoint sees the same batches (common random
     * numbers); their paired L_b(w*) are computed once */
    c.rt.data_hash = llc_seed(llc_hash_str(o->data), LLC_PURPOSE_DATA, (uint64_t)step, 0x7061697273ULL, 0);
    c.rt.pair_cache = pairs;
    c.rt.pair_records = ti + 1 < o->n_targets; /* base records only for targets after this one */
    const int chosen = o->per_traj && eps && eps->state == 1;
    if (chosen) c.sgld.eps = eps->aut.eps;
    char cap_why[LLC_REASON_LEN + 64];
    if (o->per_traj && eps && eps->state == 3) { /* Metropolis on minibatches: the ladder's eps caps it */
        snprintf(cap_why, sizeof cap_why, "chosen at step %lld: %s", o->ref_step, eps->aut.reason);
        c.rt.mh_cap = eps->aut.eps;
        c.rt.mh_cap_reason = cap_why;
    }
    llc_estimate_result *r = NULL;
    char why[LLC_ERRLEN];
    int rc = llc_estimate(o->model, w, &o->groups[ti], o->task, &c, &r, err);
    if (rc == LLC_ERR_INTERRUPTED) return rc;
    if (rc) {
        snprintf(why, sizeof why, "%s", err);
        return llc_fail(err, rc, "%s/%lld target %s: %s", o->run, step, target, why);
    }
    if (chosen) { /* record the choice and where it was made */
        r->eps_auto = 1;
        r->auto_eps = eps->aut;
        char note[LLC_REASON_LEN + 64];
        int k = snprintf(note, sizeof note, "chosen at step %lld: %s", o->ref_step, eps->aut.reason);
        if (r->retries && k > 0 && (size_t)k < sizeof note) /* the reruns at eps/2 after diverged chains */
            snprintf(note + k, sizeof note - (size_t)k, "; %s", r->eps_note);
        size_t len = strlen(note);
        if (len >= sizeof r->auto_eps.reason) len = sizeof r->auto_eps.reason - 1; /* cut as before */
        memcpy(r->auto_eps.reason, note, len);
        r->auto_eps.reason[len] = '\0';
    }
    if (o->check_bias) {
        c.sgld.eps = r->eps;
        if ((rc = llc_estimate_check_bias(o->model, w, &o->groups[ti], o->task, &c, r, err))) {
            llc_estimate_result_free(r);
            snprintf(why, sizeof why, "%s", err);
            return llc_fail(err, rc, "%s/%lld target %s: bias check: %s", o->run, step, target, why);
        }
    }
    *out = r;
    return LLC_OK;
}

/* A target's step size, chosen (here or by a worker). */
static void record_eps(sweep_job *j, int ti, const llc_sweep_eps *e)
{
    j->eps[ti] = *e;
    j->res->units++;
    j->res->unit_seconds += e->aut.seconds;
    if (e->state == 1 || e->state == 3)
        emit(j, (llc_sweep_event){.kind = LLC_SWEEP_EPS_CHOSEN, .step = j->o->ref_step, .target = j->o->targets[ti],
                                  .eps_auto = &j->eps[ti].aut});
}

/* Write estimate r of target ti at step (one transaction) and count it. */
static int write_estimate(sweep_job *j, long long step, int ti, const llc_estimate_result *r, char *err)
{
    const llc_sweep_opts *o = j->o;
    int negative = 0;
    if (o->check_bias) j->res->bias_fail += !r->bias.pass;
    if (strcmp(r->status, "ok") != 0) j->res->diverged++;
    else if ((negative = llc_results_negative(r->llc_mean, r->llc_std, r->chains))) j->res->negative++;
    const double t0 = llc_now();
    int rc = llc_results_put(j->store, o->run, step, o->targets[ti], o->data, o->settings,
                             (long long)o->groups[ti].size, r, o->force, NULL);
    j->res->write_seconds += llc_now() - t0;
    j->res->writes++;
    j->res->unit_seconds += r->seconds;
    if (rc && rc != LLC_ERR_EXISTS) return llc_fail(err, rc, "cannot write estimate: %s", llc_store_errmsg(j->store));
    j->res->done++;
    emit(j, (llc_sweep_event){.kind = LLC_SWEEP_ESTIMATE, .step = step, .target = o->targets[ti], .result = r,
                              .negative = negative});
    return LLC_OK;
}

/* One process: every unit computed here, in order. */
static int run_local(sweep_job *j, char *err)
{
    const llc_sweep_opts *o = j->o;
    int rc = LLC_OK;
    llc_pair_cache *pairs = llc_pair_cache_new();
    if (!pairs) return llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    llc_pair_cache_set_limit(pairs, o->cache_bytes);
    for (int ti = 0; ti < o->n_targets && !rc; ti++) {
        llc_sweep_eps e;
        if (!j->need_eps[ti]) continue;
        if (!(rc = load_ref(j, err)) && !(rc = llc_sweep_choose_eps(o, j->ec, j->w_ref, ti, &e, err)))
            record_eps(j, ti, &e);
    }
    for (int si = 0; si < o->n_steps && !rc; si++) {
        int any = 0, bad = 0;
        for (int ti = 0; ti < o->n_targets; ti++) any |= j->need[(size_t)si * o->n_targets + ti];
        if (!any || (rc = load_checkpoint(j, si, &bad, err)) || bad) continue;
        j->res->units++;
        for (int ti = 0; ti < o->n_targets && !rc; ti++) {
            if (!j->need[(size_t)si * o->n_targets + ti]) continue;
            if (j->ec->rt.interrupt && *j->ec->rt.interrupt) {
                rc = LLC_ERR_INTERRUPTED;
                break;
            }
            llc_estimate_result *r = NULL;
            if (!(rc = llc_sweep_estimate(o, j->ec, j->w, o->steps[si], ti, &j->eps[ti], pairs, &r, err)))
                rc = write_estimate(j, o->steps[si], ti, r, err);
            llc_estimate_result_free(r);
        }
    }
    llc_pair_cache_stats(pairs, &j->res->pair_hits, &j->res->pair_misses);
    llc_pair_cache_free(pairs);
    return rc;
}

/* The job every worker builds its side from (llc/mpi_worker.c reads it). */
static int send_job(const sweep_job *j, char *err)
{
    const llc_sweep_opts *o = j->o;
    llc_pack p = {0};
    int rc = LLC_OK;
    llc_pack_str(&p, o->config);
    llc_pack_bytes(&p, j->ec, sizeof *j->ec);
    llc_pack_str(&p, o->run);
    llc_pack_str(&p, o->data);
    llc_pack_i64(&p, o->n_targets);
    for (int ti = 0; ti < o->n_targets; ti++) llc_pack_str(&p, o->targets[ti]);
    llc_pack_i64(&p, o->ref_step);
    llc_pack_i64(&p, o->per_traj);
    llc_pack_i64(&p, o->check_bias);
    llc_pack_i64(&p, (int64_t)o->cache_bytes);
    if (p.nomem) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int w = 1; w < llc_mpi_size() && !rc; w++)
        if ((rc = llc_mpi_send(w, LLC_MPI_TAG_JOB_ESTIMATE, p.b, p.n)))
            llc_fail(err, rc, "cannot send the job to rank %d", w);
    llc_pack_free(&p);
    return rc;
}

/* Whether target ti's step size is known (or not needed). */
static int eps_ready(const sweep_job *j, int ti) { return !j->need_eps[ti] || j->eps[ti].state != 0; }

/* Hand worker w its next unit: a step size while any is left to hand out,
 * then the first checkpoint with targets to do whose step size is known
 * (all of them once every step size is in: targets left out go in a later
 * unit of the same checkpoint, so no worker idles at the end of the step
 * sizes); *sent 0 when there is nothing to hand out now. */
static int dispatch(sweep_job *j, int w, int *next_eps, int *next_si, int *sent, char *err)
{
    const llc_sweep_opts *o = j->o;
    const int nt = o->n_targets;
    llc_pack p = {0};
    int rc = LLC_OK;
    *sent = 0;
    while (*next_eps < nt && !j->need_eps[*next_eps]) (*next_eps)++;
    if (*next_eps < nt) {
        if ((rc = load_ref(j, err))) return rc;
        llc_pack_i64(&p, 0);
        llc_pack_i64(&p, (*next_eps)++);
        llc_pack_bytes(&p, j->w_ref, j->n_params * sizeof *j->w_ref);
    }
    for (int si = *next_si; si < o->n_steps && !p.n && !rc; si++) {
        unsigned char *nd = &j->need[(size_t)si * nt];
        int any = 0, ready = 0, bad = 0;
        for (int ti = 0; ti < nt; ti++) {
            any |= nd[ti];
            ready |= nd[ti] && eps_ready(j, ti);
        }
        if (!any && si == *next_si) (*next_si)++; /* every target handed out */
        if (!ready || (rc = load_checkpoint(j, si, &bad, err))) continue;
        if (bad) { /* recorded by load_checkpoint */
            memset(nd, 0, (size_t)nt);
            continue;
        }
        llc_pack_i64(&p, 1);
        llc_pack_i64(&p, o->steps[si]);
        for (int ti = 0; ti < nt; ti++)
            if (nd[ti] && eps_ready(j, ti)) {
                llc_pack_i64(&p, ti);
                llc_pack_bytes(&p, &j->eps[ti], sizeof j->eps[ti]);
                nd[ti] = 0;
            }
        llc_pack_i64(&p, -1);
        llc_pack_bytes(&p, j->w, j->n_params * sizeof *j->w);
        j->res->units++;
    }
    if (!rc && p.nomem) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    if (!rc && p.n) {
        if ((rc = llc_mpi_send(w, LLC_MPI_TAG_UNIT, p.b, p.n))) llc_fail(err, rc, "cannot send a unit to rank %d", w);
        else *sent = 1;
    }
    llc_pack_free(&p);
    return rc;
}

/* A worker's RESULT: a step size or one estimate. */
static int take_result(sweep_job *j, const void *buf, size_t n, int *eps_left, char *err)
{
    llc_unpack u = {.b = buf, .n = n};
    const int kind = (int)llc_unpack_i64(&u);
    const long long step = llc_unpack_i64(&u);
    const int ti = (int)llc_unpack_i64(&u);
    if (u.bad || ti < 0 || ti >= j->o->n_targets) return llc_fail(err, LLC_ERR_INVALID, "a malformed result message");
    if (kind == 0) {
        llc_sweep_eps e;
        llc_unpack_bytes(&u, &e, sizeof e);
        if (u.bad) return llc_fail(err, LLC_ERR_INVALID, "a malformed result message");
        record_eps(j, ti, &e);
        (*eps_left)--;
        return LLC_OK;
    }
    llc_estimate_result *r = NULL;
    int rc = llc_estimate_result_unpack(&u, &r);
    if (rc) return llc_fail(err, rc, "a malformed result message");
    rc = write_estimate(j, step, ti, r, err);
    llc_estimate_result_free(r);
    return rc;
}

/* Rank 0 of an MPI job: units to the workers as they free up (dynamic),
 * results written as they arrive. After a worker's error no unit is handed
 * out; the others finish theirs (written) and the error is returned. */
static int run_mpi(sweep_job *j, char *err)
{
    const llc_sweep_opts *o = j->o;
    const int W = llc_mpi_size() - 1;
    int rc = send_job(j, err), failed = 0, write_failed = 0, active = W, next_eps = 0, next_si = 0, eps_left = 0;
    char first_err[LLC_ERRLEN] = "";
    double bytes0, seconds0;
    llc_mpi_stats(&bytes0, &seconds0);
    int *parked = calloc((size_t)W + 1, sizeof *parked), n_parked = 0;
    if (!parked && !rc) rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
    for (int ti = 0; ti < o->n_targets; ti++) eps_left += j->need_eps[ti];
    while (!rc && active > 0) {
        int src = 0, tag = 0, sent = 0;
        void *buf = NULL;
        size_t n = 0;
        if ((rc = llc_mpi_recv(&src, &tag, &buf, &n, j->ec->rt.interrupt))) {
            llc_fail(err, rc, "%s", rc == LLC_ERR_INTERRUPTED ? LLC_MPI_STOPPED : "cannot receive from the workers");
            break;
        }
        const int before = eps_left;
        if (tag == LLC_MPI_TAG_RESULT && !write_failed) { /* after a worker's error too: nothing lost */
            if ((rc = take_result(j, buf, n, &eps_left, err))) {
                write_failed = rc;
                if (!failed) snprintf(first_err, sizeof first_err, "%s", err);
                failed = rc;
            }
            rc = 0;
        } else if (tag == LLC_MPI_TAG_ERROR) {
            llc_unpack u = {.b = buf, .n = n};
            const int wrc = (int)llc_unpack_i64(&u);
            if (!failed) {
                failed = wrc ? wrc : LLC_ERR_INVALID;
                snprintf(first_err, sizeof first_err, "rank %d: %s", src, llc_unpack_str(&u));
            }
        }
        if (tag == LLC_MPI_TAG_READY || tag == LLC_MPI_TAG_UNIT_DONE || tag == LLC_MPI_TAG_ERROR) {
            if (!failed && !(rc = dispatch(j, src, &next_eps, &next_si, &sent, err)) && !sent &&
                eps_left > 0)
                parked[n_parked++] = src;
            else if (!rc && !sent) {
                rc = llc_mpi_send(src, LLC_MPI_TAG_STOP, NULL, 0);
                active--;
            }
        }
        if (n_parked && (eps_left < before || failed)) { /* a step size came in, or the end */
            int keep = 0;
            for (int k = 0; k < n_parked && !rc; k++) {
                if (!failed && ((rc = dispatch(j, parked[k], &next_eps, &next_si, &sent, err)) || sent)) continue;
                if (!failed && eps_left > 0) parked[keep++] = parked[k];
                else if (!(rc = llc_mpi_send(parked[k], LLC_MPI_TAG_STOP, NULL, 0))) active--;
            }
            n_parked = keep;
        }
        free(buf);
    }
    free(parked);
    llc_mpi_stats(&j->res->msg_bytes, &j->res->msg_seconds);
    j->res->msg_bytes -= bytes0;
    j->res->msg_seconds -= seconds0;
    if (!rc && failed) rc = llc_fail(err, failed, "%s", first_err);
    return rc;
}

int llc_estimate_sweep(llc_store *store, const llc_estimate_config *ec, const llc_sweep_opts *o,
                       llc_sweep_result *result, char *err)
{
    sweep_job j = {.store = store, .ec = ec, .o = o, .res = result};
    int rc = LLC_OK;
    memset(result, 0, sizeof *result);
    result->total = o->n_steps * o->n_targets;
    double t0 = llc_now();
    /* BLAS single-threaded: parallelism is across chains, and the numbers
     * must not depend on how OpenBLAS would split a matmul over threads */
    openblas_set_num_threads(1);
    j.n_params = llc_model_n_params(o->model);
    j.w = malloc(j.n_params * sizeof *j.w);
    j.w_ref = malloc(j.n_params * sizeof *j.w_ref);
    j.eps = calloc((size_t)o->n_targets + 1, sizeof *j.eps);
    j.need = calloc((size_t)o->n_steps * o->n_targets + 1, 1);
    j.need_eps = calloc((size_t)o->n_targets + 1, sizeof *j.need_eps);
    if (!j.w || !j.w_ref || !j.eps || !j.need || !j.need_eps) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = plan(&j, err))) goto cleanup;
    rc = llc_mpi_size() > 1 ? run_mpi(&j, err) : run_local(&j, err);
    result->seconds = llc_now() - t0;
cleanup:
    free(j.w);
    free(j.w_ref);
    free(j.eps);
    free(j.need);
    free(j.need_eps);
    return rc;
}

/* The result's fixed part as bytes, then its arrays (native layout: the
 * same binary at both ends). */
int llc_estimate_result_pack(llc_pack *p, const llc_estimate_result *r)
{
    const size_t nc = (size_t)r->chains, nt = nc * (size_t)r->draws;
    llc_pack_bytes(p, r, sizeof *r);
    llc_pack_str(p, r->status);
    llc_pack_i64(p, r->chain_mala != NULL);
    llc_pack_bytes(p, r->chain_llc, nc * sizeof *r->chain_llc);
    llc_pack_bytes(p, r->chain_diverged, nc * sizeof *r->chain_diverged);
    llc_pack_bytes(p, r->chain_diverged_at, nc * sizeof *r->chain_diverged_at);
    if (r->chain_mala) llc_pack_bytes(p, r->chain_mala, nc * sizeof *r->chain_mala);
    llc_pack_bytes(p, r->trace, nt * sizeof *r->trace);
    llc_pack_bytes(p, r->chain_burnin, nc * sizeof *r->chain_burnin);
    llc_pack_bytes(p, r->chain_thin, nc * sizeof *r->chain_thin);
    return p->nomem ? LLC_ERR_NOMEM : LLC_OK;
}

int llc_estimate_result_unpack(llc_unpack *u, llc_estimate_result **out)
{
    llc_estimate_result *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return LLC_ERR_NOMEM;
    llc_unpack_bytes(u, r, sizeof *r);
    r->cfg.rt.pair_cache = NULL;
    r->cfg.rt.interrupt = NULL;
    r->status = strcmp(llc_unpack_str(u), "ok") == 0 ? "ok" : "diverged";
    const int has_mala = (int)llc_unpack_i64(u);
    r->chain_llc = NULL, r->chain_diverged = NULL, r->chain_diverged_at = NULL, r->chain_mala = NULL;
    r->trace = NULL, r->chain_burnin = NULL, r->chain_thin = NULL;
    if (u->bad || r->chains < 0 || r->draws < 0 || r->chains > 1 << 20 || r->draws > 1 << 28) {
        free(r);
        return LLC_ERR_INVALID;
    }
    const size_t nc = (size_t)r->chains, nt = nc * (size_t)r->draws;
    r->chain_llc = malloc(nc * sizeof *r->chain_llc + 1);
    r->chain_diverged = malloc(nc * sizeof *r->chain_diverged + 1);
    r->chain_diverged_at = malloc(nc * sizeof *r->chain_diverged_at + 1);
    r->chain_mala = has_mala ? malloc(nc * sizeof *r->chain_mala + 1) : NULL;
    r->trace = malloc(nt * sizeof *r->trace + 1);
    r->chain_burnin = malloc(nc * sizeof *r->chain_burnin + 1);
    r->chain_thin = malloc(nc * sizeof *r->chain_thin + 1);
    if (!r->chain_llc || !r->chain_diverged || !r->chain_diverged_at || (has_mala && !r->chain_mala) || !r->trace ||
        !r->chain_burnin || !r->chain_thin) {
        llc_estimate_result_free(r);
        return LLC_ERR_NOMEM;
    }
    llc_unpack_bytes(u, r->chain_llc, nc * sizeof *r->chain_llc);
    llc_unpack_bytes(u, r->chain_diverged, nc * sizeof *r->chain_diverged);
    llc_unpack_bytes(u, r->chain_diverged_at, nc * sizeof *r->chain_diverged_at);
    if (has_mala) llc_unpack_bytes(u, r->chain_mala, nc * sizeof *r->chain_mala);
    llc_unpack_bytes(u, r->trace, nt * sizeof *r->trace);
    llc_unpack_bytes(u, r->chain_burnin, nc * sizeof *r->chain_burnin);
    llc_unpack_bytes(u, r->chain_thin, nc * sizeof *r->chain_thin);
    if (u->bad) {
        llc_estimate_result_free(r);
        return LLC_ERR_INVALID;
    }
    *out = r;
    return LLC_OK;
}
