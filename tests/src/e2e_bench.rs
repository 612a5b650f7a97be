//! The end-to-end benchmark: webhook accepted -> target changed, through the real binaries.
//!
//! Starts `ledgerhook-sandbox` (adding 20 ms to every Xero call), `ledgerhook-router` and one,
//! then two, `ledgerhook-accounting-worker` processes; sends Stripe `invoice.paid` webhooks for
//! invoices made in the sandbox's Xero beforehand; and reads each event's latency from the
//! store's inbox (`applied_at - received_at`: the router's receipt to the worker's commit after
//! the Xero payment was made).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::load::{self, Report, RouterLoad};

const SECRET: &str = "whsec_e2e_bench_secret_0123456789";
const XERO_TENANT: &str = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
const ADMIN_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What to run.
#[derive(Debug, Clone)]
pub struct E2eOptions {
    pub bin_dir: PathBuf,
    pub amqp_url: String,
    /// Events per throughput phase.
    pub burst: usize,
    /// Events per latency phase, sent at `rate` per second.
    pub paced: usize,
    pub rate: f64,
    /// Latency the sandbox adds to every Xero call.
    pub latency_ms: u64,
}

struct Stack {
    processes: Vec<Child>,
    dir: PathBuf,
    config: PathBuf,
    database: String,
    database_url: String,
    prefix: String,
    router: String,
    sandbox: String,
}

pub async fn run(options: &E2eOptions) -> anyhow::Result<()> {
    let stack = start(options).await?;
    let result = phases(&stack, options).await;
    stop(stack, &options.amqp_url).await;
    result
}

async fn phases(stack: &Stack, options: &E2eOptions) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    http.post(format!("{}/_sandbox/faults", stack.sandbox))
        .json(&json!({ "system": "xero", "latency_ms": options.latency_ms }))
        .send()
        .await?
        .error_for_status()?;
    println!(
        "end-to-end benchmark: {} CPUs; sandbox adds {} ms per Xero call; {} events per burst, {} at {}/s",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        options.latency_ms,
        options.burst,
        options.paced,
        options.rate
    );
    let mut rates = Vec::new();
    for workers in [1usize, 2] {
        let mut procs = Vec::new();
        for _ in 0..workers {
            procs.push(spawn(
                &options.bin_dir.join("ledgerhook-accounting-worker"),
                &stack.config,
                &[],
            )?);
        }
        let burst_tag = format!("w{workers}burst");
        invoices(stack, &burst_tag, options.burst).await?;
        let started = Instant::now();
        send(stack, &burst_tag, options.burst, None).await?;
        let burst = wait_applied(stack, &burst_tag, options.burst).await?;
        let burst_rate = options.burst as f64 / burst.span.as_secs_f64();
        let _ = started;
        let paced_tag = format!("w{workers}paced");
        invoices(stack, &paced_tag, options.paced).await?;
        send(stack, &paced_tag, options.paced, Some(options.rate)).await?;
        let paced = wait_applied(stack, &paced_tag, options.paced).await?;
        println!(
            "{workers} worker process(es): burst {burst_rate:>7.1} events/s (p50 {:>7.1} ms, p99 {:>7.1} ms); at {}/s p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
            ms(burst.report.percentile(50.0)),
            ms(burst.report.percentile(99.0)),
            options.rate,
            ms(paced.report.percentile(50.0)),
            ms(paced.report.percentile(99.0)),
            ms(paced.report.latencies.last().copied().unwrap_or_default()),
        );
        rates.push(burst_rate);
        for mut p in procs {
            terminate(&mut p).await;
        }
    }
    println!(
        "throughput ratio two/one worker processes: {:.2}",
        rates[1] / rates[0]
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn start(options: &E2eOptions) -> anyhow::Result<Stack> {
    let id = std::process::id();
    let prefix = format!("lhe2ebench-{id}");
    let database = format!("lhe2ebench_{id}");
    let (client, conn) = tokio_postgres::connect(ADMIN_PG, tokio_postgres::NoTls)
        .await
        .context("PostgreSQL must answer on 127.0.0.1:5432 (deploy/services.sh)")?;
    tokio::spawn(conn);
    // Separate statements: CREATE DATABASE cannot run in the implicit transaction of a batch.
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
        .await?;
    client
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .await?;
    let database_url = format!("postgres://postgres@127.0.0.1:5432/{database}");
    let [router_port, admin_port, sandbox_port] = [free_port()?, free_port()?, free_port()?];
    let dir = std::env::temp_dir().join(format!("ledgerhook-e2ebench-{id}"));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("ledgerhook.toml");
    std::fs::write(
        &config,
        config_text(
            &options.amqp_url,
            &prefix,
            &database_url,
            router_port,
            admin_port,
            sandbox_port,
        ),
    )?;
    let mut stack = Stack {
        processes: Vec::new(),
        dir,
        config: config.clone(),
        database,
        database_url,
        prefix,
        router: format!("http://127.0.0.1:{router_port}"),
        sandbox: format!("http://127.0.0.1:{sandbox_port}"),
    };
    stack.processes.push(spawn(
        &options.bin_dir.join("ledgerhook-sandbox"),
        &config,
        &[
            "--listen",
            &format!("127.0.0.1:{sandbox_port}"),
            "--no-rate-limits",
        ],
    )?);
    stack.processes.push(spawn(
        &options.bin_dir.join("ledgerhook-router"),
        &config,
        &[],
    )?);
    wait_up(&format!("http://127.0.0.1:{admin_port}/readyz")).await?;
    wait_up(&format!("{}/_sandbox/state", stack.sandbox)).await?;
    Ok(stack)
}

fn spawn(binary: &Path, config: &Path, extra: &[&str]) -> anyhow::Result<Child> {
    Command::new(binary)
        .arg("--config")
        .arg(config)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build with `cargo build --release --bins`)",
                binary.display()
            )
        })
}

