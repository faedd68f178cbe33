/* params.c - the table of named tensors and parameter groups (index ranges). */
#include "llc_model.h"

#include <stdlib.h>
#include <string.h>

int llc_ptable_add(llc_ptable *pt, const char *name, int ndim, const int *shape)
{
    if (ndim < 1 || ndim > LLC_MAXDIM) return -1;
    if (pt->n == pt->cap) {
        int cap = pt->cap ? 2 * pt->cap : 16;
        llc_tensor *t = realloc(pt->t, (size_t)cap * sizeof *t);
        if (!t) return -1;
        pt->t = t;
        pt->cap = cap;
    }
    llc_tensor *t = &pt->t[pt->n];
    memset(t, 0, sizeof *t);
    strncpy(t->name, name, LLC_NAMELEN - 1);
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->size *= (size_t)shape[i];
    }
    t->offset = pt->n_params;
    pt->n_params += t->size;
    return pt->n++;
}

const llc_tensor *llc_ptable_find(const llc_ptable *pt, const char *name)
{
    for (int i = 0; i < pt->n; i++)
        if (strcmp(pt->t[i].name, name) == 0) return &pt->t[i];
    return NULL;
}

void llc_ptable_clear(llc_ptable *pt)
{
    free(pt->t);
    memset(pt, 0, sizeof *pt);
}

int llc_group_add(llc_group *g, size_t off, size_t len)
{
    if (len == 0) return LLC_OK;
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 8;
        llc_range *r = realloc(g->r, (size_t)cap * sizeof *r);
        if (!r) return LLC_ERR_NOMEM;
        g->r = r;
        g->cap = cap;
    }
    g->r[g->n].off = off;
    g->r[g->n].len = len;
    g->n++;
    g->size += len;
    return LLC_OK;
}

static int range_cmp(const void *a, const void *b)
{
    const llc_range *x = a, *y = b;
    return (x->off > y->off) - (x->off < y->off);
}

void llc_group_normalize(llc_group *g)
{
    if (g->n == 0) return;
    qsort(g->r, (size_t)g->n, sizeof *g->r, range_cmp);
    int k = 0;
    for (int i = 1; i < g->n; i++) {
        llc_range *last = &g->r[k];
        size_t end = last->off + last->len;
        if (g->r[i].off <= end) {
            size_t e2 = g->r[i].off + g->r[i].len;
            if (e2 > end) last->len = e2 - last->off;
        } else {
            g->r[++k] = g->r[i];
        }
    }
    g->n = k + 1;
    g->size = 0;
    for (int i = 0; i < g->n; i++) g->size += g->r[i].len;
}

void llc_group_free(llc_group *g)
{
    if (!g) return;
    free(g->r);
    g->r = NULL;
    g->n = g->cap = 0;
    g->size = 0;
}

void llc_group_to_mask(const llc_group *g, unsigned char *m, size_t n_params)
{
    memset(m, 0, n_params);
    for (int i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->r[i].len && g->r[i].off + j < n_params; j++) m[g->r[i].off + j] = 1;
}

void llc_model_free(llc_model *m)
{
    if (!m) return;
    if (m->free_impl) m->free_impl(m->impl);
    llc_ptable_clear(&m->table);
    free(m);
}
