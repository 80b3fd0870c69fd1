#include "auditors/energy/nvml_meter.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace greenlight::energy {

namespace {
// The NVML ABI we use (nvml.h): opaque device handles, int return codes, 0 = NVML_SUCCESS.
using NvmlReturn = int;
constexpr NvmlReturn kNvmlSuccess = 0;
using NvmlDevice = void*;
}  // namespace

struct NvmlMeter::Api {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*device_count)(unsigned int*) = nullptr;
  NvmlReturn (*handle_by_index)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*total_energy)(NvmlDevice, unsigned long long*) = nullptr;
  NvmlReturn (*power_usage)(NvmlDevice, unsigned int*) = nullptr;
  NvmlReturn (*device_name)(NvmlDevice, char*, unsigned int) = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;
};

std::function<void()> LoadedCudaSynchronize(std::string* description) {
  using SyncFn = int (*)();
  void* sym = ::dlsym(RTLD_DEFAULT, "cudaDeviceSynchronize");
  if (sym == nullptr) {
    // LibTorch loads the runtime with local symbols; look for an already loaded copy only
    // (RTLD_NOLOAD): loading it ourselves would create a CUDA context nobody asked for.
    for (const char* lib : {"libcudart.so.12", "libcudart.so.11.0", "libcudart.so"}) {
      if (void* h = ::dlopen(lib, RTLD_NOW | RTLD_NOLOAD)) {
        sym = ::dlsym(h, "cudaDeviceSynchronize");
        if (sym != nullptr) {
          *description = std::string("cudaDeviceSynchronize (") + lib + ")";
          break;
        }
      }
    }
  } else {
    *description = "cudaDeviceSynchronize";
  }
  if (sym == nullptr) {
    *description = "none (no CUDA runtime loaded in this process)";
    return [] {};
  }
  auto fn = reinterpret_cast<SyncFn>(sym);
  return [fn] { fn(); };
}

NvmlMeter::NvmlMeter(NvmlOptions options, SecondsClock clock)
    : CumulativeMeter(std::move(clock), options.sample_interval_s), options_(std::move(options)) {
  if (options_.mode != "auto" && options_.mode != "energy" && options_.mode != "power") {
    throw InputError("nvml_mode must be auto, energy or power, not '" + options_.mode + "'");
  }
  if (!options_.synchronize) {
    options_.synchronize = LoadedCudaSynchronize(&sync_description_);
  } else {
    sync_description_ = "caller-provided";
  }
  Load();
  if (!unavailable_) {
    std::lock_guard<std::mutex> lock(mutex_);
    Poll();  // Baseline: counters' first values, first power sample.
  }
}

NvmlMeter::~NvmlMeter() {
  StopPolling();
  if (initialized_ && api_->shutdown != nullptr) api_->shutdown();
  delete api_;
  if (library_ != nullptr) ::dlclose(library_);
}

std::string NvmlMeter::ErrorText(int code) const {
  std::string text = "NVML error " + std::to_string(code);
  if (api_ != nullptr && api_->error_string != nullptr) {
    if (const char* s = api_->error_string(code)) text += " (" + std::string(s) + ")";
  }
  return text;
}

