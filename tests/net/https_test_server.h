// A real HTTPS server on 127.0.0.1 for the network tests: a test CA and a server certificate made
// with the openssl command, and tests/net/test_server.py (Python's http.server + ssl) serving a
// folder and the intake and grid-intensity routes. Stopped (SIGTERM, then SIGKILL) on destruction,
// so it goes away even when a test fails; the script also exits if the test process dies.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

extern char** environ;

namespace greenlight::testing {

class HttpsTestServer {
 public:
  explicit HttpsTestServer(const std::string& token = "") {
    MakeCertificates();
    std::filesystem::create_directories(root());
    const std::string port_file = (dir_ / "port").string();
    std::vector<std::string> args = {
        GREENLIGHT_PYTHON, (SourceDir() / "tests" / "net" / "test_server.py").string(),
        "--cert",          (dir_ / "server.pem").string(),
        "--key",           (dir_ / "server.key").string(),
        "--root",          root().string(),
        "--port-file",     port_file};
    if (!token.empty()) {
      args.push_back("--token");
      args.push_back(token);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start the test server");
    }
    for (int i = 0; i < 200 && !std::filesystem::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!std::filesystem::exists(port_file)) {
      Stop();
      throw std::runtime_error("the test server did not start");
    }
    port_ = std::stoi(ReadText(port_file));
  }
  ~HttpsTestServer() { Stop(); }
  HttpsTestServer(const HttpsTestServer&) = delete;
  HttpsTestServer& operator=(const HttpsTestServer&) = delete;

  // Files placed here are served under /files/NAME (and the other file routes).
  std::filesystem::path root() const { return dir_ / "root"; }
  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  std::filesystem::path ca_file() const { return dir_ / "ca.pem"; }
  // A CA that did not sign the server's certificate (the untrusted case).
  std::filesystem::path other_ca_file() const { return dir_ / "other-ca.pem"; }

  // Environment for a greenlight run against this server: its CA, no proxy, short timeouts.
  std::string Env() const {
    return "CURL_CA_BUNDLE='" + ca_file().string() +
           "' no_proxy=127.0.0.1 NO_PROXY=127.0.0.1 GREENLIGHT_HTTP_TIMEOUT_S=5 "
           "GREENLIGHT_HTTP_CONNECT_TIMEOUT_S=2 GREENLIGHT_HTTP_RETRIES=2 ";
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 40; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  void Openssl(const std::string& args) {
    const auto r = RunShell("cd '" + dir_.string() + "' && openssl " + args);
    if (r.exit_code != 0) throw std::runtime_error("openssl " + args + ": " + r.err);
  }
  void MakeCertificates() {
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
    Openssl("req -x509 " + ec + "-keyout ca.key -out ca.pem -days 2 -subj /CN=greenlight-test-ca");
    Openssl("req -x509 " + ec +
            "-keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=greenlight-other-ca");
    Openssl("req " + ec + "-keyout server.key -out server.csr -subj /CN=127.0.0.1");
    WriteText(dir_ / "server.ext",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
              "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
              "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n");
    Openssl(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
        "-days 2 -extfile server.ext");
  }

  TempDir tmp_;
  std::filesystem::path dir_ = tmp_.path();
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace greenlight::testing
