#!/bin/sh
# make demo: the main job end to end on a small default — train a list-sorting
# transformer, estimate the LLC of the model and of every head at every
# checkpoint with DEFAULT sampler settings (automatic step size and lengths),
# print the curves and plot them.
set -e
LLC=${LLC:-build/llc}
DB=${DEMO_DB:-demo.db}
rm -f "$DB" "$DB-wal" "$DB-shm"
echo "== llc train: list sorting, 1 layer x 4 heads (writes $DB)"
$LLC train --db "$DB" --task sort --run demo --steps 1500 --set ckpt_linear=8 --set ckpt_log=0
echo "== llc estimate: whole model, every checkpoint"
$LLC estimate --db "$DB" --run demo
echo "== llc estimate: every head (weight-refined), every checkpoint"
$LLC estimate --db "$DB" --run demo --heads all
echo "== llc curves"
$LLC curves --db "$DB" --run demo
echo "== the same with sqlite3:"
echo "   sqlite3 $DB \"SELECT step, llc_mean FROM curves WHERE run='demo' AND target='0.1'\""
echo "== llc plot: the curves, written to"
$LLC plot --db "$DB" --run demo --targets model,heads --out "$(pwd)/demo.svg"
