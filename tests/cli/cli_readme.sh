#!/bin/sh
# Every command line the README shows is run as written, in order, against a
# scratch store in a scratch directory: the lines of its code blocks (```
# fences and 4-space indented blocks) that start with "llc ", a trailing
# "# comment" stripped, "llc" replaced by the built binary. Each must exit 0,
# or the code its comment states ("# ... exit 6"). A line whose comment says
# it takes minutes ("about 35 minutes") is skipped, and the skip printed.
# Fixtures the lines assume are made here, never by skipping: a --config
# file that does not exist, a run a line uses that no earlier line trained
# (task by the line: embed -> modadd, --data code -> text, else sort; long
# enough for its --step/--steps; with cheap model estimates unless the line
# only needs checkpoints), and the directories output goes to.
. tests/cli/clitest.sh
README=${README:-README.md}
W="$TMP/work"
mkdir -p "$W"
ln -s "$(pwd)/data" "$W/data" # the README runs from the top of the clone
unset LLC_DB LLC_DATA # the README's commands use ./llc.db and the shipped data
EST="--eps 1e-4 --burnin 0 --thin 1 --draws 20 --chains 2 --quiet"

awk '/^[ \t]*```/ { fence = !fence; next }
     fence || /^    / { sub(/^[ \t]+/, ""); if ($0 ~ /^llc /) print }' "$README" >"$TMP/lines"
n_lines=$(wc -l <"$TMP/lines" | tr -d ' ')
[ "$n_lines" -ge 10 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: only $n_lines command lines found in $README"; }

has_run() { [ -f "$W/llc.db" ] && [ -n "$(sqlite3 "$W/llc.db" "SELECT 1 FROM runs WHERE id='$1'" 2>/dev/null)" ]; }

# fixture_run ID LINE: a small run for a line that uses ID before any line trains it
fixture_run() {
    id=$1; line=$2
    task=sort; [ -n "$(echo "$line" | grep -e '--kind embed')" ] && task=modadd
    echo "$line" | grep -q -e '--data code' && task=text
    steps=$(echo "$line" | sed -n 's/.*--steps [0-9]*:\([0-9][0-9]*\).*/\1/p')
    [ -n "$steps" ] || steps=$(echo "$line" | sed -n 's/.*--steps\{0,1\} \([0-9][0-9]*\).*/\1/p')
    [ -n "$steps" ] || steps=40
    [ "$task" = text ] && [ "$steps" -gt 40 ] && steps=40
    nck=3; [ "$task" = text ] && nck=2
    (cd "$W" && $LLC train --task $task --run "$id" --steps "$steps" --set ckpt_linear=$nck --set ckpt_log=0 --quiet) \
        </dev/null >"$TMP/fx" 2>&1 || { F=$((F + 1)); echo "FAIL: fixture run $id ($task)"; cat "$TMP/fx"; return; }
    case "$line" in *"--kind embed"*|"llc estimate"*|"llc show"*|"llc export"*"--what log"*|"llc export"*checkpoints*) return ;; esac
    (cd "$W" && $LLC estimate --run "$id" --model $EST) </dev/null >"$TMP/fx" 2>&1 ||
        { F=$((F + 1)); echo "FAIL: fixture estimates of $id"; cat "$TMP/fx"; }
    echo "fixture: run $id ($task, $steps steps) for: $line"
}

skipped=0
t0=$(date +%s)
while IFS= read -r raw; do
    cmd=$(printf '%s\n' "$raw" | sed 's/[[:space:]][[:space:]]*#.*$//')
    comment=$(printf '%s\n' "$raw" | sed -n 's/^[^#]*[[:space:]]#\(.*\)$/\1/p')
    if printf '%s\n' "$comment" | grep -q 'minute'; then
        echo "skipped (the README says it takes minutes):$comment: $cmd"
        skipped=$((skipped + 1)); continue
    fi
    want=$(printf '%s\n' "$comment" | sed -n 's/.*exit \([0-9][0-9]*\).*/\1/p')
    [ -n "$want" ] || want=0
    # fixtures
    cfg=$(printf '%s\n' "$cmd" | sed -n 's/.*--config \([^ ]*\).*/\1/p')
    if [ -n "$cfg" ] && [ ! -e "$W/$cfg" ]; then
        echo '{"task": "sort", "train": {"steps": 40, "ckpt_linear": 3, "ckpt_log": 0}}' >"$W/$cfg"
        echo "fixture: $cfg (a 40-step sort config) for: $cmd"
    fi
    for out in $(printf '%s\n' "$cmd" | sed -n 's/.*> *\([^ ]*\/\)[^ /]*$/\1/p'); do mkdir -p "$W/$out"; done
    run=$(printf '%s\n' "$cmd" | sed -n 's/.*--run \([^ ]*\).*/\1/p')
    case "$cmd" in
    "llc train"*) ;;
    *) if [ -n "$run" ] && ! has_run "$run"; then fixture_run "$run" "$cmd"; fi ;;
    esac
    t1=$(date +%s)
    sh -c "cd '$W' && '$LLC' ${cmd#llc }" </dev/null >"$TMP/out" 2>"$TMP/err"
    got=$?
    dt=$(($(date +%s) - t1))
    [ "$dt" -ge 10 ] && echo "slow: ${dt} s: $cmd"
    if [ "$got" -eq "$want" ]; then P=$((P + 1)); else
        F=$((F + 1)); echo "FAIL: README line exits $got, want $want: $cmd"; head -c 400 "$TMP/err"; fi
done <"$TMP/lines"
[ "$skipped" -le 4 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: $skipped README lines skipped (at most 4)"; }
echo "README: $n_lines command lines, $skipped skipped, $(($(date +%s) - t0)) s"
finish cli_readme
