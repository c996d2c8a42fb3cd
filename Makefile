# The README's commands; CMake does the work.
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all test demo install man asan tsan fuzz clean

all: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

# ctest, then the list of what was skipped and why (a skip is no pass).
test: all
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --output-junit ctest-junit.xml; rc=$$?; \
	bash tools/skipped.sh $(BUILD) || rc=1; exit $$rc

demo: all
	bash tools/demo.sh $(BUILD)

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

# Regenerate the committed man pages doc/man/ from doc/*.md (needs lowdown).
man:
	bash doc/mkman.sh doc doc/man

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DRSOCK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang"

# ThreadSanitizer over every test that starts threads, and every test named
# for cross-thread work (test_chan*, test_thread*, test_offload*); one at a
# time (timing checks under TSan's slowdown).  TSAN_EXCLUDE: a regex of
# tests to leave out.
TSAN_TESTS ?= ^test_(chan|thread|offload|error|loop|busy_poll|group|reliability|dial|proxy_metrics$$)
TSAN_EXCLUDE ?=
tsan:
	cmake -S . -B build-tsan -DRSOCK_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang
	cmake --build build-tsan -j $(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
	  ctest --test-dir build-tsan --output-on-failure -R '$(TSAN_TESTS)' \
	  $(if $(TSAN_EXCLUDE),-E '$(TSAN_EXCLUDE)')

# Every fuzz/*.c target, each for FUZZ_SECONDS (default 60).
FUZZ_BUILD ?= build-fuzz
fuzz:
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DRSOCK_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target rsock_fuzzers
	bash fuzz/run_all.sh $(FUZZ_BUILD) $(or $(FUZZ_SECONDS),60)

clean:
	rm -rf build build-asan build-fuzz build-tsan
