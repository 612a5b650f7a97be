//! Refunds in the simulators: Xero credit notes refunded by payments against them, and
//! QuickBooks refund receipts, to the cent, with their idempotency, their errors in each
//! provider's format, their place in the state dump and their webhooks (or none, for Xero).

use std::time::Duration;

use ledgerhook_shared::EventType;
use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

async fn xero_paid_invoice(env: &Env) -> (String, String) {
    let contact = env
        .xero(Method::PUT, "Contacts")
        .json(
            &json!({ "Contacts": [{ "Name": "Refund Ltd", "EmailAddress": "ap@refund.example" }] }),
        )
        .send()
        .await
        .expect("contact");
    let contact = body(contact, 200).await["Contacts"][0]["ContactID"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let invoice = env
        .xero(Method::PUT, "Invoices")
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{"Invoices":[{{"Type":"ACCREC","Contact":{{"ContactID":"{contact}"}},
            "InvoiceNumber":"INV-700","Status":"AUTHORISED","CurrencyCode":"NZD",
            "LineItems":[{{"Description":"Thirds","Quantity":3,"UnitAmount":33.43,"AccountCode":"200"}}]}}]}}"#
        ))
        .send()
        .await
        .expect("invoice");
    let invoice = body(invoice, 200).await["Invoices"][0]["InvoiceID"]
        .as_str()
        .expect("invoice id")
        .to_owned();
    let paid = env
        .xero(Method::PUT, "Payments")
        .body(format!(
            r#"{{"Payments":[{{"Invoice":{{"InvoiceID":"{invoice}"}},"Account":{{"Code":"090"}},"Amount":100.29}}]}}"#
        ))
        .send()
        .await
        .expect("payment");
    body(paid, 200).await;
    (contact, invoice)
}

fn credit_note(contact: &str, amount: &str) -> String {
    format!(
        r#"{{"CreditNotes":[{{"Type":"ACCRECCREDIT","Contact":{{"ContactID":"{contact}"}},
        "Date":"2024-06-20","Status":"AUTHORISED","CurrencyCode":"NZD","Reference":"INV-700",
        "LineAmountTypes":"Inclusive","LineItems":[{{"Description":"Refund of invoice INV-700",
        "Quantity":1,"UnitAmount":{amount},"AccountCode":"200"}}]}}]}}"#
    )
}

fn refund(note: &str, amount: &str) -> String {
    format!(
        r#"{{"Payments":[{{"CreditNote":{{"CreditNoteID":"{note}"}},"Account":{{"Code":"090"}},
        "Date":"2024-06-20","Amount":{amount},"Reference":"re_700"}}]}}"#
    )
}

