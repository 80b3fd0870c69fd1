// Hostile and careless inputs through the real binary: every one is a one-line error with exit 3
// and no report; inputs are read once (the digest names the bytes measured, even with the model
// file swapped during the audit); the report and its envelope are published so that SIGKILL at any
// moment, or concurrent audits, never leave a mismatched or truncated pair; write errors on stdout
// are errors.
#define BOOST_TEST_MODULE hardening_e2e
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "core/digest.h"
#include "core/files.h"
#include "reports/dsse.h"
#include "reports/ed25519.h"
#include "tests/report_schema.h"
#include "tests/test_util.h"

extern char** environ;

namespace gl = greenlight;
namespace t = greenlight::testing;
using nlohmann::json;

namespace {

const std::string kHeader =
    "apiVersion: greenlight/v1\nkind: Criteria\nmetadata: {name: hardening, version: '1'}\n"
    "settings: {seed: 3}\n";

std::string HmdaCsv() { return (t::SourceDir() / "examples" / "data" / "hmda.csv").string(); }

// Black-box criteria (recorded decisions, no model): fast, and everything but the model runs.
std::string BlackBox(const std::string& criteria, const std::string& csv = HmdaCsv()) {
  return kHeader + "dataset:\n  format: csv\n  path: " + csv +
         "\n  predictions: {column: deny, positive: \"yes\"}\n"
         "  label: {column: deny, positive: \"yes\"}\n  sensitive: [afam]\ncriteria:\n" +
         criteria;
}

std::string Parity(const std::string& threshold, const std::string& extra = "") {
  return "  - id: DP\n    metric: demographic_parity_difference\n"
         "    params: {sensitive: afam, favourable: 0}\n    threshold: " +
         threshold + "\n    severity: mandatory\n" + extra;
}

struct Run {
  t::CommandResult result;
  bool report_exists = false;
};

Run Audit(const t::TempDir& dir, const std::string& yaml, const std::string& extra = "") {
  t::WriteText(dir / "criteria.yaml", yaml);
  std::filesystem::remove_all(dir / "out");
  Run r;
  r.result = t::RunCli("audit --criteria " + t::Quote(dir / "criteria.yaml") + " --out " +
                       t::Quote(dir / "out") + " " + extra);
  r.report_exists = std::filesystem::exists(dir / "out" / "report.json");
  return r;
}

// The documented rejection: exit 3, one line on stderr containing `needle`, no report.
void CheckRejected(const t::CommandResult& r, bool report_exists, const std::string& needle,
                   int exit_code = 3) {
  BOOST_TEST(r.exit_code == exit_code, "stderr: " << r.err);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
  BOOST_TEST(r.err.find(needle) != std::string::npos, "expected '" << needle << "' in " << r.err);
  BOOST_TEST(!report_exists);
}

void CheckRejected(const Run& r, const std::string& needle) {
  CheckRejected(r.result, r.report_exists, needle);
}

// Tiny TorchScript models with known outputs, made by Python's torch (no training): Const(k, n)
// always predicts class k out of n.
void MakeModels(const std::filesystem::path& dir) {
  const auto py = t::RunPython(
      "import torch\n"
      "class Const(torch.nn.Module):\n"
      "    def __init__(self, k: int, n: int):\n"
      "        super().__init__()\n"
      "        self.k = k\n"
      "        self.n = n\n"
      "    def forward(self, x):\n"
      "        b = x.shape[0]\n"
      "        out = torch.zeros(b, self.n) + 0.0 * x.reshape(b, -1).sum(1, keepdim=True)\n"
      "        out[:, self.k] = 4.0\n"
      "        return torch.log_softmax(out, 1)\n"
      "for name, k, n in [('const0', 0, 10), ('const1', 1, 10), ('three', 0, 3)]:\n"
      "    torch.jit.script(Const(k, n)).save('" +
      dir.string() + "/' + name + '.pt')\n");
  BOOST_REQUIRE_MESSAGE(py.exit_code == 0, py.err);
}

std::string ModelCriteria(const std::filesystem::path& model, const std::filesystem::path& images,
                          const std::filesystem::path& labels, int limit) {
  return kHeader + "model:\n  path: " + model.string() +
         "\n  output: log_probabilities\n  input: {shape: [1, 28, 28], range: [0, 1]}\n"
         "dataset:\n  format: idx\n  images: " +
         images.string() + "\n  labels: " + labels.string() +
         "\n  scale: 0.00392156862745098\n  limit: " + std::to_string(limit) +
         "\ncriteria:\n  - id: ACC\n    metric: accuracy\n    threshold: {gte: 0.0}\n"
         "    severity: mandatory\n";
}

std::filesystem::path FashionImages() { return t::FashionDir() / "t10k-images-idx3-ubyte.gz"; }
std::filesystem::path FashionLabels() { return t::FashionDir() / "t10k-labels-idx1-ubyte.gz"; }

// Starts the CLI with stdout/stderr to /dev/null (or stdout to `stdout_fd`); returns its pid.
pid_t Spawn(const std::vector<std::string>& args, int stdout_fd = -1) {
  std::vector<std::string> argv_s = {GREENLIGHT_CLI};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  BOOST_REQUIRE(rc == 0);
  return pid;
}

std::vector<std::string> Hidden(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".report", 0) == 0) out.push_back(name);
  }
  return out;
}

