// A stand-in for libnvidia-ml.so.1 exporting the NVML entry points greenlight's NvmlMeter calls,
// with values set by the test through fake_nvml_* functions, so the loading, energy-counter and
// power-sampling paths run on machines without an NVIDIA driver.
#include <cstring>

extern "C" {

namespace {
constexpr int kSuccess = 0;
constexpr int kUninitialized = 1;
constexpr int kInvalidArgument = 2;
constexpr int kNotSupported = 3;
constexpr int kMaxDevices = 4;

int g_devices = 1;
int g_energy_supported = 1;
int g_init_result = kSuccess;
int g_initialized = 0;
unsigned long long g_energy_mj[kMaxDevices] = {0};
unsigned int g_power_mw[kMaxDevices] = {0};
int g_handles[kMaxDevices] = {0, 1, 2, 3};
}  // namespace

// --- Test controls.
void fake_nvml_configure(int devices, int energy_supported, int init_result) {
  g_devices = devices;
  g_energy_supported = energy_supported;
  g_init_result = init_result;
}
void fake_nvml_set_energy_mj(int device, unsigned long long mj) { g_energy_mj[device] = mj; }
void fake_nvml_set_power_mw(int device, unsigned int mw) { g_power_mw[device] = mw; }
int fake_nvml_initialized() { return g_initialized; }

// --- NVML.
int nvmlInit_v2() {
  if (g_init_result != kSuccess) return g_init_result;
  ++g_initialized;
  return kSuccess;
}
int nvmlShutdown() {
  if (g_initialized == 0) return kUninitialized;
  --g_initialized;
  return kSuccess;
}
int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (g_initialized == 0) return kUninitialized;
  *count = static_cast<unsigned int>(g_devices);
  return kSuccess;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (g_initialized == 0) return kUninitialized;
  if (index >= static_cast<unsigned int>(g_devices)) return kInvalidArgument;
  *device = &g_handles[index];
  return kSuccess;
}
int nvmlDeviceGetTotalEnergyConsumption(void* device, unsigned long long* mj) {
  if (!g_energy_supported) return kNotSupported;
  *mj = g_energy_mj[*static_cast<int*>(device)];
  return kSuccess;
}
int nvmlDeviceGetPowerUsage(void* device, unsigned int* mw) {
  *mw = g_power_mw[*static_cast<int*>(device)];
  return kSuccess;
}
int nvmlDeviceGetName(void* device, char* name, unsigned int length) {
  const char* text = *static_cast<int*>(device) == 0 ? "Fake GPU 0" : "Fake GPU N";
  std::strncpy(name, text, length);
  return kSuccess;
}
const char* nvmlErrorString(int result) {
  switch (result) {
    case kSuccess:
      return "Success";
    case kUninitialized:
      return "Uninitialized";
    case kInvalidArgument:
      return "Invalid Argument";
    case kNotSupported:
      return "Not Supported";
    case 9:
      return "Driver Not Loaded";
    default:
      return "Unknown Error";
  }
}

}  // extern "C"
