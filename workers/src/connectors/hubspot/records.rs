//! Reading and writing HubSpot records beyond single calls: customers by kind, invoices with
//! their associations, and line items in batches.

use ledgerhook_shared::model::Invoice;
use reqwest::Method;

use super::{
    map::{self, Kind},
    wire::{BatchRead, HObject, IdInput, PropertiesBody, Results},
    HubspotClient,
};
use crate::connectors::ApplyError;

/// HubSpot's batch endpoints take at most 100 inputs.
const BATCH: usize = 100;

impl HubspotClient {
    pub(super) async fn get_record(
        &self,
        kind: Kind,
        id: &str,
    ) -> Result<Option<HObject>, ApplyError> {
        let props = match kind {
            Kind::Contact => map::CONTACT_PROPS,
            Kind::Company => map::COMPANY_PROPS,
        };
        let path = ["crm", "v3", "objects", kind.object_type(), id];
        self.get(&path, &[("properties", &props.join(","))]).await
    }

    pub(super) async fn invoice_record(&self, id: &str) -> Result<Option<HObject>, ApplyError> {
        let mut props = map::INVOICE_PROPS.to_vec();
        let number = self.options.number_property.as_str();
        if !props.contains(&number) {
            props.push(number);
        }
        let props = props.join(",");
        let query = [
            ("properties", props.as_str()),
            ("associations", "line_items,contacts,companies"),
        ];
        self.get(&["crm", "v3", "objects", "invoices", id], &query)
            .await
    }

    pub(super) async fn line_items(&self, ids: &[String]) -> Result<Vec<HObject>, ApplyError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let body = BatchRead {
                properties: map::LINE_PROPS,
                inputs: chunk.iter().map(|id| IdInput { id }).collect(),
            };
            let path = ["crm", "v3", "objects", "line_items", "batch", "read"];
            let read: Results = self.write(Method::POST, &path, &body).await?;
            out.extend(read.results);
        }
        Ok(out)
    }

    /// Replaces the invoice's line items: HubSpot line items belong to one parent, so the old
    /// ones are archived rather than left dangling. Single-object calls, not the batch ones:
    /// every HubSpot-compatible server has these, and an invoice has few lines.
    pub(super) async fn replace_lines(
        &self,
        invoice_id: &str,
        old: &[String],
        new: &Invoice,
    ) -> Result<(), ApplyError> {
        for id in old {
            // A line item already gone (404) is what archiving wants anyway.
            let path = ["crm", "v3", "objects", "line_items", id.as_str()];
            self.send(Method::DELETE, &path, &[], None).await?;
        }
        for line in &new.lines {
            let body = PropertiesBody {
                properties: map::line_props(line),
            };
            let path = ["crm", "v3", "objects", "line_items"];
            let created: HObject = self.write(Method::POST, &path, &body).await?;
            self.associate(invoice_id, "line_items", &created.id)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn patch_invoice(
        &self,
        id: &str,
        body: &PropertiesBody<'_>,
    ) -> Result<HObject, ApplyError> {
        self.write(
            Method::PATCH,
            &["crm", "v3", "objects", "invoices", id],
            body,
        )
        .await
    }

    /// Links the invoice to a record with HubSpot's default (unlabeled) association, which
    /// needs no association type id, so nothing here depends on ids that could differ between
    /// portals.
    pub(super) async fn associate(
        &self,
        invoice_id: &str,
        to_type: &str,
        to_id: &str,
    ) -> Result<(), ApplyError> {
        let path = [
            "crm",
            "v4",
            "objects",
            "invoices",
            invoice_id,
            "associations",
            "default",
            to_type,
            to_id,
        ];
        // The default association takes no body.
        let found = self.send(Method::PUT, &path, &[], None).await?;
        found.map(drop).ok_or_else(|| {
            ApplyError::permanent(format!(
                "HubSpot invoice {invoice_id} or {to_type} {to_id} not found"
            ))
        })
    }
}
