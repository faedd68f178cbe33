#!/bin/sh
# Golden CLI test of llc estimate --check-bias: on a short run of the shipped
# sort config, every estimate is repeated with the SGLD batch x4 and with
# eps/2; the verdict is printed and stored with the estimate (diagnostics
# bias_check), and the settings key records that the check was asked for.
. tests/cli/clitest.sh
S="--eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 40 --quiet --threads 2"

expect_rc 0 "train" -- $LLC train --task sort --run b1 --steps 40 --set ckpt_linear=2 --set ckpt_log=0 --quiet
expect_rc 0 "estimate with --check-bias" -- $LLC estimate --run b1 $S --steps 40 --model --head 0.1 --check-bias
expect_out "b1 step 40 target model: llc .*batch 128: .*eps/2: .*bias check (pass|FAIL)" "verdict printed per estimate"
expect_out "bias check: [0-2] of 2 estimates moved by more than max\(5%, 2 se, 0.05\)" "summary line names the floor"
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE run='b1' AND json_extract(diagnostics, '\$.bias_check.batch') = 128 AND json_extract(diagnostics, '\$.bias_check.eps_half') = 5e-5 AND json_type(diagnostics, '\$.bias_check.pass') IN ('true', 'false') AND json_extract(settings, '\$.check_bias') = 1")
expect_eq "$n" "2" "verdict stored with both estimates (batch 128, eps 5e-5)"
# the same posterior: nbeta (m/log m by default for sort) must not follow the batch
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE run='b1' AND json_extract(diagnostics, '\$.bias_check.nbeta') = nbeta")
expect_eq "$n" "2" "the checks ran at the estimate's nbeta"
# automatic lengths: each re-run chain as long as the estimate's in simulated
# time (the same steps at batch x4, twice them at eps/2), the floor stored
expect_rc 0 "check with automatic lengths" -- $LLC estimate --run b1 --eps 1e-4 --burnin 0 --chains 2 --draws 40 \
    --quiet --threads 2 --steps 40 --head 0.1 --check-bias
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE run='b1' AND thin > 1 AND json_extract(diagnostics, '\$.bias_check.steps') >= 40 * thin AND json_extract(diagnostics, '\$.bias_check.steps_batch') = json_extract(diagnostics, '\$.bias_check.steps') AND json_extract(diagnostics, '\$.bias_check.steps_half') = 2 * json_extract(diagnostics, '\$.bias_check.steps') AND json_extract(diagnostics, '\$.bias_check.abs_tol') = 0.05")
expect_eq "$n" "1" "the re-runs as long as the estimate, abs_tol 0.05 stored"
# the checked estimate itself is the ordinary one: the same numbers as without the check
expect_rc 0 "estimate without the check" -- $LLC estimate --run b1 $S --steps 40 --model
a=$(sqlite3 "$LLC_DB" "SELECT group_concat(llc_mean) FROM estimates WHERE run='b1' AND target='model' ORDER BY id")
expect_eq "$(echo "$a" | tr ',' '\n' | sort -u | wc -l)" "1" "the checked estimate equals the plain one ($a)"
# --metropolis on: every minibatch step Metropolis-adjusted on its batch; recorded in the key and the row
expect_rc 2 "bad --metropolis" -- $LLC estimate --run b1 $S --steps 40 --metropolis maybe
expect_out "--metropolis must be auto, on, off or exact" "the usage error names the values"
expect_rc 0 "estimate with --metropolis on" -- $LLC estimate --run b1 $S --steps 40 --metropolis on
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE run='b1' AND metropolis = 1 AND json_extract(settings, '\$.metropolis') = 'on'")
expect_eq "$n" "1" "the Metropolis-adjusted estimate is stored under its own key"
# the default with an automatic eps: Metropolis on the batch, two steps per batch, in the key and the row
expect_rc 0 "estimate with the automatic eps" -- $LLC estimate --run b1 --steps 40 --chains 2 --draws 20
n=$(sqlite3 "$LLC_DB" "SELECT count(*) FROM estimates WHERE run='b1' AND metropolis = 1 AND eps_auto = 1 AND json_extract(settings, '\$.metropolis') = 'auto' AND json_extract(settings, '\$.mh_block') = 2 AND eps_reason LIKE 'metropolis on the batch:%chosen at step 40:%'")
expect_eq "$n" "1" "the default is Metropolis on the batch, capped by the ladder chosen once"
finish cli_bias
