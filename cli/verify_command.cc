// greenlight verify: check a signed report (DSSE envelope) against trusted public keys, the files
// the verifier holds, and optionally by running the audit again.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/cli_common.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/files.h"
#include "reports/report.h"
#include "reports/rerun_compare.h"
#include "reports/verify.h"

namespace greenlight::cli {
namespace {

struct VerifyArgs {
  std::string envelope;
  std::vector<std::string> pubkeys;
  std::vector<std::string> models;
  std::string criteria;
  std::vector<std::string> datasets;
  bool rerun = false;
  int threads = 0;
  double tolerance = kDefaultRerunTolerance;
};

constexpr int kValid = 0;
constexpr int kInvalid = 1;
// The signature, the inputs and every deterministic result check out, but a measured result
// moved beyond --tolerance: the machine or its load changed, which is not evidence of forgery.
// The code of an inconclusive audit, which is what such a re-run is.
constexpr int kDrifted = 2;

int Invalid(const std::string& reason) {
  std::cout << "INVALID: " << reason << "\n";
  return kInvalid;
}

std::string Fmt(const std::optional<double>& v) {
  if (!v) return "-";
  std::ostringstream ss;
  ss << std::setprecision(10) << *v;
  return ss.str();
}

std::string FmtShort(double v) {
  std::ostringstream ss;
  ss << std::setprecision(4) << v;
  return ss.str();
}

std::string FmtDiff(const RerunRow& r) {
  if (!r.recorded || !r.rerun) return "-";
  std::ostringstream ss;
  ss << std::setprecision(3) << std::fabs(*r.recorded - *r.rerun);
  return ss.str();
}

// What the row's figures were judged against.
std::string Compared(const RerunRow& r) {
  if (r.deterministic) return "exact (<= 1e-12)";
  if (!r.interval_low || !r.rerun_low) return "-";
  return "[" + FmtShort(*r.interval_low) + ", " + FmtShort(*r.interval_high) + "] vs [" +
         FmtShort(*r.rerun_low) + ", " + FmtShort(*r.rerun_high) + "]";
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

// Re-runs the audit the verified statement describes and compares result by result. The
// criteria and model used must be byte-identical to the audited ones (checked by digest first).
int Rerun(const ReportVerification& v, const VerifyArgs& args, const GlobalOptions& global) {
  SetRuntimeLogVerbose(global.verbose);
  const nlohmann::json& predicate = v.statement["predicate"];
  Report recorded;
  try {
    recorded = FromStatement(v.statement);
  } catch (const InputError& e) {
    return Invalid(std::string("the signed report cannot be re-run: ") + e.what());
  }

  // The criteria: the one given (already matched against the report), else the recorded path.
  std::filesystem::path criteria_path = args.criteria;
  if (criteria_path.empty()) {
    criteria_path = recorded.criteria.path;
    if (!std::filesystem::exists(criteria_path)) {
      throw InputError("--rerun needs the criteria file: the recorded " + criteria_path.string() +
                       " does not exist here; pass --criteria FILE");
    }
    if (Sha256File(criteria_path) != recorded.criteria.sha256) {
      return Invalid("the criteria file at the recorded path " + criteria_path.string() +
                     " is not the audited one (sha256 differs); pass --criteria FILE");
    }
  }
  // Recorded model paths are relative to the criteria file's folder (older reports: absolute).
  const std::filesystem::path criteria_dir =
      std::filesystem::absolute(criteria_path).lexically_normal().parent_path();
  auto recorded_path = [&](const std::string& path) {
    const std::filesystem::path p(path);
    return p.is_absolute() ? p : (criteria_dir / p).lexically_normal();
  };
  // The model: the first --model (already matched against a subject), else the recorded path.
  // With a reference or surrogate model among the subjects, the --model files are told apart by
  // digest.
  auto given_with_digest = [&](const std::string& sha256) -> std::optional<std::filesystem::path> {
    for (const auto& m : args.models) {
      if (Sha256File(m) == sha256) return std::filesystem::path(m);
    }
    return std::nullopt;
  };
  std::optional<std::filesystem::path> model;
  if (recorded.model && (recorded.reference || recorded.surrogate)) {
    model = given_with_digest(recorded.model->sha256);
  } else if (!args.models.empty()) {
    model = args.models.front();
  }
  if (!model && recorded.model) {
    model = recorded_path(recorded.model->path);
    if (!std::filesystem::exists(*model)) {
      throw InputError("--rerun needs the model file: the recorded " + model->string() +
                       " does not exist here; pass --model FILE");
    }
    if (Sha256File(*model) != recorded.model->sha256) {
      return Invalid("the model file at the recorded path " + model->string() +
                     " is not the audited one (sha256 differs); pass --model FILE");
    }
  }

  // The reference and surrogate models: a --model with its digest, else the recorded path.
  auto other_model = [&](const std::optional<Report::Model>& recorded_model,
                         const std::string& what) -> std::optional<std::filesystem::path> {
    if (!recorded_model) return std::nullopt;
    if (auto given = given_with_digest(recorded_model->sha256)) return given;
    const std::filesystem::path path = recorded_path(recorded_model->path);
    if (!std::filesystem::exists(path)) {
      throw InputError("--rerun needs the " + what + " model file: the recorded " + path.string() +
                       " does not exist here; pass --model FILE");
    }
    return path;
  };
  // A recorded path whose file is not the audited one.
  auto differs = [](const std::optional<std::filesystem::path>& path,
                    const std::optional<Report::Model>& recorded_model) {
    return path && Sha256File(*path) != recorded_model->sha256;
  };
  const std::optional<std::filesystem::path> reference =
      other_model(recorded.reference, "reference");
  if (differs(reference, recorded.reference)) {
    return Invalid("the reference model file at the recorded path " + reference->string() +
                   " is not the audited one (sha256 differs); pass --model FILE");
  }
  const std::optional<std::filesystem::path> surrogate =
      other_model(recorded.surrogate, "surrogate");
  if (differs(surrogate, recorded.surrogate)) {
    return Invalid("the surrogate model file at the recorded path " + surrogate->string() +
                   " is not the audited one (sha256 differs); pass --model FILE");
  }

  AuditorRegistry registry;
  RegisterBuiltinAuditors(registry);
  const CriteriaFile criteria =
      LoadCriteria(criteria_path, registry, model, BuiltinModelRegistry(), reference, surrogate);
  TerminalProgress progress(!global.quiet && isatty(STDERR_FILENO) == 1);
  AuditOptions options;
  options.progress = &progress;
  // Same intra-op thread count as the audit, so floating-point reductions run in the same order.
  const auto& environment = predicate.contains("environment") ? predicate["environment"] : nullptr;
  const int recorded_threads = environment.is_object() && environment.contains("threads") &&
                                       environment["threads"].is_number_integer()
                                   ? environment["threads"].get<int>()
                                   : 0;
  if (args.threads > 0) {
    options.threads = args.threads;
  } else if (recorded_threads > 0) {
    options.threads = recorded_threads;
  }
  std::cout << "\nre-running " << criteria.path.string() << " (" << recorded.results.size()
            << " criteria) ...\n";
  AuditOutcome outcome = RunAudit(criteria, registry, options);
  progress.Clear();
  const Report again = BuildReport(criteria, std::move(outcome));
  const nlohmann::json again_statement = ToStatement(again);

  bool inputs_ok = true;
  // The data the criteria point at must be the audited data.
  if (again.dataset.files.size() != recorded.dataset.files.size()) {
    std::cout << "dataset: " << again.dataset.files.size() << " file(s) now, "
              << recorded.dataset.files.size() << " recorded\n";
    inputs_ok = false;
  } else {
    for (size_t i = 0; i < again.dataset.files.size(); ++i) {
      const bool same = again.dataset.files[i].sha256 == recorded.dataset.files[i].sha256;
      std::cout << "dataset: " << again.dataset.files[i].path << "  "
                << (same ? "sha256 matches the report" : "sha256 DIFFERS from the report") << "\n";
      inputs_ok &= same;
    }
  }
  if (again.dataset.rows != recorded.dataset.rows) {
    std::cout << "dataset: " << again.dataset.rows << " rows now, " << recorded.dataset.rows
              << " recorded\n";
    inputs_ok = false;
  }
  // The same number of rows chosen another way (another seed or method) is other data.
  if (recorded.dataset.selection &&
      AuditedRowsText(again.dataset) != AuditedRowsText(recorded.dataset)) {
    std::cout << "dataset: " << AuditedRowsText(again.dataset) << " now, "
              << AuditedRowsText(recorded.dataset) << " recorded\n";
    inputs_ok = false;
  }
  if (again.seed != recorded.seed) {
    std::cout << "seed: " << again.seed << " now, " << recorded.seed << " recorded\n";
    inputs_ok = false;
  }

  const auto rows =
      CompareResults(predicate["results"], again_statement["predicate"]["results"], args.tolerance);
  std::vector<std::vector<std::string>> table = {
      {"ID", "METRIC", "KIND", "RECORDED", "RE-RUN", "|DIFF|", "COMPARED", "RESULT", "NOTE"}};
  for (const auto& r : rows) {
    const char* kind = r.deterministic ? "exact" : (r.estimated ? "estimated" : "measured");
    table.push_back({r.id, r.metric, kind, Fmt(r.recorded), Fmt(r.rerun), FmtDiff(r), Compared(r),
                     RerunOutcomeName(r.outcome), r.note});
  }
  std::cout << "\n";
  PrintTable(table);

  // The environments side by side: what may explain a measured figure's move.
  std::vector<std::vector<std::string>> env = {{"ENVIRONMENT", "RECORDED", "RE-RUN", ""}};
  for (const auto& e : CompareEnvironments(predicate, again_statement["predicate"])) {
    env.push_back({e.field, e.recorded, e.rerun, e.differs ? "differs" : ""});
  }
  std::cout << "\n";
  PrintTable(env);
  std::cout << "\n";
  if (!inputs_ok) return Invalid("the re-run did not use the audited inputs (see above)");
  const RerunSummary sum = Summarize(rows);
  if (sum.invalid > 0) {
    return Invalid("re-run: " + std::to_string(sum.invalid) + " of " + std::to_string(rows.size()) +
                   " results not reproduced (a deterministic figure differs, or a criterion is "
                   "missing, added or renamed)");
  }
  std::ostringstream tol;
  tol << args.tolerance * 100.0 << "%";
  if (sum.drifted > 0) {
    std::cout << "DRIFTED: " << sum.drifted << " of " << (sum.consistent + sum.drifted)
              << " measured results moved beyond the tolerance (" << tol.str() << "); all "
              << sum.match
              << " deterministic results match. The measurements differ, which the environment "
                 "above may explain; it is not evidence of a forged report.\n";
    return kDrifted;
  }
  std::cout << "re-run: " << sum.match << " deterministic results match; " << sum.consistent
            << " measured results CONSISTENT (tolerance " << tol.str() << ")\n";
  return kValid;
}

int RunVerify(const VerifyArgs& args, const GlobalOptions& global) {
  // Bad input (exit 3) is everything the verifier supplies that cannot be read: keys, files.
  VerifyRequest request{.predicate_type = kPredicateType};
  for (const auto& pub : args.pubkeys)
    request.trusted_keys.push_back(Ed25519PublicKey::FromPemFile(pub));
  for (const auto& m : args.models) request.models.emplace_back(m);
  if (!args.criteria.empty()) request.criteria = args.criteria;
  for (const auto& d : args.datasets) request.datasets.emplace_back(d);
  const std::string envelope = ReadFile(args.envelope, kMaxReportBytes, "envelope file");

  const ReportVerification v = VerifySignedReport(envelope, request);
  std::cout << "envelope:  " << args.envelope << "\n";
  if (!v.signature_ok) return Invalid(v.reason);
  std::cout << "signature: valid, Ed25519, keyid " << v.keyid << "\n";
  if (!v.valid && v.statement.is_null()) return Invalid(v.reason);
  for (const auto& s : v.subjects)
    std::cout << "subject:   " << s.name << "  sha256:" << s.sha256 << "\n";
  for (const auto& a : v.artifacts) {
    std::cout << "file:      " << a.kind << " " << a.path.string()
              << "  sha256:" << a.sha256.substr(0, 16) << "…  "
              << (a.matched ? "matches " + a.matched_what : "MATCHES NOTHING IN THE REPORT")
              << "\n";
  }
  if (!v.valid) return Invalid(v.reason);
  const nlohmann::json& p = v.statement["predicate"];
  const nlohmann::json criteria = p.value("criteria", nlohmann::json::object());
  std::cout << "criteria:  " << criteria.value("name", "?") << " " << criteria.value("version", "?")
            << " (sha256:" << criteria.value("sha256", "?").substr(0, 16) << "…)\n"
            << "created:   " << p.value("created_at", "?") << "\n"
            << "verdict:   " << v.verdict << " (" << p["results"].size() << " results)\n";
  if (args.models.empty() && !args.rerun) {
    std::cout << "note:      no --model given: the signature is checked, not that you hold the "
                 "audited model\n";
  }
  if (args.rerun) {
    const int rc = Rerun(v, args, global);
    if (rc != kValid) return rc;
  }
  std::cout << "verified\n";
  return kValid;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Verify a signed report (DSSE envelope): the signature against the trusted keys (before\n"
      "reading the payload), the in-toto statement, and that the given model, criteria and\n"
      "dataset files are the audited ones. --rerun runs the audit again and compares every "
      "result:\n"
      "deterministic ones exactly, measured ones (timing, energy) as two measurements whose\n"
      "intervals must agree within --tolerance (CONSISTENT) or not (DRIFTED).\n"
      "Exit: 0 valid (re-run: every measured result CONSISTENT), 1 invalid (signature, digest\n"
      "or deterministic mismatch; the reason is printed), 2 re-run DRIFTED (valid report,\n"
      "measurements moved), 3 bad input, 4 runtime error.");
  cmd->add_option("envelope", args->envelope, "report.dsse.json")->required();
  cmd->add_option("-k,--pubkey", args->pubkeys, "trusted public key (PEM); repeat for several")
      ->required();
  cmd->add_option("-m,--model", args->models, "model file that must match a subject (repeatable)");
  cmd->add_option("-c,--criteria", args->criteria, "criteria file that must match the report");
  cmd->add_option("-d,--dataset", args->datasets,
                  "dataset file that must match the report (repeatable)");
  cmd->add_flag("--rerun", args->rerun,
                "run the audit again (criteria, model, dataset) and compare result by result");
  cmd->add_option("--threads", args->threads, "intra-op threads for --rerun (default: as recorded)")
      ->check(CLI::Range(1, kMaxThreads));
  cmd->add_option(
         "--tolerance", args->tolerance,
         "--rerun: largest gap between a measured result's recorded and re-run intervals,\n"
         "as a fraction of the value (default 0.10; 0 = the intervals must overlap)")
      ->check(CLI::Range(0.0, 10.0));
  cmd->callback([args, &global, exit_code] {
    *exit_code = RunGuarded([&] { return RunVerify(*args, global); });
  });
}

}  // namespace greenlight::cli
