#!/bin/sh
# make_baselines.sh - regenerate the shipped regression baselines in
# data/baselines/ (checked by tests/cli/cli_check.sh: `llc check data/baselines/*.json`).
# Small runs of each task with explicit sampler settings (no automatic step
# size, burn-in or thinning), so that checking all of them takes seconds.
# Run from the repository root after `make`:  sh tests/baseline/make_baselines.sh
# Re-make them (and commit the diff) when a change of results is intended.
set -eu
LLC=${LLC:-./build/llc}
OUT=${OUT:-data/baselines}
TMP=$(mktemp -d /tmp/llc-baselines.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export LLC_DB="$TMP/llc.db"
mkdir -p "$OUT"
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --quiet"

# sort: 200 steps, 4 checkpoints; the whole model, and head 0.1 on small gaps
$LLC train --task sort --run sort-small --steps 200 --set ckpt_linear=4 --set ckpt_log=0 --quiet
$LLC estimate --run sort-small $S --draws 50
$LLC estimate --run sort-small $S --draws 50 --head 0.1 --data small_gap
$LLC baseline --run sort-small > "$OUT/sort.json"

# modadd (206 params): 300 steps, 4 checkpoints; the model on train and test.
# (Longer training of this tiny model amplifies the rounding differences of
# other CPUs' BLAS kernels beyond the default tolerance: 2000 steps did.)
$LLC train --task modadd --run modadd-small --steps 300 --set ckpt_every=0 --set ckpt_linear=4 --set ckpt_log=0 --quiet
$LLC estimate --run modadd-small $S --draws 100
$LLC estimate --run modadd-small $S --draws 100 --data test
$LLC baseline --run modadd-small > "$OUT/modadd.json"

# icl: 200 steps, 4 checkpoints; the model on train and heldout, head 1.3 with RMSProp-SGLD
$LLC train --task icl --run icl-small --steps 200 --set ckpt_linear=4 --set ckpt_log=0 --quiet
$LLC estimate --run icl-small $S --draws 50
$LLC estimate --run icl-small $S --draws 50 --data heldout
$LLC estimate --run icl-small $S --draws 50 --head 1.3 --sampler rmsprop
$LLC baseline --run icl-small > "$OUT/icl.json"

# text (the slowest model): 20 steps at context 32, 2 checkpoints; the model,
# and head 1.2 on the code distribution, with SGLD minibatches of 8
$LLC train --task text --run text-small --steps 20 --set ctx=32 --set batch=8 --set ckpt_linear=2 --set ckpt_log=0 --quiet
$LLC estimate --run text-small $S --draws 30 --batch 8
$LLC estimate --run text-small $S --draws 30 --batch 8 --head 1.2 --data code
$LLC baseline --run text-small > "$OUT/text.json"

echo "wrote $OUT/sort.json $OUT/modadd.json $OUT/icl.json $OUT/text.json"
