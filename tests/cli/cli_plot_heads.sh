#!/bin/sh
# Golden CLI tests of the head-probe kinds of llc plot on a short sort run:
# --kind pattern (a heatmap panel per head, position tick labels, the dark
# blue of attention 1), --kind ov (OV and QK circuits, diverging colours),
# --kind probes (probe curves per head next to the head's LLC curve);
# rsvg-convert renders each to a non-blank PNG (skipped with a WARN line
# when it is missing); bad input gives the documented exit codes.
. tests/cli/clitest.sh

PNG_MIN=8000 # bytes: a blank picture is ~3 kB
if command -v rsvg-convert >/dev/null 2>&1; then HAVE_RSVG=1; else
    HAVE_RSVG=0; echo "WARN: rsvg-convert missing (Debian librsvg2-bin): PNG checks skipped"; fi
# render FILE DESC: a non-blank PNG
render() {
    [ "$HAVE_RSVG" = 1 ] || return 0
    if rsvg-convert -f png "$1" -o "$1.png" 2>"$TMP/rerr" && [ "$(wc -c <"$1.png")" -gt "$PNG_MIN" ]; then
        P=$((P + 1)); else F=$((F + 1)); echo "FAIL: $2: no PNG or a blank one"; head -c 400 "$TMP/rerr"; fi
}
# count PATTERN FILE: occurrences of a fixed string
count() { grep -o -F -- "$1" "$2" | wc -l | tr -d ' '; }
has() { if grep -q -F -- "$1" "$2"; then P=$((P + 1)); else F=$((F + 1)); echo "FAIL: $3: $2 lacks $1"; fi; }

EST="--eps 1e-4 --burnin 0 --thin 1 --draws 20 --chains 2 --threads 2 --quiet"
expect_rc 0 "train sort" -- $LLC train --task sort --run r1 --steps 40 --set ckpt_linear=3 --set ckpt_log=0 --quiet

# pattern: 4 heads of T = 20 positions; a causal row 0 attends to itself (1 = dark blue)
expect_rc 0 "plot pattern" -- $LLC plot --run r1 --kind pattern --step 40 --out "$TMP/p.svg"
expect_eq "$(cat "$TMP/out")" "$TMP/p.svg" "stdout is the path alone"
expect_eq "$(count 'class="panel-title"' "$TMP/p.svg")" 4 "pattern: a panel per head"
expect_eq "$(count 'class="tick-label">19<' "$TMP/p.svg")" 8 "pattern: the last position labelled on both axes"
has 'fill="#08306b"' "$TMP/p.svg" "pattern: attention 1 in dark blue"
render "$TMP/p.svg" "pattern"
expect_rc 0 "pattern of two heads" -- $LLC plot --run r1 --kind pattern --step 20 --heads 0.1,0.3 --out "$TMP/p2.svg"
expect_eq "$(count 'class="panel-title"' "$TMP/p2.svg")" 2 "--heads 0.1,0.3: two panels"
has 'class="panel-title">0.3<' "$TMP/p2.svg" "the panel of head 0.3"

# ov, qk: diverging colours, a panel per head, the per-panel scale
expect_rc 0 "plot ov" -- $LLC plot --run r1 --kind ov --step 40 --out "$TMP/ov.svg"
expect_eq "$(count 'class="panel-title"' "$TMP/ov.svg")" 4 "ov: a panel per head"
expect_eq "$(count 'class="scale"' "$TMP/ov.svg")" 4 "ov: each panel's max |v|"
[ "$(count 'fill="#08306b"' "$TMP/ov.svg")" = 0 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: ov in pattern colours"; }
grep -q -e 'fill="#b2182b"' -e 'fill="#2166ac"' "$TMP/ov.svg" && P=$((P + 1)) || {
    F=$((F + 1)); echo "FAIL: ov: the max |v| cell is not full red or blue"; }
grep -q 'fill="#f[0-9a-f]*"' "$TMP/ov.svg" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: ov: no light cells"; }
has 'OV circuit' "$TMP/ov.svg" "ov title"
render "$TMP/ov.svg" "ov"
expect_rc 0 "plot qk" -- $LLC plot --run r1 --kind ov --circuit qk --heads 0.2 --step 0 --out "$TMP/qk.svg"
expect_eq "$(count 'class="panel-title"' "$TMP/qk.svg")" 1 "qk: one head"
has 'QK circuit' "$TMP/qk.svg" "qk title"

# probes: needs stored probes; with head estimates the LLC curve sits next to them
expect_rc 5 "probes before llc probe" -- $LLC plot --run r1 --kind probes --out "$TMP/none.svg"
expect_out "llc probe --run r1" "names the command that makes them"
[ -e "$TMP/none.svg" ] && { F=$((F + 1)); echo "FAIL: a failed plot left a file"; } || P=$((P + 1))
expect_rc 0 "probe" -- $LLC probe --run r1 --threads 2 --seqs 32 --probe prev_token --probe current --probe induction --quiet
expect_rc 0 "estimate heads" -- $LLC estimate --run r1 --heads all $EST
expect_rc 0 "plot probes" -- $LLC plot --run r1 --kind probes --mark 20 --out "$TMP/pr.svg"
expect_eq "$(count 'class="panel-title"' "$TMP/pr.svg")" 4 "probes: a row per head"
expect_eq "$(count 'class="probe-curve"' "$TMP/pr.svg")" 12 "probes: 3 probe curves x 4 heads"
expect_eq "$(count 'class="curve"' "$TMP/pr.svg")" 4 "probes: the LLC curve of each head"
expect_eq "$(count 'class="legend-entry"' "$TMP/pr.svg")" 3 "probes: one legend entry per probe"
has 'class="tick-label">40<' "$TMP/pr.svg" "probes: the last step labelled"
has 'linear: the checkpoints spread evenly' "$TMP/pr.svg" "probes: the curves' step-axis choice"
render "$TMP/pr.svg" "probes"

# bad input
expect_rc 2 "pattern needs --step" -- $LLC plot --run r1 --kind pattern
expect_rc 2 "bad circuit" -- $LLC plot --run r1 --kind ov --step 40 --circuit vo
expect_rc 2 "--circuit on pattern" -- $LLC plot --run r1 --kind pattern --step 40 --circuit qk
expect_rc 2 "--heads on curves" -- $LLC plot --run r1 --heads 0.1
expect_rc 2 "bad head" -- $LLC plot --run r1 --kind pattern --step 40 --heads x
expect_rc 5 "head out of range" -- $LLC plot --run r1 --kind ov --step 40 --heads 3.0
expect_out "layers 0-0 and heads 0-3" "names the model's heads"
expect_rc 5 "no checkpoint" -- $LLC plot --run r1 --kind pattern --step 7
expect_rc 5 "unknown data" -- $LLC plot --run r1 --kind pattern --step 40 --data nope
finish cli_plot_heads
