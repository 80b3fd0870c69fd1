// Adversarial robustness through LibTorch autograd on the TorchScript model: FGSM (Goodfellow et
// al. 2015) and PGD (Madry et al. 2018) under the L-infinity or L2 norm, and ART's
// empirical_robustness (minimal FGSM). Each attack is white-box (crafted with the audited model's
// own gradients) or a transfer attack (crafted with another model's gradients, e.g. the float
// reference of an int8 model that has none, and evaluated on the audited model). The header hides
// LibTorch; adversarial.cc includes it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "auditors/auditor.h"

namespace greenlight::safety {

struct AttackConfig {
  std::string attack = "fgsm";  // "fgsm" | "pgd"
  std::string norm = "inf";     // "inf" | "2"
  double epsilon = 0.1;         // Radius of the perturbation ball, in model input units.
  double step_size = 0.0;       // PGD step (input units); <= 0: 2.5 * epsilon / iterations.
  int iterations = 10;          // PGD only.
  bool random_start = true;     // PGD only: start uniformly inside the ball.
  uint64_t seed = 0;            // Random start.
  int64_t batch_size = 128;

  nlohmann::json ToJson() const;
};

struct AttackResult {
  int64_t rows = 0;
  std::vector<int64_t> adversarial_predicted;  // Prediction on the adversarial input, per row.
  std::vector<double> linf;                    // ||x_adv - x||_inf per row.
  std::vector<double> l2;                      // ||x_adv - x||_2 per row.
  int64_t unchanged_rows = 0;                  // x_adv == x bit for bit (clean prediction reused).
  std::vector<uint8_t> unchanged;              // Per row: 1 where x_adv == x bit for bit.
  double step_size = 0.0;                      // The step actually used.
  std::vector<float> adversarial;              // rows × input size: every x_adv, in row order.
};

// Runs the attack on the first `rows` samples of `inputs` (rows × model input size floats) with
// cross-entropy on `labels`; `clean_predicted` are the model's predictions on the clean inputs
// (reused for rows the attack leaves unchanged, so epsilon 0 reproduces clean accuracy exactly).
// The model must offer InputGradients and TensorAccess (else RuntimeError with the reason); the
// perturbation is clipped to its declared input range.
// PGD counts a row as fooled as soon as any iterate is misclassified (and keeps that iterate).
AttackResult RunAttack(Model& model, std::span<const float> inputs, std::span<const int64_t> labels,
                       std::span<const int64_t> clean_predicted, int64_t rows,
                       const AttackConfig& config,
                       const std::function<void(double)>& progress = nullptr);

// The same attack as a transfer attack: every gradient (FGSM's step, each PGD step) is the loss
// gradient of `craft` (which must offer InputGradients and TensorAccess and take `model`'s input
// size); everything else is RunAttack's: the perturbation is clipped to `model`'s input range, a
// PGD row counts as fooled as soon as `model` misclassifies any iterate, and the adversarial
// predictions are `model`'s. `model` needs only forward passes. With craft == model it is
// RunAttack.
AttackResult RunTransferAttack(Model& craft, Model& model, std::span<const float> inputs,
                               std::span<const int64_t> labels,
                               std::span<const int64_t> clean_predicted, int64_t rows,
                               const AttackConfig& config,
                               const std::function<void(double)>& progress = nullptr);

// ART's empirical_robustness with minimal FGSM: for each row, epsilon grows by `step_size` up to
// `epsilon` along the FGSM direction of the loss on the clean prediction until the prediction
// flips. Returns ||x_adv - x||_p / ||x||_p for every flipped row (p = norm) and sets *flipped.
struct MinimalFgsmResult {
  std::vector<double> ratios;        // One per flipped row with ||x|| > 0.
  std::vector<double> flip_epsilon;  // The epsilon that flipped it.
  int64_t flipped = 0;
  int64_t zero_norm_rows = 0;  // Flipped rows with ||x|| = 0 (ratio undefined, skipped).
  // Per row, in row order: the step k that flipped it (epsilon k * step_size; 0: not flipped),
  // its ratio (NaN unless flipped with ||x|| > 0), and 1 where it flipped with ||x|| = 0.
  std::vector<int64_t> flip_step;
  std::vector<double> row_ratio;
  std::vector<uint8_t> zero_norm;
};
MinimalFgsmResult RunMinimalFgsm(Model& model, std::span<const float> inputs,
                                 std::span<const int64_t> clean_predicted, int64_t rows,
                                 const std::string& norm, double epsilon, double step_size,
                                 int64_t batch_size,
                                 const std::function<void(double)>& progress = nullptr);

// Minimal FGSM as a transfer attack: the direction is the gradient of `craft`'s loss on `model`'s
// clean predictions; the flips, the clipping range and the ratios are `model`'s.
MinimalFgsmResult RunTransferMinimalFgsm(Model& craft, Model& model, std::span<const float> inputs,
                                         std::span<const int64_t> clean_predicted, int64_t rows,
                                         const std::string& norm, double epsilon, double step_size,
                                         int64_t batch_size,
                                         const std::function<void(double)>& progress = nullptr);

}  // namespace greenlight::safety
