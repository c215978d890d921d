// The trajc.* settings (GUCs), defined in _PG_init.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// Values live in Postgres' GUC machinery; read them only in Postgres phases.
struct Gucs {
  // where the audit log is
  char* source;
  char* session_column;
  char* time_column;
  char* agent_column;
  char* content_columns;
  // which model
  int provider;  // trajc::Provider
  char* tier;
  char* model;
  char* api_key[3];   // gemini, openai, anthropic (superuser only, hidden)
  char* base_url[3];  // superuser only: they decide where keys are sent
  // how to call it
  int timeout_ms;
  int max_retries;
  int concurrency;
  int max_requests_per_minute;
  double max_cost_usd;
  int prompt_budget_chars;
  int max_value_chars;
  int max_response_kb;
};
extern Gucs gucs;

// Everything a compile run needs, as plain values (phase 1 snapshot).
struct ModelChoice {
  trajc::Provider provider;
  const char* provider_name;
  const char* tier;
  char* model;
  double usd_per_mtok_in;
  double usd_per_mtok_out;
  char* api_key;   // NULL for offline
  char* base_url;  // "" = vendor default
};

// Resolves provider, tier (argument, else trajc.tier), model and prices
// (trajc.models, trajc.model overrides) and the API key. Needs SPI connected.
// Raises 22023 for an unknown tier and a hinted error for a missing key.
ModelChoice choose_model(const char* tier_arg, bool need_key);

}  // namespace trajc_pg
