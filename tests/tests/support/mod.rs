//! The whole system in one test process: the router, both workers and the sandbox, wired to the
//! real RabbitMQ and PostgreSQL with a broker prefix and a database of their own.

#![allow(dead_code)]

use std::{
    collections::HashMap,
    net::{SocketAddr, TcpListener},
    sync::Arc,
    time::Duration,
};

use hmac::{Hmac, Mac};
use ledgerhook_router::Application;
use ledgerhook_shared::{
    broker::Destination,
    config::{self, Config},
    store::Store,
};
use ledgerhook_tests::{
    database::{drop_database, TestDatabase},
    sandbox::{Options, Sandbox},
};
use ledgerhook_workers::{
    ops::{OpsServer, Probes},
    runtime,
    shared_limits::SharedLimits,
    sync::Worker,
    targets,
};
use serde_json::Value;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const STRIPE_SECRET: &str = "whsec_e2e_stripe_secret_0123456789";
/// A Standard Webhooks sender speaking ledgerhook's vocabulary (e.g. a Salesforce Flow).
pub const FLOW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const HUBSPOT_SECRET: &str = "e2e-hubspot-client-secret";
pub const XERO_KEY: &str = "e2e-xero-webhook-key-0123456789";
pub const XERO_TENANT: &str = "5a8b6c7d-0e1f-4a2b-9c3d-4e5f6a7b8c9d";
pub const XERO_TOKEN: &str = "e2e-xero-access-token";
pub const HUBSPOT_TOKEN: &str = "e2e-hubspot-private-app-token";
/// Tenant `globex` keeps its books in QuickBooks Online and its CRM in its own HubSpot portal.
pub const GLOBEX_HUBSPOT_TOKEN: &str = "e2e-globex-hubspot-token";
pub const QBO_REALM: &str = "9130355";
pub const QBO_TOKEN: &str = "e2e-quickbooks-access-token";
pub const QBO_VERIFIER: &str = "e2e-quickbooks-verifier-token";
/// Tenant `initech` keeps its CRM in Salesforce (whose Flow signs Standard Webhooks) and its
/// books in a Xero organisation of its own.
pub const SF_TOKEN: &str = "00Dinitech!e2e-salesforce-session";
pub const INITECH_XERO_TENANT: &str = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
pub const INITECH_XERO_TOKEN: &str = "e2e-initech-xero-access-token";

/// The admin API's bearer token in every e2e config; its name is `support`.
pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789";

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

