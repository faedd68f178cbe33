#!/bin/sh
# Golden CLI tests of llc plot: every kind on a small trained and estimated
# sort run (and a modadd run for embed): exit 0, only the path on stdout,
# the SVG parses as XML (xmllint, else a grep-level check), one curve path
# and one legend entry per target, rsvg-convert renders a non-blank PNG
# (skipped with a WARN line when rsvg-convert is missing); bad input gives
# the documented exit codes.
. tests/cli/clitest.sh

PNG_MIN=8000 # bytes: a blank 980x560 PNG is ~3 kB
if command -v rsvg-convert >/dev/null 2>&1; then HAVE_RSVG=1; else
    HAVE_RSVG=0; echo "WARN: rsvg-convert missing (Debian librsvg2-bin): PNG checks skipped"; fi
if command -v xmllint >/dev/null 2>&1; then HAVE_XMLLINT=1; else
    HAVE_XMLLINT=0; echo "WARN: xmllint missing (Debian libxml2-utils): grep-level XML check only"; fi

# check_svg FILE DESC: parses as XML and renders to a non-blank PNG
check_svg() {
    if [ "$HAVE_XMLLINT" = 1 ]; then
        if xmllint --noout "$1" 2>"$TMP/xerr"; then P=$((P + 1)); else
            F=$((F + 1)); echo "FAIL: $2: not well-formed XML"; head -c 400 "$TMP/xerr"; fi
    else
        if head -c 200 "$1" | grep -q '<svg ' && tail -n 1 "$1" | grep -q '^</svg>$'; then P=$((P + 1)); else
            F=$((F + 1)); echo "FAIL: $2: no <svg> ... </svg>"; fi
    fi
    if [ "$HAVE_RSVG" = 1 ]; then
        if rsvg-convert -f png "$1" -o "$1.png" 2>"$TMP/rerr"; then
            size=$(wc -c <"$1.png")
            if [ "$size" -gt "$PNG_MIN" ]; then P=$((P + 1)); else
                F=$((F + 1)); echo "FAIL: $2: PNG of $size bytes looks blank"; fi
        else
            F=$((F + 1)); echo "FAIL: $2: rsvg-convert failed"; head -c 400 "$TMP/rerr"
        fi
    fi
}
# count PATTERN FILE: occurrences of a fixed string
count() { grep -o -F -- "$1" "$2" | wc -l | tr -d ' '; }

EST="--eps 1e-4 --burnin 0 --thin 1 --draws 20 --chains 2 --threads 2 --quiet"
expect_rc 0 "train sort" -- $LLC train --task sort --run r1 --steps 40 --set ckpt_linear=3 --set ckpt_log=0 --quiet
expect_rc 5 "no estimates yet" -- $LLC plot --run r1 --out "$TMP/none.svg"
expect_out "llc estimate --run r1" "names the command that makes them"
[ -e "$TMP/none.svg" ] && { F=$((F + 1)); echo "FAIL: a failed plot left a file"; } || P=$((P + 1))
expect_rc 0 "estimate model" -- $LLC estimate --run r1 $EST
expect_rc 0 "estimate heads" -- $LLC estimate --run r1 --heads all $EST

# curves: model + 4 heads, losses, a mark
expect_rc 0 "plot curves" -- $LLC plot --run r1 --out "$TMP/c.svg" --mark 20
expect_eq "$(cat "$TMP/out")" "$TMP/c.svg" "stdout is the path alone"
expect_eq "$(cat "$TMP/err")" "" "nothing on stderr"
check_svg "$TMP/c.svg" "curves"
expect_eq "$(count 'class="curve"' "$TMP/c.svg")" 5 "one curve per target (model + 4 heads)"
expect_eq "$(count 'class="band"' "$TMP/c.svg")" 5 "one band per target"
expect_eq "$(count 'class="legend-entry"' "$TMP/c.svg")" 7 "legend: 5 targets + train and test loss"
expect_eq "$(count 'class="loss"' "$TMP/c.svg")" 2 "train and test loss paths"
expect_eq "$(count 'class="axis"' "$TMP/c.svg")" 2 "left and right axes"
expect_eq "$(count 'class="mark"' "$TMP/c.svg")" 1 "one mark line"
# evenly spaced checkpoints (0, 20, 40): a linear axis, the last step labelled
grep -q 'linear: the checkpoints spread evenly' "$TMP/c.svg" && P=$((P + 1)) || {
    F=$((F + 1)); echo "FAIL: evenly spaced checkpoints: linear axis expected"; }
