#!/bin/sh
# Golden CLI tests of llc estimate / curves / theory: end to end on a small
# sort run, determinism across thread counts, weight-refined heads, a forced
# divergence, skipping and --force, and bad input.
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 4 --draws 60 --quiet"

expect_rc 0 "theory dln" -- $LLC theory --dln 5,4,5 --rank 0
expect_out "lambda 8, m 1" "Aoyagi (5,4,5): 8, 1"
expect_rc 0 "theory linreg" -- $LLC theory --linreg 10
expect_out "lambda 5, m 1" "d/2"
expect_rc 0 "theory poly" -- $LLC theory --poly 1,2
expect_out "lambda 0.25, m 1" "normal crossing 1/4"
expect_rc 2 "theory nothing" -- $LLC theory

expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 300 --set ckpt_linear=4 --set ckpt_log=0 --quiet
expect_rc 0 "estimate model" -- $LLC estimate --run r1 $S --threads 2
expect_out "4 estimates written" "one per checkpoint"
expect_rc 0 "estimate heads" -- $LLC estimate --run r1 $S --heads all --threads 2
expect_out "16 estimates written" "4 heads x 4 checkpoints"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM curves WHERE run='r1'")
expect_eq "$n" "20" "curves has model + 4 heads at 4 checkpoints"
bad=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM curves c WHERE run='r1' AND step=300 AND target != 'model' AND NOT (llc_mean > 0 AND llc_mean < (SELECT llc_mean FROM curves m WHERE m.run='r1' AND m.target='model' AND m.step=c.step))")
expect_eq "$bad" "0" "at the trained checkpoint every head rLLC is finite, positive and below the whole-model LLC"
expect_rc 0 "re-run skips" -- $LLC estimate --run r1 $S --threads 2
expect_out "0 estimates written, 4 already present" "skips existing"
# determinism: the same estimate with 1 thread, forced, must give identical numbers
before=$(sqlite3 "$LLC_DB" "SELECT group_concat(hex(trace)) FROM estimate_chains c JOIN estimates e ON e.id=c.estimate WHERE e.run='r1' AND e.target='model' ORDER BY e.step, c.chain" | md5sum)
expect_rc 0 "force with 1 thread" -- $LLC estimate --run r1 $S --threads 1 --force
after=$(sqlite3 "$LLC_DB" "SELECT group_concat(hex(trace)) FROM estimate_chains c JOIN estimates e ON e.id=c.estimate WHERE e.run='r1' AND e.target='model' ORDER BY e.step, c.chain" | md5sum)
expect_eq "$after" "$before" "traces bit-identical with 1 and 2 threads"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE run='r1' AND target='model'")
expect_eq "$n" "4" "--force replaces, no duplicates"
# base records: a head's steps reuse the pass at w* of their batch. Head 0.2
# among all targets (records from the cache, made by an earlier target) and
# alone with 1 thread (its own) must give bit-identical traces.
B="--eps 1e-4 --burnin 20 --thin 1 --chains 3 --draws 30 --quiet --steps 300 --seed 9"
traces() { sqlite3 "$LLC_DB" "SELECT group_concat(hex(trace)) FROM estimate_chains c JOIN estimates e ON e.id=c.estimate WHERE e.run='r1' AND e.target='$1' AND e.seed=9 ORDER BY c.chain" | md5sum; }
expect_rc 0 "all targets, shared records" -- $LLC estimate --run r1 $B --model --heads all --threads 2
a=$(traces 0.2)
m=$(traces model)
expect_rc 0 "head 0.2 alone" -- $LLC estimate --run r1 $B --head 0.2 --threads 1 --force
expect_eq "$(traces 0.2)" "$a" "head traces bit-identical alone and among all targets"
# the model alone keeps no records (its L_b(w*) from a plain forward pass):
# the same traces as when it made the records for the heads
expect_rc 0 "model alone" -- $LLC estimate --run r1 $B --model --threads 1 --force
expect_eq "$(traces model)" "$m" "model traces bit-identical alone and before the heads"
expect_rc 0 "curves table" -- $LLC curves --run r1 --target 0.2
expect_out "0.2 " "table lists head 0.2"
expect_rc 0 "curves csv" -- $LLC curves --run r1 --format csv
expect_out "^run,target,data,step,llc_mean,llc_std" "csv header"
expect_rc 0 "curves json" -- $LLC curves --run r1 --format json
expect_out "\"llc_mean\"" "json field"
# data-refined on another distribution, and other targets
expect_rc 0 "data-refined" -- $LLC estimate --run r1 $S --data small_gap --steps 300 --target embed --layer 0
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM curves WHERE run='r1' AND data='small_gap'")
expect_eq "$n" "2" "embed and layer 0 on small_gap"
# forced divergence
expect_rc 0 "huge eps" -- $LLC estimate --run r1 --eps 1 --burnin 0 --thin 1 --chains 2 --draws 20 --steps 300 --seed 5 --quiet
st=$(sqlite3 "$LLC_DB" "SELECT status FROM estimates WHERE run='r1' AND seed=5")
expect_eq "$st" "diverged" "a huge step size is recorded as diverged"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM curves c JOIN estimates e ON e.run=c.run AND e.step=c.step AND e.target=c.target WHERE e.seed=5 AND c.llc_mean = e.llc_mean")
expect_eq "$n" "0" "the diverged estimate is not in curves"
# bad input
expect_rc 5 "head out of range" -- $LLC estimate --run r1 --head 1.9 $S
expect_out "1.9" "names the head"
expect_rc 5 "layer out of range" -- $LLC estimate --run r1 --layer 5 $S
expect_rc 2 "zero chains" -- $LLC estimate --run r1 --chains 0
expect_rc 2 "eps <= 0" -- $LLC estimate --run r1 --eps 0
expect_rc 2 "eps negative" -- $LLC estimate --run r1 --eps -1
expect_rc 5 "unknown run" -- $LLC estimate --run nope
expect_rc 5 "unknown data" -- $LLC estimate --run r1 --data nosuch $S
expect_out "small_gap" "lists the distributions"
expect_rc 5 "missing step" -- $LLC estimate --run r1 --steps 123 $S
expect_rc 2 "bad steps spec" -- $LLC estimate --run r1 --steps x:y $S
expect_rc 2 "heads other than all" -- $LLC estimate --run r1 --heads some
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE run='r1'")
expect_eq "$n" "28" "bad input wrote nothing"

