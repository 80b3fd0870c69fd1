# The two commands of the README's quick start, and the steps they are made of.
#   make demo   install dependencies, build, export the example models, run the default audit
#   make test   install dependencies, build, export the example models, run every test
#   make sanitize  build the LibTorch-free tests with ASan + UBSan (build-asan) and run them
#   make fuzz   build the libFuzzer targets (clang, build-fuzz) and run each FUZZ_SECONDS (60)
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PYTHON ?= /usr/bin/python3
GREENLIGHT := $(BUILD_DIR)/cli/greenlight

.PHONY: all deps configure build models demo test sanitize fuzz bench format clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Seeded and cached: a second run is instant (examples/models/stamp.json).
models: deps
	$(PYTHON) examples/export_models.py

demo: build models
	bash scripts/demo.sh $(GREENLIGHT)

test: build models
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 1500

# The tests labelled `sanitize` (none link LibTorch) built with AddressSanitizer and
# UndefinedBehaviorSanitizer; any finding fails them (docs/hardening.md).
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGREENLIGHT_SANITIZE=ON \
	  -DGREENLIGHT_BUILD_BENCHMARKS=OFF
	cmake --build build-asan -j $(JOBS) --target sanitize-tests
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -L sanitize --output-on-failure

FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 0
# fuzz_criteria reads the metric catalog from the regular build's binary.
fuzz: build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) JOBS=$(JOBS) bash scripts/fuzz.sh

bench: build models
	bash scripts/bench.sh $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
