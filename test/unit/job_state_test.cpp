// Job statuses: the words trajc.jobs holds, the live ones, the moves a job
// may make, and how a stopped run ends.
#include "trajc/job_state.hpp"

#include <gtest/gtest.h>

using namespace trajc;

namespace {
constexpr JobStatus kAll[] = {JobStatus::Queued, JobStatus::Running, JobStatus::Done,
                              JobStatus::Failed, JobStatus::Cancelled};
}

TEST(JobStatus, NamesAreTheJobsTableWords) {
  EXPECT_STREQ(job_status_name(JobStatus::Queued), "queued");
  EXPECT_STREQ(job_status_name(JobStatus::Running), "running");
  EXPECT_STREQ(job_status_name(JobStatus::Done), "done");
  EXPECT_STREQ(job_status_name(JobStatus::Failed), "failed");
  EXPECT_STREQ(job_status_name(JobStatus::Cancelled), "cancelled");
}

TEST(JobStatus, ParseIsTheInverseOfName) {
  for (JobStatus s : kAll) EXPECT_EQ(parse_job_status(job_status_name(s)), s) << job_status_name(s);
  for (const char* text : {"", "Queued", "run", "canceled", "done ", "ok"})
    EXPECT_EQ(parse_job_status(text), std::nullopt) << '"' << text << '"';
}

TEST(JobStatus, OnlyQueuedAndRunningAreLive) {
  EXPECT_TRUE(job_is_live(JobStatus::Queued));
  EXPECT_TRUE(job_is_live(JobStatus::Running));
  EXPECT_FALSE(job_is_live(JobStatus::Done));
  EXPECT_FALSE(job_is_live(JobStatus::Failed));
  EXPECT_FALSE(job_is_live(JobStatus::Cancelled));
}

TEST(JobStatus, MovesFollowTheLifeOfAJob) {
  EXPECT_TRUE(job_may_become(JobStatus::Queued, JobStatus::Running));
  EXPECT_TRUE(job_may_become(JobStatus::Queued, JobStatus::Cancelled));
  EXPECT_TRUE(job_may_become(JobStatus::Queued, JobStatus::Failed));  // never started
  EXPECT_FALSE(job_may_become(JobStatus::Queued, JobStatus::Done));   // done means it ran
  EXPECT_TRUE(job_may_become(JobStatus::Running, JobStatus::Done));
  EXPECT_TRUE(job_may_become(JobStatus::Running, JobStatus::Failed));
  EXPECT_TRUE(job_may_become(JobStatus::Running, JobStatus::Cancelled));
  EXPECT_FALSE(job_may_become(JobStatus::Running, JobStatus::Queued));
  // The ends are final, and nothing moves to itself.
  for (JobStatus to : kAll) {
    EXPECT_FALSE(job_may_become(JobStatus::Done, to));
    EXPECT_FALSE(job_may_become(JobStatus::Failed, to));
    EXPECT_FALSE(job_may_become(JobStatus::Cancelled, to));
  }
  for (JobStatus s : kAll) EXPECT_FALSE(job_may_become(s, s)) << job_status_name(s);
}

TEST(JobStatus, OutcomeOfAStoppedRun) {
  EXPECT_EQ(job_outcome(false, false, false), JobStatus::Done);
  EXPECT_EQ(job_outcome(false, true, false), JobStatus::Done);  // finished before the cancel
  EXPECT_EQ(job_outcome(true, true, false), JobStatus::Cancelled);
  EXPECT_EQ(job_outcome(true, true, true), JobStatus::Cancelled);
  EXPECT_EQ(job_outcome(true, false, true), JobStatus::Cancelled);  // pg_cancel_backend
  EXPECT_EQ(job_outcome(true, false, false), JobStatus::Failed);
}
