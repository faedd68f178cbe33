/* llc_mpi.h - the message layer of a job under mpirun: rank 0 runs the
 * command and owns the store, ranks > 0 compute units of work it hands out
 * (llc_mpi_worker, llc/mpi_worker.c). An MPI build (make mpi) implements it
 * on MPI (llc/mpi.c); the plain build has a stub of one rank
 * (llc/mpi_none.c), so the library and the CLI never include mpi.h.
 *
 * Messages are byte strings with a tag, sent with blocking sends and
 * received by polling (a waiting rank sleeps between polls instead of
 * spinning a core the workers need, and sees *interrupt). Only the calling
 * thread talks MPI; the chains' threads never do.
 */
#ifndef LLC_MPI_H
#define LLC_MPI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Start MPI when started by a launcher (mpirun, srun: its environment
 * says so); a no-op in the plain build or when started alone. rc. */
int llc_mpi_init(int *argc, char ***argv);
/* End MPI: after every rank is done. */
void llc_mpi_finalize(void);
/* Kill every rank of the job with exit code (a failure rank 0 cannot recover from). */
void llc_mpi_abort(int code);
int llc_mpi_built(void); /* 1 in the MPI build */
int llc_mpi_rank(void);
int llc_mpi_size(void); /* 1 in the plain build, or when not started by mpirun */

/* The message of a job rank 0 stopped on a signal: under mpirun most
 * likely because another rank ended. */
#define LLC_MPI_STOPPED "stopped by a signal, the finished units kept (under mpirun: a rank ended, killed or out " \
                        "of memory, or the job was cancelled); run the same command again to continue"

/* Send n bytes with tag to rank dest. rc. */
int llc_mpi_send(int dest, int tag, const void *buf, size_t n);
/* Bytes sent and received by this rank so far, and the seconds spent in
 * the transfers (sends, and receives once a message is there: not the
 * waiting for one). Zeros in the plain build. */
void llc_mpi_stats(double *bytes, double *seconds);
/* Receive the next message (from any rank): its source, tag, bytes (*buf
 * malloc'd, NULL when n = 0). Polls *interrupt (may be NULL): nonzero
 * returns LLC_ERR_INTERRUPTED. */
int llc_mpi_recv(int *src, int *tag, void **buf, size_t *n, const volatile sig_atomic_t *interrupt);

/* A growing byte buffer, and a reader over one, for the messages' fields
 * (native byte order: every rank runs the same binary on the same kind of
 * machine). A failed put sets nomem; a read past the end sets bad and
 * returns zeros. */
typedef struct {
    unsigned char *b;
    size_t n, cap;
    int nomem;
} llc_pack;
void llc_pack_bytes(llc_pack *p, const void *src, size_t n);
void llc_pack_i64(llc_pack *p, int64_t v);
void llc_pack_f64(llc_pack *p, double v);
void llc_pack_str(llc_pack *p, const char *s); /* NULL packs as "" */
void llc_pack_free(llc_pack *p);

typedef struct {
    const unsigned char *b;
    size_t n, at;
    int bad;
} llc_unpack;
void llc_unpack_bytes(llc_unpack *u, void *dst, size_t n);
int64_t llc_unpack_i64(llc_unpack *u);
double llc_unpack_f64(llc_unpack *u);
/* The next string, pointing into the buffer ("" past the end). */
const char *llc_unpack_str(llc_unpack *u);

/* The protocol (llc/mpi_worker.c and the drivers of rank 0: estimate_run.c,
 * probe_results.c, sweep.c). Rank 0 sends a job (what to build and the settings);
 * the worker answers READY, then rank 0 hands it one UNIT at a time; the
 * worker sends back RESULT messages (one estimate, one checkpoint's probes,
 * or one write of a training run, llc_sweep_mpi_kind) and UNIT_DONE, or
 * ERROR (rc, message); STOP ends the job and QUIT the worker. */
enum {
    LLC_MPI_TAG_JOB_ESTIMATE = 1,
    LLC_MPI_TAG_JOB_PROBE,
    LLC_MPI_TAG_READY,
    LLC_MPI_TAG_UNIT,
    LLC_MPI_TAG_RESULT,
    LLC_MPI_TAG_UNIT_DONE,
    LLC_MPI_TAG_ERROR,
    LLC_MPI_TAG_STOP,
    LLC_MPI_TAG_QUIT,
    LLC_MPI_TAG_JOB_SWEEP
};

/* The worker loop of ranks > 0: take jobs from rank 0 until it says stop.
 * interrupt as in llc_estimate. rc (err says why). */
int llc_mpi_worker(const volatile sig_atomic_t *interrupt, char *err);
/* Rank 0, at the end of the program: tell every worker to stop. */
void llc_mpi_stop_workers(void);

#endif
