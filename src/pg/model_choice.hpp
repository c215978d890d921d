// Which model a compile run uses: provider, tier, model name and prices from
// trajc.models, and the key and base URL, as plain values for the core.
//
// Must never: put a key in an error message, a hint or a log line; or read
// a setting after the run's phase 1 (the snapshot is what the core sees).
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// Everything a compile run needs to reach its model (phase 1 snapshot).
struct ModelChoice {
  trajc::Provider provider;
  const char* provider_name;
  const char* tier;
  char* model;
  double usd_per_mtok_in;
  double usd_per_mtok_out;
  double batch_discount;  // share of the list price charged in provider batch mode
  char* api_key;   // NULL for offline, or when no key is needed and none is set
  char* base_url;  // "" = vendor default
};

// Where a network provider's requests go and with which key, resolved as for
// a compile (key_source.cpp: setting, Vault, environment); api_key NULL when
// none has one. Needs SPI connected.
struct ProviderAccess {
  char* api_key;
  char* base_url;  // "" = vendor default
};
ProviderAccess provider_access(trajc::Provider p);

// Resolves provider, tier (argument, else trajc.tier), model and prices
// (trajc.models, trajc.model overrides) and the API key. Needs SPI connected.
// Raises 22023 for an unknown tier or a missing model or key (with hints),
// 22004 for a trajc.models row with a NULL model or price.
ModelChoice choose_model(const char* tier_arg, bool need_key);
// The same for a given provider, model (NULL or empty = the tier's) and tier:
// trajc_eval's candidate and judge.
ModelChoice choose_model_for(trajc::Provider provider, const char* model, const char* tier,
                             bool need_key);

}  // namespace trajc_pg
