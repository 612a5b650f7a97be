//! End to end with Salesforce as the CRM (tenant `initech`, books in Xero): invoices saved in
//! Salesforce reach Xero through the org's Flow callouts (Standard Webhooks), Stripe payments
//! and Xero payments and voids come back to the `Invoice__c` record, and ledgerhook's own writes
//! to Salesforce, which the Flow announces too, never bounce back to Xero.

mod support;

use std::time::Duration;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{dec, Env, INITECH_XERO_TENANT, INITECH_XERO_TOKEN};

const WAIT: Duration = Duration::from_secs(40);

fn xero_invoices<'a>(state: &'a Value, number: &str) -> Vec<&'a Value> {
    state["xero"][INITECH_XERO_TENANT]["invoices"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|i| i["InvoiceNumber"] == number)
                .collect()
        })
        .unwrap_or_default()
}

fn xero_count(state: &Value, collection: &str) -> usize {
    state["xero"][INITECH_XERO_TENANT][collection]
        .as_array()
        .map_or(0, Vec::len)
}

fn sf_invoices(state: &Value) -> Vec<&Value> {
    state["salesforce"]["initech"]["objects"]["Invoice__c"]
        .as_array()
        .map(|all| all.iter().collect())
        .unwrap_or_default()
}

fn sf_invoice<'a>(state: &'a Value, number: &str) -> Option<&'a Value> {
    sf_invoices(state).into_iter().find(|i| i["Name"] == number)
}

/// An Account and an open `Invoice__c` saved in Salesforce, as a user would; returns the
/// invoice's record id.
async fn salesforce_invoice(env: &Env, account: &str, number: &str, amount: &str) -> String {
    let (status, created) = env
        .salesforce(
            Method::POST,
            "sobjects/Account",
            Some(json!({ "Name": account, "Phone": "555-0100" })),
        )
        .await;
    assert_eq!(status, 201, "{created:#}");
    let account_id = created["id"].as_str().expect("account id").to_owned();
    let body = format!(
        r#"{{"Name":"{number}","Amount__c":{amount},"CurrencyIsoCode":"USD","Status__c":"Open",
        "Invoice_Date__c":"2026-12-01","Due_Date__c":"2026-12-31","Account__c":"{account_id}"}}"#
    );
    let (status, created) = env
        .salesforce(
            Method::POST,
            "sobjects/Invoice__c",
            Some(serde_json::from_str(&body).expect("json")),
        )
        .await;
    assert_eq!(status, 201, "{created:#}");
    created["id"].as_str().expect("invoice id").to_owned()
}

