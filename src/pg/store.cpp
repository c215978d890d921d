// compile_log and qa_pairs inserts from typed rows; the per-session
// subtransaction; the "compiled before at this hash" check.
//
// Each table's columns are listed once below (name, SQL type, how the value
// is read from the row): the INSERT text, its parameter types and the
// values bound all come from that one list, and every text column reads
// through core_text, core_error or core_json: the one way text gets stored.
//
// Must never: build JSON by hand (the core's nlohmann does, in a C++
// phase), splice a value into SQL, bind a text any other way, or continue
// after a cancel.
#include "store.hpp"

#include "citus.hpp"

#include "cpp_call.hpp"
#include "spi_util.hpp"
#include "stored_text.hpp"
#include "subxact.hpp"

namespace trajc_pg {

namespace {

// One column of an INSERT: where the value comes from, and its SQL type.
template <typename Row>
struct Column {
  const char* name;
  Oid type;          // of the $n parameter
  const char* cast;  // applied in SQL ("::jsonb"), or ""
  Datum (*get)(const Row& row, bool* isnull);
};

// The three kinds of text column: plain, an error (bounded), JSON for jsonb.
// All are made storable (stored_text.hpp): valid in the database encoding,
// NUL-free, so that no value can fail the INSERT or a later dump's restore.
Datum core_text(Text v, bool* isnull) {
  *isnull = v.data() == nullptr;
  return *isnull ? (Datum)0 : from_core_text(v);
}

Datum core_error(Text v, bool* isnull) {
  *isnull = v.data() == nullptr;
  return *isnull ? (Datum)0 : from_core_text(v, kMaxErrorBytes);
}

Datum core_json(Text v, bool* isnull) {
  *isnull = v.data() == nullptr;
  return *isnull ? (Datum)0 : from_core_json(v);
}

Datum int4_or_null(int v, bool* isnull) {
  *isnull = v == 0;
  return Int32GetDatum(v);
}

// Unix milliseconds (the core's clock) as timestamptz; 0 = `otherwise`.
Datum timestamptz_datum(int64 unix_ms, TimestampTz otherwise) {
  constexpr int64 kUnixToPostgresUs =
      static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
  return TimestampTzGetDatum(unix_ms == 0 ? otherwise : unix_ms * 1000 - kUnixToPostgresUs);
}

using L = LogRow;
const Column<L> kLogColumns[] = {
    {"session_id", TEXTOID, "", [](const L& r, bool* n) { return core_text(r.session_id, n); }},
    {"trajectory_hash", TEXTOID, "",
     [](const L& r, bool* n) { return core_text(r.trajectory_hash, n); }},
    {"provider", TEXTOID, "", [](const L& r, bool* n) { return core_text(r.provider, n); }},
    {"model", TEXTOID, "", [](const L& r, bool* n) { return core_text(r.model, n); }},
    {"status", TEXTOID, "",
     [](const L& r, bool* n) { return core_text(trajc::status_name(r.status), n); }},
    {"turn_count", INT4OID, "", [](const L& r, bool* n) { return int4_or_null(r.turn_count, n); }},
    {"pairs_kept", INT4OID, "", [](const L& r, bool*) { return Int32GetDatum(r.pairs_kept); }},
    {"pairs_rejected", INT4OID, "",
     [](const L& r, bool*) { return Int32GetDatum(r.pairs_rejected); }},
    {"rejected_reasons", TEXTOID, "::jsonb",
     [](const L& r, bool* n) {
       return core_json(r.rejected_reasons.data() ? r.rejected_reasons : Text("{}"), n);
     }},
    {"tokens_in", INT8OID, "", [](const L& r, bool*) { return Int64GetDatum(r.tokens_in); }},
    {"tokens_out", INT8OID, "", [](const L& r, bool*) { return Int64GetDatum(r.tokens_out); }},
    {"cost_usd", FLOAT8OID, "::numeric", [](const L& r, bool*) { return Float8GetDatum(r.cost_usd); }},
    {"http_status", INT4OID, "", [](const L& r, bool* n) { return int4_or_null(r.http_status, n); }},
    {"attempts", INT4OID, "", [](const L& r, bool*) { return Int32GetDatum(r.attempts); }},
    {"error", TEXTOID, "", [](const L& r, bool* n) { return core_error(r.error, n); }},
    {"started_at", TIMESTAMPTZOID, "",
     [](const L& r, bool*) {
       return timestamptz_datum(r.started_unix_ms, GetCurrentTransactionStartTimestamp());
     }},
    {"finished_at", TIMESTAMPTZOID, "",
     [](const L& r, bool*) { return timestamptz_datum(r.finished_unix_ms, GetCurrentTimestamp()); }},
    {"redactions", TEXTOID, "::jsonb", [](const L& r, bool* n) { return core_json(r.redactions, n); }},
};

using P = PairRow;
const Column<P> kPairColumns[] = {
    {"session_id", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.session_id, n); }},
    {"agent", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.agent, n); }},
    {"turn_count", INT4OID, "", [](const P& r, bool*) { return Int32GetDatum(r.turn_count); }},
    {"question", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.question, n); }},
    {"answer", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.answer, n); }},
    {"supporting_turns", TEXTOID, "::jsonb",
     [](const P& r, bool* n) { return core_json(r.supporting_turns, n); }},
    {"qa_type", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.qa_type, n); }},
    {"source_model", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.source_model, n); }},
    {"cost_usd", FLOAT8OID, "::numeric", [](const P& r, bool*) { return Float8GetDatum(r.cost_usd); }},
    {"raw_extraction", TEXTOID, "::jsonb",
     [](const P& r, bool* n) { return core_json(r.raw_extraction, n); }},
    {"trajectory_hash", TEXTOID, "",
     [](const P& r, bool* n) { return core_text(r.trajectory_hash, n); }},
    {"compile_id", INT8OID, "", [](const P& r, bool*) { return Int64GetDatum(r.compile_id); }},
    {"verified_by", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.verified_by, n); }},
    {"duplicate_of", TEXTOID, "::uuid", [](const P& r, bool* n) { return core_text(r.duplicate_of, n); }},
    {"question_key", TEXTOID, "", [](const P& r, bool* n) { return core_text(r.question_key, n); }},
};

