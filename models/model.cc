#include "models/model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace greenlight {

int64_t Model::input_size() const {
  const auto& shape = spec().input_shape;
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::vector<double> ToProbabilities(std::span<const float> outputs, OutputKind kind) {
  std::vector<double> p(outputs.begin(), outputs.end());
  switch (kind) {
    case OutputKind::kProbabilities:
      break;
    case OutputKind::kLogProbabilities:
      for (double& v : p) v = std::exp(v);
      break;
    case OutputKind::kLogits: {
      // Subtract the maximum so exp never overflows.
      const double m = p.empty() ? 0.0 : *std::max_element(p.begin(), p.end());
      double sum = 0.0;
      for (double& v : p) sum += (v = std::exp(v - m));
      for (double& v : p) v /= sum;
      break;
    }
  }
  return p;
}

}  // namespace greenlight
