/* test_store.c - the SQLite store (core/store.c): schema and pragmas, runs,
 * bit-exact checkpoints, log rows and resume state, bad BLOBs written behind
 * the store's back, files that are not stores, a newer schema, stores of
 * every older schema version (rebuilt with raw SQL) migrated keeping every
 * value, a migration failing part-way, two processes migrating at once,
 * read-only opens, transactions and savepoints, SQL-looking ids, two
 * processes writing at once, and a full disk (RLIMIT_FSIZE in a child).
 *
 * Every file lives in a fresh mkdtemp directory under /tmp, removed at the
 * end. Random parameters come from a printed seed (TEST_SEED overrides it).
 */
#include "llc_query.h"
#include "llc_results.h"
#include "llc_store.h"
#include "llc_store_sql.h"
#include "testutil.h"

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_SEED 20241125ULL
#define APP_ID 0x4C4C4301

static char dir[64];
static uint64_t seed;

/* ---- helpers ---- */

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int file_equals(const char *p, const char *text)
{
    char buf[4096];
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* sqlite3_exec on a separate raw connection, as another program would. */
static int raw_exec(const char *p, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}

/* First column of the first row of sql, as integer / into a text buffer. */
static long long db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void db_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;
    snprintf(out, n, "(none)");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* Overwrite a checkpoint's params BLOB through a raw connection. */
static int raw_set_params(const char *p, const char *run, long long step, const void *blob, int bytes)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "UPDATE checkpoints SET params = ?3 WHERE run = ?1 AND step = ?2",
                                                 -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, step);
        sqlite3_bind_blob(st, 3, blob, bytes, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1 ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static float f_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* n float32 of random bit patterns (finite: an all-ones exponent loses a
 * bit), led by the awkward ones: -0, subnormals, extremes. */
static void random_params(gsl_rng *r, float *w, size_t n)
{
    static const uint32_t special[] = {
        0x80000000u, /* -0.0 */
        0x00000000u, /* +0.0 */
        0x00000001u, /* smallest subnormal */
        0x807fffffu, /* largest negative subnormal */
        0x00800000u, /* FLT_MIN */
        0x7f7fffffu, /* FLT_MAX */
        0xff7fffffu, /* -FLT_MAX */
        0x3f800001u, /* 1 + ulp */
    };
    size_t k = sizeof special / sizeof special[0];
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        if (i < k) {
            u = special[i];
        } else {
            u = (uint32_t)gsl_rng_uniform_int(r, 65536) << 16 | (uint32_t)gsl_rng_uniform_int(r, 65536);
            if ((u & 0x7f800000u) == 0x7f800000u) u &= ~0x40000000u;
        }
        w[i] = f_of_bits(u);
    }
}

/* Deterministic params of (run index, step), for the multi-process tests. */
static void params_of(float *w, size_t n, int run, long long step)
{
    gsl_rng *r = llc_rng_new(llc_seed(seed, LLC_PURPOSE_INIT, (uint64_t)run, (uint64_t)step, 0));
    random_params(r, w, n);
    gsl_rng_free(r);
}

static llc_store *open_rw(const char *p)
{
    llc_store *s = NULL;
    char err[LLC_ERRLEN] = "";
    int rc = llc_store_open(p, LLC_STORE_RW, &s, err);
    if (rc) printf("open %s: %s\n", p, err);
    return s;
}

/* ---- tests ---- */

static void test_create(void)
{
    char p[256], text[64];
    path_of(p, sizeof p, "create.db");
    llc_store *s = open_rw(p);
    CHECK(s != NULL, "create: a new store opens read-write");
    if (!s) return;
    sqlite3 *db = llc_store_db(s);
    db_text(db, "PRAGMA journal_mode", text, sizeof text);
    CHECK(strcmp(text, "wal") == 0, "create: journal_mode is wal (got %s)", text);
    CHECK(db_int(db, "PRAGMA user_version") == LLC_SCHEMA_VERSION, "create: user_version = %d", LLC_SCHEMA_VERSION);
    CHECK(db_int(db, "PRAGMA application_id") == APP_ID, "create: application_id is llc's");
    CHECK(db_int(db, "PRAGMA foreign_keys") == 1, "create: foreign_keys on");
    CHECK(db_int(db, "PRAGMA synchronous") == 1, "create: synchronous = NORMAL");
    CHECK(db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                     "('runs','checkpoints','train_log','train_state')") == 4,
          "create: the four v1 tables exist");
    CHECK(db_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('estimates','estimate_chains','curves')") ==
              (LLC_SCHEMA_VERSION >= 2 ? 3 : 0),
          "create: the v2 estimates tables and curves view exist");
    CHECK(db_int(db, "SELECT count(*) FROM pragma_table_info('train_log')") == 6, "create: train_log has 6 columns");
    llc_store_close(s);
    llc_store_close(NULL); /* a no-op */
}

static void test_runs(void)
{
    char p[256];
    path_of(p, sizeof p, "runs.db");
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "runs: open");
        return;
    }
    const unsigned long long big_seed = 0xFEDCBA9876543210ULL;
    CHECK(llc_store_run_create(s, "r1", "sort", "{\"a\":1}", 1234, big_seed) == LLC_OK, "runs: create r1");
    int rc = llc_store_run_create(s, "r1", "sort", "{}", 1, 1);
    CHECK(rc == LLC_ERR_EXISTS, "runs: duplicate id refused with LLC_ERR_EXISTS (got %d)", rc);
    CHECK(strstr(llc_store_errmsg(s), "'r1' already exists") != NULL, "runs: duplicate message: %s",
          llc_store_errmsg(s));
    CHECK(llc_store_run_create(s, "", "sort", "{}", 1, 1) == LLC_ERR_INVALID, "runs: empty id refused");

    llc_run_info r = {0};
    rc = llc_store_run_get(s, "r1", &r);
    CHECK(rc == LLC_OK, "runs: get r1");
    if (rc == LLC_OK) {
        CHECK(!strcmp(r.id, "r1") && !strcmp(r.task, "sort") && !strcmp(r.config, "{\"a\":1}"),
              "runs: id, task and config round trip");
        CHECK(r.n_params == 1234, "runs: n_params round trips");
        CHECK(r.seed == big_seed, "runs: a 64-bit unsigned seed round trips (got %llx)", r.seed);
        CHECK(!strcmp(r.status, "running"), "runs: a new run is 'running'");
        CHECK(r.message == NULL, "runs: no message yet");
        CHECK(!strcmp(r.version, LLC_VERSION), "runs: version recorded");
        CHECK(strlen(r.created) == 20 && r.created[4] == '-' && r.created[10] == 'T' && r.created[19] == 'Z',
              "runs: created is ISO-8601 UTC (%s)", r.created);
    }
    llc_run_info_free(&r);
    llc_run_info_free(&r); /* freeing twice is harmless: the struct was zeroed */

    rc = llc_store_run_get(s, "nope", &r);
    CHECK(rc == LLC_ERR_NOTFOUND, "runs: missing run gives LLC_ERR_NOTFOUND (got %d)", rc);
    CHECK(strstr(llc_store_errmsg(s), "no run 'nope'") != NULL, "runs: missing run message: %s",
          llc_store_errmsg(s));

    CHECK(llc_store_run_set_status(s, "r1", "failed", "diverged at step 7") == LLC_OK, "runs: set status");
    llc_store_run_get(s, "r1", &r);
    CHECK(r.status && !strcmp(r.status, "failed") && r.message && !strcmp(r.message, "diverged at step 7"),
          "runs: status and message stored");
    llc_run_info_free(&r);
    CHECK(llc_store_run_set_status(s, "r1", "done", NULL) == LLC_OK, "runs: set status done, no message");
    llc_store_run_get(s, "r1", &r);
    CHECK(r.status && !strcmp(r.status, "done") && r.message == NULL, "runs: message cleared");
    llc_run_info_free(&r);
    CHECK(llc_store_run_set_status(s, "r1", "bogus", NULL) == LLC_ERR_INVALID, "runs: unknown status refused");
    CHECK(llc_store_run_set_status(s, "nope", "done", NULL) == LLC_ERR_NOTFOUND, "runs: status of a missing run");

    CHECK(llc_store_run_create(s, "r0", NULL, NULL, 0, 0) == LLC_OK, "runs: create with NULL task/config");
    llc_run_info *list = NULL;
    int n = 0;
    rc = llc_store_run_list(s, &list, &n);
    CHECK(rc == LLC_OK && n == 2, "runs: list has 2 runs (rc %d, n %d)", rc, n);
    /* same-second creation: ordered by id */
    if (rc == LLC_OK && n == 2)
        CHECK(strcmp(list[0].created, list[1].created) < 0 || !strcmp(list[0].id, "r0"),
              "runs: list ordered by created, id");
    for (int i = 0; i < n; i++) llc_run_info_free(&list[i]);
    free(list);
    llc_store_close(s);
}

static void test_injection(void)
{
    char p[256];
    path_of(p, sizeof p, "inject.db");
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "inject: open");
        return;
    }
    static const char *ids[] = {"r1'; DROP TABLE runs;--", "x\"); DELETE FROM checkpoints; --", "%s%n%d",
                                "Robert'); DROP TABLE train_log;--"};
    int nid = (int)(sizeof ids / sizeof ids[0]);
    for (int i = 0; i < nid; i++)
        CHECK(llc_store_run_create(s, ids[i], "'); DROP TABLE runs;--", "{\"q\":\"'\"}", 3, 1) == LLC_OK,
              "inject: create run [%s]", ids[i]);
    sqlite3 *db = llc_store_db(s);
    CHECK(db_int(db, "SELECT count(*) FROM runs") == nid, "inject: runs table intact with all %d runs", nid);
    CHECK(db_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('runs','checkpoints','train_log')") == 3,
          "inject: no table dropped");
    for (int i = 0; i < nid; i++) {
        llc_run_info r = {0};
        int rc = llc_store_run_get(s, ids[i], &r);
        CHECK(rc == LLC_OK && !strcmp(r.id, ids[i]) && !strcmp(r.task, "'); DROP TABLE runs;--"),
              "inject: run [%s] stored verbatim", ids[i]);
        llc_run_info_free(&r);
    }
    float w[3] = {1, 2, 3}, got[3] = {0};
    CHECK(llc_store_checkpoint_put(s, ids[0], 5, 0.5, 0.6, w, 3, NULL, 0, NULL, 0) == LLC_OK,
          "inject: checkpoint of an SQL-looking run");
    CHECK(llc_store_checkpoint_get(s, ids[0], 5, got, 3, NULL, NULL) == LLC_OK && !memcmp(w, got, sizeof w),
          "inject: and read back");
    int rc = llc_store_run_create(s, ids[2], "t", "{}", 1, 1);
    CHECK(rc == LLC_ERR_EXISTS && strstr(llc_store_errmsg(s), "%s%n%d") != NULL,
          "inject: format characters in an id are shown verbatim: %s", llc_store_errmsg(s));
    llc_store_close(s);
}

