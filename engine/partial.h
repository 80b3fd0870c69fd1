// The partial result of one shard of a sharded audit (DIR/partial.json; its format is
// schemas/partial.schema.json and docs/scale-out.md) and the merge of all shards' partials into
// the outcome a single-process audit of the same criteria would have had.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "auditors/auditor.h"
#include "engine/audit.h"
#include "engine/criteria.h"
#include "engine/shard.h"

namespace greenlight {

inline constexpr int kPartialFormatVersion = 1;
inline constexpr const char* kPartialFormat = "greenlight-partial";
// The DSSE payload type of a signed partial (audit --shard --key writes DIR/partial.dsse.json).
inline constexpr std::string_view kPartialPayloadType = "application/vnd.greenlight.partial+json";

// The partial of a sharded audit (RunAudit with AuditOptions::shard), to be written in the folder
// `partial_dir`: the paths it records (criteria, models, data) are relative to that folder when
// they share one with it below the root, else absolute; merge resolves them against the folder it
// reads the partial from.
nlohmann::json PartialToJson(const CriteriaFile& criteria, const AuditOutcome& outcome,
                             const ShardSpec& shard, int64_t once_on_shard,
                             const std::filesystem::path& partial_dir);

// One partial as read by `greenlight merge`.
struct PartialFile {
  std::filesystem::path path;  // For messages.
  nlohmann::json json;
};

// What every partial of one sharded audit shares, as checked by CheckPartials.
struct PartialSet {
  int64_t count = 0;
  int64_t once_on_shard = 0;
  std::filesystem::path criteria_path;  // As the shards read it, resolved against the partial.
  std::string criteria_sha256;
  std::optional<std::filesystem::path> model_path;      // Absent in black-box mode.
  std::optional<std::filesystem::path> reference_path;  // Absent without a reference model.
  std::optional<std::filesystem::path> surrogate_path;  // Absent without a surrogate model.
  std::vector<const PartialFile*> by_shard;             // Index = shard.
};

// Checks that `partials` are the shards of one audit: the same format, criteria, model(s) and data
// digests, seed and shard count, every shard 0..N-1 present exactly once, and the row ranges the
// shard arithmetic (ShardRows) gives for the total rows. Throws InputError with one line naming
// the partial and what is foreign, missing, repeated or malformed.
PartialSet CheckPartials(const std::vector<PartialFile>& partials);

// Merges the statistics of every criterion in shard order (criteria measured once: the
// designated shard's), finalizes and judges them as RunAudit does. `criteria` must be the file the
// shards audited (its SHA-256 is checked against the partials). Throws InputError when a partial
// does not match the criteria (ids, metrics, parameters).
AuditOutcome MergePartials(const CriteriaFile& criteria, const AuditorRegistry& registry,
                           const PartialSet& set, ProgressSink* progress = nullptr);

}  // namespace greenlight
