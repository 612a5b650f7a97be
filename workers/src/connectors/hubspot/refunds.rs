//! Refunds in HubSpot. An invoice's `hs_invoice_status` has no refunded value (draft, open,
//! paid, voided), so a refunded invoice stays paid and two custom invoice properties say what
//! was refunded: `ledgerhook_amount_refunded` (a number, the total refunded so far) and
//! `ledgerhook_refund_status` (an enumeration: `partially_refunded` or `refunded`), which a
//! HubSpot user can show in the invoice view, filter and report on.

use ledgerhook_shared::Money;

use super::{map, wire::PropertiesBody, HubspotClient};
use crate::connectors::{ApplyError, RemoteInvoice};

/// The custom invoice property with the total refunded.
pub const AMOUNT_REFUNDED: &str = "ledgerhook_amount_refunded";
/// The custom invoice property saying whether the refund was in full.
pub const REFUND_STATUS: &str = "ledgerhook_refund_status";

impl HubspotClient {
    pub(super) async fn refunded(
        &self,
        existing: &RemoteInvoice,
        refunded: &Money,
    ) -> Result<RemoteInvoice, ApplyError> {
        let full = refunded.amount >= existing.invoice.total.amount;
        let status = if full {
            "refunded"
        } else {
            "partially_refunded"
        };
        let amount = map::amount_text(refunded.amount, refunded.currency.exponent());
        let body = PropertiesBody {
            properties: [
                (AMOUNT_REFUNDED, amount),
                (REFUND_STATUS, status.to_owned()),
            ]
            .into(),
        };
        let updated = self.patch_invoice(existing.id(), &body).await?;
        let mut result = existing.clone();
        let modified = updated
            .prop("hs_lastmodifieddate")
            .or(updated.updated_at.as_deref());
        if let Some(time) = modified.and_then(map::parse_time) {
            result.invoice.updated_at = Some(time);
        }
        Ok(result)
    }
}
