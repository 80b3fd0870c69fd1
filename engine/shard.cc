#include "engine/shard.h"

#include <algorithm>
#include <charconv>

#include "core/error.h"

namespace greenlight {
namespace {

// A non-negative decimal integer, digits only; nullopt otherwise (signs, spaces, overflow).
std::optional<int64_t> Digits(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

void CheckCount(int64_t count, const std::string& who) {
  if (count < 1 || count > kMaxShards) {
    throw InputError(who + ": the shard count must be 1.." + std::to_string(kMaxShards));
  }
}

}  // namespace

RowRange ShardRows(int64_t rows, const ShardSpec& shard, int64_t block) {
  const int64_t blocks = rows / block + (rows % block != 0 ? 1 : 0);
  const int64_t base = blocks / shard.count;
  const int64_t extra = blocks % shard.count;
  const auto start = [&](int64_t i) {
    return std::min(rows, (base * i + std::min(i, extra)) * block);
  };
  return {start(shard.index), start(shard.index + 1)};
}

std::string ShardName(const ShardSpec& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

ShardSpec ParseShard(std::string_view text) {
  const std::string who = "--shard '" + std::string(text) + "'";
  const size_t slash = text.find('/');
  const auto index = slash == std::string_view::npos ? std::nullopt : Digits(text.substr(0, slash));
  const auto count =
      slash == std::string_view::npos ? std::nullopt : Digits(text.substr(slash + 1));
  if (!index || !count) {
    throw InputError(who + ": expected I/N (shard I of N, I = 0..N-1) or 'auto'");
  }
  CheckCount(*count, who);
  if (*index >= *count) {
    throw InputError(who + ": the shard index must be 0.." + std::to_string(*count - 1));
  }
  return {*index, *count};
}

ShardSpec ShardFromEnvironment(const std::function<const char*(const char*)>& getenv,
                               std::optional<int64_t> shard_count) {
  const std::string who = "--shard auto";
  auto number = [&](const char* name) -> std::optional<int64_t> {
    const char* value = getenv(name);
    if (value == nullptr) return std::nullopt;
    const auto n = Digits(value);
    if (!n) {
      throw InputError(who + ": " + name + "='" + value + "' is not a non-negative integer");
    }
    return n;
  };
  if (shard_count) CheckCount(*shard_count, who + " --shard-count");
  const auto slurm_id = number("SLURM_ARRAY_TASK_ID");
  const auto k8s_index = number("JOB_COMPLETION_INDEX");
  if (slurm_id && k8s_index) {
    throw InputError(who +
                     ": both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set; "
                     "give --shard I/N");
  }
  ShardSpec shard;
  if (slurm_id) {
    const auto count = number("SLURM_ARRAY_TASK_COUNT");
    const auto min = number("SLURM_ARRAY_TASK_MIN");
    if (!count || !min) {
      throw InputError(who + ": SLURM_ARRAY_TASK_ID is set but " +
                       (count ? "SLURM_ARRAY_TASK_MIN" : "SLURM_ARRAY_TASK_COUNT") +
                       " is not (an array job of Slurm 17.11 or later sets both)");
    }
    CheckCount(*count, who + " SLURM_ARRAY_TASK_COUNT");
    if (const auto max = number("SLURM_ARRAY_TASK_MAX"); max && *max - *min + 1 != *count) {
      throw InputError(who + ": the array " + std::to_string(*min) + "-" + std::to_string(*max) +
                       " has " + std::to_string(*count) +
                       " tasks, not one per index (use a contiguous --array=0-" +
                       std::to_string(*count - 1) + " without a step)");
    }
    if (shard_count && *shard_count != *count) {
      throw InputError(who + ": --shard-count " + std::to_string(*shard_count) +
                       " disagrees with SLURM_ARRAY_TASK_COUNT=" + std::to_string(*count));
    }
    if (*slurm_id < *min || *slurm_id - *min >= *count) {
      throw InputError(who + ": SLURM_ARRAY_TASK_ID=" + std::to_string(*slurm_id) +
                       " is outside the array " + std::to_string(*min) + ".." +
                       std::to_string(*min + *count - 1));
    }
    shard = {*slurm_id - *min, *count};
  } else if (k8s_index) {
    if (!shard_count) {
      throw InputError(who +
                       ": JOB_COMPLETION_INDEX is set; give the Job's completions as "
                       "--shard-count N");
    }
    if (*k8s_index >= *shard_count) {
      throw InputError(who + ": JOB_COMPLETION_INDEX=" + std::to_string(*k8s_index) +
                       " is outside 0.." + std::to_string(*shard_count - 1) + " (--shard-count " +
                       std::to_string(*shard_count) + ")");
    }
    shard = {*k8s_index, *shard_count};
  } else {
    throw InputError(who +
                     ": neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor "
                     "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard "
                     "I/N");
  }
  return shard;
}

}  // namespace greenlight
