// Provider batch mode: CALL trajc_batch_submit(min_turns, "limit", tier) and
// CALL trajc_batch_collect().
//
// Submit chooses sessions exactly as trajc_compile_pending does (the run
// driver: its listing, claims and skips) and hands each loaded session to a
// sink that gathers vendor jobs of the core's BatchJobBuilder; collect polls
// the open jobs and stores finished results through the same store as an
// online compile (one compile_log row per session, pairs against the hash
// that was sent), priced at the batch discount. Replies are verified as
// online: collect reloads each session from the audit log and, when it still
// hashes to what was sent, checks the pairs against it as the prompt showed
// it (PII-redacted again when trajc.redact was 'pii' at submit, which the job
// records). A session that changed since is stored unverified: the turns its
// pairs cite are no longer those the model read.
//
// Durability: a job's row and its sessions' rows (trajc.batch_requests, open)
// commit before the vendor hears of the job, so no session is ever lost
// track of; the open rows keep every other run off those sessions until they
// are collected. Each job carries a unique label (trajc.batches.label) to the
// vendor: a job left 'submitting' (its submitter died, or the vendor's answer
// to its creation never came) is looked up by it in the vendor's list by the
// next collect and adopted when found, else failed (its sessions become
// pending again). Anthropic's batches take no label: such a job is failed,
// and one the vendor did create stays there uncollected (README says so). Results are stored
// one session per transaction and only for requests still open: collecting
// twice stores nothing twice, and a crash mid-collect loses nothing.
//
// Must never: hold a batch lock past its job's work (errors included), keep
// a C++ object outside a box across a Postgres call, or let a key reach a
// table or a message.
#include "audit_source.hpp"
#include "claims.hpp"
#include "cpp_call.hpp"
#include "guc.hpp"
#include "model_choice.hpp"
#include "run.hpp"
#include "spi_util.hpp"
#include "store.hpp"
#include "stored_text.hpp"
#include "subxact.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_batch_submit);
PG_FUNCTION_INFO_V1(trajc_batch_collect);
}

using namespace trajc_pg;
namespace defaults = trajc::defaults;

namespace {

// A job's result download is bounded by what its replies may weigh (each at
// most trajc.max_response_kb), and never more than this in one backend.
constexpr std::size_t kMaxResultBytes = std::size_t{512} << 20;

bool cancel_requested() { return QueryCancelPending || ProcDiePending; }

// One statement with $n parameters, its result code checked.
void sql(const char* query, int nargs, Oid* types, Datum* values, const char* nulls, int expected,
         const char* what) {
  MemoryContext caller = CurrentMemoryContext;
  int rc = SPI_execute_with_args(query, nargs, types, values, nulls, false, 0);
  MemoryContextSwitchTo(caller);
  spi_check(rc, expected, what);
}

Datum text_or_null(const char* s, char* null) {
  *null = s == nullptr ? 'n' : ' ';
  return s == nullptr ? (Datum)0 : CStringGetTextDatum(s);
}

// --- batch locks -----------------------------------------------------------
// Whoever works on a job (its submitter until the vendor's answer is
// recorded, a collector while it polls and stores) holds this session-level
// advisory lock; pg_locks shows it as objsubid = 2, classid = 'traj', objid =
// the job's id. A job still 'submitting' whose lock is free was left by a
// submitter that died.
constexpr uint32 kBatchLockSpace = 0x7472616a;  // "traj"

void batch_tag(LOCKTAG* tag, int64 id) {
  SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, kBatchLockSpace, static_cast<uint32>(id), 2);
}

