#!/bin/sh
# Smoke test of llc bench (not a timing test: it asserts the report's
# structure, never a speed): the JSON has the fields tests/bench/PERFORMANCE.md
# documents and comparisons rely on, with finite positive values, for two
# small configs.
. tests/cli/clitest.sh
PY=/usr/bin/python3
expect_rc 0 "bench S,DLN100" -- $LLC bench --configs data/configs/bench/S.json,data/configs/bench/DLN100.json \
    --draws 10 --torch none --json "$TMP/b.json"
expect_out "sgemm 1024\^3 ceiling" "prints the ceiling"
expect_out "^S " "a row for S"
expect_out "^DLN100 " "a row for DLN100"
if [ -x "$PY" ]; then
    expect_rc 0 "json fields" -- $PY -c '
import json, math, sys
j = json.load(open(sys.argv[1]))
assert j["ceiling_gflops"] > 0
# what it was measured on, for comparing bench.json files over time
import re
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["date"]), j["date"]
assert j["llc_version"] and j["cpu"] and j["openblas"].startswith("OpenBLAS"), j
c = {x["config"]: x for x in j["configs"]}
assert set(c) == {"S", "DLN100"}, c.keys()
for x in c.values():
    for k in ("gflops", "pct_of_ceiling", "pct_of_round_ceiling", "ceiling_gflops_round", "llc_steps_s",
              "llc_steps_s_1thread", "flops_per_step", "fwd_bwd_ms", "train_tokens_s", "peak_rss_mb", "ckpt_bytes"):
        assert x[k] > 0 and math.isfinite(x[k]), (x["config"], k, x[k])
    assert x["torch_steps_s"] is None and x["ratio"] is None
assert c["S"]["n_params"] == 26561 and c["DLN100"]["n_params"] == 20000
# storage (sizes, not times): one more checkpoint costs under 5% over raw float32
for x in c.values():
    assert 0 <= x["ckpt_overhead_pct"] < 5, (x["config"], x["ckpt_overhead_pct"])
assert c["S"]["llc_steps_s_head"] > 0 and c["S"]["head_params"] < c["S"]["n_params"]
assert c["S"]["llc_steps_s_head_shared"] > 0 and c["DLN100"].get("llc_steps_s_head_shared") is None
# FLOPs of the DLN: 3 x fwd - input grad = 2*B*(3*2 - 1)*100*100 with B = 500
assert abs(c["DLN100"]["flops_per_step"] - 2 * 500 * 5 * 100 * 100) < 1, c["DLN100"]["flops_per_step"]
' "$TMP/b.json"
fi
# --rounds: medians over rounds, each round listed
expect_rc 0 "bench --rounds 3" -- $LLC bench --configs data/configs/bench/DLN100.json --rounds 3 --draws 10 \
    --torch none --json "$TMP/r.json"
expect_out "medians of 3 rounds" "says the numbers are medians of the rounds"
if [ -x "$PY" ]; then
    expect_rc 0 "json rounds" -- $PY -c '
import json, statistics, sys
c = json.load(open(sys.argv[1]))["configs"][0]
r = c["rounds"]
assert len(r) == 3 and all(x["llc_steps_s"] > 0 for x in r), r
assert c["llc_steps_s"] == statistics.median(x["llc_steps_s"] for x in r), c
assert abs(c["gflops"] - c["llc_steps_s"] * c["flops_per_step"] / 1e9) < 1e-9 * c["gflops"]
assert c["pct_of_round_ceiling"] == statistics.median(x["pct_of_round_ceiling"] for x in r), c
' "$TMP/r.json"
fi
# --curve: a tiny sort config trained into a scratch store and estimated for
# the model and every head at each of its 3 checkpoints; the store is removed
cat > "$TMP/tiny.json" <<'EOF'
{"task": "sort", "seed": 1, "data": {"list_len": 5, "vocab": 16},
 "model": {"n_layers": 1, "n_heads": 2, "d_model": 16, "d_head": 8},
 "train": {"steps": 40, "batch": 16, "ckpt_every": 20, "ckpt_linear": 0, "ckpt_log": 0}}
EOF
nscratch=$(ls -d /tmp/llc-bench-curve-* 2>/dev/null | wc -l)
expect_rc 0 "bench --curve" -- $LLC bench --configs data/configs/bench/DLN100.json --draws 10 --torch none \
    --curve "$TMP/tiny.json" --json "$TMP/c.json"
expect_out "^curve: .*3 checkpoints x 3 targets" "prints the curve's line"
expect_out "9 points in" "and its points"
if [ -x "$PY" ]; then
    expect_rc 0 "json curve" -- $PY -c '
import json, sys
c = json.load(open(sys.argv[1]))["curve"]
assert (c["checkpoints"], c["targets"], c["points"]) == (3, 3, 9), c
assert (c["chains"], c["draws"], c["burnin"]) == (4, 10, 5), c
for k in ("seconds", "train_seconds", "seconds_model", "seconds_heads", "peak_rss_mb"):
    assert c[k] > 0, (k, c)
