/* util.c - option parsing, exit codes, progress, store and run set-up. */
#include "cli.h"
#include "llc_mpi.h"
#include "llc_regress.h"
#include "llc_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_exit_code(int rc)
{
    switch (rc) {
    case LLC_OK: return EXIT_OK;
    case LLC_ERR_NOMEM: return EXIT_NOMEM;
    case LLC_ERR_INVALID: return EXIT_USAGE;
    case LLC_ERR_IO: return EXIT_IO;
    case LLC_ERR_STORE: return EXIT_STORE;
    case LLC_ERR_NOTFOUND: return EXIT_NOTFOUND;
    case LLC_ERR_EXISTS: return EXIT_EXISTS;
    case LLC_ERR_NUMERIC: return EXIT_NUMERIC;
    case LLC_ERR_SCHEMA: return EXIT_SCHEMA;
    case LLC_ERR_INTERRUPTED: return EXIT_INTERRUPTED;
    default: return EXIT_STORE;
    }
}

int cli_error(int code, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* "train: train: steps ..." (the command's prefix on a library message
     * that names the same section) is said once */
    const char *m = msg, *colon = strstr(msg, ": ");
    size_t k = colon ? (size_t)(colon - msg) + 2 : 0;
    if (k > 2 && k < 40 && !memchr(msg, ' ', k - 2) && strncmp(msg + k, msg, k) == 0) m += k;
    fprintf(stderr, "llc: %s\n", m);
    return code;
}

static const cli_optdef *find_def(const cli_optdef *defs, const char *name, size_t len)
{
    for (const cli_optdef *d = defs; d && d->name; d++)
        if (strlen(d->name) == len && strncmp(d->name, name, len) == 0) return d;
    return NULL;
}

static void print_usage(const char *usage, const cli_optdef *defs)
{
    fputs(usage, stdout);
    printf("\nOptions:\n");
    for (const cli_optdef *d = defs; d && d->name; d++)
        if (d->help) printf("  --%-14s %s\n", d->name, d->help); /* no help: a hidden option */
    printf("  --%-14s %s\n  --%-14s %s\n  %-16s %s\n", "quiet", "no progress on stderr", "help",
           "this text", "-v", "more detail");
}

int cli_parse(cli_args *a, const char *cmd, const char *usage, const cli_optdef *defs, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->defs = defs;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(usage, defs);
            return -1;
        }
        if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) { a->quiet = 1; continue; }
        if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) { a->verbose++; continue; }
        if (strncmp(arg, "--", 2) != 0)
            return cli_error(EXIT_USAGE, "%s: unexpected argument '%s' (options start with --; see llc %s --help)",
                             cmd, arg, cmd);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_optdef *d = find_def(defs, name, len);
        if (!d)
            return cli_error(EXIT_USAGE, "%s: unknown option '--%.*s' (see llc %s --help)", cmd, (int)len, name, cmd);
        const char *val = NULL;
        if (d->takes_value) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else return cli_error(EXIT_USAGE, "%s: option --%s needs a value", cmd, d->name);
        } else if (eq) {
            return cli_error(EXIT_USAGE, "%s: option --%s takes no value", cmd, d->name);
        }
        if (a->n >= CLI_MAX_OPTS) return cli_error(EXIT_USAGE, "%s: too many options", cmd);
        a->name[a->n] = d->name;
        a->value[a->n] = val ? val : "";
        a->n++;
    }
    return 0;
}

const char *cli_get(const cli_args *a, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->name[i], name) == 0) v = a->value[i];
    return v;
}

int cli_has(const cli_args *a, const char *name) { return cli_get(a, name) != NULL; }

const char *cli_get_nth(const cli_args *a, const char *name, int k)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->name[i], name) == 0 && k-- == 0) return a->value[i];
    return NULL;
}

int cli_get_ll(const cli_args *a, const char *name, long long def, long long lo, long long hi, long long *out)
{
    const char *v = cli_get(a, name);
    *out = def;
    if (!v) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!errno && end != v && (*end == 'e' || *end == 'E' || *end == '.')) {
        /* an integer written as a number: 1e3, 2.5e4, 100.0 */
        double d = strtod(v, &end);
        int whole = !*end && d == floor(d) && d >= -9e18 && d <= 9e18;
        x = whole ? (long long)d : x;
        if (!whole) errno = EINVAL;
    }
    if (errno || end == v || *end || x < lo || x > hi)
        return cli_error(EXIT_USAGE, "%s: --%s must be an integer in [%lld, %lld], got '%s'", a->cmd, name, lo, hi, v);
    *out = x;
    return 0;
}