constexpr int kMaxColumns = 32;

// INSERT INTO table (c1, ...) VALUES ($1cast1, ...) RETURNING returning,
// prepared with the columns' parameter types.
template <typename Row, std::size_t N>
SPIPlanPtr prepare_insert(const char* table, const Column<Row> (&columns)[N], const char* returning) {
  static_assert(N <= kMaxColumns, "raise kMaxColumns");
  StringInfoData names, params;
  initStringInfo(&names);
  initStringInfo(&params);
  Oid types[N];
  for (std::size_t i = 0; i < N; i++) {
    appendStringInfo(&names, "%s%s", i ? ", " : "", columns[i].name);
    appendStringInfo(&params, "%s$%zu%s", i ? ", " : "", i + 1, columns[i].cast);
    types[i] = columns[i].type;
  }
  return spi_prepare_n(psprintf("INSERT INTO %s (%s) VALUES (%s) RETURNING %s", table, names.data,
                                params.data, returning),
                       static_cast<int>(N), types);
}

template <typename Row, std::size_t N>
void execute_insert(SPIPlanPtr plan, const Column<Row> (&columns)[N], const Row& row,
                    const char* what) {
  Datum values[N];
  char nulls[N];
  for (std::size_t i = 0; i < N; i++) {
    bool isnull = false;
    values[i] = columns[i].get(row, &isnull);
    nulls[i] = isnull ? 'n' : ' ';
  }
  spi_execute(plan, values, nulls, false, SPI_OK_INSERT_RETURNING, what);
}

const char* const kCompiledCheck =
    "SELECT 1 FROM trajc.compile_log WHERE session_id = $1 AND trajectory_hash = $2"
    " AND status = 'ok' LIMIT 1";
// With the extension owner's rights (see the SQL script): compiling roles
// need no privilege on trajc.batch_requests.
const char* const kOpenBatchCheck = "SELECT trajc.open_batch_of($1)";

Text text_of(const std::string& s) { return Text(s.data(), s.size()); }

// The log row of a finished session; `failure` overrides its status and error.
LogRow log_row_of(const Store* store, const trajc::CompileOutcome& o, const char* failure);

// Phase 3 for one finished session: its log row, then its pairs (copies kept
// in *rows when asked). With a `failure`, only the log row, as failed.
// Returns the log row's id.
int64 insert_outcome(const Store* store, const trajc::CompileOutcome& o, const char* failure,
                     List** rows);

}  // namespace

struct Store {
  const ModelChoice* model;
  const char* provider;    // the model's provider and name, in UTF-8 for rows
  const char* model_name;
  bool keep_plans;
  double dedup_threshold;
  bool distributed;  // Citus: the duplicate lookup reads every node's shards
  SPIPlanPtr log_plan;
  SPIPlanPtr pair_plan;
  SPIPlanPtr compiled_plan;
  SPIPlanPtr open_batch_plan;
  SPIPlanPtr exact_plan;
  SPIPlanPtr candidates_plan;
  SPIPlanPtr bands_plan;
  std::string* json;  // the core's JSON text for the row being inserted
  std::string* redactions_json;
};

