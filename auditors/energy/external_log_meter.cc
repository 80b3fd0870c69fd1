#include "auditors/energy/external_log_meter.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "core/error.h"

namespace greenlight::energy {

namespace {

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c) && c != '"'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(Trim(cell));
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::optional<double> ParseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

double UtcSeconds(int year, int month, int day, int hour, int minute, double second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = 0;
  return static_cast<double>(::timegm(&tm)) + second;
}

// PTDaemon's "MM-DD-YYYY HH:MM:SS.fff".
std::optional<double> ParsePtdTime(const std::string& s) {
  static const std::regex kPtd(R"(^(\d{2})-(\d{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)$)");
  std::smatch m;
  if (!std::regex_match(s, m, kPtd)) return std::nullopt;
  return UtcSeconds(std::stoi(m[3]), std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[4]),
                    std::stoi(m[5]), std::stod(m[6]));
}

[[noreturn]] void BadRow(const std::filesystem::path& path, int line, const std::string& what) {
  throw InputError(path.string() + ":" + std::to_string(line) + ": " + what);
}

}  // namespace

std::optional<double> ParseRfc3339(const std::string& text) {
  static const std::regex kTime(
      R"(^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)(Z|z|[+-]\d{2}:\d{2})?$)");
  std::smatch m;
  if (!std::regex_match(text, m, kTime)) return std::nullopt;
  double t = UtcSeconds(std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]),
                        std::stoi(m[5]), std::stod(m[6]));
  const std::string zone = m[7];
  if (!zone.empty() && zone != "Z" && zone != "z") {
    const int sign = zone[0] == '-' ? -1 : 1;
    const int offset_min = std::stoi(zone.substr(1, 2)) * 60 + std::stoi(zone.substr(4, 2));
    t -= sign * offset_min * 60.0;  // Local time = UTC + offset.
  }
  return t;
}

std::vector<PowerSample> ReadPowerLog(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open the power log");
  std::vector<PowerSample> samples;
  std::string line;
  int line_no = 0;
  int time_col = -1, watt_col = -1;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty() || line[0] == '#') continue;
    const auto cells = SplitCsv(line);
    if (cells.size() >= 4 && cells[0] == "Time") {
      // PTDaemon: Time,<stamp>,Watts,<w>,Volts,...
      const auto t = ParsePtdTime(cells[1]);
      if (!t) BadRow(path, line_no, "bad PTDaemon time '" + cells[1] + "'");
      size_t w = 2;
      while (w + 1 < cells.size() && cells[w] != "Watts") w += 2;
      if (w + 1 >= cells.size()) BadRow(path, line_no, "no Watts field");
      const auto watts = ParseNumber(cells[w + 1]);
      if (!watts) BadRow(path, line_no, "bad watt value '" + cells[w + 1] + "'");
      samples.push_back({*t, *watts});
      continue;
    }
    if (!header_seen) {
      for (size_t i = 0; i < cells.size(); ++i) {
        const std::string c = Lower(cells[i]);
        if (c == "timestamp" || c == "time" || c == "unix_s" || c == "time_s") {
          time_col = static_cast<int>(i);
        }
        if (c == "watts" || c == "power_w" || c == "power") watt_col = static_cast<int>(i);
      }
      if (time_col < 0 || watt_col < 0) {
        BadRow(path, line_no,
               "expected a header with a time column (timestamp, time, unix_s, time_s) and a "
               "power column (watts, power_w, power), or PTDaemon 'Time,...,Watts,...' lines");
      }
      header_seen = true;
      continue;
    }
    if (static_cast<int>(cells.size()) <= std::max(time_col, watt_col)) {
      BadRow(path, line_no, "too few columns");
    }
    const std::string& ts = cells[static_cast<size_t>(time_col)];
    auto t = ParseNumber(ts);
    if (!t) t = ParseRfc3339(ts);
    if (!t) BadRow(path, line_no, "bad time '" + ts + "' (Unix seconds or RFC 3339)");
    const auto watts = ParseNumber(cells[static_cast<size_t>(watt_col)]);
    if (!watts || *watts < 0.0) {
      BadRow(path, line_no, "bad watt value '" + cells[static_cast<size_t>(watt_col)] + "'");
    }
    samples.push_back({*t, *watts});
  }
  std::stable_sort(samples.begin(), samples.end(),
                   [](const PowerSample& a, const PowerSample& b) { return a.unix_s < b.unix_s; });
  return samples;
}