bool try_lock_batch(int64 id) {
  LOCKTAG tag;
  batch_tag(&tag, id);
  return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

void unlock_batch(int64 id) {
  LOCKTAG tag;
  batch_tag(&tag, id);
  LockRelease(&tag, ExclusiveLock, true);
}

// --- shared by submit and collect -------------------------------------------------

void commit_if(bool commits) {
  if (!commits) return;
  SPI_commit();
  SPI_start_transaction();
}

// One request of a job as trajc.batch_requests holds it.
struct Request {
  char* custom_id;
  char* session_id;
  char* hash;
  char* agent;  // NULL = none
  int turn_count;
};

void insert_request(int64 batch_id, const Request& r) {
  Oid types[6] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
  char nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
  Datum values[6] = {Int64GetDatum(batch_id), CStringGetTextDatum(r.custom_id),
                     CStringGetTextDatum(r.session_id), CStringGetTextDatum(r.hash),
                     text_or_null(r.agent, &nulls[4]), Int32GetDatum(r.turn_count)};
  sql("INSERT INTO trajc.batch_requests (batch_id, custom_id, session_id, trajectory_hash, agent,"
      " turn_count) VALUES ($1, $2, $3, $4, $5, $6)",
      6, types, values, nulls, SPI_OK_INSERT, "recording a batch request");
}

void finish_request(int64 batch_id, const char* custom_id, trajc::Status status, int64 compile_id) {
  Oid types[4] = {INT8OID, TEXTOID, TEXTOID, INT8OID};
  Datum values[4] = {Int64GetDatum(batch_id), CStringGetTextDatum(custom_id),
                     CStringGetTextDatum(trajc::status_name(status)), Int64GetDatum(compile_id)};
  sql("UPDATE trajc.batch_requests SET status = $3, compile_id = $4"
      " WHERE batch_id = $1 AND custom_id = $2 AND status = 'open'",
      4, types, values, nullptr, SPI_OK_UPDATE, "closing a batch request");
}

// The job's open requests, as the submitter recorded them.
List* open_requests(int64 batch_id) {
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(batch_id)};
  sql("SELECT custom_id, session_id, trajectory_hash, agent, turn_count FROM trajc.batch_requests"
      " WHERE batch_id = $1 AND status = 'open' ORDER BY custom_id",
      1, types, values, nullptr, SPI_OK_SELECT, "reading a batch's requests");
  List* out = NIL;
  for (uint64 i = 0; i < SPI_processed; i++) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    Request* r = static_cast<Request*>(palloc0(sizeof(Request)));
    r->custom_id = SPI_getvalue(row, desc, 1);
    r->session_id = SPI_getvalue(row, desc, 2);
    r->hash = SPI_getvalue(row, desc, 3);
    r->agent = SPI_getvalue(row, desc, 4);
    r->turn_count = pg_strtoint32(SPI_getvalue(row, desc, 5));
    out = lappend(out, r);
  }
  SPI_freetuptable(SPI_tuptable);
  return out;
}

// Every open request of a job fails with `why` (database text; one failed
// compile_log row each, nothing paid) and the job is closed: its sessions are
// pending again.
void fail_job(const Store* store, int64 batch_id, const char* why, bool commits) {
  ListCell* cell;
  foreach (cell, open_requests(batch_id)) {
    const Request* r = static_cast<const Request*>(lfirst(cell));
    const SessionResult logged = log_session(store, r->session_id, r->hash, trajc::Status::Failed, why);
    finish_request(batch_id, r->custom_id, trajc::Status::Failed, logged.compile_id);
  }
  Oid types[2] = {INT8OID, TEXTOID};
  Datum values[2] = {Int64GetDatum(batch_id), CStringGetTextDatum(why)};
  sql("UPDATE trajc.batches SET status = 'failed', error = $2, finished_at = now(),"
      " collected_at = now() WHERE id = $1",
      2, types, values, nullptr, SPI_OK_UPDATE, "failing a provider batch");
  commit_if(commits);
}

// --- submit --------------------------------------------------------------------------

// What the sink gathers for the job being built, and the core objects it
// uses, in a context that survives the procedure's commits.
struct Submitter {
  Run* run;
  MemoryContext cxt;
  trajc::BatchJobBuilder* builder;
  trajc::VendorBatchApi* api;
  trajc::BlockingHttp* http;
  trajc::BatchJob* job;
  trajc::BatchStatus* status;
  std::string* text;  // a prompt, then a refusal's message
  Request* requests;  // of the job being built
  int nrequests;
  int capacity;
  int next_id;  // custom_ids s0, s1, ... run on across the call's jobs (the builder's rule)
  int jobs, sent, refused, unanswered;
};

// A job's row as insert_job made it.
struct JobRow {
  int64 id;
  char* label;
};

// A call to the vendor in the C++ phase. A vendor's refusal or a vendor out
// of reach (kExternal) is the job's outcome, not the statement's: its text
// goes to *error and the call returns false; any other error raises.
template <typename Call>
bool vendor_call(std::string* error, Call call) {
  bool done = false;
  run_cpp([&] {
    try {
      call();
      done = true;
    } catch (const trajc::Error& e) {
      if (e.code() != trajc::sqlstate::kExternal) throw;
      *error = e.what();
    }
  });
  return done;
}

