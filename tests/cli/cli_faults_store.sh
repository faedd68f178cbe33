#!/bin/sh
# Faults around the store: output that cannot be written, files that are not
# regular, config files without end, stores that cannot be read safely, and
# read-only files (README "Guarantees under faults").
. tests/cli/clitest.sh
expect_rc 0 "train base run" -- $LLC train --task sort --run r1 --steps 20 --set ckpt_linear=3 --set ckpt_log=0 --quiet

# stdout that cannot be written: exit 3 with the reason, for every printing command
for c in "runs" "show --run r1" "export --run r1 --what log" "curves --run r1" "--help" "--version"; do
    $LLC $c >/dev/full 2>"$TMP/err"; rc=$?
    expect_eq "$rc" "3" "llc $c > /dev/full"
    grep -q "disk full" "$TMP/err" || { F=$((F + 1)); echo "FAIL: llc $c > /dev/full: no reason: $(cat "$TMP/err")"; }
done

# config files: only regular files, at most 1 MiB, and every failure says why
expect_rc 3 "config from a device" -- $LLC train --config /dev/zero --run x
expect_out "not a regular file" "says it is no regular file"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
expect_rc 3 "config over 1 MiB" -- $LLC train --config "$TMP/big.json" --run x
expect_out "more than the 1048576 allowed" "names the cap"
expect_rc 3 "missing config" -- $LLC train --config "$TMP/none.json" --run x
expect_out "No such file" "says why"

# JSON: nesting past cJSON's limit, numbers past a double, and out of memory while parsing
python3 -c "print('{\"task\": \"sort\", \"data\": ' + '[' * 1000 + ']' * 1000 + '}')" >"$TMP/deep.json"
expect_rc 2 "1000-deep nested config" -- $LLC train --config "$TMP/deep.json" --run x
expect_out "nested deeper than 1000 levels" "says how deep"
expect_rc 2 "--set lr=1e309" -- $LLC train --task sort --run x --set lr=1e309
expect_out "out of range" "says the number is out of range"
python3 -c "import sys; sys.stdout.write('{\"task\": \"sort\", \"train\": {\"ckpt_list\": [' + ','.join(['0'] * 520000) + ']}}')" >"$TMP/many.json"
if ( ulimit -v 60000; OPENBLAS_NUM_THREADS=1 timeout 10 $LLC --version ) >/dev/null 2>&1; then
    ( ulimit -v 60000; OPENBLAS_NUM_THREADS=1 timeout 20 $LLC train --config "$TMP/many.json" --run x ) >"$TMP/out" 2>"$TMP/err"
    expect_eq "$?" "10" "out of memory while parsing a config: exit 10"
    expect_out "out of memory reading the JSON" "says out of memory, not invalid JSON"
else
    echo "WARN: llc does not start under ulimit -v 60000 here (a sanitizer build?): JSON out of memory not tested"
fi

# stores and outputs that are not regular files
had_journal=$(ls /dev/null-* 2>/dev/null)
expect_rc 4 "--db /dev/null" -- $LLC train --task sort --run x --steps 2 --db /dev/null
expect_out "not a regular file" "says so"
expect_rc 4 "--db a directory" -- $LLC runs --db "$TMP"
if [ -z "$had_journal" ]; then expect_eq "$(ls /dev/null-* 2>/dev/null)" "" "no journal next to /dev/null"
else echo "WARN: $had_journal was there before (an older llc?): remove it; not checked"; fi
expect_rc 3 "export --out /dev/full" -- $LLC export --run r1 --what log --out /dev/full
expect_out "not a regular file" "says so"
expect_eq "$(ls /dev/full.* 2>/dev/null)" "" "nothing written beside /dev/full"

# export: whole files or none, and the reason
expect_rc 3 "export into a missing directory" -- $LLC export --run r1 --what log --out "$TMP/nodir/log.csv"
expect_out "no such directory" "says why"
( ulimit -f 80; trap '' XFSZ; $LLC export --run r1 --what checkpoints --step 20 --out "$TMP/ck" ) >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "3" "export of a checkpoint past a file size limit"
expect_out "disk full" "says disk full"
expect_eq "$(ls "$TMP" | grep -c '^ck')" "0" "no partial checkpoint file left"
expect_rc 0 "export of a checkpoint" -- $LLC export --run r1 --what checkpoints --step 20 --out "$TMP/ck"
expect_eq "$(stat -c %s "$TMP/ck.bin")" "$(sqlite3 "$LLC_DB" "SELECT length(params) FROM checkpoints WHERE run='r1' AND step=20")" "whole BLOB exported"
expect_eq "$(ls "$TMP" | grep -c 'tmp')" "0" "no temporary file left"

