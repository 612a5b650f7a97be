//! QuickBooks Online request bodies, read with exact decimals: the Customer, Invoice and
//! Payment shapes of Intuit's API reference (PascalCase names, `Id`, `SyncToken`, lowercase
//! `sparse`, references as `{"value": .., "name": ..}`, dates `yyyy-MM-dd`). Read-only fields a
//! client echoes back in a full update (`TotalAmt` of an invoice, `MetaData`, ...) are ignored,
//! as QuickBooks ignores them. Each body type carries `Id`, `SyncToken` and `sparse` itself
//! rather than flattening a shared struct in, because serde's flatten buffers values and would
//! lose the exact text of the amounts beside them.

use chrono::NaiveDate;
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;

use crate::sandbox::money::JsonDecimal;

/// Parses a body, or says why not in the words of QuickBooks' 2010 fault.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// `yyyy-MM-dd`; QuickBooks' docs also name `yyyy/MM/dd`.
pub(crate) fn date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y/%m/%d"))
        .ok()
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RefIn {
    pub value: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EmailIn {
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PhoneIn {
    pub free_form_number: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MemoIn {
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomerIn {
    pub id: Option<String>,
    pub sync_token: Option<String>,
    #[serde(rename = "sparse", default)]
    pub sparse: bool,
    pub display_name: Option<String>,
    pub title: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub family_name: Option<String>,
    pub suffix: Option<String>,
    pub company_name: Option<String>,
    pub primary_email_addr: Option<EmailIn>,
    pub primary_phone: Option<PhoneIn>,
    pub bill_addr: Option<Value>,
    pub notes: Option<String>,
    pub active: Option<bool>,
    pub currency_ref: Option<RefIn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SalesItemIn {
    pub qty: Option<JsonDecimal>,
    pub unit_price: Option<JsonDecimal>,
    pub item_ref: Option<RefIn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LineIn {
    pub id: Option<String>,
    pub detail_type: Option<String>,
    pub amount: Option<JsonDecimal>,
    pub description: Option<String>,
    pub sales_item_line_detail: Option<SalesItemIn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InvoiceIn {
    pub id: Option<String>,
    pub sync_token: Option<String>,
    #[serde(rename = "sparse", default)]
    pub sparse: bool,
    pub customer_ref: Option<RefIn>,
    pub line: Option<Vec<LineIn>>,
    pub doc_number: Option<String>,
    pub currency_ref: Option<RefIn>,
    pub txn_date: Option<String>,
    pub due_date: Option<String>,
    pub private_note: Option<String>,
    pub customer_memo: Option<MemoIn>,
    pub bill_email: Option<EmailIn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LinkedTxnIn {
    pub txn_id: Option<String>,
    pub txn_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PaymentLineIn {
    pub amount: Option<JsonDecimal>,
    #[serde(default)]
    pub linked_txn: Vec<LinkedTxnIn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PaymentIn {
    pub id: Option<String>,
    pub sync_token: Option<String>,
    #[serde(rename = "sparse", default)]
    pub sparse: bool,
    pub customer_ref: Option<RefIn>,
    pub total_amt: Option<JsonDecimal>,
    pub currency_ref: Option<RefIn>,
    pub txn_date: Option<String>,
    pub line: Option<Vec<PaymentLineIn>>,
    pub payment_ref_num: Option<String>,
    pub private_note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RefundReceiptIn {
    pub customer_ref: Option<RefIn>,
    pub deposit_to_account_ref: Option<RefIn>,
    pub line: Option<Vec<LineIn>>,
    pub doc_number: Option<String>,
    pub currency_ref: Option<RefIn>,
    pub txn_date: Option<String>,
    pub total_amt: Option<JsonDecimal>,
    pub payment_ref_num: Option<String>,
    pub private_note: Option<String>,
}
