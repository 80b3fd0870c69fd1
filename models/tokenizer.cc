#include "models/tokenizer.h"

#include <dlfcn.h>

#include <filesystem>

#include "core/error.h"

namespace greenlight {
namespace {

// UTF-8 bytes as tokens: id = byte value, 256 ids, one token per byte.
class ByteTokenizer final : public Tokenizer {
 public:
  std::string_view kind() const override { return "bytes"; }
  int64_t vocab_size() const override { return 256; }
  TokenizedText Encode(std::string_view text) const override {
    TokenizedText out;
    out.ids.reserve(text.size());
    out.offsets.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      out.ids.push_back(static_cast<unsigned char>(text[i]));
      out.offsets.push_back(static_cast<int64_t>(i));
    }
    return out;
  }
};

// Debian's libsentencepiece (the tokenizer of the Llama and T5 families), through the bridge
// module (sentencepiece_bridge.cc): opened once per process with its own symbol scope, because
// the library's bundled protobuf would otherwise clash with LibTorch's.
class SentencePieceBridge {
 public:
  static const SentencePieceBridge& Get() {
    static const SentencePieceBridge bridge;
    return bridge;
  }
  using Load = void* (*)(const char*, size_t, char*, size_t);
  using Vocab = int64_t (*)(void*);
  using Encode = int64_t (*)(void*, const char*, size_t, int64_t*, int64_t*, int64_t);
  using Free = void (*)(void*);
  Load load = nullptr;
  Vocab vocab = nullptr;
  Encode encode = nullptr;
  Free free = nullptr;
  std::string error;  // Why the module is unavailable; empty when loaded.

 private:
  SentencePieceBridge() {
    void* module = nullptr;
    for (const char* path :
         {GREENLIGHT_SENTENCEPIECE_MODULE_BUILT, GREENLIGHT_SENTENCEPIECE_MODULE_INSTALLED}) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) continue;
      // Never closed: tokenizers may live until the process exits.
      module = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (module == nullptr) {
        error = std::string("cannot load the sentencepiece module: ") + dlerror();
        return;
      }
      break;
    }
    if (module == nullptr) {
      error = "the sentencepiece module is not installed (" +
              std::string(GREENLIGHT_SENTENCEPIECE_MODULE_INSTALLED) + ")";
      return;
    }
    load = reinterpret_cast<Load>(dlsym(module, "greenlight_spm_load"));
    vocab = reinterpret_cast<Vocab>(dlsym(module, "greenlight_spm_vocab"));
    encode = reinterpret_cast<Encode>(dlsym(module, "greenlight_spm_encode"));
    free = reinterpret_cast<Free>(dlsym(module, "greenlight_spm_free"));
    if (!load || !vocab || !encode || !free) error = "the sentencepiece module is incomplete";
  }
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& bytes, const std::string& file)
      : bridge_(SentencePieceBridge::Get()) {
    if (!bridge_.error.empty()) throw InputError(file + ": " + bridge_.error);
    char error[512] = {0};
    processor_ = bridge_.load(bytes.data(), bytes.size(), error, sizeof error);
    if (processor_ == nullptr) {
      throw InputError(file + ": not a SentencePiece model: " + FirstLine(error));
    }
    vocab_size_ = bridge_.vocab(processor_);
  }
  ~SentencePieceTokenizer() override { bridge_.free(processor_); }
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::string_view kind() const override { return "sentencepiece"; }
  int64_t vocab_size() const override { return vocab_size_; }
  TokenizedText Encode(std::string_view text) const override {
    TokenizedText out;
    // Pieces rarely outnumber bytes; when they do, the second call has room for all.
    int64_t capacity = static_cast<int64_t>(text.size()) + 16;
    for (;;) {
      out.ids.resize(static_cast<size_t>(capacity));
      out.offsets.resize(static_cast<size_t>(capacity));
      const int64_t count = bridge_.encode(processor_, text.data(), text.size(), out.ids.data(),
                                           out.offsets.data(), capacity);
      if (count <= capacity) {
        out.ids.resize(static_cast<size_t>(count));
        out.offsets.resize(static_cast<size_t>(count));
        return out;
      }
      capacity = count;
    }
  }

 private:
  static std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

  const SentencePieceBridge& bridge_;
  void* processor_ = nullptr;
  int64_t vocab_size_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> LoadTokenizer(const TokenizerSpec& spec) {
  if (spec.kind == "bytes") return std::make_unique<ByteTokenizer>();
  if (spec.kind == "sentencepiece") {
    const std::shared_ptr<const std::string> bytes =
        spec.bytes ? spec.bytes : ReadTokenizerBytes(spec);
    return std::make_unique<SentencePieceTokenizer>(*bytes, spec.path.string());
  }
  throw InputError("unknown tokenizer kind '" + spec.kind + "' (known: bytes, sentencepiece)");
}

}  // namespace greenlight
