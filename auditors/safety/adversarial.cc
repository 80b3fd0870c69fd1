#include "auditors/safety/adversarial.h"

#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "auditors/safety/common.h"
#include "core/error.h"
#include "core/stats.h"
#include "models/torch_capabilities.h"

namespace greenlight::safety {
namespace {

constexpr uint64_t kRandomStartStream = 0xA7;
constexpr int64_t kDefaultLimit = 1000;

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

AttackResult RunAttack(Model& model_in, std::span<const float> inputs,
                       std::span<const int64_t> labels, std::span<const int64_t> clean_predicted,
                       int64_t rows, const AttackConfig& config,
                       const std::function<void(double)>& progress) {
  Model& model = model_in;
  // White-box attacks need the runtime's gradients and its tensors.
  InputGradients& gradients = RequireCapability<InputGradients>(model);
  TensorAccess& tensors = RequireCapability<TensorAccess>(model);
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
      auto [grad, pred] = Gradient(gradients, model, x, y);
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
        auto [grad, pred] = Gradient(gradients, model, current, y);
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
  std::vector<int64_t> changed;
  for (int64_t i = 0; i < rows; ++i) {
    const float* a = adversarial.data() + i * size;
    const float* c = inputs.data() + i * size;
    if (std::memcmp(a, c, static_cast<size_t>(size) * sizeof(float)) == 0) {
      ++result.unchanged_rows;
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
  return result;
}

MinimalFgsmResult RunMinimalFgsm(Model& model_in, std::span<const float> inputs,
                                 std::span<const int64_t> clean_predicted, int64_t rows,
                                 const std::string& norm, double epsilon, double step_size,
                                 int64_t batch_size, const std::function<void(double)>& progress) {
  Model& model = model_in;
  // White-box attacks need the runtime's gradients and its tensors.
  InputGradients& gradients = RequireCapability<InputGradients>(model);
  TensorAccess& tensors = RequireCapability<TensorAccess>(model);
  const auto [lo, hi] = InputRange(model);
  if (norm != "inf" && norm != "2") throw InputError("norm must be inf or 2");
  if (!(step_size > 0.0) || !(epsilon >= step_size)) {
    throw InputError("empirical_robustness needs 0 < step_size <= epsilon");
  }
  const int64_t size = model.input_size();
  // Epsilons step, 2 step, ... up to epsilon (ART accumulates the step; multiplying avoids drift).
  const int64_t steps = static_cast<int64_t>(std::floor(epsilon / step_size + 1e-9));
  MinimalFgsmResult result;
  const torch::Tensor targets =
      torch::from_blob(const_cast<int64_t*>(clean_predicted.data()), {rows}, torch::kInt64).clone();
  for (int64_t start = 0; start < rows; start += batch_size) {
    const int64_t b = std::min(batch_size, rows - start);
    const auto host =
        inputs.subspan(static_cast<size_t>(start * size), static_cast<size_t>(b * size));
    const torch::Tensor x = tensors.MakeInput(host, b).clone();
    const torch::Tensor y = targets.slice(0, start, start + b).to(tensors.device());
    const torch::Tensor dir = Direction(Gradient(gradients, model, x, y).first, norm);
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
        if (xn == 0.0) {
          ++result.zero_norm_rows;
          continue;
        }
        result.ratios.push_back(dn / xn);
        result.flip_epsilon.push_back(eps);
      }
    }
    if (progress) progress(static_cast<double>(start + b) / rows);
  }
  return result;
}

std::vector<MetricSpec> AdversarialMetrics() {
  const ParamSpec norm{"norm", ParamType::kString, "perturbation norm", "inf", false, {"inf", "2"}};
  const ParamSpec limit{"limit", ParamType::kInteger, "attack the first N dataset rows (0: all)",
                        kDefaultLimit};
  const ParamSpec batch{"batch_size", ParamType::kInteger, "rows per gradient batch", 128};
  const std::vector<ParamSpec> attack_params{
      {"attack", ParamType::kString, "fgsm or pgd", "fgsm", false, {"fgsm", "pgd"}},
      norm,
      {"epsilon", ParamType::kNumber, "perturbation budget in model input units", 0.1},
      {"step_size", ParamType::kNumber,
       "PGD step in input units (absent: 2.5 * epsilon / iterations)"},
      {"iterations", ParamType::kInteger, "PGD iterations", 10},
      {"random_start", ParamType::kBool, "PGD: start from a uniform point in the ball", true},
      {"seed", ParamType::kInteger, "seed of the random start (absent: the run seed)"},
      limit,
      batch,
  };
  return {
      {"adversarial_accuracy", "ratio", "safety",
       "accuracy on FGSM/PGD adversarial inputs (white-box, cross-entropy on the labels)",
       attack_params, true, true},
      {"attack_success_rate", "ratio", "safety",
       "share of correctly classified rows whose adversarial input is misclassified", attack_params,
       true, true},
      {"empirical_robustness",
       "ratio",
       "safety",
       "ART empirical robustness: mean ||x_adv - x||_p / ||x||_p over rows flipped by minimal "
       "FGSM",
       {norm,
        {"epsilon", ParamType::kNumber, "largest epsilon tried (input units)", 0.3},
        {"step_size", ParamType::kNumber, "epsilon increment of the minimal search", 0.01},
        limit,
        batch,
        {"bootstrap_resamples", ParamType::kInteger, "percentile-bootstrap resamples",
         kDefaultResamples}},
       true,
       false},
  };
}

Measurement MeasureAdversarial(const MetricRequest& req, AuditContext& ctx) {
  Model& model = RequireModel(ctx, req.metric);
  const Dataset& data = ctx.dataset();
  const int64_t n = SelectRows(req, data, kDefaultLimit);
  const ClassifierOutputs& clean = ctx.Outputs(req.criterion_id);
  const auto inputs = data.features().subspan(0, static_cast<size_t>(n * data.sample_size()));
  const auto clean_pred =
      std::span<const int64_t>(clean.predicted).subspan(0, static_cast<size_t>(n));
  const auto [lo, hi] = InputRange(model);
  auto progress = [&](double f) { ctx.Progress(req.criterion_id, "attack", f); };
  Measurement r;
  r.unit = "ratio";

  if (req.metric == "empirical_robustness") {
    const std::string norm = req.Param<std::string>("norm", "inf");
    const double eps = req.Param<double>("epsilon", 0.3);
    const double step = req.Param<double>("step_size", 0.01);
    const int64_t batch = req.Param<int64_t>("batch_size", 128);
    const auto res = RunMinimalFgsm(model, inputs, clean_pred, n, norm, eps, step, batch, progress);
    r.samples = static_cast<int64_t>(res.ratios.size());
    r.details = {{"attack", "fgsm (minimal)"},
                 {"norm", norm},
                 {"epsilon_max", eps},
                 {"step_size", step},
                 {"rows", n},
                 {"flipped_rows", res.flipped},
                 {"zero_norm_rows_skipped", res.zero_norm_rows},
                 {"input_range", {lo, hi}},
                 {"loss", "cross-entropy on the clean predictions (ART's default without labels)"}};
    r.method = "ART empirical_robustness: mean ||x_adv - x||_" + norm + " / ||x||_" + norm +
               " over rows whose prediction flipped under minimal FGSM; percentile row bootstrap";
    if (res.ratios.empty()) {
      r.message = "no prediction flipped up to epsilon " + std::to_string(eps) +
                  " (ART reports 0 here; greenlight reports it undefined)";
      return r;
    }
    double sum = 0.0;
    for (double v : res.ratios) sum += v;
    r.value = sum / static_cast<double>(res.ratios.size());
    std::vector<double> eps_sorted = res.flip_epsilon;
    std::sort(eps_sorted.begin(), eps_sorted.end());
    r.details["median_flip_epsilon"] = stats::QuantileSorted(eps_sorted, 0.5);
    const auto& ratios = res.ratios;
    r.interval = BootstrapInterval(
        static_cast<int64_t>(ratios.size()), Resamples(req), req.seed, req.confidence,
        [&](std::span<const uint32_t> w) -> std::optional<double> {
          double s = 0.0, c = 0.0;
          for (size_t i = 0; i < ratios.size(); ++i) s += w[i] * ratios[i], c += w[i];
          return s / c;
        },
        r.details);
    return r;
  }

  const auto labels = RequireLabels(data, n, req.metric);
  AttackConfig config;
  config.attack = req.Param<std::string>("attack", "fgsm");
  config.norm = req.Param<std::string>("norm", "inf");
  config.epsilon = req.Param<double>("epsilon", 0.1);
  config.iterations = static_cast<int>(req.Param<int64_t>("iterations", 10));
  config.step_size = req.Param<double>("step_size", 0.0);
  config.random_start = req.Param<bool>("random_start", true);
  config.seed = RequestSeed(req);
  config.batch_size = req.Param<int64_t>("batch_size", 128);
  const std::string key = "safety.attack:" + config.ToJson().dump() + ":" + std::to_string(n);
  const auto res = ctx.Shared<AttackResult>(key, [&] {
    return std::make_shared<AttackResult>(
        RunAttack(model, inputs, labels, clean_pred, n, config, progress));
  });
  int64_t clean_correct = 0, adv_correct = 0, fooled = 0;
  double max_linf = 0.0, max_l2 = 0.0, mean_linf = 0.0, mean_l2 = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const bool c = clean_pred[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)];
    const bool a =
        res->adversarial_predicted[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)];
    clean_correct += c;
    adv_correct += a;
    fooled += c && !a;
    max_linf = std::max(max_linf, res->linf[static_cast<size_t>(i)]);
    max_l2 = std::max(max_l2, res->l2[static_cast<size_t>(i)]);
    mean_linf += res->linf[static_cast<size_t>(i)] / n;
    mean_l2 += res->l2[static_cast<size_t>(i)] / n;
  }
  nlohmann::json cfg = config.ToJson();
  if (config.attack == "pgd") cfg["step_size"] = res->step_size;
  r.details = {{"attack", cfg},
               {"rows", n},
               {"input_range", {lo, hi}},
               {"loss", "cross-entropy on the true labels"},
               {"clean_accuracy", static_cast<double>(clean_correct) / n},
               {"clean_correct", clean_correct},
               {"adversarial_correct", adv_correct},
               {"fooled", fooled},
               {"unchanged_rows", res->unchanged_rows},
               {"perturbation",
                {{"max_linf", max_linf},
                 {"max_l2", max_l2},
                 {"mean_linf", mean_linf},
                 {"mean_l2", mean_l2}}}};
  if (config.attack == "pgd") {
    r.details["success_rule"] = "a row counts as fooled when any PGD iterate is misclassified";
  }
  const std::string how =
      config.attack == "pgd"
          ? "PGD-L" + config.norm + " (" + std::to_string(config.iterations) + " iterations)"
          : "FGSM-L" + config.norm;
  if (req.metric == "adversarial_accuracy") {
    r.value = static_cast<double>(adv_correct) / n;
    r.samples = n;
    r.interval = stats::WilsonInterval(adv_correct, n, req.confidence);
    r.method = "count: correct / rows on " + how + " adversarial inputs; Wilson score interval";
    return r;
  }
  // attack_success_rate.
  r.samples = clean_correct;
  r.method = "count: fooled / correctly classified rows under " + how + "; Wilson score interval";
  if (clean_correct == 0) {
    r.message = "no row is classified correctly, so the success rate is undefined";
    return r;
  }
  r.value = static_cast<double>(fooled) / clean_correct;
  r.interval = stats::WilsonInterval(fooled, clean_correct, req.confidence);
  return r;
}

}  // namespace greenlight::safety
