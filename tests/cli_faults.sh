#!/bin/sh
# Faults around training and estimating: unusable checkpoints in an
# estimate sweep, memory limits, and configs too large for the machine.
. tests/clitest.sh
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
sqlite3 "$LLC_DB" "UPDATE checkpoints SET params = (SELECT params FROM checkpoints WHERE step = 0) WHERE step = 40"
expect_rc 7 "a sweep whose only bad checkpoint is NaN" -- $LLC estimate --run r1 --model --head 0.0 $S
expect_out "1 of 6 checkpoints could not be estimated" "summary: one"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) || ' ' || sum(status = 'ok') FROM estimates"); expect_eq "$n" "12 10" "the repaired checkpoint's failure rows replaced by estimates"
finish cli_faults