pub struct Env {
    pub config_text: String,
    pub prefix: String,
    pub database: String,
    pub database_url: String,
    pub config: Config,
    pub router_url: String,
    /// The router's admin listener: the admin API and the console.
    pub admin_url: String,
    pub sandbox_url: String,
    pub http: reqwest::Client,
    router_stop: CancellationToken,
    sandbox_stop: CancellationToken,
    workers: Vec<(CancellationToken, tokio::task::JoinHandle<()>)>,
    /// Each worker's `/healthz`, `/readyz` and `/metrics` listener, in start order.
    worker_listeners: Vec<(Destination, SocketAddr)>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn config_text(
    prefix: &str,
    router_port: u16,
    sandbox_port: u16,
    database_url: &str,
    high_limits: bool,
) -> String {
    // With raised sandbox limits the connectors are told the same, as a higher API plan would.
    let limits = if high_limits {
        "rate_limit_requests = 100000\nrate_limit_window_secs = 60\nmax_concurrent_requests = 16"
    } else {
        ""
    };
    format!(
        r#"
[router]
listen = "127.0.0.1:{router_port}"
admin_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:{router_port}"

[broker]
url = "{AMQP}"
prefix = "{prefix}"
# A short ladder, so retries show within a test; the Retry-After test needs a step over 7 s.
retry_delays_secs = [1, 2, 3, 8, 13]
delivery_limit = 3

[admin]
tokens = [{{ name = "support", token = "{ADMIN_TOKEN}" }}]

[store]
url = "{database_url}"

[[tenants]]
id = "acme"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["{STRIPE_SECRET}"]

[[tenants.sources]]
id = "hubspot"
provider = "hubspot"
secrets = ["{HUBSPOT_SECRET}"]

[[tenants.sources]]
id = "xero"
provider = "xero"
secrets = ["{XERO_KEY}"]

[[tenants.sources]]
id = "flow"
provider = "standard-webhooks"
category = "crm"
system = "flow"
secrets = ["{FLOW_SECRET}"]

[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:{sandbox_port}/xero"
tenant_id = "{XERO_TENANT}"
access_token = "{XERO_TOKEN}"
{limits}

[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:{sandbox_port}/hubspot"
access_token = "{HUBSPOT_TOKEN}"
{limits}

[[tenants]]
id = "globex"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["{STRIPE_SECRET}"]

[[tenants.sources]]
id = "hubspot"
provider = "hubspot"
secrets = ["{HUBSPOT_SECRET}"]

[[tenants.sources]]
id = "quickbooks"
provider = "quickbooks"
secrets = ["{QBO_VERIFIER}"]

[tenants.accounting]
system = "quickbooks"
base_url = "http://127.0.0.1:{sandbox_port}/quickbooks"
realm_id = "{QBO_REALM}"
access_token = "{QBO_TOKEN}"
{limits}

[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:{sandbox_port}/hubspot"
access_token = "{GLOBEX_HUBSPOT_TOKEN}"
{limits}

[[tenants]]
id = "initech"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["{STRIPE_SECRET}"]

[[tenants.sources]]
id = "salesforce"
provider = "standard-webhooks"
category = "crm"
system = "salesforce"
secrets = ["{FLOW_SECRET}"]

[[tenants.sources]]
id = "xero"
provider = "xero"
secrets = ["{XERO_KEY}"]

[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:{sandbox_port}/xero"
tenant_id = "{INITECH_XERO_TENANT}"
access_token = "{INITECH_XERO_TOKEN}"
{limits}

[tenants.crm]
system = "salesforce"
base_url = "http://127.0.0.1:{sandbox_port}/salesforce"
access_token = "{SF_TOKEN}"
{limits}
"#
    )
}

impl Env {
    /// Starts the router, the sandbox and `workers_each` processes' worth of workers per
    /// destination.
    pub async fn start(workers_each: usize) -> Env {
        Env::start_with(workers_each, None).await
    }

    /// As `start`, with sandbox options (raised limits, latency) and the config to match.
    pub async fn start_with(workers_each: usize, options: Option<Options>) -> Env {
        // `RUST_LOG=ledgerhook_workers=debug cargo test ... -- --nocapture` shows what happened.
        if std::env::var_os("RUST_LOG").is_some() {
            ledgerhook_shared::telemetry::init("e2e");
        }
        let prefix = format!("lhe2e-{}", Uuid::now_v7().simple());
        let TestDatabase {
            name: database,
            url: database_url,
        } = TestDatabase::create("lhe2e").await;
        let router_port = free_port();
        let sandbox_listener = TcpListener::bind("127.0.0.1:0").expect("bind sandbox");
        let sandbox_port = sandbox_listener.local_addr().expect("addr").port();
        let text = config_text(
            &prefix,
            router_port,
            sandbox_port,
            &database_url,
            options.is_some(),
        );
        let config = config::load(&text, &HashMap::new()).expect("e2e config loads");

        let router_stop = CancellationToken::new();
        let router = Application::build(config.clone(), router_stop.clone())
            .await
            .expect("router binds");
        assert!(
            router.wait_for_broker(Duration::from_secs(10)).await,
            "router reaches RabbitMQ"
        );
        let admin_url = format!("http://127.0.0.1:{}", router.admin_port());
        tokio::spawn(router.run_until_stopped());

        let sandbox_stop = CancellationToken::new();
        let sandbox = Sandbox::start_with(
            config.clone(),
            sandbox_listener,
            sandbox_stop.clone(),
            options.unwrap_or_default(),
        )
        .await
        .expect("sandbox starts");
        let sandbox_url = sandbox.base_url().to_owned();
        tokio::spawn(sandbox.stopped());

        let mut env = Env {
            config_text: text,
            prefix,
            database,
            database_url,
            config,
            router_url: format!("http://127.0.0.1:{router_port}"),
            admin_url,
            sandbox_url,
            http: reqwest::Client::new(),
            router_stop,
            sandbox_stop,
            workers: Vec::new(),
            worker_listeners: Vec::new(),
        };
        for _ in 0..workers_each {
            env.start_worker(Destination::Accounting).await;
            env.start_worker(Destination::Crm).await;
        }
        env
    }

    /// Starts one more worker process's worth of consumer for `destination`.
    pub async fn start_worker(&mut self, destination: Destination) {
        let store = Store::connect(&self.config.store.url, 12)
            .await
            .expect("store");
        let limits = SharedLimits::new();
        let tenants = targets::build(&self.config, &store, &limits).expect("targets");
        let sharing_store = store.clone();
        let worker = Arc::new(Worker::new(destination, &self.config, store, tenants));
        limits.report_to(worker.metrics().clone());
        let listener = OpsServer::bind(
            "127.0.0.1:0".parse().expect("addr"),
            Probes::for_worker(&worker),
        )
        .expect("worker listener binds");
        self.worker_listeners
            .push((destination, listener.local_addr()));
        let stop = CancellationToken::new();
        let run_stop = stop.clone();
        let handle = tokio::spawn(async move {
            // As the binaries do: the listener closes and the rate-limit part is given back
            // after the drain.
            let after_drain = CancellationToken::new();
            let served = tokio::spawn(listener.run_until(after_drain.clone()));
            let sharing = tokio::spawn(limits.run(sharing_store, after_drain.clone()));
            runtime::run(worker, 8, run_stop).await;
            after_drain.cancel();
            let _ = served.await;
            let _ = sharing.await;
        });
        self.workers.push((stop, handle));
    }

    /// Stops every worker of `destination`, as a deploy or a crash loop would; each drains
    /// first. `start_worker` brings one back.
    pub async fn stop_workers(&mut self, destination: Destination) {
        let mut kept = Vec::new();
        let mut kept_listeners = Vec::new();
        let workers = std::mem::take(&mut self.workers);
        let listeners = std::mem::take(&mut self.worker_listeners);
        for (worker, listener) in workers.into_iter().zip(listeners) {
            if listener.0 == destination {
                worker.0.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(10), worker.1).await;
            } else {
                kept.push(worker);
                kept_listeners.push(listener);
            }
        }
        self.workers = kept;
        self.worker_listeners = kept_listeners;
    }

    /// The base URLs (`http://127.0.0.1:<port>`) of the listeners of `destination`'s workers.
    pub fn worker_urls(&self, destination: Destination) -> Vec<String> {
        self.worker_listeners
            .iter()
            .filter(|(d, _)| *d == destination)
            .map(|(_, addr)| format!("http://{addr}"))
            .collect()
    }

    /// A Stripe-signed webhook to the router; returns the status.
    pub async fn post_stripe(&self, body: &[u8]) -> u16 {
        self.post_stripe_for("acme", body).await
    }

    /// As `post_stripe`, to another tenant's Stripe source.
    pub async fn post_stripe_for(&self, tenant: &str, body: &[u8]) -> u16 {
        let t = chrono::Utc::now().timestamp();
        let mut mac = Hmac::<Sha256>::new_from_slice(STRIPE_SECRET.as_bytes()).expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        let signature = format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()));
        self.http
            .post(format!("{}/webhooks/{tenant}/stripe", self.router_url))
            .header("Stripe-Signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .expect("router answers")
            .status()
            .as_u16()
    }

    /// A canonical event from the `flow` source, signed per Standard Webhooks.
    pub async fn post_flow(&self, id: &str, body: &Value) -> u16 {
        self.post_standard_webhook("acme", "flow", id, body).await
    }

    /// The sandbox's whole state.
    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/_sandbox/state", self.sandbox_url))
            .send()
            .await
            .expect("sandbox answers")
            .json()
            .await
            .expect("state is JSON")
    }

    /// Calls the sandbox's HubSpot API as a HubSpot user's integration would.
    pub async fn hubspot(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.hubspot_as(HUBSPOT_TOKEN, method, path, body).await
    }

    /// As `hubspot`, in the portal the token belongs to.
    pub async fn hubspot_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Value {
        self.http
            .request(method, format!("{}/hubspot{path}", self.sandbox_url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("sandbox answers")
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    /// Calls the sandbox's Xero API as a Xero user's integration would; returns the JSON answer.
    pub async fn xero(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.http
            .request(
                method,
                format!("{}/xero/api.xro/2.0/{path}", self.sandbox_url),
            )
            .bearer_auth(XERO_TOKEN)
            .header("xero-tenant-id", XERO_TENANT)
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .expect("sandbox answers")
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    /// Sets the sandbox's fault injection (`/_sandbox/faults`).
    pub async fn faults(&self, faults: Value) {
        let answer = self
            .http
            .post(format!("{}/_sandbox/faults", self.sandbox_url))
            .json(&faults)
            .send()
            .await
            .expect("sandbox answers");
        assert!(answer.status().is_success(), "faults accepted");
    }

    pub async fn clear_faults(&self) {
        self.http
            .delete(format!("{}/_sandbox/faults", self.sandbox_url))
            .send()
            .await
            .expect("sandbox answers");
    }

    /// Polls `check` on the sandbox state until it holds or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let state = self.state().await;
            if check(&state) {
                return state;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; sandbox state: {state:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Rows of the store's journal, for assertions about what the workers did.
    pub async fn journal(&self, step: &str) -> Vec<(String, String, String)> {
        let (client, conn) = tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls)
            .await
            .expect("store");
        tokio::spawn(conn);
        client
            .query(
                "SELECT coalesce(destination, ''), coalesce(event_type, ''), coalesce(detail, '')
                 FROM journal WHERE step = $1 ORDER BY id",
                &[&step],
            )
            .await
            .expect("journal")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    /// Stops everything and removes the queues and the database.
    pub async fn finish(self) {
        for (stop, handle) in self.workers {
            stop.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
        self.router_stop.cancel();
        self.sandbox_stop.cancel();
        ledgerhook_tests::load::delete_topology(AMQP, &self.config.broker.topology()).await;
        drop_database(&self.database).await;
    }
}

/// Creates a HubSpot contact, line items and an open invoice numbered `number` through the
/// sandbox's HubSpot API, as a user working in HubSpot would; returns the invoice id.
pub async fn hubspot_invoice(env: &Env, number: &str, lines: &[(&str, &str, &str)]) -> String {
    hubspot_invoice_as(env, HUBSPOT_TOKEN, number, lines).await
}

/// As `hubspot_invoice`, in the portal `token` belongs to.
pub async fn hubspot_invoice_as(
    env: &Env,
    token: &str,
    number: &str,
    lines: &[(&str, &str, &str)],
) -> String {
    let contact = env
        .hubspot_as(
            token,
            reqwest::Method::POST,
            "/crm/v3/objects/contacts/batch/upsert",
            serde_json::json!({ "inputs": [{ "id": "jenny.rosen@example.com", "idProperty": "email",
                "properties": { "email": "jenny.rosen@example.com", "firstname": "Jenny", "lastname": "Rosen" } }] }),
        )
        .await;
    let contact_id = contact["results"][0]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let assoc = |id: &str, type_id: u32| serde_json::json!({ "to": { "id": id }, "types": [{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id }] });
    let mut associations = vec![assoc(&contact_id, 177)];
    for (name, quantity, price) in lines {
        let line = env
            .hubspot_as(
                token,
                reqwest::Method::POST,
                "/crm/v3/objects/line_items",
                serde_json::json!({ "properties": { "name": name, "quantity": quantity, "price": price } }),
            )
            .await;
        associations.push(assoc(line["id"].as_str().expect("line item id"), 409));
    }
    let invoice = env
        .hubspot_as(
            token,
            reqwest::Method::POST,
            "/crm/v3/objects/invoices",
            serde_json::json!({
                "properties": {
                    "hs_currency": "USD", "hs_number": number, "hs_invoice_status": "open",
                    "hs_invoice_date": "2026-12-01", "hs_due_date": "2026-12-31"
                },
                "associations": associations,
            }),
        )
        .await;
    invoice["id"]
        .as_str()
        .unwrap_or_else(|| panic!("invoice created: {invoice:#}"))
        .to_owned()
}

/// A Stripe `invoice.paid` event for an invoice numbered `number`, paid in full.
pub fn stripe_invoice_paid(
    event_id: &str,
    invoice_id: &str,
    number: &str,
    total_minor: i64,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": event_id, "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "type": "invoice.paid",
        "data": { "object": {
            "id": invoice_id, "object": "invoice", "number": number, "status": "paid",
            "currency": "usd", "customer": "cus_NeZwdNtLEOXuvB", "customer_email": "jenny.rosen@example.com",
            "customer_name": "Jenny Rosen", "created": 1_764_600_000, "subtotal": total_minor, "total": total_minor,
            "amount_due": total_minor, "amount_paid": total_minor, "amount_remaining": 0,
            "status_transitions": { "finalized_at": 1_764_600_100, "paid_at": 1_764_700_000 },
            "lines": { "object": "list", "data": [] }
        }}
    }))
    .expect("json")
}

/// Sandbox limits far above what a test sends, so a stream of hundreds of events is not paced
/// by the providers' real quotas.
pub fn high_limits() -> Options {
    Options::default().without_rate_limits()
}

/// A JSON number as an exact decimal (the simulated APIs write amounts as numbers).
pub fn dec(v: &Value) -> rust_decimal::Decimal {
    use std::str::FromStr;
    rust_decimal::Decimal::from_str(&v.to_string())
        .unwrap_or_else(|_| panic!("{v} is not a number"))
}

impl Env {
    /// Calls the sandbox's Salesforce REST API (`services/data/v60.0/<path>`) as an integration
    /// user of tenant `initech`'s org would; returns the status and the JSON answer.
    pub async fn salesforce(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(
                method,
                format!("{}/salesforce/services/data/v60.0/{path}", self.sandbox_url),
            )
            .bearer_auth(SF_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("sandbox answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// As `xero`, in another Xero organisation (its token and tenant id).
    pub async fn xero_in(
        &self,
        token: &str,
        xero_tenant: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Value {
        self.http
            .request(
                method,
                format!("{}/xero/api.xro/2.0/{path}", self.sandbox_url),
            )
            .bearer_auth(token)
            .header("xero-tenant-id", xero_tenant)
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .expect("sandbox answers")
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    /// A Standard Webhooks message signed with `FLOW_SECRET`, to any tenant's source of that
    /// provider (`post_flow` is acme's `flow`).
    pub async fn post_standard_webhook(
        &self,
        tenant: &str,
        source: &str,
        id: &str,
        body: &Value,
    ) -> u16 {
        use base64::Engine;
        let body = serde_json::to_vec(body).expect("json");
        let ts = chrono::Utc::now().timestamp().to_string();
        let key = base64::engine::general_purpose::STANDARD
            .decode(FLOW_SECRET.trim_start_matches("whsec_"))
            .expect("base64 secret");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        for part in [id.as_bytes(), b".", ts.as_bytes(), b".", &body] {
            mac.update(part);
        }
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        self.http
            .post(format!("{}/webhooks/{tenant}/{source}", self.router_url))
            .header("webhook-id", id)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", format!("v1,{signature}"))
            .body(body)
            .send()
            .await
            .expect("router answers")
            .status()
            .as_u16()
    }
}

impl Env {
    /// `GET` on the admin API with the support token; the status and the JSON answer.
    pub async fn admin_get(&self, path_and_query: &str) -> (u16, Value) {
        let answer = self
            .http
            .get(format!("{}{path_and_query}", self.admin_url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin API answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// `POST` on the admin API with the support token; the status and the JSON answer.
    pub async fn admin_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let answer = self
            .http
            .post(format!("{}{path}", self.admin_url))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .expect("admin API answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// Polls the admin API's dead-letter list (`query` without the `?`) until `check` holds.
    pub async fn wait_for_dead_letters(
        &self,
        timeout: Duration,
        query: &str,
        what: &str,
        check: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (status, list) = self
                .admin_get(&format!("/api/v1/dead-letters?limit=500&{query}"))
                .await;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            if status == 200 && check(&items) {
                return items;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; dead letters ({status}): {list:#}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Env {
    /// Calls the sandbox's QuickBooks Online API for tenant `globex`'s company
    /// (`v3/company/<realm>/<path>`); returns the JSON answer.
    pub async fn quickbooks(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .http
            .request(
                method,
                format!(
                    "{}/quickbooks/v3/company/{QBO_REALM}/{path}",
                    self.sandbox_url
                ),
            )
            .bearer_auth(QBO_TOKEN)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .expect("sandbox answers")
            .json()
            .await
            .unwrap_or(Value::Null)
    }
}

/// The HubSpot invoice numbered `number` in `tenant`'s portal and the line items associated
/// with it, from a sandbox state dump.
pub fn hubspot_invoice_with_lines<'a>(
    state: &'a Value,
    tenant: &str,
    number: &str,
) -> Option<(&'a Value, Vec<&'a Value>)> {
    let objects = &state["hubspot"][tenant]["objects"];
    let invoice = objects["invoices"]
        .as_array()?
        .iter()
        .find(|i| i["properties"]["hs_number"] == number)?;
    let ids: Vec<&Value> = invoice["associations"]["line_items"]["results"]
        .as_array()
        .map(|r| r.iter().map(|a| &a["id"]).collect())
        .unwrap_or_default();
    let lines = objects["line_items"]
        .as_array()
        .map(|all| all.iter().filter(|l| ids.contains(&&l["id"])).collect())
        .unwrap_or_default();
    Some((invoice, lines))
}

/// A Stripe `payment_intent.succeeded` event (API 2024-06-20, which names the invoice paid).
pub fn stripe_payment_intent_for(
    event_id: &str,
    payment_intent: &str,
    invoice_id: &str,
    amount_minor: i64,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": event_id, "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "type": "payment_intent.succeeded",
        "data": { "object": {
            "id": payment_intent, "object": "payment_intent", "amount": amount_minor,
            "amount_received": amount_minor, "currency": "usd", "status": "succeeded",
            "customer": "cus_NeZwdNtLEOXuvB", "invoice": invoice_id,
            "payment_method_types": ["card"], "created": 1_764_700_000
        }}
    }))
    .expect("json")
}

/// A Stripe refund object, as `refund.created` and an expanded charge's `refunds` carry it.
pub fn stripe_refund_object(
    refund_id: &str,
    charge_id: &str,
    payment_intent: &str,
    amount_minor: i64,
) -> serde_json::Value {
    serde_json::json!({
        "id": refund_id, "object": "refund", "amount": amount_minor, "currency": "usd",
        "charge": charge_id, "payment_intent": payment_intent, "reason": "requested_by_customer",
        "status": "succeeded", "created": chrono::Utc::now().timestamp(), "metadata": {}
    })
}

/// A Stripe `refund.created` event for one refund of a payment intent's charge.
pub fn stripe_refund_created(
    event_id: &str,
    refund_id: &str,
    charge_id: &str,
    payment_intent: &str,
    amount_minor: i64,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": event_id, "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "type": "refund.created",
        "data": { "object": stripe_refund_object(refund_id, charge_id, payment_intent, amount_minor) }
    }))
    .expect("json")
}

/// A Stripe `charge.refunded` event: the charge's refunded total, the sum of `refunds`, with
/// the refunds `listed` (as API versions before 2022-11-15 send them, or when expanded) or
/// without them (the default since).
pub fn stripe_charge_refunded(
    event_id: &str,
    charge_id: &str,
    payment_intent: &str,
    amount_minor: i64,
    refunds: &[(&str, i64)],
    listed: bool,
) -> Vec<u8> {
    let amount_refunded: i64 = refunds.iter().map(|(_, a)| a).sum();
    let mut charge = serde_json::json!({
        "id": charge_id, "object": "charge", "amount": amount_minor,
        "amount_captured": amount_minor, "amount_refunded": amount_refunded, "currency": "usd",
        "customer": "cus_NeZwdNtLEOXuvB", "payment_intent": payment_intent, "paid": true,
        "refunded": amount_refunded == amount_minor, "status": "succeeded"
    });
    if listed {
        let data: Vec<serde_json::Value> = refunds
            .iter()
            .map(|(id, amount)| stripe_refund_object(id, charge_id, payment_intent, *amount))
            .collect();
        charge["refunds"] = serde_json::json!({ "object": "list", "data": data });
    }
    serde_json::to_vec(&serde_json::json!({
        "id": event_id, "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "type": "charge.refunded",
        "data": { "object": charge }
    }))
    .expect("json")
}

/// A CRM invoice created, as the `flow` source (Standard Webhooks in ledgerhook's vocabulary)
/// sends it: one line of `total` USD.
pub fn flow_invoice_created(id: &str, number: &str, total: &str) -> Value {
    serde_json::json!({
        "type": "invoice.created",
        "timestamp": "2026-12-01T10:00:00Z",
        "data": {
            "object": "invoice", "id": id, "number": number, "status": "open",
            "currency": "USD",
            "customer": { "id": "001ACME", "name": "Acme Ltd", "email": "ap@acme.example" },
            "lines": [{ "description": "Retainer", "quantity": "1", "unit_price": total,
                        "amount": { "amount": total, "currency": "USD" } }],
            "total": { "amount": total, "currency": "USD" },
            "updated_at": "2026-12-01T10:00:00Z"
        }
    })
}

/// How many invoices the sandbox's Xero organisation of tenant `acme` holds.
pub fn xero_invoice_count(state: &Value) -> usize {
    state["xero"][XERO_TENANT]["invoices"]
        .as_array()
        .map_or(0, Vec::len)
}
