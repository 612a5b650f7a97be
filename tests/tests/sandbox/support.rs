//! Harness for the sandbox tests: a sandbox on port 0 whose config points webhooks at a small
//! receiver that records them, and the router's own verification of what it received.

#![allow(dead_code)]

use std::{
    net::TcpListener,
    str::FromStr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use chrono::Utc;
use ledgerhook_router::providers::{Keys, Normalized, RawWebhook};
use ledgerhook_shared::config::{self, ProviderKind};
use ledgerhook_tests::sandbox::{Options, Sandbox};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use url::Url;

pub const XERO_KEY: &str = "xero-webhook-key-for-sandbox-tests-0123456789";
pub const HUBSPOT_SECRET: &str = "hubspot-client-secret-for-sandbox-tests";
pub const XERO_TENANT: &str = "7d6c6a2e-1f0b-4c39-9a0e-5b8f5d8c0a11";
pub const GLOBEX_XERO_TENANT: &str = "2b1c9f44-87a1-4d1e-b7de-0c6a3b9e2f20";
pub const XERO_TOKEN: &str = "acme-xero-static-token";
pub const HUBSPOT_TOKEN: &str = "acme-hubspot-private-app-token";
pub const QBO_VERIFIER: &str = "initech-intuit-verifier-token";
pub const QBO_REALM: &str = "9130355";
pub const UMBRELLA_REALM: &str = "4620816365";
pub const QBO_TOKEN: &str = "initech-qbo-static-token";
/// The Standard Webhooks spec's own test secret.
pub const SF_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const SF_TOKEN: &str = "00Dinitech!salesforce-static-session";
/// The signing secret of acme's Stripe source, and the secret key of acme's Stripe account.
pub const STRIPE_WHSEC: &str = "whsec_sandboxTestsStripeEndpointSecret0123";
pub const STRIPE_KEY: &str = "sk_test_acme";

/// Tenant `acme` (static tokens, Xero, HubSpot and Stripe sources), tenant `globex` (OAuth
/// credentials, no sources), tenant `initech` (QuickBooks and Salesforce with static tokens and
/// sources) and tenant `umbrella` (QuickBooks and Salesforce OAuth credentials, no sources).
fn config_text(receiver: &str) -> String {
    format!(
        r#"
[router]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
public_base_url = "{receiver}"

[broker]
url = "amqp://guest:guest@127.0.0.1:5672/%2f"

[store]
url = "postgres://postgres@127.0.0.1:5432/ledgerhook"

[[tenants]]
id = "acme"

[[tenants.sources]]
id = "xero"
provider = "xero"
secrets = ["an-older-xero-key-being-rotated", "{XERO_KEY}"]

[[tenants.sources]]
id = "hubspot"
provider = "hubspot"
secrets = ["{HUBSPOT_SECRET}"]

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["{STRIPE_WHSEC}"]

[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:9/xero"
tenant_id = "{XERO_TENANT}"
access_token = "{XERO_TOKEN}"

[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:9/hubspot"
access_token = "{HUBSPOT_TOKEN}"

[[tenants]]
id = "globex"

[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:9/xero"
tenant_id = "{GLOBEX_XERO_TENANT}"
client_id = "globex-xero-client"
client_secret = "globex-xero-secret"
refresh_token = "globex-xero-refresh-0"

[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:9/hubspot"
client_id = "globex-hubspot-client"
client_secret = "globex-hubspot-secret"
refresh_token = "globex-hubspot-refresh-0"

[[tenants]]
id = "initech"

[[tenants.sources]]
id = "quickbooks"
provider = "quickbooks"
secrets = ["{QBO_VERIFIER}"]

[[tenants.sources]]
id = "salesforce"
provider = "standard-webhooks"
category = "crm"
system = "salesforce"
secrets = ["{SF_SECRET}"]

[tenants.accounting]
system = "quickbooks"
base_url = "http://127.0.0.1:9/quickbooks"
realm_id = "{QBO_REALM}"
access_token = "{QBO_TOKEN}"

[tenants.crm]
system = "salesforce"
base_url = "http://127.0.0.1:9/salesforce"
access_token = "{SF_TOKEN}"

[[tenants]]
id = "umbrella"

[tenants.accounting]
system = "quickbooks"
base_url = "http://127.0.0.1:9/quickbooks"
realm_id = "{UMBRELLA_REALM}"
client_id = "umbrella-qbo-client"
client_secret = "umbrella-qbo-secret"
refresh_token = "umbrella-qbo-refresh-0"

[tenants.crm]
system = "salesforce"
base_url = "http://127.0.0.1:9/salesforce"
client_id = "umbrella-sf-consumer-key"
client_secret = "umbrella-sf-consumer-secret"
refresh_token = "umbrella-sf-refresh-0"
"#
    )
}

/// One webhook as the receiver got it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

#[derive(Debug, Default)]
struct Received {
    hits: Mutex<Vec<Hit>>,
    /// Requests still to answer with 503 before answering 200.
    fail_first: AtomicUsize,
}

async fn record(req: HttpRequest, body: Bytes, state: web::Data<Received>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let hit = Hit {
        path: req.path().to_owned(),
        headers,
        body,
    };
    state.hits.lock().expect("hits").push(hit);
    let failing = state
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        HttpResponse::ServiceUnavailable().finish()
    } else {
        HttpResponse::Ok().finish()
    }
}

pub struct Env {
    pub url: String,
    pub receiver_url: String,
    pub client: reqwest::Client,
    received: Arc<Received>,
    shutdown: CancellationToken,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(Options::default(), 0).await
    }

    /// `fail_first`: how many webhook deliveries the receiver refuses with 503 first.
    pub async fn start_with(options: Options, fail_first: usize) -> Env {
        let received = Arc::new(Received::default());
        received.fail_first.store(fail_first, Ordering::SeqCst);
        let shutdown = CancellationToken::new();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let receiver_url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let data = web::Data::from(received.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let stop = shutdown.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            handle.stop(false).await;
        });

        let config =
            config::load(&config_text(&receiver_url), &Default::default()).expect("config");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind sandbox");
        let sandbox = Sandbox::start_with(config, listener, shutdown.clone(), options)
            .await
            .expect("sandbox");
        Env {
            url: sandbox.base_url().to_owned(),
            receiver_url,
            client: reqwest::Client::new(),
            received,
            shutdown,
        }
    }

    /// A request to the sandbox's Xero API as tenant acme.
    pub fn xero(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/xero/api.xro/2.0/{path}", self.url))
            .bearer_auth(XERO_TOKEN)
            .header("xero-tenant-id", XERO_TENANT)
            .header("Accept", "application/json")
    }

    /// A request to the sandbox's HubSpot API as tenant acme.
    pub fn hubspot(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/hubspot/{path}", self.url))
            .bearer_auth(HUBSPOT_TOKEN)
    }

    /// A request to the sandbox's QuickBooks API as tenant initech, `path` under the company.
    pub fn qbo(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(
                method,
                format!("{}/quickbooks/v3/company/{QBO_REALM}/{path}", self.url),
            )
            .bearer_auth(QBO_TOKEN)
            .header("Accept", "application/json")
    }

    /// A request to the sandbox's Salesforce REST API (v60.0) as tenant initech.
    pub fn salesforce(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(
                method,
                format!("{}/salesforce/services/data/v60.0/{path}", self.url),
            )
            .bearer_auth(SF_TOKEN)
    }

    /// A request to the sandbox's Stripe API as tenant acme; `params` are form-encoded.
    pub fn stripe(
        &self,
        method: reqwest::Method,
        path: &str,
        params: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method.clone(), format!("{}/stripe/v1/{path}", self.url))
            .bearer_auth(STRIPE_KEY);
        if method == reqwest::Method::GET {
            request.query(params)
        } else {
            request.form(params)
        }
    }

    pub async fn state(&self) -> Value {
        let answer = self
            .client
            .get(format!("{}/_sandbox/state", self.url))
            .send()
            .await
            .expect("state");
        answer.json().await.expect("state json")
    }

    pub async fn faults(&self, spec: Value) {
        let answer = self
            .client
            .post(format!("{}/_sandbox/faults", self.url))
            .json(&spec)
            .send()
            .await
            .expect("faults");
        assert_eq!(answer.status(), 200, "setting faults {spec}");
    }

    pub async fn clear_faults(&self) {
        let url = format!("{}/_sandbox/faults", self.url);
        let answer = self.client.delete(url).send().await.expect("clear");
        assert_eq!(answer.status(), 200);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.received.hits.lock().expect("hits").clone()
    }

    /// Waits up to 10 s for the received webhooks to satisfy `done`.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let start = Instant::now();
        loop {
            let hits = self.hits();
            if done(&hits) {
                return hits;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}: {hits:#?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Verifies a received webhook exactly as the router does, and normalizes it.
    pub fn verify(&self, hit: &Hit) -> (ProviderKind, Normalized) {
        let (provider, secret) = if hit.path.ends_with("/xero") {
            (ProviderKind::Xero, XERO_KEY)
        } else if hit.path.ends_with("/quickbooks") {
            (ProviderKind::Quickbooks, QBO_VERIFIER)
        } else if hit.path.ends_with("/salesforce") {
            (ProviderKind::StandardWebhooks, SF_SECRET)
        } else if hit.path.ends_with("/stripe") {
            (ProviderKind::Stripe, STRIPE_WHSEC)
        } else {
            (ProviderKind::Hubspot, HUBSPOT_SECRET)
        };
        let url = Url::parse(&format!("{}{}", self.receiver_url, hit.path)).expect("url");
        let raw = RawWebhook::new("POST", url, hit.headers.clone(), hit.body.clone());
        let secrets = [SecretString::from(secret)];
        let keys = Keys {
            secrets: &secrets,
            tolerance: Duration::from_secs(300),
            now: Utc::now(),
        };
        let verified = raw
            .verify(provider, &keys)
            .unwrap_or_else(|e| panic!("signature of {hit:?}: {e}"));
        let normalized = verified
            .normalize(provider)
            .unwrap_or_else(|e| panic!("payload of {hit:?}: {e}"));
        (provider, normalized)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A JSON number or numeric string as an exact decimal (the test's serde_json keeps numbers as
/// f64, whose shortest text is exact for amounts of 15 digits or fewer).
pub fn dec(v: &Value) -> Decimal {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Decimal::from_str(&text).unwrap_or_else(|_| panic!("{v} is not a decimal"))
}

pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

/// The JSON body of an answer, asserting its status first.
pub async fn body(answer: reqwest::Response, status: u16) -> Value {
    let got = answer.status().as_u16();
    let text = answer.text().await.expect("body");
    assert_eq!(got, status, "answer: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// The raw text of an answer, asserting its status first.
pub async fn text(answer: reqwest::Response, status: u16) -> String {
    let got = answer.status().as_u16();
    let text = answer.text().await.expect("body");
    assert_eq!(got, status, "answer: {text}");
    text
}
