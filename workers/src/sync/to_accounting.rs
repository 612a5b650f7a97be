//! Rules for the accounting worker: CRM invoices and customers become accounting invoices and
//! customers; payments and refunds are recorded against the matching accounting invoice.

use ledgerhook_shared::{
    model::{CanonicalObject, InvoiceStatus},
    store, Category, EventType,
};

use super::{
    already_settled,
    customers::{customer_for, customer_of},
    payments::payment,
    refunds, remember_write, Ctx, Outcome, SyncError, TenantTargets,
};
use crate::connectors::{AccountingApi, CrmApi, RemoteInvoice};

/// How long an unfinished CRM write holds back the other direction. A writer that failed
/// part-way retries on the ladder well within this; one that never comes back stops blocking.
const WRITE_INTENT_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

pub(crate) async fn apply(ctx: &Ctx<'_>, targets: &TenantTargets) -> Result<Outcome, SyncError> {
    let Some(accounting) = &targets.accounting else {
        return Err(SyncError::permanent(format!(
            "tenant `{}` has no accounting system configured",
            ctx.tenant
        )));
    };
    let crm = targets.crm.as_ref().map(|c| (c, c.system()));
    rules(ctx, accounting, accounting.system(), crm).await
}

async fn rules<A: AccountingApi, C: CrmApi>(
    ctx: &Ctx<'_>,
    acct: &A,
    acct_system: &str,
    crm: Option<(&C, &str)>,
) -> Result<Outcome, SyncError> {
    let event = ctx.event;
    match (event.category, event.kind) {
        (Category::Crm, EventType::CustomerUpserted) => {
            let customer = match &event.data {
                Some(CanonicalObject::Customer(c)) => c.clone(),
                _ => match crm {
                    Some((crm, _)) => match crm.get_customer(&event.subject).await? {
                        Some(c) => c,
                        None => {
                            return Ok(Outcome::skipped("the customer no longer exists in the CRM"))
                        }
                    },
                    None => {
                        return Err(SyncError::permanent(
                            "a thin CRM event needs the tenant's CRM configured",
                        ))
                    }
                },
            };
            let crm_system = crm.map(|(_, s)| s).unwrap_or(event.system.as_str());
            let remote = customer_for(ctx, acct, acct_system, crm_system, &customer).await?;
            Ok(Outcome::applied(remote.id, None))
        }
        (Category::Crm, kind) if kind.is_invoice_change() => {
            crm_invoice(ctx, acct, acct_system, crm).await
        }
        (Category::Payments, EventType::InvoicePaid | EventType::PaymentSucceeded) => {
            payment(ctx, acct, acct_system).await
        }
        (Category::Payments, EventType::PaymentRefunded) => {
            refunds::to_accounting(ctx, acct, acct_system).await
        }
        (_, kind) => Ok(Outcome::skipped(format!(
            "{} from {} is not applied to accounting",
            kind, event.category
        ))),
    }
}

