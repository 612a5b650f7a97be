//! Matching customers across systems: by link, else email, else name, else created.

use ledgerhook_shared::{
    model::{Customer, Invoice},
    store,
};

use super::{Ctx, SyncError};
use crate::connectors::{AccountingApi, RemoteCustomer};

pub(crate) fn customer_of(invoice: &Invoice) -> Customer {
    Customer {
        id: invoice.customer.id.clone().unwrap_or_default(),
        name: invoice.customer.name.clone(),
        email: invoice.customer.email.clone(),
        ..Customer::default()
    }
}

/// The accounting customer for a CRM customer: by link, else email, else name, else created.
pub(crate) async fn customer_for<A: AccountingApi>(
    ctx: &Ctx<'_>,
    acct: &A,
    acct_system: &str,
    crm_system: &str,
    customer: &Customer,
) -> Result<RemoteCustomer, SyncError> {
    if !customer.id.is_empty() {
        if let Some(id) = store::link_get(
            ctx.tx,
            ctx.tenant,
            "customer",
            crm_system,
            &customer.id,
            acct_system,
        )
        .await?
        {
            return Ok(RemoteCustomer {
                id,
                name: customer.name.clone(),
                email: customer.email.clone(),
            });
        }
    }
    if customer.email.is_none() && customer.name.is_none() {
        return Err(SyncError::permanent(
            "the invoice's customer has neither email nor name to match on",
        ));
    }
    let lock = customer
        .email
        .as_deref()
        .or(customer.name.as_deref())
        .unwrap_or_default()
        .to_lowercase();
    store::lock_entity(ctx.tx, &format!("{}/customer/{lock}", ctx.tenant)).await?;
    let remote = match acct
        .find_customer(customer.email.as_deref(), customer.name.as_deref())
        .await?
    {
        Some(found) => found,
        None => {
            let key = format!("ledgerhook-cust-{}-{crm_system}-{lock}", ctx.tenant);
            acct.create_customer(customer, &key).await?
        }
    };
    if !customer.id.is_empty() {
        store::link_put(
            ctx.tx,
            ctx.tenant,
            "customer",
            (crm_system, &customer.id),
            (acct_system, &remote.id),
        )
        .await?;
    }
    Ok(remote)
}
