#include "auditors/safety/adversarial.h"

#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>

#include "auditors/paired_outcomes.h"
#include "auditors/safety/common.h"
#include "auditors/safety/safety_metrics.h"
#include "core/error.h"
#include "core/json_limits.h"
#include "core/stats.h"
#include "models/torch_capabilities.h"

namespace greenlight::safety {
namespace {

constexpr uint64_t kRandomStartStream = 0xA7;
constexpr int64_t kDefaultLimit = 1000;
// Values of the craft_on parameter.
constexpr const char* kCraftOnModel = "model";
constexpr const char* kCraftOnReference = "reference";
constexpr const char* kCraftOnSurrogate = "surrogate";

bool CraftsOnReference(const std::optional<std::string>& craft_on) {
  return craft_on.value_or(kCraftOnModel) == kCraftOnReference;
}

bool CraftsOnSurrogate(const std::optional<std::string>& craft_on) {
  return craft_on.value_or(kCraftOnModel) == kCraftOnSurrogate;
}

// "transfer attack crafted on the reference model (sha256 <first 12 hex>)" for methods, from a
// crafted_on record ({model, sha256}).
std::string TransferLabel(const nlohmann::json& crafted_on) {
  return "transfer attack crafted on the " + crafted_on.at("model").get<std::string>() +
         " model (sha256 " + crafted_on.at("sha256").get<std::string>().substr(0, 12) + ")";
}

// The craft_on parameter, shared by every attack metric: absent means the audited model itself.
constexpr const char* kCraftOnHelp =
    "whose gradients craft the adversarial inputs: model (white-box, the default), reference "
    "(a transfer attack crafted on the criteria's reference model and evaluated on this model, "
    "for models without gradients such as int8 ones) or surrogate (a transfer attack crafted on "
    "the criteria's surrogate: model)";

// Log-probabilities [batch, classes] from the model's raw output, differentiably, following the
// declared output kind; a single output is the class-1 score of a binary classifier.
torch::Tensor LogProbabilities(const torch::Tensor& raw, OutputKind kind, int64_t batch) {
  torch::Tensor out = raw.reshape({batch, -1}).to(torch::kFloat32);
  constexpr double kTiny = 1e-30;  // log(0) guard for probability outputs.
  if (out.size(1) == 1) {
    const torch::Tensor z = out.squeeze(1);
    switch (kind) {
      case OutputKind::kLogits:
        return torch::stack({torch::log_sigmoid(-z), torch::log_sigmoid(z)}, 1);
      case OutputKind::kProbabilities:
        return torch::stack({torch::log((1 - z).clamp_min(kTiny)), torch::log(z.clamp_min(kTiny))},
                            1);
      case OutputKind::kLogProbabilities:
        return torch::stack({torch::log((1 - torch::exp(z)).clamp_min(kTiny)), z}, 1);
    }
  }
  switch (kind) {
    case OutputKind::kLogits:
      return torch::log_softmax(out, 1);
    case OutputKind::kProbabilities:
      return torch::log(out.clamp_min(kTiny));
    case OutputKind::kLogProbabilities:
      return out;
  }
  return out;
}

// Per-row L-p norm of a [batch, ...] tensor, as [batch, 1, 1, ...] for broadcasting.
torch::Tensor RowNorm(const torch::Tensor& t, const std::string& norm) {
  const torch::Tensor flat = t.reshape({t.size(0), -1});
  torch::Tensor n = norm == "inf" ? flat.abs().amax(1) : flat.pow(2).sum(1).sqrt();
  std::vector<int64_t> shape(static_cast<size_t>(t.dim()), 1);
  shape[0] = t.size(0);
  return n.reshape(shape);
}

// The ascent direction of a gradient: sign for L-inf, unit L2 direction for L2 (ART's tolerance
// 1e-7 avoids 0/0 for a zero gradient).
torch::Tensor Direction(const torch::Tensor& grad, const std::string& norm) {
  if (norm == "inf") return grad.sign();
  return grad / (RowNorm(grad, "2") + 1e-7);
}

// Loss gradient w.r.t. the input and the predictions at that input.
std::pair<torch::Tensor, torch::Tensor> Gradient(InputGradients& gradients, const Model& model,
                                                 const torch::Tensor& x,
                                                 const torch::Tensor& target) {
  torch::AutoGradMode enable_grad(true);
  torch::Tensor input = x.detach().clone().set_requires_grad(true);
  const torch::Tensor raw = gradients.DifferentiableForward(input);
  const int64_t batch = x.size(0);
  const torch::Tensor logp = LogProbabilities(raw, model.spec().output, batch);
  const torch::Tensor loss = torch::nll_loss(logp, target, {}, at::Reduction::Sum);
  std::vector<torch::Tensor> grads;
  try {
    grads = torch::autograd::grad({loss}, {input});
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError(model.spec().path.string() +
                     ": cannot differentiate the model w.r.t. its input (quantized or "
                     "non-differentiable operations?): " +
                     what.substr(0, what.find('\n')));
  }
  return {grads[0].detach(), logp.detach().argmax(1)};
}

// A transfer attack feeds the crafting model's tensors to the audited model: both must take the
// same input.
void CheckSameInput(const Model& craft, const Model& model) {
  if (craft.input_size() != model.input_size()) {
    throw InputError(
        craft.spec().path.filename().string() + " takes " + std::to_string(craft.input_size()) +
        " input values per sample, " + model.spec().path.filename().string() + " " +
        std::to_string(model.input_size()) + ": a transfer attack needs the same input");
  }
}

// The audited model's top-1 class of every row of `x` (a batch on any device), by forward passes on
// host floats: what a transfer attack asks of the model it does not differentiate.
torch::Tensor Predict(Model& model, const torch::Tensor& x) {
  const int64_t b = x.size(0);
  const torch::Tensor host = x.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const std::span<const float> values(host.data_ptr<float>(), static_cast<size_t>(host.numel()));
  int64_t classes = 0;
  const auto probs = PredictProbabilities(model, values, b, &classes);
  const std::vector<int64_t> pred = Argmax(probs, b, classes);
  return torch::tensor(pred, torch::kInt64);
}

void RandomStart(torch::Tensor& delta, const std::string& norm, double eps, uint64_t seed,
                 int64_t first_row) {
  const int64_t batch = delta.size(0);
  const int64_t d = delta.numel() / batch;
  auto acc = delta.contiguous();
  float* p = acc.data_ptr<float>();
  for (int64_t i = 0; i < batch; ++i) {
    auto rng = RowStream(seed, kRandomStartStream, first_row + i);
    float* row = p + i * d;
    if (norm == "inf") {
      for (int64_t j = 0; j < d; ++j)
        row[j] = static_cast<float>(random::UniformReal(rng, -eps, eps));
    } else {
      // Uniform in the L2 ball: Gaussian direction, radius eps * U^(1/d) (ART's random_sphere).
      std::vector<double> v(static_cast<size_t>(d));
      double s = 0.0;
      for (auto& e : v) {
        e = random::StandardNormal(rng);
        s += e * e;
      }
      const double radius =
          eps * std::pow(random::UniformDouble(rng), 1.0 / static_cast<double>(d));
      const double scale = s > 0 ? radius / std::sqrt(s) : 0.0;
      for (int64_t j = 0; j < d; ++j)
        row[j] = static_cast<float>(v[static_cast<size_t>(j)] * scale);
    }
  }
  delta = acc;
}

torch::Tensor Project(const torch::Tensor& delta, const std::string& norm, double eps) {
  if (norm == "inf") return delta.clamp(-eps, eps);
  const torch::Tensor n = RowNorm(delta, "2");
  const torch::Tensor factor = torch::where(n > eps, eps / n.clamp_min(1e-30), torch::ones_like(n));
  return delta * factor;
}

}  // namespace

nlohmann::json AttackConfig::ToJson() const {
  nlohmann::json j = {
      {"attack", attack}, {"norm", norm}, {"epsilon", epsilon}, {"batch_size", batch_size}};
  if (attack == "pgd") {
    j["step_size"] = step_size;
    j["iterations"] = iterations;
    j["random_start"] = random_start;
    j["seed"] = seed;
  }
  return j;
}

AttackResult RunAttack(Model& model, std::span<const float> inputs, std::span<const int64_t> labels,
                       std::span<const int64_t> clean_predicted, int64_t rows,
                       const AttackConfig& config, const std::function<void(double)>& progress) {
  return RunTransferAttack(model, model, inputs, labels, clean_predicted, rows, config, progress);
}

AttackResult RunTransferAttack(Model& craft, Model& model, std::span<const float> inputs,
                               std::span<const int64_t> labels,
                               std::span<const int64_t> clean_predicted, int64_t rows,
                               const AttackConfig& config,
                               const std::function<void(double)>& progress) {
  const bool transfer = &craft != &model;
  // The crafting model's gradients and tensors; the audited model only runs forward passes.
  InputGradients& gradients = RequireCapability<InputGradients>(craft);
  TensorAccess& tensors = RequireCapability<TensorAccess>(craft);
  if (transfer) CheckSameInput(craft, model);
  const auto [lo, hi] = InputRange(model);
  if (config.norm != "inf" && config.norm != "2") throw InputError("norm must be inf or 2");
  if (config.attack != "fgsm" && config.attack != "pgd")
    throw InputError("attack must be fgsm or pgd");
  if (!(config.epsilon >= 0.0)) throw InputError("epsilon must be >= 0");
  if (config.attack == "pgd" && config.iterations < 1) throw InputError("iterations must be >= 1");
  if (config.batch_size < 1) throw InputError("batch_size must be >= 1");
  const int64_t size = model.input_size();
  AttackResult result;
  result.rows = rows;
  result.step_size =
      config.attack == "pgd"
          ? (config.step_size > 0 ? config.step_size : 2.5 * config.epsilon / config.iterations)
          : config.epsilon;
  std::vector<float> adversarial(static_cast<size_t>(rows * size));
  const torch::Tensor all_labels =
      torch::from_blob(const_cast<int64_t*>(labels.data()), {rows}, torch::kInt64).clone();
  for (int64_t start = 0; start < rows; start += config.batch_size) {
    const int64_t b = std::min(config.batch_size, rows - start);
    const auto host =
        inputs.subspan(static_cast<size_t>(start * size), static_cast<size_t>(b * size));
    const torch::Tensor x = tensors.MakeInput(host, b).clone();
    const torch::Tensor y = all_labels.slice(0, start, start + b).to(tensors.device());
    torch::Tensor x_adv;
    if (config.attack == "fgsm") {
      auto [grad, pred] = Gradient(gradients, craft, x, y);
      x_adv = (x + config.epsilon * Direction(grad, config.norm)).clamp(lo, hi);
    } else {
      torch::Tensor delta = torch::zeros_like(x, torch::TensorOptions().device(torch::kCPU));
      if (config.random_start && config.epsilon > 0) {
        RandomStart(delta, config.norm, config.epsilon, config.seed, start);
      }
      torch::Tensor current = (x + delta.to(x.device())).clamp(lo, hi);
      torch::Tensor fooled =
          torch::zeros({b}, torch::TensorOptions().dtype(torch::kBool).device(x.device()));
      torch::Tensor kept = current.clone();
      for (int it = 0; it < config.iterations; ++it) {
        auto [grad, pred] = Gradient(gradients, craft, current, y);
        // The success rule asks the audited model, whichever model crafted the iterate.
        if (transfer) pred = Predict(model, current).to(pred.device());
        // Freeze rows the first time an iterate fools the model.
        const torch::Tensor newly = pred.ne(y).logical_and(fooled.logical_not());
        std::vector<int64_t> mask_shape(static_cast<size_t>(x.dim()), 1);
        mask_shape[0] = b;
        kept = torch::where(newly.reshape(mask_shape), current, kept);
        fooled = fooled.logical_or(newly);
        if (fooled.all().item<bool>()) break;  // Every row is fooled: nothing left to attack.
        torch::Tensor next = current + result.step_size * Direction(grad, config.norm);
        next = (x + Project(next - x, config.norm, config.epsilon)).clamp(lo, hi);
        current = torch::where(fooled.reshape(mask_shape), current, next);
        if (progress) {
          progress((static_cast<double>(start) + b * (it + 1.0) / config.iterations) / rows);
        }
      }
      std::vector<int64_t> mask_shape(static_cast<size_t>(x.dim()), 1);
      mask_shape[0] = b;
      x_adv = torch::where(fooled.reshape(mask_shape), kept, current);
    }
    const torch::Tensor host_adv = x_adv.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    std::memcpy(adversarial.data() + start * size, host_adv.data_ptr<float>(),
                static_cast<size_t>(b * size) * sizeof(float));
    if (progress && config.attack == "fgsm") progress(static_cast<double>(start + b) / rows);
  }
  // Evaluate: rows left bit-identical keep their clean prediction; the others are re-run.
  result.adversarial_predicted.assign(clean_predicted.begin(), clean_predicted.begin() + rows);
  result.linf.assign(static_cast<size_t>(rows), 0.0);
  result.l2.assign(static_cast<size_t>(rows), 0.0);
  result.unchanged.assign(static_cast<size_t>(rows), 0);
  std::vector<int64_t> changed;
  for (int64_t i = 0; i < rows; ++i) {
    const float* a = adversarial.data() + i * size;
    const float* c = inputs.data() + i * size;
    if (std::memcmp(a, c, static_cast<size_t>(size) * sizeof(float)) == 0) {
      ++result.unchanged_rows;
      result.unchanged[static_cast<size_t>(i)] = 1;
      continue;
    }
    double linf = 0.0, l2 = 0.0;
    for (int64_t j = 0; j < size; ++j) {
      const double d = static_cast<double>(a[j]) - c[j];
      linf = std::max(linf, std::fabs(d));
      l2 += d * d;
    }
    result.linf[static_cast<size_t>(i)] = linf;
    result.l2[static_cast<size_t>(i)] = std::sqrt(l2);
    changed.push_back(i);
  }
  std::vector<float> batch_inputs;
  for (size_t s = 0; s < changed.size(); s += kEvalBatch) {
    const size_t e = std::min(changed.size(), s + kEvalBatch);
    batch_inputs.clear();
    for (size_t k = s; k < e; ++k) {
      const float* a = adversarial.data() + changed[k] * size;
      batch_inputs.insert(batch_inputs.end(), a, a + size);
    }
    int64_t classes = 0;
    const auto probs =
        PredictProbabilities(model, batch_inputs, static_cast<int64_t>(e - s), &classes);
    const auto pred = Argmax(probs, static_cast<int64_t>(e - s), classes);
    for (size_t k = s; k < e; ++k) {
      result.adversarial_predicted[static_cast<size_t>(changed[k])] = pred[k - s];
    }
  }
  result.adversarial = std::move(adversarial);
  return result;
}

MinimalFgsmResult RunMinimalFgsm(Model& model, std::span<const float> inputs,
                                 std::span<const int64_t> clean_predicted, int64_t rows,
                                 const std::string& norm, double epsilon, double step_size,
                                 int64_t batch_size, const std::function<void(double)>& progress) {
  return RunTransferMinimalFgsm(model, model, inputs, clean_predicted, rows, norm, epsilon,
                                step_size, batch_size, progress);
}

MinimalFgsmResult RunTransferMinimalFgsm(Model& craft, Model& model, std::span<const float> inputs,
                                         std::span<const int64_t> clean_predicted, int64_t rows,
                                         const std::string& norm, double epsilon, double step_size,
                                         int64_t batch_size,
                                         const std::function<void(double)>& progress) {
  // The crafting model's gradients and tensors; the audited model only runs forward passes.
  InputGradients& gradients = RequireCapability<InputGradients>(craft);
  TensorAccess& tensors = RequireCapability<TensorAccess>(craft);
  if (&craft != &model) CheckSameInput(craft, model);
  const auto [lo, hi] = InputRange(model);
  if (norm != "inf" && norm != "2") throw InputError("norm must be inf or 2");
  if (!(step_size > 0.0) || !(epsilon >= step_size)) {
    throw InputError("empirical_robustness needs 0 < step_size <= epsilon");
  }
  const int64_t size = model.input_size();
  // Epsilons step, 2 step, ... up to epsilon (ART accumulates the step; multiplying avoids drift).
  const int64_t steps = static_cast<int64_t>(std::floor(epsilon / step_size + 1e-9));
  MinimalFgsmResult result;
  result.flip_step.assign(static_cast<size_t>(rows), 0);
  result.row_ratio.assign(static_cast<size_t>(rows), std::nan(""));
  result.zero_norm.assign(static_cast<size_t>(rows), 0);
  const torch::Tensor targets =
      torch::from_blob(const_cast<int64_t*>(clean_predicted.data()), {rows}, torch::kInt64).clone();
  for (int64_t start = 0; start < rows; start += batch_size) {
    const int64_t b = std::min(batch_size, rows - start);
    const auto host =
        inputs.subspan(static_cast<size_t>(start * size), static_cast<size_t>(b * size));
    const torch::Tensor x = tensors.MakeInput(host, b).clone();
    const torch::Tensor y = targets.slice(0, start, start + b).to(tensors.device());
    const torch::Tensor dir = Direction(Gradient(gradients, craft, x, y).first, norm);
    std::vector<bool> active(static_cast<size_t>(b), true);
    for (int64_t k = 1; k <= steps; ++k) {
      const double eps = static_cast<double>(k) * step_size;
      const torch::Tensor cand = (x + eps * dir).clamp(lo, hi).to(torch::kCPU).contiguous();
      const float* cp = cand.data_ptr<float>();
      std::vector<int64_t> idx;
      std::vector<float> batch_inputs;
      for (int64_t i = 0; i < b; ++i) {
        if (!active[static_cast<size_t>(i)]) continue;
        idx.push_back(i);
        batch_inputs.insert(batch_inputs.end(), cp + i * size, cp + (i + 1) * size);
      }
      if (idx.empty()) break;
      int64_t classes = 0;
      const auto probs =
          PredictProbabilities(model, batch_inputs, static_cast<int64_t>(idx.size()), &classes);
      const auto pred = Argmax(probs, static_cast<int64_t>(idx.size()), classes);
      for (size_t t = 0; t < idx.size(); ++t) {
        const int64_t i = idx[t];
        if (pred[t] == clean_predicted[static_cast<size_t>(start + i)]) continue;
        active[static_cast<size_t>(i)] = false;
        ++result.flipped;
        const float* a = cp + i * size;
        const float* c = host.data() + i * size;
        double dn = 0.0, xn = 0.0;
        for (int64_t j = 0; j < size; ++j) {
          const double d = static_cast<double>(a[j]) - c[j];
          if (norm == "inf") {
            dn = std::max(dn, std::fabs(d));
            xn = std::max(xn, std::fabs(static_cast<double>(c[j])));
          } else {
            dn += d * d;
            xn += static_cast<double>(c[j]) * c[j];
          }
        }
        if (norm == "2") dn = std::sqrt(dn), xn = std::sqrt(xn);
        result.flip_step[static_cast<size_t>(start + i)] = k;
        if (xn == 0.0) {
          ++result.zero_norm_rows;
          result.zero_norm[static_cast<size_t>(start + i)] = 1;
          continue;
        }
        result.row_ratio[static_cast<size_t>(start + i)] = dn / xn;
        result.ratios.push_back(dn / xn);
        result.flip_epsilon.push_back(eps);
      }
    }
    if (progress) progress(static_cast<double>(start + b) / rows);
  }
  return result;
}

namespace {

// The first min(limit, rows) rows (limit 0: all) of the dataset, the model that will run on them
// and their clean predictions: what every attack starts from.
struct AttackInputs {
  Model* model = nullptr;
  // The model whose gradients craft the inputs: `model` (white-box), or the reference or the
  // surrogate (transfer).
  Model* craft = nullptr;
  // Null for a white-box attack; for a transfer attack, what crafted it (AttackOrigin).
  nlohmann::json crafted_on;
  int64_t rows = 0;
  std::span<const float> inputs;
  std::span<const int64_t> clean_predicted;
  std::pair<double, double> range;
};

// `side` is the model the attack is evaluated on: the audited model, or the reference model for
// the reference's side of a paired attack (metric_delta, metric_retention), whose rows are the
// same and whose clean predictions are its own.
AttackInputs PrepareAttack(AuditContext& ctx, const std::string& metric, int64_t limit,
                           const std::optional<std::string>& craft_on,
                           PairedSide side = PairedSide::kModel) {
  AttackInputs a;
  if (side == PairedSide::kModel) {
    a.model = &RequireModel(ctx, metric);
  } else {
    if (ctx.reference() == nullptr) throw RuntimeError("the audit has no reference model");
    a.model = ctx.reference();
  }
  a.craft = a.model;
  if (CraftsOnReference(craft_on)) {
    if (ctx.reference() == nullptr) throw RuntimeError("the audit has no reference model");
    a.craft = ctx.reference();
    if (a.craft->Capability<InputGradients>() == nullptr) {
      throw RuntimeError(a.craft->MissingCapability<InputGradients>() +
                         "; craft_on: reference needs a reference model with gradients");
    }
  } else if (CraftsOnSurrogate(craft_on)) {
    if (ctx.surrogate() == nullptr) throw RuntimeError("the audit has no surrogate model");
    a.craft = ctx.surrogate();
    if (a.craft->Capability<InputGradients>() == nullptr) {
      throw RuntimeError(a.craft->MissingCapability<InputGradients>() +
                         "; craft_on: surrogate needs a surrogate model with gradients (a float "
                         "model: name one in surrogate:, or craft on the reference)");
    }
  } else if (a.model->Capability<InputGradients>() == nullptr) {
    // Without gradients only a transfer attack can measure the model: say how to ask for one.
    throw RuntimeError(
        a.model->MissingCapability<InputGradients>() +
        (side == PairedSide::kModel
             ? "; craft the attack on the float model it was made from instead: params: "
               "{craft_on: reference} with a reference: section, or {craft_on: surrogate} with a "
               "surrogate: section (a transfer attack)"
             : "; craft_on: model attacks each compared model with its own gradients; craft the "
               "attack on a model with gradients instead (craft_on: surrogate evaluates the same "
               "inputs on both)"));
  }
  // Crafted on another model than the evaluated one: a transfer attack, which says on which.
  if (a.craft != a.model) {
    a.crafted_on = {{"model", craft_on.value_or(kCraftOnModel)},
                    {"sha256", a.craft->info().sha256}};
  }
  const Dataset& data = ctx.Rows(limit);
  if (data.rows() == 0) throw InputError(metric + ": the dataset has no rows");
  a.rows = limit <= 0 ? data.rows() : std::min(limit, data.rows());
  a.inputs = data.features().subspan(0, static_cast<size_t>(a.rows * data.sample_size()));
  const ClassifierOutputs& clean =
      side == PairedSide::kModel ? ctx.Outputs("attack") : ctx.ReferenceOutputs("attack");
  a.clean_predicted =
      std::span<const int64_t>(clean.predicted).subspan(0, static_cast<size_t>(a.rows));
  a.range = InputRange(*a.model);
  return a;
}

// --- adversarial_accuracy, attack_success_rate: one FGSM/PGD attack per distinct settings. ---

struct AttackParams {
  std::string attack = "fgsm";
  std::string norm = "inf";
  double epsilon = 0.1;
  std::optional<double> step_size;  // Absent (or 0): 2.5 * epsilon / iterations.
  int64_t iterations = 10;
  bool random_start = true;
  std::optional<int64_t> seed;  // Absent: the run seed.
  int64_t limit = kDefaultLimit;
  int64_t batch_size = 128;
  std::optional<std::string> craft_on;  // Absent: model.
};

ParamSchema<AttackParams> AttackSchema() {
  return ParamSchema<AttackParams>()
      .Field("attack", &AttackParams::attack, "fgsm or pgd", OneOf({"fgsm", "pgd"}))
      .Field("norm", &AttackParams::norm, "perturbation norm", OneOf({"inf", "2"}))
      .Field("epsilon", &AttackParams::epsilon, "perturbation budget in model input units",
             AtLeast(0))
      .Field("step_size", &AttackParams::step_size,
             "PGD step in input units (absent or 0: 2.5 * epsilon / iterations)", AtLeast(0))
      .Field("iterations", &AttackParams::iterations, "PGD iterations", AtLeast(1))
      .Field("random_start", &AttackParams::random_start,
             "PGD: start from a uniform point in the ball")
      .Field("seed", &AttackParams::seed, "seed of the random start (absent: the run seed)",
             AtLeast(0))
      .Field("limit", &AttackParams::limit, "attack the first N dataset rows (0: all)", AtLeast(0))
      .Field("batch_size", &AttackParams::batch_size, "rows per gradient batch", AtLeast(1))
      .Field("craft_on", &AttackParams::craft_on, kCraftOnHelp,
             OneOf({kCraftOnModel, kCraftOnReference, kCraftOnSurrogate}));
}

// The attack's outcome on every attacked row, in row order.
struct AttackRecord final : WorkRecord {
  nlohmann::json config;  // AttackConfig::ToJson with the PGD step actually used.
  std::pair<double, double> range;
  std::vector<int64_t> labels, clean_predicted, adversarial_predicted;
  std::vector<double> linf, l2;
  std::vector<uint8_t> unchanged;
  int64_t rows() const override { return static_cast<int64_t>(labels.size()); }
};

class AttackWork final : public Work {
 public:
  explicit AttackWork(const AttackParams& p) : p_(p) {}
  // Exactly the settings the attack depends on: FGSM ignores the PGD-only ones.
  std::string key() const override {
    nlohmann::json k = {{"attack", p_.attack},
                        {"norm", p_.norm},
                        {"epsilon", p_.epsilon},
                        {"limit", p_.limit},
                        {"batch_size", p_.batch_size}};
    if (p_.attack == "pgd") {
      k["step_size"] = p_.step_size ? nlohmann::json(*p_.step_size) : nlohmann::json(nullptr);
      k["iterations"] = p_.iterations;
      k["random_start"] = p_.random_start;
      k["seed"] = p_.seed ? nlohmann::json(*p_.seed) : nlohmann::json(nullptr);
    }
    if (CraftsOnReference(p_.craft_on)) k["craft_on"] = kCraftOnReference;
    if (CraftsOnSurrogate(p_.craft_on)) k["craft_on"] = kCraftOnSurrogate;
    return "safety.attack:" + CanonicalText(k);
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    return RunOn(ctx, PrepareAttack(ctx, "adversarial attack", p_.limit, p_.craft_on));
  }
  std::shared_ptr<const Work> WithReference() const override;  // Both models (end of file).
  // The attack on the prepared inputs (the model's; the reference's in a paired run).
  std::shared_ptr<const AttackRecord> RunOn(AuditContext& ctx, const AttackInputs& a) const {
    const Dataset& data = ctx.Rows(p_.limit);
    if (!data.has_labels()) throw InputError("adversarial attacks need labels");
    const auto labels = data.labels().subspan(0, static_cast<size_t>(a.rows));
    AttackConfig config;
    config.attack = p_.attack;
    config.norm = p_.norm;
    config.epsilon = p_.epsilon;
    config.iterations = static_cast<int>(p_.iterations);
    config.step_size = p_.step_size.value_or(0.0);
    config.random_start = p_.random_start;
    config.seed = p_.seed ? static_cast<uint64_t>(*p_.seed) : ctx.seed();
    config.batch_size = p_.batch_size;
    const AttackResult res =
        RunTransferAttack(*a.craft, *a.model, a.inputs, labels, a.clean_predicted, a.rows, config,
                          [&ctx](double f) { ctx.Progress("attack", "adversarial inputs", f); });
    auto record = std::make_shared<AttackRecord>();
    record->config = config.ToJson();
    if (config.attack == "pgd") record->config["step_size"] = res.step_size;
    // The crafting model is part of the attack: partials of different ones do not merge.
    if (!a.crafted_on.is_null()) record->config["crafted_on"] = a.crafted_on;
    record->range = a.range;
    record->labels.assign(labels.begin(), labels.end());
    record->clean_predicted.assign(a.clean_predicted.begin(), a.clean_predicted.end());
    record->adversarial_predicted = res.adversarial_predicted;
    record->linf = res.linf;
    record->l2 = res.l2;
    record->unchanged = res.unchanged;
    return record;
  }

