/* store.c - the SQLite store (see llc_store.h): opening and checking a file,
 * the schema and its migrations, runs, checkpoints, the training log and the
 * resume state.
 *
 * Rules kept throughout:
 *  - every value reaching SQL is bound; the only SQL text built at run time is
 *    `PRAGMA user_version = <integer constant>` (PRAGMAs take no parameters);
 *  - statements used more than once are prepared once and cached on the handle;
 *  - every write runs in a transaction: BEGIN IMMEDIATE (with busy retry) when
 *    the caller has none open, a SAVEPOINT nested in the caller's otherwise, so
 *    a failed write never leaves half its rows and never ends the caller's
 *    transaction by itself;
 *  - the SQLite message is kept on the handle, prefixed with what went wrong
 *    in words ("disk full while writing checkpoint r1/200 in runs.db: ...").
 */
#include "llc_store.h"
#include "llc_store_sql.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
               "checkpoints store IEEE-754 binary32 floats");

/* "LLC\1" in PRAGMA application_id tells an llc store from other SQLite files. */
#define LLC_STORE_APP_ID 0x4C4C4301
/* How long a connection waits for another one's lock before giving up. */
#define LLC_STORE_BUSY_MS 30000
/* Pause between retries of a statement that returned SQLITE_BUSY anyway. */
#define LLC_STORE_RETRY_MS 20

/* ---- schema and migrations ----
 * migrations[v] takes a store from user_version v to v + 1, all steps inside
 * the one transaction that then sets user_version; a new schema version is one
 * more entry (and LLC_SCHEMA_VERSION + 1). A step may only add (tables,
 * columns, and the values of new columns): stores are never rewritten behind
 * the user's back. */
static const char schema_v1[] =
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
    /* llc_store_run_list orders by (created, id) */
    "CREATE INDEX runs_by_created ON runs(created, id);"
    /* a rowid table: rows hold large BLOBs, which WITHOUT ROWID handles badly;
     * the primary key's index serves (run, step) lookups and step listings */
    "CREATE TABLE checkpoints("
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL,"
    " train_loss REAL,"
    " test_loss REAL,"
    " params BLOB NOT NULL,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " PRIMARY KEY(run, step));"
    /* many small rows keyed by (run, step): WITHOUT ROWID stores them once */
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

/* v2: estimates (llc/results.c), their per-chain rows, and the curves view */
static const char schema_v2[] =
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
    /* the lookup key of llc_results_find; its index also serves run/step joins */
    " UNIQUE(run, step, target, data, settings));"
    /* the curves view groups by (run, target, data) ordered by step */
    "CREATE INDEX estimates_curve ON estimates(run, target, data, step);"
    /* a rowid table: each row carries a loss trace of draws * 8 bytes */
    "CREATE TABLE estimate_chains("
    " estimate INTEGER NOT NULL REFERENCES estimates(id) ON DELETE CASCADE,"
    " chain INTEGER NOT NULL,"
    " llc REAL, diverged INTEGER, diverged_at INTEGER, mala REAL,"
    " trace BLOB,"
    " PRIMARY KEY(estimate, chain));"
    /* the newest 'ok' estimate per (run, target, data, step) */
    "CREATE VIEW curves AS"
    " SELECT e.run, e.target, e.data, e.step, e.llc_mean, e.llc_std FROM estimates e"
    " WHERE " LLC_SQL_NEWEST_OK ";";

/* v3: how each estimate sampled (Metropolis, exact or paired losses, its
 * acceptance rate, simulated time, whether a step budget bound) and each
 * chain's own burn-in and thin (automatic lengths differ per chain) */
static const char schema_v3[] =
    "ALTER TABLE estimates ADD COLUMN metropolis INTEGER;"
    "ALTER TABLE estimates ADD COLUMN accept_rate REAL;"
    "ALTER TABLE estimates ADD COLUMN exact_loss INTEGER;"
    "ALTER TABLE estimates ADD COLUMN paired INTEGER;"
    "ALTER TABLE estimates ADD COLUMN sim_time REAL;"
    "ALTER TABLE estimates ADD COLUMN steps_capped INTEGER;"
    "ALTER TABLE estimate_chains ADD COLUMN burnin INTEGER;"
    "ALTER TABLE estimate_chains ADD COLUMN thin INTEGER;";

/* v4: a checksum of every checkpoint's params and every resume state
 * (llc_sum64 below, as a signed 64-bit INTEGER), checked on every read; the
 * upgrade computes it for the rows already there, so damage done to an old
 * store before the upgrade goes unseen, damage done after it does not */
static const char schema_v4[] =
    "ALTER TABLE checkpoints ADD COLUMN params_sum INTEGER;"
    "ALTER TABLE train_state ADD COLUMN state_sum INTEGER;"
    "UPDATE checkpoints SET params_sum = llc_sum64(params);"
    "UPDATE train_state SET state_sum = llc_sum64(state);";

/* ---- v5: head probes (llc/probe_results.c) ----
 * One row per (run, step, target, data, probe, settings): target "L.H" (a
 * head) or "model" (ownership segment counts), settings the canonical JSON
 * of the probe set (size, seed, ownership range). probe_curves: the newest
 * row per (run, target, data, probe, step), as curves. */
static const char schema_v5[] =
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
/* ---- end v5 ---- */

/* ---- v6: analysis (llc/analysis_results.c) ----
 * stages: one row per boundary found by `llc stages` or level crossing
 * (source 'llc' | 'loss' | 'cross', kind 'max' | 'min' | 'drop' | 'spike' |
 * 'cross'; step REAL since crossings are interpolated). clusters: one row
 * per (run, curve, data, settings, target) with the cluster number.
 * trajectory: the principal-component coordinates of each checkpoint's
 * outputs on the probe batch, and each component's explained variance;
 * trajectory_xy: the same, one row per checkpoint (pc1, pc2, pc3). */
static const char schema_v6[] =
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
/* ---- end v6 ---- */

/* ---- v7: sweeps and run groups (llc/sweep.c) ----
 * groups: one row per group, with the sweep's spec (JSON: the base config
 * and the varied keys) that its runs share. run_groups: the group of a run
 * (at most one). run_vary: the settings the sweep varied for a run, the
 * value as JSON text. */
static const char schema_v7[] =
    "CREATE TABLE groups("
    " grp TEXT PRIMARY KEY NOT NULL,"
    " spec TEXT NOT NULL,"
    " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " version TEXT);"
    "CREATE TABLE run_groups("
    " run TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " grp TEXT NOT NULL REFERENCES groups(grp) ON DELETE CASCADE);"
    "CREATE INDEX run_groups_grp ON run_groups(grp, run);"
    "CREATE TABLE run_vary("
    " run TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY(run, key));";
/* ---- end v7 ---- */

