//! Xero's response shapes for contacts, invoices and payments, built from the model, field by
//! field as the examples of `xero_accounting.yaml` show them: PascalCase names, `...ID`
//! suffixes, `/Date(ms+0000)/` dates with a `DateString` twin, amounts with 2 decimals,
//! quantities with 4 and currency rates with 6, written as exact JSON numbers.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use super::{
    model::{Contact, Invoice, Org, Payment},
    wire::{day, day_string, ms_date},
};
use crate::sandbox::money::Num;

#[derive(Debug, Serialize)]
pub(crate) struct Message {
    #[serde(rename = "Message")]
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContactOut {
    #[serde(rename = "ContactID")]
    contact_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_number: Option<String>,
    contact_status: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_number: Option<String>,
    addresses: Vec<Value>,
    phones: Vec<Value>,
    #[serde(rename = "UpdatedDateUTC")]
    updated_date_utc: String,
    contact_groups: Vec<Value>,
    is_supplier: bool,
    is_customer: bool,
    contact_persons: Vec<Value>,
    has_attachments: bool,
    has_validation_errors: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_attribute_string: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<Message>,
}

impl ContactOut {
    pub fn new(c: &Contact) -> ContactOut {
        ContactOut {
            contact_id: c.id.clone(),
            contact_number: c.contact_number.clone(),
            account_number: c.account_number.clone(),
            contact_status: c.status.clone(),
            name: c.name.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            email_address: c.email.clone(),
            tax_number: c.tax_number.clone(),
            addresses: c.addresses.clone(),
            phones: c.phones.clone(),
            updated_date_utc: ms_date(c.updated),
            contact_groups: Vec::new(),
            is_supplier: c.is_supplier,
            is_customer: c.is_customer,
            contact_persons: Vec::new(),
            has_attachments: false,
            has_validation_errors: false,
            status_attribute_string: None,
            validation_errors: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct LineItemOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    unit_amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_type: Option<String>,
    tax_amount: Num,
    line_amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discount_rate: Option<Num>,
    tracking: Vec<Value>,
    quantity: Num,
    #[serde(rename = "LineItemID")]
    line_item_id: String,
    validation_errors: Vec<Message>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PaymentSummary {
    #[serde(rename = "PaymentID")]
    payment_id: String,
    date: String,
    amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    currency_rate: Num,
    has_account: bool,
    has_validation_errors: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InvoiceOut {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "InvoiceID")]
    invoice_id: String,
    invoice_number: String,
    reference: String,
    payments: Vec<PaymentSummary>,
    credit_notes: Vec<Value>,
    prepayments: Vec<Value>,
    overpayments: Vec<Value>,
    amount_due: Num,
    amount_paid: Num,
    amount_credited: Num,
    sent_to_contact: bool,
    currency_rate: Num,
    has_errors: bool,
    is_discounted: bool,
    has_attachments: bool,
    contact: Value,
    date_string: String,
    date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_date_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_date: Option<String>,
    status: String,
    line_amount_types: String,
    line_items: Vec<LineItemOut>,
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

impl InvoiceOut {
    /// `with_lines` false gives the empty `LineItems` of Xero's unpaged list answers.
    pub fn new(org: &Org, i: &Invoice, with_lines: bool, unit_dp: u32) -> InvoiceOut {
        let totals = i.totals();
        let contact = org.contact(&i.contact_id);
        let contact = serde_json::json!({
            "ContactID": i.contact_id,
            "Name": contact.map(|c| c.name.clone()).unwrap_or_default(),
            "Addresses": [], "Phones": [], "ContactGroups": [], "ContactPersons": [],
            "HasValidationErrors": false,
        });
        let payments = org
            .payments
            .iter()
            .filter(|p| p.invoice_id == i.id && p.status != "DELETED")
            .map(|p| PaymentSummary {
                payment_id: p.id.clone(),
                date: day(p.date),
                amount: Num::amount(p.amount),
                reference: p.reference.clone(),
                currency_rate: Num::with_dp(Decimal::ONE, 6),
                has_account: false,
                has_validation_errors: false,
            })
            .collect();
        let lines = i.lines.iter().filter(|_| with_lines).map(|l| LineItemOut {
            description: l.description.clone(),
            unit_amount: Num::with_dp(l.unit_amount, unit_dp),
            tax_type: l.tax_type.clone(),
            tax_amount: Num::amount(l.tax_amount),
            line_amount: Num::amount(l.line_amount),
            account_code: l.account_code.clone(),
            item_code: l.item_code.clone(),
            discount_rate: l.discount_rate.map(Num::amount),
            tracking: Vec::new(),
            quantity: Num::with_dp(l.quantity, 4),
            line_item_id: l.id.clone(),
            validation_errors: Vec::new(),
        });
        InvoiceOut {
            kind: i.kind.clone(),
            invoice_id: i.id.clone(),
            invoice_number: i.number.clone(),
            reference: i.reference.clone(),
            payments,
            credit_notes: Vec::new(),
            prepayments: Vec::new(),
            overpayments: Vec::new(),
            amount_due: Num::amount(totals.amount_due),
            amount_paid: Num::amount(i.amount_paid),
            amount_credited: Num::amount(Decimal::ZERO),
            sent_to_contact: false,
            currency_rate: Num::with_dp(Decimal::ONE, 6),
            has_errors: false,
            is_discounted: i.lines.iter().any(|l| l.discount_rate.is_some()),
            has_attachments: false,
            contact,
            date_string: day_string(i.date),
            date: day(i.date),
            due_date_string: i.due_date.map(day_string),
            due_date: i.due_date.map(day),
            status: i.status.clone(),
            line_amount_types: i.line_amount_types.clone(),
            line_items: lines.collect(),
            sub_total: Num::amount(totals.sub_total),
            total_tax: Num::amount(totals.total_tax),
            total: Num::amount(totals.total),
            updated_date_utc: ms_date(i.updated),
            currency_code: i.currency.clone(),
            fully_paid_on_date: i.fully_paid_on.map(day),
            status_attribute_string: None,
            validation_errors: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PaymentOut {
    #[serde(rename = "PaymentID")]
    payment_id: String,
    date: String,
    bank_amount: Num,
    amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    currency_rate: Num,
    payment_type: &'static str,
    status: String,
    #[serde(rename = "UpdatedDateUTC")]
    updated_date_utc: String,
    has_account: bool,
    is_reconciled: bool,
    account: Value,
    invoice: Option<InvoiceOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit_note: Option<Value>,
    has_validation_errors: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_attribute_string: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<Message>,
}

impl PaymentOut {
    pub fn new(org: &Org, p: &Payment) -> PaymentOut {
        PaymentOut {
            payment_id: p.id.clone(),
            date: day(p.date),
            bank_amount: Num::amount(p.amount),
            amount: Num::amount(p.amount),
            reference: p.reference.clone(),
            currency_rate: Num::with_dp(Decimal::ONE, 6),
            payment_type: p.payment_type,
            status: p.status.clone(),
            updated_date_utc: ms_date(p.updated),
            has_account: true,
            is_reconciled: false,
            account: serde_json::json!({ "AccountID": p.account_id, "Code": p.account_code }),
            invoice: org
                .invoice(&p.invoice_id)
                .map(|i| InvoiceOut::new(org, i, true, 2)),
            credit_note: p
                .credit_note_id
                .as_deref()
                .and_then(|id| org.credit_note(id))
                .map(|c| {
                    serde_json::json!({
                        "CreditNoteID": c.id, "CreditNoteNumber": c.number, "Type": c.kind,
                        "CurrencyCode": c.currency, "Reference": c.reference,
                    })
                }),
            has_validation_errors: false,
            status_attribute_string: None,
            validation_errors: Vec::new(),
        }
    }
}
