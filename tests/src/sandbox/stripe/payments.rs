//! Paying and refunding (docs.stripe.com/api/invoices/pay, /api/refunds, /api/payment_intents,
//! /api/charges): `POST /v1/invoices/{id}/pay`, `POST /v1/refunds`, `GET /v1/refunds/{id}`,
//! `GET /v1/payment_intents/{id}` and `GET /v1/charges/{id}`.
//!
//! Paying charges the invoice's payment intent with `payment_method`, else the invoice's
//! `default_payment_method`, else the customer's `invoice_settings.default_payment_method`; only
//! Stripe's test payment methods exist (`pm_card_visa` succeeds, `pm_card_visa_chargeDeclined`
//! and its kin decline with 402 `card_error`, leaving the invoice open). A draft is finalized
//! first. `paid_out_of_band=true` marks the invoice paid without a charge. A refund names a
//! `charge` or a `payment_intent`; its `amount` defaults to what is left unrefunded and may not
//! exceed it.

use chrono::Utc;
use serde_json::{json, Map};

use super::{
    form::Form,
    invoices::open,
    model::{display_amount, new_id, test_card, Account, Charge, InvoiceStatus, Refund},
    output,
    reply::{self, ApiError, Reply},
};
use crate::sandbox::webhooks::StripeEvent;

const NO_PAYMENT_METHOD: &str = "This customer has no attached payment source or default payment method. Please consider adding a default payment method. For more information, visit https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.";

fn event(kind: &'static str, object: serde_json::Value) -> StripeEvent {
    StripeEvent {
        kind,
        object,
        previous: None,
    }
}

pub(crate) fn pay(account: &mut Account, id: &str, form: &Form) -> Result<Reply, ApiError> {
    let out_of_band = form.bool("paid_out_of_band")?.unwrap_or(false);
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such("invoice", id))?;
    if invoice.status == InvoiceStatus::Paid {
        return Err(reply::refused("Invoice is already paid", None, None));
    }
    let chosen = form
        .str("payment_method")
        .map(|pm| (pm.to_owned(), "payment_method"))
        .or_else(|| {
            invoice
                .default_payment_method
                .clone()
                .map(|pm| (pm, "default_payment_method"))
        })
        .or_else(|| {
            account
                .customer(&invoice.customer)
                .and_then(|c| c.default_payment_method.clone())
                .map(|pm| (pm, "payment_method"))
        });
    let card = match (&chosen, out_of_band) {
        (_, true) => None,
        (Some((pm, param)), false) => {
            Some(test_card(pm).ok_or_else(|| reply::no_such_param("PaymentMethod", pm, param))?)
        }
        (None, false) => return Err(reply::refused(NO_PAYMENT_METHOD, None, None)),
    };
    let mut events = Vec::new();
    if invoice.status == InvoiceStatus::Draft {
        events = open(account, id, None);
    }
    let now = Utc::now().timestamp();
    let Some(invoice) = account.invoice(id).cloned() else {
        return Err(reply::no_such("invoice", id));
    };
    if invoice.status == InvoiceStatus::Paid {
        // Finalizing an invoice of zero paid it.
        let mut reply = Reply::ok(output::invoice(account, &invoice));
        reply.events = events;
        return Ok(reply);
    }
    let total = account.subtotal(id);
    let Some(card) = card else {
        if let Some(pi) = account
            .payment_intents
            .iter_mut()
            .find(|p| Some(&p.id) == invoice.payment_intent.as_ref())
        {
            pi.status = "canceled";
            pi.canceled_at = Some(now);
        }
        if let Some(inv) = account.invoice_mut(id) {
            inv.status = InvoiceStatus::Paid;
            inv.paid_out_of_band = true;
            inv.amount_paid = total;
            inv.paid_at = Some(now);
        }
        let body = paid_invoice(account, id)?;
        events.push(event("invoice.paid", body.clone()));
        let mut reply = Reply::ok(body);
        reply.events = events;
        return Ok(reply);
    };
    let pi_id = invoice.payment_intent.clone().unwrap_or_default();
    let charge = Charge {
        id: new_id("ch_"),
        created: now,
        amount: total,
        amount_refunded: 0,
        currency: invoice.currency.clone(),
        customer: Some(invoice.customer.clone()),
        invoice: Some(id.to_owned()),
        payment_intent: pi_id.clone(),
        payment_method: new_id("pm_"),
        balance_transaction: card.decline.is_none().then(|| new_id("txn_")),
        card,
    };
    let decline = charge.card.decline.clone();
    if let Some(pi) = account.payment_intents.iter_mut().find(|p| p.id == pi_id) {
        pi.payment_method = Some(charge.payment_method.clone());
        pi.latest_charge = Some(charge.id.clone());
        pi.last_payment_error = decline.clone();
        if decline.is_none() {
            pi.status = "succeeded";
            pi.amount_received = total;
        }
    }
    if let Some(inv) = account.invoice_mut(id) {
        inv.attempt_count += 1;
        if decline.is_none() {
            inv.status = InvoiceStatus::Paid;
            inv.amount_paid = total;
            inv.paid_at = Some(now);
            inv.charge = Some(charge.id.clone());
        }
    }
    let charge_body = output::charge(account, &charge);
    let charge_id = charge.id.clone();
    account.charges.push(charge);
    let pi_body = account
        .payment_intent(&pi_id)
        .map(output::payment_intent)
        .unwrap_or_default();
    let invoice_body = paid_invoice(account, id)?;
    match decline {
        None => {
            events.push(event("charge.succeeded", charge_body));
            events.push(event("payment_intent.succeeded", pi_body));
            events.push(event("invoice.paid", invoice_body.clone()));
            let mut reply = Reply::ok(invoice_body);
            reply.events = events;
            Ok(reply)
        }
        Some(d) => {
            events.push(event("charge.failed", charge_body));
            events.push(event("payment_intent.payment_failed", pi_body.clone()));
            events.push(event("invoice.payment_failed", invoice_body));
            let mut extra = Map::new();
            extra.insert("charge".into(), json!(charge_id));
            extra.insert("payment_intent".into(), pi_body);
            let mut reply: Reply =
                reply::card_error(d.code, d.decline_code, d.message, extra).into();
            reply.events = events;
            Ok(reply)
        }
    }
}

