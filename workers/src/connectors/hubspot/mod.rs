//! HubSpot CRM client for one portal: contacts and companies as customers, invoices with their
//! line items and associations, every call through the portal's rate limiter.
//!
//! HubSpot has no idempotency keys. Customers are upserted on `email`, HubSpot's unique
//! contact property. Invoices are found by number before they are created (by the sync rules;
//! HubSpot's search lags writes by a few seconds, which the link table covers), and are created
//! under a unique custom property (`key_property`, `hasUniqueValue`), read by `idProperty`
//! before a create and after a create HubSpot refuses as a duplicate: a create repeated after
//! a lost answer finds the first invoice. Line items are created one by one together with their
//! association to the invoice, and only those the invoice does not already have, so a repeated
//! write adds no second set.

mod http;
mod map;
mod records;
pub mod refunds;
#[cfg(test)]
mod tests;
mod wire;

use std::{sync::Arc, time::Duration};

use ledgerhook_shared::{
    model::{Customer, Invoice, InvoiceStatus},
    Money,
};
use reqwest::Method;
use url::Url;

use self::{
    map::Kind,
    records::Keyed,
    wire::{HObject, Inputs, PropertiesBody, Results, Search, UpsertInput},
};
use super::{is_asked, ApplyError, CrmApi, RemoteCustomer, RemoteInvoice};
use crate::{
    auth::TokenHandle,
    limits::{Limits, RateLimiter},
};

#[derive(Debug, Clone)]
pub struct HubspotOptions {
    /// Whole-request timeout, connect to last byte.
    pub timeout: Duration,
    /// The invoice property that holds the invoice number ledgerhook matches on. HubSpot's own
    /// `hs_number` is the default; a portal where HubSpot numbers invoices itself (so the
    /// property cannot be written) names a custom single-line text property here, ideally
    /// marked unique, and `find_invoice_by_number` searches that property instead.
    pub number_property: String,
    /// A custom single-line text invoice property with unique values (`hasUniqueValue`),
    /// holding the key ledgerhook creates each invoice under (its number, as every system
    /// matches invoices on it). HubSpot has no idempotency keys; this makes a create that is
    /// repeated after a lost answer find the first invoice instead of making a second.
    pub key_property: String,
}

impl Default for HubspotOptions {
    fn default() -> Self {
        HubspotOptions {
            timeout: Duration::from_secs(30),
            number_property: "hs_number".to_owned(),
            key_property: "ledgerhook_key".to_owned(),
        }
    }
}

/// A client for one HubSpot portal; cheap to clone.
#[derive(Debug, Clone)]
pub struct HubspotClient {
    http: reqwest::Client,
    base_url: Url,
    token: TokenHandle,
    options: HubspotOptions,
    limiter: Arc<RateLimiter>,
}

impl HubspotClient {
    /// `base_url` stands for `https://api.hubapi.com`.
    pub fn new(base_url: Url, token: TokenHandle, options: HubspotOptions) -> Self {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .expect("a client with only a timeout set always builds");
        HubspotClient {
            http,
            base_url,
            token,
            options,
            limiter: Arc::new(RateLimiter::new(Limits::HUBSPOT)),
        }
    }

    /// Shares one limiter between every client of the same portal, as HubSpot counts per app
    /// and portal.
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// The limiter every call of this client waits on.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }
}

/// Whether `record` holds each of `pairs` (property, value), ignoring case as HubSpot's EQ does:
/// what a search found is checked, so a loose or ignored filter cannot pick somebody else.
fn has_values(record: &HObject, pairs: &[(&str, &str)]) -> bool {
    pairs
        .iter()
        .all(|(property, value)| is_asked(record.prop(property), value))
}

