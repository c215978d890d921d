#!/usr/bin/env bash
# bench/dedup.sh -- the per-pair cost of the cross-session near-duplicate
# check with 10^5 pairs stored. Target: < 1 ms per pair.
#
#   bench/dedup.sh            (as root or the cluster owner, from anywhere)
#
# Stores BENCH_DEDUP_PAIRS (100,000) questions of BENCH_DEDUP_SESSIONS
# (20,000) sessions in trajc.qa_pairs, written the way compilers write them:
# a few dozen question shapes filled with tool names, turn numbers and
# values, many repeated word for word across sessions, as the offline
# compiler's are. Their keys, duplicate marks and band keys are what the
# store would have written (trajc.question_key / question_bands; the earliest
# pair of a key is the original, only originals have band keys).
#
# Then checks BENCH_DEDUP_NEW (1,000) new questions of a new session exactly
# as src/pg/store.cpp does (the same two queries: the exact key, then the
# band candidates compared with trajc.question_similarity), side by side with
# a baseline that only computes the fingerprints. Runs through PL/pgSQL, so
# the figure is an upper bound of the C path.
#
# Environment: BENCH_DEDUP_PAIRS, BENCH_DEDUP_SESSIONS, BENCH_DEDUP_NEW, and those of bench/lib.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PAIRS=${BENCH_DEDUP_PAIRS:-100000}
SESSIONS=${BENCH_DEDUP_SESSIONS:-20000}
NEW=${BENCH_DEDUP_NEW:-1000}

bench_init
bench_have_function trajc.question_bands || bench_die "this trajc has no trajc.question_bands()"

# Questions from shapes and values; the same generator for stored and new
# ones (a temporary function: each psql session defines it).
QUESTION_FN=$(cat <<SQL
CREATE OR REPLACE FUNCTION pg_temp.bench_question(g bigint) RETURNS text LANGUAGE sql IMMUTABLE AS \$\$
  SELECT format(shape, tool, 1 + (g * 7) % 90, 3 + (g * 13) % 97, word)
    FROM (SELECT (ARRAY[
      'How many times was tool "%1\$s" used between turn %2\$s and turn %3\$s, and at which turns?',
      'Which tool was used first: "%1\$s" or "%4\$s"?',
      'Tool "%1\$s" failed at turn %2\$s. How many more calls did it take to succeed?',
      'In which turns does "%4\$s" appear?',
      'What did the call to "%1\$s" at turn %2\$s change in its arguments, compared with turn %3\$s?',
      'Which agent acted most often from turn %2\$s to turn %3\$s, and how many times?',
      'How long after turn %2\$s did tool "%1\$s" succeed, in seconds?',
      'Which value of "%4\$s" did turn %3\$s reuse from turn %2\$s?',
      'How many tool calls failed, and at which turns?',
      'Which tools were used from turn %2\$s to turn %3\$s, and at which turns?'])[1 + g % 10] AS shape,
      'tool_' || (g % 200) AS tool,
      'value_' || ((g * 31) % 5000) AS word) s
\$\$;
SQL
)

stored=$(bench_scalar "SELECT count(*) FROM trajc.qa_pairs WHERE session_id LIKE 'bench-dedup-%'")
if [ "$stored" -lt "$PAIRS" ]; then
  bench_log "storing $PAIRS pairs of $SESSIONS sessions (once; kept for later runs)"
  bench_psql -q >/dev/null <<SQL
SET client_min_messages = warning;
DELETE FROM trajc.qa_pairs WHERE session_id LIKE 'bench-dedup-%';
$QUESTION_FN
-- Values repeat (g modulo small numbers), so many questions repeat word for word.
INSERT INTO trajc.qa_pairs (session_id, agent, turn_count, question, answer, supporting_turns,
                            qa_type, source_model, trajectory_hash, created_at, question_key)
SELECT 'bench-dedup-' || (g % $SESSIONS), 'agent', 100, q, 'answer', '[1, 3]', 'factoid', 'offline', 'h',
       now() - (($PAIRS - g) * interval '1 ms'), trajc.question_key(q)
  FROM (SELECT g, pg_temp.bench_question(g % ($PAIRS / 3)) q FROM generate_series(1, $PAIRS) g) s;
UPDATE trajc.qa_pairs p SET duplicate_of = o.id
  FROM (SELECT DISTINCT ON (question_key) question_key, id, session_id FROM trajc.qa_pairs
         WHERE session_id LIKE 'bench-dedup-%' ORDER BY question_key, created_at, id) o
 WHERE p.session_id LIKE 'bench-dedup-%' AND p.question_key = o.question_key AND p.session_id <> o.session_id;
INSERT INTO trajc.qa_pair_bands (band_key, pair_id)
  SELECT unnest(trajc.question_bands(question)), id FROM trajc.qa_pairs
   WHERE session_id LIKE 'bench-dedup-%' AND duplicate_of IS NULL
  ON CONFLICT DO NOTHING;
