//! Walks `tests/fixtures/<provider>/<case>.{body,headers,expected.json}`: every fixture is a
//! delivery signed as the provider signs it, which must verify, and normalize to exactly the
//! expected drafts (or fail to normalize with the expected message).
//!
//! `<case>.headers` holds `Name: value` lines, plus the pseudo-headers `:method`, `:url` (the
//! public URL the provider called) and `:now` (unix seconds of the verifying clock, so signed
//! timestamps stay inside the tolerance). `<provider>/secret` holds the signing secret.

use std::{fs, path::Path, time::Duration};

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use ledgerhook_router::providers::{Keys, Normalized, RawWebhook};
use ledgerhook_shared::config::ProviderKind;
use secrecy::SecretString;
use serde_json::Value;

fn fixtures_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

struct Case {
    name: String,
    method: String,
    url: url::Url,
    now: i64,
    headers: Vec<(String, String)>,
    body: Bytes,
    expected: Value,
}

fn load_case(dir: &Path, name: &str) -> Case {
    let body = fs::read(dir.join(format!("{name}.body"))).expect("body file");
    let header_text =
        fs::read_to_string(dir.join(format!("{name}.headers"))).expect("headers file");
    let expected_text =
        fs::read_to_string(dir.join(format!("{name}.expected.json"))).expect("expected file");
    let (mut method, mut url, mut now) = ("POST".to_owned(), None, None);
    let mut headers = Vec::new();
    for line in header_text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(v) = line.strip_prefix(":method ") {
            method = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix(":url ") {
            url = Some(url::Url::parse(v.trim()).expect(":url"));
        } else if let Some(v) = line.strip_prefix(":now ") {
            now = Some(v.trim().parse::<i64>().expect(":now"));
        } else {
            let (k, v) = line.split_once(':').expect("header line `Name: value`");
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Case {
        name: name.to_owned(),
        method,
        url: url.unwrap_or_else(|| {
            url::Url::parse("https://hooks.example.com/webhooks/acme/src").expect("url")
        }),
        now: now.unwrap_or_else(|| Utc::now().timestamp()),
        headers,
        body: Bytes::from(body),
        expected: serde_json::from_str(&expected_text).expect("expected.json is JSON"),
    }
}

fn run_provider(provider: ProviderKind) -> usize {
    let dir = fixtures_root().join(provider.as_str());
    let secret = fs::read_to_string(dir.join("secret")).expect("secret file");
    let secrets = vec![SecretString::from(secret.trim().to_owned())];
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".body")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    for name in &names {
        let case = load_case(&dir, name);
        let keys = Keys {
            secrets: &secrets,
            tolerance: Duration::from_secs(300),
            now: Utc.timestamp_opt(case.now, 0).single().expect("now"),
        };
        let raw = RawWebhook::new(
            case.method.clone(),
            case.url.clone(),
            case.headers.clone(),
            case.body.clone(),
        );
        let verified = raw.verify(provider, &keys).unwrap_or_else(|e| {
            panic!(
                "{}/{}: fixture does not verify: {e}",
                provider.as_str(),
                case.name
            )
        });
        let result = verified.normalize(provider);
        match case.expected.get("normalize_error").and_then(Value::as_str) {
            Some(fragment) => {
                let err = result.expect_err(&format!(
                    "{}/{} should not normalize",
                    provider.as_str(),
                    case.name
                ));
                assert!(
                    err.0.contains(fragment),
                    "{}/{}: error `{}` lacks `{fragment}`",
                    provider.as_str(),
                    case.name,
                    err.0
                );
            }
            None => {
                let got =
                    result.unwrap_or_else(|e| panic!("{}/{}: {e}", provider.as_str(), case.name));
                let want: Normalized = serde_json::from_value(case.expected.clone())
                    .unwrap_or_else(|e| {
                        panic!("{}/{}: expected.json: {e}", provider.as_str(), case.name)
                    });
                assert_eq!(
                    got,
                    want,
                    "{}/{}: normalized drafts differ\n got: {}",
                    provider.as_str(),
                    case.name,
                    serde_json::to_string_pretty(&got).unwrap_or_default()
                );
            }
        }
    }
    names.len()
}

#[test]
fn stripe_fixtures() {
    assert!(run_provider(ProviderKind::Stripe) >= 8);
}

#[test]
fn standard_webhooks_fixtures() {
    assert!(run_provider(ProviderKind::StandardWebhooks) >= 3);
}

#[test]
fn hubspot_fixtures() {
    assert!(run_provider(ProviderKind::Hubspot) >= 4);
}

#[test]
fn quickbooks_fixtures() {
    assert!(run_provider(ProviderKind::Quickbooks) >= 4);
}

#[test]
fn xero_fixtures() {
    assert!(run_provider(ProviderKind::Xero) >= 3);
}
