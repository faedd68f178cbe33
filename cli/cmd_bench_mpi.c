/* cmd_bench_mpi.c - llc bench --mpi: where the time of a distributed
 * estimate goes. The curve config is trained into a scratch store (two
 * copies); its per-head curve (model + every head, at the checkpoints of
 * --mpi-steps) is estimated by one process with 2 threads and by mpirun
 * -n 3 (rank 0 and 2 workers of 1 thread); each run's own account (llc
 * estimate -v: units, their compute seconds, message bytes and seconds,
 * rank 0's writes) is read back and compared. */
#include "cli.h"
#include "llc_bench.h"
#include "llc_mpi.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int units, ranks, writes, ok;
    double compute, bytes, msg_s, write_s, wall_in, wall;
} mpi_account;

/* The "llc: units:" line of an estimate's -v log. */
static void read_account(const char *log, mpi_account *m)
{
    char *text = cli_read_file(log, NULL, NULL);
    const char *l = text ? strstr(text, "llc: units: ") : NULL;
    m->ok = l && sscanf(l, "llc: units: %d on %d ranks, compute %lf s, messages %lf bytes in %lf s, %d writes in "
                           "%lf s, wall %lf s", &m->units, &m->ranks, &m->compute, &m->bytes, &m->msg_s,
                        &m->writes, &m->write_s, &m->wall_in) == 8;
    free(text);
}

/* The scratch store, copied (closed: no WAL beside it). */
static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char b[1 << 16];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(b, 1, sizeof b, in)) > 0) ok = fwrite(b, 1, n, out) == n;
    if (in && ferror(in)) ok = 0;
    if (in) fclose(in);
    if (out && fclose(out)) ok = 0;
    return ok ? 0 : -1;
}

static void print_account(const char *name, const mpi_account *m, double base_wall)
{
    const double u = m->units > 0 ? m->units : 1, w = m->writes > 0 ? m->writes : 1;
    printf("%-28s wall %7.1f s (%5.1f%% of one process's speed); %d units, compute %.2f s a unit;\n"
           "%-28s messages %.0f bytes a unit in %.4f s; %d writes of %.4f s each\n",
           name, m->wall, 100 * base_wall / m->wall, m->units, m->compute / u, "", m->bytes / u, m->msg_s / u,
           m->writes, m->write_s / w);
}

static void add_account(cJSON *js, const char *key, const mpi_account *m)
{
    cJSON *o = cJSON_AddObjectToObject(js, key);
    cJSON_AddNumberToObject(o, "wall_seconds", m->wall);
    cJSON_AddNumberToObject(o, "units", m->units);
    cJSON_AddNumberToObject(o, "ranks", m->ranks);
    cJSON_AddNumberToObject(o, "compute_seconds", m->compute);
    cJSON_AddNumberToObject(o, "message_bytes", m->bytes);
    cJSON_AddNumberToObject(o, "message_seconds", m->msg_s);
    cJSON_AddNumberToObject(o, "writes", m->writes);
    cJSON_AddNumberToObject(o, "write_seconds", m->write_s);
}

int cli_bench_mpi(const char *curve, int draws, const char *steps, const char *json)
{
    if (!llc_mpi_built())
        return cli_error(EXIT_USAGE, "bench: --mpi needs the MPI build of llc (make mpi: build/llc-mpi)");
    if (!curve[0]) return cli_error(EXIT_USAGE, "bench: --mpi needs a curve config (--curve CONFIG)");
    cli_scratch sc;
    char err[LLC_ERRLEN] = "", db2[256], dbuf[32], bbuf[32], sbuf[128], exe[4096];
    int code = cli_scratch_make(&sc, "mpi", err);
    if (code) return cli_error(code, "bench: %s", err);
    const char *db1 = sc.db, *log = sc.log;
    snprintf(db2, sizeof db2, "%s/mpi.db", sc.dir);
    snprintf(sbuf, sizeof sbuf, "%s", steps);
    const int D = draws > 0 ? draws : 200;
    snprintf(dbuf, sizeof dbuf, "%d", D);
    snprintf(bbuf, sizeof bbuf, "%d", D / 2);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    mpi_account one = {0}, mpi = {0};
    /* the same estimate both times; only the threads and the ranks differ */
#define EST_ARGS "estimate", "--run", "curve", "--model", "--heads", "all", "--chains", "4", "--draws", dbuf, \
                 "--burnin", bbuf, "--thin", "1", "--steps", sbuf, "-v"
    char *oargv[] = {NULL, EST_ARGS, "--threads", "2", "--db", sc.db, NULL};
    char *margv[] = {"mpirun", "--oversubscribe", getuid() == 0 ? "--allow-run-as-root" : "--oversubscribe",
                     "-n", "3", exe, EST_ARGS, "--threads", "1", "--db", db2, NULL};
#undef EST_ARGS
    fprintf(stderr, "llc: bench --mpi: training %s\n", curve);
    if ((code = cli_scratch_train(&sc, curve, "curve", NULL, NULL, err))) {
        code = cli_error(code, "bench: %s", err);
        goto cleanup;
    }
    if (copy_file(db1, db2) != 0) {
        code = cli_error(EXIT_IO, "bench: cannot copy %s to %s", db1, db2);
        goto cleanup;
    }
    fprintf(stderr, "llc: bench --mpi: one process x 2 threads\n");
    if (cli_spawn_wait(oargv, log, &one.wall, NULL) != 0 || (read_account(log, &one), !one.ok)) {
        code = cli_error(EXIT_IO, "bench: the one-process estimate failed (log: %s)", log);
        goto cleanup;
    }
    fprintf(stderr, "llc: bench --mpi: mpirun -n 3 (2 workers x 1 thread)\n");
    if (cli_spawn_wait(margv, log, &mpi.wall, NULL) != 0 || (read_account(log, &mpi), !mpi.ok)) {
        code = cli_error(EXIT_IO, "bench: the mpirun estimate failed (is mpirun in PATH? log: %s)", log);
        goto cleanup;
    }
    printf("curve %s, checkpoints %s, model + every head, 4 chains x %d draws after %d burn-in steps\n", curve,
           steps, D, D / 2);
    print_account("1 process x 2 threads:", &one, one.wall);
    print_account("mpirun -n 3, 2 x 1 thread:", &mpi, one.wall);
    if (json) {
        cJSON *js = cJSON_CreateObject();
        cJSON_AddStringToObject(js, "llc_version", LLC_VERSION);
        cJSON_AddStringToObject(js, "curve", curve);
        cJSON_AddStringToObject(js, "steps", steps);
        cJSON_AddNumberToObject(js, "draws", D);
        add_account(js, "one_process_2_threads", &one);
        add_account(js, "mpi_2_workers_1_thread", &mpi);
        char *txt = cJSON_Print(js);
        FILE *f = fopen(json, "w");
        int ok = f && txt && fputs(txt, f) >= 0;
        if (f && fclose(f)) ok = 0;
        if (!ok) code = cli_error(EXIT_IO, "bench: cannot write %s", json);
        cJSON_free(txt);
        cJSON_Delete(js);
    }
cleanup:
    llc_bench_remove_store(db2);
    cli_scratch_remove(&sc, code != 0);
    return code;
}
