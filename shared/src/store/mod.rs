//! The PostgreSQL store: inbox and journal, links between systems' ids, entity versions,
//! ledgerhook's own writes (for echo suppression), OAuth token sets and dead letters.
//!
//! Functions take any `GenericClient`, so the worker runs a whole apply (lock, check, write,
//! record) in one transaction and commits it before acking the message.

mod dead_letters;
mod migrate;
mod rate_limits;
mod refunds;
pub mod support;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

pub use dead_letters::{dead_letter_action, dead_letter_reopen, dead_letter_replayed};
pub use deadpool_postgres::{GenericClient, Object as Client, Transaction};
pub use rate_limits::{rate_limit_check_in, rate_limit_leave, rate_limit_pause, ConnectionShare};
pub use refunds::{refund_ledger_get, refund_ledger_put, refunded_on_invoice, RefundLedger};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("invalid store URL: {0}")]
    Url(String),
}

/// A pool of connections to the store.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("status", &self.pool.status())
            .finish()
    }
}

impl Store {
    /// Connects with at most `max_connections` and applies pending migrations. Several processes
    /// starting at once are safe: migrations run under an advisory lock.
    pub async fn connect(url: &SecretString, max_connections: usize) -> Result<Store, StoreError> {
        let config: tokio_postgres::Config = url
            .expose_secret()
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Url(e.to_string()))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(2))
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = Store { pool };
        migrate::run(&mut store.client().await?).await?;
        Ok(store)
    }

    pub async fn client(&self) -> Result<Client, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// Whether the store answers a trivial query.
    pub async fn ping(&self) -> bool {
        match self.client().await {
            Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }
}

/// Serializes work on one entity across every worker process until the transaction ends.
pub async fn lock_entity(tx: &impl GenericClient, key: &str) -> Result<(), StoreError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&key],
    )
    .await?;
    Ok(())
}

/// What the inbox holds for an event already handled.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRecord {
    pub status: String,
    pub target_id: Option<String>,
}

pub async fn inbox_get(
    c: &impl GenericClient,
    destination: &str,
    key: &str,
) -> Result<Option<InboxRecord>, StoreError> {
    let row = c
        .query_opt(
            "SELECT status, target_id FROM inbox WHERE destination = $1 AND idempotency_key = $2",
            &[&destination, &key],
        )
        .await?;
    Ok(row.map(|r| InboxRecord {
        status: r.get(0),
        target_id: r.get(1),
    }))
}

/// One handled event, for the inbox and the journal.
#[derive(Debug, Clone)]
pub struct Handled<'a> {
    pub destination: &'a str,
    pub idempotency_key: &'a str,
    pub event_id: Uuid,
    pub tenant: &'a str,
    pub source: &'a str,
    pub event_type: &'a str,
    pub subject: &'a str,
    pub invoice_number: Option<&'a str>,
    pub received_at: DateTime<Utc>,
    /// applied | suppressed | skipped
    pub status: &'a str,
    pub target_id: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// Records the outcome in the inbox (so a redelivery is recognised) and in the journal.
pub async fn inbox_record(c: &impl GenericClient, h: &Handled<'_>) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO inbox (destination, idempotency_key, event_id, tenant, source, event_type, subject,
                            status, target_id, detail, received_at, applied_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, clock_timestamp())
         ON CONFLICT (destination, idempotency_key) DO UPDATE
           SET status = EXCLUDED.status, target_id = EXCLUDED.target_id, detail = EXCLUDED.detail,
               event_id = EXCLUDED.event_id, applied_at = clock_timestamp()",
        &[
            &h.destination,
            &h.idempotency_key,
            &h.event_id,
            &h.tenant,
            &h.source,
            &h.event_type,
            &h.subject,
            &h.status,
            &h.target_id,
            &h.detail,
            &h.received_at,
        ],
    )
    .await?;
    journal(c, h.tenant, Some(h), h.status, h.target_id, h.detail).await
}

/// Appends a journal line; `event` is absent for steps not tied to one event.
pub async fn journal(
    c: &impl GenericClient,
    tenant: &str,
    event: Option<&Handled<'_>>,
    step: &str,
    target_id: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO journal (tenant, destination, event_id, idempotency_key, event_type, subject,
                              invoice_number, step, target_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &tenant,
            &event.map(|e| e.destination),
            &event.map(|e| e.event_id),
            &event.map(|e| e.idempotency_key),
            &event.map(|e| e.event_type),
            &event.map(|e| e.subject),
            &event.and_then(|e| e.invoice_number),
            &step,
            &target_id,
            &detail,
        ],
    )
    .await?;
    Ok(())
}

