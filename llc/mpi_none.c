/* mpi_none.c - the message layer of the plain build (llc_mpi.h): one rank,
 * nothing to send to. */
#include "llc_mpi.h"
#include "llc_common.h"

#include <stdlib.h>

int llc_mpi_init(int *argc, char ***argv) { return LLC_OK; }
void llc_mpi_finalize(void) {}
void llc_mpi_abort(int code) { exit(code); }
int llc_mpi_built(void) { return 0; }
int llc_mpi_rank(void) { return 0; }
int llc_mpi_size(void) { return 1; }

int llc_mpi_send(int dest, int tag, const void *buf, size_t n) { return LLC_ERR_INVALID; }

int llc_mpi_recv(int *src, int *tag, void **buf, size_t *n, const volatile sig_atomic_t *interrupt)
{
    *buf = NULL;
    *n = 0;
    return LLC_ERR_INVALID;
}

void llc_mpi_stats(double *bytes, double *seconds)
{
    *bytes = 0;
    *seconds = 0;
}
