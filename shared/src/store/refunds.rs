//! The refund ledger: per paying-system payment and destination, how much was reported refunded
//! and how much the destination holds, so refunds reported once each and as running totals
//! (Stripe's `refund.created` and `charge.refunded`) are recorded once between them.

use deadpool_postgres::GenericClient;
use rust_decimal::Decimal;

use super::StoreError;

/// One payment's refunds as one destination has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefundLedger {
    /// The destination's invoice the refunds are recorded on.
    pub invoice_id: String,
    /// The sum of the refunds reported one by one.
    pub specific: Decimal,
    /// The largest refunded total reported for the payment.
    pub cumulative: Decimal,
    /// What the destination holds.
    pub recorded: Decimal,
    /// The destination's id of the last refund recorded.
    pub last_id: Option<String>,
}

impl RefundLedger {
    /// What the reports say was refunded: each report is a lower bound of the true total.
    pub fn reported(&self) -> Decimal {
        self.specific.max(self.cumulative)
    }
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap_or(Decimal::ZERO)
}

/// The ledger of one payment; the caller holds the invoice's lock.
pub async fn refund_ledger_get(
    c: &impl GenericClient,
    tenant: &str,
    destination: &str,
    system: &str,
    payment_id: &str,
) -> Result<Option<RefundLedger>, StoreError> {
    let row = c
        .query_opt(
            "SELECT invoice_id, specific, cumulative, recorded, last_id FROM refund_ledger
             WHERE tenant = $1 AND destination = $2 AND system = $3 AND payment_id = $4",
            &[&tenant, &destination, &system, &payment_id],
        )
        .await?;
    Ok(row.map(|r| RefundLedger {
        invoice_id: r.get(0),
        specific: decimal(r.get(1)),
        cumulative: decimal(r.get(2)),
        recorded: decimal(r.get(3)),
        last_id: r.get(4),
    }))
}

pub async fn refund_ledger_put(
    c: &impl GenericClient,
    tenant: &str,
    destination: &str,
    system: &str,
    payment_id: &str,
    ledger: &RefundLedger,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO refund_ledger (tenant, destination, system, payment_id, invoice_id, specific,
                                    cumulative, recorded, last_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant, destination, system, payment_id) DO UPDATE SET
           invoice_id = EXCLUDED.invoice_id, specific = EXCLUDED.specific,
           cumulative = EXCLUDED.cumulative, recorded = EXCLUDED.recorded,
           last_id = EXCLUDED.last_id, updated_at = now()",
        &[
            &tenant,
            &destination,
            &system,
            &payment_id,
            &ledger.invoice_id,
            &ledger.specific.to_string(),
            &ledger.cumulative.to_string(),
            &ledger.recorded.to_string(),
            &ledger.last_id,
        ],
    )
    .await?;
    Ok(())
}

/// Everything recorded as refunded on one of the destination's invoices, over all payments.
pub async fn refunded_on_invoice(
    c: &impl GenericClient,
    tenant: &str,
    destination: &str,
    invoice_id: &str,
) -> Result<Decimal, StoreError> {
    let rows = c
        .query(
            "SELECT recorded FROM refund_ledger
             WHERE tenant = $1 AND destination = $2 AND invoice_id = $3",
            &[&tenant, &destination, &invoice_id],
        )
        .await?;
    Ok(rows.iter().map(|r| decimal(r.get(0))).sum())
}