 private:
  AttackParams p_;
};

// Per-row outcomes of the attacked rows, in row order: whether the clean and the adversarial
// prediction are right, whether the attack left the row bit-identical, and the perturbation's
// norms. The report's means are sums in row order, so the rows themselves (not their sums) are
// what merges exactly. Merge appends: partials are merged in row order.
struct AttackRows {
  nlohmann::json config;
  std::pair<double, double> range{0.0, 0.0};
  std::vector<uint8_t> clean_correct, adversarial_correct, unchanged;
  std::vector<double> linf, l2;

  void Merge(const AttackRows& other) {
    if (other.config != config || other.range != range) {
      throw RuntimeError("attack outcomes of different attacks");
    }
    auto append = [](auto& into, const auto& from) {
      into.insert(into.end(), from.begin(), from.end());
    };
    append(clean_correct, other.clean_correct);
    append(adversarial_correct, other.adversarial_correct);
    append(unchanged, other.unchanged);
    append(linf, other.linf);
    append(l2, other.l2);
  }
  nlohmann::json ToJson() const {
    return {{"config", config},
            {"range", {range.first, range.second}},
            {"clean_correct", clean_correct},
            {"adversarial_correct", adversarial_correct},
            {"unchanged", unchanged},
            {"linf", ExactJson(linf)},
            {"l2", ExactJson(l2)}};
  }
  static AttackRows FromJson(const nlohmann::json& j) {
    AttackRows s;
    s.config = j.at("config");
    s.range = {j.at("range").at(0).get<double>(), j.at("range").at(1).get<double>()};
    s.clean_correct = JsonIntegers<uint8_t>(j.at("clean_correct"), "clean_correct");
    s.adversarial_correct =
        JsonIntegers<uint8_t>(j.at("adversarial_correct"), "adversarial_correct");
    s.unchanged = JsonIntegers<uint8_t>(j.at("unchanged"), "unchanged");
    s.linf = ExactDoubles(j.at("linf"));
    s.l2 = ExactDoubles(j.at("l2"));
    const size_t n = s.clean_correct.size();
    if (s.adversarial_correct.size() != n || s.unchanged.size() != n || s.linf.size() != n ||
        s.l2.size() != n) {
      throw InputError("attack statistics: per-row arrays differ in length");
    }
    return s;
  }
};

// adversarial_accuracy and attack_success_rate read the same attack; `success_rate` picks which.
class AttackMetric final : public TypedMetric<AttackParams, AttackRows, AttackRecord>,
                           public PairableMetric {
 public:
  AttackMetric(std::string name, std::string description, bool success_rate)
      : TypedMetric(DescribeMetric(std::move(name), "ratio", "safety", std::move(description),
                                   /*needs_model=*/true, /*needs_labels=*/true),
                    AttackSchema()),
        success_rate_(success_rate) {}

 protected:
  std::shared_ptr<const Work> Needs(const AttackParams& p) const override {
    return std::make_shared<AttackWork>(p);
  }
  bool UsesReference(const AttackParams& p) const override { return CraftsOnReference(p.craft_on); }
  bool UsesSurrogate(const AttackParams& p) const override { return CraftsOnSurrogate(p.craft_on); }
  AttackRows Accumulate(const AttackParams&, const AttackRecord& record,
                        const MetricInput& input) const override {
    AttackRows s;
    s.config = record.config;
    s.range = record.range;
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const auto row = static_cast<size_t>(i);
      s.clean_correct.push_back(record.clean_predicted[row] == record.labels[row] ? 1 : 0);
      s.adversarial_correct.push_back(record.adversarial_predicted[row] == record.labels[row] ? 1
                                                                                              : 0);
      s.unchanged.push_back(record.unchanged[row]);
      s.linf.push_back(record.linf[row]);
      s.l2.push_back(record.l2[row]);
    }
    return s;
  }
  Measurement Finalize(const AttackParams& p, const AttackRows& s,
                       const FinalizeContext& ctx) const override {
    const auto n = static_cast<int64_t>(s.clean_correct.size());
    if (n == 0) throw InputError(spec().name + ": the dataset has no rows");
    int64_t clean_correct = 0, adv_correct = 0, fooled = 0, unchanged = 0;
    double max_linf = 0.0, max_l2 = 0.0, mean_linf = 0.0, mean_l2 = 0.0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      const bool c = s.clean_correct[i] != 0;
      const bool a = s.adversarial_correct[i] != 0;
      clean_correct += c;
      adv_correct += a;
      fooled += c && !a;
      unchanged += s.unchanged[i];
      max_linf = std::max(max_linf, s.linf[i]);
      max_l2 = std::max(max_l2, s.l2[i]);
      mean_linf += s.linf[i] / n;
      mean_l2 += s.l2[i] / n;
    }
    Measurement r;
    r.unit = "ratio";
    r.details = {{"attack", s.config},
                 {"rows", n},
                 {"input_range", {s.range.first, s.range.second}},
                 {"loss", "cross-entropy on the true labels"},
                 {"clean_accuracy", static_cast<double>(clean_correct) / n},
                 {"clean_correct", clean_correct},
                 {"adversarial_correct", adv_correct},
                 {"fooled", fooled},
                 {"unchanged_rows", unchanged},
                 {"perturbation",
                  {{"max_linf", max_linf},
                   {"max_l2", max_l2},
                   {"mean_linf", mean_linf},
                   {"mean_l2", mean_l2}}}};
    const bool transfer = s.config.contains("crafted_on");
    if (p.attack == "pgd") {
      r.details["success_rule"] =
          transfer ? "a row counts as fooled when the audited model misclassifies any PGD iterate "
                     "(the iterates are crafted on the other model; the audited model is asked "
                     "only for its top-1 class)"
                   : "a row counts as fooled when any PGD iterate is misclassified";
    }
    const std::string how =
        p.attack == "pgd" ? "PGD-L" + p.norm + " (" + std::to_string(p.iterations) + " iterations)"
                          : "FGSM-L" + p.norm;
    std::string crafted;  // ", transfer attack crafted on ..." for a transfer attack.
    if (transfer) {
      const std::string label = TransferLabel(s.config.at("crafted_on"));
      r.details["transfer"] = label + ", evaluated on the audited model";
      r.details["loss"] = "cross-entropy of the crafting model on the true labels";
      crafted = ", " + label;
    }
    if (!success_rate_) {
      r.value = static_cast<double>(adv_correct) / n;
      r.samples = n;
      r.interval = stats::WilsonInterval(adv_correct, n, ctx.confidence);
      r.method = "count: correct / rows on " + how + " adversarial inputs" + crafted +
                 "; Wilson score interval";
      return r;
    }
    r.samples = clean_correct;
    r.method = "count: fooled / correctly classified rows under " + how + crafted +
               "; Wilson score interval";
    if (clean_correct == 0) {
      r.message = "no row is classified correctly, so the success rate is undefined";
      return r;
    }
    r.value = static_cast<double>(fooled) / clean_correct;
    r.interval = stats::WilsonInterval(fooled, clean_correct, ctx.confidence);
    return r;
  }

