// Signal handling of the tool (see signals.hpp). The handler only sets a
// flag, unlinks one file and sends a cancel: never allocate, lock or print
// there.
#include "signals.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>

namespace trajc_cli {

namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

volatile std::sig_atomic_t g_interrupted = 0;
// Read by the handler; changed only with the signals blocked.
PGcancel* volatile g_cancel = nullptr;
char g_doomed_file[4096];  // "" = none

void on_signal(int sig) {
  g_interrupted = 1;
  if (g_doomed_file[0]) unlink(g_doomed_file);  // async-signal-safe
  // The default action again: a second Ctrl-C ends the process right away.
  std::signal(sig, SIG_DFL);
  if (g_cancel) {
    char errbuf[256];
    PQcancel(g_cancel, errbuf, sizeof errbuf);  // documented as signal-safe
  }
}

void install(void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) sigaction(sig, &sa, nullptr);
}

// Runs `change` with the handled signals blocked, so the handler never sees
// a half-made change.
template <typename F>
void while_blocked(F change) {
  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : kSignals) sigaddset(&block, sig);
  sigprocmask(SIG_BLOCK, &block, &old);
  change();
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

void set_cancel(PGcancel* next) {
  PGcancel* prev = nullptr;
  while_blocked([&] {
    prev = g_cancel;
    g_cancel = next;
  });
  if (prev) PQfreeCancel(prev);
}

}  // namespace

bool interrupted() { return g_interrupted != 0; }

InterruptScope::InterruptScope() { install(on_signal); }

InterruptScope::~InterruptScope() {
  set_cancel(nullptr);
  install(SIG_DFL);
}

void InterruptScope::cancel_on_signal(PGconn* conn) {
  set_cancel(conn ? PQgetCancel(conn) : nullptr);
}

void remove_on_signal(const std::string& path) {
  // A path too long for the buffer is not registered: a crash-safe name
  // (see out_file.cpp) still lets the next run clean it.
  const bool fits = path.size() < sizeof g_doomed_file;
  while_blocked([&] {
    if (fits)
      std::memcpy(g_doomed_file, path.c_str(), path.size() + 1);
    else
      g_doomed_file[0] = '\0';
  });
}

}  // namespace trajc_cli
