#include "auditors/energy/energy_meter.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace greenlight::energy {

SecondsClock SteadyClock() {
  return [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
}

double UnixNowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double EnergyReading::low_j() const {
  if (band_low_factor) return energy_j * *band_low_factor;
  return energy_j * (1.0 - relative_uncertainty) - absolute_uncertainty_j;
}

double EnergyReading::high_j() const {
  if (band_high_factor) return energy_j * *band_high_factor;
  return energy_j * (1.0 + relative_uncertainty) + absolute_uncertainty_j;
}

CumulativeMeter::CumulativeMeter(SecondsClock clock, double poll_interval_s)
    : clock_(std::move(clock)), poll_interval_s_(poll_interval_s) {}

CumulativeMeter::~CumulativeMeter() { StopPolling(); }

void CumulativeMeter::StopPolling() {
  std::thread finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (poller_stop_) *poller_stop_ = true;
    finished = std::move(poller_);
  }
  wake_.notify_all();
  if (finished.joinable()) finished.join();
}

std::vector<DomainEnergy> CumulativeMeter::PollLocked() {
  ++polls_;
  return Poll();
}

void CumulativeMeter::PollNow() {
  std::lock_guard<std::mutex> lock(mutex_);
  PollLocked();
}

int64_t CumulativeMeter::polls() {
  std::lock_guard<std::mutex> lock(mutex_);
  return polls_;
}

void CumulativeMeter::PollerLoop(std::shared_ptr<bool> stop) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto interval = std::chrono::duration<double>(poll_interval_s_);
  while (!*stop) {
    wake_.wait_for(lock, interval, [&stop] { return *stop; });
    if (*stop) break;
    PollLocked();
  }
}

EnergyMeter::WindowId CumulativeMeter::Begin() {
  AtWindowEdge();
  std::lock_guard<std::mutex> lock(mutex_);
  Window w;
  w.begin_totals = PollLocked();
  w.begin_s = clock_();
  w.begin_unix_s = UnixNowSeconds();
  w.begin_poll = polls_;
  const WindowId id = next_id_++;
  windows_.emplace(id, std::move(w));
  if (open_windows_++ == 0 && poll_interval_s_ > 0.0 && !poller_.joinable()) {
    // Each poller has its own stop flag, so a poller being joined by End never sees a later
    // Begin's fresh flag.
    poller_stop_ = std::make_shared<bool>(false);
    poller_ = std::thread([this, stop = poller_stop_] { PollerLoop(stop); });
  }
  return id;
}

void CumulativeMeter::End(WindowId window) {
  AtWindowEdge();
  std::thread finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = windows_.find(window);
    if (it == windows_.end() || !it->second.open) {
      throw std::logic_error("energy meter: End of a window that is not open");
    }
    Window& w = it->second;
    w.end_totals = PollLocked();
    w.end_s = clock_();
    w.end_unix_s = UnixNowSeconds();
    w.end_poll = polls_;
    w.open = false;
    if (--open_windows_ == 0 && poller_.joinable()) {
      *poller_stop_ = true;
      finished = std::move(poller_);
    }
  }
  wake_.notify_all();
  if (finished.joinable()) finished.join();
}

EnergyReading CumulativeMeter::Read(WindowId window) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = windows_.find(window);
  if (it == windows_.end() || it->second.open) {
    throw std::logic_error("energy meter: Read of a window that is not closed");
  }
  const Window& w = it->second;
  EnergyReading r;
  r.meter = name();
  r.method = method();
  r.duration_s = w.end_s - w.begin_s;
  r.start_unix_s = w.begin_unix_s;
  r.end_unix_s = w.end_unix_s;
  r.samples = w.end_poll - w.begin_poll + 1;
  for (const DomainEnergy& end : w.end_totals) {
    double begin = 0.0;
    for (const DomainEnergy& b : w.begin_totals) {
      if (b.name == end.name) begin = b.energy_j;
    }
    r.domains.push_back({end.name, end.energy_j - begin});
    r.energy_j += end.energy_j - begin;
  }
  Complete(r, w.begin_poll, w.end_poll);
  return r;
}

}  // namespace greenlight::energy
