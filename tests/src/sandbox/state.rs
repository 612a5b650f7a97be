//! The sandbox's shared state: which tenants it simulates (from the config), their accounts,
//! and the counters the state dump reports.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
};

use ledgerhook_shared::config::{Config, ProviderKind};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    auth::Tokens, faults::Faults, hubspot::model::Portal, limits::Limits,
    quickbooks::model::Company, salesforce::model::SfOrg, stripe::model::Account,
    webhooks::Dispatcher, xero::model::Org, Options, System,
};

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Arc<Config>,
    pub options: Options,
    pub directory: Directory,
    /// Xero organisations by Xero tenant id.
    pub xero: Mutex<HashMap<String, Org>>,
    /// QuickBooks companies by realm id.
    pub quickbooks: Mutex<HashMap<String, Company>>,
    /// HubSpot portals by ledgerhook tenant id.
    pub hubspot: Mutex<HashMap<String, Portal>>,
    /// Salesforce orgs by ledgerhook tenant id.
    pub salesforce: Mutex<HashMap<String, SfOrg>>,
    /// Stripe accounts by ledgerhook tenant id.
    pub stripe: Mutex<HashMap<String, Account>>,
    pub tokens: Tokens,
    pub faults: Faults,
    pub limits: Limits,
    pub webhooks: Dispatcher,
    pub counters: Counters,
}

impl Shared {
    /// Also returns the webhook dispatcher's task, which drains and ends once `drain` fires.
    pub fn new(
        config: Config,
        options: Options,
        drain: CancellationToken,
    ) -> (Shared, JoinHandle<()>) {
        let config = Arc::new(config);
        let directory = Directory::from_config(&config);
        let (webhooks, dispatcher) = Dispatcher::start(config.clone(), &options, drain);
        let shared = Shared {
            tokens: Tokens::from_config(&config, &options),
            limits: Limits::new(&options),
            webhooks,
            faults: Faults::default(),
            counters: Counters::default(),
            xero: Mutex::new(HashMap::new()),
            quickbooks: Mutex::new(HashMap::new()),
            hubspot: Mutex::new(HashMap::new()),
            salesforce: Mutex::new(HashMap::new()),
            stripe: Mutex::new(HashMap::new()),
            directory,
            options,
            config,
        };
        shared.reset_accounts();
        (shared, dispatcher)
    }

    /// Empties every simulated account, keeping one per configured tenant.
    pub fn reset_accounts(&self) {
        let mut xero = lock(&self.xero);
        xero.clear();
        for t in &self.directory.xero {
            xero.insert(
                t.xero_tenant_id.clone(),
                Org::new(&t.tenant, &t.xero_tenant_id, &self.options.base_currency),
            );
        }
        let mut quickbooks = lock(&self.quickbooks);
        quickbooks.clear();
        for t in &self.directory.quickbooks {
            let company = Company::new(&t.tenant, &t.realm_id, &self.options.base_currency);
            quickbooks.insert(t.realm_id.clone(), company);
        }
        let mut hubspot = lock(&self.hubspot);
        hubspot.clear();
        for t in &self.directory.hubspot {
            hubspot.insert(t.tenant.clone(), Portal::new(&t.tenant, t.portal_id));
        }
        let mut salesforce = lock(&self.salesforce);
        salesforce.clear();
        for t in &self.directory.salesforce {
            let org = SfOrg::new(&t.tenant, &t.org_id, &self.options.base_currency);
            salesforce.insert(t.tenant.clone(), org);
        }
        let mut stripe = lock(&self.stripe);
        stripe.clear();
        for t in &self.directory.stripe {
            let account = Account::new(&t.tenant, &t.account_id, &self.options.base_currency);
            stripe.insert(t.tenant.clone(), account);
        }
    }

    /// `POST /_sandbox/reset`: accounts, tokens, faults, limits and counters as at start.
    pub fn reset(&self) {
        self.reset_accounts();
        self.tokens.reset(&self.config);
        self.faults.clear(None);
        self.limits.reset();
        self.counters.reset();
        self.webhooks.reset_counters();
    }
}

/// Locks a mutex, carrying on after a panic elsewhere: the sandbox's state is plain data whose
/// every update is completed before the guard drops, so a poisoned lock holds nothing torn.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The tenants the sandbox simulates, from `[tenants.accounting]` with system `xero` or
/// `quickbooks`, `[tenants.crm]` with system `hubspot` or `salesforce`, and sources with
/// provider `stripe`.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub xero: Vec<XeroTenant>,
    pub quickbooks: Vec<QuickbooksTenant>,
    pub hubspot: Vec<HubspotTenant>,
    pub salesforce: Vec<SalesforceTenant>,
    pub stripe: Vec<StripeTenant>,
}

