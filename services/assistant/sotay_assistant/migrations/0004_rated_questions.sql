-- Answers members rated useful teach the assistant their question (sotay_assistant.memory):
-- each replica reads the most recently rated ones at intervals.
CREATE INDEX answers_rated_useful ON answers (rated_at DESC) WHERE useful AND NOT abstained;
