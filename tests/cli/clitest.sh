# clitest.sh - sourced by tests/cli/cli_*.sh: golden checks of the llc program.
#   expect_rc RC DESC -- CMD...      run CMD, check its exit code
#   expect_out PATTERN DESC          grep the last command's stdout+stderr
#   tiny_icl FILE                    write a tiny icl config (seconds to train)
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
# tiny_icl FILE: a config of a tiny icl model (1 layer, 2 heads, 200 steps, 4 checkpoints)
tiny_icl() {
    cat >"$1" <<'EOF'
{"task": "icl", "seed": 1, "data": {"n_pairs": 2, "n_labels": 5},
 "model": {"n_layers": 1, "n_heads": 2, "d_model": 16, "d_head": 8, "pos": "rope", "norm": "layer",
           "final_norm": true, "d_mlp": 0, "causal": true},
 "train": {"steps": 200, "batch": 16, "optimizer": "adam", "lr": 0.003, "clip": 1.0,
           "ckpt_linear": 4, "ckpt_log": 0, "test_batches": 2}}
EOF
}
finish() { echo "$1: $P passed, $F failed"; [ "$F" -eq 0 ]; }