 public:
  // Pairing (metric_delta, metric_retention); defined at the end of the file.
  std::string OutcomeName(const BoundParams& params) const override;
  RowOutcomes Outcomes(const BoundParams& params, const WorkRecord& record,
                       RowRange rows) const override;

 private:
  bool success_rate_;
};

// --- empirical_robustness: one minimal-FGSM search per distinct settings. ---

struct RobustnessParams {
  std::string norm = "inf";
  double epsilon = 0.3;
  double step_size = 0.01;
  int64_t limit = kDefaultLimit;
  int64_t batch_size = 128;
  int64_t bootstrap_resamples = kBootstrapResamples;
  std::optional<std::string> craft_on;  // Absent: model.
};

// Every attacked row: whether minimal FGSM flipped it, at which step, and the perturbation ratio.
struct RobustnessRecord final : WorkRecord {
  std::pair<double, double> range;
  nlohmann::json crafted_on;       // Null: white-box.
  std::vector<int64_t> flip_step;  // 0: not flipped; k: flipped at epsilon k * step_size.
  std::vector<double> ratio;       // ||x_adv - x|| / ||x||; NaN where ||x|| = 0.
  std::vector<uint8_t> zero_norm;  // Flipped with ||x|| = 0 (ratio undefined).
  int64_t rows() const override { return static_cast<int64_t>(flip_step.size()); }
};

