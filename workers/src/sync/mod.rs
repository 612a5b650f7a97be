//! The sync rules: what each canonical event means for the destination system, applied exactly
//! once in effect. Every apply runs in one store transaction: lock the entity, check the inbox,
//! guard the version, recognise echoes, write to the target, record links and the outcome.

mod customers;
mod payments;
mod refunds;
mod to_accounting;
mod to_crm;

use std::{collections::HashMap, sync::Arc, time::Duration};

use ledgerhook_shared::{
    broker::{Destination, Topology},
    config::Config,
    model::Invoice,
    store::{self, Handled, Store, StoreError},
    Event,
};
use secrecy::SecretString;

use crate::{
    connectors::{ApplyError, RemoteInvoice},
    metrics::WorkerMetrics,
    targets::{AccountingTarget, CrmTarget},
};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("transient: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    #[error("permanent: {reason}")]
    Permanent { reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApplyError> for SyncError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Transient {
                reason,
                retry_after,
            } => SyncError::Transient {
                reason,
                retry_after,
            },
            ApplyError::Permanent { reason } => SyncError::Permanent { reason },
        }
    }
}

impl From<tokio_postgres::Error> for SyncError {
    fn from(e: tokio_postgres::Error) -> Self {
        SyncError::Store(StoreError::Db(e))
    }
}

impl SyncError {
    pub(crate) fn transient(reason: impl Into<String>) -> Self {
        SyncError::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub(crate) fn permanent(reason: impl Into<String>) -> Self {
        SyncError::Permanent {
            reason: reason.into(),
        }
    }
}

/// What happened to an event that did not fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// applied | suppressed | skipped
    pub status: &'static str,
    pub target_id: Option<String>,
    pub detail: Option<String>,
    pub invoice_number: Option<String>,
}

impl Outcome {
    pub(crate) fn applied(target_id: impl Into<String>, number: Option<&str>) -> Self {
        Outcome {
            status: "applied",
            target_id: Some(target_id.into()),
            detail: None,
            invoice_number: number.map(str::to_owned),
        }
    }

    pub(crate) fn skipped(detail: impl Into<String>) -> Self {
        Outcome {
            status: "skipped",
            target_id: None,
            detail: Some(detail.into()),
            invoice_number: None,
        }
    }

    pub(crate) fn suppressed(detail: impl Into<String>) -> Self {
        Outcome {
            status: "suppressed",
            target_id: None,
            detail: Some(detail.into()),
            invoice_number: None,
        }
    }
}

/// The tenant's two systems, as clients.
#[derive(Debug)]
pub struct TenantTargets {
    pub accounting: Option<AccountingTarget>,
    pub crm: Option<CrmTarget>,
}

/// One worker process's state: which destination it serves, the store, the tenants' clients.
#[derive(Debug)]
pub struct Worker {
    destination: Destination,
    topology: Topology,
    broker_url: SecretString,
    store: Store,
    tenants: HashMap<String, Arc<TenantTargets>>,
    metrics: Arc<WorkerMetrics>,
}

impl Worker {
    pub fn new(
        destination: Destination,
        config: &Config,
        store: Store,
        tenants: HashMap<String, Arc<TenantTargets>>,
    ) -> Self {
        Worker {
            destination,
            topology: config.broker.topology(),
            broker_url: config.broker.url.clone(),
            store,
            tenants,
            metrics: Arc::new(WorkerMetrics::new(destination)),
        }
    }

