// Model replies to grounded pairs: finding the JSON in a reply's text, and
// validating each candidate pair against the trajectory it claims to cite.
//
// Must never: keep a pair that fails a check (every rejection is counted by
// reason instead), or throw for a bad pair (only for a reply with no JSON).
#include "trajc/qa.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "trajc/ascii.hpp"
#include "trajc/error.hpp"
#include "trajc/json_guard.hpp"

namespace trajc {
namespace {

using nlohmann::json;

using ascii::is_space;
using ascii::trim;

// A question's identity for duplicate detection: case and whitespace runs ignored.
std::string question_key(std::string_view question) {
  std::string key;
  bool pending_space = false;
  for (char c : trim(question)) {
    if (is_space(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) key += ' ';
    pending_space = false;
    key += ascii::to_lower(c);
  }
  return key;
}

// ---- the reply finder --------------------------------------------------------
//
// A reply is prose around one JSON document. Candidates start at '{' or '['.
// Each candidate is read once by a validating SAX pass (nothing is built):
// - it is a complete document: a reply if shaped like one (the first wins),
//   else kept as a fallback, and the search goes on after it;
// - it runs out of text: the reply was cut, whatever follows;
// - it breaks at byte f: the containers it had completed whose parent was
//   still open are candidates themselves (a value parses the same wherever it
//   starts), and the search goes on at f, so no byte is read again and again;
// - it nests deeper than kMaxJsonDepth: the reply fails.

struct Span {
  std::size_t begin = 0, end = 0;  // [begin, end) of the text
};

struct Probe {
  enum Result { Ok, Invalid, Truncated, TooDeep } result = Invalid;
  std::size_t end = 0;      // Ok: past the document; Invalid: the offending byte
  bool reply_like = false;  // Ok: an object, or a non-empty array of objects
  std::vector<Span> inner;  // Invalid: completed containers whose parent was open
};

// SAX events of one candidate: depth, reply shape and completed containers.
class ProbeEvents {
 public:
  ProbeEvents(const char* text, const PolledChars::Reader& reader, Probe& probe)
      : text_(text), reader_(reader), probe_(probe) {}

  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(json::number_integer_t) { return value(); }
  bool number_unsigned(json::number_unsigned_t) { return value(); }
  bool number_float(json::number_float_t, const json::string_t&) { return value(); }
  bool string(json::string_t&) { return value(); }
  bool binary(json::binary_t&) { return value(); }
  bool key(json::string_t&) { return true; }
  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string&, const json::exception&) {
    error_at_ = position;  // bytes read including the offending one
    return false;
  }

  std::size_t error_at() const { return error_at_; }
  bool too_deep() const { return too_deep_; }
  // After a break: the completed containers whose parent was still open.
  void keep_inner() {
    probe_.inner.clear();
    for (const Closed& c : closed_) probe_.inner.push_back(c.span);
  }

 private:
  struct Closed {
    Span span;
    std::size_t depth;  // containers open around it
  };

  // Where the parser stands: one past the byte it read last (a bracket's
  // token is complete when its byte is read, so this locates brackets).
  std::size_t here() const { return static_cast<std::size_t>(reader_.at - text_); }

  bool value() {
    if (open_.size() == 1 && !root_is_object_) all_objects_ = false;
    return true;
  }
  bool open(bool object) {
    if (open_.empty()) {
      root_is_object_ = object;
    } else if (open_.size() == 1 && !root_is_object_) {
      has_items_ = true;
      all_objects_ = all_objects_ && object;
    }
    if (open_.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
      too_deep_ = true;
      return false;
    }
    open_.push_back(here() - 1);
    return true;
  }
  bool close() {
    const Span span{open_.back(), here()};
    open_.pop_back();
    // Its own completed children are no candidates: it is.
    while (!closed_.empty() && closed_.back().depth > open_.size()) closed_.pop_back();
    closed_.push_back({span, open_.size()});
    if (open_.empty()) probe_.reply_like = root_is_object_ || (has_items_ && all_objects_);
    return true;
  }

  const char* text_;
  const PolledChars::Reader& reader_;
  Probe& probe_;
  std::vector<std::size_t> open_;  // start offsets of the open containers
  std::vector<Closed> closed_;     // completed containers whose parent is open, in order
  bool root_is_object_ = false;
  bool has_items_ = false;
  bool all_objects_ = true;
  bool too_deep_ = false;
  std::size_t error_at_ = 0;
};

// Reads the one document starting at text[begin] (a bracket), not past `end`.
Probe probe(const std::string& text, std::size_t begin, std::size_t end, CancelPoll& poll) {
  Probe p;
  PolledChars::Reader reader{&poll, text.data() + begin};
  ProbeEvents events(text.data(), reader, p);
  const bool ok = json::sax_parse(PolledChars(text.data() + begin, &reader), PolledChars(text.data() + end, &reader),
                                  &events, json::input_format_t::json, /*strict=*/false);
  if (ok) {
    p.result = Probe::Ok;
    p.end = static_cast<std::size_t>(reader.at - text.data());
  } else if (events.too_deep()) {
    p.result = Probe::TooDeep;
  } else if (begin + events.error_at() > end) {
    p.result = Probe::Truncated;  // the parser asked for a byte past the text
  } else {
    p.result = Probe::Invalid;
    p.end = begin + std::max<std::size_t>(events.error_at(), 2) - 1;
    events.keep_inner();
  }
  return p;
}

// The next '{' or '[' at or after `from` (npos if none), polling as it goes.
std::size_t next_bracket(const std::string& text, std::size_t from, CancelPoll& poll) {
  while (from < text.size()) {
    const std::size_t stop = std::min(text.size(), from + CancelPoll::kEvery);
    poll.work(stop - from);
    const std::size_t found = std::string_view(text).substr(0, stop).find_first_of("{[", from);
    if (found != std::string_view::npos) return found;
    from = stop;
  }
  return std::string::npos;
}

// The document a probe found complete.
json parse_span(const std::string& text, Span s, CancelPoll& poll) {
  PolledChars::Reader reader{&poll, text.data() + s.begin};
  json doc = json::parse(PolledChars(text.data() + s.begin, &reader), PolledChars(text.data() + s.end, &reader),
                         nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw Error(sqlstate::kInternal, "reply finder: a checked document did not parse");
  return doc;
}

// ---- validation ----------------------------------------------------------------

// The candidate pairs: {"pairs":[...]}, a bare array, or an object whose
// only array field holds them (models rename it, e.g. "questions"); a lone
// pair object is one candidate. Pointers into doc: a value from a model is
// never copied (copies recurse). False when there is no such shape.
bool find_items(const json& doc, std::vector<const json*>& items) {
  const json* list = nullptr;
  if (doc.is_array()) {
    list = &doc;
  } else if (doc.is_object() && doc.contains("question")) {
    items.push_back(&doc);
    return true;
  } else if (doc.is_object()) {
    const auto pairs = doc.find("pairs");
    if (pairs != doc.end() && pairs->is_array()) {
      list = &*pairs;
    } else {
      for (const auto& field : doc.items()) {
        if (!field.value().is_array()) continue;
        if (list) return false;
        list = &field.value();
      }
    }
  }
  if (!list) return false;
  for (const json& item : *list) items.push_back(&item);
  return true;
}

// The item as stored: compact, and without \u0000 (jsonb refuses it; the
// dump writes a NUL character no other way). A NUL becomes U+FFFD written as
// the character itself, as in safe_text: an escape "\ufffd" would make jsonb
// fail in a database whose encoding lacks the character, while the character
// is converted (to '?') like any other text.
std::string raw_json_of(const json& item) {
  const std::string dumped = item.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    if (dumped[i] != '\\') {
      out += dumped[i];
    } else if (dumped.compare(i, 6, "\\u0000") == 0) {
      out += "\xEF\xBF\xBD";
      i += 5;
    } else {  // an escape pair, copied whole so "\\\\u0000" stays text
      out.append(dumped, i, 2);
      ++i;
    }
  }
  return out;
}

// Checks one item on its own; nullptr when it is a grounded pair (filled into
// `pair`), else the rejection reason.
const char* judge(const json& item, int turn_count, QaPair& pair) {
  // Too deep to dump or copy safely: not a pair anyone could use either.
  if (!item.is_object() || json_too_deep(item, kMaxJsonDepth)) return reject::kMalformed;
  const auto question = item.find("question");
  const auto answer = item.find("answer");
  const auto turns = item.find("supporting_turns");
  const auto type = item.find("qa_type");
  if (question == item.end() || !question->is_string() || answer == item.end() ||
      !answer->is_string() || turns == item.end() || !turns->is_array() || type == item.end() ||
      !type->is_string()) {
    return reject::kMalformed;
  }
  std::vector<std::int64_t> cited;
  for (const json& t : *turns) {
    if (!t.is_number_integer()) return reject::kMalformed;
    cited.push_back(t.get<std::int64_t>());
  }

  pair.question = std::string(trim(question->get_ref<const std::string&>()));
  pair.answer = std::string(trim(answer->get_ref<const std::string&>()));
  if (pair.question.empty() || pair.answer.empty()) return reject::kEmptyText;

  pair.qa_type.clear();
  for (char c : trim(type->get_ref<const std::string&>())) pair.qa_type += ascii::to_lower(c);
  if (!is_qa_type(pair.qa_type)) return reject::kUnknownType;

  std::sort(cited.begin(), cited.end());
  cited.erase(std::unique(cited.begin(), cited.end()), cited.end());
  if (cited.size() < 2) return reject::kTooFewTurns;
  if (cited.front() < 1 || cited.back() > turn_count) return reject::kTurnOutOfRange;
  // Sorted and distinct: some two turns are non-adjacent iff the ends are.
  if (cited.back() - cited.front() < 2) return reject::kAdjacentOnly;
  pair.supporting_turns.assign(cited.begin(), cited.end());
  return nullptr;
}

}  // namespace

bool is_qa_type(const std::string& s) {
  return std::find(std::begin(kQaTypes), std::end(kQaTypes), s) != std::end(kQaTypes);
}

int rejected_total(const std::map<std::string, int>& rejected) {
  int total = 0;
  for (const auto& reason : rejected) total += reason.second;
  return total;
}

int Validation::rejected_total() const { return trajc::rejected_total(rejected); }

const nlohmann::json& qa_schema() {
  // The subset OpenAI's json_schema and Gemini's responseSchema both accept.
  static const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "pairs": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "question": {"type": "string"},
            "answer": {"type": "string"},
            "supporting_turns": {"type": "array", "items": {"type": "integer"}},
            "qa_type": {"type": "string",
                        "enum": ["factoid", "reasoning", "composition", "temporal"]}
          },
          "required": ["question", "answer", "supporting_turns", "qa_type"]
        }
      }
    },
    "required": ["pairs"]
  })");
  return schema;
}

