//! Mapping between ledgerhook's canonical objects and Xero's: statuses, lines, amounts, contacts
//! and payments.

use ledgerhook_shared::{
    model::{
        Address, Customer, CustomerRef, Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentStatus,
    },
    money::Currency,
    Money,
};
use rust_decimal::{Decimal, RoundingStrategy};

use super::wire::{
    format_date, parse_date, parse_datetime, AddressOut, ContactOut, IdRef, InvoiceOut, LineOut,
    Num, PhoneOut, XContact, XInvoice, XPayment,
};
use crate::connectors::{ApplyError, RemoteCustomer, RemoteInvoice};

/// Xero takes unit amounts to four decimals when asked with `unitdp=4`; more are rounded.
pub(super) const UNIT_DP: u32 = 4;

/// Xero amounts are numbers with the currency's decimals; anything finer (a computed amount
/// with more digits) is rounded half away from zero, as Xero rounds.
fn money(amount: Decimal, currency: Currency) -> Result<Money, ApplyError> {
    let rounded =
        amount.round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero);
    Money::new(rounded, currency).map_err(|e| ApplyError::permanent(format!("Xero amount: {e}")))
}

fn status_from_xero(status: Option<&str>) -> InvoiceStatus {
    match status.unwrap_or_default() {
        "DRAFT" | "SUBMITTED" => InvoiceStatus::Draft,
        "PAID" => InvoiceStatus::Paid,
        // Xero removes drafts by DELETING and approved invoices by VOIDING; to the other
        // systems both mean the invoice no longer counts.
        "VOIDED" | "DELETED" => InvoiceStatus::Void,
        _ => InvoiceStatus::Open,
    }
}

/// The status a new Xero invoice is created with. Xero cannot create an invoice that is
/// already paid (payments are separate objects) or voided.
pub(super) fn create_status(status: InvoiceStatus) -> Result<&'static str, ApplyError> {
    match status {
        InvoiceStatus::Draft => Ok("DRAFT"),
        InvoiceStatus::Open | InvoiceStatus::Paid | InvoiceStatus::Uncollectible => {
            Ok("AUTHORISED")
        }
        InvoiceStatus::Void | InvoiceStatus::Deleted => Err(ApplyError::permanent(
            "a voided or deleted invoice cannot be created in Xero",
        )),
    }
}

/// The status to send with an update, given the invoice's current one; `None` keeps it.
/// Xero never moves an approved invoice back to DRAFT, voids only approved invoices and
/// deletes only drafts.
pub(super) fn update_status(wanted: InvoiceStatus, current: InvoiceStatus) -> Option<&'static str> {
    let draft = current == InvoiceStatus::Draft;
    match wanted {
        InvoiceStatus::Draft if draft => Some("DRAFT"),
        InvoiceStatus::Draft => None,
        InvoiceStatus::Open | InvoiceStatus::Paid | InvoiceStatus::Uncollectible => {
            Some("AUTHORISED")
        }
        InvoiceStatus::Void | InvoiceStatus::Deleted if draft => Some("DELETED"),
        InvoiceStatus::Void | InvoiceStatus::Deleted => Some("VOIDED"),
    }
}

