//! End to end from QuickBooks Online to HubSpot (tenant `globex`): invoices made in QuickBooks
//! (thin Intuit webhooks; the CRM worker reads the invoice back) reach HubSpot with their lines
//! to the cent, QuickBooks payments and voids follow, and echoes stop where they start.

mod support;

use std::time::Duration;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{hubspot_invoice_with_lines, Env, GLOBEX_HUBSPOT_TOKEN};

const WAIT: Duration = Duration::from_secs(40);

fn company(state: &Value) -> Option<&Value> {
    state["quickbooks"]
        .as_object()?
        .values()
        .find(|c| c["tenant"] == "globex")
}

fn qbo_count(state: &Value, collection: &str) -> usize {
    company(state)
        .and_then(|c| c[collection].as_array())
        .map_or(0, Vec::len)
}

fn hubspot_invoices<'a>(state: &'a Value, number: &str) -> Vec<&'a Value> {
    state["hubspot"]["globex"]["objects"]["invoices"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|i| i["properties"]["hs_number"] == number)
                .collect()
        })
        .unwrap_or_default()
}

fn hubspot_status(state: &Value, number: &str) -> Option<String> {
    hubspot_invoices(state, number)
        .first()
        .and_then(|i| i["properties"]["hs_invoice_status"].as_str())
        .map(str::to_owned)
}

