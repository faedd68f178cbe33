/* mem.c - will a train or estimate job fit? Its address space against the
 * limit (ulimit -v), its memory against the machine's (RAM, or a cgroup's
 * memory.max when lower), and a run's checkpoints against the store's free
 * disk, checked before the work starts.
 *
 * Why before: OpenBLAS takes one buffer per calling thread from its own
 * allocator, which retries a failed mmap forever, so under an address-space
 * limit the process would spin instead of failing. The space for those
 * buffers must be there when the first BLAS call comes. */
#include "cli.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* OpenBLAS's buffer per calling thread (BUFFER_SIZE on x86_64, 32 << 22). */
#define BLAS_BUFFER_BYTES ((size_t)128 << 20)
/* A created thread: its stack (8 MiB by default) and glibc's malloc arena
 * for it (64 MiB of address space, reserved, mostly never touched). */
#define THREAD_BYTES ((size_t)72 << 20)
/* Room for what is not counted (SQLite's cache, small allocations, an arena
 * briefly mapped at twice its size while it is created). */
#define SLACK_BYTES ((size_t)64 << 20)

#define MIB(x) ((double)(x) / 1048576.0)

/* A "Name:   N kB" line of /proc/self/status in bytes, 0 if unknown. */
static size_t proc_status(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t out = 0, len = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            out = (size_t)strtoull(line + len + 1, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return out;
}

size_t cli_vm_size(void) { return proc_status("VmSize"); }
size_t cli_rss_size(void) { return proc_status("VmRSS"); }

/* Physical memory: RAM, or the cgroup (v2) limit when lower. 0 if unknown. */
static size_t phys_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    size_t ram = pages > 0 && psize > 0 ? (size_t)pages * (size_t)psize : 0;
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        char buf[64] = "";
        if (fgets(buf, sizeof buf, f)) {
            char *end;
            unsigned long long v = strtoull(buf, &end, 10);
            if (end != buf && v > 0 && (ram == 0 || v < ram)) ram = (size_t)v;
        }
        fclose(f);
    }
    return ram;
}

size_t cli_mem_need(size_t data, size_t mapped) { return proc_status("VmRSS") + mapped + data; }

int cli_mem_check(const char *cmd, size_t data, size_t mapped, int blas_callers, int new_threads, int force)
{
    const size_t vm = cli_vm_size();
    const size_t blas = (size_t)(blas_callers > 0 ? blas_callers : 1) * BLAS_BUFFER_BYTES;
    const size_t threads = (size_t)(new_threads > 0 ? new_threads : 0) * THREAD_BYTES;
    const size_t need_as = vm + data + blas + threads + SLACK_BYTES;
    /* resident: what is in use, what will be touched, and the data; BLAS
     * buffers and arenas are mostly reserved, not touched */
    const size_t need_rss = cli_mem_need(data, mapped);
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && need_as > (size_t)rl.rlim_cur)
        return cli_error(EXIT_NOMEM,
                         "%s: needs about %.0f MiB of address space (%.0f in use, %.0f for its data, %.0f for %d "
                         "BLAS buffer%s, %.0f for threads and the rest) but the limit (ulimit -v) is %.0f MiB; raise the "
                         "limit%s",
                         cmd, MIB(need_as), MIB(vm), MIB(data), MIB(blas), blas_callers > 1 ? blas_callers : 1,
                         blas_callers > 1 ? "s" : "", MIB(threads + SLACK_BYTES), MIB(rl.rlim_cur),
                         new_threads <= 1 ? "" : strcmp(cmd, "sweep") == 0 ? " or use fewer --jobs" : " or use fewer --threads");
    const size_t phys = phys_bytes();
    if (!force && phys && need_rss > phys)
        return cli_error(EXIT_NOMEM,
                         "%s: needs about %.0f MiB of memory but the machine has %.0f MiB; "
                         "--force-size tries anyway",
                         cmd, MIB(need_rss), MIB(phys));
    return 0;
}

int cli_disk_check(const char *cmd, const char *db_path, double bytes, int force)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", db_path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    struct statvfs sv;
    if (force || statvfs(dir, &sv) != 0) return 0;
    double avail = (double)sv.f_bavail * (double)sv.f_frsize;
    if (bytes <= avail) return 0;
    return cli_error(EXIT_USAGE,
                     "%s: its checkpoints need about %.1f GiB but %s has %.1f GiB free; use fewer checkpoints "
                     "(train.ckpt_*), a smaller model or another --db (--force-size tries anyway)",
                     cmd, bytes / 1073741824.0, dir, avail / 1073741824.0);
}

void cli_keep_freed_memory(void)
{
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's largest */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}
