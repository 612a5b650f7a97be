//! Embedded, ordered SQL migrations, applied at start under an advisory lock so several
//! processes starting together apply each one exactly once.

use deadpool_postgres::Object;

use super::StoreError;

const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_oauth_seed.sql")),
    (3, include_str!("migrations/0003_support.sql")),
    (4, include_str!("migrations/0004_refunds.sql")),
    (5, include_str!("migrations/0005_support_search.sql")),
    (6, include_str!("migrations/0006_write_intents.sql")),
    (7, include_str!("migrations/0007_rate_limit_shares.sql")),
];

/// An arbitrary constant: the key of the advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x6c65_6467_6572; // "ledger"

pub(super) async fn run(client: &mut Object) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ledgerhook_migrations (
             version    integer     PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM ledgerhook_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO ledgerhook_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        tracing::info!(version, "applied store migration");
    }
    tx.commit().await?;
    Ok(())
}
