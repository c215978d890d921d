#include "signals.hpp"

#include <csignal>

namespace trajc_cli {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
// Read by the handler; swapped only with the signals blocked.
PGcancel* volatile g_cancel = nullptr;

void on_signal(int sig) {
  g_interrupted = 1;
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
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void set_cancel(PGcancel* next) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old);
  PGcancel* prev = g_cancel;
  g_cancel = next;
  sigprocmask(SIG_SETMASK, &old, nullptr);
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

}  // namespace trajc_cli
