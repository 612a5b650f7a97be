//! Mapping between ledgerhook's canonical objects and Salesforce records: the invoice object's
//! configurable fields, statuses, amounts at field scale, and Accounts or Contacts as customers.

use chrono::{DateTime, NaiveDate, Utc};
use ledgerhook_shared::{
    model::{Address, Customer, CustomerRef, Invoice, InvoiceStatus},
    money::Currency,
    Money,
};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{
    wire::{Fields, Record, Value},
    InvoiceFields, SalesforceOptions,
};
use crate::connectors::{num::Num, ApplyError, RemoteCustomer, RemoteInvoice};

/// Salesforce customers live in two objects; ledgerhook's ids say which: `account/001...`,
/// `contact/003...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Account,
    Contact,
}

impl Kind {
    pub fn object(self) -> &'static str {
        match self {
            Kind::Account => "Account",
            Kind::Contact => "Contact",
        }
    }

    pub fn prefixed(self, id: &str) -> String {
        match self {
            Kind::Account => format!("account/{id}"),
            Kind::Contact => format!("contact/{id}"),
        }
    }

    /// Splits `contact/003...`. A bare id is told apart by its key prefix: `003` is Contact,
    /// anything else is taken for an Account.
    pub fn parse(id: &str) -> Result<(Kind, &str), ApplyError> {
        match id.split_once('/') {
            Some(("account", raw)) => Ok((Kind::Account, raw)),
            Some(("contact", raw)) => Ok((Kind::Contact, raw)),
            None if id.starts_with("003") => Ok((Kind::Contact, id)),
            None => Ok((Kind::Account, id)),
            Some(_) => Err(ApplyError::permanent(format!(
                "`{id}` is not a Salesforce customer id"
            ))),
        }
    }
}

pub(super) fn status_to_sf(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Draft => "Draft",
        // The picklist has no uncollectible value; the invoice is still owed.
        InvoiceStatus::Open | InvoiceStatus::Uncollectible => "Open",
        InvoiceStatus::Paid => "Paid",
        InvoiceStatus::Void | InvoiceStatus::Deleted => "Void",
    }
}

/// The status of a paid invoice refunded in full.
pub(super) const REFUNDED: &str = "Refunded";

/// A refunded invoice was paid first; the canonical status has no refund of its own.
pub(super) fn status_from_sf(status: Option<&str>) -> InvoiceStatus {
    match status.map(str::to_ascii_lowercase).as_deref() {
        Some("draft") => InvoiceStatus::Draft,
        Some("paid" | "refunded") => InvoiceStatus::Paid,
        Some("void" | "voided") => InvoiceStatus::Void,
        _ => InvoiceStatus::Open,
    }
}

/// An amount at the currency field's scale: `1500` JPY goes out as `1500.00` into a scale-2
/// field, KWD `12.340` as `12.34`. Digits the field cannot hold are refused rather than left to
/// Salesforce's rounding.
pub(super) fn field_amount(money: &Money, scale: u32) -> Result<Num, ApplyError> {
    let mut amount = money.amount.normalize();
    if amount.scale() > scale {
        return Err(ApplyError::permanent(format!(
            "{money} has more decimals than the Salesforce field's {scale}"
        )));
    }
    amount.rescale(scale);
    Ok(Num(amount))
}

/// The relationship name of a lookup field, for reading the related record's name in SOQL:
/// custom `Account__c` is `Account__r`, standard `AccountId` is `Account`.
pub(super) fn relationship(field: &str) -> String {
    if let Some(base) = field.strip_suffix("__c") {
        format!("{base}__r")
    } else if let Some(base) = field.strip_suffix("Id") {
        base.to_owned()
    } else {
        field.to_owned()
    }
}

/// The SELECT list for invoices, every configured field once.
pub(super) fn invoice_select(f: &InvoiceFields) -> String {
    let mut fields = vec!["Id".to_owned()];
    let configured = [
        Some(&f.number),
        Some(&f.external_id),
        Some(&f.amount),
        Some(&f.amount_paid),
        Some(&f.status),
        Some(&f.due_date),
        Some(&f.invoice_date),
        f.currency.as_ref(),
        Some(&f.account),
    ];
    for field in configured.into_iter().flatten() {
        if !fields.contains(field) {
            fields.push(field.clone());
        }
    }
    fields.push(format!("{}.Name", relationship(&f.account)));
    fields.push("LastModifiedDate".to_owned());
    fields.join(", ")
}

/// Salesforce date-times look like `2024-03-02T10:00:00.000+0000` (no colon in the offset).
pub(super) fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = text?;
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_date(text: Option<String>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&text?, "%Y-%m-%d").ok()
}

fn money(amount: Decimal, currency: Currency, field: &str) -> Result<Money, ApplyError> {
    // A scale-2 field can hold fractions a zero-decimal currency does not have; round them as
    // the other connectors do, half away from zero.
    let rounded =
        amount.round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero);
    Money::new(rounded, currency)
        .map_err(|e| ApplyError::permanent(format!("Salesforce field {field}: {e}")))
}

