#!/bin/sh
# Golden CLI tests of llc stages, llc cluster, llc trajectory and the plots
# of the analysis on a short sort run: what is stored, crossings between
# the checkpoints that straddle the level, the same numbers twice, the SVGs'
# elements, and bad input (one line, its exit code, nothing written).
. tests/cli/clitest.sh

one_line() { expect_eq "$(wc -l <"$TMP/err" | tr -d ' ')" "1" "$1: one line on stderr"; }

expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 400 --set ckpt_linear=10 --set ckpt_log=0 --quiet

# --help of each command
for c in stages cluster trajectory; do
    expect_rc 0 "$c --help" -- $LLC $c --help
    expect_out "usage: llc $c" "$c --help prints its usage"
done

# trajectory: 10 checkpoints x 3 components stored, PC1 dominant, deterministic
expect_rc 0 "trajectory" -- $LLC trajectory --run r1
expect_out "10 checkpoints" "every checkpoint"
expect_out "explained variance: PC1 0\.[5-9]" "PC1 explains more than half of the variance"
cp "$TMP/out" "$TMP/traj1"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM trajectory WHERE run='r1'")
expect_eq "$n" "30" "30 rows: 10 checkpoints x 3 components"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM trajectory_xy WHERE run='r1' AND pc1 IS NOT NULL AND pc3 IS NOT NULL")
expect_eq "$n" "10" "trajectory_xy: one row per checkpoint"
s=$(sqlite3 "$LLC_DB" "SELECT round(sum(explained), 6) <= 1.0 FROM trajectory WHERE run='r1' AND step=0")
expect_eq "$s" "1" "explained shares sum to at most 1"
expect_rc 0 "trajectory again" -- $LLC trajectory --run r1 --no-store
expect_eq "$(md5sum <"$TMP/out")" "$(md5sum <"$TMP/traj1")" "the same coordinates twice"
expect_rc 5 "trajectory: unknown run" -- $LLC trajectory --run nope
one_line "trajectory: unknown run"
expect_rc 5 "trajectory: unknown distribution" -- $LLC trajectory --run r1 --data prose
one_line "trajectory: unknown distribution"
expect_rc 2 "trajectory: bad --components" -- $LLC trajectory --run r1 --components 0
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM trajectory")
expect_eq "$n" "30" "failed trajectory calls write nothing"

