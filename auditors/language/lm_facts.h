// Efficiency facts of causal language models (docs/language-models.md, "Efficiency facts"):
// flops_per_token (the operators of one real forward pass of T tokens, counted as
// flops_per_sample counts them, divided by T) and kv_cache_bytes_per_token (the bytes of the
// model's decode cache holding T tokens, divided by T). Exact counts of one run, no interval.
#pragma once

#include <memory>

#include "auditors/metric.h"

namespace greenlight::language {

std::unique_ptr<Metric> MakeFlopsPerToken();
std::unique_ptr<Metric> MakeKvCacheBytesPerToken();

}  // namespace greenlight::language
