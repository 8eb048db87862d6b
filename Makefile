# dtlskit: the two commands a newcomer needs are `make run` and `make check`.
#
#   make run                 build, then an echo server and a client on 127.0.0.1
#   make check               install test dependencies (as root), build, run every CTest test
#   make check-asan          the same under AddressSanitizer + UBSan, in build-asan/
#   make install [PREFIX=/usr/local] [DESTDIR=...]
#   make bench | fuzz | conformance-report | robustness-report
#
# CMake does the work; BUILD, JOBS, PREFIX and CMAKE_FLAGS can be overridden.
BUILD ?= build
BUILD_ASAN ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=

.PHONY: all deps deps-test configure build run check check-asan install bench fuzz \
        conformance-report robustness-report clean

all: build

deps:
	@bash scripts/deps.sh build

deps-test:
	@bash scripts/deps.sh all

# Re-running the configure step is cheap and picks up new options and files.
configure:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps configure
	cmake --build $(BUILD) -j$(JOBS)

run: build
	bash scripts/run-demo.sh $(BUILD)

check: deps-test
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

check-asan: deps-test
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DDK_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j$(JOBS)

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)
	@# A new shared library in a system directory needs the loader cache refreshed.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

bench: build
	bash scripts/bench.sh $(BUILD)

fuzz:
	bash scripts/fuzz.sh

conformance-report: build
	bash scripts/conformance-report.sh $(BUILD)

# Lossy-link table, real-peer proxy runs, flood and memory figures into docs/ROBUSTNESS.md.
robustness-report: build
	bash scripts/robustness-report.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
