// The report model: plain data that renderers and the in-toto statement consume. reports/ depends
// on core only (no auditors, no LibTorch), so a verifier can be built without them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace greenlight {

// Stable URI of greenlight's predicate (documented in README; bumped on breaking changes).
inline constexpr char kPredicateType[] = "https://greenlight.dev/attestation/audit-report/v1";
inline constexpr char kStatementType[] = "https://in-toto.io/Statement/v1";

// An https input pinned by digest (model, dataset files, profiles are listed separately).
struct ReportRemoteInput {
  std::string field, url, sha256;
};

struct ReportFile {
  std::string path;
  std::string sha256;
  std::string role;
};

struct Report {
  struct Tool {
    std::string name = "greenlight";
    std::string version;
    std::string git_revision;
    std::string build_type;
  } tool;
  std::string created_at;
  struct Criteria {
    std::string name, version, path, sha256, description, authority;
    std::vector<ProfileRef> profiles;
    std::vector<ReportRemoteInput> remote_inputs;
  } criteria;
  struct Model {
    std::string path, sha256, format, device;
    int64_t parameters = 0;
    int64_t size_bytes = 0;
    // Language models only: {kind, path, sha256, vocab_size} of the tokenizer, and the context.
    std::optional<nlohmann::json> tokenizer;
    int64_t context_length = 0;
  };
  std::optional<Model> model;  // Absent in black-box mode (recorded predictions).
  // The reference model the model was compared with (a second subject); absent when none was.
  std::optional<Model> reference;
  // The surrogate model a transfer attack was crafted on (a third subject); absent when none was.
  std::optional<Model> surrogate;
  struct Dataset {
    std::string format, path, sha256;
    int64_t rows = 0;                   // Rows audited.
    std::optional<int64_t> total_rows;  // Rows in the file (absent in reports before 0.2).
    // How the audited rows were chosen (see docs/datasets.md).
    struct Selection {
      std::string method = "all";  // "all" | "first" | "random" | "stratified"
      std::string declared_as;     // "limit" | "sample" | "" (nothing declared: all rows)
      int64_t requested = 0;       // Rows asked for.
      std::optional<uint64_t> seed;
      struct Stratum {
        int64_t label = 0;
        int64_t rows_in_file = 0;
        int64_t rows_drawn = 0;
      };
      std::vector<Stratum> strata;  // "stratified" only.
    };
    std::optional<Selection> selection;  // Absent in reports before 0.2.
    std::vector<ReportFile> files;
  } dataset;
  nlohmann::json environment = nlohmann::json::object();
  uint64_t seed = 0;
  // The generator every seeded draw came from (core/random.h), e.g. "xoshiro256**/splitmix64";
  // empty in reports written before it was recorded.
  std::string seed_generator;
  Status verdict = Status::kError;
  std::vector<CriterionResult> results;
};

// The in-toto Statement v1 for a report: subject = the model file and the reference and surrogate
// models', if any (or, in black-box mode, the dataset files), predicateType = kPredicateType,
// predicate = the report.
nlohmann::json ToStatement(const Report& report);
// Parses a statement back (for show / verify). Throws InputError naming the first bad field.
Report FromStatement(const nlohmann::json& statement);

// How many rows were audited, of how many, and how they were chosen, for every renderer:
// "audited 600 of 10,000 rows: first 600", "audited 600 of 10,000 rows: random 600 (seed 7)".
std::string AuditedRowsText(const Report::Dataset& dataset);

// The exact bytes written to report.json (pretty JSON + newline): what a DSSE envelope signs.
std::string SerializeStatement(const Report& report);

}  // namespace greenlight
