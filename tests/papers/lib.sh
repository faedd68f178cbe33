# lib.sh - sourced by tests/papers/paper_*.sh: one study in a scratch store.
#   LLC          the llc binary (default build/llc)
#   PAPER_OUT    where the store and the reports go (default build/papers)
#   PAPER_SCALE  full (default) or tiny (a fast check of the same commands)
# Each study starts from an empty store build/papers/NAME.db, runs llc
# commands only, then `llc paper NAME` writes NAME.html and NAME.md.
set -e
LLC=${LLC:-build/llc}
case "$LLC" in /*) ;; *) LLC="$PWD/$LLC" ;; esac
PAPER_OUT=${PAPER_OUT:-build/papers}
PAPER_SCALE=${PAPER_SCALE:-full}
case "$PAPER_SCALE" in full|tiny) ;; *) echo "PAPER_SCALE must be full or tiny, not '$PAPER_SCALE'" >&2; exit 2 ;; esac
THREADS=${PAPER_THREADS:-2}
mkdir -p "$PAPER_OUT"
export LLC_DB="$PAPER_OUT/$PAPER.db"
rm -f "$LLC_DB" "$LLC_DB-wal" "$LLC_DB-shm"
T0=$(date +%s)
# full or tiny: pick the value of the scale
sz() { if [ "$PAPER_SCALE" = tiny ]; then echo "$2"; else echo "$1"; fi; }
say() { echo "paper $PAPER: $*"; }
q() { "$LLC" "$@" -q; }
# the cheap sampler settings every study uses (stated in the report)
EST="--chains 2 --draws $(sz 200 60) --burnin 0 --thin 1 --eps 1e-4 --threads $THREADS"
finish() {
    T1=$(date +%s)
    "$LLC" paper "$PAPER" --scale "$PAPER_SCALE" --wall $((T1 - T0)) --out "$PAPER_OUT/$PAPER.html"
    times
}
# the step of a run's last checkpoint
last() { "$LLC" export --run "$1" --what checkpoints --format csv | tail -n 1 | cut -d, -f2; }
