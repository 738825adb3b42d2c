-- Read model of the party organisation tree (from organization.* events of the members
-- service), to tell whether a caller's organisation lies in a document's scope.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    parent_id   uuid,
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
