//! Mapping between ledgerhook's canonical objects and QuickBooks Online's: invoice status from
//! balance and void marks, lines, amounts at QuickBooks' two decimals, customers and payments.

use chrono::{DateTime, NaiveDate, Utc};
use ledgerhook_shared::{
    model::{
        Address, Customer, CustomerRef, Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentStatus,
    },
    money::Currency,
    Money,
};
use rust_decimal::{Decimal, RoundingStrategy};

use super::wire::{
    AddressOut, CustomerOut, EmailOut, InvoiceOut, LineOut, Num, PhoneOut, QCustomer, QInvoice,
    QPayment, Ref, SalesItemOut,
};
use crate::connectors::{ApplyError, RemoteCustomer, RemoteInvoice};

/// QuickBooks stores line amounts, subtotals and totals to two decimals (amounts in any
/// currency), quantities and unit prices to seven.
const AMOUNT_DP: u32 = 2;
const UNIT_DP: u32 = 7;
/// DocNumber is at most 21 characters (error 2050 "Min:0 Max:21 supported" otherwise).
pub(super) const MAX_DOC_NUMBER: usize = 21;
/// PaymentRefNum has the same 21-character limit.
pub(super) const MAX_PAYMENT_REF: usize = 21;
/// DisplayName is at most 500 characters.
const MAX_DISPLAY_NAME: usize = 500;

fn money(amount: Decimal, currency: Currency) -> Result<Money, ApplyError> {
    // QuickBooks' two decimals never exceed a currency's exponent except for zero-decimal
    // currencies, where a fraction would be a QuickBooks rounding artefact; round it as
    // QuickBooks rounds, half away from zero.
    let rounded =
        amount.round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero);
    Money::new(rounded, currency)
        .map_err(|e| ApplyError::permanent(format!("QuickBooks amount: {e}")))
}

/// An amount as QuickBooks stores it. A three-decimal amount (KWD 12.345) cannot be held
/// exactly, and rounding money silently is worse than a dead letter that says why.
pub(super) fn amount_out(money: &Money) -> Result<Num, ApplyError> {
    let normalized = money.amount.normalize();
    if normalized.scale() > AMOUNT_DP {
        return Err(ApplyError::permanent(format!(
            "QuickBooks Online keeps amounts to {AMOUNT_DP} decimals; {money} cannot be stored exactly"
        )));
    }
    let mut amount = money.amount;
    if amount.scale() > AMOUNT_DP {
        amount.rescale(AMOUNT_DP);
    }
    Ok(Num(amount))
}

pub(super) fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_date(text: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text?, "%Y-%m-%d").ok()
}

/// `MetaData.LastUpdatedTime` is ISO 8601 with the company's offset: `2016-03-29T14:15:04-07:00`.
fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// QuickBooks has no status field on invoices. A void keeps the invoice but zeroes every
/// amount and writes "Voided" into PrivateNote (prepended to any note already there), as
/// Intuit's "Voiding Invoice Objects" post shows; paid means nothing is left to pay on a
/// non-zero invoice; everything else is open (QuickBooks has no drafts).
fn status_of(q: &QInvoice, total: Decimal, balance: Option<Decimal>) -> InvoiceStatus {
    let voided = q
        .private_note
        .as_deref()
        .is_some_and(|n| n.trim_start().starts_with("Voided"));
    if voided && total.is_zero() {
        InvoiceStatus::Void
    } else if balance.is_some_and(|b| b.is_zero()) && total > Decimal::ZERO {
        InvoiceStatus::Paid
    } else {
        InvoiceStatus::Open
    }
}

