#include "auditors/safety/isolation.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>

#include "core/error.h"

namespace greenlight::safety {
namespace {

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    done += static_cast<size_t>(w);
  }
}

[[noreturn]] void ChildMain(int fd, const std::function<std::string()>& probe) {
  // Die with the process that started the probe: if it is killed (a supervised model worker
  // past its time budget), a probe stuck in the model must not run on alone.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Fatal signals must kill the child: handlers inherited from the parent (a test framework's,
  // a sanitizer's) would otherwise catch them and resume the parent's code in the child.
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS}) {
    ::signal(sig, SIG_DFL);
  }
  sigset_t fatal;
  sigemptyset(&fatal);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
    sigaddset(&fatal, sig);
  ::sigprocmask(SIG_UNBLOCK, &fatal, nullptr);
  // Keep the model's chatter out of greenlight's output.
  const int devnull = ::open("/dev/null", O_WRONLY);
  if (devnull >= 0) {
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
  }
  int status = 0;
  std::string out;
  try {
    out = "R" + probe();
  } catch (const std::exception& e) {
    out = std::string("E") + e.what();
    status = 3;
  } catch (...) {
    out = "Eunknown exception";
    status = 3;
  }
  WriteAll(fd, out);
  ::close(fd);
  ::_exit(status);
}

}  // namespace

std::string IsolatedOutcome::Describe() const {
  std::ostringstream s;
  switch (kind) {
    case Kind::kCompleted:
      return "completed";
    case Kind::kTimedOut:
      s << "timed out after " << wall_s << " s (killed)";
      return s.str();
    case Kind::kCrashed:
      if (signal != 0) {
        s << "crashed: signal " << signal << " (" << ::strsignal(signal) << ")";
      } else {
        s << "crashed: exited with status " << exit_code;
        if (!payload.empty()) s << ": " << payload;
      }
      return s.str();
  }
  return "unknown";
}

IsolatedOutcome RunIsolated(const std::function<std::string()>& probe, double timeout_s) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw RuntimeError(std::string("pipe failed: ") + std::strerror(errno));
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw RuntimeError(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    ChildMain(fds[1], probe);
  }
  ::close(fds[1]);
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  IsolatedOutcome outcome;
  std::string data;
  bool timed_out = false;
  // Read until EOF (the child exited or closed the pipe) or the deadline.
  for (;;) {
    const double left = timeout_s - elapsed();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::ceil(std::min(left, 3600.0) * 1000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) continue;
    char buf[4096];
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) break;
    data.append(buf, static_cast<size_t>(r));
  }
  ::close(fds[0]);
  int status = 0;
  if (!timed_out) {
    // EOF came; the child is exiting. Wait for it within what is left of the timeout.
    for (;;) {
      const pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) break;
      if (w < 0 && errno != EINTR) break;
      if (elapsed() >= timeout_s) {
        timed_out = true;
        break;
      }
      ::usleep(1000);
    }
  }
  if (timed_out) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    outcome.kind = IsolatedOutcome::Kind::kTimedOut;
    outcome.wall_s = elapsed();
    return outcome;
  }
  outcome.wall_s = elapsed();
  if (WIFSIGNALED(status)) {
    outcome.kind = IsolatedOutcome::Kind::kCrashed;
    outcome.signal = WTERMSIG(status);
    return outcome;
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0 && !data.empty() && data[0] == 'R') {
    outcome.kind = IsolatedOutcome::Kind::kCompleted;
    outcome.payload = data.substr(1);
    return outcome;
  }
  outcome.kind = IsolatedOutcome::Kind::kCrashed;
  outcome.exit_code = code;
  outcome.payload = data.empty() ? std::string() : data.substr(1);
  return outcome;
}

}  // namespace greenlight::safety
