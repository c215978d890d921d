// API keys and base URLs without a superuser: the lookup order of the
// contract (setting, Supabase Vault, environment) and trajc_key_source().
//
// Vault is read with the rights of the trajc extension's owner, never the
// caller's, so a role allowed to compile needs no Vault privilege. That makes
// this file a privilege boundary; it must never:
//   - read a secret other than trajc_<provider>_api_key / _base_url (the names
//     are built here from the provider enum, never from SQL input);
//   - run anything the caller can influence while switched to the owner: the
//     query is fixed and schema-qualified, its operator is pinned to
//     pg_catalog, search_path is pinned to pg_catalog, pg_temp, and the switch
//     is a security-restricted operation (no SET ROLE, no temp objects);
//   - read a vault.decrypted_secrets that the Vault extension does not own
//     (anyone with CREATE on the database could make a schema "vault" with a
//     view whose functions would then run as the owner);
//   - hand a key to SQL: trajc_key_source() says where a key comes from only.
//
// Why not a SECURITY DEFINER SQL function owned by the extension's owner?
// It would be a callable object that returns the plaintext key; it stays safe
// only as long as its ACL does (default privileges, a GRANT ON ALL FUNCTIONS
// IN SCHEMA, a dump restored by another role). Here no SQL object returns a
// key at all: it only flows from Vault into the request's header.
#include "key_source.hpp"

#include "guc.hpp"
#include "spi_util.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"

PG_FUNCTION_INFO_V1(trajc_key_source);
}

namespace trajc_pg {

namespace {

// pg_extension.extowner of trajc (PG 15 has no syscache for pg_extension).
Oid extension_owner() {
  Oid ext = get_extension_oid("trajc", false);
  Relation rel = table_open(ExtensionRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
  SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
  HeapTuple tuple = systable_getnext(scan);
  Oid owner = HeapTupleIsValid(tuple)
                  ? reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner
                  : InvalidOid;
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  if (!OidIsValid(owner)) elog(ERROR, "trajc: extension owner not found");
  return owner;
}

// True when vault.decrypted_secrets exists and belongs to the supabase_vault
// extension. Catalog lookups, not SQL: nothing here depends on search_path.
// The lock keeps the view from being dropped or renamed before it is read.
bool vault_present() {
  Oid vault = get_extension_oid("supabase_vault", true);
  if (!OidIsValid(vault)) return false;
  Oid nsp = get_namespace_oid("vault", true);
  if (!OidIsValid(nsp)) return false;
  Oid view = get_relname_relid("decrypted_secrets", nsp);
  if (!OidIsValid(view)) return false;
  LockRelationOid(view, AccessShareLock);
  if (getExtensionOfObject(RelationRelationId, view) != vault) {
    ereport(DEBUG1, (errmsg("trajc: vault.decrypted_secrets is not Vault's own view; not read")));
    return false;
  }
  return true;
}

const char* const kVaultQuery =
    "SELECT decrypted_secret FROM vault.decrypted_secrets"
    " WHERE name OPERATOR(pg_catalog.=) $1"
    " ORDER BY updated_at DESC LIMIT 1";

// The newest Vault secret called `name`, copied into the caller's memory
// context; NULL when there is none or it is empty.
char* vault_secret(const char* name) {
  MemoryContext caller = CurrentMemoryContext;
  Oid owner = extension_owner();
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  int nest = NewGUCNestLevel();
  char* value = nullptr;
  SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                    SECURITY_RESTRICTED_OPERATION);
  PG_TRY();
  {
    (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                            GUC_ACTION_SAVE, true, 0, false);
    Oid types[1] = {TEXTOID};
    Datum args[1] = {CStringGetTextDatum(name)};
    int rc = SPI_execute_with_args(kVaultQuery, 1, types, args, nullptr, true, 1);
    if (rc != SPI_OK_SELECT)
      elog(ERROR, "trajc: reading Vault failed: %s", SPI_result_code_string(rc));
    bool isnull = true;
    Datum d = SPI_processed > 0
                  ? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)
                  : Datum(0);
    if (!isnull) {
      MemoryContextSwitchTo(caller);
      value = TextDatumGetCString(d);
      if (value[0] == '\0') value = nullptr;
    }
    SPI_freetuptable(SPI_tuptable);  // the decrypted text does not linger in SPI's memory
  }
  PG_CATCH();
  {
    // Abort restores both too; this covers a caller that catches the error.
    SetUserIdAndSecContext(saved_user, saved_context);
    PG_RE_THROW();
  }
  PG_END_TRY();
  AtEOXact_GUC(false, nest);
  SetUserIdAndSecContext(saved_user, saved_context);
  MemoryContextSwitchTo(caller);
  return value;
}

emit_log_hook_type previous_emit_log_hook = nullptr;

// A reload that changes a setting makes the postmaster log
// `parameter "trajc.gemini_api_key" changed to "<the key>"` at LOG level:
// such a line leaves with the value replaced. Runs while an error is being
// reported (in ErrorContext): no error may be raised here.
void redact_key_change(ErrorData* edata) {
  const char* m = edata->message;
  if (edata->message_id != nullptr && m != nullptr &&
      strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") == 0) {
    const char* name = strstr(m, "trajc.");
    const char* end = name != nullptr ? strstr(name, "_api_key") : nullptr;
    if (end != nullptr)
      edata->message = psprintf("parameter \"%.*s_api_key\" changed to \"********\"",
                                static_cast<int>(end - name), name);
  }
  if (previous_emit_log_hook != nullptr) previous_emit_log_hook(edata);
}

char* vault_name(trajc::Provider p, const char* what) {
  return psprintf("trajc_%s_%s", trajc::provider_name(p), what);
}

bool empty(const char* s) { return s == nullptr || s[0] == '\0'; }

}  // namespace

