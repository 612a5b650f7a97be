//! The journal search: what happened to an invoice, a provider object or an event.

use serde_json::{json, Value};
use uuid::Uuid;

use super::get_json;
use crate::support::{seed, seed::Spec, *};

#[tokio::test]
async fn the_journal_search_tells_what_happened_to_an_invoice() {
    use chrono::Utc;
    use ledgerhook_shared::store::{self, Handled};

    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let received = Utc::now();
    // Each event is a different change (its own idempotency key) to the same invoice.
    let handled = |event_id: Uuid,
                   key: &'static str,
                   destination: &'static str,
                   status: &'static str,
                   target: Option<&'static str>| {
        let tenant = key.split('/').next().expect("tenant");
        Handled {
            destination,
            idempotency_key: key,
            event_id,
            tenant,
            source: if tenant == "acme" {
                "/acme/stripe"
            } else {
                "/globex/stripe"
            },
            event_type: "invoice.paid",
            subject: "in_77",
            invoice_number: Some("INV-77"),
            received_at: received,
            status,
            target_id: target,
            detail: None,
        }
    };

    // Event A: applied to accounting after one retry.
    let a = Uuid::now_v7();
    let h = handled(
        a,
        "acme/stripe/evt_77",
        "accounting",
        "applied",
        Some("xero-inv-77"),
    );
    store::journal(
        &c,
        "acme",
        Some(&h),
        "retried",
        None,
        Some("Xero answered 503"),
    )
    .await
    .expect("journal");
    store::inbox_record(&c, &h).await.expect("inbox");
    // Event B, later: dead-lettered at the CRM.
    let mut spec = Spec::new(77);
    spec.invoice_number = "INV-77".to_owned();
    spec.subject = "in_77".to_owned();
    spec.destination = "crm".to_owned();
    spec.change = "evt_78".to_owned();
    let b = seed::dead_letter(&c, spec).await;
    let hb = handled(
        b.event_id,
        "acme/stripe/evt_78",
        "crm",
        "dead_lettered",
        None,
    );
    store::journal(
        &c,
        "acme",
        Some(&hb),
        "dead_lettered",
        None,
        Some("HubSpot refused the deal"),
    )
    .await
    .expect("journal");
    // Event C: another tenant's invoice with the same number.
    let cc = Uuid::now_v7();
    store::inbox_record(
        &c,
        &handled(
            cc,
            "globex/stripe/evt_77",
            "accounting",
            "applied",
            Some("qbo-9"),
        ),
    )
    .await
    .expect("inbox");

    let search = |query: String| {
        let router = &router;
        async move {
            let (status, answer) = get_json(router, &format!("/api/v1/events?{query}")).await;
            assert_eq!(status, 200, "{query}: {answer}");
            answer["items"].as_array().expect("items").clone()
        }
    };
    let found = search("tenant=acme&q=INV-77".to_owned()).await;
    let event_ids: Vec<Value> = found.iter().map(|e| e["event_id"].clone()).collect();
    assert_eq!(event_ids, vec![json!(b.event_id), json!(a)], "newest first");
    let (eb, ea) = (&found[0], &found[1]);
    assert_eq!(ea["tenant"], "acme");
    assert_eq!(ea["source"], "/acme/stripe");
    assert_eq!(ea["type"], "invoice.paid");
    assert_eq!(ea["subject"], "in_77");
    assert_eq!(ea["invoice_number"], "INV-77");
    assert!(ea["received_at"].as_str().is_some());
    let steps: Vec<(&str, &str)> = ea["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step"].as_str().expect("step"),
                s["destination"].as_str().expect("destination"),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![("retried", "accounting"), ("applied", "accounting")]
    );
    assert_eq!(ea["steps"][0]["detail"], "Xero answered 503");
    assert_eq!(ea["steps"][1]["target_id"], "xero-inv-77");
    assert_eq!(eb["steps"][0]["step"], "dead_lettered");
    assert_eq!(eb["steps"][0]["detail"], "HubSpot refused the deal");
    assert_eq!(eb["source"], "/acme/stripe");
    assert_eq!(
        eb["received_at"].as_str().map(|s| s[..19].to_owned()),
        b.event["receivedat"].as_str().map(|s| s[..19].to_owned())
    );

    assert_eq!(search("q=INV-77".to_owned()).await.len(), 3, "every tenant");
    assert_eq!(search("tenant=acme&q=in_77".to_owned()).await.len(), 2);
    let by_id = search(format!("q={a}")).await;
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0]["event_id"], json!(a));
    assert_eq!(
        search("q=xero-inv-77".to_owned()).await[0]["event_id"],
        json!(a)
    );
    let by_key = search("q=acme/stripe/evt_77".to_owned()).await;
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0]["event_id"], json!(a));
    assert!(search("q=INV-404".to_owned()).await.is_empty());

    let (status, error) = get_json(&router, "/api/v1/events?tenant=acme").await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "invalid_request");
    router.finish().await;
}