pub(super) fn to_invoice(r: &Record, o: &SalesforceOptions) -> Result<RemoteInvoice, ApplyError> {
    let f = &o.invoice_fields;
    let id = r.id();
    let currency = match f.currency.as_deref().and_then(|c| r.text(c)) {
        Some(code) => Currency::parse(&code)
            .map_err(|e| ApplyError::permanent(format!("Salesforce invoice {id}: {e}")))?,
        None => o.default_currency,
    };
    let total = r.number(&f.amount)?.unwrap_or(Decimal::ZERO);
    let total = money(total, currency, &f.amount)?;
    let paid = r
        .number(&f.amount_paid)?
        .map(|p| money(p, currency, &f.amount_paid))
        .transpose()?;
    let due = paid
        .map(|p| money(total.amount - p.amount, currency, &f.amount))
        .transpose()?;
    let account = r.text(&f.account);
    let customer_id = account.as_deref().map(|a| Kind::Account.prefixed(a));
    let invoice = Invoice {
        id,
        number: r.text(&f.number),
        status: status_from_sf(r.text(&f.status).as_deref()),
        currency,
        customer: CustomerRef {
            id: customer_id.clone(),
            name: r
                .related(&relationship(&f.account))
                .and_then(|a| a.text("Name")),
            email: None,
        },
        lines: Vec::new(),
        subtotal: None,
        tax: None,
        total,
        amount_paid: paid,
        amount_due: due,
        issue_date: parse_date(r.text(&f.invoice_date)),
        due_date: parse_date(r.text(&f.due_date)),
        updated_at: parse_time(r.text("LastModifiedDate").as_deref()),
    };
    Ok(RemoteInvoice {
        invoice,
        customer_id,
    })
}

/// The fields an upsert writes. The external id is never among them: it travels in the URL,
/// and Salesforce rejects a body that repeats it.
pub(super) fn invoice_body(
    invoice: &Invoice,
    o: &SalesforceOptions,
    account_id: Option<&str>,
) -> Result<Fields, ApplyError> {
    let f = &o.invoice_fields;
    let mut fields = Fields::new();
    let text = |s: &str| Value::Text(s.to_owned());
    if let Some(number) = &invoice.number {
        fields.insert(f.number.clone(), text(number));
    }
    fields.insert(
        f.amount.clone(),
        Value::Number(field_amount(&invoice.total, o.amount_scale)?),
    );
    // A paid invoice is paid in full, whatever the source said about partial amounts.
    let paid = match invoice.status {
        InvoiceStatus::Paid => Some(invoice.total),
        _ => invoice.amount_paid,
    };
    if let Some(paid) = paid {
        let amount = field_amount(&paid, o.amount_scale)?;
        fields.insert(f.amount_paid.clone(), Value::Number(amount));
    }
    fields.insert(f.status.clone(), text(status_to_sf(invoice.status)));
    if let Some(date) = invoice.due_date {
        fields.insert(
            f.due_date.clone(),
            text(&date.format("%Y-%m-%d").to_string()),
        );
    }
    if let Some(date) = invoice.issue_date {
        fields.insert(
            f.invoice_date.clone(),
            text(&date.format("%Y-%m-%d").to_string()),
        );
    }
    if let Some(currency) = &f.currency {
        fields.insert(currency.clone(), text(invoice.currency.code()));
    }
    if let Some(account) = account_id {
        fields.insert(f.account.clone(), text(account));
    }
    fields.remove(&f.external_id);
    Ok(fields)
}

pub(super) const ACCOUNT_SELECT: &str = "Id, Name, Phone, BillingStreet, BillingCity, \
    BillingState, BillingPostalCode, BillingCountry, LastModifiedDate";
pub(super) const CONTACT_SELECT: &str = "Id, Name, Email, Phone, AccountId, Account.Name, \
    MailingStreet, MailingCity, MailingState, MailingPostalCode, MailingCountry, LastModifiedDate";

pub(super) fn to_remote_customer(kind: Kind, r: &Record) -> RemoteCustomer {
    RemoteCustomer {
        id: kind.prefixed(&r.id()),
        name: r.text("Name"),
        email: r.text("Email"),
    }
}

pub(super) fn to_customer(kind: Kind, r: &Record) -> Customer {
    let prefix = match kind {
        Kind::Account => "Billing",
        Kind::Contact => "Mailing",
    };
    let part = |name: &str| r.text(&format!("{prefix}{name}"));
    let street = part("Street");
    // Street is one multi-line field; the first line is line1, the rest line2.
    let (line1, line2) = match street.as_deref().map(|s| s.split_once('\n')) {
        Some(Some((first, rest))) => (Some(first.to_owned()), Some(rest.replace('\n', ", "))),
        _ => (street, None),
    };
    let address = Address {
        line1,
        line2,
        city: part("City"),
        region: part("State"),
        postal_code: part("PostalCode"),
        country: part("Country"),
    };
    let has_address = address != Address::default();
    Customer {
        id: kind.prefixed(&r.id()),
        name: r.text("Name"),
        email: r.text("Email"),
        company: match kind {
            Kind::Account => None,
            Kind::Contact => r.related("Account").and_then(|a| a.text("Name")),
        },
        phone: r.text("Phone"),
        address: has_address.then_some(address),
        updated_at: parse_time(r.text("LastModifiedDate").as_deref()),
    }
}

/// A Contact needs a LastName: the last word of the name, the rest as FirstName.
pub(super) fn contact_names(name: &str) -> (Option<&str>, &str) {
    match name.trim().rsplit_once(' ') {
        Some((first, last)) => (Some(first.trim()), last),
        None => (None, name.trim()),
    }
}
