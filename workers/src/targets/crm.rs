//! The CRMs with a connector, as one type the sync rules use.

use ledgerhook_shared::{
    model::{Customer, Invoice, InvoiceStatus},
    Money,
};

use crate::connectors::{
    hubspot::HubspotClient, salesforce::SalesforceClient, ApplyError, CrmApi, RemoteCustomer,
    RemoteInvoice,
};

#[derive(Debug)]
pub enum CrmTarget {
    Hubspot(HubspotClient),
    Salesforce(SalesforceClient),
}

impl CrmTarget {
    /// The system's name in links, versions and events.
    pub fn system(&self) -> &'static str {
        match self {
            CrmTarget::Hubspot(_) => "hubspot",
            CrmTarget::Salesforce(_) => "salesforce",
        }
    }
}

/// Dispatches each call to the tenant's connector.
macro_rules! dispatch {
    ($self:ident, $client:ident => $call:expr) => {
        match $self {
            CrmTarget::Hubspot($client) => $call,
            CrmTarget::Salesforce($client) => $call,
        }
    };
}

impl CrmApi for CrmTarget {
    async fn upsert_customer(&self, customer: &Customer) -> Result<RemoteCustomer, ApplyError> {
        dispatch!(self, c => c.upsert_customer(customer).await)
    }

    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, ApplyError> {
        dispatch!(self, c => c.get_customer(id).await)
    }

    async fn find_invoice_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RemoteInvoice>, ApplyError> {
        dispatch!(self, c => c.find_invoice_by_number(number).await)
    }

    async fn get_invoice(&self, id: &str) -> Result<Option<RemoteInvoice>, ApplyError> {
        dispatch!(self, c => c.get_invoice(id).await)
    }

    async fn upsert_invoice(
        &self,
        existing: Option<&RemoteInvoice>,
        invoice: &Invoice,
        customer: Option<&RemoteCustomer>,
    ) -> Result<RemoteInvoice, ApplyError> {
        dispatch!(self, c => c.upsert_invoice(existing, invoice, customer).await)
    }

    async fn set_invoice_status(
        &self,
        existing: &RemoteInvoice,
        status: InvoiceStatus,
    ) -> Result<RemoteInvoice, ApplyError> {
        dispatch!(self, c => c.set_invoice_status(existing, status).await)
    }

    async fn set_invoice_refunded(
        &self,
        existing: &RemoteInvoice,
        refunded: &Money,
    ) -> Result<RemoteInvoice, ApplyError> {
        dispatch!(self, c => c.set_invoice_refunded(existing, refunded).await)
    }
}
