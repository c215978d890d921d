-- The exported dataset: one row per trajc.qa_pairs row, same column names.
-- JSON columns hold JSON text (query them with json_extract / json_each);
-- created_at is ISO 8601 in UTC (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order
-- is time order. The export inserts with INSERT OR IGNORE on id: re-running
-- it adds only pairs the file does not have yet.
CREATE TABLE qa_pairs (
  id               TEXT PRIMARY KEY NOT NULL,  -- uuid
  session_id       TEXT NOT NULL,
  agent            TEXT,
  turn_count       INTEGER,
  question         TEXT NOT NULL,
  answer           TEXT NOT NULL,
  supporting_turns TEXT NOT NULL,              -- JSON array of turn numbers
  qa_type          TEXT NOT NULL,              -- factoid, reasoning, composition, temporal
  source_model     TEXT,
  cost_usd         REAL,
  raw_extraction   TEXT,                       -- JSON object: the model's raw pair
  created_at       TEXT NOT NULL
);

CREATE INDEX qa_pairs_session_id ON qa_pairs (session_id);
