#!/bin/sh
# Smoke test of llc bench (not a timing test: it asserts the report's
# structure, never a speed): the JSON has the fields the README and CI
# comparisons rely on, with finite positive values, for two small configs.
. tests/clitest.sh
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
expect_rc 2 "bad rounds" -- $LLC bench --rounds 0 --torch none
expect_rc 3 "missing config" -- $LLC bench --configs "$TMP/none.json" --torch none
expect_rc 2 "bad draws" -- $LLC bench --draws -1
finish cli_bench
