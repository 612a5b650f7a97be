//! Maps Stripe objects (invoice, payment intent, charge, refund, customer) to canonical ones.

use chrono::{DateTime, Utc};
use ledgerhook_shared::{
    model::{
        Address, CanonicalObject, Customer, CustomerRef, Invoice, InvoiceLine, InvoiceStatus,
        Payment, PaymentStatus, Refund,
    },
    Currency, EventDraft, EventType,
};
use rust_decimal::Decimal;

use super::{
    currency, date, minor_decimal, money, objects::*, stripe_exponent, timestamp, NormalizeError,
};

/// The event being mapped, and when Stripe says it happened.
pub(super) struct Ctx<'a> {
    pub(super) event: &'a StripeEvent,
    pub(super) occurred_at: DateTime<Utc>,
}

impl Ctx<'_> {
    /// Reads `data.object` as the Stripe object the event type promises.
    fn object<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, NormalizeError> {
        serde_json::from_str::<T>(self.event.data.object.get()).map_err(|e| {
            NormalizeError::new(format!(
                "Stripe {} {}: data.object is not {what}: {e}",
                self.event.kind, self.event.id
            ))
        })
    }

    fn draft(
        &self,
        kind: EventType,
        subject: &str,
        key: String,
        data: CanonicalObject,
    ) -> EventDraft {
        EventDraft {
            kind,
            subject: subject.to_owned(),
            occurred_at: Some(self.occurred_at),
            idempotency_key: key,
            data: Some(data),
        }
    }

    pub(super) fn invoice(&self, kind: EventType) -> Result<Vec<EventDraft>, NormalizeError> {
        let inv: StripeInvoice = self.object("an invoice")?;
        let cur = currency(&inv.currency)?;
        let status = match (kind, inv.status.as_deref()) {
            (EventType::InvoiceDeleted, _) => InvoiceStatus::Deleted,
            (_, Some("draft")) => InvoiceStatus::Draft,
            (_, Some("open")) => InvoiceStatus::Open,
            (_, Some("paid")) => InvoiceStatus::Paid,
            (_, Some("void")) => InvoiceStatus::Void,
            (_, Some("uncollectible")) => InvoiceStatus::Uncollectible,
            (_, other) => {
                return Err(NormalizeError::new(format!(
                    "Stripe invoice {} has status {other:?}",
                    inv.id
                )))
            }
        };
        // Since API 2025-03-31 taxes are listed in total_taxes; older versions give one `tax`.
        let tax = match (&inv.total_taxes, inv.tax) {
            (Some(taxes), _) => {
                let sum = taxes
                    .iter()
                    .try_fold(0_i64, |sum, t| sum.checked_add(t.amount));
                let sum = sum.ok_or_else(|| NormalizeError::new("Stripe total_taxes overflow"))?;
                Some(money(sum, cur)?)
            }
            (None, Some(tax)) => Some(money(tax, cur)?),
            (None, None) => None,
        };
        let issued = inv
            .status_transitions
            .as_ref()
            .and_then(|s| s.finalized_at)
            .or(inv.created);
        let lines = inv.lines.as_ref().map_or(&[][..], |l| &l.data[..]);
        let invoice = Invoice {
            id: inv.id.clone(),
            number: inv.number.clone(),
            status,
            currency: cur,
            customer: CustomerRef {
                id: inv.customer.as_ref().map(|c| c.id().to_owned()),
                name: inv.customer_name.clone(),
                email: inv.customer_email.clone(),
            },
            lines: lines
                .iter()
                .map(|l| line(l, cur))
                .collect::<Result<_, _>>()?,
            subtotal: inv.subtotal.map(|v| money(v, cur)).transpose()?,
            tax,
            total: money(inv.total, cur)?,
            amount_paid: inv.amount_paid.map(|v| money(v, cur)).transpose()?,
            amount_due: inv.amount_due.map(|v| money(v, cur)).transpose()?,
            issue_date: issued.map(|t| date(t, "finalized_at")).transpose()?,
            due_date: inv.due_date.map(|t| date(t, "due_date")).transpose()?,
            updated_at: Some(self.occurred_at),
        };
        let key = self.event.id.clone();
        Ok(vec![self.draft(
            kind,
            &inv.id,
            key,
            CanonicalObject::Invoice(invoice),
        )])
    }

    pub(super) fn payment(&self, status: PaymentStatus) -> Result<Vec<EventDraft>, NormalizeError> {
        let pi: PaymentIntent = self.object("a payment intent")?;
        let cur = currency(&pi.currency)?;
        let (kind, amount, paid_at) = match status {
            PaymentStatus::Succeeded => (
                EventType::PaymentSucceeded,
                pi.amount_received.unwrap_or(pi.amount),
                Some(self.occurred_at),
            ),
            _ => (EventType::PaymentFailed, pi.amount, None),
        };
        let error = pi.last_payment_error.as_ref();
        let payment = Payment {
            id: pi.id.clone(),
            status,
            amount: money(amount, cur)?,
            invoice_id: pi.invoice.as_ref().map(|i| i.id().to_owned()),
            invoice_number: None,
            customer: CustomerRef {
                id: pi.customer.as_ref().map(|c| c.id().to_owned()),
                ..CustomerRef::default()
            },
            paid_at,
            method: pi.payment_method_types.first().cloned(),
            failure_reason: error.and_then(|e| e.message.clone().or_else(|| e.code.clone())),
        };
        Ok(vec![self.draft(
            kind,
            &pi.id,
            self.event.id.clone(),
            CanonicalObject::Payment(payment),
        )])
    }

    pub(super) fn refund(&self) -> Result<Vec<EventDraft>, NormalizeError> {
        let re: StripeRefund = self.object("a refund")?;
        let refund = refund(&re)?;
        Ok(vec![self.draft(
            EventType::PaymentRefunded,
            &re.id,
            self.event.id.clone(),
            CanonicalObject::Refund(refund),
        )])
    }

    /// One draft per refund the charge lists. The keys add the refund id, so two refunds in one
    /// webhook never share an idempotency key and still stay stable across Stripe's retries.
    pub(super) fn charge_refunds(&self) -> Result<Vec<EventDraft>, NormalizeError> {
        let charge: Charge = self.object("a charge")?;
        let listed = charge.refunds.as_ref().map_or(&[][..], |l| &l.data[..]);
        if listed.is_empty() {
            // Since API 2022-11-15 refunds are not embedded unless expanded: the charge's refunded
            // total is then the best Stripe tells, keyed by the event.
            let refund = Refund {
                id: charge.id.clone(),
                amount: money(charge.amount_refunded, currency(&charge.currency)?)?,
                payment_id: Some(
                    charge
                        .payment_intent
                        .as_ref()
                        .map_or(&charge.id[..], |p| p.id())
                        .to_owned(),
                ),
                invoice_id: None,
                invoice_number: None,
                reason: None,
                created_at: Some(self.occurred_at),
                cumulative: true,
            };
            let key = self.event.id.clone();
            return Ok(vec![self.draft(
                EventType::PaymentRefunded,
                &charge.id,
                key,
                CanonicalObject::Refund(refund),
            )]);
        }
        listed
            .iter()
            .map(|re| {
                let key = format!("{}/{}", self.event.id, re.id);
                Ok(self.draft(
                    EventType::PaymentRefunded,
                    &charge.id,
                    key,
                    CanonicalObject::Refund(refund(re)?),
                ))
            })
            .collect()
    }

    pub(super) fn customer(&self) -> Result<Vec<EventDraft>, NormalizeError> {
        let c: StripeCustomer = self.object("a customer")?;
        let address = c
            .address
            .filter(|a| a != &StripeAddress::default())
            .map(|a| Address {
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                region: a.state,
                postal_code: a.postal_code,
                country: a.country,
            });
        let customer = Customer {
            id: c.id.clone(),
            name: c.name,
            email: c.email,
            company: c.business_name,
            phone: c.phone,
            address,
            updated_at: Some(self.occurred_at),
        };
        Ok(vec![self.draft(
            EventType::CustomerUpserted,
            &c.id,
            self.event.id.clone(),
            CanonicalObject::Customer(customer),
        )])
    }
}

