//! `/invoice`: create, read `invoice/{id}`, update (sparse or full, with the current
//! `SyncToken`), `?operation=void` and `?operation=delete`.
//!
//! From Intuit's Invoice reference: an invoice needs `CustomerRef` and at least one line;
//! `DocNumber` (at most 21 characters) is assigned when not supplied; `TotalAmt` and `Balance`
//! are calculated; a sparse update changes only what it names (a `Line` array replaces the
//! lines: lines keeping an existing `Id` keep it), a full update also clears the optional
//! fields it leaves out; void keeps the invoice but zeroes "all amounts and quantities" and
//! prepends "Voided" to `PrivateNote`; delete needs `Id` and `SyncToken` and answers `{"status":
//! "Deleted", "domain": "QBO", "Id"}`, and "You must unlink any linked transactions" first.
//! A sales line's `Amount` must equal `Qty` × `UnitPrice` when all three are given (6070);
//! the line amount is computed when only quantity and price are, and the price when only
//! quantity and amount are. Amounts round to cents half away from zero. The transaction's
//! currency must be its customer's, as QuickBooks requires with multicurrency on. Voiding an
//! invoice that payments were applied to unapplies them (the payments keep their amounts as
//! credit), which is the sandbox's reading of what QuickBooks does, not a documented rule.

use chrono::{Days, Utc};
use ledgerhook_shared::Currency;
use rust_decimal::Decimal;

use super::{
    model::{Company, Invoice, ItemRef, Line, Meta, SalesDetail},
    output::{Deleted, InvoiceOut},
    reply::{self, Reply},
    wire::{self, InvoiceIn, LineIn},
};
use crate::sandbox::{money::round_dp, webhooks::QuickbooksEvent};

pub(crate) fn read(company: &Company, id: &str) -> Reply {
    match company.invoice(id) {
        Some(i) => reply::entity("Invoice", &InvoiceOut::new(company, i)),
        None => reply::not_found(),
    }
}

fn parse(body: &[u8]) -> Result<InvoiceIn, Reply> {
    wire::parse(body).map_err(|e| reply::invalid_property(&e))
}

pub(crate) fn write(company: &mut Company, body: &[u8]) -> Reply {
    let input = match parse(body) {
        Ok(input) => input,
        Err(refused) => return refused,
    };
    match input.id.clone() {
        Some(id) => update(company, &id, input),
        None => create(company, input),
    }
}

/// The invoice an update, void or delete names, at the version it names.
fn current(company: &Company, input: &InvoiceIn) -> Result<Invoice, Reply> {
    let id = input.id.as_deref().ok_or_else(|| reply::required("Id"))?;
    let invoice = company.invoice(id).cloned().ok_or_else(reply::not_found)?;
    let token = input
        .sync_token
        .as_deref()
        .ok_or_else(|| reply::required("SyncToken"))?;
    if token.trim() != invoice.meta.sync_token.to_string() {
        return Err(reply::stale());
    }
    Ok(invoice)
}

fn create(company: &mut Company, input: InvoiceIn) -> Reply {
    let today = Utc::now().date_naive();
    let mut invoice = Invoice {
        id: String::new(),
        meta: Meta::new(),
        doc_number: String::new(),
        customer_id: String::new(),
        currency: String::new(),
        txn_date: today,
        due_date: None,
        lines: Vec::new(),
        private_note: None,
        customer_memo: None,
        bill_email: None,
        voided: false,
    };
    if input
        .customer_ref
        .as_ref()
        .and_then(|r| r.value.as_ref())
        .is_none()
    {
        return reply::required("CustomerRef");
    }
    if input.line.as_ref().is_none_or(Vec::is_empty) {
        return reply::required("Line");
    }
    if let Err(refused) = apply(company, &mut invoice, input, false) {
        return refused;
    }
    if invoice.doc_number.is_empty() {
        invoice.doc_number = company.next_doc_number();
    }
    if invoice.due_date.is_none() {
        invoice.due_date = invoice.txn_date.checked_add_days(Days::new(30));
    }
    invoice.id = company.next_id("invoice");
    let out = InvoiceOut::new(company, &invoice);
    let event = QuickbooksEvent::new("invoice", &invoice.id, "created");
    company.invoices.push(invoice);
    reply::entity("Invoice", &out).with_events(vec![event])
}