int cli_get_double(const cli_args *a, const char *name, double def, double lo, double hi, double *out)
{
    const char *v = cli_get(a, name);
    *out = def;
    if (!v) return 0;
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return cli_error(EXIT_USAGE, "%s: --%s must be a number in [%g, %g], got '%s'", a->cmd, name, lo, hi, v);
    *out = x;
    return 0;
}

const char *cli_db_path(const cli_args *a)
{
    const char *p = cli_get(a, "db");
    if (p && *p) return p;
    p = getenv("LLC_DB");
    if (p && *p) return p;
    return "llc.db";
}

int cli_open_store(const cli_args *a, int flags, llc_store **out)
{
    char err[LLC_ERRLEN] = "";
    const char *path = cli_db_path(a);
    int rc = llc_store_open(path, flags, out, err);
    /* a store of an OLDER schema is upgraded by its first read-write open;
     * a reading command upgrades it too when the file is writable, so that
     * `llc runs` works right after an upgrade of llc */
    if (rc == LLC_ERR_SCHEMA && (flags & LLC_STORE_READONLY) && strstr(err, "older than") &&
        access(path, W_OK) == 0) {
        llc_store *rw = NULL;
        char err2[LLC_ERRLEN] = "";
        if (llc_store_open(path, flags & ~LLC_STORE_READONLY, &rw, err2) == LLC_OK) {
            llc_store_close(rw);
            err[0] = 0;
            rc = llc_store_open(path, flags, out, err);
        }
    }
    if (rc) return cli_error(cli_exit_code(rc), "%s", err[0] ? err : llc_strerror(rc));
    /* under mpirun rank 0 writes every result as it arrives: make sure now
     * that it can (a store on a file system without working locks fails
     * here, not after hours of work) */
    if (!(flags & LLC_STORE_READONLY) && llc_mpi_size() > 1) {
        if ((rc = llc_store_begin(*out)))
            return cli_error(cli_exit_code(rc), "%s: cannot lock the store %s for writing (%s); under mpirun rank 0 "
                             "writes every result as it arrives: give it a store no other process writes, on a "
                             "file system with working locks (its local disk)", a->cmd, path,
                             llc_store_errmsg(*out));
        llc_store_rollback(*out);
    }
    return 0;
}

int cli_data_path(const char *rel, char *out, size_t n)
{
    char base[4096];
    for (int i = 0; llc_data_dir(i, base, sizeof base); i++) {
        if (!base[0]) continue;
        snprintf(out, n, "%s/%s", base, rel);
        if (access(out, R_OK) == 0) return 0;
    }
    return -1;
}

