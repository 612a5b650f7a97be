//! W3C Trace Context (`traceparent`): `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
//!
//! The router takes the request's `traceparent` when it is valid, or starts a trace, and puts
//! its own on every event it publishes (AMQP header `traceparent`); the worker reads it back, so
//! the log lines of one event on both sides share a `trace_id`.

use std::fmt;

/// The `sampled` bit of the trace flags.
pub const SAMPLED: u8 = 0x01;

/// One parsed `traceparent`. Both ids are non-zero by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: u128,
    parent_id: u64,
    flags: u8,
}

impl TraceParent {
    /// Builds one from its parts; `None` when either id is zero (invalid in W3C Trace Context).
    pub fn new(trace_id: u128, parent_id: u64, flags: u8) -> Option<Self> {
        (trace_id != 0 && parent_id != 0).then_some(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// A new trace, sampled, with random ids.
    pub fn generate() -> Self {
        TraceParent {
            trace_id: nonzero(rand::random::<u128>),
            parent_id: nonzero(rand::random::<u64>),
            flags: SAMPLED,
        }
    }

    /// The same trace continued by a new span (a random parent id), same flags.
    pub fn child(&self) -> Self {
        TraceParent {
            parent_id: nonzero(rand::random::<u64>),
            ..*self
        }
    }

    /// Parses a header value. Version `00` must be exactly four fields; a later version may
    /// append fields after a `-`, of which only the first four are read, as the spec asks.
    /// Hex must be lowercase; all-zero ids and version `ff` are refused.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let bytes = value.as_bytes();
        if !value.is_ascii() || bytes.len() < 55 {
            return None;
        }
        let version = &value[..2];
        if !is_lower_hex(version) || version == "ff" {
            return None;
        }
        if version == "00" && bytes.len() != 55 {
            return None;
        }
        if bytes.len() > 55 && bytes[55] != b'-' {
            return None;
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let (trace, parent, flags) = (&value[3..35], &value[36..52], &value[53..55]);
        if !(is_lower_hex(trace) && is_lower_hex(parent) && is_lower_hex(flags)) {
            return None;
        }
        TraceParent::new(
            u128::from_str_radix(trace, 16).ok()?,
            u64::from_str_radix(parent, 16).ok()?,
            u8::from_str_radix(flags, 16).ok()?,
        )
    }

    pub fn trace_id(&self) -> u128 {
        self.trace_id
    }

    pub fn parent_id(&self) -> u64 {
        self.parent_id
    }

    pub fn flags(&self) -> u8 {
        self.flags
    }

    pub fn is_sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// The trace id as logged: 32 lowercase hex digits.
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The parent (span) id as logged: 16 lowercase hex digits.
    pub fn parent_id_hex(&self) -> String {
        format!("{:016x}", self.parent_id)
    }
}

/// The header value, always version `00`.
impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.parent_id, self.flags
        )
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn nonzero<T: PartialEq + Default>(mut draw: impl FnMut() -> T) -> T {
    loop {
        let value = draw();
        if value != T::default() {
            return value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_formats_the_spec_example() {
        let parsed = TraceParent::parse(EXAMPLE).unwrap();
        assert_eq!(parsed.trace_id(), 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(parsed.parent_id(), 0x00f067aa0ba902b7);
        assert_eq!(parsed.flags(), 1);
        assert!(parsed.is_sampled());
        assert_eq!(parsed.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.parent_id_hex(), "00f067aa0ba902b7");
        assert_eq!(parsed.to_string(), EXAMPLE);
    }

    #[test]
    fn keeps_leading_zeros_and_unsampled_flags() {
        let value = "00-00000000000000000000000000000001-0000000000000002-00";
        let parsed = TraceParent::parse(value).unwrap();
        assert!(!parsed.is_sampled());
        assert_eq!(parsed.to_string(), value);
    }

    #[test]
    fn refuses_invalid_values() {
        for value in [
            "",
            "00",
            "not a traceparent",
            // All-zero ids.
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // Uppercase hex.
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            // Wrong lengths.
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            // Version 00 has exactly four fields.
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            // The forbidden version.
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // Wrong separators, signs and non-hex.
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "é0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // A later version must separate what it appends.
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ] {
            assert_eq!(TraceParent::parse(value), None, "{value:?} was accepted");
        }
    }

    #[test]
    fn a_later_version_is_read_by_its_first_four_fields() {
        let parsed =
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what")
                .unwrap();
        assert_eq!(parsed.to_string(), EXAMPLE);
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert!(TraceParent::parse(&format!(" {EXAMPLE} ")).is_some());
    }

    #[test]
    fn generated_values_round_trip_and_children_keep_the_trace() {
        let root = TraceParent::generate();
        assert!(root.is_sampled());
        assert_eq!(TraceParent::parse(&root.to_string()), Some(root));
        let child = root.child();
        assert_eq!(child.trace_id(), root.trace_id());
        assert_eq!(child.flags(), root.flags());
        assert_ne!(child.parent_id(), root.parent_id());
        assert_ne!(TraceParent::generate().trace_id(), root.trace_id());
    }

    #[test]
    fn new_refuses_zero_ids() {
        assert!(TraceParent::new(0, 1, 1).is_none());
        assert!(TraceParent::new(1, 0, 1).is_none());
        assert!(TraceParent::new(1, 1, 0).is_some());
    }
}
