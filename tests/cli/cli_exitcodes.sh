#!/bin/sh
# One case per row of the README's exit-code table: the program exits with
# the code the table gives for that kind of failure, with one line on stderr.
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 20 --quiet"
one_line() { expect_eq "$(wc -l <"$TMP/err")" "1" "$1: one line on stderr"; }

# 0 ok
expect_rc 0 "0: ok" -- $LLC train --task sort --run r1 --steps 20 --set ckpt_linear=3 --set ckpt_log=0 --quiet
expect_rc 0 "0: estimate" -- $LLC estimate --run r1 --steps 20 $S

# 1 llc check: an estimate regressed (here: missing from the run checked)
expect_rc 0 "baseline of r1" -- $LLC baseline --run r1 --out "$TMP/b.json"
expect_rc 0 "another run" -- $LLC train --task sort --run r2 --steps 20 --set ckpt_linear=3 --set ckpt_log=0 --quiet --seed 2
expect_rc 1 "1: check finds a regression" -- $LLC check "$TMP/b.json" --run r2

# 2 bad usage, config key or value, malformed JSON
expect_rc 2 "2: unknown option" -- $LLC runs --colour
one_line "2"
expect_rc 2 "2: value out of range" -- $LLC train --task sort --run x --set lr=1e309
one_line "2"

# 3 a file could not be read or written
expect_rc 3 "3: missing config" -- $LLC train --config "$TMP/none.json" --run x
one_line "3"
$LLC runs >/dev/full 2>"$TMP/err"
expect_eq "$?" "3" "3: stdout cannot be written"
one_line "3 (stdout)"

# 4 store error: locked, read-only, disk full, corrupt
expect_rc 4 "4: not a regular file" -- $LLC runs --db /dev/null
one_line "4"
cp "$LLC_DB" "$TMP/damaged.db"
sqlite3 "$TMP/damaged.db" "UPDATE runs SET status = 'running' WHERE id = 'r2'; UPDATE train_state SET state = zeroblob(length(state)) WHERE run = 'r2'"
expect_rc 4 "4: damaged resume state" -- $LLC train --task sort --run r2 --steps 20 --set ckpt_linear=3 --set ckpt_log=0 --quiet --seed 2 --resume --db "$TMP/damaged.db"
expect_out "resume state of run 'r2'.*damaged" "names the run"
one_line "4 (resume state)"

# 5 unknown run, task, checkpoint, target or distribution
expect_rc 5 "5: unknown run" -- $LLC show --run nope
one_line "5"
expect_rc 5 "5: missing store" -- $LLC show --run r1 --db "$TMP/none.db"
: >"$TMP/empty.db"
expect_rc 5 "5: empty store file, like a missing one" -- $LLC show --run r1 --db "$TMP/empty.db"

# 6 run id already exists (without --resume)
expect_rc 6 "6: run exists" -- $LLC train --task sort --run r1 --steps 20
one_line "6"

# 7 NaN/inf in training or sampling
expect_rc 7 "7: diverging training" -- $LLC train --task sort --run nan1 --steps 60 --set lr=100 --set optimizer=sgd --set clip=0 --set ckpt_every=5 --set ckpt_linear=0 --set ckpt_log=0 --quiet
one_line "7"

# 8 not an llc store, or a store of a newer schema
echo "not a database" >"$TMP/text.db"
expect_rc 8 "8: not an SQLite file" -- $LLC runs --db "$TMP/text.db"
one_line "8"

# 9 interrupted: SIGTERM during training (a background job of sh ignores SIGINT)
$LLC train --task sort --run int1 --steps 100000 --set ckpt_every=1000 --quiet >"$TMP/out" 2>"$TMP/err" &
pid=$!
i=0
while [ $i -lt 100 ] && ! sqlite3 "$LLC_DB" "SELECT 1 FROM runs WHERE id='int1'" 2>/dev/null | grep -q 1; do
    sleep 0.1; i=$((i + 1))
done
kill -TERM $pid 2>/dev/null
wait $pid 2>/dev/null
rc=$?
if [ "$rc" = 9 ]; then P=$((P + 1)); else F=$((F + 1)); echo "FAIL: 9: SIGTERM during training exited $rc, not 9"; fi

# 10 out of memory (parsing a config under a memory limit)
python3 -c "import sys; sys.stdout.write('{\"task\": \"sort\", \"train\": {\"ckpt_list\": [' + ','.join(['0'] * 520000) + ']}}')" >"$TMP/many.json"
if ( ulimit -v 60000; OPENBLAS_NUM_THREADS=1 timeout 10 $LLC --version ) >/dev/null 2>&1; then
    ( ulimit -v 60000; OPENBLAS_NUM_THREADS=1 timeout 20 $LLC train --config "$TMP/many.json" --run x ) >"$TMP/out" 2>"$TMP/err"
    expect_eq "$?" "10" "10: out of memory"
    one_line "10"
else
    echo "WARN: llc does not start under ulimit -v 60000 here (a sanitizer build?): exit 10 not tested"
fi
finish cli_exitcodes