grep -q 'class="tick-label">40<' "$TMP/c.svg" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: no tick at the last step 40"; }
expect_rc 0 "default output name" -- sh -c "cd '$TMP' && '$LLC' plot --run r1"
expect_eq "$(cat "$TMP/out")" "r1.svg" "default ID.svg"
[ -s "$TMP/r1.svg" ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: r1.svg not written"; }
expect_rc 0 "two targets, linear" -- $LLC plot --run r1 --targets model,0.1 --linear --out "$TMP/c2.svg"
expect_eq "$(count 'class="curve"' "$TMP/c2.svg")" 2 "two curves"
expect_eq "$(count 'class="legend-entry"' "$TMP/c2.svg")" 4 "two targets + 2 losses in the legend"
grep -q '>training step</text>' "$TMP/c2.svg" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: --linear axis label"; }
expect_rc 0 "targets heads" -- $LLC plot --run r1 --targets heads --out "$TMP/c3.svg"
expect_eq "$(count 'class="curve"' "$TMP/c3.svg")" 4 "heads = the 4 heads"
check_svg "$TMP/c3.svg" "curves of heads"

# heads: one panel per head
expect_rc 0 "plot heads" -- $LLC plot --run r1 --kind heads --mark 20 --out "$TMP/h.svg"
check_svg "$TMP/h.svg" "heads"
expect_eq "$(count 'class="panel-title"' "$TMP/h.svg")" 4 "4 panels"
expect_eq "$(count 'class="curve"' "$TMP/h.svg")" 4 "4 head curves"
for t in 0.0 0.1 0.2 0.3; do grep -q "class=\"panel-title\">$t<" "$TMP/h.svg" || { F=$((F + 1)); echo "FAIL: no panel $t"; }; done

# trace: chains of the model estimate at step 40
expect_rc 2 "trace needs --step" -- $LLC plot --run r1 --kind trace
expect_out "needs --step" "says so"
expect_rc 0 "plot trace" -- $LLC plot --run r1 --kind trace --step 40 --out "$TMP/t.svg"
check_svg "$TMP/t.svg" "trace"
expect_eq "$(count 'class="curve"' "$TMP/t.svg")" 2 "one trace per chain"
expect_eq "$(count 'class="legend-entry"' "$TMP/t.svg")" 4 "legend: 2 chains, the 0 line, the mean difference"
expect_eq "$(count 'class="init-loss"' "$TMP/t.svg")" 1 "the reference line"
# a paired estimate: the trace shows what it averages, and says so
expect_eq "$(count 'class="mean-diff"' "$TMP/t.svg")" 1 "the mean difference line"
grep -q 'per draw L_b(w_k) − L_b(w\*)' "$TMP/t.svg" && P=$((P + 1)) || {
    F=$((F + 1)); echo "FAIL: paired trace: the subtitle names L_b(w_k) - L_b(w*)"; }
grep -q 'sampler sgld' "$TMP/t.svg" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: sampler named sgld, not none"; }
expect_rc 0 "trace of a head" -- $LLC plot --run r1 --kind trace --step 20 --target 0.2 --out "$TMP/t2.svg"
grep -q 'target 0.2' "$TMP/t2.svg" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: trace title names the target"; }
expect_rc 5 "trace at a step without estimate" -- $LLC plot --run r1 --kind trace --step 7
expect_out "no checkpoint at step 7" "names the step"

# log-spaced checkpoints: symlog, the last step (37, not a round number) labelled
expect_rc 0 "train log-spaced" -- $LLC train --task sort --run r3 --steps 37 --set ckpt_linear=0 --set ckpt_log=8 --quiet
expect_rc 0 "estimate log-spaced" -- $LLC estimate --run r3 $EST
expect_rc 0 "plot log-spaced" -- $LLC plot --run r3 --out "$TMP/c5.svg"
grep -q 'linear from 0 to 1)' "$TMP/c5.svg" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: log-spaced checkpoints: symlog expected"; }
grep -q 'class="tick-label">37<' "$TMP/c5.svg" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: no tick at the last step 37"; }

# curve_styles FILE: "name colour dash" per curve
curve_styles() {
    grep 'class="curve"' "$1" | sed -e 's/.*data-name="\([^"]*\)".* stroke="\(#[0-9a-f]*\)".*/\1 \2 &/' |
        awk '{ d = "solid"; if (match($0, /stroke-dasharray="[^"]*"/)) d = substr($0, RSTART + 18, RLENGTH - 19); print $1, $2, d }'
}
# min_dist: over pairs of heads of one layer, the smallest RGB distance; and
# the number of pairs of heads with the same colour and dash
min_dist() {
    awk 'function h(s, i) { return index("0123456789abcdef", substr(s, i, 1)) - 1 }
         function c(s, k) { return 16 * h(s, 2 * k) + h(s, 2 * k + 1) }
         { split($1, lh, "."); n++; L[n] = lh[1]; col[n] = $2; d[n] = $3
           r[n] = c($2, 1); g[n] = c($2, 2); b[n] = c($2, 3) }
         END { m = 1e9; same = 0
               for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
                   if (col[i] == col[j] && d[i] == d[j]) same++
                   if (L[i] != L[j]) continue
                   x = sqrt((r[i] - r[j]) ^ 2 + (g[i] - g[j]) ^ 2 + (b[i] - b[j]) ^ 2); if (x < m) m = x }
               print int(m), same }'
}
curve_styles "$TMP/c3.svg" >"$TMP/st"
set -- $(grep -v '^model' "$TMP/st" | min_dist)
[ "$1" -ge 60 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: heads of one layer: colour distance $1 < 60"; cat "$TMP/st"; }

# many targets (icl: 2 layers x 8 heads): the default curves plot shows the
# model and the 8 heads with the largest last estimate and says how to see
# all; --targets heads shows all 16 with distinct colour+dash pairs
expect_rc 0 "train icl" -- $LLC train --task icl --run i1 --steps 20 --set ckpt_linear=2 --set ckpt_log=0 --quiet
expect_rc 0 "estimate icl heads" -- $LLC estimate --run i1 --model --heads all $EST
expect_rc 0 "plot icl" -- $LLC plot --run i1 --out "$TMP/i.svg"
expect_eq "$(count 'class="curve"' "$TMP/i.svg")" 9 "17 targets: model + 8 heads by default"
grep -q '8 more: --targets heads, or --kind heads' "$TMP/i.svg" && P=$((P + 1)) || {
    F=$((F + 1)); echo "FAIL: the subtitle says how to see the other heads"; }
expect_rc 0 "plot icl heads" -- $LLC plot --run i1 --targets heads --out "$TMP/i2.svg"
expect_eq "$(count 'class="curve"' "$TMP/i2.svg")" 16 "every head with --targets heads"
curve_styles "$TMP/i2.svg" >"$TMP/st"
set -- $(min_dist <"$TMP/st")
[ "$1" -ge 60 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: icl heads of one layer: colour distance $1 < 60"; cat "$TMP/st"; }
expect_eq "$2" 0 "no two heads share colour and dash"
check_svg "$TMP/i2.svg" "16 heads"

# embed: the d_model = 2 modadd model
expect_rc 0 "train modadd" -- $LLC train --task modadd --run m1 --steps 200 --set ckpt_every=0 --set ckpt_linear=3 --quiet
expect_rc 2 "embed refuses d_model 64" -- $LLC plot --run r1 --kind embed
expect_out "d_model = 2" "one-line reason"
expect_eq "$(wc -l <"$TMP/err" | tr -d ' ')" 1 "one line"
expect_rc 0 "plot embed" -- sh -c "cd '$TMP' && '$LLC' plot --run m1 --kind embed"
expect_eq "$(cat "$TMP/out")" "m1-embed.svg" "default ID-embed.svg"
check_svg "$TMP/m1-embed.svg" "embed"
expect_eq "$(count 'class="panel-title"' "$TMP/m1-embed.svg")" 4 "4 planes"
expect_rc 0 "embed frames" -- $LLC plot --run m1 --kind embed --steps 0:200 --out "$TMP/fr.svg"
expect_eq "$(cat "$TMP/out" | tr '\n' ' ')" "$TMP/fr-0.svg $TMP/fr-100.svg $TMP/fr-200.svg " "one file per checkpoint"
check_svg "$TMP/fr-100.svg" "embed frame"

# bad input
expect_rc 5 "unknown run" -- $LLC plot --run nope
expect_out "no run 'nope'" "names the run"
expect_rc 2 "no --run" -- $LLC plot
expect_rc 2 "bad run id" -- $LLC plot --run "r1'; DROP TABLE runs;--"
expect_rc 2 "bad kind" -- $LLC plot --run r1 --kind pie
expect_out "curves, heads, trace, embed, pattern, ov, probes, trajectory or log" "lists the kinds"
expect_rc 2 "bad mark" -- $LLC plot --run r1 --mark 10,x
expect_rc 2 "unknown option" -- $LLC plot --run r1 --bogus
expect_rc 2 "--steps on curves" -- $LLC plot --run r1 --steps 0:10
expect_rc 5 "unknown target" -- $LLC plot --run r1 --targets model,7.7
expect_out "7.7" "names the target"
expect_rc 5 "unknown data" -- $LLC plot --run r1 --data small_gap
expect_rc 5 "embed at a step without checkpoint" -- $LLC plot --run m1 --kind embed --step 13
expect_rc 3 "unwritable output" -- $LLC plot --run r1 --out "$TMP/no/such/dir/x.svg"
expect_out "cannot write" "says so"
expect_rc 5 "no estimates on m1" -- $LLC plot --run m1
finish cli_plot
