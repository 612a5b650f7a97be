//! Target-system clients, one file each. Only this module knows a target API's JSON.
//!
//! The sync rules (`crate::sync`) speak canonical types to these clients; each client maps them
//! to its API's own format (amounts as its API wants them: Xero JSON numbers, HubSpot strings,
//! never through a float) and classifies every failure as transient or permanent.

pub mod hubspot;
mod num;
pub mod quickbooks;
pub mod salesforce;
pub mod xero;

use std::time::Duration;

use chrono::NaiveDate;
use ledgerhook_shared::{
    model::{Customer, Invoice, InvoiceStatus, Payment, Refund},
    Money,
};

/// Why applying an event failed: retry it later, or give up and dead-letter it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// Network errors, timeouts, 5xx, 429, an expired token; `retry_after` when the target said.
    #[error("transient: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Validation errors and mappings that cannot work; retrying would fail the same way.
    #[error("permanent: {reason}")]
    Permanent { reason: String },
}

impl ApplyError {
    pub fn transient(reason: impl Into<String>) -> Self {
        ApplyError::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        ApplyError::Permanent {
            reason: reason.into(),
        }
    }

    /// Classifies an HTTP answer: 429, 5xx, 401 (token expired) and 408 are transient; other 4xx
    /// are permanent. `excerpt` is a short, redacted piece of the body for the reason.
    pub fn from_status(status: u16, excerpt: &str, retry_after: Option<Duration>) -> Self {
        let reason = format!("HTTP {status}: {excerpt}");
        match status {
            408 | 401 | 429 | 500..=599 => ApplyError::Transient {
                reason,
                retry_after,
            },
            _ => ApplyError::Permanent { reason },
        }
    }

    /// Network-level failures (connect, timeout, reset) are always transient. The request URL's
    /// query is left out of the reason: a search puts customer data there (an email, a name).
    pub fn from_reqwest(e: &reqwest::Error) -> Self {
        let mut message = e.to_string();
        if let Some(url) = e.url().filter(|u| u.query().is_some()) {
            let mut bare = url.clone();
            bare.set_query(None);
            message = message.replace(url.as_str(), &format!("{bare}?…"));
        }
        ApplyError::transient(format!("request failed: {message}"))
    }
}

/// Whether a field a target answered with (`found`) is the value a lookup asked for, compared
/// as the providers' filters compare: ignoring case and surrounding spaces. Every lookup by
/// email, name or number checks its answer with this, so a target that ignores or loosens its
/// filter never hands back somebody else's record.
pub(crate) fn is_asked(found: Option<&str>, asked: &str) -> bool {
    found.is_some_and(|v| v.trim().eq_ignore_ascii_case(asked.trim()))
}

/// A customer as the target knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteCustomer {
    /// The target's id (Xero ContactID; HubSpot `contact/<id>` or `company/<id>`).
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// An invoice as the target knows it: the canonical form (whose `id` is the target's id), plus
/// the target's customer id.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteInvoice {
    pub invoice: Invoice,
    pub customer_id: Option<String>,
}

impl RemoteInvoice {
    pub fn id(&self) -> &str {
        &self.invoice.id
    }
}

/// A payment to record against an invoice in accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentDraft {
    pub amount: Money,
    pub date: NaiveDate,
    /// Shown on the payment in the target, e.g. the Stripe payment or invoice id.
    pub reference: String,
}

/// A refund to record in accounting against the paid invoice it refunds.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundDraft {
    pub amount: Money,
    pub date: NaiveDate,
    /// The refunded invoice's number, written on the refund so people and ledgerhook can tell
    /// which invoice it refunds.
    pub invoice_number: String,
    /// Shown on the refund in the target, e.g. the Stripe refund id.
    pub reference: String,
    pub reason: Option<String>,
}