char *cli_read_file(const char *path, size_t *len, char *why)
{
    char *buf = NULL;
    size_t n = 0;
    struct stat sb;
    FILE *f = fopen(path, "rb");
    if (!f) {
        llc_fail(why, LLC_ERR_IO, "%s", strerror(errno));
        return NULL;
    }
    /* a device or a pipe could stream without end: only regular files, capped */
    if (fstat(fileno(f), &sb) != 0) {
        llc_fail(why, LLC_ERR_IO, "%s", strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        llc_fail(why, LLC_ERR_IO, "not a regular file");
    } else if (sb.st_size > CLI_FILE_MAX) {
        llc_fail(why, LLC_ERR_IO, "%lld bytes, more than the %d allowed", (long long)sb.st_size, CLI_FILE_MAX);
    } else if (!(buf = malloc((size_t)sb.st_size + 2))) {
        llc_fail(why, LLC_ERR_NOMEM, "out of memory");
    } else {
        /* one byte more than stat said, to see a file that grew meanwhile */
        n = fread(buf, 1, (size_t)sb.st_size + 1, f);
        if (ferror(f)) llc_fail(why, LLC_ERR_IO, "%s", strerror(errno ? errno : EIO));
        else if (n > (size_t)sb.st_size) llc_fail(why, LLC_ERR_IO, "the file changed while it was read");
        if (ferror(f) || n > (size_t)sb.st_size) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* What a failed write or rename means, in words. */
static const char *write_problem(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT: return "disk full";
    case EFBIG: return "disk full (file size limit reached)";
    case ENOENT: return "no such directory";
    case EROFS: return "read-only file system";
    default: return strerror(e);
    }
}

int cli_finish_stdout(int code)
{
    int e = fflush(stdout) != 0 ? errno : 0;
    int bad = ferror(stdout) || e;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad) return code;
    cli_error(EXIT_IO, "cannot write the output to stdout: %s", write_problem(e ? e : EIO));
    return code ? code : EXIT_IO;
}

int cli_out_open(cli_outfile *o, const char *cmd, const char *path, int binary)
{
    struct stat sb;
    memset(o, 0, sizeof *o);
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cli_error(EXIT_IO, "%s: cannot write '%s': not a regular file (give a file path)", cmd, path);
    size_t n = strlen(path);
    if (!(o->tmp = malloc(n + 16)) || !(o->path = strdup(path))) {
        cli_out_abort(o);
        return cli_error(EXIT_NOMEM, "%s: out of memory", cmd);
    }
    snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        cli_out_abort(o);
        return cli_error(EXIT_IO, "%s: cannot write '%s': %s", cmd, path, write_problem(e));
    }
    /* mkstemp makes 0600; an output file gets the usual permissions */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    if (!(o->f = fdopen(fd, binary ? "wb" : "w"))) {
        int e = errno;
        close(fd);
        cli_out_abort(o);
        return cli_error(EXIT_IO, "%s: cannot write '%s': %s", cmd, path, write_problem(e));
    }
    return 0;
}

void cli_out_finish(cli_outfile *o)
{
    if (!o->f) return;
    /* a write that failed just before left its errno */
    int e = fflush(o->f) != 0 ? errno : 0;
    if (!e && ferror(o->f)) e = errno ? errno : EIO;
    if (fclose(o->f) != 0 && !e) e = errno ? errno : EIO;
    o->f = NULL;
    o->err = e;
}

int cli_out_close(cli_outfile *o, const char *cmd)
{
    cli_out_finish(o);
    int e = o->err;
    if (!e && rename(o->tmp, o->path) != 0) e = errno;
    if (!e) {
        free(o->tmp);
        o->tmp = NULL;
        cli_out_abort(o);
        return 0;
    }
    int code = cli_error(EXIT_IO, "%s: cannot write '%s': %s (nothing written)", cmd, o->path, write_problem(e));
    cli_out_abort(o);
    return code;
}

void cli_out_abort(cli_outfile *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
}

void cli_progress_start(cli_progress *p, const cli_args *a, const char *what)
{
    /* under mpirun rank 0's stderr is a pipe: whole lines every few seconds
     * instead of a line redrawn in place */
    p->on = a->quiet ? 0 : isatty(2) ? 1 : llc_mpi_size() > 1 ? 2 : 0;
    p->t0 = p->last = llc_now();
    p->what = what;
}

