# CTest script: installs the build tree into a fresh prefix, configures and builds
# tests/cmake/consumer against it with find_package(greenlight), runs the consumer on the
# installed demo criteria and compares what it prints with independent references: the FIPS 180-2
# SHA-256 of "abc" and the criterion count of criteria/demo.yaml counted here by regex.
# Inputs (-D): BUILD_DIR, SOURCE_DIR, WORK_DIR, BUILD_TYPE, CXX_COMPILER.
cmake_minimum_required(VERSION 3.25)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

foreach(path
    lib/cmake/greenlight/greenlightConfig.cmake lib/cmake/greenlight/greenlightConfigVersion.cmake
    include/greenlight/models/model.h include/greenlight/engine/criteria.h
    share/greenlight/schemas/criteria.schema.json share/greenlight/criteria/demo.yaml
    share/greenlight/schemas/details/common.schema.json share/greenlight/schemas/details/accuracy.schema.json
    bin/greenlight)
  if(NOT EXISTS ${prefix}/${path})
    message(FATAL_ERROR "install is missing ${path}")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/cmake/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)

# The consumer's compile line must not carry LibTorch's include paths: greenlight::engine and
# greenlight::auditors keep LibTorch private.
file(READ ${WORK_DIR}/build/compile_commands.json commands)
if(commands MATCHES "torch/csrc/api/include")
  message(FATAL_ERROR "the consumer was compiled with LibTorch include paths:\n${commands}")
endif()

run(${WORK_DIR}/build/consumer ${prefix}/share/greenlight/criteria/demo.yaml)
set(printed "${run_output}")
file(STRINGS ${SOURCE_DIR}/criteria/demo.yaml ids REGEX "^  - id:")
list(LENGTH ids expected_criteria)
set(expected
    "sha256(abc)=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\ncriteria=${expected_criteria}\nmodel_format=torchscript\nruntimes=causal_lm, torchscript\n")
if(NOT printed STREQUAL expected)
  message(FATAL_ERROR "consumer printed:\n${printed}\nexpected:\n${expected}")
endif()
message(STATUS "consumer OK: ${printed}")
