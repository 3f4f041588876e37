-- Files whose metadata was loaded, for GET /api/processing/recent-files.
CREATE TABLE IF NOT EXISTS recent_files (
    -- Resolved absolute path inside the data roots.
    path        text PRIMARY KEY,
    -- When its metadata was last loaded.
    accessed_at timestamptz NOT NULL DEFAULT now(),
    -- The metadata loaded then (MicroscopyMetadata as JSON).
    metadata    jsonb NOT NULL
);

CREATE INDEX IF NOT EXISTS recent_files_accessed_at_idx ON recent_files (accessed_at DESC);
