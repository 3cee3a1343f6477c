# Selkie: a Linux-ABI LibOS on seL4.
#   make run [INIT='/tests/hello a b']   build everything and boot (INIT: the first command)
#            [FS=inproc]                 the file system linked into the LibOS, not its own task
#            [DISK=image]                the disk on /mnt (default build/disk.img, made from rootfs/)
#            [NET=inproc]                the TCP/IP stack linked into the LibOS, not its own task
#            [HOSTFWD=tcp:H-:G,...]      host ports forwarded to the guest (default tcp:5555-:5555)
#            [CONFIG=path]               several LibOS instances (e.g. tests/configs/two-instances.toml)
#   make test                            host tests, lints, QEMU system tests, busybox's suites
#   make suite DIR=path [RUNNER=cmd]     run a directory of test binaries inside Selkie
#   make bench [FUZZ=calls]              the same benchmarks under Selkie and Linux in QEMU
#   make fuzz [SECONDS=60]               every cargo-fuzz target for SECONDS each
# Every target installs what is missing first (scripts/deps.sh).
.PHONY: all deps kernel debian busybox tests-bin rootfs roottask image run check test suite bench fuzz clean docs

all: image

deps:
	@scripts/deps.sh

kernel: deps
	@scripts/kernel.sh

debian: deps
	@scripts/debian-bins.sh

tests-bin: deps
	@scripts/build-tests.sh

busybox: deps
	@scripts/busybox-musl.sh

rootfs: debian busybox tests-bin
	@scripts/mkrootfs.sh

roottask: rootfs
	@SELKIE_FS=$(or $(FS),task) SELKIE_NET=$(or $(NET),task) SELKIE_CONFIG=$(CONFIG) scripts/build-roottask.sh

image: kernel roottask

run: image
	@scripts/mkdisk.sh $(or $(DISK),build/disk.img)
	@INIT="$(INIT)" TRACE="$(TRACE)" SELKIE_FS=$(or $(FS),task) SELKIE_NET=$(or $(NET),task) \
		SELKIE_HOSTFWD=$(or $(HOSTFWD),tcp:5555-:5555) SELKIE_DISK=$(or $(DISK),build/disk.img) \
		SELKIE_CONFIG=$(CONFIG) scripts/qemu.sh

# Host side: formatting, lints, unit tests (the binding tests read the kernel tree).
check: kernel
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p selkie-roottask -- -D warnings
	cargo clippy -p selkie-roottask --features fs-inproc -- -D warnings
	cargo clippy -p selkie-roottask --features net-inproc -- -D warnings
	cargo clippy -p selkie-roottask --features instance -- -D warnings
	cargo clippy -p selkie-fsd -p selkie-blkd -p selkie-nicd -p selkie-netd -- -D warnings
	cargo test
	SELKIE_TEST_FS=proto cargo test -q -p selkie-libos

test: check image
	python3 tests/system.py
	SELKIE_FS=inproc scripts/build-roottask.sh
	python3 tests/system.py --fs inproc
	SELKIE_NET=inproc scripts/build-roottask.sh
	python3 tests/system.py --net inproc
	python3 tests/suites.py
	FUZZ_RUNS=3000 scripts/fuzz.sh

# cargo-fuzz targets (fuzz/): each for SECONDS (nightly toolchain, cargo-fuzz
# installed when missing).
fuzz: deps
	@scripts/fuzz.sh $(or $(SECONDS),60)

# Runs every executable in DIR inside Selkie (see scripts/suite.sh).
suite: kernel debian busybox tests-bin
	@scripts/suite.sh "$(DIR)" "$(RUNNER)" "$(or $(TIMEOUT),60)"

# Benchmarks: Selkie against Debian's Linux kernel booted in the same QEMU
# (scripts/bench.py); prints a table and writes build/bench.json.
bench: image
	@FUZZ="$(FUZZ)" python3 scripts/bench.py

# Regenerates docs/syscalls.md from the dispatch table.
docs:
	SELKIE_BLESS=1 cargo test -q -p selkie-libos syscall_table_doc

clean:
	rm -rf build target fuzz/target
