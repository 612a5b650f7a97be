//! QuickBooks Online Accounting API v3 JSON: the request and response shapes this connector
//! uses, and Intuit's `Fault` error body.
//!
//! Names follow Intuit's entity reference (developer.intuit.com, api/accounting/all-entities)
//! and the objects its own blog posts print: `Invoice` (Id, SyncToken, DocNumber, TxnDate,
//! DueDate, CustomerRef{value,name}, CurrencyRef{value}, BillEmail{Address}, PrivateNote,
//! Line[{Id, Amount, Description, DetailType, SalesItemLineDetail{ItemRef, Qty, UnitPrice}}],
//! TxnTaxDetail{TotalTax}, TotalAmt, Balance, MetaData{LastUpdatedTime}), `Customer` (Id,
//! DisplayName, CompanyName, PrimaryEmailAddr{Address}, PrimaryPhone{FreeFormNumber},
//! BillAddr), `Payment` (CustomerRef, TotalAmt, TxnDate, PaymentRefNum, Line[{Amount,
//! LinkedTxn[{TxnId, TxnType}]}]), `RefundReceipt` (CustomerRef, TxnDate, DepositToAccountRef,
//! PaymentRefNum, PrivateNote, TotalAmt, Line as an invoice's), reads wrapped as
//! `{"Invoice": {...}, "time": ...}` and queries as `{"QueryResponse": {"Invoice": [...]}}`.
//! The fault body `{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type": "ValidationFault"}}`
//! is the one Intuit's "handling common errors" page shows; its 401 answer spells the same
//! object in lower case (`fault`, `error`, `message`), which the aliases accept. Amounts are
//! JSON numbers, read and written through `Num` so no float ever touches them.

use serde::{Deserialize, Serialize};

pub(super) use crate::connectors::num::Num;

// ---- requests ----

/// `{"value": "..."}`: how QuickBooks references another object (customer, item, currency).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Ref<'a> {
    pub value: &'a str,
}

#[derive(Debug, Serialize)]
pub(super) struct EmailOut<'a> {
    #[serde(rename = "Address")]
    pub address: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CustomerOut<'a> {
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_email_addr: Option<EmailOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_phone: Option<PhoneOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_addr: Option<AddressOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PhoneOut<'a> {
    pub free_form_number: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AddressOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_sub_division_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<&'a str>,
}

/// A create (no `Id`), a sparse update (`Id`, `SyncToken`, `sparse: true`) or a void (`Id`
/// and `SyncToken` only).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct InvoiceOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_token: Option<&'a str>,
    /// The one lower-case key: Intuit spells it `sparse`.
    #[serde(rename = "sparse", skip_serializing_if = "Option::is_none")]
    pub sparse: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_ref: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txn_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<Vec<LineOut<'a>>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct LineOut<'a> {
    pub detail_type: &'static str,
    pub amount: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub sales_item_line_detail: SalesItemOut<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SalesItemOut<'a> {
    pub qty: Num,
    pub unit_price: Num,
    pub item_ref: Ref<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PaymentOut<'a> {
    pub customer_ref: Ref<'a>,
    pub total_amt: Num,
    pub txn_date: String,
    pub payment_ref_num: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_note: Option<&'a str>,
    pub line: Vec<PaymentLineOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PaymentLineOut<'a> {
    pub amount: Num,
    pub linked_txn: Vec<LinkedTxnOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct LinkedTxnOut<'a> {
    pub txn_id: &'a str,
    pub txn_type: &'static str,
}

/// A refund receipt: money paid back to a customer, from the "refund from" account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RefundReceiptOut<'a> {
    pub customer_ref: Ref<'a>,
    pub txn_date: String,
    pub deposit_to_account_ref: Ref<'a>,
    pub payment_ref_num: &'a str,
    pub private_note: &'a str,
    pub total_amt: Num,
    pub line: Vec<LineOut<'a>>,
}

// ---- responses ----

/// Every answer: one entity, a query result, or a fault (which Intuit may send with 200).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct Envelope {
    pub invoice: Option<QInvoice>,
    pub customer: Option<QCustomer>,
    pub payment: Option<QPayment>,
    pub refund_receipt: Option<QRefundReceipt>,
    pub query_response: Option<QueryResponse>,
    #[serde(alias = "fault")]
    pub fault: Option<Fault>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QueryResponse {
    pub invoice: Vec<QInvoice>,
    pub customer: Vec<QCustomer>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct RefIn {
    pub value: String,
    pub name: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct EmailIn {
    pub address: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct MetaData {
    pub last_updated_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QInvoice {
    pub id: String,
    pub sync_token: Option<String>,
    pub doc_number: Option<String>,
    pub txn_date: Option<String>,
    pub due_date: Option<String>,
    pub customer_ref: Option<RefIn>,
    pub currency_ref: Option<RefIn>,
    pub bill_email: Option<EmailIn>,
    pub private_note: Option<String>,
    pub line: Vec<QLine>,
    pub txn_tax_detail: Option<TaxDetail>,
    pub total_amt: Option<Num>,
    pub balance: Option<Num>,
    pub meta_data: Option<MetaData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct TaxDetail {
    pub total_tax: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QLine {
    pub id: Option<String>,
    pub description: Option<String>,
    pub amount: Option<Num>,
    pub detail_type: Option<String>,
    pub sales_item_line_detail: Option<SalesItemIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct SalesItemIn {
    pub qty: Option<Num>,
    pub unit_price: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QCustomer {
    pub id: String,
    pub display_name: Option<String>,
    pub company_name: Option<String>,
    pub primary_email_addr: Option<EmailIn>,
    pub primary_phone: Option<PhoneIn>,
    pub bill_addr: Option<AddressIn>,
    pub meta_data: Option<MetaData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct PhoneIn {
    pub free_form_number: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct AddressIn {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub country_sub_division_code: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QPayment {
    pub id: String,
    pub total_amt: Option<Num>,
    pub txn_date: Option<String>,
    pub customer_ref: Option<RefIn>,
    pub currency_ref: Option<RefIn>,
    pub line: Vec<QPaymentLine>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QRefundReceipt {
    pub id: String,
    pub total_amt: Option<Num>,
    pub txn_date: Option<String>,
    pub currency_ref: Option<RefIn>,
    pub payment_ref_num: Option<String>,
    pub private_note: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QPaymentLine {
    pub linked_txn: Vec<QLinkedTxn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct QLinkedTxn {
    pub txn_id: String,
    pub txn_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Fault {
    #[serde(rename = "Error", alias = "error")]
    pub errors: Vec<FaultError>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FaultError {
    #[serde(rename = "Message", alias = "message")]
    pub message: Option<String>,
    #[serde(rename = "Detail", alias = "detail")]
    pub detail: Option<String>,
    pub code: Option<String>,
}

impl Fault {
    pub fn codes(&self) -> Vec<String> {
        self.errors.iter().filter_map(|e| e.code.clone()).collect()
    }

    /// "ValidationFault 6000: Business Validation Error: ..." for the dead letter's reason.
    pub fn describe(&self) -> String {
        let kind = self.kind.as_deref().unwrap_or("Fault");
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                let code = e.code.as_deref().unwrap_or("?");
                // The detail usually repeats the message with the specifics; prefer it.
                let text = e.detail.as_deref().or(e.message.as_deref()).unwrap_or("");
                format!("{code}: {text}")
            })
            .collect();
        format!("{kind} {}", errors.join("; "))
    }
}
