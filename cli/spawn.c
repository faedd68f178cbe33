/* spawn.c - run a program (by default this llc) as a child and wait for it,
 * with its wall time and peak memory: what llc bench measures whole
 * commands with. */
#include "cli.h"
#include "llc_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *self_exe(void)
{
    static char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = 0;
    return buf;
}

/* Run this executable with argv[1..] (argv[0] NULL: set here; else the
 * program argv[0], found in PATH, e.g. mpirun) and wait for it; with log,
 * its stdout goes to /dev/null and its stderr to the file log (else both
 * are ours). Returns its exit code, -1 if it could not start,
 * -2 if it did not exit normally; its wall seconds and peak RSS (MiB) into
 * *seconds and *rss_mb when not NULL. */
int cli_spawn_wait(char **argv, const char *log, double *seconds, double *rss_mb)
{
    return cli_spawn_wait_cpu(argv, log, seconds, rss_mb, NULL);
}

/* The same, and the child's CPU seconds (user + system) into *cpu. */
int cli_spawn_wait_cpu(char **argv, const char *log, double *seconds, double *rss_mb, double *cpu)
{
    char *exe = argv[0] ? argv[0] : self_exe();
    posix_spawn_file_actions_t fa;
    if (!exe || posix_spawn_file_actions_init(&fa) != 0) return -1;
    argv[0] = exe;
    int ok = !log || (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) == 0 &&
                      posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    pid_t pid;
    const double t0 = llc_now();
    ok = ok && posix_spawnp(&pid, exe, &fa, NULL, argv, environ) == 0;
    posix_spawn_file_actions_destroy(&fa);
    if (!ok) return -1;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    if (seconds) *seconds = llc_now() - t0;
    if (rss_mb) *rss_mb = (double)ru.ru_maxrss / 1024.0;
    if (cpu)
        *cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
               1e-6 * (double)ru.ru_stime.tv_usec;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

void cli_last_line(const char *f, char *out, size_t n)
{
    char *text = cli_read_file(f, NULL, NULL);
    out[0] = 0;
    if (!text) return;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
    const char *nl = strrchr(text, '\n');
    snprintf(out, n, "%s", nl ? nl + 1 : text);
    free(text);
}

int cli_scratch_make(cli_scratch *sc, const char *kind, char *err)
{
    snprintf(sc->dir, sizeof sc->dir, "/tmp/llc-bench-%s-XXXXXX", kind);
    sc->db[0] = sc->log[0] = 0;
    if (!mkdtemp(sc->dir)) {
        sc->dir[0] = 0;
        llc_fail(err, LLC_ERR_IO, "cannot create a scratch directory in /tmp");
        return EXIT_IO;
    }
    snprintf(sc->db, sizeof sc->db, "%s/scratch.db", sc->dir);
    snprintf(sc->log, sizeof sc->log, "%s/log", sc->dir);
    return 0;
}

int cli_scratch_train(const cli_scratch *sc, const char *file, const char *run, const char *steps, double *tt,
                      char *err)
{
    char fbuf[4096], rbuf[64], sbuf[32], dbuf[256], line[400];
    snprintf(fbuf, sizeof fbuf, "%s", file);
    snprintf(rbuf, sizeof rbuf, "%s", run);
    snprintf(dbuf, sizeof dbuf, "%s", sc->db);
    char *targv[] = {NULL, "train", "--config", fbuf, "--run", rbuf, "--db", dbuf, NULL, NULL, NULL};
    if (steps) {
        snprintf(sbuf, sizeof sbuf, "%s", steps);
        targv[8] = "--steps", targv[9] = sbuf;
    }
    int code = cli_spawn_wait(targv, sc->log, tt, NULL);
    if (code != 0) {
        cli_last_line(sc->log, line, sizeof line);
        snprintf(err, LLC_ERRLEN, "training %s failed: %s", file, line[0] ? line : "no message");
    }
    return code < 0 ? EXIT_IO : code; /* could not start, or killed */
}

void cli_scratch_remove(const cli_scratch *sc, int keep_log)
{
    if (!sc->dir[0]) return;
    llc_bench_remove_store(sc->db);
    if (keep_log) return;
    unlink(sc->log);
    rmdir(sc->dir);
}