impl CrmApi for HubspotClient {
    async fn upsert_customer(&self, customer: &Customer) -> Result<RemoteCustomer, ApplyError> {
        if let Some(email) = customer
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let body = Inputs {
                inputs: vec![UpsertInput {
                    id_property: "email",
                    id: email,
                    properties: map::contact_props(customer),
                }],
            };
            let path = ["crm", "v3", "objects", "contacts", "batch", "upsert"];
            let upserted: Results = self.write(Method::POST, &path, &body).await?;
            let Some(contact) = upserted.results.first() else {
                let why: Vec<&str> = upserted.errors.iter().map(|e| e.message.as_str()).collect();
                return Err(ApplyError::permanent(format!(
                    "HubSpot upsert failed: {}",
                    why.join("; ")
                )));
            };
            let mut remote = map::to_remote_customer(Kind::Contact, contact);
            remote.email.get_or_insert_with(|| email.to_owned());
            return Ok(remote);
        }
        // Without an email there is no unique property to upsert on: match a company by name,
        // then a contact by first and last name, and only then create a company.
        let company = customer.company.as_deref().or(customer.name.as_deref());
        let Some(name) = company.map(str::trim).filter(|n| !n.is_empty()) else {
            return Err(ApplyError::permanent(
                "customer has no email, name or company",
            ));
        };
        let search = Search::equal(&[("name", name)], map::COMPANY_PROPS, 1);
        let found = self.search("companies", &search).await?;
        if let Some(found) = found.iter().find(|c| has_values(c, &[("name", name)])) {
            return Ok(map::to_remote_customer(Kind::Company, found));
        }
        if let Some((first, last)) = customer
            .name
            .as_deref()
            .and_then(|n| n.trim().rsplit_once(' '))
        {
            let pairs = [("firstname", first.trim()), ("lastname", last)];
            let search = Search::equal(&pairs, map::CONTACT_PROPS, 1);
            let found = self.search("contacts", &search).await?;
            if let Some(found) = found.iter().find(|c| has_values(c, &pairs)) {
                return Ok(map::to_remote_customer(Kind::Contact, found));
            }
        }
        let body = PropertiesBody {
            properties: map::company_props(customer, name),
        };
        let created: HObject = self
            .write(Method::POST, &["crm", "v3", "objects", "companies"], &body)
            .await?;
        let mut remote = map::to_remote_customer(Kind::Company, &created);
        remote.name.get_or_insert_with(|| name.to_owned());
        Ok(remote)
    }

    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, ApplyError> {
        let (kind, raw) = Kind::parse(id)?;
        let record = self.get_record(kind, raw).await?;
        Ok(record.map(|r| map::to_customer(kind, &r)))
    }

    async fn find_invoice_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError> {
        let property = self.options.number_property.as_str();
        let search = Search::equal(&[(property, number)], &["hs_object_id"], 1);
        let Some(found) = self.search("invoices", &search).await?.into_iter().next() else {
            return Ok(None);
        };
        // Search results carry no associations; the full read adds customer and lines. Its
        // number is checked (ignoring case, as the search's EQ may), so a search that ignored
        // the filter cannot mark another invoice.
        let invoice = self.get_invoice(&found.id).await?;
        Ok(invoice.filter(|i| is_asked(i.invoice.number.as_deref(), number)))
    }

    async fn get_invoice(&self, id: &str) -> Result<Option<RemoteInvoice>, ApplyError> {
        let Some(record) = self.invoice_record(id).await? else {
            return Ok(None);
        };
        let lines = self.line_items(&record.associated("line_items")).await?;
        let mut remote = map::to_invoice(&record, &lines, &self.options.number_property)?;
        // The sync rules match the accounting customer by email or name, which the invoice
        // record does not carry: read them from the associated contact or company.
        if let Some(customer_id) = remote.customer_id.as_deref() {
            let (kind, raw) = Kind::parse(customer_id)?;
            if let Some(found) = self.get_record(kind, raw).await? {
                let customer = map::to_customer(kind, &found);
                remote.invoice.customer.name = customer.name.or(customer.company);
                remote.invoice.customer.email = customer.email;
            }
        }
        Ok(Some(remote))
    }

    async fn upsert_invoice(
        &self,
        existing: Option<&RemoteInvoice>,
        invoice: &Invoice,
        customer: Option<&RemoteCustomer>,
    ) -> Result<RemoteInvoice, ApplyError> {
        let props = PropertiesBody {
            properties: map::invoice_props(invoice, &self.options.number_property),
        };
        // The key every system matches invoices on (as the Salesforce connector's external id).
        let key = invoice.number.as_deref().unwrap_or(&invoice.id);
        // Line item ids are needed to change lines; a caller's copy may lack them (it came
        // from our own return value), so read the invoice again in that case. Without a copy,
        // an earlier attempt may have created the invoice already: its key finds it.
        let prior: Option<RemoteInvoice> = match existing {
            Some(e) if e.invoice.lines.iter().any(|l| l.id.is_none()) => {
                self.get_invoice(e.id()).await?
            }
            Some(e) => Some(e.clone()),
            None => self.invoice_by_key(key).await?,
        };
        let (prior, created) = match prior {
            Some(found) => (found, false),
            None => {
                let mut create = props.properties.clone();
                create.insert(self.options.key_property.as_str(), key.to_owned());
                let body = PropertiesBody { properties: create };
                match self.create_keyed(&body, key).await? {
                    Keyed::Created(id) => {
                        let new = Invoice {
                            id,
                            status: InvoiceStatus::Draft,
                            lines: Vec::new(),
                            ..invoice.clone()
                        };
                        let new = RemoteInvoice {
                            invoice: new,
                            customer_id: None,
                        };
                        (new, true)
                    }
                    Keyed::Existing(found) => (*found, false),
                }
            }
        };
        let (id, current, linked) = (
            prior.id().to_owned(),
            prior.invoice.status,
            prior.customer_id.clone(),
        );
        // Paid and voided invoices are closed in HubSpot; only their status can still move.
        // A void keeps what was billed (QuickBooks zeroes a voided invoice's amounts; the
        // invoice in HubSpot still shows what it was for).
        let editable = created
            || (!matches!(current, InvoiceStatus::Paid | InvoiceStatus::Void)
                && !matches!(invoice.status, InvoiceStatus::Void | InvoiceStatus::Deleted));
        if editable {
            if !created {
                self.patch_invoice(&id, &props).await?;
            }
            self.sync_lines(&id, &prior.invoice.lines, invoice).await?;
        }
        let customer_id = match customer {
            Some(c) if linked.as_deref() != Some(c.id.as_str()) => {
                let (kind, raw) = Kind::parse(&c.id)?;
                self.associate(&id, kind.object_type(), raw).await?;
                Some(c.id.clone())
            }
            Some(c) => Some(c.id.clone()),
            None => linked,
        };
        let wanted = map::status_to_hs(invoice.status);
        if wanted != map::status_to_hs(current) {
            let status = PropertiesBody {
                properties: [("hs_invoice_status", wanted.to_owned())].into(),
            };
            self.patch_invoice(&id, &status).await?;
        }
        // What we wrote is the invoice's state now; reading it back would cost two more calls
        // of the portal's budget. Totals are what HubSpot bills: the sum of the lines.
        let mut written = invoice.clone();
        written.id = id;
        written.status = map::status_from_hs(Some(wanted));
        if !editable {
            written.lines = prior.invoice.lines.clone();
            written.total = prior.invoice.total;
        } else if !written.lines.is_empty() {
            written.total = map::lines_total(&written.lines, written.currency)?;
        }
        for line in &mut written.lines {
            // New line ids are not kept; a later write reads the invoice's lines again.
            line.id = None;
        }
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
        let wanted = map::status_to_hs(status);
        let body = PropertiesBody {
            properties: [("hs_invoice_status", wanted.to_owned())].into(),
        };
        let updated = self.patch_invoice(existing.id(), &body).await?;
        let mut result = existing.clone();
        result.invoice.status = map::status_from_hs(Some(wanted));
        let modified = updated
            .prop("hs_lastmodifieddate")
            .or(updated.updated_at.as_deref());
        if let Some(time) = modified.and_then(map::parse_time) {
            result.invoice.updated_at = Some(time);
        }
        Ok(result)
    }

    async fn set_invoice_refunded(
        &self,
        existing: &RemoteInvoice,
        refunded: &Money,
    ) -> Result<RemoteInvoice, ApplyError> {
        self.refunded(existing, refunded).await
    }
}
