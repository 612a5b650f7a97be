//! One simulated Stripe account in test mode: its customers, invoice items, invoices, payment
//! intents, charges and refunds, and the answers it keeps for idempotency keys.
//!
//! Amounts are integers in the currency's smallest unit and currencies are lowercase ISO codes,
//! as everywhere in Stripe's API. Ids carry Stripe's prefixes (`cus_`, `ii_`, `in_`, `il_`,
//! `pi_`, `ch_`, `re_`, `pm_`, `txn_`, `price_`, `prod_`) followed by random letters and digits.

use std::{collections::BTreeMap, collections::HashMap, time::Instant};

use rand::{distr::Alphanumeric, Rng};

#[derive(Debug)]
pub(crate) struct Account {
    pub tenant: String,
    pub id: String,
    /// The account's default currency, lowercase.
    pub currency: String,
    pub customers: Vec<Customer>,
    pub invoice_items: Vec<InvoiceItem>,
    pub invoices: Vec<Invoice>,
    pub payment_intents: Vec<PaymentIntent>,
    pub charges: Vec<Charge>,
    pub refunds: Vec<Refund>,
    pub idempotency: HashMap<String, Cached>,
}

/// The first answer to a request that carried an idempotency key.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub endpoint: String,
    pub params: String,
    pub status: u16,
    pub body: Vec<u8>,
    pub request_id: String,
    pub at: Instant,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Address {
    pub city: Option<String>,
    pub country: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postal_code: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub created: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub address: Option<Address>,
    pub metadata: BTreeMap<String, String>,
    pub invoice_prefix: String,
    pub next_invoice_sequence: u32,
    pub default_payment_method: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct InvoiceItem {
    pub id: String,
    /// The id of the invoice line that shows this item.
    pub line_id: String,
    pub created: i64,
    pub customer: String,
    pub invoice: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub description: Option<String>,
    pub quantity: i64,
    /// The unit amount in the smallest currency unit, up to 12 decimals, as Stripe writes it.
    pub unit_amount_decimal: String,
    pub price: String,
    pub product: String,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvoiceStatus {
    Draft,
    Open,
    Paid,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
        }
    }
}

/// The customer's details as an invoice shows them; fixed when it is finalized.
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomerDetails {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
}

#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub currency: String,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub collection_method: String,
    pub due_date: Option<i64>,
    pub auto_advance: bool,
    pub status: InvoiceStatus,
    pub number: Option<String>,
    /// Set at finalization; until then the customer's current details show.
    pub customer_details: Option<CustomerDetails>,
    pub finalized_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    pub amount_paid: i64,
    pub attempt_count: u32,
    pub paid_out_of_band: bool,
    pub default_payment_method: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct PaymentIntent {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub amount_received: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub invoice: Option<String>,
    pub description: Option<String>,
    /// `requires_payment_method`, `succeeded` or `canceled`.
    pub status: &'static str,
    pub payment_method: Option<String>,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<Decline>,
    pub canceled_at: Option<i64>,
}

/// A test card: which network, its last four digits, and how it answers.
#[derive(Debug, Clone)]
pub(crate) struct Card {
    pub brand: &'static str,
    pub last4: &'static str,
    pub decline: Option<Decline>,
}

/// Why a card was declined, in Stripe's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decline {
    pub code: &'static str,
    pub decline_code: Option<&'static str>,
    pub message: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub invoice: Option<String>,
    pub payment_intent: String,
    pub payment_method: String,
    pub card: Card,
    pub balance_transaction: Option<String>,
}

impl Charge {
    pub fn succeeded(&self) -> bool {
        self.card.decline.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub balance_transaction: String,
}

impl Account {
    pub fn new(tenant: &str, id: &str, base_currency: &str) -> Account {
        Account {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            currency: base_currency.to_ascii_lowercase(),
            customers: Vec::new(),
            invoice_items: Vec::new(),
            invoices: Vec::new(),
            payment_intents: Vec::new(),
            charges: Vec::new(),
            refunds: Vec::new(),
            idempotency: HashMap::new(),
        }
    }

    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }

    pub fn invoice(&self, id: &str) -> Option<&Invoice> {
        self.invoices.iter().find(|i| i.id == id)
    }

    pub fn invoice_mut(&mut self, id: &str) -> Option<&mut Invoice> {
        self.invoices.iter_mut().find(|i| i.id == id)
    }

    pub fn payment_intent(&self, id: &str) -> Option<&PaymentIntent> {
        self.payment_intents.iter().find(|p| p.id == id)
    }

    pub fn charge(&self, id: &str) -> Option<&Charge> {
        self.charges.iter().find(|c| c.id == id)
    }

    /// The items an invoice lists, in the order they were added.
    pub fn lines<'a>(&'a self, invoice: &'a str) -> impl Iterator<Item = &'a InvoiceItem> {
        self.invoice_items
            .iter()
            .filter(move |i| i.invoice.as_deref() == Some(invoice))
    }

