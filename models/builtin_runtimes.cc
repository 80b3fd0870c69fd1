// The runtimes greenlight ships, kept apart from the registry itself so that the registry (and the
// criteria loader that consults it) builds without any runtime's dependencies (the fuzz targets
// compile the loader with clang, which cannot compile LibTorch's headers).
#include "models/causal_lm_model.h"
#include "models/model.h"
#include "models/model_registry.h"

namespace greenlight {

void RegisterBuiltinRuntimes(ModelRegistry& registry) {
  registry.Register("torchscript", &LoadTorchScriptModel);
  registry.Register("causal_lm", &LoadCausalLmModel);
}

const ModelRegistry& BuiltinModelRegistry() {
  static const ModelRegistry registry = [] {
    ModelRegistry r;
    RegisterBuiltinRuntimes(r);
    return r;
  }();
  return registry;
}

}  // namespace greenlight
