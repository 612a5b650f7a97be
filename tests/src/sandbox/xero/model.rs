//! One simulated Xero organisation: contacts, invoices, credit notes and payments, and how an
//! invoice's totals follow from its lines and payments.
//!
//! Amounts are `Decimal` throughout. Per the Invoices schema in XeroAPI/Xero-OpenAPI
//! `xero_accounting.yaml`: `LineAmount = Quantity × UnitAmount × (100 − DiscountRate)/100`;
//! `LineAmountTypes` is `Exclusive` (the default), `Inclusive` or `NoTax`; `Total = SubTotal +
//! TotalTax`; `AmountDue = Total − AmountPaid − AmountCredited`; a fully paid invoice becomes
//! `PAID` with `FullyPaidOnDate`. The sandbox has no tax rates: a line's `TaxAmount` is what the
//! request gave, else zero. Amounts round to cents half away from zero.

use std::{collections::HashMap, time::Instant};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::sandbox::money::round_dp;

#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub tenant: String,
    pub xero_tenant_id: String,
    pub base_currency: String,
    pub contacts: Vec<Contact>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub credit_notes: Vec<CreditNote>,
    /// Bank accounts by code, created the first time a payment names one.
    pub accounts: HashMap<String, String>,
    pub next_invoice_number: u64,
    pub next_credit_note_number: u64,
    pub idempotency: HashMap<String, Cached>,
}

/// The first answer to a request with an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub fingerprint: String,
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub id: String,
    pub contact_number: Option<String>,
    pub account_number: Option<String>,
    pub status: String,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub tax_number: Option<String>,
    pub addresses: Vec<Value>,
    pub phones: Vec<Value>,
    pub is_customer: bool,
    pub is_supplier: bool,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    pub id: String,
    pub kind: String,
    pub number: String,
    pub reference: String,
    pub contact_id: String,
    pub date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub status: String,
    pub line_amount_types: String,
    pub currency: String,
    pub lines: Vec<LineItem>,
    pub amount_paid: Decimal,
    pub fully_paid_on: Option<NaiveDate>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct LineItem {
    pub id: String,
    pub description: Option<String>,
    pub quantity: Decimal,
    pub unit_amount: Decimal,
    pub line_amount: Decimal,
    pub discount_rate: Option<Decimal>,
    pub account_code: Option<String>,
    pub item_code: Option<String>,
    pub tax_type: Option<String>,
    pub tax_amount: Decimal,
}

/// A credit note: a negative invoice. Refunded by payments against it (money paid back) or
/// allocated to invoices; `RemainingCredit = Total − refunded − allocated`, and a credit note
/// with nothing left is PAID.
#[derive(Debug, Clone)]
pub(crate) struct CreditNote {
    pub id: String,
    pub kind: String,
    pub number: String,
    pub reference: String,
    pub contact_id: String,
    pub date: NaiveDate,
    pub status: String,
    pub line_amount_types: String,
    pub currency: String,
    pub lines: Vec<LineItem>,
    /// Paid back by payments against the credit note.
    pub refunded: Decimal,
    pub fully_paid_on: Option<NaiveDate>,
    pub updated: DateTime<Utc>,
}

impl CreditNote {
    /// Sub total, tax and total, as an invoice with the same lines has them.
    pub fn totals(&self) -> (Decimal, Decimal, Decimal) {
        let lines: Decimal = self.lines.iter().map(|l| l.line_amount).sum();
        let tax: Decimal = match self.line_amount_types.as_str() {
            "NoTax" => Decimal::ZERO,
            _ => self.lines.iter().map(|l| l.tax_amount).sum(),
        };
        match self.line_amount_types.as_str() {
            "Inclusive" => (lines - tax, tax, lines),
            _ => (lines, tax, lines + tax),
        }
    }

    pub fn remaining_credit(&self) -> Decimal {
        match self.status.as_str() {
            "VOIDED" | "DELETED" => Decimal::ZERO,
            _ => self.totals().2 - self.refunded,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub id: String,
    pub invoice_id: String,
    /// Set instead of `invoice_id` for a refund: a payment against a credit note.
    pub credit_note_id: Option<String>,
    pub account_code: String,
    pub account_id: String,
    pub date: NaiveDate,
    pub amount: Decimal,
    pub reference: Option<String>,
    pub status: String,
    pub payment_type: &'static str,
    pub updated: DateTime<Utc>,
}

/// An invoice's computed amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub sub_total: Decimal,
    pub total_tax: Decimal,
    pub total: Decimal,
    pub amount_due: Decimal,
}

impl Org {
    pub fn new(tenant: &str, xero_tenant_id: &str, base_currency: &str) -> Org {
        Org {
            tenant: tenant.to_owned(),
            xero_tenant_id: xero_tenant_id.to_owned(),
            base_currency: base_currency.to_owned(),
            contacts: Vec::new(),
            invoices: Vec::new(),
            payments: Vec::new(),
            credit_notes: Vec::new(),
            accounts: HashMap::new(),
            next_invoice_number: 1,
            next_credit_note_number: 1,
            idempotency: HashMap::new(),
        }
    }

