// The spelling of each JobStatus, the live ones, the allowed moves and how a
// stopped run ends.
//
// Must never: accept a word job_status_name() does not produce.
#include "trajc/job_state.hpp"

namespace trajc {

namespace {
constexpr JobStatus kAll[] = {JobStatus::Queued, JobStatus::Running, JobStatus::Done,
                              JobStatus::Failed, JobStatus::Cancelled};
}  // namespace

const char* job_status_name(JobStatus s) {
  switch (s) {
    case JobStatus::Queued: return "queued";
    case JobStatus::Running: return "running";
    case JobStatus::Done: return "done";
    case JobStatus::Failed: return "failed";
    case JobStatus::Cancelled: return "cancelled";
  }
  return "failed";  // unreachable: every enumerator is handled above
}

std::optional<JobStatus> parse_job_status(std::string_view name) {
  for (JobStatus s : kAll)
    if (name == job_status_name(s)) return s;
  return std::nullopt;
}

bool job_is_live(JobStatus s) { return s == JobStatus::Queued || s == JobStatus::Running; }

bool job_may_become(JobStatus from, JobStatus to) {
  switch (from) {
    case JobStatus::Queued: return to != JobStatus::Queued && to != JobStatus::Done;
    case JobStatus::Running:
      return to == JobStatus::Done || to == JobStatus::Failed || to == JobStatus::Cancelled;
    case JobStatus::Done:
    case JobStatus::Failed:
    case JobStatus::Cancelled: return false;
  }
  return false;
}

JobStatus job_outcome(bool raised_error, bool cancel_requested, bool query_canceled) {
  if (!raised_error) return JobStatus::Done;
  if (cancel_requested || query_canceled) return JobStatus::Cancelled;
  return JobStatus::Failed;
}

}  // namespace trajc
