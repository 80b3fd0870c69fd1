#include "models/model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/error.h"
#include "core/files.h"

namespace greenlight {

int64_t Model::input_size() const {
  const auto& shape = spec().input_shape;
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

void* Model::FindCapability(const std::type_info& /*type*/) { return nullptr; }

std::string Model::CapabilityGap(const std::type_info& /*type*/) const { return ""; }

std::string Model::DescribeMissingCapability(std::string_view name,
                                             const std::type_info& type) const {
  std::string message = "model runtime '" + info().format + "' offers no " + std::string(name) +
                        " for " + info().path.filename().string();
  if (const std::string gap = CapabilityGap(type); !gap.empty()) message += " (" + gap + ")";
  return message;
}

void ThrowMissingCapability(const std::string& reason) { throw RuntimeError(reason); }

std::shared_ptr<const std::string> ReadModelBytes(const ModelSpec& spec) {
  std::error_code ec;
  if (!std::filesystem::exists(spec.path, ec)) {
    throw InputError(spec.path.string() + ": model file not found");
  }
  return std::make_shared<const std::string>(ReadFile(spec.path, kMaxModelBytes, "model file"));
}

nlohmann::json TokenizerInfoToJson(const TokenizerInfo& info) {
  return {{"kind", info.kind},
          {"path", info.path.string()},
          {"sha256", info.sha256},
          {"vocab_size", info.vocab_size}};
}

TokenizerInfo TokenizerInfoFromJson(const nlohmann::json& j) {
  TokenizerInfo info;
  info.kind = j.at("kind").get<std::string>();
  info.path = j.at("path").get<std::string>();
  info.sha256 = j.at("sha256").get<std::string>();
  info.vocab_size = j.at("vocab_size").get<int64_t>();
  return info;
}

std::shared_ptr<const std::string> ReadTokenizerBytes(const TokenizerSpec& spec) {
  std::error_code ec;
  if (!std::filesystem::exists(spec.path, ec)) {
    throw InputError(spec.path.string() + ": tokenizer file not found");
  }
  return std::make_shared<const std::string>(ReadFile(spec.path, kMaxModelBytes, "tokenizer file"));
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

std::vector<double> OutputsToProbabilities(std::span<const float> raw, int64_t batch,
                                           int64_t outputs, OutputKind kind, int64_t* classes) {
  std::vector<double> out;
  if (outputs == 1) {
    *classes = 2;
    out.reserve(static_cast<size_t>(batch * 2));
    for (int64_t i = 0; i < batch; ++i) {
      double v = raw[static_cast<size_t>(i)];
      switch (kind) {
        case OutputKind::kLogits:
          v = 1.0 / (1.0 + std::exp(-v));
          break;
        case OutputKind::kLogProbabilities:
          v = std::exp(v);
          break;
        case OutputKind::kProbabilities:
          break;
      }
      out.push_back(1.0 - v);
      out.push_back(v);
    }
    return out;
  }
  *classes = outputs;
  out.reserve(static_cast<size_t>(batch * outputs));
  for (int64_t i = 0; i < batch; ++i) {
    const auto p = ToProbabilities(
        raw.subspan(static_cast<size_t>(i * outputs), static_cast<size_t>(outputs)), kind);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

}  // namespace greenlight
