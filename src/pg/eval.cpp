// trajc_eval and CALL trajc_eval_pending: ask a candidate model the pairs'
// questions and store its graded answers, resuming a run by its label.
//
// Phase 1 reads the arguments and settings, finds or creates the run's row
// and lists the pairs it has not graded yet (by session, so each trajectory
// is read once). The loop then alternates: load a session's trajectory with
// SPI, start its pairs in the core's EvalRunner while slots, rate and budget
// allow, wait for replies, store each finished pair (and, in the procedure
// form, commit it). Requests go through the same engine as compiling.
//
// Must never: send a pair's answer or supporting turns to the candidate
// (the core builds that prompt from the trajectory and the question), read a
// setting after phase 1, run a label twice at once, or call into the core
// outside run_cpp.
#include "audit_source.hpp"
#include "cpp_call.hpp"
#include "guc.hpp"
#include "model_choice.hpp"
#include "spi_util.hpp"
#include "stored_text.hpp"
#include "subxact.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_eval);
PG_FUNCTION_INFO_V1(trajc_eval_pending);
}

using namespace trajc_pg;

namespace {

constexpr long kWaitSliceMs = 200;

bool cancel_requested() { return QueryCancelPending || ProcDiePending; }

struct EvalArgs {
  const char* label;
  const char* provider;  // NULL = trajc.provider
  const char* model;     // NULL = trajc.model, else the tier's
  int limit;
  const char* qa_type;   // NULL = every type
  const char* grader;    // match, judge or auto
};

const char* text_arg(FunctionCallInfo fcinfo, int n) {
  return PG_ARGISNULL(n) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

[[noreturn]] void bad_argument(const char* message, const char* hint) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", message),
                  hint ? errhint("%s", hint) : 0));
  pg_unreachable();
}

EvalArgs read_args(FunctionCallInfo fcinfo) {
  EvalArgs a{};
  a.label = text_arg(fcinfo, 0);
  if (a.label == nullptr)
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("label must not be NULL")));
  if (a.label[0] == '\0') bad_argument("label must not be empty", "Name the run, e.g. 'gpt-5-mini 2026-03'.");
  a.provider = text_arg(fcinfo, 1);
  a.model = text_arg(fcinfo, 2);
  if (a.model != nullptr && a.model[0] == '\0') a.model = nullptr;
  if (PG_ARGISNULL(3) || PG_GETARG_INT32(3) < 0)
    bad_argument("\"limit\" must be 0 (every pair) or positive", nullptr);
  a.limit = PG_GETARG_INT32(3);
  a.qa_type = text_arg(fcinfo, 4);
  if (a.qa_type != nullptr && !trajc::is_qa_type(a.qa_type))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("unknown qa_type \"%s\"", a.qa_type),
                    errhint("Use factoid, reasoning, composition or temporal.")));
  a.grader = PG_ARGISNULL(5) ? trajc::defaults::kEvalGrader : text_arg(fcinfo, 5);
  if (strcmp(a.grader, "match") != 0 && strcmp(a.grader, "judge") != 0 &&
      strcmp(a.grader, "auto") != 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("unknown grader \"%s\"", a.grader),
                    errhint("Use match, judge or auto.")));
  return a;
}

trajc::Provider provider_of(const char* name) {
  if (name == nullptr) return static_cast<trajc::Provider>(gucs.provider);
  trajc::Provider p = trajc::Provider::Offline;
  run_cpp([&] { p = trajc::parse_provider(name); });  // 22023 for an unknown one
  return p;
}

// One pair to ask, as listed in phase 1.
// One pair to ask, as listed in phase 1. session_id is in the database
// encoding (for SQL); the texts for the core are UTF-8.
struct PendingPair {
  char* id;
  char* session_id;
  const char* core_session_id;
  const char* question;
  const char* answer;
  char* qa_type;
  int turn_count;
};

