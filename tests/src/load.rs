//! The load generator's engine: closed-loop and open-loop webhook load, the plain-lapin
//! baseline, latency percentiles, and the one-run benchmark that reports their ratio.

use std::{
    path::Path,
    process::Stdio,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use lapin::{
    options::{
        BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeleteOptions,
        QueuePurgeOptions,
    },
    BasicProperties, Confirmation, Connection, ConnectionProperties,
};
use ledgerhook_shared::broker::{Destination, Topology};
use sha2::Sha256;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream},
    net::TcpStream,
    sync::Semaphore,
};

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub ok: usize,
    pub failed: usize,
    pub elapsed: Duration,
    /// Latencies of successful requests, sorted.
    pub latencies: Vec<Duration>,
}

impl Report {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    pub fn table_row(&self, name: &str) -> String {
        format!(
            "{name:<22} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms  ok {:>6}  failed {:>4}",
            self.rate(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            self.ok,
            self.failed,
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Debug, Clone)]
pub struct RouterLoad {
    pub url: String,
    pub secret: String,
    pub concurrency: usize,
    pub requests: usize,
    pub rate: Option<f64>,
}

/// A realistic Stripe `invoice.paid` event (about 1.5 KB), unique per request.
pub fn stripe_body(n: usize) -> Vec<u8> {
    let now = chrono_now();
    let body = serde_json::json!({
        "id": format!("evt_bench_{n:08}_{}", std::process::id()),
        "object": "event",
        "api_version": "2024-06-20",
        "created": now,
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": "invoice.paid",
        "data": { "object": {
            "id": format!("in_bench_{n:08}"),
            "object": "invoice",
            "number": format!("BENCH-{n:08}"),
            "status": "paid",
            "currency": "usd",
            "customer": "cus_NeZwdNtLEOXuvB",
            "customer_email": "jenny.rosen@example.com",
            "customer_name": "Jenny Rosen",
            "created": now - 3600,
            "due_date": now + 86400 * 30,
            "subtotal": 120_000,
            "total": 123_450,
            "amount_due": 123_450,
            "amount_paid": 123_450,
            "amount_remaining": 0,
            "status_transitions": { "finalized_at": now - 3500, "paid_at": now, "voided_at": null },
            "lines": { "object": "list", "has_more": false, "data": [
                { "id": "il_1", "object": "line_item", "amount": 100_000, "currency": "usd",
                  "description": "Annual subscription, Pro plan", "quantity": 1 },
                { "id": "il_2", "object": "line_item", "amount": 20_000, "currency": "usd",
                  "description": "Onboarding workshop", "quantity": 2 }
            ]}
        }}
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn stripe_signature(secret: &str, body: &[u8]) -> String {
    let t = chrono_now();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends `requests` signed webhooks with `concurrency` connections in flight. With a rate, each
/// request has a scheduled start and latency counts from it, so a stall is not hidden.
pub async fn run_router(load: &RouterLoad) -> anyhow::Result<Report> {
    run_custom(load, stripe_body).await
}

/// As `run_router`, with the body of request `n` made by `body`.
pub async fn run_custom<F>(load: &RouterLoad, body: F) -> anyhow::Result<Report>
where
    F: Fn(usize) -> Vec<u8> + Send + Sync + Clone + 'static,
{
    let target = Target::parse(&load.url)?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let interval = load.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut tasks = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        let (target, next, load, make_body) =
            (target.clone(), next.clone(), load.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
            let mut conn: Option<BufStream<TcpStream>> = None;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= load.requests {
                    break;
                }
                let body = make_body(n);
                let signature = stripe_signature(&load.secret, &body);
                let scheduled = match interval {
                    Some(i) => {
                        let at = started + i * n as u32;
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                match target.post(&mut conn, &signature, &body).await {
                    Ok(status) if (200..300).contains(&status) => {
                        latencies.push(scheduled.elapsed());
                        ok += 1;
                    }
                    _ => failed += 1,
                }
            }
            (ok, failed, latencies)
        }));
    }
    collect(tasks, started).await
}

/// A minimal keep-alive HTTP/1.1 client: the load generator must spend as little CPU as it can
/// on this 2-core machine, where it competes with the router and the broker it measures.
#[derive(Debug, Clone)]
struct Target {
    addr: String,
    authority: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Target> {
        let url = url::Url::parse(url)?;
        if url.scheme() != "http" {
            bail!("the load generator speaks plain http only");
        }
        let host = url.host_str().context("URL without host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        Ok(Target {
            addr: format!("{host}:{port}"),
            authority: format!("{host}:{port}"),
            path: url.path().to_owned(),
        })
    }

    /// Posts one webhook, reconnecting when needed; returns the status code.
    async fn post(
        &self,
        conn: &mut Option<BufStream<TcpStream>>,
        signature: &str,
        body: &[u8],
    ) -> std::io::Result<u16> {
        if conn.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            *conn = Some(BufStream::new(stream));
        }
        let Some(stream) = conn.as_mut() else {
            return Err(std::io::ErrorKind::NotConnected.into());
        };
        let result = self.exchange(stream, signature, body).await;
        match &result {
            Ok((_, true)) | Err(_) => *conn = None,
            Ok((_, false)) => {}
        }
        result.map(|(status, _)| status)
    }

    async fn exchange(
        &self,
        stream: &mut BufStream<TcpStream>,
        signature: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, bool)> {
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nStripe-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
            self.path,
            self.authority,
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.flush().await?;
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad HTTP response");
        let mut line = String::new();
        stream.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let (mut length, mut close) = (0usize, false);
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                return Err(bad());
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().map_err(|_| bad())?;
            } else if lower.starts_with("connection:") && lower.contains("close") {
                close = true;
            }
        }
        let mut rest = vec![0; length];
        stream.read_exact(&mut rest).await?;
        Ok((status, close))
    }
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(usize, usize, Vec<Duration>)>>,
    started: Instant,
) -> anyhow::Result<Report> {
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for task in tasks {
        let (o, f, l) = task.await?;
        ok += o;
        failed += f;
        latencies.extend(l);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Report {
        ok,
        failed,
        elapsed,
        latencies,
    })
}

