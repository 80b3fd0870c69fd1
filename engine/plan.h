// The audit plan: the criteria measured by framework metrics, grouped by the work they need.
// Criteria whose Work has the same key() share one run of it (one outputs pass for every count
// metric; one timed run per distinct run settings; one attack per distinct attack settings), and
// every instrument their metrics ask for is attached to that run. Each work item runs at most once,
// when the first criterion that needs it is measured, and its record is immutable afterwards.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auditors/metric.h"
#include "engine/criteria.h"

namespace greenlight {

class AuditPlan {
 public:
  struct Item {
    std::shared_ptr<const Work> work;
    // One per distinct Instrument::key(), attached when the work runs.
    std::vector<std::shared_ptr<Instrument>> instruments;
    std::vector<size_t> criteria;  // Indices into the criteria list, in file order.
    // After the run: the record, or the error that every criterion of this item reports.
    std::shared_ptr<const WorkRecord> record;
    std::vector<std::shared_ptr<const WorkRecord>> readings;  // Parallel to `instruments`.
    std::optional<std::string> error;
  };

  // Criteria without bound parameters (legacy path) are not planned.
  AuditPlan(const std::vector<Criterion>& criteria, const AuditorRegistry& registry);

  const std::vector<Item>& items() const { return items_; }
  // The item criterion `index` belongs to, or null for a legacy criterion.
  const Item* ItemOf(size_t index) const;

  // The record of criterion `index`'s work, running the work first if it has not run. Throws the
  // work's error (again, for every criterion that shares it).
  const WorkRecord& Record(size_t index, AuditContext& context);
  // The reading of the instrument criterion `index`'s metric attached, or null.
  const WorkRecord* Reading(size_t index) const;

 private:
  std::vector<Item> items_;
  std::vector<std::optional<size_t>> item_of_;              // Per criterion.
  std::vector<std::shared_ptr<Instrument>> instrument_of_;  // Per criterion; may be null.
};

}  // namespace greenlight