namespace {

SPIPlanPtr keep(const Store* store, SPIPlanPtr plan) {
  if (store->keep_plans) SPI_keepplan(plan);
  return plan;
}

LogRow log_row_of(const Store* store, const trajc::CompileOutcome& o, const char* failure) {
  std::string* json = store->json;
  run_cpp([&] { *json = trajc::rejected_reasons_json(o.rejected); });
  LogRow row{};
  row.session_id = text_of(o.session_id);
  row.trajectory_hash = text_of(o.trajectory_hash);
  row.provider = store->provider;
  row.model = store->model_name;
  row.status = failure ? trajc::Status::Failed : o.status;
  row.turn_count = o.turn_count;
  row.pairs_kept = failure ? 0 : static_cast<int>(o.pairs.size());
  row.pairs_rejected = trajc::rejected_total(o.rejected);
  row.rejected_reasons = text_of(*json);
  row.tokens_in = o.tokens_in;
  row.tokens_out = o.tokens_out;
  row.cost_usd = o.cost_usd;
  row.http_status = o.http_status;
  row.attempts = o.attempts;
  row.error = failure ? Text(failure) : o.error.empty() ? Text() : text_of(o.error);
  row.started_unix_ms = o.started_unix_ms;
  row.finished_unix_ms = o.finished_unix_ms;
  if (o.redacted) {
    std::string* redactions = store->redactions_json;
    run_cpp([&] { *redactions = trajc::redactions_json(o.redactions); });
    row.redactions = text_of(*redactions);
  }
  return row;
}

Datum band_keys_datum(const trajc::QuestionFingerprint& f) {
  Datum keys[trajc::dedup::kBands];
  for (int i = 0; i < trajc::dedup::kBands; i++) keys[i] = Int64GetDatum(f.bands[i]);
  return PointerGetDatum(construct_array(keys, trajc::dedup::kBands, INT8OID, sizeof(int64),
                                         FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

// The stored pair of another session that this question nearly repeats (its
// id as text), or NULL: the exact key first, then band candidates compared
// exactly in the core.
const char* find_duplicate(const Store* store, const std::string& session_id,
                           const trajc::QuestionFingerprint& f) {
  // Compared with stored values: converted exactly as the columns are.
  // Not read-only: a read-only SPI query sees the statement's snapshot, so
  // within one trajc_compile_batch call no session would see the pairs of
  // the sessions before it, and no repeat would be marked.
  Datum args[2] = {from_core_text(f.key), from_core_text(session_id)};
  spi_execute(store->exact_plan, args, nullptr, false, SPI_OK_SELECT, "looking for a duplicate question");
  if (SPI_processed > 0) {
    const char* id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    SPI_freetuptable(SPI_tuptable);
    return id;
  }
  SPI_freetuptable(SPI_tuptable);
  if (store->dedup_threshold >= 1) return nullptr;

  args[0] = band_keys_datum(f);
  spi_execute(store->candidates_plan, args, nullptr, false, SPI_OK_SELECT,
              "looking for a near-duplicate question");
  const int n = static_cast<int>(SPI_processed);
  const char** ids = static_cast<const char**>(palloc0(sizeof(char*) * (n + 1)));
  const char** keys = static_cast<const char**>(palloc0(sizeof(char*) * (n + 1)));
  for (int i = 0; i < n; i++) {
    ids[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
    const char* key = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
    keys[i] = key != nullptr ? to_core_text(key) : "";  // NULL: stored before keys existed
  }
  SPI_freetuptable(SPI_tuptable);
  int best = -1;
  const double threshold = store->dedup_threshold;
  run_cpp([&] {
    best = trajc::most_similar(f, std::vector<std::string_view>(keys, keys + n), threshold);
  });
  return best >= 0 ? ids[best] : nullptr;
}

// An original pair's band keys, so later near-duplicates find it. Marked
// duplicates have none: a bucket then holds one pair per kind of question,
// however often it is repeated.
// On Citus the earlier pairs of other sessions are on every node: a node
// that cannot be reached costs this pair its duplicate mark (it is stored
// unmarked, with a warning), not the session its pairs.
const char* find_duplicate_across_nodes(const Store* store, const std::string& session_id,
                                        const trajc::QuestionFingerprint& f) {
  const char* found = nullptr;
  ErrorData* e = in_subtransaction([&] { found = find_duplicate(store, session_id, f); });
  if (e == nullptr) return found;
  ereport(WARNING, (errmsg("trajc: near-duplicate lookup across the cluster failed, pair stored"
                           " unmarked: %s", e->message)));
  return nullptr;
}

void insert_bands(const Store* store, const char* pair_id, Datum session_id,
                  const trajc::QuestionFingerprint& f) {
  Datum args[3] = {band_keys_datum(f), CStringGetTextDatum(pair_id), session_id};
  spi_execute(store->bands_plan, args, nullptr, false, SPI_OK_INSERT, "storing a question's band keys");
}

int64 insert_outcome(const Store* store, const trajc::CompileOutcome& o, const char* failure,
                     List** rows) {
  int64 log_id = insert_log(store, log_row_of(store, o, failure));
  if (failure != nullptr) return log_id;
  std::string* json = store->json;
  if (o.quality.size() != o.pairs.size()) elog(ERROR, "trajc: a kept pair has no quality record");
  double share = o.pairs.empty() ? 0 : o.cost_usd / o.pairs.size();
  for (std::size_t i = 0; i < o.pairs.size(); i++) {
    const trajc::QaPair& p = o.pairs[i];
    const trajc::PairQuality& q = o.quality[i];
    const char* duplicate_of = store->distributed
                                   ? find_duplicate_across_nodes(store, o.session_id, q.fingerprint)
                                   : find_duplicate(store, o.session_id, q.fingerprint);
    run_cpp([&] { *json = trajc::supporting_turns_json(p.supporting_turns); });
    PairRow row{};
    row.session_id = text_of(o.session_id);
    row.agent = o.agent.empty() ? Text() : text_of(o.agent);
    row.turn_count = o.turn_count;
    row.question = text_of(p.question);
    row.answer = text_of(p.answer);
    row.supporting_turns = text_of(*json);
    row.qa_type = text_of(p.qa_type);
    row.source_model = store->model_name;
    row.cost_usd = share;
    row.raw_extraction = text_of(p.raw_json);
    row.trajectory_hash = text_of(o.trajectory_hash);
    row.compile_id = log_id;
    row.verified_by = q.verified_by.empty() ? Text() : text_of(q.verified_by);
    row.duplicate_of = duplicate_of != nullptr ? Text(duplicate_of) : Text();
    row.question_key = text_of(q.fingerprint.key);
    HeapTuple inserted = insert_pair(store, row);
    const char* id = SPI_getvalue(inserted, SPI_tuptable->tupdesc, SPI_fnumber(SPI_tuptable->tupdesc, "id"));
    if (rows != nullptr) *rows = lappend(*rows, SPI_copytuple(inserted));
    SPI_freetuptable(SPI_tuptable);
    bool no_session;
    if (duplicate_of == nullptr)
      insert_bands(store, id, core_text(row.session_id, &no_session), q.fingerprint);
  }
  return log_id;
}

}  // namespace

Store* open_store(MemoryContext cxt, const ModelChoice* model, bool keep_plans, double dedup_threshold) {
  MemoryContext caller = MemoryContextSwitchTo(cxt);
  Store* store = static_cast<Store*>(palloc0(sizeof(Store)));
  store->model = model;
  store->provider = to_core_text(model->provider_name);
  store->model_name = to_core_text(model->model);
  store->keep_plans = keep_plans;
  store->dedup_threshold = dedup_threshold;
  store->log_plan = keep(store, prepare_insert("trajc.compile_log", kLogColumns, "id"));
  store->pair_plan = keep(store, prepare_insert("trajc.qa_pairs", kPairColumns, "*"));
  store->compiled_plan = keep(store, spi_prepare(kCompiledCheck, TEXTOID, TEXTOID));
  store->open_batch_plan = keep(store, spi_prepare(kOpenBatchCheck, TEXTOID));
  // Run for every pair: planning them anew each time (custom plans) would
  // cost more than running them.
  // Generic plans are cheaper on one server; Citus cannot plan these
  // lookups across shards generically ("could not create distributed plan").
  store->distributed = citus_distributed();
  const bool generic = !store->distributed;
  store->exact_plan = keep(store, generic ? spi_prepare_generic(trajc::pair_sql::kExactDuplicate, TEXTOID, TEXTOID)
                                          : spi_prepare(trajc::pair_sql::kExactDuplicate, TEXTOID, TEXTOID));
  store->candidates_plan =
      keep(store, generic ? spi_prepare_generic(trajc::pair_sql::kBandCandidates, INT8ARRAYOID, TEXTOID)
                          : spi_prepare(trajc::pair_sql::kBandCandidates, INT8ARRAYOID, TEXTOID));
  store->bands_plan = keep(store, spi_prepare(trajc::pair_sql::kInsertBands, INT8ARRAYOID, TEXTOID, TEXTOID));
  store->json = box_new<std::string>(cxt);
  store->redactions_json = box_new<std::string>(cxt);
  MemoryContextSwitchTo(caller);
  return store;
}

void close_store(Store* store) {
  if (!store->keep_plans) return;  // the others go with SPI_finish
  SPI_freeplan(store->log_plan);
  SPI_freeplan(store->pair_plan);
  SPI_freeplan(store->compiled_plan);
  SPI_freeplan(store->open_batch_plan);
  SPI_freeplan(store->exact_plan);
  SPI_freeplan(store->candidates_plan);
  SPI_freeplan(store->bands_plan);
}

int64 insert_log(const Store* store, const LogRow& row) {
  execute_insert(store->log_plan, kLogColumns, row, "logging a compile");
  bool isnull;
  int64 id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  SPI_freetuptable(SPI_tuptable);  // tuptables live until SPI_finish otherwise
  return id;
}

HeapTuple insert_pair(const Store* store, const PairRow& row) {
  execute_insert(store->pair_plan, kPairColumns, row, "inserting a pair");
  return SPI_tuptable->vals[0];
}

bool compiled_before(const Store* store, const char* session_id, const char* hash) {
  Datum args[2] = {CStringGetTextDatum(session_id), CStringGetTextDatum(hash)};
  // Asked under the session's claim, which no other run holds and which is
  // refused while another run's ok compile of it is uncommitted (claims.hpp):
  // so every earlier compile has committed by now, but maybe after this
  // statement's snapshot (a batch that waited behind a slow
  // session) or this transaction's (REPEATABLE READ). Compiling again would
  // pay twice for duplicate pairs, so the check reads the latest committed
  // state, as foreign-key checks do, whatever the caller's snapshot.
  spi_execute(store->compiled_plan, args, nullptr, true, SPI_OK_SELECT, "checking earlier compiles",
              GetLatestSnapshot());
  bool found = SPI_processed > 0;
  SPI_freetuptable(SPI_tuptable);
  return found;
}

int64 open_batch_of(const Store* store, const char* session_id) {
  Datum args[1] = {CStringGetTextDatum(session_id)};
  spi_execute(store->open_batch_plan, args, nullptr, true, SPI_OK_SELECT, "checking open provider batches");
  int64 batch = 0;
  if (SPI_processed > 0) {
    bool isnull;
    Datum id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    if (!isnull) batch = DatumGetInt64(id);
  }
  SPI_freetuptable(SPI_tuptable);
  return batch;
}

SessionResult log_session(const Store* store, const char* session_id, const char* hash,
                          trajc::Status status, const char* why) {
  const char* why_utf8 = why ? to_core_text(why) : nullptr;
  LogRow row{};
  row.session_id = to_core_text(session_id);
  row.trajectory_hash = hash ? Text(hash) : Text();
  row.provider = store->provider;
  row.model = store->model_name;
  row.status = status;
  row.error = why_utf8 ? Text(why_utf8) : Text();
  const int64 compile_id = insert_log(store, row);
  const char* error = why_utf8 ? from_core_cstring(why_utf8, kMaxErrorBytes) : nullptr;
  return SessionResult{session_id, status, 0, 0, 0, error, NIL, compile_id};
}

SessionResult store_outcome(const Store* store, const trajc::CompileOutcome& o, bool keep_rows) {
  List* rows = NIL;
  int64 compile_id = 0;
  ErrorData* error = in_subtransaction(
      [&] { compile_id = insert_outcome(store, o, nullptr, keep_rows ? &rows : nullptr); });
  const char* session = from_core_cstring(o.session_id);
  const int rejected = trajc::rejected_total(o.rejected);
  if (error != nullptr) {
    const char* failure = to_core_text(psprintf("storing the result failed: %s", error->message));
    compile_id = insert_outcome(store, o, failure, nullptr);
    return SessionResult{session, trajc::Status::Failed, 0, rejected, o.cost_usd,
                         from_core_cstring(failure, kMaxErrorBytes), NIL, compile_id};
  }
  return SessionResult{session, o.status, static_cast<int>(o.pairs.size()), rejected, o.cost_usd,
                       o.error.empty() ? nullptr : from_core_cstring(o.error, kMaxErrorBytes), rows,
                       compile_id};
}

}  // namespace trajc_pg