class MinimalFgsmWork final : public Work {
 public:
  explicit MinimalFgsmWork(const RobustnessParams& p) : p_(p) {}
  std::string key() const override {
    nlohmann::json k = {{"norm", p_.norm},
                        {"epsilon", p_.epsilon},
                        {"step_size", p_.step_size},
                        {"limit", p_.limit},
                        {"batch_size", p_.batch_size}};
    if (CraftsOnReference(p_.craft_on)) k["craft_on"] = kCraftOnReference;
    if (CraftsOnSurrogate(p_.craft_on)) k["craft_on"] = kCraftOnSurrogate;
    return "safety.minimal_fgsm:" + CanonicalText(k);
  }
  std::shared_ptr<const WorkRecord> Run(AuditContext& ctx,
                                        std::span<Instrument* const>) const override {
    return RunOn(ctx, PrepareAttack(ctx, "empirical_robustness", p_.limit, p_.craft_on));
  }
  std::shared_ptr<const Work> WithReference() const override;  // Both models (end of file).
  // The search on the prepared inputs (the model's; the reference's in a paired run).
  std::shared_ptr<const RobustnessRecord> RunOn(AuditContext& ctx, const AttackInputs& a) const {
    const MinimalFgsmResult res = RunTransferMinimalFgsm(
        *a.craft, *a.model, a.inputs, a.clean_predicted, a.rows, p_.norm, p_.epsilon, p_.step_size,
        p_.batch_size, [&ctx](double f) { ctx.Progress("attack", "minimal FGSM", f); });
    auto record = std::make_shared<RobustnessRecord>();
    record->range = a.range;
    record->crafted_on = a.crafted_on;
    record->flip_step = res.flip_step;
    record->ratio = res.row_ratio;
    record->zero_norm = res.zero_norm;
    return record;
  }

