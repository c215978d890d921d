-- scripts/sample_audit_log.sql -- (re)create a realistic, deterministic sample
-- agent audit log (Workloft shape) for trajc demos, tests and benchmarks.
--
--   psql -v ON_ERROR_STOP=1 -f scripts/sample_audit_log.sql
--   psql -v ON_ERROR_STOP=1 -v table=bench_audit_log -v sessions=50000 \
--        -v total_rows=2000000 -v long_session_turns=5000 -f scripts/sample_audit_log.sql
--
-- psql variables (all optional):
--   table               target table, may be schema-qualified     (audit_log)
--                       DROPPED and recreated.
--   sessions            number of ordinary sessions 's-1'..'s-N'  (120)
--   min_turns/max_turns turn range of ordinary sessions           (10/200)
--   mean_turns          mean turns per ordinary session           (40)
--                       the session rows total exactly sessions * mean_turns
--   total_rows          if > 0: the table holds exactly this many rows in all
--                       (NULL-session rows and the long session included);
--                       overrides mean_turns                         (0 = off)
--   long_session_turns  if > 0: add session 'long-<N>' with exactly N turns (0)
--   short_pct           % of sessions with 2..min_turns-1 turns      (4)
--   long_pct            % of sessions with 2.5*mean..max_turns turns (4)
--   null_pct            % of rows with NULL session_id (system rows) (0.5)
--   seed                any integer; same seed => identical table    (42)
--   start_at / days     sessions start within [start_at, start_at + days)
--                                             ('2024-03-04 00:00:00+00' / 60)
--
-- Everything is set-based (generate_series + hash-based pseudo-randomness via
-- hashint8extended, no random()), so the output depends only on the variables:
-- ids, timestamps and texts are identical across runs and machines.
--
-- Shape of a session: turn 1 is the human's request (agent NULL, actor 'user',
-- the requester in arguments->>'from', the text in response), the last turn
-- the dominant agent's summary; in between, turns by 4
-- agents of the session (one dominant, ~60% of the turns), mixing messages
-- (tool NULL) and tool calls whose JSON arguments evolve over the session
-- (search query refined, SQL extended, file renamed draft -> v2 -> final).
-- About 10% of tool calls fail (success = false, error in response) and are
-- retried with the same tool (attempt 2, sometimes attempt 3). Turns are a few
-- seconds apart with occasional pauses; ~1% of turns share their predecessor's
-- timestamp (parallel calls: the id breaks the tie). Ids follow global time
-- order, so sessions are interleaved in the heap as in a real log. actor is
-- the row's role: user, assistant (agent messages), tool (tool calls), system
-- (the NULL-session rows: heartbeats, quota checks, ...).
--
-- Speed: 2,000,000 rows take ~30 s of CPU in one backend (the INSERT dominates).
-- The pg_temp helpers below must stay inlinable (no STRICT, arguments used
-- more than once must be plain columns), or the INSERT gets several times slower.

\set ON_ERROR_STOP on

\if :{?table}
\else
  \set table audit_log
\endif
\if :{?sessions}
\else
  \set sessions 120
\endif
\if :{?min_turns}
\else
  \set min_turns 10
\endif
\if :{?max_turns}
\else
  \set max_turns 200
\endif
\if :{?mean_turns}
\else
  \set mean_turns 40
\endif
\if :{?total_rows}
\else
  \set total_rows 0
\endif
\if :{?long_session_turns}
\else
  \set long_session_turns 0
\endif
\if :{?short_pct}
\else
  \set short_pct 4
\endif
\if :{?long_pct}
\else
  \set long_pct 4
\endif
\if :{?null_pct}
\else
  \set null_pct 0.5
\endif
\if :{?seed}
\else
  \set seed 42
\endif
\if :{?start_at}
\else
  \set start_at '2024-03-04 00:00:00+00'
\endif
\if :{?days}
\else
  \set days 60
\endif

BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '512MB';
SET LOCAL jit = off;   -- compiling the big expressions costs more than it saves

-- ---------------------------------------------------------------- parameters
CREATE TEMP TABLE trajc_sample_params ON COMMIT DROP AS
SELECT sessions, min_turns, max_turns, long_turns, null_rows, seed,
       short_frac, long_frac, start_at, days,
       session_rows,
       session_rows::float8 / sessions AS eff_mean
FROM (
  SELECT p.*,
         CASE WHEN total_rows > 0 THEN total_rows - null_rows - long_turns
              ELSE sessions::bigint * mean_turns END AS session_rows
  FROM (
    SELECT (:'sessions')::int AS sessions,
           (:'min_turns')::int AS min_turns,
           (:'max_turns')::int AS max_turns,
           (:'mean_turns')::numeric AS mean_turns,
           (:'total_rows')::bigint AS total_rows,
           (:'long_session_turns')::int AS long_turns,
           round(CASE WHEN (:'total_rows')::bigint > 0 THEN (:'total_rows')::bigint
                      ELSE (:'sessions')::bigint * (:'mean_turns')::numeric END
                 * (:'null_pct')::numeric / 100)::int AS null_rows,
           (:'seed')::bigint AS seed,
           (:'short_pct')::float8 / 100 AS short_frac,
           (:'long_pct')::float8 / 100 AS long_frac,
           (:'start_at')::timestamptz AS start_at,
           (:'days')::int AS days
  ) p
) q;

