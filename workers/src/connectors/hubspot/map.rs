//! Mapping between ledgerhook's canonical objects and HubSpot records: invoice status, dates,
//! line items, and contacts or companies as customers.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use ledgerhook_shared::{
    model::{Address, Customer, CustomerRef, Invoice, InvoiceLine, InvoiceStatus},
    money::Currency,
    Money,
};
use rust_decimal::{Decimal, RoundingStrategy};

use super::wire::{HObject, Properties};
use crate::connectors::{ApplyError, RemoteCustomer, RemoteInvoice};

pub(super) const CONTACT_PROPS: &[&str] = &[
    "email",
    "firstname",
    "lastname",
    "company",
    "phone",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "lastmodifieddate",
];
pub(super) const COMPANY_PROPS: &[&str] = &[
    "name",
    "phone",
    "address",
    "address2",
    "city",
    "state",
    "zip",
    "country",
    "hs_lastmodifieddate",
];
pub(super) const INVOICE_PROPS: &[&str] = &[
    "hs_number",
    "hs_currency",
    "hs_invoice_status",
    "hs_invoice_date",
    "hs_due_date",
    "hs_amount_billed",
    "hs_balance_due",
    "hs_lastmodifieddate",
];
pub(super) const LINE_PROPS: &[&str] = &["name", "description", "quantity", "price", "amount"];

/// HubSpot's customers live in two object types; ledgerhook's ids say which, as the router's
/// HubSpot provider writes them: `contact/151`, `company/6200`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Contact,
    Company,
}

impl Kind {
    pub fn object_type(self) -> &'static str {
        match self {
            Kind::Contact => "contacts",
            Kind::Company => "companies",
        }
    }

    pub fn prefixed(self, id: &str) -> String {
        match self {
            Kind::Contact => format!("contact/{id}"),
            Kind::Company => format!("company/{id}"),
        }
    }

    /// Splits `contact/151`; a bare number is a contact, HubSpot's usual customer.
    pub fn parse(id: &str) -> Result<(Kind, &str), ApplyError> {
        let (kind, raw) = match id.split_once('/') {
            Some(("contact", raw)) => (Kind::Contact, raw),
            Some(("company", raw)) => (Kind::Company, raw),
            None => (Kind::Contact, id),
            Some(_) => {
                return Err(ApplyError::permanent(format!(
                    "`{id}` is not a HubSpot customer id"
                )))
            }
        };
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApplyError::permanent(format!(
                "`{id}` is not a HubSpot customer id"
            )));
        }
        Ok((kind, raw))
    }
}

/// The `hs_invoice_status` values: draft, open, paid, voided.
pub(super) fn status_to_hs(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Draft => "draft",
        // HubSpot has no uncollectible state; the invoice is still owed.
        InvoiceStatus::Open | InvoiceStatus::Uncollectible => "open",
        InvoiceStatus::Paid => "paid",
        InvoiceStatus::Void | InvoiceStatus::Deleted => "voided",
    }
}

pub(super) fn status_from_hs(status: Option<&str>) -> InvoiceStatus {
    match status {
        Some("draft") => InvoiceStatus::Draft,
        Some("paid") => InvoiceStatus::Paid,
        Some("voided") => InvoiceStatus::Void,
        _ => InvoiceStatus::Open,
    }
}

/// Amounts go out as strings with at least the currency's decimals: `"20.00"`, `"1500"`,
/// `"12.345"`; finer unit prices keep their extra digits.
pub(super) fn amount_text(amount: Decimal, exponent: u32) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < exponent {
        amount.rescale(exponent);
    }
    amount.to_string()
}

fn decimal(text: Option<&str>) -> Option<Decimal> {
    let text = text?;
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

fn money(amount: Decimal, currency: Currency) -> Result<Money, ApplyError> {
    let rounded =
        amount.round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero);
    Money::new(rounded, currency).map_err(|e| ApplyError::permanent(format!("HubSpot amount: {e}")))
}

