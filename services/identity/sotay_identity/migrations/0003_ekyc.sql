-- eKYC registration sessions: started -> card_read -> (in_review) -> decided.

CREATE TABLE ekyc_sessions (
    id                 uuid PRIMARY KEY,
    state              text        NOT NULL DEFAULT 'started'
                                   CHECK (state IN ('started', 'card_read', 'in_review', 'decided')),
    outcome            text        CHECK (outcome IN ('verified', 'rejected', 'expired', 'withdrawn')),
    nonce              text        NOT NULL,
    used_nonces        text[]      NOT NULL DEFAULT '{}',
    challenge          text[]      NOT NULL,
    deadline           timestamptz NOT NULL,
    card_attempts      integer     NOT NULL DEFAULT 0,
    selfie_attempts    integer     NOT NULL DEFAULT 0,
    client_address     text        NOT NULL,
    password_hash      text,       -- the password chosen at the start, until the account exists
    phone              text,
    member_id          uuid,       -- the record the card number named
    card_number        text,
    card_reading       jsonb,      -- both engines' readings, for a reviewer; cleared at the end
    portrait_template  bytea,      -- AES-GCM sealed, like every template
    selfie_template    bytea,
    image_keys         text[]      NOT NULL DEFAULT '{}',  -- sealed images in object storage
    scores             jsonb       NOT NULL DEFAULT '{}',
    reasons            jsonb       NOT NULL DEFAULT '[]',
    account_id         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    review_since       timestamptz,
    decided_at         timestamptz,
    decided_by         text
);
CREATE INDEX ekyc_sessions_review ON ekyc_sessions (review_since) WHERE state = 'in_review';
CREATE INDEX ekyc_sessions_open ON ekyc_sessions (deadline) WHERE state IN ('started', 'card_read');
CREATE INDEX ekyc_sessions_member ON ekyc_sessions (member_id);
