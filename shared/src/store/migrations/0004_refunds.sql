-- What each destination has made of the refunds of one paying-system payment. A source may
-- report a refund on its own (`specific`, the sum of the refunds seen by id) or only as the
-- payment's refunded total so far (`cumulative`, the largest total seen); `recorded` is what the
-- destination holds, so a late report of a refund already covered records nothing more.
-- Amounts are exact decimals as text.
CREATE TABLE refund_ledger (
    tenant       text        NOT NULL,
    destination  text        NOT NULL,   -- the destination system, e.g. xero or hubspot
    system       text        NOT NULL,   -- the paying system
    payment_id   text        NOT NULL,
    invoice_id   text        NOT NULL,   -- the destination's invoice the refunds are recorded on
    specific     text        NOT NULL DEFAULT '0',
    cumulative   text        NOT NULL DEFAULT '0',
    recorded     text        NOT NULL DEFAULT '0',
    last_id      text,                   -- the destination's id of the last refund recorded
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, destination, system, payment_id)
);
CREATE INDEX refund_ledger_invoice ON refund_ledger (tenant, destination, invoice_id);
