// The runtime registry of the fuzz targets that load criteria: "torchscript" is a known format
// (so criteria naming it parse) whose loader refuses, because nothing is measured while fuzzing.
#pragma once

#include <memory>

#include "core/error.h"
#include "models/model.h"
#include "models/model_registry.h"

namespace greenlight::fuzz {

inline const ModelRegistry& NoModelRuntimes() {
  static const ModelRegistry* runtimes = [] {
    auto* r = new ModelRegistry();
    r->Register("torchscript", [](const ModelSpec&) -> std::unique_ptr<Model> {
      throw RuntimeError("the fuzz target loads no model");
    });
    return r;
  }();
  return *runtimes;
}

}  // namespace greenlight::fuzz
