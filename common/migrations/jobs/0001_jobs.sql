-- Durable job records, one table per job-owning service (in its own schema).
CREATE TABLE IF NOT EXISTS jobs (
    id               uuid PRIMARY KEY,
    type             text NOT NULL,
    status           text NOT NULL
                     CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    -- The request that created the job, enough to run it again.
    params           jsonb NOT NULL DEFAULT '{}',
    labels           jsonb NOT NULL DEFAULT '{}',
    progress         jsonb NOT NULL DEFAULT '{}',
    message          text NOT NULL DEFAULT '',
    result           jsonb,
    error_code       text,
    error_message    text,
    cancel_requested boolean NOT NULL DEFAULT false,
    -- Which process runs it, and when it last said it was alive.
    worker_id        text,
    heartbeat_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

CREATE INDEX IF NOT EXISTS jobs_created_at_idx ON jobs (created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_active_idx ON jobs (status) WHERE status IN ('pending', 'running');
