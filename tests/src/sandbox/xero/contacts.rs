//! `/Contacts`: GET (with `where`, `IDs`), GET by ContactID or ContactNumber, PUT to create,
//! POST to update or create.
//!
//! Confirmed in `xero_accounting.yaml`: `GET /Contacts/{ContactNumber}` beside
//! `/Contacts/{ContactID}`; `POST /Contacts` is "updateOrCreateContacts"; a name must be unique
//! among active contacts, refused with "The contact name X is already assigned to another
//! contact. The contact name must be unique across all active contacts." A POST element
//! updates the contact its `ContactID` (or else its `ContactNumber`) names. The message for a
//! missing name is the sandbox's own.

use chrono::Utc;

use super::{
    batch::{self, Outcome, Query},
    filter::Filter,
    model::{new_id, Contact, Org},
    output::ContactOut,
    reply::{self, Reply},
    wire::{self, ContactIn},
};
use crate::sandbox::webhooks::XeroEvent;

pub(crate) fn list(org: &Org, query: &Query) -> Reply {
    let filter = match query.get("where").map(Filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => return reply::query_parse(&e),
    };
    let ids = query.list("IDs");
    let archived = query
        .get("includeArchived")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let found: Vec<ContactOut> = org
        .contacts
        .iter()
        .filter(|c| archived || c.status != "ARCHIVED")
        .filter(|c| {
            ids.as_ref()
                .is_none_or(|ids| ids.iter().any(|id| id.eq_ignore_ascii_case(&c.id)))
        })
        .filter(|c| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(|name| field(c, name)))
        })
        .map(ContactOut::new)
        .collect();
    reply::envelope("Contacts", &found)
}

fn field(c: &Contact, name: &str) -> Option<String> {
    match name {
        "contactid" => Some(c.id.clone()),
        "contactnumber" => c.contact_number.clone(),
        "accountnumber" => c.account_number.clone(),
        "contactstatus" => Some(c.status.clone()),
        "name" => Some(c.name.clone()),
        "firstname" => c.first_name.clone(),
        "lastname" => c.last_name.clone(),
        "emailaddress" => c.email.clone(),
        "taxnumber" => c.tax_number.clone(),
        _ => None,
    }
}

/// `GET /Contacts/{ContactID}` or `/Contacts/{ContactNumber}`.
pub(crate) fn get(org: &Org, key: &str) -> Reply {
    let found = org.contact(key).or_else(|| {
        org.contacts
            .iter()
            .find(|c| c.contact_number.as_deref() == Some(key))
    });
    match found {
        Some(c) => reply::envelope("Contacts", &[ContactOut::new(c)]),
        None => reply::not_found(),
    }
}

/// PUT (`create_only`) or POST; `path_id` is the id in `POST /Contacts/{ContactID}`.
pub(crate) fn write(
    org: &mut Org,
    body: &[u8],
    query: &Query,
    create_only: bool,
    path_id: Option<&str>,
) -> Reply {
    let inputs: Vec<ContactIn> = match wire::elements(body, "Contacts") {
        Ok(inputs) => inputs,
        Err(e) => return reply::post_data_invalid(&e),
    };
    if path_id.is_some_and(|id| org.contact(id).is_none()) {
        return reply::not_found();
    }
    batch::run(
        org,
        inputs,
        query.summarize_errors(),
        "Contacts",
        |org, input| save(org, input, create_only, path_id),
    )
}

