//! One simulated HubSpot portal: CRM objects (contacts, companies, invoices, line items) as
//! string properties, the associations between them, and the calculated properties.
//!
//! From HubSpot's docs: property values are strings; object type ids are contacts `0-1`,
//! companies `0-2`, line items `0-8`, invoices `0-53`; an invoice needs only `hs_currency` to be
//! created as a draft; `hs_invoice_date` and `hs_due_date` are set when not given;
//! `hs_invoice_status` is draft, open, paid or voided; "Amount billed" and "Balance due" are
//! computed (knowledge.hubspot.com default invoice properties); a line item's `amount` is
//! price × quantity − discount. Not confirmed in a stored copy of HubSpot's docs, so chosen
//! here: `hs_number` is writable and, when not given,
//! numbered `INV-<n>`; the due date defaults to 30 days after the invoice date; a paid
//! invoice's balance is zero, as is a voided one's.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, Utc};
use rust_decimal::Decimal;

use super::types::association;
pub(crate) use super::types::{default_type, ObjType};
use crate::sandbox::money::{fixed, parse_number};

#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub id: u64,
    pub props: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    from: (ObjType, u64),
    to: (ObjType, u64),
    type_id: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Portal {
    pub tenant: String,
    pub portal_id: u64,
    next_id: u64,
    pub objects: BTreeMap<ObjType, BTreeMap<u64, Obj>>,
    edges: Vec<Edge>,
}

/// Custom properties with unique values (`hasUniqueValue`) that every simulated portal has:
/// ledgerhook's invoice key, which the setup in the README creates. (A contact's `email` is
/// unique too, with its own answer.)
pub(crate) fn unique_properties(t: ObjType) -> &'static [&'static str] {
    match t {
        ObjType::Invoices => &["ledgerhook_key"],
        _ => &[],
    }
}

