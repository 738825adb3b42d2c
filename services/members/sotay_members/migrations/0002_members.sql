-- Member records (hồ sơ đảng viên) and their append-only history.

CREATE TABLE members (
    id                uuid PRIMARY KEY,
    organization_id   uuid        NOT NULL REFERENCES organizations (id),
    full_name         text        NOT NULL,
    -- search forms of the name: folded (no diacritics, indexed) and canonical lowercase words
    name_key          text        NOT NULL,
    name_tokens       text[]      NOT NULL,
    name_words        text[]      NOT NULL,
    date_of_birth     date        NOT NULL,
    gender            text        NOT NULL CHECK (gender IN ('male', 'female')),
    ethnicity         text,
    hometown          text,
    citizen_id        text        CHECK (citizen_id ~ '^[0-9]{12}$'),
    party_card_number text        NOT NULL UNIQUE CHECK (party_card_number ~ '^[0-9]{12}$'),
    admission_date    date        NOT NULL,
    official_date     date,
    status            text        NOT NULL CHECK (status IN ('probationary', 'official', 'exempt',
                                       'transferred_out', 'deceased', 'removed', 'expelled')),
    positions         text[]      NOT NULL DEFAULT '{}',
    phone             text,
    email             text,
    address           text,
    photo_ref         text,
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (admission_date > date_of_birth),
    CHECK (official_date IS NULL OR official_date >= admission_date)
);
CREATE UNIQUE INDEX members_citizen_id ON members (citizen_id) WHERE citizen_id IS NOT NULL;
CREATE INDEX members_name ON members (name_key, id);
CREATE INDEX members_org_name ON members (organization_id, name_key, id);
CREATE INDEX members_name_tokens ON members USING gin (name_tokens);

CREATE TABLE member_history (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id    uuid        NOT NULL REFERENCES members (id),
    kind         text        NOT NULL CHECK (kind IN ('transfer', 'reward', 'discipline',
                                                      'status_change', 'position_change')),
    occurred_on  date        NOT NULL,
    summary      text        NOT NULL,
    details      jsonb       NOT NULL DEFAULT '{}',
    recorded_by  text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX member_history_member ON member_history (member_id, id);

CREATE FUNCTION member_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'member_history is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER member_history_no_update BEFORE UPDATE OR DELETE ON member_history
    FOR EACH ROW EXECUTE FUNCTION member_history_is_append_only();
CREATE TRIGGER member_history_no_truncate BEFORE TRUNCATE ON member_history
    FOR EACH STATEMENT EXECUTE FUNCTION member_history_is_append_only();
