// The trajc.* settings (GUCs): the variables Postgres keeps them in, and
// their definition at module load. Boot values and bounds come from
// trajc/defaults.hpp.
//
// Must never: show a key (the show hook masks it, everywhere SQL can read a
// setting), accept a key from a catalog every role can read, let a role
// other than a superuser change where keys are sent (base URLs), or be read
// in a C++ phase (copy what the core needs into plain values first).
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// One network provider's settings, looked up by provider, never by position.
struct ProviderGucs {
  trajc::Provider provider;
  char* api_key;   // superuser only, hidden; empty = the server's environment
  char* base_url;  // superuser only: it decides where keys are sent; empty = the vendor's
};

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
  char* judge_tier;   // trajc_eval's judge
  char* judge_model;
  ProviderGucs providers[std::size(trajc::kNetworkProviders)];
  // how to call it
  int timeout_ms;
  int max_retries;
  int concurrency;
  int max_requests_per_minute;
  double max_cost_usd;
  int prompt_budget_chars;
  int max_value_chars;
  int max_response_kb;
  // provider batch mode
  int batch_max_requests;
  // pair quality
  int verify;       // trajc::VerifyMode
  char* verify_tier;
  char* verify_model;
  int redact;       // RedactMode
  double dedup_threshold;
  // background jobs (a server setting, read by the job launcher)
  int max_jobs;
};

// trajc.redact's values.
enum RedactMode { kRedactOff = 0, kRedactPii = 1 };
extern Gucs gucs;

// Defines every trajc.* setting and reserves the prefix (from _PG_init).
void define_gucs(void);
// The key and base URL settings of a network provider (not offline).
const ProviderGucs& provider_gucs(trajc::Provider p);
// cheap, standard or premium.
bool is_tier(const char* name);

}  // namespace trajc_pg