#[tokio::test]
async fn a_xero_credit_note_is_refunded_once_to_the_cent_and_leaves_the_invoice_paid() {
    let env = Env::start().await;
    let (contact, invoice) = xero_paid_invoice(&env).await;
    // Contact created, invoice created, invoice paid.
    env.wait_for("3 Xero webhooks", |h| h.len() >= 3).await;

    let create = || {
        env.xero(Method::PUT, "CreditNotes")
            .header("Idempotency-Key", "refund-700-note")
            .body(credit_note(&contact, "40.10"))
            .send()
    };
    let first = text(create().await.expect("note"), 200).await;
    let again = text(create().await.expect("again"), 200).await;
    assert_eq!(first, again, "a replay answers byte for byte the same");
    assert!(first.contains(r#""Total":40.10"#), "{first}");
    let note: Value = serde_json::from_str(&first).expect("json");
    let note = &note["CreditNotes"][0];
    assert_eq!(note["Type"], "ACCRECCREDIT");
    assert_eq!(note["Status"], "AUTHORISED");
    assert_eq!(note["CreditNoteNumber"], "CN-0001");
    assert_eq!(dec(&note["RemainingCredit"]), d("40.10"));
    let id = note["CreditNoteID"].as_str().expect("id").to_owned();

    let over = env
        .xero(Method::PUT, "Payments")
        .body(refund(&id, "40.11"))
        .send()
        .await
        .expect("over");
    let over = body(over, 400).await;
    assert_eq!(over["Type"], "ValidationException");
    assert_eq!(
        over["Elements"][0]["ValidationErrors"][0]["Message"],
        "Payment amount exceeds the amount outstanding on this document"
    );
    let paid = env
        .xero(Method::PUT, "Payments")
        .body(refund(&id, "40.10"))
        .send()
        .await
        .expect("refund");
    let paid = body(paid, 200).await;
    assert_eq!(paid["Payments"][0]["PaymentType"], "ARCREDITPAYMENT");
    assert_eq!(
        paid["Payments"][0]["CreditNote"]["CreditNoteID"],
        id.as_str()
    );
    assert_eq!(dec(&paid["Payments"][0]["Amount"]), d("40.10"));

    let read = text(
        env.xero(Method::GET, &format!("CreditNotes/{id}"))
            .send()
            .await
            .expect("read"),
        200,
    )
    .await;
    assert!(read.contains(r#""RemainingCredit":0.00"#), "{read}");
    let read: Value = serde_json::from_str(&read).expect("json");
    assert_eq!(read["CreditNotes"][0]["Status"], "PAID");
    assert_eq!(
        read["CreditNotes"][0]["Payments"].as_array().map(Vec::len),
        Some(1)
    );

    // A refund via a credit note does not un-pay the invoice, as in Xero.
    let state = env.state().await;
    let org = &state["xero"][XERO_TENANT];
    let inv = org["invoices"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["InvoiceID"] == invoice.as_str()))
        .expect("invoice in dump");
    assert_eq!(inv["Status"], "PAID");
    assert_eq!(dec(&inv["AmountPaid"]), d("100.29"));
    assert_eq!(org["credit_notes"].as_array().map(Vec::len), Some(1));

    // Xero's webhooks cover contacts and invoices only: nothing announces the refund.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.hits().len(), 3);
}

#[tokio::test]
async fn a_xero_credit_note_of_an_unknown_type_is_a_validation_exception() {
    let env = Env::start().await;
    let (contact, _) = xero_paid_invoice(&env).await;
    let wrong = credit_note(&contact, "1.00").replace("ACCRECCREDIT", "ACCREC");
    let answer = env
        .xero(Method::PUT, "CreditNotes")
        .body(wrong)
        .send()
        .await
        .expect("refused");
    let answer = body(answer, 400).await;
    assert_eq!(answer["Type"], "ValidationException");
    assert_eq!(
        answer["Elements"][0]["ValidationErrors"][0]["Message"],
        "CreditNote not of valid type for creation"
    );
    let state = env.state().await;
    assert_eq!(
        state["xero"][XERO_TENANT]["credit_notes"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

async fn qbo_customer(env: &Env) -> String {
    let answer = env
        .qbo(Method::POST, "customer")
        .json(&json!({ "DisplayName": "Refund Co", "PrimaryEmailAddr": { "Address": "ap@refund.example" } }))
        .send()
        .await
        .expect("customer");
    body(answer, 200).await["Customer"]["Id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn receipt(customer: &str, account: Option<&str>) -> Value {
    let mut receipt = json!({
        "CustomerRef": { "value": customer }, "TxnDate": "2024-06-20",
        "PaymentRefNum": "re_701", "PrivateNote": "Refund of invoice INV-701 (re_701)",
        "TotalAmt": 89.99,
        "Line": [{ "DetailType": "SalesItemLineDetail", "Amount": 89.99,
            "Description": "Refund of invoice INV-701 (re_701)",
            "SalesItemLineDetail": { "Qty": 1, "UnitPrice": 89.99, "ItemRef": { "value": "1" } } }]
    });
    if let Some(account) = account {
        receipt["DepositToAccountRef"] = json!({ "value": account });
    }
    receipt
}

#[tokio::test]
async fn a_quickbooks_refund_receipt_is_created_once_read_back_and_announced() {
    let env = Env::start().await;
    let customer = qbo_customer(&env).await;

    let missing = env
        .qbo(Method::POST, "refundreceipt")
        .json(&receipt(&customer, None))
        .send()
        .await
        .expect("missing account");
    let missing = body(missing, 400).await;
    assert_eq!(missing["Fault"]["type"], "ValidationFault");
    assert_eq!(missing["Fault"]["Error"][0]["code"], "2020");

    let send = || {
        env.qbo(
            Method::POST,
            "refundreceipt?requestid=refund-701&minorversion=75",
        )
        .json(&receipt(&customer, Some("4")))
        .send()
    };
    let first = text(send().await.expect("1"), 200).await;
    let again = text(send().await.expect("2"), 200).await;
    assert_eq!(first, again, "a replay answers byte for byte the same");
    assert!(first.contains(r#""TotalAmt":89.99"#), "{first}");
    let created: Value = serde_json::from_str(&first).expect("json");
    let id = created["RefundReceipt"]["Id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        created["RefundReceipt"]["DepositToAccountRef"]["value"],
        "4"
    );

    let read = env
        .qbo(Method::GET, &format!("refundreceipt/{id}"))
        .send()
        .await
        .expect("read");
    let read = body(read, 200).await;
    assert_eq!(dec(&read["RefundReceipt"]["TotalAmt"]), d("89.99"));
    assert_eq!(read["RefundReceipt"]["PaymentRefNum"], "re_701");
    assert_eq!(
        read["RefundReceipt"]["PrivateNote"],
        "Refund of invoice INV-701 (re_701)"
    );

    let wrong_total = env
        .qbo(Method::POST, "refundreceipt")
        .json(&{
            let mut r = receipt(&customer, Some("4"));
            r["TotalAmt"] = json!(90.00);
            r
        })
        .send()
        .await
        .expect("wrong total");
    assert_eq!(
        body(wrong_total, 400).await["Fault"]["Error"][0]["code"],
        "6000"
    );

    let state = env.state().await;
    let receipts = state["quickbooks"]
        .as_object()
        .and_then(|all| {
            all.values().find(|c| {
                c["refund_receipts"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
            })
        })
        .and_then(|c| c["refund_receipts"].as_array())
        .map(Vec::len);
    assert_eq!(receipts, Some(1), "one refund receipt in the dump");

    // The customer and the receipt, each a signed CloudEvents webhook the router accepts.
    env.wait_for("2 QuickBooks webhooks", |h| h.len() >= 2)
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refunds: Vec<_> = env
        .hits()
        .iter()
        .flat_map(|h| env.verify(h).1.events)
        .filter(|e| e.kind == EventType::PaymentRefunded)
        .map(|e| e.subject)
        .collect();
    assert_eq!(refunds, [id]);
}
