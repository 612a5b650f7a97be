//! Which HubSpot notifications a change causes: the portal's objects before and after, compared
//! property by property.
//!
//! Subscription types as HubSpot's webhooks docs name them: `contact.creation`,
//! `contact.propertyChange`, `contact.deletion` (and `company.*`) for the classic objects, and
//! the generic `object.creation` / `object.propertyChange` / `object.deletion` with
//! `objectTypeId` for the others, invoices being `0-53`. The creation and modification
//! timestamps change with everything, so they are not announced on their own.

use std::collections::{BTreeMap, HashMap};

use super::model::{ObjType, Portal};
use crate::sandbox::webhooks::HubspotEvent;

type Snapshot = HashMap<(ObjType, u64), BTreeMap<String, String>>;

pub(super) fn diff(before: &Snapshot, portal: &Portal) -> Vec<HubspotEvent> {
    let after = portal.snapshot();
    let mut keys: Vec<&(ObjType, u64)> = after.keys().chain(before.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut events = Vec::new();
    for key in keys {
        let (t, id) = *key;
        let event = |action: &'static str, property: Option<(String, String)>| {
            let (subscription_type, object_type_id) = subscription(t, action);
            HubspotEvent {
                object_id: id,
                subscription_type,
                object_type_id,
                property,
            }
        };
        match (before.get(key), after.get(key)) {
            (None, Some(_)) => events.push(event("creation", None)),
            (Some(_), None) => events.push(event("deletion", None)),
            (Some(old), Some(new)) => {
                let names = old
                    .keys()
                    .chain(new.keys())
                    .filter(|n| n.as_str() != t.modified_prop() && n.as_str() != t.created_prop());
                let mut names: Vec<&String> = names.collect();
                names.sort();
                names.dedup();
                for name in names {
                    if old.get(name) != new.get(name) {
                        let value = new.get(name).cloned().unwrap_or_default();
                        events.push(event("propertyChange", Some((name.clone(), value))));
                    }
                }
            }
            (None, None) => {}
        }
    }
    events
}

fn subscription(t: ObjType, action: &str) -> (&'static str, Option<&'static str>) {
    let name = match (t, action) {
        (ObjType::Contacts, "creation") => "contact.creation",
        (ObjType::Contacts, "deletion") => "contact.deletion",
        (ObjType::Contacts, _) => "contact.propertyChange",
        (ObjType::Companies, "creation") => "company.creation",
        (ObjType::Companies, "deletion") => "company.deletion",
        (ObjType::Companies, _) => "company.propertyChange",
        (_, "creation") => "object.creation",
        (_, "deletion") => "object.deletion",
        _ => "object.propertyChange",
    };
    let type_id = name.starts_with("object.").then(|| t.type_id());
    (name, type_id)
}
