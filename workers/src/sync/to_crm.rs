//! Rules for the CRM worker: accounting invoices and customers become CRM invoices and
//! contacts; payments mark the CRM invoice paid, and refunds show what was paid back.

use ledgerhook_shared::{
    model::{CanonicalObject, Customer, Invoice, InvoiceStatus},
    store, Category, EventType,
};

use super::{already_settled, refunds, remember_write, Ctx, Outcome, SyncError, TenantTargets};
use crate::connectors::{AccountingApi, CrmApi, RemoteInvoice};

pub(crate) async fn apply(ctx: &Ctx<'_>, targets: &TenantTargets) -> Result<Outcome, SyncError> {
    let Some(crm) = &targets.crm else {
        return Err(SyncError::permanent(format!(
            "tenant `{}` has no CRM configured",
            ctx.tenant
        )));
    };
    let accounting = targets.accounting.as_ref().map(|a| (a, a.system()));
    rules(ctx, crm, crm.system(), accounting).await
}

async fn rules<C: CrmApi, A: AccountingApi>(
    ctx: &Ctx<'_>,
    crm: &C,
    crm_system: &str,
    acct: Option<(&A, &str)>,
) -> Result<Outcome, SyncError> {
    let event = ctx.event;
    match (event.category, event.kind) {
        (Category::Accounting, EventType::CustomerUpserted) => {
            let customer = match (&event.data, acct) {
                (Some(CanonicalObject::Customer(c)), _) => c.clone(),
                (_, Some((acct, _))) => match acct.get_customer(&event.subject).await? {
                    Some(c) => c,
                    None => {
                        return Ok(Outcome::skipped(
                            "the customer no longer exists in accounting",
                        ))
                    }
                },
                (_, None) => {
                    return Err(SyncError::permanent(
                        "a thin accounting event needs the tenant's accounting configured",
                    ))
                }
            };
            let remote = crm.upsert_customer(&customer).await?;
            let acct_system = acct.map(|(_, s)| s).unwrap_or(event.system.as_str());
            store::link_put(
                ctx.tx,
                ctx.tenant,
                "customer",
                (acct_system, &customer.id),
                (crm_system, &remote.id),
            )
            .await?;
            Ok(Outcome::applied(remote.id, None))
        }
        (Category::Accounting, EventType::PaymentSucceeded) => {
            let payment = match (&event.data, acct) {
                (Some(CanonicalObject::Payment(p)), _) => p.clone(),
                (_, Some((acct, _))) => match acct.get_payment(&event.subject).await? {
                    Some(p) => p,
                    None => {
                        return Ok(Outcome::skipped(
                            "the payment no longer exists in accounting",
                        ))
                    }
                },
                (_, None) => {
                    return Err(SyncError::permanent(
                        "a thin accounting event needs the tenant's accounting configured",
                    ))
                }
            };
            mark_paid(ctx, crm, crm_system, payment.invoice_number.as_deref()).await
        }
        (Category::Accounting, kind) if kind.is_invoice_change() => {
            accounting_invoice(ctx, crm, crm_system, acct).await
        }
        (Category::Payments, EventType::InvoicePaid) => {
            let number = match &event.data {
                Some(CanonicalObject::Invoice(i)) => {
                    refunds::remember_payment(ctx, None, Some(&i.id), i.number.as_deref()).await?;
                    i.number.clone()
                }
                _ => None,
            };
            mark_paid(ctx, crm, crm_system, number.as_deref()).await
        }
        (Category::Payments, EventType::PaymentSucceeded) => {
            let number = match &event.data {
                Some(CanonicalObject::Payment(p)) => {
                    let (invoice, number) = (p.invoice_id.as_deref(), p.invoice_number.as_deref());
                    refunds::remember_payment(ctx, Some(&p.id), invoice, number).await?;
                    p.invoice_number.clone()
                }
                _ => None,
            };
            mark_paid(ctx, crm, crm_system, number.as_deref()).await
        }
        (Category::Payments | Category::Accounting, EventType::PaymentRefunded) => {
            refunds::to_crm(ctx, crm, crm_system, acct).await
        }
        (_, kind) => Ok(Outcome::skipped(format!(
            "{} from {} is not applied to the CRM",
            kind, event.category
        ))),
    }
}

