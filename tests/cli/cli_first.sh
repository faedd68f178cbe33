#!/bin/sh
# What a new user meets first: llc --help lists every command, train --help
# every task; --set comma lists and bare-key typos; --steps 0 and 1e3; the
# head syntax; unknown curve targets; negative estimates flagged; the
# estimate memory cap; read-only use of a missing store; sampler names.
. tests/cli/clitest.sh

# every command of the dispatcher (the unknown-command error lists them) is in llc --help
expect_rc 2 "unknown command" -- $LLC frobnicate
cmds=$(sed -n 's/.*(commands: \([a-z, ]*\);.*/\1/p' "$TMP/err" | tr -d ',')
[ -n "$cmds" ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: the unknown-command error lists the commands"; }
expect_rc 0 "llc --help" -- $LLC --help
for c in $cmds; do
    grep -q "^  $c " "$TMP/out" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: llc --help lacks '$c'"; }
done
expect_rc 2 "bare llc" -- $LLC
expect_out "estimate" "bare llc shows the help with estimate"
expect_out "LLC_DATA" "says where the data is found"

# every task (the unknown-task error lists them) is in train --help
expect_rc 5 "unknown task" -- $LLC train --task nope --run x
tasks=$(sed -n "s/.*(known: \([a-z, ]*\)).*/\1/p" "$TMP/err" | tr -d ',')
[ -n "$tasks" ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: the unknown-task error lists the tasks"; }
expect_rc 0 "train --help" -- $LLC train --help
for t in $tasks; do
    grep -- "--task" "$TMP/out" | grep -q "$t" && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: train --help lacks task '$t'"; }
done

# the README's ground-truth example: a comma list, --steps 0, the true parameter as step 0
expect_rc 0 "dln teacher, steps 0" -- $LLC train --task dln --set widths=10,20,20,10 --set rank=0 --init teacher --steps 0 --run d1
expect_out "800 params, 1 checkpoints, steps 0" "800 parameters (widths 10,20,20,10), one checkpoint"
expect_eq "$(sqlite3 "$LLC_DB" "SELECT group_concat(step) FROM checkpoints WHERE run='d1'")" "0" "the one checkpoint is step 0"
w=$(sqlite3 "$LLC_DB" "SELECT json_extract(config, '$.data.widths') FROM runs WHERE id='d1'")
expect_eq "$w" "[10,20,20,10]" "widths stored as the full list"
expect_rc 2 "steps -1" -- $LLC train --task sort --run n1 --steps -1
expect_rc 2 "train.steps -1 via --set" -- $LLC train --task sort --run n1 --set steps=-1
expect_out "key 'steps' must be an integer in \[0," "names the range"
expect_rc 2 "adamw lr*weight_decay >= 1" -- $LLC train --task sort --run n1 --set optimizer=adamw --set lr=10 --set weight_decay=0.5
expect_out "^llc: train: lr\*weight_decay must be < 1" "the trainer's message"
if grep -q "train: train:" "$TMP/err"; then F=$((F + 1)); echo "FAIL: doubled prefix: $(cat "$TMP/err")"; else P=$((P + 1)); fi
expect_rc 0 "--steps 1e1 is 10" -- $LLC train --task sort --run e1 --steps 1e1 --set ckpt_linear=2 --set ckpt_log=0 --quiet
expect_out "steps 10," "1e1 read as 10"
expect_rc 2 "--steps 1.5 refused" -- $LLC train --task sort --run e2 --steps 1.5
expect_out "must be an integer" "says why"

# curves of a run whose only estimate diverged: says so, not "no estimates yet"
sqlite3 "$LLC_DB" "INSERT INTO estimates(run, step, target, data, settings, status) VALUES ('d1', 0, 'model', 'train', '{}', 'diverged')" 2>"$TMP/sqlerr" ||
    { F=$((F + 1)); echo "FAIL: cannot insert a diverged estimate"; cat "$TMP/sqlerr"; }
expect_rc 0 "curves of a diverged-only run" -- $LLC curves --run d1
expect_out "no usable estimates for run d1: 1 with diverged chains" "names the diverged estimate"

# a bare --set key no section knows: all sections named, the closest key suggested
expect_rc 2 "typo n_head" -- $LLC train --task sort --run t1 --set n_head=2
expect_out "model, train or the data of task sort" "names every section searched"
expect_out "did you mean model.n_heads" "suggests model.n_heads"
expect_rc 2 "typo lsit_len" -- $LLC train --task sort --run t1 --set lsit_len=4
expect_out "did you mean data.list_len" "suggests data.list_len"
expect_rc 2 "no suggestion for a far key" -- $LLC train --task sort --run t1 --set zzz=1
if grep -q "did you mean" "$TMP/err"; then F=$((F + 1)); echo "FAIL: suggested a far key"; else P=$((P + 1)); fi

# a small sort run with estimates of the model and every head
EST="--eps 1e-4 --burnin 0 --thin 1 --draws 20 --chains 2 --threads 2 --quiet"
expect_rc 0 "train r1" -- $LLC train --task sort --run r1 --steps 40 --set ckpt_linear=3 --set ckpt_log=0 --quiet
expect_rc 0 "estimate r1" -- $LLC estimate --run r1 --model --heads all $EST --cache-mb 0
expect_out "significantly negative" "the summary counts negative estimates"

# --head needs L.H; a one-layer model has "layer 0"
expect_rc 2 "--head 3" -- $LLC estimate --run r1 --head 3 $EST
expect_out "--head takes L.H" "names the form"
expect_out "--layer 3" "points at --layer"
expect_rc 5 "--layer 3 of a one-layer model" -- $LLC estimate --run r1 --layer 3 $EST
expect_out "model has layer 0$" "layer 0, not layers 0-0"

# curves: an unknown target is exit 5 naming those that exist
expect_rc 5 "curves unknown target" -- $LLC curves --run r1 --target 9.9
expect_out "targets: 0.0, 0.1, 0.2, 0.3, model" "names the targets"
expect_rc 5 "curves unknown data" -- $LLC curves --run r1 --data nope
expect_rc 0 "curves known target" -- $LLC curves --run r1 --target 0.1

# a significantly negative estimate is flagged in curves (all formats)
sqlite3 "$LLC_DB" "UPDATE estimates SET llc_mean = -0.5, llc_std = 0.1 WHERE run='r1' AND target='0.2' AND step=40"
sqlite3 "$LLC_DB" "UPDATE estimates SET llc_mean = -0.05, llc_std = 0.2 WHERE run='r1' AND target='0.3' AND step=40"
expect_rc 0 "curves table" -- $LLC curves --run r1 --target 0.2
expect_out "0.2 .* 40 .*-0.5000 .*NEGATIVE" "the significant one is flagged"
expect_out "never negative" "and explained"
expect_rc 0 "curves table 0.3" -- $LLC curves --run r1 --target 0.3
if grep -q NEGATIVE "$TMP/out"; then F=$((F + 1)); echo "FAIL: -0.05 ± 0.2 (within noise) flagged"; else P=$((P + 1)); fi
expect_rc 0 "curves csv" -- $LLC curves --run r1 --format csv
expect_out "^r1,0.2,train,40,-0.5,0.1,negative$" "csv note column"
expect_rc 0 "curves json" -- $LLC curves --run r1 --format json
expect_out '"negative":[[:space:]]*true' "json negative flag"

# the estimate's memory cap: documented, and numbers do not depend on it
expect_rc 0 "estimate --help" -- $LLC estimate --help
expect_out "cache-mb" "--cache-mb in the options"
expect_out "1/8 of" "the default said"
expect_rc 0 "estimate with the default cache" -- $LLC estimate --run r1 --model --heads all $EST --force
a=$(sqlite3 "$LLC_DB" "SELECT group_concat(llc_mean) FROM (SELECT llc_mean FROM estimates WHERE run='r1' AND step=20 ORDER BY target, id DESC)")
expect_rc 0 "estimate with --cache-mb 0" -- $LLC estimate --run r1 --model --heads all $EST --force --cache-mb 0
b=$(sqlite3 "$LLC_DB" "SELECT group_concat(llc_mean) FROM (SELECT llc_mean FROM estimates WHERE run='r1' AND step=20 ORDER BY target, id DESC)")
expect_eq "$a" "$b" "--cache-mb 0 gives the same estimates"
expect_rc 2 "--cache-mb -1" -- $LLC estimate --run r1 --cache-mb -1

# sampler names: plain SGLD is 'sgld' in the settings
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE sampler='none' OR settings LIKE '%\"none\"%'")
expect_eq "$n" "0" "no estimate records sampler 'none'"

# reading commands do not create a store
expect_rc 5 "estimate on a missing store" -- $LLC estimate --db "$TMP/missing.db" --run r1
expect_out "no store at" "says so"
[ -e "$TMP/missing.db" ] && { F=$((F + 1)); echo "FAIL: estimate created $TMP/missing.db"; } || P=$((P + 1))
expect_rc 5 "curves on a missing store" -- $LLC curves --db "$TMP/missing.db" --run r1
[ -e "$TMP/missing.db" ] && { F=$((F + 1)); echo "FAIL: curves created the store"; } || P=$((P + 1))
finish cli_first