/// Waits for the Xero invoice and checks it against the Salesforce one: one line of the whole
/// amount, the Account as its contact, approved, nothing paid.
async fn assert_in_xero(env: &Env, number: &str, account: &str, total: Decimal) -> String {
    let state = env
        .wait_for(WAIT, "the Salesforce invoice in Xero", |s| {
            !xero_invoices(s, number).is_empty()
        })
        .await;
    let invoice = xero_invoices(&state, number)[0];
    assert_eq!(dec(&invoice["Total"]), total, "{invoice:#}");
    assert_eq!(dec(&invoice["AmountDue"]), total);
    assert_eq!(invoice["Status"], "AUTHORISED");
    assert_eq!(invoice["CurrencyCode"], "USD");
    let lines = invoice["LineItems"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{invoice:#}");
    assert_eq!(dec(&lines[0]["LineAmount"]), total);
    assert_eq!(dec(&lines[0]["Quantity"]), Decimal::ONE);
    let contact_id = &invoice["Contact"]["ContactID"];
    let contact = state["xero"][INITECH_XERO_TENANT]["contacts"]
        .as_array()
        .and_then(|all| all.iter().find(|c| &c["ContactID"] == contact_id))
        .expect("the invoice's contact exists in Xero");
    assert_eq!(contact["Name"], account, "{contact:#}");
    invoice["InvoiceID"].as_str().expect("id").to_owned()
}

/// The Flow's callout for a saved invoice, as the org's Flow builds it.
fn flow_invoice_created(record: &Value, account: &str) -> Value {
    let amount = record["Amount__c"].to_string();
    // Salesforce writes `2026-12-01T10:00:00.000+0000`; the canonical form is RFC 3339.
    let modified = record["LastModifiedDate"]
        .as_str()
        .expect("LastModifiedDate");
    let modified = chrono::DateTime::parse_from_str(modified, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .expect("a Salesforce date-time")
        .to_utc()
        .to_rfc3339();
    json!({
        "type": "invoice.created",
        "timestamp": modified,
        "data": {
            "object": "invoice", "id": record["Id"], "number": record["Name"], "status": "open",
            "currency": "USD",
            "customer": { "id": record["Account__c"], "name": account },
            "lines": [],
            "total": { "amount": amount, "currency": "USD" },
            "amount_paid": { "amount": "0.00", "currency": "USD" },
            "amount_due": { "amount": amount, "currency": "USD" },
            "issue_date": "2026-12-01", "due_date": "2026-12-31",
            "updated_at": modified
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_salesforce_invoice_paid_in_stripe_is_one_xero_invoice_with_one_payment() {
    let env = Env::start(1).await;
    salesforce_invoice(&env, "Initech Corp", "SF-1001", "1234.56").await;
    let total = Decimal::new(123_456, 2);
    assert_in_xero(&env, "SF-1001", "Initech Corp", total).await;

    // The Flow's callout delivered three more times under one message id.
    let state = env.state().await;
    let record = sf_invoice(&state, "SF-1001").expect("the record").clone();
    let redelivered = flow_invoice_created(&record, "Initech Corp");
    for _ in 0..3 {
        assert_eq!(
            env.post_standard_webhook("initech", "salesforce", "msg_sf_1001_again", &redelivered)
                .await,
            200
        );
    }

    // Stripe reports the payment twice.
    let paid = support::stripe_invoice_paid("evt_sf_1001", "in_sf_1001", "SF-1001", 123_456);
    for _ in 0..2 {
        assert_eq!(env.post_stripe_for("initech", &paid).await, 200);
    }
    env.wait_for(WAIT, "paid in Xero and in Salesforce", |s| {
        let in_xero = xero_invoices(s, "SF-1001")
            .first()
            .is_some_and(|i| i["Status"] == "PAID");
        let in_salesforce = sf_invoice(s, "SF-1001").is_some_and(|i| i["Status__c"] == "Paid");
        in_xero && in_salesforce
    })
    .await;
    // Let the echoes of every write run their course before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    let invoices = xero_invoices(&state, "SF-1001");
    assert_eq!(invoices.len(), 1, "exactly one Xero invoice");
    assert_eq!(xero_count(&state, "invoices"), 1);
    assert_eq!(dec(&invoices[0]["AmountDue"]), Decimal::ZERO);
    let payments = state["xero"][INITECH_XERO_TENANT]["payments"]
        .as_array()
        .expect("payments");
    assert_eq!(payments.len(), 1, "exactly one payment: {payments:#?}");
    assert_eq!(dec(&payments[0]["Amount"]), total);
    assert_eq!(xero_count(&state, "contacts"), 1, "one customer");

    let records = sf_invoices(&state);
    assert_eq!(records.len(), 1, "no second Invoice__c: {records:#?}");
    assert_eq!(records[0]["Status__c"], "Paid");
    assert_eq!(dec(&records[0]["Amount__c"]), total);
    assert_eq!(dec(&records[0]["Amount_Paid__c"]), total);

    // The three deliveries of one message were handled once (the Flow's own delivery of the
    // creation had already been applied, so there was nothing newer to write), and the Flow's
    // announcement of ledgerhook's "Paid" went no further than the accounting worker.
    let skipped = env.journal("skipped").await;
    let handled: Vec<_> = skipped
        .iter()
        .filter(|(dest, kind, _)| dest == "accounting" && kind == "invoice.created")
        .collect();
    assert_eq!(handled.len(), 1, "redeliveries handled once: {skipped:?}");
    assert!(handled[0].2.contains("newer version"), "{handled:?}");
    let suppressed = env.journal("suppressed").await;
    assert!(
        suppressed
            .iter()
            .any(|(dest, kind, detail)| dest == "accounting"
                && kind == "invoice.paid"
                && detail.contains("the CRM")),
        "the Flow's echo of the payment is suppressed: {suppressed:?}"
    );
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn xero_payments_and_voids_reach_salesforce_and_stop_there() {
    let env = Env::start(1).await;
    salesforce_invoice(&env, "Initech Corp", "SF-2001", "999.99").await;
    salesforce_invoice(&env, "Initrode Ltd", "SF-2002", "50.05").await;
    let paid = assert_in_xero(&env, "SF-2001", "Initech Corp", Decimal::new(99_999, 2)).await;
    let voided = assert_in_xero(&env, "SF-2002", "Initrode Ltd", Decimal::new(5_005, 2)).await;

    let payment = env
        .xero_in(
            INITECH_XERO_TOKEN,
            INITECH_XERO_TENANT,
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
    env.xero_in(
        INITECH_XERO_TOKEN,
        INITECH_XERO_TENANT,
        Method::POST,
        &format!("Invoices/{voided}"),
        json!({ "Invoices": [{ "InvoiceID": voided, "Status": "VOIDED" }] }),
    )
    .await;

    env.wait_for(WAIT, "paid and void in Salesforce", |s| {
        sf_invoice(s, "SF-2001").is_some_and(|i| i["Status__c"] == "Paid")
            && sf_invoice(s, "SF-2002").is_some_and(|i| i["Status__c"] == "Void")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = env.state().await;
    let paid_record = sf_invoice(&state, "SF-2001").expect("SF-2001");
    assert_eq!(dec(&paid_record["Amount__c"]), Decimal::new(99_999, 2));
    assert_eq!(dec(&paid_record["Amount_Paid__c"]), Decimal::new(99_999, 2));
    let void_record = sf_invoice(&state, "SF-2002").expect("SF-2002");
    assert_eq!(dec(&void_record["Amount__c"]), Decimal::new(5_005, 2));
    assert_eq!(sf_invoices(&state).len(), 2, "no Invoice__c was added");

    // Xero is as the user left it: nothing came back from Salesforce.
    assert_eq!(xero_count(&state, "invoices"), 2);
    assert_eq!(xero_count(&state, "payments"), 1);
    assert_eq!(xero_invoices(&state, "SF-2001")[0]["Status"], "PAID");
    assert_eq!(xero_invoices(&state, "SF-2002")[0]["Status"], "VOIDED");
    let suppressed = env.journal("suppressed").await;
    for kind in ["invoice.paid", "invoice.voided"] {
        assert!(
            suppressed
                .iter()
                .any(|(dest, k, _)| dest == "accounting" && k == kind),
            "the Flow's {kind} echo is suppressed: {suppressed:?}"
        );
    }
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}
