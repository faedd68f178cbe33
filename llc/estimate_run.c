/* estimate_run.c - the estimate sweep over a run's checkpoints x targets
 * (see llc_estimate_run.h). */
#include "llc_estimate_run.h"
#include "llc_results.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    llc_store *store;
    const llc_estimate_config *ec;
    const llc_sweep_opts *o;
    llc_sweep_result *res;
    llc_pair_cache *pairs;
    size_t n_params;
    float *w, *w_ref;
    int ref_loaded;
    int *ref_state; /* per target: 0 not yet chosen, 1 ladder eps in ref_auto, 2 Metropolis path */
    llc_eps_auto_result *ref_auto;
} sweep_job;

static void emit(sweep_job *j, llc_sweep_event e)
{
    e.done = j->res->done;
    e.skipped = j->res->skipped;
    e.total = j->res->total;
    if (j->o->on_event) j->o->on_event(&e, j->o->ctx);
}

/* Load checkpoint step into j->w; *bad the rc of an unusable one (a BLOB of
 * the wrong size: damaged, LLC_ERR_STORE; NaN/inf parameters), recorded for
 * each of its targets while the sweep goes on with the others. */
static int load_checkpoint(sweep_job *j, long long step, int *bad, char *bad_msg, char *err)
{
    const char *run = j->o->run;
    int rc = llc_store_checkpoint_get(j->store, run, step, j->w, j->n_params, NULL, NULL);
    *bad = 0;
    if (rc == LLC_ERR_INVALID || rc == LLC_ERR_NUMERIC) {
        *bad = rc == LLC_ERR_INVALID ? LLC_ERR_STORE : LLC_ERR_NUMERIC;
        snprintf(bad_msg, LLC_ERRLEN, "%s", llc_store_errmsg(j->store));
        emit(j, (llc_sweep_event){.kind = LLC_SWEEP_BAD_CHECKPOINT, .step = step, .msg = bad_msg});
        if (!j->res->first_bad) {
            j->res->first_bad = *bad;
            snprintf(j->res->first_bad_msg, sizeof j->res->first_bad_msg, "%s", bad_msg);
        }
        j->res->n_bad++;
        return LLC_OK;
    }
    if (rc) return llc_fail(err, rc, "checkpoint %s/%lld: %s", run, step, llc_store_errmsg(j->store));
    return LLC_OK;
}

/* The automatic eps of target ti, chosen at the run's last checkpoint. */
static int choose_eps(sweep_job *j, int ti, char *err)
{
    const llc_sweep_opts *o = j->o;
    int rc;
    if (!j->ref_loaded) {
        rc = llc_store_checkpoint_get(j->store, o->run, o->ref_step, j->w_ref, j->n_params, NULL, NULL);
        if (rc) /* a BLOB of the wrong size is a damaged store, not bad usage */
            return llc_fail(err, rc == LLC_ERR_INVALID ? LLC_ERR_STORE : rc,
                            "checkpoint %s/%lld, where the step size is chosen: %s (give --eps or --eps-at each)",
                            o->run, o->ref_step, llc_store_errmsg(j->store));
        j->ref_loaded = 1;
    }
    llc_estimate_config c = *j->ec;
    c.rt.target_hash = llc_seed(llc_hash_str(o->targets[ti]), LLC_PURPOSE_SGLD, (uint64_t)o->ref_step,
                                llc_hash_str(o->data), 0);
    int mh = 0;
    rc = llc_estimate_uses_metropolis(o->model, j->w_ref, &o->groups[ti], o->task, &c, &mh, err);
    if (!rc && !mh) rc = llc_eps_auto(o->model, j->w_ref, &o->groups[ti], o->task, &c, &j->ref_auto[ti], err);
    if (rc == LLC_ERR_INTERRUPTED) return rc;
    if (rc) {
        char why[LLC_ERRLEN];
        snprintf(why, sizeof why, "%s", err);
        return llc_fail(err, rc, "%s/%lld target %s: step size: %s", o->run, o->ref_step, o->targets[ti], why);
    }
    j->ref_state[ti] = mh ? 2 : 1;
    if (!mh) emit(j, (llc_sweep_event){.kind = LLC_SWEEP_EPS_CHOSEN, .step = o->ref_step, .target = o->targets[ti],
                                       .eps_auto = &j->ref_auto[ti]});
    return LLC_OK;
}

/* Estimate target ti at checkpoint si (loaded in j->w), check its bias if
 * asked, write it. */