/// The invoice body for a create (`invoice_id` `None`) or an update.
pub(super) fn invoice_out<'a>(
    invoice: &'a Invoice,
    invoice_id: Option<&'a str>,
    customer_id: &'a str,
    status: Option<&'static str>,
    account_code: &'a str,
) -> InvoiceOut<'a> {
    // Xero requires a due date on approved invoices; the issue date is the honest fallback
    // for an invoice that states none (due on receipt).
    let due_date = invoice.due_date.or(invoice.issue_date);
    let taxed = invoice.tax.is_some_and(|t| !t.amount.is_zero());
    InvoiceOut {
        invoice_id,
        kind: Some("ACCREC"),
        contact: Some(IdRef::Contact(customer_id)),
        invoice_number: invoice.number.as_deref(),
        currency_code: Some(invoice.currency.code()),
        date: invoice.issue_date.map(format_date),
        due_date: due_date.map(format_date),
        status,
        // Canonical lines are pre-tax amounts. Without tax they are the total (NoTax); with
        // tax, Xero adds it from the account's tax rate (Exclusive).
        line_amount_types: Some(if taxed { "Exclusive" } else { "NoTax" }),
        line_items: Some(if invoice.lines.is_empty() {
            // A CRM invoice known only by its total (a Salesforce invoice record) becomes one
            // line of that total; no lines at all would make it a zero invoice.
            vec![LineOut {
                description: invoice.number.as_deref().unwrap_or("Invoice"),
                quantity: Num(Decimal::ONE),
                unit_amount: Num(invoice.total.amount),
                line_amount: Num(invoice.total.amount),
                account_code,
            }]
        } else {
            invoice
                .lines
                .iter()
                .map(|line| line_out(line, account_code))
                .collect()
        }),
    }
}

fn line_out<'a>(line: &'a InvoiceLine, account_code: &'a str) -> LineOut<'a> {
    let exponent = line.amount.currency.exponent();
    let unit = line
        .unit_price
        .round_dp_with_strategy(UNIT_DP, RoundingStrategy::MidpointAwayFromZero);
    let product = (line.quantity * unit)
        .round_dp_with_strategy(exponent, RoundingStrategy::MidpointAwayFromZero);
    // The line total is what has to agree across systems. When quantity × unit price does not
    // give it (a discount, a unit price finer than Xero keeps), send one unit at the total.
    let (quantity, unit) = if product == line.amount.amount {
        (line.quantity.normalize(), unit.normalize())
    } else {
        (Decimal::ONE, line.amount.amount)
    };
    LineOut {
        description: &line.description,
        quantity: Num(quantity),
        unit_amount: Num(unit),
        line_amount: Num(line.amount.amount),
        account_code,
    }
}

pub(super) fn to_invoice(x: XInvoice) -> Result<RemoteInvoice, ApplyError> {
    let code = x.currency_code.as_deref().unwrap_or_default();
    let currency = Currency::parse(code)
        .map_err(|e| ApplyError::permanent(format!("Xero invoice {}: {e}", x.invoice_id)))?;
    let amount = |n: Option<Num>| n.map(|n| money(n.0, currency)).transpose();
    let mut lines = Vec::with_capacity(x.line_items.len());
    for l in x.line_items {
        let quantity = l.quantity.map_or(Decimal::ONE, |n| n.0);
        let unit_price = l.unit_amount.map_or(Decimal::ZERO, |n| n.0);
        let total = l.line_amount.map_or(quantity * unit_price, |n| n.0);
        lines.push(InvoiceLine {
            id: l.line_item_id,
            description: l.description.unwrap_or_default(),
            quantity,
            unit_price,
            amount: money(total, currency)?,
        });
    }
    let total = match amount(x.total)? {
        Some(total) => total,
        None => lines
            .iter()
            .try_fold(Money::zero(currency), |sum, l| sum.checked_add(&l.amount))
            .map_err(|e| ApplyError::permanent(format!("Xero invoice lines: {e}")))?,
    };
    let contact = x.contact.unwrap_or_default();
    let customer_id = Some(contact.contact_id.clone()).filter(|id| !id.is_empty());
    let invoice = Invoice {
        id: x.invoice_id,
        number: x.invoice_number.filter(|n| !n.is_empty()),
        status: status_from_xero(x.status.as_deref()),
        currency,
        customer: CustomerRef {
            id: customer_id.clone(),
            name: contact.name,
            email: contact.email_address,
        },
        lines,
        subtotal: amount(x.sub_total)?,
        tax: amount(x.total_tax)?,
        total,
        amount_paid: amount(x.amount_paid)?,
        amount_due: amount(x.amount_due)?,
        issue_date: x.date.as_deref().and_then(parse_date),
        due_date: x.due_date.as_deref().and_then(parse_date),
        updated_at: x.updated_date_utc.as_deref().and_then(parse_datetime),
    };
    Ok(RemoteInvoice {
        invoice,
        customer_id,
    })
}

