// The client engine's run (see client_compile.hpp): the extension's run
// driver (src/pg/run.cpp) with libpq at the edges. One loop loads sessions
// (claim, read, hash-skip, estimate), starts them in the core's BatchRunner
// while slots, rate and budget allow, waits for replies and stores each
// finished session in a transaction of its own, then releases its claim.
//
// Must never: build a prompt, parse a reply or price a call (the core does),
// put the API key in a message or row, or store a session outside its claim.
#include "client_compile.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "client_schema.hpp"
#include "client_source.hpp"
#include "signals.hpp"
#include "trajc/compile.hpp"
#include "trajc/error.hpp"
#include "trajc/pair_sql.hpp"
#include "trajc/safe_text.hpp"

#include <nlohmann/json.hpp>

namespace trajc_cli {

namespace {

// The extension's claim key (src/pg/claims.cpp): hash_bytes_extended of the
// session id with the seed "trajc_v1", which SQL spells hashtextextended.
// pg_try_advisory_lock(bigint) takes the same lock tag, so a tool and a
// server run never hold one session at once.
const char* const kClaimKey = "pg_catalog.hashtextextended($1, 8390876165306283569)";
constexpr long kWaitSliceMs = 200;
constexpr const char* kOverBudget = "not started: trajc.max_cost_usd reached";

std::string option_or_env(const ParsedArgs& a, const char* option, const char* env,
                          const std::string& fallback = {}) {
  if (auto v = a.maybe(option)) return *v;
  const char* e = std::getenv(env);
  return e && *e ? e : fallback;
}

template <typename T>
T bounded(const ParsedArgs& a, const char* option, const char* env,
          const trajc::defaults::Bounded<T>& b) {
  const std::string text = option_or_env(a, option, env);
  if (text.empty()) return b.value;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || v < b.min || v > b.max)
    throw usage_error(std::string("--") + option + " must be a number from " +
                      std::to_string(b.min) + " to " + std::to_string(b.max) + ", got \"" + text +
                      "\"");
  return static_cast<T>(v);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The key: --key-file (its first line), else the provider's variable. Never
// an argument: the command line is visible to every user of the machine.
std::string api_key(const ParsedArgs& a, trajc::Provider p) {
  if (auto path = a.maybe("key-file")) {
    std::ifstream in(*path);
    std::string key;
    if (!in || !std::getline(in, key))
      throw usage_error("cannot read the key file \"" + *path + "\"");
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    return key;
  }
  const char* env = trajc::api_key_env_var(p);
  const char* key = std::getenv(env);
  if (!key || !*key)
    throw usage_error(std::string("no API key for ") + trajc::provider_name(p),
                      std::string("set ") + env + " or pass --key-file FILE");
  return key;
}

// Model and prices from trajc.models, as the extension's model_choice.cpp:
// a model by name (unpriced: cost 0), else the tier's row. `flag` names the
// option that sets the model, for the hint.
trajc::ModelEndpoint priced_model(Pg& db, trajc::Provider p, const std::string& tier,
                                  const std::string& model, const std::string& flag) {
  const std::string provider = trajc::provider_name(p);
  if (tier != "cheap" && tier != "standard" && tier != "premium")
    throw usage_error("unknown tier \"" + tier + "\"", "use cheap, standard or premium");
  const bool by_name = p != trajc::Provider::Offline && !model.empty();
  PgResult row = db.exec(
      "SELECT model, usd_per_mtok_in::float8, usd_per_mtok_out::float8 FROM trajc.models"
      " WHERE provider = $1 AND " + std::string(by_name ? "model" : "tier") + " = $2 LIMIT 1",
      {provider.c_str(), by_name ? model.c_str() : tier.c_str()});
  trajc::ModelEndpoint e;
  e.provider = p;
  if (PQntuples(row.get()) == 0) {
    if (!by_name)
      throw usage_error("trajc.models has no " + provider + " model for tier \"" + tier + "\"",
                        "INSERT the model and its prices into trajc.models, or pass " + flag);
    std::fprintf(stderr, "trajc: model \"%s\" has no price in trajc.models; its cost is recorded as 0\n",
                 model.c_str());
    e.model = model;
    return e;
  }
  e.model = PQgetvalue(row.get(), 0, 0);
  e.prices = trajc::Prices{std::atof(PQgetvalue(row.get(), 0, 1)),
                           std::atof(PQgetvalue(row.get(), 0, 2))};
  return e;
}

void choose_model(Pg& db, const ParsedArgs& a, trajc::CompileSettings& s) {
  const trajc::ModelEndpoint e =
      priced_model(db, s.provider, option_or_env(a, "tier", "TRAJC_TIER", trajc::defaults::kTier),
                   option_or_env(a, "model", "TRAJC_MODEL"), "--model");
  s.model = e.model;
  s.prices = e.prices;
}

// --verify (TRAJC_VERIFY): off, literal (the default) or model, as
// trajc.verify; the model verifier is the provider's model for --verify-tier,
// or --verify-model, reached with the compile's key and base URL.
void choose_verification(Pg& db, const ParsedArgs& a, trajc::CompileSettings& s) {
  namespace d = trajc::defaults;
  const std::string mode = option_or_env(a, "verify", "TRAJC_VERIFY", d::kVerify);
  try {
    s.quality.verify = trajc::verify_mode(mode.c_str());
  } catch (const trajc::Error& e) {
    throw usage_error(e.what(), "use off, literal or model");
  }
  if (s.quality.verify != trajc::VerifyMode::Model) return;
  if (s.provider == trajc::Provider::Offline)
    throw usage_error("--verify model needs a model provider, not offline",
                      "pass --provider gemini, openai or anthropic, or --verify literal");
  s.verifier = priced_model(db, s.provider,
                            option_or_env(a, "verify-tier", "TRAJC_VERIFY_TIER", d::kVerifyTier),
                            option_or_env(a, "verify-model", "TRAJC_VERIFY_MODEL", d::kVerifyModel),
                            "--verify-model");
  s.verifier.api_key = s.api_key;
  s.verifier.base_url = s.base_url;
}

trajc::CompileSettings client_settings(Pg& db, const ParsedArgs& a) {
  namespace d = trajc::defaults;
  trajc::CompileSettings s;
  const std::string provider = option_or_env(a, "provider", "TRAJC_PROVIDER", d::kProvider);
  try {
    s.provider = trajc::parse_provider(provider);
  } catch (const trajc::Error& e) {
    throw usage_error(e.what(), "use gemini, openai, anthropic or offline");
  }
  choose_model(db, a, s);
  if (s.provider != trajc::Provider::Offline) {
    s.api_key = api_key(a, s.provider);
    s.base_url = option_or_env(a, "base-url",
                               ("TRAJC_" + upper(trajc::provider_name(s.provider)) + "_BASE_URL").c_str());
  }
  s.concurrency = bounded(a, "concurrency", "TRAJC_CONCURRENCY", d::kConcurrency);
  s.max_retries = bounded(a, "max-retries", "TRAJC_MAX_RETRIES", d::kMaxRetries);
  s.timeout_ms = bounded(a, "timeout-ms", "TRAJC_TIMEOUT_MS", d::kTimeoutMs);
  s.max_requests_per_minute =
      bounded(a, "max-requests-per-minute", "TRAJC_MAX_REQUESTS_PER_MINUTE", d::kMaxRequestsPerMinute);
  s.max_cost_usd = bounded(a, "max-cost-usd", "TRAJC_MAX_COST_USD", d::kMaxCostUsd);
  choose_verification(db, a, s);
  return s;
}

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string int_or_null(long v) { return v == 0 ? std::string() : std::to_string(v); }

// A session's log row, its pairs and their band keys in one statement: one
// round trip, and its own transaction (autocommit), so a session is stored
// whole or not at all. The pairs come as a JSON array ($18) of text fields,
// cast as the extension's typed inserts cast them, each with what the
// quality pass and the duplicate lookup found (verified_by, question_key,
// duplicate_of) and, for an original, its band keys, which later pairs of
// other sessions are looked up by (trajc::pair_sql, as the extension).
std::string store_session_sql(bool with_bands) {
  std::string sql =
      "WITH log AS (INSERT INTO trajc.compile_log (session_id, trajectory_hash, provider, model,"
      " status, turn_count, pairs_kept, pairs_rejected, rejected_reasons, tokens_in, tokens_out,"
      " cost_usd, http_status, attempts, error, started_at, finished_at) VALUES ($1, $2, $3, $4, $5,"
      " $6::int, $7::int, $8::int, $9::jsonb, $10::bigint, $11::bigint, $12::float8::numeric,"
      " $13::int, $14::int, $15,"
      " coalesce(pg_catalog.to_timestamp($16::float8 / 1000), pg_catalog.now()),"
      " coalesce(pg_catalog.to_timestamp($17::float8 / 1000), pg_catalog.clock_timestamp()))"
      " RETURNING id),"
      " src AS MATERIALIZED (SELECT pg_catalog.gen_random_uuid() AS id, p.*"
      " FROM pg_catalog.jsonb_to_recordset($18::jsonb) AS p(question text, answer text,"
      " supporting_turns text, qa_type text, raw_extraction text, verified_by text,"
      " duplicate_of text, question_key text, bands bigint[])),"
      " pairs AS (INSERT INTO trajc.qa_pairs (id, session_id, agent, turn_count, question, answer,"
      " supporting_turns, qa_type, source_model, cost_usd, raw_extraction, trajectory_hash,"
      " compile_id, verified_by, duplicate_of, question_key) SELECT p.id, $1, $19, $20::int,"
      " p.question, p.answer, p.supporting_turns::jsonb, p.qa_type, $21, $22::float8::numeric,"
      " p.raw_extraction::jsonb, $2, log.id, p.verified_by, p.duplicate_of::uuid, p.question_key"
      " FROM log, src p RETURNING id)";
  if (with_bands)
    sql += ", bands AS (INSERT INTO trajc.qa_pair_bands (band_key, pair_id, session_id)"
           " SELECT pg_catalog.unnest(p.bands), p.id, $1 FROM src p JOIN pairs USING (id)"
           " WHERE p.bands IS NOT NULL ON CONFLICT DO NOTHING)";
  return sql + " SELECT id FROM log";
}

// What the store adds to a kept pair: its duplicate mark and band keys.
struct StoredMark {
  std::string duplicate_of;  // empty: an original
  const trajc::QuestionFingerprint* fingerprint;
  std::string verified_by;
};

// The kept pairs as the JSON array store_session_sql reads.
std::string pairs_json(const std::vector<trajc::QaPair>& pairs, const std::vector<StoredMark>& marks) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < pairs.size(); i++) {
    const trajc::QaPair& p = pairs[i];
    const StoredMark& m = marks[i];
    nlohmann::json bands;  // null for a marked duplicate: a bucket holds one pair per kind of question
    if (m.duplicate_of.empty()) bands = m.fingerprint->bands;
    out.push_back({{"question", p.question},
                   {"answer", p.answer},
                   {"supporting_turns", trajc::supporting_turns_json(p.supporting_turns)},
                   {"qa_type", p.qa_type},
                   {"raw_extraction", p.raw_json.empty() ? nlohmann::json() : nlohmann::json(p.raw_json)},
                   {"verified_by", m.verified_by.empty() ? nlohmann::json() : nlohmann::json(m.verified_by)},
                   {"duplicate_of", m.duplicate_of.empty() ? nlohmann::json() : nlohmann::json(m.duplicate_of)},
                   {"question_key", m.fingerprint->key},
                   {"bands", bands}});
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class ClientRun {
 public:
  ClientRun(Pg& db, const ParsedArgs& a)
      : db_(db), settings_(client_settings(db, a)), force_(a.has("force")),
        runner_(settings_, interrupted),
        batches_(db.scalar("SELECT pg_catalog.to_regprocedure('trajc.open_batch_of(text)')"
                           " IS NOT NULL") == "t"),
        // Tables made by a `trajc init` older than the band index: exact
        // repeats are still marked, by question_key.
        bands_(db.scalar("SELECT pg_catalog.to_regclass('trajc.qa_pair_bands') IS NOT NULL") == "t"),
        store_sql_(store_session_sql(bands_)) {}

  CompileReport run(std::vector<std::string> todo) {
    todo_ = std::move(todo);
    report_.planned = todo_.size();
    Progress progress(todo_.size(), isatty(STDERR_FILENO) != 0);
    progress_ = &progress;
    try {
      loop();
    } catch (const trajc::Error& e) {
      if (e.code() != trajc::sqlstate::kQueryCanceled) throw;
      report_.interrupted = true;  // the runner saw Ctrl-C: in-flight sessions are dropped
    }
    progress.finish();
    release_all();
    return report_;
  }

 private:
  void loop() {
    for (;;) {
      if (interrupted()) {
        report_.interrupted = true;
        return;
      }
      start_what_fits();
      if (runner_.active() == 0 && !has_next_ && next_index_ >= todo_.size()) return;
      for (const trajc::CompileOutcome& o : runner_.wait(kWaitSliceMs)) store(o);
    }
  }

  void start_what_fits() {
    using Admission = trajc::BatchRunner::Admission;
    while (has_next_ || next_index_ < todo_.size()) {
      if (!has_next_) load(todo_[next_index_++]);
      if (!has_next_) continue;
      const Admission admission = runner_.admit(estimate_);
      if (admission == Admission::Wait || (admission == Admission::OverBudget && runner_.active() > 0))
        return;
      has_next_ = false;
      if (admission == Admission::OverBudget) {
        skip_the_rest();
        return;
      }
      progress_->starting(next_.session_id);
      try {
        runner_.start(next_, estimate_);
      } catch (const trajc::Error& e) {
        finish_unstored(next_.session_id, hash_, trajc::Status::Failed,
                        std::string("starting its request failed: ") + e.what());
      }
    }
  }

  // Claims and reads one session; has_next_ when it is to be compiled.
  void load(const std::string& session_id) {
    if (!claim(session_id)) {
      log_only(session_id, "", trajc::Status::Skipped, "being compiled by another run");
      return;
    }
    hash_.clear();
    try {
      next_ = trajc::Trajectory{};
      read_client_trajectory(db_, source_, session_id, next_);
      if (next_.turns.empty()) {
        finish_unstored(session_id, "", trajc::Status::Skipped, "no longer in the audit log");
        return;
      }
      hash_ = trajc::trajectory_hash(next_);
      const std::string why = why_not_compile(session_id, hash_);
      if (!why.empty()) {
        finish_unstored(session_id, hash_, trajc::Status::Skipped, why);
        return;
      }
      estimate_ = trajc::estimate_compile(next_, settings_);
      has_next_ = true;
    } catch (const CliError& e) {
      finish_unstored(session_id, hash_, trajc::Status::Failed,
                      std::string("reading the session failed: ") + e.what());
    }
  }

  bool claim(const std::string& session_id) {
    const bool got = db_.scalar(std::string("SELECT pg_catalog.pg_try_advisory_lock(") + kClaimKey + ")",
                                {session_id.c_str()}) == "t";
    if (got) claimed_.insert(session_id);
    return got;
  }

  void release(const std::string& session_id) {
    if (!claimed_.erase(session_id)) return;
    db_.exec(std::string("SELECT pg_catalog.pg_advisory_unlock(") + kClaimKey + ")",
             {session_id.c_str()});
  }

  void release_all() {
    for (const auto& s : std::set<std::string>(claimed_)) {
      try {
        release(s);
      } catch (const CliError&) {
        // The connection is gone: its locks went with it.
      }
    }
  }

  // Why a claimed session is not compiled, or "": unchanged since its last
  // ok compile (unless --force), or sent in a provider batch job (the
  // extension's batch mode) not yet collected, which owns it, as in the
  // extension's run driver. One round trip, asked under the claim in
  // autocommit: it sees the latest committed state, so a compile committed
  // by the claim's last holder counts.
  std::string why_not_compile(const std::string& session_id, const std::string& hash) {
    PgResult res = db_.exec(
        std::string("SELECT EXISTS (SELECT 1 FROM trajc.compile_log WHERE session_id = $1 AND"
                    " trajectory_hash = $2 AND status = 'ok'), ") +
            (batches_ ? "trajc.open_batch_of($1)" : "NULL::bigint"),
        {session_id.c_str(), hash.c_str()});
    if (!force_ && *PQgetvalue(res.get(), 0, 0) == 't')
      return "unchanged since its last successful compile";
    if (!PQgetisnull(res.get(), 0, 1))
      return std::string("waiting for provider batch ") + PQgetvalue(res.get(), 0, 1);
    return "";
  }

  // Stores the log row of `o` with this status and error, and with its pairs
  // unless the status is Failed or Skipped; one statement.
  void insert_log(const trajc::CompileOutcome& o, trajc::Status status, const std::string& error) {
    const bool with_pairs = status == trajc::Status::Ok || status == trajc::Status::Empty;
    const std::string provider = trajc::provider_name(settings_.provider);
    const std::string turns = int_or_null(o.turn_count);
    const std::string kept = std::to_string(with_pairs ? o.pairs.size() : 0);
    const std::string rejected = std::to_string(trajc::rejected_total(o.rejected));
    const std::string reasons = trajc::rejected_reasons_json(o.rejected);
    const std::string in = std::to_string(o.tokens_in), out = std::to_string(o.tokens_out);
    const std::string cost = number(o.cost_usd), http = int_or_null(o.http_status);
    const std::string attempts = std::to_string(o.attempts);
    const std::string err = error.empty() ? error : trajc::safe_text(error, trajc::kMaxErrorBytes);
    const std::string started = int_or_null(o.started_unix_ms);
    const std::string finished = int_or_null(o.finished_unix_ms);
    const std::string pairs = with_pairs ? pairs_json(o.pairs, marks_of(o)) : "[]";
    const std::string pair_turns = std::to_string(o.turn_count);
    const std::string model = trajc::source_model(settings_);
    const std::string share = number(o.pairs.empty() ? 0 : o.cost_usd / o.pairs.size());
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    db_.exec(store_sql_,
             {o.session_id.c_str(), opt(o.trajectory_hash), provider.c_str(),
              settings_.model.c_str(), trajc::status_name(status), opt(turns), kept.c_str(),
              rejected.c_str(), reasons.c_str(), in.c_str(), out.c_str(), cost.c_str(), opt(http),
              attempts.c_str(), opt(err), opt(started), opt(finished), pairs.c_str(),
              opt(o.agent), pair_turns.c_str(), model.c_str(), share.c_str()});
  }

  // The stored pair of another session that this question nearly repeats
  // (its id), or "": the exact key first, then band candidates compared
  // exactly in the core, as the extension's store does.
  std::string duplicate_of(const std::string& session_id, const trajc::QuestionFingerprint& f) {
    PgResult exact = db_.exec(trajc::pair_sql::kExactDuplicate, {f.key.c_str(), session_id.c_str()});
    if (PQntuples(exact.get()) > 0) return PQgetvalue(exact.get(), 0, 0);
    const double threshold = settings_.quality.dedup_threshold;
    if (!bands_ || threshold >= 1) return "";
    const std::string bands = trajc::pair_sql::band_keys_literal(f);
    PgResult found = db_.exec(trajc::pair_sql::kBandCandidates, {bands.c_str(), session_id.c_str()});
    std::vector<std::string_view> keys;
    for (int i = 0; i < PQntuples(found.get()); i++) keys.emplace_back(PQgetvalue(found.get(), i, 1));
    const int best = trajc::most_similar(f, keys, threshold);
    return best >= 0 ? PQgetvalue(found.get(), best, 0) : "";
  }

  std::vector<StoredMark> marks_of(const trajc::CompileOutcome& o) {
    if (o.quality.size() != o.pairs.size()) throw trajc::Error(trajc::sqlstate::kInternal, "a kept pair has no quality record");
    std::vector<StoredMark> marks;
    for (const trajc::PairQuality& q : o.quality)
      marks.push_back({duplicate_of(o.session_id, q.fingerprint), &q.fingerprint, q.verified_by});
    return marks;
  }

  // One finished session: its log row and pairs in one statement (one
  // transaction), then its claim released. A failure to store leaves a
  // failed row instead.
  void store(const trajc::CompileOutcome& o) {
    std::string failure;
    try {
      insert_log(o, o.status, o.error);
    } catch (const CliError& e) {
      if (PQstatus(db_.raw()) != CONNECTION_OK) throw;
      failure = std::string("storing the result failed: ") + e.what();
      insert_log(o, trajc::Status::Failed, failure);
    }
    SessionResult r = result_of(o, failure);
    release(o.session_id);
    done(r);
  }

  SessionResult result_of(const trajc::CompileOutcome& o, const std::string& failure) const {
    SessionResult r;
    r.session_id = o.session_id;
    r.status = trajc::status_name(failure.empty() ? o.status : trajc::Status::Failed);
    r.pairs = failure.empty() ? static_cast<int>(o.pairs.size()) : 0;
    r.rejected = trajc::rejected_total(o.rejected);
    r.cost_usd = o.cost_usd;
    r.error = failure.empty() ? o.error : failure;
    r.seconds = (o.finished_unix_ms - o.started_unix_ms) / 1000.0;
    return r;
  }

  // A session that is not compiled (skipped) or could not be (failed): its
  // log row, committed at once, and its claim (if any) released.
  void finish_unstored(const std::string& session_id, const std::string& hash,
                       trajc::Status status, const std::string& why) {
    log_only(session_id, hash, status, why);
    release(session_id);
  }

  void log_only(const std::string& session_id, const std::string& hash, trajc::Status status,
                const std::string& why) {
    trajc::CompileOutcome o;
    o.session_id = session_id;
    o.trajectory_hash = hash;
    insert_log(o, status, why);
    SessionResult r;
    r.session_id = session_id;
    r.status = trajc::status_name(status);
    r.error = why;
    done(r);
  }

  void skip_the_rest() {
    finish_unstored(next_.session_id, "", trajc::Status::Skipped, kOverBudget);
    for (; next_index_ < todo_.size(); next_index_++)
      log_only(todo_[next_index_], "", trajc::Status::Skipped, kOverBudget);
  }

  void done(const SessionResult& r) {
    report_.results.push_back(r);
    progress_->done(r);
  }

 public:
  ClientSource source_;

 private:
  Pg& db_;
  trajc::CompileSettings settings_;
  bool force_;
  trajc::BatchRunner runner_;
  bool batches_;  // the extension's batch mode is there to respect
  bool bands_;    // trajc.qa_pair_bands exists: near-duplicates by band keys
  std::string store_sql_;
  std::vector<std::string> todo_;
  std::size_t next_index_ = 0;
  bool has_next_ = false;
  trajc::Trajectory next_;
  trajc::Estimate estimate_;
  std::string hash_;
  std::set<std::string> claimed_;
  CompileReport report_;
  Progress* progress_ = nullptr;
};

// Sessions in trajc_extract's order; --session names them instead (each must
// exist, in the order given).
std::vector<std::string> candidates(Pg& db, const ClientSource& src, const ParsedArgs& a) {
  const std::vector<std::string> only = a.all("session");
  PgResult res = list_client_sessions(db, src, only.empty() ? a.get_int("min-turns", 10, 1) : 1,
                                      only.empty() ? a.get_int("limit", 25, 0) : 0, nullptr);
  std::vector<std::string> listed;
  for (int r = 0; r < PQntuples(res.get()); r++) listed.push_back(PQgetvalue(res.get(), r, 0));
  if (only.empty()) return listed;
  const std::set<std::string> known(listed.begin(), listed.end());
  std::string missing;
  for (const auto& s : only)
    if (!known.count(s)) missing += (missing.empty() ? "" : ", ") + s;
  if (!missing.empty()) throw usage_error("no such session in the audit log: " + missing);
  return only;
}

}  // namespace

std::vector<OptionSpec> client_compile_options() {
  std::vector<OptionSpec> out = {
      {"engine", 0, "ENGINE", "server (the extension), client (this process) or auto (default:"
                              " client when the database has no trajc extension)"},
      {"model", 0, "MODEL", "client engine: model name (else the tier's in trajc.models)"},
      {"key-file", 0, "FILE", "client engine: read the API key from FILE (else GEMINI_API_KEY,"
                              " OPENAI_API_KEY or ANTHROPIC_API_KEY)"},
      {"base-url", 0, "URL", "client engine: the provider's base URL (else TRAJC_<PROVIDER>_BASE_URL)"},
      {"concurrency", 0, "N", "client engine: requests in flight (TRAJC_CONCURRENCY, default 8)"},
      {"max-retries", 0, "N", "client engine: retries per request (TRAJC_MAX_RETRIES, default 3)"},
      {"timeout-ms", 0, "MS", "client engine: one request's timeout (TRAJC_TIMEOUT_MS)"},
      {"max-requests-per-minute", 0, "N", "client engine: rate limit, 0 = none"},
      {"max-cost-usd", 0, "USD", "client engine: stop starting sessions past this cost, 0 = none"},
      {"verify", 0, "MODE", "client engine: off, literal (default) or model (TRAJC_VERIFY)"},
      {"verify-tier", 0, "TIER", "client engine: the verifier's tier (TRAJC_VERIFY_TIER, default cheap)"},
      {"verify-model", 0, "MODEL", "client engine: the verifier's model (TRAJC_VERIFY_MODEL)"},
  };
  for (const auto& o : source_options()) out.push_back(o);
  return out;
}

CompileReport compile_client(TrajcDb& db, const ParsedArgs& a) {
  PQsetClientEncoding(db.raw(), "UTF8");  // the core works in UTF-8
  require_table_privileges(db);
  ClientSource src = resolve_client_source(db, source_settings(a));
  const std::vector<std::string> todo = candidates(db, src, a);
  InterruptScope interrupt_scope;  // Ctrl-C: the runner cancels its transfers
  ClientRun run(db, a);
  run.source_ = std::move(src);
  return run.run(todo);
}

}  // namespace trajc_cli
