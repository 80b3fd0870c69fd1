// Helpers for the signing tests (tests/test_util.h has the shared ones): hex, byte files, running
// a command with its output combined, and a small statement in the shape greenlight writes.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

namespace greenlight::signing_testing {

inline std::string FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) throw std::invalid_argument("odd hex length");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

inline void WriteBytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct CombinedResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh, capturing stdout and stderr together.
inline CombinedResult RunCombined(const std::string& command) {
  CombinedResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline constexpr char kTestPredicateType[] = "https://greenlight.dev/test-report/v1";

// A statement in greenlight's shape for the given model digest, criteria and dataset digests.
inline nlohmann::json MakeStatement(const std::string& model_sha256,
                                    const std::string& criteria_sha256 = std::string(64, 'c'),
                                    const std::string& dataset_sha256 = std::string(64, 'd')) {
  return {{"_type", "https://in-toto.io/Statement/v1"},
          {"subject", {{{"name", "fashion_cnn.pt"}, {"digest", {{"sha256", model_sha256}}}}}},
          {"predicateType", kTestPredicateType},
          {"predicate",
           {{"criteria", {{"name", "demo"}, {"version", "1.0.0"}, {"sha256", criteria_sha256}}},
            {"model", {{"path", "fashion_cnn.pt"}, {"sha256", model_sha256}}},
            {"dataset",
             {{"path", "t10k"},
              {"sha256", dataset_sha256},
              {"rows", 10000},
              {"files", {{{"path", "labels.gz"}, {"sha256", std::string(64, 'e')}}}}}},
            {"verdict", "PASS"},
            {"results",
             {{{"id", "ACC-01"}, {"metric", "accuracy"}, {"status", "PASS"}, {"value", 0.9}}}}}}};
}

}  // namespace greenlight::signing_testing
