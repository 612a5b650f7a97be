-- A provider counts its rate limits per connection (a Xero tenant, a QuickBooks realm, a
-- HubSpot portal), however many worker processes call it. Every process that called a
-- connection lately checks in here every few seconds and keeps to 1/N of the limits, N being the
-- processes that checked in recently; a 429's Retry-After is kept here so that every process
-- pauses, not only the one that was told.
CREATE TABLE rate_limit_members (
    connection  text        NOT NULL,
    process     uuid        NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (connection, process)
);

CREATE TABLE rate_limit_pauses (
    connection    text        PRIMARY KEY,
    paused_until  timestamptz NOT NULL
);
