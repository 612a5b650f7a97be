//! The worker binaries' HTTP listener as a Kubernetes probe or a Prometheus scraper meets it:
//! the real binary, its logged address, `/healthz`, `/readyz` with and without a broker, and a
//! SIGTERM that drains and then closes the listener.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use ledgerhook_tests::database::TestDatabase;
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use uuid::Uuid;

const ACCOUNTING: &str = env!("CARGO_BIN_EXE_ledgerhook-accounting-worker");
const CRM: &str = env!("CARGO_BIN_EXE_ledgerhook-crm-worker");
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const WAIT: Duration = Duration::from_secs(30);

/// A database of its own, and a config file using it; dropped by `Fixture::finish`.
struct Fixture {
    dir: std::path::PathBuf,
    database: TestDatabase,
    prefix: String,
}

impl Fixture {
    async fn new(broker_url: &str, workers_section: &str) -> (Fixture, std::path::PathBuf) {
        let database = TestDatabase::create("lhops").await;
        let store_url = database.url.clone();
        let prefix = format!("lhops-{}", Uuid::now_v7().simple());
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("ledgerhook.toml");
        std::fs::write(
            &path,
            format!(
                r#"
[router]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1"

[broker]
url = "{broker_url}"
prefix = "{prefix}"

[store]
url = "{store_url}"

{workers_section}
"#
            ),
        )
        .expect("write config");
        (
            Fixture {
                dir,
                database,
                prefix,
            },
            path,
        )
    }

    async fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        ledgerhook_tests::load::delete_bench_topology(AMQP, &self.prefix).await;
        self.database.drop_now().await;
    }
}

/// Starts `binary` with JSON logs and returns it with the address it logged for its listener.
async fn start(binary: &str, args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(binary)
        .args(args)
        .env_remove("LEDGERHOOK_CONFIG")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read log") {
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if entry["message"] == "serving /healthz, /readyz and /metrics" {
                return entry["addr"]
                    .as_str()
                    .and_then(|a| a.parse::<SocketAddr>().ok());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("the worker logs its listener's address");
    // Keep draining the log so the worker never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

async fn get(url: String) -> (u16, String) {
    let answer = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url} answers: {e}"));
    let status = answer.status().as_u16();
    (status, answer.text().await.expect("body"))
}

/// Polls `/readyz` until its JSON satisfies `check`; returns the status and the JSON.
async fn readyz_until(addr: SocketAddr, check: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = get(format!("http://{addr}/readyz")).await;
        let json: Value = serde_json::from_str(&body).expect("/readyz answers JSON");
        if check(status, &json) {
            return (status, json);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never got there: {status} {json}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM, as Kubernetes stops a pod; the worker drains and exits 0.
async fn terminate(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("the worker stops after SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

fn closed_port() -> u16 {
    // Bound and released: nothing listens there for the test's few seconds.
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_naming_the_broker_while_the_broker_is_unreachable() {
    let broker = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port());
    let (fixture, config) = Fixture::new(&broker, "").await;
    let (child, addr) = start(
        CRM,
        &[
            "--config",
            config.to_str().expect("utf-8 path"),
            "--listen",
            "127.0.0.1:0",
        ],
    )
    .await;

    let (status, body) = get(format!("http://{addr}/healthz")).await;
    assert_eq!(status, 200, "{body}");
    // Once the store is connected, the broker alone keeps the worker from being ready.
    let (status, json) = readyz_until(addr, |_, j| j["store"] == "ok").await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["status"], "not_ready");
    assert_eq!(json["broker"], "unavailable");
    assert_eq!(json["error"], "broker_unavailable");
    let (status, metrics) = get(format!("http://{addr}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"ledgerhook_worker_consuming{destination="crm"} 0"#),
        "{metrics}"
    );

    terminate(child).await;
    fixture.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_200_while_consuming_and_the_listener_closes_after_the_drain() {
    let (fixture, config) = Fixture::new(
        AMQP,
        "[workers]\naccounting_listen = \"127.0.0.1:0\"\ncrm_listen = \"127.0.0.1:0\"",
    )
    .await;
    let (child, addr) = start(
        ACCOUNTING,
        &["--config", config.to_str().expect("utf-8 path")],
    )
    .await;

    let (status, json) = readyz_until(addr, |s, _| s == 200).await;
    assert_eq!(json["status"], "ready", "{json}");
    assert_eq!(
        (&json["broker"], &json["store"]),
        (&"ok".into(), &"ok".into())
    );
    let (status_metrics, metrics) = get(format!("http://{addr}/metrics")).await;
    assert_eq!((status, status_metrics), (200, 200));
    assert!(
        metrics.contains(r#"ledgerhook_worker_consuming{destination="accounting"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE ledgerhook_worker_events counter"),
        "{metrics}"
    );

    terminate(child).await;
    let gone = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(gone.is_err(), "the listener closed with the worker");
    fixture.finish().await;
}

#[tokio::test]
async fn a_taken_port_stops_the_worker_and_names_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let dir = std::env::temp_dir().join(format!("lhops-taken-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ledgerhook.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[router]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1"

[broker]
url = "{AMQP}"

[store]
url = "postgres://postgres@127.0.0.1:5432/ledgerhook"

[workers]
crm_listen = "{addr}"
"#
        ),
    )
    .expect("write config");
    let output = Command::new(CRM)
        .args(["--config", path.to_str().expect("utf-8 path")])
        .env_remove("LEDGERHOOK_CONFIG")
        .env("RUST_LOG", "error")
        .output();
    let output = tokio::time::timeout(WAIT, output)
        .await
        .expect("the worker stops at once")
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr.contains("workers.crm_listen"), "{stderr}");
    assert!(stderr.contains(&addr.to_string()), "{stderr}");
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}