static void test_checkpoints(gsl_rng *rng)
{
    char p[256];
    path_of(p, sizeof p, "ckpt.db");
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "ckpt: open");
        return;
    }
    const size_t N = 4099;
    float *w = malloc(N * sizeof *w), *got = malloc(N * sizeof *got), *w2 = malloc(N * sizeof *w2);
    unsigned char state[333], state2[333];
    llc_log_row log[10];
    random_params(rng, w, N);
    random_params(rng, w2, N);
    for (size_t i = 0; i < sizeof state; i++) {
        state[i] = (unsigned char)gsl_rng_uniform_int(rng, 256);
        state2[i] = (unsigned char)(state[i] ^ 0x5a);
    }
    for (int i = 0; i < 10; i++) log[i] = (llc_log_row){190 + i, 1.0 / (i + 1), 1e-3 * i, 0.25 * i, 0.1 * i};
    CHECK(llc_store_run_create(s, "r1", "sort", "{}", (long long)N, 7) == LLC_OK, "ckpt: create run");

    int rc = llc_store_checkpoint_put(s, "r1", 200, 2.5, 2.75, w, N, log, 10, state, sizeof state);
    CHECK(rc == LLC_OK, "ckpt: put r1/200 with 10 log rows and a state (rc %d: %s)", rc, llc_store_errmsg(s));
    memset(got, 0xab, N * sizeof *got);
    double trl = 0, tel = 0;
    rc = llc_store_checkpoint_get(s, "r1", 200, got, N, &trl, &tel);
    CHECK(rc == LLC_OK, "ckpt: get r1/200");
    CHECK(memcmp(w, got, N * sizeof *w) == 0, "ckpt: %zu params bit-exact incl. -0, subnormals, FLT_MAX", N);
    CHECK(trl == 2.5 && tel == 2.75, "ckpt: losses round trip");
    CHECK(llc_store_checkpoint_get(s, "r1", 200, got, N, NULL, NULL) == LLC_OK, "ckpt: NULL loss pointers allowed");

    /* the BLOB is little-endian float32: check the bytes of -0.0 and 1+ulp */
    sqlite3 *db = llc_store_db(s);
    CHECK(db_int(db, "SELECT length(params) FROM checkpoints WHERE run = 'r1' AND step = 200") == (long long)(4 * N),
          "ckpt: BLOB has 4*N bytes");
    char hex[64];
    db_text(db, "SELECT hex(substr(params, 1, 4)) || hex(substr(params, 29, 4)) FROM checkpoints WHERE step = 200", hex,
            sizeof hex);
    CHECK(strcmp(hex, "00000080010080" "3F") == 0, "ckpt: little-endian bytes (-0.0, 1+ulp) = %s", hex);

    /* the log rows */
    CHECK(db_int(db, "SELECT count(*) FROM train_log WHERE run = 'r1'") == 10, "ckpt: 10 log rows");
    CHECK(db_int(db, "SELECT count(*) FROM train_log WHERE run = 'r1' AND step = 193 AND loss = 0.25 AND lr = 0.003 "
                     "AND grad_norm = 0.75 AND elapsed = 0.30000000000000004") == 1,
          "ckpt: a log row's values");

    /* the resume state */
    void *st = NULL;
    size_t sb = 0;
    long long step = -1;
    rc = llc_store_train_state_get(s, "r1", &step, &st, &sb);
    CHECK(rc == LLC_OK && step == 200 && sb == sizeof state && st && !memcmp(st, state, sb),
          "ckpt: resume state round trips at step 200");
    free(st);

    /* idempotent re-put, conflicting re-put */
    rc = llc_store_checkpoint_put(s, "r1", 200, 2.5, 2.75, w, N, log, 10, state, sizeof state);
    CHECK(rc == LLC_OK, "ckpt: re-put with identical params succeeds (rc %d)", rc);
    rc = llc_store_checkpoint_put(s, "r1", 200, 2.5, 2.75, w2, N, NULL, 0, NULL, 0);
    CHECK(rc == LLC_ERR_EXISTS, "ckpt: re-put with different params gives LLC_ERR_EXISTS (rc %d)", rc);
    CHECK(strstr(llc_store_errmsg(s), "r1/200") != NULL, "ckpt: conflict message names it: %s", llc_store_errmsg(s));
    rc = llc_store_checkpoint_put(s, "r1", 200, 2.5, 2.75, w, N - 1, NULL, 0, NULL, 0);
    CHECK(rc == LLC_ERR_EXISTS, "ckpt: re-put with fewer params gives LLC_ERR_EXISTS (rc %d)", rc);
    llc_store_checkpoint_get(s, "r1", 200, got, N, NULL, NULL);
    CHECK(memcmp(w, got, N * sizeof *w) == 0, "ckpt: the stored params are unchanged after the conflict");

    /* more steps, out of order; a NULL state leaves the state alone; an older
     * step never moves the state back */
    CHECK(llc_store_checkpoint_put(s, "r1", 0, NAN, INFINITY, w2, N, NULL, 0, NULL, 0) == LLC_OK, "ckpt: put r1/0");
    rc = llc_store_checkpoint_get(s, "r1", 0, got, N, &trl, &tel);
    CHECK(rc == LLC_OK && isnan(trl) && isinf(tel) && tel > 0, "ckpt: NaN and inf losses come back (NaN as NULL)");
    CHECK(llc_store_checkpoint_put(s, "r1", 300, 1, 1, w2, N, NULL, 0, state2, sizeof state2) == LLC_OK,
          "ckpt: put r1/300 with a new state");
    CHECK(llc_store_checkpoint_put(s, "r1", 100, 1, 1, w, N, NULL, 0, state, sizeof state) == LLC_OK,
          "ckpt: put r1/100 with an older state");
    rc = llc_store_train_state_get(s, "r1", &step, &st, &sb);
    CHECK(rc == LLC_OK && step == 300 && sb == sizeof state2 && !memcmp(st, state2, sb),
          "ckpt: the state stays at the newest step (300, got %lld)", step);
    free(st);
    long long *steps = NULL;
    int n = 0;
    rc = llc_store_checkpoint_steps(s, "r1", &steps, &n);
    CHECK(rc == LLC_OK && n == 4 && steps[0] == 0 && steps[1] == 100 && steps[2] == 200 && steps[3] == 300,
          "ckpt: steps listed ascending (0 100 200 300)");
    free(steps);

    /* missing things */
    CHECK(llc_store_run_create(s, "empty", "sort", "{}", 1, 1) == LLC_OK, "ckpt: create a run without checkpoints");
    rc = llc_store_checkpoint_steps(s, "empty", &steps, &n);
    CHECK(rc == LLC_OK && n == 0, "ckpt: a run without checkpoints lists 0 steps");
    free(steps);
    rc = llc_store_checkpoint_steps(s, "nope", &steps, &n);
    CHECK(rc == LLC_ERR_NOTFOUND && n == 0 && steps == NULL, "ckpt: steps of a missing run: LLC_ERR_NOTFOUND");
    rc = llc_store_train_state_get(s, "empty", &step, &st, &sb);
    CHECK(rc == LLC_ERR_NOTFOUND && st == NULL, "ckpt: no state yet: LLC_ERR_NOTFOUND");
    rc = llc_store_checkpoint_get(s, "r1", 150, got, N, NULL, NULL);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(llc_store_errmsg(s), "step 150"),
          "ckpt: missing step: LLC_ERR_NOTFOUND (%s)", llc_store_errmsg(s));
    rc = llc_store_checkpoint_get(s, "nope", 0, got, N, NULL, NULL);
    CHECK(rc == LLC_ERR_NOTFOUND && strstr(llc_store_errmsg(s), "no run 'nope'"),
          "ckpt: missing run: LLC_ERR_NOTFOUND (%s)", llc_store_errmsg(s));
    rc = llc_store_checkpoint_put(s, "nope", 0, 1, 1, w, N, log, 1, state, sizeof state);
    CHECK(rc == LLC_ERR_NOTFOUND, "ckpt: put to a missing run: LLC_ERR_NOTFOUND (rc %d)", rc);
    CHECK(db_int(db, "SELECT count(*) FROM train_log WHERE run = 'nope'") == 0, "ckpt: and no log row of it");

    /* the caller's size is checked against the BLOB */
    rc = llc_store_checkpoint_get(s, "r1", 200, got, N - 1, NULL, NULL);
    CHECK(rc == LLC_ERR_INVALID, "ckpt: get with the wrong n_params: LLC_ERR_INVALID (%s)", llc_store_errmsg(s));

    /* a NaN parameter is refused before anything is written */
    w2[17] = NAN;
    rc = llc_store_checkpoint_put(s, "r1", 400, 1, 1, w2, N, NULL, 0, NULL, 0);
    CHECK(rc == LLC_ERR_NUMERIC, "ckpt: putting NaN params: LLC_ERR_NUMERIC (%s)", llc_store_errmsg(s));
    CHECK(llc_store_checkpoint_get(s, "r1", 400, got, N, NULL, NULL) == LLC_ERR_NOTFOUND, "ckpt: nothing stored");

    /* zero parameters: an empty BLOB, not NULL */
    CHECK(llc_store_checkpoint_put(s, "empty", 0, 1, 1, NULL, 0, NULL, 0, "", 0) == LLC_OK,
          "ckpt: a 0-parameter checkpoint with a 0-byte state");
    CHECK(llc_store_checkpoint_get(s, "empty", 0, NULL, 0, NULL, NULL) == LLC_OK, "ckpt: and read back");
    rc = llc_store_train_state_get(s, "empty", &step, &st, &sb);
    CHECK(rc == LLC_OK && sb == 0 && st != NULL, "ckpt: a 0-byte state comes back allocated");
    free(st);

    free(w);
    free(w2);
    free(got);
    llc_store_close(s);
}

/* BLOBs a buggy or foreign writer might leave, read through the API. */
static void test_bad_blobs(void)
{
    char p[256];
    path_of(p, sizeof p, "bad.db");
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "bad: open");
        return;
    }
    float w[100], got[100];
    for (int i = 0; i < 100; i++) w[i] = (float)i;
    llc_store_run_create(s, "r1", "sort", "{}", 100, 1);
    for (long long st = 100; st <= 400; st += 100)
        CHECK(llc_store_checkpoint_put(s, "r1", st, 1, 1, w, 100, NULL, 0, NULL, 0) == LLC_OK, "bad: put r1/%lld", st);

    unsigned char wrong[1234] = {0};
    CHECK(raw_set_params(p, "r1", 100, wrong, sizeof wrong) == SQLITE_OK, "bad: raw write of a 1234-byte BLOB");
    int rc = llc_store_checkpoint_get(s, "r1", 100, got, 100, NULL, NULL);
    CHECK(rc == LLC_ERR_INVALID, "bad: wrong-size BLOB: LLC_ERR_INVALID (rc %d)", rc);
    CHECK(strstr(llc_store_errmsg(s), "r1/100 has 1234 bytes, expected 4*100") != NULL, "bad: message: %s",
          llc_store_errmsg(s));

    unsigned char le[400];
    for (int i = 0; i < 100; i++) {
        uint32_t u = i == 42 ? 0x7fc00000u : 0x3f800000u; /* a quiet NaN among ones */
        for (int b = 0; b < 4; b++) le[4 * i + b] = (unsigned char)(u >> (8 * b));
    }
    CHECK(raw_set_params(p, "r1", 200, le, sizeof le) == SQLITE_OK, "bad: raw write of a NaN BLOB");
    rc = llc_store_checkpoint_get(s, "r1", 200, got, 100, NULL, NULL);
    CHECK(rc == LLC_ERR_NUMERIC, "bad: NaN BLOB: LLC_ERR_NUMERIC (rc %d: %s)", rc, llc_store_errmsg(s));
    CHECK(strstr(llc_store_errmsg(s), "parameter 42") != NULL, "bad: message names the index");

    le[4 * 42 + 2] = 0x80; /* 0x7f800000 = +inf */
    raw_set_params(p, "r1", 300, le, sizeof le);
    rc = llc_store_checkpoint_get(s, "r1", 300, got, 100, NULL, NULL);
    CHECK(rc == LLC_ERR_NUMERIC, "bad: inf BLOB: LLC_ERR_NUMERIC (rc %d)", rc);

    CHECK(raw_exec(p, "UPDATE checkpoints SET params = 'text' WHERE step = 400") == SQLITE_OK,
          "bad: raw write of TEXT params");
    rc = llc_store_checkpoint_get(s, "r1", 400, got, 100, NULL, NULL);
    CHECK(rc == LLC_ERR_INVALID, "bad: TEXT params: LLC_ERR_INVALID (rc %d)", rc);
    llc_store_close(s);
}

/* Damage the checks of size and NaN cannot see: a zeroed page, one flipped
 * bit, a missing checksum, a changed resume state. Each read is refused with
 * LLC_ERR_STORE naming the run and step. */
static void test_checksums(void)
{
    char p[256];
    path_of(p, sizeof p, "sums.db");
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "sums: open");
        return;
    }
    enum { N = 3000 }; /* 12000 bytes: a page or more inside the BLOB */
    static float w[N], got[N];
    unsigned char state[100];
    for (int i = 0; i < N; i++) w[i] = 0.001f * (float)(i % 97) - 0.05f;
    for (int i = 0; i < 100; i++) state[i] = (unsigned char)(i * 7 + 1);
    llc_store_run_create(s, "r1", "sort", "{}", N, 1);
    for (long long st = 100; st <= 400; st += 100)
        CHECK(llc_store_checkpoint_put(s, "r1", st, 1, 1, w, N, NULL, 0, state, sizeof state) == LLC_OK,
              "sums: put r1/%lld", st);
    CHECK(llc_store_checkpoint_get(s, "r1", 100, got, N, NULL, NULL) == LLC_OK, "sums: an intact checkpoint reads");

    /* a zeroed 4096-byte page inside the BLOB: still the right size, all finite */
    unsigned char b[4 * N];
    memcpy(b, w, sizeof b);
    memset(b + 4096, 0, 4096);
    CHECK(raw_set_params(p, "r1", 200, b, sizeof b) == SQLITE_OK, "sums: raw write of a zeroed page");
    int rc = llc_store_checkpoint_get(s, "r1", 200, got, N, NULL, NULL);
    CHECK(rc == LLC_ERR_STORE, "sums: zeroed page: LLC_ERR_STORE (rc %d: %s)", rc, llc_store_errmsg(s));
    CHECK(strstr(llc_store_errmsg(s), "checkpoint r1/200") && strstr(llc_store_errmsg(s), "damaged"),
          "sums: message names run and step: %s", llc_store_errmsg(s));

    /* one flipped bit in the last, partial 32-byte block */
    memcpy(b, w, sizeof b);
    b[sizeof b - 3] ^= 0x10;
    raw_set_params(p, "r1", 300, b, sizeof b);
    rc = llc_store_checkpoint_get(s, "r1", 300, got, N, NULL, NULL);
    CHECK(rc == LLC_ERR_STORE, "sums: one flipped bit: LLC_ERR_STORE (rc %d)", rc);

    CHECK(raw_exec(p, "UPDATE checkpoints SET params_sum = NULL WHERE step = 400") == SQLITE_OK,
          "sums: raw removal of a checksum");
    rc = llc_store_checkpoint_get(s, "r1", 400, got, N, NULL, NULL);
    CHECK(rc == LLC_ERR_STORE && strstr(llc_store_errmsg(s), "no checksum"), "sums: no checksum: refused (%s)",
          llc_store_errmsg(s));

    void *st = NULL;
    size_t sb = 0;
    long long step = 0;
    CHECK(llc_store_train_state_get(s, "r1", &step, &st, &sb) == LLC_OK && sb == sizeof state, "sums: state reads");
    free(st);
    st = NULL;
    CHECK(raw_exec(p, "UPDATE train_state SET state = zeroblob(100) WHERE run = 'r1'") == SQLITE_OK,
          "sums: raw zeroing of the resume state");
    rc = llc_store_train_state_get(s, "r1", &step, &st, &sb);
    CHECK(rc == LLC_ERR_STORE && st == NULL && strstr(llc_store_errmsg(s), "resume state of run 'r1' (step 400)"),
          "sums: damaged resume state: LLC_ERR_STORE (rc %d: %s)", rc, llc_store_errmsg(s));
    free(st);

    /* a rewrite through the API stores the checksum again */
    CHECK(llc_store_checkpoint_put(s, "r1", 400, 1, 1, w, N, NULL, 0, state, sizeof state) == LLC_OK &&
              llc_store_checkpoint_get(s, "r1", 400, got, N, NULL, NULL) == LLC_OK &&
              llc_store_train_state_get(s, "r1", &step, &st, &sb) == LLC_OK,
          "sums: re-put checkpoint and state read again");
    free(st);
    llc_store_close(s);
}

