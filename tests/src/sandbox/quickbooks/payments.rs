//! `/payment`: create, read `payment/{id}`, update with the current `SyncToken`,
//! `?operation=delete` and `?operation=void`.
//!
//! From Intuit's Payment reference: `TotalAmt` and `CustomerRef` are required; each line
//! applies an `Amount` to the transactions of its `LinkedTxn` (`{TxnId, TxnType: "Invoice"}`),
//! which reduces their `Balance`; what the lines leave is `UnappliedAmt`; void keeps the
//! payment with its amounts zeroed and "Voided" in `PrivateNote`; delete answers `{"status":
//! "Deleted"}`. QuickBooks has no "invoice paid" notification: a payment is announced as
//! Payment Create plus an Invoice Update of each invoice it pays (the router's quickbooks.rs
//! relies on this). Applying more than an invoice's balance, more than the payment's total, to
//! another customer's invoice or in another currency is refused with a 6000 business
//! validation fault whose wording is the sandbox's own.

use std::collections::BTreeSet;

use chrono::Utc;
use rust_decimal::Decimal;

use super::{
    model::{Company, Meta, Payment, PaymentLine},
    output::{Deleted, PaymentOut},
    reply::{self, Reply},
    wire::{self, PaymentIn},
};
use crate::sandbox::{money::round_dp, webhooks::QuickbooksEvent};

pub(crate) fn read(company: &Company, id: &str) -> Reply {
    match company.payment(id) {
        Some(p) => reply::entity("Payment", &PaymentOut::new(company, p)),
        None => reply::not_found(),
    }
}

fn parse(body: &[u8]) -> Result<PaymentIn, Reply> {
    wire::parse(body).map_err(|e| reply::invalid_property(&e))
}

/// The payment an update, void or delete names, at the version it names.
fn current(company: &Company, input: &PaymentIn) -> Result<Payment, Reply> {
    let id = input.id.as_deref().ok_or_else(|| reply::required("Id"))?;
    let payment = company.payment(id).cloned().ok_or_else(reply::not_found)?;
    let token = input
        .sync_token
        .as_deref()
        .ok_or_else(|| reply::required("SyncToken"))?;
    if token.trim() != payment.meta.sync_token.to_string() {
        return Err(reply::stale());
    }
    Ok(payment)
}

/// Payment and invoice notifications for a change to `payment` touching `invoices`.
fn events(payment: &str, action: &'static str, invoices: BTreeSet<String>) -> Vec<QuickbooksEvent> {
    std::iter::once(QuickbooksEvent::new("payment", payment, action))
        .chain(
            invoices
                .iter()
                .map(|i| QuickbooksEvent::new("invoice", i, "updated")),
        )
        .collect()
}

fn linked(payment: &Payment) -> BTreeSet<String> {
    payment.lines.iter().map(|l| l.invoice_id.clone()).collect()
}

/// A payment changes the invoices it is applied to (their `Balance` and `LinkedTxn`), so each
/// gets a new `SyncToken` and `LastUpdatedTime`, as the Invoice Update notification says.
fn touch(company: &mut Company, invoices: &BTreeSet<String>) {
    for invoice in company
        .invoices
        .iter_mut()
        .filter(|i| invoices.contains(&i.id))
    {
        invoice.meta.touch();
    }
}

pub(crate) fn write(company: &mut Company, body: &[u8]) -> Reply {
    let input = match parse(body) {
        Ok(input) => input,
        Err(refused) => return refused,
    };
    let (base, created) = match &input.id {
        Some(_) => match current(company, &input) {
            Ok(p) => (p, false),
            Err(refused) => return refused,
        },
        None => {
            let payment = Payment {
                id: String::new(),
                meta: Meta::new(),
                customer_id: String::new(),
                currency: String::new(),
                txn_date: Utc::now().date_naive(),
                total: Decimal::ZERO,
                lines: Vec::new(),
                reference: None,
                private_note: None,
            };
            (payment, true)
        }
    };
    let full = created || !input.sparse;
    if full
        && input
            .customer_ref
            .as_ref()
            .and_then(|r| r.value.as_ref())
            .is_none()
    {
        return reply::required("CustomerRef");
    }
    if full && input.total_amt.is_none() {
        return reply::required("TotalAmt");
    }
    let before = linked(&base);
    let mut payment = match apply(company, base, input) {
        Ok(payment) => payment,
        Err(refused) => return refused,
    };
    let mut touched = linked(&payment);
    touched.extend(before);
    if created {
        payment.id = company.next_id("payment");
    } else {
        payment.meta.touch();
    }
    touch(company, &touched);
    let out = PaymentOut::new(company, &payment);
    let events = events(
        &payment.id,
        if created { "created" } else { "updated" },
        touched,
    );
    match company.payments.iter_mut().find(|p| p.id == payment.id) {
        Some(slot) => *slot = payment,
        None => company.payments.push(payment),
    }
    reply::entity("Payment", &out).with_events(events)
}

