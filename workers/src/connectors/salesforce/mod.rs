//! Salesforce REST API client for one org: Accounts and Contacts as customers, a custom
//! invoice object upserted by external id, every call through the org's rate limiter.
//!
//! Salesforce has no idempotency keys. Invoices are written with `PATCH
//! sobjects/<Object>/<ExternalIdField>/<value>`, which creates or updates the one record with
//! that external id, so a repeated write is harmless by construction. The value is the
//! canonical invoice number (the key every system matches invoices on), or the source's id for
//! an invoice without a number. Customers are found by Contact email, then Account name, before
//! anything is created; SOQL sees its own writes at once, so a retried create finds the first.
//!
//! Defaults (`SalesforceOptions::default`), for an org set up as the quickstart describes:
//! the invoice object `Invoice__c` with `External_Id__c` (text, External ID, unique), the
//! number in `Name`, `Amount__c`, `Amount_Paid__c` and `Amount_Refunded__c` (currency, scale
//! 2), `Status__c` (picklist Draft / Open / Paid / Refunded / Void), `Due_Date__c` and `Invoice_Date__c` (date),
//! `CurrencyIsoCode` (multi-currency orgs only; set `currency` to `None` otherwise) and
//! `Account__c` (lookup to Account); customers are Accounts (Name) with Contacts (Email).

mod http;
mod map;
#[cfg(test)]
mod tests;
mod wire;
mod writes;

use std::{sync::Arc, time::Duration};

use ledgerhook_shared::{
    model::{Customer, Invoice, InvoiceStatus},
    money::Currency,
    Money,
};
use reqwest::Method;
use url::Url;

use self::{
    http::{is_record_id, soql_string},
    map::Kind,
    wire::{Fields, Record, Value},
};
use super::{is_asked, ApplyError, CrmApi, RemoteCustomer, RemoteInvoice};
use crate::{
    auth::TokenHandle,
    limits::{Limits, RateLimiter},
};

/// The invoice object's field names.
#[derive(Debug, Clone)]
pub struct InvoiceFields {
    /// A text field marked External ID (and unique) that upserts match on.
    pub external_id: String,
    pub number: String,
    pub amount: String,
    pub amount_paid: String,
    /// The total refunded on a paid invoice (currency, the amount fields' scale).
    pub amount_refunded: String,
    /// A picklist with the values Draft, Open, Paid, Refunded and Void.
    pub status: String,
    pub due_date: String,
    pub invoice_date: String,
    /// `CurrencyIsoCode` exists only in multi-currency orgs.
    pub currency: Option<String>,
    /// A lookup to Account.
    pub account: String,
}

#[derive(Debug, Clone)]
pub struct SalesforceOptions {
    /// REST API version in the path, `services/data/<version>/`.
    pub api_version: String,
    pub invoice_object: String,
    pub invoice_fields: InvoiceFields,
    /// The payment object, for when the CRM contract records payments; today a payment only
    /// marks the invoice paid.
    pub payment_object: String,
    /// Decimal places of the amount fields (a currency field's scale, 2 by default).
    pub amount_scale: u32,
    /// The currency of invoices in an org without `CurrencyIsoCode`.
    pub default_currency: Currency,
    /// Whole-request timeout, connect to last byte.
    pub timeout: Duration,
}

