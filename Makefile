# Keepsake: the two set-up commands are `make run` and `make test` (README.md).
# Each installs what it needs (scripts/install-deps.sh, as root), builds, then runs.

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
DEMO       ?= .demo
CLANG_FORMAT ?= clang-format

.PHONY: all deps build build-asan run test test-unit test-asan bench clean format format-check

all: build

deps:
	@scripts/install-deps.sh
	@# The Webconf's browser tests: playwright-core exactly as package-lock.json pins it.
	@[ -d node_modules/playwright-core ] && [ node_modules/.package-lock.json -nt package-lock.json ] || \
	  npm ci --no-audit --no-fund --loglevel=error

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

$(BUILD_ASAN)/build.ninja:
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKEEPSAKE_SANITIZE=ON $(CMAKE_ARGS)

build-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN) -j $(JOBS) unit_tests

# The demo: a small appliance-like state, sealed, inspected, verified and extracted.
run: build
	scripts/demo.sh $(BUILD)/keepsake $(DEMO)

# Every test: the format check first (CI runs only `make test`, so this is where an unformatted
# src/ file is caught), unit tests (also under ASan+UBSan) and integration tests of the real
# binaries. The NFS and USB backends run under ASan too: their conformance suite needs the
# server and the images that their integration tests start (a plain unit_tests run skips those
# cases).
test: format-check build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

test-unit: build
	$(BUILD)/unit_tests --gtest_brief=1

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD_ASAN)/unit_tests --gtest_brief=1
	for t in nfs usb; do \
	  KEEPSAKE_UNIT_TESTS_BIN=$(BUILD_ASAN)/unit_tests KEEPSAKE_BIN=$(BUILD)/keepsake KEEPSAKED_BIN=$(BUILD)/keepsaked \
	  ASAN_OPTIONS=detect_leaks=1 python3 tests/integration/test_storage_$$t.py ConformanceTest || exit 1; \
	done

bench: build
	bench/seal_bench.sh $(BUILD)/keepsake

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)

# The C++ sources under src/ as .clang-format wants them. xargs -r: no files, no clang-format
# (without file arguments it would wait for stdin).
format:
	git ls-files -z 'src/*.cc' 'src/*.h' | xargs -0 -r $(CLANG_FORMAT) -i

# Fails, naming each place, when `make format` would change a file (--dry-run -Werror: every
# replacement is an error). Debian 12's clang-format 14; another version may format differently.
format-check: deps
	git ls-files -z 'src/*.cc' 'src/*.h' | xargs -0 -r $(CLANG_FORMAT) --dry-run -Werror
