#include "reports/report_diff.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "reports/report_text.h"

namespace greenlight {
namespace {

std::string ChangeText(const ResultChange& c) {
  switch (c.kind) {
    case ResultChange::Kind::kAdded:
      return "added";
    case ResultChange::Kind::kRemoved:
      return "removed";
    case ResultChange::Kind::kMatched:
      break;
  }
  std::vector<std::string> parts;
  if (c.worse) parts.push_back("**worse**");
  if (c.better) parts.push_back("better");
  if (c.beyond_intervals) parts.push_back("changed beyond the intervals");
  if (c.before->metric != c.after->metric) parts.push_back("metric changed");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// Worse changes first, then changes beyond the intervals, then the rest; stable.
int Order(const ResultChange& c) {
  if (c.worse) return 0;
  if (c.beyond_intervals) return 1;
  if (c.kind != ResultChange::Kind::kMatched) return 2;
  return 3;
}

nlohmann::json Side(const std::optional<CriterionResult>& r) {
  if (!r) return nullptr;
  nlohmann::json j = {{"metric", r->metric},
                      {"status", std::string(StatusName(r->status))},
                      {"value", r->value ? nlohmann::json(*r->value) : nlohmann::json(nullptr)},
                      {"unit", r->unit},
                      {"interval", nullptr}};
  if (r->interval) {
    j["interval"] = {
        {"low", r->interval->low}, {"high", r->interval->high}, {"level", r->interval->level}};
  }
  return j;
}

}  // namespace

bool ReportDiff::VerdictWorse() const {
  return StatusRank(verdict_after) > StatusRank(verdict_before);
}

bool ReportDiff::AnyWorse() const {
  return VerdictWorse() ||
         std::any_of(changes.begin(), changes.end(), [](const ResultChange& c) { return c.worse; });
}

ReportDiff DiffReports(const Report& before, const Report& after) {
  ReportDiff diff;
  diff.verdict_before = before.verdict;
  diff.verdict_after = after.verdict;
  std::map<std::string, const CriterionResult*> new_by_id;
  for (const auto& r : after.results) new_by_id.emplace(r.id, &r);
  std::map<std::string, bool> seen;
  for (const auto& b : before.results) {
    ResultChange c;
    c.id = b.id;
    c.before = b;
    seen[b.id] = true;
    const auto it = new_by_id.find(b.id);
    if (it == new_by_id.end()) {
      c.kind = ResultChange::Kind::kRemoved;
    } else {
      const CriterionResult& a = *it->second;
      c.after = a;
      c.worse = StatusRank(a.status) > StatusRank(b.status);
      c.better = StatusRank(a.status) < StatusRank(b.status);
      c.beyond_intervals =
          b.interval && a.interval &&
          (b.interval->high < a.interval->low || a.interval->high < b.interval->low);
    }
    diff.changes.push_back(std::move(c));
  }
  for (const auto& a : after.results) {
    if (seen.count(a.id) != 0) continue;
    ResultChange c;
    c.kind = ResultChange::Kind::kAdded;
    c.id = a.id;
    c.after = a;
    diff.changes.push_back(std::move(c));
  }
  return diff;
}

std::string DiffMarkdown(const ReportDiff& diff, const Report& before, const Report& after) {
  int worse = 0, better = 0, beyond = 0, added = 0, removed = 0;
  for (const auto& c : diff.changes) {
    worse += c.worse;
    better += c.better;
    beyond += c.beyond_intervals;
    added += c.kind == ResultChange::Kind::kAdded;
    removed += c.kind == ResultChange::Kind::kRemoved;
  }
  std::ostringstream out;
  out << "## greenlight diff: " << MarkdownCell(before.criteria.name) << " "
      << MarkdownCell(before.criteria.version) << " → " << MarkdownCell(after.criteria.name) << " "
      << MarkdownCell(after.criteria.version) << "\n\n"
      << "**Verdict: " << StatusName(diff.verdict_before) << " → " << StatusName(diff.verdict_after)
      << "**" << (diff.VerdictWorse() ? " (worse)" : "") << "; " << worse << " worse, " << better
      << " better, " << beyond << " changed beyond the intervals, " << added << " added, "
      << removed << " removed\n\n"
      << "| ID | Metric | Old value | New value | Old interval | New interval | Old status | "
         "New status | Change |\n"
      << "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  std::vector<const ResultChange*> rows;
  for (const auto& c : diff.changes) rows.push_back(&c);
  std::stable_sort(rows.begin(), rows.end(), [](const ResultChange* a, const ResultChange* b) {
    return Order(*a) < Order(*b);
  });
  auto cell = [](const std::optional<CriterionResult>& r, auto text) {
    return r ? MarkdownCell(text(*r)) : std::string("-");
  };
  for (const ResultChange* c : rows) {
    const CriterionResult& any = c->after ? *c->after : *c->before;
    const auto value = [](const CriterionResult& r) { return ValueText(r); };
    const auto interval = [](const CriterionResult& r) {
      return IntervalText(r, /*with_method=*/false);
    };
    const auto status = [](const CriterionResult& r) { return std::string(StatusName(r.status)); };
    out << "| " << MarkdownCell(c->id) << " | " << MarkdownCell(any.metric) << " | "
        << cell(c->before, value) << " | " << cell(c->after, value) << " | "
        << cell(c->before, interval) << " | " << cell(c->after, interval) << " | "
        << cell(c->before, status) << " | " << cell(c->after, status) << " | " << ChangeText(*c)
        << " |\n";
  }
  return out.str();
}

nlohmann::json DiffJson(const ReportDiff& diff, const Report& before, const Report& after) {
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : diff.changes) {
    const char* kind = c.kind == ResultChange::Kind::kAdded     ? "added"
                       : c.kind == ResultChange::Kind::kRemoved ? "removed"
                                                                : "matched";
    changes.push_back({{"id", c.id},
                       {"kind", kind},
                       {"old", Side(c.before)},
                       {"new", Side(c.after)},
                       {"status_change", c.worse    ? "worse"
                                         : c.better ? "better"
                                                    : "same"},
                       {"beyond_intervals", c.beyond_intervals}});
  }
  auto report = [](const Report& r, Status verdict) {
    return nlohmann::json{{"criteria", r.criteria.name},
                          {"criteria_version", r.criteria.version},
                          {"created_at", r.created_at},
                          {"verdict", std::string(StatusName(verdict))}};
  };
  return {{"old", report(before, diff.verdict_before)},
          {"new", report(after, diff.verdict_after)},
          {"verdict_worse", diff.VerdictWorse()},
          {"worse", diff.AnyWorse()},
          {"changes", changes}};
}

}  // namespace greenlight