DO $$
DECLARE p record;
BEGIN
  SELECT * INTO p FROM trajc_sample_params;
  IF p.sessions < 1 THEN RAISE EXCEPTION 'sample_audit_log: sessions must be >= 1'; END IF;
  IF p.min_turns < 3 OR p.max_turns < p.min_turns THEN
    RAISE EXCEPTION 'sample_audit_log: need 3 <= min_turns <= max_turns';
  END IF;
  IF p.long_turns < 0 OR p.null_rows < 0 THEN
    RAISE EXCEPTION 'sample_audit_log: negative long_session_turns or null_pct';
  END IF;
  IF p.eff_mean < 2 OR p.eff_mean > p.max_turns THEN
    RAISE EXCEPTION 'sample_audit_log: % session rows for % sessions is outside 2..max_turns per session',
      p.session_rows, p.sessions;
  END IF;
END $$;

-- --------------------------------------------------------- hash-based noise
-- h(): non-negative 63-bit hash of (a, b) for a given salt; u(): uniform [0,1).
CREATE OR REPLACE FUNCTION pg_temp.h(a bigint, b bigint, salt int) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN hashint8extended(a * 1000003 + b, (:'seed')::bigint * 1009 + salt) & 9223372036854775807;
CREATE OR REPLACE FUNCTION pg_temp.u(a bigint, b bigint, salt int) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (pg_temp.h(a, b, salt) >> 11)::float8 / 4503599627370496.0;