JobRow insert_job(const Submitter* sub) {
  const ModelChoice& m = run_model(sub->run);
  Oid types[8] = {TEXTOID, TEXTOID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, BOOLOID};
  Datum values[8] = {CStringGetTextDatum(m.provider_name), CStringGetTextDatum(m.model),
                     Int32GetDatum(sub->nrequests), Int32GetDatum(sub->nrequests),
                     Float8GetDatum(m.usd_per_mtok_in), Float8GetDatum(m.usd_per_mtok_out),
                     Float8GetDatum(m.batch_discount), BoolGetDatum(run_settings(sub->run).redact_pii)};
  sql("INSERT INTO trajc.batches (provider, model, status, sessions, requests, usd_per_mtok_in,"
      " usd_per_mtok_out, batch_discount, redacted)"
      " VALUES ($1, $2, 'submitting', $3, $4, $5::numeric, $6::numeric, $7::numeric, $8) RETURNING id, label",
      8, types, values, nullptr, SPI_OK_INSERT_RETURNING, "recording a provider batch");
  bool isnull;
  JobRow row;
  row.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  row.label = MemoryContextStrdup(sub->cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
  SPI_freetuptable(SPI_tuptable);
  return row;
}

// Sends the job built so far: its rows first (committed), then the vendor.
// The job's lock covers the time its row says 'submitting'.
void send_job(Submitter* sub) {
  if (sub->nrequests == 0) return;
  Run* run = sub->run;
  const bool commits = run_commits(run);
  const JobRow row = insert_job(sub);
  const int64 id = row.id;
  if (!try_lock_batch(id)) elog(ERROR, "trajc: provider batch %lld is locked", static_cast<long long>(id));
  PG_TRY();
  {
    for (int i = 0; i < sub->nrequests; i++) insert_request(id, sub->requests[i]);
    commit_if(commits);
    // The open rows now keep every other run off these sessions.
    for (int i = 0; i < sub->nrequests; i++) release_session(run, sub->requests[i].session_id);

    const char* label = row.label;
    bool accepted = false, unanswered = false;
    trajc::BatchJobBuilder* builder = sub->builder;
    trajc::BatchJob* job = sub->job;
    trajc::BatchStatus* status = sub->status;
    std::string* refusal = sub->text;
    const trajc::VendorBatchApi* api = sub->api;
    trajc::BlockingHttp* http = sub->http;
    run_cpp([&] { *job = builder->take(label); });
    accepted = vendor_call(refusal, [&] {
      *status = trajc::submit_batch_job(*api, *job, *http, &unanswered);
    });
    run_cpp([&] { *job = trajc::BatchJob{}; });  // the payload is not needed any more
    if (accepted) {
      const char* remote_id = from_core_cstring(status->remote_id);
      Oid types[3] = {INT8OID, TEXTOID, TEXTOID};
      Datum values[3] = {Int64GetDatum(id), CStringGetTextDatum(remote_id),
                         CStringGetTextDatum(trajc::batch_state_name(status->state))};
      sql("UPDATE trajc.batches SET remote_id = $2, status = $3 WHERE id = $1", 3, types, values,
          nullptr, SPI_OK_UPDATE, "recording a provider batch's id");
      commit_if(commits);
      sub->sent++;
    } else if (unanswered) {
      // The vendor may hold the job: its rows stay open (the sessions stay
      // the job's) for the next collect to find it by its label.
      const char* why = psprintf("no answer to the job's creation: %s", from_core_cstring(*refusal, kMaxErrorBytes));
      ereport(WARNING, (errmsg("trajc_batch_submit: provider batch %lld: %s", static_cast<long long>(id), why),
                        errhint("The next CALL trajc_batch_collect() looks for it at the provider by its label.")));
      Oid types[2] = {INT8OID, TEXTOID};
      Datum values[2] = {Int64GetDatum(id), CStringGetTextDatum(why)};
      sql("UPDATE trajc.batches SET error = $2 WHERE id = $1", 2, types, values, nullptr, SPI_OK_UPDATE,
          "recording a provider batch's missing answer");
      commit_if(commits);
      sub->unanswered++;
    } else {
      const char* why =
          psprintf("the provider refused the batch: %s", from_core_cstring(*refusal, kMaxErrorBytes));
      ereport(WARNING, (errmsg("trajc_batch_submit: provider batch %lld: %s", static_cast<long long>(id), why)));
      fail_job(run_store(run), id, why, commits);
      sub->refused++;
    }
  }
  PG_CATCH();
  {
    unlock_batch(id);
    PG_RE_THROW();
  }
  PG_END_TRY();
  unlock_batch(id);
  sub->jobs++;
  sub->nrequests = 0;
}

// The sink: one loaded session into the job being built; a full job is sent
// first.
void gather(Run* run, const char* session_id, const char* hash, const trajc::Trajectory& t,
            void* state) {
  Submitter* sub = static_cast<Submitter*>(state);
  const trajc::CompileSettings* settings = &run_settings(run);
  trajc::BatchJobBuilder* builder = sub->builder;
  std::string* prompt = sub->text;
  // What leaves the server is redacted as an online compile's prompt is.
  run_cpp([&] {
    trajc::CompileOutcome counts;
    *prompt = trajc::build_prompt(trajc::seen_by_model(t, settings->redact_pii, counts), settings->prompt);
  });
  for (int attempt = 0;; attempt++) {
    char custom_id[16];
    snprintf(custom_id, sizeof custom_id, "s%d", sub->next_id);
    bool added = false;
    run_cpp([&] { added = builder->add(custom_id, *prompt); });
    if (added) {
      sub->next_id++;
      if (sub->nrequests == sub->capacity) {
        sub->capacity *= 2;
        sub->requests = static_cast<Request*>(repalloc(sub->requests, sizeof(Request) * sub->capacity));
      }
      Request& r = sub->requests[sub->nrequests++];
      r.custom_id = MemoryContextStrdup(sub->cxt, custom_id);
      r.session_id = MemoryContextStrdup(sub->cxt, session_id);
      r.hash = MemoryContextStrdup(sub->cxt, hash);
      r.agent = t.agent.empty() ? nullptr : MemoryContextStrdup(sub->cxt, from_core_cstring(t.agent));
      r.turn_count = static_cast<int>(t.turns.size());
      return;
    }
    if (attempt > 0) elog(ERROR, "trajc: a request does not fit an empty provider batch job");
    send_job(sub);  // full: send it, then start the next job with this session
  }
}

Submitter* new_submitter(Run* run, MemoryContext cxt) {
  const ModelChoice& m = run_model(run);
  const trajc::CompileSettings& s = run_settings(run);
  Submitter* sub = static_cast<Submitter*>(MemoryContextAllocZero(cxt, sizeof(Submitter)));
  sub->run = run;
  sub->cxt = cxt;
  sub->capacity = 64;
  sub->requests = static_cast<Request*>(MemoryContextAlloc(cxt, sizeof(Request) * sub->capacity));
  const int cap = gucs.batch_max_requests;
  const trajc::Provider provider = m.provider;
  const char* model = m.model;
  sub->builder = box_new<trajc::BatchJobBuilder>(cxt, [&] {
    trajc::BatchLimits limits = trajc::vendor_batch_limits(provider);
    if (cap > 0) limits.max_requests = std::min<std::size_t>(limits.max_requests, static_cast<std::size_t>(cap));
    return new trajc::BatchJobBuilder(provider, model, limits);
  });
  sub->api = box_new<trajc::VendorBatchApi>(cxt, [&] {
    return new trajc::VendorBatchApi(trajc::VendorAccount{s.provider, s.base_url, s.api_key});
  });
  sub->http = box_new<trajc::BlockingHttp>(cxt, [&] {
    return new trajc::BlockingHttp(
        trajc::HttpLimits{std::min<long>(defaults::kConnectTimeoutMs, s.timeout_ms), s.timeout_ms,
                          s.max_response_bytes},
        trajc::RetryPolicy{s.max_retries, s.retry_base_delay_ms, defaults::kRetryMaxDelayMs}, cancel_requested);
  });
  sub->job = box_new<trajc::BatchJob>(cxt);
  sub->status = box_new<trajc::BatchStatus>(cxt);
  sub->text = box_new<std::string>(cxt);
  return sub;
}

// --- collect -----------------------------------------------------------------------

// An open job as trajc.batches holds it.
struct Job {
  int64 id;
  trajc::Provider provider;
  char* provider_name;
  char* model;
  char* remote_id;  // NULL while 'submitting'
  char* label;      // what the vendor knows the job by
  int requests;
  double usd_per_mtok_in, usd_per_mtok_out, batch_discount;
  bool redacted;  // the prompts were built from PII-redacted trajectories
};

struct CollectTotals {
  int polled, finished, skipped, ok, empty, failed;
  double cost_usd;
};

List* open_jobs() {
  sql("SELECT id, provider, model, remote_id, requests, usd_per_mtok_in::float8,"
      " usd_per_mtok_out::float8, batch_discount::float8, redacted, label FROM trajc.batches"
      " WHERE collected_at IS NULL ORDER BY id",
      0, nullptr, nullptr, nullptr, SPI_OK_SELECT, "listing open provider batches");
  List* out = NIL;
  for (uint64 i = 0; i < SPI_processed; i++) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool isnull;
    Job* j = static_cast<Job*>(palloc0(sizeof(Job)));
    j->id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
    j->provider_name = SPI_getvalue(row, desc, 2);
    j->model = SPI_getvalue(row, desc, 3);
    j->remote_id = SPI_getvalue(row, desc, 4);
    j->requests = DatumGetInt32(SPI_getbinval(row, desc, 5, &isnull));
    j->usd_per_mtok_in = DatumGetFloat8(SPI_getbinval(row, desc, 6, &isnull));
    j->usd_per_mtok_out = DatumGetFloat8(SPI_getbinval(row, desc, 7, &isnull));
    j->batch_discount = DatumGetFloat8(SPI_getbinval(row, desc, 8, &isnull));
    j->redacted = DatumGetBool(SPI_getbinval(row, desc, 9, &isnull));
    j->label = SPI_getvalue(row, desc, 10);
    const char* name = j->provider_name;
    trajc::Provider p = trajc::Provider::Offline;
    run_cpp([&] { p = trajc::parse_provider(name); });
    j->provider = p;
    out = lappend(out, j);
  }
  SPI_freetuptable(SPI_tuptable);
  return out;
}

