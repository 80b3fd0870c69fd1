// Portable random draws. Every random number greenlight uses (bootstrap resamples, random
// attack starts, corruption noise, random probes) comes from the generator and the samplers
// below, never from std::*_distribution, whose algorithms differ between standard libraries: a
// report re-runs draw for draw under any compiler and library.
//
// Generator: xoshiro256** 1.0 (Blackman and Vigna, "Scrambled linear pseudorandom number
// generators", ACM TOMS 2021), its 256-bit state filled from the 64-bit seed by SplitMix64
// (Steele, Lea and Flood 2014), as the authors recommend. Reports record it as kGeneratorName.
//
// The samplers use only IEEE-754 arithmetic (+, -, *, /, sqrt, correctly rounded everywhere) and
// log, exp, cos and lgamma in their rejection tests; a last-place difference between two maths
// libraries could flip one of those tests only when a uniform falls within about 1e-16 of the
// boundary.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace greenlight::random {

inline constexpr std::string_view kGeneratorName = "xoshiro256**/splitmix64";

// SplitMix64: one step of the seeding sequence (Steele, Lea and Flood 2014).
uint64_t SplitMix64(uint64_t& state);

// xoshiro256**: 64-bit outputs with period 2^256 - 1. Not thread-safe: one per thread or stream.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  // Satisfies UniformRandomBitGenerator, for code that only needs raw bits.
  using result_type = uint64_t;
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t{0}; }
  uint64_t operator()() { return Next(); }

 private:
  uint64_t s_[4];
};

// Uniform double in [0, 1): the top 53 bits of one output times 2^-53.
double UniformDouble(Rng& rng);

// lo + (hi - lo) * UniformDouble.
double UniformReal(Rng& rng, double lo, double hi);

// Uniform integer in [0, n), n >= 1, without modulo bias: outputs below 2^64 mod n are rejected
// and the rest taken mod n (the method of OpenBSD's arc4random_uniform).
uint64_t UniformBelow(Rng& rng, uint64_t n);

// Standard normal by Box-Muller (one value per two uniforms; the sine partner is discarded so that
// a draw never depends on an earlier call): sqrt(-2 ln(1 - u1)) cos(2 pi u2).
double StandardNormal(Rng& rng);

// Binomial(n, p), n >= 0, 0 <= p <= 1. With p > 1/2 the draw is n - Binomial(n, 1 - p). When
// n p < 10: inversion by sequential search (Kachitvichyanukul and Schmeiser 1988, BINV), one
// uniform per draw. Otherwise: BTRS, transformed rejection with squeeze (Hormann, "The generation
// of binomial random variates", J. Statist. Comput. Simul. 46, 1993), two uniforms per try.
int64_t Binomial(Rng& rng, int64_t n, double p);

// Poisson(lambda), lambda >= 0. lambda < 10: inversion by sequential search; otherwise PTRS
// (Hormann, "The transformed rejection method for generating Poisson random variables",
// Insurance: Mathematics and Economics 12, 1993).
int64_t Poisson(Rng& rng, double lambda);

// One multinomial draw of `n` items over cells with the given non-negative weights (normalised
// here), by conditional binomials: cell i gets Binomial(remaining, w_i / remaining weight).
std::vector<int64_t> Multinomial(Rng& rng, int64_t n, std::span<const double> weights);

}  // namespace greenlight::random