    /// Counts into `metrics`, which a listener may already be serving; it must be for the same
    /// destination.
    pub fn with_metrics(mut self, metrics: Arc<WorkerMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn destination(&self) -> Destination {
        self.destination
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn broker_url(&self) -> &SecretString {
        &self.broker_url
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<WorkerMetrics> {
        &self.metrics
    }

    /// The tenant as a metrics label: only configured tenants, so a stray event cannot add
    /// series.
    pub(crate) fn tenant_label<'a>(&self, tenant: &'a str) -> &'a str {
        if self.tenants.contains_key(tenant) {
            tenant
        } else {
            ""
        }
    }

    /// Applies one event in one transaction; the caller acks only after this returns `Ok`.
    pub async fn apply(&self, event: &Event) -> Result<Outcome, SyncError> {
        let targets = self.tenants.get(&event.tenant).cloned().ok_or_else(|| {
            SyncError::permanent(format!("tenant `{}` is not configured", event.tenant))
        })?;
        let mut client = self.store.client().await?;
        let tx = client.transaction().await?;
        // Redeliveries and racing workers for one event all take this lock first.
        let destination = self.destination.as_str();
        store::lock_entity(&tx, &format!("{destination}/{}", event.idempotencykey)).await?;
        if let Some(done) = store::inbox_get(&tx, destination, &event.idempotencykey).await? {
            tx.commit().await?;
            return Ok(Outcome {
                status: "skipped",
                target_id: done.target_id,
                detail: Some(format!("already {}", done.status)),
                invoice_number: None,
            });
        }
        let ctx = Ctx {
            tx: &tx,
            store: &self.store,
            event,
            tenant: &event.tenant,
        };
        let outcome = match self.destination {
            Destination::Accounting => to_accounting::apply(&ctx, &targets).await?,
            Destination::Crm => to_crm::apply(&ctx, &targets).await?,
        };
        store::inbox_record(&tx, &self.handled(event, &outcome)).await?;
        tx.commit().await?;
        self.metrics
            .count(self.tenant_label(&event.tenant), outcome.status);
        if outcome.status == "applied" {
            self.metrics.observe_applied(event.receivedat);
        }
        Ok(outcome)
    }

    fn handled<'a>(&'a self, event: &'a Event, outcome: &'a Outcome) -> Handled<'a> {
        Handled {
            destination: self.destination.as_str(),
            idempotency_key: &event.idempotencykey,
            event_id: event.id,
            tenant: &event.tenant,
            source: &event.source,
            event_type: event.kind.as_str(),
            subject: &event.subject,
            invoice_number: outcome.invoice_number.as_deref(),
            received_at: event.receivedat,
            status: outcome.status,
            target_id: outcome.target_id.as_deref(),
            detail: outcome.detail.as_deref(),
        }
    }
}

/// What a rule needs: the open transaction and the event.
pub(crate) struct Ctx<'a> {
    pub tx: &'a store::Transaction<'a>,
    /// For what must commit outside the transaction (a write intent).
    pub store: &'a Store,
    pub event: &'a Event,
    pub tenant: &'a str,
}

/// A short summary of an invoice's synced state. ledgerhook records it for each write, and a
/// webhook whose fetched state has the same summary is the echo of that write.
pub(crate) fn fingerprint(invoice: &Invoice) -> String {
    format!(
        "{}|{:?}|{}|{}",
        invoice.number.as_deref().unwrap_or(""),
        invoice.status,
        invoice.total.amount.normalize(),
        invoice.total.currency
    )
}

/// Remembers what ledgerhook wrote to an invoice in `system`, so the webhook it causes is known
/// as an echo.
pub(crate) async fn remember_write(
    ctx: &Ctx<'_>,
    system: &str,
    written: &RemoteInvoice,
) -> Result<(), SyncError> {
    store::write_record(
        ctx.tx,
        ctx.tenant,
        system,
        "invoice",
        written.id(),
        &fingerprint(&written.invoice),
    )
    .await?;
    Ok(())
}

/// Whether an invoice event from `system` needs no write to `other_system`: `Some` with the
/// outcome when it is an echo or stale. The caller holds the invoice-number lock.
///
/// An echo is `system` showing back what ledgerhook wrote there, for an invoice `other_system`
/// already has. Without the link the state may match a write (a payment's "paid") while the
/// other side still lacks the invoice, which this event must then create.
pub(crate) async fn already_settled(
    ctx: &Ctx<'_>,
    invoice: &Invoice,
    system: &str,
    other_system: &str,
    system_label: &str,
) -> Result<Option<Outcome>, SyncError> {
    let (tx, tenant, id) = (ctx.tx, ctx.tenant, invoice.id.as_str());
    let linked = store::link_get(tx, tenant, "invoice", system, id, other_system)
        .await?
        .is_some();
    if linked
        && store::is_own_write(tx, tenant, system, "invoice", id, &fingerprint(invoice)).await?
    {
        return Ok(Some(Outcome::suppressed(format!(
            "echo of ledgerhook's own write to {system_label}"
        ))));
    }
    let version = invoice.updated_at.unwrap_or(ctx.event.time);
    if !store::version_advance(tx, tenant, system, "invoice", id, version).await? {
        return Ok(Some(Outcome::skipped(
            "a newer version of this invoice was already applied",
        )));
    }
    Ok(None)
}
