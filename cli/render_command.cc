// greenlight render: a report.json or a signed envelope in another format (junit, markdown,
// github, sarif, ...), to stdout or a file. With --pubkey the envelope is verified first and the
// rendering says so; an envelope that no trusted key verifies is not rendered.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/cli_common.h"
#include "core/error.h"
#include "core/files.h"
#include "reports/report_text.h"
#include "reports/reporter.h"

extern "C" char** environ;  // For posix_spawnp: Chromium gets our environment.

namespace greenlight::cli {
namespace {

struct RenderArgs {
  std::string file;
  std::string format;
  std::string out;
  std::vector<std::string> pubkeys;
};

// Longest Chromium may take to print a report, seconds.
constexpr int kPrintTimeoutS = 120;

// The html rendering printed to PDF by headless Chromium ($GREENLIGHT_CHROMIUM, else `chromium`
// on PATH), in a private temporary folder; the PDF's bytes. Chromium's sandbox is turned off
// (it cannot start as root without it): the page it loads is our own, without scripts or URLs.
// Throws RuntimeError when Chromium is missing, fails, or takes longer than kPrintTimeoutS.
std::string PrintPdf(const std::string& html) {
  std::string pattern = (std::filesystem::temp_directory_path() / "greenlight-pdf-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw RuntimeError("cannot create a temporary folder for the PDF: " +
                       std::string(std::strerror(errno)));
  }
  const std::filesystem::path dir(pattern);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  WriteFileAtomic(dir / "report.html", html);
  const char* env = std::getenv("GREENLIGHT_CHROMIUM");
  const std::string chromium = env != nullptr && env[0] != '\0' ? env : "chromium";
  const std::string pdf_arg = "--print-to-pdf=" + (dir / "report.pdf").string();
  const std::string url = PathUri((dir / "report.html").string());
  const std::string profile = "--user-data-dir=" + (dir / "profile").string();
  std::vector<const char*> argv = {
      chromium.c_str(), "--headless",    "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
      profile.c_str(),  pdf_arg.c_str(), url.c_str(),    nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, chromium.c_str(), &actions, nullptr,
                                   const_cast<char* const*>(argv.data()), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw RuntimeError("--format pdf needs Chromium: cannot run '" + chromium + "' (" +
                       std::strerror(spawned) +
                       "); install Debian's chromium package or set GREENLIGHT_CHROMIUM");
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kPrintTimeoutS);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw RuntimeError("Chromium did not print the PDF within " + std::to_string(kPrintTimeoutS) +
                         " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::error_code ec;
  const bool printed = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                       std::filesystem::file_size(dir / "report.pdf", ec) > 0 && !ec;
  if (!printed) {
    throw RuntimeError("Chromium failed to print the PDF (" +
                       (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                          : "signal " + std::to_string(WTERMSIG(status))) +
                       ")");
  }
  return ReadFile(dir / "report.pdf", kMaxReportBytes, "PDF");
}

// The formats render knows: the registered reporters and pdf.
std::string KnownFormats() {
  std::vector<std::string> names = BuiltinReporters().names();
  names.push_back("pdf");
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

int RunRender(const RenderArgs& args) {
  // An unknown format fails before anything is read.
  const bool pdf = args.format == "pdf";
  if (!pdf && !BuiltinReporters().Has(args.format)) {
    throw InputError("unknown report format '" + args.format + "' (known: " + KnownFormats() + ")");
  }
  if (pdf && args.out.empty()) {
    throw InputError("--format pdf needs --out FILE (a PDF is not printed on standard output)");
  }
  std::vector<Ed25519PublicKey> keys;
  for (const auto& pub : args.pubkeys) keys.push_back(Ed25519PublicKey::FromPemFile(pub));
  const LoadedReport loaded = LoadReportFile(args.file, keys);
  if (!keys.empty() && !loaded.envelope) {
    throw InputError(args.file +
                     ": --pubkey given, but this is an unsigned report.json, not a signed "
                     "envelope (report.dsse.json)");
  }
  if (loaded.invalid) {
    std::cerr << "greenlight: " << args.file << ": signature " << loaded.signature
              << "; nothing rendered\n";
    return static_cast<int>(ExitCode::kFail);
  }
  const std::string signature =
      loaded.envelope ? loaded.signature : "none (an unsigned report.json)";
  const bool to_stdout = args.out.empty();
  const std::unique_ptr<Reporter> reporter = BuiltinReporters().Make(
      pdf ? "html" : args.format,
      {.color = to_stdout && UseColor(STDOUT_FILENO), .signature = signature});
  std::string text = reporter->Render(loaded.report);
  if (pdf) text = PrintPdf(text);
  // The console table has no place for the signature: it goes above, as `show` prints it.
  if (args.format == "console") text = "signature: " + signature + "\n" + text;
  if (to_stdout) {
    std::cout << text;
  } else {
    WriteFileAtomic(args.out, text);
  }
  return 0;
}

}  // namespace

void AddRenderCommand(CLI::App& app, const GlobalOptions& /*global*/, int* exit_code) {
  auto args = std::make_shared<RenderArgs>();
  CLI::App* cmd = app.add_subcommand(
      "render",
      "Render a report.json or a signed report.dsse.json in another format.\n"
      "With --pubkey the envelope is verified first, and the rendering says whether it was.\n"
      "Exit: 0 rendered, 1 the envelope's signature is invalid (nothing rendered), 3 bad input, "
      "4 runtime error.");
  cmd->add_option("file", args->file, "report.json or report.dsse.json")->required();
  cmd->add_option("-f,--format", args->format,
                  "output format: " + KnownFormats() +
                      " (pdf: the html page printed by headless Chromium; needs --out)")
      ->required();
  cmd->add_option("-o,--out", args->out, "write to this file (atomically) instead of stdout");
  cmd->add_option("-k,--pubkey", args->pubkeys, "trusted public key (PEM); repeat for several");
  cmd->callback([args, exit_code] { *exit_code = RunGuarded([&] { return RunRender(*args); }); });
}

}  // namespace greenlight::cli