/// HubSpot dates arrive as `2024-01-15`, as ISO date-times, or as epoch milliseconds.
pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(millis) = text.parse::<i64>() {
        return DateTime::from_timestamp_millis(millis);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

fn parse_date(text: Option<&str>) -> Option<NaiveDate> {
    parse_time(text?).map(|t| t.date_naive())
}

/// The invoice's own properties (not status: that moves separately, after the associations
/// HubSpot requires before an invoice can leave draft).
pub(super) fn invoice_props<'a>(invoice: &Invoice, number_property: &'a str) -> Properties<'a> {
    let mut props = Properties::new();
    props.insert("hs_currency", invoice.currency.code().to_owned());
    if let Some(date) = invoice.issue_date {
        props.insert("hs_invoice_date", date.format("%Y-%m-%d").to_string());
    }
    if let Some(date) = invoice.due_date {
        props.insert("hs_due_date", date.format("%Y-%m-%d").to_string());
    }
    if let Some(number) = &invoice.number {
        props.insert(number_property, number.clone());
    }
    props
}

pub(super) fn line_props(line: &InvoiceLine) -> Properties<'static> {
    let exponent = line.amount.currency.exponent();
    let product = (line.quantity * line.unit_price)
        .round_dp_with_strategy(exponent, RoundingStrategy::MidpointAwayFromZero);
    // HubSpot computes a line's amount from quantity and price; when they do not give the
    // canonical total (a discount), one unit at the total keeps the amount right.
    let (quantity, price) = if product == line.amount.amount {
        (line.quantity, line.unit_price)
    } else {
        (Decimal::ONE, line.amount.amount)
    };
    Properties::from([
        ("name", line_name(line).to_owned()),
        ("quantity", quantity.normalize().to_string()),
        ("price", amount_text(price, exponent)),
    ])
}

/// HubSpot line items need a name; the description is the closest canonical field.
fn line_name(line: &InvoiceLine) -> &str {
    match line.description.trim() {
        "" => "Item",
        name => name,
    }
}

/// How the CRM's lines (`old`, with their ids) become `wanted`: the ids of the old lines to
/// archive and the wanted lines to create. A line that already says what a wanted one says
/// (name and amount) stays, with its id, so a repeated write changes nothing.
pub(super) fn line_changes<'a>(
    old: &[InvoiceLine],
    wanted: &'a [InvoiceLine],
) -> (Vec<String>, Vec<&'a InvoiceLine>) {
    let key = |l: &InvoiceLine| (line_name(l).to_owned(), l.amount);
    let mut unmatched: Vec<&InvoiceLine> = old.iter().collect();
    let mut missing = Vec::new();
    for line in wanted {
        match unmatched.iter().position(|o| key(o) == key(line)) {
            Some(i) => {
                unmatched.swap_remove(i);
            }
            None => missing.push(line),
        }
    }
    let stale = unmatched.iter().filter_map(|l| l.id.clone()).collect();
    (stale, missing)
}

/// `Jane Q. Doe` -> (`Jane Q.`, `Doe`): HubSpot contacts have first and last names.
fn split_name(name: &str) -> (&str, Option<&str>) {
    match name.trim().rsplit_once(' ') {
        Some((first, last)) => (first.trim(), Some(last)),
        None => (name.trim(), None),
    }
}

/// Contact properties; absent canonical fields are left out so they never blank HubSpot's.
pub(super) fn contact_props(customer: &Customer) -> Properties<'static> {
    let mut props = Properties::new();
    let mut put = |key: &'static str, value: Option<&str>| {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            props.insert(key, v.to_owned());
        }
    };
    put("email", customer.email.as_deref());
    if let Some(name) = &customer.name {
        let (first, last) = split_name(name);
        put("firstname", Some(first));
        put("lastname", last);
    }
    put("company", customer.company.as_deref());
    put("phone", customer.phone.as_deref());
    address_props(customer.address.as_ref(), &mut put);
    props
}

pub(super) fn company_props(customer: &Customer, name: &str) -> Properties<'static> {
    let mut props = Properties::new();
    let mut put = |key: &'static str, value: Option<&str>| {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            props.insert(key, v.to_owned());
        }
    };
    put("name", Some(name));
    put("phone", customer.phone.as_deref());
    address_props(customer.address.as_ref(), &mut put);
    props
}

