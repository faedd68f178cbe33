#!/bin/sh
# The induction-head study: phase-change timing for no clamp, the
# previous-token clamp and previous-token attention forbidden, over seeds; keeping one
# layer-1 head; the LLC around the phase change.
PAPER=icl
. tests/papers/lib.sh
STEPS=$(sz 1500 400)
SEEDS=$(sz "1 2 3 4" "1 2 3")
# no head of layer 0 may attend to the previous position
NOPREV="[$(for h in 0 1 2 3 4 5 6 7; do printf '%s{"kind":"no_prev","layer":0,"head":%d}' "$([ $h = 0 ] || echo ,)" $h; done)]"
for s in $SEEDS; do
    say "seed $s"
    q train --task icl --run icl-none-s$s --seed $s --steps $STEPS
    q train --task icl --run icl-prev-s$s --seed $s --steps $STEPS \
        --set 'model.clamps=[{"kind":"prev","layer":0,"head":0}]'
    q train --task icl --run icl-noprev-s$s --seed $s --steps $STEPS --set "model.clamps=$NOPREV"
    for c in none prev noprev; do q stages --run icl-$c-s$s --only-cross --cross test_loss=0.35 >/dev/null; done
done
say "estimate icl-none-s1"
q estimate --run icl-none-s1 --model --steps every:$(sz 1 3) $EST >/dev/null
q stages --run icl-none-s1 --cross test_loss=0.35 >/dev/null
q probe --run icl-none-s1 --steps every:$(sz 4 6) --threads $THREADS >/dev/null
finish