static const char *const migrations[] = {
    schema_v1, /* 0 -> 1 */
    schema_v2, /* 1 -> 2 */
    schema_v3, /* 2 -> 3 */
    schema_v4, /* 3 -> 4: checksums */
    schema_v5, /* 4 -> 5: head probes */
    schema_v6, /* 5 -> 6: stages, clusters, trajectory */
    schema_v7, /* 6 -> 7: sweeps and run groups */
};
_Static_assert(sizeof migrations / sizeof migrations[0] == LLC_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- cached statements ---- */
enum {
    Q_RUN_INSERT,
    Q_RUN_GET,
    Q_RUN_EXISTS,
    Q_RUN_STATUS,
    Q_RUN_LIST,
    Q_CK_PARAMS,
    Q_CK_UPSERT,
    Q_LOG_UPSERT,
    Q_STATE_UPSERT,
    Q_CK_GET,
    Q_CK_STEPS,
    Q_STATE_GET,
    Q_COUNT
};

#define RUN_COLUMNS "id, task, config, n_params, status, created, version, seed, message"

static const char *const query_sql[Q_COUNT] = {
    [Q_RUN_INSERT] = "INSERT INTO runs(id, task, config, n_params, status, version, seed)"
                     " VALUES(?1, ?2, ?3, ?4, 'running', ?5, ?6)",
    [Q_RUN_GET] = "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?1",
    [Q_RUN_EXISTS] = "SELECT 1 FROM runs WHERE id = ?1",
    [Q_RUN_STATUS] = "UPDATE runs SET status = ?2, message = ?3 WHERE id = ?1",
    [Q_RUN_LIST] = "SELECT " RUN_COLUMNS " FROM runs ORDER BY created, id",
    [Q_CK_PARAMS] = "SELECT params FROM checkpoints WHERE run = ?1 AND step = ?2",
    [Q_CK_UPSERT] = "INSERT INTO checkpoints(run, step, train_loss, test_loss, params, params_sum)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
                    " ON CONFLICT(run, step) DO UPDATE SET"
                    " train_loss = excluded.train_loss, test_loss = excluded.test_loss,"
                    " params_sum = excluded.params_sum",
    [Q_LOG_UPSERT] = "INSERT INTO train_log(run, step, loss, lr, grad_norm, elapsed)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
                     " ON CONFLICT(run, step) DO UPDATE SET loss = excluded.loss, lr = excluded.lr,"
                     " grad_norm = excluded.grad_norm, elapsed = excluded.elapsed",
    /* the resume state only moves forward: re-putting an older checkpoint
     * (an idempotent re-run) keeps the newer state */
    [Q_STATE_UPSERT] = "INSERT INTO train_state(run, step, state, state_sum) VALUES(?1, ?2, ?3, ?4)"
                       " ON CONFLICT(run) DO UPDATE SET step = excluded.step, state = excluded.state,"
                       " state_sum = excluded.state_sum WHERE excluded.step >= train_state.step",
    [Q_CK_GET] = "SELECT train_loss, test_loss, params, params_sum FROM checkpoints WHERE run = ?1 AND step = ?2",
    [Q_CK_STEPS] = "SELECT step FROM checkpoints WHERE run = ?1 ORDER BY step",
    [Q_STATE_GET] = "SELECT step, state, state_sum FROM train_state WHERE run = ?1",
};

struct llc_store {
    sqlite3 *db;
    char *path;
    int readonly;
    sqlite3_stmt *q[Q_COUNT];
    char errmsg[LLC_ERRLEN];
};

/* ---- errors ---- */

static int set_err(llc_store *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_err(llc_store *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    return rc;
}

/* What an SQLite result code means for the user. */
static const char *sql_problem(int src, int sys_errno)
{
    switch (src & 0xff) {
    case SQLITE_FULL: return "disk full";
    case SQLITE_IOERR:
        if (sys_errno == ENOSPC || sys_errno == EDQUOT) return "disk full";
        if (sys_errno == EFBIG) return "disk full (file size limit reached)";
        return "I/O error";
    case SQLITE_READONLY: return "store is read-only";
    case SQLITE_CORRUPT: return "store is corrupt";
    case SQLITE_NOTADB: return "not an SQLite database";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "store is locked by another process (timed out waiting)";
    case SQLITE_NOMEM: return "out of memory";
    case SQLITE_TOOBIG: return "value too big for SQLite";
    case SQLITE_CONSTRAINT: return "constraint violated";
    case SQLITE_CANTOPEN: return "cannot open file";
    case SQLITE_PERM:
    case SQLITE_AUTH: return "permission denied";
    default: return "SQLite error";
    }
}

static int map_sql_rc(int src)
{
    switch (src & 0xff) {
    case SQLITE_NOMEM: return LLC_ERR_NOMEM;
    case SQLITE_NOTADB: return LLC_ERR_SCHEMA;
    default: return LLC_ERR_STORE;
    }
}

/* Record a failed SQLite call (src = its result code) and return the llc code.
 * Must run before any other call on the connection overwrites its message. */
static int sql_fail(llc_store *s, int src, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sql_fail(llc_store *s, int src, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int base = src & 0xff;
    int sys = (base == SQLITE_IOERR || base == SQLITE_FULL || base == SQLITE_CANTOPEN) && s->db
                  ? sqlite3_system_errno(s->db) : 0;
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src);
    snprintf(s->errmsg, sizeof s->errmsg, "%s while %s in %s: %s%s%s", sql_problem(src, sys), what,
             s->path, msg, sys ? "; " : "", sys ? strerror(sys) : "");
    return map_sql_rc(src);
}

/* ---- small helpers ---- */

static int is_busy(int src)
{
    return (src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED;
}

/* sqlite3_exec of fixed SQL, retrying SQLITE_BUSY until the busy timeout has
 * passed in total (the busy handler is not called in every case, e.g. some
 * lock upgrades and WAL recovery). Safe for statements that leave no state
 * behind on BUSY: BEGIN IMMEDIATE, COMMIT, PRAGMAs. */
static int exec_retry(llc_store *s, const char *sql)
{
    double deadline = llc_now() + LLC_STORE_BUSY_MS / 1000.0;
    for (;;) {
        int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        if (!is_busy(src) || llc_now() > deadline) return src;
        sqlite3_sleep(LLC_STORE_RETRY_MS);
    }
}

/* The cached statement q, prepared on first use. */
static int stmt(llc_store *s, int q, sqlite3_stmt **out)
{
    if (!s->q[q]) {
        int src = sqlite3_prepare_v3(s->db, query_sql[q], -1, SQLITE_PREPARE_PERSISTENT, &s->q[q], NULL);
        if (src != SQLITE_OK) {
            *out = NULL;
            return sql_fail(s, src, "preparing a query");
        }
    }
    *out = s->q[q];
    return LLC_OK;
}

/* Return a cached statement to its unused state (bindings released). */
static void release(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* NULL <-> NaN: SQLite stores a bound NaN as NULL */
static double column_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? (double)NAN : sqlite3_column_double(st, i);
}

static int column_strdup(sqlite3_stmt *st, int i, char **out)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    *out = NULL;
    if (!t) return sqlite3_column_type(st, i) == SQLITE_NULL ? LLC_OK : LLC_ERR_NOMEM;
    *out = strdup((const char *)t);
    return *out ? LLC_OK : LLC_ERR_NOMEM;
}

static int query_int(llc_store *s, const char *sql, long long *v, const char *what)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *v = sqlite3_column_int64(st, 0);
            src = SQLITE_OK;
        }
    }
    int rc = src == SQLITE_OK ? LLC_OK : sql_fail(s, src, "%s", what);
    sqlite3_finalize(st);
    return rc;
}