// The folder holds a whole, schema-valid report.json, and an envelope (if any) signs exactly it.
void CheckPublishedPair(const std::filesystem::path& out, const gl::Ed25519PublicKey& key) {
  BOOST_REQUIRE(std::filesystem::exists(out / "report.json"));
  const std::string report = t::ReadText(out / "report.json");
  json doc;
  try {
    doc = json::parse(report);
  } catch (const json::exception& e) {
    BOOST_FAIL("report.json is not JSON (" << report.size() << " bytes): " << e.what());
  }
  const std::string why = t::ReportSchemaErrors(doc);
  BOOST_TEST(why.empty(), why);
  if (std::filesystem::exists(out / "report.dsse.json")) {
    std::string error;
    const auto envelope = gl::ParseEnvelope(t::ReadText(out / "report.dsse.json"), &error);
    BOOST_REQUIRE_MESSAGE(envelope.has_value(), error);
    const std::vector<gl::Ed25519PublicKey> keys = {key};
    BOOST_TEST(gl::VerifyEnvelope(*envelope, keys).valid);
    BOOST_TEST((envelope->payload == report), "the envelope signs another report");
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(hostile_criteria_are_one_line_errors) {
  t::TempDir dir;
  CheckRejected(Audit(dir, BlackBox("  - id: " + std::string(200000, 'I') +
                                    "\n    metric: demographic_parity_difference\n")),
                "criteria.yaml:" /* line:col of the scalar */);
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: " + std::string(200000, '9') + "}"))),
                "criteria.yaml:15:22: scalar of 200000 bytes, over the limit of 65536");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: " + std::string(60000, '9') + "}"))),
                "is out of range (a finite number is required)");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: 1e999}"))),
                "criteria.yaml:15:22: number '1e999' is out of range");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: " + std::string(400, '4') + "}"))),
                "is out of range");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: .nan}"))), "'.nan' is not a finite number");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: .inf}"))), "'.inf' is not a finite number");
  CheckRejected(Audit(dir, BlackBox(Parity("{between: [.nan, 0.2]}"))),
                "'.nan' is not a finite number");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: 0.1}", "    confidence: .NaN\n"))),
                "'.NaN' is not a finite number");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: 0.1}")) + "---\nmetadata: {name: x}\n"),
                "a second YAML document");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: 0.1}", "    reference: \"bad \xFF byte\"\n"))),
                "invalid UTF-8 (byte 0xFF)");
  // Denormals are representable: accepted as the nearest double.
  const Run tiny = Audit(dir, BlackBox(Parity("{gte: 1e-320}")));
  BOOST_TEST(tiny.result.exit_code <= 2, tiny.result.err);
  BOOST_TEST(tiny.report_exists);

  std::string bomb = kHeader + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  CheckRejected(Audit(dir, bomb), "expands to more than 100000 nodes");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: 0.1}")) + "#" + std::string(2 << 20, 'x')),
                "criteria file is 2097" /* bytes */);
}