 private:
  RobustnessParams p_;
};

// The flipped rows with a defined ratio (their global row index, step and ratio) and the counts
// of flipped and zero-norm rows. Merge appends (row order) and adds.
struct RobustnessRows {
  std::vector<int64_t> row, step;
  std::vector<double> ratio;
  int64_t flipped = 0;
  int64_t zero_norm = 0;
  int64_t rows = 0;
  std::pair<double, double> range{0.0, 0.0};
  nlohmann::json crafted_on;  // Null: white-box; else {model, sha256} of the crafting model.

  void Merge(const RobustnessRows& other) {
    if (other.range != range || other.crafted_on != crafted_on) {
      throw RuntimeError("robustness rows of different models");
    }
    row.insert(row.end(), other.row.begin(), other.row.end());
    step.insert(step.end(), other.step.begin(), other.step.end());
    ratio.insert(ratio.end(), other.ratio.begin(), other.ratio.end());
    flipped += other.flipped;
    zero_norm += other.zero_norm;
    rows += other.rows;
  }
  nlohmann::json ToJson() const {
    nlohmann::json j = {{"row", row},
                        {"step", step},
                        {"ratio", ExactJson(ratio)},
                        {"flipped", flipped},
                        {"zero_norm", zero_norm},
                        {"rows", rows},
                        {"range", {range.first, range.second}}};
    if (!crafted_on.is_null()) j["crafted_on"] = crafted_on;
    return j;
  }
  static RobustnessRows FromJson(const nlohmann::json& j) {
    RobustnessRows s;
    s.row = JsonIntegers<int64_t>(j.at("row"), "row");
    s.step = JsonIntegers<int64_t>(j.at("step"), "step");
    s.ratio = ExactDoubles(j.at("ratio"));
    s.flipped = JsonInteger<int64_t>(j.at("flipped"), "flipped");
    s.zero_norm = JsonInteger<int64_t>(j.at("zero_norm"), "zero_norm");
    s.rows = JsonInteger<int64_t>(j.at("rows"), "rows");
    s.range = {j.at("range").at(0).get<double>(), j.at("range").at(1).get<double>()};
    s.crafted_on = j.value("crafted_on", nlohmann::json());
    if (s.step.size() != s.row.size() || s.ratio.size() != s.row.size()) {
      throw InputError("robustness statistics: per-row arrays differ in length");
    }
    return s;
  }
};

