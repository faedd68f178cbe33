/* spawn.c - run a program (by default this llc) as a child and wait for it,
 * with its wall time and peak memory: what llc bench measures whole
 * commands with. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
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