/// The id in `other_system` linked to `id` in `system`.
pub async fn link_get(
    c: &impl GenericClient,
    tenant: &str,
    entity: &str,
    system: &str,
    id: &str,
    other_system: &str,
) -> Result<Option<String>, StoreError> {
    let row = c
        .query_opt(
            "SELECT other_id FROM links
             WHERE tenant = $1 AND entity = $2 AND system = $3 AND id = $4 AND other_system = $5",
            &[&tenant, &entity, &system, &id, &other_system],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Links two ids of the same entity, in both directions; the newest link wins.
pub async fn link_put(
    c: &impl GenericClient,
    tenant: &str,
    entity: &str,
    a: (&str, &str),
    b: (&str, &str),
) -> Result<(), StoreError> {
    for ((system, id), (other_system, other_id)) in [(a, b), (b, a)] {
        c.execute(
            "INSERT INTO links (tenant, entity, system, id, other_system, other_id)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant, entity, system, id, other_system) DO UPDATE SET other_id = EXCLUDED.other_id",
            &[&tenant, &entity, &system, &id, &other_system, &other_id],
        )
        .await?;
    }
    Ok(())
}

/// Records `version` for a source object and says whether the event may be applied: false only
/// when a strictly newer version was already applied, so the caller drops the stale event. An
/// equal version is applied: providers' times have coarse precision (QuickBooks'
/// `LastUpdatedTime` is whole seconds), so a create and a void in the same second share a
/// version, and dropping the second would lose the void. Thin events re-read the object, so
/// applying an equal version writes current state.
pub async fn version_advance(
    c: &impl GenericClient,
    tenant: &str,
    system: &str,
    entity: &str,
    id: &str,
    version: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let row = c
        .query_opt(
            "INSERT INTO entity_versions (tenant, system, entity, id, version)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, system, entity, id) DO UPDATE SET version = EXCLUDED.version
               WHERE entity_versions.version <= EXCLUDED.version
             RETURNING version",
            &[&tenant, &system, &entity, &id, &version],
        )
        .await?;
    Ok(row.is_some())
}

/// Remembers what ledgerhook wrote to an object, summarised by `fingerprint`.
pub async fn write_record(
    c: &impl GenericClient,
    tenant: &str,
    system: &str,
    entity: &str,
    id: &str,
    fingerprint: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO writes (tenant, system, entity, id, fingerprint) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant, system, entity, id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, written_at = now()",
        &[&tenant, &system, &entity, &id, &fingerprint],
    )
    .await?;
    Ok(())
}

/// Whether the object's current state is exactly what ledgerhook last wrote to it: then the
/// webhook about it is the echo of that write.
pub async fn is_own_write(
    c: &impl GenericClient,
    tenant: &str,
    system: &str,
    entity: &str,
    id: &str,
    fingerprint: &str,
) -> Result<bool, StoreError> {
    let row = c
        .query_opt(
            "SELECT 1 FROM writes WHERE tenant = $1 AND system = $2 AND entity = $3 AND id = $4 AND fingerprint = $5",
            &[&tenant, &system, &entity, &id, &fingerprint],
        )
        .await?;
    Ok(row.is_some())
}

/// A dead letter as it is first recorded.
#[derive(Debug, Clone)]
pub struct NewDeadLetter<'a> {
    pub destination: &'a str,
    pub tenant: &'a str,
    pub source: &'a str,
    pub event_type: &'a str,
    pub event_id: Option<Uuid>,
    pub idempotency_key: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub invoice_number: Option<&'a str>,
    pub event: &'a serde_json::Value,
    /// `permanent` (the target refused), `exhausted` (the retry ladder ran out) or `poison`
    /// (the message exceeded the queue's delivery limit).
    pub reason_class: &'a str,
    pub reason: &'a str,
}

pub async fn dead_letter_insert(
    c: &impl GenericClient,
    d: &NewDeadLetter<'_>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    c.execute(
        "INSERT INTO dead_letters (id, destination, tenant, source, event_type, event_id,
                                   idempotency_key, subject, invoice_number, event, reason_class,
                                   reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &id,
            &d.destination,
            &d.tenant,
            &d.source,
            &d.event_type,
            &d.event_id,
            &d.idempotency_key,
            &d.subject,
            &d.invoice_number,
            d.event,
            &d.reason_class,
            &d.reason,
        ],
    )
    .await?;
    Ok(id)
}

