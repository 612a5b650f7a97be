//! `/Payments`: PUT (`{"Payments":[..]}`) or POST (a single payment) to record payments against
//! invoices, GET by id or all, and `POST /Payments/{id}` with `Status: DELETED` to remove one.
//!
//! Confirmed in `xero_accounting.yaml`: the request `{Invoice: {InvoiceID}, Account: {Code},
//! Date, Amount}`, the response (`PaymentType` ACCRECPAYMENT, `Status` AUTHORISED, the whole
//! invoice embedded), "Payment amount exceeds the amount outstanding on this document" for an
//! overpayment, deletion by `{"Status": "DELETED"}`, and a fully paid invoice showing PAID with
//! `FullyPaidOnDate`. A payment changes its invoice, so it is announced as an INVOICE UPDATE
//! webhook, as Xero's webhooks only cover contacts and invoices. A payment naming
//! `CreditNote: {CreditNoteID}` instead refunds that credit note (`PaymentType`
//! ARCREDITPAYMENT) and changes no invoice. The other validation messages are the sandbox's own.

use chrono::Utc;
use rust_decimal::Decimal;

use super::{
    batch::{self, Element, Outcome, Query},
    creditnotes,
    model::{new_id, Org, Payment},
    output::PaymentOut,
    reply::{self, Reply},
    wire::{self, PaymentIn},
};
use crate::sandbox::webhooks::XeroEvent;

pub(crate) fn list(org: &Org) -> Reply {
    let all: Vec<PaymentOut> = org
        .payments
        .iter()
        .map(|p| PaymentOut::new(org, p))
        .collect();
    reply::envelope("Payments", &all)
}

pub(crate) fn get(org: &Org, id: &str) -> Reply {
    match org.payments.iter().find(|p| p.id.eq_ignore_ascii_case(id)) {
        Some(p) => reply::envelope("Payments", &[PaymentOut::new(org, p)]),
        None => reply::not_found(),
    }
}

pub(crate) fn create(org: &mut Org, body: &[u8], query: &Query) -> Reply {
    let inputs: Vec<PaymentIn> = match wire::elements(body, "Payments") {
        Ok(inputs) => inputs,
        Err(e) => return reply::post_data_invalid(&e),
    };
    batch::run(org, inputs, query.summarize_errors(), "Payments", record)
}

fn record(org: &mut Org, mut input: PaymentIn) -> Outcome<PaymentOut> {
    if input.credit_note.is_some() && input.invoice.is_none() {
        return refund(org, input);
    }
    let mut errors = Vec::new();
    let reference = input.invoice.take().unwrap_or_default();
    let invoice = match (&reference.invoice_id, &reference.invoice_number) {
        (Some(id), _) => org.invoice(id),
        (None, Some(number)) => org.invoices.iter().find(|i| &i.number == number),
        (None, None) => None,
    }
    .cloned();
    let document = invoice
        .as_ref()
        .map(|i| (i.status.as_str(), i.totals().amount_due));
    let mut payment = checked(org, document, input, &mut errors);
    payment.invoice_id = invoice.as_ref().map(|i| i.id.clone()).unwrap_or_default();
    payment.payment_type = match invoice.as_ref().map(|i| i.kind.as_str()) {
        Some("ACCPAY") => "ACCPAYPAYMENT",
        _ => "ACCRECPAYMENT",
    };
    if !errors.is_empty() {
        let mut out = PaymentOut::new(org, &payment);
        out.refuse(errors);
        return Outcome::Refused(out);
    }
    org.payments.push(payment.clone());
    settle(org, &payment.invoice_id, payment.amount, Some(payment.date));
    let out = PaymentOut::new(org, &payment);
    Outcome::Saved(out, vec![invoice_update(&payment.invoice_id)])
}

/// `POST /Payments/{PaymentID}` with `{"Status": "DELETED"}`: the amount goes back on the
/// invoice, which is AUTHORISED again if it had been PAID.
pub(crate) fn delete(org: &mut Org, id: &str, body: &[u8]) -> Reply {
    let inputs: Vec<PaymentIn> = match wire::elements(body, "Payments") {
        Ok(inputs) => inputs,
        Err(e) => return reply::post_data_invalid(&e),
    };
    let Some(index) = org
        .payments
        .iter()
        .position(|p| p.id.eq_ignore_ascii_case(id))
    else {
        return reply::not_found();
    };
    let wants_delete = inputs
        .first()
        .and_then(|p| p.status.as_deref())
        .is_some_and(|s| s.eq_ignore_ascii_case("DELETED"));
    let payment = org.payments[index].clone();
    if !wants_delete || payment.status == "DELETED" {
        let mut out = PaymentOut::new(org, &payment);
        out.refuse(vec![
            "A payment can only be updated to Status DELETED".to_owned()
        ]);
        return reply::validation(&[out]);
    }
    org.payments[index].status = "DELETED".to_owned();
    org.payments[index].updated = Utc::now();
    if let Some(note) = &payment.credit_note_id {
        creditnotes::refund(org, note, -payment.amount, None);
        let out = PaymentOut::new(org, &org.payments[index]);
        return reply::envelope("Payments", &[out]);
    }
    settle(org, &payment.invoice_id, -payment.amount, None);
    let out = PaymentOut::new(org, &org.payments[index]);
    reply::envelope("Payments", &[out]).with_events(vec![invoice_update(&payment.invoice_id)])
}

