/* mpi_wire.c - the byte buffers of the messages between ranks (llc_mpi.h). */
#include "llc_mpi.h"

#include <stdlib.h>
#include <string.h>

void llc_pack_bytes(llc_pack *p, const void *src, size_t n)
{
    if (p->nomem) return;
    if (p->n + n > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->n + n) cap *= 2;
        unsigned char *b = realloc(p->b, cap);
        if (!b) {
            p->nomem = 1;
            return;
        }
        p->b = b;
        p->cap = cap;
    }
    if (n) memcpy(p->b + p->n, src, n);
    p->n += n;
}

void llc_pack_i64(llc_pack *p, int64_t v) { llc_pack_bytes(p, &v, sizeof v); }
void llc_pack_f64(llc_pack *p, double v) { llc_pack_bytes(p, &v, sizeof v); }

void llc_pack_str(llc_pack *p, const char *s)
{
    if (!s) s = "";
    llc_pack_bytes(p, s, strlen(s) + 1);
}

void llc_pack_free(llc_pack *p)
{
    free(p->b);
    memset(p, 0, sizeof *p);
}

void llc_unpack_bytes(llc_unpack *u, void *dst, size_t n)
{
    if (u->bad || n > u->n - u->at) {
        u->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, u->b + u->at, n);
    u->at += n;
}

int64_t llc_unpack_i64(llc_unpack *u)
{
    int64_t v;
    llc_unpack_bytes(u, &v, sizeof v);
    return v;
}

double llc_unpack_f64(llc_unpack *u)
{
    double v;
    llc_unpack_bytes(u, &v, sizeof v);
    return v;
}

const char *llc_unpack_str(llc_unpack *u)
{
    if (u->bad) return "";
    const unsigned char *end = memchr(u->b + u->at, 0, u->n - u->at);
    if (!end) {
        u->bad = 1;
        return "";
    }
    const char *s = (const char *)(u->b + u->at);
    u->at = (size_t)(end - u->b) + 1;
    return s;
}
