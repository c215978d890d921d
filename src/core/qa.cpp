// Model replies to grounded pairs: finding the JSON in a reply's text, and
// validating each candidate pair against the trajectory it claims to cite.
//
// Must never: keep a pair that fails a check (every rejection is counted by
// reason instead), or throw for a bad pair (only for a reply with no JSON).
#include "trajc/qa.hpp"

#include <algorithm>
#include <cstdint>
#include <istream>
#include <optional>
#include <streambuf>
#include <string_view>
#include <unordered_set>

#include "trajc/ascii.hpp"
#include "trajc/error.hpp"

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

// Lets the parser read one document from any offset of the reply without a
// copy, and tells how far it read.
class MemoryBuffer : public std::streambuf {
 public:
  MemoryBuffer(const char* begin, const char* end) {
    char* b = const_cast<char*>(begin);  // read-only: no put area, no putback
    setg(b, b, const_cast<char*>(end));
  }
  std::size_t consumed() const { return static_cast<std::size_t>(gptr() - eback()); }
  bool exhausted() const { return gptr() == egptr(); }
};

enum class Parse { Ok, Invalid, Truncated };

// Parses the one JSON document that starts at text[pos], ignoring what
// follows it; `end` is where it stopped. Running out of text mid-document is
// truncation, not garbage.
Parse parse_at(const std::string& text, std::size_t pos, json& doc, std::size_t& end) {
  MemoryBuffer buffer(text.data() + pos, text.data() + text.size());
  std::istream in(&buffer);
  try {
    in >> doc;  // not strict: stops after the document
  } catch (const json::exception&) {
    return buffer.exhausted() ? Parse::Truncated : Parse::Invalid;
  }
  end = pos + buffer.consumed();
  return Parse::Ok;
}

// A document shaped like a reply, as opposed to "[3]" quoted in prose.
bool looks_like_reply(const json& doc) {
  if (doc.is_object()) return true;
  return doc.is_array() && !doc.empty() &&
         std::all_of(doc.begin(), doc.end(), [](const json& e) { return e.is_object(); });
}

// The array of candidate pairs: {"pairs":[...]}, a bare array, or an object
// whose only array field holds them (models rename it, e.g. "questions"). A
// lone pair object is wrapped in `single`.
const json* find_items(const json& doc, json& single) {
  if (doc.is_array()) return &doc;
  if (!doc.is_object()) return nullptr;
  if (doc.contains("question")) {
    single = json::array({doc});
    return &single;
  }
  const auto pairs = doc.find("pairs");
  if (pairs != doc.end() && pairs->is_array()) return &*pairs;
  const json* only = nullptr;
  for (const auto& field : doc.items()) {
    if (!field.value().is_array()) continue;
    if (only) return nullptr;
    only = &field.value();
  }
  return only;
}

// Checks one item on its own; nullptr when it is a grounded pair (filled into
// `pair`), else the rejection reason.
const char* judge(const json& item, int turn_count, QaPair& pair) {
  if (!item.is_object()) return reject::kMalformed;
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

nlohmann::json extract_json(const std::string& text) {
  if (trim(text).empty()) throw Error(sqlstate::kInvalidJson, "empty reply");
  // The first document shaped like a reply wins; a stray "[3]" in the prose
  // is only used when nothing better follows.
  std::optional<json> fallback;
  std::size_t pos = text.find_first_of("{[");
  while (pos != std::string::npos) {
    json doc;
    std::size_t end = pos + 1;
    switch (parse_at(text, pos, doc, end)) {
      case Parse::Ok:
        if (looks_like_reply(doc)) return doc;
        if (!fallback) fallback = std::move(doc);
        break;
      case Parse::Truncated:
        // Anything found later would be a fragment of this cut-off document.
        throw Error(sqlstate::kInvalidJson,
                    "truncated JSON: the reply ends inside a JSON document (" +
                        std::to_string(text.size()) + " chars)");
      case Parse::Invalid:
        break;
    }
    pos = text.find_first_of("{[", end);
  }
  if (fallback) return *std::move(fallback);
  throw Error(sqlstate::kInvalidJson,
              "no JSON in reply (" + std::to_string(text.size()) + " chars)");
}

Validation validate_pairs(const nlohmann::json& doc, int turn_count, int max_questions) {
  Validation v;
  json single;
  const json* items = find_items(doc, single);
  if (!items) {
    ++v.rejected[reject::kMalformed];
    return v;
  }
  std::unordered_set<std::string> questions;
  for (const json& item : *items) {
    QaPair pair;
    const char* reason = judge(item, turn_count, pair);
    if (!reason && !questions.insert(question_key(pair.question)).second) {
      reason = reject::kDuplicate;
    }
    if (!reason && static_cast<int>(v.kept.size()) >= max_questions) reason = reject::kOverLimit;
    if (reason) {
      ++v.rejected[reason];
      continue;
    }
    pair.raw_json = item.dump(-1, ' ', false, json::error_handler_t::replace);
    v.kept.push_back(std::move(pair));
  }
  return v;
}

}  // namespace trajc
