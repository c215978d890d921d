// Module load: settings, libcurl, and the error bridge from the core.
#include "cpp_call.hpp"
#include "key_source.hpp"
#include "settings.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace trajc_pg {

Gucs gucs;

namespace {

const struct config_enum_entry kProviderOptions[] = {
    {"gemini", static_cast<int>(trajc::Provider::Gemini), false},
    {"openai", static_cast<int>(trajc::Provider::OpenAI), false},
    {"anthropic", static_cast<int>(trajc::Provider::Anthropic), false},
    {"offline", static_cast<int>(trajc::Provider::Offline), false},
    {nullptr, 0, false}};

bool check_tier(char** newval, void**, GucSource) {
  if (*newval == nullptr) return true;
  for (const char* t : {"cheap", "standard", "premium"})
    if (strcmp(*newval, t) == 0) return true;
  GUC_check_errdetail("trajc.tier must be cheap, standard or premium.");
  return false;
}

// Every way SQL reads a setting (SHOW, current_setting(), pg_settings) goes
// through its show hook: a key is never displayed, not even to a superuser or
// to pg_read_all_settings, which GUC_SUPERUSER_ONLY alone would let through.
const char* show_secret(void) { return "********"; }

// ALTER DATABASE/ROLE SET and CREATE FUNCTION ... SET store values in
// catalogs every role can read (pg_db_role_setting, pg_proc): refuse keys
// there. Those commands validate with PGC_S_TEST; values already stored
// arrive with the database/user sources.
bool check_secret(char** newval, void**, GucSource source) {
  if (*newval == nullptr || (*newval)[0] == '\0') return true;
  if (source != PGC_S_TEST && source != PGC_S_DATABASE && source != PGC_S_USER &&
      source != PGC_S_DATABASE_USER)
    return true;
  GUC_check_errmsg("trajc API keys cannot be stored as database, role or function settings");
  GUC_check_errdetail("Those settings are readable by every role.");
  GUC_check_errhint("Use ALTER SYSTEM, postgresql.conf or the server's environment.");
  return false;
}

void define_string(const char* name, const char* desc, char** var, const char* boot,
                   GucContext context, int flags = 0, GucStringCheckHook check = nullptr,
                   GucShowHook show = nullptr) {
  DefineCustomStringVariable(name, desc, nullptr, var, boot, context, flags, check, nullptr,
                             show);
}

void define_int(const char* name, const char* desc, int* var, int boot, int min, int max,
                int flags = 0) {
  DefineCustomIntVariable(name, desc, nullptr, var, boot, min, max, PGC_USERSET, flags, nullptr,
                          nullptr, nullptr);
}

}  // namespace

[[noreturn]] void raise_core_error(const char* sqlstate, const char* message) {
  if (strcmp(sqlstate, trajc::sqlstate::kQueryCanceled) == 0) CHECK_FOR_INTERRUPTS();
  ereport(ERROR, (errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3],
                                        sqlstate[4])),
                  errmsg("%s", message)));
  pg_unreachable();
}

}  // namespace trajc_pg

using trajc_pg::gucs;

