//! QuickBooks Online Accounting API client for one company (realm): customers, invoices and
//! payments, every call through the realm's rate limiter, every failure classified as
//! transient or permanent.
//!
//! Idempotency: every create carries `requestid` (QuickBooks answers a replay with the first
//! response), and a create that hits fault 6140 (duplicate DocNumber) returns the invoice that
//! already holds the number. Updates use SyncToken optimistic concurrency: on fault 5010 (stale
//! object) the invoice is read again and the write retried once with the fresh token.

mod http;
mod map;
mod refunds;
#[cfg(test)]
mod tests;
mod tokens;
mod wire;

use std::{sync::Arc, time::Duration};

use ledgerhook_shared::{
    model::{Customer, Invoice, InvoiceStatus, Payment, Refund},
    money::Currency,
    Money,
};
use reqwest::Method;
use url::Url;

use self::{
    http::{encode, qbo_string, request_id},
    tokens::SyncTokens,
    wire::{Envelope, InvoiceOut, LinkedTxnOut, PaymentLineOut, PaymentOut, QCustomer, Ref},
};
use super::{
    is_asked, AccountingApi, ApplyError, PaymentDraft, RefundDraft, RemoteCustomer, RemoteInvoice,
};
use crate::{
    auth::TokenHandle,
    limits::{Limits, RateLimiter},
};

/// Per-company choices a QuickBooks invoice needs.
#[derive(Debug, Clone)]
pub struct QuickbooksOptions {
    /// The product/service (`ItemRef`) every invoice line is booked to; "1" is "Services" in a
    /// new QuickBooks company.
    pub item_id: String,
    /// Sent as `minorversion` on every call. Since 1 August 2025 QuickBooks ignores anything
    /// below 75 and answers as 75 (Intuit developer blog, 21 January 2025).
    pub minor_version: String,
    /// The company's home currency, for answers without a CurrencyRef (QuickBooks omits it
    /// unless multicurrency is on).
    pub home_currency: Currency,
    /// The account refunds are paid from (a refund receipt's `DepositToAccountRef`, "Refund
    /// from" in QuickBooks); "4" is Undeposited Funds, where payments go without one.
    pub refund_account_id: String,
    /// Whole-request timeout, connect to last byte.
    pub timeout: Duration,
}

impl Default for QuickbooksOptions {
    fn default() -> Self {
        QuickbooksOptions {
            item_id: "1".to_owned(),
            minor_version: "75".to_owned(),
            home_currency: Currency::USD,
            refund_account_id: "4".to_owned(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A client for one QuickBooks company; cheap to clone.
#[derive(Debug, Clone)]
pub struct QuickbooksClient {
    http: reqwest::Client,
    base_url: Url,
    realm_id: String,
    token: TokenHandle,
    options: QuickbooksOptions,
    limiter: Arc<RateLimiter>,
    sync_tokens: Arc<SyncTokens>,
}

impl QuickbooksClient {
    /// `base_url` stands for `https://quickbooks.api.intuit.com`; paths
    /// `/v3/company/{realm_id}/...` go under it.
    pub fn new(
        base_url: Url,
        realm_id: String,
        token: TokenHandle,
        options: QuickbooksOptions,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .expect("a client with only a timeout set always builds");
        QuickbooksClient {
            http,
            base_url,
            realm_id,
            token,
            options,
            limiter: Arc::new(RateLimiter::new(Limits::QUICKBOOKS)),
            sync_tokens: Arc::default(),
        }
    }

    /// Shares one limiter between every client of the same realm, as Intuit counts per realm.
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// The limiter every call of this client waits on.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    async fn query_customer(
        &self,
        field: CustomerField,
        value: &str,
    ) -> Result<Option<RemoteCustomer>, ApplyError> {
        let statement = format!(
            "SELECT * FROM Customer WHERE {} = {} MAXRESULTS 1",
            field.column(),
            qbo_string(value)
        );
        let found = self.query(&statement).await?;
        // Checked again here: a QuickBooks-compatible server that ignores the WHERE must not
        // get an invoice attached to somebody else.
        Ok(found
            .customer
            .iter()
            .find(|c| is_asked(field.of(c), value))
            .map(map::to_remote_customer))
    }

    /// Maps an invoice answer, remembering its SyncToken for the next update.
    fn take_invoice(&self, envelope: Envelope) -> Result<RemoteInvoice, ApplyError> {
        let invoice = envelope
            .invoice
            .ok_or_else(|| ApplyError::transient("QuickBooks returned no invoice"))?;
        if let Some(token) = &invoice.sync_token {
            self.sync_tokens.put(&invoice.id, token);
        }
        map::to_invoice(invoice, self.options.home_currency)
    }

    /// Reads the invoice for its current SyncToken.
    async fn fresh(&self, id: &str) -> Result<(String, RemoteInvoice), ApplyError> {
        let invoice = self.get_invoice(id).await?.ok_or_else(|| {
            ApplyError::permanent(format!("QuickBooks invoice {id} no longer exists"))
        })?;
        let token = self.sync_tokens.get(id).unwrap_or_else(|| "0".to_owned());
        Ok((token, invoice))
    }

    /// Posts a write that needs the invoice's SyncToken. On 5010 (stale) it reads the invoice
    /// again and retries once, unless the fresh copy is already in a state in `done`.
    async fn write_invoice(
        &self,
        id: &str,
        query: &[(&str, &str)],
        done: &[InvoiceStatus],
        body: impl Fn(&str) -> Result<Vec<u8>, ApplyError>,
    ) -> Result<RemoteInvoice, ApplyError> {
        let token = match self.sync_tokens.get(id) {
            Some(token) => token,
            None => {
                let (token, current) = self.fresh(id).await?;
                if done.contains(&current.invoice.status) {
                    return Ok(current);
                }
                token
            }
        };
        match self
            .send(Method::POST, &["invoice"], query, Some(body(&token)?))
            .await
        {
            Ok(envelope) => return self.take_invoice(envelope),
            Err(failure) if failure.has_code("5010") => {}
            Err(failure) => return Err(failure.error),
        }
        tracing::debug!(invoice = id, "stale SyncToken; reading the invoice again");
        let (token, current) = self.fresh(id).await?;
        if done.contains(&current.invoice.status) {
            return Ok(current);
        }
        match self
            .send(Method::POST, &["invoice"], query, Some(body(&token)?))
            .await
        {
            Ok(envelope) => self.take_invoice(envelope),
            // Losing the race twice is a transient 5010 too: the retry ladder comes back later.
            Err(second) => Err(second.error),
        }
    }
}

/// The customer of `invoice`, once `amount` is found to be in the invoice's currency; `what`
/// and `verb` word the refusal ("payment in", "pay").
fn customer_to_settle<'a>(
    invoice: &'a RemoteInvoice,
    amount: &Money,
    what: &str,
    verb: &str,
) -> Result<&'a str, ApplyError> {
    if amount.currency != invoice.invoice.currency {
        return Err(ApplyError::permanent(format!(
            "{what} {} cannot {verb} QuickBooks invoice {} in {}",
            amount.currency,
            invoice.id(),
            invoice.invoice.currency
        )));
    }
    invoice
        .customer_id
        .as_deref()
        .or(invoice.invoice.customer.id.as_deref())
        .ok_or_else(|| {
            ApplyError::permanent(format!(
                "QuickBooks invoice {} has no customer",
                invoice.id()
            ))
        })
}

/// What a customer is looked up by.
#[derive(Debug, Clone, Copy)]
enum CustomerField {
    Email,
    DisplayName,
}

impl CustomerField {
    fn column(self) -> &'static str {
        match self {
            CustomerField::Email => "PrimaryEmailAddr",
            CustomerField::DisplayName => "DisplayName",
        }
    }

