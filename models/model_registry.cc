#include "models/model_registry.h"

#include <stdexcept>

#include "core/error.h"

namespace greenlight {

void ModelRegistry::Register(const std::string& format, ModelLoader loader) {
  if (!loaders_.emplace(format, std::move(loader)).second) {
    throw std::logic_error("model format '" + format + "' registered twice");
  }
}

std::vector<std::string> ModelRegistry::formats() const {
  std::vector<std::string> out;
  for (const auto& [format, loader] : loaders_) out.push_back(format);
  return out;
}

std::string ModelRegistry::FormatList() const {
  std::string out;
  for (const auto& [format, loader] : loaders_) out += (out.empty() ? "" : ", ") + format;
  return out.empty() ? "none" : out;
}

std::unique_ptr<Model> ModelRegistry::Load(const ModelSpec& spec) const {
  const auto it = loaders_.find(spec.format);
  if (it == loaders_.end()) {
    throw InputError(spec.path.string() + ": unknown model format '" + spec.format +
                     "' (known: " + FormatList() + ")");
  }
  return it->second(spec);
}

}  // namespace greenlight