fn save(
    org: &mut Org,
    input: ContactIn,
    create_only: bool,
    path_id: Option<&str>,
) -> Outcome<ContactOut> {
    let existing = if create_only {
        None
    } else {
        let by_id = path_id.or(input.contact_id.as_deref());
        match by_id {
            Some(id) => org
                .contacts
                .iter()
                .position(|c| c.id.eq_ignore_ascii_case(id)),
            None => input.contact_number.as_ref().and_then(|n| {
                org.contacts
                    .iter()
                    .position(|c| c.contact_number.as_ref() == Some(n))
            }),
        }
    };
    let mut errors = Vec::new();
    if !create_only && existing.is_none() && input.contact_id.is_some() {
        errors.push("The ContactID specified does not exist".to_owned());
    }
    let now = Utc::now();
    let mut contact = match existing {
        Some(i) => org.contacts[i].clone(),
        None => Contact {
            id: new_id(),
            contact_number: None,
            account_number: None,
            status: "ACTIVE".to_owned(),
            name: String::new(),
            first_name: None,
            last_name: None,
            email: None,
            tax_number: None,
            addresses: Vec::new(),
            phones: Vec::new(),
            is_customer: false,
            is_supplier: false,
            updated: now,
        },
    };
    merge(&mut contact, input);
    contact.updated = now;
    if contact.name.trim().is_empty() {
        errors.push("A Name must be provided for the contact".to_owned());
    }
    let taken = org.contacts.iter().any(|c| {
        c.id != contact.id && c.status == "ACTIVE" && c.name.eq_ignore_ascii_case(&contact.name)
    });
    if taken && contact.status == "ACTIVE" && !contact.name.trim().is_empty() {
        errors.push(format!(
            "The contact name {} is already assigned to another contact. The contact name must be unique across all active contacts.",
            contact.name
        ));
    }
    let mut out = ContactOut::new(&contact);
    if !errors.is_empty() {
        batch::Element::refuse(&mut out, errors);
        return Outcome::Refused(out);
    }
    let kind = match existing {
        Some(i) => {
            org.contacts[i] = contact.clone();
            "UPDATE"
        }
        None => {
            org.contacts.push(contact.clone());
            "CREATE"
        }
    };
    let event = XeroEvent {
        resource_id: contact.id,
        category: "CONTACT",
        kind,
    };
    Outcome::Saved(out, vec![event])
}

fn merge(c: &mut Contact, input: ContactIn) {
    fn set(slot: &mut Option<String>, value: Option<String>) {
        if value.is_some() {
            *slot = value;
        }
    }
    if let Some(name) = input.name {
        c.name = name;
    }
    if let Some(status) = input.contact_status {
        c.status = status.to_ascii_uppercase();
    }
    set(&mut c.contact_number, input.contact_number);
    set(&mut c.account_number, input.account_number);
    set(&mut c.first_name, input.first_name);
    set(&mut c.last_name, input.last_name);
    set(&mut c.email, input.email_address);
    set(&mut c.tax_number, input.tax_number);
    if let Some(a) = input.addresses {
        c.addresses = a;
    }
    if let Some(p) = input.phones {
        c.phones = p;
    }
}

/// The contact an invoice names: by `ContactID`, else `ContactNumber`, else `Name`. A name that
/// matches no contact creates one, as Xero does. `Err` is the validation message.
pub(crate) fn resolve(
    org: &mut Org,
    contact: Option<&ContactIn>,
    events: &mut Vec<XeroEvent>,
) -> Result<String, String> {
    let Some(c) = contact else {
        return Err("A Contact must be specified for this type of transaction".to_owned());
    };
    if let Some(id) = &c.contact_id {
        return org
            .contact(id)
            .map(|found| found.id.clone())
            .ok_or_else(|| "The ContactID specified does not exist".to_owned());
    }
    if let Some(number) = &c.contact_number {
        if let Some(found) = org
            .contacts
            .iter()
            .find(|x| x.contact_number.as_ref() == Some(number))
        {
            return Ok(found.id.clone());
        }
    }
    let Some(name) = c.name.as_ref().filter(|n| !n.trim().is_empty()) else {
        return Err("A Contact must be specified for this type of transaction".to_owned());
    };
    if let Some(found) = org
        .contacts
        .iter()
        .find(|x| x.status == "ACTIVE" && x.name.eq_ignore_ascii_case(name))
    {
        return Ok(found.id.clone());
    }
    match save(org, c.clone(), true, None) {
        Outcome::Saved(_, mut ev) => {
            let id = ev
                .first()
                .map(|e| e.resource_id.clone())
                .unwrap_or_default();
            events.append(&mut ev);
            Ok(id)
        }
        Outcome::Refused(_) => Err("The contact could not be created".to_owned()),
    }
}
