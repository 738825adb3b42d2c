-- Bulk import jobs. The uploaded file is kept until the job ends, so an accepted import
-- survives a restart; workers claim jobs with SKIP LOCKED and heartbeat while they run.

CREATE TABLE import_jobs (
    id              uuid PRIMARY KEY,
    status          text        NOT NULL CHECK (status IN ('pending', 'running', 'succeeded',
                                                           'rejected', 'failed')),
    mode            text        NOT NULL CHECK (mode IN ('all_or_nothing', 'skip_invalid')),
    dry_run         boolean     NOT NULL DEFAULT false,
    file_name       text        NOT NULL,
    file_format     text        NOT NULL CHECK (file_format IN ('csv', 'xlsx')),
    file_size       bigint      NOT NULL,
    content         bytea,
    scope_org_id    uuid,
    requested_by    text        NOT NULL,
    phase           text        NOT NULL DEFAULT 'queued',
    total_rows      integer,
    processed_rows  integer     NOT NULL DEFAULT 0,
    created_count   integer     NOT NULL DEFAULT 0,
    updated_count   integer     NOT NULL DEFAULT 0,
    unchanged_count integer     NOT NULL DEFAULT 0,
    error_count     integer     NOT NULL DEFAULT 0,
    message         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    heartbeat_at    timestamptz,
    finished_at     timestamptz
);
CREATE INDEX import_jobs_pending ON import_jobs (created_at) WHERE status IN ('pending', 'running');

CREATE TABLE import_errors (
    job_id      uuid    NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    row_number  integer NOT NULL,
    field       text    NOT NULL,
    code        text    NOT NULL,
    message     text    NOT NULL,
    value       text
);
CREATE INDEX import_errors_job ON import_errors (job_id, row_number);
