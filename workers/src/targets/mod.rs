//! Builds each tenant's target clients from the config. `AccountingTarget` and `CrmTarget` are
//! closed enums over the connectors, dispatching the `AccountingApi` / `CrmApi` calls, so the
//! sync rules are written once for every system.

mod accounting;
mod crm;

pub use accounting::AccountingTarget;
pub use crm::CrmTarget;

use std::{collections::HashMap, sync::Arc};

use ledgerhook_shared::config::{Config, Credentials, Target};

use crate::{
    auth::TokenHandle,
    connectors::{
        hubspot::{HubspotClient, HubspotOptions},
        xero::{XeroClient, XeroOptions},
    },
    sync::TenantTargets,
};

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("tenant `{tenant}`: {system} has no connector yet (supported now: xero, hubspot)")]
    Unsupported { tenant: String, system: String },
    #[error("tenant `{tenant}`: OAuth2 credentials for {system} are not supported yet; configure a static access_token")]
    OAuth { tenant: String, system: String },
}

/// One entry per tenant. A tenant whose system has no connector yet is refused at start, with
/// its name, rather than dead-lettering its events one by one.
pub fn build(config: &Config) -> Result<HashMap<String, Arc<TenantTargets>>, TargetError> {
    let mut out = HashMap::new();
    for tenant in &config.tenants {
        let accounting = tenant
            .accounting
            .as_ref()
            .map(|t| accounting(&tenant.id, t))
            .transpose()?;
        let crm = tenant
            .crm
            .as_ref()
            .map(|t| crm(&tenant.id, t))
            .transpose()?;
        out.insert(
            tenant.id.clone(),
            Arc::new(TenantTargets { accounting, crm }),
        );
    }
    Ok(out)
}

fn token(tenant: &str, target: &Target) -> Result<TokenHandle, TargetError> {
    match &target.credentials {
        Credentials::Static { access_token } => Ok(TokenHandle::fixed(access_token.clone())),
        Credentials::OAuth { .. } => Err(TargetError::OAuth {
            tenant: tenant.to_owned(),
            system: target.system.clone(),
        }),
    }
}

fn accounting(tenant: &str, target: &Target) -> Result<AccountingTarget, TargetError> {
    match target.system.as_str() {
        "xero" => Ok(AccountingTarget::Xero(XeroClient::new(
            target.base_url.clone(),
            target.account_id.clone().unwrap_or_default(),
            token(tenant, target)?,
            XeroOptions::default(),
        ))),
        other => Err(TargetError::Unsupported {
            tenant: tenant.to_owned(),
            system: other.to_owned(),
        }),
    }
}

fn crm(tenant: &str, target: &Target) -> Result<CrmTarget, TargetError> {
    match target.system.as_str() {
        "hubspot" => Ok(CrmTarget::Hubspot(HubspotClient::new(
            target.base_url.clone(),
            token(tenant, target)?,
            HubspotOptions::default(),
        ))),
        other => Err(TargetError::Unsupported {
            tenant: tenant.to_owned(),
            system: other.to_owned(),
        }),
    }
}