static void test_transactions(void)
{
    char p[256];
    path_of(p, sizeof p, "tx.db");
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "tx: open");
        return;
    }
    float w[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w2[8] = {0}, got[8];
    llc_log_row log = {9, 1, 1, 1, 1};
    llc_store_run_create(s, "r1", "sort", "{}", 8, 1);

    CHECK(llc_store_begin(s) == LLC_OK, "tx: begin");
    CHECK(llc_store_begin(s) == LLC_ERR_INVALID, "tx: a second begin is refused");
    CHECK(llc_store_checkpoint_put(s, "r1", 10, 1, 1, w, 8, &log, 1, w, sizeof w) == LLC_OK, "tx: put inside");
    CHECK(llc_store_run_create(s, "r2", "sort", "{}", 8, 1) == LLC_OK, "tx: create inside");
    CHECK(llc_store_rollback(s) == LLC_OK, "tx: rollback");
    CHECK(llc_store_checkpoint_get(s, "r1", 10, got, 8, NULL, NULL) == LLC_ERR_NOTFOUND,
          "tx: the rolled-back checkpoint is gone");
    llc_run_info r = {0};
    CHECK(llc_store_run_get(s, "r2", &r) == LLC_ERR_NOTFOUND, "tx: the rolled-back run is gone");
    CHECK(db_int(llc_store_db(s), "SELECT count(*) FROM train_log") == 0, "tx: the rolled-back log row is gone");

    CHECK(llc_store_begin(s) == LLC_OK, "tx: begin again");
    CHECK(llc_store_checkpoint_put(s, "r1", 10, 1, 1, w, 8, NULL, 0, NULL, 0) == LLC_OK, "tx: put r1/10");
    /* a failing write inside rolls back only itself */
    CHECK(llc_store_checkpoint_put(s, "r1", 10, 1, 1, w2, 8, &log, 1, NULL, 0) == LLC_ERR_EXISTS,
          "tx: conflicting put inside the transaction fails");
    CHECK(llc_store_run_create(s, "r1", "sort", "{}", 8, 1) == LLC_ERR_EXISTS, "tx: duplicate run inside fails");
    CHECK(llc_store_checkpoint_put(s, "r1", 20, 1, 1, w, 8, NULL, 0, NULL, 0) == LLC_OK,
          "tx: the transaction is still usable");
    CHECK(llc_store_commit(s) == LLC_OK, "tx: commit");
    long long *steps = NULL;
    int n = 0;
    llc_store_checkpoint_steps(s, "r1", &steps, &n);
    CHECK(n == 2 && steps && steps[0] == 10 && steps[1] == 20, "tx: both good writes committed");
    free(steps);
    CHECK(db_int(llc_store_db(s), "SELECT count(*) FROM train_log") == 0, "tx: the failed put left no log row");
    CHECK(llc_store_commit(s) == LLC_ERR_STORE, "tx: commit without a transaction: LLC_ERR_STORE");
    CHECK(llc_store_rollback(s) == LLC_OK, "tx: rollback without a transaction is a no-op");
    llc_store_close(s);
}

static void test_reopen_readonly(void)
{
    char p[256], missing[256];
    path_of(p, sizeof p, "reopen.db");
    path_of(missing, sizeof missing, "missing.db");
    float w[16], got[16];
    for (int i = 0; i < 16; i++) w[i] = (float)i - 7.5f;
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "reopen: open");
        return;
    }
    llc_store_run_create(s, "r1", "sort", "{}", 16, 1);
    llc_store_checkpoint_put(s, "r1", 5, 1, 2, w, 16, NULL, 0, "st", 2);
    llc_store_close(s);

    s = open_rw(p);
    CHECK(s != NULL, "reopen: reopens read-write");
    if (s) {
        CHECK(llc_store_checkpoint_get(s, "r1", 5, got, 16, NULL, NULL) == LLC_OK && !memcmp(w, got, sizeof w),
              "reopen: checkpoint kept");
        llc_store_close(s);
    }

    char err[LLC_ERRLEN] = "";
    s = NULL;
    int rc = llc_store_open(p, LLC_STORE_READONLY, &s, err);
    CHECK(rc == LLC_OK && s, "readonly: opens (rc %d: %s)", rc, err);
    if (s) {
        llc_run_info r = {0};
        CHECK(llc_store_run_get(s, "r1", &r) == LLC_OK, "readonly: run readable");
        llc_run_info_free(&r);
        CHECK(llc_store_checkpoint_get(s, "r1", 5, got, 16, NULL, NULL) == LLC_OK && !memcmp(w, got, sizeof w),
              "readonly: checkpoint readable");
        rc = llc_store_run_create(s, "r2", "sort", "{}", 1, 1);
        CHECK(rc == LLC_ERR_STORE, "readonly: run_create refused with LLC_ERR_STORE (rc %d)", rc);
        CHECK(strstr(llc_store_errmsg(s), "read-only") != NULL, "readonly: message says read-only: %s",
              llc_store_errmsg(s));
        rc = llc_store_checkpoint_put(s, "r1", 6, 1, 2, w, 16, NULL, 0, NULL, 0);
        CHECK(rc == LLC_ERR_STORE, "readonly: checkpoint_put refused with LLC_ERR_STORE (rc %d)", rc);
        rc = llc_store_run_set_status(s, "r1", "done", NULL);
        CHECK(rc == LLC_ERR_STORE, "readonly: set_status refused with LLC_ERR_STORE (rc %d)", rc);
        rc = llc_store_begin(s);
        CHECK(rc == LLC_ERR_STORE, "readonly: begin refused with LLC_ERR_STORE (rc %d)", rc);
        llc_store_rollback(s);
        llc_store_close(s);
    }

    s = NULL;
    err[0] = '\0';
    rc = llc_store_open(missing, LLC_STORE_READONLY, &s, err);
    CHECK(rc != LLC_OK && s == NULL, "readonly: a missing file fails (rc %d)", rc);
    CHECK(strstr(err, missing) != NULL && strstr(err, "does not exist") != NULL, "readonly: message: %s", err);
    CHECK(!file_exists(missing), "readonly: the missing file is not created");

    char empty[256];
    path_of(empty, sizeof empty, "empty.db");
    write_file(empty, "");
    err[0] = '\0';
    rc = llc_store_open(empty, LLC_STORE_READONLY, &s, err);
    CHECK(rc == LLC_ERR_NOTFOUND, "readonly: an empty file is a missing store (%s)", err);
    s = open_rw(empty);
    CHECK(s != NULL, "create: an empty file becomes a store when opened read-write");
    llc_store_close(s);
}

static void test_not_a_store(void)
{
    char p[256], err[LLC_ERRLEN];
    llc_store *s = NULL;
    static const char *texts[] = {"hello\n",
                                  "This is a plain text file, long enough to cover an SQLite header and then some: "
                                  "0123456789012345678901234567890123456789012345678901234567890123456789\n"};
    for (int k = 0; k < 2; k++) {
        path_of(p, sizeof p, k ? "long.txt" : "short.txt");
        write_file(p, texts[k]);
        for (int ro = 0; ro < 2; ro++) {
            err[0] = '\0';
            int rc = llc_store_open(p, ro ? LLC_STORE_READONLY : LLC_STORE_RW, &s, err);
            CHECK(rc == LLC_ERR_SCHEMA && s == NULL, "notdb: %s text file opened %s: LLC_ERR_SCHEMA (rc %d)",
                  k ? "long" : "short", ro ? "read-only" : "read-write", rc);
            CHECK(strstr(err, p) && strstr(err, "is not an llc store (not an SQLite database)"), "notdb: message: %s",
                  err);
        }
        CHECK(file_equals(p, texts[k]), "notdb: the text file is left untouched");
    }

    /* a foreign SQLite database with tables, and one with another application id */
    path_of(p, sizeof p, "foreign.db");
    CHECK(raw_exec(p, "CREATE TABLE t(x); INSERT INTO t VALUES (1)") == SQLITE_OK, "foreign: raw create");
    err[0] = '\0';
    int rc = llc_store_open(p, LLC_STORE_RW, &s, err);
    CHECK(rc == LLC_ERR_SCHEMA && s == NULL, "foreign: a foreign database is refused (%s)", err);
    sqlite3 *db = NULL;
    sqlite3_open(p, &db);
    CHECK(db_int(db, "SELECT count(*) FROM sqlite_master") == 1 && db_int(db, "PRAGMA user_version") == 0,
          "foreign: and left untouched");
    sqlite3_close(db);
    path_of(p, sizeof p, "foreign2.db");
    raw_exec(p, "PRAGMA application_id = 42");
    rc = llc_store_open(p, LLC_STORE_RW, &s, err);
    CHECK(rc == LLC_ERR_SCHEMA, "foreign: another application id is refused (%s)", err);
}

static void test_schema_versions(void)
{
    char p[256], err[LLC_ERRLEN] = "";
    path_of(p, sizeof p, "newer.db");
    llc_store *s = open_rw(p);
    llc_store_close(s);
    CHECK(raw_exec(p, "PRAGMA user_version = 99") == SQLITE_OK, "newer: raw set user_version 99");
    s = NULL;
    int rc = llc_store_open(p, LLC_STORE_RW, &s, err);
    CHECK(rc == LLC_ERR_SCHEMA && s == NULL, "newer: refused with LLC_ERR_SCHEMA (rc %d)", rc);
    char want[128];
    snprintf(want, sizeof want, "has schema version 99, this llc understands up to %d: upgrade llc",
             LLC_SCHEMA_VERSION);
    CHECK(strstr(err, p) && strstr(err, want), "newer: message: %s", err);
    rc = llc_store_open(p, LLC_STORE_READONLY, &s, err);
    CHECK(rc == LLC_ERR_SCHEMA, "newer: refused read-only too");
}

/* Groups: created once with a spec, runs tagged with their varied settings,
 * selected by group or by a glob over run ids. */
static void test_groups(void)
{
    char p[256];
    path_of(p, sizeof p, "groups.db");
    llc_store *s = open_rw(p);
    char **ids = NULL, *spec = NULL, *grp = NULL;
    int n = 0;
    CHECK(llc_store_runs_select(s, "ih", NULL, &ids, &n) == LLC_ERR_NOTFOUND && ids == NULL &&
              strstr(llc_store_errmsg(s), "no runs in group 'ih'"),
          "groups: an unknown group is NOTFOUND (%s)", llc_store_errmsg(s));
    CHECK(llc_store_group_put(s, "ih", "{\"a\":1}") == LLC_OK && llc_store_group_put(s, "ih", "{\"a\":1}") == LLC_OK,
          "groups: put twice with the same spec");
    CHECK(llc_store_group_put(s, "ih", "{\"a\":2}") == LLC_ERR_EXISTS, "groups: another spec is refused");
    CHECK(llc_store_group_get(s, "ih", &spec) == LLC_OK && !strcmp(spec, "{\"a\":1}"), "groups: spec reads back");
    free(spec);
    const char *runs[] = {"ih-seed2", "ih-seed1", "other"};
    for (int i = 0; i < 3; i++) llc_store_run_create(s, runs[i], "icl", "{}", 1, 1);
    llc_vary_kv kv[] = {{"seed", "1"}, {"clamps", "[]"}};
    CHECK(llc_store_run_tag(s, "ih-seed1", "ih", kv, 2) == LLC_OK && llc_store_run_tag(s, "ih-seed2", "ih", kv, 1) == LLC_OK,
          "groups: runs tagged");
    CHECK(llc_store_run_tag(s, "ih-seed1", "ih", kv, 2) != LLC_OK, "groups: a run has one group");
    CHECK(llc_store_run_tag(s, "other", "nogroup", kv, 0) != LLC_OK, "groups: the group must exist");
    CHECK(llc_store_run_group(s, "ih-seed1", &grp) == LLC_OK && grp && !strcmp(grp, "ih"), "groups: a run's group");
    free(grp);
    CHECK(llc_store_run_group(s, "other", &grp) == LLC_OK && grp == NULL, "groups: a run without a group");
    char **keys = NULL, **values = NULL;
    CHECK(llc_store_run_vary(s, "ih-seed1", &keys, &values, &n) == LLC_OK && n == 2 && !strcmp(keys[0], "seed") &&
              !strcmp(values[0], "1") && !strcmp(keys[1], "clamps") && !strcmp(values[1], "[]"),
          "groups: the varied settings in their order");
    llc_strings_free(keys, n);
    llc_strings_free(values, n);
    CHECK(llc_store_run_vary(s, "other", &keys, &values, &n) == LLC_OK && n == 0, "groups: none for other runs");
    llc_strings_free(keys, n);
    llc_strings_free(values, n);
    CHECK(llc_store_runs_select(s, "ih", NULL, &ids, &n) == LLC_OK && n == 2 && !strcmp(ids[0], "ih-seed1") &&
              !strcmp(ids[1], "ih-seed2"),
          "groups: the group's runs, sorted");
    llc_strings_free(ids, n);
    CHECK(llc_store_runs_select(s, NULL, "*seed*", &ids, &n) == LLC_OK && n == 2, "groups: glob selects 2");
    llc_strings_free(ids, n);
    CHECK(llc_store_runs_select(s, NULL, "zz*", &ids, &n) == LLC_ERR_NOTFOUND &&
              strstr(llc_store_errmsg(s), "runs: ih-seed1, ih-seed2, other"),
          "groups: an empty match names the runs (%s)", llc_store_errmsg(s));
    sqlite3 *db = llc_store_db(s);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT value FROM run_vary WHERE run = 'ih-seed1' AND key = 'clamps'", -1, &st, NULL);
    CHECK(st && sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "[]"),
          "groups: the varied value is queryable");
    sqlite3_finalize(st);
    llc_store_close(s);
}

