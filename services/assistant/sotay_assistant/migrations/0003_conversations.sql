-- Questions and answers. A conversation belongs to the account that started it (`owner`); a
-- turn keeps the question as typed and as searched (follow-ups rewritten, abbreviations and
-- diacritics restored), the answer with its citations, and the asker's organisation with its
-- ancestors, so that committee staff see the questions of their subtree (never who asked).

CREATE TABLE conversations (
    id          uuid PRIMARY KEY,
    owner       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_owner ON conversations (owner, updated_at DESC);

CREATE TABLE answers (
    id               uuid PRIMARY KEY,
    conversation_id  uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              integer     NOT NULL,
    question         text        NOT NULL,
    searched         text        NOT NULL,
    answer           text        NOT NULL,
    abstained        boolean     NOT NULL,
    confidence       real        NOT NULL,
    topic            text,
    citations        jsonb       NOT NULL,
    scores           jsonb       NOT NULL,
    organization_path uuid[]     NOT NULL,      -- the asker's organisation last, its ancestors first
    asked_at         timestamptz NOT NULL DEFAULT now(),
    useful           boolean,
    comment          text,
    rated_at         timestamptz,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX answers_attention ON answers ((abstained OR useful IS false) DESC, asked_at DESC);
CREATE INDEX answers_asked ON answers (asked_at DESC);
CREATE INDEX answers_organizations ON answers USING gin (organization_path);
