// Determinism: the same inputs run several times, with several intra-op thread counts and batch
// sizes; the largest absolute difference of any raw output from the first run.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "auditors/safety/common.h"
#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"

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

struct DeterminismParams {
  int64_t repeats = 3;
  std::vector<int64_t> threads{1, 2};
  std::vector<int64_t> batch_sizes{64, 8};
  int64_t limit = kDefaultLimit;
};

// Per configuration (thread count × batch size, in the order run) and per row: the largest
// |output - first run| over that configuration's runs (infinite for NaN against a number) and how
// many of the row's outputs differed bit for bit; per row, the reference run's non-finite outputs.
struct DeterminismRecord final : WorkRecord {
  int64_t outputs_per_row = 0;
  int64_t comparisons = 0;  // Runs compared with the reference (all runs but the first).
  int original_threads = 0;
  std::vector<std::vector<double>> row_max;         // [config][row]
  std::vector<std::vector<int64_t>> row_differing;  // [config][row]
  std::vector<int64_t> row_non_finite;              // [row]
  int64_t rows() const override { return static_cast<int64_t>(row_non_finite.size()); }
};

class DeterminismWork final : public Work {
 public:
  explicit DeterminismWork(const DeterminismParams& p) : p_(p) {}
  std::string key() const override {
    return "safety.determinism:" + CanonicalText({{"repeats", p_.repeats},
                                                  {"threads", p_.threads},
                                                  {"batch_sizes", p_.batch_sizes},
                                                  {"limit", p_.limit}});
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    const std::string metric = "determinism_max_abs_diff";
    Model& model = RequireModel(ctx, metric);
    const Dataset& data = ctx.Rows(p_.limit);
    if (data.rows() == 0) throw InputError(metric + ": the dataset has no rows");
    if (p_.threads.empty() || p_.batch_sizes.empty()) {
      throw InputError(metric + ": threads and batch_sizes must not be empty");
    }
    const int64_t n = p_.limit <= 0 ? data.rows() : std::min(p_.limit, data.rows());
    const auto inputs = data.features().subspan(0, static_cast<size_t>(n * data.sample_size()));
    ThreadRestorer restore(model);
    auto record = std::make_shared<DeterminismRecord>();
    record->original_threads = restore.original();
    record->row_non_finite.assign(static_cast<size_t>(n), 0);
    std::vector<float> reference;
    const double total = static_cast<double>(p_.threads.size() * p_.batch_sizes.size() *
                                             static_cast<size_t>(p_.repeats));
    int done = 0;
    for (int64_t t : p_.threads) {
      model.SetThreads(static_cast<int>(t));
      for (int64_t batch : p_.batch_sizes) {
        std::vector<double> row_max(static_cast<size_t>(n), 0.0);
        std::vector<int64_t> row_differing(static_cast<size_t>(n), 0);
        for (int64_t rep = 0; rep < p_.repeats; ++rep) {
          const auto out = RunAll(model, inputs, n, batch);
          ctx.Progress("determinism", "repeated runs", ++done / total);
          if (reference.empty()) {
            reference = out;
            record->outputs_per_row = static_cast<int64_t>(out.size()) / n;
            for (size_t i = 0; i < out.size(); ++i) {
              record->row_non_finite[i / static_cast<size_t>(record->outputs_per_row)] +=
                  !std::isfinite(out[i]);
            }
            continue;
          }
          if (out.size() != reference.size()) {
            throw RuntimeError(metric + ": output size changed between runs");
          }
          ++record->comparisons;
          for (size_t i = 0; i < out.size(); ++i) {
            if (std::memcmp(&out[i], &reference[i], sizeof(float)) == 0) continue;
            const size_t row = i / static_cast<size_t>(record->outputs_per_row);
            ++row_differing[row];
            const double d = std::fabs(static_cast<double>(out[i]) - reference[i]);
            // NaN against a number (or NaN patterns) is an unbounded difference.
            row_max[row] = std::max(row_max[row], std::isnan(d) ? INFINITY : d);
          }
        }
        record->row_max.push_back(std::move(row_max));
        record->row_differing.push_back(std::move(row_differing));
      }
    }
    return record;
  }

 private:
  DeterminismParams p_;
};

// Per configuration: the largest difference (merges by max, exactly) and the differing outputs
// (adds); the compared and non-finite counts and the rows (add).
struct DeterminismStats {
  std::vector<double> config_max;
  std::vector<int64_t> config_differing;
  int64_t compared = 0;
  int64_t non_finite = 0;
  int64_t rows = 0;
  int original_threads = 0;

