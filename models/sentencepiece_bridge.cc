// The sentencepiece tokenizer behind a C interface, built as a loadable module that the tokenizer
// opens with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) (models/tokenizer.cc). Debian's libsentencepiece
// bundles its own copy of protobuf-lite and exports it; linked into a process that also loads
// LibTorch's libprotobuf, the two copies' symbols interpose and the process crashes while the
// libraries initialise. Loaded this way, sentencepiece and its protobuf bind only to each other.
#include <sentencepiece_processor.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

void CopyError(const std::string& message, char* error, size_t error_size) {
  if (error_size == 0) return;
  std::strncpy(error, message.c_str(), error_size - 1);
  error[error_size - 1] = '\0';
}

}  // namespace

extern "C" {

// A processor for the serialized model `bytes`, or null with the reason in `error`.
__attribute__((visibility("default"))) void* greenlight_spm_load(const char* bytes, size_t size,
                                                                 char* error, size_t error_size) {
  auto* processor = new sentencepiece::SentencePieceProcessor();
  const auto status = processor->LoadFromSerializedProto(absl::string_view(bytes, size));
  if (!status.ok()) {
    CopyError(status.ToString(), error, error_size);
    delete processor;
    return nullptr;
  }
  return processor;
}

__attribute__((visibility("default"))) int64_t greenlight_spm_vocab(void* processor) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(processor)->GetPieceSize();
}

// Encodes `text` and writes up to `capacity` ids and their byte offsets into the text; returns
// the number of pieces (call again with a larger capacity when it exceeds `capacity`).
__attribute__((visibility("default"))) int64_t greenlight_spm_encode(void* processor,
                                                                     const char* text, size_t size,
                                                                     int64_t* ids, int64_t* offsets,
                                                                     int64_t capacity) {
  const auto pieces =
      static_cast<sentencepiece::SentencePieceProcessor*>(processor)->EncodeAsImmutableProto(
          absl::string_view(text, size));
  const auto count = static_cast<int64_t>(pieces.pieces_size());
  for (int64_t i = 0; i < count && i < capacity; ++i) {
    const auto piece = pieces.pieces(static_cast<int>(i));
    ids[i] = piece.id();
    offsets[i] = piece.begin();
  }
  return count;
}

__attribute__((visibility("default"))) void greenlight_spm_free(void* processor) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(processor);
}

}  // extern "C"
