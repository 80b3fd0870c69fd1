// Typed metric parameters, described once and bound when criteria load.
//
// A metric declares a plain struct whose default member initialisers are the defaults, and a
// ParamSchema that names each field with its description and domain:
//
//   struct TopKParams { int64_t k = 5; };
//   ParamSchema<TopKParams>().Field("k", &TopKParams::k, "how many top classes count", AtLeast(1));
//
// Binding (ParamSchema::Bind) turns the criterion's `params` mapping into the struct: unknown
// names, wrong types, values outside the domain and missing required fields throw ParamError
// naming the field, which the criteria loader turns into "file:line:col: criteria.N.params.x:
// problem". The same field descriptions produce the catalog (`greenlight metrics`), so the
// documentation, the defaults and the checks cannot drift apart.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "auditors/auditor.h"  // ParamType, ParamSpec: the catalog's view of a parameter.

namespace greenlight {

// The domain of one field: inclusive bounds for numbers, allowed values for strings. Build it with
// the helpers below: AtLeast(1), Between(0, 1), OneOf({"macro", "micro"}), Required().
struct ParamDomain {
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string> choices;
  bool required = false;
  // A string naming a file: the criteria loader resolves a relative path against the criteria
  // file's folder before binding (the report keeps the path as written).
  bool file = false;
};
inline ParamDomain AtLeast(double min) {
  ParamDomain d;
  d.min = min;
  return d;
}
inline ParamDomain Between(double min, double max) {
  ParamDomain d;
  d.min = min;
  d.max = max;
  return d;
}
inline ParamDomain OneOf(std::vector<std::string> choices) {
  ParamDomain d;
  d.choices = std::move(choices);
  return d;
}
inline ParamDomain Required(ParamDomain d = {}) {
  d.required = true;
  return d;
}
inline ParamDomain File(ParamDomain d = {}) {
  d.file = true;
  return d;
}

// A binding error: `field` is the parameter's name (empty for the params mapping as a whole).
class ParamError : public std::runtime_error {
 public:
  ParamError(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// Exact, canonical text of a JSON value: object keys sorted, integers in decimal, doubles with
// %.17g (which round-trips every double), strings JSON-escaped. Equal keys mean equal values.
std::string CanonicalText(const nlohmann::json& value);

// A parameter given as one string or a list of strings (`sensitive: race` or `[race, sex]`). Bound
// as the list; `single` remembers that one string was written, so the report shows it as written.
struct StringOrList {
  std::vector<std::string> values;
  bool single = false;
  bool operator==(const StringOrList&) const = default;
};
inline void to_json(nlohmann::json& j, const StringOrList& v) {
  j = v.single && v.values.size() == 1 ? nlohmann::json(v.values.front())
                                       : nlohmann::json(v.values);
}

// The bound parameters of one criterion, type-erased so they travel on the Criterion. Immutable.
class BoundParams {
 public:
  virtual ~BoundParams() = default;
  // Every field, defaults applied, as JSON (what the report shows under `params`).
  const nlohmann::json& values() const { return values_; }
  // CanonicalText(values()): the exact cache key of these values.
  const std::string& key() const { return key_; }

 protected:
  void SetValues(nlohmann::json values) {
    values_ = std::move(values);
    key_ = CanonicalText(values_);
  }

 private:
  nlohmann::json values_;
  std::string key_;
};

// The bound struct. Metrics read `value` directly (no name lookups, no fallbacks).
template <typename P>
class Bound final : public BoundParams {
 public:
  Bound(P v, nlohmann::json values) : value(std::move(v)) { SetValues(std::move(values)); }
  const P value;
};

namespace param_detail {

// How one C++ field type maps to a parameter type, JSON and back.
template <typename T>
struct Traits;

template <>
struct Traits<int64_t> {
  static constexpr ParamType kType = ParamType::kInteger;
  static bool Accepts(const nlohmann::json& v) { return v.is_number_integer(); }
  static int64_t From(const nlohmann::json& v) { return v.get<int64_t>(); }
};
template <>
struct Traits<double> {
  static constexpr ParamType kType = ParamType::kNumber;
  static bool Accepts(const nlohmann::json& v) { return v.is_number(); }
  static double From(const nlohmann::json& v) { return v.get<double>(); }
};
template <>
struct Traits<bool> {
  static constexpr ParamType kType = ParamType::kBool;
  static bool Accepts(const nlohmann::json& v) { return v.is_boolean(); }
  static bool From(const nlohmann::json& v) { return v.get<bool>(); }
};
template <>
struct Traits<std::string> {
  static constexpr ParamType kType = ParamType::kString;
  static bool Accepts(const nlohmann::json& v) { return v.is_string(); }
  static std::string From(const nlohmann::json& v) { return v.get<std::string>(); }
};
// A mapping of its own (e.g. a sweep {batch_sizes: [..], threads: [..]}): the metric checks its
// keys with ParamSchema::Check.
template <>
struct Traits<nlohmann::json> {
  static constexpr ParamType kType = ParamType::kObject;
  static bool Accepts(const nlohmann::json& v) { return v.is_object(); }
  static nlohmann::json From(const nlohmann::json& v) { return v; }
};
template <typename E>
struct Traits<std::vector<E>> {
  static constexpr ParamType kType = std::is_same_v<E, std::string> ? ParamType::kStringList
                                     : std::is_same_v<E, int64_t>   ? ParamType::kIntegerList
                                                                    : ParamType::kNumberList;
  static bool Accepts(const nlohmann::json& v) {
    if (!v.is_array()) return false;
    for (const auto& e : v) {
      if (!Traits<E>::Accepts(e)) return false;
    }
    return true;
  }
  static std::vector<E> From(const nlohmann::json& v) { return v.get<std::vector<E>>(); }
};

template <>
struct Traits<StringOrList> {
  static constexpr ParamType kType = ParamType::kStringOrList;
  static bool Accepts(const nlohmann::json& v) {
    return v.is_string() || Traits<std::vector<std::string>>::Accepts(v);
  }
  static StringOrList From(const nlohmann::json& v) {
    if (v.is_string()) return {{v.get<std::string>()}, true};
    return {v.get<std::vector<std::string>>(), false};
  }
};

// Checks one scalar against the domain; throws ParamError.
void CheckDomain(const std::string& name, const nlohmann::json& v, const ParamDomain& domain);

}  // namespace param_detail

// The typed description of a parameter struct P (default-constructible; its default member
// initialisers are the defaults). Fields are bound in declaration order.
template <typename P>
class ParamSchema {
 public:
  // T: int64_t, double, bool, std::string, a std::vector of those, StringOrList, nlohmann::json (a
  // mapping), or std::optional of one of those (absent unless given; with domain.required it must
  // be given).
  template <typename T>
  ParamSchema& Field(std::string name, T P::*member, std::string description,
                     ParamDomain domain = {}) {
    Entry e;
    using V = typename Unwrap<T>::type;
    e.spec.name = name;
    e.spec.type = param_detail::Traits<V>::kType;
    e.spec.description = std::move(description);
    e.spec.required = domain.required;
    e.spec.choices = domain.choices;
    e.domain = domain;
    e.spec.default_value = ToJson(P{}.*member);
    e.set = [member, name, domain](P& p, const nlohmann::json& v) {
      if (!param_detail::Traits<V>::Accepts(v)) {
        throw ParamError(name, "expected " +
                                   std::string(ParamTypeName(param_detail::Traits<V>::kType)) +
                                   ", got " + std::string(v.type_name()) + " " + v.dump());
      }
      if (v.is_array()) {
        for (const auto& x : v) param_detail::CheckDomain(name, x, domain);
      } else {
        param_detail::CheckDomain(name, v, domain);
      }
      p.*member = param_detail::Traits<V>::From(v);
    };
    e.get = [member](const P& p) { return ToJson(p.*member); };
    entries_.push_back(std::move(e));
    return *this;
  }

  // A rule over the bound struct that no single field's domain states (one field that depends on
  // another, the keys of a mapping). Runs after every field is bound, in the order added; throws
  // ParamError naming the field.
  ParamSchema& Check(std::function<void(const P&)> check) {
    checks_.push_back(std::move(check));
    return *this;
  }

  std::vector<ParamSpec> Specs() const {
    std::vector<ParamSpec> out;
    for (const auto& e : entries_) out.push_back(e.spec);
    return out;
  }
  // Each field's domain, by name (the catalog shows the bounds).
  std::map<std::string, ParamDomain> Domains() const {
    std::map<std::string, ParamDomain> out;
    for (const auto& e : entries_) out[e.spec.name] = e.domain;
    return out;
  }

  // Binds a criterion's params mapping (null or an object). Throws ParamError.
  std::shared_ptr<const Bound<P>> Bind(const nlohmann::json& params) const {
    if (!params.is_null() && !params.is_object()) throw ParamError("", "params must be a mapping");
    P p{};
    const nlohmann::json given = params.is_null() ? nlohmann::json::object() : params;
    for (const auto& [name, value] : given.items()) {
      const Entry* e = Find(name);
      if (e == nullptr) {
        std::string known;
        for (const auto& x : entries_) known += (known.empty() ? "" : ", ") + x.spec.name;
        throw ParamError(name,
                         "unknown parameter (known: " + (known.empty() ? "none" : known) + ")");
      }
      e->set(p, value);
    }
    nlohmann::json values = nlohmann::json::object();
    for (const auto& e : entries_) {
      if (e.spec.required && !given.contains(e.spec.name)) {
        throw ParamError("", "needs parameter '" + e.spec.name + "'");
      }
      values[e.spec.name] = e.get(p);
    }
    for (const auto& check : checks_) check(p);
    return std::make_shared<const Bound<P>>(std::move(p), std::move(values));
  }

 private:
  template <typename T>
  struct Unwrap {
    using type = T;
  };
  template <typename T>
  struct Unwrap<std::optional<T>> {
    using type = T;
  };
  template <typename T>
  static nlohmann::json ToJson(const T& v) {
    return nlohmann::json(v);
  }
  template <typename T>
  static nlohmann::json ToJson(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  }

  struct Entry {
    ParamSpec spec;
    ParamDomain domain;
    std::function<void(P&, const nlohmann::json&)> set;
    std::function<nlohmann::json(const P&)> get;
  };
  const Entry* Find(const std::string& name) const {
    for (const auto& e : entries_) {
      if (e.spec.name == name) return &e;
    }
    return nullptr;
  }
  std::vector<Entry> entries_;
  std::vector<std::function<void(const P&)>> checks_;
};

}  // namespace greenlight
