//! The small SELECT language that QuickBooks Online's `query` endpoint and Salesforce's SOQL
//! share: `SELECT <fields | * | COUNT(*) | COUNT()> FROM <Entity> [WHERE <cond> [AND|OR <cond>]...]`
//! then the dialect's clauses, QuickBooks `ORDERBY f [ASC|DESC]`, `STARTPOSITION n`,
//! `MAXRESULTS n`; SOQL `ORDER BY f [ASC|DESC]`, `LIMIT n`, `OFFSET n`.
//!
//! Conditions compare a field with a literal: `=`, `!=`, `<`, `<=`, `>`, `>=`, `LIKE` (with `%`
//! and `_`) and `IN (...)`. Strings are single-quoted with backslash escapes (`'Cutlery \'R Us'`,
//! as Intuit's query errors show clients must send), numbers are exact decimals, and `null`,
//! `true`, `false` are literals. Keywords ignore case, as both providers' examples mix cases.
//! AND binds tighter than OR; parentheses are not supported (QuickBooks has none, and SOQL
//! filters ledgerhook needs do not use them). `eval` decides which rows a parsed query keeps.

use std::str::FromStr;

use rust_decimal::Decimal;

mod eval;

pub(crate) use eval::compare;

/// Which provider's clauses a query may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Quickbooks,
    Soql,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Number(Decimal),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    In,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cond {
    pub field: String,
    pub op: Op,
    pub values: Vec<Literal>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Projection {
    All,
    Count,
    Fields(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    pub projection: Projection,
    pub from: String,
    /// Alternatives (OR) of conjunctions (AND).
    pub filter: Vec<Vec<Cond>>,
    pub order: Option<(String, bool)>,
    /// QuickBooks STARTPOSITION (1-based) or SOQL OFFSET (0-based), as given.
    pub start: Option<usize>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(String),
    Punct(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string at column {i}")),
                    Some('\\') => {
                        s.extend(chars.get(i + 1));
                        i += 2;
                    }
                    Some('\'') => break,
                    Some(c) => {
                        s.push(*c);
                        i += 1;
                    }
                }
            }
            i += 1;
            tokens.push(Token::Text(s));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
            {
                i += 1;
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let punct = ["!=", "<>", "<=", ">="]
                .into_iter()
                .find(|p| two == *p)
                .or_else(|| {
                    ["=", "<", ">", ",", "(", ")", "*"]
                        .into_iter()
                        .find(|p| p.starts_with(c))
                })
                .ok_or_else(|| format!("Encountered \"{c}\" at column {}", i + 1))?;
            i += punct.len();
            tokens.push(Token::Punct(if punct == "<>" { "!=" } else { punct }));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_word(word);
        self.at += usize::from(found);
        found
    }

    fn expect_word(&mut self, word: &str) -> Result<(), String> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(format!("Was expecting \"{word}\" at {}", self.describe()))
        }
    }

    fn eat_punct(&mut self, punct: &str) -> bool {
        let found = matches!(self.tokens.get(self.at), Some(Token::Punct(p)) if *p == punct);
        self.at += usize::from(found);
        found
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => {
                self.at += 1;
                Ok(w.clone())
            }
            _ => Err(format!("Was expecting a name at {}", self.describe())),
        }
    }

    fn number(&mut self) -> Result<usize, String> {
        match self.tokens.get(self.at) {
            Some(Token::Number(n)) => {
                self.at += 1;
                n.parse().map_err(|_| format!("{n} is not a count"))
            }
            _ => Err(format!("Was expecting a number at {}", self.describe())),
        }
    }

    fn literal(&mut self) -> Result<Literal, String> {
        let lit = match self.tokens.get(self.at) {
            Some(Token::Text(s)) => Literal::Text(s.clone()),
            Some(Token::Number(n)) => {
                Literal::Number(Decimal::from_str(n).map_err(|_| format!("{n} is not a number"))?)
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            _ => return Err(format!("Was expecting a value at {}", self.describe())),
        };
        self.at += 1;
        Ok(lit)
    }

    fn describe(&self) -> String {
        match self.tokens.get(self.at) {
            None => "the end of the query".to_owned(),
            Some(t) => format!("{t:?}"),
        }
    }
}

