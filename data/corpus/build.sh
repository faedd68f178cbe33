#!/bin/sh
# build.sh - rebuild the byte-level text corpus of the "text" task from files
# that Debian ships (see SOURCES.md for provenance and licenses):
#   prose.txt  the GNU Coreutils manual (info format), verbatim   (GFDL-1.3+)
#   code.txt   26 modules of the Python 3.11 standard library     (PSF-2.0)
# The output depends only on the installed package versions named in
# SOURCES.md; the script checks them and prints the sha256 of each file.
# Usage: sh data/corpus/build.sh [OUTDIR]   (default: the script's directory)
set -eu
LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"

INFO=/usr/share/info/coreutils.info.gz
PY=/usr/lib/python3.11
# a fixed list, in this order, so the corpus does not depend on directory order
MODULES="argparse ast base64 bisect calendar configparser contextlib copy csv
dataclasses datetime difflib enum fractions functools gzip heapq pathlib pprint
random shlex shutil statistics string textwrap tokenize"

for f in "$INFO" "$PY/argparse.py"; do
    [ -r "$f" ] || { echo "build.sh: missing $f (apt-get install coreutils libpython3.11-minimal libpython3.11-stdlib)" >&2; exit 1; }
done
want_cu="9.1-1"
have_cu=$(dpkg-query -W -f='${Version}' coreutils 2>/dev/null || echo "?")
have_py=$(dpkg-query -W -f='${Version}' libpython3.11-minimal 2>/dev/null || echo "?")
[ "$have_cu" = "$want_cu" ] || echo "build.sh: warning: coreutils $have_cu, SOURCES.md describes $want_cu" >&2
[ "$have_py" = "3.11.2-6+deb12u6" ] || echo "build.sh: warning: libpython3.11 $have_py, SOURCES.md describes 3.11.2-6+deb12u6" >&2

# prose: the manual exactly as installed (it carries its own GFDL notice and text)
gzip -dc "$INFO" > "$out/prose.txt.tmp"
mv "$out/prose.txt.tmp" "$out/prose.txt"

# code: each module preceded by one comment line naming it
: > "$out/code.txt.tmp"
for m in $MODULES; do
    printf '# ---- file: Lib/%s.py (Python 3.11, PSF License) ----\n' "$m" >> "$out/code.txt.tmp"
    cat "$PY/$m.py" >> "$out/code.txt.tmp"
done
mv "$out/code.txt.tmp" "$out/code.txt"

for f in prose.txt code.txt; do
    printf '%s %8d bytes  sha256 %s\n' "$f" "$(wc -c < "$out/$f")" "$(sha256sum "$out/$f" | cut -d' ' -f1)"
done
