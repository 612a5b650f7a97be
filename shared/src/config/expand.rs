//! `${VAR}` and `${VAR:-default}` expansion inside the string values of a parsed TOML document.
//!
//! Expansion runs on values, after TOML parsing, so an environment value can never change the
//! document's structure, and every error can name the key whose value referenced the variable.

use std::collections::HashMap;

use toml::Value;

use super::ConfigError;

/// Expands every string in `value`, recursively. `path` is the dotted key of `value`.
pub(super) fn expand_value(
    value: &mut Value,
    path: &str,
    vars: &HashMap<String, String>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(s) => *s = expand_str(s, path, vars)?,
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_value(item, &format!("{path}[{i}]"), vars)?;
            }
        }
        Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                expand_value(item, &child, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expands one string. `$${` stands for a literal `${`.
fn expand_str(
    input: &str,
    key: &str,
    vars: &HashMap<String, String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body_and_tail) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body_and_tail.find('}') else {
            return Err(ConfigError::invalid(key, "unterminated `${` in value"));
        };
        let body = &body_and_tail[..end];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConfigError::invalid(
                key,
                format!("`${{{body}}}` is not a valid variable reference"),
            ));
        }
        match (vars.get(name), default) {
            // As in the shell's `:-`, an empty variable takes the default too.
            (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(ConfigError::invalid(
                    key,
                    format!("environment variable `{name}` is not set and has no default"),
                ))
            }
        }
        rest = &body_and_tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_variables_and_defaults() {
        let v = vars(&[("HOST", "db"), ("EMPTY", "")]);
        assert_eq!(expand_str("x${HOST}y", "k", &v).expect("ok"), "xdby");
        assert_eq!(expand_str("${PORT:-5432}", "k", &v).expect("ok"), "5432");
        assert_eq!(expand_str("${EMPTY:-d}", "k", &v).expect("ok"), "d");
        assert_eq!(expand_str("${HOST:-d}", "k", &v).expect("ok"), "db");
        assert_eq!(expand_str("${NONE:-}", "k", &v).expect("ok"), "");
        assert_eq!(
            expand_str("a$b $${HOST}", "k", &v).expect("ok"),
            "a$b ${HOST}"
        );
        assert_eq!(
            expand_str("amqp://u:p@h/%2f", "k", &v).expect("ok"),
            "amqp://u:p@h/%2f"
        );
    }

    #[test]
    fn errors_name_the_key_and_the_variable() {
        let err = expand_str("${MISSING}", "tenants[0].sources[1].secrets[0]", &vars(&[]))
            .expect_err("missing var");
        let text = err.to_string();
        assert!(text.contains("tenants[0].sources[1].secrets[0]"), "{text}");
        assert!(text.contains("MISSING"), "{text}");
        assert!(expand_str("${OPEN", "k", &vars(&[])).is_err());
        assert!(expand_str("${BAD-NAME}", "k", &vars(&[])).is_err());
    }
}
