#!/bin/sh
# Golden CLI tests of llc export: CSV headers and row counts against the
# store, JSON that parses and holds every curve point, one checkpoint as
# PREFIX.bin (bit-identical to the BLOB) + PREFIX.json, bad input.
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 20 --quiet --threads 2"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "WARN: cli_export: $PY not found, JSON parse checks skipped"; PY=""; }
q() { sqlite3 "$LLC_DB" "$1"; }

expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 40 --set ckpt_linear=3 --set ckpt_log=0 --quiet
expect_rc 0 "estimate model" -- $LLC estimate --run r1 $S
expect_rc 0 "estimate heads" -- $LLC estimate --run r1 $S --head 0.1 --head 0.2 --data small_gap
expect_rc 0 "help" -- $LLC export --help
expect_out "np.fromfile" "usage shows the numpy lines"

# CSV: header rows and every row of the store
expect_rc 0 "curves csv" -- $LLC export --run r1
expect_eq "$(head -n 1 "$TMP/out")" "run,target,data,step,llc_mean,llc_std" "curves csv header"
expect_eq "$(($(wc -l < "$TMP/out") - 1))" "$(q "SELECT count(*) FROM curves WHERE run='r1'")" "every curve point in csv"
expect_eq "$(q "SELECT count(*) FROM curves WHERE run='r1'")" "9" "9 curve points (3 targets x 3 checkpoints)"
expect_rc 0 "estimates csv" -- $LLC export --run r1 --what estimates --format csv
expect_eq "$(head -n 1 "$TMP/out")" "$(q "SELECT group_concat(name, ',') FROM pragma_table_info('estimates')")" "estimates csv has every column"
expect_eq "$(($(wc -l < "$TMP/out") - 1))" "$(q "SELECT count(*) FROM estimates WHERE run='r1'")" "every estimate in csv"
expect_out '"\{""sampler"":' "settings JSON is quoted CSV"
expect_rc 0 "checkpoints csv" -- $LLC export --run r1 --what checkpoints
expect_eq "$(head -n 1 "$TMP/out")" "run,step,train_loss,test_loss,n_params" "checkpoints csv header"
expect_eq "$(sed -n 2p "$TMP/out" | cut -d, -f1,2,5)" "r1,0,26561" "first checkpoint row"
expect_eq "$(($(wc -l < "$TMP/out") - 1))" "3" "3 checkpoints"
expect_rc 0 "log csv" -- $LLC export --run r1 --what log
expect_eq "$(head -n 1 "$TMP/out")" "run,step,loss,lr,grad_norm,elapsed" "log csv header"
expect_eq "$(($(wc -l < "$TMP/out") - 1))" "$(q "SELECT count(*) FROM train_log WHERE run='r1'")" "every log row"
expect_rc 0 "step filter" -- $LLC export --run r1 --step 20
expect_eq "$(($(wc -l < "$TMP/out") - 1))" "3" "3 curve points at step 20"
expect_rc 0 "csv to file" -- $LLC export --run r1 --out "$TMP/c.csv"
$LLC export --run r1 > "$TMP/c2.csv"
expect_eq "$(cmp "$TMP/c.csv" "$TMP/c2.csv" && echo same)" "same" "--out writes what stdout gets"

# JSON
for w in curves estimates checkpoints log; do
    expect_rc 0 "$w json" -- $LLC export --run r1 --what $w --format json
    cp "$TMP/out" "$TMP/$w.json"
done
n=$(grep -c '"llc_std":' "$TMP/curves.json")
expect_eq "$n" "$(q "SELECT count(*) FROM curves WHERE run='r1'")" "curves json has every point (grep)"
if [ -n "$PY" ]; then
    for w in curves estimates checkpoints log; do
        expect_rc 0 "$w json parses" -- $PY -m json.tool "$TMP/$w.json"
    done
    # every curve point of the store, value for value
    expect_rc 0 "json == store" -- $PY -c '
