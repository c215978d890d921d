// The audit-log queries as text (see audit_sql.hpp). Must never quote a name
// or splice a value: callers pass quoted identifiers, values go in as $n.
#include "trajc/audit_sql.hpp"

namespace trajc {

std::string content_tiebreak(const std::vector<std::string>& content_quoted) {
  std::string out;
  for (const auto& c : content_quoted) out += ", " + c + "::text";
  return out;
}

std::string sessions_sql(const AuditSql& q) {
  const std::string agent =
      q.agent_col.empty() ? "NULL::text"
                          : "pg_catalog.mode() WITHIN GROUP (ORDER BY " + q.agent_col + ")::text";
  const std::string& s = q.session_col;
  const std::string& t = q.time_col;
  return "SELECT " + s + "::text AS session_id, " + agent +
         " AS agent, pg_catalog.count(*)::int AS turn_count,"
         " pg_catalog.min(" + t + ")::timestamptz AS first_at,"
         " pg_catalog.max(" + t + ")::timestamptz AS last_at"
         " FROM " + q.relation + " WHERE " + s + " IS NOT NULL GROUP BY " + s +
         " HAVING pg_catalog.count(*) >= $1"
         " AND ($3::timestamptz IS NULL OR pg_catalog.max(" + t + ")::timestamptz >= $3)"
         " ORDER BY 3 DESC, 5 DESC, 1 LIMIT CASE WHEN $2 > 0 THEN $2 END";
}

std::string turns_sql(const AuditSql& q, bool with_iso_time) {
  const std::string& t = q.time_col;
  std::string out = "SELECT " + t + "::timestamptz, ";
  out += with_iso_time ? "pg_catalog.to_char(" + t +
                             "::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                       : std::string("NULL::text");
  out += ", " + (q.agent_col.empty() ? std::string("NULL") : q.agent_col + "::text");
  for (const auto& c : q.content_quoted) out += ", " + c + "::text";
  out += " FROM " + q.relation + " WHERE " + q.session_col + (q.session_is_text ? "" : "::text") +
         " = $1 ORDER BY " + t + q.tiebreak;
  return out;
}

}  // namespace trajc