WindowIntegral IntegrateWindow(const std::vector<PowerSample>& s, double start_s, double end_s) {
  WindowIntegral out;
  if (s.empty() || end_s < start_s) return out;
  out.covered = s.front().unix_s <= start_s && s.back().unix_s >= end_s;
  for (const PowerSample& p : s) {
    if (p.unix_s >= start_s && p.unix_s <= end_s) ++out.samples_inside;
  }
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const double t0 = s[i].unix_s, t1 = s[i + 1].unix_s;
    if (t1 <= t0) continue;  // Duplicate stamps: no interval.
    const double lo = std::max(start_s, t0), hi = std::min(end_s, t1);
    if (hi <= lo) continue;
    out.max_gap_s = std::max(out.max_gap_s, t1 - t0);
    auto at = [&](double t) {
      return s[i].watts + (s[i + 1].watts - s[i].watts) * (t - t0) / (t1 - t0);
    };
    const double p_lo = at(lo), p_hi = at(hi);
    out.energy_j += 0.5 * (p_lo + p_hi) * (hi - lo);
    out.interpolation_error_j += 0.5 * std::fabs(p_hi - p_lo) * (hi - lo);
  }
  return out;
}

ExternalLogMeter::ExternalLogMeter(ExternalLogOptions options, std::function<double()> unix_clock)
    : options_(std::move(options)), unix_clock_(std::move(unix_clock)) {
  if (options_.min_samples < 2) throw InputError("power_log_min_samples must be at least 2");
  if (options_.meter_accuracy_pct < 0.0) throw InputError("meter_accuracy_pct must be >= 0");
}

std::optional<std::string> ExternalLogMeter::unavailable_reason() const {
  if (options_.log.empty()) return "no power_log given (the external meter needs a log file)";
  return std::nullopt;
}

EnergyMeter::WindowId ExternalLogMeter::Begin() {
  std::lock_guard<std::mutex> lock(mutex_);
  const WindowId id = next_id_++;
  windows_[id].start_s = unix_clock_();
  return id;
}

void ExternalLogMeter::End(WindowId window) {
  const double now = unix_clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = windows_.find(window);
  if (it == windows_.end() || !it->second.open) {
    throw std::logic_error("energy meter: End of a window that is not open");
  }
  it->second.end_s = now;
  it->second.open = false;
}

EnergyReading ExternalLogMeter::Read(WindowId window) {
  Window w;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = windows_.find(window);
    if (it == windows_.end() || it->second.open) {
      throw std::logic_error("energy meter: Read of a window that is not closed");
    }
    w = it->second;
  }
  EnergyReading r;
  r.meter = name();
  r.method = method();
  r.start_unix_s = w.start_s;
  r.end_unix_s = w.end_s;
  r.duration_s = w.end_s - w.start_s;
  r.details["log"] = options_.log.string();
  if (auto reason = unavailable_reason()) {
    r.valid = false;
    r.problem = "meter unavailable: " + *reason;
    return r;
  }
  std::error_code ec;
  if (!std::filesystem::exists(options_.log, ec)) {
    r.valid = false;
    r.problem = "meter unavailable: power log " + options_.log.string() + " does not exist";
    return r;
  }
  const auto samples = ReadPowerLog(options_.log);
  const WindowIntegral integral = IntegrateWindow(samples, w.start_s, w.end_s);
  r.energy_j = integral.energy_j;
  r.samples = integral.samples_inside;
  r.domains.push_back({"wall", integral.energy_j});
  r.relative_uncertainty = options_.meter_accuracy_pct / 100.0;
  r.absolute_uncertainty_j = integral.interpolation_error_j;
  r.uncertainty_basis = "meter accuracy ±" + std::to_string(options_.meter_accuracy_pct) +
                        " % (meter_accuracy_pct) + linear-interpolation bound between samples";
  r.details["log_rows"] = samples.size();
  r.details["samples_in_window"] = integral.samples_inside;
  r.details["max_gap_s"] = integral.max_gap_s;
  r.details["interpolation_error_bound_j"] = integral.interpolation_error_j;
  r.details["log_first_unix_s"] =
      samples.empty() ? nlohmann::json(nullptr) : nlohmann::json(samples.front().unix_s);
  r.details["log_last_unix_s"] =
      samples.empty() ? nlohmann::json(nullptr) : nlohmann::json(samples.back().unix_s);
  if (!integral.covered) {
    r.valid = false;
    r.problem =
        "the power log does not cover the window (it needs a sample at or before the "
        "window start and one at or after its end)";
  } else if (integral.samples_inside < options_.min_samples) {
    r.valid = false;
    r.problem = "the power log holds " + std::to_string(integral.samples_inside) +
                " sample(s) inside the window; at least " + std::to_string(options_.min_samples) +
                " are needed";
  }
  return r;
}

nlohmann::json ExternalLogMeter::Describe() const {
  return {{"meter", "external"},
          {"log", options_.log.string()},
          {"min_samples", options_.min_samples},
          {"meter_accuracy_pct", options_.meter_accuracy_pct}};
}

}  // namespace greenlight::energy
