/* test_store.c - the SQLite store (core/store.c): schema and pragmas, runs,
 * bit-exact checkpoints, log rows and resume state, bad BLOBs written behind
 * the store's back, files that are not stores, newer and older schemas,
 * read-only opens, transactions and savepoints, SQL-looking ids, two
 * processes writing at once, and a full disk (RLIMIT_FSIZE in a child).
 *
 * Every file lives in a fresh mkdtemp directory under /tmp, removed at the
 * end. Random parameters come from a printed seed (TEST_SEED overrides it).
 */
#include "llc_store.h"
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
    CHECK(rc == LLC_ERR_SCHEMA, "readonly: an empty file is not a store (%s)", err);
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

#if LLC_SCHEMA_VERSION == 2
    /* an older store (v1: what the v1->v2 migration adds removed) migrates
     * step by step and keeps its data */
    path_of(p, sizeof p, "older.db");
    float w[4] = {1, -2, 3, -4}, got[4];
    s = open_rw(p);
    if (s) {
        llc_store_run_create(s, "r1", "sort", "{}", 4, 1);
        llc_store_checkpoint_put(s, "r1", 3, 1, 1, w, 4, NULL, 0, NULL, 0);
        llc_store_close(s);
    }
    CHECK(raw_exec(p, "DROP VIEW curves; DROP TABLE estimate_chains; DROP TABLE estimates; "
                      "PRAGMA user_version = 1") == SQLITE_OK,
          "older: raw downgrade to v1");
    rc = llc_store_open(p, LLC_STORE_READONLY, &s, err);
    CHECK(rc == LLC_ERR_SCHEMA && strstr(err, "open it once for writing"),
          "older: read-only open asks for an upgrade: %s", err);
    s = open_rw(p);
    CHECK(s != NULL, "older: read-write open migrates");
    if (s) {
        sqlite3 *db = llc_store_db(s);
        CHECK(db_int(db, "PRAGMA user_version") == 2, "older: now at version 2");
        CHECK(db_int(db, "SELECT count(*) FROM curves") == 0, "older: the curves view exists");
        CHECK(llc_store_checkpoint_get(s, "r1", 3, got, 4, NULL, NULL) == LLC_OK && !memcmp(w, got, sizeof w),
              "older: data kept");
        llc_store_close(s);
    }
#endif
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
    test_transactions();
    test_reopen_readonly();
    test_not_a_store();
    test_schema_versions();
    test_concurrency();
    test_full_disk();
    test_bad_args();

    gsl_rng_free(rng);
    remove_dir();
    return tu_finish("test_store");
}
