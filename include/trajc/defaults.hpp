// Every default value of trajc, and the bounds of every bounded setting.
//
// The GUC boot values and bounds (src/pg/guc.cpp), the core's struct defaults
// (CompileSettings, PromptOptions, HttpLimits, RetryPolicy) and the SQL
// DEFAULTs of the install scripts all take their numbers from here; a unit
// test (test/unit/defaults_test.cpp) reads sql/trajc--*.sql and fails when a
// DEFAULT there disagrees. Change a default here, then in the SQL scripts (a
// new upgrade script for a released version) and in the docs.
//
// Must never: include anything but the guard (every core header may include
// this one), or hold a value that is not a default or a bound.
#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>

namespace trajc::defaults {

// A setting's default and the range Postgres accepts for it.
template <typename T>
struct Bounded {
  T value;
  T min;
  T max;
};

// --- listing sessions: SQL argument DEFAULTs --------------------------------
// min_turns of trajc_extract, trajc_compile_batch, trajc_compile_pending, trajc_start and
// trajc_estimate; at least 1.
inline constexpr int kMinTurns = 10;
inline constexpr int kMinTurnsMin = 1;
// "limit": how many sessions; 0 means no limit.
inline constexpr int kExtractLimit = 20;  // trajc_extract
inline constexpr int kCompileLimit = 25;  // trajc_compile_batch, _pending, trajc_estimate, trajc_start
inline constexpr int kSampleLimit = 5;    // trajc_sample: pairs to show
// force: compile a session even when unchanged since its last successful compile.
inline constexpr bool kForceNamedSession = true;  // trajc_compile, trajc_compile_session
inline constexpr bool kForceBatch = false;        // trajc_compile_batch
inline constexpr int kBatchSubmitLimit = 500;     // trajc_batch_submit: sessions per call

// --- using the pairs: eval and recall (SQL argument DEFAULTs) ----------------
inline constexpr int kRecallK = 10;                  // trajc_recall, _recall_report, _retrieve: k
inline constexpr const char* kRetrieveMethod = "fts";  // trajc_retrieve: method
inline constexpr int kEvalLimit = 0;                 // trajc_eval: "limit" (0 = every pair)
inline constexpr const char* kEvalGrader = "auto";   // trajc_eval: grader
// The judge of trajc_eval (trajc.judge_tier, trajc.judge_model).
inline constexpr const char* kJudgeTier = "cheap";
inline constexpr const char* kJudgeModel = "";  // empty = the judge tier's model
// Output tokens an eval estimate assumes: a short answer, a yes or no.
inline constexpr long kExpectedAnswerTokens = 200;

// --- where the audit log is (trajc.* string settings) ------------------------
inline constexpr const char* kSource = "audit_log";
inline constexpr const char* kSessionColumn = "session_id";
inline constexpr const char* kTimeColumn = "created_at";
inline constexpr const char* kAgentColumn = "agent";
inline constexpr const char* kContentColumns = "";  // empty = every other column

// --- which model --------------------------------------------------------------
inline constexpr const char* kProvider = "gemini";  // as trajc::provider_name() spells it
inline constexpr const char* kTier = "cheap";
inline constexpr const char* kModel = "";  // empty = the tier's model from trajc.models

// --- how to call it (trajc.* numeric settings) ----------------------------------
inline constexpr Bounded<int> kTimeoutMs{120000, 100, 3600000};  // one HTTP request
inline constexpr Bounded<int> kMaxRetries{3, 0, 20};
inline constexpr Bounded<int> kConcurrency{8, 1, 256};
inline constexpr Bounded<int> kMaxRequestsPerMinute{0, 0, 1000000};  // 0 = unlimited
inline constexpr Bounded<double> kMaxCostUsd{0, 0, 1e9};             // 0 = unlimited
inline constexpr Bounded<int> kPromptBudgetChars{400000, 1000, 100000000};  // ~100k tokens
inline constexpr Bounded<int> kMaxValueChars{4000, 100, 10000000};
inline constexpr Bounded<int> kMaxResponseKb{16384, 16, 1048576};
inline constexpr std::size_t kMaxResponseBytes = static_cast<std::size_t>(kMaxResponseKb.value) * 1024;
// Provider batch mode: requests per vendor job (0 = the vendor's own limit).
inline constexpr Bounded<int> kBatchMaxRequests{0, 0, 1000000};

// --- pair quality (trajc.verify, trajc.redact, trajc.dedup_threshold) -----------
inline constexpr const char* kVerify = "literal";  // off | literal | model
inline constexpr const char* kVerifyTier = "cheap";
inline constexpr const char* kVerifyModel = "";    // empty = the verify tier's model
inline constexpr const char* kRedact = "off";      // off | pii
// 1 = exact (normalized) question only.
inline constexpr Bounded<double> kDedupThreshold{0.8, 0.0, 1.0};

// --- background jobs (trajc_start) --------------------------------------------------
// trajc.max_jobs: jobs running at once on the whole server (a server setting).
inline constexpr Bounded<int> kMaxJobs{2, 1, 64};
// Jobs queued or running at once on the whole server: the shared-memory
// queue's size, fixed at server start. At least kMaxJobs.max.
inline constexpr int kJobQueueCapacity = 256;

// --- fixed in the core (no setting) ----------------------------------------------
// Questions asked for, and kept, per session: the prompt, the validator and
// the offline compiler all use this one number.
inline constexpr int kMaxQuestions = 5;
// Bounds the wait for a connection, within the request's own timeout.
inline constexpr long kConnectTimeoutMs = 10000;
// Backoff: the first retry's ceiling, doubled per retry up to the cap.
inline constexpr long kRetryBaseDelayMs = 500;
inline constexpr long kRetryMaxDelayMs = 30000;
// Output tokens an estimate assumes a call will produce.
inline constexpr long kExpectedOutputTokens = 2000;

}  // namespace trajc::defaults
