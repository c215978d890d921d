// Limits on JSON read from outside the core (model replies, vendor envelopes,
// log values): nesting is bounded before anything recursive (copy, dump,
// comparison) can touch a value, and reading polls for cancel.
//
// Must never: recurse over a document.
#pragma once
#include "trajc/core_guard.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include <nlohmann/json.hpp>

#include "trajc/cancel.hpp"

namespace trajc {

// Far deeper than any reply shape (a pairs document is 4 levels, a vendor
// envelope 6), far shallower than what recursion over a value (dump, copy)
// can take on a backend's stack, sanitizers included.
inline constexpr int kMaxJsonDepth = 256;

// Whether text nests brackets deeper than max_depth outside strings: what a
// parser would build from it. One linear pass; `[` is depth 1.
bool json_text_too_deep(std::string_view text, int max_depth, CancelPoll& poll);
// Whether a parsed value nests deeper than max_depth (a scalar is depth 0).
// Iterative: safe on a value of any depth.
bool json_too_deep(const nlohmann::json& value, int max_depth);

// A char iterator for nlohmann's parsers over text in memory: polls for
// cancel every CancelPoll::kEvery bytes read and records how far the parser
// has read (Reader::at, one past the last byte taken).
class PolledChars {
 public:
  struct Reader {
    CancelPoll* poll;
    const char* at;
  };
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  PolledChars(const char* p, Reader* reader) : p_(p), reader_(reader) {}
  reference operator*() const { return *p_; }
  PolledChars& operator++() {
    ++p_;
    reader_->at = p_;
    if ((reinterpret_cast<std::uintptr_t>(p_) & (CancelPoll::kEvery - 1)) == 0) reader_->poll->check();
    return *this;
  }
  PolledChars operator++(int) {
    PolledChars before = *this;
    ++*this;
    return before;
  }
  bool operator==(const PolledChars& other) const { return p_ == other.p_; }
  bool operator!=(const PolledChars& other) const { return p_ != other.p_; }

 private:
  const char* p_;
  Reader* reader_;
};

enum class JsonRead { Ok, Invalid, TooDeep };

// Parses untrusted text as one whole JSON document into `out` (json or
// ordered_json). TooDeep is found by a scan before anything is built.
template <class Json>
JsonRead read_json(std::string_view text, Json& out, CancelPoll& poll) {
  if (json_text_too_deep(text, kMaxJsonDepth, poll)) return JsonRead::TooDeep;
  PolledChars::Reader reader{&poll, text.data()};
  out = Json::parse(PolledChars(text.data(), &reader), PolledChars(text.data() + text.size(), &reader),
                    nullptr, /*allow_exceptions=*/false);
  return out.is_discarded() ? JsonRead::Invalid : JsonRead::Ok;
}

}  // namespace trajc
