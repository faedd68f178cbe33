#!/bin/sh
# Golden CLI tests of llc train / runs / show: good input, bad input, resume.
. tests/cli/clitest.sh

expect_rc 2 "no command" -- $LLC
expect_rc 0 "help" -- $LLC --help
expect_out "exit codes" "help lists exit codes"
expect_rc 0 "train help" -- $LLC train --help
expect_rc 2 "unknown command" -- $LLC frobnicate
expect_out "unknown command 'frobnicate'" "names the bad command"
expect_rc 2 "missing run" -- $LLC train --task sort
expect_out "--run ID is required" "names --run"
expect_rc 2 "unknown option" -- $LLC train --task sort --run x --bogus 1
expect_out "unknown option '--bogus'" "names the option"
expect_rc 5 "unknown task" -- $LLC train --task nosuch --run x
expect_out "nosuch" "names the task"
expect_rc 2 "bad run id" -- $LLC train --task sort --run "r1'; DROP TABLE runs;--" --steps 2
expect_out "run id" "explains id rules"
expect_rc 2 "unknown key" -- $LLC train --task sort --run x --set bogus_key=3 --steps 2
expect_out "bogus_key" "names the key"
# a task key its stored config leaves out at the default is still known to --set
expect_rc 0 "optional task key" -- $LLC train --task text --run x --set repeat_frac=0.5 --dry-run
expect_rc 2 "mistyped optional key" -- $LLC train --task text --run x --set repeat_fraq=0.5 --dry-run
expect_out "did you mean data.repeat_frac?" "suggests the optional key"
# byte-pair tokens: an optional key too; bad values get one line and exit 2
expect_rc 0 "bpe_merges" -- $LLC train --task text --run x --set bpe_merges=256 --set ctx=256 --dry-run
for v in -1 3841 2.5 abc; do
    expect_rc 2 "bpe_merges=$v" -- $LLC train --task text --run x --set bpe_merges=$v --dry-run
    expect_out "'bpe_merges' must be an integer in \\[0, 3840\\]" "bpe_merges=$v: names the range"
    expect_eq "$(wc -l < "$TMP/err")" "1" "bpe_merges=$v: one line"
done
expect_rc 2 "out of range" -- $LLC train --task sort --run x --set lr=-1 --steps 2
expect_out "lr" "names lr"
expect_rc 2 "bad model value" -- $LLC train --task sort --run x --set n_heads=0 --steps 2
expect_out "n_heads" "names n_heads"
printf '{"task": "sort", "train": {"steps": 3,}' > "$TMP/bad.json"
expect_rc 2 "malformed json" -- $LLC train --config "$TMP/bad.json" --run x
expect_out "not valid JSON: error at line 1" "says malformed"
expect_rc 3 "missing config" -- $LLC train --config "$TMP/none.json" --run x
expect_rc 2 "bad steps" -- $LLC train --task sort --run x --steps -4
# nothing half-written: no run created by the failures above
expect_rc 0 "runs on empty store" -- $LLC runs
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM runs" 2>/dev/null || echo 0)
expect_eq "$n" "0" "failed commands leave no run"

# a short real run
expect_rc 0 "train sort" -- $LLC train --task sort --run r1 --steps 40 --set ckpt_linear=5 --set ckpt_log=0 --quiet
expect_out "run r1" "summary line"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM checkpoints WHERE run='r1'")
expect_eq "$n" "5" "5 checkpoints (linear schedule 0,10,20,30,40)"
expect_rc 6 "existing run refused" -- $LLC train --task sort --run r1 --steps 40 --set ckpt_linear=5 --set ckpt_log=0
expect_out "already exists" "says exists"
expect_rc 0 "resume of a done run is a no-op" -- $LLC train --task sort --run r1 --steps 40 --set ckpt_linear=5 --set ckpt_log=0 --resume
expect_rc 6 "resume with another config refused" -- $LLC train --task sort --run r1 --steps 41 --resume
expect_rc 0 "runs" -- $LLC runs
expect_out "r1 +sort +done" "runs lists r1"
expect_rc 0 "show" -- $LLC show --run r1
expect_out "checkpoints: 5" "show counts checkpoints"
expect_rc 5 "show unknown" -- $LLC show --run nope
expect_out "no run 'nope'" "names the run"

# resume: interrupted run continued gives bit-identical checkpoints
expect_rc 0 "uninterrupted" -- $LLC train --task sort --run full --steps 60 --set ckpt_every=10 --set ckpt_linear=0 --set ckpt_log=0 --seed 7 --quiet
$LLC train --task sort --run part --steps 60 --set ckpt_every=10 --set ckpt_linear=0 --set ckpt_log=0 --seed 7 --quiet >/dev/null 2>&1 &
pid=$!
# kill it as soon as its third checkpoint lands (or let it finish)
i=0
while [ $i -lt 400 ]; do
    c=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM checkpoints WHERE run='part'" 2>/dev/null || echo 0)
    [ "${c:-0}" -ge 3 ] && break
    i=$((i + 1)); sleep 0.01
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
expect_rc 0 "resume" -- $LLC train --task sort --run part --steps 60 --set ckpt_every=10 --set ckpt_linear=0 --set ckpt_log=0 --seed 7 --quiet --resume
a=$(sqlite3 "$LLC_DB" "SELECT group_concat(step || ':' || hex(params), ',') FROM (SELECT * FROM checkpoints WHERE run='full' ORDER BY step)" | md5sum)
b=$(sqlite3 "$LLC_DB" "SELECT group_concat(step || ':' || hex(params), ',') FROM (SELECT * FROM checkpoints WHERE run='part' ORDER BY step)" | md5sum)
expect_eq "$a" "$b" "resumed run has bit-identical checkpoints"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM checkpoints WHERE run='part'")
expect_eq "$n" "7" "resumed run has all 7 checkpoints"

# not a store / newer schema
echo "hello" > "$TMP/text.db"
expect_rc 8 "not a store" -- $LLC runs --db "$TMP/text.db"
sqlite3 "$TMP/new.db" "PRAGMA user_version=99; CREATE TABLE t(x);"
expect_rc 8 "newer schema" -- $LLC runs --db "$TMP/new.db"
finish cli_train