/// A contact needs a name in Xero (it is unique per organisation); fall back to the company,
/// then the email, so a customer known only by email can still be created.
pub(super) fn contact_out(customer: &Customer) -> Result<ContactOut<'_>, ApplyError> {
    let name = [&customer.name, &customer.company, &customer.email]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .ok_or_else(|| ApplyError::permanent("customer has no name, company or email"))?;
    let phones = customer
        .phone
        .as_deref()
        .map(|number| PhoneOut {
            phone_type: "DEFAULT",
            phone_number: number,
        })
        .into_iter()
        .collect();
    let addresses = customer
        .address
        .as_ref()
        .map(|a| AddressOut {
            address_type: "STREET",
            address_line1: a.line1.as_deref(),
            address_line2: a.line2.as_deref(),
            city: a.city.as_deref(),
            region: a.region.as_deref(),
            postal_code: a.postal_code.as_deref(),
            country: a.country.as_deref(),
        })
        .into_iter()
        .collect();
    Ok(ContactOut {
        name,
        // ContactNumber is Xero's field for "the id in the other system" (max 50 characters);
        // support staff can then find the contact from either side.
        contact_number: Some(customer.id.as_str()).filter(|id| !id.is_empty() && id.len() <= 50),
        email_address: customer.email.as_deref(),
        phones,
        addresses,
    })
}

pub(super) fn to_remote_customer(x: &XContact) -> RemoteCustomer {
    RemoteCustomer {
        id: x.contact_id.clone(),
        name: x.name.clone(),
        email: x.email_address.clone(),
    }
}

pub(super) fn to_customer(x: XContact) -> Customer {
    let phone = x
        .phones
        .iter()
        .filter(|p| p.phone_number.as_deref().is_some_and(|n| !n.is_empty()))
        .min_by_key(|p| match p.phone_type.as_deref() {
            Some("DEFAULT") => 0,
            Some("MOBILE") => 1,
            _ => 2,
        })
        .map(|p| {
            [&p.phone_country_code, &p.phone_area_code, &p.phone_number]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        });
    let address = x
        .addresses
        .iter()
        .filter(|a| a.address_line1.is_some() || a.city.is_some())
        .min_by_key(|a| usize::from(a.address_type.as_deref() != Some("STREET")))
        .map(|a| Address {
            line1: a.address_line1.clone(),
            line2: a.address_line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        });
    Customer {
        id: x.contact_id,
        name: x.name,
        email: x.email_address.filter(|e| !e.is_empty()),
        company: None,
        phone,
        address,
        updated_at: x.updated_date_utc.as_deref().and_then(parse_datetime),
    }
}

/// `currency` is the paid invoice's currency: a Xero payment is always in its invoice's.
pub(super) fn to_payment(x: XPayment, currency: Currency) -> Result<Payment, ApplyError> {
    let invoice = x.invoice.unwrap_or_default();
    let contact = invoice.contact.unwrap_or_default();
    let amount = x.amount.map_or(Decimal::ZERO, |n| n.0);
    Ok(Payment {
        id: x.payment_id,
        // A DELETED Xero payment has been taken back off the invoice; the money is no longer
        // applied, which is what a refund means to the other systems.
        status: match x.status.as_deref() {
            Some("DELETED") => PaymentStatus::Refunded,
            _ => PaymentStatus::Succeeded,
        },
        amount: money(amount, currency)?,
        invoice_id: Some(invoice.invoice_id).filter(|id| !id.is_empty()),
        invoice_number: invoice.invoice_number.filter(|n| !n.is_empty()),
        customer: CustomerRef {
            id: Some(contact.contact_id).filter(|id| !id.is_empty()),
            name: contact.name,
            email: contact.email_address,
        },
        paid_at: x.date.as_deref().and_then(parse_datetime),
        method: None,
        failure_reason: None,
    })
}
