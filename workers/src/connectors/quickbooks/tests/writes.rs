//! Wiremock tests of the QuickBooks Online client's writes: customers, invoices (create with
//! `requestid`, sparse update with the 5010 retry, void) and payments, with exact JSON numbers.

use ledgerhook_shared::model::{Customer, InvoiceStatus, PaymentStatus};
use serde_json::json;
use wiremock::{
    matchers::{body_json, body_partial_json, query_param, query_param_is_missing},
    MockServer,
};

use super::*;
use crate::connectors::{
    quickbooks::http::request_id, AccountingApi, ApplyError, PaymentDraft, RemoteInvoice,
};

#[tokio::test]
async fn create_customer_posts_display_name_and_email_with_a_request_id() {
    let server = MockServer::start().await;
    qbo("POST", "/customer")
        .and(query_param("requestid", "acme-cust-1"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"DisplayName": "Jane Doe",
            "PrimaryEmailAddr": {"Address": "jane@example.com"},
            "PrimaryPhone": {"FreeFormNumber": "+1 555 0100"}})))
        .respond_with(ok(json!({"Customer": {"Id": "61", "SyncToken": "0",
            "DisplayName": "Jane Doe", "PrimaryEmailAddr": {"Address": "jane@example.com"}}})))
        .expect(1)
        .mount(&server)
        .await;
    let customer = Customer {
        id: "cus_1".to_owned(),
        name: Some("Jane Doe".to_owned()),
        email: Some("jane@example.com".to_owned()),
        phone: Some("+1 555 0100".to_owned()),
        ..Customer::default()
    };
    let created = client(&server)
        .create_customer(&customer, "acme-cust-1")
        .await
        .expect("create");
    assert_eq!(
        (created.id.as_str(), created.email.as_deref()),
        ("61", Some("jane@example.com"))
    );
}

