// Model runtimes by `model.format`: the engine loads models through a registry instead of naming a
// runtime, so a new runtime is one Register() call. Registration is explicit (no static
// initialisers a static library could drop at link time).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace greenlight {

// Loads the model a spec names; throws InputError naming the file when it cannot.
using ModelLoader = std::function<std::unique_ptr<Model>(const ModelSpec& spec)>;

class ModelRegistry {
 public:
  // Throws std::logic_error when `format` is already registered.
  void Register(const std::string& format, ModelLoader loader);

  bool Has(const std::string& format) const { return loaders_.count(format) != 0; }
  // Registered formats, sorted.
  std::vector<std::string> formats() const;
  // "torchscript" or "a, b" for a message listing the known formats.
  std::string FormatList() const;

  // Loads `spec` with the runtime registered for spec.format. Throws InputError naming the file
  // and the known formats when spec.format is unknown, and whatever the runtime throws otherwise.
  std::unique_ptr<Model> Load(const ModelSpec& spec) const;

 private:
  std::map<std::string, ModelLoader> loaders_;
};

// Registers every built-in runtime: "torchscript" (LoadTorchScriptModel).
void RegisterBuiltinRuntimes(ModelRegistry& registry);

// A registry with the built-in runtimes, built on first use; what the engine and the criteria
// loader use unless given another.
const ModelRegistry& BuiltinModelRegistry();

}  // namespace greenlight
