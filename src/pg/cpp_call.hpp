// Phase 2 of every SQL-callable function: one guarded call into the core.
//
// run_cpp() catches everything the core can throw, copies the message into a
// fixed buffer and only raises ereport(ERROR) after the try statement has
// ended, so no C++ frame is skipped by longjmp. The callable must capture by
// reference only: it stays alive while the error is raised.
//
// Results that outlive the call live in a CppBox: an object owned by a memory
// context, deleted by the context's reset callback, so an error or a cancel
// still frees it.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// Raises the error a core call reported. For a cancel it first lets Postgres
// raise its own error (57014 with the real reason: cancel or statement_timeout).
[[noreturn]] void raise_core_error(const char* sqlstate, const char* message);

template <typename Fn>
void run_cpp(Fn&& fn) {
  char sqlstate[6] = {0};
  char message[1024] = {0};
  auto keep = [&](const char* code, const char* what) noexcept {
    std::strncpy(sqlstate, code, sizeof sqlstate - 1);
    std::strncpy(message, what, sizeof message - 1);
  };
  try {
    fn();
  } catch (const trajc::Error& e) {
    keep(e.code().c_str(), e.what());
  } catch (const std::bad_alloc&) {
    keep(trajc::sqlstate::kOutOfMemory, "out of memory in trajc core");
  } catch (const std::exception& e) {
    keep(trajc::sqlstate::kInternal, e.what());
  } catch (...) {
    keep(trajc::sqlstate::kInternal, "unknown C++ exception in trajc core");
  }
  if (sqlstate[0] != '\0') raise_core_error(sqlstate, message);
}

// A C++ object owned by a memory context; make() returns it from `new`.
template <typename T, typename Make>
T* box_new(MemoryContext owner, Make&& make) {
  struct Box {
    T* object;
    MemoryContextCallback callback;
  };
  Box* box = static_cast<Box*>(MemoryContextAllocZero(owner, sizeof(Box)));
  run_cpp([&] { box->object = make(); });
  box->callback.func = [](void* arg) {
    Box* b = static_cast<Box*>(arg);
    delete b->object;  // destructors are noexcept
    b->object = nullptr;
  };
  box->callback.arg = box;
  MemoryContextRegisterResetCallback(owner, &box->callback);
  return box->object;
}

template <typename T>
T* box_new(MemoryContext owner) {
  return box_new<T>(owner, [] { return new T(); });
}

}  // namespace trajc_pg