/* ---- older stores ----
 * Every schema version an earlier llc wrote, rebuilt with raw SQL the way
 * that llc built it (journal_mode WAL, then one transaction with the CREATE
 * statements, application_id and user_version), with rows as it wrote them.
 * The CREATE statements are frozen copies of core/store.c's schema_v1,
 * schema_v2 and schema_v3 (later edits there must not change what an old
 * store is). */

static const char old_schema_v1[] =
    "CREATE TABLE runs("
    " id TEXT PRIMARY KEY NOT NULL,"
    " task TEXT,"
    " config TEXT,"
    " n_params INTEGER,"
    " status TEXT NOT NULL DEFAULT 'running' CHECK(status IN ('running','done','failed')),"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " version TEXT,"
    " seed INTEGER,"
    " message TEXT);"
    "CREATE INDEX runs_by_created ON runs(created, id);"
    "CREATE TABLE checkpoints("
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL,"
    " train_loss REAL,"
    " test_loss REAL,"
    " params BLOB NOT NULL,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " PRIMARY KEY(run, step));"
    "CREATE TABLE train_log("
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL,"
    " loss REAL,"
    " lr REAL,"
    " grad_norm REAL,"
    " elapsed REAL,"
    " PRIMARY KEY(run, step)) WITHOUT ROWID;"
    "CREATE TABLE train_state("
    " run TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL,"
    " state BLOB);";

static const char old_schema_v2[] =
    "CREATE TABLE estimates("
    " id INTEGER PRIMARY KEY,"
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL,"
    " target TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " settings TEXT NOT NULL,"
    " sampler TEXT, eps REAL, eps_auto INTEGER, eps_reason TEXT, gamma REAL, nbeta REAL, nbeta_mode TEXT,"
    " chains INTEGER, draws INTEGER, burnin INTEGER, thin INTEGER, batch INTEGER, init_batches INTEGER,"
    " seed INTEGER, n_params INTEGER, init_loss REAL, llc_mean REAL, llc_std REAL,"
    " status TEXT NOT NULL, n_diverged INTEGER, frac_below REAL, rhat REAL, mala_accept REAL,"
    " diagnostics TEXT, seconds REAL,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " version TEXT,"
    " UNIQUE(run, step, target, data, settings));"
    "CREATE INDEX estimates_curve ON estimates(run, target, data, step);"
    "CREATE TABLE estimate_chains("
    " estimate INTEGER NOT NULL REFERENCES estimates(id) ON DELETE CASCADE,"
    " chain INTEGER NOT NULL,"
    " llc REAL, diverged INTEGER, diverged_at INTEGER, mala REAL,"
    " trace BLOB,"
    " PRIMARY KEY(estimate, chain));"
    "CREATE VIEW curves AS"
    " SELECT e.run, e.target, e.data, e.step, e.llc_mean, e.llc_std FROM estimates e"
    " WHERE e.status = 'ok' AND e.id = (SELECT max(x.id) FROM estimates x WHERE x.run = e.run"
    " AND x.target = e.target AND x.data = e.data AND x.step = e.step AND x.status = 'ok');";

/* frozen copy of core/store.c's schema_v3 */
static const char old_schema_v3[] =
    "ALTER TABLE estimates ADD COLUMN metropolis INTEGER;"
    "ALTER TABLE estimates ADD COLUMN accept_rate REAL;"
    "ALTER TABLE estimates ADD COLUMN exact_loss INTEGER;"
    "ALTER TABLE estimates ADD COLUMN paired INTEGER;"
    "ALTER TABLE estimates ADD COLUMN sim_time REAL;"
    "ALTER TABLE estimates ADD COLUMN steps_capped INTEGER;"
    "ALTER TABLE estimate_chains ADD COLUMN burnin INTEGER;"
    "ALTER TABLE estimate_chains ADD COLUMN thin INTEGER;";

/* frozen copy of core/store.c's schema_v6 */
static const char old_schema_v6[] =
    "CREATE TABLE stages("
    " id INTEGER PRIMARY KEY,"
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " target TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " step REAL NOT NULL,"
    " kind TEXT NOT NULL,"
    " value REAL,"
    " settings TEXT NOT NULL,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " version TEXT);"
    "CREATE INDEX stages_run ON stages(run, source, target, data);"
    "CREATE TABLE clusters("
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " curve TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " settings TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " cluster INTEGER NOT NULL,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " version TEXT,"
    " PRIMARY KEY(run, curve, data, settings, target));"
    "CREATE TABLE trajectory("
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " data TEXT NOT NULL,"
    " settings TEXT NOT NULL,"
    " step INTEGER NOT NULL,"
    " component INTEGER NOT NULL,"
    " coord REAL,"
    " explained REAL,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " version TEXT,"
    " PRIMARY KEY(run, data, settings, step, component));"
    /* one row per checkpoint with its first three coordinates */
    "CREATE VIEW trajectory_xy AS"
    " SELECT run, data, settings, step,"
    " max(CASE component WHEN 1 THEN coord END) AS pc1,"
    " max(CASE component WHEN 2 THEN coord END) AS pc2,"
    " max(CASE component WHEN 3 THEN coord END) AS pc3"
    " FROM trajectory GROUP BY run, data, settings, step;";

/* frozen copy of core/store.c's schema_v5 */
static const char old_schema_v5[] =
    "CREATE TABLE probes("
    " id INTEGER PRIMARY KEY,"
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL,"
    " target TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " probe TEXT NOT NULL,"
    " value REAL,"
    " settings TEXT NOT NULL,"
    " seed INTEGER,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " version TEXT,"
    " UNIQUE(run, step, target, data, probe, settings));"
    "CREATE INDEX probes_curve ON probes(run, probe, target, data, step);"
    "CREATE VIEW probe_curves AS"
    " SELECT p.run, p.target, p.data, p.probe, p.step, p.value FROM probes p"
    " WHERE p.id = (SELECT max(x.id) FROM probes x WHERE x.run = p.run AND x.target = p.target"
    " AND x.data = p.data AND x.probe = p.probe AND x.step = p.step);";

#define OLD_N_PARAMS 256
#define OLD_STATE_BYTES 333
#define OLD_DRAWS 3
#define OLD_SEED_R2 0xFEDCBA9876543210ULL /* stored as the signed -81985529216486896 */
#define OLD_SETTINGS_1 "{\"chains\":2,\"draws\":3,\"eps\":0.0001}"

/* BLOBs are zeroblob placeholders here, filled with bound values by old_blobs */
/* frozen copy of core/store.c's schema_v4 without its UPDATEs (old_blobs
 * writes a v4 store's checksums) */
static const char old_schema_v4[] =
    "ALTER TABLE checkpoints ADD COLUMN params_sum INTEGER;"
    "ALTER TABLE train_state ADD COLUMN state_sum INTEGER;";

static const char old_rows_v1[] =
    "INSERT INTO runs(id, task, config, n_params, status, created, version, seed, message) VALUES"
    " ('r1','sort','{\"task\":\"sort\",\"seed\":1}',256,'done','2024-11-01T10:00:00Z','0.1.0',1,NULL),"
    " ('r2','modadd','{\"task\":\"modadd\"}',256,'failed','2024-11-02T09:30:00Z','0.1.0',"
    "  -81985529216486896,'loss is NaN at step 30');"
    "INSERT INTO checkpoints(run, step, train_loss, test_loss, params, created) VALUES"
    " ('r1',0,3.25,3.2701,zeroblob(1024),'2024-11-01T10:00:01Z'),"
    " ('r1',10,2.5,2.625,zeroblob(1024),'2024-11-01T10:00:02Z'),"
    " ('r1',20,0.0625,0.30000000000000004,zeroblob(1024),'2024-11-01T10:00:03Z'),"
    " ('r2',0,4.5,4.6,zeroblob(1024),'2024-11-02T09:30:01Z'),"
    " ('r2',20,1099511627776.0,NULL,zeroblob(1024),'2024-11-02T09:30:02Z');"
    "INSERT INTO train_log(run, step, loss, lr, grad_norm, elapsed) VALUES"
    " ('r1',1,3.3,0.001,1.5,0.01),('r1',10,2.9,0.001,1.25,0.1),('r1',20,2.1,0.0005,0.875,0.2),"
    " ('r2',1,4.6,0.003,2.0,0.01),('r2',29,5e300,0.003,NULL,0.3);"
    "INSERT INTO train_state(run, step, state) VALUES ('r1',20,zeroblob(1)),('r2',20,NULL);";

static const char old_rows_v2[] =
    "INSERT INTO estimates(id, run, step, target, data, settings, sampler, eps, eps_auto, eps_reason, gamma,"
    " nbeta, nbeta_mode, chains, draws, burnin, thin, batch, init_batches, seed, n_params, init_loss, llc_mean,"
    " llc_std, status, n_diverged, frac_below, rhat, mala_accept, diagnostics, seconds, created, version) VALUES"
    " (1,'r1',0,'model','train','" OLD_SETTINGS_1 "','sgld',1e-4,0,'given',100,12.5,'n_log_n',"
    "  2,3,0,1,32,16,0,256,3.2686,5.5,0.25,'ok',0,0.41,1.02,NULL,'{\"full_batch\":false}',0.5,"
    "  '2024-11-03T08:00:00Z','0.2.0'),"
    " (2,'r1',10,'model','train','{\"chains\":2,\"draws\":3,\"eps\":0.1}','sgld',0.1,0,'given',100,12.5,"
    "  'n_log_n',2,3,0,1,32,16,0,256,2.9,NULL,NULL,'diverged',2,NULL,NULL,NULL,'{}',0.4,"
    "  '2024-11-03T08:00:01Z','0.2.0'),"
    " (3,'r1',10,'model','train','{\"chains\":2,\"draws\":3,\"eps\":\"auto\"}','sgld',3e-5,1,'mala 0.92',"
    "  100,12.5,'n_log_n',2,3,10,2,32,16,7,256,2.9,7.25,0.5,'ok',0,0.3,0.99,0.93,"
    "  '{\"eps_auto\":{\"eps\":3e-05}}',2.5,'2024-11-03T08:00:02Z','0.2.0'),"
    " (4,'r1',20,'0.1','train','" OLD_SETTINGS_1 "','sgld',1e-4,0,'given',100,12.5,'n_log_n',"
    "  2,3,0,1,32,16,0,64,2.1,1.75,0.125,'ok',0,0.5,1.0,NULL,'{}',0.3,'2024-11-03T08:00:03Z','0.2.0');"
    "INSERT INTO estimate_chains(estimate, chain, llc, diverged, diverged_at, mala, trace) VALUES"
    " (1,0,5.25,0,-1,NULL,zeroblob(24)),(1,1,5.75,0,-1,NULL,zeroblob(24)),"
    " (2,0,NULL,1,5,NULL,zeroblob(24)),(2,1,NULL,1,7,NULL,zeroblob(24)),"
    " (3,0,7.0,0,-1,0.92,zeroblob(24)),(3,1,7.5,0,-1,0.94,zeroblob(24)),"
    " (4,0,1.625,0,-1,NULL,zeroblob(24)),(4,1,1.875,0,-1,NULL,zeroblob(24));";

/* the checkpoints of old_rows_v1, run index for params_of; train losses
 * exact in binary (SQLite's text-to-double parse need not round correctly:
 * under valgrind, which runs long double as double, it does not) */
static const struct {
    const char *run;
    int ri;
    long long step;
    double train_loss;
} old_ckpts[] = {
    {"r1", 1, 0, 3.25}, {"r1", 1, 10, 2.5}, {"r1", 1, 20, 0.0625}, {"r2", 2, 0, 4.5}, {"r2", 2, 20, 0x1p40},
};
#define N_OLD_CKPTS (int)(sizeof old_ckpts / sizeof old_ckpts[0])

static void old_state(unsigned char *b)
{
    for (int i = 0; i < OLD_STATE_BYTES; i++) b[i] = (unsigned char)(i * 131 + 7);
}

/* A chain's loss trace as little-endian float64, NaN after a divergence. */
static void old_trace(unsigned char *b, int est, int chain)
{
    for (int k = 0; k < OLD_DRAWS; k++) {
        double v = est == 2 && k > 0 ? (double)NAN : 3.0 + 0.1 * est + 0.01 * chain - 0.001 * k;
        uint64_t u;
        memcpy(&u, &v, 8);
        for (int j = 0; j < 8; j++) b[8 * k + j] = (unsigned char)(u >> (8 * j));
    }
}

