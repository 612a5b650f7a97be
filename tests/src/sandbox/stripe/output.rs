//! The objects as Stripe's API returns them in API version 2024-06-20 (the version the sandbox
//! serves): every object has `id`, `object`, `created` (unix seconds) and `livemode: false`;
//! amounts are integers in the smallest currency unit; references to other objects are ids.
//! Invoice lines embed their price, and a payment intent names its invoice, as in that version
//! (API 2025-03-31 moved both). Charges list no refunds unless expanded, as since 2022-11-15.

use serde_json::{json, Value};

use super::{
    model::{Account, Address, Charge, Customer, Invoice, InvoiceItem, PaymentIntent, Refund},
    API_VERSION,
};

fn address(a: &Option<Address>) -> Value {
    match a {
        None => Value::Null,
        Some(a) => json!({
            "city": a.city, "country": a.country, "line1": a.line1, "line2": a.line2,
            "postal_code": a.postal_code, "state": a.state,
        }),
    }
}

pub(crate) fn customer(c: &Customer) -> Value {
    json!({
        "id": c.id,
        "object": "customer",
        "address": address(&c.address),
        "balance": 0,
        "created": c.created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": c.description,
        "discount": null,
        "email": c.email,
        "invoice_prefix": c.invoice_prefix,
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": c.default_payment_method,
            "footer": null,
            "rendering_options": null,
        },
        "livemode": false,
        "metadata": c.metadata,
        "name": c.name,
        "next_invoice_sequence": c.next_invoice_sequence,
        "phone": c.phone,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    })
}

fn price(item: &InvoiceItem) -> Value {
    let unit_amount = item.unit_amount_decimal.parse::<i64>().ok();
    json!({
        "id": item.price,
        "object": "price",
        "active": false,
        "billing_scheme": "per_unit",
        "created": item.created,
        "currency": item.currency,
        "livemode": false,
        "lookup_key": null,
        "metadata": {},
        "nickname": null,
        "product": item.product,
        "recurring": null,
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": item.unit_amount_decimal,
    })
}

pub(crate) fn invoice_item(item: &InvoiceItem) -> Value {
    json!({
        "id": item.id,
        "object": "invoiceitem",
        "amount": item.amount,
        "currency": item.currency,
        "customer": item.customer,
        "date": item.created,
        "description": item.description,
        "discountable": true,
        "discounts": [],
        "invoice": item.invoice,
        "livemode": false,
        "metadata": item.metadata,
        "period": { "end": item.created, "start": item.created },
        "price": price(item),
        "proration": false,
        "quantity": item.quantity,
        "subscription": null,
        "tax_rates": [],
        "test_clock": null,
        "unit_amount": item.unit_amount_decimal.parse::<i64>().ok(),
        "unit_amount_decimal": item.unit_amount_decimal,
    })
}

fn line(item: &InvoiceItem) -> Value {
    json!({
        "id": item.line_id,
        "object": "line_item",
        "amount": item.amount,
        "amount_excluding_tax": item.amount,
        "currency": item.currency,
        "description": item.description,
        "discount_amounts": [],
        "discountable": true,
        "discounts": [],
        "invoice": item.invoice,
        "invoice_item": item.id,
        "livemode": false,
        "metadata": item.metadata,
        "period": { "end": item.created, "start": item.created },
        "price": price(item),
        "proration": false,
        "quantity": item.quantity,
        "subscription": null,
        "tax_amounts": [],
        "tax_rates": [],
        "type": "invoiceitem",
        "unit_amount_excluding_tax": item.unit_amount_decimal,
    })
}

