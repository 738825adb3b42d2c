-- The identity service's read model of the members service's data, built from member.* and
-- organization.* events (never from the members database). A snapshot replaces the stored one
-- only when its version is newer, so redelivered and late events change nothing.

CREATE TABLE organizations (
    id            uuid PRIMARY KEY,
    parent_id     uuid,
    ancestor_ids  uuid[]      NOT NULL DEFAULT '{}',
    name          text        NOT NULL,
    type          text        NOT NULL,
    status        text        NOT NULL,
    version       integer     NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organizations_parent ON organizations (parent_id);
CREATE INDEX organizations_ancestors ON organizations USING gin (ancestor_ids);

CREATE TABLE members (
    id                 uuid PRIMARY KEY,
    version            integer     NOT NULL,
    organization_id    uuid        NOT NULL,
    full_name          text        NOT NULL,
    date_of_birth      date        NOT NULL,
    party_card_number  text        NOT NULL,
    status             text        NOT NULL,
    admission_date     date        NOT NULL,
    official_date      date,
    positions          text[]      NOT NULL DEFAULT '{}',
    photo_ref          text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Not unique: two members may swap numbers through events that arrive one after the other.
CREATE INDEX members_card_number ON members (party_card_number);
CREATE INDEX members_organization ON members (organization_id);
