//! AMQP headers of ours that travel with a canonical event.

/// How many times applying this event has failed so far (absent on the first delivery). Set by
/// the worker when it re-publishes an event to a delay queue; `x-death` is RabbitMQ's and
/// differs between versions, so it is never read.
pub const ATTEMPT: &str = "x-ledgerhook-attempt";

/// The id of the dead letter this message replays. The worker reports the replay's outcome on
/// that dead letter: `replayed` when applied (or found already applied), `open` again when it
/// fails again.
pub const REPLAY: &str = "x-ledgerhook-replay";

/// W3C trace context, from the router's request to the worker's apply.
pub const TRACEPARENT: &str = "traceparent";