/// The accounting system's side: QuickBooks Online or Xero.
#[allow(async_fn_in_trait)]
pub trait AccountingApi {
    /// Finds a customer by email, else by exact name.
    async fn find_customer(
        &self,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<RemoteCustomer>, ApplyError>;
    /// Creates a customer; `key` makes a retried create return the first result.
    async fn create_customer(
        &self,
        customer: &Customer,
        key: &str,
    ) -> Result<RemoteCustomer, ApplyError>;
    /// Reads a customer for a thin event; `None` when it does not exist.
    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, ApplyError>;
    async fn find_invoice_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError>;
    /// Reads an invoice for a thin event; `None` when it does not exist.
    async fn get_invoice(&self, id: &str) -> Result<Option<RemoteInvoice>, ApplyError>;
    /// Creates an invoice (status, number, lines, currency as given); `key` is the target's
    /// idempotency key, so a retried create returns the first invoice.
    async fn create_invoice(
        &self,
        invoice: &Invoice,
        customer_id: &str,
        key: &str,
    ) -> Result<RemoteInvoice, ApplyError>;
    /// Updates the lines, dates and status of an existing invoice.
    async fn update_invoice(
        &self,
        existing: &RemoteInvoice,
        invoice: &Invoice,
        customer_id: &str,
    ) -> Result<RemoteInvoice, ApplyError>;
    async fn void_invoice(&self, existing: &RemoteInvoice) -> Result<RemoteInvoice, ApplyError>;
    /// Records a payment against the invoice; returns the payment's id. `key` as above.
    async fn record_payment(
        &self,
        invoice: &RemoteInvoice,
        payment: &PaymentDraft,
        key: &str,
    ) -> Result<String, ApplyError>;
    /// Reads a payment for a thin event (with `invoice_id` / `invoice_number` filled).
    async fn get_payment(&self, id: &str) -> Result<Option<Payment>, ApplyError>;
    /// Records money paid back on a paid invoice, the way the system models a refund; returns
    /// the refund's id. `key` as above.
    async fn record_refund(
        &self,
        invoice: &RemoteInvoice,
        refund: &RefundDraft,
        key: &str,
    ) -> Result<String, ApplyError>;
    /// Reads a refund for a thin event (with `invoice_number` filled when the refund names it).
    async fn get_refund(&self, id: &str) -> Result<Option<Refund>, ApplyError>;
}

/// The CRM's side: HubSpot or Salesforce.
#[allow(async_fn_in_trait)]
pub trait CrmApi {
    /// Creates or updates a customer, matched by email (HubSpot's unique property), else name.
    async fn upsert_customer(&self, customer: &Customer) -> Result<RemoteCustomer, ApplyError>;
    /// Reads a customer for a thin event; `id` as the CRM's events give it (`contact/123`).
    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, ApplyError>;
    async fn find_invoice_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError>;
    /// Reads an invoice (amounts, lines, number, status) for a thin event.
    async fn get_invoice(&self, id: &str) -> Result<Option<RemoteInvoice>, ApplyError>;
    /// Creates the invoice when `existing` is `None`, else updates it; associates the customer.
    async fn upsert_invoice(
        &self,
        existing: Option<&RemoteInvoice>,
        invoice: &Invoice,
        customer: Option<&RemoteCustomer>,
    ) -> Result<RemoteInvoice, ApplyError>;
    /// Sets only the invoice's status (paid, void, ...).
    async fn set_invoice_status(
        &self,
        existing: &RemoteInvoice,
        status: InvoiceStatus,
    ) -> Result<RemoteInvoice, ApplyError>;
    /// Shows how much of the paid invoice was refunded in all; `refunded` at least the invoice's
    /// total shows it refunded in full.
    async fn set_invoice_refunded(
        &self,
        existing: &RemoteInvoice,
        refunded: &Money,
    ) -> Result<RemoteInvoice, ApplyError>;
}

#[cfg(test)]
mod tests {
    use super::ApplyError;

    #[tokio::test]
    async fn a_network_error_leaves_the_query_out_of_the_reason() {
        // Port 1 refuses the connection, so the error names the URL.
        let e = reqwest::Client::new()
            .get("http://127.0.0.1:1/contacts/search?email=jane.doe%40example.com&name=Jane+Doe")
            .send()
            .await
            .expect_err("nothing listens on port 1");
        let ApplyError::Transient { reason, .. } = ApplyError::from_reqwest(&e) else {
            panic!("a network error is transient");
        };
        assert!(
            reason.contains("http://127.0.0.1:1/contacts/search?…"),
            "{reason}"
        );
        for leaked in ["jane", "Jane", "example.com"] {
            assert!(!reason.contains(leaked), "{leaked} in {reason}");
        }
    }
}
