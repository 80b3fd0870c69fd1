# Every dependency is a Debian 12 package; scripts/install-deps.sh installs them all. A package is
# required only when a target that is built needs it; a missing one stops configuration with the
# package to install.
macro(greenlight_require package debian_package)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR
      "greenlight: ${package} not found. Install the Debian package '${debian_package}' "
      "(scripts/install-deps.sh installs every dependency).")
  endif()
endmacro()

# The libraries and the CLI.
greenlight_require(Torch libtorch-dev)              # models (TorchScript runtime), tensor-level metrics
greenlight_require(yaml-cpp libyaml-cpp-dev)        # core (criteria YAML)
greenlight_require(nlohmann_json nlohmann-json3-dev)
greenlight_require(valijson libvalijson-dev)        # engine (criteria schema)
greenlight_require(OpenSSL libssl-dev 3)            # core (digests), reports (Ed25519)
greenlight_require(CLI11 libcli11-dev)              # cli
greenlight_require(ZLIB zlib1g-dev)                 # datasets (gzip IDX)
greenlight_require(CURL libcurl4-openssl-dev)       # net (pinned HTTPS inputs, submit, grid intensity)
greenlight_require(benchmark libbenchmark-dev)      # the timing harness behind latency metrics
greenlight_require(Boost libboost-dev 1.74)         # Boost.Math (headers) for the statistics
# models (the sentencepiece tokenizer of language models); no CMake package, so found directly.
find_library(GREENLIGHT_SENTENCEPIECE_LIBRARY sentencepiece)
find_path(GREENLIGHT_SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h)
if(NOT GREENLIGHT_SENTENCEPIECE_LIBRARY OR NOT GREENLIGHT_SENTENCEPIECE_INCLUDE_DIR)
  message(FATAL_ERROR
    "greenlight: sentencepiece not found. Install the Debian package 'libsentencepiece-dev' "
    "(scripts/install-deps.sh installs every dependency).")
endif()
find_package(Threads REQUIRED)
# Boost.Test only for the tests.
if(GREENLIGHT_BUILD_TESTS)
  greenlight_require(Boost libboost-test-dev 1.74 COMPONENTS unit_test_framework)
endif()

# LibTorch's exported flags (e.g. the C++ ABI define) must reach every target that includes it.
# Only the runtimes and tensor-level metrics link this, PRIVATE.
add_library(greenlight_torch INTERFACE)
target_link_libraries(greenlight_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(greenlight_torch INTERFACE ${TORCH_CXX_FLAGS})
set_target_properties(greenlight_torch PROPERTIES EXPORT_NAME torch)
add_library(greenlight::torch ALIAS greenlight_torch)
