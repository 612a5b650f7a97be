//! Xero Accounting API JSON: the request and response shapes this connector uses, exact
//! decimal numbers, and Xero's `/Date(...)/` timestamps.
//!
//! Field names were checked against XeroAPI/Xero-OpenAPI `xero_accounting.yaml` (v2.9.0):
//! `Invoice` (Type, Contact, LineItems, Date, DueDate, LineAmountTypes, InvoiceNumber,
//! CurrencyCode, Status DRAFT|SUBMITTED|DELETED|AUTHORISED|PAID|VOIDED, SubTotal, TotalTax,
//! Total, InvoiceID, AmountDue, AmountPaid, UpdatedDateUTC, HasErrors, ValidationErrors),
//! `LineItem` (LineItemID, Description, Quantity, UnitAmount, AccountCode, LineAmount),
//! `LineAmountTypes` (Exclusive|Inclusive|NoTax), `Contact` (ContactID, ContactNumber, Name,
//! FirstName, LastName, EmailAddress, Addresses, Phones, UpdatedDateUTC), `Payment` (Invoice,
//! Account{Code}, Date, Amount, Reference, Status AUTHORISED|DELETED, PaymentID; a refund names
//! `CreditNote{CreditNoteID}` instead of `Invoice`), `CreditNote` (Type ACCRECCREDIT, Contact,
//! Date, Status, LineAmountTypes, LineItems, CurrencyCode, Reference, CreditNoteID, Total,
//! RemainingCredit), and `Error`
//! (ErrorNumber, Type, Message, Elements[].ValidationErrors[].Message). Money fields are
//! `type: number` in the spec, so they travel as JSON numbers, never strings.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// Money fields travel as exact JSON number tokens; the type is shared with the other
/// connectors whose APIs take JSON numbers.
pub(super) use crate::connectors::num::Num;

/// Reads Xero's `/Date(1573755038314+0000)/` (milliseconds since the epoch, UTC, with the
/// organisation's offset appended for information), or an ISO `2019-03-11T00:00:00`.
pub(super) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Some(inner) = text
        .strip_prefix("/Date(")
        .and_then(|rest| rest.strip_suffix(")/"))
    {
        // The millisecond count may be negative; the offset starts at the next sign.
        let end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map_or(inner.len(), |(i, _)| i);
        let millis: i64 = inner[..end].parse().ok()?;
        return DateTime::from_timestamp_millis(millis);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|dt| dt.and_utc())
        .or_else(|| {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            Some(date.and_hms_opt(0, 0, 0)?.and_utc())
        })
}

/// Xero dates (`x-is-msdate`) are midnight UTC of the calendar day.
pub(super) fn parse_date(text: &str) -> Option<NaiveDate> {
    parse_datetime(text).map(|dt| dt.date_naive())
}

/// Dates go out as `YYYY-MM-DD`, the form the spec's request examples use.
pub(super) fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

// ---- requests ----