fn update(company: &mut Company, id: &str, input: InvoiceIn) -> Reply {
    let mut invoice = match current(company, &input) {
        Ok(invoice) => invoice,
        Err(refused) => return refused,
    };
    if invoice.voided {
        return reply::business("A voided transaction cannot be changed.");
    }
    let sparse = input.sparse;
    if !sparse && input.customer_ref.is_none() {
        return reply::required("CustomerRef");
    }
    if !sparse && input.line.is_none() {
        return reply::required("Line");
    }
    if let Err(refused) = apply(company, &mut invoice, input, !sparse) {
        return refused;
    }
    if invoice.total() < company.applied(id, None) {
        return reply::business("The payments applied to this invoice exceed its new total.");
    }
    invoice.meta.touch();
    let out = InvoiceOut::new(company, &invoice);
    if let Some(slot) = company.invoices.iter_mut().find(|i| i.id == id) {
        *slot = invoice;
    }
    let event = QuickbooksEvent::new("invoice", id, "updated");
    reply::entity("Invoice", &out).with_events(vec![event])
}

/// Applies the writable fields of a create or update, checking each against the company.
/// `clear` (a full update) empties the optional fields the request leaves out.
fn apply(
    company: &Company,
    invoice: &mut Invoice,
    input: InvoiceIn,
    clear: bool,
) -> Result<(), Reply> {
    if let Some(customer_id) = input.customer_ref.and_then(|r| r.value) {
        let customer = company
            .customer(&customer_id)
            .filter(|c| c.active)
            .ok_or_else(|| reply::invalid_reference("CustomerRef"))?;
        if customer_id != invoice.customer_id && company.applied(&invoice.id, None) > Decimal::ZERO
        {
            return Err(reply::business(
                "The customer of an invoice with payments cannot be changed.",
            ));
        }
        invoice.customer_id = customer_id;
        if invoice.currency.is_empty() {
            invoice.currency = customer.currency.clone();
        }
    }
    let customer_currency = company
        .customer(&invoice.customer_id)
        .map(|c| c.currency.clone())
        .unwrap_or_default();
    if let Some(code) = input.currency_ref.and_then(|r| r.value) {
        let code = code.trim().to_ascii_uppercase();
        if Currency::parse(&code).is_err() {
            return Err(reply::invalid_reference("CurrencyRef"));
        }
        invoice.currency = code;
    }
    if invoice.currency != customer_currency {
        return Err(reply::business(&format!(
            "The transaction currency {} must be the customer's currency {customer_currency}.",
            invoice.currency
        )));
    }
    if let Some(number) = input.doc_number.map(|n| n.trim().to_owned()) {
        if number.chars().count() > 21 {
            return Err(reply::validation(
                "2050",
                "String length is either shorter or longer than supported by specification",
                &format!("String length specified does not match the supported length. Min:0 Max:21 supplied length:{}", number.chars().count()),
            ));
        }
        if let Some(other) = company
            .invoices
            .iter()
            .find(|i| i.id != invoice.id && i.doc_number == number)
        {
            return Err(reply::validation(
                "6140",
                "Duplicate Document Number Error",
                &format!("Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber={number} is assigned to TxnType=Invoice with TxnId={}", other.id),
            ));
        }
        invoice.doc_number = number;
    }
    let date = |field: &str, text: &str| {
        wire::date(text).ok_or_else(|| reply::invalid_property(&format!("{field} {text}")))
    };
    if let Some(text) = &input.txn_date {
        invoice.txn_date = date("TxnDate", text)?;
    }
    match &input.due_date {
        Some(text) => invoice.due_date = Some(date("DueDate", text)?),
        None if clear => invoice.due_date = None,
        None => {}
    }
    if input.private_note.is_some() || clear {
        invoice.private_note = input.private_note;
    }
    let memo = input.customer_memo.and_then(|m| m.value);
    if memo.is_some() || clear {
        invoice.customer_memo = memo;
    }
    let email = input.bill_email.and_then(|e| e.address);
    if email.is_some() || clear {
        invoice.bill_email = email;
    }
    if let Some(lines) = input.line {
        invoice.lines = build_lines(lines, &invoice.lines)?;
        if invoice.lines.is_empty() {
            return Err(reply::required("Line"));
        }
    }
    Ok(())
}

