//! Throwaway PostgreSQL databases for tests: each test gets one of its own and drops it at its
//! end, so tests run in parallel against one server without seeing each other's rows.

use uuid::Uuid;

/// The maintenance database tests connect to for `CREATE DATABASE`; `LEDGERHOOK_TEST_PG`
/// overrides it.
pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("LEDGERHOOK_TEST_PG").unwrap_or_else(|_| ADMIN_URL.to_owned())
}

/// A database created for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub name: String,
    /// Its connection URL, on the same server and user as the admin URL.
    pub url: String,
}

impl TestDatabase {
    /// Creates `<prefix>_<uuid>`. Panics with how to start PostgreSQL when it does not answer.
    pub async fn create(prefix: &str) -> TestDatabase {
        let admin = admin_url();
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL answers (deploy/services.sh starts it)");
        tokio::spawn(conn);
        let name = format!("{prefix}_{}", Uuid::now_v7().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let url = admin
            .rsplit_once('/')
            .map(|(base, _)| format!("{base}/{name}"))
            .expect("the admin URL names a database");
        TestDatabase { name, url }
    }

    /// Drops it; see [`drop_database`].
    pub async fn drop_now(&self) {
        drop_database(&self.name).await;
    }
}

/// Drops database `name`, closing any connection still open; a server that went away is left
/// alone.
pub async fn drop_database(name: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let _ = client.batch_execute(&drop).await;
    }
}
