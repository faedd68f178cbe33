#!/bin/sh
# Faults around training and estimating: unusable checkpoints in an
# estimate sweep, memory limits, and configs too large for the machine.
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 40 --quiet --threads 1"

# one damaged (wrong-length BLOB) and one NaN checkpoint: recorded with status
# bad_checkpoint, the sweep goes on, exit 4 (the first failure: damaged)
expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 200 --set ckpt_linear=6 --set ckpt_log=0 --quiet
sqlite3 "$LLC_DB" "UPDATE checkpoints SET params = substr(params, 1, 100) WHERE step = 40;
                   UPDATE checkpoints SET params = CAST(X'0000C07F' || substr(params, 5) AS BLOB) WHERE step = 80"
expect_rc 4 "a sweep over a damaged and a NaN checkpoint" -- $LLC estimate --run r1 --model --head 0.0 $S
expect_out "checkpoint r1/40 skipped: checkpoint r1/40 has 100 bytes" "names the damaged checkpoint"
expect_out "checkpoint r1/80 skipped: .*NaN" "names the NaN checkpoint"
expect_out "2 of 6 checkpoints could not be estimated" "summary line"
expect_out "run r1: 8 estimates written" "the other checkpoints are estimated"
got=$(sqlite3 "$LLC_DB" "SELECT group_concat(step || ' ' || target || ' ' || status || ' ' || typeof(llc_mean), ';') FROM (SELECT * FROM estimates WHERE status != 'ok' ORDER BY step, target)")
expect_eq "$got" "40 0.0 bad_checkpoint null;40 model bad_checkpoint null;80 0.0 bad_checkpoint null;80 model bad_checkpoint null" "failures recorded per target, no value"
got=$(sqlite3 "$LLC_DB" "SELECT json_extract(diagnostics, '$.error') FROM estimates WHERE step = 80 AND target = 'model'")
expect_eq "${got%%(*}" "checkpoint r1/80 holds NaN/inf " "the failure's message is stored"
expect_rc 0 "curves" -- $LLC curves --run r1 --format csv
n=$(grep -cE ',(40|80),' "$TMP/out"); expect_eq "$n" 0 "no curve point for a bad checkpoint"
n=$(grep -c . "$TMP/out"); expect_eq "$n" 9 "8 curve points (and the header)"
# a re-run tries the bad checkpoints again and skips the good ones
expect_rc 4 "re-run" -- $LLC estimate --run r1 --model --head 0.0 $S
expect_out "run r1: 0 estimates written, 8 already present" "good estimates skipped"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates"); expect_eq "$n" 12 "failure rows replaced, not duplicated"
# NaN alone: exit 7; once the checkpoint is repaired the failure row is replaced
sqlite3 "$LLC_DB" "UPDATE checkpoints SET params = (SELECT params FROM checkpoints WHERE step = 0), params_sum = (SELECT params_sum FROM checkpoints WHERE step = 0) WHERE step = 40"
expect_rc 7 "a sweep whose only bad checkpoint is NaN" -- $LLC estimate --run r1 --model --head 0.0 $S
expect_out "1 of 6 checkpoints could not be estimated" "summary: one"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) || ' ' || sum(status = 'ok') FROM estimates"); expect_eq "$n" "12 10" "the repaired checkpoint's failure rows replaced by estimates"

# AddressSanitizer reserves terabytes of address space: no ulimit -v for it
if grep -q __asan_init "$LLC" 2>/dev/null; then
    echo "cli_faults_run: memory limits skipped (AddressSanitizer build)"
