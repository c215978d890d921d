#!/usr/bin/env bash
# The pair-quality figures of a database's compiled pairs (issue 17): question
# shapes, questions repeated word for word across sessions, long-range pairs,
# the qa_type mix, the verified share and rejections by reason. Computed in SQL
# over trajc.qa_pairs and trajc.compile_log; reads only, changes nothing.
#
#   bench/quality.sh DSN [BASELINE_DSN]
#
# DSN is anything psql takes as -d (a database name, "dbname=x port=y", a URI).
# With BASELINE_DSN the two are printed side by side (baseline first).
set -euo pipefail
dsn=${1:?usage: bench/quality.sh DSN [BASELINE_DSN]}
baseline=${2:-}

# One row per figure: ord|figure|value. A question's shape is its text with
# quoted values, identifiers (digits, '_', '/', '@', camelCase, dotted names)
# and numbers masked, then lowercased: what is left is the template.
read -r -d '' QUERY <<'SQL' || true
WITH p AS (
  SELECT session_id, question, qa_type, verified_by, turn_count,
         (supporting_turns -> -1)::int - (supporting_turns -> 0)::int AS span,
         lower(regexp_replace(regexp_replace(regexp_replace(question,
           '"[^"]*"|`[^`]*`|“[^”]*”', '<v>', 'g'),
           '[^\s,;:()?"]*([0-9_/@]|[a-z][A-Z]|[A-Za-z]\.[A-Za-z])[^\s,;:()?"]*', '<id>', 'g'),
           '\s+', ' ', 'g')) AS shape
    FROM trajc.qa_pairs),
repeated AS (
  SELECT question FROM p GROUP BY question HAVING count(DISTINCT session_id) >= 2),
latest AS (  -- each session's last compile: a re-compile replaces the earlier pairs
  SELECT DISTINCT ON (session_id) session_id, rejected_reasons, pairs_rejected
    FROM trajc.compile_log WHERE status IN ('ok', 'empty')
   ORDER BY session_id, id DESC),
reasons AS (
  SELECT r.key, sum(r.value::bigint) AS n
    FROM latest, jsonb_each_text(latest.rejected_reasons) r GROUP BY r.key),
figures(ord, figure, value) AS (
  SELECT 1, 'sessions with pairs', count(DISTINCT session_id)::text FROM p
  UNION ALL SELECT 2, 'pairs', count(*)::text FROM p
  UNION ALL SELECT 3, 'question shapes (masked)', count(DISTINCT shape)::text FROM p
  UNION ALL SELECT 4, 'questions repeated in another session %',
    coalesce(round(100.0 * count(*) FILTER (WHERE question IN (SELECT question FROM repeated))
                   / nullif(count(*), 0), 1)::text, '-') FROM p
  UNION ALL SELECT 5, '  pairs marked duplicate_of another session''s',
    (SELECT count(duplicate_of) FROM trajc.qa_pairs)::text
  UNION ALL SELECT 6, 'pairs in sessions >= 40 turns',
    count(*) FILTER (WHERE turn_count >= 40)::text FROM p
  UNION ALL SELECT 7, '  of these citing turns >= 20 apart %',
    coalesce(round(100.0 * count(*) FILTER (WHERE turn_count >= 40 AND span >= 20)
                   / nullif(count(*) FILTER (WHERE turn_count >= 40), 0), 1)::text, '-') FROM p
  UNION ALL SELECT 8, 'median span of cited turns', coalesce(
    (percentile_cont(0.5) WITHIN GROUP (ORDER BY span))::text, '-') FROM p
  UNION ALL SELECT 10 + t.ord, t.qa_type || ' %',
    coalesce(round(100.0 * (SELECT count(*) FROM p WHERE p.qa_type = t.qa_type)
                   / nullif((SELECT count(*) FROM p), 0), 1)::text, '-')
    FROM (VALUES ('factoid', 1), ('reasoning', 2), ('composition', 3), ('temporal', 4))
         AS t(qa_type, ord)
  UNION ALL SELECT 20, 'literally verified %',
    coalesce(round(100.0 * count(*) FILTER (WHERE verified_by = 'literal')
                   / nullif(count(*), 0), 1)::text, '-') FROM p
  UNION ALL SELECT 21, 'rejected', coalesce(sum(pairs_rejected), 0)::text FROM latest
  UNION ALL SELECT 30, '  rejected: ' || key, n::text FROM reasons)
SELECT ord, figure, value FROM figures ORDER BY ord, figure
SQL

figures() { psql -X -q -At -F'|' -v ON_ERROR_STOP=1 -d "$1" -c "$QUERY"; }

if [ -z "$baseline" ]; then
  figures "$dsn" | awk -F'|' '{ printf "%-44s %10s\n", $2, $3 }'
else
  # Join on the figure: a rejection reason may appear on one side only.
  join -t'|' -a1 -a2 -e- -o 0,1.2,2.2 \
    <(figures "$baseline" | awk -F'|' '{ printf "%03d %s|%s\n", $1, $2, $3 }' | sort) \
    <(figures "$dsn" | awk -F'|' '{ printf "%03d %s|%s\n", $1, $2, $3 }' | sort) |
    awk -F'|' 'BEGIN { printf "%-44s %10s %10s\n", "figure", "baseline", "this" }
               { printf "%-44s %10s %10s\n", substr($1, 5), $2, $3 }'
fi