async fn wait_up(url: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} did not answer within 30 s")
}

/// Open invoices `INV-<tag>-<n>` of 10.00 USD, made in Xero directly, 50 per call.
async fn invoices(stack: &Stack, tag: &str, count: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let xero = |path: &str| {
        http.put(format!("{}/xero/api.xro/2.0/{path}", stack.sandbox))
            .bearer_auth("bench-xero-token")
            .header("xero-tenant-id", XERO_TENANT)
            .header("Accept", "application/json")
    };
    let contact: Value = xero("Contacts")
        .json(&json!({ "Contacts": [{ "Name": format!("Bench {tag}"), "EmailAddress": format!("{tag}@bench.example") }] }))
        .send()
        .await?
        .json()
        .await?;
    let contact_id = contact["Contacts"][0]["ContactID"]
        .as_str()
        .context("contact id")?
        .to_owned();
    for start in (0..count).step_by(50) {
        let batch: Vec<Value> = (start..(start + 50).min(count))
            .map(|n| {
                json!({ "Type": "ACCREC", "Contact": { "ContactID": contact_id }, "InvoiceNumber": format!("INV-{tag}-{n:05}"),
                    "Status": "AUTHORISED", "CurrencyCode": "USD", "LineAmountTypes": "NoTax",
                    "LineItems": [{ "Description": "Seat", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200" }] })
            })
            .collect();
        xero("Invoices")
            .json(&json!({ "Invoices": batch }))
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}

/// Sends `invoice.paid` for each invoice of the tag, as fast as 32 connections allow or at `rate`.
async fn send(stack: &Stack, tag: &str, count: usize, rate: Option<f64>) -> anyhow::Result<()> {
    let tag = tag.to_owned();
    let report = load::run_custom(
        &RouterLoad {
            url: format!("{}/webhooks/bench/stripe", stack.router),
            secret: SECRET.to_owned(),
            concurrency: 32,
            requests: count,
            rate,
        },
        move |n| {
            let now = chrono::Utc::now().timestamp();
            serde_json::to_vec(&json!({
                "id": format!("evt_{tag}_{n:05}"), "object": "event", "created": now, "type": "invoice.paid",
                "data": { "object": {
                    "id": format!("in_{tag}_{n:05}"), "object": "invoice", "number": format!("INV-{tag}-{n:05}"),
                    "status": "paid", "currency": "usd", "customer": "cus_bench", "created": now,
                    "total": 1000, "subtotal": 1000, "amount_paid": 1000, "amount_due": 1000,
                    "lines": { "object": "list", "data": [] } } }
            }))
            .unwrap_or_default()
        },
    )
    .await?;
    if report.failed > 0 {
        bail!("{} webhooks were refused", report.failed);
    }
    Ok(())
}

struct Applied {
    report: Report,
    /// First receipt to last commit.
    span: Duration,
}

/// Waits until the inbox has every event of the tag applied, then reads their latencies.
async fn wait_applied(stack: &Stack, tag: &str, count: usize) -> anyhow::Result<Applied> {
    let (client, conn) =
        tokio_postgres::connect(&stack.database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let pattern = format!("bench/stripe/evt_{tag}_%");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let rows = client
            .query(
                "SELECT extract(epoch from (applied_at - received_at))::float8,
                        extract(epoch from received_at)::float8, extract(epoch from applied_at)::float8
                 FROM inbox WHERE destination = 'accounting' AND idempotency_key LIKE $1 AND status = 'applied'",
                &[&pattern],
            )
            .await?;
        if rows.len() >= count {
            let mut latencies: Vec<Duration> = rows
                .iter()
                .map(|r| Duration::from_secs_f64(r.get::<_, f64>(0).max(0.0)))
                .collect();
            latencies.sort_unstable();
            let first = rows
                .iter()
                .map(|r| r.get::<_, f64>(1))
                .fold(f64::MAX, f64::min);
            let last = rows.iter().map(|r| r.get::<_, f64>(2)).fold(0.0, f64::max);
            let span = Duration::from_secs_f64((last - first).max(0.001));
            return Ok(Applied {
                report: Report {
                    ok: rows.len(),
                    failed: 0,
                    elapsed: span,
                    latencies,
                },
                span,
            });
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {count} events applied within 10 minutes",
                rows.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

async fn stop(stack: Stack, amqp_url: &str) {
    for mut p in stack.processes {
        terminate(&mut p).await;
    }
    load::delete_bench_topology(amqp_url, &stack.prefix).await;
    if let Ok((client, conn)) = tokio_postgres::connect(ADMIN_PG, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                stack.database
            ))
            .await;
    }
    let _ = std::fs::remove_dir_all(&stack.dir);
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn config_text(amqp: &str, prefix: &str, db: &str, port: u16, admin: u16, sandbox: u16) -> String {
    format!(
        r#"[router]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin}"
public_base_url = "http://127.0.0.1:{port}"

[broker]
url = "{amqp}"
prefix = "{prefix}"

[store]
url = "{db}"

[[tenants]]
id = "bench"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["{SECRET}"]

[[tenants.sources]]
id = "xero"
provider = "xero"
secrets = ["bench-xero-webhook-key"]

[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:{sandbox}/xero"
tenant_id = "{XERO_TENANT}"
access_token = "bench-xero-token"
rate_limit_requests = 1000000
rate_limit_window_secs = 60
max_concurrent_requests = 64

[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:{sandbox}/hubspot"
access_token = "bench-hubspot-token"
"#
    )
}
