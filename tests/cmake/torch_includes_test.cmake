# CTest script: LibTorch's include paths reach only the sources that may include LibTorch (the
# TorchScript runtime in models/, the timing harness, the safety concern's tensor-level metrics,
# the overhead, streaming and generation benchmarks, whose bare LibTorch loops are their
# references, and the capability test). Reads the build's compile_commands.json.
# Inputs (-D): BUILD_DIR, SOURCE_DIR.
cmake_minimum_required(VERSION 3.25)
file(READ ${BUILD_DIR}/compile_commands.json commands)
string(JSON count LENGTH "${commands}")
math(EXPR last "${count} - 1")
set(allowed
    "^models/" "^harness/" "^auditors/safety/" "^benchmarks/suite/overhead_benchmark.cc$"
    "^benchmarks/suite/streaming_benchmark.cc$" "^benchmarks/suite/generation_benchmark.cc$"
    "^tests/unit/models/capabilities_test.cc$")
set(with_torch 0)
set(without_torch 0)
set(offenders "")
foreach(i RANGE ${last})
  string(JSON file GET "${commands}" ${i} file)
  string(JSON command GET "${commands}" ${i} command)
  file(RELATIVE_PATH rel ${SOURCE_DIR} ${file})
  if(rel MATCHES "^\\.\\.")  # generated sources outside the tree
    continue()
  endif()
  if(command MATCHES "torch/csrc/api/include")
    math(EXPR with_torch "${with_torch} + 1")
    set(ok FALSE)
    foreach(pattern IN LISTS allowed)
      if(rel MATCHES "${pattern}")
        set(ok TRUE)
      endif()
    endforeach()
    if(NOT ok)
      list(APPEND offenders ${rel})
    endif()
  else()
    math(EXPR without_torch "${without_torch} + 1")
  endif()
endforeach()
if(offenders)
  message(FATAL_ERROR "compiled with LibTorch include paths but may not include LibTorch: ${offenders}")
endif()
# The check must see both kinds, or it checks nothing.
if(with_torch EQUAL 0 OR without_torch EQUAL 0)
  message(FATAL_ERROR "expected sources with and without LibTorch (${with_torch} / ${without_torch})")
endif()
message(STATUS "${with_torch} sources with LibTorch include paths, ${without_torch} without")
