#!/bin/sh
# llc report --group G: one self-contained page for a sweep's runs: the
# table of runs with their varied settings, the model's LLC of every run
# overlaid and their mean ± 1 sd, the losses overlaid, each run's curves;
# rendered by headless Chromium (when installed) with no console error;
# an unknown group exits 5 and writes nothing; --runs still writes one
# page per run.
. tests/cli/clitest.sh

tiny_icl "$TMP/tiny.json"
cd "$TMP" || exit 1
EST="--eps 1e-4 --burnin 0 --thin 1 --draws 10 --chains 2 --threads 2 --quiet"
# figures FILE ID: the <svg> elements inside section ID
figures() {
    awk -v id="$2" '/<section id="/ { on = index($0, "<section id=\"" id "\"") > 0 }
        on { n += gsub(/<svg[ >]/, "&") } /<\/section>/ { on = 0 } END { print n + 0 }' "$1"
}

expect_rc 0 "a sweep of two seeds" -- $LLC sweep --config tiny.json --vary seed=1..2 --group g --quiet
expect_rc 0 "estimate --group" -- $LLC estimate --group g $EST
expect_rc 0 "estimate --group --heads all" -- $LLC estimate --group g --heads all $EST
expect_rc 0 "report --group" -- $LLC report --group g --out g.html
expect_eq "$(cat "$TMP/out")" "g.html" "stdout is the path alone"
expect_eq "$(ls "$TMP"/*.html | wc -l | tr -d ' ')" "1" "one file for the group"
expect_eq "$(grep -o '<section id="[^"]*"' g.html | sed 's/.*id="//; s/"//' | tr '\n' ' ')" \
    "runs overlay aggregate losses g-seed1-llc g-seed2-llc " "the group's sections, then each run's"
for id in g-seed1 g-seed2; do
    n=$(grep -c "<tr><td>$id</td><td>seed=[12]</td><td>done</td><td>200</td><td>[0-9.e-]*</td><td>[0-9.e-]*</td><td>12</td></tr>" g.html)
    expect_eq "$n" 1 "the table has $id: varied seed, status, last step, losses, 4 model + 8 head estimates"
done
for kv in overlay=1 aggregate=1 losses=2 g-seed1-llc=2 g-seed2-llc=2; do
    expect_eq "$(figures g.html "${kv%%=*}")" "${kv#*=}" "figures in ${kv%%=*}"
done
expect_eq "$(grep -o ' id="[^"]*"' g.html | sort | uniq -d | head -3 | tr '\n' ' ')" "" "ids unique"
if grep -qiE '<script|<link[^>]* href=|@import|url\(https?:' g.html; then
    F=$((F + 1)); echo "FAIL: refers to something outside the file"; else P=$((P + 1)); fi
expect_rc 0 "default output name" -- $LLC report --group g
expect_eq "$(cat "$TMP/out")" "g.html" "default G.html"
expect_rc 0 "--runs: one page per run" -- $LLC report --runs 'g-*' --out 'r-{run}.html'
expect_eq "$(ls r-*.html | tr '\n' ' ')" "r-g-seed1.html r-g-seed2.html " "--runs writes a page per run"

if command -v chromium >/dev/null 2>&1; then
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$TMP/prof" \
        --enable-logging=stderr --v=0 --dump-dom "file://$TMP/g.html" >dom 2>clog
    if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE\(' clog >cerr; then
        F=$((F + 1)); echo "FAIL: console errors"; head -c 400 cerr; else P=$((P + 1)); fi
    expect_eq "$(grep -o '<svg[ >]' dom | wc -l | tr -d ' ')" "$(grep -o '<svg[ >]' g.html | wc -l | tr -d ' ')" \
        "every figure in the DOM"
else
    echo "WARN: chromium missing: the browser check skipped"
fi

# bad input
expect_rc 5 "unknown group" -- $LLC report --group nosuch --out nosuch.html
expect_out "no runs in group 'nosuch'.*groups: g" "names the groups that exist"
expect_eq "$(wc -l <"$TMP/err" | tr -d ' ')" "1" "one line"
[ -e nosuch.html ] && { F=$((F + 1)); echo "FAIL: a failed report left a file"; } || P=$((P + 1))
expect_rc 2 "--group with --run" -- $LLC report --group g --run g-seed1
expect_rc 2 "--group with --runs" -- $LLC report --group g --runs 'g-*'
finish cli_report_group