/* ---- little-endian float32 ---- */

static int host_is_little_endian(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap32(void *buf, size_t n)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++, p += 4) {
        unsigned char t0 = p[0], t1 = p[1];
        p[0] = p[3];
        p[1] = p[2];
        p[2] = t1;
        p[3] = t0;
    }
}

/* Index of the first NaN/inf in x, or n. Tests the exponent bits, so it holds
 * under -ffast-math too. */
static size_t first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
    }
    return n;
}

/* ---- checksums ----
 * llc_sum64: four lanes over the bytes as little-endian 64-bit words, each
 * step h = rotl(h ^ w, 27) * K (a bijection of h for a given w, so one changed
 * word in a lane always changes that lane), the tail bytes folded into lane
 * 0, and the lanes and the length joined by the splitmix64 finaliser. Not
 * cryptographic: it finds damage (a zeroed page, a flipped bit), not forgery;
 * the four independent lanes let their multiplies overlap. */
static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return host_is_little_endian() ? w : __builtin_bswap64(w);
}

uint64_t llc_sum64(const void *data, size_t n)
{
    const uint64_t K = 0x9E3779B97F4A7C15ULL;
    const unsigned char *p = data;
    uint64_t h[4] = {0x243F6A8885A308D3ULL, 0x13198A2E03707344ULL, 0xA4093822299F31D0ULL, 0x082EFA98EC4E6C89ULL};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) h[l] = rotl64(h[l] ^ load_le64(p + i + 8 * l), 27) * K;
    for (; i < n; i++) h[0] = rotl64(h[0] ^ p[i], 27) * K;
    uint64_t r = llc_mix64((uint64_t)n);
    for (int l = 0; l < 4; l++) r = llc_mix64(r ^ h[l]);
    return r;
}

/* The SQL function llc_sum64(blob) for the v4 upgrade; NULL sums as 0 bytes. */
static void sql_sum64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const void *b = sqlite3_value_blob(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    if (n > 0 && !b) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_int64(ctx, (sqlite3_int64)llc_sum64(b, (size_t)(n > 0 ? n : 0)));
}

/* LLC_OK if the stored sum (column i of st) matches bytes; else the damage
 * is named by what (e.g. "checkpoint r1/200"). */
static int check_sum(llc_store *s, sqlite3_stmt *st, int i, const void *bytes, size_t n, const char *what)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return set_err(s, LLC_ERR_STORE, "%s in %s has no checksum: it was written outside llc", what, s->path);
    if ((uint64_t)sqlite3_column_int64(st, i) != llc_sum64(bytes, n))
        return set_err(s, LLC_ERR_STORE,
                       "%s in %s is damaged: its bytes do not match their checksum (the file was altered or "
                       "corrupted; re-create it, e.g. train the run again)",
                       what, s->path);
    return LLC_OK;
}

/* ---- transactions ---- */

/* Start the transaction of one write: BEGIN IMMEDIATE if the caller has none
 * open (*outer = 1), else a savepoint inside the caller's (*outer = 0). */
static int write_begin(llc_store *s, int *outer, const char *what)
{
    *outer = sqlite3_get_autocommit(s->db);
    if (s->readonly)
        return set_err(s, LLC_ERR_STORE, "store is read-only while %s in %s: it was opened read-only", what, s->path);
    int src = exec_retry(s, *outer ? "BEGIN IMMEDIATE" : "SAVEPOINT llc_write");
    return src == SQLITE_OK ? LLC_OK : sql_fail(s, src, "starting a transaction for %s", what);
}

/* Finish it: commit (rc == LLC_OK) or roll back to where write_begin started.
 * Returns rc, or the commit's error. */
static int write_end(llc_store *s, int outer, int rc, const char *what)
{
    if (rc == LLC_OK) {
        int src = exec_retry(s, outer ? "COMMIT" : "RELEASE llc_write");
        if (src == SQLITE_OK) return LLC_OK;
        rc = sql_fail(s, src, "committing %s", what);
    }
    /* SQLite may already have rolled back the whole transaction (disk full,
     * I/O error); then there is nothing left to undo here */
    if (sqlite3_get_autocommit(s->db)) return rc;
    if (outer) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else sqlite3_exec(s->db, "ROLLBACK TO llc_write; RELEASE llc_write", NULL, NULL, NULL);
    return rc;
}

int llc_store_begin(llc_store *s)
{
    if (!s) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    if (!sqlite3_get_autocommit(s->db))
        return set_err(s, LLC_ERR_INVALID, "a transaction is already open on %s", s->path);
    if (s->readonly)
        return set_err(s, LLC_ERR_STORE, "store is read-only: %s was opened read-only", s->path);
    int src = exec_retry(s, "BEGIN IMMEDIATE");
    return src == SQLITE_OK ? LLC_OK : sql_fail(s, src, "starting a transaction");
}

int llc_store_commit(llc_store *s)
{
    if (!s) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    if (sqlite3_get_autocommit(s->db))
        return set_err(s, LLC_ERR_STORE,
                       "no transaction to commit on %s (it was rolled back after an earlier error)", s->path);
    int src = exec_retry(s, "COMMIT");
    return src == SQLITE_OK ? LLC_OK : sql_fail(s, src, "committing a transaction");
}

int llc_store_rollback(llc_store *s)
{
    if (!s) return LLC_ERR_INVALID;
    if (sqlite3_get_autocommit(s->db)) return LLC_OK; /* nothing open (or SQLite rolled it back) */
    int src = sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return src == SQLITE_OK ? LLC_OK : sql_fail(s, src, "rolling back a transaction");
}

/* ---- open / close ---- */

/* Create or upgrade the schema to LLC_SCHEMA_VERSION, re-checking the file
 * under the write lock (another process may have created it meanwhile). */
