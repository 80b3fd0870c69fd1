// Tokenizers of language models: text in, token ids out, with where each token starts in the
// text (what bits_per_byte needs to count the bytes of the scored tokens). Free of runtime types.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/model.h"

namespace greenlight {

// A tokenized text. ids[i] covers the text's bytes from offsets[i] on; offsets ascend, and
// offsets[0] is 0 unless the tokenizer drops leading text (sentencepiece drops leading spaces).
struct TokenizedText {
  std::vector<int64_t> ids;
  std::vector<int64_t> offsets;  // UTF-8 byte offsets into the text, one per id.
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string_view kind() const = 0;  // "bytes" | "sentencepiece"
  // Ids are 0..vocab_size()-1.
  virtual int64_t vocab_size() const = 0;
  // The text's tokens, without a BOS or EOS token. Thread-compatible (const calls may run
  // concurrently). Throws RuntimeError when the tokenizer fails.
  virtual TokenizedText Encode(std::string_view text) const = 0;
};

// The tokenizer `spec` names, from spec.bytes (or `spec.path`, read once): "bytes" needs no file;
// "sentencepiece" loads a SentencePiece model (.model, a serialized ModelProto). Throws InputError
// naming the file when it is missing or not a SentencePiece model, or the kind is unknown.
std::unique_ptr<Tokenizer> LoadTokenizer(const TokenizerSpec& spec);

}  // namespace greenlight
