//! OAuth2 token handling against a real PostgreSQL (a database per test) and the sandbox's token
//! endpoints, which rotate the refresh token on every refresh; wiremock where the sandbox cannot
//! play the part (a re-authorised connection, a provider that does not rotate).

use std::{net::TcpListener, time::Duration};

use chrono::Utc;
use ledgerhook_shared::{
    config::{self, Config},
    store::{self, Store, TokenSet},
};
use ledgerhook_tests::{
    database::{drop_database, TestDatabase},
    sandbox::{Options, Sandbox},
};
use ledgerhook_workers::{
    auth::{ClientAuth, OAuthConfig, TokenHandle},
    connectors::ApplyError,
    targets,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use wiremock::{
    matchers::{body_string_contains, method},
    Mock, MockServer, ResponseTemplate,
};

const XERO_TENANT: &str = "0b4c4e2e-6f0a-4e43-9d8a-7c3a1b2c3d4e";
const XERO_REFRESH: &str = "xero-initial-refresh-token";
const XERO_SECRET: &str = "xero-client-secret-value";
const HUBSPOT_REFRESH: &str = "hubspot-initial-refresh-token";
const HUBSPOT_SECRET: &str = "hubspot-client-secret-value";

/// A database of its own; the test drops it at its end.
async fn fresh_database() -> (String, String) {
    let db = TestDatabase::create("lhoauth").await;
    (db.name, db.url)
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

async fn connect(url: &str) -> Store {
    Store::connect(&secret(url), 4)
        .await
        .expect("store connects and migrates")
}

struct Env {
    config: Config,
    sandbox_url: String,
    http: reqwest::Client,
    database: String,
    url: String,
    store: Store,
    stop: CancellationToken,
}

impl Env {
    async fn start(options: Options) -> Env {
        let (database, url) = fresh_database().await;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let text = format!(
            r#"
[router]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:9"
[broker]
url = "amqp://guest:guest@127.0.0.1:5672/%2f"
[store]
url = "{url}"
[[tenants]]
id = "acme"
[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:{port}/xero"
tenant_id = "{XERO_TENANT}"
client_id = "xero-client"
client_secret = "{XERO_SECRET}"
refresh_token = "{XERO_REFRESH}"
[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:{port}/hubspot"
client_id = "hubspot-client"
client_secret = "{HUBSPOT_SECRET}"
refresh_token = "{HUBSPOT_REFRESH}"
"#
        );
        let config = config::load(&text, &Default::default()).expect("config");
        let stop = CancellationToken::new();
        let sandbox = Sandbox::start_with(config.clone(), listener, stop.clone(), options)
            .await
            .expect("sandbox starts");
        let store = connect(&url).await;
        Env {
            config,
            sandbox_url: sandbox.base_url().to_owned(),
            http: reqwest::Client::new(),
            database,
            url,
            store,
            stop,
        }
    }

    /// The handle `targets::build` gives `system` ("xero" or "hubspot"), on `store`.
    fn handle(&self, system: &str, store: &Store) -> TokenHandle {
        let tenant = &self.config.tenants[0];
        let target = [&tenant.accounting, &tenant.crm]
            .into_iter()
            .flatten()
            .find(|t| t.system == system)
            .expect("target");
        targets::token("acme", target, store).expect("handle")
    }

    /// Access and refresh token pairs the sandbox has issued so far.
    async fn issued(&self) -> u64 {
        let state: Value = self
            .http
            .get(format!("{}/_sandbox/state", self.sandbox_url))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("state")
            .json()
            .await
            .expect("state json");
        state["tokens"]["issued"].as_u64().expect("issued counter")
    }

    async fn stored(&self, connection: &str) -> TokenSet {
        let client = self.store.client().await.expect("client");
        store::token_get(&client, connection)
            .await
            .expect("read")
            .expect("a stored token set")
    }

    /// The status the sandbox's `system` API answers to a read with `token`.
    async fn api_status(&self, system: &str, token: &str) -> u16 {
        let path = match system {
            "xero" => "xero/api.xro/2.0/Contacts",
            _ => "hubspot/crm/v3/objects/contacts",
        };
        let url = format!("{}/{path}", self.sandbox_url);
        let request = self.http.get(url).bearer_auth(token);
        let answer = request.header("xero-tenant-id", XERO_TENANT).send().await;
        answer.expect("sandbox answers").status().as_u16()
    }

    async fn faults(&self, spec: Value) {
        let url = format!("{}/_sandbox/faults", self.sandbox_url);
        let answer = self.http.post(url).json(&spec).send().await;
        answer
            .and_then(|r| r.error_for_status())
            .expect("faults set");
    }

    async fn stop(self) {
        self.stop.cancel();
        drop_database(&self.database).await;
    }
}

#[tokio::test]
async fn first_use_refreshes_with_the_configured_token_and_persists_the_rotated_one() {
    let env = Env::start(Options::default()).await;
    for (system, configured) in [("xero", XERO_REFRESH), ("hubspot", HUBSPOT_REFRESH)] {
        let handle = env.handle(system, &env.store);
        let token = handle.bearer().await.expect("refreshed");
        let stored = env.stored(&format!("acme/{system}")).await;
        assert_eq!(stored.access_token.expose_secret(), token);
        assert_ne!(stored.refresh_token.expose_secret(), configured, "rotated");
        assert!(stored.expires_at > Utc::now() + chrono::Duration::minutes(29));
        // Cached while it has time left: no second refresh.
        assert_eq!(handle.bearer().await.expect("cached"), token);
        assert_eq!(env.api_status(system, &token).await, 200);
        let debug = format!("{handle:?}");
        for secret in [token.as_str(), configured, XERO_SECRET, HUBSPOT_SECRET] {
            assert!(!debug.contains(secret), "Debug leaks a secret: {debug}");
        }
    }
    assert_eq!(env.issued().await, 2);
    env.stop().await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_a_restart_uses_the_stored_refresh_token() {
    let env = Env::start(Options {
        access_token_lifetime: Duration::from_secs(2),
        ..Options::default()
    })
    .await;
    let first = env.handle("hubspot", &env.store);
    let old = first.bearer().await.expect("first refresh");
    assert_eq!(first.bearer().await.expect("cached"), old);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let new = first.bearer().await.expect("refreshed after expiry");
    assert_ne!(new, old);
    assert_eq!(env.issued().await, 2);
    assert_eq!(
        env.api_status("hubspot", &old).await,
        401,
        "the old token expired"
    );
    assert_eq!(env.api_status("hubspot", &new).await, 200);
    let rotated = env.stored("acme/hubspot").await.refresh_token;

    // A restart: a new handle and pool. The stored access token is still good, so it is used.
    drop(first);
    let store = connect(&env.url).await;
    let restarted = env.handle("hubspot", &store);
    assert_eq!(restarted.bearer().await.expect("stored token"), new);
    assert_eq!(env.issued().await, 2);
    // Once it expires, the rotated refresh token from the store is used: the configured one
    // was retired by the first refresh and HubSpot refuses it.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let third = restarted.bearer().await.expect("refreshed from the store");
    assert_ne!(third, new);
    assert_eq!(env.issued().await, 3);
    let stored = env.stored("acme/hubspot").await;
    assert_ne!(
        stored.refresh_token.expose_secret(),
        rotated.expose_secret()
    );
    env.stop().await;
}

#[tokio::test]
async fn after_a_401_the_next_bearer_is_a_new_token() {
    let env = Env::start(Options::default()).await;
    let handle = env.handle("xero", &env.store);
    let first = handle.bearer().await.expect("token");
    handle.invalidate();
    let second = handle.bearer().await.expect("token");
    assert_ne!(first, second);
    assert_eq!(
        env.stored("acme/xero").await.access_token.expose_secret(),
        second
    );
    assert_eq!(env.issued().await, 2);
    env.stop().await;
}

#[tokio::test]
async fn two_processes_and_their_tasks_refresh_once() {
    let env = Env::start(Options::default()).await;
    // Slow token endpoint, so that every caller arrives while the refresh is in flight.
    env.faults(json!({ "system": "hubspot", "latency_ms": 300 }))
        .await;
    let other_process = connect(&env.url).await;
    let a = env.handle("hubspot", &env.store);
    let b = env.handle("hubspot", &other_process);
    let calls = (0..8).map(|i| {
        let handle = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { handle.bearer().await }
    });
    let tokens: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every caller gets a token");
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_eq!(env.issued().await, 1);
    env.stop().await;
}

#[tokio::test]
async fn a_refused_refresh_token_is_permanent_and_a_failing_endpoint_transient() {
    // No grace: Xero would otherwise accept the retired token for 30 minutes.
    let options = Options {
        refresh_grace: Duration::ZERO,
        ..Options::default()
    };
    let env = Env::start(options).await;
    for system in ["xero", "hubspot"] {
        // Refresh once, then forget the store's chain: the configured token is now retired.
        env.handle(system, &env.store)
            .bearer()
            .await
            .expect("token");
        let (database, url) = fresh_database().await;
        let restarted = env.handle(system, &connect(&url).await);
        match restarted.bearer().await {
            Err(ApplyError::Permanent { reason }) => {
                assert!(reason.contains("re-authorise"), "{reason}");
                assert!(reason.contains(&format!("acme/{system}")), "{reason}");
            }
            other => panic!("{system}: expected a permanent error, got {other:?}"),
        }
        drop_database(&database).await;
    }
    env.faults(json!({ "system": "xero", "fail_next": 1, "status": 503 }))
        .await;
    let handle = env.handle("xero", &env.store);
    let stored = env.stored("acme/xero").await;
    // Expire the stored set, or the new handle would simply use it.
    let client = env.store.client().await.expect("client");
    let expired = TokenSet {
        expires_at: Utc::now() - chrono::Duration::seconds(1),
        ..stored.clone()
    };
    store::token_put(&client, "acme/xero", &expired)
        .await
        .expect("put");
    assert!(matches!(
        handle.bearer().await,
        Err(ApplyError::Transient { .. })
    ));
    let after = env.stored("acme/xero").await.refresh_token;
    let before = stored.refresh_token.expose_secret();
    assert_eq!(
        after.expose_secret(),
        before,
        "a failed refresh changes nothing"
    );
    handle
        .bearer()
        .await
        .expect("refreshed once the fault is over");
    env.stop().await;
}

#[tokio::test]
async fn a_reauthorised_connection_starts_again_from_the_configured_token() {
    let (database, url) = fresh_database().await;
    let store = connect(&url).await;
    let server = MockServer::start().await;
    // The stored chain was revoked; the operator put a new refresh token in the config.
    let revoked = TokenSet {
        access_token: secret("old-access"),
        refresh_token: secret("revoked-refresh"),
        expires_at: Utc::now() - chrono::Duration::minutes(5),
        issued_at: Utc::now() - chrono::Duration::minutes(35),
        seed: Some("fingerprint-of-the-previous-configured-token".to_owned()),
    };
    let client = store.client().await.expect("client");
    store::token_put(&client, "acme/salesforce", &revoked)
        .await
        .expect("put");
    Mock::given(method("POST"))
        .and(body_string_contains("refresh_token=revoked-refresh"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .expect(1)
        .mount(&server)
        .await;
    // Salesforce-like: no rotation and no expires_in; client credentials in the form.
    Mock::given(method("POST"))
        .and(body_string_contains("refresh_token=reauthorised-refresh"))
        .and(body_string_contains("client_secret=sf-secret"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "sf-access"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let config = OAuthConfig {
        connection: "acme/salesforce".to_owned(),
        client_id: "sf-client".to_owned(),
        client_secret: secret("sf-secret"),
        refresh_token: secret("reauthorised-refresh"),
        token_url: format!("{}/token", server.uri()).parse().expect("url"),
        client_auth: ClientAuth::for_system("salesforce"),
    };
    let handle = TokenHandle::oauth(config, store.clone()).expect("handle");
    assert_eq!(handle.bearer().await.expect("token"), "sf-access");
    let stored = store::token_get(&client, "acme/salesforce")
        .await
        .expect("read")
        .expect("set");
    assert_eq!(stored.refresh_token.expose_secret(), "reauthorised-refresh");
    assert!(stored.expires_at > Utc::now() + chrono::Duration::minutes(10));
    assert_ne!(stored.seed, revoked.seed);
    drop((client, store));
    drop_database(&database).await;
}
