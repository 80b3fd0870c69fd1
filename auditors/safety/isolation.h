// Runs a probe in a forked child process with a wall-clock timeout, so that a model that crashes
// (segfault, abort) or hangs becomes a recorded outcome instead of taking greenlight down.
// POSIX only. The child never returns into the caller: it writes the probe's result to a pipe
// and leaves with _exit (no atexit handlers, no destructors of the parent's objects).
#pragma once

#include <functional>
#include <string>

namespace greenlight::safety {

struct IsolatedOutcome {
  enum class Kind {
    kCompleted,  // The probe returned; `payload` holds its result.
    kCrashed,    // The child died from a signal or exited without a result.
    kTimedOut,   // Killed (SIGKILL) after the timeout.
  };
  Kind kind = Kind::kCompleted;
  std::string payload;
  int signal = 0;     // kCrashed by a signal: its number.
  int exit_code = 0;  // kCrashed by exit: the status.
  double wall_s = 0;  // Time until the child ended (or was killed).

  // "completed", "crashed: signal 11 (Segmentation fault)", "timed out after 2 s", ...
  std::string Describe() const;
};

// Forks; the child runs `probe` and sends back what it returns (an exception escaping the probe
// is reported as a crash with its message). The parent waits at most `timeout_s`, then kills the
// child. Throws RuntimeError when fork or pipe fail.
IsolatedOutcome RunIsolated(const std::function<std::string()>& probe, double timeout_s);

}  // namespace greenlight::safety