/// Applies the request's fields to `payment` and checks its lines against the invoices.
fn apply(company: &Company, mut payment: Payment, input: PaymentIn) -> Result<Payment, Reply> {
    if let Some(customer_id) = input.customer_ref.and_then(|r| r.value) {
        let customer = company
            .customer(&customer_id)
            .filter(|c| c.active)
            .ok_or_else(|| reply::invalid_reference("CustomerRef"))?;
        payment.customer_id = customer_id;
        payment.currency = customer.currency.clone();
    }
    if let Some(code) = input.currency_ref.and_then(|r| r.value) {
        if !code.trim().eq_ignore_ascii_case(&payment.currency) {
            return Err(reply::business(&format!(
                "The payment currency {code} must be the customer's currency {}.",
                payment.currency
            )));
        }
    }
    if let Some(total) = input.total_amt {
        if total.0 < Decimal::ZERO {
            return Err(reply::business("A payment's TotalAmt cannot be negative."));
        }
        payment.total = round_dp(total.0, 2);
    }
    if let Some(text) = &input.txn_date {
        payment.txn_date =
            wire::date(text).ok_or_else(|| reply::invalid_property(&format!("TxnDate {text}")))?;
    }
    if input.payment_ref_num.is_some() {
        payment.reference = input.payment_ref_num;
    }
    if input.private_note.is_some() {
        payment.private_note = input.private_note;
    }
    if let Some(lines) = input.line {
        payment.lines = Vec::new();
        for line in lines {
            let amount = line.amount.map(|a| round_dp(a.0, 2)).unwrap_or_default();
            for txn in line.linked_txn {
                let kind = txn.txn_type.unwrap_or_default();
                if !kind.eq_ignore_ascii_case("Invoice") {
                    return Err(reply::invalid_property(&format!(
                        "Line.LinkedTxn.TxnType {kind}"
                    )));
                }
                let invoice_id = txn
                    .txn_id
                    .ok_or_else(|| reply::required("Line.LinkedTxn.TxnId"))?;
                payment.lines.push(PaymentLine { amount, invoice_id });
            }
        }
    }
    check(company, &payment)?;
    Ok(payment)
}

/// The lines must fit the invoices' balances (leaving this payment's earlier lines out) and the
/// payment's total.
fn check(company: &Company, payment: &Payment) -> Result<(), Reply> {
    let except = (!payment.id.is_empty()).then_some(payment.id.as_str());
    let invoices: BTreeSet<&str> = payment
        .lines
        .iter()
        .map(|l| l.invoice_id.as_str())
        .collect();
    for id in invoices {
        let invoice = company.invoice(id).ok_or_else(reply::not_found)?;
        if invoice.customer_id != payment.customer_id {
            return Err(reply::business(&format!(
                "Invoice {id} belongs to another customer than the payment."
            )));
        }
        if invoice.currency != payment.currency {
            return Err(reply::business(&format!(
                "Invoice {id} is in {}, the payment in {}.",
                invoice.currency, payment.currency
            )));
        }
        let open = invoice.total() - company.applied(id, except);
        let here: Decimal = payment
            .lines
            .iter()
            .filter(|l| l.invoice_id == id)
            .map(|l| l.amount)
            .sum();
        if here > open {
            return Err(reply::business(&format!(
                "The amount applied to invoice {id} ({here}) is more than its open balance ({open})."
            )));
        }
    }
    if payment.lines.iter().any(|l| l.amount <= Decimal::ZERO) {
        return Err(reply::business(
            "Each payment line must apply an amount greater than zero.",
        ));
    }
    if payment.applied() > payment.total {
        return Err(reply::business(
            "The amounts applied exceed the payment's TotalAmt.",
        ));
    }
    Ok(())
}

/// `POST /payment?operation=delete`.
pub(crate) fn delete(company: &mut Company, body: &[u8]) -> Reply {
    let payment = match parse(body).and_then(|input| current(company, &input)) {
        Ok(payment) => payment,
        Err(refused) => return refused,
    };
    company.payments.retain(|p| p.id != payment.id);
    touch(company, &linked(&payment));
    let events = events(&payment.id, "deleted", linked(&payment));
    reply::entity("Payment", &Deleted::new(&payment.id)).with_events(events)
}

/// `POST /payment?operation=void`.
pub(crate) fn void(company: &mut Company, body: &[u8]) -> Reply {
    let mut payment = match parse(body).and_then(|input| current(company, &input)) {
        Ok(payment) => payment,
        Err(refused) => return refused,
    };
    touch(company, &linked(&payment));
    let events = events(&payment.id, "voided", linked(&payment));
    payment.total = Decimal::ZERO;
    payment.lines.clear();
    payment.private_note = Some(match payment.private_note.take() {
        Some(note) if !note.is_empty() => format!("Voided - {note}"),
        _ => "Voided".to_owned(),
    });
    payment.meta.touch();
    let out = PaymentOut::new(company, &payment);
    if let Some(slot) = company.payments.iter_mut().find(|p| p.id == payment.id) {
        *slot = payment;
    }
    reply::entity("Payment", &out).with_events(events)
}
