#include "core/random.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace greenlight::random {
namespace {

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// log(k!) - [log(sqrt(2 pi)) + (k + 1/2) log(k + 1) - (k + 1)]: the remainder of Stirling's
// approximation, as BTRS needs it. Exact values for k <= 9, the series beyond (Hormann 1993).
double StirlingTail(double k) {
  static constexpr double kTail[] = {0.0810614667953272,  0.0413406959554092, 0.0276779256849983,
                                     0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                                     0.0118967099458917,  0.0104112652619720, 0.00925546218271273,
                                     0.00833056343336287};
  if (k <= 9) return kTail[static_cast<int>(k)];
  const double kp1sq = (k + 1) * (k + 1);
  return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1);
}

// Binomial by sequential search of the CDF from 0 (BINV); p <= 1/2 and n p < 10.
int64_t BinomialInversion(Rng& rng, int64_t n, double p) {
  const double q = 1.0 - p;
  const double s = p / q;
  const double a = (static_cast<double>(n) + 1.0) * s;
  const double r0 = std::exp(static_cast<double>(n) * std::log1p(-p));
  for (;;) {
    double r = r0;
    double u = UniformDouble(rng);
    int64_t k = 0;
    // Rounding can leave u above the summed pmf at k = n: start again with a new uniform.
    while (u > r && k < n) {
      u -= r;
      ++k;
      r *= a / static_cast<double>(k) - s;
    }
    if (u <= r) return k;
  }
}

// BTRS; p <= 1/2 and n p >= 10.
int64_t BinomialBtrs(Rng& rng, int64_t n_int, double p) {
  const double n = static_cast<double>(n_int);
  const double q = 1.0 - p;
  const double spq = std::sqrt(n * p * q);
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double c = n * p + 0.5;
  const double v_r = 0.92 - 4.2 / b;
  const double r = p / q;
  const double alpha = (2.83 + 5.1 / b) * spq;
  const double m = std::floor((n + 1) * p);
  for (;;) {
    const double u = UniformDouble(rng) - 0.5;
    double v = UniformDouble(rng);
    const double us = 0.5 - std::abs(u);
    const double k = std::floor((2 * a / us + b) * u + c);
    if (us >= 0.07 && v <= v_r) return static_cast<int64_t>(k);
    if (k < 0 || k > n) continue;
    v = std::log(v * alpha / (a / (us * us) + b));
    const double bound = (m + 0.5) * std::log((m + 1) / (r * (n - m + 1))) +
                         (n + 1) * std::log((n - m + 1) / (n - k + 1)) +
                         (k + 0.5) * std::log(r * (n - k + 1) / (k + 1)) + StirlingTail(m) +
                         StirlingTail(n - m) - StirlingTail(k) - StirlingTail(n - k);
    if (v <= bound) return static_cast<int64_t>(k);
  }
}

int64_t PoissonInversion(Rng& rng, double lambda) {
  const double p0 = std::exp(-lambda);
  for (;;) {
    double p = p0;
    double f = p0;
    const double u = UniformDouble(rng);
    int64_t k = 0;
    // lambda < 10: the tail beyond 1000 is far below 2^-53; past it, rounding stalled the sum.
    while (u > f && k < 1000) {
      ++k;
      p *= lambda / static_cast<double>(k);
      f += p;
    }
    if (u <= f) return k;
  }
}

int64_t PoissonPtrs(Rng& rng, double lambda) {
  const double slam = std::sqrt(lambda);
  const double loglam = std::log(lambda);
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const double vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const double u = UniformDouble(rng) - 0.5;
    const double v = UniformDouble(rng);
    const double us = 0.5 - std::abs(u);
    const double k = std::floor((2 * a / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return static_cast<int64_t>(k);
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <=
        -lambda + k * loglam - std::lgamma(k + 1)) {
      return static_cast<int64_t>(k);
    }
  }
}

}  // namespace

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = SplitMix64(seed);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double UniformDouble(Rng& rng) { return static_cast<double>(rng.Next() >> 11) * 0x1.0p-53; }

double UniformReal(Rng& rng, double lo, double hi) { return lo + (hi - lo) * UniformDouble(rng); }

uint64_t UniformBelow(Rng& rng, uint64_t n) {
  if (n == 0) throw InputError("UniformBelow needs n >= 1");
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const uint64_t r = rng.Next();
    if (r >= threshold) return r % n;
  }
}

double StandardNormal(Rng& rng) {
  const double u1 = 1.0 - UniformDouble(rng);  // (0, 1]: the logarithm stays finite.
  const double u2 = UniformDouble(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

int64_t Binomial(Rng& rng, int64_t n, double p) {
  if (n < 0 || !(p >= 0.0 && p <= 1.0)) throw InputError("Binomial needs n >= 0 and 0 <= p <= 1");
  if (n == 0 || p == 0.0) return 0;
  if (p == 1.0) return n;
  if (p > 0.5) return n - Binomial(rng, n, 1.0 - p);
  if (static_cast<double>(n) * p < 10.0) return BinomialInversion(rng, n, p);
  return BinomialBtrs(rng, n, p);
}

int64_t Poisson(Rng& rng, double lambda) {
  if (!(lambda >= 0.0) || std::isinf(lambda))
    throw InputError("Poisson needs a finite lambda >= 0");
  if (lambda == 0.0) return 0;
  if (lambda < 10.0) return PoissonInversion(rng, lambda);
  return PoissonPtrs(rng, lambda);
}

std::vector<int64_t> Multinomial(Rng& rng, int64_t n, std::span<const double> weights) {
  std::vector<int64_t> out(weights.size(), 0);
  double remaining_weight = 0.0;
  for (double w : weights) remaining_weight += w;
  int64_t remaining = n;
  for (size_t i = 0; i < weights.size() && remaining > 0; ++i) {
    if (i + 1 == weights.size() || weights[i] >= remaining_weight) {
      out[i] = remaining;
      remaining = 0;
      break;
    }
    const double p = remaining_weight > 0.0 ? weights[i] / remaining_weight : 0.0;
    if (p > 0.0) {
      out[i] = Binomial(rng, remaining, std::min(1.0, p));
      remaining -= out[i];
    }
    remaining_weight -= weights[i];
  }
  return out;
}

}  // namespace greenlight::random
