// Module load: the magic block and _PG_init (settings, the log redaction of
// key changes, then libcurl).
//
// Must never: do anything per query, or start a thread (libcurl is
// initialised here once, with signals off per request).
#include "cpp_call.hpp"
#include "guc.hpp"
#include "key_source.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

void _PG_init(void) {
  trajc_pg::define_gucs();
  trajc_pg::install_key_log_redaction();
  trajc_pg::run_cpp([] { trajc::http_global_init(); });
}
