//! Xero's `where` filter, the part of it integrations use: `Field=="value"` (also `=` and
//! `!=`, strings in double quotes, `Guid("...")`, `null`), `Field.Contains("x")`,
//! `.StartsWith` and `.EndsWith`, joined with `AND`/`&&` and `OR`/`||` (AND binds tighter).
//! Examples in Xero's spec: `Status=="DRAFT"`, `ContactStatus=="ACTIVE"`,
//! `Type=="ACCPAY" AND Status=="AUTHORISED"`; its Contacts docs show `Name="ABC limited"` and
//! `EmailAddress="email@example.com"` and say those matches ignore case, so all string
//! comparisons here ignore ASCII case.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Op(&'static str),
    Open,
    Close,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Compare {
        field: String,
        negate: bool,
        value: Option<String>,
    },
    Method {
        field: String,
        method: String,
        value: String,
    },
}

/// A parsed filter: alternatives (OR) of conjunctions (AND).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter(Vec<Vec<Cond>>);

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, String> {
        let tokens = tokenize(text)?;
        let mut alternatives = vec![Vec::new()];
        let mut i = 0;
        while i < tokens.len() {
            let (cond, next) = condition(&tokens, i)?;
            if let Some(last) = alternatives.last_mut() {
                last.push(cond);
            }
            i = next;
            match tokens.get(i) {
                None => break,
                Some(Token::And) => i += 1,
                Some(Token::Or) => {
                    alternatives.push(Vec::new());
                    i += 1
                }
                Some(t) => return Err(format!("unexpected {t:?} in where clause")),
            }
            if i >= tokens.len() {
                return Err("where clause ends with AND or OR".to_owned());
            }
        }
        Ok(Filter(alternatives))
    }

    /// `field` gets a field's value by its lower-cased name (`contact.contactid`).
    pub fn matches(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.0
            .iter()
            .any(|all| all.iter().all(|c| holds(c, &field)))
    }
}

fn holds(cond: &Cond, field: &impl Fn(&str) -> Option<String>) -> bool {
    match cond {
        Cond::Compare {
            field: name,
            negate,
            value,
        } => {
            let actual = field(name).filter(|v| !v.is_empty());
            let equal = match (actual, value) {
                (None, None) => true,
                (Some(a), Some(v)) => a.eq_ignore_ascii_case(v),
                _ => false,
            };
            equal != *negate
        }
        Cond::Method {
            field: name,
            method,
            value,
        } => {
            let actual = field(name).unwrap_or_default().to_ascii_lowercase();
            let value = value.to_ascii_lowercase();
            match method.as_str() {
                "contains" => actual.contains(&value),
                "startswith" => actual.starts_with(&value),
                _ => actual.ends_with(&value),
            }
        }
    }
}

fn condition(tokens: &[Token], i: usize) -> Result<(Cond, usize), String> {
    let Some(Token::Ident(name)) = tokens.get(i) else {
        return Err("a where condition must start with a field name".to_owned());
    };
    let lower = name.to_ascii_lowercase();
    for method in ["contains", "startswith", "endswith"] {
        if let Some(field) = lower.strip_suffix(&format!(".{method}")) {
            return match (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3)) {
                (Some(Token::Open), Some(Token::Str(v)), Some(Token::Close)) => Ok((
                    Cond::Method {
                        field: field.to_owned(),
                        method: method.to_owned(),
                        value: v.clone(),
                    },
                    i + 4,
                )),
                _ => Err(format!("{name} needs one quoted argument")),
            };
        }
    }
    let negate = match tokens.get(i + 1) {
        Some(Token::Op("!=")) => true,
        Some(Token::Op(_)) => false,
        _ => return Err(format!("expected == after {name}")),
    };
    let (value, next) = match (tokens.get(i + 2), tokens.get(i + 3)) {
        (Some(Token::Str(v)), _) => (Some(v.clone()), i + 3),
        (Some(Token::Ident(g)), Some(Token::Open)) if g.eq_ignore_ascii_case("guid") => {
            match (tokens.get(i + 4), tokens.get(i + 5)) {
                (Some(Token::Str(v)), Some(Token::Close)) => (Some(v.clone()), i + 6),
                _ => return Err("Guid() needs one quoted argument".to_owned()),
            }
        }
        (Some(Token::Ident(v)), _) if v.eq_ignore_ascii_case("null") => (None, i + 3),
        (Some(Token::Ident(v)), _) => (Some(v.clone()), i + 3),
        _ => return Err(format!("expected a value after {name}")),
    };
    Ok((
        Cond::Compare {
            field: lower,
            negate,
            value,
        },
        next,
    ))
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '"' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string in where clause".to_owned()),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            value.push(chars[i + 1]);
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            value.push(*ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(value));
            }
            '=' | '!' => {
                let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
                let (op, len) = match two.as_str() {
                    "==" => ("==", 2),
                    "!=" => ("!=", 2),
                    _ if c == '=' => ("=", 1),
                    _ => return Err("unexpected ! in where clause".to_owned()),
                };
                tokens.push(Token::Op(op));
                i += len;
            }
            '&' | '|' if chars.get(i + 1) == Some(&c) => {
                tokens.push(if c == '&' { Token::And } else { Token::Or });
                i += 2;
            }
            _ if c.is_alphanumeric() || "._-:@+".contains(c) => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "._-:@+".contains(chars[i]))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.to_ascii_uppercase().as_str() {
                    "AND" => Token::And,
                    "OR" => Token::Or,
                    _ => Token::Ident(word),
                });
            }
            _ => return Err(format!("unexpected {c} in where clause")),
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(name: &str) -> Option<String> {
        match name {
            "emailaddress" => Some("Jo@Example.com".to_owned()),
            "name" => Some("Acme Ltd".to_owned()),
            "contact.contactid" => Some("ABC".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn xero_forms_match() {
        for (text, want) in [
            (r#"EmailAddress=="jo@example.com""#, true),
            (r#"EmailAddress="JO@EXAMPLE.COM""#, true),
            (r#"Name=="Acme Ltd" AND EmailAddress=="x@y.z""#, false),
            (r#"Name=="Nope" OR EmailAddress=="jo@example.com""#, true),
            (r#"Name.Contains("acme") && ContactNumber==null"#, true),
            (r#"Contact.ContactID==Guid("abc")"#, true),
            (r#"Name!="Acme Ltd""#, false),
        ] {
            let filter = Filter::parse(text).expect(text);
            assert_eq!(filter.matches(get), want, "{text}");
        }
        for bad in [r#"Name=="x" AND"#, r#"=="x""#, r#"Name=="x"#, "Name"] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }
}