impl Default for SalesforceOptions {
    fn default() -> Self {
        SalesforceOptions {
            api_version: "v60.0".to_owned(),
            invoice_object: "Invoice__c".to_owned(),
            invoice_fields: InvoiceFields {
                external_id: "External_Id__c".to_owned(),
                number: "Name".to_owned(),
                amount: "Amount__c".to_owned(),
                amount_paid: "Amount_Paid__c".to_owned(),
                amount_refunded: "Amount_Refunded__c".to_owned(),
                status: "Status__c".to_owned(),
                due_date: "Due_Date__c".to_owned(),
                invoice_date: "Invoice_Date__c".to_owned(),
                currency: Some("CurrencyIsoCode".to_owned()),
                account: "Account__c".to_owned(),
            },
            payment_object: "Payment__c".to_owned(),
            amount_scale: 2,
            default_currency: Currency::USD,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A client for one Salesforce org; cheap to clone.
#[derive(Debug, Clone)]
pub struct SalesforceClient {
    http: reqwest::Client,
    base_url: Url,
    token: TokenHandle,
    /// Behind an `Arc`: a dozen field names would make the client (and `CrmTarget`) large.
    options: Arc<SalesforceOptions>,
    limiter: Arc<RateLimiter>,
}

impl SalesforceClient {
    /// `base_url` is the org's instance URL (`https://MyDomain.my.salesforce.com`).
    pub fn new(base_url: Url, token: TokenHandle, options: SalesforceOptions) -> Self {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .expect("a client with only a timeout set always builds");
        SalesforceClient {
            http,
            base_url,
            token,
            options: Arc::new(options),
            limiter: Arc::new(RateLimiter::new(Limits::SALESFORCE)),
        }
    }

    /// Shares one limiter between every client of the same org.
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// The limiter every call of this client waits on.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    async fn first(&self, soql: String) -> Result<Option<Record>, ApplyError> {
        Ok(self.query(&soql).await?.into_iter().next())
    }

    /// The first record of `soql` whose `field` holds `value`, ignoring case as SOQL's `=`
    /// does: what a query found is checked, so an org-compatible server that ignores the WHERE
    /// cannot pick somebody else.
    async fn first_with(
        &self,
        soql: String,
        field: &str,
        value: &str,
    ) -> Result<Option<Record>, ApplyError> {
        Ok(self
            .query(&soql)
            .await?
            .into_iter()
            .find(|r| is_asked(r.text(field).as_deref(), value)))
    }

    /// The Account an invoice belongs to: the customer itself, or the Contact's Account.
    async fn account_of(&self, customer: &RemoteCustomer) -> Result<Option<String>, ApplyError> {
        match Kind::parse(&customer.id)? {
            (Kind::Account, id) if is_record_id(id) => Ok(Some(id.to_owned())),
            (Kind::Contact, id) if is_record_id(id) => {
                let soql = format!(
                    "SELECT AccountId FROM Contact WHERE Id = {}",
                    soql_string(id)
                );
                Ok(self.first(soql).await?.and_then(|c| c.text("AccountId")))
            }
            // Not a record id: nothing to link, rather than a malformed write.
            _ => Ok(None),
        }
    }

    /// The invoice whose `field` is `value`.
    async fn invoice_where(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError> {
        let soql = format!(
            "SELECT {} FROM {} WHERE {field} = {} LIMIT 1",
            map::invoice_select(&self.options.invoice_fields),
            self.options.invoice_object,
            soql_string(value)
        );
        // An Id read is not a search (and a 15-character Id comes back as 18).
        let found = if field == "Id" {
            self.first(soql).await?
        } else {
            self.first_with(soql, field, value).await?
        };
        match found {
            Some(record) => map::to_invoice(&record, &self.options).map(Some),
            None => Ok(None),
        }
    }
}

impl CrmApi for SalesforceClient {
    async fn upsert_customer(&self, customer: &Customer) -> Result<RemoteCustomer, ApplyError> {
        let email = customer
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if let Some(email) = email {
            let soql = format!(
                "SELECT Id, Name, Email FROM Contact WHERE Email = {} ORDER BY CreatedDate LIMIT 1",
                soql_string(email)
            );
            if let Some(contact) = self.first_with(soql, "Email", email).await? {
                return Ok(map::to_remote_customer(Kind::Contact, &contact));
            }
        }
        let name = [&customer.company, &customer.name, &customer.email]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .ok_or_else(|| ApplyError::permanent("customer has no email, name or company"))?;
        let soql = format!(
            "SELECT Id, Name FROM Account WHERE Name = {} ORDER BY CreatedDate LIMIT 1",
            soql_string(name)
        );
        let account = match self.first_with(soql, "Name", name).await? {
            Some(account) => map::to_remote_customer(Kind::Account, &account),
            None => {
                let mut fields = Fields::from([("Name".to_owned(), Value::Text(name.to_owned()))]);
                if let Some(phone) = &customer.phone {
                    fields.insert("Phone".to_owned(), Value::Text(phone.clone()));
                }
                let id = self.create("Account", &fields).await?;
                RemoteCustomer {
                    id: Kind::Account.prefixed(&id),
                    name: Some(name.to_owned()),
                    email: None,
                }
            }
        };
        // With an email the customer is a person: a Contact under the Account, so the next
        // lookup by email finds it.
        match email {
            Some(email) => {
                let (_, account_id) = Kind::parse(&account.id)?;
                self.create_contact(customer, email, account_id).await
            }
            None => Ok(account),
        }
    }

    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, ApplyError> {
        let (kind, raw) = Kind::parse(id)?;
        if !is_record_id(raw) {
            return Ok(None);
        }
        let select = match kind {
            Kind::Account => map::ACCOUNT_SELECT,
            Kind::Contact => map::CONTACT_SELECT,
        };
        let soql = format!(
            "SELECT {select} FROM {} WHERE Id = {}",
            kind.object(),
            soql_string(raw)
        );
        Ok(self.first(soql).await?.map(|r| map::to_customer(kind, &r)))
    }

    async fn find_invoice_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError> {
        let field = &self.options.invoice_fields.number;
        self.invoice_where(field, number).await
    }

    async fn get_invoice(&self, id: &str) -> Result<Option<RemoteInvoice>, ApplyError> {
        if !is_record_id(id) {
            return Ok(None);
        }
        self.invoice_where("Id", id).await
    }

    async fn upsert_invoice(
        &self,
        existing: Option<&RemoteInvoice>,
        invoice: &Invoice,
        customer: Option<&RemoteCustomer>,
    ) -> Result<RemoteInvoice, ApplyError> {
        let account = match customer {
            Some(c) => self.account_of(c).await?,
            None => None,
        };
        let fields = map::invoice_body(invoice, &self.options, account.as_deref())?;
        let object = self.options.invoice_object.as_str();
        let id = match existing {
            Some(e) => {
                self.write(Method::PATCH, &["sobjects", object, e.id()], &fields)
                    .await?;
                e.id().to_owned()
            }
            None => {
                let value = invoice.number.as_deref().unwrap_or(&invoice.id);
                self.upsert_by_external_id(value, &fields).await?
            }
        };
        // What was written is the record's state now; reading it back would cost a call.
        let mut written = invoice.clone();
        written.id = id;
        written.lines.clear();
        if written.status == InvoiceStatus::Paid {
            written.amount_paid = Some(written.total);
            written.amount_due = Some(ledgerhook_shared::Money::zero(written.currency));
        }
        let customer_id = account
            .map(|a| Kind::Account.prefixed(&a))
            .or_else(|| existing.and_then(|e| e.customer_id.clone()));
        written.customer.id = customer_id.clone();
        Ok(RemoteInvoice {
            invoice: written,
            customer_id,
        })
    }

    async fn set_invoice_status(
        &self,
        existing: &RemoteInvoice,
        status: InvoiceStatus,
    ) -> Result<RemoteInvoice, ApplyError> {
        let f = &self.options.invoice_fields;
        let mut fields = Fields::from([(
            f.status.clone(),
            Value::Text(map::status_to_sf(status).to_owned()),
        )]);
        let mut result = existing.clone();
        if status == InvoiceStatus::Paid {
            let total = existing.invoice.total;
            let paid = map::field_amount(&total, self.options.amount_scale)?;
            fields.insert(f.amount_paid.clone(), Value::Number(paid));
            result.invoice.amount_paid = Some(total);
            result.invoice.amount_due = Some(ledgerhook_shared::Money::zero(total.currency));
        }
        let object = self.options.invoice_object.as_str();
        self.write(Method::PATCH, &["sobjects", object, existing.id()], &fields)
            .await?;
        result.invoice.status = map::status_from_sf(Some(map::status_to_sf(status)));
        Ok(result)
    }

    /// A partial refund shows in the refunded amount; a refund of the whole invoice also sets
    /// the status to Refunded.
    async fn set_invoice_refunded(
        &self,
        existing: &RemoteInvoice,
        refunded: &Money,
    ) -> Result<RemoteInvoice, ApplyError> {
        let f = &self.options.invoice_fields;
        let amount = map::field_amount(refunded, self.options.amount_scale)?;
        let mut fields = Fields::from([(f.amount_refunded.clone(), Value::Number(amount))]);
        if refunded.amount >= existing.invoice.total.amount {
            fields.insert(f.status.clone(), Value::Text(map::REFUNDED.to_owned()));
        }
        let object = self.options.invoice_object.as_str();
        self.write(Method::PATCH, &["sobjects", object, existing.id()], &fields)
            .await?;
        Ok(existing.clone())
    }
}
