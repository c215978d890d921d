// Every trajc.* setting: definitions, check hooks and the show hook that
// masks keys. The values are read by the Postgres phases of other files.
//
// Must never: define a setting whose boot value or bounds are written here
// rather than in trajc/defaults.hpp, show or log a key, or accept a key from
// a catalog every role can read.
#include "guc.hpp"

#include "cpp_call.hpp"

namespace trajc_pg {

Gucs gucs;

namespace defaults = trajc::defaults;

namespace {

constexpr const char* kTiers[] = {"cheap", "standard", "premium"};

// trajc.provider's options; filled from the core's names at load.
config_enum_entry provider_options[std::size(trajc::kProviders) + 1];

bool check_tier(char** newval, void**, GucSource) {
  if (*newval == nullptr || is_tier(*newval)) return true;
  GUC_check_errdetail("A tier must be cheap, standard or premium.");
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

void define_int(const char* name, const char* desc, int* var, defaults::Bounded<int> b,
                int flags = 0) {
  DefineCustomIntVariable(name, desc, nullptr, var, b.value, b.min, b.max, PGC_USERSET, flags,
                          nullptr, nullptr, nullptr);
}

void define_audit_log_settings(void) {
  define_string("trajc.source", "Table or view holding the audit log (resolved like ::regclass).",
                &gucs.source, defaults::kSource, PGC_USERSET);
  define_string("trajc.session_column", "Audit-log column that groups rows into trajectories.",
                &gucs.session_column, defaults::kSessionColumn, PGC_USERSET);
  define_string("trajc.time_column", "Audit-log column that orders turns.", &gucs.time_column,
                defaults::kTimeColumn, PGC_USERSET);
  define_string("trajc.agent_column", "Audit-log column naming who acted (empty = none).",
                &gucs.agent_column, defaults::kAgentColumn, PGC_USERSET);
  define_string("trajc.content_columns",
                "Comma list of columns rendered into a turn; empty = every other column.",
                &gucs.content_columns, defaults::kContentColumns, PGC_USERSET);
}

// Keys: superuser-only and hidden. Base URLs decide where keys are sent,
// so only a superuser may change them too.
void define_provider_settings(void) {
  int boot = 0;
  run_cpp([&] {
    int i = 0;
    for (trajc::Provider p : trajc::kProviders)
      provider_options[i++] = config_enum_entry{trajc::provider_name(p), static_cast<int>(p), false};
    boot = static_cast<int>(trajc::default_provider());
  });
  DefineCustomEnumVariable("trajc.provider", "Model provider: gemini, openai, anthropic, offline.",
                           nullptr, &gucs.provider, boot, provider_options, PGC_USERSET, 0, nullptr,
                           nullptr, nullptr);
  define_string("trajc.tier", "Model tier: cheap, standard, premium (see trajc.models).",
                &gucs.tier, defaults::kTier, PGC_USERSET, 0, check_tier);
  define_string("trajc.model", "Model name overriding the tier map (empty = use the tier).",
                &gucs.model, defaults::kModel, PGC_USERSET);
  // trajc_eval's judge: trajc.provider's model for this tier, or this model.
  define_string("trajc.judge_tier", "Tier of trajc_eval's judge model (see trajc.models).",
                &gucs.judge_tier, defaults::kJudgeTier, PGC_USERSET, 0, check_tier);
  define_string("trajc.judge_model",
                "trajc_eval's judge model (empty = the judge tier's); set, grader auto judges.",
                &gucs.judge_model, defaults::kJudgeModel, PGC_USERSET);

  const int secret = GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE;
  int i = 0;
  for (trajc::Provider p : trajc::kNetworkProviders) {
    ProviderGucs& g = gucs.providers[i++];
    g.provider = p;
    const char* name = trajc::provider_name(p);
    define_string(psprintf("trajc.%s_api_key", name),
                  psprintf("API key for %s (falls back to the server's environment).", name),
                  &g.api_key, "", PGC_SUSET, secret, check_secret, show_secret);
    define_string(psprintf("trajc.%s_base_url", name),
                  psprintf("Base URL for %s requests (empty = the vendor's).", name), &g.base_url,
                  "", PGC_SUSET);
  }
}

void define_request_settings(void) {
  define_int("trajc.timeout_ms", "Total time allowed for one HTTP request.", &gucs.timeout_ms,
             defaults::kTimeoutMs, GUC_UNIT_MS);
  define_int("trajc.max_retries", "Retries on 429, 5xx and connection errors.",
             &gucs.max_retries, defaults::kMaxRetries);
  define_int("trajc.concurrency", "Requests in flight at once in a batch.", &gucs.concurrency,
             defaults::kConcurrency);
  define_int("trajc.max_requests_per_minute", "Request rate limit for a batch (0 = unlimited).",
             &gucs.max_requests_per_minute, defaults::kMaxRequestsPerMinute);
  DefineCustomRealVariable("trajc.max_cost_usd",
                           "Spending limit per batch in USD (0 = unlimited).", nullptr,
                           &gucs.max_cost_usd, defaults::kMaxCostUsd.value,
                           defaults::kMaxCostUsd.min, defaults::kMaxCostUsd.max, PGC_USERSET, 0,
                           nullptr, nullptr, nullptr);
  define_int("trajc.prompt_budget_chars", "Longest rendered trajectory sent in one prompt.",
             &gucs.prompt_budget_chars, defaults::kPromptBudgetChars);
  define_int("trajc.max_value_chars", "Longest single value in a prompt before its middle is elided.",
             &gucs.max_value_chars, defaults::kMaxValueChars);
  define_int("trajc.max_response_kb", "Largest model response accepted.", &gucs.max_response_kb,
             defaults::kMaxResponseKb, GUC_UNIT_KB);
  define_int("trajc.batch_max_requests",
             "Requests per provider batch job (0 = the vendor's own limit); more jobs are sent.",
             &gucs.batch_max_requests, defaults::kBatchMaxRequests);
}

// trajc.verify's and trajc.redact's options.
config_enum_entry verify_options[std::size(trajc::kVerifyModes) + 1];
const config_enum_entry redact_options[] = {{"off", kRedactOff, false}, {"pii", kRedactPii, false},
                                            {nullptr, 0, false}};

int redact_boot(void) {
  for (const config_enum_entry& e : redact_options)
    if (e.name != nullptr && strcmp(e.name, defaults::kRedact) == 0) return e.val;
  elog(ERROR, "trajc: default trajc.redact \"%s\" is not an option", defaults::kRedact);
  pg_unreachable();
}

void define_quality_settings(void) {
  int verify_boot = 0;
  run_cpp([&] {
    for (int i = 0; i < static_cast<int>(std::size(trajc::kVerifyModes)); i++)
      verify_options[i] = config_enum_entry{trajc::kVerifyModes[i], i, false};
    verify_boot = static_cast<int>(trajc::verify_mode(defaults::kVerify));
  });
  DefineCustomEnumVariable("trajc.verify",
                           "Pair verification: off, literal (values of the answer must be in its "
                           "cited turns), model.",
                           nullptr, &gucs.verify, verify_boot, verify_options, PGC_USERSET, 0, nullptr,
                           nullptr, nullptr);
  define_string("trajc.verify_tier", "The verifier model's tier: cheap, standard, premium.",
                &gucs.verify_tier, defaults::kVerifyTier, PGC_USERSET, 0, check_tier);
  define_string("trajc.verify_model", "The verifier's model name overriding its tier (empty = use the tier).",
                &gucs.verify_model, defaults::kVerifyModel, PGC_USERSET);
  DefineCustomEnumVariable("trajc.redact",
                           "Redaction before a trajectory leaves the server: off, pii (e-mail, phone, "
                           "IP, card numbers, credentials become placeholders).",
                           nullptr, &gucs.redact, redact_boot(), redact_options, PGC_USERSET, 0,
                           nullptr, nullptr, nullptr);
  DefineCustomRealVariable("trajc.dedup_threshold",
                           "Question similarity at which a pair is a near-duplicate (1 = exact only).",
                           nullptr, &gucs.dedup_threshold, defaults::kDedupThreshold.value,
                           defaults::kDedupThreshold.min, defaults::kDedupThreshold.max, PGC_USERSET,
                           0, nullptr, nullptr, nullptr);
}

// A server setting: the launcher (job_launcher.cpp) reads it on SIGHUP; a
// session's value would mean nothing to jobs started elsewhere.
void define_job_settings(void) {
  DefineCustomIntVariable("trajc.max_jobs",
                          "Background jobs (trajc_start) running at once on the server.", nullptr,
                          &gucs.max_jobs, defaults::kMaxJobs.value, defaults::kMaxJobs.min,
                          defaults::kMaxJobs.max, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
}

// Loaded after the configuration was read (not preloaded): a key given in
// postgresql.conf was a plain placeholder, readable by every role, until now.
void warn_if_keys_were_placeholders(void) {
  if (process_shared_preload_libraries_in_progress) return;
  for (const ProviderGucs& g : gucs.providers)
    if (g.api_key != nullptr && g.api_key[0] != '\0') {
      ereport(WARNING,
              (errmsg("trajc was loaded after its API key settings were read"),
               errhint("Add trajc to shared_preload_libraries so the keys are never visible "
                       "as placeholder settings.")));
      return;
    }
}

}  // namespace

void define_gucs(void) {
  define_audit_log_settings();
  define_provider_settings();
  define_request_settings();
  define_quality_settings();
  define_job_settings();
  warn_if_keys_were_placeholders();
  MarkGUCPrefixReserved("trajc");
}

const ProviderGucs& provider_gucs(trajc::Provider p) {
  for (const ProviderGucs& g : gucs.providers)
    if (g.provider == p) return g;
  elog(ERROR, "trajc: provider %d has no key settings", static_cast<int>(p));
  pg_unreachable();
}

bool is_tier(const char* name) {
  for (const char* t : kTiers)
    if (strcmp(name, t) == 0) return true;
  return false;
}

}  // namespace trajc_pg
