// Helpers shared by the tests: temporary directories, running the real CLI and Python.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace greenlight::testing {

inline std::filesystem::path SourceDir() { return GREENLIGHT_SOURCE_DIR; }
inline std::filesystem::path ModelsDir() { return SourceDir() / "examples" / "models"; }
inline std::filesystem::path FashionDir() { return "/usr/share/datasets/fashion-mnist"; }

// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("greenlight-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command line, capturing stdout and stderr separately.
inline CommandResult RunShell(const std::string& command) {
  TempDir tmp;
  const auto out = tmp / "stdout";
  const auto err = tmp / "stderr";
  const std::string full = command + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadText(out);
  r.err = ReadText(err);
  return r;
}

// Runs the greenlight binary built with the tests.
inline CommandResult RunCli(const std::string& args) {
  return RunShell(std::string("NO_COLOR=1 '") + GREENLIGHT_CLI + "' " + args);
}

// Runs a Python script with Debian's python3 (torch, numpy) and returns its result.
inline CommandResult RunPython(const std::string& script) {
  TempDir tmp;
  WriteText(tmp / "script.py", script);
  return RunShell(std::string(GREENLIGHT_PYTHON) + " " + (tmp / "script.py").string());
}

// The model: and dataset: sections of a criteria file for the example CNN on the first `limit`
// Fashion-MNIST test images (the set-up every CLI test of the CNN starts from).
inline std::string FashionCnnSections(const std::filesystem::path& model, int limit) {
  return "model:\n  path: " + model.string() +
         "\n  output: log_probabilities\n"
         "  input: {shape: [1, 28, 28], range: [0, 1]}\n"
         "dataset:\n  format: idx\n"
         "  images: " +
         (FashionDir() / "t10k-images-idx3-ubyte.gz").string() +
         "\n  labels: " + (FashionDir() / "t10k-labels-idx1-ubyte.gz").string() +
         "\n  scale: 0.00392156862745098\n  limit: " + std::to_string(limit) + "\n";
}

inline std::string Quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

}  // namespace greenlight::testing
