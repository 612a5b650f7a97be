//! Stripe's request parameters: `application/x-www-form-urlencoded` in the body (and the query
//! string), with bracket notation for hashes and arrays (`metadata[order]=42`,
//! `address[city]=Berlin`, `lines[0][amount]=500`, `expand[]=charge`), as Stripe's API reference
//! and SDKs encode them. An empty value unsets a field, so it reads as absent here.

use std::collections::BTreeMap;

use super::reply::{self, ApiError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Leaf(String),
    Hash(BTreeMap<String, Node>),
}

/// Parsed parameters, and the pairs they came from, for idempotency comparisons.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    root: BTreeMap<String, Node>,
    pairs: Vec<(String, String)>,
}

impl Form {
    pub fn parse(query: &str, body: &[u8]) -> Form {
        let mut form = Form::default();
        let pairs = url::form_urlencoded::parse(query.as_bytes())
            .chain(url::form_urlencoded::parse(body))
            .map(|(k, v)| (k.into_owned(), v.into_owned()));
        for (key, value) in pairs {
            insert(&mut form.root, &segments(&key), value.clone());
            form.pairs.push((key, value));
        }
        form
    }

    /// The parameters in a canonical order: the same request sent with its fields in another
    /// order compares equal.
    pub fn canonical(&self) -> String {
        let mut pairs = self.pairs.clone();
        pairs.sort();
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        leaf(self.root.get(name))
    }

    pub fn hash(&self, name: &str) -> Option<&BTreeMap<String, Node>> {
        match self.root.get(name) {
            Some(Node::Hash(h)) => Some(h),
            _ => None,
        }
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.str(name).ok_or_else(|| reply::missing(name))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        integer(self.str(name), name)
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        boolean(self.str(name), name)
    }

    /// `metadata[key]=value` pairs.
    pub fn metadata(&self) -> Result<BTreeMap<String, String>, ApiError> {
        metadata(self.hash("metadata"), "metadata")
    }
}

/// A string leaf of a hash, absent when empty.
pub(crate) fn leaf(node: Option<&Node>) -> Option<&str> {
    match node {
        Some(Node::Leaf(v)) if !v.is_empty() => Some(v),
        _ => None,
    }
}

pub(crate) fn integer(value: Option<&str>, param: &str) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                reply::invalid(
                    &format!("Invalid integer: {v}"),
                    param,
                    Some("parameter_invalid_integer"),
                )
            })
        })
        .transpose()
}

pub(crate) fn boolean(value: Option<&str>, param: &str) -> Result<Option<bool>, ApiError> {
    value
        .map(|v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(reply::invalid(
                &format!("Invalid boolean: {other}"),
                param,
                None,
            )),
        })
        .transpose()
}

/// A metadata hash: string values only, at most 50 keys of up to 40 characters and values of up
/// to 500 (docs.stripe.com/metadata).
pub(crate) fn metadata(
    hash: Option<&BTreeMap<String, Node>>,
    param: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (key, node) in hash.into_iter().flatten() {
        let Node::Leaf(value) = node else {
            return Err(reply::invalid(
                &format!("Invalid value for {param}[{key}]: metadata values must be strings"),
                &format!("{param}[{key}]"),
                None,
            ));
        };
        if key.chars().count() > 40 || value.chars().count() > 500 {
            return Err(reply::invalid(
                "Metadata keys can be at most 40 characters and values at most 500 characters.",
                &format!("{param}[{key}]"),
                None,
            ));
        }
        if !value.is_empty() {
            out.insert(key.clone(), value.clone());
        }
    }
    if out.len() > 50 {
        return Err(reply::invalid(
            "You can specify up to 50 keys in metadata.",
            param,
            None,
        ));
    }
    Ok(out)
}

/// `lines[0][amount]` is `lines`, `0`, `amount`; `expand[]` is `expand`, ``.
fn segments(key: &str) -> Vec<String> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => return vec![key.to_owned()],
    };
    let mut out = vec![head.to_owned()];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']') else { break };
        out.push(inner[..end].to_owned());
        rest = &inner[end + 1..];
    }
    out
}

fn insert(map: &mut BTreeMap<String, Node>, path: &[String], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    // `[]` appends to an array, which is a hash keyed by index.
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, Node::Leaf(value));
        return;
    }
    let child = map
        .entry(key)
        .or_insert_with(|| Node::Hash(BTreeMap::new()));
    if let Node::Leaf(_) = child {
        *child = Node::Hash(BTreeMap::new());
    }
    if let Node::Hash(h) = child {
        insert(h, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_nest_and_arrays_index() {
        let form = Form::parse(
            "",
            b"customer=cus_1&metadata[order]=42&metadata[note]=a%20b&lines[0][amount]=500&lines[1][amount]=250&expand[]=charge&expand[]=customer&description=",
        );
        assert_eq!(form.str("customer"), Some("cus_1"));
        assert_eq!(form.str("description"), None);
        let metadata = form.metadata().expect("metadata");
        assert_eq!(metadata.get("note").map(String::as_str), Some("a b"));
        let lines = form.hash("lines").expect("lines");
        let Some(Node::Hash(second)) = lines.get("1") else {
            panic!("{lines:?}")
        };
        assert_eq!(leaf(second.get("amount")), Some("250"));
        assert_eq!(form.hash("expand").map(BTreeMap::len), Some(2));
    }

    #[test]
    fn field_order_does_not_change_the_canonical_form() {
        let a = Form::parse("", b"amount=5&currency=usd");
        let b = Form::parse("", b"currency=usd&amount=5");
        assert_eq!(a.canonical(), b.canonical());
        assert_ne!(
            a.canonical(),
            Form::parse("", b"amount=6&currency=usd").canonical()
        );
    }

    #[test]
    fn bad_integers_name_the_param() {
        let form = Form::parse("", b"amount=12.5");
        let err = form.int("amount").expect_err("not an integer");
        assert_eq!(err.param.as_deref(), Some("amount"));
    }
}
