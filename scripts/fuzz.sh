#!/bin/bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60):
#   scripts/fuzz.sh [SECONDS]
# Needs the nightly toolchain; installs cargo-fuzz when it is missing.
# Seeds come from fuzz/corpus/<target>; what the fuzzer adds goes to
# build/fuzz-corpus/<target> (kept between runs), full logs to
# build/fuzz-logs/<target>.log, crashing inputs to fuzz/artifacts/<target>/.
# Prints one line per target and exits non-zero if any target failed.
# FUZZ_RUNS=N: instead of a time, N runs each from seed 1 (repeatable: what
# `make test` does).
set -u
cd "$(dirname "$0")/.."

secs=${1:-60}
case $secs in '' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac
targets=(elf_plan cpio_parse syscall_decode path_resolve fs_proto net_proto ext2_image)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz || exit 1
fi

mkdir -p build/fuzz-logs
if ! cargo +nightly fuzz build >build/fuzz-logs/build.log 2>&1; then
    tail -n 30 build/fuzz-logs/build.log >&2
    echo "fuzz: build failed (build/fuzz-logs/build.log)" >&2
    exit 1
fi

failed=0
for t in "${targets[@]}"; do
    corpus=build/fuzz-corpus/$t
    log=build/fuzz-logs/$t.log
    mkdir -p "$corpus"
    # New inputs go to the first directory; the committed seeds stay as they are.
    if [ -n "${FUZZ_RUNS:-}" ]; then
        budget=(-runs="$FUZZ_RUNS" -seed=1)
    else
        budget=(-max_total_time="$secs")
    fi
    cargo +nightly fuzz run "$t" "$corpus" "fuzz/corpus/$t" -- \
        "${budget[@]}" -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: ok (${runs:-?} runs, ${speed:-?} exec/s)"
    else
        failed=1
        why=$(grep -m 1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)" "$log")
        input=$(sed -n "s|.*Test unit written to \(.*\)|\1|p" "$log" | head -n 1)
        input=${input#"$PWD/"}
        echo "fuzz $t: FAILED (exit $rc after ${runs:-?} runs): ${why:-see $log}"
        [ -n "$input" ] && echo "fuzz $t: input $input; rerun: cargo +nightly fuzz run $t $input"
        if [[ $why == *"panicked at"* ]]; then
            echo "fuzz $t:   $(grep -m 1 -A 1 "panicked at" "$log" | tail -n 1)"
        fi
    fi
done
exit "$failed"
