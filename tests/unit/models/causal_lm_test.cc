// The causal_lm runtime: loading (and its load errors), logits against PyTorch, the incremental
// methods against forward, the tokenizers against their references (UTF-8 bytes by hand,
// sentencepiece against the spm_encode program), and classifier calls ending in a clear error.
#define BOOST_TEST_MODULE causal_lm
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/error.h"
#include "models/capabilities.h"
#include "models/model.h"
#include "models/model_registry.h"
#include "models/tokenizer.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

// The tiny models of make_tiny_lm.py, exported once for the whole test program.
const std::filesystem::path& Fixtures() {
  static t::TempDir dir;
  static const bool made = [] {
    const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                               (t::SourceDir() / "tests/unit/models/make_tiny_lm.py").string() +
                               " " + t::Quote(dir.path()) + " 40");
    if (r.exit_code != 0) throw std::runtime_error("make_tiny_lm.py failed: " + r.err);
    return true;
  }();
  (void)made;
  return dir.path();
}

gl::ModelSpec LmSpec(const std::string& file, int64_t context = 16) {
  gl::ModelSpec spec;
  spec.format = "causal_lm";
  spec.path = Fixtures() / file;
  spec.tokenizer = gl::TokenizerSpec{};
  spec.context_length = context;
  return spec;
}