    fn of(self, customer: &QCustomer) -> Option<&str> {
        match self {
            CustomerField::Email => customer.primary_email_addr.as_ref()?.address.as_deref(),
            CustomerField::DisplayName => customer.display_name.as_deref(),
        }
    }
}

impl AccountingApi for QuickbooksClient {
    async fn find_customer(
        &self,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<RemoteCustomer>, ApplyError> {
        if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
            if let Some(found) = self.query_customer(CustomerField::Email, email).await? {
                return Ok(Some(found));
            }
        }
        match name.map(map::display_name).filter(|n| !n.is_empty()) {
            Some(name) => self.query_customer(CustomerField::DisplayName, &name).await,
            None => Ok(None),
        }
    }

    async fn create_customer(
        &self,
        customer: &Customer,
        key: &str,
    ) -> Result<RemoteCustomer, ApplyError> {
        let body = map::customer_out(customer)?;
        let key = request_id(key);
        match self.post("customer", &[("requestid", &key)], &body).await {
            Ok(envelope) => envelope
                .customer
                .as_ref()
                .map(map::to_remote_customer)
                .ok_or_else(|| ApplyError::transient("QuickBooks returned no customer")),
            // 6240 "Duplicate Name Exists": the customer was created meanwhile (or by a
            // replay with another key); it is the one to use. A vendor or employee holding
            // the name is not found here and stays a permanent failure.
            Err(failure) if failure.has_code("6240") => self
                .query_customer(CustomerField::DisplayName, &body.display_name)
                .await?
                .ok_or(failure.error),
            Err(failure) => Err(failure.error),
        }
    }

    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, ApplyError> {
        let found = self.read("customer", id).await?;
        Ok(found.and_then(|e| e.customer).map(map::to_customer))
    }

    async fn find_invoice_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError> {
        let statement = format!(
            "SELECT * FROM Invoice WHERE DocNumber = {}",
            qbo_string(number)
        );
        let found = self.query(&statement).await?;
        let exact = found
            .invoice
            .into_iter()
            .find(|i| i.doc_number.as_deref() == Some(number));
        exact
            .map(|invoice| {
                self.take_invoice(Envelope {
                    invoice: Some(invoice),
                    ..Envelope::default()
                })
            })
            .transpose()
    }

    async fn get_invoice(&self, id: &str) -> Result<Option<RemoteInvoice>, ApplyError> {
        match self.read("invoice", id).await? {
            Some(envelope) => self.take_invoice(envelope).map(Some),
            None => Ok(None),
        }
    }