# estimates deleted by hand with sqlite3 (no cascade to estimate_chains):
# the reused ids must not collide with the orphaned chain rows
cp "$LLC_DB" "$TMP/orphan.db"
sqlite3 "$TMP/orphan.db" "DELETE FROM estimates"
expect_rc 0 "re-estimate after a manual DELETE FROM estimates" -- $LLC estimate --db "$TMP/orphan.db" --run r1 --steps 0 $S
expect_eq "$(sqlite3 "$TMP/orphan.db" "SELECT count(*) FROM estimate_chains c JOIN estimates e ON e.id = c.estimate")" "4" "4 chain rows for the new estimate"
# a store of an older schema (v2: no v3 columns, no v4 checksums) is upgraded
# by the first command that opens it, even a reading one, and keeps its estimates
cp "$LLC_DB" "$TMP/v2.db"
sqlite3 "$TMP/v2.db" "ALTER TABLE estimates DROP COLUMN metropolis; ALTER TABLE estimates DROP COLUMN accept_rate;
  ALTER TABLE estimates DROP COLUMN exact_loss; ALTER TABLE estimates DROP COLUMN paired;
  ALTER TABLE estimates DROP COLUMN sim_time; ALTER TABLE estimates DROP COLUMN steps_capped;
  ALTER TABLE estimate_chains DROP COLUMN burnin; ALTER TABLE estimate_chains DROP COLUMN thin;
  ALTER TABLE checkpoints DROP COLUMN params_sum; ALTER TABLE train_state DROP COLUMN state_sum;
  DROP VIEW probe_curves; DROP TABLE probes;
  DROP VIEW trajectory_xy; DROP TABLE stages; DROP TABLE clusters; DROP TABLE trajectory;
  DROP TABLE run_vary; DROP TABLE run_groups; DROP TABLE groups; PRAGMA user_version=2;"
expect_rc 0 "llc curves on a v2 store" -- $LLC curves --db "$TMP/v2.db" --run r1
expect_eq "$(sqlite3 "$TMP/v2.db" "PRAGMA user_version")" "7" "upgraded to the current schema (v7) by a reading command"
expect_eq "$(sqlite3 "$TMP/v2.db" "SELECT count(*) FROM checkpoints WHERE params_sum IS NULL")" "0" "checksums computed by the upgrade"
expect_rc 0 "the upgraded store's checkpoints read back" -- $LLC estimate --db "$TMP/v2.db" --run r1 --steps 0 $S --draws 21
expect_eq "$(sqlite3 "$TMP/v2.db" "SELECT count(*) FROM estimates WHERE metropolis IS NULL")" "$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates")" "old estimates kept, new columns NULL"
finish cli_estimate
