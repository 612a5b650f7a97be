-- A CRM write that takes several calls (HubSpot: the invoice, then its line items) announces
-- its intermediate states by webhook. The intent is committed before the first call, outside
-- the write's transaction, and removed by that transaction's commit; while it stands, the other
-- direction does not take the half-built invoice for a user's change.
CREATE TABLE write_intents (
    tenant          text        NOT NULL,
    system          text        NOT NULL,
    invoice_number  text        NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, system, invoice_number)
);
