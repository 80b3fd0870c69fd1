// perplexity, bits_per_byte and next_token_accuracy: one class, three ratios of sums over the
// audited documents, with a percentile bootstrap over documents.
#include "auditors/language/language_metrics.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/json_limits.h"
#include "core/random.h"
#include "core/stats.h"

namespace greenlight::language {

int64_t ScoringStride(int64_t context_length) { return std::max<int64_t>(1, context_length / 2); }

std::vector<ScoringWindow> ScoringWindows(int64_t n, int64_t context_length) {
  std::vector<ScoringWindow> windows;
  if (n < 2 || context_length < 2) return windows;
  const int64_t stride = ScoringStride(context_length);
  // Position 0 (the first token) is never scored. As stride < context_length, every window ends
  // past the previous one until one reaches n, and holds at least two tokens.
  int64_t scored_to = 1;
  for (int64_t begin = 0; scored_to < n; begin += stride) {
    const int64_t end = std::min(n, begin + context_length);
    windows.push_back({begin, end, scored_to});
    scored_to = end;
  }
  return windows;
}

DocumentScore ScoreDocument(CausalLanguageModel& lm, std::string_view text) {
  const TokenizedText tokenized = lm.tokenizer().Encode(text);
  const auto n = static_cast<int64_t>(tokenized.ids.size());
  const int64_t vocab = lm.vocab_size();
  DocumentScore score;
  if (n < 2) return score;
  score.bytes = static_cast<int64_t>(text.size()) - tokenized.offsets[1];
  for (const ScoringWindow& w : ScoringWindows(n, lm.context_length())) {
    const int64_t length = w.end - w.begin;
    const std::span<const int64_t> tokens(tokenized.ids.data() + w.begin,
                                          static_cast<size_t>(length));
    const std::vector<float> logits = lm.Logits(tokens, 1, length);
    for (int64_t p = w.first_scored; p < w.end; ++p) {
      // Row p - 1 of the window predicts the token at p.
      const float* row = logits.data() + (p - 1 - w.begin) * vocab;
      const int64_t target = tokenized.ids[static_cast<size_t>(p)];
      int64_t best = 0;
      for (int64_t v = 1; v < vocab; ++v) {
        if (row[v] > row[best]) best = v;
      }
      const double max = row[best];
      double sum = 0.0;
      for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - max);
      score.nll += max + std::log(sum) - static_cast<double>(row[target]);
      score.correct += best == target ? 1 : 0;
      ++score.tokens;
    }
  }
  return score;
}

std::shared_ptr<const Work> LmScoresWork::WithReference() const {
  return std::make_shared<LmScoresWork>(true);
}

std::shared_ptr<const WorkRecord> LmScoresWork::Run(AuditContext& context,
                                                    std::span<Instrument* const>) const {
  if (context.model() == nullptr) throw InputError("language-model metrics need a model");
  if (with_reference_ && context.reference() == nullptr) {
    throw RuntimeError("comparing language models needs a reference model");
  }
  const Dataset& data = context.dataset();
  const auto texts = data.texts();
  if (static_cast<int64_t>(texts.size()) != data.rows()) {
    throw InputError("language-model metrics need a text or jsonl dataset (documents)");
  }
  auto record = std::make_shared<LmScoresRecord>();
  auto score = [&](Model& model, std::vector<DocumentScore>& out, int64_t& context_length,
                   std::string& source, std::string_view step) {
    CausalLanguageModel& lm = RequireCapability<CausalLanguageModel>(model);
    context_length = lm.context_length();
    source = "model:" + model.info().sha256;
    out.reserve(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      out.push_back(ScoreDocument(lm, texts[i]));
      if (i % 16 == 15) {
        context.Progress("", step, static_cast<double>(i + 1) / static_cast<double>(texts.size()));
      }
    }
  };
  score(*context.model(), record->documents, record->context_length, record->source,
        "scoring documents");
  if (with_reference_) {
    score(*context.reference(), record->reference, record->reference_context_length,
          record->reference_source, "scoring documents with the reference model");
  }
  return record;
}

