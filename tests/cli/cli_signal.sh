#!/bin/sh
# SIGINT and SIGTERM at random points of llc train and llc estimate: exit 9,
# one line saying how to continue, the run not left 'running'; the resumed
# training and the re-run estimate equal an uninterrupted run bit for bit.
# A second signal ends the process at once. The random delays are printed.
. tests/cli/clitest.sh
T="--task sort --steps 2000 --set ckpt_every=100 --set ckpt_linear=0 --set ckpt_log=0 --quiet"
S="--heads all --eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 400 --quiet --threads 2 --steps every:5"
seed=${LLC_SIGNAL_SEED:-$$}
echo "cli_signal: random delays from seed $seed (LLC_SIGNAL_SEED=$seed to repeat)"
# delay I: a pseudo-random fraction of half a second
delay() { awk -v s="$seed" -v i="$1" 'BEGIN { srand(s * 100 + i); printf "%.2f", rand() * 0.5 }'; }
# wait (at most 60 s) until the query on the store prints something other than 0
wait_for() {
    i=0
    while [ $i -lt 600 ]; do
        n=$(sqlite3 -cmd ".timeout 2000" "$LLC_DB" "$1" 2>/dev/null)
        [ -n "$n" ] && [ "$n" != 0 ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
ckpts() { sqlite3 "$1" "SELECT group_concat(step || ':' || hex(params), ',') FROM (SELECT * FROM checkpoints WHERE run='t' ORDER BY step)" | md5sum; }
rows() { sqlite3 "$1" "SELECT group_concat(x, ';') FROM (SELECT step || ' ' || target || ' ' || quote(llc_mean) || ' ' || quote(llc_std) AS x FROM estimates ORDER BY step, target)" | md5sum; }

expect_rc 0 "uninterrupted train" -- $LLC train --db "$TMP/ref.db" --run t $T
expect_rc 0 "uninterrupted estimate" -- $LLC estimate --db "$TMP/ref.db" --run t $S

# training: a signal after the first checkpoint plus a random delay
# interrupt SIG I QUERY CMD...: run CMD, wait until QUERY is not 0, sleep
# delay I, send SIG; its exit code into rc, the delay into d
interrupt() {
    sig=$1; d=$(delay "$2"); q=$3; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err" &
    pid=$!
    wait_for "$q"
    sleep "$d"
    kill -"$sig" $pid
    wait $pid; rc=$?
}

k=0
for sig in INT TERM INT; do
    k=$((k + 1))
    flag=""; [ $k -gt 1 ] && flag=--resume
    interrupt $sig $k "SELECT count(*) FROM checkpoints WHERE run='t' AND step > $(( (k - 1) * 500 ))" \
        $LLC train --run t $T $flag
    expect_eq "$rc" 9 "train: SIG$sig after ${d}s: exit 9"
    expect_out "interrupted by SIG$sig at step [0-9]+; resumable from step [0-9]+: continue it with: llc train .*--resume" "train: says how to resume"
    n=$(grep -c . "$TMP/err"); expect_eq "$n" 1 "train: one line on stderr"
    st=$(sqlite3 "$LLC_DB" "SELECT status FROM runs WHERE id='t'")
    expect_eq "$st" failed "train: the interrupted run is marked (not left running)"
done
expect_rc 0 "train: resume to the end" -- $LLC train --run t $T --resume
expect_eq "$(ckpts "$LLC_DB")" "$(ckpts "$TMP/ref.db")" "interrupted and resumed training: bit-identical checkpoints"
st=$(sqlite3 "$LLC_DB" "SELECT status || ' ' || ifnull(message, '') FROM runs WHERE id='t'")
expect_eq "$st" "done " "train: done after the resume, message cleared"

# estimate: a signal after the first estimate row plus a random delay (each
# re-run continues where the last one stopped)
k=10
for sig in TERM INT TERM; do
    k=$((k + 1))
    have=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates")
    interrupt $sig $k "SELECT count(*) > $have FROM estimates" $LLC estimate --run t $S
    expect_eq "$rc" 9 "estimate: SIG$sig after ${d}s: exit 9"
    expect_out "estimate: interrupted by SIG$sig; the [0-9]+ estimates finished are kept; run the same command again to continue" "estimate: says how to continue"
    n=$(grep -c . "$TMP/err"); expect_eq "$n" 1 "estimate: one line on stderr"
done
expect_rc 0 "estimate: re-run to the end" -- $LLC estimate --run t $S
expect_eq "$(rows "$LLC_DB")" "$(rows "$TMP/ref.db")" "interrupted and re-run estimate: the uninterrupted run's rows"
ok=$(sqlite3 "$LLC_DB" "PRAGMA integrity_check")
expect_eq "$ok" "ok" "integrity"

# a second signal ends the process at once (killed by it, not exit 9); two
# different signals, as a pending signal sent twice is delivered once (and
# two threads may take them in either order)
$LLC estimate --run t $S --force >/dev/null 2>&1 &
pid=$!
sleep 0.5
kill -INT $pid; kill -TERM $pid
wait $pid; rc=$?
case $rc in 130|143) rc=killed ;; esac # by whichever was handled second
expect_eq "$rc" killed "SIGINT and SIGTERM: killed by the second at once (130 or 143)"
finish cli_signal
