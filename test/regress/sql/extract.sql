-- Extraction: reading any audit log in place.
SET client_min_messages = warning;
SET TimeZone = 'UTC';

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  session_id text,
  agent text,
  tool text,
  action text,
  success boolean,
  arguments jsonb,
  response text,
  cost_usd numeric,
  created_at timestamptz NOT NULL
);
CREATE INDEX audit_log_session_time ON audit_log (session_id, created_at);

-- s-long: 12 turns, two agents; s-short: 4 turns; s-tie: 10 turns, two rows
-- at the same time (ordered by the primary key); NULL sessions are ignored.
INSERT INTO audit_log (session_id, agent, tool, action, success, arguments, response, cost_usd, created_at)
SELECT 's-long', CASE WHEN g % 3 = 0 THEN 'reviewer' ELSE 'coder' END,
       CASE WHEN g % 2 = 0 THEN 'run_tests' END, 'call', g <> 5,
       jsonb_build_object('step', g, 'path', 'src/main.c'),
       'result ' || g, 0.001 * g, timestamptz '2026-01-01 10:00' + g * interval '1 minute'
FROM generate_series(1, 12) g;
INSERT INTO audit_log (session_id, agent, action, response, created_at)
SELECT 's-short', 'planner', 'message', 'plan ' || g, timestamptz '2026-01-02 10:00' + g * interval '1 minute'
FROM generate_series(1, 4) g;
INSERT INTO audit_log (session_id, agent, action, response, created_at)
SELECT 's-tie', 'tester', 'message', 'row ' || g,
       timestamptz '2026-01-03 10:00' + least(g, 5) * interval '1 minute'
FROM generate_series(1, 10) g;
INSERT INTO audit_log (session_id, agent, action, created_at)
VALUES (NULL, 'ghost', 'message', now()), (NULL, 'ghost', 'message', now());

SELECT * FROM trajc_extract();
SELECT * FROM trajc_extract(4, 0);
SELECT session_id, turn_count FROM trajc_extract(1, 2);
SELECT session_id FROM trajc_extract(1, 0, '2026-01-02 12:00');

-- Turn rendering: column order, NULLs and session/time columns skipped, json compact.
SELECT * FROM trajc_turns('s-long') WHERE turn IN (1, 5, 12);
-- Ties on time are broken by the primary key.
SELECT turn, content FROM trajc_turns('s-tie') WHERE turn BETWEEN 4 AND 7;
-- Unknown and NULL sessions: empty, not an error.
SELECT count(*) FROM trajc_turns('no-such-session');
SELECT count(*) FROM trajc_turns(NULL);

-- Only some columns.
SET trajc.content_columns = 'tool, success';
SELECT turn, content FROM trajc_turns('s-long') WHERE turn <= 3;
RESET trajc.content_columns;

-- Bad arguments: 22023.
\set VERBOSITY sqlstate
SELECT * FROM trajc_extract(0);
SELECT * FROM trajc_extract(1, -1);
\set VERBOSITY default

-- Bad settings name the setting to fix.
SET trajc.source = 'missing_table';
SELECT * FROM trajc_extract();
RESET trajc.source;
SET trajc.session_column = 'sess';
SELECT * FROM trajc_extract();
RESET trajc.session_column;
SET trajc.time_column = 'ts';
SELECT * FROM trajc_turns('s-long');
RESET trajc.time_column;
SET trajc.agent_column = 'who';
SELECT * FROM trajc_extract();
RESET trajc.agent_column;
SET trajc.content_columns = 'tool, nope';
SELECT * FROM trajc_turns('s-long');
RESET trajc.content_columns;

-- Identifiers from settings are never spliced into SQL: injection attempts
-- fail cleanly, and nothing is executed.
CREATE TABLE victim (x int);
SET trajc.source = 'audit_log; DROP TABLE victim';
SELECT * FROM trajc_extract();
SET trajc.source = 'audit_log"; DROP TABLE victim; --';
SELECT * FROM trajc_extract();
RESET trajc.source;
SET trajc.session_column = 'session_id; DROP TABLE victim';
SELECT * FROM trajc_extract();
SET trajc.session_column = 'session_id" IS NOT NULL; DROP TABLE victim; --';
SELECT * FROM trajc_extract();
RESET trajc.session_column;
SET trajc.content_columns = 'tool), (SELECT 1); DROP TABLE victim; --';
SELECT * FROM trajc_turns('s-long');
RESET trajc.content_columns;
SELECT count(*) AS victim_still_there FROM victim;

