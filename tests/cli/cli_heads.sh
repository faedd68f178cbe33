#!/bin/sh
# The head structure the shipped icl config is meant to show, measured with
# llc probe on the first 600 steps of its run (the same trajectory as the full
# run: constant learning rate, step-numbered batches): on the loss plateau no
# layer-1 head attends from the query to the matching label more than chance;
# after the test-loss drop one does (icl >= 0.6), and a layer-0 head attends to
# the previous token (prev_token >= 0.5). The text config's heads take minutes
# to form; llc/PROBES.md gives the commands and their output.
. tests/cli/clitest.sh

expect_rc 0 "train icl, 600 steps" -- $LLC train --task icl --run icl --steps 600 --set ckpt_linear=7 --set ckpt_log=0 --quiet
expect_rc 0 "probe icl and prev_token" -- $LLC probe --run icl --probe icl --probe prev_token --threads 2 --quiet
q() { sqlite3 "$LLC_DB" "$1"; }
# 1 when the best score of probe $1 over the heads of layer $3 at step $2 satisfies "$4"
best() { q "SELECT max(value) $4 FROM probe_curves WHERE run='icl' AND probe='$1' AND step=$2 AND target LIKE '$3.%'"; }
expect_eq "$(q "SELECT test_loss > 0.6 FROM checkpoints WHERE run='icl' AND step=200")" "1" "step 200 is on the plateau (test loss > 0.6)"
expect_eq "$(q "SELECT test_loss < 0.1 FROM checkpoints WHERE run='icl' AND step=600")" "1" "by step 600 the test loss has dropped (< 0.1)"
expect_eq "$(best icl 200 1 '< 0.35')" "1" "on the plateau no layer-1 head attends to the matching label (icl < 0.35)"
expect_eq "$(best icl 600 1 '>= 0.6')" "1" "after the drop a layer-1 head does (icl >= 0.6)"
expect_eq "$(best prev_token 600 0 '>= 0.5')" "1" "after the drop a layer-0 head attends to the previous token (prev_token >= 0.5)"
finish cli_heads
