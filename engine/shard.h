// Sharded audits: `greenlight audit --shard I/N` measures the I-th of N contiguous slices of the
// selected dataset rows (by global row index, after any sampling), and `greenlight merge` merges
// the shards' statistics into the report a single process would have written (engine/partial.h).
// docs/scale-out.md describes the rules.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "auditors/metric.h"

namespace greenlight {

// Most shards one audit may be split into.
inline constexpr int64_t kMaxShards = 1000000;

struct ShardSpec {
  int64_t index = 0;  // 0 .. count - 1.
  int64_t count = 1;
  bool operator==(const ShardSpec&) const = default;
};

// Shard `shard`'s rows of `rows` selected rows, cut on multiples of `block` rows: the
// ceil(rows / block) blocks are dealt out contiguously, in order, the first (blocks % count)
// shards one block longer than the others, and the last block may be short. Together the shards
// cover [0, rows) exactly once; with more shards than blocks the last shards are empty. Audits
// use block = kOutputsBatchRows (a row is then in the same forward batch as in one process).
RowRange ShardRows(int64_t rows, const ShardSpec& shard, int64_t block = 1);

// "I/N" as given to --shard. Throws InputError "--shard 'TEXT': problem".
ShardSpec ParseShard(std::string_view text);

// --shard auto: the shard from the scheduler's environment, read through `getenv` (returns null
// for an unset variable):
//   Slurm job array: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT (arrays
//     0..N-1 and 1..N alike; SLURM_ARRAY_TASK_MAX, when set, must make the array contiguous);
//   Kubernetes Indexed Job: JOB_COMPLETION_INDEX of `shard_count` (--shard-count; required).
// `shard_count`, when given, must agree with Slurm's count. Throws InputError "--shard auto: why"
// when a variable is missing, not a number, or inconsistent.
ShardSpec ShardFromEnvironment(const std::function<const char*(const char*)>& getenv,
                               std::optional<int64_t> shard_count);

// "I/N".
std::string ShardName(const ShardSpec& shard);

}  // namespace greenlight
