//! One simulated QuickBooks Online company (realm): customers, invoices and payments, and how
//! balances follow from them.
//!
//! From Intuit's Invoice and Payment references (developer.intuit.com, api/accounting/
//! all-entities): `TotalAmt` is calculated by QuickBooks from the lines (the sandbox has no
//! tax, so it is the sum of the sales lines); `Balance` starts at `TotalAmt` and "reflect[s] any
//! payments made against the transaction", 0 meaning fully paid; a payment's lines link it to
//! invoices, and what its lines do not apply is its `UnappliedAmt`; a voided transaction
//! "remains active but all amounts and quantities are zeroed"; every write increments
//! `SyncToken`. Balances are derived, never stored, so they cannot drift from the payments.
//! Ids are numeric strings counted per entity, as QuickBooks shows them.

use std::{collections::HashMap, time::Instant};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

/// Version and times every entity carries.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub sync_token: u64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Meta {
    pub fn new() -> Meta {
        let now = Utc::now();
        Meta {
            sync_token: 0,
            created: now,
            updated: now,
        }
    }

    /// Records a write: a new version and modification time.
    pub fn touch(&mut self) {
        self.sync_token += 1;
        self.updated = Utc::now();
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub meta: Meta,
    pub display_name: String,
    pub title: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub family_name: Option<String>,
    pub suffix: Option<String>,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub bill_addr: Option<Value>,
    pub notes: Option<String>,
    pub active: bool,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemRef {
    pub value: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub id: String,
    pub description: Option<String>,
    pub amount: Decimal,
    /// `None` for a description-only line.
    pub sales: Option<SalesDetail>,
}

#[derive(Debug, Clone)]
pub(crate) struct SalesDetail {
    pub qty: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub item: ItemRef,
}

#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    pub id: String,
    pub meta: Meta,
    pub doc_number: String,
    pub customer_id: String,
    pub currency: String,
    pub txn_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub lines: Vec<Line>,
    pub private_note: Option<String>,
    pub customer_memo: Option<String>,
    pub bill_email: Option<String>,
    pub voided: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct PaymentLine {
    pub amount: Decimal,
    pub invoice_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub id: String,
    pub meta: Meta,
    pub customer_id: String,
    pub currency: String,
    pub txn_date: NaiveDate,
    pub total: Decimal,
    pub lines: Vec<PaymentLine>,
    pub reference: Option<String>,
    pub private_note: Option<String>,
}

/// Money paid back to a customer, from `deposit_account` ("Refund from"). QuickBooks links a
/// refund receipt to no invoice, and it changes no invoice's balance.
#[derive(Debug, Clone)]
pub(crate) struct RefundReceipt {
    pub id: String,
    pub meta: Meta,
    pub doc_number: String,
    pub customer_id: String,
    pub currency: String,
    pub txn_date: NaiveDate,
    pub deposit_account: String,
    pub lines: Vec<Line>,
    pub reference: Option<String>,
    pub private_note: Option<String>,
}

impl RefundReceipt {
    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }
}

/// The first answer to a request with a `requestid`.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub status: u16,
    pub body: Vec<u8>,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Company {
    pub tenant: String,
    pub realm_id: String,
    pub home_currency: String,
    pub customers: Vec<Customer>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub refund_receipts: Vec<RefundReceipt>,
    counters: HashMap<&'static str, u64>,
    pub requests: HashMap<String, Cached>,
}

impl Company {
    pub fn new(tenant: &str, realm_id: &str, home_currency: &str) -> Company {
        Company {
            tenant: tenant.to_owned(),
            realm_id: realm_id.to_owned(),
            home_currency: home_currency.to_owned(),
            customers: Vec::new(),
            invoices: Vec::new(),
            payments: Vec::new(),
            refund_receipts: Vec::new(),
            counters: HashMap::new(),
            requests: HashMap::new(),
        }
    }

    /// The next id of an entity kind: customers from 1, invoices from 130 and payments from
    /// 125, as in Intuit's samples, so ids of different kinds rarely coincide in tests.
    pub fn next_id(&mut self, kind: &'static str) -> String {
        let start = match kind {
            "invoice" => 130,
            "payment" => 125,
            "refundreceipt" => 160,
            "docnumber" => 1001,
            _ => 1,
        };
        let next = self.counters.entry(kind).or_insert(start);
        let id = *next;
        *next += 1;
        id.to_string()
    }

    /// The next automatic `DocNumber` not in use (QuickBooks' default numbering).
    pub fn next_doc_number(&mut self) -> String {
        loop {
            let n = self.next_id("docnumber");
            if !self.invoices.iter().any(|i| i.doc_number == n) {
                return n;
            }
        }
    }

    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }

    pub fn invoice(&self, id: &str) -> Option<&Invoice> {
        self.invoices.iter().find(|i| i.id == id)
    }

    pub fn payment(&self, id: &str) -> Option<&Payment> {
        self.payments.iter().find(|p| p.id == id)
    }

    /// What payments apply to an invoice, optionally leaving one payment out (the one being
    /// rewritten).
    pub fn applied(&self, invoice_id: &str, except_payment: Option<&str>) -> Decimal {
        self.payments
            .iter()
            .filter(|p| Some(p.id.as_str()) != except_payment)
            .flat_map(|p| p.lines.iter())
            .filter(|l| l.invoice_id == invoice_id)
            .map(|l| l.amount)
            .sum()
    }

    pub fn balance(&self, invoice: &Invoice) -> Decimal {
        invoice.total() - self.applied(&invoice.id, None)
    }

    /// A customer's open balance: what its invoices still owe, less its unapplied payments.
    pub fn customer_balance(&self, customer_id: &str) -> Decimal {
        let owed: Decimal = self
            .invoices
            .iter()
            .filter(|i| i.customer_id == customer_id)
            .map(|i| self.balance(i))
            .sum();
        let credit: Decimal = self
            .payments
            .iter()
            .filter(|p| p.customer_id == customer_id)
            .map(Payment::unapplied)
            .sum();
        owed - credit
    }

    /// Whether a display name is taken by another customer (QuickBooks compares names without
    /// regard to case, as its duplicate-name check does for "ABC" and "abc").
    pub fn name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.customers
            .iter()
            .any(|c| Some(c.id.as_str()) != except && c.display_name.eq_ignore_ascii_case(name))
    }
}

impl Invoice {
    /// `TotalAmt`: the sum of the lines (zero once voided, as the lines are zeroed).
    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }
}

impl Payment {
    pub fn applied(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }

    pub fn unapplied(&self) -> Decimal {
        self.total - self.applied()
    }
}