void _PG_init(void) {
  using trajc_pg::define_int;
  using trajc_pg::define_string;

  define_string("trajc.source", "Table or view holding the audit log (resolved like ::regclass).",
                &gucs.source, "audit_log", PGC_USERSET);
  define_string("trajc.session_column", "Audit-log column that groups rows into trajectories.",
                &gucs.session_column, "session_id", PGC_USERSET);
  define_string("trajc.time_column", "Audit-log column that orders turns.", &gucs.time_column,
                "created_at", PGC_USERSET);
  define_string("trajc.agent_column", "Audit-log column naming who acted (empty = none).",
                &gucs.agent_column, "agent", PGC_USERSET);
  define_string("trajc.content_columns",
                "Comma list of columns rendered into a turn; empty = every other column.",
                &gucs.content_columns, "", PGC_USERSET);

  DefineCustomEnumVariable("trajc.provider", "Model provider: gemini, openai, anthropic, offline.",
                           nullptr, &gucs.provider, static_cast<int>(trajc::Provider::Gemini),
                           trajc_pg::kProviderOptions, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  define_string("trajc.tier", "Model tier: cheap, standard, premium (see trajc.models).",
                &gucs.tier, "cheap", PGC_USERSET, 0, trajc_pg::check_tier);
  define_string("trajc.model", "Model name overriding the tier map (empty = use the tier).",
                &gucs.model, "", PGC_USERSET);

  // Keys: superuser-only and hidden. Base URLs decide where keys are sent,
  // so only a superuser may change them too.
  const int secret = GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE;
  const char* names[3] = {"gemini", "openai", "anthropic"};
  for (int i = 0; i < 3; i++) {
    define_string(psprintf("trajc.%s_api_key", names[i]),
                  psprintf("API key for %s (falls back to the server's environment).", names[i]),
                  &gucs.api_key[i], "", PGC_SUSET, secret, trajc_pg::check_secret,
                  trajc_pg::show_secret);
    define_string(psprintf("trajc.%s_base_url", names[i]),
                  psprintf("Base URL for %s requests (empty = the vendor's).", names[i]),
                  &gucs.base_url[i], "", PGC_SUSET);
  }

  define_int("trajc.timeout_ms", "Total time allowed for one HTTP request.", &gucs.timeout_ms,
             120000, 100, 3600000, GUC_UNIT_MS);
  define_int("trajc.max_retries", "Retries on 429, 5xx and connection errors.",
             &gucs.max_retries, 3, 0, 20);
  define_int("trajc.concurrency", "Requests in flight at once in a batch.", &gucs.concurrency, 8,
             1, 256);
  define_int("trajc.max_requests_per_minute", "Request rate limit for a batch (0 = unlimited).",
             &gucs.max_requests_per_minute, 0, 0, 1000000);
  DefineCustomRealVariable("trajc.max_cost_usd",
                           "Spending limit per batch in USD (0 = unlimited).", nullptr,
                           &gucs.max_cost_usd, 0, 0, 1e9, PGC_USERSET, 0, nullptr, nullptr,
                           nullptr);
  define_int("trajc.prompt_budget_chars", "Longest rendered trajectory sent in one prompt.",
             &gucs.prompt_budget_chars, 400000, 1000, 100000000);
  define_int("trajc.max_value_chars", "Longest single value in a prompt before its middle is elided.",
             &gucs.max_value_chars, 4000, 100, 10000000);
  define_int("trajc.max_response_kb", "Largest model response accepted.", &gucs.max_response_kb,
             16384, 16, 1048576, GUC_UNIT_KB);

  // Loaded after the configuration was read (not preloaded): a key given in
  // postgresql.conf was a plain placeholder, readable by every role, until now.
  if (!process_shared_preload_libraries_in_progress)
    for (const char* key : gucs.api_key)
      if (key != nullptr && key[0] != '\0') {
        ereport(WARNING,
                (errmsg("trajc was loaded after its API key settings were read"),
                 errhint("Add trajc to shared_preload_libraries so the keys are never visible "
                         "as placeholder settings.")));
        break;
      }
  MarkGUCPrefixReserved("trajc");
  trajc_pg::install_key_log_redaction();
  trajc_pg::run_cpp([] { trajc::http_global_init(); });
}

namespace trajc_pg {

namespace {

bool fetch_model_row(const char* query, const char* a, const char* b, ModelChoice& out) {
  Oid types[2] = {TEXTOID, TEXTOID};
  Datum args[2] = {CStringGetTextDatum(a), CStringGetTextDatum(b)};
  int rc = SPI_execute_with_args(query, 2, types, args, nullptr, true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "trajc: reading trajc.models failed: %s", SPI_result_code_string(rc));
  if (SPI_processed == 0) return false;
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool isnull;
  out.model = TextDatumGetCString(SPI_getbinval(row, desc, 1, &isnull));
  out.usd_per_mtok_in = DatumGetFloat8(SPI_getbinval(row, desc, 2, &isnull));
  out.usd_per_mtok_out = DatumGetFloat8(SPI_getbinval(row, desc, 3, &isnull));
  return true;
}

}  // namespace

ModelChoice choose_model(const char* tier_arg, bool need_key) {
  ModelChoice c{};
  c.provider = static_cast<trajc::Provider>(gucs.provider);
  c.provider_name = trajc::provider_name(c.provider);
  c.tier = tier_arg != nullptr ? tier_arg : gucs.tier;
  char* tier = const_cast<char*>(c.tier);
  if (!check_tier(&tier, nullptr, PGC_S_SESSION))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("unknown tier \"%s\"", c.tier),
                    errhint("Use cheap, standard or premium.")));

  const char* select = "SELECT model, usd_per_mtok_in::float8, usd_per_mtok_out::float8"
                       " FROM trajc.models WHERE provider = $1 AND ";
  if (c.provider != trajc::Provider::Offline && gucs.model != nullptr && gucs.model[0] != '\0') {
    if (!fetch_model_row(psprintf("%smodel = $2 LIMIT 1", select), c.provider_name, gucs.model, c)) {
      c.model = pstrdup(gucs.model);  // unpriced: cost is recorded as 0
      ereport(NOTICE, (errmsg("model \"%s\" has no price in trajc.models; its cost is recorded as 0",
                              gucs.model)));
    }
  } else if (!fetch_model_row(psprintf("%stier = $2", select), c.provider_name, c.tier, c)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("trajc.models has no %s model for tier \"%s\"", c.provider_name, c.tier),
                    errhint("INSERT the model and its prices into trajc.models, or SET trajc.model.")));
  }

  c.api_key = nullptr;
  c.base_url = pstrdup("");
  if (c.provider == trajc::Provider::Offline) return c;
  // Setting, then Vault, then environment (key_source.cpp).
  ProviderKey k = resolve_provider_key(c.provider, need_key);
  c.api_key = k.key;
  c.base_url = k.base_url;
  return c;
}

}  // namespace trajc_pg