# a zeroed page inside a checkpoint BLOB (right size, all finite): caught by its checksum
cp "$LLC_DB" "$TMP/page.db"
hex=$(sqlite3 "$TMP/page.db" "SELECT hex(params) FROM checkpoints WHERE run='r1' AND step=20")
zeros=$(head -c 8192 /dev/zero | tr '\0' '0')
hex="$(printf '%s' "$hex" | cut -c1-8192)$zeros$(printf '%s' "$hex" | cut -c16385-)"
echo "UPDATE checkpoints SET params = X'$hex' WHERE run='r1' AND step=20;" | sqlite3 "$TMP/page.db"
expect_eq "$(sqlite3 "$TMP/page.db" "SELECT length(params) FROM checkpoints WHERE run='r1' AND step=20; PRAGMA integrity_check")" "$(printf '106244\nok')" "the damaged store passes integrity_check"
expect_rc 4 "estimate of a checkpoint with a zeroed page" -- $LLC estimate --db "$TMP/page.db" --run r1 --steps 20 --eps 1e-4 --burnin 0 --thin 1 --chains 2 --draws 20 --quiet
expect_out "checkpoint r1/20 .*damaged" "names run and step"
expect_eq "$(sqlite3 "$TMP/page.db" "SELECT count(*) FROM estimates")" "0" "no estimate from the damaged checkpoint"
expect_rc 4 "show lists it as unreadable" -- $LLC show --db "$TMP/page.db" --run r1
expect_out "20 +unreadable" "the row says so"
expect_rc 4 "export of the damaged checkpoint" -- $LLC export --db "$TMP/page.db" --run r1 --what checkpoints --step 20 --out "$TMP/dmg"
expect_eq "$(ls "$TMP" | grep -c '^dmg')" "0" "nothing exported"

# missing and empty stores are the same thing; runs says train creates one only where it can
: >"$TMP/empty.db"
expect_rc 0 "runs on an empty file" -- $LLC runs --db "$TMP/empty.db"
expect_out "llc train creates it" "an empty file is no store yet"
expect_rc 5 "show on an empty file" -- $LLC show --run r1 --db "$TMP/empty.db"
expect_rc 5 "show on a missing store" -- $LLC show --run r1 --db "$TMP/none.db"
expect_rc 5 "runs in a missing directory" -- $LLC runs --db "$TMP/nodir/x.db"
if grep -q "creates it" "$TMP/out" "$TMP/err"; then F=$((F + 1)); echo "FAIL: runs promises a store train cannot create"; else P=$((P + 1)); fi

# a store whose newest commits are still in its -wal (a killed writer), read where
# the -shm cannot be created: refused with the way out, never stale data with exit 0
mkdir -p "$TMP/hot" "$TMP/ro"
cp "$LLC_DB" "$TMP/hot/llc.db"
python3 -c "
import sqlite3, os
c = sqlite3.connect('$TMP/hot/llc.db', isolation_level=None)
c.execute('PRAGMA wal_autocheckpoint = 0')
c.execute(\"UPDATE runs SET status = 'failed' WHERE id = 'r1'\")
os._exit(0)" 2>/dev/null
rm -f "$TMP/hot/llc.db-shm"
if [ -s "$TMP/hot/llc.db-wal" ] && mount --bind "$TMP/ro" "$TMP/ro" 2>/dev/null && mount -o remount,ro,bind "$TMP/ro" 2>/dev/null; then
    umount "$TMP/ro"; cp "$TMP/hot/llc.db" "$TMP/hot/llc.db-wal" "$TMP/ro/"
    mount --bind "$TMP/ro" "$TMP/ro" && mount -o remount,ro,bind "$TMP/ro"
    expect_rc 4 "read-only mount with commits in the -wal" -- $LLC runs --db "$TMP/ro/llc.db"
    expect_out "copy .* together to a writable directory" "says how to recover"
    umount "$TMP/ro"
    cp "$LLC_DB" "$TMP/ro/clean.db"; rm -f "$TMP/ro/llc.db-wal"
    mount --bind "$TMP/ro" "$TMP/ro" && mount -o remount,ro,bind "$TMP/ro"
    expect_rc 0 "read-only mount of a cleanly closed store" -- $LLC runs --db "$TMP/ro/clean.db"
    umount "$TMP/ro"
else
    echo "WARN: no python3 or no read-only mount here: the -wal case is not tested"
fi

# a read-only file as a user who may not write it (root ignores modes: run as nobody)
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1 && runuser -u nobody -- true 2>/dev/null; then
    mkdir -p "$TMP/nb" "$TMP/nbw"
    chmod 755 "$TMP" "$TMP/nb"; chmod 777 "$TMP/nbw"
    cp "$LLC_DB" "$TMP/nb/llc.db"; cp "$LLC_DB" "$TMP/nbw/llc.db"
    chmod 444 "$TMP/nb/llc.db" "$TMP/nbw/llc.db"
    for d in nb nbw; do
        for c in "runs" "show --run r1" "curves --run r1" "export --run r1 --what log"; do
            expect_rc 0 "as nobody, 0444 store in $d: llc $c" -- runuser -u nobody -- $LLC $c --db "$TMP/$d/llc.db"
        done
    done
    cp "$TMP/hot/llc.db" "$TMP/hot/llc.db-wal" "$TMP/nb/" 2>/dev/null && chmod 444 "$TMP/nb/llc.db-wal"
    if [ -s "$TMP/nb/llc.db-wal" ]; then
        expect_rc 4 "as nobody, -wal with commits, no -shm possible" -- runuser -u nobody -- $LLC runs --db "$TMP/nb/llc.db"
        expect_out "copy" "says how to recover"
    fi
else
    echo "WARN: not root or no runuser: read-only files as another user not tested"
fi
finish cli_faults_store
