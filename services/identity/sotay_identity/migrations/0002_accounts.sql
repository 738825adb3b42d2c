-- Accounts, staff grants, refresh tokens, face templates, consents, the audit log and the
-- rate-limit counters.

CREATE TABLE accounts (
    id                        uuid PRIMARY KEY,
    member_id                 uuid UNIQUE,  -- NULL for a staff account with no member record
    phone                     text UNIQUE CHECK (phone ~ '^0[0-9]{9,10}$'),
    password_hash             text        NOT NULL,
    password_temporary_until  timestamptz,  -- set by a reset: change it before this time
    status                    text        NOT NULL DEFAULT 'active'
                                          CHECK (status IN ('active', 'disabled')),
    created_at                timestamptz NOT NULL DEFAULT now(),
    password_changed_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (member_id IS NOT NULL OR phone IS NOT NULL)
);

CREATE TABLE role_grants (
    account_id       uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role             text        NOT NULL CHECK (role IN ('committee_admin', 'system_admin')),
    organization_id  uuid,
    granted_by       text        NOT NULL,
    granted_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, role),
    CHECK ((role = 'committee_admin') = (organization_id IS NOT NULL))
);

-- Opaque refresh tokens, stored as SHA-256 hashes. Each refresh uses one and issues the next
-- in the same family; a used one presented again means it leaked: the family is revoked.
CREATE TABLE refresh_tokens (
    token_hash   bytea PRIMARY KEY,
    family_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

-- Face templates (SFace embeddings), AES-GCM encrypted; they never leave the service.
CREATE TABLE face_templates (
    account_id   uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    sealed       bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE consents (
    id            uuid PRIMARY KEY,
    purpose       text        NOT NULL,
    text_version  text        NOT NULL,
    given_at      timestamptz NOT NULL DEFAULT now(),
    withdrawn_at  timestamptz,
    session_id    uuid,
    account_id    uuid REFERENCES accounts (id) ON DELETE SET NULL
);
CREATE INDEX consents_account ON consents (account_id, purpose) WHERE withdrawn_at IS NULL;
CREATE INDEX consents_session ON consents (session_id);

-- Who read which personal data, when and why. Append-only.
CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text        NOT NULL,
    action          text        NOT NULL,
    subject_type    text        NOT NULL,
    subject_id      text        NOT NULL,
    purpose         text        NOT NULL,
    correlation_id  text
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

-- Fixed-window counters: `hits` since `window_started_at`; over the limit, blocked until.
CREATE TABLE rate_limits (
    key                text PRIMARY KEY,
    window_started_at  timestamptz NOT NULL,
    hits               integer     NOT NULL,
    blocked_until      timestamptz
);
CREATE INDEX rate_limits_window ON rate_limits (window_started_at);