static int migrate(llc_store *s)
{
    long long app = 0, version = 0, n_objects = 0;
    int rc = LLC_OK;
    int src = exec_retry(s, "BEGIN IMMEDIATE");
    if (src != SQLITE_OK) return sql_fail(s, src, "starting the schema transaction");
    if ((rc = query_int(s, "PRAGMA application_id", &app, "reading the application id"))) goto cleanup;
    if ((rc = query_int(s, "PRAGMA user_version", &version, "reading the schema version"))) goto cleanup;
    if ((rc = query_int(s, "SELECT count(*) FROM sqlite_master", &n_objects, "reading the schema"))) goto cleanup;
    if (app != LLC_STORE_APP_ID && !(app == 0 && version == 0 && n_objects == 0)) {
        rc = set_err(s, LLC_ERR_SCHEMA, "%s is not an llc store (an SQLite database of another application)",
                     s->path);
        goto cleanup;
    }
    if (version > LLC_SCHEMA_VERSION) {
        rc = set_err(s, LLC_ERR_SCHEMA, "%s has schema version %lld, this llc understands up to %d: upgrade llc",
                     s->path, version, LLC_SCHEMA_VERSION);
        goto cleanup;
    }
    for (long long v = version; v < LLC_SCHEMA_VERSION; v++) {
        src = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = sql_fail(s, src, "upgrading the schema from version %lld to %lld", v, v + 1);
            goto cleanup;
        }
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d", LLC_STORE_APP_ID,
             LLC_SCHEMA_VERSION);
    src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = sql_fail(s, src, "setting the schema version");
        goto cleanup;
    }
    src = exec_retry(s, "COMMIT");
    if (src != SQLITE_OK) rc = sql_fail(s, src, "committing the schema");
cleanup:
    if (rc && !sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Is this file an llc store we can use, one to create, or something else? */
static int check_file(llc_store *s, int *needs_migration)
{
    long long app = 0, version = 0, n_objects = 0;
    *needs_migration = 0;
    /* the first read of the file: SQLITE_NOTADB here means it is no database */
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            n_objects = sqlite3_column_int64(st, 0);
            src = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if ((src & 0xff) == SQLITE_NOTADB)
        return set_err(s, LLC_ERR_SCHEMA, "%s is not an llc store (not an SQLite database)", s->path);
    if (src != SQLITE_OK) return sql_fail(s, src, "reading the schema");
    int rc;
    if ((rc = query_int(s, "PRAGMA application_id", &app, "reading the application id"))) return rc;
    if ((rc = query_int(s, "PRAGMA user_version", &version, "reading the schema version"))) return rc;

    if (app == 0 && version == 0 && n_objects == 0) {
        /* an empty file or database is treated as a missing store */
        if (s->readonly)
            return set_err(s, LLC_ERR_NOTFOUND,
                           "store %s is empty: no llc store yet (a writing command such as llc train creates one)",
                           s->path);
        *needs_migration = 1;
        return LLC_OK;
    }
    if (app != LLC_STORE_APP_ID)
        return set_err(s, LLC_ERR_SCHEMA, "%s is not an llc store (an SQLite database of another application)",
                       s->path);
    if (version > LLC_SCHEMA_VERSION)
        return set_err(s, LLC_ERR_SCHEMA, "%s has schema version %lld, this llc understands up to %d: upgrade llc",
                       s->path, version, LLC_SCHEMA_VERSION);
    if (version < LLC_SCHEMA_VERSION) {
        if (s->readonly)
            return set_err(s, LLC_ERR_SCHEMA,
                           "%s has schema version %lld, older than this llc's %d: open it once for writing "
                           "(e.g. llc train) to upgrade it",
                           s->path, version, LLC_SCHEMA_VERSION);
        *needs_migration = 1;
    }
    return LLC_OK;
}

/* Per-connection settings: extended result codes, the busy timeout, and
 * the llc_sum64 SQL function the v4 upgrade uses. */
static int connection_setup(llc_store *s)
{
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, LLC_STORE_BUSY_MS);
    int src = sqlite3_create_function_v2(s->db, "llc_sum64", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_sum64,
                                         NULL, NULL, NULL);
    return src == SQLITE_OK ? LLC_OK : sql_fail(s, src, "setting up the connection");
}

/* LLC_OK if the store has no -wal file or an empty one; else LLC_ERR_STORE
 * with the way out in the message. */
static int wal_is_empty(llc_store *s)
{
    struct stat sb;
    size_t n = strlen(s->path) + 5;
    char *wal = malloc(n);
    if (!wal) return set_err(s, LLC_ERR_NOMEM, "out of memory opening store %s", s->path);
    snprintf(wal, n, "%s-wal", s->path);
    int empty = stat(wal, &sb) != 0 ? errno == ENOENT : sb.st_size == 0;
    free(wal);
    if (empty) return LLC_OK;
    return set_err(s, LLC_ERR_STORE,
                   "store %s has commits in %s-wal that SQLite reads only where it may create %s-shm: copy "
                   "%s and %s-wal together to a writable directory and read the copy",
                   s->path, s->path, s->path, s->path, s->path);
}

/* "file:PATH?immutable=1" with PATH percent-encoded where URIs need it. */
static char *immutable_uri(const char *path)
{
    size_t n = strlen(path);
    char *u = malloc(3 * n + 32);
    if (!u) return NULL;
    char *p = u + sprintf(u, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (*c == '%' || *c == '?' || *c == '#' || *c < 0x21 || *c >= 0x7f) p += sprintf(p, "%%%02X", *c);
        else *p++ = (char)*c;
    }
    strcpy(p, "?immutable=1");
    return u;
}