-- Agents: 1 planner 2 researcher 3 coder 4 reviewer 5 analyst 6 writer 7 tester 8 ops.
-- A session uses 4 of them: slot 0 (dominant), 1, 2, 3; the step is odd, so
-- the 4 slots are distinct agents.
CREATE OR REPLACE FUNCTION pg_temp.agent_of(sid bigint, slot int) RETURNS int
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 1 + ((pg_temp.h(sid, 0, 1) % 8) + slot * (1 + 2 * (pg_temp.h(sid, 0, 2) % 4))) % 8;
-- which slot acts at turn x (base turns; retries inherit their origin's)
CREATE OR REPLACE FUNCTION pg_temp.slot(sid bigint, x bigint) RETURNS int
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN pg_temp.u(sid, x, 3) < 0.62 THEN 0
              WHEN pg_temp.u(sid, x, 3) < 0.84 THEN 1
              WHEN pg_temp.u(sid, x, 3) < 0.96 THEN 2 ELSE 3 END;
-- does base turn x call a tool? (probability depends on the agent)
CREATE OR REPLACE FUNCTION pg_temp.is_tool(sid bigint, x bigint) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN pg_temp.u(sid, x, 4) < ('{0.25,0.70,0.75,0.45,0.70,0.50,0.80,0.70}'::float8[])
                                 [pg_temp.agent_of(sid, pg_temp.slot(sid, x))];
-- raw failure candidate at turn x of an n-turn session
CREATE OR REPLACE FUNCTION pg_temp.rf(sid bigint, x bigint, n int) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN x >= 2 AND x <= n - 3 AND pg_temp.u(sid, x, 5) < 0.08 AND pg_temp.is_tool(sid, x);
-- a failure episode starts at x: x fails, x+1 retries (and, if dbl, fails again
-- and x+2 retries). Episodes never overlap: one needs no candidate in the 2
-- turns before it, and an episode's own candidate blocks the next 2 turns.
CREATE OR REPLACE FUNCTION pg_temp.fstart(sid bigint, x bigint, n int) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN pg_temp.rf(sid, x, n) AND NOT pg_temp.rf(sid, x - 1, n) AND NOT pg_temp.rf(sid, x - 2, n);
CREATE OR REPLACE FUNCTION pg_temp.dbl(sid bigint, x bigint) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN pg_temp.u(sid, x, 6) < 0.3;
-- time of turn x (seconds after the session start): a session-specific pace
-- of g seconds per turn with jitter, plus a pause of some minutes every ~p
-- turns; strictly increasing in x.
CREATE OR REPLACE FUNCTION pg_temp.tsec(sid bigint, x bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (x + 0.9 * pg_temp.u(sid, x, 7)) * (2 + 16 * pg_temp.u(sid, 0, 8))
         + floor((x + (pg_temp.h(sid, 0, 9) % 30)) / (20 + pg_temp.h(sid, 0, 10) % 25))
           * (60 + 840 * pg_temp.u(sid, 0, 11));

-- ----------------------------------------------------- sessions and lengths
CREATE TEMP TABLE trajc_sample_sess ON COMMIT DROP AS
WITH p AS (SELECT * FROM trajc_sample_params),
raw AS (
  SELECT s AS sidx,
         CASE WHEN pg_temp.u(s, 0, 20) < p.short_frac THEN 'short'
              WHEN pg_temp.u(s, 0, 20) >= 1 - p.long_frac THEN 'long'
              ELSE 'normal' END AS kind,
         pg_temp.u(s, 0, 21) AS u1,
         -- standard normal by Box-Muller
         sqrt(-2 * ln(1 - pg_temp.u(s, 0, 22))) * cos(2 * pi() * pg_temp.u(s, 0, 23)) AS z
  FROM p, generate_series(1, p.sessions) AS s
),
shaped AS (
  SELECT r.sidx, r.kind,
         CASE r.kind
           WHEN 'short' THEN 2 + floor(r.u1 * (p.min_turns - 2))::int
           WHEN 'long' THEN lo + floor(r.u1 * (p.max_turns - lo + 1))::int
           -- log-normal, median chosen so that the overall mean is ~eff_mean
           ELSE least(p.max_turns, greatest(p.min_turns,
                  round(greatest(p.min_turns,
                          (p.eff_mean - p.short_frac * p.min_turns / 2
                                      - p.long_frac * (lo + p.max_turns) / 2)
                          / (1 - p.short_frac - p.long_frac))
                        / exp(0.125) * exp(0.5 * r.z))::int))
         END AS n
  FROM raw r, p,
       LATERAL (SELECT least(p.max_turns, greatest(p.min_turns, round(2.5 * p.eff_mean)::int)) AS lo) l
),
-- exact total: spread the difference over the normal sessions in proportion
-- to their length (cumulative rounding), then clamp to [min_turns, max_turns]
tot AS (
  SELECT p.session_rows - coalesce(sum(n) FILTER (WHERE kind <> 'normal'), 0) AS target,
         greatest(1, coalesce(sum(n) FILTER (WHERE kind = 'normal'), 0)) AS have
  FROM shaped, p GROUP BY p.session_rows
),
scaled AS (
  SELECT s.sidx, s.kind,
         CASE WHEN s.kind = 'normal' THEN
           least(p.max_turns, greatest(p.min_turns,
             ((sum(s.n) OVER w) * t.target / t.have
              - (sum(s.n) OVER w - s.n) * t.target / t.have)::int))
         ELSE s.n END AS n
  FROM shaped s, tot t, p
  WINDOW w AS (PARTITION BY s.kind = 'normal' ORDER BY s.sidx)
),
-- whatever the clamping left over: +-1 on that many normal sessions with room
resid AS (
  SELECT p.session_rows - sum(n) AS r FROM scaled, p GROUP BY p.session_rows
),
ranked AS (
  SELECT s.*, r.r,
         row_number() OVER (
           PARTITION BY s.kind = 'normal'
                        AND ((r.r > 0 AND s.n < p.max_turns) OR (r.r < 0 AND s.n > p.min_turns))
           ORDER BY pg_temp.h(s.sidx, 0, 24)) AS rk,
         s.kind = 'normal'
           AND ((r.r > 0 AND s.n < p.max_turns) OR (r.r < 0 AND s.n > p.min_turns)) AS eligible
  FROM scaled s, resid r, p
)
SELECT sidx, kind,
       n + CASE WHEN eligible AND rk <= abs(r) THEN sign(r)::int ELSE 0 END AS n
FROM ranked
UNION ALL
SELECT p.sessions + 1, 'bench', p.long_turns FROM p WHERE p.long_turns > 0;

DO $$
DECLARE want bigint; got bigint;
BEGIN
  SELECT session_rows INTO want FROM trajc_sample_params;
  SELECT sum(n) INTO got FROM trajc_sample_sess WHERE kind <> 'bench';
  IF got <> want THEN
    RAISE WARNING 'sample_audit_log: % session rows instead of % (turn bounds too tight)', got, want;
  END IF;
END $$;

-- -------------------------------------------------------------- the table
DROP TABLE IF EXISTS :table;
CREATE TABLE :table (
  id          bigserial,
  session_id  text,
  agent       text,
  tool        text,
  action      text,
  actor       text,
  category    text,
  success     boolean,
  arguments   jsonb,
  response    text,
  cost_usd    numeric(12,6),
  duration_ms int,
  created_at  timestamptz
);

INSERT INTO :table (id, session_id, agent, tool, action, actor, category, success,
                    arguments, response, cost_usd, duration_ms, created_at)
SELECT k.id,
       CASE WHEN k.sidx = 0 THEN NULL
            WHEN k.sidx > p.sessions THEN 'long-' || k.n
            ELSE 's-' || k.sidx END,
       CASE WHEN k.sidx = 0 THEN (ARRAY['scheduler', 'scheduler', 'monitor', NULL])[1 + pg_temp.h(0, k.t, 40) % 4]
            WHEN r.role = 'request' THEN NULL
            ELSE a.agent END,
       CASE WHEN a.tool > 0 THEN (ARRAY['web_search', 'fetch_url', 'run_sql', 'write_file', 'read_file',
                                        'run_tests', 'send_email', 'post_slack', 'run_shell'])[a.tool] END,
       CASE WHEN k.sidx = 0 THEN (ARRAY['heartbeat', 'heartbeat', 'quota_check', 'config_reload', 'orphan_cleanup'])
                                  [1 + pg_temp.h(0, k.t, 41) % 5]
            WHEN r.role = 'request' THEN 'request'
            WHEN a.tool > 0 THEN 'tool_call'
            ELSE a.msg_action END,
       CASE WHEN k.sidx = 0 THEN 'system'
            WHEN r.role = 'request' THEN 'user'
            WHEN a.tool > 0 THEN 'tool'
            ELSE 'assistant' END,
       CASE WHEN k.sidx = 0 THEN 'system'
            WHEN r.role = 'request' THEN 'input'
            WHEN a.tool > 0 THEN (ARRAY['retrieval', 'retrieval', 'data', 'code', 'code', 'code',
                                        'communication', 'communication', 'ops'])[a.tool]
            WHEN a.msg_action = 'handoff' THEN 'coordination'
            ELSE 'message' END,
       CASE WHEN k.sidx = 0 THEN pg_temp.u(0, k.t, 42) >= 0.03
            WHEN r.role = 'request' THEN NULL
            ELSE NOT r.failed END,
       CASE WHEN k.sidx = 0 THEN jsonb_build_object('worker', 'w-' || (pg_temp.h(0, k.t, 43) % 8),
                                                    'region', s.region)
            WHEN r.role = 'request' THEN jsonb_build_object(
                   'from', s.owner,
                   'channel', (ARRAY['slack', 'web', 'email', 'api'])[1 + pg_temp.h(k.sidx, 0, 44) % 4],
                   'priority', (ARRAY['low', 'normal', 'normal', 'high'])[1 + pg_temp.h(k.sidx, 0, 45) % 4])
            WHEN a.tool > 0 THEN a.args
                 || CASE WHEN r.attempt > 1
                         THEN jsonb_build_object('attempt', r.attempt, 'backoff_ms', 1000 * (r.attempt - 1) * (r.attempt - 1))
                         ELSE '{}'::jsonb END
            WHEN a.msg_action = 'handoff' THEN jsonb_build_object('to', a.other, 'task', s.title)
            END,
       CASE WHEN k.sidx = 0 THEN CASE WHEN pg_temp.u(0, k.t, 42) >= 0.03 THEN 'ok'
                                      ELSE 'worker did not answer within 5000 ms' END
            WHEN r.role = 'request' THEN
              format((ARRAY['%s. Please have it done by %s.',
                            'Hi team, %s -- it is needed for the %s review.',
                            'Task: %s. Deadline %s; ping me if the numbers look off.'])[1 + pg_temp.h(k.sidx, 0, 46) % 3],
                     s.title, (ARRAY['Friday', 'end of day', 'Monday 10:00', 'next sprint', 'the board meeting'])
                               [1 + pg_temp.h(k.sidx, 0, 47) % 5])
            WHEN r.role = 'summary' THEN
              format('Done: %s. Deliverable %s_final%s; headline figure %s (%s%% vs %s). Open issue: the %s numbers still need a second source.',
                     s.title, s.stem, s.ext, a.n1, a.n2 % 40, s.quarter, s.region)
            WHEN a.tool > 0 AND r.failed THEN
              format((ARRAY[['HTTP 429 Too Many Requests: search quota exceeded, retry after %2$s s',
                             'upstream timeout after 10000 ms for query "%1$s"'],
                            ['HTTP 503 Service Unavailable from %1$s',
                             'TimeoutError: no response from %1$s within 30000 ms'],
                            ['ERROR:  canceling statement due to statement timeout',
                             'ERROR:  column "amount" does not exist HINT:  Perhaps you meant to reference the column "amount_usd".'],
                            ['PermissionError: [Errno 13] Permission denied: ''%1$s''',
                             'OSError: [Errno 28] No space left on device while writing %1$s'],
                            ['FileNotFoundError: [Errno 2] No such file or directory: ''%1$s''',
                             'UnicodeDecodeError: ''utf-8'' codec can''t decode byte 0x%8$s in %1$s'],
                            ['runner crashed: worker 2 exited with signal 9 (out of memory) in %1$s',
                             'collection error in %1$s: ImportError: cannot import name ''%7$s_helper'''],
                            ['SMTP 451 4.7.1 greylisted, try again later (to %1$s)',
                             'SMTP 550 5.1.1 mailbox unavailable: %1$s'],
                            ['slack API error: ratelimited (retry after %2$s s)',
                             'slack API error: channel_not_found (%1$s)'],
                            ['exit 137 (killed: memory limit) running %1$s',
                             'exit 1: %1$s: connection refused']])[a.tool][1 + r.err],
                     a.prim, 1 + a.n1 % 30, a.n2 % 256, s.cust, s.region, s.title, s.kwslug, to_hex(128 + a.n2 % 128))
            WHEN a.tool > 0 THEN
              format((ARRAY['%2$s results for "%1$s". Top: "%6$s -- analysis" (%9$s), "%4$s investor update %8$s", "%7$s: benchmarks and pitfalls" (news.example.com)',
                            '200 OK, %2$s kB from %1$s. Key passage: "%4$s reported %3$s%% growth in %5$s during %8$s."',
                            '%2$s rows in %11$s ms. First row: {"region": "%5$s", "quarter": "%8$s", "amount_usd": %2$s%3$s.50}',
                            'wrote %2$s bytes to %1$s',
                            'read %2$s lines from %1$s',
                            '%2$s passed, %10$s failed, 2 skipped in %11$s ms (%1$s)',
                            'queued message <%2$s.%3$s@mail.workloft.io> to %1$s',
                            'posted to %1$s (ts 17%2$s.%3$s)',
                            'exit 0 after %11$s ms; %2$s lines of output, last: "ok: %7$s %5$s"'])[a.tool],
                     a.prim, a.n1, a.n2, s.cust, s.region, s.title, s.kw, s.quarter, s.site,
                     CASE WHEN pg_temp.u(k.sidx, k.t, 48) < 0.7 THEN 0 ELSE 1 + a.n2 % 3 END, a.dur)
            WHEN a.msg_action = 'handoff' THEN
              format('Handing over to %s: %s for %s is next; context is in %s_draft%s.',
                     a.other, (ARRAY['the data pull', 'the write-up', 'the review', 'the test run', 'the deployment'])
                              [1 + pg_temp.h(k.sidx, k.t, 49) % 5], s.cust, s.stem, s.ext)
            ELSE
              format((ARRAY[
                ['Plan for "%4$s": (1) collect %3$s data for %1$s, (2) break it down by region, (3) draft the write-up, (4) review. Next step owner: %7$s.',
                 'Re-planning after step %6$s: %7$s takes over; about %10$s more tool calls expected.',
                 'Status: %10$s of 8 sub-tasks done; current artefact %8$s.'],
                ['Finding: %1$s''s %2$s segment changed by %6$s%% quarter over quarter (source #%5$s).',
                 'Compared %6$s sources on %9$s; consensus estimate %5$s, low confidence outside %2$s.',
                 'Correction: the %3$s figure from the earlier source is superseded -- use %5$s, not %6$s.'],
                ['Implemented the change in %8$s (+%5$s/-%6$s lines); running the tests next.',
                 'Refactored %8$s: extracted %10$s helpers, no behaviour change intended.',
                 'Root cause: off-by-one in the %2$s date window (%3$s); fixed in %8$s.'],
                ['Review of %8$s: %6$s comments, 1 blocking -- handle the %2$s edge case.',
                 'LGTM after changes; all %6$s checks green.',
                 'Requesting changes: the %3$s totals in %8$s do not match the SQL output (%5$s).'],
                ['Result: %1$s %3$s total = %5$s k USD in %2$s (%6$s%% of the portfolio).',
                 'The %2$s trend is flat except week %6$s, which spikes to %5$s.',
                 'Sanity check: %5$s rows reconcile with the source system; %6$s duplicates removed.'],
                ['Drafted section %6$s of %8$s (%5$s words).',
                 'Adjusted the tone for %1$s stakeholders; the summary now leads with the %2$s result.',
                 'Final copy ready for review: %8$s.'],
                ['Test plan: %5$s cases across %6$s suites for %9$s.',
                 'Reproduced the failure %10$s times out of 20 runs; looks timing-related.',
                 'All %5$s regression tests pass on the %2$s fixture.'],
                ['Deployed build %5$s to the %2$s canary; error rate %6$s per mille.',
                 'Scaled the worker pool to %6$s replicas in %2$s.',
                 'Rolled back build %5$s: p95 latency rose to %6$s0 ms.']])[a.agent_no][1 + pg_temp.h(k.sidx, k.t, 50) % 3],
                s.cust, s.region, s.quarter, s.title, a.n1, 1 + a.n2 % 40, a.other, a.path, s.kw, 1 + a.n1 % 8)
       END,
       CASE WHEN k.sidx = 0 OR r.role = 'request' THEN NULL
            WHEN a.tool > 0 THEN round((0.0002 + 0.004 * pg_temp.u(k.sidx, k.t, 51)
                                        + CASE WHEN a.tool = 1 THEN 0.005 ELSE 0 END)::numeric, 6)
            ELSE round((0.0004 + 0.02 * pg_temp.u(k.sidx, k.t, 51))::numeric, 6) END,
       CASE WHEN k.sidx = 0 THEN 5 + (pg_temp.h(0, k.t, 52) % 200)::int
            WHEN r.role = 'request' THEN NULL
            ELSE a.dur END,
       k.ts
FROM trajc_sample_params p,
     -- narrow rows (session index, length, turn, time), numbered in time order
     LATERAL (
       SELECT row_number() OVER (ORDER BY x.ts, x.sidx, x.t) AS id, x.*
       FROM (
         SELECT ss.sidx, ss.n, g.t,
                p.start_at
                + (floor(pg_temp.u(ss.sidx, 0, 30) * p.days) * 86400
                   + 28800 + 36000 * pg_temp.u(ss.sidx, 0, 31)
                   + pg_temp.tsec(ss.sidx, tie.x))
                  * interval '1 second' AS ts
         FROM trajc_sample_sess ss, generate_series(1, ss.n) AS g(t),
              -- ~1% of turns take their predecessor's time (a parallel call);
              -- a lateral, so that tsec() stays inlined
              LATERAL (SELECT CASE WHEN g.t BETWEEN 3 AND ss.n - 1 AND pg_temp.u(ss.sidx, g.t, 32) < 0.01
                                   THEN g.t - 1 ELSE g.t END AS x
                       OFFSET 0) tie
         UNION ALL
         SELECT 0, p.null_rows, g.t,
                p.start_at + ((g.t - 1 + pg_temp.u(0, g.t, 33)) / p.null_rows * p.days * 86400) * interval '1 second'
         FROM generate_series(1, p.null_rows) AS g(t)
       ) x
     ) k,
     -- per-session attributes
     LATERAL (
       SELECT (ARRAY['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka',
                     'tyrell', 'cyberdyne', 'soylent', 'vandelay', 'piedpiper', 'oscorp', 'aperture',
                     'monarch', 'nakatomi', 'dundermifflin', 'bluth', 'prestige', 'duff', 'krusty',
                     'gringotts', 'massive'])[1 + pg_temp.h(k.sidx, 0, 60) % 24] AS cust,
              (ARRAY['EMEA', 'NA-East', 'NA-West', 'LATAM', 'APAC', 'DACH', 'Nordics', 'UK&I'])
                [1 + pg_temp.h(k.sidx, 0, 61) % 8] AS region,
              (ARRAY['2023-Q3', '2023-Q4', '2024-Q1', '2024-Q2'])[1 + pg_temp.h(k.sidx, 0, 62) % 4] AS quarter,
              (ARRAY['maria.chen', 'j.okafor', 'priya.n', 'tom.becker', 'ana.souza', 'k.tanaka',
                     'l.moreau', 'sam.rivera', 'olga.ivanova', 'd.kim', 'fatima.z', 'p.rossi',
                     'nils.e', 'grace.h', 'omar.s', 'svc-nightly'])[1 + pg_temp.h(k.sidx, 0, 63) % 16]
                || '@workloft.io' AS owner,
              1 + (pg_temp.h(k.sidx, 0, 64) % 12)::int AS topic
       OFFSET 0
     ) s0,
     LATERAL (
       SELECT s0.*,
              format((ARRAY['Prepare the %3$s revenue report for %1$s (%2$s) and email it to finance',
                            'Find out why %1$s churned accounts rose in %2$s during %3$s',
                            'Migrate the %1$s billing service to PostgreSQL 15 without downtime in %2$s',
                            'Fix the flaky checkout integration test that blocks the %1$s release',
                            'Research competitor pricing for %1$s in %2$s and recommend a %3$s price change',
                            'Write the postmortem for the %2$s latency incident affecting %1$s',
                            'Update the onboarding guide for %1$s admins in %2$s',
                            'Backfill the %3$s events pipeline for %1$s after the schema change',
                            'Audit the dependencies of the %1$s API for known vulnerabilities',
                            'Triage the open %2$s support tickets from %1$s and draft replies',
                            'Analyse the %1$s %3$s campaign A/B test in %2$s',
                            'Implement per-tenant API rate limiting for %1$s'])[s0.topic],
                     s0.cust, s0.region, s0.quarter) AS title,
              format((ARRAY['%1$s revenue %3$s', 'saas churn drivers', 'postgres 15 zero downtime migration',
                            'flaky integration test race condition', 'competitor pricing saas', 'p95 latency spike postmortem',
                            'admin onboarding best practices', 'event pipeline backfill', 'npm dependency vulnerability audit',
                            'support ticket triage', 'a/b test significance', 'token bucket rate limiting'])[s0.topic],
                     s0.cust, s0.region, s0.quarter) AS kw,
              (ARRAY['revenue', 'churn', 'pgmigration', 'flakytest', 'pricing', 'latency', 'onboarding',
                     'backfill', 'depaudit', 'triage', 'abtest', 'ratelimit'])[s0.topic] AS kwslug,
              (ARRAY['sales.orders', 'crm.accounts', 'billing.invoices', 'ci.test_runs', 'market.price_points',
                     'ops.request_metrics', 'docs.page_views', 'events.raw_events', 'sec.advisories',
                     'support.tickets', 'marketing.ab_assignments', 'api.request_log'])[s0.topic] AS tbl,
              format((ARRAY['reports/%1$s_%3$s_revenue', 'analysis/%1$s_churn_%3$s', 'migrations/%1$s_billing_pg15',
                            'tests/integration/test_checkout', 'research/%1$s_pricing', 'postmortems/%2$s_latency',
                            'docs/onboarding/%1$s_admins', 'pipelines/%1$s_backfill', 'security/%1$s_api_audit',
                            'support/%1$s_triage', 'analysis/%1$s_ab_%3$s', 'src/ratelimit/bucket'])[s0.topic],
                     s0.cust, lower(replace(s0.region, '&', '')), lower(s0.quarter)) AS stem,
              (ARRAY['.md', '.ipynb', '.sql', '.py', '.md', '.md', '.md', '.py', '.md', '.md', '.ipynb', '.go'])[s0.topic] AS ext,
              (ARRAY['tests/reports/test_revenue.py', 'tests/analysis/test_churn.py', 'tests/migrations/test_billing.py',
                     'tests/integration/test_checkout.py', 'tests/research/test_pricing.py', 'tests/ops/test_latency.py',
                     'tests/docs/test_links.py', 'tests/pipelines/test_backfill.py', 'tests/security/test_deps.py',
                     'tests/support/test_triage.py', 'tests/analysis/test_ab.py', 'ratelimit/bucket_test.go'])[s0.topic] AS testp,
              (ARRAY['finance.example.com', 'research.example.org', 'www.postgresql.org', 'github.com',
                     'pricing.example.net', 'status.example.com', 'docs.workloft.io', 'data.example.org',
                     'nvd.nist.gov', 'support.workloft.io', 'stats.example.edu', 'blog.example.dev'])[s0.topic] AS site
       OFFSET 0
     ) s,
     -- what turn t is: request, summary, base turn, or a failure episode's attempt
     LATERAL (
       SELECT x.role, x.o, x.attempt, x.failed, (pg_temp.h(k.sidx, x.o, 70) % 2)::int AS err
       FROM (
         SELECT CASE WHEN k.sidx = 0 THEN 'system'
                     WHEN k.t = 1 THEN 'request'
                     WHEN k.t = k.n AND k.n >= 3 THEN 'summary'
                     ELSE 'turn' END AS role,
                CASE WHEN f.plain THEN k.t WHEN f.f1 THEN k.t - 1 WHEN f.f2 THEN k.t - 2 ELSE k.t END AS o,
                CASE WHEN f.plain THEN 1 WHEN f.f1 THEN 2 WHEN f.f2 THEN 3 ELSE 1 END AS attempt,
                CASE WHEN f.plain THEN false
                     WHEN f.f1 THEN pg_temp.dbl(k.sidx, k.t - 1)   -- attempt 2 fails too
                     WHEN f.f2 THEN false
                     ELSE f.f0 END AS failed
         FROM (SELECT k.sidx = 0 OR k.t = 1 OR k.t = k.n AS plain,
                      pg_temp.fstart(k.sidx, k.t, k.n::int) AS f0,       -- t fails (attempt 1)
                      pg_temp.fstart(k.sidx, k.t - 1, k.n::int) AS f1,   -- t retries t-1
                      pg_temp.fstart(k.sidx, k.t - 2, k.n::int)
                        AND pg_temp.dbl(k.sidx, k.t - 2) AS f2           -- t retries t-2 again
               OFFSET 0) f
         OFFSET 0
       ) x
     ) r,
     -- who acts, with which tool and arguments (from the origin turn o, so a
     -- retry repeats its failed call)
     LATERAL (
       SELECT y.*,
              CASE y.tool
                WHEN 1 THEN jsonb_build_object('query', y.prim, 'max_results', CASE WHEN y.ph < 2 THEN 10 ELSE 5 END)
                WHEN 2 THEN jsonb_build_object('url', y.prim, 'timeout_ms', 30000)
                WHEN 3 THEN jsonb_build_object('database', 'analytics', 'sql', y.prim)
                WHEN 4 THEN jsonb_build_object('path', y.prim, 'bytes', y.n1, 'overwrite', y.ph > 0)
                WHEN 5 THEN jsonb_build_object('path', y.prim)
                WHEN 6 THEN jsonb_build_object('target', y.prim, 'workers', 2)
                            || CASE WHEN y.ph >= 2 THEN jsonb_build_object('filter', '-k ' || s.kwslug) ELSE '{}' END
                WHEN 7 THEN jsonb_build_object('to', y.prim, 'cc', jsonb_build_array(s.owner),
                                               'subject', s.title, 'draft', y.ph < 3,
                                               'attachments', jsonb_build_array(y.path))
                WHEN 8 THEN jsonb_build_object('channel', y.prim,
                                               'text', format('%s: %s', s.title, (ARRAY['started', 'data collected',
                                                              'draft ready', 'ready for sign-off'])[y.ph + 1]))
                WHEN 9 THEN jsonb_build_object('cmd', y.prim, 'cwd', '/workspace/' || s.cust, 'timeout_s', 600)
              END AS args
       FROM (
         SELECT z.*,
                CASE z.tool
                  WHEN 0 THEN NULL
                  WHEN 1 THEN CASE z.ph WHEN 0 THEN s.kw
                                        WHEN 1 THEN s.kw || ' ' || s.cust
                                        WHEN 2 THEN s.kw || ' ' || s.cust || ' ' || s.quarter
                                        ELSE '"' || s.kw || '" ' || s.cust || ' ' || s.region || ' site:' || s.site END
                  WHEN 2 THEN 'https://' || s.site || '/' || s.kwslug || '/' || (1 + pg_temp.h(k.sidx, r.o, 80) % 40)
                  WHEN 3 THEN CASE z.ph
                                WHEN 0 THEN format('SELECT count(*) FROM %s WHERE customer = %L', s.tbl, s.cust)
                                WHEN 1 THEN format('SELECT region, count(*) FROM %s WHERE customer = %L GROUP BY region', s.tbl, s.cust)
                                WHEN 2 THEN format('SELECT region, sum(amount_usd) FROM %s WHERE customer = %L AND quarter = %L GROUP BY region ORDER BY 2 DESC', s.tbl, s.cust, s.quarter)
                                ELSE format('SELECT region, sum(amount_usd) AS total FROM %s WHERE customer = %L AND quarter = %L AND region = %L GROUP BY region ORDER BY 2 DESC LIMIT 10', s.tbl, s.cust, s.quarter, s.region) END
                  WHEN 4 THEN z.path
                  WHEN 5 THEN CASE WHEN pg_temp.u(k.sidx, r.o, 81) < 0.6 THEN z.path ELSE s.testp END
                  WHEN 6 THEN s.testp
                  WHEN 7 THEN CASE WHEN z.ph < 2 THEN split_part(s.owner, '@', 1) || '@workloft.io'
                                   ELSE 'finance@' || s.cust || '.example.com' END
                  WHEN 8 THEN '#' || s.kwslug || '-' || s.cust
                  WHEN 9 THEN (ARRAY['make build', 'git diff --stat', 'kubectl rollout status deploy/' || s.kwslug,
                                     'python -m ' || s.kwslug || ' --dry-run', 'psql -f ' || z.path])
                                [1 + pg_temp.h(k.sidx, r.o, 82) % 5]
                END AS prim
         FROM (
           SELECT w.*,
                  w.tool_no AS tool,
                  CASE WHEN r.role = 'summary' THEN 'summary'
                       WHEN w.agent_no = 1 AND pg_temp.u(k.sidx, r.o, 84) < 0.35 THEN 'handoff'
                       WHEN w.agent_no = 1 THEN 'plan'
                       WHEN w.agent_no = 4 THEN 'review'
                       ELSE 'message' END AS msg_action,
                  CASE WHEN r.failed AND w.tool_no > 0 THEN
                         (ARRAY[[350, 10000], [900, 30000], [60000, 12], [4, 9], [3, 7], [4200, 1800],
                                [1200, 800], [150, 120], [3100, 25]])[w.tool_no][1 + r.err]
                       WHEN w.tool_no > 0 THEN
                         ((ARRAY[800, 1500, 400, 15, 8, 20000, 600, 200, 3000])[w.tool_no]
                          * (0.3 + 1.7 * pg_temp.u(k.sidx, k.t, 53)))::int
                       ELSE (600 + 9000 * pg_temp.u(k.sidx, k.t, 53))::int END AS dur,
                  s.stem || CASE w.ph WHEN 0 THEN '_draft' WHEN 1 THEN '_draft' WHEN 2 THEN '_v2' ELSE '_final' END
                         || s.ext AS path
           FROM (
             SELECT v.agent_no,
                    (ARRAY['planner', 'researcher', 'coder', 'reviewer', 'analyst', 'writer', 'tester', 'ops'])[v.agent_no] AS agent,
                    (ARRAY['planner', 'researcher', 'coder', 'reviewer', 'analyst', 'writer', 'tester', 'ops'])
                      [pg_temp.agent_of(k.sidx, ((pg_temp.slot(k.sidx, r.o) + 1 + pg_temp.h(k.sidx, r.o, 85) % 3) % 4)::int)] AS other,
                    least(3, (4 * r.o) / (k.n + 1))::int AS ph,
                    (pg_temp.h(k.sidx, r.o, 86) % 9000 + 12)::int AS n1,
                    (pg_temp.h(k.sidx, r.o, 87) % 900 + 3)::int AS n2,
                    CASE WHEN k.sidx = 0 OR r.role IN ('request', 'summary') THEN 0
                         WHEN r.attempt > 1 OR pg_temp.is_tool(k.sidx, r.o) THEN
                           ('{{8,5,1,7},{1,1,2,2},{4,5,6,9},{5,6,5,8},{3,3,3,4},{4,4,7,5},{6,6,9,5},{9,3,2,8}}'::int[])
                             [v.agent_no][1 + pg_temp.h(k.sidx, r.o, 83) % 4]
                         ELSE 0 END AS tool_no
             FROM (SELECT pg_temp.agent_of(k.sidx, CASE WHEN r.role = 'summary' THEN 0
                                                        ELSE pg_temp.slot(k.sidx, r.o) END) AS agent_no
                   OFFSET 0) v
             OFFSET 0   -- (each level computed once per row, not once per reference)
           ) w
           OFFSET 0
         ) z
         OFFSET 0
       ) y
       OFFSET 0
     ) a;

SELECT setval(pg_get_serial_sequence(:'table', 'id'), (SELECT max(id) FROM :table)) AS trajc_sample_last_id \gset
ALTER TABLE :table ADD PRIMARY KEY (id);
CREATE INDEX ON :table (session_id, created_at);
COMMENT ON TABLE :table IS 'sample agent audit log generated by trajc scripts/sample_audit_log.sql';
COMMIT;
ANALYZE :table;

SELECT count(*) AS rows,
       count(DISTINCT session_id) AS sessions,
       count(*) FILTER (WHERE session_id IS NULL) AS null_session_rows,
       count(*) FILTER (WHERE success = false) AS failed_calls
FROM :table;