/* Fill the placeholder BLOBs with bound values (params: finite LE float32). */
static int old_blobs(sqlite3 *db, int version)
{
    sqlite3_stmt *st = NULL;
    int ok = 1;
    float w[OLD_N_PARAMS];
    /* v4 on: the checksum as llc wrote it (v0-v3: NULL, computed by the upgrade) */
    ok &= sqlite3_prepare_v2(db, version >= 4 ? "UPDATE checkpoints SET params = ?3, params_sum = ?4 WHERE run = ?1 AND step = ?2"
                                              : "UPDATE checkpoints SET params = ?3 WHERE run = ?1 AND step = ?2",
                             -1, &st, NULL) == SQLITE_OK;
    for (int i = 0; ok && i < N_OLD_CKPTS; i++) {
        params_of(w, OLD_N_PARAMS, old_ckpts[i].ri, old_ckpts[i].step);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, old_ckpts[i].run, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, old_ckpts[i].step);
        sqlite3_bind_blob(st, 3, w, (int)sizeof w, SQLITE_TRANSIENT); /* LE host: as llc wrote them */
        if (version >= 4) sqlite3_bind_int64(st, 4, (sqlite3_int64)llc_sum64(w, sizeof w));
        ok &= sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
    }
    sqlite3_finalize(st);
    unsigned char state[OLD_STATE_BYTES], trace[8 * OLD_DRAWS];
    old_state(state);
    st = NULL;
    ok &= sqlite3_prepare_v2(db, version >= 4 ? "UPDATE train_state SET state = ?1, state_sum = ?2 WHERE run = 'r1'"
                                              : "UPDATE train_state SET state = ?1 WHERE run = 'r1'",
                             -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_blob(st, 1, state, (int)sizeof state, SQLITE_STATIC);
        if (version >= 4) sqlite3_bind_int64(st, 2, (sqlite3_int64)llc_sum64(state, sizeof state));
        ok &= sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
    }
    sqlite3_finalize(st);
    if (version >= 4) { /* a NULL state sums as zero bytes, as the upgrade computes it */
        st = NULL;
        ok &= sqlite3_prepare_v2(db, "UPDATE train_state SET state_sum = ?1 WHERE state IS NULL", -1, &st, NULL) ==
              SQLITE_OK;
        if (ok) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)llc_sum64(NULL, 0));
            ok &= sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    if (version < 2) return ok ? 0 : -1;
    st = NULL;
    ok &= sqlite3_prepare_v2(db, "UPDATE estimate_chains SET trace = ?3 WHERE estimate = ?1 AND chain = ?2", -1, &st,
                             NULL) == SQLITE_OK;
    for (int e = 1; ok && e <= 4; e++)
        for (int c = 0; ok && c < 2; c++) {
            old_trace(trace, e, c);
            sqlite3_reset(st);
            sqlite3_bind_int(st, 1, e);
            sqlite3_bind_int(st, 2, c);
            sqlite3_bind_blob(st, 3, trace, (int)sizeof trace, SQLITE_TRANSIENT);
            ok &= sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
        }
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

typedef struct {
    const char *file;
    int version;    /* PRAGMA user_version of the store */
    int zero_bytes; /* version 0: a zero-byte file, else an SQLite file without tables */
} old_store;

static const old_store old_stores[] = {
    {"old-v0-empty.db", 0, 1},
    {"old-v0-notables.db", 0, 0},
    {"old-v1.db", 1, 0},
    {"old-v2.db", 2, 0},
    {"old-v3.db", 3, 0},
    {"old-v4.db", 4, 0}, /* checksums: v4 -> v5 */
    {"old-v5.db", 5, 0}, /* head probes: v5 -> v6 */
    {"old-v6.db", 6, 0}, /* analysis: v6 -> v7 */
};
_Static_assert(LLC_SCHEMA_VERSION == 7, "add the store of schema version LLC_SCHEMA_VERSION - 1 to old_stores");

/* Build store o at p (replacing any file there). 0 on success. */
static int build_old_store(const char *p, const old_store *o)
{
    char wal[300], sql[128];
    unlink(p);
    snprintf(wal, sizeof wal, "%s-wal", p);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", p);
    unlink(wal);
    if (o->zero_bytes) {
        write_file(p, "");
        return file_exists(p) ? 0 : -1;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version == 0) /* a real SQLite file, nothing in it */
        rc = sqlite3_exec(db, "CREATE TABLE scratch(x); DROP TABLE scratch", NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 1) rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 1) rc = sqlite3_exec(db, old_schema_v1, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 2) rc = sqlite3_exec(db, old_schema_v2, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 3) rc = sqlite3_exec(db, old_schema_v3, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 4) rc = sqlite3_exec(db, old_schema_v4, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 5) rc = sqlite3_exec(db, old_schema_v5, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 6) rc = sqlite3_exec(db, old_schema_v6, NULL, NULL, NULL);
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d; COMMIT", APP_ID, o->version);
    if (rc == SQLITE_OK && o->version >= 1) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 1) rc = sqlite3_exec(db, old_rows_v1, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 2) rc = sqlite3_exec(db, old_rows_v2, NULL, NULL, NULL);
    if (rc == SQLITE_OK && o->version >= 1) rc = old_blobs(db, o->version) ? SQLITE_ERROR : SQLITE_OK;
    if (rc != SQLITE_OK) printf("build %s: %s\n", p, db ? sqlite3_errmsg(db) : "no connection");
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* One SELECT per table and view of db as it is now, of its columns as they
 * are now, every row in a fixed order ("SELECT 'name', c1, .. ORDER BY 2, ..;"). */
static char *dump_queries(sqlite3 *db)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sqlite3_stmt *t = NULL, *c = NULL;
    if (!f) return NULL;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite%'"
                           " ORDER BY name", -1, &t, NULL);
    sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", -1, &c, NULL);
    while (t && c && sqlite3_step(t) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(t, 0);
        int k = 0;
        fprintf(f, "SELECT '%s'", name);
        sqlite3_bind_text(c, 1, name, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(c) == SQLITE_ROW) {
            fprintf(f, ", \"%s\"", (const char *)sqlite3_column_text(c, 0));
            k++;
        }
        sqlite3_reset(c);
        fprintf(f, " FROM \"%s\" ORDER BY", name);
        for (int i = 0; i < k; i++) fprintf(f, "%s %d", i ? "," : "", i + 2);
        fprintf(f, ";\n");
    }
    sqlite3_finalize(t);
    sqlite3_finalize(c);
    fclose(f);
    return buf;
}

/* Every row of every query in qs, value by value and type-tagged (REAL as
 * %a, so bit for bit; BLOB as hex). NULL if a query fails (a column gone). */
static char *dump_rows(sqlite3 *db, const char *qs, int *n_rows)
{
    char *buf = NULL;
    size_t len = 0;
    int ok = 1;
    *n_rows = 0;
    FILE *f = qs ? open_memstream(&buf, &len) : NULL;
    if (!f) return NULL;
    const char *tail = qs;
    while (ok && *tail) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
            printf("dump: %s\n", sqlite3_errmsg(db));
            ok = 0;
            break;
        }
        if (!st) break; /* only whitespace left */
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            (*n_rows)++;
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                switch (sqlite3_column_type(st, i)) {
                case SQLITE_INTEGER: fprintf(f, "|i%lld", (long long)sqlite3_column_int64(st, i)); break;
                case SQLITE_FLOAT: fprintf(f, "|f%a", sqlite3_column_double(st, i)); break;
                case SQLITE_TEXT:
                    fprintf(f, "|t%d:%s", sqlite3_column_bytes(st, i), (const char *)sqlite3_column_text(st, i));
                    break;
                case SQLITE_BLOB: {
                    const unsigned char *b = sqlite3_column_blob(st, i);
                    int nb = sqlite3_column_bytes(st, i);
                    fprintf(f, "|b%d:", nb);
                    for (int j = 0; j < nb; j++) fprintf(f, "%02x", b[j]);
                    break;
                }
                default: fprintf(f, "|n");
                }
            }
            fputc('\n', f);
        }
        ok &= rc == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    fclose(f);
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The whole file (n bytes), malloc'd; NULL if unreadable. */
static char *read_all(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    char *b = NULL;
    *n = 0;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        rewind(f);
        b = malloc(sz > 0 ? (size_t)sz : 1);
        if (b && fread(b, 1, (size_t)sz, f) == (size_t)sz) *n = (size_t)sz;
        else {
            free(b);
            b = NULL;
        }
    }
    fclose(f);
    return b;
}

/* Write an estimate through llc_results_put with every v3 field set. */
static int put_v3_estimate(llc_store *s, long long step, long long *id)
{
    llc_estimate_result r;
    memset(&r, 0, sizeof r);
    llc_estimate_config_default(&r.cfg);
    double trace[2 * OLD_DRAWS] = {2.0, 1.9, 1.8, 2.1, 2.0, 1.95}, chain_llc[2] = {4.25, 4.75}, mala[2] = {NAN, NAN};
    int diverged[2] = {0, 0};
    long diverged_at[2] = {-1, -1}, burnin[2] = {100, 200}, thin[2] = {3, 4};
    r.eps = 1e-4;
    r.nbeta = 12.5;
    r.nbeta_mode = LLC_NBETA_GIVEN;
    r.init_loss = 2.0;
    r.llc_mean = 4.5;
    r.llc_std = 0.25;
    r.chains = 2;
    r.draws = OLD_DRAWS;
    r.status = "ok";
    r.chain_llc = chain_llc;
    r.chain_diverged = diverged;
    r.chain_diverged_at = diverged_at;
    r.chain_mala = mala;
    r.trace = trace;
    r.metropolis = 1;
    r.exact_loss = 1;
    r.paired = 0;
    r.burnin = 200;
    r.chain_burnin = burnin;
    r.thin = 4;
    r.chain_thin = thin;
    r.sim_time = 0.125;
    r.steps_capped = 1;
    r.accept_rate = 0.75;
    r.frac_below = 0.5;
    r.rhat = 1.01;
    r.mala_accept = NAN;
    r.seconds = 0.25;
    return llc_results_put(s, "r1", step, "model", "train", "{\"metropolis\":true}", OLD_N_PARAMS, &r, 0, id);
}

/* For each older store: a read-only open refuses it and leaves the file as
 * it was; a read-write open migrates it to LLC_SCHEMA_VERSION keeping every
 * row bit for bit, adds the new columns (NULL on old rows), and the store
 * then takes new writes through the normal API. */
