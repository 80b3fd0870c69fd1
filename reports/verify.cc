#include "reports/verify.h"

#include <set>

#include "core/digest.h"
#include "core/json_limits.h"
#include "reports/dsse.h"

namespace greenlight {
namespace {

bool IsSha256Hex(const nlohmann::json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Short(const std::string& sha256) { return sha256.substr(0, 12); }

// nlohmann keeps the last of repeated keys, jq too, other readers the first: a signed statement
// with `"verdict"` twice could show a regulator's tool a different verdict than greenlight's.
// Such payloads are refused. Sets *duplicate to the first repeated key.
nlohmann::json ParseWithoutDuplicateKeys(std::string_view text, std::string* duplicate) {
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Event::key && !open_objects.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second && duplicate->empty()) *duplicate = key;
    }
    return true;
  };
  return nlohmann::json::parse(text, callback);
}

}  // namespace

std::optional<std::string> CheckStatementShape(const nlohmann::json& statement,
                                               std::string_view predicate_type) {
  if (!statement.is_object()) return "the statement is not a JSON object";
  if (!statement.contains("_type") || statement["_type"] != kInTotoStatementType) {
    return "the statement's _type is not " + std::string(kInTotoStatementType);
  }
  if (!statement.contains("subject") || !statement["subject"].is_array() ||
      statement["subject"].empty()) {
    return "the statement has no subject";
  }
  for (size_t i = 0; i < statement["subject"].size(); ++i) {
    const auto& s = statement["subject"][i];
    const std::string where = "subject[" + std::to_string(i) + "]";
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string())
      return where + " has no name";
    if (!s.contains("digest") || !s["digest"].is_object() || !s["digest"].contains("sha256") ||
        !IsSha256Hex(s["digest"]["sha256"])) {
      return where + " has no lowercase hex sha256 digest";
    }
  }
  if (!statement.contains("predicateType") || !statement["predicateType"].is_string()) {
    return "the statement has no predicateType";
  }
  if (!predicate_type.empty() && statement["predicateType"] != predicate_type) {
    return "predicateType is " + statement["predicateType"].get<std::string>() + ", expected " +
           std::string(predicate_type);
  }
  if (!statement.contains("predicate") || !statement["predicate"].is_object()) {
    return "the statement has no predicate object";
  }
  const auto& p = statement["predicate"];
  if (!p.contains("verdict") || !p["verdict"].is_string()) return "the predicate has no verdict";
  if (!p.contains("results") || !p["results"].is_array()) return "the predicate has no results";
  return std::nullopt;
}

ReportVerification VerifySignedReport(std::string_view envelope_text,
                                      const VerifyRequest& request) {
  ReportVerification out;
  auto invalid = [&](std::string reason) {
    out.valid = false;
    out.reason = std::move(reason);
    return out;
  };

  // 1. The signature, over the PAE bytes only.
  std::string error;
  const auto envelope = ParseEnvelope(envelope_text, &error);
  if (!envelope) return invalid(error);
  const EnvelopeVerification sig = VerifyEnvelope(*envelope, request.trusted_keys);
  if (!sig.valid) return invalid(sig.reason);
  out.signature_ok = true;
  out.keyid = sig.keyid;

  // 2. What was signed: an in-toto Statement of the expected predicate type.
  if (envelope->payload_type != kInTotoPayloadType) {
    return invalid("payloadType is '" + envelope->payload_type + "', expected '" +
                   std::string(kInTotoPayloadType) + "'");
  }
  if (auto deep = CheckJsonDepth(envelope->payload)) {
    return invalid("the signed payload is not a greenlight statement: " + *deep);
  }
  try {
    std::string duplicate;
    out.statement = ParseWithoutDuplicateKeys(envelope->payload, &duplicate);
    if (!duplicate.empty()) {
      out.statement = nullptr;
      return invalid("the signed payload repeats the key '" + duplicate +
                     "' in one object: JSON readers disagree on which value counts");
    }
  } catch (const nlohmann::json::parse_error& e) {
    return invalid("the signed payload is not JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::exception& e) {
    return invalid("the signed payload is not valid JSON: " + JsonErrorText(e));
  }
  if (auto bad = CheckStatementShape(out.statement, request.predicate_type)) return invalid(*bad);
  for (const auto& s : out.statement["subject"]) {
    out.subjects.push_back(
        {s["name"].get<std::string>(), s["digest"]["sha256"].get<std::string>()});
  }
  const auto& predicate = out.statement["predicate"];
  out.verdict = predicate["verdict"].get<std::string>();

  // 3. The files the regulator holds must be the ones that were audited.
  for (const auto& model : request.models) {
    ArtifactCheck check{.kind = "model", .path = model, .sha256 = Sha256File(model)};
    for (const auto& s : out.subjects) {
      if (s.sha256 == check.sha256) {
        check.matched = true;
        check.matched_what = "subject " + s.name;
        break;
      }
    }
    out.artifacts.push_back(std::move(check));
  }
  if (request.criteria) {
    ArtifactCheck check{
        .kind = "criteria", .path = *request.criteria, .sha256 = Sha256File(*request.criteria)};
    const auto* c = predicate.contains("criteria") ? &predicate["criteria"] : nullptr;
    if (c != nullptr && c->is_object() && c->contains("sha256") && (*c)["sha256"] == check.sha256) {
      check.matched = true;
      check.matched_what = "predicate.criteria.sha256";
    }
    out.artifacts.push_back(std::move(check));
  }
  for (const auto& dataset : request.datasets) {
    ArtifactCheck check{.kind = "dataset", .path = dataset, .sha256 = Sha256File(dataset)};
    const auto* d = predicate.contains("dataset") ? &predicate["dataset"] : nullptr;
    if (d != nullptr && d->is_object()) {
      if (d->contains("sha256") && (*d)["sha256"] == check.sha256) {
        check.matched = true;
        check.matched_what = "predicate.dataset.sha256";
      } else if (d->contains("files") && (*d)["files"].is_array()) {
        const auto& files = (*d)["files"];
        for (size_t i = 0; i < files.size() && !check.matched; ++i) {
          if (files[i].is_object() && files[i].contains("sha256") &&
              files[i]["sha256"] == check.sha256) {
            check.matched = true;
            check.matched_what = "predicate.dataset.files[" + std::to_string(i) + "]";
          }
        }
      }
    }
    out.artifacts.push_back(std::move(check));
  }
  for (const auto& a : out.artifacts) {
    if (a.matched) continue;
    std::string recorded;
    if (a.kind == "model") {
      for (const auto& s : out.subjects) {
        recorded += (recorded.empty() ? "" : ", ") + s.name + " " + Short(s.sha256);
      }
      return invalid("model " + a.path.string() + " (sha256 " + Short(a.sha256) +
                     ") is not the audited model: it matches no subject of the report (" +
                     recorded + ")");
    }
    return invalid(a.kind + " " + a.path.string() + " (sha256 " + Short(a.sha256) +
                   ") does not match the " + a.kind + " digest recorded in the report");
  }
  out.valid = true;
  return out;
}

}  // namespace greenlight
