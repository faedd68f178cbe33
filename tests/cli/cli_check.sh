#!/bin/sh
# Golden CLI tests of llc baseline / llc check: every shipped baseline
# (data/baselines/, made by tests/baseline/make_baselines.sh) re-runs within
# tolerance; perturbed values or changed sampler settings regress (exit 1);
# malformed baselines are refused (exit 2); a baseline made from a run
# checks against the same store and re-runs from scratch.
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 20 --quiet --threads 2"
BL=data/baselines
export TMPDIR="$TMP/tmpdir"
mkdir -p "$TMPDIR"

expect_rc 0 "help" -- $LLC check --help
expect_out "Wiring llc check into your CI" "help explains CI use"
expect_out "Exit codes" "help lists exit codes"
expect_rc 0 "baseline help" -- $LLC baseline --help

# every shipped baseline, all together, re-run from scratch
nb=$(ls $BL/*.json | wc -l)
expect_eq "$(ls $BL/sort.json $BL/modadd.json $BL/icl.json $BL/text.json 2>/dev/null | wc -l)" "4" "a baseline per task"
t0=$(date +%s)
expect_rc 0 "check every shipped baseline" -- $LLC check $BL/*.json --quiet
t1=$(date +%s)
echo "cli_check: llc check of $nb shipped baselines took $((t1 - t0))s"
expect_eq "$(grep -c ' - PASS$' "$TMP/out")" "$nb" "one PASS line per baseline"
expect_out "$nb baselines, 0 failed" "summary over all baselines"
expect_out "0 REGRESSED, 0 missing" "nothing regressed"
expect_eq "$(ls -A "$TMPDIR" | wc -l)" "0" "temporary stores removed"

# perturbed expected values: exit 1 and a readable table
# (modadd: the quickest to re-run)
sed 's/"llc_mean":	\(-\{0,1\}\)\([0-9]\)/"llc_mean":	\19\2/' $BL/modadd.json > "$TMP/perturbed.json"
expect_eq "$(cmp -s $BL/modadd.json "$TMP/perturbed.json" || echo differs)" "differs" "perturbed copy differs"
expect_rc 1 "perturbed values regress" -- $LLC check "$TMP/perturbed.json" --quiet
expect_out "^target +data +step +expected +got +diff +verdict" "table header"
expect_out "^model +train +0 .* REGRESSED" "a REGRESSED row"
expect_out "0 ok, [0-9]+ REGRESSED, 0 missing .* - FAIL$" "summary says FAIL"
# the same passes when the tolerance is widened (a point passes if ANY tolerance holds)
expect_rc 0 "wide abs tolerance" -- $LLC check "$TMP/perturbed.json" --tol-abs 1000 --tol-rel 0 --quiet
expect_rc 0 "wide std tolerance" -- $LLC check "$TMP/perturbed.json" --tol-abs 0 --tol-rel 0 --tol-std 1e6 --quiet
# changed sampler settings: different numbers
sed 's/"draws":	100/"draws":	90/' $BL/modadd.json > "$TMP/draws.json"
expect_rc 1 "changed sampler settings regress" -- $LLC check "$TMP/draws.json" --quiet
expect_out "REGRESSED" "says REGRESSED"
# a target the model lacks: missing
sed 's/"target":	"model"/"target":	"0.9"/' $BL/modadd.json > "$TMP/target.json"
expect_rc 1 "unknown target is missing" -- $LLC check "$TMP/target.json" --quiet
expect_out "missing +llc estimate failed \(exit 5\)" "missing with reason"

# malformed baselines
printf '{"llc_baseline": 1, "run": "x",' > "$TMP/bad.json"
expect_rc 2 "truncated json" -- $LLC check "$TMP/bad.json"
expect_out "malformed: not valid JSON" "says not valid JSON"
echo '{"run": "x"}' > "$TMP/bad.json"
expect_rc 2 "not a baseline" -- $LLC check "$TMP/bad.json"
expect_out "not an llc baseline" "says not a baseline"
sed 's/"llc_mean":	\([-0-9.e+]*\)/"llc_mean":	"\1"/' $BL/modadd.json > "$TMP/bad.json"
expect_rc 2 "string llc_mean" -- $LLC check "$TMP/bad.json"
expect_out "estimates\[0\]\.points\[0\]\.llc_mean must be a number" "names the field"
sed 's/"draws":	100/"draws":	"many"/' $BL/modadd.json > "$TMP/bad.json"
expect_rc 2 "bad setting type" -- $LLC check "$TMP/bad.json"
expect_out "settings.draws must be a number" "names the setting"
sed 's/"chains":	2/"chains":	0/' $BL/modadd.json > "$TMP/bad.json"
expect_rc 2 "setting out of range" -- $LLC check "$TMP/bad.json" --quiet
expect_out "chains" "names chains"
sed 's/"draws":	100/"drawz":	100/' $BL/modadd.json > "$TMP/bad.json"
expect_rc 2 "unknown setting refused by llc estimate" -- $LLC check "$TMP/bad.json" --quiet
expect_out "unknown option '--drawz'" "names the setting"
sed 's/"draws":	100/"draws":	[100]/' $BL/modadd.json > "$TMP/bad.json"
expect_rc 2 "setting of the wrong type" -- $LLC check "$TMP/bad.json"
expect_out "settings.draws must be a number" "names it"
expect_rc 2 "malformed among good ones: nothing runs" -- $LLC check $BL/modadd.json "$TMP/bad.json"
expect_rc 3 "unreadable baseline" -- $LLC check "$TMP/none.json"
expect_rc 2 "no baseline" -- $LLC check
expect_rc 2 "bad option" -- $LLC check $BL/modadd.json --bogus
expect_rc 2 "--db with two baselines" -- $LLC check $BL/modadd.json $BL/sort.json --db "$LLC_DB"

# round trip: run, estimate, baseline, check against the same store
expect_rc 0 "train" -- $LLC train --task sort --run rt --steps 30 --set ckpt_linear=3 --set ckpt_log=0 --quiet
expect_rc 5 "baseline without estimates" -- $LLC baseline --run rt
expect_out "no estimates" "says why"
expect_rc 0 "estimate" -- $LLC estimate --run rt $S
expect_rc 0 "estimate head" -- $LLC estimate --run rt $S --head 0.2 --data large_gap
expect_rc 0 "baseline" -- $LLC baseline --run rt
cp "$TMP/out" "$TMP/rt.json"
expect_out '"llc_baseline":	1' "format version"
expect_out '"steps":	30' "the full train config"
n=$(grep -c '"llc_mean":' "$TMP/rt.json")
expect_eq "$n" "$(sqlite3 "$LLC_DB" "SELECT count(*) FROM curves WHERE run='rt'")" "every curve point recorded"
expect_rc 0 "baseline --out" -- $LLC baseline --run rt --out "$TMP/rt2.json" --tol-abs 0 --tol-rel 0
expect_rc 0 "check against the same store" -- $LLC check "$TMP/rt.json" --db "$LLC_DB"
expect_out "6 points: 6 ok, 0 REGRESSED, 0 missing" "all points ok"
expect_rc 0 "zero tolerance: bit-identical" -- $LLC check "$TMP/rt2.json" --run rt
expect_rc 0 "re-run from scratch reproduces it" -- $LLC check "$TMP/rt2.json" --quiet
expect_out "6 ok, 0 REGRESSED" "re-run bit-identical"
expect_rc 0 "other run" -- $LLC train --task sort --run rt2 --steps 30 --set ckpt_linear=3 --set ckpt_log=0 --quiet --seed 2
expect_rc 1 "a run without the estimates: missing" -- $LLC check "$TMP/rt.json" --run rt2
expect_out "missing +no estimate" "says missing"
expect_rc 0 "estimate other run with other settings" -- $LLC estimate --run rt2 $S --draws 21
expect_rc 1 "other settings are not compared" -- $LLC check "$TMP/rt.json" --run rt2
expect_out "estimated only with other settings" "says so"
expect_rc 5 "unknown run" -- $LLC check "$TMP/rt.json" --run nope
expect_rc 5 "baseline of unknown run" -- $LLC baseline --run nope
expect_rc 2 "baseline bad tolerance" -- $LLC baseline --run rt --tol-rel -1
# --keep leaves the re-run's store
expect_rc 0 "keep" -- $LLC check "$TMP/rt.json" --keep --quiet
expect_out "kept the re-run's store: .*/llc.db" "prints where"
kept=$(sed -n "s/^kept the re-run's store: \(.*\) (run rt)$/\1/p" "$TMP/out")
expect_eq "$(sqlite3 "$kept" "SELECT count(*) FROM runs WHERE id='rt'")" "1" "kept store holds the run"
finish cli_check
