// Quality metrics of causal language models (docs/language-models.md): perplexity, bits per byte
// and next-token accuracy of held-out documents, from one scoring pass (LmScoresWork) that every
// one of them shares. The scoring is exposed for the tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auditors/metric.h"
#include "models/capabilities.h"

namespace greenlight::language {

// A forward call's tokens [begin, end) of a document; it scores the tokens at positions
// [first_scored, end), each given every earlier token of the window.
struct ScoringWindow {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t first_scored = 0;
};

// The windows that score tokens 2..n (positions 1..n-1) of an n-token document, each once, with a
// context of `context_length`: windows of context_length tokens starting at multiples of the
// stride max(1, context_length / 2), the last one cut at the document's end; each scores the
// tokens the previous window did not reach, so every token but those of the first window has at
// least context_length - stride tokens before it. Empty when n < 2 or context_length < 2.
std::vector<ScoringWindow> ScoringWindows(int64_t n, int64_t context_length);
int64_t ScoringStride(int64_t context_length);

// One document's contribution: negative log-likelihood of its scored tokens (nats, from float32
// logits with log-softmax in double), how many tokens were scored, the UTF-8 bytes of the text
// they cover (from the start of token 2 to the end of the document), and how many of them were
// the model's top-1 prediction (ties: the lowest id).
struct DocumentScore {
  double nll = 0.0;
  int64_t tokens = 0;
  int64_t bytes = 0;
  int64_t correct = 0;
};

// Tokenizes `text` with the model's tokenizer (no BOS) and scores it window by window, one
// forward call of batch 1 per window.
DocumentScore ScoreDocument(CausalLanguageModel& lm, std::string_view text);

// Every audited document's score, in row order: the work the quality metrics share.
struct LmScoresRecord final : WorkRecord {
  std::vector<DocumentScore> documents;
  int64_t context_length = 0;
  std::string source;  // "model:<sha256>" of the scoring model.
  // With the reference model (LmScoresWork::WithReference, for metric_delta and
  // metric_retention): its scores of the same documents, each with its own tokenizer and context
  // length. Empty otherwise.
  std::vector<DocumentScore> reference;
  int64_t reference_context_length = 0;
  std::string reference_source;
  int64_t rows() const override { return static_cast<int64_t>(documents.size()); }
};

class LmScoresWork final : public Work {
 public:
  explicit LmScoresWork(bool with_reference = false) : with_reference_(with_reference) {}
  std::string key() const override { return with_reference_ ? "lm_scores+reference" : "lm_scores"; }
  Sharding sharding() const override { return Sharding::kRows; }
  std::shared_ptr<const Work> WithReference() const override;
  // Throws RuntimeError with_reference and no reference model.
  std::shared_ptr<const WorkRecord> Run(AuditContext& context,
                                        std::span<Instrument* const> instruments) const override;

 private:
  bool with_reference_;
};

std::unique_ptr<Metric> MakePerplexity();
std::unique_ptr<Metric> MakeBitsPerByte();
std::unique_ptr<Metric> MakeNextTokenAccuracy();

}  // namespace greenlight::language
