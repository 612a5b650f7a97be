//! `/Invoices`: GET (with `IDs`, `InvoiceNumbers`, `ContactIDs`, `Statuses`, `where`), GET by
//! id, PUT to create, POST to update or create, `POST /Invoices/{id}` to update or void.
//!
//! Confirmed in `xero_accounting.yaml`: the request and response shapes, the statuses DRAFT,
//! SUBMITTED, AUTHORISED, PAID, VOIDED, DELETED, "Invoice not of valid type for creation" for
//! a type other than ACCREC/ACCPAY, and unpaged list answers with empty `LineItems` (paged ones,
//! `?page=`, and single reads carry the lines). Xero's status rules as an integrator's digest
//! of its docs states them: created DRAFT unless told otherwise; DRAFT and SUBMITTED may move
//! to DRAFT, SUBMITTED, AUTHORISED or DELETED; AUTHORISED only to VOIDED, and only without
//! payments; PAID is set by payments, never written. The validation messages "Invoice #
//! must be unique.", "Invoice not of valid status for modification" and "This document cannot
//! be edited as it has a payment or credit note allocated to it." are recalled from Xero's
//! answers, not found in a stored copy of its docs.

use chrono::Utc;
use rust_decimal::Decimal;

use super::{
    batch::{self, Element, Outcome, Query},
    contacts,
    filter::Filter,
    model::{new_id, Invoice, LineItem, Org},
    output::InvoiceOut,
    reply::{self, Reply},
    wire::{self, ContactIn, InvoiceIn, LineItemIn},
};
use crate::sandbox::webhooks::XeroEvent;

pub(crate) fn list(org: &Org, query: &Query) -> Reply {
    let filter = match query.get("where").map(Filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => return reply::query_parse(&e),
    };
    let any_of = |name: &str, value: &str| {
        query
            .list(name)
            .is_none_or(|l| l.iter().any(|v| v.eq_ignore_ascii_case(value)))
    };
    let paged = query.get("page").is_some();
    let found: Vec<InvoiceOut> = org
        .invoices
        .iter()
        .filter(|i| any_of("IDs", &i.id) && any_of("InvoiceNumbers", &i.number))
        .filter(|i| any_of("ContactIDs", &i.contact_id) && any_of("Statuses", &i.status))
        .filter(|i| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(|n| field(org, i, n)))
        })
        .filter(|_| !paged || query.get("page") == Some("1"))
        .map(|i| InvoiceOut::new(org, i, paged, query.unit_dp()))
        .collect();
    reply::envelope("Invoices", &found)
}

fn field(org: &Org, i: &Invoice, name: &str) -> Option<String> {
    match name {
        "invoiceid" => Some(i.id.clone()),
        "invoicenumber" => Some(i.number.clone()),
        "reference" => Some(i.reference.clone()),
        "status" => Some(i.status.clone()),
        "type" => Some(i.kind.clone()),
        "currencycode" => Some(i.currency.clone()),
        "contact.contactid" => Some(i.contact_id.clone()),
        "contact.name" => org.contact(&i.contact_id).map(|c| c.name.clone()),
        "contact.contactnumber" => org
            .contact(&i.contact_id)
            .and_then(|c| c.contact_number.clone()),
        _ => None,
    }
}

/// `GET /Invoices/{InvoiceID}`; Xero also answers this path given an invoice number.
pub(crate) fn get(org: &Org, key: &str, query: &Query) -> Reply {
    let found = org
        .invoice(key)
        .or_else(|| org.invoices.iter().find(|i| i.number == key));
    match found {
        Some(i) => reply::envelope(
            "Invoices",
            &[InvoiceOut::new(org, i, true, query.unit_dp())],
        ),
        None => reply::not_found(),
    }
}

pub(crate) fn write(
    org: &mut Org,
    body: &[u8],
    query: &Query,
    create_only: bool,
    path_id: Option<&str>,
) -> Reply {
    let inputs: Vec<InvoiceIn> = match wire::elements(body, "Invoices") {
        Ok(inputs) => inputs,
        Err(e) => return reply::post_data_invalid(&e),
    };
    if path_id.is_some_and(|id| org.invoice(id).is_none()) {
        return reply::not_found();
    }
    let unit_dp = query.unit_dp();
    batch::run(
        org,
        inputs,
        query.summarize_errors(),
        "Invoices",
        |org, input| {
            let target = if create_only {
                None
            } else if let Some(id) = path_id.or(input.invoice_id.as_deref()) {
                org.invoice(id).map(|i| i.id.clone())
            } else {
                let number = input.invoice_number.as_deref();
                let kind = input.kind.as_deref().unwrap_or("ACCREC");
                org.invoices
                    .iter()
                    .find(|i| Some(i.number.as_str()) == number && i.kind == kind)
                    .map(|i| i.id.clone())
            };
            match target {
                Some(id) => update(org, &id, input, unit_dp),
                None => create(org, input, unit_dp),
            }
        },
    )
}

