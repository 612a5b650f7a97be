//! QuickBooks Online's response shapes for customers, invoices and payments, field by field as
//! the samples of Intuit's API reference show them: `Id` and `SyncToken` as strings, `domain`
//! "QBO", `sparse`, `MetaData {CreateTime, LastUpdatedTime}`, references `{value, name}`, and
//! amounts as JSON numbers written exactly (2 decimals for amounts, quantities and unit prices
//! as given, up to QuickBooks' 7). An invoice's sales lines are followed by the
//! `SubTotalLineDetail` line QuickBooks adds, and its `LinkedTxn` lists the payments applied
//! to it, as a read after a payment shows.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

use super::model::{Company, Customer, Invoice, Meta, Payment, SalesDetail};
use crate::sandbox::money::Num;

pub(super) fn exact(value: Decimal) -> Num {
    let normalized = value.normalize();
    Num::with_dp(normalized, normalized.scale())
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub(super) fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub(super) fn currency_ref(code: &str) -> Value {
    let name = match code {
        "USD" => "United States Dollar",
        "CAD" => "Canadian Dollar",
        "EUR" => "Euro",
        "GBP" => "British Pound Sterling",
        "AUD" => "Australian Dollar",
        other => other,
    };
    json!({ "value": code, "name": name })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetaOut {
    create_time: String,
    last_updated_time: String,
}

/// The fields every entity starts with.
#[derive(Debug, Serialize)]
pub(super) struct Head {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "SyncToken")]
    sync_token: String,
    domain: &'static str,
    sparse: bool,
    #[serde(rename = "MetaData")]
    meta: MetaOut,
}

