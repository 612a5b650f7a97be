//! The config loader: a valid file loads into domain types, and every way a file can be wrong
//! fails with an error that names the offending key.

use std::collections::HashMap;

use ledgerhook_shared::{
    broker::Destination,
    config::{self, Credentials, ProviderKind},
    Category,
};
use secrecy::ExposeSecret;

const VALID: &str = r#"
[router]
listen = "0.0.0.0:8080"
admin_listen = "127.0.0.1:9090"
public_base_url = "https://hooks.example.com"
max_body_bytes = 1048576

[broker]
url = "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
prefix = "ledgerhook"

[store]
url = "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ledgerhook}"

[admin]
tokens = ["${LEDGERHOOK_ADMIN_TOKEN}", { name = "alice", token = "alice-token-0123456789" }]

[workers]
accounting_listen = "0.0.0.0:9091"
crm_listen = "0.0.0.0:9092"

[[tenants]]
id = "acme"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["${ACME_STRIPE_WHSEC}"]

[[tenants.sources]]
id = "qbo"
provider = "quickbooks"
secrets = ["verifier-token"]

[[tenants.sources]]
id = "flow"
provider = "standard-webhooks"
category = "crm"
system = "salesforce"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
tolerance_secs = 120

[tenants.accounting]
system = "quickbooks"
base_url = "https://quickbooks.api.intuit.com"
realm_id = "9130355"
client_id = "${ACME_QBO_CLIENT_ID}"
client_secret = "${ACME_QBO_CLIENT_SECRET}"
refresh_token = "${ACME_QBO_REFRESH_TOKEN}"

[tenants.crm]
system = "hubspot"
base_url = "https://api.hubapi.com"
access_token = "pat-na1-0000"
"#;

