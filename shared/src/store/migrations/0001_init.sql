-- The inbox: one row per (destination, idempotency key). It makes applying idempotent and
-- doubles as the record of what happened to each event.
CREATE TABLE inbox (
    destination      text        NOT NULL,
    idempotency_key  text        NOT NULL,
    event_id         uuid        NOT NULL,
    tenant           text        NOT NULL,
    source           text        NOT NULL,
    event_type       text        NOT NULL,
    subject          text        NOT NULL,
    status           text        NOT NULL,   -- applied | suppressed | skipped
    target_id        text,
    detail           text,
    received_at      timestamptz NOT NULL,
    applied_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (destination, idempotency_key)
);

-- The journal: every step of every event, for support's "what happened to invoice X".
CREATE TABLE journal (
    id               bigserial   PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    tenant           text        NOT NULL,
    destination      text,
    event_id         uuid,
    idempotency_key  text,
    event_type       text,
    subject          text,
    invoice_number   text,
    step             text        NOT NULL,   -- applied | suppressed | skipped | retried | dead_lettered | replayed
    target_id        text,
    detail           text
);
CREATE INDEX journal_tenant_subject ON journal (tenant, subject);
CREATE INDEX journal_tenant_number ON journal (tenant, invoice_number);
CREATE INDEX journal_event ON journal (event_id);

-- Links between the ids of the same entity in two systems, stored in both directions.
CREATE TABLE links (
    tenant      text        NOT NULL,
    entity      text        NOT NULL,   -- customer | invoice | payment | refund
    system      text        NOT NULL,
    id          text        NOT NULL,
    other_system text       NOT NULL,
    other_id    text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, entity, system, id, other_system)
);

-- The newest version of each source object applied, so a stale event never overwrites newer state.
CREATE TABLE entity_versions (
    tenant      text        NOT NULL,
    system      text        NOT NULL,
    entity      text        NOT NULL,
    id          text        NOT NULL,
    version     timestamptz NOT NULL,
    PRIMARY KEY (tenant, system, entity, id)
);

-- What ledgerhook last wrote to each object, so the webhook that write causes is recognised.
CREATE TABLE writes (
    tenant      text        NOT NULL,
    system      text        NOT NULL,
    entity      text        NOT NULL,
    id          text        NOT NULL,
    fingerprint text        NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, system, entity, id)
);

-- OAuth2 token sets per connection; the rotated refresh token is stored before it is used.
CREATE TABLE oauth_tokens (
    connection     text        PRIMARY KEY,
    access_token   text        NOT NULL,
    refresh_token  text        NOT NULL,
    expires_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Events that could not be applied: the whole event, why, and every attempt. Never deleted.
CREATE TABLE dead_letters (
    id              uuid        PRIMARY KEY,
    destination     text        NOT NULL,
    tenant          text        NOT NULL,
    source          text        NOT NULL,
    event_type      text        NOT NULL,
    event_id        uuid,
    subject         text,
    event           jsonb       NOT NULL,
    reason_class    text        NOT NULL,   -- permanent | exhausted | poison
    reason          text        NOT NULL,
    attempts        jsonb       NOT NULL DEFAULT '[]',
    status          text        NOT NULL DEFAULT 'open',  -- open | replayed | discarded
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    closed_by       text,
    closed_reason   text
);
CREATE INDEX dead_letters_list ON dead_letters (status, created_at DESC);
