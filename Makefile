# The two commands of the README: `make run` and `make test`.
# Each does all set-up on a fresh Debian 12 machine (scripts/setup is idempotent).

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all setup build guest run test unit-asan tsan fuzz fuzz-smoke bench format tidy clean

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The default Linux guest (kernel + busybox initramfs), cached in ~/.cache/vessel.
guest: setup
	@scripts/build-guest

# Boots the default guest to an interactive shell (Ctrl-a x quits).
run: build guest
	$(BUILD)/vessel run $(ARGS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DVESSEL_SANITIZE=ON -DVESSEL_GUEST_TESTS=OFF

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
unit-asan: setup $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -R '^unit\.'

$(TSAN_BUILD)/build.ninja:
	cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVESSEL_TSAN=ON

# The threaded tests under ThreadSanitizer: the unit tests, the SMP litmus
# tests with the translator (the interpreter, instrumented, runs them too
# slowly for their 60 s deadline), and the boot tests whose harts run on
# host threads (through snapshot, restore and migration, and from threads to
# one and back for `ctl record start/stop`) or whose VMs share one process.
# Races on guest memory are the guest's business and not instrumented
# (memory/guest_ram.hpp); any report fails the run, also one
# from a process whose exit status no test checks: every report lands in
# $(TSAN_BUILD)/tsan-reports and is printed. `make test` runs it last (about
# 10 minutes of build and 13 of tests on this 2-core host under load).
TSAN_TESTS := ^(unit\..*|smp\.jit\..*|smp\.interp\.selftest\.2|integration\.(smp|smp_lifecycle|host|record_ctl))$$
TSAN_REPORTS = $(CURDIR)/$(TSAN_BUILD)/tsan-reports
tsan: setup guest $(TSAN_BUILD)/build.ninja
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target vessel unit_tests smp_programs
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	cd $(TSAN_BUILD) && \
	  TSAN_OPTIONS="log_path=$(TSAN_REPORTS)/report history_size=4" \
	  ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'; status=$$?; \
	  if [ -n "$$(ls $(TSAN_REPORTS))" ]; then \
	    cat $(TSAN_REPORTS)/*; echo "ThreadSanitizer: reports above (in $(TSAN_REPORTS))"; exit 1; \
	  fi; exit $$status

$(FUZZ_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DVESSEL_FUZZ=ON

FUZZ_SECONDS ?= 60
# Runs every libFuzzer target for FUZZ_SECONDS each.
fuzz: setup $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The whole suite: unit, ISA, integration tests; the unit tests again under
# ASan+UBSan; the threaded tests under TSan; each fuzz target briefly.
test: build guest
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) unit-asan
	$(MAKE) fuzz FUZZ_SECONDS=10
	$(MAKE) tsan

bench: build guest
	bench/cpu.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: $(BUILD)/build.ninja
	clang-tidy -p $(BUILD) $$(git ls-files 'src/*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