/// HubSpot's timestamp form, e.g. `2023-03-08T14:54:17.333Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Portal {
    pub fn new(tenant: &str, portal_id: u64) -> Portal {
        Portal {
            tenant: tenant.to_owned(),
            portal_id,
            next_id: 1001,
            objects: ObjType::ALL.iter().map(|t| (*t, BTreeMap::new())).collect(),
            edges: Vec::new(),
        }
    }

    pub fn of(&self, t: ObjType) -> impl Iterator<Item = &Obj> {
        self.objects.get(&t).into_iter().flat_map(|m| m.values())
    }

    pub fn get(&self, t: ObjType, id: u64) -> Option<&Obj> {
        self.objects.get(&t)?.get(&id)
    }

    /// Finds an object by a property value, ignoring case (HubSpot's unique `email` does).
    pub fn find_by(&self, t: ObjType, property: &str, value: &str) -> Option<u64> {
        if property == "hs_object_id" {
            return value.parse().ok().filter(|id| self.get(t, *id).is_some());
        }
        self.of(t)
            .find(|o| {
                o.props
                    .get(property)
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
            .map(|o| o.id)
    }

    /// Creates an object with system and default properties; the caller has validated `props`.
    pub fn create(&mut self, t: ObjType, props: BTreeMap<String, String>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let now = Utc::now();
        let mut obj = Obj {
            id,
            props,
            created: now,
            updated: now,
        };
        obj.props.insert("hs_object_id".to_owned(), id.to_string());
        obj.props
            .insert(t.created_prop().to_owned(), timestamp(now));
        obj.props
            .insert(t.modified_prop().to_owned(), timestamp(now));
        if t == ObjType::Invoices {
            let today = now
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc();
            let due = today.checked_add_days(Days::new(30)).unwrap_or(today);
            let number = format!("INV-{id}");
            for (name, value) in [
                ("hs_invoice_status", "draft".to_owned()),
                ("hs_invoice_date", timestamp(today)),
                ("hs_due_date", timestamp(due)),
                ("hs_number", number),
            ] {
                obj.props.entry(name.to_owned()).or_insert(value);
            }
        }
        self.objects.entry(t).or_default().insert(id, obj);
        id
    }

    /// Sets (or, with an empty value, clears) properties and stamps the modification time.
    pub fn update(&mut self, t: ObjType, id: u64, props: BTreeMap<String, String>) {
        if let Some(obj) = self.objects.get_mut(&t).and_then(|m| m.get_mut(&id)) {
            for (name, value) in props {
                if value.is_empty() {
                    obj.props.remove(&name);
                } else {
                    obj.props.insert(name, value);
                }
            }
            touch(t, obj);
        }
    }

    pub fn archive(&mut self, t: ObjType, id: u64) -> bool {
        let removed = self.objects.get_mut(&t).and_then(|m| m.remove(&id));
        self.edges.retain(|e| e.from != (t, id) && e.to != (t, id));
        removed.is_some()
    }

    /// Associates `from` with the object `to_id` through `type_id`, both directions.
    pub fn associate(
        &mut self,
        from: ObjType,
        from_id: u64,
        type_id: u32,
        to_id: u64,
    ) -> Result<ObjType, String> {
        let (to, inverse, _) = association(from, type_id).ok_or_else(|| {
            format!(
                "{type_id} is not a valid association type id from {}",
                from.singular()
            )
        })?;
        if self.get(to, to_id).is_none() {
            return Err(format!("No {} with id {to_id} exists", to.singular()));
        }
        for edge in [
            Edge {
                from: (from, from_id),
                to: (to, to_id),
                type_id,
            },
            Edge {
                from: (to, to_id),
                to: (from, from_id),
                type_id: inverse,
            },
        ] {
            if !self.edges.contains(&edge) {
                self.edges.push(edge);
            }
        }
        Ok(to)
    }

    /// `(id, label)` of the objects of type `to` associated with `(from, id)`.
    pub fn associated(&self, from: ObjType, id: u64, to: ObjType) -> Vec<(u64, &'static str)> {
        self.edges
            .iter()
            .filter(|e| e.from == (from, id) && e.to.0 == to)
            .filter_map(|e| association(from, e.type_id).map(|(_, _, label)| (e.to.1, label)))
            .collect()
    }

    /// Recomputes line item amounts and invoice totals; objects whose values change get a new
    /// modification time, as HubSpot's calculated properties do.
    pub fn recalculate(&mut self) {
        let mut amounts: HashMap<u64, Decimal> = HashMap::new();
        if let Some(items) = self.objects.get_mut(&ObjType::LineItems) {
            for item in items.values_mut() {
                let num = |name: &str| item.props.get(name).and_then(|v| parse_number(v));
                let quantity = num("quantity").unwrap_or(Decimal::ONE);
                let gross = quantity * num("price").unwrap_or_default();
                let amount = gross - num("discount").unwrap_or_default();
                amounts.insert(item.id, amount);
                set_calculated(ObjType::LineItems, item, "amount", fixed(amount, 2));
            }
        }
        let invoice_ids: Vec<u64> = self.of(ObjType::Invoices).map(|o| o.id).collect();
        for id in invoice_ids {
            let billed: Decimal = self
                .associated(ObjType::Invoices, id, ObjType::LineItems)
                .iter()
                .filter_map(|(item, _)| amounts.get(item))
                .sum();
            let Some(invoice) = self
                .objects
                .get_mut(&ObjType::Invoices)
                .and_then(|m| m.get_mut(&id))
            else {
                continue;
            };
            let status = invoice
                .props
                .get("hs_invoice_status")
                .cloned()
                .unwrap_or_default();
            let paid = if status == "paid" {
                billed
            } else {
                Decimal::ZERO
            };
            let balance = if status == "voided" {
                Decimal::ZERO
            } else {
                billed - paid
            };
            set_calculated(
                ObjType::Invoices,
                invoice,
                "hs_amount_billed",
                fixed(billed, 2),
            );
            set_calculated(ObjType::Invoices, invoice, "hs_amount_paid", fixed(paid, 2));
            set_calculated(
                ObjType::Invoices,
                invoice,
                "hs_balance_due",
                fixed(balance, 2),
            );
        }
    }

    /// Property values of the objects that have webhooks, to diff before and after a change.
    pub fn snapshot(&self) -> HashMap<(ObjType, u64), BTreeMap<String, String>> {
        [ObjType::Contacts, ObjType::Companies, ObjType::Invoices]
            .iter()
            .flat_map(|t| self.of(*t).map(move |o| ((*t, o.id), o.props.clone())))
            .collect()
    }
}

fn set_calculated(t: ObjType, obj: &mut Obj, name: &str, value: String) {
    if obj.props.get(name) != Some(&value) {
        obj.props.insert(name.to_owned(), value);
        touch(t, obj);
    }
}

fn touch(t: ObjType, obj: &mut Obj) {
    obj.updated = Utc::now();
    obj.props
        .insert(t.modified_prop().to_owned(), timestamp(obj.updated));
}
