//! `GET /v3/company/{realm}/query?query=select * from Invoice where DocNumber = 'INV-1'`: the
//! part of QuickBooks' query language integrations use, over customers, invoices and payments.
//!
//! From Intuit's references: `select * from <Entity> where <Property> = '<value>'` (their own
//! sample writes `where id = '239'`, so property names ignore case), `AND` but no `OR`, `IN`,
//! `LIKE`, comparisons, `ORDERBY`, `STARTPOSITION` (1-based) and `MAXRESULTS` (at most 1000),
//! `select count(*) from <Entity>`; the answer `{"QueryResponse": {"<Entity>": [...],
//! "startPosition", "maxResults", "totalCount"}, "time"}`. With no rows QuickBooks answers an
//! empty `QueryResponse` object (as integrators see it; not in the reference). The queryable
//! properties here are the filterable ones of the references that matter for matching records:
//! Id, DocNumber, CustomerRef, TxnDate, DueDate, TotalAmt, Balance, DisplayName,
//! PrimaryEmailAddr, GivenName, FamilyName, CompanyName, Active, PaymentRefNum and
//! MetaData.CreateTime / MetaData.LastUpdatedTime. Selecting named properties answers objects
//! with just those (plus `Id`), marked `sparse`.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::{
    model::{Company, Meta},
    output::{CustomerOut, InvoiceOut, PaymentOut},
    reply::{self, Reply},
};
use crate::sandbox::sql::{self, compare, Dialect, Literal, Projection};

/// One row: its queryable properties and its full JSON.
struct Row {
    fields: Vec<(&'static str, Literal)>,
    json: String,
}

fn text(value: Option<&str>) -> Literal {
    value.map_or(Literal::Null, |v| Literal::Text(v.to_owned()))
}

fn meta_fields(meta: &Meta) -> [(&'static str, Literal); 2] {
    let at = |t: chrono::DateTime<chrono::Utc>| Literal::Text(t.to_rfc3339());
    [
        ("MetaData.CreateTime", at(meta.created)),
        ("MetaData.LastUpdatedTime", at(meta.updated)),
    ]
}

fn rows(company: &Company, entity: &str) -> Option<(&'static str, Vec<Row>)> {
    let rows = match entity.to_ascii_lowercase().as_str() {
        "invoice" => (
            "Invoice",
            company
                .invoices
                .iter()
                .map(|i| Row {
                    fields: [
                        ("Id", text(Some(&i.id))),
                        ("DocNumber", text(Some(&i.doc_number))),
                        ("CustomerRef", text(Some(&i.customer_id))),
                        ("TxnDate", Literal::Text(i.txn_date.to_string())),
                        (
                            "DueDate",
                            text(i.due_date.map(|d| d.to_string()).as_deref()),
                        ),
                        ("TotalAmt", Literal::Number(i.total())),
                        ("Balance", Literal::Number(company.balance(i))),
                    ]
                    .into_iter()
                    .chain(meta_fields(&i.meta))
                    .collect(),
                    json: json(&InvoiceOut::new(company, i)),
                })
                .collect(),
        ),
        "customer" => (
            "Customer",
            company
                .customers
                .iter()
                .map(|c| Row {
                    fields: [
                        ("Id", text(Some(&c.id))),
                        ("DisplayName", text(Some(&c.display_name))),
                        ("PrimaryEmailAddr", text(c.email.as_deref())),
                        ("GivenName", text(c.given_name.as_deref())),
                        ("FamilyName", text(c.family_name.as_deref())),
                        ("CompanyName", text(c.company_name.as_deref())),
                        ("Active", Literal::Bool(c.active)),
                        ("Balance", Literal::Number(company.customer_balance(&c.id))),
                    ]
                    .into_iter()
                    .chain(meta_fields(&c.meta))
                    .collect(),
                    json: json(&CustomerOut::new(company, c)),
                })
                .collect(),
        ),
        "payment" => (
            "Payment",
            company
                .payments
                .iter()
                .map(|p| Row {
                    fields: [
                        ("Id", text(Some(&p.id))),
                        ("CustomerRef", text(Some(&p.customer_id))),
                        ("TxnDate", Literal::Text(p.txn_date.to_string())),
                        ("TotalAmt", Literal::Number(p.total)),
                        ("PaymentRefNum", text(p.reference.as_deref())),
                    ]
                    .into_iter()
                    .chain(meta_fields(&p.meta))
                    .collect(),
                    json: json(&PaymentOut::new(company, p)),
                })
                .collect(),
        ),
        _ => return None,
    };
    Some(rows)
}

/// An entity's JSON text, serialized straight from the output types to keep exact numbers.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

impl Row {
    fn get(&self, name: &str) -> Result<Literal, String> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| name.to_owned())
    }
}