struct EvalRun {
  MemoryContext cxt;
  MemoryContext scratch;  // one session's rows, reset after each
  bool commit_each;
  int64 run_id;
  uint64 lock_key;  // of the label
  bool locked;
  ModelChoice candidate;
  bool use_judge;
  ModelChoice judge;
  AuditSource* src;
  SPIPlanPtr turns_plan;
  SPIPlanPtr store_plan;
  PendingPair* pairs;
  int npairs;
  PendingPair** by_id;  // the same pairs, sorted by id: an answer's session
  int limit;            // the selection (the run's pair_limit and qa_type)
  const char* qa_type;
  int next;
  bool over_budget;
  // boxed C++ state
  trajc::EvalSettings* settings;
  trajc::EvalRunner* runner;
  trajc::Trajectory* trajectory;  // of pairs[next]'s session once loaded
  char* loaded_session;           // whose trajectory is loaded (NULL = none)
  bool loaded_has_turns;
  char* load_error;               // why it could not be read (NULL = it was)
  std::vector<trajc::EvalOutcome>* finished;
};

bool nonatomic_call(FunctionCallInfo fcinfo) {
  return fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
         !castNode(CallContext, fcinfo->context)->atomic;
}

void commit_if_procedure(EvalRun* run) {
  if (!run->commit_each) return;
  SPI_commit();
  SPI_start_transaction();
}

// The label's advisory lock: two sessions never run one label at once (they
// would ask the same pairs twice). Taken before the run's row is touched, so
// the second session is refused at once instead of waiting on that row. In
// the procedure form it is session-level, so it outlives the commits, and
// released at the end and on error; a function's run holds it until its
// transaction ends. The fourth field (3) keeps it apart from
// pg_advisory_lock's keys (1 and 2) and the compile claims.
constexpr uint64 kLockSeed = UINT64CONST(0x7472616a635f6576);  // "trajc_ev"

void run_lock_tag(const EvalRun* run, LOCKTAG* tag) {
  SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, static_cast<uint32>(run->lock_key >> 32),
                       static_cast<uint32>(run->lock_key), 3);
}

void lock_run(EvalRun* run, const char* label) {
  run->lock_key = hash_bytes_extended(reinterpret_cast<const unsigned char*>(label),
                                      static_cast<int>(strlen(label)), kLockSeed);
  LOCKTAG tag;
  run_lock_tag(run, &tag);
  if (LockAcquire(&tag, ExclusiveLock, run->commit_each, true) == LOCKACQUIRE_NOT_AVAIL)
    ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
                    errmsg("eval run \"%s\" is being run by another session", label),
                    errhint("Wait for it to finish, or use another label.")));
  run->locked = run->commit_each;
}

void unlock_run(EvalRun* run) {
  if (!run->locked) return;
  run->locked = false;
  LOCKTAG tag;
  run_lock_tag(run, &tag);
  LockRelease(&tag, ExclusiveLock, true);
}

const char* judge_model_name(const EvalRun* run) { return run->use_judge ? run->judge.model : nullptr; }

// Finds the label's run or creates it. A run that exists must have been
// started with the same candidate, grader and selection: it is resumed.
void find_or_create_run(EvalRun* run, const EvalArgs& a) {
  const char* grader = run->use_judge ? "judge" : "match";
  Oid types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID};
  Datum args[7] = {CStringGetTextDatum(a.label),
                   CStringGetTextDatum(run->candidate.provider_name),
                   CStringGetTextDatum(run->candidate.model),
                   CStringGetTextDatum(grader),
                   judge_model_name(run) ? CStringGetTextDatum(judge_model_name(run)) : (Datum)0,
                   Int32GetDatum(a.limit),
                   a.qa_type ? CStringGetTextDatum(a.qa_type) : (Datum)0};
  char nulls[7] = {' ', ' ', ' ', ' ', judge_model_name(run) ? ' ' : 'n', ' ', a.qa_type ? ' ' : 'n'};
  spi_check(SPI_execute_with_args(
                "WITH created AS ("
                "  INSERT INTO trajc.eval_runs (label, provider, model, grader, judge_model,"
                "                               pair_limit, qa_type)"
                "  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (label) DO NOTHING RETURNING id)"
                " SELECT id, true, NULL, NULL, NULL, NULL, NULL FROM created"
                " UNION ALL"
                " SELECT id, false, provider, model, grader, pair_limit, qa_type"
                "   FROM trajc.eval_runs WHERE label = $1",
                7, types, args, nulls, false, 0),
            SPI_OK_SELECT, "finding the eval run");
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool isnull;
  run->run_id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
  const bool created = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
  if (!created) {
    const char* provider = SPI_getvalue(row, desc, 3);
    const char* model = SPI_getvalue(row, desc, 4);
    const char* run_grader = SPI_getvalue(row, desc, 5);
    const char* limit = SPI_getvalue(row, desc, 6);
    const char* qa_type = SPI_getvalue(row, desc, 7);
    const bool same = strcmp(provider, run->candidate.provider_name) == 0 &&
                      strcmp(model, run->candidate.model) == 0 && strcmp(run_grader, grader) == 0 &&
                      atoi(limit) == a.limit &&
                      ((qa_type == nullptr && a.qa_type == nullptr) ||
                       (qa_type != nullptr && a.qa_type != nullptr && strcmp(qa_type, a.qa_type) == 0));
    if (!same)
      ereport(ERROR,
              (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
               errmsg("eval run \"%s\" was started with %s model \"%s\", grader %s, \"limit\" %s, "
                      "qa_type %s",
                      a.label, provider, model, run_grader, limit, qa_type ? qa_type : "NULL"),
               errhint("Resume it with the same arguments, or start a run with another label.")));
  }
  SPI_freetuptable(SPI_tuptable);
}