BOOST_AUTO_TEST_CASE(fifos_devices_and_bad_arguments) {
  t::TempDir dir;
  const auto fifo = dir / "in.fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto r = t::RunCli("audit --criteria " + t::Quote(fifo) + " --out " + t::Quote(dir / "out"));
  CheckRejected(r, std::filesystem::exists(dir / "out"), "in.fifo: is a FIFO");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: 0.1}"), fifo.string())),
                "in.fifo: is a FIFO, expected a regular CSV file");
  r = t::RunCli("show " + t::Quote(fifo));
  CheckRejected(r, false, "in.fifo: is a FIFO");
  r = t::RunCli("verify " + t::Quote(fifo) + " --pubkey " + t::Quote(fifo));
  CheckRejected(r, false, "in.fifo: is a FIFO");
  r = t::RunCli("audit --criteria /dev/zero --out " + t::Quote(dir / "out"));
  CheckRejected(r, false, "/dev/zero: is a character device, expected a regular criteria file");
  r = t::RunCli("audit --threads 100000 --out " + t::Quote(dir / "out"));
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("--threads") != std::string::npos, r.err);
  r = t::RunCli("audit --criteria " + t::Quote(dir / "bad\xFFname.yaml"));
  CheckRejected(r, false, "--criteria: the path is not valid UTF-8 (byte ");
  t::WriteText(dir / "dup.csv", "deny,afam,deny\nyes,no,yes\n");
  CheckRejected(Audit(dir, BlackBox(Parity("{lte: 0.1}"), (dir / "dup.csv").string())),
                "dup.csv:1: column 'deny' appears twice in the header (columns 1 and 3)");
}

BOOST_AUTO_TEST_CASE(deep_json_envelopes_and_payloads) {
  t::TempDir dir;
  const gl::Ed25519PrivateKey key = gl::Ed25519PrivateKey::Generate();
  t::WriteText(dir / "k.pub", key.PublicKey().Pem());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  t::WriteText(dir / "deep.json", "{\"payloadType\": " + deep + "}");
  auto r = t::RunCli("show " + t::Quote(dir / "deep.json"));
  CheckRejected(r, false, "deep.json: JSON nested deeper than 64 levels");
  r = t::RunCli("verify " + t::Quote(dir / "deep.json") + " --pubkey " + t::Quote(dir / "k.pub"));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out.find("nested deeper than 64 levels") != std::string::npos, r.out);
  // A correctly signed payload that nests deeply.
  t::WriteText(dir / "signed.json", gl::SerializeEnvelope(gl::SignEnvelope(
                                        gl::kInTotoPayloadType, "{\"a\": " + deep + "}", key)));
  r = t::RunCli("show " + t::Quote(dir / "signed.json") + " --pubkey " + t::Quote(dir / "k.pub"));
  CheckRejected(r, false, "signed.json (payload): JSON nested deeper than 64 levels");
  r = t::RunCli("verify " + t::Quote(dir / "signed.json") + " --pubkey " + t::Quote(dir / "k.pub"));
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out.find("nested deeper than 64 levels") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(idx_and_model_classes) {
  t::TempDir dir;
  MakeModels(dir.path());
  // IDX headers claiming far more than the file holds.
  t::WriteText(dir / "huge.idx", std::string("\0\0\x08\x03", 4) + std::string(12, '\xFF') + "xyz");
  CheckRejected(Audit(dir, ModelCriteria(dir / "const0.pt", dir / "huge.idx", FashionLabels(), 10)),
                "huge.idx: IDX header declares 4294967295 x 4294967295 x 4294967295 items");
  // One image, label 200: outside the model's 10 classes.
  std::string images = std::string("\0\0\x08\x03\0\0\0\x01\0\0\0\x1c\0\0\0\x1c", 16);
  images += std::string(28 * 28, '\x10');
  t::WriteText(dir / "one.idx", images);
  t::WriteText(dir / "label200.idx", std::string("\0\0\x08\x01\0\0\0\x01\xC8", 9));
  CheckRejected(
      Audit(dir, ModelCriteria(dir / "const0.pt", dir / "one.idx", dir / "label200.idx", 10)),
      "label200.idx: label 200 (row 1) is outside the model's 10 output classes (0..9)");
  // A 3-output model on Fashion-MNIST's 10 classes.
  CheckRejected(Audit(dir, ModelCriteria(dir / "three.pt", FashionImages(), FashionLabels(), 200)),
                "is outside the model's 3 output classes (0..2)");
  const auto fifo = dir / "model.fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CheckRejected(Audit(dir, ModelCriteria(fifo, FashionImages(), FashionLabels(), 10)),
                "model.fifo: is a FIFO, expected a regular model file");
}

