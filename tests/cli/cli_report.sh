#!/bin/sh
# CLI tests of llc report, checked the way a person sees it: a short sort
# run with estimates, probes, stages, clusters and a trajectory, and a
# d_model = 2 modadd run; the HTML has every section with data and no other
# (each <section id> and its count of <svg> figures, each figure with marks
# drawn, no id twice); Debian's headless Chromium renders it with no console error, its
# DOM holds the same sections and figures, and the screenshot is not blank
# (many times the bytes of a blank page's). Hand-broken copies must fail:
# a figure removed, every figure emptied (static checks),
# a script that throws (console).
# Without Chromium (and no apt to install it) the browser checks are
# skipped with a WARN line and the HTML is checked statically.
. tests/cli/clitest.sh

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
        { apt-get update >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }
fi
if command -v chromium >/dev/null 2>&1; then HAVE_CHROMIUM=1; else
    HAVE_CHROMIUM=0; echo "WARN: chromium missing (Debian chromium): browser checks skipped, HTML checked statically"; fi

# chrome ARGS...: headless Chromium, its own profile, no network but file://
chrome() {
    prof=$(mktemp -d "$TMP/prof.XXXXXX")
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$prof" "$@"
}

# sections FILE: the section ids in order, space separated
sections() { grep -o '<section id="[a-z]*"' "$1" | sed 's/.*id="//; s/"//' | tr '\n' ' ' | sed 's/ $//'; }
# figures FILE ID: the <svg> elements inside section ID
figures() {
    awk -v id="$2" '/<section id="/ { on = index($0, "<section id=\"" id "\"") > 0 }
        on { n += gsub(/<svg[ >]/, "&") } /<\/section>/ { on = 0 } END { print n + 0 }' "$1"
}
# thin FILE: the <svg> elements with fewer than 5 drawn marks (a blank figure)
thin() {
    awk '{ while (length($0)) {
            if (!in_svg) { i = index($0, "<svg"); if (!i) break; in_svg = 1; marks = 0; $0 = substr($0, i + 4) }
            j = index($0, "</svg>"); part = j ? substr($0, 1, j) : $0
            marks += gsub(/<(path|rect|circle|line|polyline|polygon)[ \/>]/, "", part)
            if (!j) break
            if (marks < 5) bad++
            in_svg = 0; $0 = substr($0, j + 6) } }
        END { print bad + 0 }' "$1"
}

