//! End to end: a Stripe refund of a paid invoice, reported by Stripe several ways and more than
//! once, is recorded once in accounting (a Xero credit note refunded by a payment; a QuickBooks
//! refund receipt) and shown on the HubSpot invoice, to the cent.

mod support;

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use support::{dec, Env, GLOBEX_HUBSPOT_TOKEN, XERO_TENANT};

const WAIT: Duration = Duration::from_secs(40);
/// A refund waiting for its payment goes through the retry ladder (5 s, then 30 s).
const RETRY_WAIT: Duration = Duration::from_secs(90);

fn xero_invoice<'a>(state: &'a Value, number: &str) -> Option<&'a Value> {
    state["xero"][XERO_TENANT]["invoices"]
        .as_array()?
        .iter()
        .find(|i| i["InvoiceNumber"] == number)
}

fn xero_credit_notes<'a>(state: &'a Value, number: &str) -> Vec<&'a Value> {
    state["xero"][XERO_TENANT]["credit_notes"]
        .as_array()
        .map(|all| all.iter().filter(|c| c["Reference"] == number).collect())
        .unwrap_or_default()
}

/// The refunds paid out: payments against a credit note.
fn xero_refund_payments(state: &Value) -> Vec<&Value> {
    state["xero"][XERO_TENANT]["payments"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|p| p["PaymentType"] == "ARCREDITPAYMENT")
                .collect()
        })
        .unwrap_or_default()
}

fn hubspot_invoice<'a>(state: &'a Value, portal: &str, number: &str) -> Option<&'a Value> {
    state["hubspot"][portal]["objects"]["invoices"]
        .as_array()?
        .iter()
        .find(|i| i["properties"]["hs_number"] == number)
}

/// The refunded amount HubSpot shows on the invoice, as the exact decimal of its string.
fn hubspot_refunded(state: &Value, portal: &str, number: &str) -> Option<Decimal> {
    let text = hubspot_invoice(state, portal, number)?["properties"]["ledgerhook_amount_refunded"]
        .as_str()?;
    text.parse().ok()
}

fn quickbooks<'a>(state: &'a Value, key: &str) -> Vec<&'a Value> {
    state["quickbooks"]
        .as_object()
        .and_then(|all| all.values().find(|c| c["tenant"] == "globex"))
        .and_then(|c| c[key].as_array())
        .map(|all| all.iter().collect())
        .unwrap_or_default()
}

