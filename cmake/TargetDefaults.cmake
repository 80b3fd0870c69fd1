# greenlight_target_defaults(TARGET): the settings every greenlight target gets, set on the target
# (nothing global, so a project that adds greenlight as a subdirectory keeps its own flags).
# C++20 without extensions; warnings on for our sources only (PRIVATE); with GREENLIGHT_SANITIZE,
# ASan + UBSan on compile and link (the link flag is PUBLIC: whatever links a sanitized static
# library needs the runtime).
function(greenlight_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  # Aggregates are built with designated/partial initialisers on purpose.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-missing-field-initializers)
  # Undefined behaviour aborts (no recovery), so a sanitizer finding fails the test or fuzz run.
  if(GREENLIGHT_SANITIZE OR GREENLIGHT_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                           -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()
