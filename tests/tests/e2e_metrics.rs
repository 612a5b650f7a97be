//! Workers as Prometheus and Kubernetes see them: after a real event flows through, each
//! worker's `/metrics` counts it by destination, tenant and outcome, with latency samples,
//! and `/healthz` and `/readyz` answer on the same listener until the worker has drained.

mod support;

use std::time::Duration;

use ledgerhook_shared::broker::Destination;
use serde_json::Value;
use support::Env;

const WAIT: Duration = Duration::from_secs(30);

/// The value of the sample `name{labels...}` in a Prometheus text exposition, if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(r) => r.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        let all_match = labels.iter().all(|(k, v)| {
            label_text
                .split(',')
                .any(|pair| pair == format!("{k}=\"{v}\""))
        });
        all_match.then(|| value.trim().parse().ok()).flatten()
    })
}

async fn get(env: &Env, url: &str) -> (u16, String) {
    let answer = env.http.get(url).send().await.expect("worker answers");
    let status = answer.status().as_u16();
    (status, answer.text().await.expect("body"))
}

/// Polls until `destination`'s count of `outcome` for tenant acme is at least one and equals
/// the journal's rows for it; returns the last scrape.
async fn counted_as_journaled(env: &Env, destination: Destination, outcome: &str) -> String {
    let labels = [
        ("tenant", "acme"),
        ("outcome", outcome),
        ("destination", destination.as_str()),
    ];
    let url = format!("{}/metrics", env.worker_urls(destination)[0]);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, text) = get(env, &url).await;
        let counted = sample(&text, "ledgerhook_worker_events_total", &labels).unwrap_or(0.0);
        let journaled = env
            .journal(outcome)
            .await
            .iter()
            .filter(|(d, _, _)| d == destination.as_str())
            .count() as f64;
        if counted >= 1.0 && counted == journaled {
            return text;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{outcome}: {counted} counted, {journaled} journaled; /metrics:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_synced_invoice_is_counted_timed_and_its_echo_counted_as_suppressed() {
    let env = Env::start(1).await;
    let accounting = env.worker_urls(Destination::Accounting)[0].clone();
    let crm = env.worker_urls(Destination::Crm)[0].clone();

    for base in [&accounting, &crm] {
        let (status, body) = get(&env, &format!("{base}/healthz")).await;
        assert_eq!(status, 200, "{body}");
        // Ready once the consumer is attached; both workers connect on their own.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (status, body) = get(&env, &format!("{base}/readyz")).await;
            if status == 200 {
                let ready: Value = serde_json::from_str(&body).expect("JSON");
                assert_eq!(ready["broker"], "ok");
                assert_eq!(ready["store"], "ok");
                break;
            }
            assert_eq!(status, 503, "{body}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "{base} never became ready: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // A HubSpot invoice: the accounting worker creates it in Xero; Xero then announces that
    // write, and the CRM worker recognises it as the echo of ledgerhook's own write.
    support::hubspot_invoice(&env, "INV-7001", &[("Annual plan", "1", "990.00")]).await;
    // Every applied event the journal records is counted, and at least one happened.
    let text = counted_as_journaled(&env, Destination::Accounting, "applied").await;
    let destination = [("destination", "accounting")];
    let timed = sample(
        &text,
        "ledgerhook_worker_event_end_to_end_seconds_count",
        &destination,
    )
    .expect("end-to-end histogram");
    assert!(timed >= 1.0, "{text}");
    let slowest = sample(
        &text,
        "ledgerhook_worker_event_end_to_end_seconds_sum",
        &destination,
    )
    .expect("end-to-end sum");
    assert!(
        slowest > 0.0 && slowest < WAIT.as_secs_f64() * timed,
        "{text}"
    );
    let picked_up = sample(
        &text,
        "ledgerhook_worker_event_queue_lag_seconds_count",
        &destination,
    )
    .expect("queue lag histogram");
    assert!(picked_up >= timed, "{text}");
    assert_eq!(
        sample(&text, "ledgerhook_worker_consuming", &destination),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "ledgerhook_worker_events_in_flight", &destination).is_some(),
        "{text}"
    );
    assert!(
        text.contains("# TYPE ledgerhook_worker_event_end_to_end_seconds histogram"),
        "{text}"
    );

    // The Xero connection's limits are shared between the processes calling it (this test's
    // two workers at most), reported at the next check-in.
    let connection = [("destination", "accounting"), ("connection", "acme/xero")];
    let deadline = tokio::time::Instant::now() + WAIT;
    let sharing = loop {
        let (_, text) = get(&env, &format!("{accounting}/metrics")).await;
        if let Some(n) = sample(&text, "ledgerhook_worker_rate_limit_processes", &connection) {
            assert!(
                sample(
                    &text,
                    "ledgerhook_worker_rate_limit_wait_seconds_total",
                    &connection
                )
                .is_some(),
                "{text}"
            );
            break n;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no rate-limit share reported:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!((1.0..=2.0).contains(&sharing), "{sharing} processes");

    // Every suppression the journal records is counted, and at least one happened.
    let text = counted_as_journaled(&env, Destination::Crm, "suppressed").await;
    assert!(
        !text.contains(r#"outcome="dead_lettered""#),
        "nothing was dead-lettered:\n{text}"
    );

    let (status, body) = get(&env, &format!("{accounting}/nope")).await;
    assert_eq!(status, 404, "{body}");

    // The listeners stop with their workers, after the drain.
    env.finish().await;
    for base in [&accounting, &crm] {
        let gone = reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        assert!(
            gone.is_err(),
            "{base} still answers after the worker stopped"
        );
    }
}
