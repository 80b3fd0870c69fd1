#include "auditors/safety/determinism.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "auditors/safety/common.h"
#include "core/error.h"

namespace greenlight::safety {
namespace {

constexpr int64_t kDefaultLimit = 256;

std::vector<float> RunAll(Model& model, std::span<const float> inputs, int64_t rows,
                          int64_t batch) {
  const int64_t size = model.input_size();
  std::vector<float> out;
  for (int64_t start = 0; start < rows; start += batch) {
    const int64_t b = std::min(batch, rows - start);
    int64_t outputs = 0;
    const auto raw = model.Forward(
        inputs.subspan(static_cast<size_t>(start * size), static_cast<size_t>(b * size)), b,
        &outputs);
    out.insert(out.end(), raw.begin(), raw.end());
  }
  return out;
}

// Restores the model's thread count however the measurement ends.
class ThreadRestorer {
 public:
  explicit ThreadRestorer(Model& model) : model_(model), threads_(model.threads()) {}
  ~ThreadRestorer() { model_.SetThreads(threads_); }
  int original() const { return threads_; }

 private:
  Model& model_;
  int threads_;
};

}  // namespace

std::vector<MetricSpec> DeterminismMetrics() {
  return {{"determinism_max_abs_diff",
           "output units",
           "safety",
           "largest |difference| of any raw output across repeated runs, thread counts and batch "
           "sizes",
           {{"repeats", ParamType::kInteger, "runs per configuration", 3},
            {"threads", ParamType::kIntegerList, "intra-op thread counts to compare",
             nlohmann::json::array({1, 2})},
            {"batch_sizes", ParamType::kIntegerList, "batch sizes to compare",
             nlohmann::json::array({64, 8})},
            {"limit", ParamType::kInteger, "use the first N dataset rows (0: all)", kDefaultLimit}},
           true,
           false}};
}

Measurement MeasureDeterminism(const MetricRequest& req, AuditContext& ctx) {
  Model& model = RequireModel(ctx, req.metric);
  const Dataset& data = ctx.dataset();
  const int64_t n = SelectRows(req, data, kDefaultLimit);
  const int repeats = static_cast<int>(req.Param<int64_t>("repeats", 3));
  const auto threads = req.Param<std::vector<int>>("threads", {1, 2});
  const auto batches = req.Param<std::vector<int64_t>>("batch_sizes", {64, 8});
  if (repeats < 1) throw InputError(req.metric + ": repeats must be at least 1");
  if (threads.empty() || batches.empty()) {
    throw InputError(req.metric + ": threads and batch_sizes must not be empty");
  }
  for (int t : threads) {
    if (t < 1) throw InputError(req.metric + ": thread counts must be at least 1");
  }
  for (int64_t b : batches) {
    if (b < 1) throw InputError(req.metric + ": batch sizes must be at least 1");
  }
  const auto inputs = data.features().subspan(0, static_cast<size_t>(n * data.sample_size()));
  ThreadRestorer restore(model);
  std::vector<float> reference;
  double max_diff = 0.0;
  bool bitwise = true;
  int64_t differing = 0, compared = 0, non_finite = 0;
  nlohmann::json configs = nlohmann::json::array();
  const double total = static_cast<double>(threads.size() * batches.size() * repeats);
  int done = 0;
  for (int t : threads) {
    model.SetThreads(t);
    for (int64_t batch : batches) {
      double config_max = 0.0;
      bool config_bitwise = true;
      for (int rep = 0; rep < repeats; ++rep) {
        const auto out = RunAll(model, inputs, n, batch);
        ctx.Progress(req.criterion_id, "repeated runs", ++done / total);
        if (reference.empty()) {
          reference = out;
          for (float v : out) non_finite += !std::isfinite(v);
          continue;
        }
        if (out.size() != reference.size()) {
          throw RuntimeError(req.metric + ": output size changed between runs");
        }
        for (size_t i = 0; i < out.size(); ++i) {
          ++compared;
          if (std::memcmp(&out[i], &reference[i], sizeof(float)) == 0) continue;
          ++differing;
          config_bitwise = false;
          const double d = std::fabs(static_cast<double>(out[i]) - reference[i]);
          // NaN against a number (or NaN patterns) is an unbounded difference.
          config_max = std::max(config_max, std::isnan(d) ? INFINITY : d);
        }
      }
      max_diff = std::max(max_diff, config_max);
      bitwise = bitwise && config_bitwise;
      configs.push_back({{"threads", t},
                         {"batch_size", batch},
                         {"repeats", repeats},
                         {"max_abs_diff", config_max},
                         {"bitwise_identical", config_bitwise}});
    }
  }
  Measurement r;
  r.unit = "output units";
  r.value = max_diff;
  r.samples = n;
  r.deterministic = false;  // The quantity measured is run-to-run variation itself.
  if (std::isinf(max_diff)) {
    r.message =
        "outputs differ in non-finite values (NaN against a number): the difference is "
        "unbounded";
  }
  r.method =
      "observed maximum |output - first run| over all runs (no interval: a maximum over "
      "runs, not an estimate of a rate)";
  r.details = {{"rows", n},
               {"bitwise_identical", bitwise},
               {"configurations", configs},
               {"reference", {{"threads", threads.front()}, {"batch_size", batches.front()}}},
               {"outputs_compared", compared},
               {"outputs_differing", differing},
               {"non_finite_reference_outputs", non_finite},
               {"original_threads", restore.original()},
               {"output_space", "raw model outputs (as declared in model.output)"}};
  return r;
}

}  // namespace greenlight::safety
