//! Refunds in Xero: a sales credit note (`ACCRECCREDIT`) for the amount, refunded at once by a
//! payment against it from the bank account payments go into. This is how Xero documents
//! refunding a paid sales invoice; the invoice itself stays PAID, as it does in Xero.

use chrono::NaiveDate;
use ledgerhook_shared::{model::Refund, money::Currency, Money};
use reqwest::Method;

use super::{
    wire::{self, AccountRef, CreditNoteOut, IdRef, LineOut, ListOf, Num, RefundPaymentOut},
    XeroClient, WRITE_QUERY,
};
use crate::connectors::{ApplyError, RefundDraft, RemoteInvoice};

impl XeroClient {
    pub(super) async fn refund(
        &self,
        invoice: &RemoteInvoice,
        refund: &RefundDraft,
        key: &str,
    ) -> Result<String, ApplyError> {
        let currency = invoice.invoice.currency;
        if refund.amount.currency != currency {
            return Err(ApplyError::permanent(format!(
                "refund in {} cannot refund Xero invoice {} in {currency}",
                refund.amount.currency,
                invoice.id()
            )));
        }
        let contact = invoice
            .customer_id
            .as_deref()
            .or(invoice.invoice.customer.id.as_deref())
            .ok_or_else(|| {
                ApplyError::permanent(format!("Xero invoice {} has no contact", invoice.id()))
            })?;
        let description = match &refund.reason {
            Some(reason) => format!(
                "Refund of invoice {} ({}): {reason}",
                refund.invoice_number, refund.reference
            ),
            None => format!(
                "Refund of invoice {} ({})",
                refund.invoice_number, refund.reference
            ),
        };
        let amount = Num(refund.amount.amount);
        // One line for the refunded amount, tax included as it was paid.
        let note = CreditNoteOut {
            kind: "ACCRECCREDIT",
            contact: IdRef::Contact(contact),
            date: wire::format_date(refund.date),
            status: "AUTHORISED",
            currency_code: currency.code(),
            reference: &refund.invoice_number,
            line_amount_types: "Inclusive",
            line_items: vec![LineOut {
                description: &description,
                quantity: Num(rust_decimal::Decimal::ONE),
                unit_amount: amount,
                line_amount: amount,
                account_code: &self.options.sales_account_code,
            }],
        };
        // Each write has a key of its own: a retry after the credit note was made gets the
        // same credit note back and then pays it.
        let envelope = self
            .write(
                Method::PUT,
                &["CreditNotes"],
                WRITE_QUERY,
                &ListOf::CreditNotes(vec![note]),
                Some(&format!("{key}-note")),
            )
            .await?;
        let note = envelope
            .credit_notes
            .into_iter()
            .next()
            .filter(|c| !c.credit_note_id.is_empty())
            .ok_or_else(|| ApplyError::transient("Xero returned no credit note"))?;
        let payment = RefundPaymentOut {
            credit_note: IdRef::CreditNote(&note.credit_note_id),
            account: AccountRef {
                code: &self.options.payment_account_code,
            },
            date: wire::format_date(refund.date),
            amount,
            reference: &refund.reference,
        };
        let envelope = self
            .write(
                Method::PUT,
                &["Payments"],
                &WRITE_QUERY[..1],
                &ListOf::Payments(vec![payment]),
                Some(&format!("{key}-paid")),
            )
            .await?;
        if envelope.payments.iter().all(|p| p.payment_id.is_empty()) {
            return Err(ApplyError::transient("Xero returned no refund payment"));
        }
        Ok(note.credit_note_id)
    }

    pub(super) async fn credit_note(&self, id: &str) -> Result<Option<Refund>, ApplyError> {
        let Some(envelope) = self.get(&["CreditNotes", id], &[]).await? else {
            return Ok(None);
        };
        let Some(note) = envelope.credit_notes.into_iter().next() else {
            return Ok(None);
        };
        let currency = note.currency_code.as_deref().unwrap_or_default();
        let currency = Currency::parse(currency)
            .map_err(|e| ApplyError::permanent(format!("Xero credit note {id}: {e}")))?;
        let total = note.total.map_or(rust_decimal::Decimal::ZERO, |n| n.0);
        let amount = Money::new(total, currency)
            .map_err(|e| ApplyError::permanent(format!("Xero credit note {id}: {e}")))?;
        let date: Option<NaiveDate> = note.date.as_deref().and_then(wire::parse_date);
        Ok(Some(Refund {
            id: note.credit_note_id,
            amount,
            payment_id: None,
            invoice_id: None,
            invoice_number: note.reference.filter(|r| !r.is_empty()),
            reason: None,
            created_at: date
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc()),
            cumulative: false,
        }))
    }
}