int llc_store_open(const char *path, int flags, llc_store **out, char *err)
{
    llc_store *s = NULL;
    int rc = LLC_OK, src;
    if (out) *out = NULL;
    if (!path || !*path || !out || (flags != LLC_STORE_RW && flags != LLC_STORE_READONLY))
        return llc_fail(err, LLC_ERR_INVALID, "llc_store_open: invalid arguments");
    if (!(s = calloc(1, sizeof *s)) || !(s->path = strdup(path))) {
        rc = llc_fail(err, LLC_ERR_NOMEM, "out of memory opening store %s", path);
        goto cleanup;
    }
    s->readonly = flags == LLC_STORE_READONLY;
    struct stat sb;
    if (stat(path, &sb) == 0) {
        /* a device or a directory is no store (SQLite would put its journal
         * beside it: /dev/null-journal) */
        if (!S_ISREG(sb.st_mode)) {
            rc = set_err(s, LLC_ERR_STORE, "store %s is not a regular file (give the path of a store file)", path);
            goto cleanup;
        }
    } else if (errno == ENOENT && s->readonly) {
        rc = set_err(s, LLC_ERR_NOTFOUND, "store %s does not exist", path);
        goto cleanup;
    }
    src = sqlite3_open_v2(path, &s->db, s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                          NULL);
    if (src != SQLITE_OK) {
        rc = sql_fail(s, src, "opening the store");
        goto cleanup;
    }
    if ((rc = connection_setup(s))) goto cleanup;
    if (!s->readonly && sqlite3_db_readonly(s->db, "main") == 1) {
        rc = set_err(s, LLC_ERR_STORE, "store %s is not writable (check the permissions of the file and its directory)",
                     path);
        goto cleanup;
    }
    int needs_migration = 0;
    rc = check_file(s, &needs_migration);
    int xrc = sqlite3_extended_errcode(s->db) & 0xff;
    if (rc && s->readonly && (xrc == SQLITE_CANTOPEN || xrc == SQLITE_READONLY)) {
        /* a WAL store whose -shm can be neither opened nor created (read-only
         * media, a directory this user may not write): SQLite cannot read it
         * safely. With no -wal content the file alone is the whole store and
         * is read as immutable; with commits still in the -wal, reading the
         * file alone would show stale data: refuse and say how to recover */
        if ((rc = wal_is_empty(s)) != LLC_OK) goto cleanup;
        sqlite3_close_v2(s->db);
        s->db = NULL;
        char *uri = immutable_uri(path);
        src = uri ? sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) : SQLITE_NOMEM;
        free(uri);
        if (src != SQLITE_OK) {
            rc = sql_fail(s, src, "opening the store");
            goto cleanup;
        }
        if ((rc = connection_setup(s))) goto cleanup;
        rc = check_file(s, &needs_migration);
    }
    if (rc) goto cleanup;
    /* journal_mode is stored in the file; synchronous and foreign_keys are per
     * connection. WAL with synchronous=NORMAL is durable against crashes of
     * the process (a power cut may lose the newest commits, never corrupt). */
    if (!s->readonly && (src = exec_retry(s, "PRAGMA journal_mode = WAL")) != SQLITE_OK) {
        rc = sql_fail(s, src, "switching to WAL mode");
        goto cleanup;
    }
    if ((src = exec_retry(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")) != SQLITE_OK) {
        rc = sql_fail(s, src, "setting connection options");
        goto cleanup;
    }
    if (needs_migration && (rc = migrate(s))) goto cleanup;
    *out = s;
    s = NULL;
cleanup:
    if (s) {
        if (rc && err && s->errmsg[0]) llc_fail(err, rc, "%s", s->errmsg);
        llc_store_close(s);
    }
    return rc;
}

void llc_store_close(llc_store *s)
{
    if (!s) return;
    for (int i = 0; i < Q_COUNT; i++) sqlite3_finalize(s->q[i]);
    if (s->db) sqlite3_close_v2(s->db); /* zombie until other modules' statements are finalized */
    free(s->path);
    free(s);
}

const char *llc_store_errmsg(const llc_store *s)
{
    if (!s) return "no store";
    return s->errmsg[0] ? s->errmsg : "no error";
}

long long llc_store_blob_max(llc_store *s) { return sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1); }

sqlite3 *llc_store_db(llc_store *s)
{
    return s ? s->db : NULL;
}

/* ---- runs ---- */

void llc_run_info_free(llc_run_info *r)
{
    if (!r) return;
    free(r->id);
    free(r->task);
    free(r->config);
    free(r->status);
    free(r->created);
    free(r->version);
    free(r->message);
    memset(r, 0, sizeof *r);
}

/* Fill r from a row of RUN_COLUMNS. */
static int read_run_row(sqlite3_stmt *st, llc_run_info *r)
{
    memset(r, 0, sizeof *r);
    int rc = column_strdup(st, 0, &r->id);
    if (!rc) rc = column_strdup(st, 1, &r->task);
    if (!rc) rc = column_strdup(st, 2, &r->config);
    r->n_params = sqlite3_column_int64(st, 3);
    if (!rc) rc = column_strdup(st, 4, &r->status);
    if (!rc) rc = column_strdup(st, 5, &r->created);
    if (!rc) rc = column_strdup(st, 6, &r->version);
    /* seeds are unsigned 64-bit; SQLite integers are signed: stored bit for bit */
    r->seed = (unsigned long long)sqlite3_column_int64(st, 7);
    if (!rc) rc = column_strdup(st, 8, &r->message);
    if (rc) llc_run_info_free(r);
    return rc;
}

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *t)
{
    return t ? sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* LLC_OK if run exists, LLC_ERR_NOTFOUND (message set) if not. */
static int run_exists(llc_store *s, const char *id, const char *what)
{
    sqlite3_stmt *st;
    int rc = stmt(s, Q_RUN_EXISTS, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) rc = LLC_OK;
    else if (src == SQLITE_DONE) rc = set_err(s, LLC_ERR_NOTFOUND, "no run '%s' in %s", id, s->path);
    else rc = sql_fail(s, src, "%s", what);
    release(st);
    return rc;
}

int llc_store_run_create(llc_store *s, const char *id, const char *task,
                         const char *config_json, long long n_params,
                         unsigned long long seed)
{
    if (!s) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    if (!id || !*id) return set_err(s, LLC_ERR_INVALID, "a run id must not be empty");
    char what[160];
    snprintf(what, sizeof what, "creating run '%.100s'", id);
    sqlite3_stmt *st = NULL;
    int outer, rc = write_begin(s, &outer, what);
    if (rc) return rc;
    if ((rc = stmt(s, Q_RUN_INSERT, &st))) goto cleanup;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, task);
    bind_text_or_null(st, 3, config_json);
    sqlite3_bind_int64(st, 4, n_params);
    sqlite3_bind_text(st, 5, LLC_VERSION, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)seed);
    int src = sqlite3_step(st);
    if (src == SQLITE_CONSTRAINT_PRIMARYKEY || src == SQLITE_CONSTRAINT_UNIQUE)
        rc = set_err(s, LLC_ERR_EXISTS, "run '%s' already exists in %s", id, s->path);
    else if (src != SQLITE_DONE)
        rc = sql_fail(s, src, "%s", what);
cleanup:
    release(st);
    return write_end(s, outer, rc, what);
}

int llc_store_run_get(llc_store *s, const char *id, llc_run_info *out)
{
    if (!s || !out) return LLC_ERR_INVALID;
    memset(out, 0, sizeof *out);
    s->errmsg[0] = '\0';
    if (!id) return set_err(s, LLC_ERR_INVALID, "no run id given");
    sqlite3_stmt *st;
    int rc = stmt(s, Q_RUN_GET, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        if ((rc = read_run_row(st, out))) set_err(s, rc, "out of memory reading run '%s'", id);
    } else if (src == SQLITE_DONE) {
        rc = set_err(s, LLC_ERR_NOTFOUND, "no run '%s' in %s", id, s->path);
    } else {
        rc = sql_fail(s, src, "reading run '%s'", id);
    }
    release(st);
    return rc;
}

int llc_store_run_set_status(llc_store *s, const char *id, const char *status,
                             const char *message)
{
    if (!s) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    if (!id || !status) return set_err(s, LLC_ERR_INVALID, "run id and status are required");
    if (strcmp(status, "running") && strcmp(status, "done") && strcmp(status, "failed"))
        return set_err(s, LLC_ERR_INVALID, "invalid run status '%s' (running, done or failed)", status);
    char what[160];
    snprintf(what, sizeof what, "setting the status of run '%.100s'", id);
    sqlite3_stmt *st = NULL;
    int outer, rc = write_begin(s, &outer, what);
    if (rc) return rc;
    if ((rc = stmt(s, Q_RUN_STATUS, &st))) goto cleanup;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, message);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) rc = sql_fail(s, src, "%s", what);
    else if (sqlite3_changes(s->db) == 0) rc = set_err(s, LLC_ERR_NOTFOUND, "no run '%s' in %s", id, s->path);
