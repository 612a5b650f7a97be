//! Refunds, into accounting and into the CRM: recorded once against the invoice the refunded
//! payment paid, never more than was paid.
//!
//! A paying system may report one refund several ways: Stripe sends `refund.created` (one
//! refund, by its id) and `charge.refunded` (the refund again, or only the charge's refunded
//! total). Each report is a lower bound of what was refunded on the payment, so the refund
//! ledger keeps the largest sum of refunds seen by id and the largest total seen, and a
//! destination gets the difference between that and what it already holds. Any order and any
//! number of reports converge on the true total, recorded once.

use ledgerhook_shared::{
    model::{CanonicalObject, Refund},
    store::{self, RefundLedger},
    Money,
};
use rust_decimal::Decimal;

use super::{remember_write, Ctx, Outcome, SyncError};
use crate::connectors::{AccountingApi, CrmApi, RefundDraft};

/// Link entity: a paying system's invoice or payment id -> the invoice number it paid.
const PAID_NUMBER: &str = "paid-number";
/// Link entity: a paying system's payment id -> the paying system's invoice it paid.
const PAYING_INVOICE: &str = "paying-invoice";
/// The `other_system` of a `PAID_NUMBER` link.
const NUMBER: &str = "invoice-number";

/// Remembers which invoice number a paying system's invoice and payment paid, so a refund that
/// names only the payment finds the invoice. Both workers call it for every payment event.
pub(crate) async fn remember_payment(
    ctx: &Ctx<'_>,
    payment_id: Option<&str>,
    invoice_id: Option<&str>,
    number: Option<&str>,
) -> Result<(), SyncError> {
    let system = ctx.event.system.as_str();
    if let (Some(payment), Some(invoice)) = (payment_id, invoice_id) {
        if payment != invoice {
            let invoices = format!("{system}:invoice");
            store::link_put(
                ctx.tx,
                ctx.tenant,
                PAYING_INVOICE,
                (system, payment),
                (&invoices, invoice),
            )
            .await?;
        }
    }
    if let Some(number) = number {
        for id in [payment_id, invoice_id].into_iter().flatten() {
            store::link_put(
                ctx.tx,
                ctx.tenant,
                PAID_NUMBER,
                (system, id),
                (NUMBER, number),
            )
            .await?;
        }
    }
    Ok(())
}

/// The invoice number a refund is for: its own, else the one its payment was seen paying.
async fn number_for(ctx: &Ctx<'_>, refund: &Refund) -> Result<Option<String>, SyncError> {
    if let Some(number) = &refund.invoice_number {
        return Ok(Some(number.clone()));
    }
    let (tx, tenant, system) = (ctx.tx, ctx.tenant, ctx.event.system.as_str());
    let invoices = format!("{system}:invoice");
    for id in [&refund.invoice_id, &refund.payment_id]
        .into_iter()
        .flatten()
    {
        if let Some(number) = store::link_get(tx, tenant, PAID_NUMBER, system, id, NUMBER).await? {
            return Ok(Some(number));
        }
        if let Some(invoice) =
            store::link_get(tx, tenant, PAYING_INVOICE, system, id, &invoices).await?
        {
            if let Some(number) =
                store::link_get(tx, tenant, PAID_NUMBER, system, &invoice, NUMBER).await?
            {
                return Ok(Some(number));
            }
        }
    }
    Ok(None)
}

fn refund_of(ctx: &Ctx<'_>) -> Result<Refund, SyncError> {
    match &ctx.event.data {
        Some(CanonicalObject::Refund(r)) => Ok(r.clone()),
        _ => Err(SyncError::permanent("a refund event without its refund")),
    }
}

/// What ledgerhook wrote when it recorded a refund, for recognising its echo.
fn refund_fingerprint(number: &str, amount: &Money) -> String {
    format!("{number}|{}|{}", amount.amount.normalize(), amount.currency)
}

/// The outcome for a refund that needs no write.
fn already(target: Option<String>, detail: &str, number: &str) -> Outcome {
    Outcome {
        status: "skipped",
        target_id: target,
        detail: Some(detail.to_owned()),
        invoice_number: Some(number.to_owned()),
    }
}

/// A refund's place in the ledger of its payment, and what is left to record.
struct Entry {
    ledger: RefundLedger,
    payment: String,
    /// Reported and not yet recorded, before the cap of what can still be refunded.
    wanted: Decimal,
}

