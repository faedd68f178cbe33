#!/bin/sh
# llc train --init-from: a warm start begins at the source checkpoint bit for
# bit; a grown vocabulary keeps the new tokens' fresh rows; bad sources fail.
. tests/cli/clitest.sh

expect_rc 0 "source run" -- $LLC train --task modadd --run a --steps 60 --set p=2 --set ckpt_every=20 --seed 3
expect_rc 0 "warm start, default step" -- $LLC train --task modadd --run c --steps 20 --set p=2 --init-from a
expect_rc 0 "export source" -- $LLC export --run a --what checkpoints --step 60 --out "$TMP/ka"
expect_rc 0 "export warm step 0" -- $LLC export --run c --what checkpoints --step 0 --out "$TMP/kc"
expect_rc 0 "step 0 equals the source's last checkpoint bit for bit" -- cmp "$TMP/ka.bin" "$TMP/kc.bin"
expect_rc 0 "warm start at a step" -- $LLC train --task modadd --run c2 --steps 20 --set p=2 --init-from a:20
expect_rc 0 "export source step 20" -- $LLC export --run a --what checkpoints --step 20 --out "$TMP/ka20"
expect_rc 0 "export c2" -- $LLC export --run c2 --what checkpoints --step 0 --out "$TMP/kc2"
expect_rc 0 "from step 20 bit for bit" -- cmp "$TMP/ka20.bin" "$TMP/kc2.bin"
expect_rc 0 "recorded in runs" -- $LLC runs
expect_out "c2 .*from a:20" "llc runs names the source"
expect_rc 0 "show" -- $LLC show --run c
expect_out '"init_from"' "the stored config records it"

# p = 2 -> 3: embed (tied) grows from (2,2) to (3,2), rows 0-1 copied, row 2 a fresh init of the new seed
expect_rc 0 "curriculum p=3" -- $LLC train --task modadd --run b --steps 20 --set p=3 --init-from a
expect_rc 0 "fresh p=3" -- $LLC train --task modadd --run f --steps 0 --set p=3
expect_rc 0 "export b" -- $LLC export --run b --what checkpoints --step 0 --out "$TMP/kb"
expect_rc 0 "export f" -- $LLC export --run f --what checkpoints --step 0 --out "$TMP/kf"
expect_rc 0 "old token rows copied" -- cmp -n 16 "$TMP/ka.bin" "$TMP/kb.bin"
expect_rc 0 "new token row freshly initialised" -- cmp -i 16:16 -n 8 "$TMP/kf.bin" "$TMP/kb.bin"
expect_rc 0 "other tensors copied" -- cmp -i 16:24 "$TMP/ka.bin" "$TMP/kb.bin"

# errors: nothing created
expect_rc 5 "unknown source run" -- $LLC train --task modadd --run e --init-from nosuch
expect_out "no run 'nosuch'" "names the run"
expect_rc 5 "unknown step" -- $LLC train --task modadd --run e --init-from a:7
expect_out "no checkpoint at step 7" "names the step"
expect_rc 2 "shape mismatch" -- $LLC train --task modadd --run e --set p=2 --set d_mlp=8 --init-from a
expect_out "tensor '.*' is \(.*\) in run 'a' but \(.*\) in the new model" "one line naming the tensor and shapes"
expect_rc 2 "vocabulary shrinks" -- $LLC train --task modadd --run e --set p=2 --init-from b
expect_out "tensor 'embed' is \(3,2\) in run 'b' but \(2,2\)" "a shrinking vocabulary is a mismatch"
expect_rc 2 "bad syntax" -- $LLC train --task modadd --run e --init-from a:x
expect_out "RUN or RUN:STEP" "says the form"
expect_rc 2 "with --init teacher" -- $LLC train --task modadd --run e --init teacher --init-from a
expect_out "give one" "says they conflict"
expect_rc 5 "nothing half-written" -- $LLC show --run e
finish cli_initfrom