std::string LoadError(const gl::ModelSpec& spec) {
  try {
    gl::BuiltinModelRegistry().Load(spec);
  } catch (const gl::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(loads_with_vocab_context_and_info) {
  const auto model = gl::BuiltinModelRegistry().Load(LmSpec("lm_incremental.pt"));
  auto* lm = model->Capability<gl::CausalLanguageModel>();
  BOOST_REQUIRE(lm != nullptr);
  BOOST_TEST(lm->vocab_size() == 256);
  BOOST_TEST(lm->context_length() == 16);
  BOOST_TEST(lm->incremental());
  BOOST_TEST(lm->tokenizer().kind() == "bytes");
  const auto& info = model->info();
  BOOST_TEST(info.format == "causal_lm");
  // Embedding 256·16, mix 16·16+16, out 16·256+256.
  BOOST_TEST(info.parameters == 256 * 16 + 16 * 16 + 16 + 16 * 256 + 256);
  BOOST_TEST(info.sha256 == gl::Sha256Hex(t::ReadText(Fixtures() / "lm_incremental.pt")));
  BOOST_REQUIRE(info.tokenizer.has_value());
  BOOST_TEST(info.tokenizer->kind == "bytes");
  BOOST_TEST(info.tokenizer->vocab_size == 256);
  BOOST_TEST(info.context_length == 16);
  // Weight counts work as for a classifier; classifier-only capabilities are absent.
  BOOST_TEST(model->Capability<gl::WeightInspection>()->CountWeights().elements == info.parameters);
  BOOST_TEST(model->Capability<gl::GraphIntrospection>() == nullptr);
  BOOST_TEST(model->MissingCapability<gl::GraphIntrospection>().find("token sequences") !=
             std::string::npos);

  const auto plain = gl::BuiltinModelRegistry().Load(LmSpec("lm_plain.pt"));
  BOOST_TEST(!plain->Capability<gl::CausalLanguageModel>()->incremental());
  BOOST_CHECK_THROW(
      plain->Capability<gl::CausalLanguageModel>()->Prefill(std::vector<int64_t>{1, 2}, 1, 2),
      gl::RuntimeError);
}

BOOST_AUTO_TEST_CASE(logits_equal_pytorch) {
  const auto model = gl::BuiltinModelRegistry().Load(LmSpec("lm_plain.pt"));
  auto& lm = *model->Capability<gl::CausalLanguageModel>();
  const std::vector<int64_t> tokens = {72, 105, 33, 0, 255, 10, 72, 72, 1, 2, 3, 4};
  const std::vector<float> logits = lm.Logits(tokens, 2, 6);
  BOOST_REQUIRE(logits.size() == 2u * 6 * 256);
  const auto r = t::RunPython(
      "import torch, json\n"
      "m = torch.jit.load('" +
      (Fixtures() / "lm_plain.pt").string() +
      "')\n"
      "x = torch.tensor([[72, 105, 33, 0, 255, 10], [72, 72, 1, 2, 3, 4]])\n"
      "with torch.no_grad(): y = m(x)\n"
      "print(json.dumps([float(v) for v in y.flatten()]))\n");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto expected = nlohmann::json::parse(r.out).get<std::vector<double>>();
  BOOST_REQUIRE(expected.size() == logits.size());
  double worst = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    worst = std::max(worst, std::abs(logits[i] - expected[i]));
  }
  BOOST_TEST(worst == 0.0);  // The same float32 kernels on the same inputs.
}

BOOST_AUTO_TEST_CASE(prefill_and_step_continue_forward) {
  const auto model = gl::BuiltinModelRegistry().Load(LmSpec("lm_incremental.pt"));
  auto& lm = *model->Capability<gl::CausalLanguageModel>();
  const std::vector<int64_t> all = {10, 20, 30, 40, 50, 60, 70};
  const std::vector<float> full = lm.Logits(all, 1, 7);
  gl::DecodeStep step = lm.Prefill(std::span(all).first(4), 1, 4);
  BOOST_REQUIRE(step.logits.size() == 4u * 256);
  // The same arithmetic summed in another order: equal to float rounding (logits are about 1).
  for (size_t i = 0; i < step.logits.size(); ++i)
    BOOST_TEST(std::abs(step.logits[i] - full[i]) <= 1e-5f);
  for (size_t pos = 4; pos < 7; ++pos) {
    step = lm.Step(std::vector<int64_t>{all[pos]}, 1, *step.cache);
    BOOST_REQUIRE(step.logits.size() == 256u);
    for (size_t v = 0; v < 256; ++v) {
      BOOST_TEST(std::abs(step.logits[v] - full[pos * 256 + v]) <= 1e-5f);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_calls_are_errors_not_crashes) {
  const auto model = gl::BuiltinModelRegistry().Load(LmSpec("lm_plain.pt", 4));
  auto& lm = *model->Capability<gl::CausalLanguageModel>();
  BOOST_CHECK_THROW(lm.Logits(std::vector<int64_t>{1, 2, 3, 4, 5}, 1, 5), gl::InputError);
  BOOST_CHECK_THROW(lm.Logits(std::vector<int64_t>{1, 256}, 1, 2), gl::InputError);
  BOOST_CHECK_THROW(lm.Logits(std::vector<int64_t>{1, -1}, 1, 2), gl::InputError);
  BOOST_CHECK_THROW(lm.Logits(std::vector<int64_t>{1, 2, 3}, 2, 2), gl::InputError);
  // A classifier call says what the model is.
  int64_t outputs = 0;
  try {
    model->Forward(std::vector<float>{0.5f}, 1, &outputs);
    BOOST_FAIL("Forward did not throw");
  } catch (const gl::RuntimeError& e) {
    BOOST_TEST(std::string(e.what()).find("causal language model") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(load_errors_name_the_file_and_problem) {
  const std::string half = LoadError(LmSpec("lm_prefill_only.pt"));
  BOOST_TEST(half.find("lm_prefill_only.pt: the model exports prefill but not step") !=
             std::string::npos);
  const std::string small = LoadError(LmSpec("lm_small_vocab.pt"));
  BOOST_TEST(small.find("the bytes tokenizer: the tokenizer has 256 tokens but") !=
             std::string::npos);
  BOOST_TEST(small.find("scores only V = 100") != std::string::npos);
  auto missing = LmSpec("no_such.pt");
  BOOST_TEST(LoadError(missing).find("no_such.pt: model file not found") != std::string::npos);
  // A classifier exported as TorchScript is not a language model.
  auto classifier = LmSpec("x");
  classifier.path = t::ModelsDir() / "fashion_cnn.pt";
  if (std::filesystem::exists(classifier.path)) {
    BOOST_TEST(LoadError(classifier).find("fashion_cnn.pt: forward(tokens int64 [1, 1])") !=
               std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(bytes_tokenizer_is_utf8_bytes) {
  const auto tokenizer = gl::LoadTokenizer(gl::TokenizerSpec{});
  const auto encoded = tokenizer->Encode("aé€");  // 1 + 2 + 3 bytes.
  BOOST_TEST(encoded.ids == (std::vector<int64_t>{0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC}));
  BOOST_TEST(encoded.offsets == (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  BOOST_TEST(tokenizer->vocab_size() == 256);
}

// A sentencepiece model trained here with Debian's spm_train; ids checked against spm_encode.
BOOST_AUTO_TEST_CASE(sentencepiece_matches_spm_encode) {
  t::TempDir dir;
  std::string corpus;
  for (int i = 0; i < 40; ++i) {
    corpus += "the quick brown fox jumps over the lazy dog " + std::to_string(i) + "\n";
    corpus += "a model audited against criteria writes a signed report\n";
  }
  t::WriteText(dir / "corpus.txt", corpus);
  const auto train = t::RunShell("cd " + t::Quote(dir.path()) +
                                 " && spm_train --input=corpus.txt --model_prefix=tok "
                                 "--vocab_size=40 --model_type=unigram --minloglevel=2");
  BOOST_REQUIRE_MESSAGE(train.exit_code == 0, train.err);
  gl::TokenizerSpec spec{"sentencepiece", dir / "tok.model", nullptr};
  const auto tokenizer = gl::LoadTokenizer(spec);
  BOOST_TEST(tokenizer->vocab_size() == 40);
  const std::string text = "  the lazy fox writes a report";
  t::WriteText(dir / "text.txt", text + "\n");
  const auto ids = t::RunShell("spm_encode --model=" + t::Quote(dir / "tok.model") +
                               " --output_format=id " + t::Quote(dir / "text.txt"));
  BOOST_REQUIRE(ids.exit_code == 0);
  std::vector<int64_t> expected;
  std::istringstream in(ids.out);
  for (int64_t id; in >> id;) expected.push_back(id);
  const auto encoded = tokenizer->Encode(text);
  BOOST_TEST(encoded.ids == expected, ids.out);
  // Offsets ascend and start where the text does (leading spaces are dropped).
  BOOST_REQUIRE(!encoded.offsets.empty());
  BOOST_TEST(encoded.offsets.front() <= 2);
  BOOST_TEST(std::is_sorted(encoded.offsets.begin(), encoded.offsets.end()));

  // The model needs at least the tokenizer's 40 outputs; its info carries the file's digest.
  auto lm = LmSpec("lm_vocab_40.pt");
  lm.tokenizer = spec;
  const auto model = gl::BuiltinModelRegistry().Load(lm);
  BOOST_TEST(model->info().tokenizer->sha256 == gl::Sha256Hex(t::ReadText(dir / "tok.model")));
  BOOST_TEST(model->info().tokenizer->vocab_size == 40);
  BOOST_TEST(model->Capability<gl::CausalLanguageModel>()->vocab_size() == 40);
  // The bytes tokenizer's 256 ids do not fit a 40-token model.
  BOOST_TEST(LoadError(LmSpec("lm_vocab_40.pt")).find("scores only V = 40") != std::string::npos);
  // Not a sentencepiece model.
  t::WriteText(dir / "bad.model", "not a model");
  lm.tokenizer = gl::TokenizerSpec{"sentencepiece", dir / "bad.model", nullptr};
  BOOST_TEST(LoadError(lm).find("bad.model: not a SentencePiece model") != std::string::npos);
}
