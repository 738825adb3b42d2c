-- The key that signs audio links (unless VOICE_LINK_SIGNING_KEY sets one): made once, shared
-- by every replica. Replace the row to revoke every link given out.

CREATE TABLE link_signing_key (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key         text        NOT NULL DEFAULT gen_random_uuid()::text || gen_random_uuid()::text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO link_signing_key DEFAULT VALUES;
