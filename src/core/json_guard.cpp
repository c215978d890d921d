// Nesting limits for JSON from outside the core: a scan of the text before
// parsing, and an iterative walk for values already parsed.
//
// Must never: recurse over a document, or build one.
#include "trajc/json_guard.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace trajc {

bool json_text_too_deep(std::string_view text, int max_depth, CancelPoll& poll) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t chunk = 0; chunk < text.size(); chunk += CancelPoll::kEvery) {
    const std::size_t end = std::min(text.size(), chunk + CancelPoll::kEvery);
    poll.work(end - chunk);
    for (std::size_t i = chunk; i < end; ++i) {
      const char c = text[i];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        if (++depth > max_depth) return true;
      } else if ((c == ']' || c == '}') && depth > 0) {
        --depth;
      }
    }
  }
  return false;
}

bool json_too_deep(const nlohmann::json& value, int max_depth) {
  // Depth-first with an explicit stack: (value, depth of the containers around it).
  std::vector<std::pair<const nlohmann::json*, int>> stack{{&value, 0}};
  while (!stack.empty()) {
    const auto [v, outer] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    if (outer + 1 > max_depth) return true;
    for (const nlohmann::json& child : *v) stack.emplace_back(&child, outer + 1);
  }
  return false;
}

}  // namespace trajc
