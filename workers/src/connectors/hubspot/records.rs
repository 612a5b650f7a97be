//! Reading and writing HubSpot records beyond single calls: customers by kind, invoices with
//! their associations, and line items in batches.

use ledgerhook_shared::model::{Invoice, InvoiceLine};
use reqwest::Method;

use super::{
    map::{self, Kind},
    wire::{BatchRead, HObject, IdInput, LineAssociation, LineCreate, PropertiesBody, Results},
    HubspotClient,
};
use crate::connectors::{ApplyError, CrmApi, RemoteInvoice};

/// What a keyed create found.
#[derive(Debug)]
pub(super) enum Keyed {
    Created(String),
    /// An earlier attempt's invoice, read in full.
    Existing(Box<RemoteInvoice>),
}

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

    /// The invoice whose unique key property has this value, read in full; `None` when no
    /// invoice has it. A read by `idProperty` sees a create at once, unlike search.
    pub(super) async fn invoice_by_key(
        &self,
        key: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError> {
        let query = [("idProperty", self.options.key_property.as_str())];
        let path = ["crm", "v3", "objects", "invoices", key];
        match self.get(&path, &query).await? {
            Some(found) => self.get_invoice(&found.id).await,
            None => Ok(None),
        }
    }

    /// Creates the invoice, its unique key among `props`; when an earlier attempt already
    /// created it (HubSpot refuses the duplicate key), answers that invoice instead.
    pub(super) async fn create_keyed(
        &self,
        props: &PropertiesBody<'_>,
        key: &str,
    ) -> Result<Keyed, ApplyError> {
        let body = serde_json::to_vec(props)
            .map_err(|e| ApplyError::permanent(format!("cannot encode HubSpot request: {e}")))?;
        let path = ["crm", "v3", "objects", "invoices"];
        let answer = self.exchange(Method::POST, &path, &[], Some(body)).await?;
        if answer.is_duplicate_of(&self.options.key_property) {
            return match self.invoice_by_key(key).await? {
                Some(existing) => Ok(Keyed::Existing(Box::new(existing))),
                None => Err(ApplyError::transient(format!(
                    "HubSpot reports an invoice with {} `{key}`, but it cannot be read yet",
                    self.options.key_property
                ))),
            };
        }
        let bytes = self.classify(answer)?.ok_or_else(|| {
            ApplyError::permanent(format!("HubSpot /{}: not found", path.join("/")))
        })?;
        let created: HObject = super::http::parse(&bytes)?;
        Ok(Keyed::Created(created.id))
    }

    /// Makes the invoice's line items say what `wanted` says. Lines that already match (by
    /// name and amount) stay; the others are archived; each missing one is created together
    /// with its association, in one call, so an attempt cut short leaves only lines that are
    /// on the invoice, and the next attempt, reading them, adds just what is still missing.
    pub(super) async fn sync_lines(
        &self,
        invoice_id: &str,
        old: &[InvoiceLine],
        wanted: &Invoice,
    ) -> Result<(), ApplyError> {
        let (stale, missing) = map::line_changes(old, &wanted.lines);
        for id in stale {
            // A line item already gone (404) is what archiving wants anyway.
            let path = ["crm", "v3", "objects", "line_items", id.as_str()];
            self.send(Method::DELETE, &path, &[], None).await?;
        }
        for line in missing {
            let body = LineCreate {
                properties: map::line_props(line),
                associations: [LineAssociation::to_invoice(invoice_id)],
            };
            let path = ["crm", "v3", "objects", "line_items"];
            let _: HObject = self.write(Method::POST, &path, &body).await?;
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
