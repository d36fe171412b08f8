//! Stripe's webhook signature: `Stripe-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{payload}"},…`
//! keyed with the endpoint's signing secret. Any `v1` of the header may match any of the configured
//! secrets, so a secret can be rotated without dropping events signed with the old one.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a signature's timestamp may be from now, either way: Stripe's default tolerance.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);
/// The longest `Stripe-Signature` header read; a real one holds a few signatures.
pub const SIGNATURE_HEADER_BYTES_MAX: usize = 4_096;
/// The most `v1` signatures one header may carry.
const SIGNATURES_PER_HEADER_MAX: usize = 16;
/// Bytes of an HMAC-SHA256.
const SIGNATURE_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
    #[error("no webhook signing secret is configured")]
    NoSecret,
}

/// Checks `header` against `payload`: the timestamp must lie within `tolerance` of `now_unix_seconds`
/// and one of the header's `v1` signatures must be the HMAC of the payload under one of `secrets`.
/// The comparison is constant-time.
pub fn verify_signature(
    header: Option<&str>,
    payload: &[u8],
    secrets: &[SecretString],
    now_unix_seconds: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    if header.len() > SIGNATURE_HEADER_BYTES_MAX {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            "t" => return Err(SignatureError::Malformed),
            "v1" => {
                let bytes = hex::decode(value).map_err(|_| SignatureError::Malformed)?;
                if bytes.len() != SIGNATURE_BYTES || signatures.len() == SIGNATURES_PER_HEADER_MAX {
                    return Err(SignatureError::Malformed);
                }
                signatures.push(bytes);
            }
            // Other schemes (v0, future ones) are ignored, as Stripe's libraries do.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let tolerance_seconds = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now_unix_seconds.abs_diff(timestamp) > tolerance_seconds.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let signed = signed_bytes(timestamp, payload);
    // Every secret is tried against every signature, with no early exit that would reveal which matched.
    let mut matched = false;
    for secret in secrets {
        for signature in &signatures {
            matched |= mac(secret.expose_secret(), &signed)
                .verify_slice(signature)
                .is_ok();
        }
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Stripe-Signature` header Stripe would send for `payload` at `timestamp`.
pub fn sign_payload(secret: &SecretString, timestamp_unix_seconds: i64, payload: &[u8]) -> String {
    let signature = mac(
        secret.expose_secret(),
        &signed_bytes(timestamp_unix_seconds, payload),
    )
    .finalize()
    .into_bytes();
    format!("t={timestamp_unix_seconds},v1={}", hex::encode(signature))
}

fn signed_bytes(timestamp: i64, payload: &[u8]) -> Vec<u8> {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(payload);
    signed
}

fn mac(secret: &str, message: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;
    const PAYLOAD: &[u8] = br#"{"id":"evt_1"}"#;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn matches_an_independently_computed_vector() {
        // hmac.new(b"whsec_test", b'1700000000.{"id":"evt_1"}', "sha256").hexdigest() in Python.
        let expected =
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925";
        assert_eq!(sign_payload(&secret("whsec_test"), NOW, PAYLOAD), expected);
        assert_eq!(
            verify_signature(
                Some(expected),
                PAYLOAD,
                &[secret("whsec_test")],
                NOW,
                SIGNATURE_TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn accepts_any_v1_under_any_secret_and_rejects_the_rest() {
        let old = secret("whsec_old");
        let new = secret("whsec_new");
        let signed_old = sign_payload(&old, NOW, PAYLOAD);
        let v1_old = signed_old
            .split_once(",v1=")
            .map(|(_, value)| value.to_owned())
            .unwrap_or_default();
        let v1_other = "00".repeat(SIGNATURE_BYTES);
        type Case = (String, Vec<SecretString>, i64, Result<(), SignatureError>);
        let cases: Vec<Case> = vec![
            (
                signed_old.clone(),
                vec![new.clone(), old.clone()],
                NOW,
                Ok(()),
            ),
            (
                format!("t={NOW},v1={v1_other},v1={v1_old}"),
                vec![old.clone()],
                NOW,
                Ok(()),
            ),
            (
                format!("t={NOW},v0=abc,v1={v1_old}"),
                vec![old.clone()],
                NOW,
                Ok(()),
            ),
            (
                signed_old.clone(),
                vec![new.clone()],
                NOW,
                Err(SignatureError::Mismatch),
            ),
            (
                signed_old.clone(),
                vec![],
                NOW,
                Err(SignatureError::NoSecret),
            ),
            (
                signed_old.clone(),
                vec![old.clone()],
                NOW + 301,
                Err(SignatureError::Stale),
            ),
            (
                signed_old.clone(),
                vec![old.clone()],
                NOW - 301,
                Err(SignatureError::Stale),
            ),
            (signed_old.clone(), vec![old.clone()], NOW + 300, Ok(())),
            (
                format!("t={NOW}"),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
            (
                format!("v1={v1_old}"),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
            (
                format!("t={NOW},t={NOW},v1={v1_old}"),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
            (
                format!("t=soon,v1={v1_old}"),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
            (
                format!("t={NOW},v1=zz"),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
            (
                format!("t={NOW},v1=abcd"),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
            (
                format!("t={NOW},v1={}", "a".repeat(SIGNATURE_HEADER_BYTES_MAX)),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
            (
                format!("t={},v1={v1_old}", i64::MIN),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Stale),
            ),
            (
                "garbage".to_owned(),
                vec![old.clone()],
                NOW,
                Err(SignatureError::Malformed),
            ),
        ];
        for (header, secrets, now, expected) in cases {
            assert_eq!(
                verify_signature(Some(&header), PAYLOAD, &secrets, now, SIGNATURE_TOLERANCE),
                expected,
                "{header}"
            );
        }
        assert_eq!(
            verify_signature(
                None,
                PAYLOAD,
                std::slice::from_ref(&old),
                NOW,
                SIGNATURE_TOLERANCE
            ),
            Err(SignatureError::Missing)
        );
        // The signature covers the payload byte for byte.
        assert_eq!(
            verify_signature(
                Some(&signed_old),
                br#"{"id":"evt_2"}"#,
                &[old],
                NOW,
                SIGNATURE_TOLERANCE
            ),
            Err(SignatureError::Mismatch)
        );
    }
}