static void test_older_stores(void)
{
    for (size_t k = 0; k < sizeof old_stores / sizeof old_stores[0]; k++) {
        const old_store *o = &old_stores[k];
        const int v = o->version;
        char p[256], err[LLC_ERRLEN], want[160], tag[40];
        path_of(p, sizeof p, o->file);
        snprintf(tag, sizeof tag, "older v%d%s", v, v ? "" : o->zero_bytes ? " (empty file)" : " (no tables)");
        if (build_old_store(p, o)) {
            CHECK(0, "%s: build the old store with raw SQL", tag);
            continue;
        }

        /* the store as the old llc left it, value by value */
        sqlite3 *raw = NULL;
        sqlite3_open_v2(p, &raw, SQLITE_OPEN_READONLY, NULL);
        CHECK(db_int(raw, "PRAGMA user_version") == v, "%s: built at user_version %d", tag, v);
        char *queries = dump_queries(raw);
        int n_before = 0, n_after = 0;
        char *before = dump_rows(raw, queries, &n_before);
        /* 2+5+5+2 rows of v1 tables; v2 adds 4 estimates, 8 chains, 3 curve points */
        const int want_rows = v == 0 ? 0 : v == 1 ? 14 : 14 + 4 + 8 + 3;
        CHECK(before && n_before == want_rows, "%s: the old store holds %d rows (got %d)", tag, want_rows, n_before);
        sqlite3_close(raw);
        size_t n_file = 0, n_file2 = 0;
        char *file = read_all(p, &n_file);

        /* read-only: refused with the documented message, nothing migrated */
        llc_store *s = NULL;
        err[0] = '\0';
        int rc = llc_store_open(p, LLC_STORE_READONLY, &s, err);
        /* an empty file or database is a missing store; an older one needs an upgrade */
        CHECK(rc == (v == 0 ? LLC_ERR_NOTFOUND : LLC_ERR_SCHEMA) && s == NULL,
              "%s: a read-only open is refused with %s (rc %d)", tag, v == 0 ? "LLC_ERR_NOTFOUND" : "LLC_ERR_SCHEMA",
              rc);
        if (v == 0)
            snprintf(want, sizeof want, "is empty: no llc store yet");
        else
            snprintf(want, sizeof want, "has schema version %d, older than this llc's %d: open it once for writing", v,
                     LLC_SCHEMA_VERSION);
        CHECK(strstr(err, p) && strstr(err, want), "%s: read-only message: %s", tag, err);
        llc_store_close(s);
        char *file2 = read_all(p, &n_file2);
        CHECK(file && file2 && n_file == n_file2 && !memcmp(file, file2, n_file),
              "%s: the read-only open left the file byte for byte as it was (%zu bytes)", tag, n_file);
        free(file);
        free(file2);

        /* read-write: migrated */
        s = NULL;
        err[0] = '\0';
        rc = llc_store_open(p, LLC_STORE_RW, &s, err);
        CHECK(rc == LLC_OK && s != NULL, "%s: a read-write open migrates it (%s)", tag, err);
        if (!s) {
            free(queries);
            free(before);
            continue;
        }
        sqlite3 *db = llc_store_db(s);
        char text[64];
        CHECK(db_int(db, "PRAGMA user_version") == LLC_SCHEMA_VERSION, "%s: now at user_version %d", tag,
              LLC_SCHEMA_VERSION);
        CHECK(db_int(db, "PRAGMA application_id") == APP_ID, "%s: application_id is llc's", tag);
        db_text(db, "PRAGMA journal_mode", text, sizeof text);
        CHECK(!strcmp(text, "wal"), "%s: journal_mode wal (%s)", tag, text);
        db_text(db, "PRAGMA integrity_check", text, sizeof text);
        CHECK(!strcmp(text, "ok"), "%s: integrity_check ok (%s)", tag, text);
        CHECK(db_int(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "%s: no foreign key violations", tag);
        char *after = dump_rows(db, queries, &n_after);
        CHECK(before && after && !strcmp(before, after),
              "%s: every old row of every old table and view is identical, value by value (%d rows)", tag, n_after);

        /* the v3 columns exist, and are NULL on the old rows */
        static const char *const new_cols[] = {
            "SELECT metropolis, accept_rate, exact_loss, paired, sim_time, steps_capped FROM estimates",
            "SELECT burnin, thin FROM estimate_chains"};
        for (int i = 0; i < 2; i++) {
            sqlite3_stmt *st = NULL;
            CHECK(sqlite3_prepare_v2(db, new_cols[i], -1, &st, NULL) == SQLITE_OK, "%s: %s prepares (%s)", tag,
                  new_cols[i], sqlite3_errmsg(db));
            sqlite3_finalize(st);
        }
        CHECK(db_int(db, "SELECT count(*) FROM estimates") == (v >= 2 ? 4 : 0) &&
                  db_int(db, "SELECT count(*) FROM estimates WHERE metropolis IS NULL AND accept_rate IS NULL AND "
                             "exact_loss IS NULL AND paired IS NULL AND sim_time IS NULL AND steps_capped IS NULL") ==
                      (v >= 2 ? 4 : 0),
              "%s: the new estimates columns are NULL on every old row", tag);
        CHECK(db_int(db, "SELECT count(*) FROM estimate_chains WHERE burnin IS NULL AND thin IS NULL") ==
                  (v >= 2 ? 8 : 0),
              "%s: the new estimate_chains columns are NULL on every old row", tag);
        CHECK(db_int(db, "SELECT count(*) FROM curves") == (v >= 2 ? 3 : 0), "%s: the curves view works", tag);
        /* v4: the upgrade computed the checksum of every old checkpoint and state
         * (a v4 store had them already) */
        CHECK(db_int(db, "SELECT count(*) FROM checkpoints WHERE params_sum IS NOT NULL") == (v >= 1 ? 5 : 0) &&
                  db_int(db, "SELECT count(*) FROM train_state WHERE state_sum IS NOT NULL") == (v >= 1 ? 2 : 0),
              "%s: checksums computed for every old checkpoint and resume state", tag);
        /* v5: the probes table and its view exist, empty */
        CHECK(db_int(db, "SELECT count(*) FROM probes") == 0 && db_int(db, "SELECT count(*) FROM probe_curves") == 0,
              "%s: the probes table and the probe_curves view exist, empty", tag);
        /* v6: the analysis tables exist, empty */
        CHECK(db_int(db, "SELECT count(*) FROM stages") == 0 && db_int(db, "SELECT count(*) FROM clusters") == 0 &&
                  db_int(db, "SELECT count(*) FROM trajectory") == 0 &&
                  db_int(db, "SELECT count(*) FROM trajectory_xy") == 0,
              "%s: the stages, clusters and trajectory tables and the trajectory_xy view exist, empty", tag);
        /* v7: the group tables exist, empty */
        CHECK(db_int(db, "SELECT count(*) FROM groups") == 0 && db_int(db, "SELECT count(*) FROM run_groups") == 0 &&
                  db_int(db, "SELECT count(*) FROM run_vary") == 0,
              "%s: the groups, run_groups and run_vary tables exist, empty", tag);
        if (v >= 2)
            CHECK(db_int(db, "SELECT llc_mean * 4 FROM curves WHERE run = 'r1' AND target = 'model' AND step = 10") ==
                      29,
                  "%s: curves still picks the newest ok estimate of a point", tag);

        /* old rows through the API */
        if (v >= 1) {
            float w[OLD_N_PARAMS], got[OLD_N_PARAMS];
            int ok = 1;
            for (int i = 0; i < N_OLD_CKPTS; i++) {
                double tl = 0;
                params_of(w, OLD_N_PARAMS, old_ckpts[i].ri, old_ckpts[i].step);
                ok &= llc_store_checkpoint_get(s, old_ckpts[i].run, old_ckpts[i].step, got, OLD_N_PARAMS, &tl, NULL) ==
                          LLC_OK &&
                      !memcmp(w, got, sizeof w) && tl == old_ckpts[i].train_loss;
            }
            CHECK(ok, "%s: every old checkpoint reads back bit-exact with its loss", tag);
            long long *steps = NULL;
            int n = 0;
            CHECK(llc_store_checkpoint_steps(s, "r1", &steps, &n) == LLC_OK && n == 3 && steps[0] == 0 &&
                      steps[1] == 10 && steps[2] == 20,
                  "%s: old checkpoint steps listed", tag);
            free(steps);
            unsigned char st_want[OLD_STATE_BYTES];
            void *st_got = NULL;
            size_t st_n = 0;
            long long st_step = 0;
            old_state(st_want);
            CHECK(llc_store_train_state_get(s, "r1", &st_step, &st_got, &st_n) == LLC_OK && st_step == 20 &&
                      st_n == sizeof st_want && !memcmp(st_got, st_want, st_n),
                  "%s: the old resume state reads back", tag);
            free(st_got);
            llc_run_info r = {0};
            CHECK(llc_store_run_get(s, "r2", &r) == LLC_OK && r.seed == OLD_SEED_R2 && !strcmp(r.status, "failed") &&
                      !strcmp(r.message, "loss is NaN at step 30") && !strcmp(r.created, "2024-11-02T09:30:00Z"),
                  "%s: the old run reads back", tag);
            llc_run_info_free(&r);
        }
        if (v >= 2) {
            long long id = 0;
            rc = llc_results_find(s, "r1", 0, "model", "train", OLD_SETTINGS_1, &id);
            CHECK(rc == LLC_OK && id == 1, "%s: an old estimate is found by its keys (rc %d, id %lld)", tag, rc, id);
        }

        /* new writes through the normal API */
        float w[OLD_N_PARAMS], got[OLD_N_PARAMS];
        if (v == 0)
            CHECK(llc_store_run_create(s, "r1", "sort", "{}", OLD_N_PARAMS, 1) == LLC_OK, "%s: a new run", tag);
        else
            CHECK(llc_store_run_create(s, "r3", "sort", "{}", OLD_N_PARAMS, 1) == LLC_OK, "%s: a new run", tag);
        params_of(w, OLD_N_PARAMS, 1, 30);
        llc_log_row log[2] = {{29, 1.5, 1e-3, 0.5, 3.0}, {30, 1.25, 1e-3, 0.5, 3.1}};
        unsigned char state[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        rc = llc_store_checkpoint_put(s, "r1", 30, 1.25, 1.5, w, OLD_N_PARAMS, log, 2, state, sizeof state);
        CHECK(rc == LLC_OK, "%s: checkpoint_put of a new step (%s)", tag, llc_store_errmsg(s));
        CHECK(llc_store_checkpoint_get(s, "r1", 30, got, OLD_N_PARAMS, NULL, NULL) == LLC_OK &&
                  !memcmp(w, got, sizeof w),
              "%s: and reads back", tag);
        if (v >= 1) {
            params_of(w, OLD_N_PARAMS, 1, 10);
            CHECK(llc_store_checkpoint_put(s, "r1", 10, 2.5, 2.625, w, OLD_N_PARAMS, NULL, 0, NULL, 0) == LLC_OK,
                  "%s: re-putting an old checkpoint with identical params is accepted", tag);
            w[7] += 1;
            CHECK(llc_store_checkpoint_put(s, "r1", 10, 2.5, 2.625, w, OLD_N_PARAMS, NULL, 0, NULL, 0) ==
                      LLC_ERR_EXISTS,
                  "%s: different params for an old checkpoint are refused", tag);
        }
        long long id = 0;
        rc = put_v3_estimate(s, 30, &id);
        CHECK(rc == LLC_OK, "%s: llc_results_put of a new estimate (%s)", tag, llc_store_errmsg(s));
        char q[300];
        snprintf(q, sizeof q,
                 "SELECT metropolis || ' ' || accept_rate || ' ' || exact_loss || ' ' || paired || ' ' || sim_time ||"
                 " ' ' || steps_capped FROM estimates WHERE id = %lld",
                 id);
        db_text(db, q, text, sizeof text);
        CHECK(!strcmp(text, "1 0.75 1 0 0.125 1"), "%s: its v3 columns are stored (%s)", tag, text);
        snprintf(q, sizeof q,
                 "SELECT group_concat(burnin || '/' || thin || '/' || length(trace), ' ') FROM "
                 "(SELECT * FROM estimate_chains WHERE estimate = %lld ORDER BY chain)",
                 id);
        db_text(db, q, text, sizeof text);
        CHECK(!strcmp(text, "100/3/24 200/4/24"), "%s: its chains' burn-in, thin and traces are stored (%s)", tag,
              text);
        llc_curve_point *pts = NULL;
        int n = 0;
        rc = llc_results_curves(s, "r1", "model", "train", &pts, &n);
        CHECK(rc == LLC_OK && n == (v >= 2 ? 3 : 1) && n > 0 && pts[n - 1].step == 30 && pts[n - 1].llc_mean == 4.5 &&
                  (v < 2 || (pts[0].step == 0 && pts[0].llc_mean == 5.5 && pts[1].step == 10 &&
                             pts[1].llc_mean == 7.25)),
              "%s: the curve of r1 has the old and new points (%d)", tag, n);
        free(pts);
        llc_store_close(s);

        /* reopened: nothing left to migrate, read-only opens work */
        s = NULL;
        err[0] = '\0';
        rc = llc_store_open(p, LLC_STORE_READONLY, &s, err);
        CHECK(rc == LLC_OK && s, "%s: the migrated store opens read-only (%s)", tag, err);
        if (s) {
            CHECK(db_int(llc_store_db(s), "PRAGMA user_version") == LLC_SCHEMA_VERSION &&
                      db_int(llc_store_db(s), "SELECT count(*) FROM checkpoints") == (v >= 1 ? 6 : 1),
                  "%s: with the new checkpoint", tag);
            llc_store_close(s);
        }
        free(queries);
        free(before);
        free(after);
    }
}

/* A migration that fails part-way (a step whose SQL conflicts with what is
 * in the file) leaves the store at its old version with its rows intact;
 * once the conflict is gone the same store migrates. */
static void test_failed_migration(void)
{
    static const struct {
        int version;
        const char *conflict, *undo, *sqlite_msg;
        const char *rolled_back; /* what the steps before the failing one added: must count 0 */
    } cases[] = {
        /* 1 -> 2 fails at its last statement (CREATE VIEW curves) */
        {1, "CREATE TABLE curves(x)", "DROP TABLE curves", "table curves already exists",
         "SELECT count(*) FROM sqlite_master WHERE name IN ('estimates','estimates_curve','estimate_chains')"},
        /* 2 -> 3 fails at its first ALTER */
        {2, "ALTER TABLE estimates ADD COLUMN metropolis INTEGER", "ALTER TABLE estimates DROP COLUMN metropolis",
         "duplicate column name: metropolis",
         "SELECT count(*) FROM pragma_table_info('estimates') WHERE name IN ('accept_rate','sim_time')"},
        /* 2 -> 3 fails at its seventh ALTER, after six have run */
        {2, "ALTER TABLE estimate_chains ADD COLUMN burnin INTEGER",
         "ALTER TABLE estimate_chains DROP COLUMN burnin", "duplicate column name: burnin",
         "SELECT count(*) FROM pragma_table_info('estimates') WHERE name IN "
         "('metropolis','accept_rate','exact_loss','paired','sim_time','steps_capped')"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int v = cases[k].version;
        const old_store o = {"old-broken.db", v, 0};
        char p[256], err[LLC_ERRLEN] = "", want[128], tag[48];
        path_of(p, sizeof p, o.file);
        snprintf(tag, sizeof tag, "failed migration %zu (v%d)", k + 1, v);
        if (build_old_store(p, &o) || raw_exec(p, cases[k].conflict) != SQLITE_OK) {
            CHECK(0, "%s: build the old store with its conflict", tag);
            continue;
        }
        sqlite3 *raw = NULL;
        sqlite3_open_v2(p, &raw, SQLITE_OPEN_READONLY, NULL);
        char *queries = dump_queries(raw);
        int n_before = 0, n_after = 0;
        char *before = dump_rows(raw, queries, &n_before);
        sqlite3_close(raw);

        llc_store *s = NULL;
        int rc = llc_store_open(p, LLC_STORE_RW, &s, err);
        CHECK(rc == LLC_ERR_STORE && s == NULL, "%s: the read-write open fails with LLC_ERR_STORE (rc %d)", tag, rc);
        llc_store_close(s);
        snprintf(want, sizeof want, "while upgrading the schema from version %d to %d", v, v + 1);
        CHECK(strstr(err, p) && strstr(err, want) && strstr(err, cases[k].sqlite_msg), "%s: message: %s", tag, err);

        raw = NULL;
        sqlite3_open_v2(p, &raw, SQLITE_OPEN_READONLY, NULL);
        CHECK(db_int(raw, "PRAGMA user_version") == v && db_int(raw, "PRAGMA application_id") == APP_ID,
              "%s: the store is still at version %d", tag, v);
        CHECK(db_int(raw, cases[k].rolled_back) == 0, "%s: the statements before the failing one were rolled back",
              tag);
        char *after = dump_rows(raw, queries, &n_after);
        CHECK(before && after && n_before > 0 && !strcmp(before, after), "%s: every row intact (%d rows)", tag,
              n_after);
        char text[64];
        db_text(raw, "PRAGMA integrity_check", text, sizeof text);
        CHECK(!strcmp(text, "ok"), "%s: integrity_check ok (%s)", tag, text);
        sqlite3_close(raw);
        free(after);

        /* still an old store: read-only asks for the upgrade; without the conflict it migrates */
        err[0] = '\0';
        rc = llc_store_open(p, LLC_STORE_READONLY, &s, err);
        CHECK(rc == LLC_ERR_SCHEMA && strstr(err, "open it once for writing"), "%s: read-only: %s", tag, err);
        CHECK(raw_exec(p, cases[k].undo) == SQLITE_OK, "%s: remove the conflict", tag);
        s = open_rw(p);
        CHECK(s != NULL, "%s: then the store migrates", tag);
        if (s) {
            float w[OLD_N_PARAMS], got[OLD_N_PARAMS];
            params_of(w, OLD_N_PARAMS, 2, 20);
            CHECK(db_int(llc_store_db(s), "PRAGMA user_version") == LLC_SCHEMA_VERSION &&
                      llc_store_checkpoint_get(s, "r2", 20, got, OLD_N_PARAMS, NULL, NULL) == LLC_OK &&
                      !memcmp(w, got, sizeof w),
                  "%s: to version %d, data kept", tag, LLC_SCHEMA_VERSION);
            llc_store_close(s);
        }
        free(queries);
        free(before);
    }
}

/* Two processes open the same v1 store read-write at once: one migrates it,
 * the other waits for the lock and finds nothing left to do; both write. */
static void test_concurrent_migration(void)
{
    const old_store o = {"old-v1-conc.db", 1, 0};
    char p[256];
    path_of(p, sizeof p, o.file);
    if (build_old_store(p, &o)) {
        CHECK(0, "conc migration: build the v1 store");
        return;
    }
    sqlite3 *raw = NULL;
    sqlite3_open_v2(p, &raw, SQLITE_OPEN_READONLY, NULL);
    char *queries = dump_queries(raw);
    int n_before = 0, n_after = 0;
    char *before = dump_rows(raw, queries, &n_before);
    sqlite3_close(raw);
    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(0, "conc migration: pipe");
        free(queries);
        free(before);
        return;
    }
    pid_t pid[2];
    for (int who = 0; who < 2; who++) {
        fflush(stdout);
        pid[who] = fork();
        if (pid[who] == 0) {
            char c, run[8];
            close(fds[1]);
            if (read(fds[0], &c, 1) != 1) _exit(10);
            llc_store *s = open_rw(p);
            if (!s) _exit(11);
            float w[OLD_N_PARAMS];
            params_of(w, OLD_N_PARAMS, 10 + who, 0);
            snprintf(run, sizeof run, "c%d", who);
            int rc = llc_store_run_create(s, run, "sort", "{}", OLD_N_PARAMS, 1);
            if (!rc) rc = llc_store_checkpoint_put(s, run, 0, 1, 1, w, OLD_N_PARAMS, NULL, 0, NULL, 0);
            llc_store_close(s);
            _exit(rc ? 12 : 0);
        }
    }
    close(fds[0]);
    if (write(fds[1], "go", 2) != 2) CHECK(0, "conc migration: start signal");
    close(fds[1]);
    for (int who = 0; who < 2; who++) {
        int status = 0;
        waitpid(pid[who], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "conc migration: process %d opened and wrote (status %d)",
              who, status);
    }
    llc_store *s = open_rw(p);
    CHECK(s != NULL, "conc migration: reopen");
    if (s) {
        sqlite3 *db = llc_store_db(s);
        char *after = dump_rows(db, queries, &n_after);
        CHECK(db_int(db, "PRAGMA user_version") == LLC_SCHEMA_VERSION &&
                  db_int(db, "SELECT count(*) FROM pragma_table_info('estimate_chains') WHERE name = 'thin'") == 1,
              "conc migration: migrated once, to version %d", LLC_SCHEMA_VERSION);
        /* the dump covers runs and checkpoints, which now have 2 rows more each */
        CHECK(db_int(db, "SELECT count(*) FROM checkpoints WHERE run IN ('c0','c1')") == 2,
              "conc migration: both processes' checkpoints are there");
        /* every old row is still there, identical (the new rows come in between) */
        int kept = before && after && n_after == n_before + 4;
        for (const char *line = before; kept && *line;) {
            const char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line + 1) : strlen(line);
            const char *at = after;
            kept = 0;
            while (!kept && (at = strstr(at, "\n"))) {
                at++;
                kept = !strncmp(at, line, len);
            }
            kept |= !strncmp(after, line, len);
            line += len;
        }
        CHECK(kept, "conc migration: every old row kept, identical (%d rows, %d before)", n_after, n_before);
        free(after);
        llc_store_close(s);
    }
    free(queries);
    free(before);
}

/* Child of the concurrency test: its own connection, its own run, n
 * checkpoints, some grouped in a held transaction so the other waits. */
static int concurrent_writer(const char *p, int who, int rfd, int n, size_t N)
{
    char c, run[16];
    if (read(rfd, &c, 1) != 1) return 10; /* start together */
    llc_store *s = open_rw(p);
    if (!s) return 11;
    snprintf(run, sizeof run, "w%d", who);
    float *w = malloc(N * sizeof *w);
    int rc = llc_store_run_create(s, run, "sort", "{}", (long long)N, 1);
    for (int k = 0; k < n && rc == LLC_OK; k++) {
        params_of(w, N, who, k);
        llc_log_row log = {k, 1, 1, 1, 1};
        if (k % 5 == 0) {
            rc = llc_store_begin(s);
            for (int j = 0; j < 2 && rc == LLC_OK; j++)
                rc = llc_store_checkpoint_put(s, run, k, 1, 1, w, N, &log, 1, &k, sizeof k);
            usleep(20000); /* hold the write lock a while */
            if (rc == LLC_OK) rc = llc_store_commit(s);
            else llc_store_rollback(s);
        } else {
            rc = llc_store_checkpoint_put(s, run, k, 1, 1, w, N, &log, 1, &k, sizeof k);
        }
    }
    if (rc) printf("writer %d: %s\n", who, llc_store_errmsg(s));
    free(w);
    llc_store_close(s);
    return rc;
}

static void test_concurrency(void)
{
    char p[256];
    path_of(p, sizeof p, "conc.db");
    llc_store *s = open_rw(p); /* created before the fork, closed before it too */
    llc_store_close(s);
    const int n = 30;
    const size_t N = 20000;
    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(0, "conc: pipe");
        return;
    }
    pid_t pid[2];
    for (int who = 0; who < 2; who++) {
        fflush(stdout);
        pid[who] = fork();
        if (pid[who] == 0) {
            close(fds[1]);
            _exit(concurrent_writer(p, who, fds[0], n, N));
        }
    }
    close(fds[0]);
    if (write(fds[1], "go", 2) != 2) CHECK(0, "conc: start signal");
    close(fds[1]);
    for (int who = 0; who < 2; who++) {
        int status = 0;
        waitpid(pid[who], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "conc: writer %d finished all %d checkpoints (status %d)",
              who, n, status);
    }
    s = open_rw(p);
    if (!s) {
        CHECK(0, "conc: reopen");
        return;
    }
    float *w = malloc(N * sizeof *w), *got = malloc(N * sizeof *got);
    for (int who = 0; who < 2; who++) {
        char run[16];
        snprintf(run, sizeof run, "w%d", who);
        int ok = 1;
        for (int k = 0; k < n; k++) {
            params_of(w, N, who, k);
            ok &= llc_store_checkpoint_get(s, run, k, got, N, NULL, NULL) == LLC_OK && !memcmp(w, got, N * sizeof *w);
        }
        CHECK(ok, "conc: all %d checkpoints of %s are there, bit-exact", n, run);
    }
    char text[64];
    db_text(llc_store_db(s), "PRAGMA integrity_check", text, sizeof text);
    CHECK(!strcmp(text, "ok"), "conc: integrity_check ok");
    free(w);
    free(got);
    llc_store_close(s);
}