// The run's selection (its first "limit" pairs by id, of its qa_type if it
// has one) minus the pairs it has graded: $1 the run, $2 "limit", $3
// qa_type. The anti-join is on the answer's whole key, session included, so
// that on Citus it runs within each shard (docs/citus.md).
constexpr const char* kUngradedPairs =
    "SELECT p.id, p.session_id, p.question, p.answer, p.qa_type, p.turn_count"
    "  FROM (SELECT * FROM trajc.qa_pairs q WHERE $3::text IS NULL OR q.qa_type = $3"
    "         ORDER BY q.id LIMIT nullif($2, 0)) p"
    "  LEFT JOIN trajc.eval_answers x ON x.run_id = $1 AND x.session_id = p.session_id"
    "   AND x.pair_id = p.id AND x.correct IS NOT NULL"
    " WHERE x.pair_id IS NULL";

// Runs kUngradedPairs with `suffix` appended for the run's selection. Not
// read-only: a fresh snapshot, so that the answers this very call stored
// are seen.
void ungraded_pairs(const EvalRun* run, const char* suffix, int max_rows, const char* what) {
  Oid types[3] = {INT8OID, INT4OID, TEXTOID};
  Datum args[3] = {Int64GetDatum(run->run_id), Int32GetDatum(run->limit),
                   run->qa_type ? CStringGetTextDatum(run->qa_type) : (Datum)0};
  char nulls[3] = {' ', ' ', run->qa_type ? ' ' : 'n'};
  spi_check(SPI_execute_with_args(psprintf("%s%s", kUngradedPairs, suffix), 3, types, args, nulls,
                                  false, max_rows),
            SPI_OK_SELECT, what);
}

int compare_pair_ids(const void* a, const void* b) {
  return strcmp((*static_cast<PendingPair* const*>(a))->id,
                (*static_cast<PendingPair* const*>(b))->id);
}

// The session of a listed pair (every answer stored is of one).
const char* session_of(const EvalRun* run, const char* pair_id) {
  PendingPair key{};
  key.id = const_cast<char*>(pair_id);
  PendingPair* k = &key;
  auto* found = static_cast<PendingPair**>(
      bsearch(&k, run->by_id, run->npairs, sizeof(PendingPair*), compare_pair_ids));
  if (found == nullptr) elog(ERROR, "trajc: eval answer for pair %s, which was not listed", pair_id);
  return (*found)->session_id;
}

// The pairs to ask, by session (each trajectory is read once).
void list_pending(EvalRun* run, const EvalArgs& a) {
  run->limit = a.limit;
  run->qa_type = a.qa_type != nullptr ? MemoryContextStrdup(run->cxt, a.qa_type) : nullptr;
  ungraded_pairs(run, " ORDER BY p.session_id, p.id", 0, "listing the pairs to ask");
  run->npairs = static_cast<int>(SPI_processed);
  run->pairs = static_cast<PendingPair*>(
      MemoryContextAllocZero(run->cxt, sizeof(PendingPair) * (SPI_processed + 1)));
  MemoryContext caller = MemoryContextSwitchTo(run->cxt);
  for (uint64 i = 0; i < SPI_processed; i++) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    PendingPair& p = run->pairs[i];
    p.id = SPI_getvalue(row, desc, 1);
    p.session_id = SPI_getvalue(row, desc, 2);
    p.core_session_id = to_core_text(p.session_id);
    p.question = to_core_text(SPI_getvalue(row, desc, 3));
    p.answer = to_core_text(SPI_getvalue(row, desc, 4));
    p.qa_type = SPI_getvalue(row, desc, 5);
    p.turn_count = atoi(SPI_getvalue(row, desc, 6));
  }
  MemoryContextSwitchTo(caller);
  SPI_freetuptable(SPI_tuptable);
  run->by_id = static_cast<PendingPair**>(
      MemoryContextAlloc(run->cxt, sizeof(PendingPair*) * (run->npairs + 1)));
  for (int i = 0; i < run->npairs; i++) run->by_id[i] = &run->pairs[i];
  qsort(run->by_id, run->npairs, sizeof(PendingPair*), compare_pair_ids);
}