/// A payment against a credit note: money paid back to the customer. It changes no invoice,
/// so no webhook announces it.
fn refund(org: &mut Org, mut input: PaymentIn) -> Outcome<PaymentOut> {
    let mut errors = Vec::new();
    let reference = input.credit_note.take().unwrap_or_default();
    let note = match (&reference.credit_note_id, &reference.credit_note_number) {
        (Some(id), _) => org.credit_note(id),
        (None, Some(number)) => org.credit_notes.iter().find(|c| &c.number == number),
        (None, None) => None,
    }
    .cloned();
    let document = note
        .as_ref()
        .map(|c| (c.status.as_str(), c.remaining_credit()));
    let mut payment = checked(org, document, input, &mut errors);
    payment.credit_note_id = note.as_ref().map(|c| c.id.clone());
    payment.payment_type = match note.as_ref().map(|c| c.kind.as_str()) {
        Some("ACCPAYCREDIT") => "APCREDITPAYMENT",
        _ => "ARCREDITPAYMENT",
    };
    if !errors.is_empty() {
        let mut out = PaymentOut::new(org, &payment);
        out.refuse(errors);
        return Outcome::Refused(out);
    }
    org.payments.push(payment.clone());
    if let Some(note) = &payment.credit_note_id {
        creditnotes::refund(org, note, payment.amount, Some(payment.date));
    }
    Outcome::Saved(PaymentOut::new(org, &payment), Vec::new())
}

/// What Xero checks of any payment, and the payment it would record: the document (status,
/// amount outstanding) exists and is AUTHORISED, the amount is positive and at most what is
/// outstanding, an account is named and the date parses. Refusals go to `errors`; the caller
/// names the document and the payment type.
fn checked(
    org: &mut Org,
    document: Option<(&str, Decimal)>,
    input: PaymentIn,
    errors: &mut Vec<String>,
) -> Payment {
    let amount = input.amount.map(|a| a.0);
    match document {
        None => errors
            .push("The document with the supplied id was not found for this endpoint.".to_owned()),
        Some((status, _)) if status != "AUTHORISED" => {
            errors.push("Payments can only be made against Authorised documents".to_owned())
        }
        Some((_, outstanding)) => {
            if amount.is_some_and(|a| a > outstanding) {
                errors.push(
                    "Payment amount exceeds the amount outstanding on this document".to_owned(),
                );
            }
        }
    }
    if amount.is_none_or(|a| a <= Decimal::ZERO) {
        errors.push("Payment amount must be greater than zero".to_owned());
    }
    let account = input.account.unwrap_or_default();
    let code = account.code.clone().or(account.account_id.clone());
    if code.is_none() {
        errors.push("An Account Code or AccountID must be given for the payment".to_owned());
    }
    let date = match input.date.as_deref().map(wire::parse_date) {
        Some(Some(d)) => d,
        Some(None) => {
            errors.push("The payment date is not a valid date".to_owned());
            Utc::now().date_naive()
        }
        None => Utc::now().date_naive(),
    };
    let code = code.unwrap_or_default();
    Payment {
        id: new_id(),
        invoice_id: String::new(),
        credit_note_id: None,
        account_id: account
            .account_id
            .clone()
            .unwrap_or_else(|| org.account_id(&code)),
        account_code: account.code.unwrap_or_default(),
        date,
        amount: amount.unwrap_or_default(),
        reference: input.reference,
        status: "AUTHORISED".to_owned(),
        payment_type: "ACCRECPAYMENT",
        updated: Utc::now(),
    }
}

/// Moves `amount` onto (or, negative, off) the invoice and sets PAID or AUTHORISED to match.
fn settle(org: &mut Org, invoice_id: &str, amount: Decimal, paid_on: Option<chrono::NaiveDate>) {
    if let Some(invoice) = org.invoice_mut(invoice_id) {
        invoice.amount_paid += amount;
        invoice.updated = Utc::now();
        if invoice.totals().amount_due.is_zero() && invoice.status == "AUTHORISED" {
            invoice.status = "PAID".to_owned();
            invoice.fully_paid_on = paid_on;
        } else if invoice.status == "PAID" && !invoice.totals().amount_due.is_zero() {
            invoice.status = "AUTHORISED".to_owned();
            invoice.fully_paid_on = None;
        }
    }
}

fn invoice_update(invoice_id: &str) -> XeroEvent {
    XeroEvent {
        resource_id: invoice_id.to_owned(),
        category: "INVOICE",
        kind: "UPDATE",
    }
}