/* The child of the disk-full test: a file size limit, then a big write. */
static void full_disk_child(const char *p, int wfd)
{
    struct rlimit rl = {1 << 20, 1 << 20}; /* 1 MiB: room for the -shm, not for 32 MB */
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(20);
    llc_store *s = open_rw(p);
    if (!s) _exit(21);
    const size_t N = 8u << 20;
    float *w = calloc(N, sizeof *w);
    if (!w) _exit(22);
    for (size_t i = 0; i < N; i++) w[i] = (float)i;
    int rc = llc_store_checkpoint_put(s, "r1", 999, 1, 1, w, N, NULL, 0, NULL, 0);
    char msg[LLC_ERRLEN + 8];
    int len = snprintf(msg, sizeof msg, "%d %s", rc, llc_store_errmsg(s));
    if (write(wfd, msg, (size_t)len) != len) _exit(23);
    /* the handle still works for small things after the failure */
    llc_run_info r = {0};
    int rc2 = llc_store_run_get(s, "r1", &r);
    llc_run_info_free(&r);
    free(w);
    llc_store_close(s);
    _exit(rc2 == LLC_OK ? 0 : 24);
}

static void test_full_disk(void)
{
    char p[256];
    path_of(p, sizeof p, "full.db");
    float w[64], got[64];
    for (int i = 0; i < 64; i++) w[i] = 1.0f / (float)(i + 1);
    llc_store *s = open_rw(p);
    if (!s) {
        CHECK(0, "full: open");
        return;
    }
    llc_store_run_create(s, "r1", "sort", "{}", 64, 1);
    CHECK(llc_store_checkpoint_put(s, "r1", 1, 1, 1, w, 64, NULL, 0, NULL, 0) == LLC_OK, "full: an earlier checkpoint");
    llc_store_close(s);

    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(0, "full: pipe");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        full_disk_child(p, fds[1]);
    }
    close(fds[1]);
    char msg[LLC_ERRLEN + 8] = "";
    ssize_t got_n = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    if (got_n > 0) msg[got_n] = '\0';
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "full: the child neither crashed nor lost its handle (status %d)", status);
    int rc = atoi(msg);
    CHECK(rc == LLC_ERR_STORE, "full: a write past the size limit gives LLC_ERR_STORE (rc %d)", rc);
    CHECK(strstr(msg, "disk full") && strstr(msg, "writing checkpoint r1/999"), "full: message: %s", msg);

    s = open_rw(p);
    CHECK(s != NULL, "full: the store reopens");
    if (!s) return;
    char text[64];
    db_text(llc_store_db(s), "PRAGMA integrity_check", text, sizeof text);
    CHECK(!strcmp(text, "ok"), "full: integrity_check ok (%s)", text);
    CHECK(llc_store_checkpoint_get(s, "r1", 1, got, 64, NULL, NULL) == LLC_OK && !memcmp(w, got, sizeof w),
          "full: the earlier checkpoint is intact");
    CHECK(llc_store_checkpoint_get(s, "r1", 999, NULL, 0, NULL, NULL) == LLC_ERR_NOTFOUND,
          "full: the failed checkpoint is absent");
    llc_store_close(s);
}

static void test_bad_args(void)
{
    llc_store *s = (llc_store *)1;
    char err[LLC_ERRLEN] = "";
    CHECK(llc_store_open(NULL, LLC_STORE_RW, &s, err) == LLC_ERR_INVALID && s == NULL, "args: NULL path");
    CHECK(llc_store_open("/tmp/x.db", 7, &s, err) == LLC_ERR_INVALID, "args: unknown flags");
    char p[256];
    path_of(p, sizeof p, "no/such/dir/x.db");
    int rc = llc_store_open(p, LLC_STORE_RW, &s, err);
    CHECK(rc == LLC_ERR_STORE && strstr(err, p), "args: a path in a missing directory: LLC_ERR_STORE (%s)", err);
    CHECK(!strcmp(llc_store_errmsg(NULL), "no store"), "args: errmsg of NULL");
}

/* ---- the read queries of llc/results.c and llc/query.c ---- */

/* One estimate of (run, step, target, data, settings) with the given
 * status and mean; two chains (the second NAN), seconds as given. */
static int put_estimate(llc_store *s, const char *run, long long step, const char *target, const char *data,
                        const char *settings, const char *status, double mean, double seconds)
{
    llc_estimate_result r;
    memset(&r, 0, sizeof r);
    llc_estimate_config_default(&r.cfg);
    double trace[2] = {1.0, 1.5}, chain_llc[2] = {mean, NAN}, mala[2] = {NAN, NAN};
    int diverged[2] = {0, strcmp(status, "ok") != 0};
    long diverged_at[2] = {-1, diverged[1] ? 0 : -1};
    r.eps = 1e-4;
    r.nbeta = 10;
    r.nbeta_mode = LLC_NBETA_GIVEN;
    r.llc_mean = mean;
    r.llc_std = 0.5;
    r.chains = 2;
    r.draws = 1;
    r.status = status;
    r.chain_llc = chain_llc;
    r.chain_diverged = diverged;
    r.chain_diverged_at = diverged_at;
    r.chain_mala = mala;
    r.trace = trace;
    r.cfg.burnin = 7;
    r.cfg.thin = 2;
    r.seconds = seconds;
    long long id;
    return llc_results_put(s, run, step, target, data, settings, 16, &r, 0, &id);
}