#[tokio::test]
async fn a_duplicate_display_name_returns_the_customer_that_holds_it() {
    let server = MockServer::start().await;
    qbo("POST", "/customer")
        .respond_with(fault(
            400,
            "6240",
            "ValidationFault",
            "Duplicate Name Exists Error",
        ))
        .expect(1)
        .mount(&server)
        .await;
    query("SELECT * FROM Customer WHERE DisplayName = 'Acme Ltd' MAXRESULTS 1")
        .respond_with(ok(
            json!({"QueryResponse": {"Customer": [{"Id": "58", "DisplayName": "Acme Ltd"}]}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let customer = Customer {
        id: "c".into(),
        name: Some("Acme Ltd".into()),
        ..Customer::default()
    };
    let found = client(&server).create_customer(&customer, "k").await;
    assert_eq!(found.map(|c| c.id).as_deref(), Ok("58"));
}

#[tokio::test]
async fn create_invoice_posts_exact_numbers_with_the_request_id() {
    let server = MockServer::start().await;
    let expected = json!({
        "DocNumber": "INV-0042", "CustomerRef": {"value": "58"}, "CurrencyRef": {"value": "USD"},
        "TxnDate": "2024-03-01", "DueDate": "2024-03-31",
        "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": 1234.50, "Description": "Consulting",
             "SalesItemLineDetail": {"Qty": 1, "UnitPrice": 1234.5, "ItemRef": {"value": "1"}}},
            {"DetailType": "SalesItemLineDetail", "Amount": 0.30, "Description": "Stamps",
             "SalesItemLineDetail": {"Qty": 3, "UnitPrice": 0.1, "ItemRef": {"value": "1"}}}
        ]
    });
    qbo("POST", "/invoice")
        .and(query_param("requestid", "ledgerhook-inv-acme-hubspot-1"))
        .and(body_json(expected))
        .respond_with(ok(usd_invoice_json("130", "0")))
        .expect(1)
        .mount(&server)
        .await;
    let created = client(&server)
        .create_invoice(&usd_invoice(), "58", "ledgerhook-inv-acme-hubspot-1")
        .await
        .expect("create");
    // The numbers left as written, not as a float would print them.
    let body = raw_body(&server, "POST", "/invoice").await;
    for token in [
        r#""Amount":1234.50,"#,
        r#""UnitPrice":0.1,"#,
        r#""Amount":0.30,"#,
    ] {
        assert!(body.contains(token), "{token} missing from {body}");
    }
    assert_eq!(created.id(), "130");
    assert_eq!(created.invoice.status, InvoiceStatus::Open);
    assert_eq!(
        created.invoice.total,
        Money::from_minor(123_480, Currency::USD)
    );
    assert_eq!(
        created.invoice.amount_paid,
        Some(Money::zero(Currency::USD))
    );
    assert_eq!(created.customer_id.as_deref(), Some("58"));
}

#[tokio::test]
async fn long_keys_are_hashed_and_yen_and_dinar_amounts_keep_their_digits() {
    let server = MockServer::start().await;
    let key = format!(
        "ledgerhook-inv-{}-hubspot-{}",
        "tenant".repeat(6),
        "9".repeat(20)
    );
    let short = request_id(&key).into_owned();
    assert_eq!(short.len(), 50);
    qbo("POST", "/invoice")
        .and(query_param("requestid", short.as_str()))
        .and(body_partial_json(json!({"CurrencyRef": {"value": "JPY"},
            "Line": [{"Amount": 1500, "SalesItemLineDetail": {"Qty": 3, "UnitPrice": 500}}]})))
        .respond_with(ok(
            json!({"Invoice": {"Id": "140", "SyncToken": "0", "DocNumber": "INV-0042",
            "CurrencyRef": {"value": "JPY"}, "TotalAmt": 1500, "Balance": 1500}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut yen = usd_invoice();
    yen.currency = Currency::JPY;
    yen.lines = vec![line(
        "Tea",
        "3",
        "500",
        Money::from_minor(1500, Currency::JPY),
    )];
    yen.total = Money::from_minor(1500, Currency::JPY);
    let books = client(&server);
    let created = books
        .create_invoice(&yen, "58", &key)
        .await
        .expect("create");
    assert!(raw_body(&server, "POST", "/invoice")
        .await
        .contains(r#""Amount":1500,"#));
    assert_eq!(
        created.invoice.total,
        Money::from_minor(1500, Currency::JPY)
    );

    // QuickBooks keeps two decimals: KWD 12.340 goes out as 12.34, KWD 12.345 cannot go at all.
    let kwd = Currency::parse("KWD").expect("KWD");
    let mut dinar = usd_invoice();
    dinar.currency = kwd;
    dinar.lines = vec![line(
        "Widgets",
        "1",
        "12.345",
        Money::from_minor(12_345, kwd),
    )];
    let refused = books.create_invoice(&dinar, "58", "k").await;
    assert!(
        matches!(&refused, Err(ApplyError::Permanent { reason }) if reason.contains("2 decimals")),
        "{refused:?}"
    );
    qbo("POST", "/invoice")
        .and(query_param("requestid", "kwd"))
        .respond_with(ok(
            json!({"Invoice": {"Id": "141", "CurrencyRef": {"value": "KWD"},
            "TotalAmt": 12.34, "Balance": 12.34}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    dinar.lines = vec![line("Widgets", "2", "6.17", Money::from_minor(12_340, kwd))];
    dinar.total = Money::from_minor(12_340, kwd);
    let created = books
        .create_invoice(&dinar, "58", "kwd")
        .await
        .expect("create");
    let body = raw_body(&server, "POST", "/invoice").await;
    assert!(body.contains(r#""Amount":12.34,"#), "{body}");
    assert_eq!(created.invoice.total.amount.to_string(), "12.340");
    let mut long = usd_invoice();
    long.number = Some("INV-2024-000000000001".to_owned() + "X");
    let refused = books.create_invoice(&long, "58", "k").await;
    assert!(matches!(refused, Err(ApplyError::Permanent { .. })));
    let sent = server.received_requests().await.expect("recording on");
    assert_eq!(sent.len(), 2, "refused invoices send nothing");
}

#[tokio::test]
async fn a_duplicate_doc_number_returns_the_invoice_that_holds_it() {
    let server = MockServer::start().await;
    qbo("POST", "/invoice")
        .respond_with(fault(400, "6140", "ValidationFault",
            "Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber=INV-0042 is assigned to TxnType=Invoice with TxnId=130"))
        .expect(1)
        .mount(&server)
        .await;
    query("SELECT * FROM Invoice WHERE DocNumber = 'INV-0042'")
        .respond_with(ok(
            json!({"QueryResponse": {"Invoice": [usd_invoice_json("130", "5")["Invoice"]]}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let existing = client(&server)
        .create_invoice(&usd_invoice(), "58", "k")
        .await
        .expect("the existing invoice");
    assert_eq!(existing.id(), "130");
    assert_eq!(
        existing.invoice.total,
        Money::from_minor(123_480, Currency::USD)
    );
}

#[tokio::test]
async fn a_stale_sync_token_is_refreshed_and_the_sparse_update_retried_once() {
    let server = MockServer::start().await;
    qbo("GET", "/invoice/130")
        .respond_with(ok(usd_invoice_json("130", "7")))
        .expect(1)
        .mount(&server)
        .await;
    qbo("POST", "/invoice")
        .and(query_param_is_missing("requestid"))
        .and(body_partial_json(
            json!({"Id": "130", "SyncToken": "2", "sparse": true}),
        ))
        .respond_with(fault(
            400,
            "5010",
            "ValidationFault",
            "Stale Object Error : You and Jane were working on this at the same time.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    qbo("POST", "/invoice")
        .and(body_partial_json(
            json!({"Id": "130", "SyncToken": "7", "sparse": true,
            "DocNumber": "INV-0042", "CustomerRef": {"value": "58"},
            "Line": [{"Amount": 1234.50}, {"Amount": 0.30}]}),
        ))
        .respond_with(ok(usd_invoice_json("130", "8")))
        .expect(1)
        .mount(&server)
        .await;
    let qbo = client(&server);
    // The token the client last saw for invoice 130 is 2, from an earlier read.
    qbo.sync_tokens.put("130", "2");
    let existing = qbo_remote(InvoiceStatus::Open);
    let updated = qbo
        .update_invoice(&existing, &usd_invoice(), "58")
        .await
        .expect("update");
    assert_eq!(
        updated.invoice.total,
        Money::from_minor(123_480, Currency::USD)
    );
    // A sparse update never moves the currency.
    assert!(!raw_body(&server, "POST", "/invoice")
        .await
        .contains("CurrencyRef"));
    assert_eq!(qbo.sync_tokens.get("130").as_deref(), Some("8"));
    // Paid invoices are final: nothing is sent.
    let paid = qbo_remote(InvoiceStatus::Paid);
    assert_eq!(
        qbo.update_invoice(&paid, &usd_invoice(), "58").await,
        Ok(paid)
    );
}

fn qbo_remote(status: InvoiceStatus) -> RemoteInvoice {
    let mut invoice = usd_invoice();
    invoice.id = "130".to_owned();
    invoice.status = status;
    RemoteInvoice {
        invoice,
        customer_id: Some("58".to_owned()),
    }
}

#[tokio::test]
async fn void_posts_id_and_sync_token_to_the_void_operation() {
    let server = MockServer::start().await;
    qbo("GET", "/invoice/130")
        .respond_with(ok(usd_invoice_json("130", "3")))
        .expect(1)
        .mount(&server)
        .await;
    qbo("POST", "/invoice")
        .and(query_param("operation", "void"))
        .and(body_json(json!({"Id": "130", "SyncToken": "3"})))
        .respond_with(ok(json!({"Invoice": {"Id": "130", "SyncToken": "4", "DocNumber": "INV-0042",
            "CurrencyRef": {"value": "USD"}, "PrivateNote": "Voided", "TotalAmt": 0, "Balance": 0,
            "Line": [{"Amount": 0, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {}}]}})))
        .expect(1)
        .mount(&server)
        .await;
    let voided = client(&server)
        .void_invoice(&qbo_remote(InvoiceStatus::Open))
        .await
        .expect("void");
    assert_eq!(voided.invoice.status, InvoiceStatus::Void);
    assert_eq!(voided.invoice.number.as_deref(), Some("INV-0042"));
}

#[tokio::test]
async fn record_payment_links_the_invoice_and_get_payment_reads_it_back() {
    let server = MockServer::start().await;
    qbo("POST", "/payment")
        .and(query_param("requestid", "ledgerhook-pay-acme-stripe-pi_1"))
        .and(body_json(
            json!({"CustomerRef": {"value": "58"}, "TotalAmt": 1234.80,
            "TxnDate": "2024-03-05", "PaymentRefNum": "pi_3MtwBwLkdIwHu7ix28",
            "PrivateNote": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
            "Line": [{"Amount": 1234.80, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}]}),
        ))
        .respond_with(ok(json!({"Payment": {"Id": "201", "TotalAmt": 1234.8}})))
        .expect(1)
        .mount(&server)
        .await;
    qbo("GET", "/payment/201")
        .respond_with(ok(
            json!({"Payment": {"Id": "201", "TotalAmt": 1234.80, "TxnDate": "2024-03-05",
            "CurrencyRef": {"value": "USD"}, "CustomerRef": {"value": "58", "name": "Acme Ltd"},
            "Line": [{"Amount": 1234.80, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}]}}),
        ))
        .mount(&server)
        .await;
    qbo("GET", "/invoice/130")
        .respond_with(ok(usd_invoice_json("130", "9")))
        .mount(&server)
        .await;
    let qbo = client(&server);
    let draft = PaymentDraft {
        amount: money("1234.80", "USD"),
        date: date(2024, 3, 5).expect("date"),
        reference: "pi_3MtwBwLkdIwHu7ix28a3tqPa".to_owned(),
    };
    let remote = qbo_remote(InvoiceStatus::Open);
    let id = qbo
        .record_payment(&remote, &draft, "ledgerhook-pay-acme-stripe-pi_1")
        .await;
    assert_eq!(id.as_deref(), Ok("201"));
    assert!(raw_body(&server, "POST", "/payment")
        .await
        .contains(r#""TotalAmt":1234.80,"#));
    let payment = qbo.get_payment("201").await.expect("read").expect("exists");
    assert_eq!(
        (payment.status, payment.amount),
        (PaymentStatus::Succeeded, money("1234.80", "USD"))
    );
    assert_eq!(
        (
            payment.invoice_id.as_deref(),
            payment.invoice_number.as_deref()
        ),
        (Some("130"), Some("INV-0042"))
    );
    assert_eq!(payment.customer.name.as_deref(), Some("Acme Ltd"));
    assert_eq!(payment.paid_at.map(|t| t.date_naive()), date(2024, 3, 5));
    let yen = PaymentDraft {
        amount: Money::from_minor(5, Currency::JPY),
        ..draft
    };
    let refused = qbo.record_payment(&remote, &yen, "k").await;
    assert!(matches!(refused, Err(ApplyError::Permanent { .. })));
}
