#!/bin/sh
# Golden CLI tests of llc eval on a short sort run: base and changed
# numbers with heads ablated, kept or clamped, bit-identical for 1 and 2
# threads, nothing written to the store; training with the clamps of the
# clamped attention; bad input (one line, its exit code).
. tests/cli/clitest.sh

expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 200 --set ckpt_linear=2 --set ckpt_log=0 --quiet
dump0=$(sqlite3 "$LLC_DB" .dump | md5sum)
expect_rc 0 "ablate two heads" -- $LLC eval --run r1 --step 200 --ablate 0.1,0.3 --batches 2
expect_out "64 sequences" "eval-set size"
expect_out "ablated \(zero\): 0\.1, 0\.3" "the ablated heads"
expect_out "^loss +[0-9.]+ +[0-9.]+ +\+[0-9.]+" "loss row: base, changed, a positive difference"
expect_out "^accuracy " "accuracy row"
expect_out "^entropy " "entropy row"
expect_rc 0 "keep-only, mean, 1 thread" -- $LLC eval --run r1 --step 200 --keep-only 0.2 --mode mean --format csv --threads 1 --batches 2
cp "$TMP/out" "$TMP/one"
expect_out "^metric,base,changed,diff" "csv header"
expect_rc 0 "keep-only, mean, 2 threads" -- $LLC eval --run r1 --step 200 --keep-only 0.2 --mode mean --format csv --threads 2 --batches 2
expect_eq "$(md5sum < "$TMP/out")" "$(md5sum < "$TMP/one")" "1 and 2 threads: the same numbers to the last digit"
expect_rc 0 "keep-only json" -- $LLC eval --run r1 --step 200 --keep-only 0.2 --format json --batches 2
expect_out "\"ablated\": \[\"0.0\", \"0.1\", \"0.3\"\]" "keep-only 0.2 ablates the other heads of layer 0"
expect_rc 0 "no change" -- $LLC eval --run r1 --step 200 --format csv --batches 2
expect_out "^loss,([0-9.e-]+),\1,0$" "nothing asked: changed == base, diff 0"
expect_rc 0 "induction clamp" -- $LLC eval --run r1 --step 200 --batches 2 --clamp '[{"kind":"induction","layer":0,"head":1,"strength":0.5}]'
expect_out "clamps added: \[\{\"kind\":\"induction\"" "the clamp is named"
dump1=$(sqlite3 "$LLC_DB" .dump | md5sum)
expect_eq "$dump1" "$dump0" "eval writes nothing to the store"

# training with the new clamps; the config keeps them
expect_rc 0 "train clamped" -- $LLC train --task sort --run c1 --steps 5 --quiet --set \
    'model.clamps=[{"kind":"induction","layer":0,"head":1,"strength":0.5},{"kind":"no_prev","layer":0,"head":2},{"kind":"copy","layer":0,"head":3,"from":{"layer":0,"head":1}},{"kind":"temperature","layer":0,"head":0,"temperature":2}]'
n=$(sqlite3 "$LLC_DB" "SELECT config FROM runs WHERE id='c1'" | grep -c '"from":{"layer":0,"head":1}')
expect_eq "$n" "1" "the stored config keeps the copy's source"
expect_rc 0 "probe the clamped run" -- $LLC probe --run c1 --probe induction --seqs 32 --heads 0.1 --format csv
expect_rc 2 "clamp on a missing head (train)" -- $LLC train --task sort --run c2 --steps 5 --quiet --set 'model.clamps=[{"kind":"no_prev","layer":0,"head":4}]'
expect_out "'head' must be" "names the key"
l=$(wc -l < "$TMP/err")
expect_eq "$l" "1" "one line on stderr"

# a copy from an earlier layer, in training and in eval; a later layer or the head itself is refused
expect_rc 0 "train a copy across layers" -- $LLC train --task sort --run x2 --steps 5 --quiet --set model.n_layers=2 \
    --set 'model.clamps=[{"kind":"copy","layer":1,"head":0,"from":{"layer":0,"head":1},"strength":0.7}]'
n=$(sqlite3 "$LLC_DB" "SELECT config FROM runs WHERE id='x2'" | grep -c '"layer":1,"head":0,"strength":0.7,"from":{"layer":0,"head":1}')
expect_eq "$n" "1" "the stored config keeps the source in the earlier layer"
expect_rc 0 "eval a copy across layers" -- $LLC eval --run x2 --step 5 --batches 1 --format csv \
    --clamp '[{"kind":"copy","layer":1,"head":2,"from":{"layer":0,"head":3}}]'
n=$(grep -Ec '^loss,([0-9.e-]+),\1,' "$TMP/out")
expect_eq "$n" "0" "the copy changes the loss"
expect_rc 2 "copy from a later layer" -- $LLC eval --run x2 --step 5 \
    --clamp '[{"kind":"copy","layer":0,"head":0,"from":{"layer":1,"head":0}}]'
expect_out "cannot copy head 1.0: 'from' must be another head of layer 0 or a head of an earlier layer" "says what is right"
l=$(wc -l < "$TMP/err")
expect_eq "$l" "1" "one line on stderr"
expect_rc 2 "copy of the head itself (train)" -- $LLC train --task sort --run x3 --steps 5 --quiet --set model.n_layers=2 \
    --set 'model.clamps=[{"kind":"copy","layer":1,"head":1,"from":{"layer":1,"head":1}}]'
expect_out "cannot copy head 1.1" "names the head"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM runs WHERE id='x3'")
expect_eq "$n" "0" "no run written"

# bad input
expect_rc 5 "ablate a missing head" -- $LLC eval --run r1 --step 200 --ablate 0.7
expect_out "head 0.7 does not exist: model has layers 0-0 and heads 0-3" "names the range"
expect_rc 2 "malformed heads" -- $LLC eval --run r1 --step 200 --ablate 0.1,
expect_out "--ablate must be heads L.H" "says what is right"
expect_rc 2 "malformed keep-only" -- $LLC eval --run r1 --step 200 --keep-only x
expect_rc 2 "clamp on a missing layer" -- $LLC eval --run r1 --step 200 --clamp '[{"kind":"induction","layer":3,"head":0}]'
expect_out "'layer' must be an integer in \[0, 0\], got 3" "names the range"
l=$(wc -l < "$TMP/err")
expect_eq "$l" "1" "one line on stderr"
expect_rc 2 "clamp on a missing head" -- $LLC eval --run r1 --step 200 --clamp '[{"kind":"no_prev","layer":0,"head":9}]'
expect_rc 2 "clamp not JSON" -- $LLC eval --run r1 --step 200 --clamp 'induction'
expect_out "--clamp must be a JSON list" "says what is right"
expect_rc 2 "unknown clamp kind" -- $LLC eval --run r1 --step 200 --clamp '[{"kind":"bogus","layer":0,"head":0}]'
expect_out "must be one of" "lists the kinds"
expect_rc 2 "bad mode" -- $LLC eval --run r1 --step 200 --mode half
expect_rc 2 "bad format" -- $LLC eval --run r1 --step 200 --format xml
expect_rc 2 "no step" -- $LLC eval --run r1
expect_rc 2 "zero batches" -- $LLC eval --run r1 --step 200 --batches 0
expect_rc 5 "no checkpoint" -- $LLC eval --run r1 --step 201
expect_out "no checkpoint at step 201" "names the step"
expect_rc 5 "unknown run" -- $LLC eval --run nope --step 1
expect_rc 5 "unknown distribution" -- $LLC eval --run r1 --step 200 --data nope
expect_out "no distribution 'nope'" "names the distribution"
finish cli_eval
