# Every dependency is a Debian 12 package; scripts/install-deps.sh installs them all.
# A missing one stops configuration with the package to install.
macro(greenlight_require package debian_package)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR
      "greenlight: ${package} not found. Install the Debian package '${debian_package}' "
      "(scripts/install-deps.sh installs every dependency).")
  endif()
endmacro()

greenlight_require(Torch libtorch-dev)
greenlight_require(yaml-cpp libyaml-cpp-dev)
greenlight_require(nlohmann_json nlohmann-json3-dev)
greenlight_require(valijson libvalijson-dev)
greenlight_require(OpenSSL libssl-dev 3)
greenlight_require(CLI11 libcli11-dev)
greenlight_require(ZLIB zlib1g-dev)
greenlight_require(CURL libcurl4-openssl-dev)
greenlight_require(benchmark libbenchmark-dev)
# Boost.Math (headers) for the statistics; Boost.Test for the tests. Both come with libboost-test-dev.
greenlight_require(Boost libboost-test-dev 1.74 COMPONENTS unit_test_framework)

# LibTorch's exported flags (e.g. the C++ ABI define) must reach every target that includes it.
add_library(greenlight_torch INTERFACE)
target_link_libraries(greenlight_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(greenlight_torch INTERFACE ${TORCH_CXX_FLAGS})
add_library(greenlight::torch ALIAS greenlight_torch)