fn invalid(field: &str, entity: &str) -> Reply {
    reply::validation(
        "4001",
        "Invalid query",
        &format!("QueryValidationError: property '{field}' is not queryable for {entity}"),
    )
}

pub(crate) fn run(company: &Company, text: &str) -> Reply {
    let select = match sql::parse(text, Dialect::Quickbooks) {
        Ok(s) => s,
        Err(e) => {
            return reply::validation(
                "4000",
                "Error parsing query",
                &format!("QueryParserError: {e}"),
            )
        }
    };
    let Some((entity, all)) = rows(company, &select.from) else {
        return reply::validation(
            "4000",
            "Error parsing query",
            &format!("QueryParserError: Invalid entity {}", select.from),
        );
    };
    let mut found = Vec::new();
    for row in all {
        match select.matches(|f| row.get(f)) {
            Ok(true) => found.push(row),
            Ok(false) => {}
            Err(field) => return invalid(&field, entity),
        }
    }
    if let Some((field, desc)) = &select.order {
        if found.iter().any(|r| r.get(field).is_err()) {
            return invalid(field, entity);
        }
        found.sort_by(|a, b| {
            let (a, b) = (
                a.get(field).unwrap_or(Literal::Null),
                b.get(field).unwrap_or(Literal::Null),
            );
            let ord = compare(&a, &b).unwrap_or(std::cmp::Ordering::Equal);
            if *desc {
                ord.reverse()
            } else {
                ord
            }
        });
    }
    let total = found.len();
    if select.projection == Projection::Count {
        return reply::query(&format!(r#"{{"totalCount":{total}}}"#));
    }
    let start = select.start.unwrap_or(1).max(1);
    let max = select.limit.unwrap_or(100).min(1000);
    let page: Vec<&Row> = found.iter().skip(start - 1).take(max).collect();
    if page.is_empty() {
        return reply::query("{}");
    }
    let mut items = Vec::with_capacity(page.len());
    for row in &page {
        match &select.projection {
            Projection::Fields(names) => match project(&row.json, names) {
                Ok(json) => items.push(json),
                Err(field) => return invalid(&field, entity),
            },
            _ => items.push(row.json.clone()),
        }
    }
    reply::query(&format!(
        r#"{{"{entity}":[{}],"startPosition":{start},"maxResults":{},"totalCount":{total}}}"#,
        items.join(","),
        page.len()
    ))
}

/// Keeps the named top-level properties of an entity's JSON (and its `Id`), reading values as
/// raw text so amounts stay exact.
fn project(json: &str, names: &[String]) -> Result<String, String> {
    let all: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut kept: BTreeMap<&str, &RawValue> = BTreeMap::new();
    for name in names.iter().map(String::as_str).chain(["Id"]) {
        let (key, value) = all
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .ok_or_else(|| name.to_owned())?;
        kept.insert(key, value);
    }
    let mut out = serde_json::to_string(&kept).map_err(|e| e.to_string())?;
    out.insert_str(1, r#""sparse":true,"#);
    Ok(out)
}
