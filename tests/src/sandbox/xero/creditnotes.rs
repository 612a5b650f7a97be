//! `/CreditNotes`: PUT or POST (`{"CreditNotes":[..]}`) to create credit notes, GET by id or
//! all. A credit note is refunded by a payment against it (`/Payments` with
//! `CreditNote: {CreditNoteID}`), which lowers its `RemainingCredit` and makes it PAID once
//! nothing is left.
//!
//! Confirmed in `xero_accounting.yaml` (CreditNote schema and its examples): `Type`
//! ACCRECCREDIT | ACCPAYCREDIT, `Contact`, `Date`, `Status` (DRAFT | SUBMITTED | AUTHORISED |
//! PAID | VOIDED | DELETED), `LineAmountTypes`, `LineItems`, `SubTotal`, `TotalTax`, `Total`,
//! `CreditNoteID`, `CreditNoteNumber` (Xero numbers `CN-0001` when none is given), `Reference`,
//! `CurrencyCode`, `RemainingCredit`, `Payments`, `Allocations`. Xero's webhooks cover only
//! contacts and invoices (the `xero-webhooks.yaml` spec), so a credit note and its refund send
//! none. The validation messages are the sandbox's own, in Xero's words where the invoice
//! endpoint has them.

use chrono::Utc;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use super::{
    batch::{self, Element, Outcome, Query},
    invoices,
    model::{new_id, CreditNote, Org},
    output::Message,
    reply::{self, Reply},
    wire::{self, day, day_string, ms_date, CreditNoteIn},
};
use crate::sandbox::money::Num;

pub(crate) fn list(org: &Org) -> Reply {
    let all: Vec<CreditNoteOut> = org
        .credit_notes
        .iter()
        .map(|c| CreditNoteOut::new(org, c))
        .collect();
    reply::envelope("CreditNotes", &all)
}

pub(crate) fn get(org: &Org, id: &str) -> Reply {
    let found = org
        .credit_notes
        .iter()
        .find(|c| c.id.eq_ignore_ascii_case(id) || c.number == id);
    match found {
        Some(c) => reply::envelope("CreditNotes", &[CreditNoteOut::new(org, c)]),
        None => reply::not_found(),
    }
}

pub(crate) fn create(org: &mut Org, body: &[u8], query: &Query) -> Reply {
    let inputs: Vec<CreditNoteIn> = match wire::elements(body, "CreditNotes") {
        Ok(inputs) => inputs,
        Err(e) => return reply::post_data_invalid(&e),
    };
    let unit_dp = query.unit_dp();
    batch::run(
        org,
        inputs,
        query.summarize_errors(),
        "CreditNotes",
        |org, input| record(org, input, unit_dp),
    )
}

fn record(org: &mut Org, input: CreditNoteIn, unit_dp: u32) -> Outcome<CreditNoteOut> {
    let mut errors = Vec::new();
    let mut events = Vec::new();
    let kind = input.kind.clone().unwrap_or_default().to_ascii_uppercase();
    if kind != "ACCRECCREDIT" && kind != "ACCPAYCREDIT" {
        errors.push("CreditNote not of valid type for creation".to_owned());
    }
    let (contact_id, status) = invoices::contact_and_status(
        org,
        input.contact.as_ref(),
        input.status.as_deref(),
        "CreditNote",
        &mut errors,
        &mut events,
    );
    let date = match input.date.as_deref() {
        Some(text) => wire::parse_date(text).unwrap_or_else(|| {
            errors.push(format!("{text} is not a valid date"));
            Utc::now().date_naive()
        }),
        None => Utc::now().date_naive(),
    };
    let line_amount_types = match input.line_amount_types.as_deref() {
        None => "Exclusive".to_owned(),
        Some(t) => invoices::line_amount_types(t).unwrap_or_else(|e| {
            errors.push(e);
            "Exclusive".to_owned()
        }),
    };
    let lines: Vec<_> = input
        .line_items
        .unwrap_or_default()
        .into_iter()
        .map(|l| invoices::line(l, &[], unit_dp, &mut errors))
        .collect();
    if lines.is_empty() && status != "DRAFT" {
        errors.push("A Credit Note must have at least one line item".to_owned());
    }
    let number = match input.credit_note_number.filter(|n| !n.trim().is_empty()) {
        Some(n) => n,
        None => org.next_credit_note_number(),
    };
    let note = CreditNote {
        id: new_id(),
        kind,
        number,
        reference: input.reference.unwrap_or_default(),
        contact_id,
        date,
        status,
        line_amount_types,
        currency: input
            .currency_code
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_else(|| org.base_currency.clone()),
        lines,
        refunded: Decimal::ZERO,
        fully_paid_on: None,
        updated: Utc::now(),
    };
    if note.totals().2 < Decimal::ZERO {
        errors.push("The Credit Note total cannot be negative".to_owned());
    }
    let mut out = CreditNoteOut::new(org, &note);
    if !errors.is_empty() {
        out.refuse(errors);
        return Outcome::Refused(out);
    }
    org.credit_notes.push(note);
    Outcome::Saved(out, events)
}

