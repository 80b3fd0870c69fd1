# Provenance baked into the binary: version, git revision (with "-dirty" for uncommitted changes),
# build type and library versions. Re-run at every build so the revision is never stale.
set(GREENLIGHT_BUILD_INFO_IN ${CMAKE_CURRENT_LIST_DIR}/build_info.h.in)
set(GREENLIGHT_BUILD_INFO_OUT ${PROJECT_BINARY_DIR}/generated/greenlight/build_info.h)
add_custom_target(greenlight_build_info
  COMMAND ${CMAKE_COMMAND}
          -DSRC=${PROJECT_SOURCE_DIR} -DIN=${GREENLIGHT_BUILD_INFO_IN} -DOUT=${GREENLIGHT_BUILD_INFO_OUT}
          -DVERSION=${PROJECT_VERSION} -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
          -DTORCH_VERSION=${Torch_VERSION} -DCXX=${CMAKE_CXX_COMPILER_ID}-${CMAKE_CXX_COMPILER_VERSION}
          -P ${CMAKE_CURRENT_LIST_DIR}/WriteBuildInfo.cmake
  BYPRODUCTS ${GREENLIGHT_BUILD_INFO_OUT}
  COMMENT "Recording build provenance")