    pub fn contact(&self, id: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }

    pub fn invoice(&self, id: &str) -> Option<&Invoice> {
        self.invoices.iter().find(|i| i.id.eq_ignore_ascii_case(id))
    }

    pub fn invoice_mut(&mut self, id: &str) -> Option<&mut Invoice> {
        self.invoices
            .iter_mut()
            .find(|i| i.id.eq_ignore_ascii_case(id))
    }

    /// The next free number in Xero's default `INV-0001` sequence.
    pub fn next_number(&mut self) -> String {
        loop {
            let n = format!("INV-{:04}", self.next_invoice_number);
            self.next_invoice_number += 1;
            if !self.invoices.iter().any(|i| i.number == n) {
                return n;
            }
        }
    }

    pub fn credit_note(&self, id: &str) -> Option<&CreditNote> {
        self.credit_notes
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(id))
    }

    pub fn credit_note_mut(&mut self, id: &str) -> Option<&mut CreditNote> {
        self.credit_notes
            .iter_mut()
            .find(|c| c.id.eq_ignore_ascii_case(id))
    }

    /// The next free number in Xero's default `CN-0001` sequence.
    pub fn next_credit_note_number(&mut self) -> String {
        loop {
            let n = format!("CN-{:04}", self.next_credit_note_number);
            self.next_credit_note_number += 1;
            if !self.credit_notes.iter().any(|c| c.number == n) {
                return n;
            }
        }
    }

    pub fn account_id(&mut self, code: &str) -> String {
        self.accounts
            .entry(code.to_owned())
            .or_insert_with(new_id)
            .clone()
    }
}

impl Invoice {
    pub fn totals(&self) -> Totals {
        let lines: Decimal = self.lines.iter().map(|l| l.line_amount).sum();
        let tax: Decimal = match self.line_amount_types.as_str() {
            "NoTax" => Decimal::ZERO,
            _ => self.lines.iter().map(|l| l.tax_amount).sum(),
        };
        let (sub_total, total) = match self.line_amount_types.as_str() {
            "Inclusive" => (lines - tax, lines),
            _ => (lines, lines + tax),
        };
        // Xero's own example of a VOIDED invoice shows AmountDue 0.00 beside its Total.
        let amount_due = match self.status.as_str() {
            "VOIDED" | "DELETED" => Decimal::ZERO,
            _ => total - self.amount_paid,
        };
        Totals {
            sub_total,
            total_tax: tax,
            total,
            amount_due,
        }
    }
}

impl LineItem {
    /// Fills in what Xero derives: a missing quantity is 1, a missing unit amount comes from the
    /// line amount, and the line amount is always recomputed from quantity, unit amount and
    /// discount (a mismatching `LineAmount` in the request is replaced, not refused).
    pub fn compute(
        quantity: Option<Decimal>,
        unit_amount: Option<Decimal>,
        line_amount: Option<Decimal>,
        discount_rate: Option<Decimal>,
        unit_dp: u32,
    ) -> (Decimal, Decimal, Decimal) {
        let quantity = quantity.unwrap_or(Decimal::ONE);
        let unit = match (unit_amount, line_amount) {
            (Some(u), _) => u,
            (None, Some(l)) if !quantity.is_zero() => l / quantity,
            _ => Decimal::ZERO,
        };
        let unit = round_dp(unit, unit_dp);
        let gross = quantity * unit;
        let line = match discount_rate {
            Some(rate) => gross * (Decimal::ONE_HUNDRED - rate) / Decimal::ONE_HUNDRED,
            None => gross,
        };
        (quantity, unit, round_dp(line, 2))
    }
}

/// A new Xero-style identifier (a GUID).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn lines_and_totals_are_exact() {
        let (q, u, l) = LineItem::compute(Some(d("3")), Some(d("0.1")), None, None, 2);
        assert_eq!((q, u, l), (d("3"), d("0.1"), d("0.3")));
        let (_, u, l) = LineItem::compute(Some(d("4")), None, Some(d("10")), None, 2);
        assert_eq!((u, l), (d("2.50"), d("10.00")));
        let (_, _, l) = LineItem::compute(Some(d("1")), Some(d("19.99")), None, Some(d("15")), 2);
        assert_eq!(l, d("16.99"));
    }
}
