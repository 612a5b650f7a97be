//! `ledgerctl`, the built binary, against a running router: what it prints for people, what
//! `--json` prints for scripts, and the exit codes scripts rely on.

mod support;

use std::process::Output;

use serde_json::{json, Value};
use support::{seed, seed::Spec, *};
use uuid::Uuid;

/// Runs ledgerctl with `args` and `env`, with none of its variables inherited from the caller.
async fn ledgerctl(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ledgerctl"));
    command
        .args(args)
        .env_remove("LEDGERHOOK_ADMIN_URL")
        .env_remove("LEDGERHOOK_ADMIN_TOKEN")
        .env_remove("LEDGERHOOK_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().await.expect("ledgerctl runs")
}

/// ledgerctl pointed at `router` with the tests' token.
async fn against(router: &TestRouter, args: &[&str]) -> Output {
    let mut all = vec!["--admin-url", &router.admin, "--token", ADMIN_TOKEN];
    all.extend_from_slice(args);
    ledgerctl(&all, &[]).await
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

fn json_of(o: &Output) -> Value {
    serde_json::from_str(&ok(o)).expect("--json prints JSON")
}

#[tokio::test]
async fn support_work_from_the_terminal() {
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let d1 = seed::dead_letter(&c, Spec::new(1)).await;
    let d2 = seed::dead_letter(&c, Spec::new(2)).await;
    let d3 = seed::dead_letter(&c, Spec::new(3)).await;
    seed::attempt(
        &c,
        &d1,
        1,
        Some(503),
        "Xero answered 503 Service Unavailable",
    )
    .await;

    // A table for people.
    let table = ok(&against(&router, &["dead-letters", "list"]).await);
    let header = table.lines().next().expect("a header line");
    for column in [
        "ID",
        "STATUS",
        "DESTINATION",
        "TENANT",
        "TYPE",
        "INVOICE",
        "REASON",
    ] {
        assert!(header.contains(column), "{header}");
    }
    for d in [&d1, &d2, &d3] {
        assert!(table.contains(&d.id.to_string()), "{table}");
    }
    assert!(table.contains("INV-00002"));
    assert_eq!(
        table.lines().count(),
        4,
        "a header and three rows:\n{table}"
    );

    // JSON for scripts, page by page; the token and URL may come from the environment.
    let admin = router.admin.clone();
    let env = [
        ("LEDGERHOOK_ADMIN_URL", admin.as_str()),
        ("LEDGERHOOK_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let first = json_of(
        &ledgerctl(
            &[
                "--json",
                "dead-letters",
                "list",
                "--tenant",
                "acme",
                "--limit",
                "2",
            ],
            &env,
        )
        .await,
    );
    assert_eq!(first["items"].as_array().expect("items").len(), 2);
    assert_eq!(first["items"][0]["id"], json!(d3.id), "newest first");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = json_of(
        &ledgerctl(
            &[
                "dead-letters",
                "list",
                "--limit",
                "2",
                "--cursor",
                cursor,
                "--json",
            ],
            &env,
        )
        .await,
    );
    assert_eq!(second["items"].as_array().expect("items").len(), 1);
    assert_eq!(second["items"][0]["id"], json!(d1.id));
    assert_eq!(second["next_cursor"], Value::Null);

    let shown = ok(&against(&router, &["dead-letters", "show", &d1.id.to_string()]).await);
    assert!(shown.contains(&d1.spec.reason), "{shown}");
    assert!(
        shown.contains("Xero answered 503 Service Unavailable"),
        "{shown}"
    );
    assert!(
        shown.contains("attempts:") && shown.contains("event:"),
        "{shown}"
    );
    let shown = json_of(
        &against(
            &router,
            &["--json", "dead-letters", "show", &d1.id.to_string()],
        )
        .await,
    );
    assert_eq!(shown["event"], d1.event);
    assert_eq!(shown["attempts"][0]["http_status"], 503);

    let replayed = ok(&against(&router, &["dead-letters", "replay", &d1.id.to_string()]).await);
    assert!(replayed.contains("replaying"), "{replayed}");
    let messages = drain(&format!("{}.accounting", router.prefix)).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].json(), d1.event);

    let discarded = ok(&against(
        &router,
        &[
            "dead-letters",
            "discard",
            &d2.id.to_string(),
            "--reason",
            "sent twice by Stripe",
        ],
    )
    .await);
    assert!(discarded.contains("discarded"), "{discarded}");
    let shown = json_of(
        &against(
            &router,
            &["dead-letters", "show", &d2.id.to_string(), "--json"],
        )
        .await,
    );
    assert_eq!(shown["status"], "discarded");
    assert_eq!(shown["closed_by"], "tests");
    assert_eq!(shown["closed_reason"], "sent twice by Stripe");

    // Only d3 is still open.
    let bulk = json_of(
        &against(
            &router,
            &[
                "--json",
                "dead-letters",
                "replay",
                "--all",
                "--tenant",
                "acme",
            ],
        )
        .await,
    );
    assert_eq!(bulk, json!({ "count": 1 }));
    let bulk = ok(&against(
        &router,
        &["dead-letters", "replay", "--all", "--status", "replaying"],
    )
    .await);
    assert!(bulk.starts_with("2 dead letters"), "{bulk}");

    let found = json_of(&against(&router, &["--json", "events", "search", "INV-00003"]).await);
    assert_eq!(found["items"][0]["event_id"], json!(d3.event_id));
    let found = ok(&against(
        &router,
        &["events", "search", "INV-00003", "--tenant", "acme"],
    )
    .await);
    assert!(found.contains(&d3.event_id.to_string()), "{found}");
    let none = ok(&against(&router, &["events", "search", "INV-404"]).await);
    assert_eq!(none.trim(), "no events match");
    router.finish().await;
}

#[tokio::test]
async fn exit_codes_tell_scripts_what_went_wrong() {
    let router = TestRouter::spawn().await;
    let store = router.db.store().await;
    let c = store.client().await.expect("client");
    let d = seed::dead_letter(&c, Spec::new(1)).await;
    let id = d.id.to_string();

    let missing = against(
        &router,
        &["dead-letters", "show", &Uuid::now_v7().to_string()],
    )
    .await;
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("not_found"));

    let wrong = ledgerctl(
        &[
            "--admin-url",
            &router.admin,
            "--token",
            "wrong-token-0123456789",
            "dead-letters",
            "list",
        ],
        &[],
    )
    .await;
    assert_eq!(wrong.status.code(), Some(4), "{}", stderr(&wrong));
    let none = ledgerctl(&["--admin-url", &router.admin, "dead-letters", "list"], &[]).await;
    assert_eq!(none.status.code(), Some(4), "{}", stderr(&none));
    assert!(stderr(&none).contains("unauthorized"));

    let unreachable = ledgerctl(
        &[
            "--admin-url",
            "http://127.0.0.1:1",
            "--token",
            ADMIN_TOKEN,
            "events",
            "search",
            "INV-1",
        ],
        &[],
    )
    .await;
    assert_eq!(
        unreachable.status.code(),
        Some(5),
        "{}",
        stderr(&unreachable)
    );
    assert!(stderr(&unreachable).contains("cannot reach"));

    for usage in [
        vec!["dead-letters", "discard", id.as_str()],
        vec!["dead-letters", "replay"],
        vec!["dead-letters", "replay", id.as_str(), "--all"],
        vec!["dead-letters", "replay", id.as_str(), "--tenant", "acme"],
        vec!["dead-letters", "resurrect"],
        vec!["--admin-url", "not a url", "dead-letters", "list"],
    ] {
        let o = against(&router, &usage).await;
        assert_eq!(o.status.code(), Some(2), "{usage:?}: {}", stderr(&o));
    }

    ok(&against(
        &router,
        &["dead-letters", "discard", &id, "--reason", "test"],
    )
    .await);
    let again = against(
        &router,
        &["dead-letters", "discard", &id, "--reason", "again"],
    )
    .await;
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(stderr(&again).contains("not_open"), "{}", stderr(&again));
    let bad = against(&router, &["dead-letters", "list", "--status", "lost"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("invalid_request"));
    router.finish().await;
}

#[tokio::test]
async fn config_check_validates_like_the_binaries_without_the_network() {
    let dir = std::env::temp_dir();
    let valid = dir.join(format!("ledgerctl-valid-{}.toml", Uuid::now_v7().simple()));
    let invalid = dir.join(format!(
        "ledgerctl-invalid-{}.toml",
        Uuid::now_v7().simple()
    ));
    let text = test_config(
        "lhtest-ledgerctl",
        "amqp://guest:guest@127.0.0.1:1/%2f",
        1024,
    );
    std::fs::write(&valid, &text).expect("write config");
    std::fs::write(
        &invalid,
        text.replace(
            "amqp://guest:guest@127.0.0.1:1/%2f",
            "http://127.0.0.1:5672",
        ),
    )
    .expect("write config");
    let secrets = [("STRIPE_SECRET", STRIPE_SECRET), ("XERO_KEY", XERO_KEY)];
    let valid_path = valid.to_str().expect("utf-8 path");
    let invalid_path = invalid.to_str().expect("utf-8 path");

    let checked = ok(&ledgerctl(&["config", "check", "--config", valid_path], &secrets).await);
    assert!(checked.starts_with("OK"), "{checked}");
    assert!(
        checked.contains("acme") && checked.contains("stripe"),
        "{checked}"
    );
    assert!(
        checked.contains("tests"),
        "token names are shown: {checked}"
    );
    for secret in [STRIPE_SECRET, XERO_KEY, ADMIN_TOKEN] {
        assert!(!checked.contains(secret), "a secret was printed: {checked}");
    }
    let mut from_env = secrets.to_vec();
    from_env.push(("LEDGERHOOK_CONFIG", valid_path));
    let summary = json_of(&ledgerctl(&["--json", "config", "check"], &from_env).await);
    assert_eq!(summary["valid"], true);
    assert_eq!(summary["tenants"][0]["id"], "acme");

    let refused = ledgerctl(&["config", "check", "--config", invalid_path], &secrets).await;
    assert_eq!(refused.status.code(), Some(6), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("broker.url"),
        "{}",
        stderr(&refused)
    );
    let unset = ledgerctl(
        &["config", "check", "--config", valid_path],
        &[("XERO_KEY", XERO_KEY)],
    )
    .await;
    assert_eq!(unset.status.code(), Some(6));
    assert!(
        stderr(&unset).contains("STRIPE_SECRET"),
        "{}",
        stderr(&unset)
    );
    let unreadable = ledgerctl(
        &[
            "config",
            "check",
            "--config",
            "/nonexistent/ledgerhook.toml",
        ],
        &[],
    )
    .await;
    assert_eq!(unreadable.status.code(), Some(6));
    let unnamed = ledgerctl(&["config", "check"], &[]).await;
    assert_eq!(unnamed.status.code(), Some(2), "{}", stderr(&unnamed));

    let _ = std::fs::remove_file(valid);
    let _ = std::fs::remove_file(invalid);
}