typedef struct {
    int header, rows, stop_at;
    char first_name[32];
    long long steps[16];
    double reals[16];
} rows_seen;

/* llc_row_fn: records the header, each row's step column and its fifth
 * column; stops with LLC_ERR_INTERRUPTED after stop_at rows. */
static int see_row(void *ctx, int nc, const char *const *names, const llc_value *v)
{
    rows_seen *x = ctx;
    if (!v) {
        x->header++;
        snprintf(x->first_name, sizeof x->first_name, "%s", nc ? names[0] : "");
        return LLC_OK;
    }
    if (x->rows < 16) {
        x->steps[x->rows] = -1;
        for (int c = 0; c < nc; c++)
            if (!strcmp(names[c], "step") && v[c].type == LLC_VALUE_INT) x->steps[x->rows] = v[c].i;
        x->reals[x->rows] = nc > 4 && v[4].type == LLC_VALUE_REAL ? v[4].d : v[4].type == LLC_VALUE_INT ? (double)v[4].i : NAN;
    }
    x->rows++;
    return x->stop_at && x->rows == x->stop_at ? LLC_ERR_INTERRUPTED : LLC_OK;
}

static void test_result_queries(void)
{
    char p[512];
    path_of(p, sizeof p, "queries.db");
    llc_store *s = open_rw(p);
    CHECK(s != NULL, "queries: open");
    if (!s) return;
    const float w[4] = {1.0f, -2.0f, 0.5f, 3.25f};
    int rc = llc_store_run_create(s, "r1", "sort", "{}", 4, 1);
    rc |= llc_store_run_create(s, "r2", "sort", "{}", 4, 1);
    rc |= llc_store_checkpoint_put(s, "r1", 0, 2.5, NAN, w, 4, NULL, 0, NULL, 0);
    rc |= llc_store_checkpoint_put(s, "r1", 10, 1.5, 1.75, w, 4, NULL, 0, NULL, 0);
    /* point (r1, model, train, 0): ok A, ok B, diverged C -> the newest ok is B;
     * step 10: ok A then diverged C -> A; step 20: only diverged -> no point */
    rc |= put_estimate(s, "r1", 0, "model", "train", "{\"s\":\"A\"}", "ok", 1.0, 1.0);
    rc |= put_estimate(s, "r1", 0, "model", "train", "{\"s\":\"B\"}", "ok", 2.0, 2.0);
    rc |= put_estimate(s, "r1", 0, "model", "train", "{\"s\":\"C\"}", "diverged", NAN, 4.0);
    rc |= put_estimate(s, "r1", 10, "model", "train", "{\"s\":\"A\"}", "ok", 3.0, 8.0);
    rc |= put_estimate(s, "r1", 10, "model", "train", "{\"s\":\"C\"}", "diverged", NAN, 16.0);
    rc |= put_estimate(s, "r1", 20, "model", "train", "{\"s\":\"A\"}", "diverged", NAN, 32.0);
    rc |= put_estimate(s, "r1", 10, "0.1", "train", "{\"s\":\"A\"}", "ok", 0.25, 64.0);
    rc |= put_estimate(s, "r2", 0, "model", "train", "{\"s\":\"A\"}", "ok", 9.0, 128.0);
    CHECK(rc == LLC_OK, "queries: setup (%s)", llc_store_errmsg(s));

    /* the newest-ok rule, ordered by target, data, settings, step, one run only */
    llc_estimate_row *e = NULL;
    int n = 0;
    CHECK(llc_results_newest_ok(s, "r1", &e, &n) == LLC_OK, "newest_ok: reads");
    CHECK(n == 3, "newest_ok: one row per point with an ok estimate (got %d)", n);
    if (n == 3) {
        CHECK(!strcmp(e[0].target, "0.1") && e[0].step == 10 && e[0].llc_mean == 0.25, "newest_ok: head first");
        CHECK(!strcmp(e[1].settings, "{\"s\":\"A\"}") && e[1].step == 10 && e[1].llc_mean == 3.0,
              "newest_ok: settings A (step 10) sorts before B");
        CHECK(!strcmp(e[2].settings, "{\"s\":\"B\"}") && e[2].step == 0 && e[2].llc_mean == 2.0,
              "newest_ok: step 0 is the newest ok (B), not the newer diverged C");
        CHECK(!strcmp(e[2].status, "ok") && e[2].llc_std == 0.5 && e[2].burnin == 7 && e[2].thin == 2 &&
                  e[2].eps == 1e-4 && e[2].nbeta == 10,
              "newest_ok: status, std and sampler settings");
    }
    llc_results_rows_free(e, n);
    CHECK(llc_results_newest_ok(s, "nope", &e, &n) == LLC_OK && n == 0 && !e, "newest_ok: unknown run is empty");

    /* every estimate of one point, newest first */
    CHECK(llc_results_point(s, "r1", "model", "train", 0, &e, &n) == LLC_OK && n == 3, "point: 3 rows");
    if (n == 3)
        CHECK(!strcmp(e[0].status, "diverged") && isnan(e[0].llc_mean) && !strcmp(e[1].settings, "{\"s\":\"B\"}") &&
                  !strcmp(e[2].settings, "{\"s\":\"A\"}"),
              "point: newest first, NULL mean is NAN");
    llc_results_rows_free(e, n);
    CHECK(llc_results_point(s, "r1", "model", "small", 0, &e, &n) == LLC_OK && n == 0, "point: other data is empty");
    llc_results_rows_free(e, n);

    long long bad = -1;
    CHECK(llc_results_count_failed(s, "r1", &bad) == LLC_OK && bad == 3, "count_failed: r1 has 3 (got %lld)", bad);
    CHECK(llc_results_count_failed(s, "r2", &bad) == LLC_OK && bad == 0, "count_failed: r2 has none");

    llc_results_totals t;
    CHECK(llc_results_run_totals(s, "r1", &t) == LLC_OK, "totals: reads");
    CHECK(t.steps == 3 && t.estimates == 7 && t.targets == 2, "totals: steps %d, estimates %d, targets %d", t.steps,
          t.estimates, t.targets);
    CHECK(t.seconds_model == 63.0 && t.seconds_other == 64.0, "totals: seconds %g model, %g other", t.seconds_model,
          t.seconds_other);

    long long id = 0;
    double *ch = NULL;
    CHECK(llc_results_find(s, "r1", 0, "model", "train", "{\"s\":\"B\"}", &id) == LLC_OK, "chains: find B");
    CHECK(llc_results_chain_llcs(s, id, &ch, &n) == LLC_OK && n == 2, "chain_llcs: 2 chains");
    if (n == 2) CHECK(ch[0] == 2.0 && isnan(ch[1]), "chain_llcs: in chain order, NULL as NAN");
    free(ch);

    /* the table rows of llc export */
    rows_seen x;
    memset(&x, 0, sizeof x);
    const long long step10 = 10;
    CHECK(llc_query_table_named("log") == LLC_QUERY_LOG && llc_query_table_named("params") == -1,
          "query: table names");
    CHECK(llc_query_rows(s, LLC_QUERY_CURVES, "r1", NULL, see_row, &x) == LLC_OK, "query curves: reads");
    CHECK(x.header == 1 && !strcmp(x.first_name, "run") && x.rows == 3, "query curves: header once, 3 points");
    CHECK(x.steps[0] == 10 && x.steps[1] == 0 && x.steps[2] == 10 && x.reals[0] == 0.25 && x.reals[1] == 2.0,
          "query curves: by target, data, step; the newest ok mean");
    memset(&x, 0, sizeof x);
    CHECK(llc_query_rows(s, LLC_QUERY_ESTIMATES, "r1", &step10, see_row, &x) == LLC_OK && x.rows == 3 &&
              !strcmp(x.first_name, "id"),
          "query estimates: --step keeps the 3 rows of step 10, every column");
    memset(&x, 0, sizeof x);
    CHECK(llc_query_rows(s, LLC_QUERY_CHECKPOINTS, "r1", NULL, see_row, &x) == LLC_OK && x.rows == 2 &&
              x.reals[0] == 4 && x.steps[1] == 10,
          "query checkpoints: n_params from the BLOB, by step");
    memset(&x, 0, sizeof x);
    x.stop_at = 1;
    CHECK(llc_query_rows(s, LLC_QUERY_CHECKPOINTS, "r1", NULL, see_row, &x) == LLC_ERR_INTERRUPTED && x.rows == 1,
          "query: a nonzero callback stops and is returned");

    /* the typed rows of the plots and the report */
    llc_query_losses_row *lo = NULL;
    CHECK(llc_query_losses(s, "r1", &lo, &n) == LLC_OK && n == 2, "query losses: 2 checkpoints");
    if (n == 2)
        CHECK(lo[0].step == 0 && lo[0].train_loss == 2.5 && isnan(lo[0].test_loss) && lo[1].step == 10 &&
                  lo[1].train_loss == 1.5 && lo[1].test_loss == 1.75,
              "query losses: by step, NULL as NAN");
    free(lo);
    CHECK(llc_query_losses(s, "nope", &lo, &n) == LLC_OK && n == 0 && !lo, "query losses: unknown run is empty");
    llc_query_estimate qe;
    long long id_c = 0;
    CHECK(llc_results_find(s, "r1", 0, "model", "train", "{\"s\":\"C\"}", &id_c) == LLC_OK, "query: find C");
    CHECK(llc_query_newest_estimate(s, "r1", 0, "model", NULL, &qe) == LLC_OK && qe.id == id_c &&
              !strcmp(qe.status, "diverged") && isnan(qe.llc_mean) && !strcmp(qe.data, "train") &&
              qe.burnin == 7 && qe.thin == 2 && qe.eps == 1e-4 && qe.nbeta == 10,
          "query newest estimate: the newest row of the point whatever its status");
    CHECK(llc_query_newest_estimate(s, "r1", 0, "model", "small", &qe) == LLC_ERR_NOTFOUND,
          "query newest estimate: other data is NOTFOUND");
    CHECK(llc_query_newest_estimate(s, "r1", 20, "0.1", NULL, &qe) == LLC_ERR_NOTFOUND,
          "query newest estimate: a target without estimates is NOTFOUND");
    llc_query_chain *qc = NULL;
    CHECK(llc_query_chains(s, id, &qc, &n) == LLC_OK && n == 2, "query chains: 2 chains of B");
    if (n == 2)
        CHECK(qc[0].chain == 0 && qc[0].llc == 2.0 && qc[0].n == 1 && qc[0].trace[0] == 1.0 && qc[1].chain == 1 &&
                  isnan(qc[1].llc) && qc[1].n == 1 && qc[1].trace[0] == 1.5 && !qc[1].diverged,
              "query chains: by chain, NULL as NAN, each chain's trace decoded");
    llc_query_chains_free(qc, n);
    llc_query_diag_row *dg = NULL;
    CHECK(llc_query_diagnostics(s, "r1", &dg, &n) == LLC_OK && n == 7, "query diagnostics: every estimate of r1");
    if (n == 7)
        CHECK(!strcmp(dg[0].target, "0.1") && dg[1].step == 0 && dg[3].step == 0 && dg[4].step == 10 &&
                  !strcmp(dg[3].status, "diverged") && isnan(dg[3].llc_mean) && dg[1].chains == 2 &&
                  dg[1].llc_std == 0.5 && dg[1].eps == 1e-4,
              "query diagnostics: by target, data, step, id; NULL as NAN");
    free(dg);

    /* a checkpoint's BLOB as stored */
    void *blob = NULL;
    size_t bytes = 0;
    double trl = 0, tel = 0;
    CHECK(llc_store_checkpoint_raw(s, "r1", 0, &blob, &bytes, &trl, &tel) == LLC_OK && bytes == 16,
          "checkpoint_raw: 16 bytes");
    float back[4] = {0};
    CHECK(llc_store_checkpoint_get(s, "r1", 0, back, 4, NULL, NULL) == LLC_OK && blob &&
              memcmp(back, w, sizeof w) == 0 && trl == 2.5 && isnan(tel),
          "checkpoint_raw: the losses, NULL as NAN");
    free(blob);
    CHECK(llc_store_checkpoint_raw(s, "r1", 5, &blob, &bytes, NULL, NULL) == LLC_ERR_NOTFOUND && !blob,
          "checkpoint_raw: a missing step is NOTFOUND");
    llc_store_close(s);
}

int main(void)
{
    const char *env = getenv("TEST_SEED");
    seed = env ? strtoull(env, NULL, 10) : DEFAULT_SEED;
    printf("test_store: seed %llu (TEST_SEED=N replays)\n", (unsigned long long)seed);
    snprintf(dir, sizeof dir, "/tmp/llc-test-store.XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return tu_finish("test_store");
    }
    gsl_rng *rng = llc_rng_new(llc_seed(seed, LLC_PURPOSE_INIT, 1, 0, 0));

    test_create();
    test_runs();
    test_injection();
    test_checkpoints(rng);
    test_bad_blobs();
    test_checksums();
    test_transactions();
    test_reopen_readonly();
    test_not_a_store();
    test_schema_versions();
    test_groups();
    test_older_stores();
    test_failed_migration();
    test_concurrent_migration();
    test_concurrency();
    test_full_disk();
    test_bad_args();
    test_result_queries();

    gsl_rng_free(rng);
    remove_dir();
    return tu_finish("test_store");
}
