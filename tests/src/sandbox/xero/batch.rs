//! How Xero applies a request with several elements, and the query parameters of its GETs.
//!
//! By default one refused element refuses the whole request with 400 and changes nothing;
//! with `summarizeErrors=false` the valid elements are saved and the answer is 200 with each
//! element's `StatusAttributeString` `OK` or `ERROR` ("If false return 200 OK and mix of
//! successfully created objects and any with validation errors", summarizeErrors in
//! `xero_accounting.yaml`).

use std::collections::HashMap;

use serde::Serialize;

use super::{
    creditnotes::CreditNoteOut,
    model::Org,
    output::{ContactOut, InvoiceOut, Message, PaymentOut},
    reply::{self, Reply},
};
use crate::sandbox::webhooks::XeroEvent;

/// A response element that can carry validation errors and a per-element status.
pub(crate) trait Element: Serialize {
    fn refuse(&mut self, messages: Vec<String>);
    fn mark(&mut self, ok: bool);
}

macro_rules! element {
    ($t:ty) => {
        impl Element for $t {
            fn refuse(&mut self, messages: Vec<String>) {
                self.validation_errors = messages
                    .into_iter()
                    .map(|message| Message { message })
                    .collect();
            }
            fn mark(&mut self, ok: bool) {
                self.status_attribute_string = Some(if ok { "OK" } else { "ERROR" }.to_owned());
            }
        }
    };
}
element!(ContactOut);
element!(InvoiceOut);
element!(PaymentOut);
element!(CreditNoteOut);

/// The result of one element.
pub(crate) enum Outcome<O> {
    Saved(O, Vec<XeroEvent>),
    Refused(O),
}

/// Applies each element to a working copy of the organisation, then keeps or drops the copy as
/// Xero's `summarizeErrors` rules say.
pub(crate) fn run<I, O: Element>(
    org: &mut Org,
    inputs: Vec<I>,
    summarize_errors: bool,
    key: &str,
    mut step: impl FnMut(&mut Org, I) -> Outcome<O>,
) -> Reply {
    let mut work = org.clone();
    let mut results = Vec::with_capacity(inputs.len());
    let mut events = Vec::new();
    for input in inputs {
        match step(&mut work, input) {
            Outcome::Saved(out, mut ev) => {
                events.append(&mut ev);
                results.push((true, out));
            }
            Outcome::Refused(out) => results.push((false, out)),
        }
    }
    let refused = results.iter().any(|(ok, _)| !ok);
    if refused && summarize_errors {
        let elements: Vec<&O> = results
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, o)| o)
            .collect();
        return reply::validation(&elements);
    }
    *org = work;
    let elements: Vec<O> = results
        .into_iter()
        .map(|(ok, mut o)| {
            if !summarize_errors {
                o.mark(ok);
            }
            o
        })
        .collect();
    reply::envelope(key, &elements).with_events(events)
}

/// Query parameters, looked up without regard to case as Xero does.
#[derive(Debug, Default)]
pub(crate) struct Query(HashMap<String, String>);

impl Query {
    pub fn new(raw: HashMap<String, String>) -> Query {
        Query(
            raw.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A comma-separated list parameter such as `InvoiceNumbers=INV-1,INV-2`; values may be
    /// quoted, as the spec's examples quote them.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| {
            v.split(',')
                .map(|s| s.trim().trim_matches('"').to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }

    pub fn summarize_errors(&self) -> bool {
        !self
            .get("summarizeErrors")
            .is_some_and(|v| v.eq_ignore_ascii_case("false"))
    }

    /// `unitdp=4` opts in to four decimals for unit amounts; otherwise Xero uses two.
    pub fn unit_dp(&self) -> u32 {
        if self.get("unitdp") == Some("4") {
            4
        } else {
            2
        }
    }
}