#[derive(Debug, Clone)]
pub struct BaselineOptions {
    pub amqp_url: String,
    /// The message body to publish: in `bench`, an event the router itself published.
    pub payload: Vec<u8>,
    pub prefix: String,
    pub concurrency: usize,
    pub requests: usize,
    pub window: usize,
}

/// Publishes messages the size of the router's canonical events to the same topology, each
/// awaited for its confirm, `concurrency` at a time within a window of `window` confirms.
pub async fn run_baseline(options: &BaselineOptions) -> anyhow::Result<Report> {
    let topology = Topology::new(options.prefix.clone());
    let conn = Connection::connect(&options.amqp_url, ConnectionProperties::default()).await?;
    let mut channels = Vec::new();
    // The router spreads publishes over two channels; the baseline does the same.
    for i in 0..2 {
        let ch = conn.create_channel().await?;
        if i == 0 {
            topology.declare(&ch).await?;
        }
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        channels.push(ch);
    }
    let payload = Arc::new(options.payload.clone());
    let window = Arc::new(Semaphore::new(options.window));
    let next = Arc::new(AtomicUsize::new(0));
    let exchange = topology.events_exchange();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..options.concurrency {
        let ch = channels[t % channels.len()].clone();
        let (payload, window, next, exchange, requests) = (
            payload.clone(),
            window.clone(),
            next.clone(),
            exchange.clone(),
            options.requests,
        );
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let begun = Instant::now();
                let Ok(_permit) = window.acquire().await else {
                    break;
                };
                let confirm = ch
                    .basic_publish(
                        exchange.as_str().into(),
                        "payments.invoice.paid".into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..BasicPublishOptions::default()
                        },
                        &payload,
                        BasicProperties::default()
                            .with_delivery_mode(2)
                            .with_content_type("application/cloudevents+json".into()),
                    )
                    .await;
                match confirm {
                    Ok(c) => match c.await {
                        Ok(Confirmation::Ack(None)) => {
                            latencies.push(begun.elapsed());
                            ok += 1;
                        }
                        _ => failed += 1,
                    },
                    Err(_) => failed += 1,
                }
            }
            (ok, failed, latencies)
        }));
    }
    let report = collect(tasks, started).await;
    let _ = conn.close(200, "done".into()).await;
    report
}