// The model path is swapped atomically (rename) between two models with different accuracies
// while audits run: the digest in each report must name the model whose accuracy it reports.
BOOST_AUTO_TEST_CASE(model_swapped_during_audits_digest_names_bytes_measured) {
  t::TempDir dir;
  MakeModels(dir.path());
  constexpr int kLimit = 500;
  // Independent reference: the fraction of the first kLimit labels equal to 0 and to 1 (numpy).
  const auto py = t::RunPython(
      "import gzip, numpy as np\n"
      "y = np.frombuffer(gzip.open('" +
      FashionLabels().string() + "').read()[8:], dtype=np.uint8)[:" + std::to_string(kLimit) +
      "]\nprint(repr(float((y == 0).mean())), repr(float((y == 1).mean())))\n");
  BOOST_REQUIRE(py.exit_code == 0);
  double acc0 = 0, acc1 = 0;
  std::istringstream(py.out) >> acc0 >> acc1;
  BOOST_REQUIRE(acc0 != acc1);
  const std::string sha0 = gl::Sha256Hex(t::ReadText(dir / "const0.pt"));
  const std::string sha1 = gl::Sha256Hex(t::ReadText(dir / "const1.pt"));
  std::filesystem::copy_file(dir / "const0.pt", dir / "model.pt");
  t::WriteText(dir / "criteria.yaml",
               ModelCriteria(dir / "model.pt", FashionImages(), FashionLabels(), kLimit));

  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    int i = 0;
    while (!stop) {
      const auto src = dir / ((i++ % 2) ? "const0.pt" : "const1.pt");
      const auto tmp = dir / ".model.pt.swap";
      std::filesystem::copy_file(src, tmp, std::filesystem::copy_options::overwrite_existing);
      std::filesystem::rename(tmp, dir / "model.pt");
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  int seen0 = 0, seen1 = 0;
  for (int run = 0; run < 16; ++run) {
    const auto r = t::RunCli("-q audit --criteria " + t::Quote(dir / "criteria.yaml") + " --out " +
                             t::Quote(dir / ("out" + std::to_string(run))));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const json report =
        json::parse(t::ReadText(dir / ("out" + std::to_string(run)) / "report.json"));
    const std::string sha = report["subject"][0]["digest"]["sha256"];
    const double acc = report["predicate"]["results"][0]["value"];
    BOOST_TEST((sha == sha0 || sha == sha1));
    if (sha == sha0) {
      ++seen0;
      BOOST_TEST(acc == acc0, "run " << run << ": const0's digest with accuracy " << acc);
    } else {
      ++seen1;
      BOOST_TEST(acc == acc1, "run " << run << ": const1's digest with accuracy " << acc);
    }
  }
  stop = true;
  swapper.join();
  BOOST_TEST_MESSAGE("reports naming const0: " << seen0 << ", const1: " << seen1);
}

// SIGKILL at random moments (seeded) of signed audits writing over an earlier report: the folder
// never holds a truncated or invalid report or an envelope that does not sign it.
BOOST_AUTO_TEST_CASE(sigkill_never_leaves_a_torn_or_mismatched_pair) {
  t::TempDir dir;
  BOOST_REQUIRE(t::RunCli("keygen --out " + t::Quote(dir / "k")).exit_code == 0);
  const gl::Ed25519PublicKey pub = gl::Ed25519PublicKey::FromPemFile(dir / "k.pub");
  t::WriteText(dir / "criteria.yaml", BlackBox(Parity("{lte: 0.1}", "    confidence: 0.9\n")));
  const std::vector<std::string> args = {"-q",         "audit",
                                         "--criteria", (dir / "criteria.yaml").string(),
                                         "--out",      (dir / "out").string(),
                                         "--key",      (dir / "k.key").string()};
  // One complete run, timed, so kills spread over every phase (start-up, loading, measuring,
  // signing, publishing).
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  waitpid(Spawn(args), &status, 0);
  BOOST_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) <= 2);
  const double full_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CheckPublishedPair(dir / "out", pub);

  std::mt19937_64 rng(20261129);
  std::uniform_real_distribution<double> when(0.0, 1.1 * full_s);
  int kills = 0, replaced = 0;
  std::string previous = t::ReadText(dir / "out" / "report.json");
  for (int i = 0; i < 120 && kills < 60; ++i) {
    const pid_t pid = Spawn(args);
    std::this_thread::sleep_for(std::chrono::duration<double>(when(rng)));
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++kills;
    CheckPublishedPair(dir / "out", pub);
    const std::string now = t::ReadText(dir / "out" / "report.json");
    if (now != previous) ++replaced;
    previous = now;
  }
  BOOST_TEST(kills >= 50);
  BOOST_TEST_MESSAGE(kills << " kills, report replaced " << replaced << " times; full run "
                           << full_s << " s");
  // A completed run cleans temporaries that killed runs left behind.
  waitpid(Spawn(args), &status, 0);
  BOOST_TEST(WIFEXITED(status));
  CheckPublishedPair(dir / "out", pub);
  BOOST_TEST(Hidden(dir / "out").empty());
}

