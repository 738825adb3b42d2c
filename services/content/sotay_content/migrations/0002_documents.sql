-- Documents: the working draft on `documents`, each published version frozen in
-- `document_versions`. Search forms are distinct words of title, summary, number, issuing body
-- and plain text: folded (no diacritics) and canonical lowercase (with diacritics).

CREATE TABLE documents (
    id                 uuid PRIMARY KEY,
    status             text        NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    kind               text        NOT NULL,
    title              text        NOT NULL,
    summary            text,
    number             text,
    issuing_body       text,
    issued_on          date,
    language           text        NOT NULL,
    tags               text[]      NOT NULL DEFAULT '{}',
    scope_org_id       uuid,
    body_format        text        NOT NULL CHECK (body_format IN ('markdown', 'text')),
    body               text        NOT NULL,
    search_tokens      text[]      NOT NULL,
    search_words       text[]      NOT NULL,
    draft_revision     integer     NOT NULL DEFAULT 1,
    published_version  integer,
    published_revision integer,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_by         text        NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    archived_by        text,
    archived_at        timestamptz,
    CHECK ((published_version IS NULL) = (published_revision IS NULL))
);
CREATE INDEX documents_updated ON documents (updated_at DESC, id DESC);
CREATE INDEX documents_scope ON documents (scope_org_id);
CREATE INDEX documents_search_tokens ON documents USING gin (search_tokens);
CREATE INDEX documents_search_words ON documents USING gin (search_words);

CREATE TABLE document_versions (
    document_id        uuid        NOT NULL REFERENCES documents (id),
    version            integer     NOT NULL CHECK (version >= 1),
    kind               text        NOT NULL,
    title              text        NOT NULL,
    summary            text,
    number             text,
    issuing_body       text,
    issued_on          date,
    language           text        NOT NULL,
    tags               text[]      NOT NULL,
    scope_org_id       uuid,
    scope_ancestor_ids uuid[]      NOT NULL,
    body_format        text        NOT NULL,
    body               text        NOT NULL,
    plain_text         text        NOT NULL,
    html               text        NOT NULL,
    content_hash       text        NOT NULL,
    structure          jsonb,
    toc                jsonb,
    chapters           jsonb       NOT NULL,
    text_ref           text,
    search_tokens      text[]      NOT NULL,
    search_words       text[]      NOT NULL,
    published_by       text        NOT NULL,
    published_at       timestamptz NOT NULL,
    PRIMARY KEY (document_id, version)
);
CREATE INDEX document_versions_published ON document_versions (published_at DESC, document_id DESC);
CREATE INDEX document_versions_scope ON document_versions (scope_org_id);
CREATE INDEX document_versions_search_tokens ON document_versions USING gin (search_tokens);
CREATE INDEX document_versions_search_words ON document_versions USING gin (search_words);

CREATE FUNCTION document_versions_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'published versions are immutable' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER document_versions_no_update BEFORE UPDATE OR DELETE ON document_versions
    FOR EACH ROW EXECUTE FUNCTION document_versions_are_immutable();
CREATE TRIGGER document_versions_no_truncate BEFORE TRUNCATE ON document_versions
    FOR EACH STATEMENT EXECUTE FUNCTION document_versions_are_immutable();

-- Who read what: one row per document and reader, with the content read.
CREATE TABLE read_receipts (
    document_id   uuid        NOT NULL REFERENCES documents (id),
    reader        text        NOT NULL,
    version       integer     NOT NULL,
    content_hash  text        NOT NULL,
    read_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (reader, document_id)
);

CREATE TABLE attachments (
    id            uuid PRIMARY KEY,
    document_id   uuid        NOT NULL REFERENCES documents (id),
    file_name     text        NOT NULL,
    media_type    text        NOT NULL,
    size_bytes    bigint      NOT NULL,
    sha256        text        NOT NULL,
    storage_key   text        NOT NULL,
    is_source     boolean     NOT NULL DEFAULT false,
    uploaded_by   text        NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX attachments_document ON attachments (document_id, uploaded_at);
