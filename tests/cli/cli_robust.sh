#!/bin/sh
# Hostile and broken input: each case gives a one-line message, a documented
# exit code, and leaves the store unchanged (README "Exit codes" table).
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 20 --quiet"
expect_rc 0 "train base run" -- $LLC train --task sort --run r1 --steps 20 --set ckpt_linear=3 --set ckpt_log=0 --quiet
snap() { sqlite3 "$LLC_DB" "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM checkpoints), (SELECT count(*) FROM estimates), (SELECT group_concat(status) FROM runs)"; }
base=$(snap)

printf '{"task": "sort", "train": {"steps": 3,}' > "$TMP/bad.json"
expect_rc 2 "malformed JSON" -- $LLC train --config "$TMP/bad.json" --run x
expect_rc 2 "unknown key" -- $LLC train --task sort --run x --set model.n_haeds=2
expect_out "unknown key 'n_haeds'" "names the mistyped key"
expect_rc 2 "mistyped value" -- $LLC train --task sort --run x --set n_heads=two
expect_out "n_heads" "names the key"
expect_rc 2 "eps <= 0" -- $LLC estimate --run r1 --eps 0
expect_rc 5 "head 1.9 in a 1x4 model" -- $LLC estimate --run r1 --head 1.9 $S
expect_out "1.9" "names the head"
expect_rc 5 "layer that does not exist" -- $LLC estimate --run r1 --layer 3 $S
expect_rc 2 "zero chains" -- $LLC estimate --run r1 --chains 0
expect_rc 5 "unknown run" -- $LLC estimate --run r9 $S
expect_rc 5 "unknown task" -- $LLC train --task sorting --run x
expect_rc 6 "existing run id" -- $LLC train --task sort --run r1 --steps 20
expect_rc 2 "injection-looking run id is refused by the id rules" -- $LLC train --task sort --run "r1'; DROP TABLE runs;--"
expect_rc 5 "injection-looking target is just an unknown group" -- $LLC estimate --run r1 --target "x'; DROP TABLE runs;--" $S
expect_eq "$(snap)" "$base" "store unchanged by all of the above"

# a checkpoint BLOB of the wrong size, and one with a NaN
cp "$LLC_DB" "$TMP/blob.db"
sqlite3 "$TMP/blob.db" "UPDATE checkpoints SET params = substr(params, 1, 100) WHERE run='r1' AND step=10"
expect_rc 4 "wrong-size checkpoint" -- $LLC estimate --db "$TMP/blob.db" --run r1 --steps 10 $S
expect_out "bytes, expected" "says the size is wrong"
hex=$(sqlite3 "$TMP/blob.db" "SELECT hex(params) FROM checkpoints WHERE run='r1' AND step=20" | sed 's/^......../0000C07F/')
echo "UPDATE checkpoints SET params = X'$hex' WHERE run='r1' AND step=20;" | sqlite3 "$TMP/blob.db"
expect_rc 7 "NaN in a checkpoint" -- $LLC estimate --db "$TMP/blob.db" --run r1 --steps 20 $S
expect_out "NaN" "says NaN"
n=$(sqlite3 "$TMP/blob.db" "SELECT count(*) || ' ' || sum(status = 'bad_checkpoint') || ' ' || count(llc_mean) FROM estimates")
expect_eq "$n" "2 2 0" "broken checkpoints: their failure recorded, no value"

# a store of a newer schema; a file that is not a database
sqlite3 "$TMP/new.db" "PRAGMA application_id=1280066305; PRAGMA user_version=99; CREATE TABLE t(x);"
expect_rc 8 "newer schema" -- $LLC runs --db "$TMP/new.db"
expect_out "upgrade llc" "says to upgrade"
echo "not a database" > "$TMP/text.db"
expect_rc 8 "not an SQLite file" -- $LLC train --task sort --run x --db "$TMP/text.db" --steps 2
expect_out "not an llc store" "says so"

# a full disk: a file size limit while training
cp "$LLC_DB" "$TMP/full.db"
( ulimit -f 300; trap '' XFSZ; $LLC train --db "$TMP/full.db" --task text --run big --steps 4 --set ckpt_linear=4 --set ckpt_log=0 --quiet ) >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_eq "$rc" "4" "file size limit: store error"
expect_out "disk full|i/o error|size limit" "names the problem"
ok=$(sqlite3 "$TMP/full.db" "PRAGMA integrity_check")
expect_eq "$ok" "ok" "store intact after the full disk"
n=$(sqlite3 "$TMP/full.db" "SELECT count(*) FROM checkpoints WHERE run='r1'")
expect_eq "$n" "3" "earlier checkpoints still there"

# a training run that goes NaN: stopped, recorded as failed, good checkpoints kept
expect_rc 7 "diverging training" -- $LLC train --task sort --run nan1 --steps 60 --set lr=100 --set optimizer=sgd --set clip=0 --set ckpt_every=5 --set ckpt_linear=0 --set ckpt_log=0 --quiet
expect_out "diverged at step" "names the step"
st=$(sqlite3 "$LLC_DB" "SELECT status FROM runs WHERE id='nan1'")
expect_eq "$st" "failed" "run marked failed"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM checkpoints WHERE run='nan1'")
expect_eq "$([ "$n" -ge 1 ] && echo yes)" "yes" "the last good checkpoints are kept"

# a read-only store (root ignores file modes: use a read-only bind mount if we may)
mkdir -p "$TMP/ro"
cp "$LLC_DB" "$TMP/ro/llc.db"
if mount --bind "$TMP/ro" "$TMP/ro" 2>/dev/null && mount -o remount,ro,bind "$TMP/ro" 2>/dev/null; then
    expect_rc 0 "reading a read-only store" -- $LLC runs --db "$TMP/ro/llc.db"
    expect_rc 4 "writing a read-only store" -- $LLC estimate --db "$TMP/ro/llc.db" --run r1 $S
    umount "$TMP/ro"
else
    echo "WARN: cannot make a read-only mount here; read-only store not tested"
fi
finish cli_robust