// One statement stores a pair's answer (again, for a pair asked before
// without a grade: its earlier calls' tokens and cost are added, never lost)
// and adds it to the run's totals. A pair deleted meanwhile is skipped. The
// pair is found by its session too ($13): on Citus the insert then goes to
// one shard, which a statement that also updates the run's row (a
// reference table) needs; answered_at is the insert's default, now(), as
// Citus takes no volatile function in an ON CONFLICT update.
constexpr const char* kStoreAnswer =
    "WITH stored AS ("
    "  INSERT INTO trajc.eval_answers AS a (run_id, session_id, pair_id, answer, correct, score, judge_reason,"
    "      tokens_in, tokens_out, cost_usd, judge_tokens_in, judge_tokens_out, judge_cost_usd)"
    "  SELECT $1, p.session_id, p.id, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11, $12::numeric"
    "    FROM trajc.qa_pairs p WHERE p.session_id = $13 AND p.id = $2::uuid"
    "  ON CONFLICT (run_id, session_id, pair_id) DO UPDATE SET answer = excluded.answer,"
    "      correct = excluded.correct, score = excluded.score,"
    "      judge_reason = excluded.judge_reason,"
    "      tokens_in = a.tokens_in + excluded.tokens_in,"
    "      tokens_out = a.tokens_out + excluded.tokens_out,"
    "      cost_usd = a.cost_usd + excluded.cost_usd,"
    "      judge_tokens_in = a.judge_tokens_in + excluded.judge_tokens_in,"
    "      judge_tokens_out = a.judge_tokens_out + excluded.judge_tokens_out,"
    "      judge_cost_usd = a.judge_cost_usd + excluded.judge_cost_usd,"
    "      answered_at = excluded.answered_at"
    "  RETURNING 1)"
    " UPDATE trajc.eval_runs SET pairs = pairs + ($4 IS NOT NULL)::int,"
    "     correct = correct + coalesce($4, false)::int,"
    "     cost_usd = cost_usd + $9::numeric + $12::numeric"
    "  WHERE id = $1 AND EXISTS (SELECT 1 FROM stored)";

