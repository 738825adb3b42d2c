-- The folded name with its words in reverse order ("hung van nguyen"): a range on it finds the
-- names that end with given words (the given name is the last word of a Vietnamese name), in
-- the order of Vietnamese name lists (given name first).
ALTER TABLE members ADD COLUMN name_rkey text COLLATE "C";
UPDATE members SET name_rkey = array_to_string(ARRAY(
    SELECT word FROM unnest(string_to_array(name_key, ' ')) WITH ORDINALITY AS w(word, n)
    ORDER BY n DESC), ' ');
ALTER TABLE members ALTER COLUMN name_rkey SET NOT NULL;
CREATE INDEX members_name_reversed ON members (name_rkey, id);