#[derive(Debug, Clone)]
pub(crate) struct XeroTenant {
    pub tenant: String,
    pub xero_tenant_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct QuickbooksTenant {
    pub tenant: String,
    pub realm_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct HubspotTenant {
    pub tenant: String,
    pub portal_id: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct SalesforceTenant {
    pub tenant: String,
    /// An 18-character organization id (`00D...`), stable per tenant.
    pub org_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct StripeTenant {
    pub tenant: String,
    /// `acct_...`, stable per tenant.
    pub account_id: String,
}

impl Directory {
    fn from_config(config: &Config) -> Directory {
        let mut directory = Directory::default();
        for tenant in &config.tenants {
            let xero = tenant.accounting.as_ref().filter(|t| t.system == "xero");
            if let Some(id) = xero.and_then(|t| t.account_id.clone()) {
                directory.xero.push(XeroTenant {
                    tenant: tenant.id.clone(),
                    xero_tenant_id: id,
                });
            }
            let quickbooks = tenant
                .accounting
                .as_ref()
                .filter(|t| t.system == "quickbooks");
            if let Some(realm) = quickbooks.and_then(|t| t.account_id.clone()) {
                directory.quickbooks.push(QuickbooksTenant {
                    tenant: tenant.id.clone(),
                    realm_id: realm,
                });
            }
            if tenant.crm.as_ref().is_some_and(|t| t.system == "hubspot") {
                directory.hubspot.push(HubspotTenant {
                    tenant: tenant.id.clone(),
                    portal_id: portal_id(&tenant.id),
                });
            }
            if tenant
                .crm
                .as_ref()
                .is_some_and(|t| t.system == "salesforce")
            {
                let org_id = crate::sandbox::salesforce::model::org_id(fnv(&tenant.id));
                directory.salesforce.push(SalesforceTenant {
                    tenant: tenant.id.clone(),
                    org_id,
                });
            }
            if tenant
                .sources
                .iter()
                .any(|s| s.provider == ProviderKind::Stripe)
            {
                directory.stripe.push(StripeTenant {
                    tenant: tenant.id.clone(),
                    account_id: format!("acct_1{:016X}", fnv(&tenant.id)),
                });
            }
        }
        directory
    }

    pub fn quickbooks_for(&self, tenant: &str) -> Option<&QuickbooksTenant> {
        self.quickbooks.iter().find(|t| t.tenant == tenant)
    }

    pub fn salesforce_for(&self, tenant: &str) -> Option<&SalesforceTenant> {
        self.salesforce.iter().find(|t| t.tenant == tenant)
    }

    pub fn xero_for(&self, tenant: &str) -> Option<&XeroTenant> {
        self.xero.iter().find(|t| t.tenant == tenant)
    }

    pub fn hubspot_for(&self, tenant: &str) -> Option<&HubspotTenant> {
        self.hubspot.iter().find(|t| t.tenant == tenant)
    }

    pub fn stripe_for(&self, tenant: &str) -> Option<&StripeTenant> {
        self.stripe.iter().find(|t| t.tenant == tenant)
    }
}

/// A portal id that stays the same for a tenant across restarts and config reorderings:
/// FNV-1a of the tenant id, folded into HubSpot's usual 8-digit range.
fn portal_id(tenant: &str) -> u64 {
    10_000_000 + fnv(tenant) % 90_000_000
}

/// FNV-1a, for ids derived from a tenant id.
pub(crate) fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Calls seen per system, by answer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    xero: SystemCounter,
    quickbooks: SystemCounter,
    hubspot: SystemCounter,
    salesforce: SystemCounter,
    stripe: SystemCounter,
}

#[derive(Debug, Default)]
struct SystemCounter {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    faults_injected: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CounterSnapshot {
    requests: u64,
    rate_limited: u64,
    faults_injected: u64,
    by_status: BTreeMap<u16, u64>,
}

impl Counters {
    fn of(&self, system: System) -> &SystemCounter {
        match system {
            System::Xero => &self.xero,
            System::Quickbooks => &self.quickbooks,
            System::Hubspot => &self.hubspot,
            System::Salesforce => &self.salesforce,
            System::Stripe => &self.stripe,
        }
    }

    pub fn answered(&self, system: System, status: u16) {
        let c = self.of(system);
        c.requests.fetch_add(1, Ordering::Relaxed);
        *lock(&c.statuses).entry(status).or_default() += 1;
    }

    pub fn rate_limited(&self, system: System) {
        self.of(system).rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn fault_injected(&self, system: System) {
        self.of(system)
            .faults_injected
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self, system: System) -> CounterSnapshot {
        let c = self.of(system);
        CounterSnapshot {
            requests: c.requests.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            faults_injected: c.faults_injected.load(Ordering::Relaxed),
            by_status: lock(&c.statuses).clone(),
        }
    }

    fn reset(&self) {
        for c in System::ALL.map(|s| self.of(s)) {
            c.requests.store(0, Ordering::Relaxed);
            c.rate_limited.store(0, Ordering::Relaxed);
            c.faults_injected.store(0, Ordering::Relaxed);
            lock(&c.statuses).clear();
        }
    }
}