/// Adds the refund to its payment's ledger at `destination`; the caller holds the invoice
/// lock. `Err` with the outcome when the refund, by its id, is already recorded there.
async fn enter(
    ctx: &Ctx<'_>,
    refund: &Refund,
    destination: &str,
    invoice_id: &str,
) -> Result<Result<Entry, Outcome>, SyncError> {
    let (tx, tenant, system) = (ctx.tx, ctx.tenant, ctx.event.system.as_str());
    if !refund.cumulative {
        if let Some(done) =
            store::link_get(tx, tenant, "refund", system, &refund.id, destination).await?
        {
            return Ok(Err(Outcome {
                status: "skipped",
                target_id: Some(done),
                detail: Some("this refund is already recorded".into()),
                invoice_number: None,
            }));
        }
    }
    let payment = refund
        .payment_id
        .clone()
        .or_else(|| refund.invoice_id.clone())
        .unwrap_or_else(|| refund.id.clone());
    let mut ledger = store::refund_ledger_get(tx, tenant, destination, system, &payment)
        .await?
        .unwrap_or_default();
    ledger.invoice_id = invoice_id.to_owned();
    if refund.cumulative {
        ledger.cumulative = ledger.cumulative.max(refund.amount.amount);
    } else {
        ledger.specific += refund.amount.amount;
    }
    let wanted = ledger.reported() - ledger.recorded;
    Ok(Ok(Entry {
        ledger,
        payment,
        wanted,
    }))
}

/// Closes the ledger entry: stores it and links the refund to what it was recorded as.
async fn settle(
    ctx: &Ctx<'_>,
    refund: &Refund,
    destination: &str,
    entry: &Entry,
) -> Result<(), SyncError> {
    let (tx, tenant, system) = (ctx.tx, ctx.tenant, ctx.event.system.as_str());
    store::refund_ledger_put(
        tx,
        tenant,
        destination,
        system,
        &entry.payment,
        &entry.ledger,
    )
    .await?;
    if let (false, Some(recorded_as)) = (refund.cumulative, &entry.ledger.last_id) {
        store::link_put(
            tx,
            tenant,
            "refund",
            (system, &refund.id),
            (destination, recorded_as),
        )
        .await?;
    }
    Ok(())
}

/// A paying system's refund, recorded once in accounting against the invoice it refunds.
pub(crate) async fn to_accounting<A: AccountingApi>(
    ctx: &Ctx<'_>,
    acct: &A,
    acct_system: &str,
) -> Result<Outcome, SyncError> {
    let refund = refund_of(ctx)?;
    let Some(number) = number_for(ctx, &refund).await? else {
        return Err(SyncError::transient(format!(
            "the payment refunded by {} is not known to have paid an invoice yet",
            refund.id
        )));
    };
    store::lock_entity(ctx.tx, &format!("{}/invoice-number/{number}", ctx.tenant)).await?;
    let Some(invoice) = acct.find_invoice_by_number(&number).await? else {
        return Err(SyncError::transient(format!(
            "invoice {number} is not in accounting yet"
        )));
    };
    let mut entry = match enter(ctx, &refund, acct_system, invoice.id()).await? {
        Ok(entry) => entry,
        Err(done) => return Ok(with_number(done, &number)),
    };
    let currency = invoice.invoice.currency;
    if refund.amount.currency != currency {
        return Err(SyncError::permanent(format!(
            "refund in {} for invoice {number} in {currency}",
            refund.amount.currency
        )));
    }
    let paid = invoice
        .invoice
        .amount_paid
        .map_or(Decimal::ZERO, |m| m.amount);
    if paid.is_zero() {
        return Err(SyncError::transient(format!(
            "no payment is recorded on invoice {number} in accounting yet"
        )));
    }
    // Never more than was paid, counting every refund already recorded on the invoice.
    let refunded =
        store::refunded_on_invoice(ctx.tx, ctx.tenant, acct_system, invoice.id()).await?;
    let amount = entry.wanted.min(paid - refunded);
    if amount <= Decimal::ZERO {
        let last = entry.ledger.last_id.clone();
        settle(ctx, &refund, acct_system, &entry).await?;
        return Ok(already(
            last,
            "the refunds recorded on this invoice already cover this refund",
            &number,
        ));
    }
    let amount = Money::new(amount, currency)
        .map_err(|e| SyncError::permanent(format!("refund amount: {e}")))?;
    let system = ctx.event.system.as_str();
    let draft = RefundDraft {
        amount,
        date: refund.created_at.unwrap_or(ctx.event.time).date_naive(),
        invoice_number: number.clone(),
        reference: refund.id.clone(),
        reason: refund.reason.clone(),
    };
    // A refund by id is keyed by its id; a refunded total by the total, so each new total
    // records its own difference once.
    let key = if refund.cumulative {
        format!(
            "ledgerhook-refund-{}-{system}-{}-{}",
            ctx.tenant,
            refund.id,
            entry.ledger.reported().normalize()
        )
    } else {
        format!("ledgerhook-refund-{}-{system}-{}", ctx.tenant, refund.id)
    };
    let refund_id = acct.record_refund(&invoice, &draft, &key).await?;
    entry.ledger.recorded += amount.amount;
    entry.ledger.last_id = Some(refund_id.clone());
    settle(ctx, &refund, acct_system, &entry).await?;
    // The accounting webhook about this refund must not come back to the CRM as a new one.
    store::write_record(
        ctx.tx,
        ctx.tenant,
        acct_system,
        "refund",
        &refund_id,
        &refund_fingerprint(&number, &amount),
    )
    .await?;
    Ok(Outcome::applied(refund_id, Some(&number)))
}

