#!/bin/sh
# Run every test binary given, then the CLI tests; print one closing tally.
# Each test prints "NAME: N passed, N failed" as its last line.
pass=0; fail=0; broken=""
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$last" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$last" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    printf '%s\n' "$out" | grep -E '^(FAIL|WARN)' || true
    if [ -z "$p" ]; then
        echo "BROKEN: $t exited $rc without a tally"; printf '%s\n' "$out" | tail -n 20
        fail=$((fail + 1)); broken="$broken $t"; continue
    fi
    echo "$last"
    pass=$((pass + p)); fail=$((fail + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { echo "BROKEN: $t exited $rc"; fail=$((fail + 1)); }
done
for s in tests/cli/cli_*.sh; do
    [ -f "$s" ] || continue
    out=$(sh "$s" 2>&1); rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$last" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$last" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    printf '%s\n' "$out" | grep -E '^(FAIL|WARN)' || true
    if [ -z "$p" ]; then echo "BROKEN: $s exited $rc without a tally"; printf '%s\n' "$out" | tail -n 20; fail=$((fail + 1)); continue; fi
    echo "$last"
    pass=$((pass + p)); fail=$((fail + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { echo "BROKEN: $s exited $rc"; fail=$((fail + 1)); }
done
echo "all: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
