//! Builds each tenant's target clients from the config. `AccountingTarget` and `CrmTarget` are
//! closed enums over the connectors, dispatching the `AccountingApi` / `CrmApi` calls, so the
//! sync rules are written once for every system.

mod accounting;
mod crm;

pub use accounting::AccountingTarget;
pub use crm::CrmTarget;

use std::{collections::HashMap, sync::Arc};

use ledgerhook_shared::{
    config::{Config, Credentials, Target},
    store::Store,
};

use crate::{
    auth::{ClientAuth, OAuthConfig, TokenHandle},
    connectors::{
        hubspot::{HubspotClient, HubspotOptions},
        xero::{XeroClient, XeroOptions},
    },
    limits::{Limits, RateLimiter},
    shared_limits::SharedLimits,
    sync::TenantTargets,
};

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("tenant `{tenant}`: {system} has no connector (known: quickbooks, xero, hubspot, salesforce)")]
    Unsupported { tenant: String, system: String },
    #[error("tenant `{tenant}`: cannot set up OAuth2 for {system}: {message}")]
    OAuth {
        tenant: String,
        system: String,
        message: String,
    },
}

/// One entry per tenant. A tenant whose system has no connector yet is refused at start, with
/// its name, rather than dead-lettering its events one by one. OAuth2 connections keep their
/// token sets in `store`; every connection's rate limiter comes from `limits`, which divides it
/// among the worker processes calling it.
pub fn build(
    config: &Config,
    store: &Store,
    limits: &SharedLimits,
) -> Result<HashMap<String, Arc<TenantTargets>>, TargetError> {
    let mut out = HashMap::new();
    for tenant in &config.tenants {
        let accounting = tenant
            .accounting
            .as_ref()
            .map(|t| accounting(&tenant.id, t, store, limits))
            .transpose()?;
        let crm = tenant
            .crm
            .as_ref()
            .map(|t| crm(&tenant.id, t, store, limits))
            .transpose()?;
        out.insert(
            tenant.id.clone(),
            Arc::new(TenantTargets { accounting, crm }),
        );
    }
    Ok(out)
}

/// The token handle of one tenant's target: connection `<tenant>/<system>` for OAuth2.
pub fn token(tenant: &str, target: &Target, store: &Store) -> Result<TokenHandle, TargetError> {
    match &target.credentials {
        Credentials::Static { access_token } => Ok(TokenHandle::fixed(access_token.clone())),
        Credentials::OAuth {
            client_id,
            client_secret,
            refresh_token,
            token_url,
        } => {
            let config = OAuthConfig {
                // A tenant has at most one target per system, so this names one connection.
                connection: format!("{tenant}/{}", target.system),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                refresh_token: refresh_token.clone(),
                token_url: token_url.clone(),
                client_auth: ClientAuth::for_system(&target.system),
            };
            TokenHandle::oauth(config, store.clone()).map_err(|e| TargetError::OAuth {
                tenant: tenant.to_owned(),
                system: target.system.clone(),
                message: e.to_string(),
            })
        }
    }
}

fn accounting(
    tenant: &str,
    target: &Target,
    store: &Store,
    limits: &SharedLimits,
) -> Result<AccountingTarget, TargetError> {
    use crate::connectors::quickbooks::{QuickbooksClient, QuickbooksOptions};
    match target.system.as_str() {
        "quickbooks" => {
            let client = QuickbooksClient::new(
                target.base_url.clone(),
                // Config validation requires realm_id for QuickBooks.
                target.account_id.clone().unwrap_or_default(),
                token(tenant, target, store)?,
                QuickbooksOptions::default(),
            );
            Ok(AccountingTarget::Quickbooks(client.with_limiter(limiter(
                tenant,
                target,
                limits,
                Limits::QUICKBOOKS,
            ))))
        }
        "xero" => {
            let client = XeroClient::new(
                target.base_url.clone(),
                target.account_id.clone().unwrap_or_default(),
                token(tenant, target, store)?,
                XeroOptions::default(),
            );
            Ok(AccountingTarget::Xero(client.with_limiter(limiter(
                tenant,
                target,
                limits,
                Limits::XERO,
            ))))
        }
        other => Err(TargetError::Unsupported {
            tenant: tenant.to_owned(),
            system: other.to_owned(),
        }),
    }
}

fn crm(
    tenant: &str,
    target: &Target,
    store: &Store,
    limits: &SharedLimits,
) -> Result<CrmTarget, TargetError> {
    use crate::connectors::salesforce::{SalesforceClient, SalesforceOptions};
    match target.system.as_str() {
        "salesforce" => {
            let client = SalesforceClient::new(
                target.base_url.clone(),
                token(tenant, target, store)?,
                SalesforceOptions::default(),
            );
            Ok(CrmTarget::Salesforce(client.with_limiter(limiter(
                tenant,
                target,
                limits,
                Limits::SALESFORCE,
            ))))
        }
        "hubspot" => {
            let client = HubspotClient::new(
                target.base_url.clone(),
                token(tenant, target, store)?,
                HubspotOptions::default(),
            );
            Ok(CrmTarget::Hubspot(client.with_limiter(limiter(
                tenant,
                target,
                limits,
                Limits::HUBSPOT,
            ))))
        }
        other => Err(TargetError::Unsupported {
            tenant: tenant.to_owned(),
            system: other.to_owned(),
        }),
    }
}

/// The connection's limiter (`<tenant>/<system>`, as for OAuth2), with the limits the config
/// states for it or else the provider's `published` ones.
fn limiter(
    tenant: &str,
    target: &Target,
    limits: &SharedLimits,
    published: Limits,
) -> Arc<RateLimiter> {
    let stated = target.rate_limit.map(|l| Limits {
        requests: l.requests,
        per: l.window,
        concurrent: l.concurrent as usize,
    });
    limits.limiter(
        &format!("{tenant}/{}", target.system),
        stated.unwrap_or(published),
    )
}