class EmpiricalRobustnessMetric final
    : public TypedMetric<RobustnessParams, RobustnessRows, RobustnessRecord>,
      public PairableMetric {
 public:
  EmpiricalRobustnessMetric()
      : TypedMetric(
            DescribeMetric("empirical_robustness", "ratio", "safety",
                           "ART empirical robustness: mean ||x_adv - x||_p / ||x||_p over rows "
                           "flipped by minimal FGSM",
                           /*needs_model=*/true, /*needs_labels=*/false),
            ParamSchema<RobustnessParams>()
                .Field("norm", &RobustnessParams::norm, "perturbation norm", OneOf({"inf", "2"}))
                .Field("epsilon", &RobustnessParams::epsilon, "largest epsilon tried (input units)",
                       AtLeast(0))
                .Field("step_size", &RobustnessParams::step_size,
                       "epsilon increment of the minimal search (0 < step_size <= epsilon)",
                       AtLeast(0))
                .Field("limit", &RobustnessParams::limit,
                       "attack the first N dataset rows (0: all)", AtLeast(0))
                .Field("batch_size", &RobustnessParams::batch_size, "rows per gradient batch",
                       AtLeast(1))
                .Field("bootstrap_resamples", &RobustnessParams::bootstrap_resamples,
                       "percentile-bootstrap resamples", AtLeast(kMinBootstrapResamples))
                .Field("craft_on", &RobustnessParams::craft_on, kCraftOnHelp,
                       OneOf({kCraftOnModel, kCraftOnReference, kCraftOnSurrogate}))) {}

 protected:
  std::shared_ptr<const Work> Needs(const RobustnessParams& p) const override {
    return std::make_shared<MinimalFgsmWork>(p);
  }
  bool UsesReference(const RobustnessParams& p) const override {
    return CraftsOnReference(p.craft_on);
  }
  bool UsesSurrogate(const RobustnessParams& p) const override {
    return CraftsOnSurrogate(p.craft_on);
  }
  RobustnessRows Accumulate(const RobustnessParams&, const RobustnessRecord& record,
                            const MetricInput& input) const override {
    RobustnessRows s;
    s.range = record.range;
    s.crafted_on = record.crafted_on;
    s.rows = input.rows.end - input.rows.begin;
    for (int64_t i = input.rows.begin; i < input.rows.end; ++i) {
      const auto row = static_cast<size_t>(i);
      if (record.flip_step[row] == 0) continue;
      ++s.flipped;
      if (record.zero_norm[row]) {
        ++s.zero_norm;
        continue;
      }
      s.row.push_back(i);
      s.step.push_back(record.flip_step[row]);
      s.ratio.push_back(record.ratio[row]);
    }
    return s;
  }
  Measurement Finalize(const RobustnessParams& p, const RobustnessRows& s,
                       const FinalizeContext& ctx) const override {
    const auto [lo, hi] = s.range;
    Measurement r;
    r.unit = "ratio";
    r.samples = static_cast<int64_t>(s.ratio.size());
    r.details = {{"attack", "fgsm (minimal)"},
                 {"norm", p.norm},
                 {"epsilon_max", p.epsilon},
                 {"step_size", p.step_size},
                 {"rows", s.rows},
                 {"flipped_rows", s.flipped},
                 {"zero_norm_rows_skipped", s.zero_norm},
                 {"input_range", {lo, hi}},
                 {"loss", "cross-entropy on the clean predictions (ART's default without labels)"}};
    r.method = "ART empirical_robustness: mean ||x_adv - x||_" + p.norm + " / ||x||_" + p.norm +
               " over rows whose prediction flipped under minimal FGSM";
    if (!s.crafted_on.is_null()) {
      const std::string label = TransferLabel(s.crafted_on);
      r.details["transfer"] = label + ", evaluated on the audited model";
      r.details["crafted_on"] = s.crafted_on;
      r.details["loss"] =
          "cross-entropy of the crafting model on the audited model's clean predictions";
      r.method += ", " + label;
    }
    r.method += "; percentile row bootstrap";
    if (s.ratio.empty()) {
      r.message = "no prediction flipped up to epsilon " + std::to_string(p.epsilon) +
                  " (ART reports 0 here; greenlight reports it undefined)";
      return r;
    }
    // The search runs batch by batch and, within a batch, step by step: flipped rows are listed
    // by (batch, step, row), the order the mean and the row bootstrap have always used.
    std::vector<size_t> order(s.ratio.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const int64_t batch_a = s.row[a] / p.batch_size, batch_b = s.row[b] / p.batch_size;
      return batch_a != batch_b ? batch_a < batch_b : s.step[a] < s.step[b];
    });
    std::vector<double> ratios, flip_epsilon;
    for (size_t k : order) {
      ratios.push_back(s.ratio[k]);
      flip_epsilon.push_back(static_cast<double>(s.step[k]) * p.step_size);
    }
    double sum = 0.0;
    for (double v : ratios) sum += v;
    r.value = sum / static_cast<double>(ratios.size());
    std::sort(flip_epsilon.begin(), flip_epsilon.end());
    r.details["median_flip_epsilon"] = stats::QuantileSorted(flip_epsilon, 0.5);
    r.interval = BootstrapInterval(
        static_cast<int64_t>(ratios.size()), static_cast<int>(p.bootstrap_resamples), ctx.seed,
        ctx.confidence,
        [&](std::span<const uint32_t> w) -> std::optional<double> {
          double total = 0.0, count = 0.0;
          for (size_t i = 0; i < ratios.size(); ++i) total += w[i] * ratios[i], count += w[i];
          return total / count;
        },
        r.details);
    return r;
  }

 public:
  // Pairing (metric_delta, metric_retention); defined at the end of the file.
  std::string OutcomeName(const BoundParams& params) const override;
  RowOutcomes Outcomes(const BoundParams& params, const WorkRecord& record,
                       RowRange rows) const override;
};

}  // namespace

