// A background job's status: the values of trajc.jobs.status, which of them
// are still live, and what a job that stopped becomes.
//
// A job moves queued -> running -> done | failed | cancelled, or straight
// from queued to cancelled (cancelled before it started) or failed (its
// worker never ran, or the server restarted). The three ends are final.
//
// Must never: be compared or switched on as text anywhere else; name() and
// parse() are the only places that spell the words (the trajc.jobs CHECK
// constraint allows exactly these five).
#pragma once
#include "trajc/core_guard.hpp"

#include <optional>
#include <string_view>

namespace trajc {

enum class JobStatus {
  Queued,     // recorded, waiting for a free slot (trajc.max_jobs)
  Running,    // a background worker is compiling
  Done,       // the run ended (its sessions may be ok, empty, failed or skipped)
  Failed,     // the run stopped on an error, or was interrupted
  Cancelled,  // stopped by trajc_cancel (or a cancel of its worker)
};

// "queued" | "running" | "done" | "failed" | "cancelled"
const char* job_status_name(JobStatus s);
// The inverse of job_status_name; nullopt for any other text.
std::optional<JobStatus> parse_job_status(std::string_view name);

// Queued or running: a worker has it, or will.
bool job_is_live(JobStatus s);
// Whether a job may move from `from` to `to` (the arrows above).
bool job_may_become(JobStatus from, JobStatus to);

// How a run that has stopped ends: done without an error; cancelled when
// asked to stop (trajc_cancel) or when its statement was cancelled
// (SQLSTATE 57014); failed otherwise.
JobStatus job_outcome(bool raised_error, bool cancel_requested, bool query_canceled);

// The error of a live job found without a worker: the server restarted or
// crashed, or the worker ended before recording the job's end.
inline constexpr const char* kJobInterrupted =
    "interrupted: the server restarted or the job's background worker ended before the job did;"
    " finished sessions are kept, and trajc_start() again skips them";

}  // namespace trajc
