#!/bin/sh
# Self-consistency of the minibatch estimates on transformers, where no exact
# sampler is affordable: the shipped sort and icl configs are trained into a
# scratch store; at the first, a middle (the checkpoint nearest half the last
# step) and the last checkpoint, `llc estimate --check-bias` estimates the
# whole model and two fixed heads with the defaults, then again with the SGLD
# batch x4 and with eps/2 (each chain as long as the estimate's). A check
# passes when lambda-hat moves by at most max(5%, 2 combined standard
# errors, 0.05) under both changes. Prints one table
# and exits 1 if any check fails (or with llc's code if an llc command fails).
#   LLC               the llc binary (default build/llc)
#   SELFCHECK_SCALE   full (default) or tiny (short runs, few draws, fixed eps:
#                     the same commands in seconds, for make check)
#   SELFCHECK_OPTS    extra llc estimate options, appended last (they win):
#                     e.g. '--metropolis on'; nothing = the defaults
#   SELFCHECK_DB      the store (default build/selfcheck/SCALE.db); it keeps
#                     the runs and estimates, so a rerun with the same options
#                     skips what is done. Keep one store per option set: the
#                     table reads the newest checked estimate of each target.
#   SELFCHECK_RUNS    the shipped configs to check (default 'sort icl')
#   SELFCHECK_THREADS threads per estimate (default 2; the numbers do not
#                     depend on it)
# Heads: fixed, one pair per config, so that the check costs no all-heads
# pass: sort (one layer) 0.1 and 0.3, icl one head per layer, 0.1 and 1.3;
# SELFCHECK_HEADS_sort and SELFCHECK_HEADS_icl override them (empty: the
# model only).
LLC=${LLC:-build/llc}
case "$LLC" in /*) ;; *) LLC="$PWD/$LLC" ;; esac
SCALE=${SELFCHECK_SCALE:-full}
case "$SCALE" in full|tiny) ;; *) echo "SELFCHECK_SCALE must be full or tiny, not '$SCALE'" >&2; exit 2 ;; esac
DB=${SELFCHECK_DB:-build/selfcheck/$SCALE.db}
RUNS=${SELFCHECK_RUNS:-sort icl}
THREADS=${SELFCHECK_THREADS:-2}
HEADS_sort=${SELFCHECK_HEADS_sort-0.1 0.3}
HEADS_icl=${SELFCHECK_HEADS_icl-0.1 1.3}
command -v sqlite3 >/dev/null || { echo "selfcheck needs the sqlite3 program (apt-get install sqlite3)" >&2; exit 2; }
mkdir -p "$(dirname "$DB")"
export LLC_DB="$DB"
# tiny: 40 training steps of a narrower model (d_model 16, the same heads),
# 4 checkpoints, short chains at a fixed eps
if [ "$SCALE" = tiny ]; then
    TRAIN="--steps 40 --set ckpt_linear=4 --set ckpt_log=0 --set d_model=16"
    TRAIN_sort="$TRAIN --set d_head=4"; TRAIN_icl="$TRAIN --set d_head=2"
    EST="--eps 1e-3 --burnin 60 --thin 1 --chains 4 --draws 30"
else
    TRAIN_sort=""; TRAIN_icl=""; EST=""
fi
code=0 # the first failing llc command's exit code
# the first, the middle (nearest half the last step; the earlier on a tie) and
# the last checkpoint of run $1, separated by $2
pick_steps() {
    "$LLC" export --run "$1" --what checkpoints --format csv 2>/dev/null | awk -F, -v sep="$2" 'NR > 1 {s[++n] = $2}
        END {m = 1; for (i = 2; i <= n; i++) if ((2 * s[i] - s[n]) ^ 2 < (2 * s[m] - s[n]) ^ 2) m = i
             if (n) print s[1] sep s[m] sep s[n]}'
}
T0=$(date +%s)
for run in $RUNS; do
    case "$run" in sort|icl) ;; *) echo "SELFCHECK_RUNS: '$run' is not sort or icl" >&2; exit 2 ;; esac
    if ! "$LLC" runs | grep -q "^$run "; then
        eval "train=\$TRAIN_$run"
        # shellcheck disable=SC2086
        "$LLC" train --task "$run" --run "$run" $train --quiet || { code=$?; continue; }
    fi
    steps=$(pick_steps "$run" ,)
    eval "heads=\$HEADS_$run"
    for target in model $heads; do
        if [ "$target" = model ]; then sel="--model"; else sel="--head $target"; fi
        t0=$(date +%s)
        # shellcheck disable=SC2086
        "$LLC" estimate --run "$run" --steps "$steps" $sel --check-bias --threads "$THREADS" --quiet $EST \
            $SELFCHECK_OPTS >/dev/null || { rc=$?; [ "$code" -eq 0 ] && code=$rc; }
        echo "selfcheck: $run target $target at steps $steps: $(($(date +%s) - t0)) s"
    done
done
# one line per (run, step, target): the newest estimate stored with the check;
# se is the estimate's standard error (std over the chains that did not diverge)
for run in $RUNS; do
    eval "heads=\$HEADS_$run"
    for step in $(pick_steps "$run" " "); do
        for target in model $heads; do
            row=$(sqlite3 -separator '|' "$DB" "SELECT llc_mean, llc_std, chains - n_diverged,
                  json_extract(diagnostics, '\$.bias_check.llc_batch'), json_extract(diagnostics, '\$.bias_check.llc_half'),
                  eps, json_extract(diagnostics, '\$.bias_check.pass') FROM estimates
                  WHERE run = '$run' AND step = $step AND target = '$target'
                  AND json_extract(settings, '\$.check_bias') = 1 ORDER BY id DESC LIMIT 1")
            echo "$run|$step|$target|$row"
        done
    done
done | awk -F'|' '
    function mv(b) { return ($4 == "" || b == "") ? "-" : sprintf("%+.1f%%", 100 * (b - $4) / ($4 < 0 ? -$4 : $4)) }
    function num(x, f) { return x == "" ? "-" : sprintf(f, x) }
    BEGIN { printf "%-5s %6s %-6s %10s %8s %10s %8s %10s %8s %9s %s\n", "run", "step", "target", "llc", "se",
                   "batch_x4", "move", "eps/2", "move", "eps", "verdict" }
    { v = $10 == "" ? "missing" : ($10 == 1 ? "pass" : "FAIL")
      se = ($5 != "" && $6 >= 2) ? $5 / sqrt($6) : ""
      printf "%-5s %6s %-6s %10s %8s %10s %8s %10s %8s %9s %s\n", $1, $2, $3, num($4, "%.4f"), num(se, "%.4f"),
             num($7, "%.4f"), mv($7), num($8, "%.4f"), mv($8), num($9, "%.3g"), v }' > "$DB.table"
cat "$DB.table"
n=$(($(wc -l < "$DB.table") - 1))
fails=$(grep -cE ' (FAIL|missing)$' "$DB.table")
echo "selfcheck: $n checks, $fails not passed, $(($(date +%s) - T0)) s (scale $SCALE, options '${SELFCHECK_OPTS:-}')"
[ "$code" -ne 0 ] && exit "$code"
[ "$fails" -eq 0 ] || exit 1