void cli_progress_update(cli_progress *p, double done, double total, const char *fmt, ...)
{
    if (!p->on) return;
    double now = llc_now();
    if (now - p->last < (p->on == 2 ? 5.0 : 0.2) && done < total) return;
    p->last = now;
    double el = now - p->t0, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    char extra[200] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(extra, sizeof extra, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s%s %.0f/%.0f (%.0f%%) %s  %.1f/s  ETA %.0fs%s", p->on == 1 ? "\r\033[K" : "", p->what, done,
            total, total > 0 ? 100 * done / total : 100.0, extra, rate, eta, p->on == 1 ? "" : "\n");
    fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
    if (p->on == 1) fprintf(stderr, "\r\033[K");
}

volatile sig_atomic_t cli_signal_caught = 0;

static void on_signal(int sig)
{
    if (cli_signal_caught) { /* the second: end now (the signal is delivered when the handler returns) */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    cli_signal_caught = sig;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

const char *cli_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

long cli_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* See cli.h. */
int cli_select_steps(const char *cmd, const char *spec, const long long *all, int n_all, long long **out, int *n)
{
    long long *sel = malloc((size_t)(n_all > 0 ? n_all : 1) * sizeof *sel);
    *n = 0;
    if (!sel) return cli_error(EXIT_NOMEM, "%s: out of memory", cmd);
    char *end;
    if (!spec) {
        memcpy(sel, all, (size_t)n_all * sizeof *sel);
        *n = n_all;
    } else if (strncmp(spec, "every:", 6) == 0) {
        long k = strtol(spec + 6, &end, 10);
        if (end == spec + 6 || *end || k < 1) {
            free(sel);
            return cli_error(EXIT_USAGE, "%s: --steps every:K needs K >= 1, got '%s'", cmd, spec);
        }
        for (int i = 0; i < n_all; i += (int)k) sel[(*n)++] = all[i];
        if (*n && sel[*n - 1] != all[n_all - 1]) sel[(*n)++] = all[n_all - 1]; /* always the last one */
    } else if (strchr(spec, ':')) {
        long long a = strtoll(spec, &end, 10);
        if (end == spec || *end != ':') goto bad;
        const char *p = end + 1;
        long long b = *p ? strtoll(p, &end, 10) : (long long)9e18;
        if (*p && (end == p || *end)) goto bad;
        for (int i = 0; i < n_all; i++)
            if (all[i] >= a && all[i] <= b) sel[(*n)++] = all[i];
    } else {
        const char *p = spec;
        while (*p) {
            long long v = strtoll(p, &end, 10);
            if (end == p || (*end && *end != ',')) goto bad;
            int found = 0;
            for (int i = 0; i < n_all; i++) found |= all[i] == v;
            if (!found) {
                free(sel);
                return cli_error(EXIT_NOTFOUND, "%s: the run has no checkpoint at step %lld (see llc show)", cmd, v);
            }
            int dup = 0;
            for (int i = 0; i < *n; i++) dup |= sel[i] == v;
            if (!dup && *n < n_all) sel[(*n)++] = v;
            p = *end ? end + 1 : end;
        }
    }
    if (*n == 0) {
        free(sel);
        return cli_error(EXIT_NOTFOUND, "%s: --steps '%s' selects no checkpoint of the run", cmd, spec ? spec : "");
    }
    *out = sel;
    return 0;
bad:
    free(sel);
    return cli_error(EXIT_USAGE, "%s: --steps must be A:B, every:K or a list like 100,200,400; got '%s'", cmd, spec);
}

/* Levenshtein distance of two short keys (longer ones count as far apart). */
static int edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 63 || nb > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[nb];
}

static int key_in(const char *const *list, const char *key)
{
    for (; list && *list; list++)
        if (strcmp(*list, key) == 0) return 1;
    return 0;
}

/* See cli.h. */
int cli_check_set_key(const char *cmd, const char *task_name, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) return 0; /* llc_config_set explains the form */
    char key[128];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key || memchr(assignment, '.', klen)) return 0; /* section.key: its section judges */
    memcpy(key, assignment, klen);
    key[klen] = 0;
    if (key_in(llc_model_keys, key) || key_in(llc_train_keys, key) || !strcmp(key, "seed") || !strcmp(key, "task"))
        return 0;
    /* the task's data keys: those of its settings with every default filled in */
    char err[LLC_ERRLEN];
    llc_task *t = NULL;
    if (!task_name || llc_task_new(task_name, NULL, 0, &t, err) != LLC_OK) return 0; /* the build will say why */
    cJSON *js = llc_task_settings_json(t);
    int found = (js && cJSON_GetObjectItemCaseSensitive(js, key) != NULL) || key_in(t->optional_keys, key);
    int best = 99;
    char best_key[96] = "";
    for (const cJSON *c = js ? js->child : NULL; !found && c; c = c->next) {
        int d = c->string ? edit_distance(key, c->string) : 99;
        if (d < best) { best = d; snprintf(best_key, sizeof best_key, "data.%s", c->string); }
    }
    for (const char *const *k = t->optional_keys; !found && k && *k; k++) {
        int d = edit_distance(key, *k);
        if (d < best) { best = d; snprintf(best_key, sizeof best_key, "data.%s", *k); }
    }
    cJSON_Delete(js);
    llc_task_free(t);
    if (found) return 0;
    const char *const *lists[2] = {llc_model_keys, llc_train_keys};
    for (int l = 0; l < 2; l++)
        for (const char *const *k = lists[l]; *k; k++) {
            int d = edit_distance(key, *k);
            if (d < best) { best = d; snprintf(best_key, sizeof best_key, "%s.%s", l ? "train" : "model", *k); }
        }
    int close = best * 3 <= (int)klen + 1;
    return cli_error(EXIT_USAGE, "%s: unknown key '%s' in --set %s: not a key of model, train or the data of task %s%s%s%s",
                     cmd, key, assignment, task_name, close ? " (did you mean " : "", close ? best_key : "",
                     close ? "?)" : "");
}