-- Awkward but real names resolve correctly: spaces, capitals, quotes, schemas.
CREATE SCHEMA "Agent Logs";
CREATE TABLE "Agent Logs"."Run ""Log""" (
  "Session Id" text, "When" timestamptz, "Who" text, "a""b" text, "Tool Name" text
);
INSERT INTO "Agent Logs"."Run ""Log""" VALUES
  ('X', '2026-02-01 00:00:01', 'Alice', 'q1', 'Search'),
  ('X', '2026-02-01 00:00:02', 'Bob', 'q2', NULL),
  ('X', '2026-02-01 00:00:03', 'Alice', NULL, 'Fetch');
SET trajc.source = '"Agent Logs"."Run ""Log"""';
SET trajc.session_column = 'Session Id';
SET trajc.time_column = 'When';
SET trajc.agent_column = 'Who';
SELECT * FROM trajc_extract(1);
SELECT turn, agent, content FROM trajc_turns('X');
RESET ALL;

-- The session column groups rows, so its type needs equality: json and
-- point have none and are refused naming the setting (42804), as is a time
-- column that does not convert to timestamptz; jsonb and uuid work.
CREATE TABLE typed_log (j json, jb jsonb, p point, u uuid, created_at timestamptz, note text);
INSERT INTO typed_log VALUES
  ('{"s": 1}', '{"s": 1}', '(1,1)', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2026-02-01 00:00:01+00', 'one'),
  ('{"s": 1}', '{"s": 1}', '(1,1)', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2026-02-01 00:00:02+00', 'two');
SET trajc.source = 'typed_log';
SET trajc.agent_column = '';
SET trajc.session_column = 'j';
SELECT * FROM trajc_extract(1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM trajc_turns('{"s": 1}');
SELECT * FROM trajc_estimate(1, 0);
SET trajc.session_column = 'p';
SELECT * FROM trajc_extract(1);
\echo :LAST_ERROR_SQLSTATE
SET trajc.session_column = 'jb';
SELECT session_id, turn_count FROM trajc_extract(1);
SET trajc.session_column = 'u';
SELECT session_id, turn_count FROM trajc_extract(1);
SET trajc.time_column = 'p';
SELECT * FROM trajc_extract(1);
\echo :LAST_ERROR_SQLSTATE
RESET ALL;
DROP TABLE typed_log;

-- A view works, with the caller's rights: RLS and GRANTs apply.
SET TimeZone = 'UTC';
CREATE VIEW recent_log AS SELECT session_id, agent, response, created_at FROM audit_log;
SET trajc.source = 'recent_log';
SELECT session_id, turn_count FROM trajc_extract(1, 0);
RESET trajc.source;
CREATE ROLE regress_trajc_reader;
GRANT SELECT ON audit_log TO regress_trajc_reader;
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_short ON audit_log FOR SELECT TO regress_trajc_reader USING (session_id = 's-short');
SET ROLE regress_trajc_reader;
SELECT session_id, turn_count FROM trajc_extract(1, 0);
RESET ROLE;
REVOKE SELECT ON audit_log FROM regress_trajc_reader;
SET ROLE regress_trajc_reader;
SELECT * FROM trajc_extract();
RESET ROLE;
DROP POLICY only_short ON audit_log;
DROP ROLE regress_trajc_reader;

-- trajc_turns can use the (session, time) index: its query compares the
-- session column directly (a cast would rule the index out).
SET enable_seqscan = off;
BEGIN;
SELECT count(*) FROM trajc_turns('s-long');
SELECT pg_stat_get_xact_numscans('audit_log_session_time'::regclass) > 0 AS used_index;
COMMIT;
RESET enable_seqscan;
