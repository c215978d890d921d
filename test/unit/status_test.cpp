// Status names: the words compile_log and the status columns hold.
#include "trajc/status.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace trajc;

TEST(Status, NamesAreTheCompileLogWords) {
  EXPECT_STREQ(status_name(Status::Ok), "ok");
  EXPECT_STREQ(status_name(Status::Empty), "empty");
  EXPECT_STREQ(status_name(Status::Failed), "failed");
  EXPECT_STREQ(status_name(Status::Skipped), "skipped");
}

TEST(Status, ParseIsTheInverseOfName) {
  for (Status s : {Status::Ok, Status::Empty, Status::Failed, Status::Skipped})
    EXPECT_EQ(parse_status(status_name(s)), s) << status_name(s);
}

// Only the exact words: no prefix match, no case folding, nothing else.
TEST(Status, ParseRejectsOtherText) {
  for (const char* text : {"", "o", "f", "OK", "failed ", "skip", "error"})
    EXPECT_EQ(parse_status(text), std::nullopt) << '"' << text << '"';
}
