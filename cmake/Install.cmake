# install(): the libraries with their public headers, the CLI, the schemas and the shipped
# criteria, and a CMake package so that other projects can
#   find_package(greenlight 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE greenlight::engine greenlight::auditors)
include(CMakePackageConfigHelpers)

# Library targets and the names they are exported under (greenlight::<name>, as the aliases).
set(GREENLIGHT_EXPORTED_LIBRARIES
  greenlight_torch greenlight_core greenlight_net greenlight_models greenlight_datasets greenlight_reports
  greenlight_harness greenlight_auditor_api greenlight_accuracy greenlight_efficiency
  greenlight_energy greenlight_fairness greenlight_compare greenlight_language greenlight_safety
  greenlight_auditors greenlight_engine
  greenlight_cli_commands)
foreach(target IN LISTS GREENLIGHT_EXPORTED_LIBRARIES)
  get_target_property(name ${target} EXPORT_NAME)
  if(NOT name)
    string(REGEX REPLACE "^greenlight_" "" name ${target})
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  endif()
endforeach()
set_target_properties(greenlight_cli_commands PROPERTIES EXPORT_NAME cli)

install(TARGETS greenlight_sentencepiece LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/greenlight)
install(TARGETS ${GREENLIGHT_EXPORTED_LIBRARIES} greenlight
  EXPORT greenlightTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# Public headers keep their folders: <includedir>/greenlight/core/error.h is "core/error.h".
set(GREENLIGHT_HEADER_ROOT ${CMAKE_INSTALL_INCLUDEDIR}/greenlight)
install(DIRECTORY core net models datasets reports harness auditors engine cli
  DESTINATION ${GREENLIGHT_HEADER_ROOT} FILES_MATCHING PATTERN "*.h")

install(DIRECTORY schemas criteria DESTINATION ${CMAKE_INSTALL_DATADIR}/greenlight)

set(GREENLIGHT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/greenlight)
install(EXPORT greenlightTargets NAMESPACE greenlight:: DESTINATION ${GREENLIGHT_CMAKE_DIR})
configure_package_config_file(cmake/greenlightConfig.cmake.in
  ${PROJECT_BINARY_DIR}/greenlightConfig.cmake
  INSTALL_DESTINATION ${GREENLIGHT_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/greenlightConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/greenlightConfig.cmake
              ${PROJECT_BINARY_DIR}/greenlightConfigVersion.cmake
  DESTINATION ${GREENLIGHT_CMAKE_DIR})
