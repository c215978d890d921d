-- A plain copy of trajc.qa_pairs for a Postgres without the extension (for
-- example a shared Supabase project). `trajc export --to-postgres DSN`
-- applies this itself (tracked in trajc_schema_migrations); applying it by
-- hand with psql -f first is harmless. Created in the first schema of the
-- connecting role's search_path (public by default).
CREATE TABLE IF NOT EXISTS qa_pairs (
  id               uuid        PRIMARY KEY,
  session_id       text        NOT NULL,
  agent            text,
  turn_count       int,
  question         text        NOT NULL,
  answer           text        NOT NULL,
  supporting_turns jsonb       NOT NULL,
  qa_type          text        NOT NULL,
  source_model     text,
  cost_usd         numeric,
  raw_extraction   jsonb,
  created_at       timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS qa_pairs_session_id_idx ON qa_pairs (session_id);
CREATE INDEX IF NOT EXISTS qa_pairs_created_at_idx ON qa_pairs (created_at);