void store_answer(EvalRun* run, const trajc::EvalOutcome& o, const char* session_id) {
  // Model text reaches the table only through the choke point
  // (stored_text.hpp): valid in the database encoding, NUL-free, bounded.
  Datum args[13] = {Int64GetDatum(run->run_id),
                    CStringGetTextDatum(o.pair_id.c_str()),
                    o.has_answer ? from_core_text(o.answer) : (Datum)0,
                    BoolGetDatum(o.correct),
                    Float4GetDatum(static_cast<float4>(o.score)),
                    from_core_text(o.reason, kMaxErrorBytes),
                    Int64GetDatum(o.tokens_in),
                    Int64GetDatum(o.tokens_out),
                    Float8GetDatum(o.cost_usd),
                    Int64GetDatum(o.judge_tokens_in),
                    Int64GetDatum(o.judge_tokens_out),
                    Float8GetDatum(o.judge_cost_usd),
                    CStringGetTextDatum(session_id)};
  char nulls[13] = {' ', ' ', o.has_answer ? ' ' : 'n', o.graded ? ' ' : 'n', o.graded ? ' ' : 'n',
                    ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  spi_execute(run->store_plan, args, nulls, false, SPI_OK_UPDATE, "storing an eval answer");
}

// An outcome for a pair that could not be asked, stored like any other.
void store_unasked(EvalRun* run, const PendingPair& p, const char* why) {
  trajc::EvalOutcome* o = nullptr;
  run_cpp([&] {
    o = new trajc::EvalOutcome();
    o->pair_id = p.id;
    o->reason = why;
  });
  store_answer(run, *o, p.session_id);
  delete o;  // noexcept
}

// Reads pairs[next]'s session and makes its trajectory (phases 1 and 2).
void read_session(EvalRun* run, const PendingPair& p) {
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  SessionRows rows = load_session_rows(run->src, run->turns_plan, p.session_id);
  trajc::Trajectory* t = run->trajectory;
  const char* session_id = p.core_session_id;
  run_cpp([&] { trajc::to_trajectory(rows.rows, session_id, *t); });
  run->loaded_has_turns = rows.rows.nturns > 0;
  SPI_freetuptable(rows.tuples);
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
}

// Phase 1 and 2 for pairs[next]'s session, unless it is loaded already. A
// session that cannot be read (a value that does not convert, a trigger, a
// policy) fails its own pairs only: the read runs in a subtransaction.
void load_session(EvalRun* run) {
  const PendingPair& p = run->pairs[run->next];
  if (run->loaded_session != nullptr && strcmp(run->loaded_session, p.session_id) == 0) return;
  run->loaded_session = p.session_id;
  run->loaded_has_turns = false;
  run->load_error = nullptr;
  ErrorData* error = in_subtransaction([&] { read_session(run, p); });
  if (error == nullptr) return;
  MemoryContextReset(run->scratch);
  run->load_error = MemoryContextStrdup(
      run->cxt, to_core_text(psprintf("not asked: reading the session failed: %s", error->message)));
  FreeErrorData(error);
}


// Starts pairs while the runner takes them.
void start_what_fits(EvalRun* run) {
  using Admission = trajc::EvalRunner::Admission;
  while (run->next < run->npairs && !run->over_budget) {
    load_session(run);
    const PendingPair& p = run->pairs[run->next];
    if (!run->loaded_has_turns) {
      // Retention removed the session, or it could not be read.
      store_unasked(run, p, run->load_error != nullptr
                                ? run->load_error
                                : "not asked: the session is no longer in the audit log");
      commit_if_procedure(run);
      run->next++;
      continue;
    }
    trajc::EvalRunner* runner = run->runner;
    const trajc::EvalSettings* settings = run->settings;
    const trajc::Trajectory* t = run->trajectory;
    Admission admission = Admission::Wait;
    std::size_t active = 0;
    trajc::EvalItem* item = nullptr;
    trajc::Estimate estimate;
    run_cpp([&] {
      item = new trajc::EvalItem{p.id, p.question, p.answer, p.qa_type, p.turn_count};
      estimate = trajc::estimate_eval(*t, *item, *settings);
      admission = runner->admit(estimate);
      active = runner->active();
      if (admission == Admission::Start) runner->start(*t, *item, estimate);
      delete item;
      item = nullptr;
    });
    if (admission == Admission::Start) {
      run->next++;
      continue;
    }
    // Over budget with calls in flight: they may cost less than estimated.
    if (admission == Admission::OverBudget && active == 0) {
      run->over_budget = true;
      ereport(NOTICE, (errmsg("trajc_eval: trajc.max_cost_usd reached; %d pairs not asked "
                              "(resume the run to ask them)",
                              run->npairs - run->next)));
    }
    return;
  }
}

bool all_done(EvalRun* run) {
  std::size_t active = 0;
  trajc::EvalRunner* runner = run->runner;
  run_cpp([&] { active = runner->active(); });
  return active == 0 && (run->next >= run->npairs || run->over_budget);
}

void store_what_finished(EvalRun* run) {
  trajc::EvalRunner* runner = run->runner;
  std::vector<trajc::EvalOutcome>* finished = run->finished;
  run_cpp([&] { *finished = runner->wait(kWaitSliceMs); });
  CHECK_FOR_INTERRUPTS();
  for (const trajc::EvalOutcome& o : *finished) {
    store_answer(run, o, session_of(run, o.pair_id.c_str()));
    commit_if_procedure(run);
  }
  run_cpp([&] { finished->clear(); });
}

void drive(EvalRun* run) {
  for (;;) {
    start_what_fits(run);
    if (all_done(run)) return;
    store_what_finished(run);
  }
}

// finished_at: now when every pair of the selection is graded, else NULL.
// Decided first, then written: on Citus an update of the run's row (a
// reference table) takes neither a subquery over the shards nor now() in a
// CASE, nor follows a read of every shard in one transaction unless the
// transaction changed the row first (the function form did, finding the
// run); the procedure form commits in between.
void close_run(EvalRun* run) {
  ungraded_pairs(run, " LIMIT 1", 1, "checking for pairs left to ask");
  const bool finished = SPI_processed == 0;
  SPI_freetuptable(SPI_tuptable);
  commit_if_procedure(run);
  Oid types[2] = {INT8OID, TIMESTAMPTZOID};
  Datum args[2] = {Int64GetDatum(run->run_id),
                   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())};  // now()
  char nulls[2] = {' ', finished ? ' ' : 'n'};
  spi_check(SPI_execute_with_args("UPDATE trajc.eval_runs SET finished_at = $2 WHERE id = $1", 2,
                                  types, args, nulls, false, 0),
            SPI_OK_UPDATE, "closing the eval run");
}

