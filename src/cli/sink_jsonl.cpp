// The JSONL sink: one JSON object per pair, every column under its name, the
// values exactly as stored. Must never reformat a value: JSON columns are
// written as the server sent them, numbers as numbers.
#include <memory>

#include "out_file.hpp"
#include "output.hpp"
#include "pairs.hpp"
#include "sinks.hpp"

namespace trajc_cli {

namespace {

class JsonlSink : public PairSink {
 public:
  explicit JsonlSink(const std::string& path) : out_(path) {}
  const char* order_by() const override { return "p.created_at, p.id"; }  // time order
  void write(const PGresult* rows, int row) override {
    line_.clear();
    line_ += '{';
    for (int c = 0; c < kPairColumnCount; c++) {
      if (c) line_ += ", ";
      append_json_string(line_, kPairColumns[c].name);
      line_ += ": ";
      if (PQgetisnull(rows, row, c))
        line_ += "null";
      else
        append_json_value(line_,
                          std::string_view(PQgetvalue(rows, row, c), PQgetlength(rows, row, c)),
                          kPairColumns[c].kind);
    }
    line_ += '}';
    out_.line(line_);
    written_++;
  }
  void commit() override { out_.commit(); }
  long written() const override { return written_; }

 private:
  LineFile out_;
  std::string line_;  // reused: one allocation for the whole export
  long written_ = 0;
};

}  // namespace

std::unique_ptr<PairSink> jsonl_sink(const std::string& path) {
  return std::make_unique<JsonlSink>(path);
}

}  // namespace trajc_cli
