#!/bin/sh
# The MPI build against one process: mpirun -n 3 (rank 0 and two workers)
# estimate and probe on a small sort run give the same rows, blobs included
# (tests/store_rows.c prints every row; only ids, creation times and wall
# seconds differ), whatever the threads per rank; a worker killed with
# SIGKILL mid-estimate ends the job with one line from rank 0, leaves only
# complete estimates, and the same command then finishes to the same rows.
# A sweep of 4 runs trained by the workers gives the one-process rows; a
# worker killed mid-sweep leaves only whole checkpoints, and the same
# command resumes the interrupted runs to the same rows.
# make check builds the MPI binary (LLC_MPI) and the row printer (STORE_ROWS).
. tests/cli/clitest.sh
MPI_LLC=${LLC_MPI:-./build/llc-mpi}
ROWS=${STORE_ROWS:-./build/tests/store_rows}
if [ ! -x "$MPI_LLC" ] || [ ! -x "$ROWS" ] || ! command -v mpirun >/dev/null; then
    echo "SKIP: cli_mpi needs the MPI build ($MPI_LLC: make mpi) and $ROWS (make check builds both)"
    finish cli_mpi; exit
fi
case "$MPI_LLC" in /*) ;; *) MPI_LLC="$PWD/$MPI_LLC" ;; esac
# No CMA single copy: a worker SIGKILLed while rank 0 copies a large result
# from it makes Open MPI end rank 0 without our line (llc/MPI.md, "Faults").
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 \
    OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under make check SANITIZE=1 the ranks' leak report is off: Open MPI's
# plugins keep memory to the end and are unloaded before LeakSanitizer walks
# the heap, so their leaks cannot even be attributed. Memory errors are
# still caught; leaks of our own code are checked by the one-process runs.
MPIRUN="mpirun --oversubscribe -n 3 -x ASAN_OPTIONS=detect_leaks=0"
unset LLC_DB
# kill_rank2_after N TABLE DB ARGS...: run llc-mpi ARGS --db DB under mpirun,
# SIGKILL the worker of rank 2 once DB holds N rows of TABLE; mpirun must fail
kill_rank2_after() {
    want=$1; table=$2; db=$3; shift 3
    $MPIRUN "$MPI_LLC" "$@" --db "$db" >"$TMP/out" 2>"$TMP/err" &
    mp=$!
    n=0; i=0
    while [ "$n" -lt "$want" ] && [ $i -lt 600 ] && kill -0 $mp 2>/dev/null; do
        sleep 0.1; i=$((i + 1))
        n=$("$ROWS" "$db" 2>/dev/null | grep -c "^$table|")
    done
    for p in $(pgrep -P $mp); do
        [ "$(tr '\0' '\n' <"/proc/$p/environ" | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')" = 2 ] && kill -9 "$p"
    done
    wait $mp; rc=$?
    [ "$rc" -ne 0 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: killed worker: mpirun exited 0"; }
}
A="$TMP/one.db"; B="$TMP/mpi.db"
expect_rc 0 "train" -- $LLC train --task sort --run r1 --steps 300 --set ckpt_linear=4 --set ckpt_log=0 --quiet --db "$A"
cp "$A" "$B"; cp "$A" "$TMP/kill.db"; cp "$A" "$TMP/whole.db"; cp "$A" "$TMP/prog.db"

# automatic step size chosen once per target (a unit each), then a checkpoint a unit
E="--run r1 --head 0.1 --head 0.2 --chains 2 --draws 20 --burnin 10 --thin 1 --quiet"
expect_rc 0 "estimate, one process" -- $LLC estimate $E --threads 2 --db "$A"
expect_rc 0 "estimate, mpirun -n 3" -- $MPIRUN "$MPI_LLC" estimate $E --threads 1 --db "$B"
expect_out "8 estimates written" "rank 0 counts the workers' estimates"
# stderr is a pipe under mpirun: progress comes as whole lines, the last at 100%
expect_rc 0 "estimate, mpirun -n 3, with progress" -- $MPIRUN "$MPI_LLC" estimate --run r1 --head 0.1 --chains 2 \
    --draws 20 --burnin 10 --thin 1 --steps 300 --force --db "$TMP/prog.db"
expect_out "^estimate r1 [0-9]+/[0-9]+ \(100%\)" "rank 0 prints progress lines under mpirun"
PO="--run r1 --seqs 32 --quiet --format csv"
expect_rc 0 "probe, one process" -- $LLC probe $PO --threads 1 --db "$A"
expect_rc 0 "probe, mpirun -n 3" -- $MPIRUN "$MPI_LLC" probe $PO --threads 2 --db "$B"
"$ROWS" "$A" >"$TMP/one.rows"; "$ROWS" "$B" >"$TMP/mpi.rows"
expect_eq "$(grep -c '^estimate_chains|' "$TMP/mpi.rows")" "16" "8 estimates x 2 chains stored"
expect_eq "$(grep -c '^probes|' "$TMP/mpi.rows")" "$(grep -c '^probes|' "$TMP/one.rows")" "as many probe rows"
if cmp -s "$TMP/one.rows" "$TMP/mpi.rows"; then P=$((P + 1)); else
    F=$((F + 1)); echo "FAIL: the MPI store differs from one process's:"; diff "$TMP/one.rows" "$TMP/mpi.rows" | head -c 800; fi

# a worker killed mid-estimate: rank 0 says so, only whole estimates are kept
K="--run r1 --model --heads all --eps 1e-4 --chains 2 --draws 100 --burnin 20 --thin 1 --threads 1 --quiet"
kill_rank2_after 1 estimates "$TMP/kill.db" estimate $K
expect_out "^llc: estimate: stopped by SIGTERM \(under mpirun: a rank ended" "rank 0 reports it in one line"
"$ROWS" "$TMP/kill.db" >"$TMP/kill.rows"
ne=$(grep -c '^estimates|' "$TMP/kill.rows"); nc=$(grep -c '^estimate_chains|' "$TMP/kill.rows")
expect_eq "$nc" "$((2 * ne))" "only complete estimates ($ne) are stored, each with its 2 chains"
[ "$ne" -lt 20 ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: the kill came after all 20 estimates"; }
expect_rc 0 "the re-run finishes the rest" -- $MPIRUN "$MPI_LLC" estimate $K --db "$TMP/kill.db"
expect_out "$((20 - ne)) estimates written, $ne already present" "skips what rank 0 committed"
expect_rc 0 "the same estimate, one process, uninterrupted" -- $LLC estimate $K --db "$TMP/whole.db"
"$ROWS" "$TMP/kill.db" >"$TMP/kill.rows"; "$ROWS" "$TMP/whole.db" >"$TMP/whole.rows"
if cmp -s "$TMP/kill.rows" "$TMP/whole.rows"; then P=$((P + 1)); else
    F=$((F + 1)); echo "FAIL: killed and re-run differs from uninterrupted:"; diff "$TMP/kill.rows" "$TMP/whole.rows" | head -c 800; fi

# a sweep: one run a unit, trained by the workers, written by rank 0
S="--task sort --steps 300 --set ckpt_linear=4 --set ckpt_log=0 --vary seed=1..2 --vary lr=0.001,0.002 --group g --quiet"
expect_rc 0 "sweep, one process" -- $LLC sweep $S --jobs 2 --db "$TMP/sw1.db"
expect_rc 0 "sweep, mpirun -n 3" -- $MPIRUN "$MPI_LLC" sweep $S --db "$TMP/swm.db"
expect_out "4 runs \(4 trained, 0 already done, on 2 worker ranks\)" "the workers trained the 4 runs"
expect_rc 0 "sweep, mpirun -n 3, again" -- $MPIRUN "$MPI_LLC" sweep $S --db "$TMP/swm.db"
expect_out "4 runs \(0 trained, 4 already done, on 2 worker ranks\)" "the finished runs are skipped"
"$ROWS" "$TMP/sw1.db" >"$TMP/sw1.rows"; "$ROWS" "$TMP/swm.db" >"$TMP/swm.rows"
nck=$(grep -c '^checkpoints|' "$TMP/sw1.rows")
expect_eq "$(grep -c '^checkpoints|' "$TMP/swm.rows")" "$nck" "every checkpoint stored ($nck)"
if cmp -s "$TMP/sw1.rows" "$TMP/swm.rows"; then P=$((P + 1)); else
    F=$((F + 1)); echo "FAIL: the MPI sweep differs from one process's:"; diff "$TMP/sw1.rows" "$TMP/swm.rows" | head -c 800; fi

# a worker killed mid-sweep: whole checkpoints only, the re-run resumes
kill_rank2_after 3 checkpoints "$TMP/swk.db" sweep $S
expect_out "^llc: sweep: stopped by SIGTERM \(under mpirun: a rank ended" "rank 0 reports it in one line"
"$ROWS" "$TMP/swk.db" >"$TMP/swk.rows"
nk=$(grep -c '^checkpoints|' "$TMP/swk.rows")
[ "$nk" -lt "$nck" ] && P=$((P + 1)) || { F=$((F + 1)); echo "FAIL: the kill came after all $nck checkpoints"; }
nbad=$(grep -E '^(checkpoints|train_log)\|' "$TMP/swk.rows" | grep -cvxF -f "$TMP/sw1.rows")
expect_eq "$nbad" "0" "the $nk checkpoints and their log rows kept are those of the whole sweep"
expect_rc 0 "the re-run resumes the rest" -- $MPIRUN "$MPI_LLC" sweep $S --db "$TMP/swk.db"
"$ROWS" "$TMP/swk.db" >"$TMP/swk.rows"
if cmp -s "$TMP/sw1.rows" "$TMP/swk.rows"; then P=$((P + 1)); else
    F=$((F + 1)); echo "FAIL: killed and re-run sweep differs from one process:"; diff "$TMP/sw1.rows" "$TMP/swk.rows" | head -c 800; fi
finish cli_mpi
