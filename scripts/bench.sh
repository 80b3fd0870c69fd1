#!/usr/bin/env bash
# The project's own benchmarks (benchmarks/suite/), printed side by side with their baselines:
#   - harness overhead: single-stream p50 through greenlight's harness / a bare module.forward loop
#     on the same inputs, interleaved, for the example CNN and the HMDA model (goal <= 1.02);
#   - timing consistency: ten identical latency audits, each run's value against the other runs'
#     95 % intervals (goal: inside at least 8 of 9), reported and within-run intervals side by side;
#   - supervision: the demo's model work audited in-process and in a supervised worker process,
#     interleaved (goal <= 1.02);
#   - fairness: every metric with 1,000 resamples on 1,000,000 rows and 8 groups (goal <= 100 ms
#     after the one pass over the rows), against numpy row resampling timed in the same run;
#   - merge: `greenlight merge` of 2, 8 and 64 partials at 2^14 and 2^30 rows (must not grow with
#     the rows; docs/scale-out.md);
#   - generation: time per output token through greenlight's decode loop / a bare LibTorch
#     prefill + step + argmax loop on the example LM, interleaved (goal <= 1.05), and TPOT against
#     the output length with the cache and by recomputing the prefix (docs/language-models.md).
# Timing is noisy on shared machines: run on a quiet one and read the per-round medians too.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
"$build/benchmarks/suite/greenlight_overhead_benchmark" --rounds 200 --queries 100 --threads 1
"$build/benchmarks/suite/greenlight_supervision_benchmark" --rounds 8
"$build/benchmarks/suite/fairness_benchmark" --numpy_resamples=100
"$build/benchmarks/suite/greenlight_timing_consistency_benchmark" --runs 10
"$build/benchmarks/suite/greenlight_merge_benchmark" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true
"$build/benchmarks/suite/greenlight_generation_benchmark" --rounds 8 --queries 40
