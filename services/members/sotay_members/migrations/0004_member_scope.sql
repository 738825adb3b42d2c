-- Each member carries the ids of their organisation and its ancestors, so that "members of
-- this subtree whose name has these words" is one lookup in one GIN index (names and scope
-- together) instead of a list of thousands of organisation ids.

CREATE FUNCTION organization_path_ids(path ltree) RETURNS uuid[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_agg(label::uuid ORDER BY n)
          FROM unnest(string_to_array(path::text, '.')) WITH ORDINALITY AS l(label, n) $$;

ALTER TABLE members ADD COLUMN ancestor_ids uuid[];

CREATE FUNCTION members_set_ancestors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.ancestor_ids := (SELECT organization_path_ids(path) FROM organizations
                         WHERE id = NEW.organization_id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER members_set_ancestors BEFORE INSERT OR UPDATE OF organization_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_set_ancestors();

-- A moved subtree takes its members along.
CREATE FUNCTION organizations_path_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE members SET ancestor_ids = organization_path_ids(NEW.path)
     WHERE organization_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER organizations_path_moved AFTER UPDATE OF path ON organizations
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION organizations_path_moved();

UPDATE members m SET ancestor_ids = organization_path_ids(o.path)
  FROM organizations o WHERE o.id = m.organization_id;
ALTER TABLE members ALTER COLUMN ancestor_ids SET NOT NULL;

DROP INDEX members_name_tokens;
CREATE INDEX members_search ON members USING gin (name_tokens, ancestor_ids)
    WITH (fastupdate = on, gin_pending_list_limit = 16384);
