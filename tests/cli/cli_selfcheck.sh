#!/bin/sh
# The transformer self-consistency harness (make selfcheck) at
# SELFCHECK_SCALE=tiny: one table row per run, checkpoint and target with a
# verdict of the known words, the numbers those the store holds, and a much
# larger eps makes the check fail. About 15 s of CPU.
. tests/cli/clitest.sh
SC="env LLC=$LLC SELFCHECK_SCALE=tiny"
expect_rc 2 "bad scale" -- env SELFCHECK_SCALE=huge sh tests/accuracy/selfcheck.sh
expect_out "SELFCHECK_SCALE must be full or tiny, not 'huge'" "the usage error names the values"

expect_rc 0 "tiny self-check passes" -- $SC SELFCHECK_DB="$TMP/sc.db" sh tests/accuracy/selfcheck.sh
cp "$TMP/out" "$TMP/table"
expect_eq "$(grep -c '^run  *step target  *llc  *se  *batch_x4  *move  *eps/2  *move  *eps verdict$' "$TMP/table")" \
    "1" "one header line"
# 2 runs x 3 checkpoints (first, middle, last) x 3 targets (model and two heads)
rows='^(sort|icl) +[0-9]+ (model|0\.1|0\.3|1\.3) +(-?[0-9.]+ +){2}(-?[0-9.]+ +[+-][0-9.]+% +){2}[0-9.e-]+ (pass|FAIL|missing)$'
expect_eq "$(grep -cE "$rows" "$TMP/table")" "18" "18 rows of the known shape"
expect_eq "$(grep -cE ' pass$' "$TMP/table")" "18" "every tiny check passes"
expect_eq "$(awk '$1 == "sort" && $3 == "model" {printf "%s ", $2}' "$TMP/table")" "0 13 40 " \
    "the first, the middle and the last checkpoint"
expect_out "selfcheck: 18 checks, 0 not passed" "summary line"
# the table's numbers are the store's: the estimate as llc curves gives it
v=$(LLC_DB="$TMP/sc.db" $LLC curves --run icl --target 1.3 --format csv | awk -F, '$4 == 40 {printf "%.4f", $5}')
expect_eq "$(awk '$1 == "icl" && $2 == 40 && $3 == "1.3" {print $4}' "$TMP/table")" "$v" "icl 1.3 at step 40 as stored"
# rerun: everything is in the store already, nothing is recomputed
expect_rc 0 "rerun" -- $SC SELFCHECK_DB="$TMP/sc.db" sh tests/accuracy/selfcheck.sh
expect_eq "$(grep -E "$rows" "$TMP/out")" "$(grep -E "$rows" "$TMP/table")" "the same table"

# a deliberately biased setting: eps 30x the tiny one moves lambda-hat at eps/2
expect_rc 1 "a much larger eps fails the check" -- $SC SELFCHECK_DB="$TMP/bias.db" SELFCHECK_RUNS=sort \
    SELFCHECK_HEADS_sort= SELFCHECK_OPTS="--eps 3e-2" sh tests/accuracy/selfcheck.sh
expect_eq "$(grep -cE '^sort .* FAIL$' "$TMP/out")" "3" "every checkpoint fails"
expect_out "selfcheck: 3 checks, 3 not passed" "summary line"
n=$(sqlite3 "$TMP/bias.db" "SELECT count(*) FROM estimates WHERE eps = 0.03 AND json_extract(diagnostics, '\$.bias_check.pass') = 0")
expect_eq "$n" "3" "the failed verdicts are those stored"
finish cli_selfcheck
