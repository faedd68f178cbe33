#!/bin/sh
# Crash safety and concurrency: SIGKILL llc estimate at random points and
# re-run (same rows as an uninterrupted run); 3 concurrent llc estimate
# processes on one store while a reader queries curves in a loop.
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 40 --quiet --threads 1"
expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 200 --set ckpt_linear=6 --set ckpt_log=0 --quiet
cp "$LLC_DB" "$TMP/ref.db"
expect_rc 0 "uninterrupted estimate" -- $LLC estimate --db "$TMP/ref.db" --run r1 --heads all $S
rows() { sqlite3 "$1" "SELECT group_concat(x, ';') FROM (SELECT step || ' ' || target || ' ' || quote(llc_mean) || ' ' || quote(llc_std) AS x FROM estimates ORDER BY step, target)" | md5sum; }
chains() { sqlite3 "$1" "SELECT count(*) || ' ' || sum(length(trace)) FROM estimate_chains"; }
want_rows=$(rows "$TMP/ref.db")

# kill -9 at several points, then run to completion
for delay in 0.3 0.7 1.1 1.6; do
    $LLC estimate --run r1 --heads all $S >/dev/null 2>&1 &
    pid=$!
    sleep $delay
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
done
expect_rc 0 "re-run after kills" -- $LLC estimate --run r1 --heads all $S
expect_eq "$(rows "$LLC_DB")" "$want_rows" "after SIGKILLs: exactly the uninterrupted run's rows"
expect_eq "$(chains "$LLC_DB")" "$(chains "$TMP/ref.db")" "chain rows complete, none half-written"
ok=$(sqlite3 "$LLC_DB" "PRAGMA integrity_check")
expect_eq "$ok" "ok" "integrity"

# kill -9 training at several points, resume, compare with an uninterrupted run
expect_rc 0 "uninterrupted train" -- $LLC train --db "$TMP/ref.db" --task sort --run t2 --steps 300 --set ckpt_every=20 --set ckpt_linear=0 --set ckpt_log=0 --quiet
for delay in 0.2 0.5 0.9; do
    $LLC train --task sort --run t2 --steps 300 --set ckpt_every=20 --set ckpt_linear=0 --set ckpt_log=0 --quiet --resume >/dev/null 2>&1 &
    pid=$!
    sleep $delay
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
done
expect_rc 0 "resume to the end" -- $LLC train --task sort --run t2 --steps 300 --set ckpt_every=20 --set ckpt_linear=0 --set ckpt_log=0 --quiet --resume
a=$(sqlite3 "$TMP/ref.db" "SELECT group_concat(step || ':' || hex(params), ',') FROM (SELECT * FROM checkpoints WHERE run='t2' ORDER BY step)" | md5sum)
b=$(sqlite3 "$LLC_DB" "SELECT group_concat(step || ':' || hex(params), ',') FROM (SELECT * FROM checkpoints WHERE run='t2' ORDER BY step)" | md5sum)
expect_eq "$b" "$a" "killed and resumed training: bit-identical checkpoints"

# concurrency: 3 writers (two overlapping target sets) and a reader
rm -f "$TMP/c.db"*
cp "$TMP/ref.db" "$TMP/c.db"
sqlite3 "$TMP/c.db" "DELETE FROM estimate_chains; DELETE FROM estimates"
export LLC_DB="$TMP/c.db"
( i=0; while [ $i -lt 2000 ]; do sqlite3 -cmd ".timeout 5000" "$LLC_DB" "SELECT count(*) FROM curves" >/dev/null 2>>"$TMP/reader.err" || echo "reader error" >>"$TMP/reader.err"; i=$((i+1)); [ -f "$TMP/stop" ] && break; done ) &
reader=$!
$LLC estimate --run r1 --head 0.0 --head 0.1 $S >"$TMP/w1" 2>&1 & p1=$!
$LLC estimate --run r1 --head 0.1 --head 0.2 $S >"$TMP/w2" 2>&1 & p2=$!
$LLC estimate --run r1 --head 0.2 --head 0.3 --model $S >"$TMP/w3" 2>&1 & p3=$!
wait $p1; r1=$?; wait $p2; r2=$?; wait $p3; r3=$?
touch "$TMP/stop"; wait $reader
expect_eq "$r1 $r2 $r3" "0 0 0" "three concurrent writers all succeed"
expect_eq "$(cat "$TMP/reader.err" 2>/dev/null)" "" "the reader saw no errors"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates")
expect_eq "$n" "30" "every expected row present (5 targets x 6 checkpoints), no duplicates"
d=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM (SELECT run, step, target, data FROM estimates GROUP BY 1,2,3,4 HAVING count(*) > 1)")
expect_eq "$d" "0" "no duplicate estimates"
for w in w1 w2 w3; do grep -q "llc:" "$TMP/$w" && { echo "writer $w said:"; cat "$TMP/$w"; }; done
finish cli_crash