static int one_estimate(sweep_job *j, int si, int ti, char *err)
{
    const llc_sweep_opts *o = j->o;
    const long long step = o->steps[si];
    const char *target = o->targets[ti];
    llc_estimate_config c = *j->ec;
    c.rt.target_hash = llc_seed(llc_hash_str(target), LLC_PURPOSE_SGLD, (uint64_t)step, llc_hash_str(o->data), 0);
    /* every target at this checkpoint sees the same batches (common random
     * numbers); their paired L_b(w*) are computed once */
    c.rt.data_hash = llc_seed(llc_hash_str(o->data), LLC_PURPOSE_DATA, (uint64_t)step, 0x7061697273ULL, 0);
    c.rt.pair_cache = j->pairs;
    c.rt.pair_records = ti + 1 < o->n_targets; /* base records only for targets after this one */
    const int chosen = o->per_traj && j->ref_state[ti] == 1;
    if (chosen) c.sgld.eps = j->ref_auto[ti].eps;
    llc_estimate_result *r = NULL;
    char why[LLC_ERRLEN];
    int rc = llc_estimate(o->model, j->w, &o->groups[ti], o->task, &c, &r, err);
    if (rc == LLC_ERR_INTERRUPTED) return rc;
    if (rc) {
        snprintf(why, sizeof why, "%s", err);
        return llc_fail(err, rc, "%s/%lld target %s: %s", o->run, step, target, why);
    }
    if (chosen) { /* record the choice and where it was made */
        r->eps_auto = 1;
        r->auto_eps = j->ref_auto[ti];
        snprintf(r->auto_eps.reason, sizeof r->auto_eps.reason, "chosen at step %lld: %s", o->ref_step,
                 j->ref_auto[ti].reason);
        size_t len = strlen(r->auto_eps.reason);
        if (r->retries) /* the reruns at eps/2 after diverged chains */
            snprintf(r->auto_eps.reason + len, sizeof r->auto_eps.reason - len, "; %s", r->eps_note);
    }
    if (o->check_bias) {
        c.sgld.eps = r->eps;
        if ((rc = llc_estimate_check_bias(o->model, j->w, &o->groups[ti], o->task, &c, r, err))) {
            llc_estimate_result_free(r);
            snprintf(why, sizeof why, "%s", err);
            return llc_fail(err, rc, "%s/%lld target %s: bias check: %s", o->run, step, target, why);
        }
        j->res->bias_fail += !r->bias.pass;
    }
    int negative = 0;
    if (strcmp(r->status, "ok") != 0) j->res->diverged++;
    else if ((negative = llc_results_negative(r->llc_mean, r->llc_std, r->chains))) j->res->negative++;
    rc = llc_results_put(j->store, o->run, step, target, o->data, o->settings, (long long)o->groups[ti].size, r,
                         o->force, NULL);
    if (rc && rc != LLC_ERR_EXISTS) {
        llc_estimate_result_free(r);
        return llc_fail(err, rc, "cannot write estimate: %s", llc_store_errmsg(j->store));
    }
    j->res->done++;
    emit(j, (llc_sweep_event){.kind = LLC_SWEEP_ESTIMATE, .step = step, .target = target, .result = r,
                              .negative = negative});
    llc_estimate_result_free(r);
    return LLC_OK;
}

/* Every target at checkpoint si. */
static int sweep_step(sweep_job *j, int si, char *err)
{
    const llc_sweep_opts *o = j->o;
    int loaded = 0, bad = 0, rc;
    char bad_msg[LLC_ERRLEN] = "";
    for (int ti = 0; ti < o->n_targets; ti++) {
        if (j->ec->rt.interrupt && *j->ec->rt.interrupt) return LLC_ERR_INTERRUPTED;
        if (!o->force && llc_results_find(j->store, o->run, o->steps[si], o->targets[ti], o->data, o->settings,
                                          NULL) == LLC_OK) {
            j->res->skipped++;
            continue;
        }
        if (!loaded && (rc = load_checkpoint(j, o->steps[si], &bad, bad_msg, err))) return rc;
        loaded = 1;
        if (bad) {
            rc = llc_results_put_failure(j->store, o->run, o->steps[si], o->targets[ti], o->data, o->settings,
                                         bad_msg);
            if (rc) return llc_fail(err, rc, "cannot record the failure: %s", llc_store_errmsg(j->store));
            continue;
        }
        if (o->per_traj && j->ref_state[ti] == 0 && (rc = choose_eps(j, ti, err))) return rc;
        if ((rc = one_estimate(j, si, ti, err))) return rc;
    }
    return LLC_OK;
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
    j.ref_state = calloc((size_t)o->n_targets + 1, sizeof *j.ref_state);
    j.ref_auto = calloc((size_t)o->n_targets + 1, sizeof *j.ref_auto);
    j.pairs = llc_pair_cache_new();
    if (!j.w || !j.w_ref || !j.ref_state || !j.ref_auto || !j.pairs) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    llc_pair_cache_set_limit(j.pairs, o->cache_bytes);
    for (int si = 0; si < o->n_steps && rc == LLC_OK; si++) rc = sweep_step(&j, si, err);
    result->seconds = llc_now() - t0;
cleanup:
    if (j.pairs) llc_pair_cache_stats(j.pairs, &result->pair_hits, &result->pair_misses);
    llc_pair_cache_free(j.pairs);
    free(j.w);
    free(j.w_ref);
    free(j.ref_state);
    free(j.ref_auto);
    return rc;
}
