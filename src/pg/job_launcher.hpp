// Background jobs at server start: the shared queue and the launcher.
//
// Must never: be called but from _PG_init, or do anything without the
// preload (background workers and shared memory are set up at server start).
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// While preloading: asks for the queue's shared memory and registers the
// launcher. Otherwise nothing: trajc_start then says the preload is missing.
void init_background_jobs(void);

}  // namespace trajc_pg