/// One failed attempt to apply an event, as support sees it.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub destination: &'a str,
    pub idempotency_key: &'a str,
    pub event_id: Uuid,
    /// 1 for the first failure.
    pub attempt: i32,
    /// `transient`, `permanent` or `poison`.
    pub class: &'a str,
    /// The target's HTTP status, when it answered.
    pub http_status: Option<i32>,
    /// Why, with anything secret already removed.
    pub message: &'a str,
}

pub async fn attempt_insert(c: &impl GenericClient, a: &NewAttempt<'_>) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO attempts (destination, idempotency_key, event_id, attempt, class, http_status,
                               message)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &a.destination,
            &a.idempotency_key,
            &a.event_id,
            &a.attempt,
            &a.class,
            &a.http_status,
            &a.message,
        ],
    )
    .await?;
    Ok(())
}

/// One connection's OAuth2 token set. `SecretString` keeps the tokens out of `Debug` output.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub expires_at: DateTime<Utc>,
    /// When the provider issued it (kept in `updated_at`); with `expires_at` it gives the lifetime.
    pub issued_at: DateTime<Utc>,
    /// Fingerprint of the configured refresh token the set descends from; see migration 0002.
    pub seed: Option<String>,
}

pub async fn token_get(
    c: &impl GenericClient,
    connection: &str,
) -> Result<Option<TokenSet>, StoreError> {
    let row = c
        .query_opt(
            "SELECT access_token, refresh_token, expires_at, updated_at, seed
             FROM oauth_tokens WHERE connection = $1",
            &[&connection],
        )
        .await?;
    Ok(row.map(|r| TokenSet {
        access_token: SecretString::from(r.get::<_, String>(0)),
        refresh_token: SecretString::from(r.get::<_, String>(1)),
        expires_at: r.get(2),
        issued_at: r.get(3),
        seed: r.get(4),
    }))
}

/// Replaces the connection's token set. Callers commit before using the new access token, so a
/// rotated refresh token is never lost to a crash after the provider retired the old one.
pub async fn token_put(
    c: &impl GenericClient,
    connection: &str,
    set: &TokenSet,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO oauth_tokens (connection, access_token, refresh_token, expires_at, updated_at, seed)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (connection) DO UPDATE
           SET access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
               expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at, seed = EXCLUDED.seed",
        &[
            &connection,
            &set.access_token.expose_secret(),
            &set.refresh_token.expose_secret(),
            &set.expires_at,
            &set.issued_at,
            &set.seed,
        ],
    )
    .await?;
    Ok(())
}

/// Announces a multi-call write of invoice `number` to `system`, committed at once on a
/// connection of its own so that it stands even when the write's transaction rolls back.
pub async fn write_intent_begin(
    store: &Store,
    tenant: &str,
    system: &str,
    number: &str,
) -> Result<(), StoreError> {
    store
        .client()
        .await?
        .execute(
            "INSERT INTO write_intents (tenant, system, invoice_number) VALUES ($1, $2, $3)
             ON CONFLICT (tenant, system, invoice_number)
             DO UPDATE SET started_at = clock_timestamp()",
            &[&tenant, &system, &number],
        )
        .await?;
    Ok(())
}

/// Removes the intent in the write's own transaction: it is gone when the write commits.
pub async fn write_intent_end(
    c: &impl GenericClient,
    tenant: &str,
    system: &str,
    number: &str,
) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM write_intents WHERE tenant = $1 AND system = $2 AND invoice_number = $3",
        &[&tenant, &system, &number],
    )
    .await?;
    Ok(())
}

/// Whether a write of invoice `number` to `system` started within `within` and has not
/// committed: its writer failed part-way and will retry, or is still at it.
pub async fn write_intent_active(
    c: &impl GenericClient,
    tenant: &str,
    system: &str,
    number: &str,
    within: std::time::Duration,
) -> Result<bool, StoreError> {
    let secs = within.as_secs_f64();
    Ok(c.query_opt(
        "SELECT 1 FROM write_intents
              WHERE tenant = $1 AND system = $2 AND invoice_number = $3
                AND started_at > clock_timestamp() - make_interval(secs => $4)",
        &[&tenant, &system, &number, &secs],
    )
    .await?
    .is_some())
}