/// Moves `amount` onto (or, negative, off) what was paid back on the credit note, and sets PAID
/// or AUTHORISED to match.
pub(crate) fn refund(org: &mut Org, id: &str, amount: Decimal, on: Option<chrono::NaiveDate>) {
    if let Some(note) = org.credit_note_mut(id) {
        note.refunded += amount;
        note.updated = Utc::now();
        if note.remaining_credit().is_zero() && note.status == "AUTHORISED" {
            note.status = "PAID".to_owned();
            note.fully_paid_on = on;
        } else if note.status == "PAID" && !note.remaining_credit().is_zero() {
            note.status = "AUTHORISED".to_owned();
            note.fully_paid_on = None;
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RefundSummary {
    #[serde(rename = "PaymentID")]
    payment_id: String,
    date: String,
    amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct LineOut {
    #[serde(rename = "LineItemID")]
    line_item_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    quantity: Num,
    unit_amount: Num,
    line_amount: Num,
    tax_amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_code: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreditNoteOut {
    #[serde(rename = "CreditNoteID")]
    credit_note_id: String,
    credit_note_number: String,
    #[serde(rename = "Type")]
    kind: String,
    reference: String,
    payments: Vec<RefundSummary>,
    allocations: Vec<Value>,
    remaining_credit: Num,
    contact: Value,
    date_string: String,
    date: String,
    status: String,
    line_amount_types: String,
    line_items: Vec<LineOut>,
    sub_total: Num,
    total_tax: Num,
    total: Num,
    #[serde(rename = "UpdatedDateUTC")]
    updated_date_utc: String,
    currency_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fully_paid_on_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_attribute_string: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<Message>,
}

impl CreditNoteOut {
    pub fn new(org: &Org, c: &CreditNote) -> CreditNoteOut {
        let (sub_total, total_tax, total) = c.totals();
        let name = org.contact(&c.contact_id).map(|x| x.name.clone());
        let payments = org
            .payments
            .iter()
            .filter(|p| p.credit_note_id.as_deref() == Some(&c.id) && p.status != "DELETED")
            .map(|p| RefundSummary {
                payment_id: p.id.clone(),
                date: day(p.date),
                amount: Num::amount(p.amount),
                reference: p.reference.clone(),
            })
            .collect();
        let lines = c
            .lines
            .iter()
            .map(|l| LineOut {
                line_item_id: l.id.clone(),
                description: l.description.clone(),
                quantity: Num::with_dp(l.quantity, 4),
                unit_amount: Num::amount(l.unit_amount),
                line_amount: Num::amount(l.line_amount),
                tax_amount: Num::amount(l.tax_amount),
                account_code: l.account_code.clone(),
            })
            .collect();
        CreditNoteOut {
            credit_note_id: c.id.clone(),
            credit_note_number: c.number.clone(),
            kind: c.kind.clone(),
            reference: c.reference.clone(),
            payments,
            allocations: Vec::new(),
            remaining_credit: Num::amount(c.remaining_credit()),
            contact: serde_json::json!({ "ContactID": c.contact_id, "Name": name }),
            date_string: day_string(c.date),
            date: day(c.date),
            status: c.status.clone(),
            line_amount_types: c.line_amount_types.clone(),
            line_items: lines,
            sub_total: Num::amount(sub_total),
            total_tax: Num::amount(total_tax),
            total: Num::amount(total),
            updated_date_utc: ms_date(c.updated),
            currency_code: c.currency.clone(),
            fully_paid_on_date: c.fully_paid_on.map(day),
            status_attribute_string: None,
            validation_errors: Vec::new(),
        }
    }
}
