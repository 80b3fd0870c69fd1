// Uses the installed libraries for real: a digest from greenlight::core and a shipped criteria
// file loaded (schema, metric catalog, model format) through greenlight::engine with every
// built-in auditor. Prints what it found for the test to compare with independent references.
#include <iostream>

#include "auditors/auditor.h"
#include "core/digest.h"
#include "core/error.h"
#include "engine/criteria.h"
#include "models/model_registry.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer CRITERIA.yaml\n";
    return 3;
  }
  try {
    std::cout << "sha256(abc)=" << greenlight::Sha256Hex("abc") << "\n";
    greenlight::AuditorRegistry registry;
    greenlight::RegisterBuiltinAuditors(registry);
    const greenlight::CriteriaFile criteria = greenlight::LoadCriteria(argv[1], registry);
    std::cout << "criteria=" << criteria.criteria.size() << "\n";
    std::cout << "model_format=" << (criteria.model ? criteria.model->format : "none") << "\n";
    std::cout << "runtimes=" << greenlight::BuiltinModelRegistry().FormatList() << "\n";
  } catch (const greenlight::Error& e) {
    std::cerr << e.what() << "\n";
    return 3;
  }
  return 0;
}
