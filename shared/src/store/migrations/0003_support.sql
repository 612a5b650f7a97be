-- Support: every failed attempt, dead letters that can be found by invoice and replayed, and
-- who did what to a dead letter.

-- Every failed attempt to apply an event, with the target's answer (status and a redacted
-- excerpt). A dead letter's attempts are the rows with its destination and idempotency key.
CREATE TABLE attempts (
    id               bigserial   PRIMARY KEY,
    destination      text        NOT NULL,
    idempotency_key  text        NOT NULL,
    event_id         uuid        NOT NULL,
    attempt          integer     NOT NULL,   -- 1 for the first failure
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    class            text        NOT NULL,   -- transient | permanent | poison
    http_status      integer,                -- the target's answer, when there was one
    message          text        NOT NULL
);
CREATE INDEX attempts_event ON attempts (destination, idempotency_key, id);

-- The attempts now live in their own table.
ALTER TABLE dead_letters DROP COLUMN attempts;
ALTER TABLE dead_letters ADD COLUMN idempotency_key text;
ALTER TABLE dead_letters ADD COLUMN invoice_number text;
-- open | replaying (re-queued, not applied yet) | replayed (applied or found applied) | discarded
ALTER TABLE dead_letters ADD COLUMN replay_count integer NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN replay_requested_at timestamptz;
-- Set once the broker confirmed the replayed message; a replay requested but never published
-- (the router stopped in between) is published again.
ALTER TABLE dead_letters ADD COLUMN replay_published_at timestamptz;
DROP INDEX dead_letters_list;
CREATE INDEX dead_letters_list ON dead_letters (created_at DESC, id DESC);
CREATE INDEX dead_letters_status ON dead_letters (status, created_at DESC, id DESC);
CREATE INDEX dead_letters_event ON dead_letters (destination, idempotency_key);
CREATE INDEX dead_letters_number ON dead_letters (tenant, invoice_number);

-- Who replayed or discarded a dead letter, and what became of a replay. Never deleted.
CREATE TABLE dead_letter_actions (
    id              bigserial   PRIMARY KEY,
    dead_letter_id  uuid        NOT NULL REFERENCES dead_letters (id),
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    action          text        NOT NULL,   -- replay | discard | replayed | failed_again
    actor           text        NOT NULL,   -- the admin token's name, or `worker`
    reason          text
);
CREATE INDEX dead_letter_actions_dl ON dead_letter_actions (dead_letter_id, id);