/// A JSON body of about the size of the event the router publishes for a Stripe webhook, for
/// the stand-alone `baseline` command (`bench` uses a real one).
pub fn canonical_event_like(len: usize) -> Vec<u8> {
    let filler = "x".repeat(len.saturating_sub(40));
    format!("{{\"specversion\":\"1.0\",\"data\":\"{filler}\"}}").into_bytes()
}

/// Takes one message's body from `queue`.
async fn take_one(amqp_url: &str, queue: &str) -> anyhow::Result<Vec<u8>> {
    let conn = Connection::connect(amqp_url, ConnectionProperties::default()).await?;
    let ch = conn.create_channel().await?;
    let message = ch
        .basic_get(
            queue.into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await?
        .context("queue is empty")?;
    let _ = conn.close(200, "done".into()).await;
    Ok(message.delivery.data)
}

pub async fn purge_bench_queues(amqp_url: &str, prefix: &str) {
    if let Ok(conn) = Connection::connect(amqp_url, ConnectionProperties::default()).await {
        if let Ok(ch) = conn.create_channel().await {
            let topology = Topology::new(prefix);
            for d in Destination::ALL {
                let _ = ch
                    .queue_purge(topology.queue(d).into(), QueuePurgeOptions::default())
                    .await;
            }
        }
        let _ = conn.close(200, "done".into()).await;
    }
}

pub async fn delete_bench_topology(amqp_url: &str, prefix: &str) {
    delete_topology(amqp_url, &Topology::new(prefix)).await;
}

/// Deletes every queue and the exchange of `topology`.
pub async fn delete_topology(amqp_url: &str, topology: &Topology) {
    if let Ok(conn) = Connection::connect(amqp_url, ConnectionProperties::default()).await {
        if let Ok(ch) = conn.create_channel().await {
            for queue in topology.queue_names() {
                let _ = ch
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
            for exchange in topology.exchange_names() {
                let _ = ch
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await;
            }
        }
        let _ = conn.close(200, "done".into()).await;
    }
}

const BENCH_SECRET: &str = "whsec_loadgen_bench_secret_0123456789";

/// The one-run benchmark: baseline, router at peak, router at half the peak rate.
pub async fn bench(
    router_bin: &Path,
    amqp_url: &str,
    concurrency: usize,
    requests: usize,
    window: usize,
    rounds: usize,
    startup: Duration,
) -> anyhow::Result<()> {
    let prefix = format!("lhbench-{}", std::process::id());
    let port = free_port()?;
    let admin_port = free_port()?;
    let dir = std::env::temp_dir().join(format!("ledgerhook-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        bench_config(amqp_url, &prefix, port, admin_port, window),
    )?;
    let mut router = tokio::process::Command::new(router_bin)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", router_bin.display()))?;
    let ready = format!("http://127.0.0.1:{admin_port}/readyz");
    let deadline = Instant::now() + startup;
    loop {
        if reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the router did not become ready within {startup:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "ledgerhook benchmark: {cpus} CPUs, concurrency {concurrency}, {requests} requests per phase, \
         confirm window {window}, {rounds} rounds"
    );
    let url = format!("http://127.0.0.1:{port}/webhooks/bench/stripe");
    // A short warm-up so connection set-up is not measured.
    let warm = RouterLoad {
        url: url.clone(),
        secret: BENCH_SECRET.to_owned(),
        concurrency,
        requests: requests / 10,
        rate: None,
    };
    run_router(&warm).await?;
    // The baseline publishes exactly what the router published: a real event, same size.
    let payload = take_one(
        amqp_url,
        &Topology::new(prefix.clone()).queue(Destination::Accounting),
    )
    .await
    .context("the warm-up published nothing")?;
    purge_bench_queues(amqp_url, &prefix).await;

    // The broker's speed on a small shared machine drifts (disk flushes, other tenants), so the
    // two publishers alternate and the ratio is taken per round: each round compares runs made
    // seconds apart. The median round is reported.
    let mut rounds_out = Vec::with_capacity(rounds);
    let mut failed = 0;
    for round in 1..=rounds {
        let baseline = run_baseline(&BaselineOptions {
            amqp_url: amqp_url.to_owned(),
            payload: payload.clone(),
            prefix: prefix.clone(),
            concurrency,
            requests,
            window,
        })
        .await?;
        purge_bench_queues(amqp_url, &prefix).await;
        let peak = run_router(&RouterLoad {
            requests,
            ..warm.clone()
        })
        .await?;
        purge_bench_queues(amqp_url, &prefix).await;
        println!(
            "{}",
            baseline.table_row(&format!("[{round}] baseline (lapin)"))
        );
        println!("{}", peak.table_row(&format!("[{round}] router, peak")));
        failed += baseline.failed + peak.failed;
        rounds_out.push((peak.rate() / baseline.rate(), baseline, peak));
    }
    rounds_out.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (ratio, _, median_peak) = &rounds_out[rounds_out.len() / 2];
    let half_rate = median_peak.rate() / 2.0;
    let half = run_router(&RouterLoad {
        requests: requests / 2,
        rate: Some(half_rate),
        ..warm.clone()
    })
    .await?;
    failed += half.failed;
    println!("{}", half.table_row(&format!("router @ {half_rate:.0}/s")));
    let all: Vec<String> = rounds_out.iter().map(|r| format!("{:.2}", r.0)).collect();
    println!(
        "ratio router/baseline (median of rounds): {ratio:.2}  [rounds: {}]",
        all.join(", ")
    );

    let _ = router.kill().await;
    delete_bench_topology(amqp_url, &prefix).await;
    let _ = std::fs::remove_dir_all(&dir);
    if failed > 0 {
        bail!("some requests failed during the benchmark");
    }
    Ok(())
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn bench_config(amqp_url: &str, prefix: &str, port: u16, admin_port: u16, window: usize) -> String {
    format!(
        r#"[router]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin_port}"
public_base_url = "http://127.0.0.1:{port}"
confirm_window = {window}

[broker]
url = "{amqp_url}"
prefix = "{prefix}"

[store]
url = "postgres://postgres@127.0.0.1:5432/ledgerhook"

[[tenants]]
id = "bench"

[[tenants.sources]]
id = "stripe"
provider = "stripe"
secrets = ["{BENCH_SECRET}"]

[tenants.accounting]
system = "xero"
base_url = "http://127.0.0.1:9/xero"
tenant_id = "bench"
access_token = "unused"

[tenants.crm]
system = "hubspot"
base_url = "http://127.0.0.1:9/hubspot"
access_token = "unused"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ms: &[u64]) -> Report {
        let mut latencies: Vec<Duration> = ms.iter().map(|m| Duration::from_millis(*m)).collect();
        latencies.sort_unstable();
        Report {
            ok: ms.len(),
            failed: 0,
            elapsed: Duration::from_secs(2),
            latencies,
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let r = report(&(1..=100).collect::<Vec<_>>());
        assert_eq!(r.percentile(50.0), Duration::from_millis(50));
        assert_eq!(r.percentile(99.0), Duration::from_millis(99));
        assert_eq!(r.percentile(100.0), Duration::from_millis(100));
        assert_eq!(report(&[7]).percentile(99.0), Duration::from_millis(7));
        assert_eq!(report(&[]).percentile(50.0), Duration::ZERO);
        assert_eq!(r.rate(), 50.0);
    }

    #[test]
    fn the_stripe_body_is_signed_as_stripe_signs() {
        let body = stripe_body(3);
        let header = stripe_signature("whsec_x", &body);
        let (t, v1) = header
            .strip_prefix("t=")
            .and_then(|h| h.split_once(",v1="))
            .expect("t=...,v1=...");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_x").expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(&body);
        assert_eq!(v1, hex::encode(mac.finalize().into_bytes()));
        let event: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(event["type"], "invoice.paid");
        assert_ne!(stripe_body(4), body, "every request is a distinct event");
    }
}
