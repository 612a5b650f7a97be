-- Support looks events up by any one identifier, with or without a tenant, and the router's
-- sweeper looks for replays that were requested but never published.

CREATE INDEX journal_subject ON journal (subject);
CREATE INDEX journal_number ON journal (invoice_number);
CREATE INDEX journal_key ON journal (idempotency_key);
CREATE INDEX journal_target ON journal (target_id);
CREATE INDEX inbox_event ON inbox (event_id);

CREATE INDEX dead_letters_event_id ON dead_letters (event_id);
CREATE INDEX dead_letters_subject ON dead_letters (subject);
CREATE INDEX dead_letters_invoice ON dead_letters (invoice_number);
CREATE INDEX dead_letters_key ON dead_letters (idempotency_key);
CREATE INDEX dead_letters_unpublished ON dead_letters (replay_requested_at)
    WHERE status = 'replaying' AND replay_published_at IS NULL;
