#!/bin/sh
# make papers at PAPER_SCALE=tiny: each study's report exists, names every
# claim with a verdict drawn from the fixed words, and its numbers are those
# the store holds; a store without the study's runs or probes is handled.
# All four studies, about 45 s of CPU.
. tests/cli/clitest.sh
OUT="$TMP/papers"
STUDIES="modadd icl sort text"
for p in $STUDIES; do
    expect_rc 0 "paper $p runs" -- env LLC="$LLC" PAPER_SCALE=tiny PAPER_OUT="$OUT" sh tests/papers/paper_$p.sh
    cp "$TMP/out" "$TMP/$p.stdout"
    expect_rc 0 "$p.html written" -- test -s "$OUT/$p.html"
    expect_rc 0 "$p.md written" -- test -s "$OUT/$p.md"
    n=$(grep -cE '^  [0-9]+\. ' "$TMP/$p.stdout")
    expect_eq "$(grep -c '^## ' "$OUT/$p.md")" "$n" "$p.md names every claim"
    expect_eq "$(grep -cE '^verdict: \*\*(reproduced|partly|not reproduced|not measured)\*\*' "$OUT/$p.md")" "$n" \
        "$p.md: one verdict of the fixed words per claim"
    expect_eq "$(grep -cE '<td class="(reproduced|partly|not-reproduced|not-measured)">' "$OUT/$p.html")" "$n" \
        "$p.html: one verdict per claim"
    grep -E '^## ' "$OUT/$p.md" | sed 's/^## [0-9]*\. //' | while read -r claim; do
        c=$(echo "$claim" | cut -c1-40 | sed "s/'.*//; s/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g")
        grep -qF "$c" "$OUT/$p.html" || echo "MISSING: $claim"
    done > "$TMP/missing"
    expect_eq "$(cat "$TMP/missing")" "" "$p.html names every claim"
done
export LLC_DB

# the numbers in the summaries are those in the store
LLC_DB="$OUT/sort.db"
v=$($LLC curves --run sort-wd0.1 --target model --format csv | tail -n 1 | cut -d, -f5)
s=$($LLC curves --run sort-wd0.1 --target model --format csv | tail -n 1 | cut -d, -f4)
expect_rc 0 "sort: the last LLC as llc curves gives it" -- \
    grep -qF "$(printf '%.4g at the last step %s' "$v" "$s")" "$OUT/sort.md"
LLC_DB="$OUT/icl.db"
x=$($LLC stages --run icl-prev-s2 --only-cross --cross test_loss=0.35 --no-store | awk '$1 == "cross" {print $4}')
expect_rc 0 "icl: a crossing step as llc stages gives it" -- grep -qF "s2 $(printf '%.1f' "$x")" "$OUT/icl.md"
LLC_DB="$OUT/modadd.db"
t=$($LLC export --run modadd-p3-warm --what checkpoints --format csv | tail -n 1 | cut -d, -f4)
expect_rc 0 "modadd: the warm start's test loss as the store holds it" -- \
    grep -qF "warm start $(printf '%.4f' "$t")" "$OUT/modadd.md"

# text's cluster claim: one previous-token head among 7 others clustered with another head is no
# recovery (purity 7/8 = one cluster of every head), alone in its cluster it is
LLC_DB="$OUT/text.db"
S=$(sqlite3 "$LLC_DB" "SELECT max(step) FROM probes WHERE run='text' AND probe='prev_token'")
c2() { $LLC paper text --out "$TMP/t2.html" >/dev/null && grep -A2 '^## 2\.' "$TMP/t2.md" | sed -n 's/^verdict: \*\*\(.*\)\*\*\..*/\1/p'; }
sqlite3 "$LLC_DB" "UPDATE probes SET value = 0.9 WHERE run='text' AND probe='prev_token' AND target='0.0' AND step=$S;
    UPDATE clusters SET cluster = CASE WHEN target IN ('0.0', '0.1') THEN 0 ELSE 1 END WHERE run='text'"
expect_eq "$(c2)" "not reproduced" "text: the previous-token head clustered with another head: not reproduced"
sqlite3 "$LLC_DB" "UPDATE clusters SET cluster = CASE WHEN target = '0.0' THEN 0 ELSE 1 END WHERE run='text'"
expect_eq "$(c2)" "reproduced" "text: the previous-token head alone in its cluster: reproduced"

# broken input: no store, a store without the runs, a store without probes
LLC_DB="$TMP/none.db"
expect_rc 2 "unknown study" -- $LLC paper nosuch
expect_out "no study 'nosuch'" "names the study"
expect_rc 5 "no store" -- $LLC paper sort --out "$TMP/x.html"
LLC_DB="$TMP/bare.db"
expect_rc 0 "a run" -- $LLC train --task sort --run sort-wd0.1 --steps 10 --set ckpt_linear=2 --set ckpt_log=0
expect_rc 5 "a study run missing" -- $LLC paper sort --out "$TMP/x.html"
expect_out "no run 'sort-wd0' in the store" "names the missing run"
expect_eq "$(wc -l < "$TMP/err")" 1 "one line"
expect_rc 0 "the other run" -- $LLC train --task sort --run sort-wd0 --steps 10 --set ckpt_linear=2 --set ckpt_log=0
expect_rc 0 "runs without probes or estimates" -- $LLC paper sort --out "$TMP/bare.html"
expect_eq "$(grep -c '^verdict: \*\*not measured\*\*' "$TMP/bare.md")" 5 "every claim not measured"
expect_rc 0 "the verdict says what is missing" -- grep -q "has no ownership probes" "$TMP/bare.md"
finish cli_papers