void snapshot_settings(EvalRun* run) {
  const ModelChoice c = run->candidate, j = run->judge;
  const bool use_judge = run->use_judge;
  const Gucs g = gucs;
  trajc::EvalSettings* s = run->settings;
  auto endpoint = [](const ModelChoice& m) {
    return trajc::ModelEndpoint{m.provider, m.model, m.api_key != nullptr ? m.api_key : "",
                                m.base_url, trajc::Prices{m.usd_per_mtok_in, m.usd_per_mtok_out}};
  };
  run_cpp([&] {
    s->candidate = endpoint(c);
    s->use_judge = use_judge;
    if (use_judge) s->judge = endpoint(j);
    s->limits.timeout_ms = g.timeout_ms;
    s->limits.max_retries = g.max_retries;
    s->limits.concurrency = g.concurrency;
    s->limits.max_requests_per_minute = g.max_requests_per_minute;
    s->limits.max_cost_usd = g.max_cost_usd;
    s->limits.max_response_bytes = static_cast<std::size_t>(g.max_response_kb) * 1024;
    s->prompt.budget_chars = static_cast<std::size_t>(g.prompt_budget_chars);
    s->prompt.max_value_chars = static_cast<std::size_t>(g.max_value_chars);
  });
}

// The candidate from the arguments; the judge (grader judge, or auto with
// trajc.judge_model set) is trajc.provider's model for trajc.judge_tier, or
// trajc.judge_model.
void choose_models(EvalRun* run, const EvalArgs& a) {
  const trajc::Provider provider = provider_of(a.provider);
  if (provider == trajc::Provider::Offline)
    bad_argument("the offline provider compiles pairs; it cannot answer questions",
                 "Pass a provider and model (any OpenAI-compatible server works, a local one too).");
  run->candidate = choose_model_for(provider, a.model != nullptr ? a.model : gucs.model, gucs.tier, true);
  const bool judge_set = gucs.judge_model != nullptr && gucs.judge_model[0] != '\0';
  run->use_judge = strcmp(a.grader, "judge") == 0 || (strcmp(a.grader, "auto") == 0 && judge_set);
  if (!run->use_judge) return;
  const trajc::Provider judge_provider = static_cast<trajc::Provider>(gucs.provider);
  if (judge_provider == trajc::Provider::Offline)
    bad_argument("the judge needs a model, but trajc.provider is offline",
                 "SET trajc.provider to the judge's provider (and trajc.judge_model or "
                 "trajc.judge_tier), or use grader 'match'.");
  run->judge = choose_model_for(judge_provider, gucs.judge_model, gucs.judge_tier, true);
}

// With the label locked: the run's row, the boxed core objects, the pairs.
void start_run(EvalRun* run, const EvalArgs& a) {
  find_or_create_run(run, a);
  run->settings = box_new<trajc::EvalSettings>(run->cxt);
  snapshot_settings(run);
  const trajc::EvalSettings* s = run->settings;
  run->runner = box_new<trajc::EvalRunner>(
      run->cxt, [&] { return new trajc::EvalRunner(*s, cancel_requested); });
  run->trajectory = box_new<trajc::Trajectory>(run->cxt);
  run->finished = box_new<std::vector<trajc::EvalOutcome>>(run->cxt);
  list_pending(run, a);
}