nlohmann::json extract_json(const std::string& text, CancelCheck cancel) {
  CancelPoll poll(cancel);
  if (trim(text).empty()) throw Error(sqlstate::kInvalidJson, "empty reply");
  // The first document shaped like a reply wins; a stray "[3]" in the prose
  // is only used when nothing better follows.
  std::optional<Span> fallback;
  // True when the document at s is the reply.
  auto consider = [&](Span s, bool reply_like) {
    if (!reply_like && !fallback) fallback = s;
    return reply_like;
  };
  std::size_t pos = next_bracket(text, 0, poll);
  while (pos != std::string::npos) {
    Probe p = probe(text, pos, text.size(), poll);
    switch (p.result) {
      case Probe::Ok:
        if (consider({pos, p.end}, p.reply_like)) return parse_span(text, {pos, p.end}, poll);
        break;
      case Probe::TooDeep:
        throw Error(sqlstate::kInvalidJson, "reply JSON is nested deeper than " +
                                                std::to_string(kMaxJsonDepth) + " levels");
      case Probe::Truncated:
        // Anything found later would be a fragment of this cut-off document.
        throw Error(sqlstate::kInvalidJson,
                    "truncated JSON: the reply ends inside a JSON document (" +
                        std::to_string(text.size()) + " chars)");
      case Probe::Invalid:
        for (Span s : p.inner) {
          const Probe q = probe(text, s.begin, s.end, poll);
          if (q.result == Probe::Ok && consider(s, q.reply_like)) return parse_span(text, s, poll);
        }
        break;
    }
    pos = next_bracket(text, std::max(p.end, pos + 1), poll);
  }
  if (fallback) return parse_span(text, *fallback, poll);
  throw Error(sqlstate::kInvalidJson,
              "no JSON in reply (" + std::to_string(text.size()) + " chars)");
}

Validation validate_pairs(const nlohmann::json& doc, int turn_count, int max_questions,
                          CancelCheck cancel) {
  CancelPoll poll(cancel);
  Validation v;
  std::vector<const json*> items;
  if (!find_items(doc, items)) {
    ++v.rejected[reject::kMalformed];
    return v;
  }
  std::unordered_set<std::string> questions;
  for (const json* item : items) {
    poll.item();
    QaPair pair;
    const char* reason = judge(*item, turn_count, pair);
    if (!reason && !questions.insert(question_key(pair.question)).second) {
      reason = reject::kDuplicate;
    }
    if (!reason && static_cast<int>(v.kept.size()) >= max_questions) reason = reject::kOverLimit;
    if (reason) {
      ++v.rejected[reason];
      continue;
    }
    pair.raw_json = raw_json_of(*item);
    v.kept.push_back(std::move(pair));
  }
  return v;
}

}  // namespace trajc
