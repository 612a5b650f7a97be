//! The Stripe simulator: an invoice from draft to paid with Stripe's numbers and amounts,
//! idempotent requests, refunds, declines, keys, faults and limits, and its events as the
//! router verifies and maps them.

use std::time::Duration;

use ledgerhook_shared::{config::ProviderKind, model::CanonicalObject, EventType};
use ledgerhook_tests::sandbox::Options;
use reqwest::Method;
use serde_json::Value;

use super::support::*;

async fn post(env: &Env, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
    env.stripe(Method::POST, path, params)
        .send()
        .await
        .expect("stripe post")
}

async fn get(env: &Env, path: &str) -> reqwest::Response {
    env.stripe(Method::GET, path, &[])
        .send()
        .await
        .expect("stripe get")
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A customer and an open USD invoice of `amount` cents; returns (customer, invoice).
async fn open_invoice(env: &Env, amount: &str) -> (String, Value) {
    let customer = post(
        env,
        "customers",
        &[("name", "Jenny Rosen"), ("email", "jenny@example.com")],
    )
    .await;
    let customer = id(&body(customer, 200).await);
    let invoice = post(env, "invoices", &[("customer", &customer)]).await;
    let invoice = id(&body(invoice, 200).await);
    let item = post(
        env,
        "invoiceitems",
        &[
            ("customer", &customer),
            ("invoice", &invoice),
            ("amount", amount),
            ("currency", "usd"),
            ("description", "Consulting"),
        ],
    )
    .await;
    body(item, 200).await;
    let opened = post(env, &format!("invoices/{invoice}/finalize"), &[]).await;
    (customer, body(opened, 200).await)
}

/// The Stripe events received so far, verified and normalized by the router, as (type, body,
/// normalized drafts).
fn stripe_events(env: &Env) -> Vec<(String, Value, Vec<ledgerhook_shared::EventDraft>)> {
    env.hits()
        .iter()
        .filter(|h| h.path == "/webhooks/acme/stripe")
        .map(|hit| {
            let (provider, normalized) = env.verify(hit);
            assert_eq!(provider, ProviderKind::Stripe);
            let event: Value = serde_json::from_slice(&hit.body).expect("event json");
            let kind = event["type"].as_str().expect("type").to_owned();
            (kind, event, normalized.events)
        })
        .collect()
}

async fn wait_for_types(env: &Env, types: &[&str]) {
    env.wait_for(&format!("Stripe events {types:?}"), |hits| {
        let kinds: Vec<String> = hits
            .iter()
            .filter(|h| h.path == "/webhooks/acme/stripe")
            .filter_map(|h| serde_json::from_slice::<Value>(&h.body).ok())
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect();
        types.iter().all(|t| kinds.iter().any(|k| k == t))
    })
    .await;
}

#[tokio::test]
async fn invoice_goes_from_draft_to_paid_with_a_number_and_exact_amounts() {
    let env = Env::start().await;
    let customer = post(
        &env,
        "customers",
        &[
            ("name", "Northwind Traders"),
            ("email", "ap@northwind.example"),
            ("invoice_prefix", "NWT"),
            ("metadata[hubspot_company_id]", "18441192"),
        ],
    )
    .await;
    let customer = body(customer, 200).await;
    let cus = id(&customer);
    assert!(cus.starts_with("cus_"), "{cus}");
    assert_eq!(customer["object"], "customer");
    assert_eq!(customer["livemode"], false);
    assert_eq!(customer["metadata"]["hubspot_company_id"], "18441192");
    assert!(customer["created"].is_i64());

    let draft = post(
        &env,
        "invoices",
        &[
            ("customer", &cus),
            ("currency", "EUR"),
            ("collection_method", "send_invoice"),
            ("days_until_due", "30"),
        ],
    )
    .await;
    let draft = body(draft, 200).await;
    let inv = id(&draft);
    assert!(inv.starts_with("in_"), "{inv}");
    assert_eq!(
        (&draft["status"], &draft["number"], &draft["currency"]),
        (&Value::from("draft"), &Value::Null, &Value::from("eur"))
    );
    for params in [
        [("amount", "3750"), ("description", "Ledger sync seats")],
        [("unit_amount", "2499"), ("quantity", "2")],
    ] {
        let mut all = vec![("customer", cus.as_str()), ("invoice", inv.as_str())];
        all.extend(params);
        body(post(&env, "invoiceitems", &all).await, 200).await;
    }

    let open = body(
        post(&env, &format!("invoices/{inv}/finalize"), &[]).await,
        200,
    )
    .await;
    assert_eq!(open["status"], "open");
    assert_eq!(open["number"], "NWT-0001");
    assert_eq!(open["amount_due"], 8748);
    assert_eq!(open["total"], 8748);
    assert_eq!(open["amount_paid"], 0);
    assert_eq!(open["customer_email"], "ap@northwind.example");
    assert_eq!(open["lines"]["data"][1]["quantity"], 2);
    assert_eq!(open["lines"]["data"][1]["amount"], 4998);
    let pi = open["payment_intent"].as_str().expect("pi").to_owned();
    assert!(pi.starts_with("pi_"), "{pi}");
    let intent = body(get(&env, &format!("payment_intents/{pi}")).await, 200).await;
    assert_eq!(intent["status"], "requires_payment_method");
    assert_eq!(intent["amount"], 8748);
    assert_eq!(intent["invoice"], inv.as_str());

    let again = post(&env, &format!("invoices/{inv}/finalize"), &[]).await;
    assert_eq!(
        body(again, 400).await["error"]["type"],
        "invalid_request_error"
    );

    let paid = post(
        &env,
        &format!("invoices/{inv}/pay"),
        &[("payment_method", "pm_card_visa")],
    )
    .await;
    let paid = body(paid, 200).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid"], true);
    assert_eq!(paid["amount_paid"], 8748);
    assert_eq!(paid["amount_remaining"], 0);
    let ch = paid["charge"].as_str().expect("charge").to_owned();
    assert!(ch.starts_with("ch_"), "{ch}");
    let intent = body(get(&env, &format!("payment_intents/{pi}")).await, 200).await;
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount_received"], 8748);
    assert_eq!(intent["latest_charge"], ch.as_str());
    let read = body(get(&env, &format!("invoices/{inv}")).await, 200).await;
    assert_eq!(read, paid, "GET shows the invoice as pay returned it");

    // The customer's next invoice takes the next number.
    let second = post(&env, "invoices", &[("customer", &cus), ("currency", "eur")]).await;
    let second = id(&body(second, 200).await);
    let lines = post(
        &env,
        &format!("invoices/{second}/add_lines"),
        &[
            ("lines[0][amount]", "500"),
            ("lines[0][description]", "Support"),
        ],
    )
    .await;
    assert_eq!(body(lines, 200).await["total"], 500);
    let second = post(&env, &format!("invoices/{second}/finalize"), &[]).await;
    assert_eq!(body(second, 200).await["number"], "NWT-0002");

    wait_for_types(
        &env,
        &[
            "customer.created",
            "invoice.created",
            "invoice.finalized",
            "charge.succeeded",
            "payment_intent.succeeded",
            "invoice.paid",
        ],
    )
    .await;
    let hits = env.hits();
    let hit = hits
        .iter()
        .find(|h| h.path == "/webhooks/acme/stripe")
        .expect("a Stripe delivery");
    let signature = hit
        .headers
        .iter()
        .find(|(k, _)| k == "stripe-signature")
        .map(|(_, v)| v.clone())
        .expect("Stripe-Signature");
    assert!(
        signature.starts_with("t=") && signature.contains(",v1="),
        "{signature}"
    );
    let events = stripe_events(&env);
    let (_, event, drafts) = events
        .iter()
        .find(|(kind, _, _)| kind == "invoice.paid")
        .expect("invoice.paid");
    assert!(event["id"].as_str().is_some_and(|i| i.starts_with("evt_")));
    assert_eq!(event["object"], "event");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 1);
    assert!(event["request"]["id"]
        .as_str()
        .is_some_and(|r| r.starts_with("req_")));
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].kind, EventType::InvoicePaid);
    assert_eq!(drafts[0].subject, inv);
    let Some(CanonicalObject::Invoice(invoice)) = &drafts[0].data else {
        panic!("{drafts:?}")
    };
    assert_eq!(invoice.number.as_deref(), Some("NWT-0001"));
    assert_eq!(invoice.total.amount, d("87.48"));
    assert_eq!(invoice.total.currency.code(), "EUR");
    assert_eq!(
        invoice.amount_paid.as_ref().map(|m| m.amount),
        Some(d("87.48"))
    );
    assert_eq!(
        invoice.customer.email.as_deref(),
        Some("ap@northwind.example")
    );
    assert_eq!(invoice.lines.len(), 2);
    assert_eq!(invoice.lines[1].unit_price, d("24.99"));

    let (_, _, drafts) = events
        .iter()
        .find(|(kind, _, _)| kind == "payment_intent.succeeded")
        .expect("payment_intent.succeeded");
    assert_eq!(drafts[0].kind, EventType::PaymentSucceeded);
    let Some(CanonicalObject::Payment(payment)) = &drafts[0].data else {
        panic!("{drafts:?}")
    };
    assert_eq!(payment.invoice_id.as_deref(), Some(inv.as_str()));
    assert_eq!(payment.amount.amount, d("87.48"));
    let (_, _, drafts) = events
        .iter()
        .find(|(kind, _, _)| kind == "customer.created")
        .expect("customer.created");
    assert_eq!(drafts[0].kind, EventType::CustomerUpserted);
    assert_eq!(drafts[0].subject, cus);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer_and_refuses_other_parameters() {
    let env = Env::start().await;
    let create = |name: &'static str, key: &'static str| {
        env.stripe(Method::POST, "customers", &[("name", name)])
            .header("Idempotency-Key", key)
            .send()
    };
    let first = create("Replay Ltd", "create-customer-42").await.expect("1");
    let first_request = first.headers()["request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = text(first, 200).await;

    let again = create("Replay Ltd", "create-customer-42").await.expect("2");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["original-request"], first_request.as_str());
    assert_eq!(
        text(again, 200).await,
        first,
        "a replay is byte for byte the first answer"
    );

    let other = create("Other Ltd", "create-customer-42").await.expect("3");
    let other = body(other, 400).await;
    assert_eq!(other["error"]["type"], "idempotency_error");
    assert_eq!(
        other["error"]["message"],
        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'create-customer-42' if you meant to execute a different request."
    );
    let elsewhere = env
        .stripe(Method::POST, "invoices", &[("name", "Replay Ltd")])
        .header("Idempotency-Key", "create-customer-42")
        .send()
        .await
        .expect("4");
    let elsewhere = body(elsewhere, 400).await;
    assert_eq!(elsewhere["error"]["type"], "idempotency_error");
    assert!(elsewhere["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("same endpoint")));

    // A request whose parameters fail validation keeps nothing under its key.
    let invalid = env
        .stripe(Method::POST, "invoices", &[])
        .header("Idempotency-Key", "invoice-7")
        .send()
        .await
        .expect("5");
    let invalid = body(invalid, 400).await;
    assert_eq!(invalid["error"]["code"], "parameter_missing");
    assert_eq!(invalid["error"]["param"], "customer");
    let customer: Value = serde_json::from_str(&first).expect("json");
    let cus = id(&customer);
    let valid = env
        .stripe(Method::POST, "invoices", &[("customer", &cus)])
        .header("Idempotency-Key", "invoice-7")
        .send()
        .await
        .expect("6");
    assert_eq!(body(valid, 200).await["status"], "draft");

    let state = env.state().await;
    let customers = state["stripe"]["acme"]["customers"]
        .as_array()
        .expect("customers");
    assert_eq!(customers.len(), 1, "{customers:?}");
    wait_for_types(&env, &["customer.created", "invoice.created"]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let created = stripe_events(&env)
        .into_iter()
        .filter(|(kind, event, _)| {
            kind == "customer.created"
                && event["request"]["idempotency_key"] == "create-customer-42"
        })
        .count();
    assert_eq!(created, 1);
}

#[tokio::test]
async fn refunds_cannot_exceed_what_the_charge_has_left() {
    let env = Env::start().await;
    let (_, invoice) = open_invoice(&env, "5000").await;
    let inv = id(&invoice);
    let paid = post(
        &env,
        &format!("invoices/{inv}/pay"),
        &[("payment_method", "pm_card_mastercard")],
    )
    .await;
    let paid = body(paid, 200).await;
    let ch = paid["charge"].as_str().expect("charge").to_owned();
    let pi = paid["payment_intent"].as_str().expect("pi").to_owned();

    let partial = post(
        &env,
        "refunds",
        &[
            ("charge", &ch),
            ("amount", "2000"),
            ("reason", "requested_by_customer"),
        ],
    )
    .await;
    let partial = body(partial, 200).await;
    let re = id(&partial);
    assert!(re.starts_with("re_"), "{re}");
    assert_eq!(partial["amount"], 2000);
    assert_eq!(partial["status"], "succeeded");
    assert_eq!(partial["payment_intent"], pi.as_str());

    let over = post(
        &env,
        "refunds",
        &[("payment_intent", &pi), ("amount", "3500")],
    )
    .await;
    let over = body(over, 400).await;
    assert_eq!(over["error"]["type"], "invalid_request_error");
    assert_eq!(over["error"]["code"], "amount_too_large");
    assert_eq!(over["error"]["param"], "amount");
    assert_eq!(
        over["error"]["message"],
        "Refund amount ($35.00) is greater than unrefunded amount on charge ($30.00)"
    );

    let rest = body(post(&env, "refunds", &[("payment_intent", &pi)]).await, 200).await;
    assert_eq!(rest["amount"], 3000);
    let done = body(post(&env, "refunds", &[("charge", &ch)]).await, 400).await;
    assert_eq!(done["error"]["code"], "charge_already_refunded");

    let read = body(get(&env, &format!("refunds/{re}")).await, 200).await;
    assert_eq!(read, partial);
    let charge = body(get(&env, &format!("charges/{ch}")).await, 200).await;
    assert_eq!(charge["amount_refunded"], 5000);
    assert_eq!(charge["refunded"], true);
    let missing = body(get(&env, "refunds/re_missing").await, 404).await;
    assert_eq!(missing["error"]["code"], "resource_missing");

    wait_for_types(&env, &["refund.created", "charge.refunded"]).await;
    env.wait_for("two refunds and two charge updates", |hits| {
        hits.iter()
            .filter(|h| h.path == "/webhooks/acme/stripe")
            .filter(|h| {
                let body = String::from_utf8_lossy(&h.body);
                body.contains("\"type\":\"refund.created\"")
                    || body.contains("\"type\":\"charge.refunded\"")
            })
            .count()
            >= 4
    })
    .await;
    let mut refunded: Vec<_> = stripe_events(&env)
        .into_iter()
        .filter(|(kind, _, _)| kind == "refund.created")
        .flat_map(|(_, _, drafts)| drafts)
        .map(|draft| {
            assert_eq!(draft.kind, EventType::PaymentRefunded);
            let Some(CanonicalObject::Refund(refund)) = draft.data else {
                panic!("not a refund")
            };
            assert_eq!(refund.payment_id.as_deref(), Some(pi.as_str()));
            refund.amount.amount
        })
        .collect();
    refunded.sort();
    assert_eq!(refunded, [d("20.00"), d("30.00")]);
}

#[tokio::test]
async fn a_declined_card_is_a_402_and_the_invoice_stays_open() {
    let env = Env::start().await;
    let (_, invoice) = open_invoice(&env, "1999").await;
    let inv = id(&invoice);
    let declined = post(
        &env,
        &format!("invoices/{inv}/pay"),
        &[(
            "payment_method",
            "pm_card_visa_chargeDeclinedInsufficientFunds",
        )],
    )
    .await;
    let declined = body(declined, 402).await;
    assert_eq!(declined["error"]["type"], "card_error");
    assert_eq!(declined["error"]["code"], "card_declined");
    assert_eq!(declined["error"]["decline_code"], "insufficient_funds");
    assert_eq!(
        declined["error"]["message"],
        "Your card has insufficient funds."
    );
    let read = body(get(&env, &format!("invoices/{inv}")).await, 200).await;
    assert_eq!(read["status"], "open");
    assert_eq!(read["attempt_count"], 1);
    assert_eq!(read["amount_paid"], 0);

    let paid = post(
        &env,
        &format!("invoices/{inv}/pay"),
        &[("payment_method", "pm_card_visa")],
    )
    .await;
    assert_eq!(body(paid, 200).await["status"], "paid");
    wait_for_types(&env, &["invoice.payment_failed", "invoice.paid"]).await;
    let failed = stripe_events(&env)
        .into_iter()
        .find(|(kind, _, _)| kind == "invoice.payment_failed")
        .expect("payment failed event");
    assert_eq!(failed.2[0].kind, EventType::InvoicePaymentFailed);
}

#[tokio::test]
async fn calls_without_a_valid_secret_key_are_refused() {
    let env = Env::start().await;
    let url = format!("{}/stripe/v1/customers/cus_nobody", env.url);
    let anonymous = env.client.get(&url).send().await.expect("anonymous");
    let anonymous = body(anonymous, 401).await;
    assert_eq!(anonymous["error"]["type"], "invalid_request_error");
    assert!(anonymous["error"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("You did not provide an API key.")));
    let foreign = env
        .client
        .get(&url)
        .bearer_auth("sk_test_globex")
        .send()
        .await
        .expect("foreign");
    assert_eq!(
        body(foreign, 401).await["error"]["message"],
        "Invalid API Key provided: sk_test_**obex"
    );
    // The key as the Basic auth user name, as `curl -u sk_test_...:` sends it.
    let basic = env
        .client
        .get(&url)
        .basic_auth(STRIPE_KEY, Some(""))
        .send()
        .await
        .expect("basic");
    let basic = body(basic, 404).await;
    assert_eq!(basic["error"]["code"], "resource_missing");
    assert_eq!(basic["error"]["message"], "No such customer: 'cus_nobody'");
    let unknown = body(get(&env, "subscriptions_typo").await, 404).await;
    assert!(unknown["error"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("Unrecognized request URL (GET: /v1/subscriptions_typo)")));
}

#[tokio::test]
async fn faults_and_the_per_second_limit_apply_to_stripe() {
    let env = Env::start_with(
        Options {
            stripe_read_limit: 3,
            ..Options::default()
        },
        0,
    )
    .await;
    env.faults(serde_json::json!({ "system": "stripe", "fail_next": 1, "status": 503 }))
        .await;
    let failed = body(get(&env, "customers/cus_x").await, 503).await;
    assert_eq!(failed["error"]["type"], "api_error");
    env.faults(serde_json::json!({ "system": "stripe", "rate_limit_next": 1, "retry_after": 2 }))
        .await;
    let limited = get(&env, "customers/cus_x").await;
    assert_eq!(limited.headers()["retry-after"], "2");
    let limited = body(limited, 429).await;
    assert_eq!(limited["error"]["code"], "rate_limit");
    env.clear_faults().await;

    // Each call above took a read from this second's window, so at most 3 pass in a row.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&env, "customers/cus_x").await.status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 429]);
    // Writes have their own window.
    let customer = post(&env, "customers", &[("name", "Writer")]).await;
    assert_eq!(customer.status(), 200);
    let state = env.state().await;
    assert_eq!(state["requests"]["stripe"]["rate_limited"], 1);
    assert_eq!(state["requests"]["stripe"]["faults_injected"], 2);
    assert_eq!(
        state["stripe"]["acme"]["customers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let reset = env
        .client
        .post(format!("{}/_sandbox/reset", env.url))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 200);
    let state = env.state().await;
    assert_eq!(state["stripe"]["acme"]["customers"], serde_json::json!([]));

    let unlimited = Env::start_with(
        Options {
            stripe_read_limit: 3,
            ..Options::default()
        }
        .without_rate_limits(),
        0,
    )
    .await;
    for _ in 0..10 {
        assert_eq!(get(&unlimited, "customers/cus_x").await.status(), 404);
    }
}
