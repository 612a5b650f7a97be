//! Which rows a parsed query keeps, and how values compare: text ignores ASCII case, as SOQL's
//! comparisons of text fields do (QuickBooks is treated the same way); numbers compare as
//! exact decimals, also against numeric text; null equals only null; `LIKE` takes `%` and `_`.

use std::{cmp::Ordering, str::FromStr};

use rust_decimal::Decimal;

use super::{Cond, Literal, Op, Select};

impl Select {
    /// Whether a row passes the filter; `get` answers a field's value by the name as written,
    /// or `Err` naming a field the entity does not have.
    pub fn matches<F>(&self, mut get: F) -> Result<bool, String>
    where
        F: FnMut(&str) -> Result<Literal, String>,
    {
        if self.filter.is_empty() {
            return Ok(true);
        }
        for conjunction in &self.filter {
            let mut all = true;
            for cond in conjunction {
                let value = get(&cond.field)?;
                all &= holds(cond, &value);
            }
            if all {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn holds(cond: &Cond, value: &Literal) -> bool {
    let first = cond.values.first().unwrap_or(&Literal::Null);
    match cond.op {
        Op::Eq => compare(value, first) == Some(Ordering::Equal),
        Op::Ne => compare(value, first) != Some(Ordering::Equal),
        Op::In => cond
            .values
            .iter()
            .any(|v| compare(value, v) == Some(Ordering::Equal)),
        Op::Lt => compare(value, first) == Some(Ordering::Less),
        Op::Le => matches!(
            compare(value, first),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Op::Gt => compare(value, first) == Some(Ordering::Greater),
        Op::Ge => matches!(
            compare(value, first),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::Like => match (value, first) {
            (Literal::Text(v), Literal::Text(pattern)) => like(v, pattern),
            _ => false,
        },
    }
}

/// Orders two values of the same kind; text ignores ASCII case, and null equals only null.
pub(crate) fn compare(a: &Literal, b: &Literal) -> Option<Ordering> {
    match (a, b) {
        (Literal::Null, Literal::Null) => Some(Ordering::Equal),
        (Literal::Text(a), Literal::Text(b)) => {
            Some(a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()))
        }
        (Literal::Number(a), Literal::Number(b)) => Some(a.cmp(b)),
        (Literal::Text(a), Literal::Number(b)) => Decimal::from_str(a).ok().map(|a| a.cmp(b)),
        (Literal::Number(a), Literal::Text(b)) => Decimal::from_str(b).ok().map(|b| a.cmp(&b)),
        (Literal::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// SQL LIKE: `%` any run, `_` one character, ignoring ASCII case.
fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(&v[i..], rest)),
            Some(('_', rest)) => !v.is_empty() && go(&v[1..], rest),
            Some((c, rest)) => {
                v.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(&v[1..], rest)
            }
        }
    }
    let v: Vec<char> = value.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&v, &p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::sql::{parse, Dialect};

    #[test]
    fn matches_with_escapes_case_and_like() {
        let q = parse(
            r"select * from Customer where DisplayName = 'Cutlery \'R Us'",
            Dialect::Quickbooks,
        )
        .expect("q");
        let row = |name: &str| {
            let name = name.to_owned();
            move |_: &str| Ok(Literal::Text(name.clone()))
        };
        assert_eq!(q.matches(row("cutlery 'r us")), Ok(true));
        assert_eq!(q.matches(row("Cutlery R Us")), Ok(false));
        let q = parse(
            "SELECT Id FROM Account WHERE Name LIKE 'Acme%'",
            Dialect::Soql,
        )
        .expect("q");
        assert_eq!(q.matches(row("ACME Corp")), Ok(true));
        assert_eq!(q.matches(row("Not Acme")), Ok(false));
    }
}