void note_poll(int64 id, const trajc::BatchStatus* s, const char* error) {
  Oid types[3] = {INT8OID, TEXTOID, TEXTOID};
  char nulls[3] = {' ', ' ', ' '};
  Datum values[3] = {Int64GetDatum(id), text_or_null(s ? trajc::batch_state_name(s->state) : nullptr, &nulls[1]),
                     text_or_null(error, &nulls[2])};
  sql("UPDATE trajc.batches SET polls = polls + 1, polled_at = now(), status = coalesce($2, status),"
      " error = $3 WHERE id = $1",
      3, types, values, nulls, SPI_OK_UPDATE, "recording a provider batch's poll");
}

void close_job(int64 id) {
  // now() as a value: Citus refuses a volatile call inside coalesce() in an
  // update of trajc.batches once trajc_distribute() made it a reference table.
  Oid types[2] = {INT8OID, TIMESTAMPTZOID};
  Datum values[2] = {Int64GetDatum(id), TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())};
  // On Citus, reading the distributed logs and then updating the reference
  // table they refer to must share one connection per node; without Citus
  // this only sets a placeholder for the transaction.
  sql("SELECT pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true)", 0,
      nullptr, nullptr, nullptr, SPI_OK_SELECT, "choosing Citus's sequential mode");
  sql("UPDATE trajc.batches b SET finished_at = coalesce(b.finished_at, $2), collected_at = $2,"
      " cost_usd = t.cost, tokens_in = t.tin, tokens_out = t.tout"
      " FROM (SELECT coalesce(sum(l.cost_usd), 0) AS cost, coalesce(sum(l.tokens_in), 0) AS tin,"
      "              coalesce(sum(l.tokens_out), 0) AS tout"
      "         FROM trajc.batch_requests r JOIN trajc.compile_log l"
      "           ON l.session_id = r.session_id AND l.id = r.compile_id"
      "        WHERE r.batch_id = $1) t"
      " WHERE b.id = $1",
      2, types, values, nullptr, SPI_OK_UPDATE, "closing a provider batch");
}

