// Verifying a signed greenlight report (a DSSE envelope around an in-toto Statement), in the order
// a regulator needs: signature first, then the payload's type and shape, then the files the
// statement names. Pure data in, data out; the CLI prints and maps to exit codes.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reports/ed25519.h"

namespace greenlight {

inline constexpr std::string_view kInTotoStatementType = "https://in-toto.io/Statement/v1";

struct VerifyRequest {
  std::vector<Ed25519PublicKey> trusted_keys;
  // The statement's predicateType must equal this (empty: any predicate type is accepted).
  std::string predicate_type;
  std::vector<std::filesystem::path> models;      // Each must match a subject's sha256.
  std::optional<std::filesystem::path> criteria;  // Must match predicate.criteria.sha256.
  // Each must match predicate.dataset.sha256 or the sha256 of an entry of predicate.dataset.files.
  std::vector<std::filesystem::path> datasets;
};

struct ArtifactCheck {
  std::string kind;  // "model", "criteria", "dataset"
  std::filesystem::path path;
  std::string sha256;  // Of the file on disk.
  bool matched = false;
  std::string matched_what;  // The subject name or predicate field it matched.
};

struct Subject {
  std::string name;
  std::string sha256;
};

struct ReportVerification {
  bool valid = false;
  std::string reason;  // The first reason it is not valid.
  bool signature_ok = false;
  std::string keyid;  // Trusted key that verified the signature.
  // Filled only once the signature verified: nothing unsigned is interpreted.
  nlohmann::json statement;
  std::vector<Subject> subjects;
  std::string verdict;
  std::vector<ArtifactCheck> artifacts;
};

// The whole check. Throws InputError only for files that cannot be read (a --model, --criteria
// or --dataset path); everything wrong with the envelope itself is an invalid result.
ReportVerification VerifySignedReport(std::string_view envelope_text, const VerifyRequest& request);

// Step 2 alone, for a payload whose signature has been checked: the in-toto Statement v1 shape
// greenlight writes. Returns the reason it is malformed, or nullopt when it is fine.
std::optional<std::string> CheckStatementShape(const nlohmann::json& statement,
                                               std::string_view predicate_type);

}  // namespace greenlight