fn create(org: &mut Org, input: InvoiceIn, unit_dp: u32) -> Outcome<InvoiceOut> {
    let mut errors = Vec::new();
    let mut events = Vec::new();
    let kind = input.kind.clone().unwrap_or_default().to_ascii_uppercase();
    if kind != "ACCREC" && kind != "ACCPAY" {
        errors.push("Invoice not of valid type for creation".to_owned());
    }
    let (contact_id, status) = contact_and_status(
        org,
        input.contact.as_ref(),
        input.status.as_deref(),
        "Invoice",
        &mut errors,
        &mut events,
    );
    let number = match input
        .invoice_number
        .clone()
        .filter(|n| !n.trim().is_empty())
    {
        Some(n) => {
            if kind == "ACCREC" && org.invoices.iter().any(|i| i.kind == kind && i.number == n) {
                errors.push("Invoice # must be unique.".to_owned());
            }
            n
        }
        None if kind == "ACCREC" => org.next_number(),
        None => String::new(),
    };
    let now = Utc::now();
    let mut invoice = Invoice {
        id: new_id(),
        kind,
        number,
        reference: String::new(),
        contact_id,
        date: now.date_naive(),
        due_date: None,
        status,
        line_amount_types: "Exclusive".to_owned(),
        currency: org.base_currency.clone(),
        lines: Vec::new(),
        amount_paid: Decimal::ZERO,
        fully_paid_on: None,
        updated: now,
    };
    merge(&mut invoice, input, unit_dp, &mut errors);
    let mut out = InvoiceOut::new(org, &invoice, true, unit_dp);
    if !errors.is_empty() {
        out.refuse(errors);
        return Outcome::Refused(out);
    }
    if invoice.kind == "ACCREC" {
        if let Some(c) = org.contacts.iter_mut().find(|c| c.id == invoice.contact_id) {
            c.is_customer = true;
        }
    }
    events.push(XeroEvent {
        resource_id: invoice.id.clone(),
        category: "INVOICE",
        kind: "CREATE",
    });
    org.invoices.push(invoice);
    Outcome::Saved(out, events)
}

fn update(org: &mut Org, id: &str, input: InvoiceIn, unit_dp: u32) -> Outcome<InvoiceOut> {
    let Some(current) = org.invoice(id).cloned() else {
        return Outcome::Refused(InvoiceOut::new(org, &Invoice::placeholder(), false, 2));
    };
    let mut errors = Vec::new();
    let mut events = Vec::new();
    let mut invoice = current.clone();
    let new_status = input.status.as_ref().map(|s| s.to_ascii_uppercase());
    let edits_content = input.line_items.is_some()
        || input.contact.is_some()
        || input.currency_code.is_some()
        || input.line_amount_types.is_some();
    let paid = !current.amount_paid.is_zero();
    match current.status.as_str() {
        "PAID" => errors.push(
            "This document cannot be edited as it has a payment or credit note allocated to it."
                .to_owned(),
        ),
        "VOIDED" | "DELETED" => {
            errors.push("Invoice not of valid status for modification".to_owned())
        }
        _ if paid && (edits_content || new_status.as_deref() == Some("VOIDED")) => errors.push(
            "This document cannot be edited as it has a payment or credit note allocated to it."
                .to_owned(),
        ),
        _ => {}
    }
    if let Some(to) = &new_status {
        let allowed: &[&str] = match current.status.as_str() {
            "DRAFT" | "SUBMITTED" => &["DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"],
            "AUTHORISED" => &["AUTHORISED", "VOIDED"],
            _ => &[],
        };
        if !allowed.contains(&to.as_str()) && errors.is_empty() {
            errors.push("Invoice not of valid status for modification".to_owned());
        }
    }
    if input.contact.is_some() {
        match contacts::resolve(org, input.contact.as_ref(), &mut events) {
            Ok(contact_id) => invoice.contact_id = contact_id,
            Err(e) => errors.push(e),
        }
    }
    if let Some(n) = input
        .invoice_number
        .clone()
        .filter(|n| *n != current.number)
    {
        let taken = org
            .invoices
            .iter()
            .any(|i| i.id != current.id && i.kind == current.kind && i.number == n);
        if taken && current.kind == "ACCREC" {
            errors.push("Invoice # must be unique.".to_owned());
        }
        invoice.number = n;
    }
    merge(&mut invoice, input, unit_dp, &mut errors);
    if let Some(to) = new_status {
        invoice.status = to;
    }
    invoice.updated = Utc::now();
    let mut out = InvoiceOut::new(org, &invoice, true, unit_dp);
    if !errors.is_empty() {
        out.refuse(errors);
        return Outcome::Refused(out);
    }
    if let Some(slot) = org.invoice_mut(id) {
        *slot = invoice;
    }
    events.push(XeroEvent {
        resource_id: current.id,
        category: "INVOICE",
        kind: "UPDATE",
    });
    Outcome::Saved(out, events)
}

