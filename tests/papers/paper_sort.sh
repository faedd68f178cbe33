#!/bin/sh
# The list-sorting study: vocabulary splitting with and without weight decay,
# copy suppression and its ablation, the LLC and rLLC curves with stages
# against the loss, data-refined rLLCs on small-gap and large-gap lists.
PAPER=sort
. tests/papers/lib.sh
STEPS=$(sz 4000 300)
for wd in 0.1 0; do
    r=sort-wd$wd
    say "train $r"
    q train --task sort --run $r --steps $STEPS --set weight_decay=$wd --set ckpt_linear=$(sz 40 8) --set ckpt_log=$(sz 20 4)
    say "probe $r"
    q probe --run $r --steps every:$(sz 4 3) --threads $THREADS >/dev/null
    say "estimate $r"
    q estimate --run $r --model --heads all --steps every:$(sz 3 3) $EST >/dev/null
    q estimate --run $r --heads all --steps $(last $r) --data small_gap $EST >/dev/null
    q estimate --run $r --heads all --steps $(last $r) --data large_gap $EST >/dev/null
    q stages --run $r >/dev/null
done
finish
