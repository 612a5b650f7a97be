//! `/customer`: create, read `customer/{id}`, and update (sparse with `"sparse": true`, else
//! full) with the current `SyncToken`.
//!
//! From Intuit's Customer reference: `DisplayName` must be unique across customers, vendors and
//! employees (refused with 6240); without one, at least one of Title, GivenName, MiddleName,
//! FamilyName and Suffix is required, and the display name is made from them; a sparse update
//! changes only the fields it names, a full update sets the writable fields it leaves out to
//! null; deactivating (`Active: false`) is how a customer is removed. The customer's balance is
//! read-only and computed. A stale `SyncToken` is refused with 5010 as for every entity.

use super::{
    model::{Company, Customer, Meta},
    output::CustomerOut,
    reply::{self, Reply},
    wire::{self, CustomerIn},
};
use crate::sandbox::webhooks::QuickbooksEvent;

pub(crate) fn read(company: &Company, id: &str) -> Reply {
    match company.customer(id) {
        Some(c) => reply::entity("Customer", &CustomerOut::new(company, c)),
        None => reply::not_found(),
    }
}

pub(crate) fn write(company: &mut Company, body: &[u8]) -> Reply {
    let input: CustomerIn = match wire::parse(body) {
        Ok(input) => input,
        Err(e) => return reply::invalid_property(&e),
    };
    match (input.id.clone(), input.sync_token.clone()) {
        (Some(id), token) => update(company, &id, token.as_deref(), input.sparse, input),
        (None, _) => create(company, input),
    }
}

/// "Title GivenName MiddleName FamilyName Suffix", the parts given.
fn composed(input: &CustomerIn) -> Option<String> {
    let parts: Vec<&str> = [
        &input.title,
        &input.given_name,
        &input.middle_name,
        &input.family_name,
        &input.suffix,
    ]
    .into_iter()
    .filter_map(|p| p.as_deref().map(str::trim).filter(|p| !p.is_empty()))
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn display_name(input: &CustomerIn) -> Option<String> {
    input
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .or_else(|| composed(input))
}

fn duplicate_name() -> Reply {
    reply::validation(
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name.",
    )
}

fn create(company: &mut Company, input: CustomerIn) -> Reply {
    let Some(name) = display_name(&input) else {
        return reply::required("DisplayName");
    };
    if name.contains([':', '\t', '\n']) {
        return reply::business("A name cannot contain a colon (:), a tab or a new line.");
    }
    if company.name_taken(&name, None) {
        return duplicate_name();
    }
    let currency = input
        .currency_ref
        .as_ref()
        .and_then(|r| r.value.clone())
        .unwrap_or_else(|| company.home_currency.clone());
    let mut customer = Customer {
        id: company.next_id("customer"),
        meta: Meta::new(),
        display_name: name,
        title: None,
        given_name: None,
        middle_name: None,
        family_name: None,
        suffix: None,
        company_name: None,
        email: None,
        phone: None,
        bill_addr: None,
        notes: None,
        active: true,
        currency: currency.to_ascii_uppercase(),
    };
    apply(&mut customer, input, true);
    let event = QuickbooksEvent::new("customer", &customer.id, "created");
    let out = CustomerOut::new(company, &customer);
    company.customers.push(customer);
    reply::entity("Customer", &out).with_events(vec![event])
}

fn update(
    company: &mut Company,
    id: &str,
    sync_token: Option<&str>,
    sparse: bool,
    input: CustomerIn,
) -> Reply {
    let Some(current) = company.customer(id).cloned() else {
        return reply::not_found();
    };
    let Some(token) = sync_token else {
        return reply::required("SyncToken");
    };
    if token.trim() != current.meta.sync_token.to_string() {
        return reply::stale();
    }
    let name = match (display_name(&input), sparse) {
        (Some(name), _) => name,
        (None, true) => current.display_name.clone(),
        (None, false) => return reply::required("DisplayName"),
    };
    if name.contains([':', '\t', '\n']) {
        return reply::business("A name cannot contain a colon (:), a tab or a new line.");
    }
    if company.name_taken(&name, Some(id)) {
        return duplicate_name();
    }
    let mut customer = current;
    customer.display_name = name;
    apply(&mut customer, input, sparse);
    customer.meta.touch();
    let out = CustomerOut::new(company, &customer);
    let event = QuickbooksEvent::new("customer", id, "updated");
    if let Some(slot) = company.customers.iter_mut().find(|c| c.id == id) {
        *slot = customer;
    }
    reply::entity("Customer", &out).with_events(vec![event])
}

/// Copies the writable fields: those given, and with a full update, clears those left out.
fn apply(c: &mut Customer, input: CustomerIn, sparse: bool) {
    fn set<T>(field: &mut Option<T>, value: Option<T>, sparse: bool) {
        if value.is_some() || !sparse {
            *field = value;
        }
    }
    set(&mut c.title, input.title, sparse);
    set(&mut c.given_name, input.given_name, sparse);
    set(&mut c.middle_name, input.middle_name, sparse);
    set(&mut c.family_name, input.family_name, sparse);
    set(&mut c.suffix, input.suffix, sparse);
    set(&mut c.company_name, input.company_name, sparse);
    let email = input.primary_email_addr.map(|e| e.address);
    set(&mut c.email, email.flatten(), sparse);
    let phone = input.primary_phone.map(|p| p.free_form_number);
    set(&mut c.phone, phone.flatten(), sparse);
    set(&mut c.bill_addr, input.bill_addr, sparse);
    set(&mut c.notes, input.notes, sparse);
    if let Some(active) = input.active {
        c.active = active;
    } else if !sparse {
        c.active = true;
    }
}
