#include "engine/plan.h"

#include <map>

#include "core/error.h"

namespace greenlight {

AuditPlan::AuditPlan(const std::vector<Criterion>& criteria, const AuditorRegistry& registry)
    : item_of_(criteria.size()), instrument_of_(criteria.size()) {
  std::map<std::string, size_t> by_key;
  for (size_t i = 0; i < criteria.size(); ++i) {
    const Criterion& c = criteria[i];
    const Metric* metric = FindFrameworkMetric(registry, c.metric);
    if (metric == nullptr || c.bound == nullptr) continue;
    std::shared_ptr<const Work> work = metric->Needs(*c.bound);
    auto [it, added] = by_key.emplace(work->key(), items_.size());
    if (added) {
      items_.emplace_back();
      items_.back().work = std::move(work);
    }
    Item& item = items_[it->second];
    item.criteria.push_back(i);
    item_of_[i] = it->second;
    if (std::shared_ptr<Instrument> instrument = metric->MakeInstrument(*c.bound)) {
      // Criteria asking for the same instrument on the same run share one.
      std::shared_ptr<Instrument> shared;
      for (const auto& existing : item.instruments) {
        if (existing->key() == instrument->key()) shared = existing;
      }
      if (!shared) {
        item.instruments.push_back(instrument);
        shared = instrument;
      }
      instrument_of_[i] = shared;
    }
  }
}

const AuditPlan::Item* AuditPlan::ItemOf(size_t index) const {
  return item_of_[index] ? &items_[*item_of_[index]] : nullptr;
}

const WorkRecord& AuditPlan::Record(size_t index, AuditContext& context) {
  Item& item = items_[item_of_.at(index).value()];
  if (!item.record && !item.error) {
    std::vector<Instrument*> instruments;
    for (const auto& in : item.instruments) instruments.push_back(in.get());
    try {
      item.record = item.work->Run(context, instruments);
      for (const auto& in : item.instruments) item.readings.push_back(in->Reading());
    } catch (const std::exception& e) {
      item.error = e.what();
    }
  }
  if (item.error) throw RuntimeError(*item.error);
  return *item.record;
}

const WorkRecord* AuditPlan::Reading(size_t index) const {
  const auto& instrument = instrument_of_[index];
  if (!instrument) return nullptr;
  const Item& item = items_[*item_of_[index]];
  for (size_t k = 0; k < item.instruments.size() && k < item.readings.size(); ++k) {
    if (item.instruments[k] == instrument) return item.readings[k].get();
  }
  return nullptr;
}

}  // namespace greenlight