    async fn create_invoice(
        &self,
        invoice: &Invoice,
        customer_id: &str,
        key: &str,
    ) -> Result<RemoteInvoice, ApplyError> {
        if matches!(invoice.status, InvoiceStatus::Void | InvoiceStatus::Deleted) {
            return Err(ApplyError::permanent(
                "a voided or deleted invoice cannot be created in QuickBooks",
            ));
        }
        let body = map::invoice_out(invoice, None, customer_id, &self.options.item_id)?;
        let key = request_id(key);
        match self.post("invoice", &[("requestid", &key)], &body).await {
            Ok(envelope) => self.take_invoice(envelope),
            // 6140 "Duplicate Document Number": an invoice with this number exists already
            // (created by an earlier attempt or by hand), so creating is idempotent by number.
            // When the number belongs to another kind of transaction, nothing is found and the
            // fault stands.
            Err(failure) if failure.has_code("6140") => {
                let number = invoice.number.as_deref().unwrap_or_default();
                match self.find_invoice_by_number(number).await? {
                    Some(existing) => Ok(existing),
                    None => Err(failure.error),
                }
            }
            Err(failure) => Err(failure.error),
        }
    }

    async fn update_invoice(
        &self,
        existing: &RemoteInvoice,
        invoice: &Invoice,
        customer_id: &str,
    ) -> Result<RemoteInvoice, ApplyError> {
        // A paid or voided QuickBooks invoice is final for ledgerhook; the other side catches up.
        if matches!(
            existing.invoice.status,
            InvoiceStatus::Paid | InvoiceStatus::Void
        ) {
            return Ok(existing.clone());
        }
        if matches!(invoice.status, InvoiceStatus::Void | InvoiceStatus::Deleted) {
            return self.void_invoice(existing).await;
        }
        // Validate before any call, so a mapping that cannot work fails without traffic.
        map::invoice_out(invoice, Some(("", "")), customer_id, &self.options.item_id)?;
        let id = existing.id();
        let item = self.options.item_id.as_str();
        let closed = [InvoiceStatus::Paid, InvoiceStatus::Void];
        self.write_invoice(id, &[], &closed, |token| {
            encode(&map::invoice_out(
                invoice,
                Some((id, token)),
                customer_id,
                item,
            )?)
        })
        .await
    }

    async fn void_invoice(&self, existing: &RemoteInvoice) -> Result<RemoteInvoice, ApplyError> {
        if existing.invoice.status == InvoiceStatus::Void {
            return Ok(existing.clone());
        }
        let id = existing.id();
        // `POST /invoice?operation=void` with only Id and SyncToken.
        self.write_invoice(
            id,
            &[("operation", "void")],
            &[InvoiceStatus::Void],
            |token| {
                encode(&InvoiceOut {
                    id: Some(id),
                    sync_token: Some(token),
                    ..InvoiceOut::default()
                })
            },
        )
        .await
    }

    async fn record_payment(
        &self,
        invoice: &RemoteInvoice,
        payment: &PaymentDraft,
        key: &str,
    ) -> Result<String, ApplyError> {
        let customer = customer_to_settle(invoice, &payment.amount, "payment in", "pay")?;
        let amount = map::amount_out(&payment.amount)?;
        let reference = map::truncate(&payment.reference, map::MAX_PAYMENT_REF);
        let body = PaymentOut {
            customer_ref: Ref { value: customer },
            total_amt: amount,
            txn_date: map::format_date(payment.date),
            payment_ref_num: reference,
            // The whole reference stays findable when PaymentRefNum had to cut it.
            private_note: (reference.len() < payment.reference.len())
                .then_some(payment.reference.as_str()),
            line: vec![PaymentLineOut {
                amount,
                linked_txn: vec![LinkedTxnOut {
                    txn_id: invoice.id(),
                    txn_type: "Invoice",
                }],
            }],
        };
        let key = request_id(key);
        let envelope = self.post("payment", &[("requestid", &key)], &body).await?;
        envelope
            .payment
            .map(|p| p.id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ApplyError::transient("QuickBooks returned no payment"))
    }

    async fn get_payment(&self, id: &str) -> Result<Option<Payment>, ApplyError> {
        let Some(payment) = self.read("payment", id).await?.and_then(|e| e.payment) else {
            return Ok(None);
        };
        // The payment names its invoice only by id; the sync rules match on the number.
        let number = match map::paid_invoice_id(&payment) {
            Some(invoice_id) => self
                .get_invoice(invoice_id)
                .await?
                .and_then(|i| i.invoice.number),
            None => None,
        };
        map::to_payment(payment, self.options.home_currency, number).map(Some)
    }

    async fn record_refund(
        &self,
        invoice: &RemoteInvoice,
        refund: &RefundDraft,
        key: &str,
    ) -> Result<String, ApplyError> {
        self.refund(invoice, refund, key).await
    }

    async fn get_refund(&self, id: &str) -> Result<Option<Refund>, ApplyError> {
        self.refund_receipt(id).await
    }
}