fn refund(re: &StripeRefund) -> Result<Refund, NormalizeError> {
    Ok(Refund {
        id: re.id.clone(),
        amount: money(re.amount, currency(&re.currency)?)?,
        payment_id: re
            .payment_intent
            .as_ref()
            .or(re.charge.as_ref())
            .map(|p| p.id().to_owned()),
        invoice_id: None,
        invoice_number: None,
        reason: re.reason.clone(),
        created_at: re.created.map(|t| timestamp(t, "created")).transpose()?,
        cumulative: false,
    })
}

fn line(l: &StripeLine, cur: Currency) -> Result<InvoiceLine, NormalizeError> {
    let quantity = match (&l.quantity_decimal, l.quantity) {
        (Some(q), _) => q
            .trim()
            .parse()
            .map_err(|_| NormalizeError::new(format!("line quantity `{q}` is not a decimal")))?,
        (None, Some(q)) => Decimal::from(q),
        (None, None) => Decimal::ONE,
    };
    let amount = money(l.amount, cur)?;
    // Stripe states the unit price exactly (up to 12 decimals of the minor unit) on the pricing
    // (API 2025-03-31 and later) or on the price; deriving it from the total is the last resort.
    let stated = l
        .pricing
        .as_ref()
        .and_then(|p| p.unit_amount_decimal.as_deref());
    let legacy = l
        .price
        .as_ref()
        .and_then(|p| p.unit_amount_decimal.as_deref());
    let unit_price = match stated.or(legacy) {
        Some(text) => minor_decimal(text, cur)?,
        None => amount
            .amount
            .checked_div(quantity)
            .map_or(Decimal::ZERO, |u| {
                u.round_dp(stripe_exponent(cur) + 12).normalize()
            }),
    };
    Ok(InvoiceLine {
        id: l.id.clone(),
        description: l.description.clone().unwrap_or_default(),
        quantity,
        unit_price,
        amount,
    })
}