int cli_valid_head(const char *s)
{
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    if (*p++ != '.' || !isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    return *p == 0;
}

int cli_find_run(const cli_args *a, int flags, const char *run, cli_run *r)
{
    r->id = run;
    int code = cli_open_store(a, flags, &r->store), rc;
    if (code) return code;
    if ((rc = llc_store_run_get(r->store, run, &r->info)))
        return rc == LLC_ERR_NOTFOUND
                   ? cli_error(EXIT_NOTFOUND, "%s: no run '%s' in %s (see llc runs)", a->cmd, run, cli_db_path(a))
                   : cli_error(cli_exit_code(rc), "%s: %s", a->cmd, llc_store_errmsg(r->store));
    return 0;
}

int cli_open_run(const cli_args *a, int flags, const char *run, cli_run *r)
{
    char err[LLC_ERRLEN] = "";
    int code = cli_find_run(a, flags, run, r), rc;
    if (code) return code;
    if ((rc = llc_run_build_stored(run, r->info.config, &r->config, &r->task, &r->model, err)))
        return cli_error(cli_exit_code(rc), "%s: %s", a->cmd, err);
    r->n_params = llc_model_n_params(r->model);
    return 0;
}

int cli_run_weights(const cli_args *a, cli_run *r)
{
    if (!r->w && !(r->w = malloc((r->n_params ? r->n_params : 1) * sizeof *r->w)))
        return cli_error(EXIT_NOMEM, "%s: out of memory", a->cmd);
    return 0;
}

void cli_run_close(cli_run *r)
{
    free(r->w);
    llc_model_free(r->model);
    llc_task_free(r->task);
    cJSON_Delete(r->config);
    llc_run_info_free(&r->info);
    llc_store_close(r->store);
    memset(r, 0, sizeof *r);
}

const llc_tf_config *cli_run_transformer(const cli_args *a, const cli_run *r, const char *need)
{
    const llc_tf_config *tc = llc_transformer_config(r->model);
    if (!tc)
        cli_error(EXIT_USAGE, "%s: run '%s' is a %s model; %s needs a transformer", a->cmd, r->id, r->model->kind,
                  need);
    return tc;
}

int cli_run_checkpoint(const cli_args *a, cli_run *r, long long step)
{
    int code = cli_run_weights(a, r);
    if (code) return code;
    int rc = llc_store_checkpoint_get(r->store, r->id, step, r->w, r->n_params, NULL, NULL);
    if (rc == LLC_ERR_NOTFOUND)
        return cli_error(EXIT_NOTFOUND, "%s: run '%s' has no checkpoint at step %lld (see llc show)", a->cmd, r->id,
                         step);
    return rc ? cli_error(cli_exit_code(rc), "%s: %s", a->cmd, llc_store_errmsg(r->store)) : 0;
}

int cli_run_steps(const cli_args *a, const cli_run *r, long long **steps, int *n, long long *last)
{
    long long *all = NULL;
    int n_all = 0, code = 0, rc = llc_store_checkpoint_steps(r->store, r->id, &all, &n_all);
    if (rc) code = cli_error(cli_exit_code(rc), "%s: %s", a->cmd, llc_store_errmsg(r->store));
    else if (n_all == 0) code = cli_error(EXIT_NOTFOUND, "%s: run '%s' has no checkpoints", a->cmd, r->id);
    else code = cli_select_steps(a->cmd, cli_get(a, "steps"), all, n_all, steps, n);
    if (!code && last) *last = all[n_all - 1];
    free(all);
    return code;
}

int cli_task_dist(const char *cmd, const llc_task *task, const char *data, int *dist)
{
    *dist = llc_task_dist(task, data);
    if (*dist >= 0) return 0;
    char list[256] = "";
    for (int i = 0; i < task->n_dists; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", task->dists[i]);
    return cli_error(EXIT_NOTFOUND, "%s: task '%s' has no distribution '%s' (it has: %s)", cmd, task->name, data,
                     list);
}
