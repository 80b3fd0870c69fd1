// Invalid inputs: NaN, +/-Inf, out-of-range values, wrong dtypes and wrong shapes are fed to the
// model, each case in a forked child with a timeout (see isolation.h). Per case the outcome is
// raised (the model rejected it with an error), non_finite (it answered with NaN/Inf),
// silent (a finite answer, as if nothing were wrong), crashed or timed_out.
#pragma once

#include <string>
#include <vector>

#include "auditors/auditor.h"

namespace greenlight::safety {

const std::vector<std::string>& InvalidInputCases();

struct InvalidInputOutcome {
  std::string name;
  std::string outcome;  // raised | non_finite | silent | crashed | timed_out | not_applicable
  std::string message;
};

// Probes the model with one case on the first `samples` rows of `rows_data` (samples × input
// size floats). `model` must offer RawInputs and TensorAccess (else RuntimeError with the reason).
InvalidInputOutcome ProbeInvalidInput(Model& model, const std::string& name,
                                      std::span<const float> rows_data, int64_t samples,
                                      double timeout_s);

}  // namespace greenlight::safety