// The audit log as collect reads it to verify replies, resolved with the
// caller's rights at the first job with results and kept for the call.
struct AuditReader {
  MemoryContext cxt;  // the call's: the source outlives each job's memory
  bool tried;
  const AuditSource* src;
  SPIPlanPtr turns_plan;  // NULL when the log could not be resolved: results go unverified
};

void open_audit_reader(AuditReader* reader, bool commits) {
  if (reader->tried) return;
  reader->tried = true;
  const AuditSource* src = nullptr;
  SPIPlanPtr plan = nullptr;
  MemoryContext caller = MemoryContextSwitchTo(reader->cxt);
  ErrorData* error = in_subtransaction([&] {
    src = resolve_audit_source();
    plan = spi_prepare(turns_query(src, true), TEXTOID);
    if (commits) SPI_keepplan(plan);  // survives the procedure's commits
  });
  MemoryContextSwitchTo(caller);
  if (error != nullptr) {
    ereport(WARNING, (errmsg("trajc_batch_collect: the audit log cannot be read (%s); results are stored"
                             " unverified", error->message),
                      errhint("Set trajc.source (and its column settings) as for trajc_batch_submit.")));
    return;
  }
  reader->src = src;
  reader->turns_plan = plan;
}

void close_audit_reader(AuditReader* reader, bool commits) {
  if (commits && reader->turns_plan != nullptr) SPI_freeplan(reader->turns_plan);
  reader->turns_plan = nullptr;
}

// The session as the audit log holds it now (boxed in the current memory
// context), or NULL when it cannot be read: nothing to verify against.
const trajc::Trajectory* reload_session(const AuditReader* reader, const char* session_id) {
  if (reader->turns_plan == nullptr) return nullptr;
  trajc::Trajectory* t = box_new<trajc::Trajectory>(CurrentMemoryContext);
  const char* core_id = to_core_text(session_id);
  ErrorData* error = in_subtransaction([&] {
    SessionRows rows = load_session_rows(reader->src, reader->turns_plan, session_id);
    run_cpp([&] { trajc::to_trajectory(rows.rows, core_id, *t); });
    SPI_freetuptable(rows.tuples);
  });
  if (error == nullptr) return t;
  ereport(WARNING, (errmsg("trajc_batch_collect: session \"%s\" cannot be read (%s); its pairs are stored"
                           " unverified", session_id, error->message)));
  return nullptr;
}

// The core objects one job's collection uses, boxed in its context.
struct Collector {
  trajc::VendorBatchApi* api;
  trajc::BlockingHttp* http;
  trajc::BatchStatus* status;
  std::string* reply;
  std::string* error;
  std::vector<std::string>* ids;
  std::vector<trajc::ItemResult>* results;  // one per id, in the same order
  std::unordered_map<std::string, std::size_t>* index;  // id -> position
  trajc::CompileOutcome* outcome;
};

