#!/bin/sh
# make install: llc and its data (configs, corpus, baselines) under a
# scratch PREFIX; the installed llc, run from another directory with
# $LLC_DATA unset, finds the installed data (not the source tree's: the
# binary holds no path into it), and $LLC_DATA overrides it.
. tests/cli/clitest.sh
SRC=$PWD
SAN=; [ "${BUILD:-build}" = build-san ] && SAN=SANITIZE=1
X="$TMP/prefix"

if make -s $SAN install PREFIX="$X" DESTDIR= >"$TMP/out" 2>"$TMP/err"; then P=$((P + 1)); else
    F=$((F + 1)); echo "FAIL: make install PREFIX=$X"; head -c 600 "$TMP/err"; fi
for f in bin/llc share/llc/configs/sort.json share/llc/configs/text.json share/llc/configs/bench/S.json \
         share/llc/corpus/prose.txt share/llc/corpus/code.txt share/llc/baselines/sort.json; do
    [ -s "$X/$f" ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: make install did not write $f"; }
done
if grep -q -F "$SRC/data" "$X/bin/llc"; then F=$((F + 1)); echo "FAIL: the binary holds the source tree's path $SRC/data"
else P=$((P + 1)); fi

unset LLC_DATA
# the installed binary, from elsewhere: the shipped sort config (not the built-in defaults) and the corpus
expect_rc 0 "installed: train sort" -- sh -c "cd / && '$X/bin/llc' train --db '$TMP/i.db' --task sort --run s1 --steps 2 --quiet"
expect_rc 0 "source build: train sort" -- $LLC train --db "$TMP/s.db" --task sort --run s1 --steps 2 --quiet
a=$(sqlite3 "$TMP/i.db" "SELECT config FROM runs WHERE id='s1'")
b=$(sqlite3 "$TMP/s.db" "SELECT config FROM runs WHERE id='s1'")
expect_eq "$a" "$b" "the installed llc reads the same shipped config"
expect_eq "$(sqlite3 "$TMP/i.db" "SELECT json_extract(config, '$.train.warmup') FROM runs WHERE id='s1'")" "100" \
    "data/configs/sort.json's warmup 100 (the built-in default is 0)"
expect_rc 0 "installed: text task finds the corpus" -- \
    sh -c "cd / && '$X/bin/llc' train --db '$TMP/i.db' --task text --run t1 --steps 1 --set ckpt_linear=2 --set ckpt_log=0 --quiet"

# $LLC_DATA overrides the installed data
mkdir -p "$TMP/alt/configs"
sed 's/"seed": 1,/"seed": 77,/' "$X/share/llc/configs/sort.json" >"$TMP/alt/configs/sort.json"
expect_rc 0 "LLC_DATA override" -- sh -c "cd / && LLC_DATA='$TMP/alt' '$X/bin/llc' train --db '$TMP/i.db' --task sort --run s2 --steps 2 --quiet"
expect_eq "$(sqlite3 "$TMP/i.db" "SELECT seed FROM runs WHERE id='s2'")" "77" "the config under \$LLC_DATA is used"

# without any data directory (a copy of the binary alone) the corpus is missing: exit 3, a hint
mkdir -p "$TMP/bare/bin"
cp "$X/bin/llc" "$TMP/bare/bin/llc"
expect_rc 3 "no data anywhere" -- sh -c "cd / && '$TMP/bare/bin/llc' train --db '$TMP/b.db' --task text --run t1 --steps 1 --quiet"
expect_out "LLC_DATA" "names the override"
expect_rc 3 "no shipped config: refused, not built-in defaults" -- \
    sh -c "cd / && '$TMP/bare/bin/llc' train --db '$TMP/b.db' --task sort --run s1 --steps 1 --quiet"
expect_out "configs/sort.json is not found" "names the missing config"
expect_rc 0 "a task without a shipped config still trains" -- \
    sh -c "cd / && '$TMP/bare/bin/llc' train --db '$TMP/b.db' --task linreg --run l1 --steps 1 --quiet"
finish cli_install