/// A customer and an invoice with these lines (description, quantity, unit price) made in
/// QuickBooks, as a bookkeeper would; returns the customer and invoice ids.
async fn qbo_invoice(env: &Env, number: &str, lines: &[(&str, u32, &str)]) -> (String, String) {
    let customer = env
        .quickbooks(
            Method::POST,
            "customer?minorversion=75",
            Some(json!({ "DisplayName": format!("Globex {number}"),
                "PrimaryEmailAddr": { "Address": format!("ap+{number}@globex.example") } })),
        )
        .await;
    let customer_id = customer["Customer"]["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("customer created: {customer:#}"))
        .to_owned();
    let lines: Vec<String> = lines
        .iter()
        .map(|(description, qty, unit)| {
            format!(
                r#"{{"DetailType":"SalesItemLineDetail","Description":"{description}",
                "SalesItemLineDetail":{{"Qty":{qty},"UnitPrice":{unit},"ItemRef":{{"value":"1"}}}}}}"#
            )
        })
        .collect();
    let body = format!(
        r#"{{"CustomerRef":{{"value":"{customer_id}"}},"DocNumber":"{number}","TxnDate":"2026-12-01",
        "DueDate":"2026-12-31","CurrencyRef":{{"value":"USD"}},
        "BillEmail":{{"Address":"ap+{number}@globex.example"}},"Line":[{}]}}"#,
        lines.join(",")
    );
    let invoice = env
        .quickbooks(
            Method::POST,
            "invoice?minorversion=75",
            Some(serde_json::from_str(&body).expect("json")),
        )
        .await;
    let id = invoice["Invoice"]["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("invoice created: {invoice:#}"))
        .to_owned();
    (customer_id, id)
}

/// Checks the HubSpot invoice against the QuickBooks one: one invoice, these line amounts
/// (in any order), the billed amount to the cent.
fn assert_lines(state: &Value, number: &str, amounts: &[Decimal], billed: Decimal) {
    assert_eq!(hubspot_invoices(state, number).len(), 1, "one {number}");
    let (invoice, lines) = hubspot_invoice_with_lines(state, "globex", number).expect(number);
    let mut got: Vec<Decimal> = lines
        .iter()
        .map(|l| {
            let text = l["properties"]["amount"].as_str().expect("amount");
            text.parse().expect("decimal")
        })
        .collect();
    got.sort();
    let mut want = amounts.to_vec();
    want.sort();
    assert_eq!(got, want, "{number} lines: {lines:#?}");
    let billed_text = invoice["properties"]["hs_amount_billed"]
        .as_str()
        .expect("billed");
    assert_eq!(billed_text.parse::<Decimal>().expect("decimal"), billed);
    assert_eq!(invoice["properties"]["hs_currency"], "USD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quickbooks_invoices_payments_and_voids_reach_hubspot_and_stop_there() {
    let env = Env::start(1).await;
    let (customer, paid) = qbo_invoice(
        &env,
        "GLX-7001",
        &[("Support plan", 3, "150.00"), ("Travel", 1, "89.99")],
    )
    .await;
    let (_, voided) = qbo_invoice(&env, "GLX-7002", &[("Setup", 2, "12.345")]).await;
    let state = env
        .wait_for(WAIT, "both invoices open in HubSpot", |s| {
            hubspot_status(s, "GLX-7001").as_deref() == Some("open")
                && hubspot_status(s, "GLX-7002").as_deref() == Some("open")
        })
        .await;
    assert_lines(
        &state,
        "GLX-7001",
        &[Decimal::new(45_000, 2), Decimal::new(8_999, 2)],
        Decimal::new(53_999, 2),
    );
    // 2 × 12.345 is 24.69 in QuickBooks, which keeps amounts to the cent.
    assert_lines(
        &state,
        "GLX-7002",
        &[Decimal::new(2_469, 2)],
        Decimal::new(2_469, 2),
    );
    let (invoice, _) = hubspot_invoice_with_lines(&state, "globex", "GLX-7001").expect("7001");
    let contact = invoice["associations"]["contacts"]["results"][0]["id"].clone();
    let contact = state["hubspot"]["globex"]["objects"]["contacts"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == contact))
        .expect("the invoice's contact");
    assert_eq!(contact["properties"]["email"], "ap+GLX-7001@globex.example");

    // Paid in full in QuickBooks: a Payment linked to the invoice.
    let payment = env
        .quickbooks(
            Method::POST,
            "payment?minorversion=75",
            Some(
                serde_json::from_str(&format!(
                    r#"{{"CustomerRef":{{"value":"{customer}"}},"TotalAmt":539.99,"TxnDate":"2026-12-02",
                    "Line":[{{"Amount":539.99,"LinkedTxn":[{{"TxnId":"{paid}","TxnType":"Invoice"}}]}}]}}"#
                ))
                .expect("json"),
            ),
        )
        .await;
    assert!(payment["Payment"]["Id"].is_string(), "{payment:#}");
    // Voided in QuickBooks, at its current SyncToken.
    let current = env
        .quickbooks(Method::GET, &format!("invoice/{voided}"), None)
        .await;
    let token = current["Invoice"]["SyncToken"].clone();
    let void = env
        .quickbooks(
            Method::POST,
            "invoice?operation=void",
            Some(json!({ "Id": voided, "SyncToken": token })),
        )
        .await;
    assert_eq!(void["Invoice"]["PrivateNote"], "Voided", "{void:#}");

    env.wait_for(WAIT, "paid and voided in HubSpot", |s| {
        hubspot_status(s, "GLX-7001").as_deref() == Some("paid")
            && hubspot_status(s, "GLX-7002").as_deref() == Some("voided")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    // Paid keeps its lines; voided keeps what it billed (QuickBooks zeroes a void's amounts).
    assert_lines(
        &state,
        "GLX-7001",
        &[Decimal::new(45_000, 2), Decimal::new(8_999, 2)],
        Decimal::new(53_999, 2),
    );
    let balance = hubspot_invoices(&state, "GLX-7001")[0]["properties"]["hs_balance_due"]
        .as_str()
        .expect("balance")
        .parse::<Decimal>()
        .expect("decimal");
    assert_eq!(balance, Decimal::ZERO);
    assert_lines(
        &state,
        "GLX-7002",
        &[Decimal::new(2_469, 2)],
        Decimal::new(2_469, 2),
    );
    // QuickBooks is as the bookkeeper left it: nothing bounced back from HubSpot.
    assert_eq!(qbo_count(&state, "invoices"), 2);
    assert_eq!(qbo_count(&state, "payments"), 1);
    let suppressed = env.journal("suppressed").await;
    assert!(
        suppressed.iter().any(|(dest, _, _)| dest == "accounting"),
        "HubSpot's echoes of ledgerhook's writes are suppressed: {suppressed:?}"
    );
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_quickbooks_echo_of_a_hubspot_invoice_does_not_come_back_to_hubspot() {
    let env = Env::start(1).await;
    support::hubspot_invoice_as(
        &env,
        GLOBEX_HUBSPOT_TOKEN,
        "GLX-7101",
        &[("Audit", "2", "250.10")],
    )
    .await;
    env.wait_for(WAIT, "the invoice in QuickBooks", |s| {
        company(s)
            .and_then(|c| c["invoices"].as_array())
            .is_some_and(|all| all.iter().any(|i| i["DocNumber"] == "GLX-7101"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    assert_lines(
        &state,
        "GLX-7101",
        &[Decimal::new(50_020, 2)],
        Decimal::new(50_020, 2),
    );
    assert_eq!(hubspot_status(&state, "GLX-7101").as_deref(), Some("open"));
    let line_items = state["hubspot"]["globex"]["objects"]["line_items"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(line_items, 1, "HubSpot's invoice was not rewritten");
    let suppressed = env.journal("suppressed").await;
    assert!(
        suppressed
            .iter()
            .any(|(dest, kind, _)| dest == "crm" && kind == "invoice.created"),
        "QuickBooks' echo of ledgerhook's create is suppressed: {suppressed:?}"
    );
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}
