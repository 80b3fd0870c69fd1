#include "cli/cli_common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/error.h"
#include "core/files.h"
#include "core/json_limits.h"
#include "core/random.h"
#include "greenlight/build_info.h"
#include "reports/dsse.h"

namespace greenlight::cli {

bool UseColor(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return isatty(fd) == 1;
}

void TerminalProgress::Update(std::string_view criterion_id, std::string_view step,
                              double fraction) {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K[%.*s] %.*s %3d%%", static_cast<int>(criterion_id.size()),
               criterion_id.data(), static_cast<int>(step.size()), step.data(),
               static_cast<int>(fraction * 100.0 + 0.5));
  std::fflush(stderr);
  dirty_ = true;
}

void TerminalProgress::Clear() {
  if (enabled_ && dirty_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    dirty_ = false;
  }
}

Report::Dataset DatasetReport(const DatasetInfo& info, const std::filesystem::path& criteria_dir) {
  Report::Dataset d;
  d.format = info.format;
  d.rows = info.rows;
  d.total_rows = info.total_rows;
  Report::Dataset::Selection s;
  const DatasetSelection& from = info.selection;
  s.method = std::string(SampleMethodName(from.method));
  s.declared_as = from.method == SampleMethod::kAll ? "" : from.from_limit ? "limit" : "sample";
  s.requested = from.requested;
  if (from.method == SampleMethod::kRandom || from.method == SampleMethod::kStratified) {
    s.seed = from.seed;
  }
  for (const StratumDraw& st : from.strata) {
    s.strata.push_back({st.label, st.rows_in_file, st.rows_drawn});
  }
  d.selection = s;
  for (const auto& f : info.files) {
    d.files.push_back({PortablePath(f.path, criteria_dir), f.sha256, f.role});
  }
  if (!d.files.empty()) {
    d.path = d.files.front().path;
    d.sha256 = d.files.front().sha256;
  }
  return d;
}

Report BuildReport(const CriteriaFile& criteria, AuditOutcome outcome) {
  Report r;
  r.tool.version = build_info::kVersion;
  r.tool.git_revision = build_info::kGitRevision;
  r.tool.build_type = build_info::kBuildType;
  r.created_at = outcome.finished_at;
  const std::filesystem::path cwd = std::filesystem::current_path();
  const std::filesystem::path criteria_dir =
      std::filesystem::absolute(criteria.path).lexically_normal().parent_path();
  r.criteria = {criteria.metadata.name,           criteria.metadata.version,
                PortablePath(criteria.path, cwd), criteria.sha256,
                criteria.metadata.description,    criteria.metadata.authority};
  r.criteria.profiles = criteria.profiles;
  for (const auto& i : criteria.remote_inputs) {
    r.criteria.remote_inputs.push_back({i.field, i.url, i.sha256});
  }
  auto model_of = [&](const ModelInfo& info) {
    Report::Model m;
    m.path = PortablePath(info.path, criteria_dir);
    m.sha256 = info.sha256;
    m.format = info.format;
    m.device = info.device;
    m.parameters = info.parameters;
    m.size_bytes = info.size_bytes;
    if (info.tokenizer) {
      nlohmann::json tokenizer = TokenizerInfoToJson(*info.tokenizer);
      tokenizer["path"] = info.tokenizer->path.empty()
                              ? std::string()
                              : PortablePath(info.tokenizer->path, criteria_dir);
      m.tokenizer = tokenizer;
      m.context_length = info.context_length;
    }
    return m;
  };
  if (outcome.model) r.model = model_of(*outcome.model);
  if (outcome.reference) r.reference = model_of(*outcome.reference);
  if (outcome.surrogate) r.surrogate = model_of(*outcome.surrogate);
  r.dataset = DatasetReport(outcome.dataset, criteria_dir);
  const EnvironmentInfo& e = outcome.environment;
  r.environment = {{"cpu_model", e.cpu_model},
                   {"logical_cores", e.logical_cores},
                   {"os", e.os},
                   {"hostname", e.hostname},
                   {"libtorch_version", e.libtorch_version},
                   {"device", e.device},
                   {"threads", e.threads},
                   {"compiler", build_info::kCompiler},
                   {"started_at", outcome.started_at},
                   {"finished_at", outcome.finished_at}};
  r.seed = outcome.seed;
  r.seed_generator = std::string(random::kGeneratorName);
  r.verdict = outcome.verdict;
  r.results.reserve(outcome.results.size());
  for (CriterionOutcome& o : outcome.results) {
    CriterionResult& x = r.results.emplace_back(std::move(o.result));
    // A profile's line is in its file, or at its URL when it was fetched.
    if (!x.line_file.empty() && x.line_file.find("://") == std::string::npos) {
      x.line_file = PortablePath(x.line_file, cwd);
    }
  }
  return r;
}

LoadedReport LoadReportFile(const std::string& file, const std::vector<Ed25519PublicKey>& keys) {
  const std::string text = ReadFile(file, kMaxReportBytes, "report file");
  const nlohmann::json doc = ParseJsonDocument(text, file);
  LoadedReport out;
  nlohmann::json statement = doc;
  if (doc.is_object() && doc.contains("payloadType")) {
    out.envelope = true;
    std::string error;
    const auto envelope = ParseEnvelope(text, &error);
    if (!envelope) throw InputError(file + ": " + error);
    std::string claimed;
    for (const auto& s : envelope->signatures) {
      claimed +=
          (claimed.empty() ? "" : ", ") + (s.keyid.empty() ? std::string("(none)") : s.keyid);
    }
    if (keys.empty()) {
      out.signature = "NOT CHECKED (no --pubkey given); claimed keyid " + claimed;
    } else {
      const auto check = VerifyEnvelope(*envelope, keys);
      if (check.valid) {
        out.verified = true;
        out.signature = "verified with key " + check.keyid;
      } else {
        out.invalid = true;
        out.signature = "INVALID: " + check.reason;
      }
    }
    if (envelope->payload_type != kInTotoPayloadType) {
      throw InputError(file + ": payloadType is '" + envelope->payload_type +
                       "', not an in-toto statement");
    }
    statement = ParseJsonDocument(envelope->payload, file + " (payload)");
  }
  out.report = FromStatement(statement);
  return out;
}

int RunGuarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::cerr << "greenlight: " << e.what() << "\n";
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    std::cerr << "greenlight: runtime error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::kRuntimeError);
  }
}

std::filesystem::path ShippedCriteriaDir() {
  if (const char* dir = std::getenv("GREENLIGHT_CRITERIA_DIR"); dir != nullptr && dir[0] != '\0') {
    return dir;
  }
  // An installed binary (<prefix>/bin/greenlight) uses <prefix>/share/greenlight/criteria.
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.parent_path().filename() == std::filesystem::path(GREENLIGHT_INSTALL_BINDIR)) {
    const auto installed =
        exe.parent_path().parent_path() / GREENLIGHT_INSTALL_DATADIR / "greenlight" / "criteria";
    if (std::filesystem::is_directory(installed, ec)) return installed;
  }
  return std::filesystem::path(GREENLIGHT_SOURCE_DIR) / "criteria";
}

}  // namespace greenlight::cli