namespace {

enum class Quality { kPerplexity, kBitsPerByte, kNextTokenAccuracy };

struct QualityParams {
  int64_t bootstrap_resamples = 1000;
};

// Per-document sums, in row order: exact to merge (concatenation), and what the bootstrap over
// documents resamples.
struct QualityStats {
  int64_t context_length = 0;
  std::vector<double> nll;
  std::vector<int64_t> tokens;
  std::vector<int64_t> bytes;
  std::vector<int64_t> correct;

  void Merge(const QualityStats& other) {
    if (context_length != 0 && other.context_length != 0 &&
        context_length != other.context_length) {
      throw RuntimeError("language-model statistics scored with different context lengths (" +
                         std::to_string(context_length) + " and " +
                         std::to_string(other.context_length) + ")");
    }
    if (context_length == 0) context_length = other.context_length;
    nll.insert(nll.end(), other.nll.begin(), other.nll.end());
    tokens.insert(tokens.end(), other.tokens.begin(), other.tokens.end());
    bytes.insert(bytes.end(), other.bytes.begin(), other.bytes.end());
    correct.insert(correct.end(), other.correct.begin(), other.correct.end());
  }
  nlohmann::json ToJson() const {
    return {{"context_length", context_length},
            {"nll", nll},
            {"tokens", tokens},
            {"bytes", bytes},
            {"correct", correct}};
  }
  static QualityStats FromJson(const nlohmann::json& j) {
    QualityStats s;
    s.context_length = JsonInteger<int64_t>(j.at("context_length"), "context_length");
    s.nll = j.at("nll").get<std::vector<double>>();
    s.tokens = JsonIntegers<int64_t>(j.at("tokens"), "tokens");
    s.bytes = JsonIntegers<int64_t>(j.at("bytes"), "bytes");
    s.correct = JsonIntegers<int64_t>(j.at("correct"), "correct");
    const size_t n = s.nll.size();
    if (s.tokens.size() != n || s.bytes.size() != n || s.correct.size() != n) {
      throw InputError("language-model statistics: per-document arrays differ in length");
    }
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.nll[i]) || s.nll[i] < 0 || s.tokens[i] < 0 || s.bytes[i] < 0 ||
          s.correct[i] < 0 || s.correct[i] > s.tokens[i]) {
        throw InputError("language-model statistics: document " + std::to_string(i) +
                         " has impossible sums");
      }
    }
    return s;
  }
};

struct Sums {
  double nll = 0.0;
  double tokens = 0.0;
  double bytes = 0.0;
  double correct = 0.0;
};

class QualityMetric final : public TypedMetric<QualityParams, QualityStats, LmScoresRecord> {
 public:
  explicit QualityMetric(Quality quality)
      : TypedMetric(Describe(quality),
                    ParamSchema<QualityParams>().Field(
                        "bootstrap_resamples", &QualityParams::bootstrap_resamples,
                        "resamples of the percentile bootstrap over documents", AtLeast(100))),
        quality_(quality) {}