pub(crate) fn invoice(account: &Account, inv: &Invoice) -> Value {
    let lines: Vec<Value> = account.lines(&inv.id).map(line).collect();
    let total = account.subtotal(&inv.id);
    let current = account.customer(&inv.customer);
    let details = inv.customer_details.clone().unwrap_or_else(|| {
        current.map_or_else(Default::default, |c| super::model::CustomerDetails {
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            address: c.address.clone(),
        })
    });
    let amount_due = total;
    let remaining = (amount_due - inv.amount_paid).max(0);
    let paid = inv.status == super::model::InvoiceStatus::Paid;
    // Two halves: one `json!` of every field exceeds the macro's recursion limit.
    let mut out = json!({
        "id": inv.id,
        "object": "invoice",
        "account_country": "US",
        "account_name": format!("{} (sandbox)", account.tenant),
        "account_tax_ids": null,
        "amount_due": amount_due,
        "amount_paid": inv.amount_paid,
        "amount_remaining": remaining,
        "amount_shipping": 0,
        "application": null,
        "attempt_count": inv.attempt_count,
        "attempted": inv.attempt_count > 0 || paid,
        "auto_advance": inv.auto_advance,
        "automatic_tax": { "enabled": false, "liability": null, "status": null },
        "billing_reason": "manual",
        "charge": inv.charge,
        "collection_method": inv.collection_method,
        "created": inv.created,
        "currency": inv.currency,
        "custom_fields": null,
        "customer": inv.customer,
        "customer_address": address(&details.address),
        "customer_email": details.email,
        "customer_name": details.name,
        "customer_phone": details.phone,
        "customer_shipping": null,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": inv.default_payment_method,
        "default_source": null,
        "default_tax_rates": [],
        "description": inv.description,
        "discount": null,
        "discounts": [],
        "due_date": inv.due_date,
        "effective_at": inv.finalized_at,
        "ending_balance": inv.finalized_at.map(|_| 0),
        "footer": null,
        "hosted_invoice_url": inv.finalized_at.map(|_| format!("https://invoice.stripe.com/i/{}/test_{}", account.id, inv.id)),
        "invoice_pdf": inv.finalized_at.map(|_| format!("https://pay.stripe.com/invoice/{}/test_{}/pdf", account.id, inv.id)),
    });
    let rest = json!({
        "issuer": { "type": "self" },
        "last_finalization_error": null,
        "latest_revision": null,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": false,
            "total_count": lines.len(),
            "url": format!("/v1/invoices/{}/lines", inv.id),
        },
        "livemode": false,
        "metadata": inv.metadata,
        "next_payment_attempt": null,
        "number": inv.number,
        "on_behalf_of": null,
        "paid": paid,
        "paid_out_of_band": inv.paid_out_of_band,
        "payment_intent": inv.payment_intent,
        "payment_settings": {
            "default_mandate": null,
            "payment_method_options": null,
            "payment_method_types": null,
        },
        "period_end": inv.created,
        "period_start": inv.created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": null,
        "starting_balance": 0,
        "statement_descriptor": null,
        "status": inv.status.as_str(),
        "status_transitions": {
            "finalized_at": inv.finalized_at,
            "marked_uncollectible_at": null,
            "paid_at": inv.paid_at,
            "voided_at": null,
        },
        "subscription": null,
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "tax": null,
        "test_clock": null,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_tax_amounts": [],
        "webhooks_delivered_at": inv.created,
    });
    if let (Value::Object(out), Value::Object(rest)) = (&mut out, rest) {
        out.extend(rest);
    }
    out
}

pub(crate) fn payment_intent(pi: &PaymentIntent) -> Value {
    let error = pi.last_payment_error.as_ref().map(|d| {
        json!({
            "code": d.code,
            "decline_code": d.decline_code,
            "doc_url": format!("https://stripe.com/docs/error-codes/{}", d.code.replace('_', "-")),
            "message": d.message,
            "type": "card_error",
        })
    });
    json!({
        "id": pi.id,
        "object": "payment_intent",
        "amount": pi.amount,
        "amount_capturable": 0,
        "amount_details": { "tip": {} },
        "amount_received": pi.amount_received,
        "application": null,
        "application_fee_amount": null,
        "automatic_payment_methods": null,
        "canceled_at": pi.canceled_at,
        "cancellation_reason": null,
        "capture_method": "automatic",
        "client_secret": format!("{}_secret_sandbox", pi.id),
        "confirmation_method": "automatic",
        "created": pi.created,
        "currency": pi.currency,
        "customer": pi.customer,
        "description": pi.description,
        "invoice": pi.invoice,
        "last_payment_error": error,
        "latest_charge": pi.latest_charge,
        "livemode": false,
        "metadata": {},
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": pi.payment_method,
        "payment_method_options": { "card": { "request_three_d_secure": "automatic" } },
        "payment_method_types": ["card"],
        "processing": null,
        "receipt_email": null,
        "setup_future_usage": null,
        "shipping": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": pi.status,
        "transfer_data": null,
        "transfer_group": null,
    })
}