EvalRun* begin_eval(FunctionCallInfo fcinfo, const EvalArgs& a) {
  const bool commit_each = nonatomic_call(fcinfo);
  MemoryContext parent = commit_each ? PortalContext : CurrentMemoryContext;
  MemoryContext cxt = AllocSetContextCreate(parent, "trajc eval", ALLOCSET_DEFAULT_SIZES);
  EvalRun* run = static_cast<EvalRun*>(MemoryContextAllocZero(cxt, sizeof(EvalRun)));
  run->cxt = cxt;
  run->scratch = AllocSetContextCreate(cxt, "trajc eval session", ALLOCSET_DEFAULT_SIZES);
  run->commit_each = commit_each;
  spi_connect(commit_each);
  MemoryContext spi_cxt = MemoryContextSwitchTo(cxt);
  choose_models(run, a);
  run->src = resolve_audit_source();
  run->turns_plan = spi_prepare(turns_query(run->src, true), TEXTOID);
  Oid store_types[13] = {INT8OID, TEXTOID, TEXTOID, BOOLOID, FLOAT4OID, TEXTOID, INT8OID,
                         INT8OID, FLOAT8OID, INT8OID, INT8OID, FLOAT8OID, TEXTOID};
  run->store_plan = spi_prepare_n(kStoreAnswer, 13, store_types);
  if (commit_each) {
    SPI_keepplan(run->turns_plan);
    SPI_keepplan(run->store_plan);
  }
  lock_run(run, a.label);
  PG_TRY();
  { start_run(run, a); }
  PG_CATCH();
  {
    unlock_run(run);  // a session-level lock would outlive the error
    PG_RE_THROW();
  }
  PG_END_TRY();
  MemoryContextSwitchTo(spi_cxt);
  // A procedure makes its run row visible (to `trajc eval run`'s progress)
  // before the first answer.
  commit_if_procedure(run);
  return run;
}

void run_eval(EvalRun* run) {
  PG_TRY();
  {
    drive(run);
    close_run(run);
  }
  PG_CATCH();
  {
    unlock_run(run);  // a session-level lock would outlive the error
    PG_RE_THROW();
  }
  PG_END_TRY();
  unlock_run(run);
}

void end_eval(EvalRun* run) {
  if (run->commit_each) {
    SPI_freeplan(run->turns_plan);
    SPI_freeplan(run->store_plan);
  }
  SPI_finish();
  MemoryContextDelete(run->cxt);  // deletes the runner: closes connections now
}

}  // namespace

// trajc_eval(label, provider, model, "limit", qa_type, grader): asks every
// pair of the selection the run has not graded yet, then returns the whole
// run's accuracy per qa_type and in total.
extern "C" Datum trajc_eval(PG_FUNCTION_ARGS) {
  const EvalArgs a = read_args(fcinfo);
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  EvalRun* run = begin_eval(fcinfo, a);
  run_eval(run);
  // Phase 3: trajc.eval_summary's rows, the one definition of the figures.
  Oid types[1] = {INT8OID};
  Datum args[1] = {Int64GetDatum(run->run_id)};
  // Not read-only: a read-only query would not see the answers just stored.
  spi_check(SPI_execute_with_args("SELECT * FROM trajc.eval_summary($1)", 1, types, args, nullptr,
                                  false, 0),
            SPI_OK_SELECT, "summing up the eval run");
  MemoryContext caller = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
  for (uint64 i = 0; i < SPI_processed; i++) {
    Datum values[5];
    bool nulls[5];
    heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
    // Datums by reference (text, numeric) are copied by tuplestore_putvalues.
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  MemoryContextSwitchTo(caller);
  end_eval(run);
  return (Datum)0;
}

// The same as a procedure: commits after each stored answer when called
// with CALL outside a transaction block, so an interrupted run keeps every
// answer and the same call resumes it. Ends with a NOTICE summing up.
extern "C" Datum trajc_eval_pending(PG_FUNCTION_ARGS) {
  const EvalArgs a = read_args(fcinfo);
  EvalRun* run = begin_eval(fcinfo, a);
  run_eval(run);
  Oid types[1] = {INT8OID};
  Datum args[1] = {Int64GetDatum(run->run_id)};
  spi_check(SPI_execute_with_args("SELECT pairs, correct, cost_usd::float8 FROM trajc.eval_runs"
                                  " WHERE id = $1",
                                  1, types, args, nullptr, false, 1),
            SPI_OK_SELECT, "summing up the eval run");
  ereport(NOTICE, (errmsg("trajc_eval_pending \"%s\": %s of %s graded pairs right, $%s", a.label,
                          SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
                          SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
                          SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3))));
  end_eval(run);
  PG_RETURN_VOID();
}
