//! Masks personal data in text that is logged or shown to support, such as a target's error
//! message, which often echoes the customer's email back.
//!
//! Emails keep the first character of the local part and the whole domain (`j***@example.com`),
//! so a reason still tells support which customer record and which company it was about. An
//! email that is URL-encoded (`john%40example.com`, as in a request URL inside a network error)
//! is masked the same way.

use std::borrow::Cow;

const MASK: &str = "***";

/// `text` with the local part of every email address masked; borrowed when there is none.
pub fn emails(text: &str) -> Cow<'_, str> {
    if !text.contains('@') && !text.contains("%40") {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_len = if bytes[i] == b'@' {
            1
        } else if bytes[i..].starts_with(b"%40") {
            3
        } else {
            i += 1;
            continue;
        };
        let local_start = local_part_start(text, i);
        let domain_end = domain_end(bytes, i + at_len);
        if local_start >= copied && local_start < i && is_domain(&text[i + at_len..domain_end]) {
            let first = text[local_start..].chars().next().map_or(0, char::len_utf8);
            out.push_str(&text[copied..local_start + first]);
            out.push_str(MASK);
            out.push_str(&text[i..domain_end]);
            copied = domain_end;
            i = domain_end;
        } else {
            i += at_len;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// Where the local part ending just before `at` begins. Only the characters of ordinary
/// addresses count, so punctuation around an address (`'john@x.com'`, `email=john@x.com`) is
/// kept; an encoded separator (`email%3Djohn%40x.com`) ends the local part too.
fn local_part_start(text: &str, at: usize) -> usize {
    let mut start = at;
    for (index, c) in text[..at].char_indices().rev() {
        if !is_local_char(c) {
            break;
        }
        start = index;
    }
    let bytes = text.as_bytes();
    let mut k = at;
    while k > start {
        k -= 1;
        if bytes[k] == b'%'
            && k + 2 < at
            && text.get(k + 1..k + 3).is_some_and(is_encoded_separator)
        {
            return k + 3;
        }
    }
    start
}

fn is_encoded_separator(hex: &str) -> bool {
    matches!(
        hex.to_ascii_uppercase().as_str(),
        "20" | "22" | "27" | "28" | "29" | "2C" | "3A" | "3B" | "3C" | "3D" | "3E" | "5B" | "5D"
    )
}

fn domain_end(bytes: &[u8], from: usize) -> usize {
    let mut end = from;
    while end < bytes.len()
        && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'.' | b'-'))
    {
        end += 1;
    }
    // A sentence may end right after the address.
    while end > from && bytes[end - 1] == b'.' {
        end -= 1;
    }
    end
}

/// At least two labels, each non-empty, the last alphabetic: `example.com`, not `2.0` or `x`.
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::emails;

    #[test]
    fn masks_the_local_part_and_keeps_the_domain() {
        assert_eq!(emails("john.smith@example.com"), "j***@example.com");
        assert_eq!(
            emails("HTTP 400: Contact already exists with email jane+billing@acme.co.uk."),
            "HTTP 400: Contact already exists with email j***@acme.co.uk."
        );
    }

    #[test]
    fn masks_every_address_and_quoted_ones() {
        assert_eq!(
            emails(r#"{"message":"'a.b@x.io' and \"c@y.org\" clash"}"#),
            r#"{"message":"'a***@x.io' and \"c***@y.org\" clash"}"#
        );
    }

    #[test]
    fn masks_url_encoded_addresses() {
        assert_eq!(
            emails("request failed: error sending request for url (https://api.example.com/contacts?where=Email%3D%22john%40example.com%22)"),
            "request failed: error sending request for url (https://api.example.com/contacts?where=Email%3D%22j***%40example.com%22)"
        );
        assert_eq!(
            emails("search?email=john%40example.com"),
            "search?email=j***%40example.com"
        );
    }

    #[test]
    fn leaves_text_without_addresses_alone() {
        for text in [
            "",
            "HTTP 503: Service Unavailable",
            "a lone @ sign",
            "user@localhost",
            "version 1@2.0",
            "@example.com",
            "trailing@",
        ] {
            assert!(
                matches!(emails(text), std::borrow::Cow::Borrowed(_)),
                "{text:?} changed"
            );
        }
    }

    #[test]
    fn keeps_non_ascii_text_intact() {
        assert_eq!(
            emails("Kunde «müller@beispiel.de» existiert"),
            "Kunde «m***@beispiel.de» existiert"
        );
        assert_eq!(emails("ñ@example.com"), "ñ***@example.com");
        assert_eq!(emails("jane%2Bbilling%40acme.com"), "j***%40acme.com");
    }
}
