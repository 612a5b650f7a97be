//! End to end: signed webhooks into the router, the workers applying them through the sandbox's
//! Xero and HubSpot, and the final state of each simulated system, to the cent.

mod support;

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::Sha256;
use support::{dec, Env, HUBSPOT_SECRET, XERO_TENANT};

const WAIT: Duration = Duration::from_secs(30);

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

fn xero_payments(state: &Value) -> Vec<&Value> {
    state["xero"][XERO_TENANT]["payments"]
        .as_array()
        .map(|all| all.iter().collect())
        .unwrap_or_default()
}

fn stripe_payment_intent(event_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": event_id, "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "type": "payment_intent.succeeded",
        "data": { "object": {
            "id": "pi_3QaB2cLkdIwHu7ix", "object": "payment_intent", "amount": 123_450,
            "amount_received": 123_450, "currency": "usd", "status": "succeeded",
            "customer": "cus_NeZwdNtLEOXuvB", "invoice": "in_1QaB2cLkdIwHu7ix",
            "payment_method_types": ["card"], "created": 1_764_700_000
        }}
    }))
    .expect("json")
}

/// The HubSpot webhook for the invoice's creation, signed (v3) as HubSpot signs it.
async fn redeliver_hubspot_creation(env: &Env, invoice_id: &str) -> u16 {
    let body = serde_json::to_vec(&json!([{
        "eventId": 4_242_001, "subscriptionId": 2_001, "portalId": 62_515, "appId": 1_160_452,
        "occurredAt": 1_764_800_000_000_i64, "subscriptionType": "object.creation", "objectTypeId": "0-53",
        "attemptNumber": 0, "objectId": invoice_id.parse::<u64>().expect("numeric id"),
        "changeSource": "CRM_UI", "sourceId": "userId:1"
    }]))
    .expect("json");
    let url = format!("{}/webhooks/acme/hubspot", env.router_url);
    let timestamp = chrono::Utc::now().timestamp_millis().to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(HUBSPOT_SECRET.as_bytes()).expect("key");
    for part in [
        b"POST".as_slice(),
        url.as_bytes(),
        &body,
        timestamp.as_bytes(),
    ] {
        mac.update(part);
    }
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    env.http
        .post(&url)
        .header("X-HubSpot-Signature-v3", signature)
        .header("X-HubSpot-Request-Timestamp", timestamp)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("router answers")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hubspot_invoice_paid_in_stripe_is_one_xero_invoice_with_one_payment() {
    // Two consumers per queue, as two worker processes would race on the same invoice.
    let env = Env::start(2).await;
    let invoice_id = support::hubspot_invoice(
        &env,
        "INV-1001",
        &[
            ("Annual plan", "2", "567.25"),
            ("Onboarding", "1", "100.00"),
        ],
    )
    .await;

    // The sandbox announced the invoice to the router; the accounting worker fetched it and
    // created it in Xero, with its customer.
    let state = env
        .wait_for(WAIT, "the invoice in Xero", |s| {
            !xero_invoices(s, "INV-1001").is_empty()
        })
        .await;
    let invoice = xero_invoices(&state, "INV-1001")[0];
    assert_eq!(dec(&invoice["Total"]), Decimal::new(123_450, 2));
    assert_eq!(invoice["Status"], "AUTHORISED");
    assert_eq!(invoice["CurrencyCode"], "USD");
    let contact_id = &invoice["Contact"]["ContactID"];
    let contact = state["xero"][XERO_TENANT]["contacts"]
        .as_array()
        .and_then(|all| all.iter().find(|c| &c["ContactID"] == contact_id))
        .expect("the invoice's contact exists in Xero");
    assert_eq!(
        contact["EmailAddress"], "jenny.rosen@example.com",
        "{contact:#}"
    );

    // HubSpot redelivers its webhook, and Stripe reports the payment three times over, plus the
    // payment intent that paid it.
    for _ in 0..2 {
        assert_eq!(redeliver_hubspot_creation(&env, &invoice_id).await, 200);
    }
    for _ in 0..3 {
        assert_eq!(
            env.post_stripe(&support::stripe_invoice_paid(
                "evt_1QaB2dLkdIwHu7ix",
                "in_1QaB2cLkdIwHu7ix",
                "INV-1001",
                123_450
            ))
            .await,
            200
        );
    }
    assert_eq!(
        env.post_stripe(&stripe_payment_intent("evt_1QaB2eLkdIwHu7ix"))
            .await,
        200
    );

    let state = env
        .wait_for(
            WAIT,
            "the Xero invoice paid and the HubSpot invoice paid",
            |s| {
                let paid_in_xero = xero_invoices(s, "INV-1001")
                    .first()
                    .is_some_and(|i| i["Status"] == "PAID");
                let paid_in_hubspot = s["hubspot"]["acme"]["objects"]["invoices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|i| {
                        i["properties"]["hs_number"] == "INV-1001"
                            && i["properties"]["hs_invoice_status"] == "paid"
                    });
                paid_in_xero && paid_in_hubspot
            },
        )
        .await;
    // Let every redelivery and echo run its course before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state_after = env.state().await;
    assert_eq!(
        xero_invoices(&state_after, "INV-1001").len(),
        1,
        "exactly one Xero invoice"
    );
    let payments = xero_payments(&state_after);
    assert_eq!(payments.len(), 1, "exactly one payment: {payments:#?}");
    assert_eq!(dec(&payments[0]["Amount"]), Decimal::new(123_450, 2));
    assert_eq!(
        dec(&xero_invoices(&state_after, "INV-1001")[0]["AmountDue"]),
        Decimal::ZERO
    );
    assert_eq!(
        state["xero"][XERO_TENANT]["contacts"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "one customer"
    );

    // ledgerhook's writes came back as webhooks and were recognised, not bounced.
    let suppressed = env.journal("suppressed").await;
    assert!(!suppressed.is_empty(), "echoes are suppressed and recorded");
    let dead = env.journal("dead_lettered").await;
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    env.finish().await;
}
