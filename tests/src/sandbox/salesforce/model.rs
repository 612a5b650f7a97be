//! One simulated Salesforce org: sObjects as records of fields, generic enough for any custom
//! (`__c`) object a connector is configured to use.
//!
//! What the sandbox knows of Salesforce's schema rules: API names ignore case; custom objects
//! and fields end in `__c`; every record has an 18-character case-safe `Id` whose first three
//! characters say its object (`001` Account, `003` Contact, `a0.` custom objects) and whose
//! last three encode the case of the first fifteen (five characters per suffix letter, one bit
//! per uppercase letter, indexing `A-Z0-5`: the 15-to-18 conversion as Salesforce describes
//! it, recalled rather than found in a stored copy of its docs); `CreatedDate`,
//! `LastModifiedDate` and `SystemModstamp` are set by the platform and read-only. Any `__c`
//! field exists on demand and stores what it is given, since the sandbox has no metadata API
//! to declare fields with; standard fields are the common ones of Account and Contact. A
//! custom object's `Name` is filled in as an auto number when a write leaves it out. External
//! ID fields are the custom fields an upsert has used as its key, and those named
//! `...External_Id__c`; their values are unique per object, ignoring case, as Salesforce's
//! unique external ids are by default.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// A field's value as Salesforce's JSON carries it; numbers keep their exact text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Text(String),
    Number(Decimal),
    Bool(bool),
    Null,
}

