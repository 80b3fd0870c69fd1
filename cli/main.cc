// greenlight: audits ML models against declarative criteria and writes verifiable reports.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/cli_common.h"
#include "core/error.h"
#include "greenlight/build_info.h"

namespace {

// Everything a command prints must arrive: a full disk (`> /dev/full`) or a closed pipe is an
// error (exit 4 with a message on stderr), never a silent exit 0.
int FinishOutput(int exit_code) {
  std::cout.flush();
  const bool stream_failed = !std::cout.good();
  errno = 0;
  const bool flush_failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
  if (stream_failed || flush_failed) {
    const int reason = errno;
    std::fprintf(stderr, "greenlight: cannot write to standard output%s%s\n",
                 reason != 0 ? ": " : "", reason != 0 ? std::strerror(reason) : "");
    return static_cast<int>(greenlight::ExitCode::kRuntimeError);
  }
  return exit_code;
}

int Run(int argc, char** argv) {
  using greenlight::ExitCode;
  namespace cli = greenlight::cli;
  CLI::App app("greenlight: audit ML models against declarative criteria and issue reports",
               "greenlight");
  app.set_version_flag("--version", std::string("greenlight ") + greenlight::build_info::kVersion +
                                        " (" + greenlight::build_info::kGitRevision +
                                        ", LibTorch " + greenlight::build_info::kTorchVersion +
                                        ")");
  app.require_subcommand(0, 1);
  cli::GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "no progress output on stderr");
  app.add_flag("-v,--verbose", global.verbose,
               "show the model runtime's own log messages (LibTorch warnings) on stderr");
  int exit_code = -1;
  cli::AddAuditCommand(app, global, &exit_code);
  cli::AddValidateCommand(app, global, &exit_code);
  cli::AddMetricsCommand(app, global, &exit_code);
  cli::AddKeygenCommand(app, global, &exit_code);
  cli::AddVerifyCommand(app, global, &exit_code);
  cli::AddShowCommand(app, global, &exit_code);
  cli::AddRenderCommand(app, global, &exit_code);
  cli::AddDiffCommand(app, global, &exit_code);
  cli::AddMergeCommand(app, global, &exit_code);
  cli::AddSubmitCommand(app, global, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // Prints the message.
    return static_cast<int>(ExitCode::kBadInput);
  }
  if (exit_code < 0) {
    std::cout << app.help();
    return static_cast<int>(ExitCode::kBadInput);
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe then fails the write with EPIPE (reported below) instead of killing silently.
  std::signal(SIGPIPE, SIG_IGN);
  return FinishOutput(Run(argc, argv));
}