/// A CRM invoice, created or updated in accounting (voided when the CRM voided or deleted it).
async fn crm_invoice<A: AccountingApi, C: CrmApi>(
    ctx: &Ctx<'_>,
    acct: &A,
    acct_system: &str,
    crm: Option<(&C, &str)>,
) -> Result<Outcome, SyncError> {
    let event = ctx.event;
    let crm_system = crm.map(|(_, s)| s).unwrap_or(event.system.as_str());
    // Every event about this CRM invoice waits for the one before it.
    store::lock_entity(
        ctx.tx,
        &format!("{}/invoice/{crm_system}/{}", ctx.tenant, event.subject),
    )
    .await?;
    let invoice = match (&event.data, crm) {
        (Some(CanonicalObject::Invoice(i)), _) => Some(i.clone()),
        (_, Some((crm, _))) => crm.get_invoice(&event.subject).await?.map(|r| r.invoice),
        (_, None) => {
            return Err(SyncError::permanent(
                "a thin CRM event needs the tenant's CRM configured",
            ))
        }
    };
    let Some(invoice) = invoice else {
        if event.kind == EventType::InvoiceDeleted {
            return void_linked(ctx, acct, acct_system, crm_system).await;
        }
        return Ok(Outcome::skipped("the invoice no longer exists in the CRM"));
    };
    // Every write to this invoice holds this lock until its transaction commits, so the
    // own-write check below sees a write whose echo arrived before the writer committed.
    let Some(number) = invoice.number.clone() else {
        return Err(SyncError::permanent(
            "the CRM invoice has no invoice number to match on",
        ));
    };
    store::lock_entity(ctx.tx, &format!("{}/invoice-number/{number}", ctx.tenant)).await?;
    // A thin event's object was read before the lock; a writer may have finished meanwhile
    // (a multi-call write announces intermediate states), so compare the state as it is now.
    let invoice = match (&event.data, crm) {
        (None, Some((crm, _))) => match crm.get_invoice(&event.subject).await? {
            Some(current) => current.invoice,
            None => return Ok(Outcome::skipped("the invoice no longer exists in the CRM")),
        },
        _ => invoice,
    };
    if store::write_intent_active(ctx.tx, ctx.tenant, crm_system, &number, WRITE_INTENT_WAIT)
        .await?
    {
        return Err(SyncError::transient(format!(
            "ledgerhook's own write of invoice {number} to the CRM has not finished; the CRM's \
             state may be half-built"
        )));
    }
    if let Some(done) = already_settled(ctx, &invoice, crm_system, acct_system, "the CRM").await? {
        return Ok(done);
    }
    let existing = find_invoice(ctx, acct, acct_system, crm_system, &invoice.id, &number).await?;
    let result = match existing {
        Some(existing)
            if matches!(
                existing.invoice.status,
                InvoiceStatus::Paid | InvoiceStatus::Void
            ) =>
        {
            // Accounting does not let a paid or voided invoice change; the CRM catches up
            // instead. Nothing was written, so nothing is recorded as ledgerhook's write: the
            // webhook of whoever closed it must not be mistaken for an echo.
            store::link_put(
                ctx.tx,
                ctx.tenant,
                "invoice",
                (crm_system, &invoice.id),
                (acct_system, existing.id()),
            )
            .await?;
            return Ok(Outcome::skipped(
                "the accounting invoice is already paid or voided",
            ));
        }
        Some(existing)
            if matches!(invoice.status, InvoiceStatus::Void | InvoiceStatus::Deleted) =>
        {
            acct.void_invoice(&existing).await?
        }
        Some(existing) => {
            let customer =
                customer_for(ctx, acct, acct_system, crm_system, &customer_of(&invoice)).await?;
            acct.update_invoice(&existing, &invoice, &customer.id)
                .await?
        }
        None if matches!(invoice.status, InvoiceStatus::Void | InvoiceStatus::Deleted) => {
            return Ok(Outcome::skipped(
                "a voided invoice that accounting never had",
            ));
        }
        None => {
            let customer =
                customer_for(ctx, acct, acct_system, crm_system, &customer_of(&invoice)).await?;
            // Keyed by the CRM invoice, so every event about it creates at most one invoice.
            let key = format!("ledgerhook-inv-{}-{crm_system}-{}", ctx.tenant, invoice.id);
            acct.create_invoice(&invoice, &customer.id, &key).await?
        }
    };
    store::link_put(
        ctx.tx,
        ctx.tenant,
        "invoice",
        (crm_system, &invoice.id),
        (acct_system, result.id()),
    )
    .await?;
    remember_write(ctx, acct_system, &result).await?;
    Ok(Outcome::applied(result.id(), Some(&number)))
}

async fn void_linked<A: AccountingApi>(
    ctx: &Ctx<'_>,
    acct: &A,
    acct_system: &str,
    crm_system: &str,
) -> Result<Outcome, SyncError> {
    let Some(id) = store::link_get(
        ctx.tx,
        ctx.tenant,
        "invoice",
        crm_system,
        &ctx.event.subject,
        acct_system,
    )
    .await?
    else {
        return Ok(Outcome::skipped(
            "a deleted CRM invoice that accounting never had",
        ));
    };
    let Some(existing) = acct.get_invoice(&id).await? else {
        return Ok(Outcome::skipped(
            "the linked accounting invoice no longer exists",
        ));
    };
    if let Some(number) = &existing.invoice.number {
        // As for every write to an invoice: the echo check on the other side waits for it.
        store::lock_entity(ctx.tx, &format!("{}/invoice-number/{number}", ctx.tenant)).await?;
    }
    if matches!(
        existing.invoice.status,
        InvoiceStatus::Void | InvoiceStatus::Paid
    ) {
        return Ok(Outcome::skipped("the accounting invoice is already closed"));
    }
    let result = acct.void_invoice(&existing).await?;
    remember_write(ctx, acct_system, &result).await?;
    Ok(Outcome::applied(
        result.id(),
        result.invoice.number.as_deref(),
    ))
}

async fn find_invoice<A: AccountingApi>(
    ctx: &Ctx<'_>,
    acct: &A,
    acct_system: &str,
    crm_system: &str,
    crm_id: &str,
    number: &str,
) -> Result<Option<RemoteInvoice>, SyncError> {
    if let Some(id) = store::link_get(
        ctx.tx,
        ctx.tenant,
        "invoice",
        crm_system,
        crm_id,
        acct_system,
    )
    .await?
    {
        if let Some(found) = acct.get_invoice(&id).await? {
            return Ok(Some(found));
        }
    }
    Ok(acct.find_invoice_by_number(number).await?)
}
