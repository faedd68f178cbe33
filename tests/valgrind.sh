#!/bin/sh
# valgrind.sh - the CLI tests (tests/cli/cli_*.sh) with every llc process run
# under valgrind memcheck: invalid reads/writes, uninitialised values, and
# definite leaks. Slow (about half an hour on 2 cores): not part of make check.
#
#   sh tests/valgrind.sh                    # every tests/cli/cli_*.sh, JOBS=2 at a time
#   sh tests/valgrind.sh tests/cli/cli_train.sh # just these
#   LLC=build/llc JOBS=2 VG_KEEP=1 sh tests/valgrind.sh
#
# Run from the top of the tree after `make` (the scripts source
# tests/cli/clitest.sh and read data/). It runs the -O2 -g build/llc: valgrind
# cannot run the AddressSanitizer build in build-san/.
#
# How: the scripts run "$LLC"; LLC points at a small wrapper that execs
# valgrind on the real binary (exec: same pid, so the scripts' kill -9 $pid
# still hits the process under test). Each llc process writes its valgrind
# report to its own file (--log-file, so the scripts' checks of llc's stderr
# are unaffected); with -q a clean process leaves an empty file. An error
# also makes llc exit 99 (--error-exitcode), so the script's exit-code check
# fails too, but some invocations are not checked (background runs, pipes):
# the reports are what counts. The script exits 1 if any report is non-empty
# or any test script failed.
#
# Scripts and timing:
#  - cli_crash.sh kills llc estimate/train with SIGKILL after 0.3-1.6 s and
#    checks that a re-run completes the rows. Under valgrind (startup alone
#    takes ~1 s) the kills mostly land before the first write, so it no longer
#    tests crash safety (make check does); it is still run for the valgrind
#    coverage of its uninterrupted runs, resume, and three concurrent
#    writers. A killed process leaves no report (valgrind dies with it).
#  - cli_train.sh kills a training run after its third checkpoint; it polls
#    for up to 4 s and then kills whatever state it is in; the resume that
#    follows checks the result either way.
#  - cli_check.sh prints how long llc check took; the number means nothing
#    here. Nothing else measures time.
#  - cli_robust.sh runs llc train under `ulimit -f 300` (the full-disk case);
#    valgrind writes its log under the same limit, which is ample for a report.
#  Everything is run; nothing is skipped.
#
# OpenBLAS: the wrapper sets OPENBLAS_CORETYPE=Sandybridge (AVX, no FMA)
# unless OPENBLAS_CORETYPE is set. On an FMA3 CPU OpenBLAS picks its
# Haswell/Zen kernels, whose FMA instructions valgrind emulates through slow
# helper calls: llc train ran ~700x slower than natively under valgrind, ~25x
# with Sandybridge kernels. Those kernels round differently, well inside llc
# check's tolerances (cli/cmd_check.c measured exactly this), and every llc of
# a script uses the same ones, so bit-identity checks within a script hold.
set -u
cd "$(dirname "$0")/.." || exit 2
REAL=${LLC:-build/llc}
case "$REAL" in /*) ;; *) REAL="$PWD/$REAL" ;; esac
[ -x "$REAL" ] || { echo "valgrind.sh: $REAL not found: run make first"; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)"; exit 2; }
JOBS=${JOBS:-2}

VG=$(mktemp -d /tmp/llc-valgrind.XXXXXX)
[ "${VG_KEEP:-0}" = 1 ] || trap 'rm -rf "$VG"' EXIT
mkdir -p "$VG/logs" "$VG/out"
cat >"$VG/llc" <<EOF
#!/bin/sh
# the command line, for the report (same pid as the valgrind process below)
printf '%s\n' "\$*" >"$VG/logs/cmd.\$\$"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Sandybridge}
# set, so that train and estimate do not restart themselves to set it (the
# new image would run outside valgrind)
export OPENBLAS_NUM_THREADS=\${OPENBLAS_NUM_THREADS:-1}
exec valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
    --track-fds=no -q --num-callers=30 --log-file="$VG/logs/vg.%p" "$REAL" "\$@"
EOF
chmod +x "$VG/llc"

[ $# -gt 0 ] || set -- tests/cli/cli_*.sh
start=$(date +%s)
echo "valgrind.sh: $# scripts, $JOBS at a time, llc = $REAL (reports in $VG/logs)"
# one script per job; each prints its own tally line when done
printf '%s\n' "$@" | xargs -P "$JOBS" -I{} sh -c '
    s=$1; name=$(basename "$s" .sh); t0=$(date +%s)
    LLC="$2" sh "$s" >"$3/out/$name" 2>&1; rc=$?
    echo "$(tail -n 1 "$3/out/$name") (exit $rc, $(( $(date +%s) - t0 ))s)"
    [ "$rc" -eq 0 ] || { grep -E "^(FAIL|BROKEN)" "$3/out/$name" | head -n 20; echo "$rc" >"$3/out/$name.failed"; }
' sh {} "$VG/llc" "$VG"

bad=0
for f in "$VG"/logs/vg.*; do
    [ -s "$f" ] || continue
    bad=$((bad + 1))
    pid=${f##*.}
    echo "==== valgrind report of: llc $(cat "$VG/logs/cmd.$pid" 2>/dev/null)"
    cat "$f"
done
nproc_run=$(ls "$VG"/logs/vg.* 2>/dev/null | wc -l)
failed=$(ls "$VG"/out/*.failed 2>/dev/null | wc -l)
echo "valgrind: $nproc_run llc processes, $bad with valgrind errors, $failed scripts failed, $(( $(date +%s) - start ))s"
[ "$bad" -eq 0 ] && [ "$failed" -eq 0 ]
