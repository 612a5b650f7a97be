//! End to end from the accounting side and through failures: invoices and payments made in
//! Xero reach HubSpot, a payment that arrives before its invoice waits for it, and a target
//! answering 500s and 429s for a while loses nothing once it recovers.

mod support;

use std::time::Duration;

use rust_decimal::Decimal;

use ledgerhook_shared::broker::Destination;
use reqwest::Method;
use serde_json::{json, Value};
use support::{dec, Env, XERO_TENANT};

const WAIT: Duration = Duration::from_secs(40);

fn hubspot_invoice<'a>(state: &'a Value, number: &str) -> Option<&'a Value> {
    state["hubspot"]["acme"]["objects"]["invoices"]
        .as_array()?
        .iter()
        .find(|i| i["properties"]["hs_number"] == number)
}

fn xero_invoices<'a>(state: &'a Value, number: &str) -> Vec<&'a Value> {
    state["xero"][XERO_TENANT]["invoices"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|i| i["InvoiceNumber"] == number)
                .collect()
        })
        .unwrap_or_default()
}

/// A contact and an approved invoice made in Xero; returns the invoice id.
async fn xero_invoice(env: &Env, number: &str, quantity: u32, unit: &str) -> String {
    let contact = env
        .xero(
            Method::PUT,
            "Contacts",
            json!({ "Contacts": [{ "Name": format!("Globex {number}"), "EmailAddress": format!("ap+{number}@globex.example") }] }),
        )
        .await;
    let contact_id = contact["Contacts"][0]["ContactID"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let body = format!(
        r#"{{"Invoices":[{{"Type":"ACCREC","Contact":{{"ContactID":"{contact_id}"}},"InvoiceNumber":"{number}",
        "Status":"AUTHORISED","CurrencyCode":"USD","LineAmountTypes":"NoTax","Date":"2026-12-01","DueDate":"2026-12-31",
        "LineItems":[{{"Description":"Consulting","Quantity":{quantity},"UnitAmount":{unit},"AccountCode":"200"}}]}}]}}"#
    );
    let invoice = env
        .xero(
            Method::PUT,
            "Invoices",
            serde_json::from_str(&body).expect("json"),
        )
        .await;
    invoice["Invoices"][0]["InvoiceID"]
        .as_str()
        .expect("invoice id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn xero_invoices_payments_and_voids_reach_hubspot() {
    let env = Env::start(1).await;
    let paid = xero_invoice(&env, "INV-2001", 3, "333.33").await;
    let voided = xero_invoice(&env, "INV-2002", 1, "50.00").await;
    env.wait_for(WAIT, "both invoices in HubSpot", |s| {
        hubspot_invoice(s, "INV-2001")
            .is_some_and(|i| i["properties"]["hs_amount_billed"] == "999.99")
            && hubspot_invoice(s, "INV-2002").is_some()
    })
    .await;

    let payment = env
        .xero(
            Method::PUT,
            "Payments",
            serde_json::from_str(&format!(
                r#"{{"Payments":[{{"Invoice":{{"InvoiceID":"{paid}"}},"Account":{{"Code":"090"}},"Date":"2026-12-02","Amount":999.99}}]}}"#
            ))
            .expect("json"),
        )
        .await;
    assert_eq!(
        payment["Payments"][0]["Status"], "AUTHORISED",
        "{payment:#}"
    );
    env.xero(
        Method::POST,
        &format!("Invoices/{voided}"),
        json!({ "Invoices": [{ "InvoiceID": voided, "Status": "VOIDED" }] }),
    )
    .await;

    let state = env
        .wait_for(WAIT, "paid and voided in HubSpot", |s| {
            hubspot_invoice(s, "INV-2001")
                .is_some_and(|i| i["properties"]["hs_invoice_status"] == "paid")
                && hubspot_invoice(s, "INV-2002")
                    .is_some_and(|i| i["properties"]["hs_invoice_status"] == "voided")
        })
        .await;
    let invoices = state["hubspot"]["acme"]["objects"]["invoices"]
        .as_array()
        .map(Vec::len);
    assert_eq!(invoices, Some(2), "one HubSpot invoice per Xero invoice");
    // Nothing that came back from HubSpot was written to Xero again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = env.state().await;
    assert_eq!(
        after["xero"][XERO_TENANT]["invoices"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        after["xero"][XERO_TENANT]["payments"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_before_its_invoice_waits_for_it() {
    let env = Env::start(1).await;
    // Stripe reports the payment first; nothing in Xero has that number yet.
    let body = support::stripe_invoice_paid("evt_early_0001", "in_early_0001", "INV-3001", 5_000);
    assert_eq!(env.post_stripe(&body).await, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(xero_invoices(&env.state().await, "INV-3001").is_empty());
    assert!(
        !env.journal("retried").await.is_empty(),
        "the payment is retried, not dropped"
    );

    support::hubspot_invoice(&env, "INV-3001", &[("Setup", "1", "50.00")]).await;
    let state = env
        .wait_for(WAIT, "the early payment applied", |s| {
            xero_invoices(s, "INV-3001")
                .first()
                .is_some_and(|i| i["Status"] == "PAID")
        })
        .await;
    assert_eq!(
        state["xero"][XERO_TENANT]["payments"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_target_failing_for_a_while_loses_nothing() {
    let env = Env::start(1).await;
    env.faults(json!({ "system": "xero", "error_rate": 1.0, "status": 503 }))
        .await;
    for n in 1..=3 {
        support::hubspot_invoice(&env, &format!("INV-400{n}"), &[("Licence", "1", "10.00")]).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        xero_invoices(&env.state().await, "INV-4001").is_empty(),
        "nothing reaches a failing Xero"
    );
    // Then Xero rate-limits for a few calls, then recovers.
    env.clear_faults().await;
    env.faults(json!({ "system": "xero", "rate_limit_next": 3, "retry_after": 1 }))
        .await;
    let state = env
        .wait_for(WAIT, "every invoice in Xero", |s| {
            (1..=3).all(|n| !xero_invoices(s, &format!("INV-400{n}")).is_empty())
        })
        .await;
    for n in 1..=3 {
        assert_eq!(
            xero_invoices(&state, &format!("INV-400{n}")).len(),
            1,
            "INV-400{n} once"
        );
    }
    assert!(!env.journal("retried").await.is_empty());
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}

/// A CRM invoice as a Standard Webhooks sender carries it, at a given version.
fn flow_invoice(kind: &str, total: &str, updated_at: &str) -> Value {
    json!({
        "type": kind,
        "timestamp": updated_at,
        "data": {
            "object": "invoice", "id": "a0X5e000001", "number": "INV-5001", "status": "open",
            "currency": "USD",
            "customer": { "id": "001ACME", "name": "Acme Ltd", "email": "ap@acme.example" },
            "lines": [{ "description": "Retainer", "quantity": "1", "unit_price": total,
                        "amount": { "amount": total, "currency": "USD" } }],
            "total": { "amount": total, "currency": "USD" },
            "updated_at": updated_at
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_older_update_after_a_newer_one_changes_nothing() {
    let env = Env::start(1).await;
    let created = flow_invoice("invoice.created", "100.00", "2026-12-01T10:00:00Z");
    assert_eq!(env.post_flow("msg_5001_a", &created).await, 200);
    let newer = flow_invoice("invoice.updated", "300.00", "2026-12-01T12:00:00Z");
    assert_eq!(env.post_flow("msg_5001_c", &newer).await, 200);
    env.wait_for(WAIT, "the newer total in Xero", |s| {
        xero_invoices(s, "INV-5001")
            .first()
            .is_some_and(|i| dec(&i["Total"]) == Decimal::new(300, 0))
    })
    .await;
    // The update made in between arrives last.
    let older = flow_invoice("invoice.updated", "200.00", "2026-12-01T11:00:00Z");
    assert_eq!(env.post_flow("msg_5001_b", &older).await, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let state = env.state().await;
    let invoices = xero_invoices(&state, "INV-5001");
    assert_eq!(invoices.len(), 1);
    assert_eq!(
        dec(&invoices[0]["Total"]),
        Decimal::new(300, 0),
        "the stale update must not overwrite the newer total"
    );
    let skipped = env.journal("skipped").await;
    assert!(
        skipped
            .iter()
            .any(|(_, _, detail)| detail.contains("newer version")),
        "the stale event is recorded as skipped: {skipped:?}"
    );
    env.finish().await;
}

/// HubSpot builds an invoice in several calls and announces each state. When ledgerhook's
/// write fails after the invoice and its first line exist, and the CRM worker is then away for
/// a while, the half-built invoice's webhooks must not flow back into Xero as a user's change;
/// the CRM worker completes HubSpot when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crm_write_that_fails_part_way_never_flows_back_into_accounting() {
    let mut env = Env::start(1).await;
    // The first line item is made and announced, but its answer is lost.
    env.faults(
        json!({ "system": "hubspot", "fail_after_next": 1, "status": 502,
                       "fail_after_route": "POST /crm/v3/objects/line_items" }),
    )
    .await;
    let contact = env
        .xero(
            Method::PUT,
            "Contacts",
            json!({ "Contacts": [{ "Name": "Initrode", "EmailAddress": "ap@initrode.example" }] }),
        )
        .await;
    let contact_id = contact["Contacts"][0]["ContactID"]
        .as_str()
        .expect("contact id");
    env.xero(
        Method::PUT,
        "Invoices",
        json!({ "Invoices": [{
            "Type": "ACCREC", "Contact": { "ContactID": contact_id }, "InvoiceNumber": "INV-6001",
            "Status": "AUTHORISED", "CurrencyCode": "USD", "LineAmountTypes": "NoTax",
            "Date": "2026-12-01", "DueDate": "2026-12-31",
            "LineItems": [
                { "Description": "Consulting", "Quantity": 2, "UnitAmount": 150.00, "AccountCode": "200" },
                { "Description": "Travel", "Quantity": 1, "UnitAmount": 45.50, "AccountCode": "200" }
            ]
        }] }),
    )
    .await;
    env.wait_for(WAIT, "the write to fail after the first line item", |s| {
        s["faults"]["hubspot"]["fail_after_next"] == 0 && hubspot_invoice(s, "INV-6001").is_some()
    })
    .await;
    // The CRM worker goes away with the invoice half-built; its webhooks reach accounting.
    env.stop_workers(Destination::Crm).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let state = env.state().await;
    let invoices = xero_invoices(&state, "INV-6001");
    assert_eq!(invoices.len(), 1);
    assert_eq!(
        invoices[0]["LineItems"].as_array().map(Vec::len),
        Some(2),
        "Xero keeps both lines while HubSpot is half-built: {:#}",
        invoices[0]
    );
    assert_eq!(dec(&invoices[0]["Total"]), Decimal::new(34550, 2));

    env.start_worker(Destination::Crm).await;
    env.wait_for(WAIT, "the whole invoice in HubSpot", |s| {
        hubspot_invoice(s, "INV-6001")
            .is_some_and(|i| i["properties"]["hs_amount_billed"] == "345.50")
    })
    .await;
    // Let every webhook of the finished invoice be handled.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let state = env.state().await;
    let invoices = xero_invoices(&state, "INV-6001");
    assert_eq!(invoices.len(), 1);
    assert_eq!(dec(&invoices[0]["Total"]), Decimal::new(34550, 2));
    assert_eq!(invoices[0]["LineItems"].as_array().map(Vec::len), Some(2));
    let applied_to_xero: Vec<_> = env
        .journal("applied")
        .await
        .into_iter()
        .filter(|(destination, kind, _)| destination == "accounting" && kind.starts_with("invoice"))
        .collect();
    assert!(
        applied_to_xero.is_empty(),
        "nothing of HubSpot's went back to Xero: {applied_to_xero:?}"
    );
    // Nor did the half-built states end as dead letters for support to sort out: they waited.
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}
