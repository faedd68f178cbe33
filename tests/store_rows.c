/* store_rows.c - every row of an llc store as one line of text, sorted, for
 * comparing two stores row by row (tests/cli/cli_mpi.sh): REALs to the bit
 * (%a), BLOBs in hex; left out what differs between two identical
 * computations: row ids (an estimate's chains name it by its key instead),
 * creation times and wall-clock seconds.
 *   store_rows STORE */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char **line;
    size_t n, cap;
} lines;

static void add(lines *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->line = realloc(l->line, l->cap * sizeof *l->line);
        if (!l->line) exit(10);
    }
    if (!(l->line[l->n++] = strdup(s))) exit(10);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Append to a growing string. */
static void cat(char **s, size_t *len, size_t *cap, const char *t, size_t n)
{
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap) *cap = *cap ? 2 * *cap : 4096;
        if (!(*s = realloc(*s, *cap))) exit(10);
    }
    memcpy(*s + *len, t, n);
    *len += n;
    (*s)[*len] = 0;
}

/* A text value with wall-clock "seconds":N in JSON blanked. */
static void cat_text(char **s, size_t *len, size_t *cap, const char *t)
{
    const char *k;
    while ((k = strstr(t, "\"seconds\":"))) {
        cat(s, len, cap, t, (size_t)(k - t) + 10);
        cat(s, len, cap, "_", 1);
        t = k + 10;
        while (*t && *t != ',' && *t != '}') t++;
    }
    cat(s, len, cap, t, strlen(t));
}

static void dump_table(sqlite3 *db, const char *table, lines *out)
{
    char sql[512];
    if (strcmp(table, "estimate_chains") == 0)
        snprintf(sql, sizeof sql,
                 "SELECT e.run || '/' || e.step || '/' || e.target || '/' || e.data || '/' || e.settings AS est, "
                 "c.* FROM estimate_chains c JOIN estimates e ON e.id = c.estimate");
    else snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "store_rows: %s: %s\n", table, sqlite3_errmsg(db));
        exit(4);
    }
    char *s = NULL, buf[64];
    size_t len = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        len = 0;
        cat(&s, &len, &cap, table, strlen(table));
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            if (!strcmp(name, "id") || !strcmp(name, "created") || !strcmp(name, "seconds") || !strcmp(name, "elapsed") ||
                !strcmp(name, "estimate"))
                continue;
            cat(&s, &len, &cap, "|", 1);
            cat(&s, &len, &cap, name, strlen(name));
            cat(&s, &len, &cap, "=", 1);
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL: cat(&s, &len, &cap, "NULL", 4); break;
            case SQLITE_INTEGER:
                snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_column_int64(st, i));
                cat(&s, &len, &cap, buf, strlen(buf));
                break;
            case SQLITE_FLOAT:
                snprintf(buf, sizeof buf, "%a", sqlite3_column_double(st, i));
                cat(&s, &len, &cap, buf, strlen(buf));
                break;
            case SQLITE_TEXT: cat_text(&s, &len, &cap, (const char *)sqlite3_column_text(st, i)); break;
            default: {
                const unsigned char *b = sqlite3_column_blob(st, i);
                int n = sqlite3_column_bytes(st, i);
                for (int k = 0; k < n; k++) {
                    snprintf(buf, sizeof buf, "%02x", b[k]);
                    cat(&s, &len, &cap, buf, 2);
                }
            }
            }
        }
        add(out, s);
    }
    free(s);
    sqlite3_finalize(st);
}

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: store_rows STORE\n");
        return 2;
    }
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "store_rows: cannot open %s\n", argv[1]);
        return 3;
    }
    sqlite3_stmt *st = NULL;
    lines tables = {0}, out = {0};
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", -1,
                       &st, NULL);
    while (st && sqlite3_step(st) == SQLITE_ROW) add(&tables, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    for (size_t i = 0; i < tables.n; i++) dump_table(db, tables.line[i], &out);
    qsort(out.line, out.n, sizeof *out.line, cmp);
    for (size_t i = 0; i < out.n; i++) puts(out.line[i]);
    sqlite3_close(db);
    return 0;
}
