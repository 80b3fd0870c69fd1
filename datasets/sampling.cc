#include "datasets/sampling.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/error.h"

namespace greenlight {

std::string_view SampleMethodName(SampleMethod method) {
  switch (method) {
    case SampleMethod::kAll:
      return "all";
    case SampleMethod::kFirst:
      return "first";
    case SampleMethod::kRandom:
      return "random";
    case SampleMethod::kStratified:
      return "stratified";
  }
  return "all";
}

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t UniformBelow(SplitMix64& rng, uint64_t n) {
  // (2^64 - n) mod n, computed in 64 bits as (-n) mod n.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t x = rng.Next();
    if (x >= threshold) return x % n;
  }
}

std::vector<int64_t> RandomSample(int64_t total, int64_t size, SplitMix64& rng) {
  size = std::clamp<int64_t>(size, 0, total);
  std::vector<int64_t> a(static_cast<size_t>(total));
  std::iota(a.begin(), a.end(), int64_t{0});
  for (int64_t i = 0; i < size; ++i) {
    const auto j = i + static_cast<int64_t>(UniformBelow(rng, static_cast<uint64_t>(total - i)));
    std::swap(a[static_cast<size_t>(i)], a[static_cast<size_t>(j)]);
  }
  a.resize(static_cast<size_t>(size));
  std::sort(a.begin(), a.end());
  return a;
}

std::vector<int64_t> ProportionalAllocation(std::span<const int64_t> stratum_sizes, int64_t size) {
  const int64_t total = std::accumulate(stratum_sizes.begin(), stratum_sizes.end(), int64_t{0});
  std::vector<int64_t> share(stratum_sizes.size(), 0);
  if (total == 0) return share;
  size = std::clamp<int64_t>(size, 0, total);
  // Exact integer arithmetic: size × N_h fits in 128 bits for any file we can hold in memory.
  std::vector<std::pair<__int128, size_t>> remainders;
  int64_t allocated = 0;
  for (size_t h = 0; h < stratum_sizes.size(); ++h) {
    const __int128 product = static_cast<__int128>(size) * stratum_sizes[h];
    share[h] = static_cast<int64_t>(product / total);
    allocated += share[h];
    remainders.emplace_back(product % total, h);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  // The floors leave fewer rows than strata unallocated, and a stratum that receives one more has
  // a non-zero remainder, so it still has a row to give.
  for (size_t k = 0; allocated < size; ++k, ++allocated) ++share[remainders[k].second];
  return share;
}

RowSelection SelectRows(const SampleSpec& spec, int64_t total, std::span<const int64_t> labels) {
  RowSelection out;
  const int64_t size = std::clamp<int64_t>(spec.size, 0, total);
  switch (spec.method) {
    case SampleMethod::kAll:
      out.rows.resize(static_cast<size_t>(total));
      std::iota(out.rows.begin(), out.rows.end(), int64_t{0});
      return out;
    case SampleMethod::kFirst:
      out.rows.resize(static_cast<size_t>(size));
      std::iota(out.rows.begin(), out.rows.end(), int64_t{0});
      return out;
    case SampleMethod::kRandom: {
      SplitMix64 rng(spec.seed);
      out.rows = RandomSample(total, size, rng);
      return out;
    }
    case SampleMethod::kStratified:
      break;
  }
  if (static_cast<int64_t>(labels.size()) != total) {
    throw InputError("sample: method stratified needs a label for every row (dataset.label)");
  }
  std::map<int64_t, std::vector<int64_t>> members;  // Ascending label order.
  for (int64_t r = 0; r < total; ++r) members[labels[static_cast<size_t>(r)]].push_back(r);
  std::vector<int64_t> sizes;
  for (const auto& [label, rows] : members) sizes.push_back(static_cast<int64_t>(rows.size()));
  const std::vector<int64_t> share = ProportionalAllocation(sizes, size);
  SplitMix64 rng(spec.seed);
  size_t h = 0;
  for (const auto& [label, rows] : members) {
    const std::vector<int64_t> picked =
        RandomSample(static_cast<int64_t>(rows.size()), share[h], rng);
    for (int64_t i : picked) out.rows.push_back(rows[static_cast<size_t>(i)]);
    out.strata.push_back({label, static_cast<int64_t>(rows.size()), share[h]});
    ++h;
  }
  std::sort(out.rows.begin(), out.rows.end());
  return out;
}

}  // namespace greenlight
