#!/bin/sh
# Golden CLI tests of llc probe on a short sort run: every probe at every
# checkpoint into the store, skipping and --force, bit-identical values for
# 1 and 2 threads, one matrix per --what, and bad input (one line, its exit
# code, nothing written).
. tests/cli/clitest.sh

expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 300 --set ckpt_linear=4 --set ckpt_log=0 --quiet
expect_rc 0 "probe all" -- $LLC probe --run r1 --threads 2 --seqs 64
expect_out "4 checkpoints computed, 0 already stored" "one computation per checkpoint"
expect_out "head 0\.3 owns" "owned tokens as ranges"
expect_out "OV view \([0-9]+ segments\)" "segment count of the OV view"
expect_out "QK view \([0-9]+ segments\)" "segment count of the QK view"
expect_out "attention view \([0-9]+ segments\)" "segment count of the attention view"
n=$(sqlite3 "$LLC_DB" "SELECT count(DISTINCT step) FROM probe_curves WHERE run='r1' AND probe='prev_token' AND target='0.3'")
expect_eq "$n" "4" "probe_curves has a prev_token curve per head over the 4 checkpoints"
rows=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM probes")
# 12 per-head probes (all but icl) x 4 heads + 3 segment counts, at 4 checkpoints
expect_eq "$rows" "204" "rows per checkpoint: 12 probes x 4 heads + 3 segment counts"
bad=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM probes WHERE probe IN ('prev_token','current','first','induction','duplicate','copying','copy_suppression') AND NOT (value >= 0 AND value <= 1)")
expect_eq "$bad" "0" "shares are in [0, 1]"
seg=$(sqlite3 "$LLC_DB" "SELECT sum(value) FROM probes WHERE probe='owned_ov' AND step=300")
expect_eq "$seg" "64.0" "the 4 heads own the 64 numbers between them"
expect_rc 0 "re-run skips" -- $LLC probe --run r1 --threads 2 --seqs 64 --format csv
expect_out "0 checkpoints computed, 4 already stored" "skips stored checkpoints"
expect_out "^run,target,data,probe,step,value" "csv header"
before=$(sqlite3 "$LLC_DB" "SELECT step, target, probe, quote(value) FROM probes ORDER BY step, target, probe" | md5sum)
expect_rc 0 "force, 1 thread" -- $LLC probe --run r1 --threads 1 --seqs 64 --force --format json
expect_out "4 checkpoints computed" "--force recomputes"
expect_out "\"probe\":[[:space:]]+\"entropy\"" "json rows"
after=$(sqlite3 "$LLC_DB" "SELECT step, target, probe, quote(value) FROM probes ORDER BY step, target, probe" | md5sum)
expect_eq "$after" "$before" "values bit-identical for 1 and 2 threads"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM probes")
expect_eq "$n" "204" "--force replaces rows, no duplicates"
expect_rc 0 "mean ablation of one head" -- $LLC probe --run r1 --steps 300 --heads 0.1 --probe ablation --mode mean --seqs 64
expect_out "0\.1 +test +ablation_mean +300" "printed"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM probes WHERE probe='ablation_mean'")
expect_eq "$n" "1" "one row: head 0.1 at step 300"

# one matrix
expect_rc 0 "ov matrix" -- $LLC probe --run r1 --step 300 --what ov --head 0.2
n=$(wc -l < "$TMP/out")
expect_eq "$n" "66" "OV circuit: a header and 65 token rows"
expect_rc 0 "pattern matrix" -- $LLC probe --run r1 --step 300 --what pattern --head 0.0 --format json
expect_out "\"what\": \"pattern\", \"head\": \"0.0\", \"step\": 300, \"rows\": 20, \"cols\": 20" "pattern of the example sequence"
expect_rc 0 "qk matrix" -- $LLC probe --run r1 --step 300 --what qk --head 0.3 --format csv
expect_out "^64," "QK circuit rows"

# bad input: one line, exit code, nothing written
n0=$(sqlite3 "$LLC_DB" "SELECT count(*) || '/' || max(id) FROM probes")
expect_rc 2 "unknown probe" -- $LLC probe --run r1 --probe bogus
expect_out "unknown probe 'bogus'" "names the probe"
expect_rc 5 "head out of range" -- $LLC probe --run r1 --heads 0.7
expect_out "head 0.7 does not exist: model has layers 0-0 and heads 0-3" "names the range"
expect_rc 2 "icl on sort" -- $LLC probe --run r1 --probe icl
expect_out "needs the icl task" "says why"
expect_rc 5 "no checkpoint" -- $LLC probe --run r1 --steps 301
expect_out "no checkpoint at step 301" "names the step"
expect_rc 5 "unknown distribution" -- $LLC probe --run r1 --data nope
expect_out "no distribution 'nope'" "names the distribution"
expect_rc 5 "unknown run" -- $LLC probe --run nope
expect_rc 2 "bad mode" -- $LLC probe --run r1 --mode half
expect_rc 2 "what without step" -- $LLC probe --run r1 --what ov --head 0.1
expect_rc 2 "bad what" -- $LLC probe --run r1 --what ovv --step 300 --head 0.1
expect_rc 5 "what at a missing step" -- $LLC probe --run r1 --what ov --step 301 --head 0.1
expect_rc 2 "malformed head" -- $LLC probe --run r1 --heads x.1
l=$(wc -l < "$TMP/err")
expect_eq "$l" "1" "one line on stderr"
expect_rc 0 "train a pooled model" -- $LLC train --task modadd --run m1 --steps 10 --quiet
expect_rc 2 "pooled model" -- $LLC probe --run m1
expect_out "has a pooling layer" "says why"
n1=$(sqlite3 "$LLC_DB" "SELECT count(*) || '/' || max(id) FROM probes")
expect_eq "$n1" "$n0" "nothing written by bad input"
finish cli_probe
