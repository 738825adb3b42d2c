-- Read model of the party organisation tree, kept from the members service's
-- organization.created.v1 / organization.updated.v1 events. `ancestor_ids` runs from the root
-- down to the parent; after a move it is recomputed for the whole subtree from `parent_id`.

CREATE TABLE organizations (
    id            uuid PRIMARY KEY,
    parent_id     uuid,
    ancestor_ids  uuid[]      NOT NULL,
    name          text        NOT NULL,
    status        text        NOT NULL,
    version       integer     NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organizations_parent ON organizations (parent_id);
CREATE INDEX organizations_ancestors ON organizations USING gin (ancestor_ids);
