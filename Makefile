# The two commands of the README's quick start, and the steps they are made of.
#   make demo   install dependencies, build, export the example models, run the default audit
#   make test   install dependencies, build, export the example models, run every test
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PYTHON ?= /usr/bin/python3
GREENLIGHT := $(BUILD_DIR)/cli/greenlight

.PHONY: all deps configure build models demo test bench format clean

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

bench: build models
	bash scripts/bench.sh $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