/// An accounting invoice's current state, carried into the CRM.
async fn accounting_invoice<C: CrmApi, A: AccountingApi>(
    ctx: &Ctx<'_>,
    crm: &C,
    crm_system: &str,
    acct: Option<(&A, &str)>,
) -> Result<Outcome, SyncError> {
    let event = ctx.event;
    let acct_system = acct.map(|(_, s)| s).unwrap_or(event.system.as_str());
    store::lock_entity(
        ctx.tx,
        &format!("{}/invoice/{acct_system}/{}", ctx.tenant, event.subject),
    )
    .await?;
    let invoice: Option<Invoice> = match (&event.data, acct) {
        (Some(CanonicalObject::Invoice(i)), _) => Some(i.clone()),
        (_, Some((acct, _))) => acct.get_invoice(&event.subject).await?.map(|r| r.invoice),
        (_, None) => {
            return Err(SyncError::permanent(
                "a thin accounting event needs the tenant's accounting configured",
            ))
        }
    };
    let Some(invoice) = invoice else {
        return Ok(Outcome::skipped(
            "the invoice no longer exists in accounting",
        ));
    };
    // Every write to this invoice holds this lock until its transaction commits, so the
    // own-write check below sees a write whose echo arrived before the writer committed.
    let Some(number) = invoice.number.clone() else {
        return Err(SyncError::permanent(
            "the accounting invoice has no number to match on",
        ));
    };
    store::lock_entity(ctx.tx, &format!("{}/invoice-number/{number}", ctx.tenant)).await?;
    // A thin event's object was read before the lock; a writer may have finished meanwhile,
    // so compare the state as it is now.
    let invoice = match (&event.data, acct) {
        (None, Some((acct, _))) => match acct.get_invoice(&event.subject).await? {
            Some(current) => current.invoice,
            None => {
                return Ok(Outcome::skipped(
                    "the invoice no longer exists in accounting",
                ))
            }
        },
        _ => invoice,
    };
    if let Some(done) =
        already_settled(ctx, &invoice, acct_system, crm_system, "accounting").await?
    {
        return Ok(done);
    }
    let existing =
        find_crm_invoice(ctx, crm, crm_system, acct_system, &invoice.id, &number).await?;
    let customer = match (
        &existing,
        invoice.customer.email.is_some() || invoice.customer.name.is_some(),
    ) {
        (None, true) => Some(
            crm.upsert_customer(&Customer {
                id: invoice.customer.id.clone().unwrap_or_default(),
                name: invoice.customer.name.clone(),
                email: invoice.customer.email.clone(),
                ..Customer::default()
            })
            .await?,
        ),
        _ => None,
    };
    // HubSpot builds an invoice in several calls and announces each state; until this write
    // commits, the accounting worker must not take those states for a user's change.
    store::write_intent_begin(ctx.store, ctx.tenant, crm_system, &number).await?;
    let result = crm
        .upsert_invoice(existing.as_ref(), &invoice, customer.as_ref())
        .await?;
    store::write_intent_end(ctx.tx, ctx.tenant, crm_system, &number).await?;
    store::link_put(
        ctx.tx,
        ctx.tenant,
        "invoice",
        (acct_system, &invoice.id),
        (crm_system, result.id()),
    )
    .await?;
    remember_write(ctx, crm_system, &result).await?;
    Ok(Outcome::applied(result.id(), Some(&number)))
}

/// Marks the CRM invoice with this number paid; retried until the invoice exists there.
async fn mark_paid<C: CrmApi>(
    ctx: &Ctx<'_>,
    crm: &C,
    crm_system: &str,
    number: Option<&str>,
) -> Result<Outcome, SyncError> {
    let Some(number) = number else {
        return Ok(Outcome::skipped(
            "the payment is not for an invoice ledgerhook can match",
        ));
    };
    store::lock_entity(ctx.tx, &format!("{}/invoice-number/{number}", ctx.tenant)).await?;
    let Some(existing) = crm.find_invoice_by_number(number).await? else {
        return Err(SyncError::transient(format!(
            "invoice {number} is not in the CRM yet"
        )));
    };
    if existing.invoice.status == InvoiceStatus::Paid {
        return Ok(Outcome {
            status: "skipped",
            target_id: Some(existing.id().to_owned()),
            detail: Some("the CRM invoice is already paid".into()),
            invoice_number: Some(number.to_owned()),
        });
    }
    let result = crm
        .set_invoice_status(&existing, InvoiceStatus::Paid)
        .await?;
    remember_write(ctx, crm_system, &result).await?;
    Ok(Outcome::applied(result.id(), Some(number)))
}

async fn find_crm_invoice<C: CrmApi>(
    ctx: &Ctx<'_>,
    crm: &C,
    crm_system: &str,
    acct_system: &str,
    acct_id: &str,
    number: &str,
) -> Result<Option<RemoteInvoice>, SyncError> {
    if let Some(id) = store::link_get(
        ctx.tx,
        ctx.tenant,
        "invoice",
        acct_system,
        acct_id,
        crm_system,
    )
    .await?
    {
        if let Some(found) = crm.get_invoice(&id).await? {
            return Ok(Some(found));
        }
    }
    Ok(crm.find_invoice_by_number(number).await?)
}
