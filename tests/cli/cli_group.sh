#!/bin/sh
# --group G / --runs GLOB in place of --run: the commands run once per run;
# llc plot overlays the runs' curves, or draws their mean and a ±1 sd band
# (--aggregate); an unknown group or an empty match is exit 5.
. tests/cli/clitest.sh

tiny_icl "$TMP/tiny.json"
cd "$TMP" || exit 1
q() { sqlite3 -cmd ".timeout 5000" "$LLC_DB" "$1"; }
EST="--eps 1e-4 --burnin 0 --thin 1 --draws 10 --chains 2 --threads 2 --quiet"

expect_rc 0 "a sweep of three seeds" -- $LLC sweep --config tiny.json --vary seed=1..3 --group g --quiet
expect_rc 0 "a run outside the group" -- $LLC train --config tiny.json --run other --quiet
expect_rc 0 "estimate --group" -- $LLC estimate --group g $EST
expect_eq "$(q "SELECT count(DISTINCT run) || ' ' || count(*) FROM curves")" "3 12" \
    "estimates of the three runs of the group, not of the other run"
expect_rc 0 "curves --group" -- $LLC curves --group g
expect_eq "$(grep -c '^== run g-seed' "$TMP/out")" "3" "a table per run, headed by its id"
expect_rc 0 "curves --runs glob, csv" -- $LLC curves --runs 'g-seed[12]' --format csv
expect_eq "$(cut -d, -f1 "$TMP/out" | sort -u | tr '\n' ' ')" "g-seed1 g-seed2 run " "the glob selects two runs"
expect_rc 0 "export --group --out {run}" -- $LLC export --group g --what log --out 'log-{run}.csv'
expect_eq "$(ls log-g-seed*.csv | wc -l)" "3" "a file per run"
expect_rc 2 "export --group --out without {run}" -- $LLC export --group g --what log --out log.csv
expect_out "put \{run\} in it" "says how"

expect_rc 5 "unknown group" -- $LLC curves --group nosuch
expect_out "no runs in group 'nosuch'.*groups: g" "names the groups that exist"
expect_eq "$(wc -l <"$TMP/err")" "1" "one line"
expect_rc 5 "empty match" -- $LLC estimate --runs 'zz*' $EST
expect_out "no run matches 'zz\*'.*runs: g-seed1, g-seed2, g-seed3, other" "names the runs that exist"
expect_rc 2 "--group with --run" -- $LLC curves --group g --run other
expect_rc 5 "plot an unknown group" -- $LLC plot --group nosuch

expect_rc 0 "plot --group overlays the runs" -- $LLC plot --group g
expect_eq "$(cat "$TMP/out")" "g.svg" "default output G.svg"
expect_eq "$(grep -c 'class="curve"' g.svg)" "3" "a curve per run"
expect_eq "$(grep -o 'class="curve" data-name="[^"]*"' g.svg | cut -d'"' -f4 | sort | tr '\n' ' ')" \
    "g-seed1 g-seed2 g-seed3 " "named by the runs"
expect_eq "$(grep -o 'class="curve" data-name="[^"]*" fill="none" stroke="#[0-9a-f]*"' g.svg | cut -d'"' -f8 |
    sort -u | wc -l)" "3" "a colour per run"
expect_rc 0 "plot --group --aggregate" -- $LLC plot --group g --aggregate
expect_eq "$(cat "$TMP/out")" "g-mean.svg" "default output G-mean.svg"
expect_eq "$(grep -c 'class="curve"' g-mean.svg) $(grep -c 'class="band"' g-mean.svg)" "1 1" \
    "one mean curve, one band"
expect_eq "$(grep -c 'sd across the runs' g-mean.svg)" "1" "the subtitle says what the band is"
# the mean curve has a point per shared step (4)
expect_eq "$(grep -o 'class="curve"[^>]*d="[^"]*"' g-mean.svg | grep -o 'L' | wc -l)" "3" \
    "the mean at the four steps every run has"
expect_rc 0 "plot --runs glob to --out" -- $LLC plot --runs 'g-seed[12]' --out two.svg
expect_eq "$(grep -c 'class="curve"' two.svg)" "2" "two runs overlaid"
expect_rc 2 "an overlay of two targets" -- $LLC plot --group g --targets model,0.1
expect_rc 2 "--aggregate without a group" -- $LLC plot --run other --aggregate
expect_rc 2 "--group with another kind" -- $LLC plot --group g --kind log

finish cli_group