fn paid_invoice(account: &Account, id: &str) -> Result<serde_json::Value, ApiError> {
    let invoice = account
        .invoice(id)
        .ok_or_else(|| reply::no_such("invoice", id))?;
    Ok(output::invoice(account, invoice))
}

pub(crate) fn refund(account: &mut Account, form: &Form) -> Result<Reply, ApiError> {
    let charge_id = match (form.str("charge"), form.str("payment_intent")) {
        (None, None) => {
            return Err(reply::invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
                "charge",
                Some("parameter_missing"),
            ))
        }
        (Some(ch), pi) => {
            let charge = account
                .charge(ch)
                .ok_or_else(|| reply::no_such_param("charge", ch, "charge"))?;
            if pi.is_some_and(|pi| pi != charge.payment_intent) {
                return Err(reply::invalid(
                    &format!("The charge {ch} does not belong to the payment intent given."),
                    "payment_intent",
                    None,
                ));
            }
            charge.id.clone()
        }
        (None, Some(pi)) => {
            let intent = account
                .payment_intent(pi)
                .ok_or_else(|| reply::no_such_param("payment_intent", pi, "payment_intent"))?;
            match (&intent.latest_charge, intent.status) {
                (Some(ch), "succeeded") => ch.clone(),
                _ => {
                    return Err(reply::refused(
                        &format!("This PaymentIntent ({pi}) does not have a successful charge to refund."),
                        Some("payment_intent"),
                        None,
                    ))
                }
            }
        }
    };
    let amount = form.int("amount")?;
    let reason = form.str("reason");
    if let Some(r) =
        reason.filter(|r| !["duplicate", "fraudulent", "requested_by_customer"].contains(r))
    {
        return Err(reply::invalid(
            &format!("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer (got {r})"),
            "reason",
            None,
        ));
    }
    if amount.is_some_and(|a| a <= 0) {
        return Err(reply::invalid(
            "Invalid positive integer",
            "amount",
            Some("parameter_invalid_integer"),
        ));
    }
    let metadata = form.metadata()?;
    let Some(charge) = account.charge(&charge_id).cloned() else {
        return Err(reply::no_such_param("charge", &charge_id, "charge"));
    };
    if !charge.succeeded() {
        return Err(reply::refused(
            &format!("Charge {charge_id} has failed and has nothing to refund."),
            Some("charge"),
            None,
        ));
    }
    let left = charge.amount - charge.amount_refunded;
    if left == 0 {
        return Err(reply::refused(
            &format!("Charge {charge_id} has already been refunded."),
            None,
            Some("charge_already_refunded"),
        ));
    }
    let amount = amount.unwrap_or(left);
    if amount > left {
        return Err(reply::refused(
            &format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                display_amount(amount, &charge.currency),
                display_amount(left, &charge.currency)
            ),
            Some("amount"),
            Some("amount_too_large"),
        ));
    }
    let refund = Refund {
        id: new_id("re_"),
        created: Utc::now().timestamp(),
        amount,
        currency: charge.currency.clone(),
        charge: charge_id.clone(),
        payment_intent: charge.payment_intent.clone(),
        reason: reason.map(str::to_owned),
        metadata,
        balance_transaction: new_id("txn_"),
    };
    let previous = json!({
        "amount_refunded": charge.amount_refunded,
        "refunded": false,
    });
    if let Some(ch) = account.charges.iter_mut().find(|c| c.id == charge_id) {
        ch.amount_refunded += amount;
    }
    let refund_body = output::refund(&refund);
    account.refunds.push(refund);
    let charge_body = account
        .charge(&charge_id)
        .map(|c| output::charge(account, c))
        .unwrap_or_default();
    Ok(Reply::ok(refund_body.clone())
        .update("charge.refunded", charge_body, previous)
        .event("refund.created", refund_body))
}

pub(crate) fn get_refund(account: &Account, id: &str) -> Result<Reply, ApiError> {
    let refund = account
        .refunds
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| reply::no_such("refund", id))?;
    Ok(Reply::ok(output::refund(refund)))
}

pub(crate) fn get_payment_intent(account: &Account, id: &str) -> Result<Reply, ApiError> {
    let pi = account
        .payment_intent(id)
        .ok_or_else(|| reply::no_such("payment_intent", id))?;
    Ok(Reply::ok(output::payment_intent(pi)))
}

pub(crate) fn get_charge(account: &Account, id: &str) -> Result<Reply, ApiError> {
    let charge = account
        .charge(id)
        .ok_or_else(|| reply::no_such("charge", id))?;
    Ok(Reply::ok(output::charge(account, charge)))
}