fn vars() -> HashMap<String, String> {
    [
        ("LEDGERHOOK_ADMIN_TOKEN", "first-admin-token-0123456789"),
        ("ACME_STRIPE_WHSEC", "whsec_abc"),
        ("ACME_QBO_CLIENT_ID", "client"),
        ("ACME_QBO_CLIENT_SECRET", "client-secret"),
        ("ACME_QBO_REFRESH_TOKEN", "refresh"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[test]
fn the_documented_example_loads() {
    let config = config::load(VALID, &vars()).expect("valid config");
    assert_eq!(config.router.listen.port(), 8080);
    assert_eq!(config.router.max_body_bytes, 1_048_576);
    assert_eq!(config.broker.prefix, "ledgerhook");
    // The retry ladder of the design, and RabbitMQ 4's delivery limit, unless configured.
    assert_eq!(
        config.broker.retry_delays,
        [5, 30, 120, 600, 3600].map(std::time::Duration::from_secs)
    );
    assert_eq!(config.broker.delivery_limit, 20);
    assert_eq!(
        config.broker.url.expose_secret(),
        "amqp://guest:guest@127.0.0.1:5672/%2f"
    );
    assert_eq!(config.admin.tokens.len(), 2);
    assert_eq!(config.admin.tokens[0].name, "token-1");
    assert_eq!(config.admin.tokens[1].name, "alice");
    let acme = config.tenant("acme").expect("tenant");
    let stripe = acme.source("stripe").expect("source");
    assert_eq!(stripe.provider, ProviderKind::Stripe);
    assert_eq!(stripe.category, Category::Payments);
    assert_eq!(stripe.secrets[0].expose_secret(), "whsec_abc");
    assert_eq!(stripe.tolerance.as_secs(), 300);
    let flow = acme.source("flow").expect("source");
    assert_eq!(
        (flow.category, flow.system.as_str()),
        (Category::Crm, "salesforce")
    );
    assert_eq!(flow.tolerance.as_secs(), 120);
    let accounting = acme.accounting.as_ref().expect("accounting");
    assert_eq!(accounting.account_id.as_deref(), Some("9130355"));
    match &accounting.credentials {
        Credentials::OAuth { token_url, .. } => {
            assert_eq!(
                token_url.as_str(),
                "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
            )
        }
        other => panic!("expected OAuth credentials, got {other:?}"),
    }
}

#[test]
fn each_worker_binary_has_its_own_listener_key() {
    let config = config::load(VALID, &vars()).expect("valid config");
    assert_eq!(
        config.workers.listen(Destination::Accounting),
        (
            Some("0.0.0.0:9091".parse().expect("addr")),
            "workers.accounting_listen"
        )
    );
    assert_eq!(
        config.workers.listen(Destination::Crm),
        (
            Some("0.0.0.0:9092".parse().expect("addr")),
            "workers.crm_listen"
        )
    );

    // Without the section the workers serve no HTTP; port 0 picks a free port.
    let start = VALID.find("[workers]").expect("section");
    let end = VALID.find("[[tenants]]").expect("tenants");
    let without = format!("{}{}", &VALID[..start], &VALID[end..]);
    let config = config::load(&without, &vars()).expect("valid without [workers]");
    assert_eq!(config.workers.listen(Destination::Accounting).0, None);
    assert_eq!(config.workers.listen(Destination::Crm).0, None);
    let any_port = VALID.replace("0.0.0.0:9092", "127.0.0.1:0");
    let config = config::load(&any_port, &vars()).expect("port 0 is allowed");
    assert_eq!(config.workers.crm_listen.map(|a| a.port()), Some(0));
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let config = config::load(VALID, &vars()).expect("valid config");
    let debug = format!("{config:?}");
    for secret in [
        "whsec_abc",
        "client-secret",
        "first-admin-token-0123456789",
        "pat-na1-0000",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked into Debug output");
    }
}

/// Applies `edit` to the valid document and returns the key the error names.
fn error_key(edit: impl Fn(&str) -> String, vars: &HashMap<String, String>) -> (String, String) {
    let text = edit(VALID);
    let err = config::load(&text, vars).expect_err("config should be refused");
    (
        err.key().map(str::to_owned).unwrap_or_default(),
        err.to_string(),
    )
}

/// A change to the valid document.
type Edit = Box<dyn Fn(&str) -> String>;

#[test]
fn every_error_names_the_offending_key() {
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "unknown top-level key",
            Box::new(|s| format!("colour = \"blue\"\n{s}")),
            "colour",
        ),
        (
            "unknown router key",
            Box::new(|s| {
                s.replace(
                    "max_body_bytes = 1048576",
                    "max_body_bytes = 1048576\nlisten_port = 1",
                )
            }),
            "router.listen_port",
        ),
        (
            "unknown source key",
            Box::new(|s| {
                s.replace(
                    "provider = \"stripe\"",
                    "provider = \"stripe\"\nsecret = \"x\"",
                )
            }),
            "tenants[0].sources[0].secret",
        ),
        (
            "unknown provider",
            Box::new(|s| s.replace("provider = \"stripe\"", "provider = \"paypal\"")),
            "tenants[0].sources[0].provider",
        ),
        (
            "missing secrets",
            Box::new(|s| s.replace("secrets = [\"verifier-token\"]", "secrets = []")),
            "tenants[0].sources[1].secrets",
        ),
        (
            "bad listen address",
            Box::new(|s| s.replace("0.0.0.0:8080", "everywhere")),
            "router.listen",
        ),
        (
            "bad public url",
            Box::new(|s| s.replace("https://hooks.example.com", "hooks")),
            "router.public_base_url",
        ),
        (
            "bad broker url",
            Box::new(|s| {
                s.replace(
                    "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}",
                    "http://rabbit",
                )
            }),
            "broker.url",
        ),
        (
            "bad store url",
            Box::new(|s| {
                s.replace(
                    "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ledgerhook}",
                    "mysql://x",
                )
            }),
            "store.url",
        ),
        (
            "wrong type",
            Box::new(|s| s.replace("max_body_bytes = 1048576", "max_body_bytes = \"big\"")),
            "router.max_body_bytes",
        ),
        (
            "missing router",
            Box::new(|s| s.replace("[router]", "[routerx]")),
            "routerx",
        ),
        (
            "accounting system unknown",
            Box::new(|s| s.replace("system = \"quickbooks\"", "system = \"sage\"")),
            "tenants[0].accounting.system",
        ),
        (
            "quickbooks without realm",
            Box::new(|s| s.replace("realm_id = \"9130355\"", "")),
            "tenants[0].accounting.realm_id",
        ),
        (
            "oauth without client id",
            Box::new(|s| s.replace("client_id = \"${ACME_QBO_CLIENT_ID}\"", "")),
            "tenants[0].accounting.client_id",
        ),
        (
            "no credentials",
            Box::new(|s| s.replace("access_token = \"pat-na1-0000\"", "")),
            "tenants[0].crm.access_token",
        ),
        (
            "source without target",
            Box::new(|s| {
                s.replace("[tenants.crm]\nsystem = \"hubspot\"\nbase_url = \"https://api.hubapi.com\"\naccess_token = \"pat-na1-0000\"", "")
            }),
            "tenants[0].crm",
        ),
        (
            "thin source fetched from the wrong system",
            Box::new(|s| s.replace("provider = \"quickbooks\"", "provider = \"xero\"")),
            "tenants[0].accounting.system",
        ),
        (
            "standard-webhooks without category",
            Box::new(|s| s.replace("category = \"crm\"\n", "")),
            "tenants[0].sources[2].category",
        ),
        (
            "category on a fixed provider",
            Box::new(|s| {
                s.replace(
                    "provider = \"stripe\"",
                    "provider = \"stripe\"\ncategory = \"crm\"",
                )
            }),
            "tenants[0].sources[0].category",
        ),
        (
            "duplicate tenant",
            Box::new(|s| format!("{s}\n[[tenants]]\nid = \"acme\"\n")),
            "tenants[1].id",
        ),
        (
            "bad tenant id",
            Box::new(|s| s.replace("id = \"acme\"", "id = \"Acme Corp\"")),
            "tenants[0].id",
        ),
        (
            "duplicate source",
            Box::new(|s| s.replace("id = \"qbo\"", "id = \"stripe\"")),
            "tenants[0].sources[1].id",
        ),
        (
            "worker listener that is not an address",
            Box::new(|s| s.replace("\"0.0.0.0:9092\"", "\"localhost\"")),
            "workers.crm_listen",
        ),
        (
            "worker listener without a port",
            Box::new(|s| s.replace("\"0.0.0.0:9091\"", "\"0.0.0.0\"")),
            "workers.accounting_listen",
        ),
        (
            "unknown workers key",
            Box::new(|s| s.replace("[workers]", "[workers]\nmetrics_listen = \"0.0.0.0:9093\"")),
            "workers.metrics_listen",
        ),
        (
            "short admin token",
            Box::new(|s| s.replace("alice-token-0123456789", "short")),
            "admin.tokens[1]",
        ),
        (
            "zero tolerance",
            Box::new(|s| s.replace("tolerance_secs = 120", "tolerance_secs = 0")),
            "tenants[0].sources[2].tolerance_secs",
        ),
        (
            "retry ladder not increasing",
            Box::new(|s| {
                s.replace(
                    "prefix = \"ledgerhook\"",
                    "prefix = \"ledgerhook\"\nretry_delays_secs = [30, 5]",
                )
            }),
            "broker.retry_delays_secs",
        ),
        (
            "empty retry ladder",
            Box::new(|s| {
                s.replace(
                    "prefix = \"ledgerhook\"",
                    "prefix = \"ledgerhook\"\nretry_delays_secs = []",
                )
            }),
            "broker.retry_delays_secs",
        ),
        (
            "zero delivery limit",
            Box::new(|s| {
                s.replace(
                    "prefix = \"ledgerhook\"",
                    "prefix = \"ledgerhook\"\ndelivery_limit = 0",
                )
            }),
            "broker.delivery_limit",
        ),
        (
            "unterminated variable",
            Box::new(|s| s.replace("${ACME_STRIPE_WHSEC}", "${ACME_STRIPE_WHSEC")),
            "tenants[0].sources[0].secrets[0]",
        ),
    ];
    for (what, edit, key) in cases {
        let (got, message) = error_key(edit, &vars());
        assert_eq!(got, key, "{what}: {message}");
        assert!(
            message.contains(key),
            "{what}: message `{message}` does not name `{key}`"
        );
    }
}

#[test]
fn an_unset_variable_names_the_key_and_the_variable() {
    let mut vars = vars();
    vars.remove("ACME_STRIPE_WHSEC");
    let (key, message) = error_key(|s| s.to_owned(), &vars);
    assert_eq!(key, "tenants[0].sources[0].secrets[0]");
    assert!(message.contains("ACME_STRIPE_WHSEC"), "{message}");
}

#[test]
fn toml_syntax_errors_say_where() {
    let err = config::load("[router\nlisten = 1", &vars()).expect_err("bad toml");
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn sandbox_base_urls_get_sandbox_token_endpoints() {
    let text = VALID.replace(
        "https://quickbooks.api.intuit.com",
        "http://127.0.0.1:8900/quickbooks",
    );
    let config = config::load(&text, &vars()).expect("valid");
    let accounting = config.tenants[0].accounting.as_ref().expect("accounting");
    match &accounting.credentials {
        Credentials::OAuth { token_url, .. } => assert_eq!(
            token_url.as_str(),
            "http://127.0.0.1:8900/quickbooks/oauth2/v1/tokens/bearer"
        ),
        other => panic!("expected OAuth, got {other:?}"),
    }
}

#[test]
fn the_otlp_endpoint_is_optional_and_checked() {
    let config = config::load(VALID, &vars()).expect("valid config");
    assert_eq!(config.telemetry.otlp_endpoint, None);
    assert_eq!(config.telemetry.otlp_traces_url(), None);

    let with = |section: &str| VALID.replace("[[tenants]]", &format!("{section}\n\n[[tenants]]"));
    let config = config::load(
        &with("[telemetry]\notlp_endpoint = \"http://collector:4318\""),
        &vars(),
    )
    .expect("an OTLP endpoint is allowed");
    assert_eq!(
        config.telemetry.otlp_traces_url().map(String::from),
        Some("http://collector:4318/v1/traces".to_owned())
    );
    let config = config::load(
        &with("[telemetry]\notlp_endpoint = \"https://otel.example.com/otlp/v1/traces\""),
        &vars(),
    )
    .expect("a full traces URL is allowed");
    assert_eq!(
        config.telemetry.otlp_traces_url().map(String::from),
        Some("https://otel.example.com/otlp/v1/traces".to_owned())
    );
    let config = config::load(&with("[telemetry]"), &vars()).expect("an empty section is allowed");
    assert_eq!(config.telemetry.otlp_endpoint, None);

    for (section, message) in [
        ("otlp_endpoint = \"collector:4318\"", "http(s) URL"),
        ("otlp_endpoint = \"grpc://collector:4317\"", "http(s) URL"),
        ("otlp_endpoint = \"http://collector:4318/?x=1\"", "query"),
        (
            "otlp_endpoint = \"http://user:hunter2@collector:4318\"",
            "credentials",
        ),
        ("otlp_endpoint = 4318", "invalid type"),
    ] {
        let err =
            config::load(&with(&format!("[telemetry]\n{section}")), &vars()).expect_err(section);
        assert_eq!(err.key(), Some("telemetry.otlp_endpoint"), "{section}");
        assert!(err.to_string().contains(message), "{section}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
    let err = config::load(&with("[telemetry]\notlp_headers = \"x\""), &vars())
        .expect_err("unknown keys are errors");
    assert_eq!(err.key(), Some("telemetry.otlp_headers"));
}
