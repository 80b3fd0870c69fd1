#include "auditors/safety/invalid_inputs.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include "auditors/safety/common.h"
#include "auditors/safety/isolation.h"
#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "core/stats.h"
#include "models/torch_capabilities.h"

namespace greenlight::safety {
namespace {

// The line of an error message that says what went wrong: for an exception raised inside
// TorchScript (JITException) the last line ("builtins.ValueError: ..."), else the first.
std::string ErrorLine(const std::string& s) {
  std::string line;
  if (s.find("TorchScript interpreter") != std::string::npos) {
    size_t end = s.find_last_not_of("\n ");
    if (end != std::string::npos) {
      const size_t start = s.rfind('\n', end);
      line = s.substr(start == std::string::npos ? 0 : start + 1,
                      end - (start == std::string::npos ? 0 : start + 1) + 1);
    }
  } else {
    line = s.substr(0, s.find('\n'));
  }
  return line.substr(0, 300);
}

// The input tensor of a case; undefined tensor when the case does not apply to this shape.
torch::Tensor CaseInput(const std::string& name, const ModelSpec& spec, std::span<const float> data,
                        int64_t samples) {
  std::vector<int64_t> shape{samples};
  shape.insert(shape.end(), spec.input_shape.begin(), spec.input_shape.end());
  torch::Tensor x =
      torch::from_blob(const_cast<float*>(data.data()), shape, torch::kFloat32).clone();
  const double lo = spec.input_min, hi = spec.input_max, span = hi - lo;
  const float inf = std::numeric_limits<float>::infinity();
  auto flat = x.view({samples, -1});
  const int64_t mid = flat.size(1) / 2;
  if (name == "nan_one") {
    flat.index_put_({torch::indexing::Slice(), mid}, std::numeric_limits<float>::quiet_NaN());
  } else if (name == "nan_all") {
    x.fill_(std::numeric_limits<float>::quiet_NaN());
  } else if (name == "pos_inf_one") {
    flat.index_put_({torch::indexing::Slice(), mid}, inf);
  } else if (name == "neg_inf_one") {
    flat.index_put_({torch::indexing::Slice(), mid}, -inf);
  } else if (name == "above_range") {
    x.fill_(hi + 10.0 * span);
  } else if (name == "below_range") {
    x.fill_(lo - 10.0 * span);
  } else if (name == "unscaled_x255") {
    // The classic preprocessing slip: raw byte scale instead of the declared range.
    x = lo + (x - lo) * 255.0;
  } else if (name == "dtype_float64") {
    x = x.to(torch::kFloat64);
  } else if (name == "dtype_float16") {
    x = x.to(torch::kFloat16);
  } else if (name == "dtype_uint8") {
    x = ((x - lo) / span * 255.0).round().clamp(0, 255).to(torch::kUInt8);
  } else if (name == "shape_flat") {
    if (spec.input_shape.size() < 2) return {};
    x = x.reshape({samples, -1});
  } else if (name == "shape_truncated") {
    if (spec.input_shape.empty() || spec.input_shape.back() < 2) return {};
    x = x.narrow(x.dim() - 1, 0, x.size(x.dim() - 1) - 1).contiguous();
  } else if (name == "shape_unbatched") {
    x = x[0].clone();
  } else {
    throw InputError("unknown invalid-input case '" + name + "'");
  }
  return x;
}

bool AllFinite(const c10::IValue& v) {
  if (v.isTensor()) {
    const torch::Tensor t = v.toTensor();
    if (!t.is_floating_point() && !t.is_complex()) return true;
    return torch::isfinite(t).all().item<bool>();
  }
  if (v.isTuple()) {
    for (const auto& e : v.toTuple()->elements()) {
      if (!AllFinite(e)) return false;
    }
  }
  if (v.isList()) {
    for (const auto& e : v.toListRef()) {
      if (!AllFinite(e)) return false;
    }
  }
  if (v.isDouble()) return std::isfinite(v.toDouble());
  return true;
}

}  // namespace

const std::vector<std::string>& InvalidInputCases() {
  static const std::vector<std::string> cases{
      "nan_one",     "nan_all",         "pos_inf_one",    "neg_inf_one",   "above_range",
      "below_range", "unscaled_x255",   "dtype_float64",  "dtype_float16", "dtype_uint8",
      "shape_flat",  "shape_truncated", "shape_unbatched"};
  return cases;
}

InvalidInputOutcome ProbeInvalidInput(Model& model_in, const std::string& name,
                                      std::span<const float> rows_data, int64_t samples,
                                      double timeout_s) {
  // The probes call the model with tensors Forward would refuse (wrong dtype and shape).
  RawInputs& raw = RequireCapability<RawInputs>(model_in);
  const TensorAccess& tensors = RequireCapability<TensorAccess>(model_in);
  InvalidInputOutcome result{name, "", ""};
  const ModelSpec spec = model_in.spec();
  if (!CaseInput(name, spec, rows_data, samples).defined()) {
    result.outcome = "not_applicable";
    result.message = "the case does not apply to input shape of this rank";
    return result;
  }
  const bool on_cpu = tensors.device().is_cpu();
  const IsolatedOutcome iso = RunIsolated(
      [&]() -> std::string {
        // In the child: one intra-op thread (the parent's thread pool did not survive fork), and
        // a CUDA model is reloaded on the CPU (CUDA cannot be used after fork).
        at::set_num_threads(1);
        torch::NoGradGuard no_grad;
        std::unique_ptr<Model> cpu_twin = on_cpu ? nullptr : tensors.LoadOnDevice("cpu");
        RawInputs& target = on_cpu ? raw : RequireCapability<RawInputs>(*cpu_twin);
        const torch::Tensor x = CaseInput(name, spec, rows_data, samples);
        c10::IValue out;
        try {
          out = target.ForwardRaw(x);
        } catch (const c10::Error& e) {
          return "raised\n" + ErrorLine(e.what_without_backtrace());
        } catch (const std::exception& e) {
          return "raised\n" + ErrorLine(e.what());
        }
        return AllFinite(out) ? "silent\nfinite output" : "non_finite\noutput holds NaN or Inf";
      },
      timeout_s);
  switch (iso.kind) {
    case IsolatedOutcome::Kind::kCompleted: {
      const auto nl = iso.payload.find('\n');
      result.outcome = iso.payload.substr(0, nl);
      result.message = nl == std::string::npos ? "" : iso.payload.substr(nl + 1);
      break;
    }
    case IsolatedOutcome::Kind::kCrashed:
      result.outcome = "crashed";
      result.message = iso.Describe();
      break;
    case IsolatedOutcome::Kind::kTimedOut:
      result.outcome = "timed_out";
      result.message = iso.Describe();
      break;
  }
  if (!on_cpu) result.message += " (probe ran on CPU: CUDA cannot be used in a forked child)";
  return result;
}

namespace {

struct InvalidInputParams {
  std::optional<std::vector<std::string>> cases;  // Absent: every case.
  int64_t samples = 4;
  double timeout_s = 10.0;
};

// Every probed case's outcome, in the order probed; `rows()` counts cases.
struct ProbeRecord final : WorkRecord {
  int64_t samples = 0;  // Dataset rows in each probe batch.
  std::vector<InvalidInputOutcome> outcomes;
  int64_t rows() const override { return static_cast<int64_t>(outcomes.size()); }
};

class ProbeWork final : public Work {
 public:
  explicit ProbeWork(const InvalidInputParams& p) : p_(p) {}
  std::string key() const override {
    return "safety.invalid_inputs:" +
           CanonicalText({{"cases", p_.cases ? nlohmann::json(*p_.cases) : nlohmann::json(nullptr)},
                          {"samples", p_.samples},
                          {"timeout_s", p_.timeout_s}});
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    const std::string metric = "invalid_input_silent_rate";
    Model& model = RequireModel(ctx, metric);
    const Dataset& data = ctx.Rows(p_.samples);
    auto record = std::make_shared<ProbeRecord>();
    record->samples = std::min(p_.samples, data.rows());
    if (record->samples < 1) {
      throw InputError(metric + ": samples must be at least 1 (and the dataset non-empty)");
    }
    if (!(p_.timeout_s > 0)) throw InputError(metric + ": timeout_s must be > 0");
    const std::vector<std::string> cases = p_.cases.value_or(InvalidInputCases());
    const auto rows_data =
        data.features().subspan(0, static_cast<size_t>(record->samples * data.sample_size()));
    for (size_t k = 0; k < cases.size(); ++k) {
      record->outcomes.push_back(
          ProbeInvalidInput(model, cases[k], rows_data, record->samples, p_.timeout_s));
      ctx.Progress("invalid inputs", "invalid-input probes",
                   static_cast<double>(k + 1) / cases.size());
    }
    return record;
  }

