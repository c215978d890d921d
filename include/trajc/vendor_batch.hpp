// Vendor batch mode: the asynchronous half-price APIs of the three vendors
// (Gemini batch mode, the OpenAI Batch API, Anthropic Message Batches) as
// request builders and response parsers, plus a blocking HTTP helper to drive
// them. Each request inside a job carries exactly the body an online compile
// sends, and each result is read by the online reply parser.
// Must never: include a Postgres header, put the API key into an error, a
// status or a result, or trust an id or URL from a reply without checking it.
#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "trajc/compile.hpp"
#include "trajc/cost.hpp"
#include "trajc/http.hpp"
#include "trajc/provider.hpp"
#include "trajc/quality.hpp"
#include "trajc/retry.hpp"
#include "trajc/trajectory.hpp"

namespace trajc {

// Who is called and as whom: the same values an online compile uses (the
// model travels with each job).
struct VendorAccount {
  Provider provider = Provider::Gemini;
  std::string base_url;  // empty = the vendor's
  std::string api_key;   // never in errors
};

// --- jobs -------------------------------------------------------------------

// One job's published ceilings (sources in vendor_batch.cpp).
struct BatchLimits {
  std::size_t max_requests = 0;
  std::size_t max_bytes = 0;         // the job's payload: the file, or the create body
  std::size_t max_inline_bytes = 0;  // Gemini: larger jobs travel as a file; 0 = always a file
};
BatchLimits vendor_batch_limits(Provider p);

// A request's id within a job: 1..64 of [A-Za-z0-9_-], the strictest vendor's
// rule (Anthropic's), so one id works everywhere.
bool is_valid_custom_id(const std::string& id);

// A job ready to submit, serialized the vendor's way.
struct BatchJob {
  Provider provider = Provider::Gemini;
  std::string model;
  std::string label = "trajc";           // names the job in the vendor's console
  std::vector<std::string> custom_ids;  // in request order
  bool as_file = false;  // payload is a JSONL file uploaded first (OpenAI always; Gemini when large)
  std::string payload;   // the JSONL file, or the whole inline create body
};

// Fills one job at a time: each request is serialized when added, so a prompt
// is held once, and add() says when the next request would break a limit.
class BatchJobBuilder {
 public:
  BatchJobBuilder(Provider p, std::string model, BatchLimits limits, bool json_schema = true);
  // Adds the request when it fits and returns true; false (nothing added)
  // when the job is full: take() it and add again. Throws Error(kInvalidParameter)
  // for an invalid or repeated custom_id, or a request no job could hold.
  bool add(const std::string& custom_id, const std::string& prompt);
  bool empty() const { return ids_.empty(); }
  std::size_t size() const { return ids_.size(); }
  // The job so far (Gemini: inline when within max_inline_bytes); the builder
  // is empty afterwards and ready for the next job. The label (a custom_id-like
  // name, e.g. "trajc-42") names the job in the vendor's console.
  BatchJob take(const std::string& label = "trajc");

 private:
  Provider provider_;
  std::string model_;
  BatchLimits limits_;
  bool json_schema_;
  std::vector<std::string> ids_;
  std::vector<std::string> bodies_;    // one request body each, until take()
  std::unordered_set<std::string> seen_;  // every id of this builder, across jobs
  std::size_t file_bytes_ = 0;    // the job as a JSONL file
  std::size_t inline_bytes_ = 0;  // the job as one inline create body
};

// --- the vendor's job lifecycle ------------------------------------------------

// Where a job stands, whatever the vendor calls it.
enum class BatchState {
  Pending,     // accepted, not yet running (OpenAI validating, Gemini pending)
  Running,
  Finalizing,  // OpenAI: results being written
  Cancelling,
  Ended,       // done; results (some may be errors) can be fetched
  Failed,      // the vendor rejected or gave up the whole job: no results
  Expired,     // the completion window passed; finished requests may have results
  Cancelled,
};
const char* batch_state_name(BatchState s);  // "pending", "running", ... "cancelled"
bool is_final(BatchState s);

struct BatchStatus {
  std::string remote_id;     // the vendor's id ("batches/x", "batch_x", "msgbatch_x")
  BatchState state = BatchState::Pending;
  std::string vendor_state;  // the vendor's own word, for messages only
  long requests_total = -1;  // -1 = not reported
  long requests_succeeded = -1;
  long requests_failed = -1;
  // Where the results are once final: file ids (OpenAI output and error
  // files, Gemini's responses file) or the results URL (Anthropic).
  std::vector<std::string> result_sources;
  bool results_inline = false;  // Gemini inline: they are in the poll reply itself
  std::string error;            // why the whole job failed; redacted
};

// What became of one request.
enum class ItemOutcome { Succeeded, Errored, Expired, Cancelled };
const char* item_outcome_name(ItemOutcome o);  // "succeeded", "errored", "expired", "cancelled"

struct ItemResult {
  std::string custom_id;
  ItemOutcome outcome = ItemOutcome::Errored;
  ModelReply reply;     // when Succeeded: text and usage, as the online parser reads them
  int http_status = 0;  // the request's own status where the vendor reports one
  std::string error;    // when not Succeeded; redacted, bounded
};

// What a collected reply is judged against besides its request: the
// session as its audit log holds it at collect, and how it was sent.
struct CollectedView {
  const Trajectory* current = nullptr;  // reloaded at collect; nullptr = could not be read
  bool redacted = false;                // trajc.redact was 'pii' at submit: the reply speaks placeholders
  QualitySettings quality;              // as online (trajc.verify, trajc.dedup_threshold)
};

// A collected request as its session's compile outcome. `session` carries
// what was sent (session_id, trajectory_hash, agent, turn_count). A reply is
// judged as online (judge_reply), priced at `prices` times `discount`; an
// errored, expired or cancelled request is a failed session, nothing paid.
// Literal verification needs the very trajectory that was sent: when
// view.current still hashes to session.trajectory_hash it is rebuilt as the
// prompt showed it (redacted again when it was) and pairs are verified as
// online; when the session changed since (or could not be read) the pairs
// are kept against the hash they were compiled from but unverified
// (verified_by empty), since the turns they cite are no longer those sent.
CompileOutcome collected_outcome(CompileOutcome session, const ItemResult& r, const Prices& prices,
                                 double discount, int max_questions, const std::string& secret,
                                 const CollectedView& view = {});

// One page of a vendor's job list: each job's label (OpenAI
// metadata.trajc_job, Gemini's display name) and id, and the next page's
// token ("" = none).
struct BatchListPage {
  std::vector<std::pair<std::string, std::string>> jobs;  // (label, remote id)
  std::string next_page;
};
// Whether the vendor keeps a job's label where its list shows it: OpenAI
// (metadata) and Gemini (display name) do; Anthropic's Message Batches take
// no label at all, so a job whose id was never recorded cannot be found.
bool vendor_lists_labels(Provider p);

// The HTTP requests of a job's life and the readers of their replies, bound
// to one account. Replies are HttpResults so a refusal (4xx/5xx, no
// connection) becomes Error(kExternal) with the vendor's message, redacted.
class VendorBatchApi {
 public:
  explicit VendorBatchApi(VendorAccount account);
  const VendorAccount& account() const { return account_; }

