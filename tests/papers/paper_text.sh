#!/bin/sh
# The refined-LLC study on the byte-level text model: head types from probes,
# the heads' rLLC curves clustered by shape against those types, and
# data-refined rLLCs on code against prose.
PAPER=text
. tests/papers/lib.sh
STEPS=$(sz 2000 40)
say "train text"
q train --task text --run text --steps $STEPS --set ctx=$(sz 64 32) --set ckpt_linear=$(sz 16 4) --set ckpt_log=$(sz 8 2)
say "probe text"
q probe --run text --steps every:$(sz 2 2) --threads $THREADS --seqs $(sz 64 16) >/dev/null
say "estimate text"
q estimate --run text --model --heads all --steps every:$(sz 2 3) $EST --batch 8 >/dev/null
q estimate --run text --heads all --steps $(last text) --data prose $EST --batch 8 >/dev/null
q estimate --run text --heads all --steps $(last text) --data code $EST --batch 8 >/dev/null
q cluster --run text --of llc --k 3 >/dev/null
q stages --run text >/dev/null
finish
