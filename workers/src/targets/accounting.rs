//! The accounting systems with a connector, as one type the sync rules use.

use ledgerhook_shared::model::{Customer, Invoice, Payment, Refund};

use crate::connectors::{
    quickbooks::QuickbooksClient, xero::XeroClient, AccountingApi, ApplyError, PaymentDraft,
    RefundDraft, RemoteCustomer, RemoteInvoice,
};

#[derive(Debug)]
pub enum AccountingTarget {
    Quickbooks(QuickbooksClient),
    Xero(XeroClient),
}

impl AccountingTarget {
    /// The system's name in links, versions and events.
    pub fn system(&self) -> &'static str {
        match self {
            AccountingTarget::Quickbooks(_) => "quickbooks",
            AccountingTarget::Xero(_) => "xero",
        }
    }
}

/// Dispatches each call to the tenant's connector.
macro_rules! dispatch {
    ($self:ident, $client:ident => $call:expr) => {
        match $self {
            AccountingTarget::Quickbooks($client) => $call,
            AccountingTarget::Xero($client) => $call,
        }
    };
}

impl AccountingApi for AccountingTarget {
    async fn find_customer(
        &self,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<RemoteCustomer>, ApplyError> {
        dispatch!(self, c => c.find_customer(email, name).await)
    }

    async fn create_customer(
        &self,
        customer: &Customer,
        key: &str,
    ) -> Result<RemoteCustomer, ApplyError> {
        dispatch!(self, c => c.create_customer(customer, key).await)
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

    async fn create_invoice(
        &self,
        invoice: &Invoice,
        customer_id: &str,
        key: &str,
    ) -> Result<RemoteInvoice, ApplyError> {
        dispatch!(self, c => c.create_invoice(invoice, customer_id, key).await)
    }

    async fn update_invoice(
        &self,
        existing: &RemoteInvoice,
        invoice: &Invoice,
        customer_id: &str,
    ) -> Result<RemoteInvoice, ApplyError> {
        dispatch!(self, c => c.update_invoice(existing, invoice, customer_id).await)
    }

    async fn void_invoice(&self, existing: &RemoteInvoice) -> Result<RemoteInvoice, ApplyError> {
        dispatch!(self, c => c.void_invoice(existing).await)
    }

    async fn record_payment(
        &self,
        invoice: &RemoteInvoice,
        payment: &PaymentDraft,
        key: &str,
    ) -> Result<String, ApplyError> {
        dispatch!(self, c => c.record_payment(invoice, payment, key).await)
    }

    async fn get_payment(&self, id: &str) -> Result<Option<Payment>, ApplyError> {
        dispatch!(self, c => c.get_payment(id).await)
    }

    async fn record_refund(
        &self,
        invoice: &RemoteInvoice,
        refund: &RefundDraft,
        key: &str,
    ) -> Result<String, ApplyError> {
        dispatch!(self, c => c.record_refund(invoice, refund, key).await)
    }

    async fn get_refund(&self, id: &str) -> Result<Option<Refund>, ApplyError> {
        dispatch!(self, c => c.get_refund(id).await)
    }
}