pub(crate) fn charge(account: &Account, ch: &Charge) -> Value {
    let decline = ch.card.decline.as_ref();
    let outcome = match decline {
        None => json!({
            "network_status": "approved_by_network", "reason": null, "risk_level": "normal",
            "risk_score": 32, "seller_message": "Payment complete.", "type": "authorized",
        }),
        Some(d) => json!({
            "network_status": "declined_by_network", "reason": d.decline_code,
            "risk_level": "normal", "risk_score": 32,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }),
    };
    let customer = ch.customer.as_deref().and_then(|c| account.customer(c));
    json!({
        "id": ch.id,
        "object": "charge",
        "amount": ch.amount,
        "amount_captured": if ch.succeeded() { ch.amount } else { 0 },
        "amount_refunded": ch.amount_refunded,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": ch.balance_transaction,
        "billing_details": {
            "address": address(&customer.and_then(|c| c.address.clone())),
            "email": customer.and_then(|c| c.email.clone()),
            "name": customer.and_then(|c| c.name.clone()),
            "phone": null,
        },
        "calculated_statement_descriptor": "LEDGERHOOK SANDBOX",
        "captured": ch.succeeded(),
        "created": ch.created,
        "currency": ch.currency,
        "customer": ch.customer,
        "description": null,
        "disputed": false,
        "failure_code": decline.map(|d| d.code),
        "failure_message": decline.map(|d| d.message),
        "fraud_details": {},
        "invoice": ch.invoice,
        "livemode": false,
        "metadata": {},
        "outcome": outcome,
        "paid": ch.succeeded(),
        "payment_intent": ch.payment_intent,
        "payment_method": ch.payment_method,
        "payment_method_details": {
            "card": {
                "brand": ch.card.brand,
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "funding": "credit",
                "last4": ch.card.last4,
            },
            "type": "card",
        },
        "receipt_url": format!("https://pay.stripe.com/receipts/payment/{}", ch.id),
        "refunded": ch.succeeded() && ch.amount_refunded == ch.amount,
        "status": if ch.succeeded() { "succeeded" } else { "failed" },
    })
}

pub(crate) fn refund(re: &Refund) -> Value {
    json!({
        "id": re.id,
        "object": "refund",
        "amount": re.amount,
        "balance_transaction": re.balance_transaction,
        "charge": re.charge,
        "created": re.created,
        "currency": re.currency,
        "destination_details": {
            "card": { "reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund" },
            "type": "card",
        },
        "metadata": re.metadata,
        "payment_intent": re.payment_intent,
        "reason": re.reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    })
}

/// The whole account for the state dump.
pub(crate) fn dump(account: &Account) -> Value {
    json!({
        "tenant": account.tenant,
        "account_id": account.id,
        "api_version": API_VERSION,
        "customers": account.customers.iter().map(customer).collect::<Vec<_>>(),
        "invoiceitems": account.invoice_items.iter().map(invoice_item).collect::<Vec<_>>(),
        "invoices": account.invoices.iter().map(|i| invoice(account, i)).collect::<Vec<_>>(),
        "payment_intents": account.payment_intents.iter().map(payment_intent).collect::<Vec<_>>(),
        "charges": account.charges.iter().map(|c| charge(account, c)).collect::<Vec<_>>(),
        "refunds": account.refunds.iter().map(refund).collect::<Vec<_>>(),
    })
}
