-- Renders (one per content hash and voice), the documents that use them, and the encoded
-- increments of renders in progress (so a stream can serve what exists so far, from any
-- replica). Renders are jobs: workers claim them with SKIP LOCKED under a lease, heartbeat
-- while they run, and a render whose worker stopped heartbeating is taken over.

CREATE TABLE renders (
    id               uuid PRIMARY KEY,
    content_hash     text        NOT NULL,
    voice_key        text        NOT NULL,
    engine           text        NOT NULL,
    voice            text        NOT NULL,
    spec             jsonb       NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'running', 'succeeded',
                                                            'failed', 'withdrawn')),
    -- document.published.v1 as received (JSON), and the Kafka record it came in (topic,
    -- partition, offset, key, headers) so that a failure can dead-letter it; null for a
    -- render an administrator requested
    source_event     bytea       NOT NULL,
    source_record    jsonb,
    requested_by     text,
    attempts         integer     NOT NULL DEFAULT 0,
    not_before       timestamptz NOT NULL DEFAULT now(),
    lease            uuid,
    chunks_total     integer,
    chunks_done      integer     NOT NULL DEFAULT 0,
    seconds_rendered double precision NOT NULL DEFAULT 0,
    duration_s       double precision,
    chapters         jsonb       NOT NULL DEFAULT '[]',
    files            jsonb       NOT NULL DEFAULT '{}',
    error_code       text,
    error_message    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    heartbeat_at     timestamptz,
    finished_at      timestamptz
);
-- The same content is rendered once per voice (a failed or withdrawn render may be redone).
CREATE UNIQUE INDEX renders_once ON renders (content_hash, voice_key)
    WHERE status IN ('pending', 'running', 'succeeded');
CREATE INDEX renders_queue ON renders (not_before) WHERE status IN ('pending', 'running');

CREATE TABLE render_parts (
    render_id   uuid    NOT NULL REFERENCES renders (id) ON DELETE CASCADE,
    format      text    NOT NULL,
    seq         integer NOT NULL,
    data        bytea   NOT NULL,
    PRIMARY KEY (render_id, format, seq)
);

CREATE TABLE documents (
    id                     uuid PRIMARY KEY,
    version                integer     NOT NULL,
    kind                   text        NOT NULL,
    title                  text        NOT NULL,
    scope_organization_id  uuid,
    scope_ancestor_ids     uuid[]      NOT NULL DEFAULT '{}',
    content_hash           text        NOT NULL,
    render_id              uuid        NOT NULL REFERENCES renders (id),
    event                  bytea       NOT NULL,  -- the latest document.published.v1
    archived_at            timestamptz,
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_render ON documents (render_id);

-- Every render a document has used, so that archiving withdraws all of its audio.
CREATE TABLE document_renders (
    document_id uuid NOT NULL REFERENCES documents (id),
    render_id   uuid NOT NULL REFERENCES renders (id),
    PRIMARY KEY (document_id, render_id)
);
CREATE INDEX document_renders_render ON document_renders (render_id);