fn address_props(address: Option<&Address>, put: &mut impl FnMut(&'static str, Option<&str>)) {
    if let Some(a) = address {
        put("address", a.line1.as_deref());
        put("city", a.city.as_deref());
        put("state", a.region.as_deref());
        put("zip", a.postal_code.as_deref());
        put("country", a.country.as_deref());
    }
}

pub(super) fn to_remote_customer(kind: Kind, object: &HObject) -> RemoteCustomer {
    let customer = to_customer(kind, object);
    RemoteCustomer {
        id: customer.id,
        name: customer.name,
        email: customer.email,
    }
}

pub(super) fn to_customer(kind: Kind, object: &HObject) -> Customer {
    let own = |key: &str| object.prop(key).map(str::to_owned);
    let name = match kind {
        Kind::Contact => {
            let parts: Vec<&str> = ["firstname", "lastname"]
                .into_iter()
                .filter_map(|k| object.prop(k))
                .collect();
            Some(parts.join(" ")).filter(|n| !n.is_empty())
        }
        Kind::Company => own("name"),
    };
    let address = Address {
        line1: own("address"),
        line2: own("address2"),
        city: own("city"),
        region: own("state"),
        postal_code: own("zip"),
        country: own("country"),
    };
    let modified = object
        .prop("lastmodifieddate")
        .or_else(|| object.prop("hs_lastmodifieddate"))
        .or(object.updated_at.as_deref());
    Customer {
        id: kind.prefixed(&object.id),
        company: match kind {
            Kind::Contact => own("company"),
            Kind::Company => name.clone(),
        },
        name,
        email: own("email"),
        phone: own("phone"),
        address: Some(address).filter(|a| *a != Address::default()),
        updated_at: modified.and_then(parse_time),
    }
}

/// What HubSpot bills for these lines: their sum (ledgerhook writes no line taxes).
pub(super) fn lines_total(lines: &[InvoiceLine], currency: Currency) -> Result<Money, ApplyError> {
    lines
        .iter()
        .try_fold(Money::zero(currency), |sum, l| sum.checked_add(&l.amount))
        .map_err(|e| ApplyError::permanent(format!("invoice lines: {e}")))
}

/// An invoice record and its line item records as a canonical invoice.
pub(super) fn to_invoice(
    object: &HObject,
    line_objects: &[HObject],
    number_property: &str,
) -> Result<RemoteInvoice, ApplyError> {
    let code = object.prop("hs_currency").unwrap_or_default();
    let currency = Currency::parse(code)
        .map_err(|e| ApplyError::permanent(format!("HubSpot invoice {}: {e}", object.id)))?;
    let mut lines = Vec::with_capacity(line_objects.len());
    for l in line_objects {
        let quantity = decimal(l.prop("quantity")).unwrap_or(Decimal::ONE);
        let unit_price = decimal(l.prop("price")).unwrap_or(Decimal::ZERO);
        let amount = decimal(l.prop("amount")).unwrap_or(quantity * unit_price);
        lines.push(InvoiceLine {
            id: Some(l.id.clone()),
            description: l
                .prop("name")
                .or(l.prop("description"))
                .unwrap_or_default()
                .to_owned(),
            quantity,
            unit_price,
            amount: money(amount, currency)?,
        });
    }
    let sum = lines_total(&lines, currency)?;
    let total = match decimal(object.prop("hs_amount_billed")) {
        Some(billed) => money(billed, currency)?,
        None => sum,
    };
    let amount_due = decimal(object.prop("hs_balance_due"))
        .map(|due| money(due, currency))
        .transpose()?;
    let amount_paid = amount_due
        .map(|due| money(total.amount - due.amount, currency))
        .transpose()?;
    let customer_id = object
        .associated("contacts")
        .first()
        .map(|id| Kind::Contact.prefixed(id))
        .or_else(|| {
            object
                .associated("companies")
                .first()
                .map(|id| Kind::Company.prefixed(id))
        });
    let number = object
        .prop(number_property)
        .or_else(|| object.prop("hs_number"));
    let modified = object
        .prop("hs_lastmodifieddate")
        .or(object.updated_at.as_deref());
    let invoice = Invoice {
        id: object.id.clone(),
        number: number.map(str::to_owned),
        status: status_from_hs(object.prop("hs_invoice_status")),
        currency,
        customer: CustomerRef {
            id: customer_id.clone(),
            ..CustomerRef::default()
        },
        subtotal: Some(sum).filter(|_| !lines.is_empty()),
        lines,
        tax: None,
        total,
        amount_paid,
        amount_due,
        issue_date: parse_date(object.prop("hs_invoice_date")),
        due_date: parse_date(object.prop("hs_due_date")),
        updated_at: modified.and_then(parse_time),
    };
    Ok(RemoteInvoice {
        invoice,
        customer_id,
    })
}
