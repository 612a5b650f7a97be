//! Rate limits shared between worker processes through a real PostgreSQL: each process keeps to
//! its part of a connection's limits, a 429 one process is given pauses the others, and a process
//! that stops (or dies) gives its part back.

use std::time::Duration;

use futures::FutureExt;
use ledgerhook_shared::store::Store;
use ledgerhook_tests::database::TestDatabase;
use ledgerhook_workers::{
    limits::{Limits, RateLimiter},
    shared_limits::SharedLimits,
};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const XERO: &str = "acme/xero";

/// One worker process: its own pool on the shared database and its own limiters.
struct Process {
    store: Store,
    limits: std::sync::Arc<SharedLimits>,
    xero: std::sync::Arc<RateLimiter>,
}

impl Process {
    async fn start(db: &TestDatabase) -> Process {
        let store = Store::connect(&SecretString::from(db.url.clone()), 2)
            .await
            .expect("store connects and migrates");
        let limits = SharedLimits::new();
        let xero = limits.limiter(XERO, Limits::XERO);
        Process {
            store,
            limits,
            xero,
        }
    }

    /// Sends one request to Xero, as a connector would.
    async fn call_xero(&self) {
        drop(self.xero.acquire().await);
    }

    async fn check_in(&self) {
        self.limits.check_in(&self.store).await.expect("check in");
    }
}

#[tokio::test]
async fn processes_calling_one_connection_split_its_limits_and_share_its_pauses() {
    let db = TestDatabase::create("lhlimits").await;
    let a = Process::start(&db).await;
    let b = Process::start(&db).await;

    // Alone, A may use all of Xero's 60 calls a minute and 5 at once.
    a.call_xero().await;
    a.check_in().await;
    assert_eq!(a.xero.effective(), Limits::XERO);
    // B has not called Xero yet, but would be the second caller.
    b.check_in().await;
    assert_eq!(b.xero.share(), 2);

    // Both call: each keeps to half, so together they stay within Xero's limits.
    b.call_xero().await;
    b.check_in().await;
    a.check_in().await;
    for p in [&a, &b] {
        let part = p.xero.effective();
        assert_eq!((part.requests, part.concurrent), (30, 2));
    }
    let held = [a.xero.acquire().await, a.xero.acquire().await];
    assert!(
        a.xero.acquire().now_or_never().is_none(),
        "a third call at once from A would pass A's part of Xero's five"
    );
    drop(held);

    // Xero answers A with 429 and Retry-After 30: B pauses too, once both have checked in.
    a.xero.pause_for(Duration::from_secs(30));
    a.check_in().await;
    assert!(b.xero.acquire().now_or_never().is_some(), "not told yet");
    b.check_in().await;
    assert!(
        b.xero.acquire().now_or_never().is_none(),
        "B honours the Retry-After A was given"
    );

    // B stops: it leaves, and A takes the whole limit back at its next check-in.
    let stopped = CancellationToken::new();
    stopped.cancel();
    b.limits.clone().run(b.store.clone(), stopped).await;
    a.check_in().await;
    assert_eq!(a.xero.share(), 1);

    // A third process is killed without leaving: it counts until its check-ins are older than
    // the liveness period (aged here in the table rather than waited for).
    let c = Process::start(&db).await;
    c.call_xero().await;
    c.check_in().await;
    a.check_in().await;
    assert_eq!(a.xero.share(), 2);
    let client = a.store.client().await.expect("client");
    client
        .execute(
            "UPDATE rate_limit_members SET seen_at = seen_at - interval '1 minute'",
            &[],
        )
        .await
        .expect("age the check-ins");
    a.check_in().await;
    assert_eq!(a.xero.share(), 1, "the dead process no longer counts");

    drop((a, b, c));
    db.drop_now().await;
}
