// The C++/Postgres bridge: how a Postgres phase calls into the core (run_cpp)
// and keeps C++ results alive across phases (box_new). raise_core_error
// (cpp_call.cpp) is its raising half.
//
// Postgres raises errors with longjmp, which skips C++ destructors and
// cannot cross a try block; C++ throws, which must never cross a Postgres
// frame. The rules, each once, with the mistake it prevents:
//
// 1. A core call runs inside run_cpp; it raises only after its try ended.
//      try { compile(); } catch (const trajc::Error& e) {
//        ereport(ERROR, ...);          // WRONG: longjmp out of a handler
//      }                               // leaks the exception, and later aborts
// 2. No Postgres call inside run_cpp's callable (palloc, SPI, ereport,
//    CHECK_FOR_INTERRUPTS: any of them may longjmp over C++ frames).
//      run_cpp([&] { std::string s = render(t);
//                    out = pstrdup(s.c_str()); });  // WRONG: pstrdup may raise
//                                                   // out of memory past ~string
// 3. The callable captures by reference only.
//      run_cpp([=] { use(name); });    // WRONG: the copies live in run_cpp's
//                                      // frame, which the raised error skips
// 4. No C++ object with a destructor is alive in a Postgres phase.
//      std::string json = dump(o);
//      spi_execute(plan, ...);         // WRONG: an SPI error longjmps past
//                                      // ~string; keep it in a box instead
// 5. C++ results that outlive a call live in a box owned by a memory context.
//      run->runner = new BatchRunner(s, cancel);  // WRONG: an error or a
//                                      // cancel leaks it, and its connections
// 6. Never return or throw from inside PG_TRY, never swallow its error.
//      PG_TRY(); { return insert(); }  // WRONG: PG_exception_stack is left
//      PG_END_TRY();                   // pointing at a dead frame
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