void NvmlMeter::Load() {
  ::dlerror();
  library_ = ::dlopen(options_.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) {
    const char* e = ::dlerror();
    unavailable_ = "cannot load " + options_.library + ": " + (e ? e : "unknown dlopen error") +
                   " (no NVIDIA driver here)";
    return;
  }
  api_ = new Api();
  auto resolve = [&](const char* symbol, auto& fn, bool required) {
    void* p = ::dlsym(library_, symbol);
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    if (p == nullptr && required && !unavailable_) {
      unavailable_ = options_.library + " lacks " + symbol;
    }
  };
  resolve("nvmlInit_v2", api_->init, true);
  resolve("nvmlShutdown", api_->shutdown, true);
  resolve("nvmlDeviceGetCount_v2", api_->device_count, true);
  resolve("nvmlDeviceGetHandleByIndex_v2", api_->handle_by_index, true);
  resolve("nvmlDeviceGetPowerUsage", api_->power_usage, true);
  resolve("nvmlDeviceGetTotalEnergyConsumption", api_->total_energy, false);
  resolve("nvmlDeviceGetName", api_->device_name, false);
  resolve("nvmlErrorString", api_->error_string, false);
  if (unavailable_) return;
  if (NvmlReturn rc = api_->init(); rc != kNvmlSuccess) {
    unavailable_ = "nvmlInit_v2 failed: " + ErrorText(rc);
    return;
  }
  initialized_ = true;
  unsigned int count = 0;
  if (NvmlReturn rc = api_->device_count(&count); rc != kNvmlSuccess) {
    unavailable_ = "nvmlDeviceGetCount_v2 failed: " + ErrorText(rc);
    return;
  }
  if (count == 0) {
    unavailable_ = "NVML reports no NVIDIA GPU";
    return;
  }
  std::vector<int> indices = options_.devices;
  if (indices.empty()) {
    for (unsigned int i = 0; i < count; ++i) indices.push_back(static_cast<int>(i));
  }
  for (int index : indices) {
    if (index < 0 || static_cast<unsigned int>(index) >= count) {
      unavailable_ =
          "GPU " + std::to_string(index) + " does not exist (" + std::to_string(count) + " found)";
      return;
    }
    Device d;
    d.index = index;
    if (NvmlReturn rc = api_->handle_by_index(static_cast<unsigned int>(index), &d.handle);
        rc != kNvmlSuccess) {
      unavailable_ =
          "nvmlDeviceGetHandleByIndex_v2(" + std::to_string(index) + ") failed: " + ErrorText(rc);
      return;
    }
    if (api_->device_name != nullptr) {
      char name[96] = {0};
      if (api_->device_name(d.handle, name, sizeof(name)) == kNvmlSuccess) d.name = name;
    }
    unsigned long long mj = 0;
    const bool counter_ok =
        api_->total_energy != nullptr && api_->total_energy(d.handle, &mj) == kNvmlSuccess;
    if (options_.mode == "energy" && !counter_ok) {
      unavailable_ = "GPU " + std::to_string(index) +
                     " does not support the total-energy counter (nvml_mode: energy)";
      return;
    }
    d.energy_counter = counter_ok && options_.mode != "power";
    if (!d.energy_counter) {
      unsigned int mw = 0;
      if (NvmlReturn rc = api_->power_usage(d.handle, &mw); rc != kNvmlSuccess) {
        unavailable_ = "GPU " + std::to_string(index) +
                       " supports neither the energy counter nor power readings: " + ErrorText(rc);
        return;
      }
    }
    devices_.push_back(d);
  }
}

void NvmlMeter::AtWindowEdge() {
  if (options_.synchronize) options_.synchronize();
}

std::vector<DomainEnergy> NvmlMeter::Poll() {
  ++poll_number_;
  std::vector<DomainEnergy> out;
  double error_sum = 0.0;
  std::vector<double> watts(devices_.size(), std::nan(""));
  for (Device& d : devices_) {
    if (d.energy_counter) {
      unsigned long long mj = 0;
      if (NvmlReturn rc = api_->total_energy(d.handle, &mj); rc != kNvmlSuccess) {
        read_errors_.emplace_back(poll_number_, "nvmlDeviceGetTotalEnergyConsumption(GPU " +
                                                    std::to_string(d.index) +
                                                    "): " + ErrorText(rc));
      } else {
        if (poll_number_ == 1) d.first_mj = mj;
        d.total_j = static_cast<double>(mj - d.first_mj) * 1e-3;
      }
    } else {
      unsigned int mw = 0;
      const double now = clock_();
      if (NvmlReturn rc = api_->power_usage(d.handle, &mw); rc != kNvmlSuccess) {
        read_errors_.emplace_back(
            poll_number_,
            "nvmlDeviceGetPowerUsage(GPU " + std::to_string(d.index) + "): " + ErrorText(rc));
      } else {
        const double w = static_cast<double>(mw) * 1e-3;
        if (d.sampled) {
          const double dt = now - d.last_s;
          d.total_j += 0.5 * (w + d.last_w) * dt;
          d.trapezoid_error_j += 0.5 * std::fabs(w - d.last_w) * dt;
        }
        d.sampled = true;
        watts[static_cast<size_t>(&d - devices_.data())] = w;
        d.last_w = w;
        d.last_s = now;
      }
    }
    error_sum += d.trapezoid_error_j;
    out.push_back(
        {"gpu" + std::to_string(d.index) + (d.name.empty() ? "" : " " + d.name), d.total_j});
  }
  error_at_poll_.push_back(error_sum);
  watts_at_poll_.push_back(std::move(watts));
  return out;
}

