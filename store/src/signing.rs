//! Signed, expiring links: stream and download URLs that an `<audio>` element or a browser
//! download can use without an Authorization header. A link names what it grants (purpose and
//! path), to whom, and until when, under an HMAC-SHA256 of one of the server's keys: changing
//! any part breaks the signature (403), and an expired link is gone (410).
//!
//! Keys come from `MEGABOX_URL_SIGNING_KEYS` (`kid=secret,…`: the first signs, all verify, so
//! any server of a cluster verifies any link and a key can be rotated in), or, without it, from
//! a key generated once into the data directory. A link carries the `kid` of its key.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

use crate::error::ApiError;

const KEY_FILE: &str = "url-signing-key";
/// The key id of the key generated into the data directory.
const GENERATED_KID: &str = "generated-1";

/// The query string a signed link carries.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LinkSignature {
    /// The account the link was issued to.
    pub sub: String,
    /// Unix seconds after which the link is gone.
    pub expires: u64,
    /// The id of the key that signed the link; links from before key ids name none and are
    /// checked against the data directory's generated key.
    pub kid: Option<String>,
    /// Hex HMAC-SHA256 over purpose, path, subject and expiry.
    pub sig: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error(
        "MEGABOX_URL_SIGNING_KEYS must be `kid=secret,…` with distinct key ids of letters, digits, \
         `-`, `_` or `.` and secrets of at least {} bytes",
        crate::files::SECRET_KEY_BYTES_MIN
    )]
    Malformed,
    #[error("cannot read or create the generated link signing key: {0}")]
    Io(#[from] std::io::Error),
}

pub struct LinkSigner {
    /// `(kid, secret)`; the first signs.
    keys: Vec<(String, Vec<u8>)>,
}

impl LinkSigner {
    /// The configured keys (`kid=secret,…`, the first signs); without any, the key generated
    /// once into `data_dir` (fine for one machine; several servers must share configured keys).
    pub fn load(
        configured: Option<&SecretString>,
        data_dir: &std::path::Path,
    ) -> Result<LinkSigner, SigningKeyError> {
        let keys = match configured {
            Some(text) => parse_keys(text.expose_secret())?,
            None => vec![(
                GENERATED_KID.to_owned(),
                crate::files::load_or_create_secret(&data_dir.join(KEY_FILE))?,
            )],
        };
        Ok(LinkSigner { keys })
    }

    fn signing_key(&self) -> (&str, &[u8]) {
        self.keys.first().map_or(("", &[][..]), |(kid, secret)| {
            (kid.as_str(), secret.as_slice())
        })
    }

    fn mac(key: &[u8], purpose: &str, path: &str, subject: &str, expires: u64) -> Hmac<Sha256> {
        #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        for part in [
            "megabox-link-v1",
            purpose,
            path,
            subject,
            &expires.to_string(),
        ] {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// `path?sub=…&expires=…&kid=…&sig=…`, valid for `ttl_seconds`.
    pub fn sign(
        &self,
        purpose: &str,
        path: &str,
        subject: &str,
        ttl_seconds: u64,
    ) -> (String, u64) {
        let expires = crate::auth::tokens::unix_now() + ttl_seconds;
        let (kid, key) = self.signing_key();
        let signature = hex::encode(
            Self::mac(key, purpose, path, subject, expires)
                .finalize()
                .into_bytes(),
        );
        (
            format!("{path}?sub={subject}&expires={expires}&kid={kid}&sig={signature}"),
            expires,
        )
    }

    /// Checks a link presented for `purpose` and `path`; returns its subject.
    pub fn verify<'a>(
        &self,
        purpose: &str,
        path: &str,
        link: &'a LinkSignature,
    ) -> Result<&'a str, ApiError> {
        let forged = || ApiError::forbidden("this link is not valid");
        let kid = link.kid.as_deref().unwrap_or(GENERATED_KID);
        let (_, key) = self
            .keys
            .iter()
            .find(|(candidate, _)| candidate == kid)
            .ok_or_else(forged)?;
        let signature = hex::decode(&link.sig).map_err(|_| forged())?;
        Self::mac(key, purpose, path, &link.sub, link.expires)
            .verify_slice(&signature)
            .map_err(|_| forged())?;
        if link.expires < crate::auth::tokens::unix_now() {
            return Err(ApiError::new(
                actix_web::http::StatusCode::GONE,
                "link_expired",
                "this link has expired; ask for a new one",
            ));
        }
        Ok(&link.sub)
    }
}

