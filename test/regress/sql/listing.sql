-- The session listing (issue 16 item 2): trajc_extract counts with one
-- pass, keeps the top "limit" and computes the agent for those only. Its
-- rows, in order, must be exactly those of the one-query form
--   GROUP BY session ... mode() WITHIN GROUP (ORDER BY agent) ...
--   ORDER BY turn_count DESC, last_at DESC, session_id LIMIT n
-- on logs full of ties: equal turn counts, equal last times (the session id
-- decides, and "limit" cuts inside a group of ties), agents equally frequent
-- (mode() takes the first in sort order), NULL agents, NULL sessions.
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- 400 sessions of 1 + (7s mod 13) turns, ending at one of 4 hours + their
-- turn count in minutes: hundreds of sessions share a count, dozens a count
-- and a last time.
CREATE TABLE listing_log (id serial PRIMARY KEY, sid text, at timestamptz, agent text, note text);
INSERT INTO listing_log (sid, at, agent, note)
SELECT 'L-' || s, timestamptz '2026-01-01' + (s % 4) * interval '1 hour' + t * interval '1 minute',
       CASE (s + t) % 5 WHEN 0 THEN NULL WHEN 1 THEN 'b' WHEN 2 THEN 'a' WHEN 3 THEN 'B' ELSE 'a' || s % 2 END,
       'turn ' || t
  FROM generate_series(1, 400) s, generate_series(1, 1 + (7 * s) % 13) t;
INSERT INTO listing_log (sid, at, agent) VALUES (NULL, '2026-01-01', 'ghost'), (NULL, '2026-01-02', 'ghost');
-- No agent ever: the agent is NULL.
INSERT INTO listing_log (sid, at) SELECT 'L-none', timestamptz '2026-01-01 03:00' + t * interval '1 minute'
  FROM generate_series(1, 9) t;

-- Rows of trajc_extract, numbered in its order, against the one-query form
-- numbered in the order it defines: "rows compared, rows that differ".
CREATE FUNCTION listing_diff(m int, lim int, since timestamptz DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
  WITH t AS (SELECT * FROM trajc_extract(m, lim, since) WITH ORDINALITY AS x(session_id, agent, turn_count, first_at, last_at, n)),
       h AS (SELECT *, row_number() OVER (ORDER BY turn_count DESC, last_at DESC, session_id) AS n FROM (
               SELECT sid::text AS session_id, mode() WITHIN GROUP (ORDER BY agent)::text AS agent,
                      count(*)::int AS turn_count, min(at) AS first_at, max(at) AS last_at
                 FROM listing_log WHERE sid IS NOT NULL GROUP BY sid
                HAVING count(*) >= m AND (since IS NULL OR max(at) >= since)
                ORDER BY 3 DESC, 5 DESC, 1 LIMIT CASE WHEN lim > 0 THEN lim END) q)
  SELECT format('%s rows, %s differ', (SELECT count(*) FROM h),
                (SELECT count(*) FROM ((TABLE t EXCEPT ALL TABLE h) UNION ALL (TABLE h EXCEPT ALL TABLE t)) d))
$$;

SET trajc.source = 'listing_log';
SET trajc.session_column = 'sid';
SET trajc.time_column = 'at';
SET trajc.agent_column = 'agent';
SELECT listing_diff(1, 0) AS all_sessions;
SELECT listing_diff(10, 25) AS limit_cuts_ties;
SELECT listing_diff(3, 1) AS one;
SELECT listing_diff(5, 100, '2026-01-01 02:05') AS since;
SELECT listing_diff(14, 0) AS none;
-- The ties are real: many sessions share a count and a last time, and agents
-- tie within sessions.
SELECT count(*) AS sessions_of_13_turns FROM (SELECT sid FROM listing_log GROUP BY sid
  HAVING count(*) = 13) s;
SELECT max(c) AS largest_tie_on_count_and_last_at FROM (SELECT count(*) c FROM (
  SELECT count(*) n, max(at) m FROM listing_log WHERE sid IS NOT NULL GROUP BY sid) s GROUP BY n, m) g;
SELECT session_id, agent FROM trajc_extract(1, 0) WHERE session_id IN ('L-none', 'L-13', 'L-2');

-- A bigint session column: the listing orders ties by the id as text
-- ('10' before '9'), as the one-query form does.
CREATE TABLE listing_num (id serial PRIMARY KEY, sid bigint, at timestamptz, agent text);
INSERT INTO listing_num (sid, at, agent)
SELECT s, timestamptz '2026-01-01' + t * interval '1 minute', CASE WHEN t % 2 = 0 THEN 'x' ELSE 'y' END
  FROM generate_series(1, 12) s, generate_series(1, 4) t;
SET trajc.source = 'listing_num';
SELECT session_id, agent, turn_count FROM trajc_extract(1, 5);

DROP FUNCTION listing_diff(int, int, timestamptz);
DROP TABLE listing_log, listing_num;
RESET trajc.source;
RESET trajc.session_column;
RESET trajc.time_column;
RESET trajc.agent_column;

-- Turns at the same time are ordered by the primary key's value: id 9
-- before id 10 (ordering by its text would put '10' first).
CREATE TABLE turn_order (id int PRIMARY KEY, session_id text, created_at timestamptz, agent text, note text);
INSERT INTO turn_order VALUES (10, 'o', '2026-01-01 10:00', NULL, 'second'), (9, 'o', '2026-01-01 10:00', NULL, 'first'),
  (100, 'o', '2026-01-01 09:00', NULL, 'zeroth'), (8, 'o', '2026-01-01 11:00', NULL, 'third');
SET trajc.source = 'turn_order';
SELECT turn, content FROM trajc_turns('o');
DROP TABLE turn_order;
RESET trajc.source;
