// Where a provider's API key and base URL come from: the superuser-only
// setting, then Supabase Vault (read as the extension's owner), then the
// server's environment. Never returns a key to SQL, never logs one.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

enum class KeySource { None, Setting, Vault, Environment };

struct ProviderKey {
  KeySource source;
  char* key;       // NULL when source is None (and for offline)
  char* base_url;  // "" = the vendor's
};

// Resolves provider p's key and base URL in the caller's memory context;
// with `required`, no key is a 22023 error saying how to set one.
// Needs SPI connected. A base URL from Vault is used only with a key from
// Vault: a key set by a superuser or the server's operator never goes where
// a Vault writer says (see key_source.cpp).
ProviderKey resolve_provider_key(trajc::Provider p, bool required);

// 'setting' | 'vault' | 'environment' | 'none'
const char* key_source_name(KeySource s);

// Called once from _PG_init: keeps key values out of the server's
// "parameter ... changed to ..." lines when a reload changes a key setting.
void install_key_log_redaction();

}  // namespace trajc_pg