 private:
  InvalidInputParams p_;
};

// The outcome of every probed case, in order (a handful; the report lists them all). Merge
// appends.
struct ProbeOutcomes {
  int64_t samples = 0;
  std::vector<InvalidInputOutcome> outcomes;

  void Merge(const ProbeOutcomes& other) {
    if (other.samples != samples) throw RuntimeError("invalid-input probes of different batches");
    outcomes.insert(outcomes.end(), other.outcomes.begin(), other.outcomes.end());
  }
  nlohmann::json ToJson() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& o : outcomes) {
      list.push_back({{"case", o.name}, {"outcome", o.outcome}, {"message", o.message}});
    }
    return {{"samples", samples}, {"outcomes", list}};
  }
  static ProbeOutcomes FromJson(const nlohmann::json& j) {
    ProbeOutcomes s;
    s.samples = JsonInteger<int64_t>(j.at("samples"), "samples");
    for (const auto& o : j.at("outcomes")) {
      s.outcomes.push_back({o.at("case").get<std::string>(), o.at("outcome").get<std::string>(),
                            o.at("message").get<std::string>()});
    }
    return s;
  }
};

class InvalidInputMetric final
    : public TypedMetric<InvalidInputParams, ProbeOutcomes, ProbeRecord> {
 public:
  InvalidInputMetric()
      : TypedMetric(
            DescribeMetric("invalid_input_silent_rate", "ratio", "safety",
                           "share of invalid-input cases (NaN, Inf, out of range, wrong "
                           "dtype, wrong shape) the model answers with a finite output "
                           "instead of an error",
                           /*needs_model=*/true, /*needs_labels=*/false),
            ParamSchema<InvalidInputParams>()
                .Field("cases", &InvalidInputParams::cases, "cases to probe (absent: all)",
                       OneOf(InvalidInputCases()))
                .Field("samples", &InvalidInputParams::samples, "dataset rows in each probe batch",
                       AtLeast(1))
                .Field("timeout_s", &InvalidInputParams::timeout_s,
                       "per-probe time limit (> 0); a probe past it is killed", AtLeast(0))) {}

 protected:
  std::shared_ptr<const Work> Needs(const InvalidInputParams& p) const override {
    return std::make_shared<ProbeWork>(p);
  }
  ProbeOutcomes Accumulate(const InvalidInputParams&, const ProbeRecord& record,
                           const MetricInput& input) const override {
    return {record.samples,
            std::vector<InvalidInputOutcome>(record.outcomes.begin() + input.rows.begin,
                                             record.outcomes.begin() + input.rows.end)};
  }
  Measurement Finalize(const InvalidInputParams& p, const ProbeOutcomes& s,
                       const FinalizeContext& ctx) const override {
    nlohmann::json per_case = nlohmann::json::array();
    nlohmann::json counts = {{"raised", 0},  {"non_finite", 0}, {"silent", 0},
                             {"crashed", 0}, {"timed_out", 0},  {"not_applicable", 0}};
    int64_t applicable = 0, silent = 0;
    for (const auto& o : s.outcomes) {
      per_case.push_back({{"case", o.name}, {"outcome", o.outcome}, {"message", o.message}});
      counts[o.outcome] = counts[o.outcome].get<int64_t>() + 1;
      if (o.outcome != "not_applicable") ++applicable;
      if (o.outcome == "silent") ++silent;
    }
    Measurement r;
    r.unit = "ratio";
    r.samples = applicable;
    r.details = {{"cases", per_case},
                 {"outcomes", counts},
                 {"samples_per_probe", s.samples},
                 {"timeout_s", p.timeout_s},
                 {"isolation",
                  "each case runs in a forked child process; a crash or a hang past "
                  "timeout_s is recorded, not propagated"}};
    r.method =
        "count: cases answered with a finite output / applicable cases; Wilson score interval";
    if (applicable == 0) {
      r.message = "no applicable invalid-input case";
      return r;
    }
    r.value = static_cast<double>(silent) / applicable;
    r.interval = stats::WilsonInterval(silent, applicable, ctx.confidence);
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeInvalidInputSilentRate() {
  return std::make_unique<InvalidInputMetric>();
}

}  // namespace greenlight::safety