    /// The sum of an invoice's lines; the sandbox applies no tax or discount, so this is also
    /// its total.
    pub fn subtotal(&self, invoice: &str) -> i64 {
        self.lines(invoice).map(|l| l.amount).sum()
    }
}

/// A fresh id: the prefix and 24 random letters and digits.
pub(crate) fn new_id(prefix: &str) -> String {
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}{suffix}")
}

/// A customer's default invoice prefix: eight random uppercase letters and digits.
pub(crate) fn invoice_prefix() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .filter(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        .take(8)
        .map(char::from)
        .collect()
}

/// The test card a payment method id names, or `None` when it is not one of Stripe's test
/// payment methods (docs.stripe.com/testing: `pm_card_visa`, `pm_card_mastercard`,
/// `pm_card_amex`, and the declining `pm_card_visa_chargeDeclined`,
/// `..._chargeDeclinedInsufficientFunds`, `pm_card_chargeDeclinedExpiredCard`,
/// `pm_card_chargeDeclinedIncorrectCvc`, `pm_card_chargeDeclinedProcessingError`).
pub(crate) fn test_card(payment_method: &str) -> Option<Card> {
    let name = payment_method.strip_prefix("pm_card_")?;
    let (brand, last4) = if name.starts_with("mastercard") {
        ("mastercard", "4444")
    } else if name.starts_with("amex") {
        ("amex", "8431")
    } else {
        ("visa", "4242")
    };
    let decline = if let Some((_, why)) = name.split_once("chargeDeclined") {
        let (brand_last4, decline) = match why {
            "InsufficientFunds" => (
                "9995",
                Decline {
                    code: "card_declined",
                    decline_code: Some("insufficient_funds"),
                    message: "Your card has insufficient funds.",
                },
            ),
            "ExpiredCard" => (
                "0069",
                Decline {
                    code: "expired_card",
                    decline_code: Some("expired_card"),
                    message: "Your card has expired.",
                },
            ),
            "IncorrectCvc" => (
                "0127",
                Decline {
                    code: "incorrect_cvc",
                    decline_code: Some("incorrect_cvc"),
                    message: "Your card's security code is incorrect.",
                },
            ),
            "ProcessingError" => (
                "0119",
                Decline {
                    code: "processing_error",
                    decline_code: Some("processing_error"),
                    message:
                        "An error occurred while processing your card. Try again in a little bit.",
                },
            ),
            _ => (
                "0002",
                Decline {
                    code: "card_declined",
                    decline_code: Some("generic_decline"),
                    message: "Your card was declined.",
                },
            ),
        };
        return Some(Card {
            brand,
            last4: brand_last4,
            decline: Some(decline),
        });
    } else {
        None
    };
    Some(Card {
        brand,
        last4,
        decline,
    })
}

/// Stripe's minor-unit exponent of a lowercase currency (docs.stripe.com/currencies).
pub(crate) fn exponent(currency: &str) -> u32 {
    const ZERO_DECIMAL: [&str; 16] = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];
    if ZERO_DECIMAL.contains(&currency) {
        0
    } else if THREE_DECIMAL.contains(&currency) {
        3
    } else {
        2
    }
}

/// An amount as Stripe's messages show it: `$25.00`, `€9.99`, `¥500`, else `12.340 KWD`.
pub(crate) fn display_amount(minor: i64, currency: &str) -> String {
    let value = rust_decimal::Decimal::new(minor, exponent(currency));
    match currency {
        "usd" => format!("${value}"),
        "eur" => format!("€{value}"),
        "gbp" => format!("£{value}"),
        "jpy" => format!("¥{value}"),
        other => format!("{value} {}", other.to_ascii_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_prefixes_look_like_stripes() {
        let id = new_id("cus_");
        assert_eq!(id.len(), 28);
        assert!(id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        let prefix = invoice_prefix();
        assert_eq!(prefix.len(), 8);
        assert!(prefix
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    }

    #[test]
    fn test_cards_decline_as_documented() {
        assert!(test_card("pm_card_visa").is_some_and(|c| c.decline.is_none()));
        let declined = test_card("pm_card_visa_chargeDeclinedInsufficientFunds").expect("card");
        assert_eq!(
            declined.decline.and_then(|d| d.decline_code),
            Some("insufficient_funds")
        );
        assert!(test_card("pm_1QfYx0LkdIwHu7ixCard0001").is_none());
    }

    #[test]
    fn amounts_display_in_the_currency_exponent() {
        assert_eq!(display_amount(2500, "usd"), "$25.00");
        assert_eq!(display_amount(500, "jpy"), "¥500");
        assert_eq!(display_amount(12340, "kwd"), "12.340 KWD");
    }
}
