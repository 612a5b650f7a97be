//! Refunds in QuickBooks Online: a refund receipt for the customer, one line on the invoices'
//! product/service, paid from the "refund from" account. QuickBooks links a refund receipt to no
//! invoice, so the receipt's private note names the invoice it refunds
//! ("Refund of invoice INV-1001 (re_...)"), and reading a receipt back finds the number there.

use chrono::NaiveDate;
use ledgerhook_shared::{model::Refund, money::Currency, Money};
use rust_decimal::Decimal;

use super::{
    http::request_id,
    map,
    wire::{LineOut, Num, Ref, RefundReceiptOut, SalesItemOut},
    QuickbooksClient,
};
use crate::connectors::{ApplyError, RefundDraft, RemoteInvoice};

/// How a refund receipt's private note starts when it refunds an invoice.
const NOTE_PREFIX: &str = "Refund of invoice ";

impl QuickbooksClient {
    pub(super) async fn refund(
        &self,
        invoice: &RemoteInvoice,
        refund: &RefundDraft,
        key: &str,
    ) -> Result<String, ApplyError> {
        let customer = super::customer_to_settle(invoice, &refund.amount, "refund in", "refund")?;
        let amount = map::amount_out(&refund.amount)?;
        let note = note(&refund.invoice_number, &refund.reference);
        let description = match &refund.reason {
            Some(reason) => format!("{note}: {reason}"),
            None => note.clone(),
        };
        let body = RefundReceiptOut {
            customer_ref: Ref { value: customer },
            txn_date: map::format_date(refund.date),
            deposit_to_account_ref: Ref {
                value: &self.options.refund_account_id,
            },
            payment_ref_num: map::truncate(&refund.reference, map::MAX_PAYMENT_REF),
            private_note: &note,
            total_amt: amount,
            line: vec![LineOut {
                detail_type: "SalesItemLineDetail",
                amount,
                description: Some(&description),
                sales_item_line_detail: SalesItemOut {
                    qty: Num(Decimal::ONE),
                    unit_price: amount,
                    item_ref: Ref {
                        value: &self.options.item_id,
                    },
                },
            }],
        };
        let key = request_id(key);
        let envelope = self
            .post("refundreceipt", &[("requestid", &key)], &body)
            .await?;
        envelope
            .refund_receipt
            .map(|r| r.id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ApplyError::transient("QuickBooks returned no refund receipt"))
    }

    pub(super) async fn refund_receipt(&self, id: &str) -> Result<Option<Refund>, ApplyError> {
        let Some(receipt) = self
            .read("refundreceipt", id)
            .await?
            .and_then(|e| e.refund_receipt)
        else {
            return Ok(None);
        };
        let currency = match receipt.currency_ref.as_ref().map(|r| r.value.as_str()) {
            Some(code) if !code.is_empty() => Currency::parse(code).map_err(|e| {
                ApplyError::permanent(format!("QuickBooks refund receipt {id}: {e}"))
            })?,
            _ => self.options.home_currency,
        };
        let total = receipt.total_amt.map_or(Decimal::ZERO, |n| n.0);
        let amount = Money::new(total, currency)
            .map_err(|e| ApplyError::permanent(format!("QuickBooks refund receipt {id}: {e}")))?;
        let date = receipt
            .txn_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        Ok(Some(Refund {
            id: receipt.id,
            amount,
            payment_id: receipt.payment_ref_num.filter(|r| !r.is_empty()),
            invoice_id: None,
            invoice_number: receipt.private_note.as_deref().and_then(invoice_number),
            reason: None,
            created_at: date
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc()),
            cumulative: false,
        }))
    }
}

fn note(invoice_number: &str, reference: &str) -> String {
    format!("{NOTE_PREFIX}{invoice_number} ({reference})")
}

/// The invoice number a refund receipt's private note names, if it follows `note`'s form.
fn invoice_number(note: &str) -> Option<String> {
    let rest = note.trim().strip_prefix(NOTE_PREFIX)?;
    let number = match rest.rfind(" (") {
        Some(end) if rest.ends_with(')') => &rest[..end],
        _ => rest,
    };
    Some(number.trim().to_owned()).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_invoice_and_reads_back() {
        let written = note("INV-1001", "re_3QfZ7aLkdIwHu7ix");
        assert_eq!(written, "Refund of invoice INV-1001 (re_3QfZ7aLkdIwHu7ix)");
        assert_eq!(invoice_number(&written).as_deref(), Some("INV-1001"));
        assert_eq!(
            invoice_number("Refund of invoice 2024 (A) (re_1)").as_deref(),
            Some("2024 (A)")
        );
        assert_eq!(
            invoice_number("Refund of invoice 1037").as_deref(),
            Some("1037")
        );
        assert_eq!(invoice_number("Goodwill refund"), None);
    }
}