  // Jobs with as_file: upload the payload first (OpenAI /v1/files with
  // purpose=batch; Gemini's Files API), then create with the file's id.
  HttpRequest upload_request(const BatchJob& job) const;
  std::string parse_upload(const HttpResult& r) const;
  HttpRequest create_request(const BatchJob& job, const std::string& file_id = "") const;
  HttpRequest poll_request(const std::string& remote_id) const;
  // Reads the create reply and every poll reply.
  BatchStatus parse_status(const HttpResult& r) const;
  // The vendor's list of jobs, newest first, one page at a time ("" = the
  // first): how a job whose id was never recorded is found by its label.
  HttpRequest list_request(const std::string& page_token) const;
  BatchListPage parse_list(const HttpResult& r) const;
  // The downloads that hold a final job's results (none for Gemini inline).
  std::vector<HttpRequest> result_requests(const BatchStatus& s) const;

 private:
  VendorAccount account_;
  std::string base_;  // API root, no trailing '/'
};

// Gathers one job's results from the bodies that hold them (downloaded JSONL
// files, or a Gemini poll reply with inline responses) and matches them to
// the ids the job was submitted with.
class BatchResults {
 public:
  BatchResults(Provider p, std::vector<std::string> custom_ids, std::string secret);
  // Throws Error(kExternal) when the body is not the vendor's shape at all;
  // a single bad line becomes that request's error instead.
  void add_body(const std::string& body);
  // One result per submitted id, in submission order. Ids without a result
  // get the job's fate: expired or cancelled when the job was, else errored.
  std::vector<ItemResult> finish(BatchState final_state) const;
  std::size_t unmatched() const { return unmatched_; }  // results for ids never sent

 private:
  void take(ItemResult r);
  Provider provider_;
  std::vector<std::string> ids_;
  std::string secret_;
  std::unordered_map<std::string, std::size_t> index_;  // id -> submission index
  std::vector<std::unique_ptr<ItemResult>> results_;    // by submission index
  std::size_t unmatched_ = 0;
  std::size_t lines_seen_ = 0;  // Gemini files match by position when a line has no key
};

// --- driving it ---------------------------------------------------------------

// Sends one request and returns its final result; the boundary may supply
// its own (cancel checks, logging), tests a fake.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResult send(const HttpRequest& req) = 0;
};

// One request at a time over HttpMulti, retried on 429, 5xx and connection
// errors with the online path's backoff. Throws Error(kQueryCanceled) on cancel.
class BlockingHttp : public HttpTransport {
 public:
  BlockingHttp(HttpLimits limits, RetryPolicy retry, CancelCheck cancel);
  HttpResult send(const HttpRequest& req) override;
  int attempts() const { return attempts_; }  // requests sent, retries included

 private:
  HttpMulti http_;
  RetryPolicy retry_;
  std::mt19937_64 rng_;
  int attempts_ = 0;
};

// The whole submission: upload when needed, then create. Throws Error(kExternal)
// when the vendor refuses either step (the job then does not exist there) or
// when the create got no answer (lost connection, timeout): it is not sent
// again, and *unanswered is set, since the vendor may hold the job anyway
// (find_batch_job finds it by its label).
BatchStatus submit_batch_job(const VendorBatchApi& api, const BatchJob& job, HttpTransport& http,
                             bool* unanswered = nullptr);
// The id of the job labelled `label` among the vendor's newest jobs (at most
// max_pages pages of its list), or "" when there is none. Throws
// Error(kExternal) when the list cannot be read; Error(kInvalidParameter)
// for a vendor without labels (vendor_lists_labels).
std::string find_batch_job(const VendorBatchApi& api, const std::string& label, HttpTransport& http,
                           int max_pages = 10);
// One poll. Its raw reply is kept in *reply when asked (Gemini's inline results).
BatchStatus poll_batch_job(const VendorBatchApi& api, const std::string& remote_id, HttpTransport& http,
                           std::string* reply = nullptr);
// A final job's results, one per submitted id (see BatchResults::finish).
std::vector<ItemResult> fetch_batch_results(const VendorBatchApi& api, const BatchStatus& status,
                                            const std::vector<std::string>& custom_ids,
                                            const std::string& poll_reply, HttpTransport& http);

}  // namespace trajc
