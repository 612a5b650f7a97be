//! Invoice items and invoices (docs.stripe.com/api/invoiceitems, /api/invoices):
//! `POST /v1/invoiceitems`, `GET /v1/invoiceitems/{id}`, `POST /v1/invoices`,
//! `GET /v1/invoices/{id}`, `POST /v1/invoices/{id}/add_lines` and
//! `POST /v1/invoices/{id}/finalize`.
//!
//! An item is priced by `amount`, or by `unit_amount` / `unit_amount_decimal` (or the same in
//! `price_data[...]`) times `quantity`. An item names its draft `invoice`, or waits as a pending
//! item until an invoice is created with `pending_invoice_items_behavior=include` (the default is
//! `exclude` since API 2022-08-01). Finalizing numbers the invoice `<customer prefix>-<4-digit
//! sequence>`, fixes the customer's details on it and opens it with a payment intent for the
//! amount due; an invoice of zero is paid at once, as Stripe does.

use std::collections::BTreeMap;

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::json;

use super::{
    form::{self, leaf, Form, Node},
    model::{
        new_id, test_card, Account, CustomerDetails, Invoice, InvoiceItem, InvoiceStatus,
        PaymentIntent,
    },
    output,
    reply::{self, ApiError, Reply},
};
use crate::sandbox::{money::round_dp, webhooks::StripeEvent};

/// A parameter's name inside a hash, e.g. `lines[0][amount]`.
fn name(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}[{field}]")
    }
}

pub(crate) fn currency(value: Option<&str>, default: &str) -> Result<String, ApiError> {
    match value {
        None => Ok(default.to_owned()),
        Some(c) if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            Ok(c.to_ascii_lowercase())
        }
        Some(c) => Err(reply::invalid(
            &format!("Invalid currency: {}.", c.to_ascii_lowercase()),
            "currency",
            None,
        )),
    }
}

/// The amount, quantity and exact unit amount an item's parameters describe.
fn pricing(params: &BTreeMap<String, Node>, prefix: &str) -> Result<(i64, i64, String), ApiError> {
    let int = |field: &str, node: Option<&Node>| form::integer(leaf(node), &name(prefix, field));
    let quantity = int("quantity", params.get("quantity"))?;
    if quantity.is_some_and(|q| q < 0) {
        return Err(reply::invalid(
            "Invalid non-negative integer",
            &name(prefix, "quantity"),
            None,
        ));
    }
    if let Some(amount) = int("amount", params.get("amount"))? {
        if quantity.is_some_and(|q| q != 1) {
            return Err(reply::invalid(
                "When passing `amount`, `quantity` must be 1 or omitted; pass `unit_amount` to price per unit.",
                &name(prefix, "quantity"),
                None,
            ));
        }
        return Ok((amount, 1, amount.to_string()));
    }
    let quantity = quantity.unwrap_or(1);
    let price_data = match params.get("price_data") {
        Some(Node::Hash(h)) => Some(h),
        _ => None,
    };
    let (unit_param, unit_node, decimal_param, decimal_node) = match price_data {
        Some(p) => (
            format!("{}[unit_amount]", name(prefix, "price_data")),
            p.get("unit_amount"),
            format!("{}[unit_amount_decimal]", name(prefix, "price_data")),
            p.get("unit_amount_decimal"),
        ),
        None => (
            name(prefix, "unit_amount"),
            params.get("unit_amount"),
            name(prefix, "unit_amount_decimal"),
            params.get("unit_amount_decimal"),
        ),
    };
    if let Some(unit) = form::integer(leaf(unit_node), &unit_param)? {
        let amount = unit
            .checked_mul(quantity)
            .ok_or_else(|| reply::invalid("This value must be smaller", &unit_param, None))?;
        return Ok((amount, quantity, unit.to_string()));
    }
    if let Some(text) = leaf(decimal_node) {
        let bad = || reply::invalid(&format!("Invalid decimal: {text}"), &decimal_param, None);
        let unit: Decimal = text.parse().map_err(|_| bad())?;
        if unit.scale() > 12 {
            return Err(bad());
        }
        let amount = round_dp(unit * Decimal::from(quantity), 0)
            .try_into()
            .map_err(|_| bad())?;
        return Ok((amount, quantity, unit.normalize().to_string()));
    }
    Err(reply::missing(&name(prefix, "amount")))
}

