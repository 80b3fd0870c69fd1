#include "auditors/energy/grid_intensity_source.h"

#include <cctype>
#include <cmath>

#include "core/error.h"
#include "core/files.h"
#include "net/http_client.h"

namespace greenlight::energy {
namespace {

double Figure(const nlohmann::json& v, const char* what) {
  if (!v.is_number()) throw InputError(std::string(what) + " is not a number");
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < 0.0) throw InputError(std::string(what) + " is not >= 0");
  return x;
}

std::string QueryEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

LiveGridSpec ParseLiveGridSpec(const nlohmann::json& p) {
  if (!p.is_object())
    throw InputError("grid_intensity: expected {url, zone, token_file, require_live}");
  LiveGridSpec s;
  for (const auto& [k, v] : p.items()) {
    if (k == "url" && v.is_string()) {
      s.url = v.get<std::string>();
    } else if (k == "zone" && v.is_string()) {
      s.zone = v.get<std::string>();
    } else if (k == "token_file" && v.is_string()) {
      s.token_file = v.get<std::string>();
    } else if (k == "require_live" && v.is_boolean()) {
      s.require_live = v.get<bool>();
    } else {
      throw InputError("grid_intensity." + k +
                       ": unknown key or wrong type (url, zone, token_file: strings; "
                       "require_live: boolean)");
    }
  }
  if (!net::IsHttpsUrl(s.url)) throw InputError("grid_intensity.url: expected an https:// URL");
  return s;
}

LiveGridReading ParseGridResponse(const std::string& body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("malformed response: not JSON (") + e.what() + ")");
  }
  LiveGridReading r;
  if (j.is_object() && j.contains("carbonIntensity")) {
    r.shape = "electricity-maps";
    r.figure = "carbonIntensity";
    r.g_per_kwh = Figure(j["carbonIntensity"], "carbonIntensity");
    r.zone = j.value("zone", "");
    r.timestamp =
        j.contains("datetime") && j["datetime"].is_string() ? j["datetime"].get<std::string>() : "";
  } else if (j.is_object() && j.contains("data") && j["data"].is_array() && !j["data"].empty() &&
             j["data"][0].is_object() && j["data"][0].contains("intensity")) {
    const auto& d = j["data"][0];
    const auto& i = d["intensity"];
    r.shape = "carbon-intensity-gb";
    if (i.is_object() && i.contains("actual") && !i["actual"].is_null()) {
      r.figure = "actual";
      r.g_per_kwh = Figure(i["actual"], "data[0].intensity.actual");
    } else if (i.is_object() && i.contains("forecast")) {
      r.figure = "forecast";
      r.g_per_kwh = Figure(i["forecast"], "data[0].intensity.forecast");
    } else {
      throw InputError("malformed response: data[0].intensity has neither actual nor forecast");
    }
    r.timestamp = d.contains("from") && d["from"].is_string() ? d["from"].get<std::string>() : "";
  } else {
    throw InputError(
        "malformed response: expected {carbonIntensity, datetime} or "
        "{data: [{from, intensity: {actual|forecast}}]}");
  }
  if (r.timestamp.empty()) throw InputError("malformed response: no timestamp");
  return r;
}

LiveGridReading FetchLiveGridIntensity(const LiveGridSpec& spec) {
  net::HttpRequest req;
  req.url = spec.url;
  if (!spec.zone.empty()) {
    req.url += (spec.url.find('?') == std::string::npos ? "?" : "&") + std::string("zone=") +
               QueryEscape(spec.zone);
  }
  req.headers = {"Accept: application/json"};
  if (!spec.token_file.empty()) {
    std::string token = ReadFile(spec.token_file);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    req.headers.push_back("auth-token: " + token);
  }
  const net::HttpResponse resp = net::Send(req, net::HttpOptions::FromEnvironment());
  if (resp.status != 200) {
    throw RuntimeError(req.url + ": HTTP " + std::to_string(resp.status));
  }
  LiveGridReading r = ParseGridResponse(resp.body);
  if (r.zone.empty()) r.zone = spec.zone;
  return r;
}

}  // namespace greenlight::energy
