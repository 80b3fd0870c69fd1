// Text for error messages about LibTorch failures and tensors, shared by the TorchScript runtimes.
// Internal to models/ (includes LibTorch).
#pragma once

#include <c10/util/ArrayRef.h>

#include <sstream>
#include <string>

namespace greenlight {

// The first line of a multi-line message.
inline std::string FirstLine(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// TorchScript interpreter errors carry a multi-line traceback; the cause is its last
// "...Error: ..." line (or, failing that, the first line).
inline std::string Cause(const std::string& s) {
  const auto pos = s.rfind("Error: ");
  if (pos == std::string::npos) return FirstLine(s);
  const auto start = s.rfind('\n', pos);
  return FirstLine(s.substr(start == std::string::npos ? 0 : start + 1));
}

// "[1, 28, 28]".
inline std::string ShapeString(c10::IntArrayRef shape) {
  std::ostringstream ss;
  ss << "[";
  for (size_t i = 0; i < shape.size(); ++i) ss << (i ? ", " : "") << shape[i];
  ss << "]";
  return ss.str();
}

}  // namespace greenlight
