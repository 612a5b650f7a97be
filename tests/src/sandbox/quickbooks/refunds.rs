//! `/refundreceipt`: create and read `refundreceipt/{id}`.
//!
//! From Intuit's RefundReceipt reference and the samples it prints: `CustomerRef`, `Line` (sales
//! item lines as on an invoice) and `DepositToAccountRef` (the account the refund is paid from,
//! "Refund from" in QuickBooks) are required; `TotalAmt` is computed from the lines; `DocNumber`,
//! `TxnDate`, `PaymentRefNum` and `PrivateNote` are optional, and duplicate refund receipt
//! numbers are accepted. A refund receipt links to no invoice and changes no balance. It is
//! announced as a RefundReceipt Create notification. A `TotalAmt` that disagrees with the lines
//! is refused with a 6000 business validation fault whose wording is the sandbox's own.

use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Value};

use super::{
    invoices::build_lines,
    model::{Company, Meta, RefundReceipt},
    output::{currency_ref, customer_ref, day, head, Head, SalesOut},
    reply::{self, Reply},
    wire::{self, RefundReceiptIn},
};
use crate::sandbox::{
    money::{round_dp, Num},
    webhooks::QuickbooksEvent,
};

pub(crate) fn read(company: &Company, id: &str) -> Reply {
    match company.refund_receipts.iter().find(|r| r.id == id) {
        Some(r) => reply::entity("RefundReceipt", &RefundReceiptOut::new(company, r)),
        None => reply::not_found(),
    }
}

pub(crate) fn create(company: &mut Company, body: &[u8]) -> Reply {
    let input: RefundReceiptIn = match wire::parse(body) {
        Ok(input) => input,
        Err(e) => return reply::invalid_property(&e),
    };
    let Some(customer_id) = input.customer_ref.as_ref().and_then(|r| r.value.clone()) else {
        return reply::required("CustomerRef");
    };
    let Some(customer) = company.customer(&customer_id).filter(|c| c.active) else {
        return reply::invalid_reference("CustomerRef");
    };
    let currency = customer.currency.clone();
    let account = input
        .deposit_to_account_ref
        .as_ref()
        .and_then(|r| r.value.clone())
        .filter(|v| !v.trim().is_empty());
    let Some(account) = account else {
        return reply::required("DepositToAccountRef");
    };
    if let Some(code) = input.currency_ref.as_ref().and_then(|r| r.value.as_ref()) {
        if !code.trim().eq_ignore_ascii_case(&currency) {
            return reply::business(&format!(
                "The refund currency {code} must be the customer's currency {currency}."
            ));
        }
    }
    let lines = match build_lines(input.line.unwrap_or_default(), &[]) {
        Ok(lines) if !lines.is_empty() => lines,
        Ok(_) => return reply::required("Line"),
        Err(refused) => return refused,
    };
    let txn_date = match input.txn_date.as_deref() {
        Some(text) => match wire::date(text) {
            Some(d) => d,
            None => return reply::invalid_property(&format!("TxnDate {text}")),
        },
        None => Utc::now().date_naive(),
    };
    let mut receipt = RefundReceipt {
        id: String::new(),
        meta: Meta::new(),
        doc_number: String::new(),
        customer_id,
        currency,
        txn_date,
        deposit_account: account,
        lines,
        reference: input.payment_ref_num.filter(|r| !r.is_empty()),
        private_note: input.private_note.filter(|n| !n.is_empty()),
    };
    if let Some(total) = input.total_amt {
        if round_dp(total.0, 2) != receipt.total() {
            return reply::business(&format!(
                "The refund receipt total {} must be the sum of its lines {}.",
                total.0,
                receipt.total()
            ));
        }
    }
    receipt.id = company.next_id("refundreceipt");
    receipt.doc_number = match input.doc_number.filter(|n| !n.trim().is_empty()) {
        Some(n) => n,
        None => company.next_id("refunddoc").to_string(),
    };
    let out = RefundReceiptOut::new(company, &receipt);
    let events = vec![QuickbooksEvent::new(
        "refundreceipt",
        &receipt.id,
        "created",
    )];
    company.refund_receipts.push(receipt);
    reply::entity("RefundReceipt", &out).with_events(events)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct LineOut {
    id: String,
    line_num: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    amount: Num,
    detail_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sales_item_line_detail: Option<SalesOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RefundReceiptOut {
    #[serde(flatten)]
    head: Head,
    doc_number: String,
    txn_date: String,
    currency_ref: Value,
    customer_ref: Value,
    deposit_to_account_ref: Value,
    line: Vec<LineOut>,
    total_amt: Num,
    balance: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_ref_num: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_note: Option<String>,
    print_status: &'static str,
}

impl RefundReceiptOut {
    pub fn new(company: &Company, r: &RefundReceipt) -> RefundReceiptOut {
        let line = r
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| LineOut {
                id: l.id.clone(),
                line_num: n + 1,
                description: l.description.clone(),
                amount: Num::amount(l.amount),
                detail_type: if l.sales.is_some() {
                    "SalesItemLineDetail"
                } else {
                    "DescriptionOnly"
                },
                sales_item_line_detail: l.sales.as_ref().map(SalesOut::new),
            })
            .collect();
        RefundReceiptOut {
            head: head(&r.id, &r.meta),
            doc_number: r.doc_number.clone(),
            txn_date: day(r.txn_date),
            currency_ref: currency_ref(&r.currency),
            customer_ref: customer_ref(company, &r.customer_id),
            deposit_to_account_ref: json!({ "value": r.deposit_account }),
            line,
            total_amt: Num::amount(r.total()),
            balance: Num::amount(rust_decimal::Decimal::ZERO),
            payment_ref_num: r.reference.clone(),
            private_note: r.private_note.clone(),
            print_status: "NotSet",
        }
    }
}
