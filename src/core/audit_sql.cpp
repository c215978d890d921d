// The audit-log queries as text (see audit_sql.hpp). Must never quote a name
// or splice a value: callers pass quoted identifiers, values go in as $n.
#include "trajc/audit_sql.hpp"

namespace trajc {

std::string content_tiebreak(const std::vector<std::string>& content_quoted) {
  std::string out;
  for (const auto& c : content_quoted) out += ", l." + c + "::text";
  return out;
}

// The listing counts turns with one pass over the log (a hash aggregate of
// four plain aggregates) and keeps the top `limit` sessions; only then, and
// only for those, is the agent computed. mode() in the same GROUP BY would
// need every row sorted by session, which from a few million rows on becomes
// a full index scan or an external sort: super-linear where this stays
// linear. The join picks the kept sessions' rows back up (an index scan when
// the session column has one, a hash join otherwise), and the outer query
// repeats the order, so the rows are exactly those of the one-query form.
std::string sessions_sql(const AuditSql& q, bool with_agent) {
  const std::string& s = q.session_col;
  const std::string& t = q.time_col;
  const std::string top =
      "SELECT " + s + " AS k, pg_catalog.count(*)::int AS turn_count,"
      " pg_catalog.min(" + t + ")::timestamptz AS first_at,"
      " pg_catalog.max(" + t + ")::timestamptz AS last_at"
      " FROM " + q.relation + " WHERE " + s + " IS NOT NULL GROUP BY " + s +
      " HAVING pg_catalog.count(*) >= $1"
      " AND ($3::timestamptz IS NULL OR pg_catalog.max(" + t + ")::timestamptz >= $3)"
      " ORDER BY 2 DESC, 4 DESC, " + s + "::text LIMIT CASE WHEN $2 > 0 THEN $2 END";
  if (!with_agent || q.agent_col.empty())
    return "SELECT k::text AS session_id, NULL::text AS agent, turn_count, first_at, last_at"
           " FROM (" + top + ") top ORDER BY 3 DESC, 5 DESC, 1";
  return "SELECT top.k::text AS session_id,"
         " pg_catalog.mode() WITHIN GROUP (ORDER BY l." + q.agent_col + ")::text AS agent,"
         " top.turn_count, top.first_at, top.last_at"
         " FROM (" + top + ") top JOIN " + q.relation + " l ON l." + s + " = top.k"
         " GROUP BY top.k, top.turn_count, top.first_at, top.last_at"
         " ORDER BY 3 DESC, 5 DESC, 1";
}

// The sort keys are the relation's columns, qualified: a bare name would
// mean the output column of that name, the text form, and an integer key
// would sort '10' before '9'.
std::string turns_sql(const AuditSql& q, bool with_iso_time) {
  const std::string& t = q.time_col;
  std::string out = "SELECT " + t + "::timestamptz, ";
  out += with_iso_time ? "pg_catalog.to_char(" + t +
                             "::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                       : std::string("NULL::text");
  out += ", " + (q.agent_col.empty() ? std::string("NULL") : q.agent_col + "::text");
  for (const auto& c : q.content_quoted) out += ", " + c + "::text";
  out += " FROM " + q.relation + " l WHERE l." + q.session_col +
         (q.session_is_text ? "" : "::text") + " = $1 ORDER BY l." + t + "::timestamptz" +
         q.tiebreak;
  return out;
}

}  // namespace trajc
