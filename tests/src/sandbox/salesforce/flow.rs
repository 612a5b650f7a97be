//! The sandbox's stand-in for a record-triggered Flow: after every save of an Account, a
//! Contact or an `Invoice__c`, a canonical event for the router's Standard Webhooks source.
//!
//! A real org would build this payload in the Flow; the sandbox's Flow is configured for these
//! field names, the ones ledgerhook's docs suggest: `Invoice__c` with `Name` (the invoice
//! number), `Amount__c`, `Amount_Paid__c`, `CurrencyIsoCode`, `Status__c`, `Invoice_Date__c`,
//! `Due_Date__c` and the `Account__c` lookup; Account's `Name`, `Phone` and billing address;
//! Contact's names, `Email`, `Phone`, `AccountId` and mailing address. Record-triggered flows
//! run on every save, even one that changes no value, so every write is announced. An invoice
//! insert is `invoice.created`; an update that moves `Status__c` to Paid is `invoice.paid`, to
//! Void (or Voided, Cancelled) `invoice.voided`, else `invoice.updated`; a delete is
//! `invoice.deleted`. Accounts and contacts are `customer.upserted` (their deletes are not
//! announced: the vocabulary has no customer deletion). Amounts are rounded to the currency's
//! minor unit, as a currency field's scale would.

use chrono::NaiveDate;
use ledgerhook_shared::{
    model::{Address, CanonicalObject, Customer, CustomerRef, Invoice, InvoiceStatus},
    Currency, EventType, Money,
};
use rust_decimal::Decimal;

use super::{
    model::{Field, Record, SfOrg},
    sobjects::Changed,
};
use crate::sandbox::{money::round_dp, webhooks::FlowEvent};

pub(crate) fn events(org: &SfOrg, changes: &[Changed]) -> Vec<FlowEvent> {
    changes.iter().filter_map(|c| event(org, c)).collect()
}

fn event(org: &SfOrg, change: &Changed) -> Option<FlowEvent> {
    let object = change.object.to_ascii_lowercase();
    match (object.as_str(), &change.before, &change.after) {
        ("account", _, Some(after)) => Some(FlowEvent {
            kind: EventType::CustomerUpserted,
            object: CanonicalObject::Customer(account(after)),
        }),
        ("contact", _, Some(after)) => Some(FlowEvent {
            kind: EventType::CustomerUpserted,
            object: CanonicalObject::Customer(contact(org, after)),
        }),
        ("invoice__c", before, Some(after)) => {
            let invoice = invoice(org, after, false)?;
            let was = before.as_ref().and_then(|b| invoice_status(b, false));
            let kind = match (before, invoice.status) {
                (None, _) => EventType::InvoiceCreated,
                (Some(_), InvoiceStatus::Paid) if was != Some(InvoiceStatus::Paid) => {
                    EventType::InvoicePaid
                }
                (Some(_), InvoiceStatus::Void) if was != Some(InvoiceStatus::Void) => {
                    EventType::InvoiceVoided
                }
                (Some(_), _) => EventType::InvoiceUpdated,
            };
            Some(FlowEvent {
                kind,
                object: CanonicalObject::Invoice(invoice),
            })
        }
        ("invoice__c", Some(before), None) => Some(FlowEvent {
            kind: EventType::InvoiceDeleted,
            object: CanonicalObject::Invoice(invoice(org, before, true)?),
        }),
        _ => None,
    }
}

fn text(record: &Record, name: &str) -> Option<String> {
    record
        .get(name)
        .and_then(Field::text)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn address(record: &Record, prefix: &str) -> Option<Address> {
    let part = |n: &str| text(record, &format!("{prefix}{n}"));
    let address = Address {
        line1: part("Street"),
        line2: None,
        city: part("City"),
        region: part("State"),
        postal_code: part("PostalCode"),
        country: part("Country"),
    };
    (address != Address::default()).then_some(address)
}

fn account(record: &Record) -> Customer {
    Customer {
        id: record.id.clone(),
        name: text(record, "Name"),
        email: None,
        company: text(record, "Name"),
        phone: text(record, "Phone"),
        address: address(record, "Billing"),
        updated_at: Some(record.modified),
    }
}

fn contact(org: &SfOrg, record: &Record) -> Customer {
    let name: Vec<String> = [text(record, "FirstName"), text(record, "LastName")]
        .into_iter()
        .flatten()
        .collect();
    let company =
        text(record, "AccountId").and_then(|id| org.by_id(&id).and_then(|(_, a)| text(a, "Name")));
    Customer {
        id: record.id.clone(),
        name: (!name.is_empty()).then(|| name.join(" ")),
        email: text(record, "Email"),
        company,
        phone: text(record, "Phone").or_else(|| text(record, "MobilePhone")),
        address: address(record, "Mailing"),
        updated_at: Some(record.modified),
    }
}

fn invoice_status(record: &Record, deleted: bool) -> Option<InvoiceStatus> {
    if deleted {
        return Some(InvoiceStatus::Deleted);
    }
    let status = text(record, "Status__c")
        .unwrap_or_default()
        .to_ascii_lowercase();
    Some(match status.as_str() {
        "" | "draft" => InvoiceStatus::Draft,
        "paid" => InvoiceStatus::Paid,
        "void" | "voided" | "cancelled" | "canceled" => InvoiceStatus::Void,
        "uncollectible" => InvoiceStatus::Uncollectible,
        _ => InvoiceStatus::Open,
    })
}

fn date(record: &Record, name: &str) -> Option<NaiveDate> {
    let t = text(record, name)?;
    NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok()
}

fn invoice(org: &SfOrg, record: &Record, deleted: bool) -> Option<Invoice> {
    let code = text(record, "CurrencyIsoCode").unwrap_or_else(|| org.currency.clone());
    let currency = Currency::parse(&code).ok()?;
    let money = |amount: Decimal| Money::new(round_dp(amount, currency.exponent()), currency).ok();
    let number = |name: &str| record.get(name).and_then(Field::number);
    let status = invoice_status(record, deleted)?;
    let total = number("Amount__c").unwrap_or_default();
    let paid = number("Amount_Paid__c").unwrap_or(if status == InvoiceStatus::Paid {
        total
    } else {
        Decimal::ZERO
    });
    let due = match status {
        InvoiceStatus::Void | InvoiceStatus::Deleted => Decimal::ZERO,
        _ => total - paid,
    };
    let account_id = text(record, "Account__c");
    let account_name = account_id
        .as_ref()
        .and_then(|id| org.by_id(id).and_then(|(_, a)| text(a, "Name")));
    Some(Invoice {
        id: record.id.clone(),
        number: text(record, "Name"),
        status,
        currency,
        customer: CustomerRef {
            id: account_id,
            name: account_name,
            email: None,
        },
        lines: Vec::new(),
        subtotal: None,
        tax: None,
        total: money(total)?,
        amount_paid: Some(money(paid)?),
        amount_due: Some(money(due)?),
        issue_date: date(record, "Invoice_Date__c"),
        due_date: date(record, "Due_Date__c"),
        updated_at: Some(record.modified),
    })
}