/// An item for `customer` from the parameters under `prefix`, for `invoice` if given.
fn item(
    params: &BTreeMap<String, Node>,
    prefix: &str,
    customer: &str,
    invoice: Option<&Invoice>,
    default_currency: &str,
) -> Result<InvoiceItem, ApiError> {
    let (amount, quantity, unit) = pricing(params, prefix)?;
    let price_currency = match params.get("price_data") {
        Some(Node::Hash(h)) => leaf(h.get("currency")),
        _ => None,
    };
    let default = invoice.map_or(default_currency, |i| i.currency.as_str());
    let currency = currency(leaf(params.get("currency")).or(price_currency), default)?;
    if let Some(inv) = invoice.filter(|i| i.currency != currency) {
        return Err(reply::invalid(
            &format!(
                "The currency of an invoice item ({currency}) must match the currency of the invoice ({}).",
                inv.currency
            ),
            &name(prefix, "currency"),
            None,
        ));
    }
    let metadata = match params.get("metadata") {
        Some(Node::Hash(h)) => form::metadata(Some(h), &name(prefix, "metadata"))?,
        _ => BTreeMap::new(),
    };
    Ok(InvoiceItem {
        id: new_id("ii_"),
        line_id: new_id("il_"),
        created: Utc::now().timestamp(),
        customer: customer.to_owned(),
        invoice: invoice.map(|i| i.id.clone()),
        amount,
        currency,
        description: leaf(params.get("description")).map(str::to_owned),
        quantity,
        unit_amount_decimal: unit,
        price: new_id("price_"),
        product: new_id("prod_"),
        metadata,
    })
}

fn draft<'a>(account: &'a Account, id: &str, param: &str) -> Result<&'a Invoice, ApiError> {
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such_param("invoice", id, param))?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(reply::refused(
            "You can only add invoice items to draft invoices.",
            Some(param),
            Some("invoice_not_editable"),
        ));
    }
    Ok(invoice)
}

pub(crate) fn create_item(account: &mut Account, form: &Form) -> Result<Reply, ApiError> {
    let customer = form.required("customer")?;
    if account.customer(customer).is_none() {
        return Err(reply::no_such_param("customer", customer, "customer"));
    }
    let invoice = match form.str("invoice") {
        Some(id) => {
            let inv = draft(account, id, "invoice")?;
            if inv.customer != customer {
                return Err(reply::invalid(
                    "The invoice item's customer must be the invoice's customer.",
                    "invoice",
                    None,
                ));
            }
            Some(inv)
        }
        None => None,
    };
    let mut params = BTreeMap::new();
    for field in [
        "amount",
        "currency",
        "description",
        "quantity",
        "unit_amount",
        "unit_amount_decimal",
    ] {
        if let Some(v) = form.str(field) {
            params.insert(field.to_owned(), Node::Leaf(v.to_owned()));
        }
    }
    for field in ["price_data", "metadata"] {
        if let Some(h) = form.hash(field) {
            params.insert(field.to_owned(), Node::Hash(h.clone()));
        }
    }
    let item = item(&params, "", customer, invoice, &account.currency)?;
    let body = output::invoice_item(&item);
    account.invoice_items.push(item);
    Ok(Reply::ok(body.clone()).event("invoiceitem.created", body))
}

pub(crate) fn get_item(account: &Account, id: &str) -> Result<Reply, ApiError> {
    let item = account
        .invoice_items
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(|| reply::no_such("invoiceitem", id))?;
    Ok(Reply::ok(output::invoice_item(item)))
}

pub(crate) fn create(account: &mut Account, form: &Form) -> Result<Reply, ApiError> {
    let customer = form.required("customer")?.to_owned();
    if account.customer(&customer).is_none() {
        return Err(reply::no_such_param("customer", &customer, "customer"));
    }
    let currency = currency(form.str("currency"), &account.currency)?;
    let collection = form
        .str("collection_method")
        .unwrap_or("charge_automatically");
    if !["charge_automatically", "send_invoice"].contains(&collection) {
        return Err(reply::invalid(
            "Invalid collection_method: must be one of charge_automatically or send_invoice",
            "collection_method",
            None,
        ));
    }
    let now = Utc::now().timestamp();
    let due_date = match (form.int("due_date")?, form.int("days_until_due")?) {
        (Some(date), _) => Some(date),
        (None, Some(days)) => Some(now + days * 86_400),
        (None, None) if collection == "send_invoice" => {
            return Err(reply::invalid(
                "Invoices with `collection_method=send_invoice` need either `days_until_due` or `due_date`.",
                "days_until_due",
                None,
            ))
        }
        (None, None) => None,
    };
    let default_payment_method = form.str("default_payment_method");
    if let Some(pm) = default_payment_method.filter(|pm| test_card(pm).is_none()) {
        return Err(reply::no_such_param(
            "PaymentMethod",
            pm,
            "default_payment_method",
        ));
    }
    let include = match form.str("pending_invoice_items_behavior") {
        None | Some("exclude") => false,
        Some("include") => true,
        Some(other) => {
            return Err(reply::invalid(
                &format!("Invalid pending_invoice_items_behavior: must be one of exclude or include (got {other})"),
                "pending_invoice_items_behavior",
                None,
            ))
        }
    };
    let invoice = Invoice {
        id: new_id("in_"),
        created: now,
        customer: customer.clone(),
        currency: currency.clone(),
        description: form.str("description").map(str::to_owned),
        metadata: form.metadata()?,
        collection_method: collection.to_owned(),
        due_date,
        auto_advance: form.bool("auto_advance")?.unwrap_or(false),
        status: InvoiceStatus::Draft,
        number: None,
        customer_details: None,
        finalized_at: None,
        paid_at: None,
        payment_intent: None,
        charge: None,
        amount_paid: 0,
        attempt_count: 0,
        paid_out_of_band: false,
        default_payment_method: default_payment_method.map(str::to_owned),
    };
    if include {
        for item in account
            .invoice_items
            .iter_mut()
            .filter(|i| i.invoice.is_none() && i.customer == customer && i.currency == currency)
        {
            item.invoice = Some(invoice.id.clone());
        }
    }
    let body = output::invoice(account, &invoice);
    account.invoices.push(invoice);
    Ok(Reply::ok(body.clone()).event("invoice.created", body))
}

