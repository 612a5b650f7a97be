//! The HubSpot simulator: invoices computed from their line items, search, contact upsert, and
//! its webhooks as the router verifies them.

use ledgerhook_shared::{config::ProviderKind, EventType};
use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

async fn create(env: &Env, kind: &str, payload: Value) -> Value {
    let answer = env
        .hubspot(Method::POST, &format!("crm/v3/objects/{kind}"))
        .json(&payload)
        .send()
        .await
        .expect("create");
    body(answer, 201).await
}

fn id(object: &Value) -> String {
    object["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn invoice_totals_follow_line_items_and_search_finds_it_by_number() {
    let env = Env::start().await;
    let contact = create(
        &env,
        "contacts",
        json!({ "properties": {
        "email": "buyer@example.com", "firstname": "Bea", "lastname": "Buyer" } }),
    )
    .await;
    // 2 × 10.10 + 3 × 0.1 = 20.50; a number written as a JSON number keeps its exact text.
    let first = create(
        &env,
        "line_items",
        json!({ "properties": {
        "name": "Widget", "quantity": "2", "price": "10.10" } }),
    )
    .await;
    let second = create(
        &env,
        "line_items",
        json!({ "properties": {
        "name": "Tenth", "quantity": 3, "price": 0.1 } }),
    )
    .await;
    assert_eq!(first["properties"]["amount"], "20.20");
    assert_eq!(second["properties"]["amount"], "0.30");

    let assoc = |to: &Value, type_id: u32| {
        json!({ "to": { "id": id(to) }, "types": [
            { "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id } ] })
    };
    let invoice = create(
        &env,
        "invoices",
        json!({
            "properties": { "hs_currency": "USD", "hs_number": "HS-2024-001",
                "hs_invoice_date": "2024-06-01", "hs_due_date": "2024-07-01" },
            "associations": [assoc(&contact, 177), assoc(&first, 409), assoc(&second, 409)],
        }),
    )
    .await;
    let invoice_id = id(&invoice);
    assert_eq!(invoice["properties"]["hs_amount_billed"], "20.50");
    assert_eq!(invoice["properties"]["hs_balance_due"], "20.50");
    assert_eq!(invoice["properties"]["hs_invoice_status"], "draft");

    let read = env
        .hubspot(
            Method::GET,
            &format!("crm/v3/objects/invoices/{invoice_id}"),
        )
        .query(&[
            ("properties", "hs_number,hs_amount_billed"),
            ("associations", "line_items,contacts"),
        ])
        .send()
        .await
        .expect("read");
    let read = body(read, 200).await;
    assert_eq!(read["properties"]["hs_number"], "HS-2024-001");
    assert_eq!(dec(&read["properties"]["hs_amount_billed"]), d("20.5"));
    assert_eq!(
        read["associations"]["line_items"]["results"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        read["associations"]["contacts"]["results"][0]["id"],
        id(&contact).as_str()
    );
    let defaults = env
        .hubspot(
            Method::GET,
            &format!("crm/v3/objects/invoices/{invoice_id}"),
        )
        .send()
        .await
        .expect("defaults");
    let defaults = body(defaults, 200).await;
    let keys: Vec<&String> = defaults["properties"]
        .as_object()
        .expect("props")
        .keys()
        .collect();
    assert_eq!(
        keys,
        ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
    );

    let search = env
        .hubspot(Method::POST, "crm/v3/objects/invoices/search")
        .json(&json!({ "filterGroups": [{ "filters": [
            { "propertyName": "hs_number", "operator": "EQ", "value": "HS-2024-001" } ] }],
            "properties": ["hs_number", "hs_balance_due"] }))
        .send()
        .await
        .expect("search");
    let search = body(search, 200).await;
    assert_eq!(search["total"], 1);
    assert_eq!(search["results"][0]["id"], invoice_id.as_str());

    let paid = env
        .hubspot(
            Method::PATCH,
            &format!("crm/v3/objects/invoices/{invoice_id}"),
        )
        .json(&json!({ "properties": { "hs_invoice_status": "paid" } }))
        .send()
        .await
        .expect("paid");
    let paid = body(paid, 200).await;
    assert_eq!(paid["properties"]["hs_balance_due"], "0.00");
    let refused = env
        .hubspot(
            Method::PATCH,
            &format!("crm/v3/objects/invoices/{invoice_id}"),
        )
        .json(&json!({ "properties": { "hs_amount_billed": "1.00" } }))
        .send()
        .await
        .expect("read-only");
    assert_eq!(body(refused, 400).await["category"], "VALIDATION_ERROR");

    // Contact and invoice creations and the status change arrive signed (v3) and normalize.
    let hits = env
        .wait_for("invoice paid notification", |hits| {
            hits.iter()
                .any(|h| String::from_utf8_lossy(&h.body).contains("\"propertyValue\":\"paid\""))
        })
        .await;
    let mut events = Vec::new();
    for hit in &hits {
        assert_eq!(hit.path, "/webhooks/acme/hubspot");
        assert!(hit
            .headers
            .iter()
            .any(|(k, _)| k == "x-hubspot-signature-v3"));
        let (provider, normalized) = env.verify(hit);
        assert_eq!(provider, ProviderKind::Hubspot);
        events.extend(normalized.events.into_iter().map(|e| (e.kind, e.subject)));
    }
    assert!(events.contains(&(EventType::InvoiceCreated, invoice_id.clone())));
    assert!(events.contains(&(EventType::InvoiceUpdated, invoice_id.clone())));
    assert!(events.contains(&(
        EventType::CustomerUpserted,
        format!("contact/{}", id(&contact))
    )));
}

#[tokio::test]
async fn contacts_are_unique_by_email_and_upsert_by_it() {
    let env = Env::start().await;
    let contact = create(
        &env,
        "contacts",
        json!({ "properties": { "email": "dup@example.com" } }),
    )
    .await;
    let again = env
        .hubspot(Method::POST, "crm/v3/objects/contacts")
        .json(&json!({ "properties": { "email": "DUP@example.com" } }))
        .send()
        .await
        .expect("dup");
    assert_eq!(body(again, 409).await["category"], "CONFLICT");

    let upsert = |email: &str, name: &str| {
        env.hubspot(Method::POST, "crm/v3/objects/contacts/batch/upsert")
            .json(&json!({ "inputs": [{ "id": email, "idProperty": "email",
                "properties": { "firstname": name } }] }))
            .send()
    };
    let updated = body(upsert("dup@example.com", "Dora").await.expect("u1"), 200).await;
    assert_eq!(updated["results"][0]["new"], false);
    assert_eq!(updated["results"][0]["id"], id(&contact).as_str());
    let created = body(upsert("new@example.com", "Nell").await.expect("u2"), 200).await;
    assert_eq!(created["results"][0]["new"], true);
    assert_eq!(
        created["results"][0]["properties"]["email"],
        "new@example.com"
    );

    let read = env
        .hubspot(Method::POST, "crm/v3/objects/contacts/batch/read")
        .json(
            &json!({ "inputs": [{ "id": "new@example.com" }, { "id": "nobody@example.com" }],
            "idProperty": "email", "properties": ["firstname"] }),
        )
        .send()
        .await
        .expect("batch read");
    let read = body(read, 207).await;
    assert_eq!(read["results"][0]["properties"]["firstname"], "Nell");
    assert_eq!(read["errors"][0]["context"]["ids"][0], "nobody@example.com");

    let search = env
        .hubspot(Method::POST, "crm/v3/objects/contacts/search")
        .json(&json!({ "filterGroups": [{ "filters": [
            { "propertyName": "email", "operator": "EQ", "value": "Dup@Example.com" } ] }] }))
        .send()
        .await
        .expect("search");
    assert_eq!(
        body(search, 200).await["results"][0]["properties"]["firstname"],
        "Dora"
    );
}

#[tokio::test]
async fn hubspot_refuses_unknown_tokens_and_missing_objects() {
    let env = Env::start().await;
    let url = format!("{}/hubspot/crm/v3/objects/contacts/1", env.url);
    let anonymous = env.client.get(&url).send().await.expect("anon");
    assert_eq!(
        body(anonymous, 401).await["category"],
        "INVALID_AUTHENTICATION"
    );
    let missing = env
        .hubspot(Method::GET, "crm/v3/objects/contacts/999999")
        .send()
        .await;
    assert_eq!(
        body(missing.expect("404"), 404).await["category"],
        "OBJECT_NOT_FOUND"
    );
    let no_currency = env
        .hubspot(Method::POST, "crm/v3/objects/invoices")
        .json(&json!({ "properties": { "hs_number": "X" } }))
        .send()
        .await
        .expect("no currency");
    assert_eq!(no_currency.status(), 400);
}

#[tokio::test]
async fn invoice_keys_are_unique_and_a_write_can_be_applied_with_its_answer_lost() {
    let env = Env::start().await;
    let first = create(
        &env,
        "invoices",
        json!({ "properties": { "hs_currency": "USD", "ledgerhook_key": "INV-77" } }),
    )
    .await;
    let again = env
        .hubspot(Method::POST, "crm/v3/objects/invoices")
        .json(&json!({ "properties": { "hs_currency": "USD", "ledgerhook_key": "INV-77" } }))
        .send()
        .await
        .expect("duplicate");
    let again = body(again, 400).await;
    assert_eq!(again["category"], "VALIDATION_ERROR");
    let message = again["message"].as_str().expect("message");
    assert!(
        message.contains("ledgerhook_key")
            && message.contains("already has that value")
            && message.contains(&format!("Existing ID: {}", id(&first))),
        "{message}"
    );
    let read = env
        .hubspot(
            Method::GET,
            "crm/v3/objects/invoices/INV-77?idProperty=ledgerhook_key",
        )
        .send()
        .await
        .expect("read by key");
    assert_eq!(body(read, 200).await["id"], id(&first).as_str());

    // The next create is made, announced and answered 502, as a lost answer would be.
    env.faults(
        json!({ "system": "hubspot", "fail_after_next": 1, "status": 502,
        "fail_after_route": "POST /crm/v3/objects/invoices" }),
    )
    .await;
    let search = env
        .hubspot(Method::POST, "crm/v3/objects/invoices/search")
        .json(&json!({ "filterGroups": [] }))
        .send()
        .await
        .expect("search");
    assert_eq!(search.status(), 200, "other calls are answered");
    let lost = env
        .hubspot(Method::POST, "crm/v3/objects/invoices")
        .json(&json!({ "properties": { "hs_currency": "USD", "ledgerhook_key": "INV-78" } }))
        .send()
        .await
        .expect("lost");
    assert_eq!(body(lost, 502).await["category"], "SANDBOX_INJECTED_FAULT");
    let state = env.state().await;
    let keys: Vec<&Value> = state["hubspot"]["acme"]["objects"]["invoices"]
        .as_array()
        .expect("invoices")
        .iter()
        .map(|i| &i["properties"]["ledgerhook_key"])
        .collect();
    assert_eq!(keys, [&json!("INV-77"), &json!("INV-78")]);
    assert_eq!(state["faults"]["hubspot"]["fail_after_next"], 0);
}

/// The HubSpot connector against the simulator, the sync rules' part played by hand: the
/// invoice is looked up by number, then upserted; a failed attempt is simply tried again.
async fn write_until_done(
    hs: &ledgerhook_workers::connectors::hubspot::HubspotClient,
    invoice: &ledgerhook_shared::model::Invoice,
) -> (u32, ledgerhook_workers::connectors::RemoteInvoice) {
    use ledgerhook_workers::connectors::CrmApi;
    let number = invoice.number.as_deref().expect("number");
    for attempt in 1..=3 {
        let existing = hs.find_invoice_by_number(number).await.expect("search");
        if let Ok(done) = hs.upsert_invoice(existing.as_ref(), invoice, None).await {
            return (attempt, done);
        }
    }
    panic!("{number} not written in three attempts");
}

#[tokio::test]
async fn the_connector_retrying_a_write_whose_answer_was_lost_makes_nothing_twice() {
    use ledgerhook_shared::{
        model::{Invoice, InvoiceLine, InvoiceStatus},
        Currency, Money,
    };
    use ledgerhook_workers::{
        auth::TokenHandle,
        connectors::hubspot::{HubspotClient, HubspotOptions},
    };
    let env = Env::start().await;
    let base = url::Url::parse(&format!("{}/hubspot", env.url)).expect("url");
    let token = TokenHandle::fixed(secrecy::SecretString::from(HUBSPOT_TOKEN.to_owned()));
    let hs = HubspotClient::new(base, token, HubspotOptions::default());
    let usd = |minor| Money::from_minor(minor, Currency::USD);
    let line = |description: &str, quantity: i64, unit: i64| InvoiceLine {
        id: None,
        description: description.to_owned(),
        quantity: quantity.into(),
        unit_price: rust_decimal::Decimal::new(unit, 2),
        amount: usd(quantity * unit),
    };
    let invoice = |number: &str, lines: Vec<InvoiceLine>| Invoice {
        id: format!("qbo-{number}"),
        number: Some(number.to_owned()),
        status: InvoiceStatus::Open,
        currency: Currency::USD,
        customer: Default::default(),
        total: lines
            .iter()
            .fold(usd(0), |sum, l| sum.checked_add(&l.amount).expect("sum")),
        lines,
        subtotal: None,
        tax: None,
        amount_paid: None,
        amount_due: None,
        issue_date: None,
        due_date: None,
        updated_at: None,
    };

    // The invoice is created, its answer lost; then the first line item, its answer lost.
    let cases = [
        (
            "POST /crm/v3/objects/invoices",
            invoice(
                "INV-81",
                vec![line("Licence", 4, 9_995), line("Onboarding", 1, 50_000)],
            ),
        ),
        (
            "POST /crm/v3/objects/line_items",
            invoice(
                "INV-82",
                vec![line("Hosting", 12, 1_999), line("Domain", 1, 1_200)],
            ),
        ),
    ];
    for (route, wanted) in &cases {
        env.faults(
            json!({ "system": "hubspot", "fail_after_next": 1, "status": 502,
            "fail_after_route": route }),
        )
        .await;
        let (attempts, written) = write_until_done(&hs, wanted).await;
        assert_eq!(attempts, 2, "{route}: the first attempt lost its answer");
        assert_eq!(written.invoice.total, wanted.total);
    }
    let state = env.state().await;
    let objects = &state["hubspot"]["acme"]["objects"];
    let invoices = objects["invoices"].as_array().expect("invoices");
    assert_eq!(invoices.len(), 2, "one invoice each: {invoices:#?}");
    for (invoice, billed) in invoices.iter().zip(["899.80", "251.88"]) {
        assert_eq!(invoice["properties"]["hs_amount_billed"], billed);
        assert_eq!(invoice["properties"]["hs_invoice_status"], "open");
        let lines = invoice["associations"]["line_items"]["results"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(lines, 2, "{invoice:#}");
    }
    assert_eq!(
        objects["line_items"].as_array().map(Vec::len),
        Some(4),
        "no line item twice, none left over"
    );
}