  void Merge(const DeterminismStats& other) {
    if (other.config_max.size() != config_max.size()) {
      throw RuntimeError("determinism statistics of different configurations");
    }
    for (size_t c = 0; c < config_max.size(); ++c) {
      config_max[c] = std::max(config_max[c], other.config_max[c]);
      config_differing[c] += other.config_differing[c];
    }
    compared += other.compared;
    non_finite += other.non_finite;
    rows += other.rows;
  }
  nlohmann::json ToJson() const {
    return {{"config_max", ExactJson(config_max)},
            {"config_differing", config_differing},
            {"compared", compared},
            {"non_finite", non_finite},
            {"rows", rows},
            {"original_threads", original_threads}};
  }
  static DeterminismStats FromJson(const nlohmann::json& j) {
    DeterminismStats s{ExactDoubles(j.at("config_max")),
                       JsonIntegers<int64_t>(j.at("config_differing"), "config_differing"),
                       JsonInteger<int64_t>(j.at("compared"), "compared"),
                       JsonInteger<int64_t>(j.at("non_finite"), "non_finite"),
                       JsonInteger<int64_t>(j.at("rows"), "rows"),
                       JsonInteger<int>(j.at("original_threads"), "original_threads")};
    if (s.config_differing.size() != s.config_max.size()) {
      throw InputError("determinism statistics: arrays differ in length");
    }
    return s;
  }
};

class DeterminismMetric final
    : public TypedMetric<DeterminismParams, DeterminismStats, DeterminismRecord> {
 public:
  DeterminismMetric()
      : TypedMetric(
            DescribeMetric("determinism_max_abs_diff", "output units", "safety",
                           "largest |difference| of any raw output across repeated runs, thread "
                           "counts and batch sizes",
                           /*needs_model=*/true, /*needs_labels=*/false),
            ParamSchema<DeterminismParams>()
                .Field("repeats", &DeterminismParams::repeats, "runs per configuration", AtLeast(1))
                .Field("threads", &DeterminismParams::threads, "intra-op thread counts to compare",
                       AtLeast(1))
                .Field("batch_sizes", &DeterminismParams::batch_sizes, "batch sizes to compare",
                       AtLeast(1))
                .Field("limit", &DeterminismParams::limit, "use the first N dataset rows (0: all)",
                       AtLeast(0))) {}

 protected:
  std::shared_ptr<const Work> Needs(const DeterminismParams& p) const override {
    return std::make_shared<DeterminismWork>(p);
  }
  DeterminismStats Accumulate(const DeterminismParams&, const DeterminismRecord& record,
                              const MetricInput& input) const override {
    DeterminismStats s;
    s.original_threads = record.original_threads;
    s.rows = input.rows.end - input.rows.begin;
    s.compared = s.rows * record.outputs_per_row * record.comparisons;
    for (size_t c = 0; c < record.row_max.size(); ++c) {
      double max = 0.0;
      int64_t differing = 0;
      for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
        max = std::max(max, record.row_max[c][static_cast<size_t>(i)]);
        differing += record.row_differing[c][static_cast<size_t>(i)];
      }
      s.config_max.push_back(max);
      s.config_differing.push_back(differing);
    }
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      s.non_finite += record.row_non_finite[static_cast<size_t>(i)];
    }
    return s;
  }
  Measurement Finalize(const DeterminismParams& p, const DeterminismStats& s,
                       const FinalizeContext&) const override {
    if (s.rows == 0) throw InputError("determinism_max_abs_diff: the dataset has no rows");
    double max_diff = 0.0;
    bool bitwise = true;
    int64_t differing = 0;
    nlohmann::json configs = nlohmann::json::array();
    size_t c = 0;
    for (int64_t t : p.threads) {
      for (int64_t batch : p.batch_sizes) {
        const bool config_bitwise = s.config_differing[c] == 0;
        max_diff = std::max(max_diff, s.config_max[c]);
        bitwise = bitwise && config_bitwise;
        differing += s.config_differing[c];
        configs.push_back({{"threads", t},
                           {"batch_size", batch},
                           {"repeats", p.repeats},
                           {"max_abs_diff", s.config_max[c]},
                           {"bitwise_identical", config_bitwise}});
        ++c;
      }
    }
    Measurement r;
    r.unit = "output units";
    r.value = max_diff;
    r.samples = s.rows;
    r.deterministic = false;  // The quantity measured is run-to-run variation itself.
    if (std::isinf(max_diff)) {
      r.message =
          "outputs differ in non-finite values (NaN against a number): the difference is "
          "unbounded";
    }
    r.method =
        "observed maximum |output - first run| over all runs (no interval: a maximum over "
        "runs, not an estimate of a rate)";
    r.details = {
        {"rows", s.rows},
        {"bitwise_identical", bitwise},
        {"configurations", configs},
        {"reference", {{"threads", p.threads.front()}, {"batch_size", p.batch_sizes.front()}}},
        {"outputs_compared", s.compared},
        {"outputs_differing", differing},
        {"non_finite_reference_outputs", s.non_finite},
        {"original_threads", s.original_threads},
        {"output_space", "raw model outputs (as declared in model.output)"}};
    return r;
  }
};

}  // namespace

std::unique_ptr<Metric> MakeDeterminismMaxAbsDiff() {
  return std::make_unique<DeterminismMetric>();
}

}  // namespace greenlight::safety