const char* key_source_name(KeySource s) {
  switch (s) {
    case KeySource::Setting: return "setting";
    case KeySource::Vault: return "vault";
    case KeySource::Environment: return "environment";
    case KeySource::None: return "none";
  }
  return "none";
}

void install_key_log_redaction() {
  previous_emit_log_hook = emit_log_hook;
  emit_log_hook = redact_key_change;
}

ProviderKey resolve_provider_key(trajc::Provider p, bool required) {
  ProviderKey k{KeySource::None, nullptr, pstrdup("")};
  if (p == trajc::Provider::Offline) return k;
  const ProviderGucs& g = provider_gucs(p);
  if (!empty(g.base_url)) k.base_url = pstrdup(g.base_url);

  if (!empty(g.api_key)) {
    k.source = KeySource::Setting;
    k.key = pstrdup(g.api_key);
  } else if (vault_present() && (k.key = vault_secret(vault_name(p, "api_key"))) != nullptr) {
    k.source = KeySource::Vault;
    // Only a Vault key may go to a Vault URL: whoever can write that secret
    // could read the key anyway, which is not true of a superuser's setting
    // or the server's environment.
    if (empty(g.base_url)) {
      char* url = vault_secret(vault_name(p, "base_url"));
      if (url != nullptr) k.base_url = url;
    }
  } else {
    const char* env = getenv(trajc::api_key_env_var(p));
    if (!empty(env)) {
      k.source = KeySource::Environment;
      k.key = pstrdup(env);
    }
  }
  if (k.key == nullptr && required)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("no API key for provider \"%s\"", trajc::provider_name(p)),
                    errhint("Store it in Supabase Vault as trajc_%s_api_key (SELECT "
                            "vault.create_secret('...', 'trajc_%s_api_key')), or a superuser sets "
                            "trajc.%s_api_key (ALTER SYSTEM SET ...; SELECT pg_reload_conf()) or "
                            "the server's %s environment variable; or SET trajc.provider = "
                            "'offline' to compile without a model.",
                            trajc::provider_name(p), trajc::provider_name(p),
                            trajc::provider_name(p), trajc::api_key_env_var(p))));
  return k;
}

}  // namespace trajc_pg

// trajc_key_source(provider text) RETURNS text: where provider's key would
// come from now, never the key. Unknown provider: 22023.
extern "C" Datum trajc_key_source(PG_FUNCTION_ARGS) {
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  for (trajc::Provider p : {trajc::Provider::Gemini, trajc::Provider::OpenAI,
                            trajc::Provider::Anthropic, trajc::Provider::Offline}) {
    if (strcmp(name, trajc::provider_name(p)) != 0) continue;
    trajc_pg::spi_connect();
    trajc_pg::KeySource source = trajc_pg::resolve_provider_key(p, false).source;
    SPI_finish();  // frees the key with SPI's memory
    PG_RETURN_TEXT_P(cstring_to_text(trajc_pg::key_source_name(source)));
  }
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                  errmsg("unknown provider \"%s\"", name),
                  errhint("Use gemini, openai, anthropic or offline.")));
  PG_RETURN_NULL();
}