pub(crate) fn get(account: &Account, id: &str) -> Result<Reply, ApiError> {
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such("invoice", id))?;
    Ok(Reply::ok(output::invoice(account, invoice)))
}

pub(crate) fn add_lines(account: &mut Account, id: &str, form: &Form) -> Result<Reply, ApiError> {
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such("invoice", id))?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(reply::refused(
            "You can only add lines to draft invoices.",
            None,
            Some("invoice_not_editable"),
        ));
    }
    let lines = form.hash("lines").ok_or_else(|| reply::missing("lines"))?;
    let mut items = Vec::new();
    for (index, node) in lines {
        let prefix = format!("lines[{index}]");
        let Node::Hash(params) = node else {
            return Err(reply::invalid("Invalid hash", &prefix, None));
        };
        items.push(item(params, &prefix, &invoice.customer, Some(invoice), "")?);
    }
    let before = account.subtotal(id);
    account.invoice_items.extend(items);
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such("invoice", id))?;
    let body = output::invoice(account, invoice);
    let previous = json!({ "amount_due": before, "subtotal": before, "total": before });
    Ok(Reply::ok(body.clone()).update("invoice.updated", body, previous))
}

pub(crate) fn finalize(account: &mut Account, id: &str, form: &Form) -> Result<Reply, ApiError> {
    let auto_advance = form.bool("auto_advance")?;
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such("invoice", id))?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(reply::refused(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            None,
            None,
        ));
    }
    let events = open(account, id, auto_advance);
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such("invoice", id))?;
    let mut reply = Reply::ok(output::invoice(account, invoice));
    reply.events = events;
    Ok(reply)
}

/// Finalizes a draft: numbers it, fixes the customer's details, and opens it with a payment
/// intent, or marks it paid when nothing is due. Returns the events.
pub(crate) fn open(
    account: &mut Account,
    id: &str,
    auto_advance: Option<bool>,
) -> Vec<StripeEvent> {
    let now = Utc::now().timestamp();
    let total = account.subtotal(id);
    let Some(customer_id) = account.invoice(id).map(|i| i.customer.clone()) else {
        return Vec::new();
    };
    let (number, details) = match account.customers.iter_mut().find(|c| c.id == customer_id) {
        Some(c) => {
            let number = format!("{}-{:04}", c.invoice_prefix, c.next_invoice_sequence);
            c.next_invoice_sequence += 1;
            let details = CustomerDetails {
                name: c.name.clone(),
                email: c.email.clone(),
                phone: c.phone.clone(),
                address: c.address.clone(),
            };
            (number, details)
        }
        None => (String::new(), CustomerDetails::default()),
    };
    let payment_intent = (total > 0).then(|| {
        let currency = account
            .invoice(id)
            .map(|i| i.currency.clone())
            .unwrap_or_default();
        PaymentIntent {
            id: new_id("pi_"),
            created: now,
            amount: total,
            amount_received: 0,
            currency,
            customer: Some(customer_id.clone()),
            invoice: Some(id.to_owned()),
            description: Some(format!("Payment for Invoice {number}")),
            status: "requires_payment_method",
            payment_method: None,
            latest_charge: None,
            last_payment_error: None,
            canceled_at: None,
        }
    });
    let Some(invoice) = account.invoice_mut(id) else {
        return Vec::new();
    };
    invoice.number = Some(number);
    invoice.customer_details = Some(details);
    invoice.finalized_at = Some(now);
    invoice.status = InvoiceStatus::Open;
    if let Some(a) = auto_advance {
        invoice.auto_advance = a;
    }
    invoice.payment_intent = payment_intent.as_ref().map(|p| p.id.clone());
    if total == 0 {
        invoice.status = InvoiceStatus::Paid;
        invoice.paid_at = Some(now);
    }
    account.payment_intents.extend(payment_intent);
    let mut events = Vec::new();
    if let Some(invoice) = account.invoice(id) {
        let body = output::invoice(account, invoice);
        let paid = invoice.status == InvoiceStatus::Paid;
        let finalized = if paid {
            // The finalized event shows the invoice as it was when it opened.
            let mut open = body.clone();
            open["status"] = json!("open");
            open["paid"] = json!(false);
            open["status_transitions"]["paid_at"] = json!(null);
            open
        } else {
            body.clone()
        };
        events.push(StripeEvent {
            kind: "invoice.finalized",
            object: finalized,
            previous: None,
        });
        if paid {
            events.push(StripeEvent {
                kind: "invoice.paid",
                object: body,
                previous: None,
            });
        }
    }
    events
}
