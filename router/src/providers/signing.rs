//! HMAC and constant-time comparison helpers shared by the provider files.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Keys, RawWebhook, Unverified, VerifyError};

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Plain SHA-256 of the concatenated `parts` (HubSpot v1/v2).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Compares in time that depends only on the lengths, never on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The scheme QuickBooks and Xero share: `header` holds base64 HMAC-SHA256 of the raw body,
/// keyed by the configured secret's bytes as given.
pub fn verify_base64_body_hmac(
    raw: &RawWebhook<Unverified>,
    keys: &Keys<'_>,
    header: &'static str,
) -> Result<(), VerifyError> {
    let value = raw
        .header(header)
        .ok_or(VerifyError::MissingHeader(header))?;
    let malformed = |reason| VerifyError::Malformed { header, reason };
    let claimed = STANDARD
        .decode(value.trim())
        .map_err(|_| malformed("not base64"))?;
    if claimed.len() != 32 {
        return Err(malformed("not a SHA-256 digest"));
    }
    // Every configured secret is tried, without stopping at the first match, so the time taken
    // says nothing about which secret (old or new, while one rotates) signed the request.
    let mut matched = false;
    for secret in keys.each() {
        matched |= constant_time_eq(&hmac_sha256(secret, &[&raw.body]), &claimed);
    }
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}
