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
