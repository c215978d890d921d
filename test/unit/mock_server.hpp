// The mock model server (test/mock/mock_model_server.py) as a test resource:
// started as a subprocess on a free port, stopped when the object dies.
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

extern char** environ;

namespace trajc_test {

class MockServer {
 public:
  MockServer() {
    char dir_template[] = "/tmp/trajc-mock-XXXXXX";
    if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    const std::string port_file = dir_ + "/port";
    const std::string python = interpreter();
    const char* argv[] = {python.c_str(), TRAJC_MOCK_SERVER, "--port", "0", "--port-file", port_file.c_str(), nullptr};
    if (posix_spawnp(&pid_, argv[0], nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      throw std::runtime_error("cannot start " + python + " " TRAJC_MOCK_SERVER);
    }
    // Waiting for the server to listen is set-up, not a timing assertion.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (port_ == 0) {
      std::ifstream in(port_file);
      if (!(in >> port_)) port_ = 0;
      int status = 0;
      if (port_ == 0 && (waitpid(pid_, &status, WNOHANG) == pid_ || std::chrono::steady_clock::now() > give_up)) {
        pid_ = 0;
        throw std::runtime_error("mock server did not start");
      }
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  ~MockServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::remove((dir_ + "/port").c_str());
    rmdir(dir_.c_str());
  }

  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The request log: [{path, headers, body, session, directive, received_ms, replied_ms}].
  nlohmann::json requests() const { return get_json("/_requests"); }
  // Batch jobs by remote id: {vendor, model, polls, requests, as_file}.
  nlohmann::json batches() const { return get_json("/_batches"); }

 private:
  nlohmann::json get_json(const std::string& path) const {
    std::string body;
    CURL* easy = curl_easy_init();
    const std::string address = url() + path;
    curl_easy_setopt(easy, CURLOPT_URL, address.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) {
      static_cast<std::string*>(user)->append(data, size * n);
      return size * n;
    });
    const CURLcode rc = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    if (rc != CURLE_OK) throw std::runtime_error("GET " + path + " failed");
    return nlohmann::json::parse(body);
  }

  // $TRAJC_PYTHON, else the system interpreter: a version manager's python3
  // shim on PATH can cost most of a second per start, and every test starts one.
  static std::string interpreter() {
    if (const char* chosen = std::getenv("TRAJC_PYTHON"); chosen && *chosen) return chosen;
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  }

  std::string dir_;
  pid_t pid_ = 0;
  int port_ = 0;
};

}  // namespace trajc_test
