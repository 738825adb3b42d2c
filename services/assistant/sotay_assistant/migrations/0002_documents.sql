-- One row per document the content service announced: the newest state it asked for (a
-- published version to index, or archived), that request's indexing job, and what the passage
-- index holds. Consumers only record the request (indexing a charter takes half a minute); a
-- background worker claims pending rows with SKIP LOCKED, heartbeats while it works, and a
-- row whose worker stopped heartbeating is claimed again. A newer request arriving meanwhile
-- bumps `generation`, so the worker's result does not mark it done.

CREATE TABLE documents (
    document_id      uuid PRIMARY KEY,
    version          integer     NOT NULL,
    archived         boolean     NOT NULL DEFAULT false,
    -- of the newest published version; null when an archive came first
    content_hash     text,
    kind             text,
    title            text,
    organization_id  uuid,
    event            jsonb,      -- its document.published.v1 (text inline or by reference)
    job_status       text        NOT NULL CHECK (job_status IN ('pending', 'running', 'done',
                                                                'failed')),
    generation       integer     NOT NULL DEFAULT 1,
    attempts         integer     NOT NULL DEFAULT 0,
    run_after        timestamptz NOT NULL DEFAULT now(),
    heartbeat_at     timestamptz,
    error            text,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    indexed_version  integer,
    indexed_hash     text,
    chunk_count      integer     NOT NULL DEFAULT 0,
    indexed_at       timestamptz
);
CREATE INDEX documents_jobs ON documents (requested_at) WHERE job_status IN ('pending', 'running');