// Concurrent signed audits into one folder: the last to publish wins, whole and paired.
BOOST_AUTO_TEST_CASE(concurrent_audits_do_not_interleave) {
  t::TempDir dir;
  BOOST_REQUIRE(t::RunCli("keygen --out " + t::Quote(dir / "k")).exit_code == 0);
  const gl::Ed25519PublicKey pub = gl::Ed25519PublicKey::FromPemFile(dir / "k.pub");
  for (int round = 0; round < 3; ++round) {
    std::vector<pid_t> pids;
    for (int j = 0; j < 4; ++j) {
      const auto c = dir / ("c" + std::to_string(j) + ".yaml");
      t::WriteText(c, BlackBox(Parity("{lte: 0.0" + std::to_string(j + 1) + "}")));
      pids.push_back(Spawn({"-q", "audit", "--criteria", c.string(), "--out",
                            (dir / "out").string(), "--key", (dir / "k.key").string()}));
    }
    for (pid_t p : pids) {
      int status = 0;
      waitpid(p, &status, 0);
      BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) <= 2));
    }
    CheckPublishedPair(dir / "out", pub);
    BOOST_TEST(Hidden(dir / "out").empty());
  }
}

BOOST_AUTO_TEST_CASE(write_errors_on_stdout_are_errors) {
  // The subshell's stdout is /dev/full; its stderr is captured.
  const auto r = t::RunShell(std::string("( '") + GREENLIGHT_CLI + "' metrics >/dev/full )");
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(r.err.find("greenlight: cannot write to standard output") != std::string::npos, r.err);
  // A pipe whose reader is gone: EPIPE, not a silent death by SIGPIPE and not exit 0.
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  const pid_t pid = Spawn({"metrics"}, fds[1]);
  ::close(fds[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 4);
}