/// The contact (found, or created from the request) and the status of a new document, checked
/// as Xero checks both for invoices and credit notes; `what` names the document in the message.
pub(super) fn contact_and_status(
    org: &mut Org,
    contact: Option<&ContactIn>,
    status: Option<&str>,
    what: &str,
    errors: &mut Vec<String>,
    events: &mut Vec<XeroEvent>,
) -> (String, String) {
    let contact_id = contacts::resolve(org, contact, events).unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
    let status = status.unwrap_or("DRAFT").to_ascii_uppercase();
    if !["DRAFT", "SUBMITTED", "AUTHORISED"].contains(&status.as_str()) {
        errors.push(format!("{what} not of valid status for creation"));
    }
    (contact_id, status)
}

/// A `LineAmountTypes` value spelled as Xero spells it, whatever the request's case.
pub(super) fn line_amount_types(text: &str) -> Result<String, String> {
    ["Exclusive", "Inclusive", "NoTax"]
        .iter()
        .find(|v| v.eq_ignore_ascii_case(text))
        .map(|v| (*v).to_owned())
        .ok_or_else(|| format!("{text} is not a valid LineAmountTypes value"))
}

/// Applies the writable fields present in the request (status and number are handled by the
/// caller, which knows the transition rules).
fn merge(invoice: &mut Invoice, input: InvoiceIn, unit_dp: u32, errors: &mut Vec<String>) {
    if let Some(r) = input.reference {
        invoice.reference = r;
    }
    if let Some(d) = input.date {
        match wire::parse_date(&d) {
            Some(d) => invoice.date = d,
            None => errors.push(format!("{d} is not a valid date")),
        }
    }
    if let Some(d) = input.due_date {
        match wire::parse_date(&d) {
            Some(d) => invoice.due_date = Some(d),
            None => errors.push(format!("{d} is not a valid date")),
        }
    }
    if let Some(c) = input.currency_code {
        invoice.currency = c.to_ascii_uppercase();
    }
    if let Some(t) = input.line_amount_types {
        match line_amount_types(&t) {
            Ok(v) => invoice.line_amount_types = v,
            Err(e) => errors.push(e),
        }
    }
    if let Some(lines) = input.line_items {
        let old = std::mem::take(&mut invoice.lines);
        invoice.lines = lines
            .into_iter()
            .map(|l| line(l, &old, unit_dp, errors))
            .collect();
    }
}

/// A line from the request; one carrying the `LineItemID` of an existing line keeps that id
/// (Xero updates it), others get a new id, and existing lines left out are dropped.
pub(super) fn line(
    input: LineItemIn,
    old: &[LineItem],
    unit_dp: u32,
    errors: &mut Vec<String>,
) -> LineItem {
    let has_text = input.description.as_ref().is_some_and(|d| !d.is_empty());
    if !has_text && input.item_code.is_none() {
        errors.push("Description needs to be at least 1 char long".to_owned());
    }
    let (quantity, unit_amount, line_amount) = LineItem::compute(
        input.quantity.map(|d| d.0),
        input.unit_amount.map(|d| d.0),
        input.line_amount.map(|d| d.0),
        input.discount_rate.map(|d| d.0),
        unit_dp,
    );
    let id = input
        .line_item_id
        .filter(|id| old.iter().any(|l| l.id.eq_ignore_ascii_case(id)))
        .unwrap_or_else(new_id);
    LineItem {
        id,
        description: input.description,
        quantity,
        unit_amount,
        line_amount,
        discount_rate: input.discount_rate.map(|d| d.0),
        account_code: input.account_code,
        item_code: input.item_code,
        tax_type: input.tax_type,
        tax_amount: input.tax_amount.map(|d| d.0).unwrap_or_default(),
    }
}

impl Invoice {
    fn placeholder() -> Invoice {
        let now = Utc::now();
        Invoice {
            id: String::new(),
            kind: String::new(),
            number: String::new(),
            reference: String::new(),
            contact_id: String::new(),
            date: now.date_naive(),
            due_date: None,
            status: String::new(),
            line_amount_types: "Exclusive".to_owned(),
            currency: String::new(),
            lines: Vec::new(),
            amount_paid: Decimal::ZERO,
            fully_paid_on: None,
            updated: now,
        }
    }
}