Collector* new_collector(MemoryContext cxt, const Job& j, const ProviderAccess& access) {
  Collector* c = static_cast<Collector*>(MemoryContextAllocZero(cxt, sizeof(Collector)));
  const trajc::Provider p = j.provider;
  const char* key = access.api_key;
  const char* base = access.base_url;
  const long timeout = gucs.timeout_ms;
  const std::size_t per_reply = static_cast<std::size_t>(gucs.max_response_kb) * 1024;
  const std::size_t cap = std::min(kMaxResultBytes, per_reply * static_cast<std::size_t>(std::max(1, j.requests)) + per_reply);
  const int retries = gucs.max_retries;
  c->api = box_new<trajc::VendorBatchApi>(cxt, [&] { return new trajc::VendorBatchApi(trajc::VendorAccount{p, base, key}); });
  c->http = box_new<trajc::BlockingHttp>(cxt, [&] {
    return new trajc::BlockingHttp(trajc::HttpLimits{std::min<long>(defaults::kConnectTimeoutMs, timeout), timeout, cap},
                                   trajc::RetryPolicy{retries, defaults::kRetryBaseDelayMs, defaults::kRetryMaxDelayMs},
                                   cancel_requested);
  });
  c->status = box_new<trajc::BatchStatus>(cxt);
  c->reply = box_new<std::string>(cxt);
  c->error = box_new<std::string>(cxt);
  c->ids = box_new<std::vector<std::string>>(cxt);
  c->results = box_new<std::vector<trajc::ItemResult>>(cxt);
  c->index = box_new<std::unordered_map<std::string, std::size_t>>(cxt);
  c->outcome = box_new<trajc::CompileOutcome>(cxt);
  return c;
}

// Every custom_id of the job, in submission order (s0, s1, ...): what its
// results are matched against.
void load_ids(Collector* c, int64 id) {
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(id)};
  sql("SELECT custom_id FROM trajc.batch_requests WHERE batch_id = $1"
      " ORDER BY length(custom_id), custom_id",
      1, types, values, nullptr, SPI_OK_SELECT, "reading a batch's request ids");
  std::vector<std::string>* ids = c->ids;
  for (uint64 i = 0; i < SPI_processed; i++) {
    const char* custom_id = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
    run_cpp([&] { ids->emplace_back(custom_id); });
  }
  SPI_freetuptable(SPI_tuptable);
}

// One open request's result, stored as its session's compile.
void store_request(const Store* store, Collector* c, const Job& j, const Request& r, const char* key,
                   const AuditReader* reader, CollectTotals* totals) {
  const trajc::ItemResult* found = nullptr;
  const std::vector<trajc::ItemResult>* results = c->results;
  const std::unordered_map<std::string, std::size_t>* index = c->index;
  trajc::CompileOutcome* outcome = c->outcome;
  const char* custom_id = r.custom_id;
  // The core works in UTF-8; store_outcome converts back.
  const char* session_id = to_core_text(r.session_id);
  const char* agent = r.agent != nullptr ? to_core_text(r.agent) : "";
  const trajc::Trajectory* current = reload_session(reader, r.session_id);
  const bool redacted = j.redacted;
  const int verify = gucs.verify;
  const double dedup_threshold = gucs.dedup_threshold;
  run_cpp([&] {
    auto it = index->find(custom_id);
    if (it != index->end() && it->second < results->size()) found = &(*results)[it->second];
    trajc::CompileOutcome sent;
    sent.session_id = session_id;
    sent.trajectory_hash = r.hash;  // what was compiled, whatever the log holds now
    sent.agent = agent;
    sent.turn_count = r.turn_count;
    trajc::ItemResult missing;
    missing.error = "no result for this request";
    trajc::CollectedView view;
    view.current = current;
    view.redacted = redacted;
    view.quality.verify = static_cast<trajc::VerifyMode>(verify);
    view.quality.dedup_threshold = dedup_threshold;
    *outcome = trajc::collected_outcome(std::move(sent), found ? *found : missing,
                                        trajc::Prices{j.usd_per_mtok_in, j.usd_per_mtok_out}, j.batch_discount,
                                        defaults::kMaxQuestions, key ? key : "", view);
  });
  SessionResult s = store_outcome(store, *outcome, false);
  finish_request(j.id, r.custom_id, s.status, s.compile_id);
  switch (s.status) {
    case trajc::Status::Ok: totals->ok++; break;
    case trajc::Status::Empty: totals->empty++; break;
    default: totals->failed++; break;
  }
  totals->cost_usd += s.cost_usd;
}