/// `{"Contacts": [...]}`, `{"Invoices": [...]}`, `{"Payments": [...]}`: every write wraps its
/// objects in a list named after the endpoint.
#[derive(Debug, Serialize)]
pub(super) enum ListOf<T> {
    Contacts(Vec<T>),
    Invoices(Vec<T>),
    Payments(Vec<T>),
    CreditNotes(Vec<T>),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ContactOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<PhoneOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<AddressOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PhoneOut<'a> {
    pub phone_type: &'static str,
    pub phone_number: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AddressOut<'a> {
    pub address_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<&'a str>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct InvoiceOut<'a> {
    #[serde(rename = "InvoiceID", skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<&'a str>,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<IdRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_amount_types: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_items: Option<Vec<LineOut<'a>>>,
}

/// `{"ContactID": ...}` or `{"InvoiceID": ...}`: a reference to an existing object.
#[derive(Debug, Serialize)]
pub(super) enum IdRef<'a> {
    #[serde(rename = "ContactID")]
    Contact(&'a str),
    #[serde(rename = "InvoiceID")]
    Invoice(&'a str),
    #[serde(rename = "CreditNoteID")]
    CreditNote(&'a str),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct LineOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: &'a str,
    pub quantity: Num,
    pub unit_amount: Num,
    pub line_amount: Num,
    pub account_code: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PaymentOut<'a> {
    pub invoice: IdRef<'a>,
    pub account: AccountRef<'a>,
    pub date: String,
    pub amount: Num,
    pub reference: &'a str,
}

/// A sales credit note (`ACCRECCREDIT`): the document Xero refunds a paid sales invoice with.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreditNoteOut<'a> {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub contact: IdRef<'a>,
    pub date: String,
    pub status: &'static str,
    pub currency_code: &'a str,
    pub reference: &'a str,
    pub line_amount_types: &'static str,
    pub line_items: Vec<LineOut<'a>>,
}

/// A payment against a credit note: the money paid back to the customer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RefundPaymentOut<'a> {
    pub credit_note: IdRef<'a>,
    pub account: AccountRef<'a>,
    pub date: String,
    pub amount: Num,
    pub reference: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AccountRef<'a> {
    pub code: &'a str,
}

// ---- responses ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct Envelope {
    pub contacts: Vec<XContact>,
    pub invoices: Vec<XInvoice>,
    pub payments: Vec<XPayment>,
    pub credit_notes: Vec<XCreditNote>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XContact {
    #[serde(rename = "ContactID")]
    pub contact_id: String,
    pub name: Option<String>,
    pub email_address: Option<String>,
    pub addresses: Vec<XAddress>,
    pub phones: Vec<XPhone>,
    #[serde(rename = "UpdatedDateUTC")]
    pub updated_date_utc: Option<String>,
    pub validation_errors: Vec<XMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XAddress {
    pub address_type: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XPhone {
    pub phone_type: Option<String>,
    pub phone_number: Option<String>,
    pub phone_area_code: Option<String>,
    pub phone_country_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XInvoice {
    #[serde(rename = "InvoiceID")]
    pub invoice_id: String,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub invoice_number: Option<String>,
    pub status: Option<String>,
    pub contact: Option<XContact>,
    pub line_items: Vec<XLine>,
    pub currency_code: Option<String>,
    pub date: Option<String>,
    pub due_date: Option<String>,
    pub sub_total: Option<Num>,
    pub total_tax: Option<Num>,
    pub total: Option<Num>,
    pub amount_due: Option<Num>,
    pub amount_paid: Option<Num>,
    #[serde(rename = "UpdatedDateUTC")]
    pub updated_date_utc: Option<String>,
    pub validation_errors: Vec<XMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XLine {
    #[serde(rename = "LineItemID")]
    pub line_item_id: Option<String>,
    pub description: Option<String>,
    pub quantity: Option<Num>,
    pub unit_amount: Option<Num>,
    pub line_amount: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XPayment {
    #[serde(rename = "PaymentID")]
    pub payment_id: String,
    pub invoice: Option<XInvoice>,
    pub date: Option<String>,
    pub amount: Option<Num>,
    pub status: Option<String>,
    pub validation_errors: Vec<XMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XCreditNote {
    #[serde(rename = "CreditNoteID")]
    pub credit_note_id: String,
    pub reference: Option<String>,
    pub status: Option<String>,
    pub date: Option<String>,
    pub currency_code: Option<String>,
    pub total: Option<Num>,
    pub remaining_credit: Option<Num>,
    pub validation_errors: Vec<XMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XMessage {
    pub message: String,
}

/// The body of a 400: `{"ErrorNumber":10,"Type":"ValidationException","Message":...,
/// "Elements":[{"ValidationErrors":[{"Message":...}]}]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XError {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub message: Option<String>,
    pub elements: Vec<XElement>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct XElement {
    pub validation_errors: Vec<XMessage>,
}

impl XError {
    /// "A validation exception occurred: Email address must be valid.; ..."
    pub fn describe(&self) -> String {
        let details: Vec<&str> = self
            .elements
            .iter()
            .flat_map(|e| &e.validation_errors)
            .map(|m| m.message.as_str())
            .collect();
        let head = self
            .message
            .as_deref()
            .unwrap_or("Xero rejected the request");
        if details.is_empty() {
            head.to_owned()
        } else {
            format!("{head}: {}", details.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn numbers_go_out_as_exact_json_number_tokens() {
        let out = serde_json::to_string(&[Num(dec("1234.5")), Num(dec("0.1")), Num(dec("-7.250"))]);
        assert_eq!(out.expect("serialize"), "[1234.5,0.1,-7.250]");
    }

    #[test]
    fn numbers_come_in_without_float_rounding() {
        let parsed: Vec<Num> =
            serde_json::from_str(r#"[0.1, 1234.50, 12345678901234567.89, "3.005", 1e2]"#)
                .expect("parse");
        let expect = ["0.1", "1234.50", "12345678901234567.89", "3.005", "100"];
        for (got, want) in parsed.iter().zip(expect) {
            assert_eq!(got.0, dec(want));
        }
        // Through f64 the 17-digit amount would have become ...567.88 or ...568.
        assert_eq!(parsed[2].0.to_string(), "12345678901234567.89");
    }

    #[test]
    fn xero_dates_parse_with_and_without_offsets() {
        let t = parse_datetime("/Date(1573755038314+0000)/").expect("msdate");
        assert_eq!(t.to_rfc3339(), "2019-11-14T18:10:38.314+00:00");
        let t = parse_datetime("/Date(1552327126117)/").expect("bare msdate");
        assert_eq!(t.timestamp_millis(), 1_552_327_126_117);
        assert_eq!(
            parse_date("/Date(1539993600000+0000)/"),
            NaiveDate::from_ymd_opt(2018, 10, 20)
        );
        assert_eq!(
            parse_date("2018-10-20T00:00:00"),
            NaiveDate::from_ymd_opt(2018, 10, 20)
        );
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
