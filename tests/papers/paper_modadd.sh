#!/bin/sh
# The clustering-head study on sparse modular addition: embedding frames, a
# clustering score of the pooled embeddings by class over training, loss
# spikes in the training log, how many seeds form clustering heads, and the
# p = 2 -> p = 3 curriculum through --init-from.
PAPER=modadd
. tests/papers/lib.sh
STEPS=$(sz 32000 4000)
EVERY=$(sz 200 250)
for s in 1 2 3 4 5; do
    say "train modadd-s$s"
    q train --task modadd --run modadd-s$s --seed $s --steps $STEPS --set ckpt_every=$EVERY
    q stages --run modadd-s$s --cross test_loss=0.55 >/dev/null
done
say "curriculum"
q train --task modadd --run modadd-p2 --seed 1 --steps $STEPS --set p=2 --set ckpt_every=$EVERY
q train --task modadd --run modadd-p3-warm --seed 1 --steps $((STEPS / 4)) --set ckpt_every=$EVERY --init-from modadd-p2
q train --task modadd --run modadd-p3-cold --seed 1 --steps $((STEPS / 4)) --set ckpt_every=$EVERY
"$LLC" plot --run modadd-s1 --kind embed --steps every:$(sz 8 4) --out "$PAPER_OUT/modadd-embed.svg" -q
finish