ANALYZE trajc.qa_pairs;
ANALYZE trajc.qa_pair_bands;
SQL
fi

bench_log "$(bench_scalar "SELECT format('%s pairs stored, %s originals, %s band keys',
  (SELECT count(*) FROM trajc.qa_pairs), (SELECT count(*) FROM trajc.qa_pairs WHERE duplicate_of IS NULL),
  (SELECT count(*) FROM trajc.qa_pair_bands))")"

# The store's check for one question of session sid: the same statements as
# src/pg/store.cpp (kExactDuplicate, kBandCandidates) and the same exact
# similarity, in SQL.
SETUP=$(cat <<SQL
SET client_min_messages = warning;
$QUESTION_FN
-- Generic plans, as the store prepares them.
CREATE OR REPLACE FUNCTION pg_temp.bench_check(q text, sid text, threshold real DEFAULT 0.8)
RETURNS uuid LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS \$\$
DECLARE
  k text := trajc.question_key(q);
  found uuid;
BEGIN
  SELECT coalesce(duplicate_of, id) INTO found FROM trajc.qa_pairs
   WHERE question_key = k AND session_id <> sid ORDER BY created_at, id LIMIT 1;
  IF found IS NOT NULL THEN RETURN found; END IF;
  SELECT c.id INTO found
    FROM (SELECT p.id, p.question_key
            FROM (SELECT pair_id, count(*) AS shared FROM trajc.qa_pair_bands
                   WHERE band_key = ANY(trajc.question_bands(q)) GROUP BY pair_id ORDER BY shared DESC LIMIT 32) b
            JOIN trajc.qa_pairs p ON p.id = b.pair_id
           WHERE p.session_id <> sid ORDER BY b.shared DESC, p.created_at, p.id LIMIT 16) c
   WHERE trajc.question_similarity(k, c.question_key) >= threshold
   ORDER BY trajc.question_similarity(k, c.question_key) DESC LIMIT 1;
  RETURN found;
END
\$\$;
-- New questions: half drawn from the stored shapes and values (repeats and
-- near repeats), half with values never stored.
CREATE TEMP TABLE bench_new AS
  SELECT g, CASE WHEN g % 2 = 0 THEN pg_temp.bench_question(g * 17)
                 ELSE pg_temp.bench_question($PAIRS + g * 7919) END AS q
    FROM generate_series(1, $NEW) g;
-- Questions no stored key equals (a word of their own at the end): each one
-- takes the band path, candidates compared exactly.
CREATE TEMP TABLE bench_novel AS
  SELECT g, pg_temp.bench_question(g * 17) || ' Case ' || g || '.' AS q FROM generate_series(1, $NEW) g;
SQL
)

echo "== near-duplicate check per new pair, $NEW new pairs against $PAIRS stored"
bench_header
bench_time_pair "dedup check ($NEW pairs)" \
  "SELECT count(pg_temp.bench_check(q, 'bench-dedup-new')) FROM bench_new" \
  "SELECT count(trajc.question_bands(q)) + count(trajc.question_key(q)) FROM bench_new" \
  "$SETUP"
per_pair_mixed=$(awk -v m="$BENCH_MEDIAN" -v n="$NEW" 'BEGIN { printf "%.3f", m / n }')
bench_time_pair "band path only ($NEW pairs)" \
  "SELECT count(pg_temp.bench_check(q, 'bench-dedup-new')) FROM bench_novel" \
  "SELECT count(trajc.question_bands(q)) + count(trajc.question_key(q)) FROM bench_novel" \
  "$SETUP"
per_pair_bands=$(awk -v m="$BENCH_MEDIAN" -v n="$NEW" 'BEGIN { printf "%.3f", m / n }')
per_pair=$(awk -v a="$per_pair_mixed" -v b="$per_pair_bands" 'BEGIN { printf "%.3f", (a > b ? a : b) }')
marked=$(bench_psql -qAt -c "$SETUP" -c "SELECT count(*) FILTER (WHERE d IS NOT NULL) FROM
  (SELECT pg_temp.bench_check(q, 'bench-dedup-new') d FROM bench_new) s" | tail -1)
marked_novel=$(bench_psql -qAt -c "$SETUP" -c "SELECT count(*) FILTER (WHERE d IS NOT NULL) FROM
  (SELECT pg_temp.bench_check(q, 'bench-dedup-new') d FROM bench_novel) s" | tail -1)
echo "per pair: $per_pair_mixed ms mixed, $per_pair_bands ms band path (target < 1 ms); found to repeat a stored pair:" \
  "$marked of $NEW mixed, $marked_novel of $NEW novel (near repeats via band keys)"
awk -v p="$per_pair" 'BEGIN { exit !(p < 1) }' || { echo "MISSED: per-pair check >= 1 ms"; BENCH_MISSED=1; }
[ "${BENCH_STRICT:-0}" = 1 ] && [ "$BENCH_MISSED" = 1 ] && exit 1
exit 0