// A job left 'submitting' (its lock was free: the submitter died, or had no
// answer to the job's creation): looked up at the vendor by its label. Found,
// its id is recorded and it is collected as any other; not listed, the
// vendor never created it and the job is failed (its sessions are pending
// again). Returns the id, or NULL (the list unreadable: tried again next time).
const char* adopt_job(const Store* store, Collector* c, const Job& j, bool commits) {
  const char* label = j.label;
  std::string* found = c->reply;
  const bool listed =
      vendor_call(c->error, [&] { *found = trajc::find_batch_job(*c->api, label, *c->http); });
  if (!listed) {
    const char* why = psprintf("looking for the job labelled %s: %s", j.label, from_core_cstring(*c->error, kMaxErrorBytes));
    ereport(WARNING, (errmsg("trajc_batch_collect: provider batch %lld: %s", static_cast<long long>(j.id), why)));
    note_poll(j.id, nullptr, why);
    commit_if(commits);
    return nullptr;
  }
  if (found->empty()) {
    fail_job(store, j.id,
             psprintf("submission interrupted before the provider's answer was recorded, and the provider lists"
                      " no job labelled %s", j.label),
             commits);
    return nullptr;
  }
  const char* remote_id = from_core_cstring(*found);
  Oid types[2] = {INT8OID, TEXTOID};
  Datum values[2] = {Int64GetDatum(j.id), CStringGetTextDatum(remote_id)};
  sql("UPDATE trajc.batches SET remote_id = $2, status = 'pending', error = NULL WHERE id = $1", 2, types, values,
      nullptr, SPI_OK_UPDATE, "adopting a provider batch");
  commit_if(commits);
  ereport(NOTICE, (errmsg("trajc_batch_collect: provider batch %lld: adopted the provider's job %s (labelled %s)",
                          static_cast<long long>(j.id), remote_id, j.label)));
  return remote_id;
}

// Polls one job and, once it is final, stores every open request's result,
// each session committed on its own.
void collect_job(const Job& j, bool commits, MemoryContext cxt, AuditReader* reader, CollectTotals* totals) {
  ModelChoice model{};
  model.provider = j.provider;
  model.provider_name = j.provider_name;
  model.model = j.model;
  model.usd_per_mtok_in = j.usd_per_mtok_in;
  model.usd_per_mtok_out = j.usd_per_mtok_out;
  model.batch_discount = j.batch_discount;
  Store* store = open_store(cxt, &model, commits, gucs.dedup_threshold);
  ProviderAccess access = provider_access(j.provider);
  if (j.remote_id == nullptr && !trajc::vendor_lists_labels(j.provider)) {
    // Its lock was free: the submitter died, or had no answer, before the
    // vendor's id was recorded, and this vendor's list cannot tell its jobs.
    fail_job(store, j.id,
             psprintf("submission interrupted before the provider's answer was recorded (%s batches carry no"
                      " label to find the job by: one the provider did create is not collected)",
                      j.provider_name),
             commits);
    close_store(store);
    return;
  }
  if (access.api_key == nullptr) {
    note_poll(j.id, nullptr, psprintf("no API key for provider \"%s\"", j.provider_name));
    commit_if(commits);
    close_store(store);
    return;
  }
  Collector* c = new_collector(cxt, j, access);
  const char* remote_id = j.remote_id != nullptr ? j.remote_id : adopt_job(store, c, j, commits);
  if (remote_id == nullptr) {
    close_store(store);
    return;
  }
  const bool polled = vendor_call(c->error, [&] {
    *c->status = trajc::poll_batch_job(*c->api, remote_id, *c->http, c->reply);
  });
  totals->polled++;
  if (!polled) {
    ereport(WARNING, (errmsg("trajc_batch_collect: provider batch %lld: %s", static_cast<long long>(j.id),
                             from_core_cstring(*c->error, kMaxErrorBytes))));
    note_poll(j.id, nullptr, from_core_cstring(*c->error, kMaxErrorBytes));
    commit_if(commits);
    close_store(store);
    return;
  }
  const trajc::BatchStatus* s = c->status;
  note_poll(j.id, s, s->error.empty() ? nullptr : from_core_cstring(s->error, kMaxErrorBytes));
  commit_if(commits);
  if (!trajc::is_final(s->state)) {
    close_store(store);
    return;
  }
  if (s->state == trajc::BatchState::Failed) {
    const char* why = psprintf("the provider failed the batch: %s",
                               s->error.empty() ? "no reason given" : from_core_cstring(s->error, kMaxErrorBytes));
    fail_job(store, j.id, why, commits);
    totals->finished++;
    close_store(store);
    return;
  }
  load_ids(c, j.id);
  const bool fetched = vendor_call(c->error, [&] {
    *c->results = trajc::fetch_batch_results(*c->api, *c->status, *c->ids, *c->reply, *c->http);
    for (std::size_t i = 0; i < c->ids->size(); i++) c->index->emplace((*c->ids)[i], i);
  });
  run_cpp([&] { std::string().swap(*c->reply); });
  if (!fetched) {
    const char* why = from_core_cstring(*c->error, kMaxErrorBytes);
    ereport(WARNING, (errmsg("trajc_batch_collect: provider batch %lld: fetching results: %s",
                             static_cast<long long>(j.id), why)));
    note_poll(j.id, nullptr, why);
    commit_if(commits);
    close_store(store);
    return;
  }
  open_audit_reader(reader, commits);
  MemoryContext per_session = AllocSetContextCreate(cxt, "trajc batch session", ALLOCSET_SMALL_SIZES);
  ListCell* cell;
  foreach (cell, open_requests(j.id)) {
    MemoryContext caller = MemoryContextSwitchTo(per_session);
    store_request(store, c, j, *static_cast<const Request*>(lfirst(cell)), access.api_key, reader, totals);
    commit_if(commits);
    MemoryContextSwitchTo(caller);
    MemoryContextReset(per_session);
  }
  close_job(j.id);
  commit_if(commits);
  totals->finished++;
  close_store(store);
}

}  // namespace