std::unique_ptr<Metric> MakeAdversarialAccuracy() {
  return std::make_unique<AttackMetric>(
      "adversarial_accuracy",
      "accuracy on FGSM/PGD adversarial inputs (white-box, cross-entropy on the labels)",
      /*success_rate=*/false);
}

std::unique_ptr<Metric> MakeAttackSuccessRate() {
  return std::make_unique<AttackMetric>(
      "attack_success_rate",
      "share of correctly classified rows whose adversarial input is misclassified",
      /*success_rate=*/true);
}

std::unique_ptr<Metric> MakeEmpiricalRobustness() {
  return std::make_unique<EmpiricalRobustnessMetric>();
}

// --- Pairing: each attack metric run for the model and for the reference model (metric_delta,
// metric_retention). ---

namespace {

// How each side of a paired attack is crafted, for the comparison's details.
nlohmann::json AttackPairing(const std::optional<std::string>& craft_on) {
  const std::string who = craft_on.value_or(kCraftOnModel);
  const auto side = [&](const std::string& evaluated, const std::string& name) {
    if (who == kCraftOnModel || who == evaluated) {
      return "white-box: crafted with the " + name + "'s own gradients";
    }
    return "transfer: crafted with the " + who + " model's gradients, evaluated on the " + name;
  };
  return {{"craft_on", who},
          {"model", side(kCraftOnModel, "model")},
          {"reference", side(kCraftOnReference, "reference model")}};
}

// An attack work run for both models of a paired attack: each side's inputs from PrepareAttack,
// the crafting model chosen by the parameters' craft_on.
template <typename W, typename P>
std::shared_ptr<const Work> PairedAttackWork(std::shared_ptr<const W> self, const P& p,
                                             const char* metric) {
  return std::make_shared<PairedWork>(
      self->key(),
      [self, p, metric](AuditContext& ctx, PairedSide side) -> std::shared_ptr<const WorkRecord> {
        return self->RunOn(ctx, PrepareAttack(ctx, metric, p.limit, p.craft_on, side));
      },
      AttackPairing(p.craft_on));
}

}  // namespace

