//! `ledgerhook-crm-worker --config FILE`: applies `<prefix>.crm` to CRMs.

use ledgerhook_shared::broker::Destination;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ledgerhook_workers::cli::main(Destination::Crm).await
}
