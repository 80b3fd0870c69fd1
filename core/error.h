// Errors that stop a run. Verdicts are data (see core/result.h); exceptions are for what prevents
// the audit itself: unreadable input, a missing model, I/O failures.
#pragma once

#include <stdexcept>
#include <string>

namespace greenlight {

enum class ErrorKind {
  kInput,    // The user's input is wrong: bad criteria, missing file, wrong shape. Exit 3.
  kRuntime,  // Something failed while running: I/O, LibTorch, the system. Exit 4.
};

// Process exit codes, kept by every subcommand (documented in README).
enum class ExitCode : int {
  kPass = 0,
  kFail = 1,
  kInconclusive = 2,
  kBadInput = 3,
  kRuntimeError = 4,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  ExitCode exit_code() const {
    return kind_ == ErrorKind::kInput ? ExitCode::kBadInput : ExitCode::kRuntimeError;
  }

 private:
  ErrorKind kind_;
};

class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ErrorKind::kInput, message) {}
};

class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& message) : Error(ErrorKind::kRuntime, message) {}
};

}  // namespace greenlight