# check_report HTML WANT_SECTIONS "ID=N ..." DESC: the static and browser
# checks of one page; returns nonzero (and counts failures) when one fails
check_report() {
    f0=$F
    expect_eq "$(sections "$1")" "$2" "$4: sections"
    for kv in $3; do expect_eq "$(figures "$1" "${kv%%=*}")" "${kv#*=}" "$4: figures in ${kv%%=*}"; done
    expect_eq "$(thin "$1")" 0 "$4: figures with nothing drawn"
    expect_eq "$(grep -o ' id="[^"]*"' "$1" | sort | uniq -d | head -3 | tr '\n' ' ')" "" \
        "$4: ids unique (each figure's clip paths its own)"
    if grep -qiE '<script[^>]* src=|<link[^>]* href=|@import|url\(https?:' "$1"; then
        F=$((F + 1)); echo "FAIL: $4: refers to something outside the file"; else P=$((P + 1)); fi
    if [ "$HAVE_CHROMIUM" = 1 ] && [ "${BROWSER:-1}" = 1 ]; then
        chrome --enable-logging=stderr --v=0 --dump-dom "file://$1" >"$TMP/dom" 2>"$TMP/clog"
        if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE\(' "$TMP/clog" >"$TMP/cerr"; then
            F=$((F + 1)); echo "FAIL: $4: console errors"; head -c 400 "$TMP/cerr"; else P=$((P + 1)); fi
        expect_eq "$(sections "$TMP/dom")" "$2" "$4: sections in the DOM"
        expect_eq "$(grep -o '<svg[ >]' "$TMP/dom" | wc -l | tr -d ' ')" \
            "$(grep -o '<svg[ >]' "$1" | wc -l | tr -d ' ')" "$4: every figure in the DOM"
    fi
    if [ "$HAVE_CHROMIUM" = 1 ] && [ "${SHOT:-1}" = 1 ]; then
        rm -f "$TMP/shot.png"
        chrome --screenshot="$TMP/shot.png" --window-size=1200,3000 "file://$1" >/dev/null 2>&1
        size=$(wc -c <"$TMP/shot.png" 2>/dev/null || echo 0)
        if [ "$size" -gt $((8 * BLANK)) ]; then P=$((P + 1)); else
            F=$((F + 1)); echo "FAIL: $4: screenshot of $size bytes (blank page: $BLANK) looks blank"; fi
    fi
    [ "$F" -eq "$f0" ]
}

EST="--eps 1e-4 --burnin 0 --thin 1 --draws 20 --chains 2 --threads 2 --quiet"
expect_rc 0 "train sort" -- $LLC train --task sort --run r1 --steps 150 --set ckpt_linear=6 --set ckpt_log=0 --quiet
expect_rc 0 "estimate model" -- $LLC estimate --run r1 $EST
expect_rc 0 "estimate heads" -- $LLC estimate --run r1 --heads all $EST
expect_rc 0 "probe" -- $LLC probe --run r1 --threads 2 --seqs 32 --probe prev_token --probe induction --quiet
# a test-loss drop at step 75 (checkpoints 0, 30, ..., 150)
expect_rc 0 "stages" -- $LLC stages --run r1 --min-len 1 --linear --drop-ratio 1.2
expect_rc 0 "trajectory" -- $LLC trajectory --run r1
expect_rc 0 "cluster" -- $LLC cluster --run r1
# a step size that diverges: the diagnostics table lists it
expect_rc 0 "diverging estimate" -- $LLC estimate --run r1 --eps 1 --burnin 0 --thin 1 --draws 20 --chains 2 \
    --threads 2 --data test --steps 150 --quiet
expect_rc 0 "train modadd" -- $LLC train --task modadd --run m1 --steps 200 --set ckpt_every=0 --set ckpt_linear=3 --quiet

expect_rc 0 "report" -- $LLC report --run r1 --out "$TMP/r1.html"
expect_eq "$(cat "$TMP/out")" "$TMP/r1.html" "stdout is the path alone"
expect_eq "$(cat "$TMP/err")" "" "nothing on stderr"
expect_rc 0 "default output name" -- sh -c "cd '$TMP' && '$LLC' report --run m1"
expect_eq "$(cat "$TMP/out")" "m1.html" "default ID.html"
ls "$TMP"/*.tmp* >/dev/null 2>&1 && { F=$((F + 1)); echo "FAIL: a temporary file was left"; } || P=$((P + 1))
# the circuits at the checkpoint nearest the stored stage boundary; the boundary marked in the curves
expect_eq "$(grep -o '<h3>step [0-9]*: [a-zA-Z]*</h3>' "$TMP/r1.html" | tr '\n' ' ')" \
    "<h3>step 60: attention</h3> <h3>step 60: OV</h3> " "circuits at the stage boundary"
n=$(grep -o 'class="mark"' "$TMP/r1.html" | wc -l)
[ "$n" -ge 1 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: the stage boundary is not marked in the curves"; }
expect_rc 0 "report --steps" -- $LLC report --run r1 --steps 0,150 --out "$TMP/r1s.html"
expect_eq "$(grep -o '<h3>step [0-9]*: [a-zA-Z]*</h3>' "$TMP/r1s.html" | tr '\n' ' ')" \
    "<h3>step 0: attention</h3> <h3>step 0: OV</h3> <h3>step 150: attention</h3> <h3>step 150: OV</h3> " \
    "--steps picks the circuits' checkpoints"

if [ "$HAVE_CHROMIUM" = 1 ]; then
    printf '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' \
        >"$TMP/blank.html"
    chrome --screenshot="$TMP/blank.png" --window-size=1200,3000 "file://$TMP/blank.html" >/dev/null 2>&1
    BLANK=$(wc -c <"$TMP/blank.png" 2>/dev/null || echo 0)
    [ "$BLANK" -gt 0 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: chromium made no screenshot"; BLANK=1000; }
fi

# the sort run: every section but embed (no d_model = 2 model)
R1="config log llc clusters probes trajectory circuits diagnostics"
awk '/<section id="diagnostics"/,/<\/section>/' "$TMP/r1.html" >"$TMP/diag"
grep -q '<td>150</td><td>model</td><td>test</td><td>diverged</td>' "$TMP/diag" && P=$((P + 1)) ||
    { F=$((F + 1)); echo "FAIL: the diverged estimate is not in the diagnostics table"; }
check_report "$TMP/r1.html" "$R1" "log=1 llc=2 clusters=1 probes=1 trajectory=1 circuits=2 embed=0" "sort report"
# the modadd run: no estimates, probes, stages or trajectory: those sections omitted
check_report "$TMP/m1.html" "config log embed" "log=1 embed=3 llc=0" "modadd report"

# the checks fail on hand-broken copies of the sort report
awk '/<section id="trajectory"/ { t = 1 } t && /<svg/ { skip = 1 } !skip { print } skip && /<\/svg>/ { skip = 0; t = 0 }' \
    "$TMP/r1.html" >"$TMP/broken1.html"
f_before=$F
BROWSER=0; SHOT=0
check_report "$TMP/broken1.html" "$R1" "log=1 llc=2 clusters=1 probes=1 trajectory=1 circuits=2 embed=0" \
    "broken (trajectory figure removed)" >/dev/null && { F=$f_before; F=$((F + 1)); echo "FAIL: a removed figure passed"; } ||
    { F=$f_before; P=$((P + 1)); }
sed 's/<path [^>]*>//g; s/<rect [^>]*>//g; s/<circle [^>]*>//g; s/<line [^>]*>//g' "$TMP/r1.html" >"$TMP/broken2.html"
check_report "$TMP/broken2.html" "$R1" "log=1 llc=2 clusters=1 probes=1 trajectory=1 circuits=2 embed=0" \
    "broken (figures emptied)" >/dev/null && { F=$f_before; F=$((F + 1)); echo "FAIL: empty figures passed"; } ||
    { F=$f_before; P=$((P + 1)); }
if [ "$HAVE_CHROMIUM" = 1 ]; then
    sed 's|</body>|<script>no_such_function();</script></body>|' "$TMP/r1.html" >"$TMP/broken3.html"
    BROWSER=1
    check_report "$TMP/broken3.html" "$R1" "log=1" "broken (a script error)" >/dev/null &&
        { F=$f_before; F=$((F + 1)); echo "FAIL: a console error passed"; } || { F=$f_before; P=$((P + 1)); }
fi

# bad input
expect_rc 2 "no --run" -- $LLC report
expect_rc 5 "unknown run" -- $LLC report --run nope --out "$TMP/nope.html"
expect_out "no run 'nope'" "names the run"
[ -e "$TMP/nope.html" ] && { F=$((F + 1)); echo "FAIL: a failed report left a file"; } || P=$((P + 1))
expect_rc 3 "unwritable output" -- $LLC report --run r1 --out "$TMP/no/such/dir/r.html"
mkfifo "$TMP/fifo"
expect_rc 3 "output not a regular file" -- $LLC report --run r1 --out "$TMP/fifo"
expect_out "not a regular file" "names why"
[ -p "$TMP/fifo" ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: the fifo was replaced"; }
expect_rc 5 "unknown --steps checkpoint" -- $LLC report --run r1 --steps 7 --out "$TMP/s.html"
expect_rc 0 "train a run with 20 checkpoints" -- $LLC train --task sort --run r2 --steps 20 --set ckpt_every=1 \
    --set ckpt_linear=0 --set ckpt_log=0 --quiet
expect_rc 2 "--steps over 16 checkpoints" -- $LLC report --run r2 --steps 1:20 --out "$TMP/s.html"
expect_out "at most 16" "names the limit"
finish cli_report