pub(super) fn head(id: &str, meta: &Meta) -> Head {
    Head {
        id: id.to_owned(),
        sync_token: meta.sync_token.to_string(),
        domain: "QBO",
        sparse: false,
        meta: MetaOut {
            create_time: stamp(meta.created),
            last_updated_time: stamp(meta.updated),
        },
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomerOut {
    #[serde(flatten)]
    head: Head,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suffix: Option<String>,
    fully_qualified_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<String>,
    print_on_check_name: String,
    active: bool,
    job: bool,
    bill_with_parent: bool,
    taxable: bool,
    balance: Num,
    balance_with_jobs: Num,
    currency_ref: Value,
    preferred_delivery_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_email_addr: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_phone: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_addr: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
}

impl CustomerOut {
    pub fn new(company: &Company, c: &Customer) -> CustomerOut {
        let balance = company.customer_balance(&c.id);
        CustomerOut {
            head: head(&c.id, &c.meta),
            display_name: c.display_name.clone(),
            title: c.title.clone(),
            given_name: c.given_name.clone(),
            middle_name: c.middle_name.clone(),
            family_name: c.family_name.clone(),
            suffix: c.suffix.clone(),
            fully_qualified_name: c.display_name.clone(),
            company_name: c.company_name.clone(),
            print_on_check_name: c
                .company_name
                .clone()
                .unwrap_or_else(|| c.display_name.clone()),
            active: c.active,
            job: false,
            bill_with_parent: false,
            taxable: false,
            balance: Num::amount(balance),
            balance_with_jobs: Num::amount(balance),
            currency_ref: currency_ref(&c.currency),
            preferred_delivery_method: "Print",
            primary_email_addr: c.email.as_ref().map(|a| json!({ "Address": a })),
            primary_phone: c.phone.as_ref().map(|n| json!({ "FreeFormNumber": n })),
            bill_addr: c.bill_addr.clone(),
            notes: c.notes.clone(),
        }
    }
}

/// A line's `SalesItemLineDetail`, as invoices and refund receipts show it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SalesOut {
    item_ref: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_price: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qty: Option<Num>,
    tax_code_ref: Value,
}

impl SalesOut {
    pub(super) fn new(s: &SalesDetail) -> SalesOut {
        SalesOut {
            item_ref: json!({ "value": s.item.value, "name": s.item.name }),
            unit_price: s.unit_price.map(exact),
            qty: s.qty.map(exact),
            tax_code_ref: json!({ "value": "NON" }),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct LineOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line_num: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    amount: Num,
    detail_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sales_item_line_detail: Option<SalesOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description_line_detail: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_total_line_detail: Option<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InvoiceOut {
    #[serde(flatten)]
    head: Head,
    doc_number: String,
    txn_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_date: Option<String>,
    currency_ref: Value,
    exchange_rate: Num,
    customer_ref: Value,
    line: Vec<LineOut>,
    txn_tax_detail: Value,
    total_amt: Num,
    balance: Num,
    deposit: Num,
    linked_txn: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_memo: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_email: Option<Value>,
    email_status: &'static str,
    print_status: &'static str,
    apply_tax_after_discount: bool,
}

pub(super) fn customer_ref(company: &Company, id: &str) -> Value {
    let name = company.customer(id).map(|c| c.display_name.clone());
    json!({ "value": id, "name": name })
}

impl InvoiceOut {
    pub fn new(company: &Company, i: &Invoice) -> InvoiceOut {
        let mut lines: Vec<LineOut> = i
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| LineOut {
                id: Some(l.id.clone()),
                line_num: Some(n + 1),
                description: l.description.clone(),
                amount: Num::amount(l.amount),
                detail_type: if l.sales.is_some() {
                    "SalesItemLineDetail"
                } else {
                    "DescriptionOnly"
                },
                sales_item_line_detail: l.sales.as_ref().map(SalesOut::new),
                description_line_detail: l.sales.is_none().then(|| json!({})),
                sub_total_line_detail: None,
            })
            .collect();
        lines.push(LineOut {
            id: None,
            line_num: None,
            description: None,
            amount: Num::amount(i.total()),
            detail_type: "SubTotalLineDetail",
            sales_item_line_detail: None,
            description_line_detail: None,
            sub_total_line_detail: Some(json!({})),
        });
        let linked = company
            .payments
            .iter()
            .filter(|p| p.lines.iter().any(|l| l.invoice_id == i.id))
            .map(|p| json!({ "TxnId": p.id, "TxnType": "Payment" }))
            .collect();
        InvoiceOut {
            head: head(&i.id, &i.meta),
            doc_number: i.doc_number.clone(),
            txn_date: day(i.txn_date),
            due_date: i.due_date.map(day),
            currency_ref: currency_ref(&i.currency),
            exchange_rate: Num::with_dp(Decimal::ONE, 0),
            customer_ref: customer_ref(company, &i.customer_id),
            line: lines,
            txn_tax_detail: json!({ "TotalTax": 0 }),
            total_amt: Num::amount(i.total()),
            balance: Num::amount(company.balance(i)),
            deposit: Num::with_dp(Decimal::ZERO, 0),
            linked_txn: linked,
            private_note: i.private_note.clone(),
            customer_memo: i.customer_memo.as_ref().map(|m| json!({ "value": m })),
            bill_email: i.bill_email.as_ref().map(|a| json!({ "Address": a })),
            email_status: "NotSet",
            print_status: "NotSet",
            apply_tax_after_discount: false,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PaymentLineOut {
    amount: Num,
    linked_txn: Vec<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PaymentOut {
    #[serde(flatten)]
    head: Head,
    txn_date: String,
    currency_ref: Value,
    customer_ref: Value,
    total_amt: Num,
    unapplied_amt: Num,
    process_payment: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_ref_num: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_note: Option<String>,
    line: Vec<PaymentLineOut>,
}

impl PaymentOut {
    pub fn new(company: &Company, p: &Payment) -> PaymentOut {
        PaymentOut {
            head: head(&p.id, &p.meta),
            txn_date: day(p.txn_date),
            currency_ref: currency_ref(&p.currency),
            customer_ref: customer_ref(company, &p.customer_id),
            total_amt: Num::amount(p.total),
            unapplied_amt: Num::amount(p.unapplied()),
            process_payment: false,
            payment_ref_num: p.reference.clone(),
            private_note: p.private_note.clone(),
            line: p
                .lines
                .iter()
                .map(|l| PaymentLineOut {
                    amount: Num::amount(l.amount),
                    linked_txn: vec![json!({ "TxnId": l.invoice_id, "TxnType": "Invoice" })],
                })
                .collect(),
        }
    }
}

/// The answer to `operation=delete`: `{"status": "Deleted", "domain": "QBO", "Id": ..}`.
#[derive(Debug, Serialize)]
pub(crate) struct Deleted {
    pub status: &'static str,
    pub domain: &'static str,
    #[serde(rename = "Id")]
    pub id: String,
}

impl Deleted {
    pub fn new(id: &str) -> Deleted {
        Deleted {
            status: "Deleted",
            domain: "QBO",
            id: id.to_owned(),
        }
    }
}
