# clitest.sh - sourced by tests/cli/cli_*.sh: golden checks of the llc program.
#   expect_rc RC DESC -- CMD...      run CMD, check its exit code
#   expect_out PATTERN DESC          grep the last command's stdout+stderr
LLC=${LLC:-./build/llc}
case "$LLC" in /*) ;; *) LLC="$PWD/$LLC" ;; esac
TMP=$(mktemp -d /tmp/llc-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export LLC_DB="$TMP/llc.db"
P=0; F=0
expect_rc() {
    want=$1; desc=$2; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"; got=$?
    if [ "$got" -eq "$want" ]; then P=$((P + 1)); else
        F=$((F + 1)); echo "FAIL: $desc: exit $got, want $want: $*"; head -c 600 "$TMP/err"; fi
}
expect_out() {
    if cat "$TMP/out" "$TMP/err" | grep -qE -- "$1"; then P=$((P + 1)); else
        F=$((F + 1)); echo "FAIL: $2: output lacks /$1/"; head -c 600 "$TMP/out" "$TMP/err"; fi
}
expect_eq() {
    if [ "$1" = "$2" ]; then P=$((P + 1)); else F=$((F + 1)); echo "FAIL: $3: got '$1' want '$2'"; fi
}
finish() { echo "$1: $P passed, $F failed"; [ "$F" -eq 0 ]; }
