//! Payments into accounting: recorded once against the accounting invoice with the same number.

use ledgerhook_shared::{
    model::{CanonicalObject, InvoiceStatus},
    store,
};

use super::{refunds::remember_payment, remember_write, Ctx, Outcome, SyncError};
use crate::connectors::{AccountingApi, PaymentDraft};

/// A payment, recorded once against the accounting invoice with the same number.
pub(crate) async fn payment<A: AccountingApi>(
    ctx: &Ctx<'_>,
    acct: &A,
    acct_system: &str,
) -> Result<Outcome, SyncError> {
    let event = ctx.event;
    let (number, paid_ref, amount, date) = match &event.data {
        Some(CanonicalObject::Invoice(i)) => {
            remember_payment(ctx, None, Some(&i.id), i.number.as_deref()).await?;
            (
                i.number.clone(),
                i.id.clone(),
                i.amount_paid.unwrap_or(i.total),
                event.time.date_naive(),
            )
        }
        Some(CanonicalObject::Payment(p)) => {
            let (invoice, number) = (p.invoice_id.as_deref(), p.invoice_number.as_deref());
            // A refund may name only this payment; it finds the invoice through these links.
            remember_payment(ctx, Some(&p.id), invoice, number).await?;
            (
                p.invoice_number.clone(),
                p.invoice_id.clone().unwrap_or_else(|| p.id.clone()),
                p.amount,
                p.paid_at.unwrap_or(event.time).date_naive(),
            )
        }
        _ => {
            return Err(SyncError::permanent(
                "a payment event without its payment or invoice",
            ))
        }
    };
    let Some(number) = number else {
        return Ok(Outcome::skipped(
            "the payment is not for an invoice ledgerhook can match",
        ));
    };
    store::lock_entity(ctx.tx, &format!("{}/invoice-number/{number}", ctx.tenant)).await?;
    // Stripe reports one payment as invoice.paid and payment_intent.succeeded: both carry the
    // Stripe invoice id, which is what the recorded payment is linked by.
    if let Some(done) = store::link_get(
        ctx.tx,
        ctx.tenant,
        "payment",
        &event.system,
        &paid_ref,
        acct_system,
    )
    .await?
    {
        return Ok(Outcome {
            status: "skipped",
            target_id: Some(done),
            detail: Some("this payment is already recorded".into()),
            invoice_number: Some(number),
        });
    }
    let Some(invoice) = acct.find_invoice_by_number(&number).await? else {
        return Err(SyncError::transient(format!(
            "invoice {number} is not in accounting yet"
        )));
    };
    let due = invoice.invoice.amount_due.unwrap_or(invoice.invoice.total);
    if invoice.invoice.status == InvoiceStatus::Paid || due.amount.is_zero() {
        return Ok(Outcome {
            status: "skipped",
            target_id: Some(invoice.id().to_owned()),
            detail: Some("the invoice is already paid in accounting".into()),
            invoice_number: Some(number),
        });
    }
    if invoice.invoice.status == InvoiceStatus::Void {
        return Err(SyncError::permanent(format!(
            "invoice {number} is voided in accounting; the payment needs a person"
        )));
    }
    if amount.currency != due.currency {
        return Err(SyncError::permanent(format!(
            "payment in {} for invoice {number} in {}",
            amount.currency, due.currency
        )));
    }
    // Never more than is due: accounting refuses overpayments, and a partial is what it is.
    let amount = if amount.amount > due.amount {
        due
    } else {
        amount
    };
    let draft = PaymentDraft {
        amount,
        date,
        reference: paid_ref.clone(),
    };
    let key = format!("ledgerhook-pay-{}-{}-{paid_ref}", ctx.tenant, event.system);
    let payment_id = acct.record_payment(&invoice, &draft, &key).await?;
    store::link_put(
        ctx.tx,
        ctx.tenant,
        "payment",
        (&event.system, &paid_ref),
        (acct_system, &payment_id),
    )
    .await?;
    // The accounting webhook this payment causes must not bounce back as a CRM change.
    if let Some(after) = acct.get_invoice(invoice.id()).await? {
        remember_write(ctx, acct_system, &after).await?;
    }
    Ok(Outcome::applied(payment_id, Some(&number)))
}