else
    # memory limits: under any address-space limit (ulimit -v, KiB) train and
    # estimate end with exit 0 or 10 within seconds (OpenBLAS's allocator would
    # spin forever on a failed mmap), and no run is left 'running'. timeout
    # sends TERM, then KILL, so the test cannot hang.
    for v in 150000 250000 350000 450000 550000 650000; do
        ( ulimit -v $v; exec timeout -k 2 60 $LLC train --task sort --run m$v --steps 30 --quiet ) >"$TMP/out" 2>"$TMP/err"
        rc=$?; case $rc in 0|10) rc=ok ;; esac
        expect_eq "$rc" ok "train under ulimit -v $v: exit 0 or 10"
        st=$(sqlite3 "$LLC_DB" "SELECT status FROM runs WHERE id = 'm$v'")
        expect_eq "$([ "$st" = running ] && echo running || echo not)" not "train under ulimit -v $v: run not left running"
        for th in 1 2; do
            ( ulimit -v $v; exec timeout -k 2 60 $LLC estimate --run r1 --steps 0,120 $S --threads $th --force ) >"$TMP/out" 2>"$TMP/err"
            rc=$?; case $rc in 0|10) rc=ok ;; esac
            expect_eq "$rc" ok "estimate --threads $th under ulimit -v $v: exit 0 or 10"
        done
    done
    # two cases that used to spin forever: exit 10 at once, naming the need and the limit
    ( ulimit -v 500000; exec timeout -k 2 60 $LLC estimate --run r1 --steps 0 $S --threads 2 --force ) >"$TMP/out" 2>"$TMP/err"
    expect_eq $? 10 "estimate --threads 2 under ulimit -v 500000: exit 10"
    expect_out "estimate: needs about [0-9]+ MiB of address space .* but the limit \(ulimit -v\) is 488 MiB; raise the limit or use fewer --threads" "names the need and the limit"
    ( ulimit -v 150000; exec timeout -k 2 60 $LLC train --task sort --run m0 --steps 30 ) >"$TMP/out" 2>"$TMP/err"
    expect_eq $? 10 "train under ulimit -v 150000: exit 10"
    expect_out "train: needs about [0-9]+ MiB of address space" "names the need"
    n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM runs WHERE id = 'm0'"); expect_eq "$n" 0 "refused before the run is created"
fi

# sizes: train says the model's size, its checkpoints and memory first; a
# 67 M parameter sort model with a checkpoint at every step does not fit the
# disk: refused at once (exit 2) with nothing written unless --force-size
# (checked with --dry-run: nothing is trained)
BIG="--task sort --run big --set d_model=2048 --set n_layers=4 --set n_heads=16 --set d_head=128"
expect_rc 0 "a small run says its size" -- $LLC train --task sort --run small --steps 20 --set ckpt_linear=5 --set ckpt_log=0
expect_out "train small: 26561 parameters; 5 checkpoints x 0.10 MiB = [0-9.]+ MiB to write; about [0-9.]+ MiB of memory" "size line"
t0=$(date +%s)
expect_rc 2 "70M parameters, a checkpoint per step: refused" -- $LLC train $BIG --steps 100000 --set ckpt_every=1
t1=$(date +%s)
expect_out "train big: 67469377 parameters; 100001 checkpoints x 257.38 MiB = [0-9.]+ GiB to write" "says the size"
expect_out "train: its checkpoints need about [0-9.]+ GiB but .* GiB free; .*--force-size" "says why and the override"
expect_eq "$(( t1 - t0 < 20 ))" 1 "refused at once ($((t1 - t0)) s)"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM runs WHERE id = 'big'"); expect_eq "$n" 0 "nothing written"
expect_rc 0 "accepted with --force-size (dry run)" -- $LLC train $BIG --steps 100000 --set ckpt_every=1 --force-size --dry-run --quiet
expect_out "train big: 67469377 parameters" "the dry run says the size"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM runs WHERE id = 'big'"); expect_eq "$n" 0 "a dry run writes nothing"
# 4.3 G parameters: more than the machine's memory (exit 10); with
# --force-size, still beyond SQLite's largest BLOB (exit 2)
HUGE="--task sort --run huge --set d_model=8192 --set n_layers=16 --set n_heads=64 --set d_head=128 --dry-run"
if [ "$(awk '/^MemTotal/ { print ($2 < 160000000) }' /proc/meminfo)" = 1 ]; then
    expect_rc 10 "4.3 G parameters: more than the machine's memory" -- $LLC train $HUGE
    expect_out "train: needs about [0-9]+ MiB of memory but the machine has [0-9]+ MiB; --force-size tries anyway" "names the need and the memory"
fi
expect_rc 2 "with --force-size: too large for the store" -- $LLC train $HUGE --force-size
expect_out "too large for the store: its resume state is [0-9]+ MiB, SQLite's largest BLOB [0-9]+ MiB" "names the BLOB limit"
finish cli_faults_run
