// flops_per_token and kv_cache_bytes_per_token of the example LM (examples/models/tiny_lm.pt and
// its int8 twin) against hand computation from its architecture (examples/export_models.py,
// TinyLm: width 64, 4 heads of 16, 2 layers, MLP 4 × 64, byte vocabulary 256, context 128;
// cache [layers, 2, batch, heads, T, head_dim] float32).
#define BOOST_TEST_MODULE lm_facts
#include "auditors/language/lm_facts.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "auditors/metric.h"
#include "datasets/in_memory_dataset.h"
#include "models/model_registry.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace lang = greenlight::language;
namespace t = greenlight::testing;
using nlohmann::json;

namespace {

std::unique_ptr<gl::Model> Lm(const std::filesystem::path& path) {
  gl::ModelSpec spec;
  spec.format = "causal_lm";
  spec.path = path;
  spec.tokenizer = gl::TokenizerSpec{};
  spec.context_length = 128;
  auto model = gl::BuiltinModelRegistry().Load(spec);
  model->SetThreads(1);
  return model;
}

gl::Measurement Measure(const gl::Metric& metric, gl::Model& model, const json& params) {
  gl::InMemoryDataset data;
  data.texts_ = {"unused"};
  data.info_.rows = 1;
  gl::AuditContext context(&model, data, 1, nullptr);
  const auto bound = metric.Bind(params);
  const auto record = metric.Needs(*bound)->Run(context, {});
  return gl::MeasureRows(metric, *bound, {*record, nullptr, {0, 1}}, gl::FinalizeContext{});
}

// Multiply-accumulates of a forward pass of T tokens, by hand. Per layer: the qkv projection
// T·64·192, the output projection T·64·64, the MLP T·64·256 + T·256·64, and attention's two
// matrix products per head, q·kᵀ (T·T·16) and att·v (T·T·16), times 4 heads (the causal mask is
// applied to the full T × T product). Then the output head T·64·256.
int64_t HandMacs(int64_t T) {
  const int64_t per_layer =
      T * 64 * 192 + T * 64 * 64 + T * 64 * 256 + T * 256 * 64 + 4 * (T * T * 16 + T * T * 16);
  return 2 * per_layer + T * 64 * 256;
}

}  // namespace

BOOST_AUTO_TEST_CASE(flops_per_token_by_hand) {
  const auto metric = lang::MakeFlopsPerToken();
  for (const char* file : {"tiny_lm.pt", "tiny_lm_int8.pt"}) {
    BOOST_TEST_CONTEXT(file) {
      auto model = Lm(t::ModelsDir() / file);
      const auto full = Measure(*metric, *model, json::object());
      BOOST_TEST(*full.value == 2.0 * static_cast<double>(HandMacs(128)) / 128.0);
      BOOST_TEST(*full.value == 294912.0);  // 2 · (114,688 + 256 · 128)
      BOOST_TEST(full.details["tokens"] == 128);
      BOOST_TEST(full.details["flops"] == 2 * HandMacs(128));
      // 2 layers × (4 linear layers + 2 matrix products) + the output head.
      BOOST_TEST(full.details["counted_ops"].size() == 13u);
      BOOST_TEST(full.unit == "FLOP");
      const auto half = Measure(*metric, *model, {{"tokens", 64}});
      BOOST_TEST(*half.value == 2.0 * static_cast<double>(HandMacs(64)) / 64.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(kv_cache_bytes_per_token_by_hand) {
  const auto metric = lang::MakeKvCacheBytesPerToken();
  auto model = Lm(t::ModelsDir() / "tiny_lm.pt");
  // 2 layers × (k, v) × 4 heads × 16 dims × 4 bytes = 1,024 bytes per token, at any T.
  for (int64_t tokens : {128, 10}) {
    const auto m = Measure(*metric, *model, {{"tokens", tokens}});
    BOOST_TEST(*m.value == 1024.0);
    BOOST_TEST(m.details["bytes_after_step"] == 1024 * tokens);
    BOOST_TEST(m.details["bytes_after_prefill"] == 1024 * (tokens - 1));
    BOOST_TEST(m.details["step_growth_bytes"] == 1024);
    BOOST_TEST(m.unit == "bytes");
  }
  auto error = [&](const gl::Metric& metric, gl::Model& model, const json& params) {
    try {
      Measure(metric, model, params);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  BOOST_TEST(error(*metric, *model, {{"tokens", 129}}) ==
             "tokens = 129 exceeds the model's context_length of 128");
  // A model without prefill and step keeps no cache.
  t::TempDir dir;
  const auto r = t::RunShell(std::string(GREENLIGHT_PYTHON) + " " +
                             (t::SourceDir() / "tests/unit/models/make_tiny_lm.py").string() + " " +
                             t::Quote(dir.path()));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto plain = Lm(dir / "lm_plain.pt");
  BOOST_TEST(error(*metric, *plain, json::object()).find("exports no prefill and step") !=
             std::string::npos);
}
