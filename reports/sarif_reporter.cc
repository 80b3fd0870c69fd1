#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "reports/report_text.h"
#include "reports/reporter.h"

namespace greenlight {
namespace {

const char* Level(Status s) {
  switch (s) {
    case Status::kFail:
    case Status::kError:
      return "error";
    case Status::kWarn:
    case Status::kInconclusive:
      return "warning";
    default:
      return "note";
  }
}

}  // namespace

std::string SarifReporter::DoRender(const Report& report) const {
  nlohmann::json rules = nlohmann::json::array();
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < report.results.size(); ++i) {
    const CriterionResult& r = report.results[i];
    nlohmann::json rule = {
        {"id", r.id},
        {"name", r.metric},
        {"shortDescription", {{"text", r.metric + " " + ThresholdText(r.threshold)}}},
        {"properties", {{"concern", r.concern}, {"severity", r.severity}}}};
    if (!r.reference.empty()) rule["fullDescription"] = {{"text", r.reference}};
    rules.push_back(rule);
    if (r.status == Status::kPass) continue;
    std::string text = r.id + " " + std::string(StatusName(r.status)) + ": " + FigureText(r) +
                       " (" + r.severity + ")";
    const std::optional<SideBySide> side = SideBySideOf(r);
    if (side) text += ". " + SideBySideText(*side);
    if (!r.message.empty()) text += ". " + r.message;
    nlohmann::json physical = {{"artifactLocation", {{"uri", PathUri(CriterionFile(report, r))}}}};
    if (r.line) physical["region"] = {{"startLine", *r.line}};
    nlohmann::json result = {{"ruleId", r.id},
                             {"ruleIndex", i},
                             {"level", Level(r.status)},
                             {"message", {{"text", text}}},
                             {"locations", {{{"physicalLocation", physical}}}},
                             {"properties",
                              {{"status", std::string(StatusName(r.status))},
                               {"metric", r.metric},
                               {"method", r.method}}}};
    if (r.value) result["properties"]["value"] = *r.value;
    if (r.interval) {
      result["properties"]["interval"] = {
          {"low", r.interval->low}, {"high", r.interval->high}, {"level", r.interval->level}};
    }
    if (side) {
      result["properties"]["side_by_side"] = {{"figure", side->figure},
                                              {"unit", side->unit},
                                              {"reference", side->reference},
                                              {"model", side->model},
                                              {"reference_declared", side->reference_declared}};
    }
    results.push_back(result);
  }
  nlohmann::json run_properties = {{"verdict", std::string(StatusName(report.verdict))},
                                   {"criteria", report.criteria.name},
                                   {"criteria_sha256", report.criteria.sha256}};
  if (report.model) run_properties["model_sha256"] = report.model->sha256;
  if (report.reference) run_properties["reference_sha256"] = report.reference->sha256;
  if (report.surrogate) run_properties["surrogate_sha256"] = report.surrogate->sha256;
  if (!signature_.empty()) run_properties["signature"] = signature_;
  const nlohmann::json log = {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       {{{"tool",
          {{"driver",
            {{"name", report.tool.name}, {"version", report.tool.version}, {"rules", rules}}}}},
         {"results", results},
         {"properties", run_properties}}}}};
  return log.dump(2) + "\n";
}

}  // namespace greenlight
