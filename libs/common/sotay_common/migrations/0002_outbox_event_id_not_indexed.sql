-- Event ids are generated (UUIDv7), never looked up in the outbox, and deduplicated by the
-- consumers' inboxes: a unique index on them only slowed bulk writes down.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