/// `kid=secret,…`: key ids safe in a query string and distinct, secrets long enough.
pub fn parse_keys(text: &str) -> Result<Vec<(String, Vec<u8>)>, SigningKeyError> {
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    for pair in text.split(',') {
        let (kid, secret) = pair
            .trim()
            .split_once('=')
            .ok_or(SigningKeyError::Malformed)?;
        let kid_ok = !kid.is_empty()
            && kid.len() <= 64
            && kid
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte));
        if !kid_ok
            || secret.len() < crate::files::SECRET_KEY_BYTES_MIN
            || keys.iter().any(|(seen, _)| seen == kid)
        {
            return Err(SigningKeyError::Malformed);
        }
        keys.push((kid.to_owned(), secret.as_bytes().to_vec()));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(link: &str) -> LinkSignature {
        let query = link.split_once('?').unwrap().1;
        let value = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        LinkSignature {
            sub: value("sub").unwrap(),
            expires: value("expires").unwrap().parse().unwrap(),
            kid: value("kid"),
            sig: value("sig").unwrap(),
        }
    }

    fn generated(directory: &std::path::Path) -> LinkSigner {
        LinkSigner::load(None, directory).unwrap()
    }

    fn configured(keys: &str) -> LinkSigner {
        let directory = tempfile::tempdir().unwrap();
        LinkSigner::load(Some(&SecretString::from(keys)), directory.path()).unwrap()
    }

    const OLD: &str = "old=0123456789abcdef0123456789abcdef";
    const NEW: &str = "new=fedcba9876543210fedcba9876543210";

    #[test]
    fn a_link_verifies_only_for_what_it_was_signed_for() {
        let directory = tempfile::tempdir().unwrap();
        let signer = generated(directory.path());
        let (link, _) = signer.sign("stream", "/api/v1/tracks/t1/stream", "user-1", 60);
        let signature = parse(&link);
        assert_eq!(signature.kid.as_deref(), Some(GENERATED_KID));
        assert_eq!(
            signer
                .verify("stream", "/api/v1/tracks/t1/stream", &signature)
                .unwrap(),
            "user-1"
        );
        assert!(
            signer
                .verify("download", "/api/v1/tracks/t1/stream", &signature)
                .is_err(),
            "other purpose"
        );
        assert!(
            signer
                .verify("stream", "/api/v1/tracks/t2/stream", &signature)
                .is_err(),
            "other path"
        );
        let other_user = LinkSignature {
            sub: "user-2".to_owned(),
            ..parse(&link)
        };
        assert!(
            signer
                .verify("stream", "/api/v1/tracks/t1/stream", &other_user)
                .is_err(),
            "other subject"
        );
        let extended = LinkSignature {
            expires: signature.expires + 3600,
            ..parse(&link)
        };
        assert!(
            signer
                .verify("stream", "/api/v1/tracks/t1/stream", &extended)
                .is_err(),
            "extended expiry"
        );
        let other_server = generated(tempfile::tempdir().unwrap().path());
        assert!(
            other_server
                .verify("stream", "/api/v1/tracks/t1/stream", &signature)
                .is_err(),
            "other key"
        );
        let restarted = generated(directory.path());
        assert!(
            restarted
                .verify("stream", "/api/v1/tracks/t1/stream", &signature)
                .is_ok(),
            "the generated key survives a restart"
        );
        let without_kid = LinkSignature {
            kid: None,
            ..parse(&link)
        };
        assert!(
            signer
                .verify("stream", "/api/v1/tracks/t1/stream", &without_kid)
                .is_ok(),
            "links from before key ids name no kid and use the generated key"
        );
    }

    #[test]
    fn configured_keys_rotate_the_first_signs_and_all_verify() {
        let old = configured(OLD);
        let (old_link, _) = old.sign("download", "/p", "u", 60);
        let rotated = configured(&format!("{NEW},{OLD}"));
        assert_eq!(
            rotated.verify("download", "/p", &parse(&old_link)).unwrap(),
            "u"
        );
        let (new_link, _) = rotated.sign("download", "/p", "u", 60);
        assert_eq!(parse(&new_link).kid.as_deref(), Some("new"));
        let another_server = configured(&format!("{NEW},{OLD}"));
        assert!(
            another_server
                .verify("download", "/p", &parse(&new_link))
                .is_ok(),
            "every server with the same keys verifies every link"
        );
        assert!(
            old.verify("download", "/p", &parse(&new_link)).is_err(),
            "unknown kid"
        );
        let retired = configured(NEW);
        assert!(retired.verify("download", "/p", &parse(&old_link)).is_err());
        let swapped = LinkSignature {
            kid: Some("new".to_owned()),
            ..parse(&old_link)
        };
        assert!(
            rotated.verify("download", "/p", &swapped).is_err(),
            "a kid names the key that must verify"
        );
        let no_kid = LinkSignature {
            kid: None,
            ..parse(&new_link)
        };
        assert!(
            rotated.verify("download", "/p", &no_kid).is_err(),
            "configured keys have no generated key to fall back to"
        );
    }

    #[test]
    fn rejects_malformed_key_settings() {
        for bad in [
            "",
            "nokey",
            "kid=short",
            "=0123456789abcdef0123456789abcdef",
            "k&d=0123456789abcdef0123456789abcdef",
            "a=0123456789abcdef0123456789abcdef,a=fedcba9876543210fedcba9876543210",
        ] {
            assert!(
                LinkSigner::load(
                    Some(&SecretString::from(bad)),
                    tempfile::tempdir().unwrap().path()
                )
                .is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_expired_link_is_gone() {
        let directory = tempfile::tempdir().unwrap();
        let signer = generated(directory.path());
        let expires = crate::auth::tokens::unix_now() - 1;
        let signature = hex::encode(
            LinkSigner::mac(signer.signing_key().1, "stream", "/p", "u", expires)
                .finalize()
                .into_bytes(),
        );
        let link = LinkSignature {
            sub: "u".to_owned(),
            expires,
            kid: None,
            sig: signature,
        };
        assert_eq!(
            signer.verify("stream", "/p", &link).unwrap_err().code(),
            "link_expired"
        );
    }
}