void NvmlMeter::Complete(EnergyReading& r, int64_t begin_poll, int64_t end_poll) {
  // poll_number_ counts the constructor's baseline poll too: base poll k is our poll k + 1.
  const int64_t lo = begin_poll + 1, hi = end_poll + 1;
  for (const auto& [poll, message] : read_errors_) {
    if (poll >= lo && poll <= hi) {
      r.valid = false;
      r.problem = "meter unavailable: " + message;
    }
  }
  bool any_power = false;
  for (const Device& d : devices_) any_power = any_power || !d.energy_counter;
  const double trapezoid_j =
      error_at_poll_[static_cast<size_t>(hi - 1)] - error_at_poll_[static_cast<size_t>(lo - 1)];
  // Averaged power readings lag load changes: averaging time × range of sampled power.
  double lag_j = 0.0;
  for (size_t d = 0; d < devices_.size(); ++d) {
    double lo_w = INFINITY, hi_w = -INFINITY;
    for (int64_t p = lo; p <= hi; ++p) {
      const double w = watts_at_poll_[static_cast<size_t>(p - 1)][d];
      if (std::isnan(w)) continue;
      lo_w = std::min(lo_w, w);
      hi_w = std::max(hi_w, w);
    }
    if (hi_w >= lo_w) lag_j += kNvmlPowerAveragingS * (hi_w - lo_w);
  }
  // NVIDIA documents board power readings as accurate to about ±5 W (nvidia-smi, "Power Draw");
  // the energy counter integrates the same sensor. So the band is ±5 W × window per GPU, plus,
  // when power is sampled, the trapezoid bound and the averaging lag, plus 1 mJ per GPU.
  r.absolute_uncertainty_j = 5.0 * r.duration_s * static_cast<double>(devices_.size()) +
                             trapezoid_j + lag_j + 1e-3 * static_cast<double>(devices_.size());
  r.uncertainty_basis =
      "NVML band: ±5 W per GPU over the window (NVIDIA's stated power-reading accuracy)" +
      std::string(any_power ? " + trapezoid-rule bound + 1 s averaging lag × sampled power range"
                            : "") +
      " + 1 mJ counter resolution";
  r.details["averaging_lag_bound_j"] = lag_j;
  nlohmann::json devs = nlohmann::json::array();
  for (const Device& d : devices_) {
    devs.push_back({{"index", d.index},
                    {"name", d.name},
                    {"source", d.energy_counter ? "nvmlDeviceGetTotalEnergyConsumption"
                                                : "nvmlDeviceGetPowerUsage (trapezoid)"}});
  }
  r.details["devices"] = devs;
  r.details["trapezoid_error_bound_j"] = trapezoid_j;
  r.details["sample_interval_s"] = poll_interval_s();
  r.details["device_sync"] = sync_description_;
}

nlohmann::json NvmlMeter::Describe() const {
  nlohmann::json devs = nlohmann::json::array();
  for (const Device& d : devices_) {
    devs.push_back({{"index", d.index}, {"name", d.name}, {"energy_counter", d.energy_counter}});
  }
  return {{"meter", "nvml"},
          {"library", options_.library},
          {"mode", options_.mode},
          {"devices", devs},
          {"sample_interval_s", options_.sample_interval_s},
          {"device_sync", sync_description_}};
}

}  // namespace greenlight::energy