/// A HubSpot invoice of 1,234.56 USD, in Xero, paid through Stripe (invoice and payment intent).
async fn paid_in_xero(env: &Env, number: &str, invoice: &str, intent: &str) {
    support::hubspot_invoice(
        env,
        number,
        &[("Annual plan", "1", "1000.00"), ("Setup", "2", "117.28")],
    )
    .await;
    env.wait_for(WAIT, "the invoice in Xero", |s| {
        xero_invoice(s, number).is_some()
    })
    .await;
    let paid =
        support::stripe_invoice_paid(&format!("evt_paid_{invoice}"), invoice, number, 123_456);
    assert_eq!(env.post_stripe(&paid).await, 200);
    let intent_event =
        support::stripe_payment_intent_for(&format!("evt_pi_{intent}"), intent, invoice, 123_456);
    assert_eq!(env.post_stripe(&intent_event).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stripe_refund_reported_many_times_is_one_xero_credit_note_refunded_once() {
    let env = Env::start(2).await;
    paid_in_xero(&env, "INV-3001", "in_3001", "pi_3001").await;
    env.wait_for(WAIT, "the Xero invoice paid", |s| {
        xero_invoice(s, "INV-3001").is_some_and(|i| i["Status"] == "PAID")
    })
    .await;

    // Stripe reports a 300.10 refund as refund.created (delivered twice), as charge.refunded
    // with the refund listed, and as charge.refunded with only the charge's refunded total.
    let created =
        support::stripe_refund_created("evt_re_3001a", "re_3001a", "ch_3001", "pi_3001", 30_010);
    for _ in 0..2 {
        assert_eq!(env.post_stripe(&created).await, 200);
    }
    let listed = support::stripe_charge_refunded(
        "evt_ch_3001a",
        "ch_3001",
        "pi_3001",
        123_456,
        &[("re_3001a", 30_010)],
        true,
    );
    let total = support::stripe_charge_refunded(
        "evt_ch_3001b",
        "ch_3001",
        "pi_3001",
        123_456,
        &[("re_3001a", 30_010)],
        false,
    );
    assert_eq!(env.post_stripe(&listed).await, 200);
    assert_eq!(env.post_stripe(&total).await, 200);

    env.wait_for(WAIT, "the refund in Xero and in HubSpot", |s| {
        !xero_refund_payments(s).is_empty() && hubspot_refunded(s, "acme", "INV-3001").is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    let notes = xero_credit_notes(&state, "INV-3001");
    assert_eq!(notes.len(), 1, "exactly one credit note: {notes:#?}");
    let note = notes[0];
    assert_eq!(note["Type"], "ACCRECCREDIT");
    assert_eq!(dec(&note["Total"]), Decimal::new(30_010, 2));
    assert_eq!(dec(&note["RemainingCredit"]), Decimal::ZERO);
    assert_eq!(
        note["Status"], "PAID",
        "the credit note is refunded in full"
    );
    let refunds = xero_refund_payments(&state);
    assert_eq!(refunds.len(), 1, "exactly one refund payment: {refunds:#?}");
    assert_eq!(dec(&refunds[0]["Amount"]), Decimal::new(30_010, 2));
    assert_eq!(
        refunds[0]["CreditNote"]["CreditNoteID"],
        note["CreditNoteID"]
    );
    // As in Xero, the refund does not un-pay the invoice.
    let invoice = xero_invoice(&state, "INV-3001").expect("invoice");
    assert_eq!(invoice["Status"], "PAID");
    assert_eq!(dec(&invoice["AmountPaid"]), Decimal::new(123_456, 2));
    let shown = hubspot_invoice(&state, "acme", "INV-3001").expect("HubSpot invoice");
    assert_eq!(
        hubspot_refunded(&state, "acme", "INV-3001"),
        Some(Decimal::new(30_010, 2))
    );
    assert_eq!(
        shown["properties"]["ledgerhook_refund_status"],
        "partially_refunded"
    );
    assert_eq!(shown["properties"]["hs_invoice_status"], "paid");

    // The rest is refunded later: a second credit note for exactly what was left, and HubSpot
    // shows the invoice refunded in full.
    let rest =
        support::stripe_refund_created("evt_re_3001b", "re_3001b", "ch_3001", "pi_3001", 93_446);
    assert_eq!(env.post_stripe(&rest).await, 200);
    let all = support::stripe_charge_refunded(
        "evt_ch_3001c",
        "ch_3001",
        "pi_3001",
        123_456,
        &[("re_3001a", 30_010), ("re_3001b", 93_446)],
        false,
    );
    assert_eq!(env.post_stripe(&all).await, 200);
    env.wait_for(WAIT, "HubSpot showing the whole refund", |s| {
        hubspot_refunded(s, "acme", "INV-3001") == Some(Decimal::new(123_456, 2))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    let mut totals: Vec<Decimal> = xero_credit_notes(&state, "INV-3001")
        .iter()
        .map(|c| dec(&c["Total"]))
        .collect();
    totals.sort();
    assert_eq!(totals, [Decimal::new(30_010, 2), Decimal::new(93_446, 2)]);
    let paid_back: Decimal = xero_refund_payments(&state)
        .iter()
        .map(|p| dec(&p["Amount"]))
        .sum();
    assert_eq!(
        paid_back,
        Decimal::new(123_456, 2),
        "never more than was paid"
    );
    let shown = hubspot_invoice(&state, "acme", "INV-3001").expect("HubSpot invoice");
    assert_eq!(shown["properties"]["ledgerhook_refund_status"], "refunded");
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stripe_refund_is_one_quickbooks_refund_receipt_and_its_echo_is_dropped() {
    let env = Env::start(1).await;
    support::hubspot_invoice_as(
        &env,
        GLOBEX_HUBSPOT_TOKEN,
        "GLX-3002",
        &[("Support plan", "3", "150.00"), ("Travel", "1", "89.99")],
    )
    .await;
    env.wait_for(WAIT, "the invoice in QuickBooks", |s| {
        quickbooks(s, "invoices")
            .iter()
            .any(|i| i["DocNumber"] == "GLX-3002")
    })
    .await;
    let paid = support::stripe_invoice_paid("evt_paid_glx_3002", "in_glx_3002", "GLX-3002", 53_999);
    assert_eq!(env.post_stripe_for("globex", &paid).await, 200);
    let intent =
        support::stripe_payment_intent_for("evt_pi_glx_3002", "pi_glx_3002", "in_glx_3002", 53_999);
    assert_eq!(env.post_stripe_for("globex", &intent).await, 200);
    env.wait_for(WAIT, "the QuickBooks invoice paid", |s| {
        quickbooks(s, "invoices")
            .iter()
            .any(|i| i["DocNumber"] == "GLX-3002" && dec(&i["Balance"]).is_zero())
    })
    .await;

    let created = support::stripe_refund_created(
        "evt_re_glx_3002",
        "re_glx_3002",
        "ch_glx_3002",
        "pi_glx_3002",
        8_999,
    );
    for _ in 0..2 {
        assert_eq!(env.post_stripe_for("globex", &created).await, 200);
    }
    let total = support::stripe_charge_refunded(
        "evt_ch_glx_3002",
        "ch_glx_3002",
        "pi_glx_3002",
        53_999,
        &[("re_glx_3002", 8_999)],
        false,
    );
    assert_eq!(env.post_stripe_for("globex", &total).await, 200);
    env.wait_for(WAIT, "the refund receipt and HubSpot showing it", |s| {
        !quickbooks(s, "refund_receipts").is_empty()
            && hubspot_refunded(s, "globex", "GLX-3002").is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    let receipts = quickbooks(&state, "refund_receipts");
    assert_eq!(
        receipts.len(),
        1,
        "exactly one refund receipt: {receipts:#?}"
    );
    let receipt = receipts[0];
    assert_eq!(dec(&receipt["TotalAmt"]), Decimal::new(8_999, 2));
    // The reports are applied concurrently; whichever took the invoice first names the
    // receipt: the refund itself, or the charge whose refunded total reported it.
    let reference = receipt["PaymentRefNum"].as_str().expect("a reference");
    assert!(
        ["re_glx_3002", "ch_glx_3002"].contains(&reference),
        "{reference}"
    );
    assert_eq!(
        receipt["PrivateNote"],
        format!("Refund of invoice GLX-3002 ({reference})")
    );
    let invoice = quickbooks(&state, "invoices")
        .into_iter()
        .find(|i| i["DocNumber"] == "GLX-3002")
        .expect("invoice");
    assert_eq!(
        receipt["CustomerRef"]["value"],
        invoice["CustomerRef"]["value"]
    );
    assert_eq!(dec(&invoice["Balance"]), Decimal::ZERO, "still paid");
    assert_eq!(
        hubspot_refunded(&state, "globex", "GLX-3002"),
        Some(Decimal::new(8_999, 2))
    );
    // QuickBooks announced the receipt; the CRM worker knew it for ledgerhook's own.
    let suppressed = env.journal("suppressed").await;
    assert!(
        suppressed
            .iter()
            .any(|(_, kind, detail)| kind == "payment.refunded" && detail.contains("own refund")),
        "the refund receipt's echo is suppressed: {suppressed:?}"
    );
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_before_its_payment_is_retried_and_recorded_once_the_payment_is() {
    let env = Env::start(1).await;
    support::hubspot_invoice(
        &env,
        "INV-3003",
        &[("Annual plan", "1", "1000.00"), ("Setup", "2", "117.28")],
    )
    .await;
    env.wait_for(WAIT, "the invoice in Xero", |s| {
        xero_invoice(s, "INV-3003").is_some()
    })
    .await;
    let created =
        support::stripe_refund_created("evt_re_3003", "re_3003", "ch_3003", "pi_3003", 123_456);
    assert_eq!(env.post_stripe(&created).await, 200);
    // Nothing tells ledgerhook yet which invoice pi_3003 paid: the refund waits, never dropped.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let retried = env.journal("retried").await;
        if retried
            .iter()
            .any(|(d, kind, _)| d == "accounting" && kind == "payment.refunded")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refund is retried: {retried:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(xero_credit_notes(&env.state().await, "INV-3003").is_empty());

    let paid = support::stripe_invoice_paid("evt_paid_in_3003", "in_3003", "INV-3003", 123_456);
    assert_eq!(env.post_stripe(&paid).await, 200);
    let intent = support::stripe_payment_intent_for("evt_pi_3003", "pi_3003", "in_3003", 123_456);
    assert_eq!(env.post_stripe(&intent).await, 200);
    env.wait_for(RETRY_WAIT, "the refund in Xero", |s| {
        !xero_credit_notes(s, "INV-3003").is_empty()
            && hubspot_refunded(s, "acme", "INV-3003").is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    let notes = xero_credit_notes(&state, "INV-3003");
    assert_eq!(notes.len(), 1, "exactly one credit note: {notes:#?}");
    assert_eq!(dec(&notes[0]["Total"]), Decimal::new(123_456, 2));
    assert_eq!(notes[0]["Status"], "PAID");
    let refunds = xero_refund_payments(&state);
    assert_eq!(refunds.len(), 1);
    assert_eq!(dec(&refunds[0]["Amount"]), Decimal::new(123_456, 2));
    let shown = hubspot_invoice(&state, "acme", "INV-3003").expect("HubSpot invoice");
    assert_eq!(shown["properties"]["ledgerhook_refund_status"], "refunded");
    assert_eq!(
        hubspot_refunded(&state, "acme", "INV-3003"),
        Some(Decimal::new(123_456, 2))
    );
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}