# stages from the losses and a crossing between the checkpoints around it
expect_rc 0 "stages" -- $LLC stages --run r1 --cross test_loss=2.0
expect_out "loss +test_loss +drop" "a test-loss drop"
expect_out "cross +test_loss=2.0 +cross" "the crossing is printed"
expect_out "no LLC curve for target model" "says there is no LLC curve yet"
ok=$(sqlite3 "$LLC_DB" "SELECT s.step > (SELECT max(step) FROM checkpoints WHERE run='r1' AND test_loss > 2.0 AND step < s.step)
  AND s.step <= (SELECT min(step) FROM checkpoints WHERE run='r1' AND test_loss <= 2.0)
  FROM stages s WHERE s.run='r1' AND s.kind='cross'")
expect_eq "$ok" "1" "the crossing lies between the checkpoints that straddle 2.0"
rows=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM stages")
expect_rc 0 "stages again" -- $LLC stages --run r1 --cross test_loss=2.0
expect_eq "$(sqlite3 "$LLC_DB" "SELECT count(*) FROM stages")" "$rows" "re-running replaces, no duplicates"
expect_rc 2 "stages: bad --cross" -- $LLC stages --run r1 --cross test_loss
one_line "stages: bad --cross"
expect_out "CURVE=LEVEL" "names the form"
expect_rc 5 "stages: unknown curve" -- $LLC stages --run r1 --cross nonsense=1
one_line "stages: unknown curve"
expect_rc 5 "stages: unknown run" -- $LLC stages --run nope
expect_rc 2 "stages: bad --min-len" -- $LLC stages --run r1 --min-len 0
expect_eq "$(sqlite3 "$LLC_DB" "SELECT count(*) FROM stages")" "$rows" "failed stages calls write nothing"
expect_rc 0 "stages: a level never reached" -- $LLC stages --run r1 --only-cross --cross test_loss=0.000001 --no-store
expect_out "never reached" "says so"

# a probe curve's crossing, on the probe's default data (test)
expect_rc 0 "probe" -- $LLC probe --run r1 --probe prev_token --seqs 16 --quiet
s1=$(sqlite3 "$LLC_DB" "SELECT min(step) FROM checkpoints WHERE run='r1' AND step > 0")
lv=$(sqlite3 "$LLC_DB" "SELECT printf('%.6f', (a.value + b.value) / 2) FROM probe_curves a, probe_curves b
  WHERE a.run='r1' AND b.run='r1' AND a.probe='prev_token' AND b.probe='prev_token' AND a.target='0.0'
  AND b.target='0.0' AND a.step=0 AND b.step=$s1")
expect_rc 0 "stages: a probe crossing" -- $LLC stages --run r1 --only-cross --cross "probe:prev_token:0.0=$lv" --no-store
at=$(awk '$1 == "cross" {print $4}' "$TMP/out")
expect_eq "$(awk -v a="$at" -v b="$s1" 'BEGIN {print (a > 0 && a < b)}')" "1" "crossed between step 0 and $s1 (at $at)"

# per-head LLC curves, their stages and clusters
expect_rc 0 "estimate heads" -- $LLC estimate --run r1 --model --heads all --eps 1e-4 --chains 1 --draws 20 --burnin 10 --thin 1 --threads 1 --quiet
expect_rc 0 "stages with an LLC curve" -- $LLC stages --run r1
expect_rc 0 "cluster" -- $LLC cluster --run r1 --k 2
expect_out "4 curves \(llc, train\) in 2 clusters" "four heads, two clusters"
expect_out "^cluster 0: 0\.0" "clusters numbered from the first head"
cp "$TMP/out" "$TMP/cl1"
expect_eq "$(sqlite3 "$LLC_DB" "SELECT count(*) FROM clusters WHERE run='r1' AND curve='llc'")" "4" "one row per head"
expect_rc 0 "cluster again" -- $LLC cluster --run r1 --k 2
expect_eq "$(md5sum <"$TMP/out")" "$(md5sum <"$TMP/cl1")" "the same assignment twice"
expect_rc 0 "cluster hierarchical" -- $LLC cluster --run r1 --k 2 --method hierarchical --logx --scale zscore --no-store
expect_out "ward, scale zscore, log steps" "method printed"
expect_rc 2 "cluster: k > heads" -- $LLC cluster --run r1 --k 5
one_line "cluster: k > heads"
expect_out "k = 5, but there are 4 curves" "names k and the number of heads"
expect_rc 5 "cluster: unknown run" -- $LLC cluster --run nope
one_line "cluster: unknown run"
expect_rc 5 "cluster: no probe curves" -- $LLC cluster --run r1 --of probe:induction
one_line "cluster: no probe curves"
expect_out "llc probe" "says what to run"
expect_rc 2 "cluster: bad method" -- $LLC cluster --run r1 --method spectral
expect_eq "$(sqlite3 "$LLC_DB" "SELECT count(*) FROM clusters")" "4" "failed cluster calls write nothing"

# plots
expect_rc 0 "plot trajectory" -- $LLC plot --run r1 --kind trajectory --out "$TMP/t.svg"
expect_eq "$(grep -c 'class="points"' "$TMP/t.svg")" "10" "one point per checkpoint"
expect_eq "$(grep -c 'class="stage-mark"' "$TMP/t.svg")" "1" "the stage marks"
grep -q '>PC1<' "$TMP/t.svg" && grep -q '>PC2<' "$TMP/t.svg"; expect_eq "$?" "0" "axes PC1 and PC2"
marks=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM stages WHERE run='r1' AND (source='llc' OR target='test_loss')")
rings=$(grep -o '<circle[^>]*fill="none"' "$TMP/t.svg" | wc -l | tr -d ' ')
expect_eq "$rings" "$marks" "one ring per LLC stage and test-loss drop"
expect_rc 0 "plot log" -- $LLC plot --run r1 --kind log --out "$TMP/l.svg"
expect_eq "$(grep -c 'class="log-loss"' "$TMP/l.svg") $(grep -c 'class="log-grad"' "$TMP/l.svg")" "1 1" "loss and gradient-norm paths"
grep -q 'class="tick-label"[^>]*>100<' "$TMP/l.svg"; expect_eq "$?" "0" "a log step axis labelled 100"
expect_rc 0 "plot --mark stages" -- $LLC plot --run r1 --mark stages --out "$TMP/c.svg"
expect_eq "$(grep -c 'class="mark"' "$TMP/c.svg")" "$marks" "one mark line per stored stage"
expect_rc 0 "plot heads by cluster" -- $LLC plot --run r1 --kind heads --color-by cluster --out "$TMP/h.svg"
expect_eq "$(grep -c 'class="cluster-label"' "$TMP/h.svg")" "4" "a cluster label per head"
expect_rc 2 "plot: --color-by on curves" -- $LLC plot --run r1 --color-by cluster --out "$TMP/x.svg"
expect_rc 5 "plot trajectory: unknown run" -- $LLC plot --run nope --kind trajectory --out "$TMP/x.svg"
expect_rc 0 "train r2" -- $LLC train --task sort --run r2 --steps 20 --set ckpt_linear=2 --set ckpt_log=0 --quiet
expect_rc 5 "plot trajectory: none stored" -- $LLC plot --run r2 --kind trajectory --out "$TMP/x.svg"
one_line "plot trajectory: none stored"
expect_rc 5 "plot --mark stages: none stored" -- $LLC plot --run r2 --mark stages --out "$TMP/x.svg"
[ ! -e "$TMP/x.svg" ]; expect_eq "$?" "0" "no SVG written on failure"

finish cli_analysis