cleanup:
    release(st);
    return write_end(s, outer, rc, what);
}

int llc_store_run_list(llc_store *s, llc_run_info **out, int *n)
{
    if (!s || !out || !n) return LLC_ERR_INVALID;
    *out = NULL;
    *n = 0;
    s->errmsg[0] = '\0';
    llc_run_info *runs = NULL;
    int count = 0, cap = 0, src;
    sqlite3_stmt *st;
    int rc = stmt(s, Q_RUN_LIST, &st);
    if (rc) return rc;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            int ncap = cap ? 2 * cap : 16;
            llc_run_info *grown = realloc(runs, (size_t)ncap * sizeof *runs);
            if (!grown) {
                rc = set_err(s, LLC_ERR_NOMEM, "out of memory listing runs");
                goto cleanup;
            }
            runs = grown;
            cap = ncap;
        }
        if ((rc = read_run_row(st, &runs[count]))) {
            set_err(s, rc, "out of memory listing runs");
            goto cleanup;
        }
        count++;
    }
    if (src != SQLITE_DONE) {
        rc = sql_fail(s, src, "listing runs");
        goto cleanup;
    }
    *out = runs;
    *n = count;
    runs = NULL;
cleanup:
    release(st);
    if (runs) {
        for (int i = 0; i < count; i++) llc_run_info_free(&runs[i]);
        free(runs);
    }
    return rc;
}

/* ---- checkpoints ---- */

int llc_store_checkpoint_put(llc_store *s, const char *run, long long step,
                             double train_loss, double test_loss,
                             const float *params, size_t n_params,
                             const llc_log_row *log, int n_log,
                             const void *state, size_t state_bytes)
{
    if (!s) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    if (!run || (!params && n_params) || n_log < 0 || (n_log > 0 && !log) || n_params > SIZE_MAX / 4)
        return set_err(s, LLC_ERR_INVALID, "llc_store_checkpoint_put: invalid arguments");
    size_t bad = first_nonfinite(params, n_params);
    if (bad < n_params)
        return set_err(s, LLC_ERR_NUMERIC, "refusing to store checkpoint %s/%lld: parameter %zu is %g", run, step,
                       bad, (double)params[bad]);

    char what[160];
    snprintf(what, sizeof what, "writing checkpoint %.100s/%lld", run, step);
    size_t bytes = 4 * n_params;
    float *swapped = NULL;
    const void *blob = params;
    sqlite3_stmt *st = NULL;
    int rc, src, outer = 0, in_tx = 0;
    if (!host_is_little_endian() && n_params) {
        if (!(swapped = malloc(bytes))) return set_err(s, LLC_ERR_NOMEM, "out of memory %s", what);
        memcpy(swapped, params, bytes);
        swap32(swapped, n_params);
        blob = swapped;
    }
    if ((rc = write_begin(s, &outer, what))) goto cleanup;
    in_tx = 1;
    if ((rc = run_exists(s, run, what))) goto cleanup;

    /* an existing checkpoint may only be rewritten with the same parameters */
    if ((rc = stmt(s, Q_CK_PARAMS, &st))) goto cleanup;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const void *old = sqlite3_column_blob(st, 0);
        size_t old_bytes = (size_t)sqlite3_column_bytes(st, 0);
        if (old_bytes != bytes || (bytes && memcmp(old, blob, bytes) != 0)) {
            rc = set_err(s, LLC_ERR_EXISTS, "checkpoint %s/%lld already exists in %s with different parameters",
                         run, step, s->path);
            goto cleanup;
        }
    } else if (src != SQLITE_DONE) {
        rc = sql_fail(s, src, "%s", what);
        goto cleanup;
    }
    release(st);

    if ((rc = stmt(s, Q_CK_UPSERT, &st))) goto cleanup;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_double(st, 3, train_loss);
    sqlite3_bind_double(st, 4, test_loss);
    /* always a BLOB, even of 0 bytes (a NULL pointer would bind NULL) */
    if (bytes) src = sqlite3_bind_blob64(st, 5, blob, bytes, SQLITE_STATIC);
    else src = sqlite3_bind_zeroblob(st, 5, 0);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)llc_sum64(blob, bytes));
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = sql_fail(s, src, "%s", what);
        goto cleanup;
    }
    release(st);

    if (n_log > 0) {
        if ((rc = stmt(s, Q_LOG_UPSERT, &st))) goto cleanup;
        for (int i = 0; i < n_log; i++) {
            sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, log[i].step);
            sqlite3_bind_double(st, 3, log[i].loss);
            sqlite3_bind_double(st, 4, log[i].lr);
            sqlite3_bind_double(st, 5, log[i].grad_norm);
            sqlite3_bind_double(st, 6, log[i].elapsed);
            src = sqlite3_step(st);
            if (src != SQLITE_DONE) {
                rc = sql_fail(s, src, "%s (log row of step %lld)", what, log[i].step);
                goto cleanup;
            }
            release(st);
        }
    }

    if (state) {
        if ((rc = stmt(s, Q_STATE_UPSERT, &st))) goto cleanup;
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, step);
        src = sqlite3_bind_blob64(st, 3, state, state_bytes, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)llc_sum64(state, state_bytes));
        if (src == SQLITE_OK) src = sqlite3_step(st);
        if (src != SQLITE_DONE) {
            rc = sql_fail(s, src, "%s (resume state)", what);
            goto cleanup;
        }
    }
cleanup:
    release(st);
    if (in_tx) rc = write_end(s, outer, rc, what);
    free(swapped);
    return rc;
}

/* Distinguish "no such run" from "no such step" for a missing checkpoint. */
static int missing_checkpoint(llc_store *s, const char *run, long long step)
{
    int rc = run_exists(s, run, "looking up a run");
    if (rc) return rc;
    return set_err(s, LLC_ERR_NOTFOUND, "run '%s' has no checkpoint at step %lld", run, step);
}

/* The row of checkpoint (run, step) in *st (columns train_loss, test_loss,
 * params, params_sum; release it), or an error with nothing to release. */
static int checkpoint_row(llc_store *s, const char *run, long long step, sqlite3_stmt **out)
{
    sqlite3_stmt *st;
    int rc = stmt(s, Q_CK_GET, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = st;
        return LLC_OK;
    }
    if (src == SQLITE_DONE) {
        release(st);
        return missing_checkpoint(s, run, step);
    }
    rc = sql_fail(s, src, "reading checkpoint %s/%lld", run, step);
    release(st);
    return rc;
}