/// `home` is the company's currency, for responses without a CurrencyRef (QuickBooks only
/// requires it when multicurrency is on).
pub(super) fn to_invoice(q: QInvoice, home: Currency) -> Result<RemoteInvoice, ApplyError> {
    let currency = match q.currency_ref.as_ref().map(|r| r.value.as_str()) {
        Some(code) if !code.is_empty() => Currency::parse(code)
            .map_err(|e| ApplyError::permanent(format!("QuickBooks invoice {}: {e}", q.id)))?,
        _ => home,
    };
    let mut lines = Vec::new();
    let mut subtotal = None;
    for l in &q.line {
        match l.detail_type.as_deref() {
            Some("SalesItemLineDetail") => {
                let detail = l.sales_item_line_detail.as_ref();
                let amount = l.amount.map_or(Decimal::ZERO, |n| n.0);
                let quantity = detail.and_then(|d| d.qty).map_or(Decimal::ONE, |n| n.0);
                let unit_price = detail.and_then(|d| d.unit_price).map_or(amount, |n| n.0);
                lines.push(InvoiceLine {
                    id: l.id.clone(),
                    description: l.description.clone().unwrap_or_default(),
                    quantity,
                    unit_price,
                    amount: money(amount, currency)?,
                });
            }
            Some("SubTotalLineDetail") => {
                subtotal = l.amount.map(|n| money(n.0, currency)).transpose()?;
            }
            // Discount, group and description-only lines have no canonical counterpart; the
            // totals below still include their effect.
            _ => {}
        }
    }
    let total = q.total_amt.map_or(Decimal::ZERO, |n| n.0);
    let balance = q.balance.map(|n| n.0);
    let status = status_of(&q, total, balance);
    let customer = q.customer_ref.clone().unwrap_or_default();
    let customer_id = Some(customer.value).filter(|v| !v.is_empty());
    let invoice = Invoice {
        id: q.id,
        number: q.doc_number.filter(|n| !n.is_empty()),
        status,
        currency,
        customer: CustomerRef {
            id: customer_id.clone(),
            name: customer.name,
            email: q.bill_email.and_then(|e| e.address),
        },
        lines,
        subtotal,
        tax: q
            .txn_tax_detail
            .and_then(|t| t.total_tax)
            .map(|n| money(n.0, currency))
            .transpose()?,
        total: money(total, currency)?,
        amount_paid: balance.map(|b| money(total - b, currency)).transpose()?,
        amount_due: balance.map(|b| money(b, currency)).transpose()?,
        issue_date: parse_date(q.txn_date.as_deref()),
        due_date: parse_date(q.due_date.as_deref()),
        updated_at: parse_time(q.meta_data.and_then(|m| m.last_updated_time).as_deref()),
    };
    Ok(RemoteInvoice {
        invoice,
        customer_id,
    })
}

/// The body of a create (`existing` `None`) or a sparse update (`Some((id, sync_token))`).
/// Lines are always sent whole: in a sparse update `Line` replaces every line.
pub(super) fn invoice_out<'a>(
    invoice: &'a Invoice,
    existing: Option<(&'a str, &'a str)>,
    customer_id: &'a str,
    item_id: &'a str,
) -> Result<InvoiceOut<'a>, ApplyError> {
    if let Some(number) = invoice.number.as_deref() {
        if number.chars().count() > MAX_DOC_NUMBER {
            return Err(ApplyError::permanent(format!(
                "invoice number `{number}` is longer than QuickBooks' {MAX_DOC_NUMBER}-character DocNumber"
            )));
        }
    }
    let mut lines = invoice
        .lines
        .iter()
        .map(|line| line_out(line, item_id))
        .collect::<Result<Vec<_>, _>>()?;
    if lines.is_empty() {
        // QuickBooks refuses an invoice without a line ("you must fill out at least one split
        // line"); a CRM invoice known only by its total becomes one line of that total.
        let total = amount_out(&invoice.total)?;
        lines.push(LineOut {
            detail_type: "SalesItemLineDetail",
            amount: total,
            description: invoice.number.as_deref(),
            sales_item_line_detail: SalesItemOut {
                qty: Num(Decimal::ONE),
                unit_price: total,
                item_ref: Ref { value: item_id },
            },
        });
    }
    let create = existing.is_none();
    Ok(InvoiceOut {
        id: existing.map(|(id, _)| id),
        sync_token: existing.map(|(_, token)| token),
        sparse: existing.map(|_| true),
        doc_number: invoice.number.as_deref(),
        customer_ref: Some(Ref { value: customer_id }),
        // The currency is fixed at creation (it follows the customer's); an update leaves it.
        currency_ref: create.then(|| Ref {
            value: invoice.currency.code(),
        }),
        txn_date: invoice.issue_date.map(format_date),
        due_date: invoice.due_date.map(format_date),
        line: Some(lines),
    })
}

fn line_out<'a>(line: &'a InvoiceLine, item_id: &'a str) -> Result<LineOut<'a>, ApplyError> {
    let amount = amount_out(&line.amount)?;
    let round =
        |d: Decimal, dp: u32| d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let quantity = round(line.quantity, UNIT_DP);
    let unit = round(line.unit_price, UNIT_DP);
    // QuickBooks validates Amount = Qty × UnitPrice. When the canonical line does not satisfy
    // that at two decimals (a discount, more precision than QuickBooks keeps), one unit at the
    // line total keeps the amount, which is what has to agree across systems.
    let (quantity, unit) = if round(quantity * unit, AMOUNT_DP) == amount.0 {
        (quantity.normalize(), unit.normalize())
    } else {
        (Decimal::ONE, amount.0)
    };
    Ok(LineOut {
        detail_type: "SalesItemLineDetail",
        amount,
        description: Some(line.description.as_str()).filter(|d| !d.is_empty()),
        sales_item_line_detail: SalesItemOut {
            qty: Num(quantity),
            unit_price: Num(unit),
            item_ref: Ref { value: item_id },
        },
    })
}

