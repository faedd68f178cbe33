#!/bin/sh
# llc check re-runs a baseline with the settings read back from it: also the
# automatic ones (eps chosen once per target at the last checkpoint, or at
# each checkpoint; automatic burn-in and thin) and the bias check, and the
# re-run reproduces every point bit-identically (zero tolerance).
. tests/cli/clitest.sh
export TMPDIR="$TMP/tmpdir"
mkdir -p "$TMPDIR"
S="--chains 2 --draws 20 --quiet --threads 2"

expect_rc 0 "train" -- $LLC train --task sort --run auto --steps 30 --set ckpt_linear=2 --set ckpt_log=0 --quiet
expect_rc 0 "automatic eps at the last checkpoint" -- $LLC estimate --run auto $S --head 0.0
expect_rc 0 "automatic eps at each checkpoint" -- $LLC estimate --run auto $S --head 0.1 --eps-at each --batch 16
expect_rc 0 "given eps with the bias check" -- $LLC estimate --run auto $S --layer 0 --eps 1e-4 --burnin 10 \
    --thin 2 --check-bias --sampler rmsprop --paired off --nbeta 40 --seed 5
expect_rc 0 "baseline" -- $LLC baseline --run auto --out "$TMP/auto.json" --tol-abs 0 --tol-rel 0
expect_eq "$(grep -c '"eps":	"auto@last"' "$TMP/auto.json")" "1" "the automatic eps at the last checkpoint is recorded"
expect_eq "$(grep -c '"eps":	"auto"' "$TMP/auto.json")" "1" "the automatic eps at each checkpoint is recorded"
expect_eq "$(grep -c '"check_bias":	true' "$TMP/auto.json")" "1" "the bias check is recorded"
expect_rc 0 "re-run from scratch reproduces every point" -- $LLC check "$TMP/auto.json" --quiet --threads 1
expect_out "0 REGRESSED, 0 missing .* - PASS$" "every point bit-identical"
expect_eq "$(ls -A "$TMPDIR" | wc -l)" "0" "temporary store removed"
finish cli_check_settings
