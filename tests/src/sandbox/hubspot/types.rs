//! The CRM object types the sandbox simulates, their names and ids, which properties are
//! HubSpot's own, and the association types between them.
//!
//! Object type ids (contacts `0-1`, companies `0-2`, line items `0-8`, invoices `0-53`) and the
//! default read properties are from developers.hubspot.com. The association type ids were not
//! found in a stored copy of HubSpot's docs and are the values integrations use: invoice→contact
//! 177, contact→invoice 178, invoice→company 179, company→invoice 180, invoice→line item 409,
//! line item→invoice 410, contact→company 279 (primary 1) and company→contact 280 (primary 2).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ObjType {
    Contacts,
    Companies,
    Invoices,
    LineItems,
}

impl ObjType {
    pub const ALL: [ObjType; 4] = [
        ObjType::Contacts,
        ObjType::Companies,
        ObjType::Invoices,
        ObjType::LineItems,
    ];

    pub fn parse(name: &str) -> Option<ObjType> {
        match name.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Some(ObjType::Contacts),
            "companies" | "company" | "0-2" => Some(ObjType::Companies),
            "invoices" | "invoice" | "0-53" => Some(ObjType::Invoices),
            "line_items" | "line_item" | "lineitems" | "0-8" => Some(ObjType::LineItems),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ObjType::Contacts => "contacts",
            ObjType::Companies => "companies",
            ObjType::Invoices => "invoices",
            ObjType::LineItems => "line_items",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            ObjType::Contacts => "contact",
            ObjType::Companies => "company",
            ObjType::Invoices => "invoice",
            ObjType::LineItems => "line_item",
        }
    }

    pub fn type_id(self) -> &'static str {
        match self {
            ObjType::Contacts => "0-1",
            ObjType::Companies => "0-2",
            ObjType::Invoices => "0-53",
            ObjType::LineItems => "0-8",
        }
    }

    /// Contacts keep HubSpot's older names for the two timestamps.
    pub fn created_prop(self) -> &'static str {
        match self {
            ObjType::Invoices => "hs_createdate",
            _ => "createdate",
        }
    }

    pub fn modified_prop(self) -> &'static str {
        match self {
            ObjType::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }

    /// What a read returns without `properties`: HubSpot's defaults per object.
    pub fn default_properties(self) -> &'static [&'static str] {
        match self {
            ObjType::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            ObjType::Companies => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
            ObjType::Invoices => &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
            ObjType::LineItems => &[
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
                "price",
                "quantity",
            ],
        }
    }

    /// Properties HubSpot computes, which a write may not set.
    pub fn read_only(self, name: &str) -> bool {
        let calculated: &[&str] = match self {
            ObjType::Invoices => &["hs_amount_billed", "hs_balance_due", "hs_amount_paid"],
            ObjType::LineItems => &["amount"],
            _ => &[],
        };
        name == "hs_object_id"
            || name == self.created_prop()
            || name == self.modified_prop()
            || calculated.contains(&name)
    }
}

/// `(from, type id) -> (to, inverse type id, label)`.
const ASSOCIATIONS: &[(ObjType, u32, ObjType, u32, &str)] = &[
    (
        ObjType::Invoices,
        177,
        ObjType::Contacts,
        178,
        "invoice_to_contact",
    ),
    (
        ObjType::Contacts,
        178,
        ObjType::Invoices,
        177,
        "contact_to_invoice",
    ),
    (
        ObjType::Invoices,
        179,
        ObjType::Companies,
        180,
        "invoice_to_company",
    ),
    (
        ObjType::Companies,
        180,
        ObjType::Invoices,
        179,
        "company_to_invoice",
    ),
    (
        ObjType::Invoices,
        409,
        ObjType::LineItems,
        410,
        "invoice_to_line_item",
    ),
    (
        ObjType::LineItems,
        410,
        ObjType::Invoices,
        409,
        "line_item_to_invoice",
    ),
    (
        ObjType::Contacts,
        279,
        ObjType::Companies,
        280,
        "contact_to_company_unlabeled",
    ),
    (
        ObjType::Companies,
        280,
        ObjType::Contacts,
        279,
        "company_to_contact_unlabeled",
    ),
    (
        ObjType::Contacts,
        1,
        ObjType::Companies,
        2,
        "contact_to_company",
    ),
    (
        ObjType::Companies,
        2,
        ObjType::Contacts,
        1,
        "company_to_contact",
    ),
];

pub(super) fn association(from: ObjType, type_id: u32) -> Option<(ObjType, u32, &'static str)> {
    ASSOCIATIONS
        .iter()
        .find(|(f, t, ..)| *f == from && *t == type_id)
        .map(|(_, _, to, inverse, label)| (*to, *inverse, *label))
}

/// The unlabeled association type from one object type to another, for `.../default/...`.
pub(crate) fn default_type(from: ObjType, to: ObjType) -> Option<u32> {
    ASSOCIATIONS
        .iter()
        .find(|(f, t, target, ..)| *f == from && *target == to && *t > 2)
        .map(|(_, t, ..)| *t)
}