int llc_store_checkpoint_get(llc_store *s, const char *run, long long step,
                             float *params, size_t n_params,
                             double *train_loss, double *test_loss)
{
    if (!s) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    if (!run || (!params && n_params) || n_params > SIZE_MAX / 4)
        return set_err(s, LLC_ERR_INVALID, "llc_store_checkpoint_get: invalid arguments");
    sqlite3_stmt *st;
    int rc = checkpoint_row(s, run, step, &st);
    if (rc) return rc;
    if (sqlite3_column_type(st, 2) != SQLITE_BLOB) {
        rc = set_err(s, LLC_ERR_INVALID, "checkpoint %s/%lld has no parameter BLOB", run, step);
        goto cleanup;
    }
    const void *blob = sqlite3_column_blob(st, 2);
    size_t bytes = (size_t)sqlite3_column_bytes(st, 2);
    if (bytes != 4 * n_params) {
        rc = set_err(s, LLC_ERR_INVALID, "checkpoint %s/%lld has %zu bytes, expected 4*%zu = %zu", run, step,
                     bytes, n_params, 4 * n_params);
        goto cleanup;
    }
    if (bytes) {
        if (!blob) {
            rc = set_err(s, LLC_ERR_NOMEM, "out of memory reading checkpoint %s/%lld", run, step);
            goto cleanup;
        }
        memcpy(params, blob, bytes);
        if (!host_is_little_endian()) swap32(params, n_params);
    }
    size_t bad = first_nonfinite(params, n_params);
    if (bad < n_params) {
        rc = set_err(s, LLC_ERR_NUMERIC, "checkpoint %s/%lld holds NaN/inf (parameter %zu is %g)", run, step, bad,
                     (double)params[bad]);
        goto cleanup;
    }
    char what[160];
    snprintf(what, sizeof what, "checkpoint %.100s/%lld", run, step);
    if ((rc = check_sum(s, st, 3, blob, bytes, what))) goto cleanup;
    if (train_loss) *train_loss = column_real(st, 0);
    if (test_loss) *test_loss = column_real(st, 1);
cleanup:
    release(st);
    return rc;
}

int llc_store_checkpoint_raw(llc_store *s, const char *run, long long step, void **blob, size_t *bytes,
                             double *train_loss, double *test_loss)
{
    if (!s) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    if (!run || !blob || !bytes) return set_err(s, LLC_ERR_INVALID, "llc_store_checkpoint_raw: invalid arguments");
    *blob = NULL;
    *bytes = 0;
    sqlite3_stmt *st;
    int rc = checkpoint_row(s, run, step, &st);
    if (rc) return rc;
    const void *b = sqlite3_column_blob(st, 2);
    size_t n = (size_t)sqlite3_column_bytes(st, 2);
    if ((n && !b) || !(*blob = malloc(n ? n : 1))) {
        rc = set_err(s, LLC_ERR_NOMEM, "out of memory reading checkpoint %s/%lld", run, step);
        goto cleanup;
    }
    if (n) memcpy(*blob, b, n);
    *bytes = n;
    if (train_loss) *train_loss = column_real(st, 0);
    if (test_loss) *test_loss = column_real(st, 1);
cleanup:
    release(st);
    return rc;
}

int llc_store_checkpoint_steps(llc_store *s, const char *run, long long **steps, int *n)
{
    if (!s || !steps || !n) return LLC_ERR_INVALID;
    *steps = NULL;
    *n = 0;
    s->errmsg[0] = '\0';
    if (!run) return set_err(s, LLC_ERR_INVALID, "no run id given");
    int rc = run_exists(s, run, "looking up a run");
    if (rc) return rc;
    long long *v = NULL;
    int count = 0, cap = 0, src;
    sqlite3_stmt *st;
    if ((rc = stmt(s, Q_CK_STEPS, &st))) return rc;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            int ncap = cap ? 2 * cap : 64;
            long long *grown = realloc(v, (size_t)ncap * sizeof *v);
            if (!grown) {
                rc = set_err(s, LLC_ERR_NOMEM, "out of memory listing checkpoints of run '%s'", run);
                goto cleanup;
            }
            v = grown;
            cap = ncap;
        }
        v[count++] = sqlite3_column_int64(st, 0);
    }
    if (src != SQLITE_DONE) {
        rc = sql_fail(s, src, "listing checkpoints of run '%s'", run);
        goto cleanup;
    }
    *steps = v;
    *n = count;
    v = NULL;
cleanup:
    release(st);
    free(v);
    return rc;
}

int llc_store_train_state_get(llc_store *s, const char *run, long long *step,
                              void **state, size_t *state_bytes)
{
    if (!s || !state || !state_bytes) return LLC_ERR_INVALID;
    *state = NULL;
    *state_bytes = 0;
    s->errmsg[0] = '\0';
    if (!run) return set_err(s, LLC_ERR_INVALID, "no run id given");
    sqlite3_stmt *st;
    int rc = stmt(s, Q_STATE_GET, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 1);
        size_t bytes = (size_t)sqlite3_column_bytes(st, 1);
        /* a 0-byte state still comes back as a (1-byte) allocation */
        void *copy = malloc(bytes ? bytes : 1);
        if (!copy || (bytes && !blob)) {
            free(copy);
            rc = set_err(s, LLC_ERR_NOMEM, "out of memory reading the resume state of run '%s'", run);
        } else {
            char what[160];
            snprintf(what, sizeof what, "the resume state of run '%.100s' (step %lld)", run,
                     (long long)sqlite3_column_int64(st, 0));
            if (bytes) memcpy(copy, blob, bytes);
            if ((rc = check_sum(s, st, 2, copy, bytes, what))) {
                free(copy);
            } else {
                *state = copy;
                *state_bytes = bytes;
                if (step) *step = sqlite3_column_int64(st, 0);
            }
        }
    } else if (src == SQLITE_DONE) {
        rc = set_err(s, LLC_ERR_NOTFOUND, "run '%s' has no resume state in %s", run, s->path);
    } else {
        rc = sql_fail(s, src, "reading the resume state of run '%s'", run);
    }
    release(st);
    return rc;
}

int llc_store_sql_fail(llc_store *s, const char *doing)
{
    return sql_fail(s, sqlite3_extended_errcode(s->db), "%s", doing);
}

int llc_run_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && !strchr("_-.", id[i])) return 0;
    return 1;
}

/* ---- run groups (schema v7) ---- */

/* Every row's first column of sql (bound to a1, a2 where not NULL) as a
 * malloc'd array of strings. */
