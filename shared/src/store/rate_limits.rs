//! Rate-limit shares between worker processes. A provider counts its limits per connection,
//! however many processes call it, so each process checks in the connections it calls and keeps
//! to its part; a 429's Retry-After is kept here for every process to honour. Times are the
//! database's, so the processes' clocks need not agree.

use std::{collections::HashMap, time::Duration};

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::StoreError;

/// What the other processes say about one connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionShare {
    /// Processes that checked the connection in within the liveness period, this one included
    /// when it did.
    pub processes: u32,
    /// What is left of a pause some process was asked for.
    pub paused_for: Option<Duration>,
}

/// Checks `process` in as a caller of each of `calling`, and answers, for each of `watching`
/// (which should include `calling`), how many processes checked it in within `live` and any
/// pause in force. Members silent for longer than `live` are forgotten, and so is this process
/// for connections it no longer calls.
pub async fn rate_limit_check_in(
    c: &impl GenericClient,
    process: Uuid,
    calling: &[String],
    watching: &[String],
    live: Duration,
) -> Result<HashMap<String, ConnectionShare>, StoreError> {
    let live = live.as_secs_f64();
    c.execute(
        "INSERT INTO rate_limit_members (connection, process)
         SELECT unnest($1::text[]), $2
         ON CONFLICT (connection, process) DO UPDATE SET seen_at = clock_timestamp()",
        &[&calling, &process],
    )
    .await?;
    c.execute(
        "DELETE FROM rate_limit_members
         WHERE seen_at < clock_timestamp() - make_interval(secs => $1)
            OR (process = $2 AND NOT connection = ANY($3))",
        &[&live, &process, &calling],
    )
    .await?;
    c.execute(
        "DELETE FROM rate_limit_pauses WHERE paused_until < clock_timestamp()",
        &[],
    )
    .await?;
    let rows = c
        .query(
            "SELECT w.connection,
                    (SELECT count(*) FROM rate_limit_members m
                     WHERE m.connection = w.connection)::int4,
                    (SELECT extract(epoch FROM p.paused_until - clock_timestamp())::float8
                     FROM rate_limit_pauses p WHERE p.connection = w.connection)
             FROM unnest($1::text[]) AS w(connection)",
            &[&watching],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let paused_for = r
                .get::<_, Option<f64>>(2)
                .filter(|s| *s > 0.0)
                .map(Duration::from_secs_f64);
            let share = ConnectionShare {
                processes: u32::try_from(r.get::<_, i32>(1)).unwrap_or(0),
                paused_for,
            };
            (r.get::<_, String>(0), share)
        })
        .collect())
}

/// Every process pauses `connection` for `retry_after` from now (a longer pause in force stays).
pub async fn rate_limit_pause(
    c: &impl GenericClient,
    connection: &str,
    retry_after: Duration,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO rate_limit_pauses (connection, paused_until)
         VALUES ($1, clock_timestamp() + make_interval(secs => $2))
         ON CONFLICT (connection) DO UPDATE
           SET paused_until = GREATEST(rate_limit_pauses.paused_until, EXCLUDED.paused_until)",
        &[&connection, &retry_after.as_secs_f64()],
    )
    .await?;
    Ok(())
}

/// `process` stops: the others take its part at their next check-in.
pub async fn rate_limit_leave(c: &impl GenericClient, process: Uuid) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM rate_limit_members WHERE process = $1",
        &[&process],
    )
    .await?;
    Ok(())
}
