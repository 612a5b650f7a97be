//! Xero Accounting API client for one tenant: contacts, invoices, payments and refunds, every call
//! through the tenant's rate limiter, every failure classified as transient or permanent.

mod http;
mod map;
mod refunds;
#[cfg(test)]
mod tests;
mod wire;

use std::{sync::Arc, time::Duration};

use ledgerhook_shared::model::{Customer, Invoice, InvoiceStatus, Payment, Refund};
use reqwest::Method;
use url::Url;

use self::wire::{Envelope, IdRef, InvoiceOut, ListOf, Num, XContact};
use super::{
    is_asked, AccountingApi, ApplyError, PaymentDraft, RefundDraft, RemoteCustomer, RemoteInvoice,
};
use crate::{
    auth::TokenHandle,
    limits::{Limits, RateLimiter},
};

/// Per-organisation choices a Xero invoice and payment need.
#[derive(Debug, Clone)]
pub struct XeroOptions {
    /// Revenue account for invoice lines ("200" is Sales in Xero's default chart).
    pub sales_account_code: String,
    /// Bank account payments are received into ("090" is the default Business Bank Account).
    pub payment_account_code: String,
    /// Whole-request timeout, connect to last byte.
    pub timeout: Duration,
}

impl Default for XeroOptions {
    fn default() -> Self {
        XeroOptions {
            sales_account_code: "200".to_owned(),
            payment_account_code: "090".to_owned(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A client for one Xero tenant; cheap to clone.
#[derive(Debug, Clone)]
pub struct XeroClient {
    http: reqwest::Client,
    base_url: Url,
    tenant_id: String,
    token: TokenHandle,
    options: XeroOptions,
    limiter: Arc<RateLimiter>,
}

/// Creates and updates ask for whole-request failure on any validation error, and for unit
/// amounts to four decimals instead of two.
const WRITE_QUERY: &[(&str, &str)] = &[("summarizeErrors", "true"), ("unitdp", "4")];

impl XeroClient {
    /// `base_url` stands for `https://api.xero.com`; paths `/api.xro/2.0/...` go under it.
    pub fn new(base_url: Url, tenant_id: String, token: TokenHandle, options: XeroOptions) -> Self {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .expect("a client with only a timeout set always builds");
        XeroClient {
            http,
            base_url,
            tenant_id,
            token,
            options,
            limiter: Arc::new(RateLimiter::new(Limits::XERO)),
        }
    }

    /// Shares one limiter between every client of the same tenant, as Xero counts per tenant.
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// The limiter every call of this client waits on.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    /// The contact whose `field` (read by `of`) is `value`, ignoring case as Xero's filter does.
    async fn find_contact(
        &self,
        field: &str,
        of: fn(&XContact) -> Option<&str>,
        value: &str,
    ) -> Result<Option<RemoteCustomer>, ApplyError> {
        let filter = format!("{field}=={}", xero_string(value));
        let found = self.get(&["Contacts"], &[("where", &filter)]).await?;
        // Checked again here: a Xero-compatible server that ignores or loosens the filter must
        // not get an invoice attached to somebody else's contact.
        Ok(found
            .and_then(|e| e.contacts.into_iter().find(|c| is_asked(of(c), value)))
            .map(|c| map::to_remote_customer(&c)))
    }

    async fn post_invoice(
        &self,
        body: InvoiceOut<'_>,
        id: &str,
    ) -> Result<RemoteInvoice, ApplyError> {
        let envelope = self
            .write(
                Method::POST,
                &["Invoices", id],
                WRITE_QUERY,
                &ListOf::Invoices(vec![body]),
                None,
            )
            .await?;
        first_invoice(envelope)
    }
}

fn email_of(contact: &XContact) -> Option<&str> {
    contact.email_address.as_deref()
}

fn name_of(contact: &XContact) -> Option<&str> {
    contact.name.as_deref()
}

impl AccountingApi for XeroClient {
    async fn find_customer(
        &self,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<RemoteCustomer>, ApplyError> {
        if let Some(email) = email.filter(|e| !e.is_empty()) {
            if let Some(found) = self.find_contact("EmailAddress", email_of, email).await? {
                return Ok(Some(found));
            }
        }
        match name.filter(|n| !n.is_empty()) {
            Some(name) => self.find_contact("Name", name_of, name).await,
            None => Ok(None),
        }
    }

    async fn create_customer(
        &self,
        customer: &Customer,
        key: &str,
    ) -> Result<RemoteCustomer, ApplyError> {
        let body = ListOf::Contacts(vec![map::contact_out(customer)?]);
        let envelope = self
            .write(
                Method::PUT,
                &["Contacts"],
                &WRITE_QUERY[..1],
                &body,
                Some(key),
            )
            .await?;
        let contact = envelope.contacts.into_iter().next();
        contact
            .map(|c| map::to_remote_customer(&c))
            .ok_or_else(|| ApplyError::transient("Xero returned no contact"))
    }

    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, ApplyError> {
        let found = self.get(&["Contacts", id], &[]).await?;
        Ok(found
            .and_then(|e| e.contacts.into_iter().next())
            .map(map::to_customer))
    }

    async fn find_invoice_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError> {
        // InvoiceNumbers= is a comma-separated list, so a number containing a comma has to
        // go through the slower where= filter. page=1 makes Xero include the line items.
        let filter;
        let query: [(&str, &str); 3] = if number.contains(',') {
            filter = format!("InvoiceNumber=={}", xero_string(number));
            [("where", &filter), ("page", "1"), ("unitdp", "4")]
        } else {
            [("InvoiceNumbers", number), ("page", "1"), ("unitdp", "4")]
        };
        let Some(envelope) = self.get(&["Invoices"], &query).await? else {
            return Ok(None);
        };
        // A deleted draft no longer holds its number; a voided invoice still does.
        let found = envelope.invoices.into_iter().find(|i| {
            i.invoice_number.as_deref() == Some(number)
                && i.kind.as_deref().unwrap_or("ACCREC") == "ACCREC"
                && i.status.as_deref() != Some("DELETED")
        });
        found.map(map::to_invoice).transpose()
    }

    async fn get_invoice(&self, id: &str) -> Result<Option<RemoteInvoice>, ApplyError> {
        match self.get(&["Invoices", id], &[("unitdp", "4")]).await? {
            Some(envelope) => first_invoice(envelope).map(Some),
            None => Ok(None),
        }
    }

    async fn create_invoice(
        &self,
        invoice: &Invoice,
        customer_id: &str,
        key: &str,
    ) -> Result<RemoteInvoice, ApplyError> {
        let status = map::create_status(invoice.status)?;
        let account = &self.options.sales_account_code;
        let body = map::invoice_out(invoice, None, customer_id, Some(status), account);
        let envelope = self
            .write(
                Method::PUT,
                &["Invoices"],
                WRITE_QUERY,
                &ListOf::Invoices(vec![body]),
                Some(key),
            )
            .await?;
        first_invoice(envelope)
    }

    async fn update_invoice(
        &self,
        existing: &RemoteInvoice,
        invoice: &Invoice,
        customer_id: &str,
    ) -> Result<RemoteInvoice, ApplyError> {
        let current = existing.invoice.status;
        // Xero refuses any edit to a paid or voided invoice; its state is already final.
        if matches!(current, InvoiceStatus::Paid | InvoiceStatus::Void) {
            return Ok(existing.clone());
        }
        let status = map::update_status(invoice.status, current);
        let id = existing.id();
        let account = &self.options.sales_account_code;
        let body = map::invoice_out(invoice, Some(id), customer_id, status, account);
        self.post_invoice(body, id).await
    }

    async fn void_invoice(&self, existing: &RemoteInvoice) -> Result<RemoteInvoice, ApplyError> {
        let current = existing.invoice.status;
        if current == InvoiceStatus::Void {
            return Ok(existing.clone());
        }
        let id = existing.id();
        let body = InvoiceOut {
            invoice_id: Some(id),
            status: map::update_status(InvoiceStatus::Void, current),
            ..InvoiceOut::default()
        };
        self.post_invoice(body, id).await
    }

    async fn record_payment(
        &self,
        invoice: &RemoteInvoice,
        payment: &PaymentDraft,
        key: &str,
    ) -> Result<String, ApplyError> {
        if payment.amount.currency != invoice.invoice.currency {
            return Err(ApplyError::permanent(format!(
                "payment in {} cannot pay Xero invoice {} in {}",
                payment.amount.currency,
                invoice.id(),
                invoice.invoice.currency
            )));
        }
        let body = wire::PaymentOut {
            invoice: IdRef::Invoice(invoice.id()),
            account: wire::AccountRef {
                code: &self.options.payment_account_code,
            },
            date: wire::format_date(payment.date),
            amount: Num(payment.amount.amount),
            reference: &payment.reference,
        };
        let envelope = self
            .write(
                Method::PUT,
                &["Payments"],
                &WRITE_QUERY[..1],
                &ListOf::Payments(vec![body]),
                Some(key),
            )
            .await?;
        let payment = envelope.payments.into_iter().next();
        payment
            .map(|p| p.payment_id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ApplyError::transient("Xero returned no payment"))
    }

    async fn get_payment(&self, id: &str) -> Result<Option<Payment>, ApplyError> {
        let Some(envelope) = self.get(&["Payments", id], &[]).await? else {
            return Ok(None);
        };
        let Some(payment) = envelope.payments.into_iter().next() else {
            return Ok(None);
        };
        let invoice = payment.invoice.as_ref();
        let code = invoice.and_then(|i| i.currency_code.clone());
        let currency = match code {
            Some(code) => code,
            // Some responses omit the invoice's currency; the invoice itself always has one.
            None => {
                let invoice_id = invoice.map(|i| i.invoice_id.as_str()).unwrap_or_default();
                let paid = self.get_invoice(invoice_id).await?.ok_or_else(|| {
                    ApplyError::permanent(format!("Xero payment {id} has no readable invoice"))
                })?;
                paid.invoice.currency.code().to_owned()
            }
        };
        let currency = ledgerhook_shared::money::Currency::parse(&currency)
            .map_err(|e| ApplyError::permanent(format!("Xero payment {id}: {e}")))?;
        map::to_payment(payment, currency).map(Some)
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
        self.credit_note(id).await
    }
}

fn first_invoice(envelope: Envelope) -> Result<RemoteInvoice, ApplyError> {
    let invoice = envelope.invoices.into_iter().next();
    invoice
        .ok_or_else(|| ApplyError::transient("Xero returned no invoice"))
        .and_then(map::to_invoice)
}

/// A string literal for a `where` filter: Xero's filters are C#-like expressions, so quotes
/// and backslashes inside the value are escaped with a backslash.
fn xero_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}