 protected:
  std::shared_ptr<const Work> Needs(const QualityParams&) const override {
    return std::make_shared<LmScoresWork>();
  }
  QualityStats Accumulate(const QualityParams&, const LmScoresRecord& record,
                          const MetricInput& input) const override {
    QualityStats s;
    s.context_length = record.context_length;
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const DocumentScore& d = record.documents[static_cast<size_t>(i)];
      s.nll.push_back(d.nll);
      s.tokens.push_back(d.tokens);
      s.bytes.push_back(d.bytes);
      s.correct.push_back(d.correct);
    }
    return s;
  }
  Measurement Finalize(const QualityParams& p, const QualityStats& s,
                       const FinalizeContext& ctx) const override {
    const auto n = static_cast<int64_t>(s.nll.size());
    if (n == 0) throw InputError("the dataset has no documents");
    Measurement r;
    r.unit = quality_ == Quality::kBitsPerByte         ? "bits/byte"
             : quality_ == Quality::kNextTokenAccuracy ? "ratio"
                                                       : "perplexity";
    r.samples = n;
    const Sums total = Sum(s, {});
    r.details["documents"] = n;
    r.details["scored_tokens"] = static_cast<int64_t>(total.tokens);
    r.details["scored_bytes"] = static_cast<int64_t>(total.bytes);
    r.details["nll_sum_nats"] = total.nll;
    r.details["correct"] = static_cast<int64_t>(total.correct);
    r.details["context_length"] = s.context_length;
    r.details["stride"] = ScoringStride(s.context_length);
    r.value = Statistic(total);
    if (!r.value) {
      r.method = Method();
      r.message =
          std::string(spec().name) + " is undefined: no document has two or more tokens to score";
      return r;
    }
    if (ctx.value_only) {  // A comparison's resample: the value alone.
      r.method = Method();
      return r;
    }
    const auto resamples = static_cast<int>(p.bootstrap_resamples);
    int step = 0;
    auto boot = stats::RowBootstrap(n, resamples, ctx.seed, [&](std::span<const uint32_t> w) {
      if (++step % 100 == 0 && ctx.progress) ctx.progress(static_cast<double>(step) / resamples);
      return Statistic(Sum(s, w));
    });
    r.interval = stats::PercentileIntervalContaining(boot.replicates, ctx.confidence, *r.value);
    r.method = Method() + "; percentile bootstrap over documents";
    r.details["bootstrap"] = {{"resamples", resamples},
                              {"seed", ctx.seed},
                              {"generator", random::kGeneratorName},
                              {"undefined_resamples", boot.undefined}};
    return r;
  }

 private:
  static MetricSpec Describe(Quality quality) {
    switch (quality) {
      case Quality::kPerplexity:
        return DescribeMetric("perplexity", "perplexity", "safety",
                              "exp of the mean negative log-likelihood per scored token of the "
                              "documents (a causal language model; lower is better)",
                              /*needs_model=*/true, /*needs_labels=*/false);
      case Quality::kBitsPerByte:
        return DescribeMetric("bits_per_byte", "bits/byte", "safety",
                              "negative log-likelihood of the scored tokens in bits per UTF-8 "
                              "byte of the text they cover (a causal language model)",
                              /*needs_model=*/true, /*needs_labels=*/false);
      case Quality::kNextTokenAccuracy:
        break;
    }
    return DescribeMetric("next_token_accuracy", "ratio", "safety",
                          "share of scored tokens that are the model's top-1 prediction given "
                          "their prefix (a causal language model)",
                          /*needs_model=*/true, /*needs_labels=*/false);
  }

  std::string Method() const {
    switch (quality_) {
      case Quality::kPerplexity:
        return "exp(sum NLL / scored tokens), windows of context_length with stride "
               "context_length/2";
      case Quality::kBitsPerByte:
        return "sum NLL / (ln 2 x UTF-8 bytes of the scored text), windows of context_length "
               "with stride context_length/2";
      case Quality::kNextTokenAccuracy:
        break;
    }
    return "top-1 correct / scored tokens, windows of context_length with stride "
           "context_length/2";
  }

  // The sums, each document counted w[i] times (all once when w is empty).
  static Sums Sum(const QualityStats& s, std::span<const uint32_t> w) {
    Sums t;
    for (size_t i = 0; i < s.nll.size(); ++i) {
      const double k = w.empty() ? 1.0 : static_cast<double>(w[i]);
      if (k == 0.0) continue;
      t.nll += k * s.nll[i];
      t.tokens += k * static_cast<double>(s.tokens[i]);
      t.bytes += k * static_cast<double>(s.bytes[i]);
      t.correct += k * static_cast<double>(s.correct[i]);
    }
    return t;
  }

  std::optional<double> Statistic(const Sums& t) const {
    switch (quality_) {
      case Quality::kPerplexity:
        if (t.tokens == 0) return std::nullopt;
        return std::exp(t.nll / t.tokens);
      case Quality::kBitsPerByte:
        if (t.bytes == 0) return std::nullopt;
        return t.nll / (std::numbers::ln2 * t.bytes);
      case Quality::kNextTokenAccuracy:
        break;
    }
    if (t.tokens == 0) return std::nullopt;
    return t.correct / t.tokens;
  }

  Quality quality_;
};

}  // namespace

std::unique_ptr<Metric> MakePerplexity() {
  return std::make_unique<QualityMetric>(Quality::kPerplexity);
}
std::unique_ptr<Metric> MakeBitsPerByte() {
  return std::make_unique<QualityMetric>(Quality::kBitsPerByte);
}
std::unique_ptr<Metric> MakeNextTokenAccuracy() {
  return std::make_unique<QualityMetric>(Quality::kNextTokenAccuracy);
}

}  // namespace greenlight::language
