-- Names are searched by prefix (what the user typed, in the name's own order) with a range on
-- name_key. Folded keys are plain ASCII: compare them byte by byte, whatever the database's
-- locale, so that a range [prefix, prefix || '~') holds exactly the names that start with it.
ALTER TABLE members ALTER COLUMN name_key TYPE text COLLATE "C";