assert c["seconds_model"] + c["seconds_heads"] <= c["seconds"], c
' "$TMP/c.json"
fi
expect_eq "$(ls -d /tmp/llc-bench-curve-* 2>/dev/null | wc -l)" "$nscratch" "the curve's scratch store removed"
printf '{"task": "sort", "model": {"n_heads": 0}}' > "$TMP/bad.json"
# --probes: every probe at every checkpoint of the tiny config, 1 and 2
# threads, 3 interleaved repetitions; the values' checksums agree
nscratch=$(ls -d /tmp/llc-bench-probes-* 2>/dev/null | wc -l)
expect_rc 0 "bench --probes" -- $LLC bench --configs none --probes "$TMP/tiny.json" --json "$TMP/p.json"
expect_out "^probes: .*3 checkpoints x 2 heads, 12 probes" "prints the probe sweep's line"
expect_out "^ +1 thread: .*checkpoints/s.*circuits.*patterns.*ablation.*checksum [0-9a-f]{16}$" "a row for 1 thread"
expect_out "^ +2 threads: .*checksum [0-9a-f]{16}$" "a row for 2 threads"
expect_out "probe values bit-identical across thread counts" "says the values agree"
if [ -x "$PY" ]; then
    expect_rc 0 "json probes" -- $PY -c '
import json, re, sys
p = json.load(open(sys.argv[1]))["probes"]
assert (p["checkpoints"], p["heads"], p["probes"], p["reps"]) == (3, 2, 12, 3), p
assert p["values"] == 3 * (12 * 2 + 3) and p["identical"] is True, p
r = p["runs"]
assert [x["threads"] for x in r] == [1, 2], r
for x in r:
    for k in ("seconds", "cpu_seconds", "checkpoints_s", "seconds_patterns", "seconds_ablation"):
        assert x[k] > 0, (k, x)
    assert x["seconds_circuits"] >= 0, x
    assert abs(x["checkpoints_s"] * x["seconds"] - 3) < 1e-9, x
    assert re.fullmatch(r"[0-9a-f]{16}", x["checksum"]), x
assert len({x["checksum"] for x in r}) == 1, r
' "$TMP/p.json"
fi
expect_eq "$(ls -d /tmp/llc-bench-probes-* 2>/dev/null | wc -l)" "$nscratch" "the probes' scratch store removed"
expect_rc 3 "missing probes config" -- $LLC bench --configs none --probes "$TMP/none.json"
expect_out "--probes .*no such readable config" "names the option"
expect_rc 2 "bad probes config" -- $LLC bench --configs none --probes "$TMP/bad.json"
expect_out "bench: probes: training .*bad.json failed" "passes on the trainer's message"
expect_rc 0 "bench --configs none --curve" -- $LLC bench --configs none --draws 4 --curve "$TMP/tiny.json"
expect_out "^ +9 points in" "the ceiling and the curve alone"
expect_rc 3 "missing curve config" -- $LLC bench --configs data/configs/bench/DLN100.json --torch none \
    --curve "$TMP/none.json"
expect_out "no such readable config" "names what was wrong"
expect_rc 2 "bad curve config" -- $LLC bench --configs data/configs/bench/DLN100.json --draws 10 --torch none \
    --curve "$TMP/bad.json"
expect_out "bench: curve: training .*bad.json failed: .*n_heads" "passes on the trainer's message"
# --mh-cost: the minibatch default against plain SGLD on head 0.1 of the tiny
# config, one repeat: the fields, the ratios of the medians, the store removed
nscratch=$(ls -d /tmp/llc-bench-mh-* 2>/dev/null | wc -l)
expect_rc 0 "bench --mh-cost" -- $LLC bench --configs none --mh-cost "$TMP/tiny.json" --mh-reps 1 --json "$TMP/m.json"
expect_out "^mh-cost: .*head 0.1 at step 200, medians of 1 interleaved" "prints the cost's line"
expect_out "SGLD steps/s [0-9]+ / [0-9]+ \(" "with the steps/s of both samplers"
if [ -x "$PY" ]; then
    expect_rc 0 "json mh_cost" -- $PY -c '
import json, sys
m = json.load(open(sys.argv[1]))["mh_cost"]
assert m["reps"] == 1, m
for k in ("steps_s", "seconds", "cpu_seconds", "estimate_seconds"):
    a, b, r = m[k + "_plain"], m[k + "_default"], m[k + "_ratio"]
    assert a > 0 and b > 0, (k, m)
    assert abs(r - (a / b if k == "steps_s" else b / a)) < 1e-9 * r, (k, m)
' "$TMP/m.json"
fi
expect_eq "$(ls -d /tmp/llc-bench-mh-* 2>/dev/null | wc -l)" "$nscratch" "the cost's scratch store removed"
expect_rc 2 "bad mh-reps" -- $LLC bench --configs none --mh-cost "$TMP/tiny.json" --mh-reps 0
expect_rc 2 "bad rounds" -- $LLC bench --rounds 0 --torch none
expect_rc 3 "missing config" -- $LLC bench --configs "$TMP/none.json" --torch none
expect_rc 2 "bad draws" -- $LLC bench --draws -1
finish cli_bench
