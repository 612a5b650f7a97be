//! `ledgerhook-accounting-worker --config FILE`: applies `<prefix>.accounting` to accounting systems.

use ledgerhook_shared::broker::Destination;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ledgerhook_workers::cli::main(Destination::Accounting).await
}