import json, sqlite3, sys
got = {(p["target"], p["data"], p["step"]): (p["llc_mean"], p["llc_std"]) for p in json.load(open(sys.argv[1]))}
db = sqlite3.connect(sys.argv[2])
want = {(t, d, s): (m, sd) for t, d, s, m, sd in db.execute("SELECT target, data, step, llc_mean, llc_std FROM curves WHERE run=?", ("r1",))}
assert got == want, (len(got), len(want))
est = json.load(open(sys.argv[3]))
assert len(est) == db.execute("SELECT count(*) FROM estimates WHERE run=?", ("r1",)).fetchone()[0]
assert all(len(e["chain_llc"]) == e["chains"] == 2 and isinstance(e["settings"], dict) for e in est)
assert [e["llc_mean"] for e in est] == [r[0] for r in db.execute("SELECT llc_mean FROM estimates WHERE run=? ORDER BY target, data, step, id", ("r1",))]
' "$TMP/curves.json" "$LLC_DB" "$TMP/estimates.json"
fi

# one checkpoint: raw float32 + tensor table
expect_rc 0 "checkpoint export" -- $LLC export --run r1 --what checkpoints --step 20 --out "$TMP/ck"
expect_eq "$(wc -c < "$TMP/ck.bin" | tr -d ' ')" "$((4 * 26561))" ".bin is 4 x n_params bytes"
a=$(od -An -v -tx1 "$TMP/ck.bin" | tr -d ' \n' | tr a-f A-F | md5sum)
b=$(q "SELECT hex(params) FROM checkpoints WHERE run='r1' AND step=20" | tr -d '\n' | md5sum)
expect_eq "$a" "$b" ".bin equals the stored BLOB"
grep -q '"dtype":	"<f4"' "$TMP/ck.json" && grep -q '"tensors":' "$TMP/ck.json" && grep -q '"config":' "$TMP/ck.json"
expect_eq "$?" "0" ".json has dtype, tensors, config"
if [ -n "$PY" ]; then
    expect_rc 0 "tensor table covers the vector" -- $PY -c '
import json, sys
m = json.load(open(sys.argv[1]))
off = 0
for t in m["tensors"]:
    n = 1
    for d in t["shape"]: n *= d
    assert t["offset"] == off and t["size"] == n, t
    off += n
assert off == m["n_params"] == 26561 and m["step"] == 20 and m["run"] == "r1" and m["config"]["task"] == "sort"
' "$TMP/ck.json"
fi

# bad input
expect_rc 2 "no run" -- $LLC export
expect_out "--run ID is required" "names --run"
expect_rc 5 "unknown run" -- $LLC export --run nope
expect_out "no run 'nope'" "names the run"
expect_rc 2 "bad what" -- $LLC export --run r1 --what weights
expect_out "curves, estimates, checkpoints or log" "lists the choices"
expect_rc 2 "bad format" -- $LLC export --run r1 --format xml
expect_rc 2 "bad step" -- $LLC export --run r1 --step x
expect_rc 2 "checkpoint without --out" -- $LLC export --run r1 --what checkpoints --step 20
expect_out "--out PREFIX" "asks for a prefix"
expect_rc 5 "missing checkpoint" -- $LLC export --run r1 --what checkpoints --step 21 --out "$TMP/x"
expect_out "no checkpoint at step 21" "names the step"
expect_rc 3 "unwritable out" -- $LLC export --run r1 --out /nonexistent/dir/x.csv
expect_rc 3 "unwritable prefix" -- $LLC export --run r1 --what checkpoints --step 20 --out /nonexistent/dir/ck
expect_rc 5 "no store" -- $LLC export --run r1 --db "$TMP/none.db"
echo "hello" > "$TMP/text.db"
expect_rc 8 "not a store" -- $LLC export --run r1 --db "$TMP/text.db"
finish cli_export
