// Which rows of a data file an audit uses, drawn with our own generator and sampling code so that
// a seeded selection is the same under every compiler and standard library (std:: distributions
// are implementation-defined). The algorithms are documented in docs/datasets.md and
// re-implemented in a few lines of Python by the tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greenlight {

enum class SampleMethod {
  kAll,         // Every row.
  kFirst,       // The first `size` rows in file order (also what `limit: N` means).
  kRandom,      // A simple random sample of `size` rows without replacement, seeded.
  kStratified,  // By label: proportional allocation, then a simple random sample per label.
};

std::string_view SampleMethodName(SampleMethod method);  // "all", "first", "random", "stratified"

struct SampleSpec {
  SampleMethod method = SampleMethod::kAll;
  int64_t size = 0;   // Rows requested (kAll: unused). More than the file holds means all rows.
  uint64_t seed = 0;  // kRandom and kStratified.
  bool from_limit = false;  // Declared as `limit: N` (first N) rather than `sample:`.
};

// SplitMix64 (Steele, Lea and Flood 2014; the constants of Vigna's reference code): state +=
// 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds. Small, fast and fully specified.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();

 private:
  uint64_t state_;
};

// A uniform integer in [0, n), n >= 1, by rejection: draws x until x >= (2^64 - n) mod n and
// returns x mod n, so that every residue is equally likely (no modulo bias).
uint64_t UniformBelow(SplitMix64& rng, uint64_t n);

// `size` distinct indices of [0, total) by a partial Fisher–Yates shuffle of 0..total-1 (for
// i = 0..size-1: j = i + UniformBelow(total - i), swap a[i] and a[j]), returned in ascending order.
std::vector<int64_t> RandomSample(int64_t total, int64_t size, SplitMix64& rng);

// Proportional allocation of `size` rows to strata of the given sizes, by the largest-remainder
// (Hamilton) rule: stratum h first gets floor(size × N_h / N); the rows still unallocated go one
// each to the strata with the largest remainders size × N_h mod N, ties to the earlier stratum.
// The shares sum to min(size, N) and never exceed a stratum's size.
std::vector<int64_t> ProportionalAllocation(std::span<const int64_t> stratum_sizes, int64_t size);

struct StratumDraw {
  int64_t label = 0;
  int64_t rows_in_file = 0;
  int64_t rows_drawn = 0;
};

struct RowSelection {
  std::vector<int64_t> rows;        // Selected row indices, ascending (file order).
  std::vector<StratumDraw> strata;  // kStratified only, by ascending label.
};

// The rows `spec` selects from `total` rows. `labels` (one per row) are needed for kStratified
// only: strata are the distinct labels in ascending order, all drawn from one generator seeded
// with spec.seed, stratum after stratum. Throws InputError when kStratified has no labels.
RowSelection SelectRows(const SampleSpec& spec, int64_t total, std::span<const int64_t> labels);

}  // namespace greenlight