impl Field {
    pub fn text(&self) -> Option<&str> {
        match self {
            Field::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn number(&self) -> Option<Decimal> {
        match self {
            Field::Number(n) => Some(*n),
            Field::Text(t) => t.trim().parse().ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub id: String,
    /// Field values by their API name as first written (system fields excluded).
    pub fields: BTreeMap<String, Field>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

impl Record {
    /// A field by name, ignoring case.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn set(&mut self, name: &str, value: Field) {
        let key = self
            .fields
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .unwrap_or_else(|| name.to_owned());
        self.fields.insert(key, value);
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SObject {
    /// The API name as Salesforce spells it (`Account`) or as first used (`Invoice__c`).
    pub name: String,
    pub prefix: String,
    pub records: Vec<Record>,
    /// Lowercased names of the fields whose values are unique external ids.
    pub external_ids: BTreeSet<String>,
}

impl SObject {
    pub fn find(&self, id: &str) -> Option<usize> {
        // A 15-character id is the case-sensitive form of the first 15 of the 18.
        self.records
            .iter()
            .position(|r| r.id == id || (id.len() == 15 && r.id.starts_with(id)))
    }

    pub fn is_external_id(&self, field: &str) -> bool {
        let lower = field.to_ascii_lowercase();
        self.external_ids.contains(&lower) || lower.ends_with("external_id__c")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SfOrg {
    pub tenant: String,
    pub org_id: String,
    pub currency: String,
    /// Objects by lowercased API name.
    pub objects: BTreeMap<String, SObject>,
    next_record: u64,
    next_custom_prefix: u32,
    next_auto_number: u64,
}

/// Standard fields a write may set, per standard object.
const ACCOUNT_FIELDS: &[&str] = &[
    "Name",
    "AccountNumber",
    "Type",
    "Industry",
    "Phone",
    "Website",
    "Description",
    "ParentId",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "ShippingStreet",
    "ShippingCity",
    "ShippingState",
    "ShippingPostalCode",
    "ShippingCountry",
];
const CONTACT_FIELDS: &[&str] = &[
    "FirstName",
    "LastName",
    "Salutation",
    "Email",
    "Phone",
    "MobilePhone",
    "Title",
    "AccountId",
    "Description",
    "MailingStreet",
    "MailingCity",
    "MailingState",
    "MailingPostalCode",
    "MailingCountry",
];
/// Set by the platform; a write naming one is refused.
pub(crate) const SYSTEM_FIELDS: &[&str] = &[
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
];

/// The standard object a name means, if any (`Account`, `Contact`).
pub(crate) fn standard_object(name: &str) -> Option<&'static str> {
    ["Account", "Contact"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(name))
}

pub(crate) fn is_custom(name: &str) -> bool {
    name.len() > 3
        && name.to_ascii_lowercase().ends_with("__c")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The canonical spelling of a field a write may set on `object`, or `None` if it has none.
pub(crate) fn writable_field(object: &str, field: &str) -> Option<String> {
    let standard: &[&str] = match standard_object(object) {
        Some("Account") => ACCOUNT_FIELDS,
        Some(_) => CONTACT_FIELDS,
        None => &["Name"],
    };
    let common = ["OwnerId", "CurrencyIsoCode"];
    if let Some(s) = standard
        .iter()
        .chain(common.iter())
        .find(|s| s.eq_ignore_ascii_case(field))
    {
        return Some((*s).to_owned());
    }
    is_custom(field).then(|| field.to_owned())
}

/// The canonical spelling of a field a query may read on `object`.
pub(crate) fn readable_field(object: &str, field: &str) -> Option<String> {
    if let Some(s) = SYSTEM_FIELDS.iter().find(|s| s.eq_ignore_ascii_case(field)) {
        return Some((*s).to_owned());
    }
    if standard_object(object) == Some("Contact") && field.eq_ignore_ascii_case("Name") {
        return Some("Name".to_owned());
    }
    writable_field(object, field)
}

impl SfOrg {
    pub fn new(tenant: &str, org_id: &str, currency: &str) -> SfOrg {
        SfOrg {
            tenant: tenant.to_owned(),
            org_id: org_id.to_owned(),
            currency: currency.to_owned(),
            objects: BTreeMap::new(),
            next_record: 1,
            next_custom_prefix: 0,
            next_auto_number: 1,
        }
    }

    /// The object an API name means: Account, Contact or any `__c` object (created on first
    /// use); `None` for anything else.
    pub fn object(&mut self, name: &str) -> Option<&mut SObject> {
        let canonical = match standard_object(name) {
            Some(s) => s.to_owned(),
            None if is_custom(name) => name.to_owned(),
            None => return None,
        };
        let key = canonical.to_ascii_lowercase();
        if !self.objects.contains_key(&key) {
            let prefix = match canonical.as_str() {
                "Account" => "001".to_owned(),
                "Contact" => "003".to_owned(),
                _ => {
                    let n = self.next_custom_prefix;
                    self.next_custom_prefix += 1;
                    format!("a{}", base62(u64::from(n), 2))
                }
            };
            let object = SObject {
                name: canonical,
                prefix,
                records: Vec::new(),
                external_ids: BTreeSet::new(),
            };
            self.objects.insert(key.clone(), object);
        }
        self.objects.get_mut(&key)
    }

    pub fn get(&self, name: &str) -> Option<&SObject> {
        self.objects.get(&name.to_ascii_lowercase())
    }

    pub fn new_id(&mut self, prefix: &str) -> String {
        let n = self.next_record;
        self.next_record += 1;
        record_id(prefix, n)
    }

    pub fn auto_number(&mut self) -> String {
        let n = self.next_auto_number;
        self.next_auto_number += 1;
        format!("{n:08}")
    }

    /// The record with this id in any object, and its object's name.
    pub fn by_id(&self, id: &str) -> Option<(&SObject, &Record)> {
        self.objects
            .values()
            .find_map(|o| o.find(id).map(|i| (o, &o.records[i])))
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62(mut n: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// An 18-character id: prefix, a pod ("8c"), a reserved "0", nine base-62 digits, then the
/// three checksum characters, each encoding which of five characters are uppercase.
pub(crate) fn record_id(prefix: &str, n: u64) -> String {
    let fifteen = format!("{prefix}8c0{}", base62(n, 9));
    let suffix = checksum(&fifteen);
    fifteen + &suffix
}

fn checksum(fifteen: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    fifteen
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            alphabet[bits] as char
        })
        .collect()
}

/// An organization id (`00D...`) from a seed, stable per tenant.
pub(crate) fn org_id(seed: u64) -> String {
    record_id("00D", seed % 62u64.pow(9))
}

/// The integration user's id (`005...`) in an org.
pub(crate) fn user_id(org_id: &str) -> String {
    let seed = org_id
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    record_id("005", seed % 62u64.pow(9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_case_checksum() {
        // Worked by hand from the documented rule: in 001A0/00000/6Vm9r the uppercase letters
        // sit at bits 3, none and 1, so the suffix is alphabet[8], [0], [2].
        assert_eq!(checksum("001A0000006Vm9r"), "IAC");
        let id = record_id("001", 1);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("0018c0000000001"));
        assert_eq!(
            writable_field("Invoice__c", "amount__C").as_deref(),
            Some("amount__C")
        );
        assert_eq!(writable_field("Account", "name").as_deref(), Some("Name"));
        assert_eq!(writable_field("Account", "Bogus"), None);
    }
}