pub(super) fn build_lines(input: Vec<LineIn>, old: &[Line]) -> Result<Vec<Line>, Reply> {
    let mut next_id = old
        .iter()
        .filter_map(|l| l.id.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for l in input {
        let kind = l
            .detail_type
            .clone()
            .unwrap_or_else(|| "SalesItemLineDetail".to_owned());
        let sales = match kind.as_str() {
            "SalesItemLineDetail" => Some(l.sales_item_line_detail.clone().unwrap_or_default()),
            "DescriptionOnly" => None,
            // QuickBooks adds the subtotal itself; a client echoing it back is not refused.
            "SubTotalLineDetail" => continue,
            other => return Err(reply::invalid_property(&format!("Line.DetailType {other}"))),
        };
        let id = match l.id.filter(|id| old.iter().any(|o| &o.id == id)) {
            Some(id) => id,
            None => {
                next_id += 1;
                next_id.to_string()
            }
        };
        let Some(sales) = sales else {
            let amount = l.amount.map(|a| round_dp(a.0, 2)).unwrap_or_default();
            lines.push(Line {
                id,
                description: l.description,
                amount,
                sales: None,
            });
            continue;
        };
        let (qty, price, amount) = (
            sales.qty.map(|d| d.0),
            sales.unit_price.map(|d| d.0),
            l.amount.map(|d| d.0),
        );
        let (amount, price) = match (qty, price, amount) {
            (Some(q), Some(p), Some(a)) => {
                if round_dp(q * p, 2) != round_dp(a, 2) {
                    return Err(reply::validation(
                        "6070",
                        "Amount is not equal to UnitPrice * Qty",
                        &format!("Amount is not equal to UnitPrice * Qty. Supplied value:{a}"),
                    ));
                }
                (a, Some(p))
            }
            (Some(q), Some(p), None) => (q * p, Some(p)),
            (Some(q), None, Some(a)) if !q.is_zero() => (a, Some(round_dp(a / q, 7))),
            (_, p, Some(a)) => (a, p),
            (_, _, None) => return Err(reply::required("Line.Amount")),
        };
        let item = sales.item_ref.unwrap_or_default();
        lines.push(Line {
            id,
            description: l.description,
            amount: round_dp(amount, 2),
            sales: Some(SalesDetail {
                qty,
                unit_price: price,
                item: ItemRef {
                    value: item.value.unwrap_or_else(|| "1".to_owned()),
                    name: item.name.or_else(|| Some("Services".to_owned())),
                },
            }),
        });
    }
    Ok(lines)
}

/// `POST /invoice?operation=void`.
pub(crate) fn void(company: &mut Company, body: &[u8]) -> Reply {
    let mut invoice = match parse(body).and_then(|input| current(company, &input)) {
        Ok(invoice) => invoice,
        Err(refused) => return refused,
    };
    let id = invoice.id.clone();
    let mut events = vec![QuickbooksEvent::new("invoice", &id, "voided")];
    // Payments applied to the invoice keep their amounts, now unapplied.
    for payment in company
        .payments
        .iter_mut()
        .filter(|p| p.lines.iter().any(|l| l.invoice_id == id))
    {
        payment.lines.retain(|l| l.invoice_id != id);
        payment.meta.touch();
        events.push(QuickbooksEvent::new("payment", &payment.id, "updated"));
    }
    invoice.voided = true;
    for line in &mut invoice.lines {
        line.amount = Decimal::ZERO;
        if let Some(sales) = &mut line.sales {
            sales.qty = sales.qty.map(|_| Decimal::ZERO);
        }
    }
    invoice.private_note = Some(match invoice.private_note.take() {
        Some(note) if !note.is_empty() => format!("Voided - {note}"),
        _ => "Voided".to_owned(),
    });
    invoice.meta.touch();
    let out = InvoiceOut::new(company, &invoice);
    if let Some(slot) = company.invoices.iter_mut().find(|i| i.id == id) {
        *slot = invoice;
    }
    reply::entity("Invoice", &out).with_events(events)
}

/// `POST /invoice?operation=delete`.
pub(crate) fn delete(company: &mut Company, body: &[u8]) -> Reply {
    let invoice = match parse(body).and_then(|input| current(company, &input)) {
        Ok(invoice) => invoice,
        Err(refused) => return refused,
    };
    if company
        .payments
        .iter()
        .any(|p| p.lines.iter().any(|l| l.invoice_id == invoice.id))
    {
        return reply::business("You must unlink any linked transactions associated with the invoice before deleting it.");
    }
    company.invoices.retain(|i| i.id != invoice.id);
    let event = QuickbooksEvent::new("invoice", &invoice.id, "deleted");
    reply::entity("Invoice", &Deleted::new(&invoice.id)).with_events(vec![event])
}
