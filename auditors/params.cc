#include "auditors/params.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace greenlight {

std::string CanonicalText(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      // nlohmann::json keeps object keys sorted, so iteration order is canonical.
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        out += (first ? "" : ",") + nlohmann::json(k).dump() + ":" + CanonicalText(v);
        first = false;
      }
      return out + "}";
    }
    case nlohmann::json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) out += (i ? "," : "") + CanonicalText(value[i]);
      return out + "]";
    }
    case nlohmann::json::value_t::number_float: {
      // %.17g round-trips every double exactly; thresholds differing in the 17th digit differ.
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", value.get<double>());
      return std::string("d:") + buf;
    }
    default:
      return value.dump();
  }
}

namespace param_detail {

namespace {
std::string Number(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}
}  // namespace

void CheckDomain(const std::string& name, const nlohmann::json& v, const ParamDomain& domain) {
  if (v.is_number()) {
    const double x = v.get<double>();
    if (!std::isfinite(x)) throw ParamError(name, "must be a finite number");
    if (domain.min && x < *domain.min) {
      throw ParamError(name, "must be at least " + Number(*domain.min) + ", got " + v.dump());
    }
    if (domain.max && x > *domain.max) {
      throw ParamError(name, "must be at most " + Number(*domain.max) + ", got " + v.dump());
    }
  }
  if (v.is_string() && !domain.choices.empty()) {
    const std::string s = v.get<std::string>();
    if (std::find(domain.choices.begin(), domain.choices.end(), s) == domain.choices.end()) {
      std::string allowed;
      for (const auto& c : domain.choices) allowed += (allowed.empty() ? "" : ", ") + c;
      throw ParamError(name, "'" + s + "' is not one of: " + allowed);
    }
  }
}

}  // namespace param_detail
}  // namespace greenlight