pub(crate) fn parse(text: &str, dialect: Dialect) -> Result<Select, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("The query provided was empty".to_owned());
    }
    let mut p = Parser { tokens, at: 0 };
    p.expect_word("select")?;
    let projection = if p.eat_punct("*") {
        Projection::All
    } else if p.peek_word("count") && p.tokens.get(p.at + 1) == Some(&Token::Punct("(")) {
        p.at += 2;
        p.eat_punct("*");
        if !p.eat_punct(")") {
            return Err("COUNT takes no field".to_owned());
        }
        Projection::Count
    } else {
        let mut fields = vec![p.ident()?];
        while p.eat_punct(",") {
            fields.push(p.ident()?);
        }
        Projection::Fields(fields)
    };
    p.expect_word("from")?;
    let from = p.ident()?;
    let mut filter = Vec::new();
    if p.eat_word("where") {
        filter.push(Vec::new());
        loop {
            let cond = condition(&mut p)?;
            if let Some(last) = filter.last_mut() {
                last.push(cond);
            }
            if p.eat_word("and") {
                continue;
            }
            if p.peek_word("or") {
                if dialect == Dialect::Quickbooks {
                    return Err("OR is not supported in a QuickBooks query".to_owned());
                }
                p.at += 1;
                filter.push(Vec::new());
                continue;
            }
            break;
        }
    }
    let mut select = Select {
        projection,
        from,
        filter,
        order: None,
        start: None,
        limit: None,
    };
    while p.at < p.tokens.len() {
        let order = match dialect {
            Dialect::Quickbooks => {
                p.eat_word("orderby") || (p.eat_word("order") && p.eat_word("by"))
            }
            Dialect::Soql => p.eat_word("order") && p.eat_word("by"),
        };
        if order {
            let field = p.ident()?;
            let desc = p.eat_word("desc");
            if !desc {
                p.eat_word("asc");
            }
            select.order = Some((field, desc));
        } else if (dialect == Dialect::Quickbooks && p.eat_word("startposition"))
            || (dialect == Dialect::Soql && p.eat_word("offset"))
        {
            select.start = Some(p.number()?);
        } else if (dialect == Dialect::Quickbooks && p.eat_word("maxresults"))
            || (dialect == Dialect::Soql && p.eat_word("limit"))
        {
            select.limit = Some(p.number()?);
        } else {
            return Err(format!("Encountered {} after the query", p.describe()));
        }
    }
    Ok(select)
}

fn condition(p: &mut Parser) -> Result<Cond, String> {
    let field = p.ident()?;
    let op = if p.eat_punct("=") {
        Op::Eq
    } else if p.eat_punct("!=") {
        Op::Ne
    } else if p.eat_punct("<=") {
        Op::Le
    } else if p.eat_punct(">=") {
        Op::Ge
    } else if p.eat_punct("<") {
        Op::Lt
    } else if p.eat_punct(">") {
        Op::Gt
    } else if p.eat_word("like") {
        Op::Like
    } else if p.eat_word("in") {
        Op::In
    } else {
        return Err(format!("Was expecting an operator at {}", p.describe()));
    };
    let values = if op == Op::In {
        if !p.eat_punct("(") {
            return Err("IN needs a parenthesized list".to_owned());
        }
        let mut values = vec![p.literal()?];
        while p.eat_punct(",") {
            values.push(p.literal()?);
        }
        if !p.eat_punct(")") {
            return Err(format!("Was expecting \")\" at {}", p.describe()));
        }
        values
    } else {
        vec![p.literal()?]
    };
    Ok(Cond { field, op, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_dialects() {
        let q = parse(
            "select * from Invoice where DocNumber = 'INV-1' and Balance > '0' maxresults 5",
            Dialect::Quickbooks,
        )
        .expect("qbo");
        assert_eq!(q.projection, Projection::All);
        assert_eq!(q.from, "Invoice");
        assert_eq!(q.filter[0].len(), 2);
        assert_eq!(q.limit, Some(5));
        let q = parse(
            "SELECT Id, Name FROM Invoice__c WHERE Name IN ('A','B') OR Amount__c >= 10.5 ORDER BY Name DESC LIMIT 2",
            Dialect::Soql,
        )
        .expect("soql");
        assert_eq!(
            q.projection,
            Projection::Fields(vec!["Id".into(), "Name".into()])
        );
        assert_eq!(q.filter.len(), 2);
        assert_eq!(q.order, Some(("Name".into(), true)));
        assert!(parse(
            "select * from Invoice where A = 'x' or B = 'y'",
            Dialect::Quickbooks
        )
        .is_err());
        assert!(parse("SELECT Id FROM X LIMIT 1", Dialect::Quickbooks).is_err());
        assert!(parse("", Dialect::Soql).is_err());
    }
}
