#!/usr/bin/env bash
# make suite DIR=path [RUNNER=cmd] [TIMEOUT=secs]: packs a directory of
# static Linux test binaries (libc-test, LTP and the like, built elsewhere)
# into the image at /suite, boots Selkie and runs each with a timeout
# (tests/suite/run, in the guest as /tests/suite-run). Prints one line per
# test and a closing "N passed, N failed"; exits 0 when all passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
dir=${1:-}
runner=${2:-}
secs=${3:-60}
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "usage: make suite DIR=path [RUNNER='cmd args'] [TIMEOUT=secs]  (DIR: a directory of test binaries)" >&2
    exit 2
fi
count=$(find "$dir" -type f -perm -100 | wc -l)
if [ "$count" = 0 ]; then
    echo "selkie: $dir has no executable files" >&2
    exit 2
fi
case "$secs" in ''|*[!0-9]*) echo "selkie: TIMEOUT must be a number of seconds" >&2; exit 2 ;; esac
echo "selkie: packing $count tests from $dir into the image at /suite"
SELKIE_SUITE_DIR=$(cd "$dir" && pwd) scripts/mkrootfs.sh
scripts/build-roottask.sh >/dev/null
# The whole run may take every test's timeout, plus the boot.
total=$((count * (secs + 5) + 120))
status=0
INIT="" scripts/qemu.sh --init "/bin/sh /tests/suite-run /suite $secs $runner" --timeout "$total" || status=$?
# The next `make run` or `make test` rebuilds the image without the suite.
exit "$status"