std::shared_ptr<const Work> AttackWork::WithReference() const {
  return PairedAttackWork(std::make_shared<const AttackWork>(p_), p_, "adversarial attack");
}

std::shared_ptr<const Work> MinimalFgsmWork::WithReference() const {
  return PairedAttackWork(std::make_shared<const MinimalFgsmWork>(p_), p_, "empirical_robustness");
}

std::string AttackMetric::OutcomeName(const BoundParams&) const {
  return success_rate_ ? "numerator: 1 where the clean input is classified correctly and the "
                         "adversarial one is not; denominator: 1 where the clean input is "
                         "classified correctly"
                       : "numerator: 1 where the adversarial input is classified correctly; "
                         "denominator: 1";
}

RowOutcomes AttackMetric::Outcomes(const BoundParams&, const WorkRecord& record,
                                   RowRange rows) const {
  const auto& r = dynamic_cast<const AttackRecord&>(record);
  RowOutcomes out;
  for (int64_t i = rows.begin; i < rows.end; ++i) {
    const auto row = static_cast<size_t>(i);
    const bool clean = r.clean_predicted[row] == r.labels[row];
    const bool adversarial = r.adversarial_predicted[row] == r.labels[row];
    out.numerator.push_back(success_rate_ ? (clean && !adversarial ? 1.0 : 0.0)
                                          : (adversarial ? 1.0 : 0.0));
    out.denominator.push_back(success_rate_ ? (clean ? 1.0 : 0.0) : 1.0);
  }
  return out;
}

std::string EmpiricalRobustnessMetric::OutcomeName(const BoundParams&) const {
  return "numerator: ||x_adv - x|| / ||x|| where minimal FGSM flipped the prediction and "
         "||x|| > 0, else 0; denominator: 1 where it flipped and ||x|| > 0, else 0";
}

RowOutcomes EmpiricalRobustnessMetric::Outcomes(const BoundParams&, const WorkRecord& record,
                                                RowRange rows) const {
  const auto& r = dynamic_cast<const RobustnessRecord&>(record);
  RowOutcomes out;
  for (int64_t i = rows.begin; i < rows.end; ++i) {
    const auto row = static_cast<size_t>(i);
    const bool counted = r.flip_step[row] != 0 && r.zero_norm[row] == 0;
    out.numerator.push_back(counted ? r.ratio[row] : 0.0);
    out.denominator.push_back(counted ? 1.0 : 0.0);
  }
  return out;
}

}  // namespace greenlight::safety
