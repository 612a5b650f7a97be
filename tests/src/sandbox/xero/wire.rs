//! Xero's request bodies, read with exact decimals, as the Contacts, Invoices, CreditNotes and
//! Payments schemas of XeroAPI/Xero-OpenAPI `xero_accounting.yaml` define them, and Xero's date forms.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;

use crate::sandbox::money::JsonDecimal;

/// Reads `{"<Key>": [..]}`, or a bare object as the single element: Xero's SDKs send both.
pub(crate) fn elements<T: DeserializeOwned>(body: &[u8], key: &str) -> Result<Vec<T>, String> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "Contacts")]
        contacts: Option<Box<serde_json::value::RawValue>>,
        #[serde(rename = "Invoices")]
        invoices: Option<Box<serde_json::value::RawValue>>,
        #[serde(rename = "Payments")]
        payments: Option<Box<serde_json::value::RawValue>>,
        #[serde(rename = "CreditNotes")]
        credit_notes: Option<Box<serde_json::value::RawValue>>,
    }
    let probe: Probe = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let list = match key {
        "Contacts" => probe.contacts,
        "Invoices" => probe.invoices,
        "CreditNotes" => probe.credit_notes,
        _ => probe.payments,
    };
    match list {
        Some(raw) => serde_json::from_str(raw.get()).map_err(|e| e.to_string()),
        None => serde_json::from_slice(body)
            .map(|one| vec![one])
            .map_err(|e| e.to_string()),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContactIn {
    #[serde(rename = "ContactID")]
    pub contact_id: Option<String>,
    pub contact_number: Option<String>,
    pub account_number: Option<String>,
    pub contact_status: Option<String>,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_address: Option<String>,
    pub tax_number: Option<String>,
    pub addresses: Option<Vec<Value>>,
    pub phones: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InvoiceIn {
    #[serde(rename = "InvoiceID")]
    pub invoice_id: Option<String>,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub invoice_number: Option<String>,
    pub reference: Option<String>,
    pub contact: Option<ContactIn>,
    pub line_items: Option<Vec<LineItemIn>>,
    pub date: Option<String>,
    pub due_date: Option<String>,
    pub status: Option<String>,
    pub currency_code: Option<String>,
    pub line_amount_types: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LineItemIn {
    #[serde(rename = "LineItemID")]
    pub line_item_id: Option<String>,
    pub description: Option<String>,
    pub quantity: Option<JsonDecimal>,
    pub unit_amount: Option<JsonDecimal>,
    pub line_amount: Option<JsonDecimal>,
    pub discount_rate: Option<JsonDecimal>,
    pub account_code: Option<String>,
    pub item_code: Option<String>,
    pub tax_type: Option<String>,
    pub tax_amount: Option<JsonDecimal>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PaymentIn {
    pub invoice: Option<InvoiceRef>,
    pub credit_note: Option<CreditNoteRef>,
    pub account: Option<AccountRef>,
    pub date: Option<String>,
    pub amount: Option<JsonDecimal>,
    pub reference: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InvoiceRef {
    #[serde(rename = "InvoiceID")]
    pub invoice_id: Option<String>,
    pub invoice_number: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreditNoteRef {
    #[serde(rename = "CreditNoteID")]
    pub credit_note_id: Option<String>,
    pub credit_note_number: Option<String>,
}

/// A credit note as the CreditNotes schema defines it: an invoice's fields under other names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreditNoteIn {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub credit_note_number: Option<String>,
    pub reference: Option<String>,
    pub contact: Option<ContactIn>,
    pub line_items: Option<Vec<LineItemIn>>,
    pub date: Option<String>,
    pub status: Option<String>,
    pub currency_code: Option<String>,
    pub line_amount_types: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountRef {
    pub code: Option<String>,
    #[serde(rename = "AccountID")]
    pub account_id: Option<String>,
}

/// Xero's `/Date(1552262400000+0000)/` form of a date or time.
pub(crate) fn ms_date(at: DateTime<Utc>) -> String {
    format!("/Date({}+0000)/", at.timestamp_millis())
}

pub(super) fn day(date: NaiveDate) -> String {
    ms_date(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

pub(super) fn day_string(date: NaiveDate) -> String {
    format!("{}T00:00:00", date.format("%Y-%m-%d"))
}

/// Parses the date forms Xero accepts: `2019-03-11`, `2019-03-11T00:00:00`, `/Date(ms)/`.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let ms: String = inner
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        return DateTime::from_timestamp_millis(ms.parse().ok()?).map(|d| d.date_naive());
    }
    NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok()
}