// CALL trajc_batch_submit(min_turns, "limit", tier): the pending sessions as
// provider batch jobs, split at the vendor's limits (and trajc.batch_max_requests).
extern "C" Datum trajc_batch_submit(PG_FUNCTION_ARGS) {
  // Phase 1: arguments, run (settings, model, audit source), the listing.
  if (static_cast<trajc::Provider>(gucs.provider) == trajc::Provider::Offline)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("the offline provider has no batch mode"),
                    errhint("SET trajc.provider to gemini, openai or anthropic.")));
  // A batch job's replies come back without the trajectory they were made
  // from, a day later: refused rather than stored less verified than asked.
  if (gucs.verify == static_cast<int>(trajc::VerifyMode::Model))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("provider batch mode cannot verify with a model"),
                    errhint("Compile online (trajc_compile_pending, trajc_start) with trajc.verify ="
                            " 'model', or SET trajc.verify = 'literal' for batch mode and re-check"
                            " the stored pairs with trajc_verify().")));
  const int min_turns = PG_ARGISNULL(0) ? defaults::kMinTurns : PG_GETARG_INT32(0);
  const int limit = PG_ARGISNULL(1) ? defaults::kBatchSubmitLimit : PG_GETARG_INT32(1);
  const char* tier = PG_ARGISNULL(2) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(2));
  // The submitter's context: the call's own (not SPI's, which SPI_finish
  // deletes), surviving the procedure's commits.
  MemoryContext parent = nonatomic_call(fcinfo) ? PortalContext : CurrentMemoryContext;
  Run* run = begin_run(kBatchSubmitPolicy, fcinfo, tier, false);
  MemoryContext cxt = AllocSetContextCreate(parent, "trajc batch submit", ALLOCSET_DEFAULT_SIZES);
  Submitter* sub = new_submitter(run, cxt);
  set_sink(run, gather, sub);
  list_sessions(run, min_turns, limit);
  // Phases 2 and 3, per job: sessions gathered, rows committed, job sent.
  drive(run);
  send_job(sub);
  const RunTotals& t = run_totals(run);
  ereport(NOTICE, (errmsg("trajc_batch_submit: %d sessions listed, %d skipped; %d provider batch jobs"
                          " (%d sent, %d refused, %d unanswered)",
                          t.sessions, t.skipped, sub->jobs, sub->sent, sub->refused, sub->unanswered)));
  MemoryContextDelete(cxt);
  end_run(run);
  PG_RETURN_VOID();
}

// CALL trajc_batch_collect(): polls every open job; stores the results of
// the finished ones.
extern "C" Datum trajc_batch_collect(PG_FUNCTION_ARGS) {
  const bool commits = nonatomic_call(fcinfo);
  // The call's own context (not SPI's, which SPI_finish deletes), surviving
  // the procedure's commits.
  MemoryContext cxt = AllocSetContextCreate(commits ? PortalContext : CurrentMemoryContext,
                                            "trajc batch collect", ALLOCSET_DEFAULT_SIZES);
  spi_connect(commits);
  MemoryContext caller = MemoryContextSwitchTo(cxt);
  List* jobs = open_jobs();
  CollectTotals totals{};
  AuditReader reader{};
  reader.cxt = cxt;
  MemoryContext per_job = AllocSetContextCreate(cxt, "trajc batch job", ALLOCSET_DEFAULT_SIZES);
  ListCell* cell;
  foreach (cell, jobs) {
    const Job& j = *static_cast<const Job*>(lfirst(cell));
    // Another backend submits or collects it: its turn, not ours.
    if (!try_lock_batch(j.id)) {
      totals.skipped++;
      continue;
    }
    MemoryContextSwitchTo(per_job);
    PG_TRY();
    { collect_job(j, commits, per_job, &reader, &totals); }
    PG_CATCH();
    {
      unlock_batch(j.id);
      PG_RE_THROW();
    }
    PG_END_TRY();
    unlock_batch(j.id);
    MemoryContextSwitchTo(cxt);
    MemoryContextReset(per_job);
  }
  ereport(NOTICE, (errmsg("trajc_batch_collect: %d open provider batch jobs, %d polled, %d finished,"
                          " %d busy elsewhere; %d sessions stored (%d ok, %d empty, %d failed), $%.6f",
                          list_length(jobs), totals.polled, totals.finished, totals.skipped,
                          totals.ok + totals.empty + totals.failed, totals.ok, totals.empty,
                          totals.failed, totals.cost_usd)));
  close_audit_reader(&reader, commits);
  MemoryContextSwitchTo(caller);
  SPI_finish();
  MemoryContextDelete(cxt);
  PG_RETURN_VOID();
}