static int string_column(llc_store *s, const char *sql, const char *a1, const char *a2, char ***out, int *n,
                         const char *what)
{
    sqlite3_stmt *st = NULL;
    char **v = NULL;
    int count = 0, cap = 0, rc = LLC_OK;
    *out = NULL;
    *n = 0;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = sql_fail(s, src, "%s", what);
        goto cleanup;
    }
    if (a1) sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
    if (a2) sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            int ncap = cap ? 2 * cap : 16;
            char **grown = realloc(v, (size_t)ncap * sizeof *v);
            if (!grown) {
                rc = set_err(s, LLC_ERR_NOMEM, "out of memory %s", what);
                goto cleanup;
            }
            v = grown;
            cap = ncap;
        }
        if ((rc = column_strdup(st, 0, &v[count]))) {
            set_err(s, rc, "out of memory %s", what);
            goto cleanup;
        }
        count++;
    }
    if (src != SQLITE_DONE) {
        rc = sql_fail(s, src, "%s", what);
        goto cleanup;
    }
    *out = v;
    *n = count;
    v = NULL;
cleanup:
    sqlite3_finalize(st);
    llc_strings_free(v, count);
    return rc;
}

void llc_strings_free(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

int llc_store_group_list(llc_store *s, char ***names, int *n)
{
    if (!s || !names || !n) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    return string_column(s, "SELECT grp FROM groups ORDER BY grp", NULL, NULL, names, n, "listing groups");
}

int llc_store_group_get(llc_store *s, const char *grp, char **spec)
{
    if (!s || !grp || !spec) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    char **v = NULL;
    int n = 0;
    int rc = string_column(s, "SELECT spec FROM groups WHERE grp = ?1", grp, NULL, &v, &n, "reading a group");
    if (rc) return rc;
    *spec = n ? v[0] : NULL;
    if (n) v[0] = NULL;
    llc_strings_free(v, n);
    return n ? LLC_OK : set_err(s, LLC_ERR_NOTFOUND, "no group '%s' in %s", grp, s->path);
}

int llc_store_group_put(llc_store *s, const char *grp, const char *spec)
{
    if (!s || !grp || !spec) return LLC_ERR_INVALID;
    char *old = NULL;
    int rc = llc_store_group_get(s, grp, &old);
    if (rc == LLC_OK) {
        rc = strcmp(old, spec) == 0 ? LLC_OK
                                    : set_err(s, LLC_ERR_EXISTS, "group '%s' exists in %s with other settings: %s",
                                              grp, s->path, old);
        free(old);
        return rc;
    }
    if (rc != LLC_ERR_NOTFOUND) return rc;
    s->errmsg[0] = '\0';
    char what[160];
    snprintf(what, sizeof what, "creating group '%.100s'", grp);
    sqlite3_stmt *st = NULL;
    int outer;
    if ((rc = write_begin(s, &outer, what))) return rc;
    int src = sqlite3_prepare_v2(s->db, "INSERT INTO groups(grp, spec, version) VALUES(?1, ?2, ?3)", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, grp, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, LLC_VERSION, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    if (src != SQLITE_DONE) rc = sql_fail(s, src, "%s", what);
    sqlite3_finalize(st);
    return write_end(s, outer, rc, what);
}

int llc_store_run_group(llc_store *s, const char *run, char **grp)
{
    if (!s || !run || !grp) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    char **v = NULL;
    int n = 0;
    int rc = string_column(s, "SELECT grp FROM run_groups WHERE run = ?1", run, NULL, &v, &n, "reading a run's group");
    if (rc) return rc;
    *grp = n ? v[0] : NULL;
    if (n) v[0] = NULL;
    llc_strings_free(v, n);
    return LLC_OK;
}

int llc_store_run_tag(llc_store *s, const char *run, const char *grp, const llc_vary_kv *kv, int n)
{
    if (!s || !run || !grp || (n && !kv)) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    char what[200];
    snprintf(what, sizeof what, "tagging run '%.80s' with group '%.80s'", run, grp);
    sqlite3_stmt *st = NULL;
    int outer, rc = write_begin(s, &outer, what);
    if (rc) return rc;
    int src = sqlite3_prepare_v2(s->db, "INSERT INTO run_groups(run, grp) VALUES(?1, ?2)", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, grp, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (src == SQLITE_DONE)
        src = sqlite3_prepare_v2(s->db, "INSERT INTO run_vary(run, key, value) VALUES(?1, ?2, ?3)", -1, &st, NULL);
    for (int i = 0; src == SQLITE_OK && i < n; i++) {
        sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kv[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, kv[i].value, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src == SQLITE_DONE) src = sqlite3_reset(st);
    }
    if (src != SQLITE_OK && src != SQLITE_DONE) rc = sql_fail(s, src, "%s", what);
    sqlite3_finalize(st);
    return write_end(s, outer, rc, what);
}

int llc_store_run_vary(llc_store *s, const char *run, char ***keys, char ***values, int *n)
{
    if (!s || !run || !keys || !values || !n) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    int m = 0;
    *values = NULL;
    int rc = string_column(s, "SELECT key FROM run_vary WHERE run = ?1 ORDER BY rowid", run, NULL, keys, n,
                           "reading a run's varied settings");
    if (!rc) rc = string_column(s, "SELECT value FROM run_vary WHERE run = ?1 ORDER BY rowid", run, NULL, values, &m,
                                "reading a run's varied settings");
    if (!rc && m != *n) rc = set_err(s, LLC_ERR_STORE, "the varied settings of run '%s' changed while read", run);
    if (rc) {
        llc_strings_free(*keys, *n);
        llc_strings_free(*values, m);
        *keys = *values = NULL;
        *n = 0;
    }
    return rc;
}

/* "a, b, c" (at most 12, then "..."), from names. */
static void name_list(char *buf, size_t size, char **names, int n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? ", " : "", i < 12 ? names[i] : "...");
}

int llc_store_runs_select(llc_store *s, const char *grp, const char *glob, char ***ids, int *n)
{
    if (!s || !ids || !n || (!grp == !glob)) return LLC_ERR_INVALID;
    s->errmsg[0] = '\0';
    int rc = grp ? string_column(s, "SELECT run FROM run_groups WHERE grp = ?1 ORDER BY run", grp, NULL, ids, n,
                                 "listing the runs of a group")
                 : string_column(s, "SELECT id FROM runs WHERE id GLOB ?1 ORDER BY id", glob, NULL, ids, n,
                                 "listing runs");
    if (rc || *n) return rc;
    char **names = NULL, list[400];
    int m = 0;
    if (grp) rc = string_column(s, "SELECT grp FROM groups ORDER BY grp", NULL, NULL, &names, &m, "listing groups");
    else rc = string_column(s, "SELECT id FROM runs ORDER BY id", NULL, NULL, &names, &m, "listing runs");
    if (rc) return rc;
    name_list(list, sizeof list, names, m);
    llc_strings_free(names, m);
    free(*ids);
    *ids = NULL;
    if (grp)
        return set_err(s, LLC_ERR_NOTFOUND, "no runs in group '%s' in %s (%s%s)", grp, s->path,
                       m ? "groups: " : "no groups: make one with llc sweep --group", list);
    return set_err(s, LLC_ERR_NOTFOUND, "no run matches '%s' in %s (%s%s)", glob, s->path, m ? "runs: " : "no runs",
                   list);
}