/// The DisplayName ledgerhook looks customers up by and creates them with: the name, else the
/// company, else the email. QuickBooks refuses a colon in it (it separates sub-customers in
/// FullyQualifiedName), so one becomes a dash, here and in lookups alike.
pub(super) fn display_name(name: &str) -> String {
    name.trim()
        .replace(':', "-")
        .chars()
        .take(MAX_DISPLAY_NAME)
        .collect()
}

pub(super) fn customer_out(customer: &Customer) -> Result<CustomerOut<'_>, ApplyError> {
    let name = [&customer.name, &customer.company, &customer.email]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .ok_or_else(|| ApplyError::permanent("customer has no name, company or email"))?;
    Ok(CustomerOut {
        display_name: display_name(name),
        primary_email_addr: customer
            .email
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(|address| EmailOut { address }),
        company_name: customer.company.as_deref(),
        primary_phone: customer
            .phone
            .as_deref()
            .map(|free_form_number| PhoneOut { free_form_number }),
        bill_addr: customer.address.as_ref().map(|a| AddressOut {
            line1: a.line1.as_deref(),
            line2: a.line2.as_deref(),
            city: a.city.as_deref(),
            country_sub_division_code: a.region.as_deref(),
            postal_code: a.postal_code.as_deref(),
            country: a.country.as_deref(),
        }),
    })
}

pub(super) fn to_remote_customer(q: &QCustomer) -> RemoteCustomer {
    RemoteCustomer {
        id: q.id.clone(),
        name: q.display_name.clone(),
        email: q
            .primary_email_addr
            .as_ref()
            .and_then(|e| e.address.clone()),
    }
}

pub(super) fn to_customer(q: QCustomer) -> Customer {
    let address = q.bill_addr.map(|a| Address {
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        region: a.country_sub_division_code,
        postal_code: a.postal_code,
        country: a.country,
    });
    Customer {
        id: q.id,
        name: q.display_name,
        email: q
            .primary_email_addr
            .and_then(|e| e.address)
            .filter(|e| !e.is_empty()),
        company: q.company_name.filter(|c| !c.is_empty()),
        phone: q.primary_phone.and_then(|p| p.free_form_number),
        address,
        updated_at: parse_time(q.meta_data.and_then(|m| m.last_updated_time).as_deref()),
    }
}

/// The id of the first invoice a payment is applied to.
pub(super) fn paid_invoice_id(q: &QPayment) -> Option<&str> {
    q.line
        .iter()
        .flat_map(|l| &l.linked_txn)
        .find(|t| t.txn_type.as_deref() == Some("Invoice"))
        .map(|t| t.txn_id.as_str())
}

pub(super) fn to_payment(
    q: QPayment,
    home: Currency,
    invoice_number: Option<String>,
) -> Result<Payment, ApplyError> {
    let currency = match q.currency_ref.as_ref().map(|r| r.value.as_str()) {
        Some(code) if !code.is_empty() => Currency::parse(code)
            .map_err(|e| ApplyError::permanent(format!("QuickBooks payment {}: {e}", q.id)))?,
        _ => home,
    };
    let invoice_id = paid_invoice_id(&q).map(str::to_owned);
    let customer = q.customer_ref.unwrap_or_default();
    Ok(Payment {
        id: q.id,
        status: PaymentStatus::Succeeded,
        amount: money(q.total_amt.map_or(Decimal::ZERO, |n| n.0), currency)?,
        invoice_id,
        invoice_number,
        customer: CustomerRef {
            id: Some(customer.value).filter(|v| !v.is_empty()),
            name: customer.name,
            email: None,
        },
        paid_at: parse_date(q.txn_date.as_deref())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        method: None,
        failure_reason: None,
    })
}

/// Cuts `text` to at most `max` characters, on a character boundary.
pub(super) fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_known_only_by_its_total_becomes_one_line() {
        let invoice = Invoice {
            id: "a01".into(),
            number: Some("SF-9".into()),
            status: InvoiceStatus::Open,
            currency: Currency::USD,
            customer: CustomerRef::default(),
            lines: Vec::new(),
            subtotal: None,
            tax: None,
            total: Money::from_minor(99_950, Currency::USD),
            amount_paid: None,
            amount_due: None,
            issue_date: None,
            due_date: None,
            updated_at: None,
        };
        let body = invoice_out(&invoice, None, "58", "1").expect("body");
        let text = serde_json::to_string(&body).expect("json");
        assert!(text.contains(r#""Line":[{"DetailType":"SalesItemLineDetail","Amount":999.50,"Description":"SF-9","SalesItemLineDetail":{"Qty":1,"UnitPrice":999.50"#), "{text}");
        assert_eq!(display_name(" Parent: Child "), "Parent- Child");
    }
}
