//! End to end with QuickBooks Online as the accounting system: a HubSpot invoice becomes a
//! QuickBooks invoice, and a Stripe payment is recorded against it once, however often sent.

mod support;

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use support::{dec, Env, GLOBEX_HUBSPOT_TOKEN};

const WAIT: Duration = Duration::from_secs(40);

/// The simulated QuickBooks company's collections (the dump is keyed by company).
fn company(state: &Value) -> Option<&Value> {
    state["quickbooks"]
        .as_object()?
        .values()
        .find(|c| c["tenant"] == "globex")
}

fn qbo_invoices<'a>(state: &'a Value, number: &str) -> Vec<&'a Value> {
    company(state)
        .and_then(|c| c["invoices"].as_array())
        .map(|all| all.iter().filter(|i| i["DocNumber"] == number).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hubspot_invoice_paid_in_stripe_is_one_quickbooks_invoice_with_one_payment() {
    let env = Env::start(1).await;
    support::hubspot_invoice_as(
        &env,
        GLOBEX_HUBSPOT_TOKEN,
        "GLX-0042",
        &[("Support plan", "3", "150.00"), ("Travel", "1", "89.99")],
    )
    .await;
    let state = env
        .wait_for(WAIT, "the invoice in QuickBooks", |s| {
            !qbo_invoices(s, "GLX-0042").is_empty()
        })
        .await;
    let invoice = qbo_invoices(&state, "GLX-0042")[0];
    assert_eq!(
        dec(&invoice["TotalAmt"]),
        Decimal::new(53_999, 2),
        "{invoice:#}"
    );
    assert_eq!(dec(&invoice["Balance"]), Decimal::new(53_999, 2));

    let paid = support::stripe_invoice_paid("evt_glx_0042", "in_glx_0042", "GLX-0042", 53_999);
    for _ in 0..3 {
        assert_eq!(env.post_stripe_for("globex", &paid).await, 200);
    }
    env.wait_for(WAIT, "the QuickBooks invoice paid", |s| {
        qbo_invoices(s, "GLX-0042")
            .first()
            .is_some_and(|i| dec(&i["Balance"]).is_zero())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let state = env.state().await;
    let payments = company(&state)
        .and_then(|c| c["payments"].as_array())
        .map(Vec::len);
    assert_eq!(payments, Some(1), "exactly one QuickBooks payment");
    assert_eq!(
        qbo_invoices(&state, "GLX-0042").len(),
        1,
        "exactly one QuickBooks invoice"
    );
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}
