/* mpi.c - the message layer on MPI (llc_mpi.h); compiled only in the MPI
 * build (make mpi). */
#include "llc_mpi.h"
#include "llc_common.h"

#include <mpi.h>
#include <stdlib.h>
#include <time.h>

static int started, rank, size = 1;
static double bytes_moved, seconds_moving;

void llc_mpi_stats(double *bytes, double *seconds)
{
    *bytes = bytes_moved;
    *seconds = seconds_moving;
}

int llc_mpi_init(int *argc, char ***argv)
{
    int provided = 0;
    /* started alone (no launcher's environment): one process, no MPI, so
     * no singleton runtime whose variables would confuse an mpirun this
     * process starts (llc bench --mpi) */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK")) return LLC_OK;
    /* only the main thread calls MPI; the chains' threads compute */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return LLC_ERR_INVALID;
    started = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return LLC_OK;
}

void llc_mpi_finalize(void)
{
    if (started) MPI_Finalize();
    started = 0;
}

void llc_mpi_abort(int code)
{
    /* mpirun forwards this rank's stderr through a pipe and may drop what it
     * has not read yet once the abort kills the job: give it a moment */
    struct timespec nap = {0, 300 * 1000 * 1000};
    fflush(stdout);
    fflush(stderr);
    if (started) nanosleep(&nap, NULL);
    if (started) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int llc_mpi_built(void) { return 1; }
int llc_mpi_rank(void) { return rank; }
int llc_mpi_size(void) { return size; }

int llc_mpi_send(int dest, int tag, const void *buf, size_t n)
{
    if (n > (size_t)INT32_MAX) return LLC_ERR_INVALID;
    const double t0 = MPI_Wtime();
    int src = MPI_Send(buf, (int)n, MPI_BYTE, dest, tag, MPI_COMM_WORLD);
    seconds_moving += MPI_Wtime() - t0;
    bytes_moved += (double)n;
    return src == MPI_SUCCESS ? LLC_OK : LLC_ERR_IO;
}

int llc_mpi_recv(int *src, int *tag, void **buf, size_t *n, const volatile sig_atomic_t *interrupt)
{
    MPI_Status st;
    int flag = 0, count = 0;
    *buf = NULL;
    *n = 0;
    /* poll with short sleeps: a blocking MPI_Recv spins a core */
    const struct timespec nap = {0, 1000000}; /* 1 ms: nothing next to units of seconds */
    for (;;) {
        if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) return LLC_ERR_IO;
        if (flag) break;
        if (interrupt && *interrupt) return LLC_ERR_INTERRUPTED;
        nanosleep(&nap, NULL);
    }
    const double t0 = MPI_Wtime();
    MPI_Get_count(&st, MPI_BYTE, &count);
    unsigned char *b = count > 0 ? malloc((size_t)count) : NULL;
    if (count > 0 && !b) return LLC_ERR_NOMEM;
    if (MPI_Recv(b, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        free(b);
        return LLC_ERR_IO;
    }
    seconds_moving += MPI_Wtime() - t0;
    bytes_moved += count;
    *src = st.MPI_SOURCE;
    *tag = st.MPI_TAG;
    *buf = b;
    *n = (size_t)count;
    return LLC_OK;
}
