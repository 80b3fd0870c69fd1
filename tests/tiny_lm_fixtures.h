// The tiny causal language models of tests/unit/models/make_tiny_lm.py (lm_plain.pt: forward
// only; lm_incremental.pt: with prefill and step), exported once per test program.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/test_util.h"

namespace greenlight::testing {

// The folder holding the exported models. Throws when the script fails.
inline const std::filesystem::path& TinyLmFixtures() {
  static TempDir dir;
  static const bool made = [] {
    const auto r = RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                            (SourceDir() / "tests/unit/models/make_tiny_lm.py").string() + " " +
                            Quote(dir.path()));
    if (r.exit_code != 0) throw std::runtime_error("make_tiny_lm.py failed: " + r.err);
    return true;
  }();
  (void)made;
  return dir.path();
}

}  // namespace greenlight::testing
