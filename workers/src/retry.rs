//! The retry ladder: a transiently failed event is re-published to the delay queue of its next
//! step, with its attempt count in a header of ours, and the original delivery is acked only
//! after the broker confirmed the copy. The delay queue's TTL dead-letters it back to the
//! destination queue. After the last step the event becomes a dead letter.

use std::time::Duration;

use lapin::{
    types::{AMQPValue, FieldTable},
    BasicProperties,
};
use ledgerhook_shared::broker::{headers, Destination, OutgoingMessage, Topology};
use uuid::Uuid;

/// What a delivery's headers say about its history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Failed attempts before this delivery (0 on the first).
    pub attempts: u32,
    /// The dead letter this delivery replays, if it is a replay.
    pub replay: Option<Uuid>,
    /// The W3C trace context the router sent, carried to every retry.
    pub traceparent: Option<String>,
}

impl History {
    pub fn of(properties: &BasicProperties) -> History {
        let Some(table) = properties.headers() else {
            return History::default();
        };
        History {
            attempts: header_text(table, headers::ATTEMPT)
                .and_then(|v| v.parse().ok())
                .or_else(|| header_int(table, headers::ATTEMPT))
                .unwrap_or(0),
            replay: header_text(table, headers::REPLAY).and_then(|v| v.parse().ok()),
            traceparent: header_text(table, headers::TRACEPARENT),
        }
    }
}

fn header_text(table: &FieldTable, key: &str) -> Option<String> {
    match table.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn header_int(table: &FieldTable, key: &str) -> Option<u32> {
    match table.inner().get(key)? {
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::ShortInt(n) => u32::try_from(*n).ok(),
        _ => None,
    }
}

/// The delay before attempt `failures + 1`, or `None` when the ladder is exhausted. `failures`
/// counts the failure that just happened. A Retry-After from the target moves up to the first
/// step at least that long (the longest step when none is).
pub fn next_delay(
    ladder: &[Duration],
    failures: u32,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let index = usize::try_from(failures.checked_sub(1)?).ok()?;
    let step = *ladder.get(index)?;
    match retry_after {
        Some(wanted) if wanted > step => Some(
            ladder[index..]
                .iter()
                .copied()
                .find(|d| *d >= wanted)
                .unwrap_or(ladder[ladder.len() - 1]),
        ),
        _ => Some(step),
    }
}

/// The copy of an event for the delay queue of `delay`: same body and id, the attempt count,
/// and the replay marker and trace context it came with.
pub fn deferred(
    topology: &Topology,
    destination: Destination,
    delay: Duration,
    event_id: &str,
    body: &[u8],
    history: &History,
    failures: u32,
) -> OutgoingMessage {
    let mut carried = vec![(headers::ATTEMPT.to_owned(), failures.to_string())];
    if let Some(replay) = history.replay {
        carried.push((headers::REPLAY.to_owned(), replay.to_string()));
    }
    if let Some(trace) = &history.traceparent {
        carried.push((headers::TRACEPARENT.to_owned(), trace.clone()));
    }
    OutgoingMessage {
        exchange: topology.retry_queue(delay),
        routing_key: topology.queue(destination),
        message_id: event_id.to_owned(),
        content_type: "application/cloudevents+json".to_owned(),
        headers: carried,
        body: body.to_vec(),
    }
}

/// The HTTP status a connector put at the front of its reason (`HTTP 503: ...`), if any.
pub fn http_status(reason: &str) -> Option<i32> {
    let rest = reason.strip_prefix("HTTP ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|s| (100..600).contains(s))
}

#[cfg(test)]
mod tests {
    use lapin::types::ShortString;

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    const LADDER: [Duration; 5] = [
        Duration::from_secs(5),
        Duration::from_secs(30),
        Duration::from_secs(120),
        Duration::from_secs(600),
        Duration::from_secs(3600),
    ];

    #[test]
    fn each_failure_climbs_one_step_then_the_ladder_runs_out() {
        let steps: Vec<_> = (1..=6).map(|n| next_delay(&LADDER, n, None)).collect();
        assert_eq!(
            steps,
            [
                Some(secs(5)),
                Some(secs(30)),
                Some(secs(120)),
                Some(secs(600)),
                Some(secs(3600)),
                None
            ]
        );
        assert_eq!(next_delay(&LADDER, 0, None), None);
    }

    #[test]
    fn retry_after_picks_a_step_at_least_that_long() {
        assert_eq!(next_delay(&LADDER, 1, Some(secs(7))), Some(secs(30)));
        assert_eq!(next_delay(&LADDER, 1, Some(secs(5))), Some(secs(5)));
        assert_eq!(next_delay(&LADDER, 1, Some(secs(2))), Some(secs(5)));
        assert_eq!(next_delay(&LADDER, 3, Some(secs(121))), Some(secs(600)));
        assert_eq!(next_delay(&LADDER, 2, Some(secs(7200))), Some(secs(3600)));
    }

    #[test]
    fn history_reads_our_headers_as_text_or_numbers() {
        let mut table = FieldTable::default();
        table.insert(
            ShortString::from(headers::ATTEMPT),
            AMQPValue::LongString("3".into()),
        );
        let replay = Uuid::now_v7();
        table.insert(
            ShortString::from(headers::REPLAY),
            AMQPValue::LongString(replay.to_string().into()),
        );
        let h = History::of(&BasicProperties::default().with_headers(table));
        assert_eq!(h.attempts, 3);
        assert_eq!(h.replay, Some(replay));

        let mut table = FieldTable::default();
        table.insert(
            ShortString::from(headers::ATTEMPT),
            AMQPValue::LongLongInt(2),
        );
        assert_eq!(
            History::of(&BasicProperties::default().with_headers(table)).attempts,
            2
        );
        assert_eq!(History::of(&BasicProperties::default()), History::default());
    }

    #[test]
    fn the_deferred_copy_keeps_body_id_and_markers() {
        let topology = Topology::new("lh");
        let history = History {
            attempts: 1,
            replay: Some(Uuid::nil()),
            traceparent: Some("00-abc-def-01".into()),
        };
        let m = deferred(
            &topology,
            Destination::Crm,
            secs(30),
            "evt-1",
            b"{}",
            &history,
            2,
        );
        assert_eq!(m.exchange, "lh.retry.30s");
        assert_eq!(m.routing_key, "lh.crm");
        assert_eq!(m.body, b"{}");
        assert!(m.headers.contains(&(headers::ATTEMPT.into(), "2".into())));
        assert!(m
            .headers
            .contains(&(headers::REPLAY.into(), Uuid::nil().to_string())));
        assert!(m
            .headers
            .contains(&(headers::TRACEPARENT.into(), "00-abc-def-01".into())));
    }

    #[test]
    fn http_status_is_read_from_the_reason() {
        assert_eq!(http_status("HTTP 503: busy"), Some(503));
        assert_eq!(http_status("HTTP 429: slow down"), Some(429));
        assert_eq!(http_status("request failed: timeout"), None);
        assert_eq!(http_status("HTTP 9999: x"), None);
    }
}
