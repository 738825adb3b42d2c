-- The party organisation tree. `path` is the chain of ids from the root (ltree labels are the
-- ids' hex digits), so a subtree is one indexed `path <@ ancestor` condition.

CREATE EXTENSION IF NOT EXISTS ltree WITH SCHEMA public;

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    code        text        NOT NULL UNIQUE,
    name        text        NOT NULL,
    type        text        NOT NULL CHECK (type IN ('province_committee', 'intermediate_committee',
                                                     'grassroots_committee', 'cell')),
    parent_id   uuid        REFERENCES organizations (id),
    path        ltree       NOT NULL,
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'dissolved')),
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((parent_id IS NULL) = (nlevel(path) = 1))
);
CREATE INDEX organizations_path ON organizations USING gist (path);
CREATE INDEX organizations_parent ON organizations (parent_id, name);