fn with_number(mut outcome: Outcome, number: &str) -> Outcome {
    outcome.invoice_number = Some(number.to_owned());
    outcome
}

/// A refund from payments or accounting, shown on the CRM invoice it refunds.
pub(crate) async fn to_crm<C: CrmApi, A: AccountingApi>(
    ctx: &Ctx<'_>,
    crm: &C,
    crm_system: &str,
    acct: Option<(&A, &str)>,
) -> Result<Outcome, SyncError> {
    let event = ctx.event;
    let from_accounting = event.category == ledgerhook_shared::Category::Accounting;
    let refund = match (&event.data, acct) {
        (Some(CanonicalObject::Refund(r)), _) => r.clone(),
        (None, Some((acct, _))) if from_accounting => {
            match acct.get_refund(&event.subject).await? {
                Some(r) => r,
                None => {
                    return Ok(Outcome::skipped(
                        "the refund no longer exists in accounting",
                    ))
                }
            }
        }
        (None, None) if from_accounting => {
            return Err(SyncError::permanent(
                "a thin accounting event needs the tenant's accounting configured",
            ))
        }
        _ => return Err(SyncError::permanent("a refund event without its refund")),
    };
    let number = match number_for(ctx, &refund).await? {
        Some(number) => number,
        // Accounting refunds carry their invoice number or never will.
        None if from_accounting => {
            return Ok(Outcome::skipped(
                "the refund names no invoice ledgerhook can match",
            ))
        }
        None => {
            return Err(SyncError::transient(format!(
                "the payment refunded by {} is not known to have paid an invoice yet",
                refund.id
            )))
        }
    };
    store::lock_entity(ctx.tx, &format!("{}/invoice-number/{number}", ctx.tenant)).await?;
    if from_accounting {
        let acct_system = acct.map(|(_, s)| s).unwrap_or(event.system.as_str());
        let written = refund_fingerprint(&number, &refund.amount);
        if store::is_own_write(
            ctx.tx,
            ctx.tenant,
            acct_system,
            "refund",
            &refund.id,
            &written,
        )
        .await?
        {
            // The payments event that caused it brings the refund to the CRM itself.
            return Ok(with_number(
                Outcome::suppressed("echo of ledgerhook's own refund in accounting"),
                &number,
            ));
        }
    }
    let Some(existing) = crm.find_invoice_by_number(&number).await? else {
        return Err(SyncError::transient(format!(
            "invoice {number} is not in the CRM yet"
        )));
    };
    let mut entry = match enter(ctx, &refund, crm_system, existing.id()).await? {
        Ok(entry) => entry,
        Err(done) => return Ok(with_number(done, &number)),
    };
    let total = existing.invoice.total;
    if refund.amount.currency != total.currency {
        return Err(SyncError::permanent(format!(
            "refund in {} for invoice {number} in {}",
            refund.amount.currency, total.currency
        )));
    }
    let refunded =
        store::refunded_on_invoice(ctx.tx, ctx.tenant, crm_system, existing.id()).await?;
    let amount = entry.wanted.min(total.amount - refunded);
    if amount <= Decimal::ZERO {
        settle(ctx, &refund, crm_system, &entry).await?;
        return Ok(already(
            Some(existing.id().to_owned()),
            "the CRM invoice already shows this refund",
            &number,
        ));
    }
    let shown = Money::new(refunded + amount, total.currency)
        .map_err(|e| SyncError::permanent(format!("refund amount: {e}")))?;
    let result = crm.set_invoice_refunded(&existing, &shown).await?;
    entry.ledger.recorded += amount;
    entry.ledger.last_id = Some(result.id().to_owned());
    settle(ctx, &refund, crm_system, &entry).await?;
    remember_write(ctx, crm_system, &result).await?;
    Ok(Outcome::applied(result.id(), Some(&number)))
}
