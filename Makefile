# The README's commands; CMake does the work.
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all test demo install man asan fuzz clean

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

fuzz:
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRSOCK_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-fuzz -j $(JOBS) --target fuzz_addr
	bash fuzz/run.sh build-fuzz/fuzz_addr $${FUZZ_SECONDS:-60}

clean:
	rm -rf build build-asan build-fuzz
